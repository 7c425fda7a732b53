package lake

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// A CloudTrail record holds its event id and time twice in a row: in the
// event_uid and time columns, and as the record's "eventID" and
// "eventTime" values — 18 of a compacted file's 65 bytes an event on the
// generated lake. A file stores each once: where the record holds
// "eventID":"<event_uid>" (or "eventTime":"<time as 2006-01-02T15:04:05Z>")
// exactly once, the value is cut out of the raw column ("eventID":"") and
// a bit of the row's raw_elided column says so; every read puts it back,
// byte for byte.
//
// The test is on bytes, not on the JSON: the record must hold the key,
// colon and quote ("eventID":") exactly once, followed by the value and a
// quote; the value must be non-empty and hold no quote or backslash; and
// the two fields cut must not overlap (an id "eventTime" makes the
// "eventTime" key begin at the id's opening quote). Cutting a value then
// leaves each key as many times as before, followed by a quote where a
// value was cut: a key can begin inside a key only at its last quote,
// which the cut leaves followed by a quote, not by an e, and no key fits
// in a value without quotes. So restoring finds each place and gives
// back the record as it was — for every input, JSON or not. A record
// with a key twice (duplicate or nested keys, the key inside a string),
// an escaped value or one that is not the column's keeps that value.
// Which rows were cut is never guessed from the record (a forged record
// may read "eventID":"" itself): raw_elided says it.

// The bits of raw_elided.
const (
	elidedEventID   = 1 << iota // raw's "eventID" value is event_uid's
	elidedEventTime             // raw's "eventTime" value is time's, as eventTimeText writes it
	elidedAll       = elidedEventID | elidedEventTime
)

const (
	eventIDKey   = `"eventID":"`
	eventTimeKey = `"eventTime":"`
)

// valueOffsets finds where the values of rec's "eventID" and
// "eventTime" begin (after the key, colon and quote): -1 for a key rec
// does not hold exactly once or, when first, does not hold; when first,
// the first key found (restore: a record elide cut holds each key it cut
// once).
func valueOffsets(rec []byte, first bool) (id, tm int) {
	return valueOffset(rec, eventIDKey, 7, first), valueOffset(rec, eventTimeKey, 6, first)
}

// valueOffset is valueOffsets for one key. It looks for key[k], a byte
// rare in records (the D of eventID, the T of eventTime), and compares
// the key around it: a search for the key itself, which begins with a
// quote, stops at every quote.
func valueOffset(rec []byte, key string, k int, first bool) int {
	c := key[k]
	v, n := -1, 0
	for i := k; i < len(rec); {
		j := bytes.IndexByte(rec[i:], c)
		if j < 0 {
			break
		}
		at := i + j - k // where the key would begin
		if len(rec)-at >= len(key) && string(rec[at:at+len(key)]) == key {
			if first {
				return at + len(key)
			}
			n++
			v = at + len(key)
		}
		i += j + 1
	}
	if n != 1 {
		return -1
	}
	return v
}

