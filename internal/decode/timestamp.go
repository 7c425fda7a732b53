package decode

import (
	"fmt"
	"time"
)

// ParseTime reads a timestamp in the ISO 8601 forms logs are written in
// and exported through SIEMs and data lakes: a date, 'T' or a space (either
// case), hh:mm:ss, an optional fraction ('.' or ',', any number of digits;
// past nanoseconds cut), and an optional zone: 'Z', "UTC", ±hh:mm, ±hhmm
// or ±hh, optionally after one space. Without a zone the time is UTC. The
// result is in UTC. Anything else (other date orders, separators or
// calendars, no seconds, out-of-range fields such as February 30th) is an
// error naming the text.
func ParseTime(s string) (time.Time, error) {
	t, ok := parseTime(s)
	if !ok {
		return time.Time{}, fmt.Errorf("bad timestamp %q", s)
	}
	return t, nil
}

func parseTime(s string) (time.Time, bool) {
	// yyyy-mm-ddThh:mm:ss is 19 bytes.
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	switch s[10] {
	case 'T', 't', ' ':
	default:
		return time.Time{}, false
	}
	y, ok1 := num(s[0:4])
	mo, ok2 := num(s[5:7])
	d, ok3 := num(s[8:10])
	h, ok4 := num(s[11:13])
	mi, ok5 := num(s[14:16])
	se, ok6 := num(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || se > 60 {
		return time.Time{}, false
	}
	rest := s[19:]
	ns := 0
	if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
		i := 1
		scale := 100_000_000
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			ns += int(rest[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == 1 {
			return time.Time{}, false
		}
		rest = rest[i:]
	}
	if len(rest) > 1 && rest[0] == ' ' {
		rest = rest[1:]
	}
	offset := 0
	switch {
	case rest == "" || rest == "Z" || rest == "z" || rest == "UTC":
	case rest[0] == '+' || rest[0] == '-':
		var oh, om int
		var ok bool
		switch z := rest[1:]; len(z) {
		case 2: // ±hh
			oh, ok = num(z)
		case 4: // ±hhmm
			var ok2 bool
			oh, ok = num(z[:2])
			om, ok2 = num(z[2:])
			ok = ok && ok2
		case 5: // ±hh:mm
			var ok2 bool
			oh, ok = num(z[:2])
			om, ok2 = num(z[3:])
			ok = ok && ok2 && z[2] == ':'
		}
		if !ok || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, ns, time.UTC)
	if offset != 0 {
		t = t.Add(-time.Duration(offset) * time.Second)
	}
	return t, true
}

// num reads a run of ASCII digits.
func num(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