// holds reports whether rec holds val at v, followed by a quote, and val
// is a value elide cuts: not empty, no quote or backslash.
func holds(rec []byte, v int, val string) bool {
	return v >= 0 && val != "" && len(rec)-v > len(val) && string(rec[v:v+len(val)]) == val && rec[v+len(val)] == '"' &&
		!strings.ContainsAny(val, `"\`)
}

// elide appends to dst rec without the values of its "eventID" (when it
// is uid) and "eventTime" (when it is the time ms), of those the bits
// of mask name, and returns the bits of what it cut; when it cuts
// nothing it appends nothing (rec is stored as it is).
func elide(dst, rec []byte, uid string, ms int64, mask int32) ([]byte, int32) {
	idAt, tmAt := valueOffsets(rec, false)
	var tb [24]byte
	tt := eventTimeText(tb[:0], ms)
	ts := unsafe.String(unsafe.SliceData(tt), len(tt))
	okID := mask&elidedEventID != 0 && holds(rec, idAt, uid)
	okTime := mask&elidedEventTime != 0 && holds(rec, tmAt, ts)
	if okID && okTime {
		// The fields (key to closing quote) must not overlap.
		idLo, idHi := idAt-len(eventIDKey), idAt+len(uid)+1
		tmLo, tmHi := tmAt-len(eventTimeKey), tmAt+len(ts)+1
		if idLo < tmHi && tmLo < idHi {
			okID, okTime = false, false
		}
	}
	switch {
	case okID && okTime:
		a, an, b, bn := idAt, len(uid), tmAt, len(ts)
		if b < a {
			a, an, b, bn = b, bn, a, an
		}
		dst = append(dst, rec[:a]...)
		dst = append(dst, rec[a+an:b]...)
		return append(dst, rec[b+bn:]...), elidedEventID | elidedEventTime
	case okID:
		dst = append(dst, rec[:idAt]...)
		return append(dst, rec[idAt+len(uid):]...), elidedEventID
	case okTime:
		dst = append(dst, rec[:tmAt]...)
		return append(dst, rec[tmAt+len(ts):]...), elidedEventTime
	}
	return dst, 0
}

var errElided = errors.New("raw_elided says a value was cut, but the record does not hold its key once followed by an empty value")

// restore appends to dst the record elide cut the values bits name out
// of (uid: the row's event_uid; ms: its time).
func restore(dst, rec []byte, bits int32, uid string, ms int64) ([]byte, error) {
	if bits&^elidedAll != 0 {
		return dst, fmt.Errorf("raw_elided %d: bits this version does not know", bits)
	}
	idAt, tmAt := valueOffsets(rec, true)
	var tb [24]byte
	tt := eventTimeText(tb[:0], ms)
	a, av, b, bv := -1, []byte(nil), -1, []byte(nil)
	if bits&elidedEventID != 0 {
		if uid == "" || idAt < 0 || idAt >= len(rec) || rec[idAt] != '"' {
			return dst, fmt.Errorf("%w (eventID)", errElided)
		}
		a, av = idAt, unsafe.Slice(unsafe.StringData(uid), len(uid))
	}
	if bits&elidedEventTime != 0 {
		if len(tt) == 0 || tmAt < 0 || tmAt >= len(rec) || rec[tmAt] != '"' {
			return dst, fmt.Errorf("%w (eventTime)", errElided)
		}
		b, bv = tmAt, tt
	}
	if a < 0 || b >= 0 && b < a {
		a, av, b, bv = b, bv, a, av
	}
	from := 0
	for _, p := range [2]struct {
		at  int
		val []byte
	}{{a, av}, {b, bv}} {
		if p.at < 0 {
			continue
		}
		dst = append(dst, rec[from:p.at]...)
		dst = append(dst, p.val...)
		from = p.at
	}
	return append(dst, rec[from:]...), nil
}

// eventTimeText appends the time ms as CloudTrail writes eventTime
// (2006-01-02T15:04:05Z, UTC, milliseconds dropped); nothing for a time
// before 1970 or after 9999.
func eventTimeText(dst []byte, ms int64) []byte {
	if ms < 0 || ms >= 253402300800000 {
		return dst
	}
	s := ms / 1000
	days, sod := s/86400, s%86400
	// The civil date of a day number (Howard Hinnant's days_from_civil
	// inverted).
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
		y++
	}
	two := func(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	dst = two(dst, y/100)
	dst = two(dst, y%100)
	dst = append(dst, '-')
	dst = two(dst, m)
	dst = append(dst, '-')
	dst = two(dst, d)
	dst = append(dst, 'T')
	dst = two(dst, sod/3600)
	dst = append(dst, ':')
	dst = two(dst, sod/60%60)
	dst = append(dst, ':')
	dst = two(dst, sod%60)
	return append(dst, 'Z')
}
