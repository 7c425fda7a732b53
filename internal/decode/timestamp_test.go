package decode

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	want := time.Date(2025, 2, 19, 20, 13, 49, 0, time.UTC)
	for in, w := range map[string]time.Time{
		"2025-02-19T20:13:49Z":           want,
		"2025-02-19 20:13:49":            want,
		"2025-02-19T20:13:49.000001":     want.Add(time.Microsecond),
		"2025-02-19T21:43:49+01:30":      want,
		"2025-02-19T20:13:49-00:00":      want,
		"2024-02-29T00:00:00Z":           time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		"2025-02-19 20:13:49.1234 UTC":   want.Add(123400 * time.Microsecond),
		"2025-02-19T20:13:49.999999999Z": want.Add(999999999),
	} {
		got, err := ParseTime(in)
		if err != nil || !got.Equal(w) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v, want %v", in, got, err, w)
		}
	}
	for _, in := range []string{"2025-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2025-02-19T20:13:49 Z junk", "２０２５-02-19T20:13:49Z", "2025-02-19T20:13:49+01:00:00"} {
		if got, err := ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) = %v, want an error", in, got)
		}
	}
}

// FuzzParseTime: never panics; whatever it accepts is a UTC instant that
// reads back the same from its RFC 3339 form; whatever Go's RFC 3339
// parser accepts, it accepts as the same instant.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2025-02-19T20:13:49Z", "2025-02-19 20:13:49", "2025-02-19T20:13:49.123456789+05:30", "2025-02-19 20:13:49.000 UTC",
		"2025-02-19T20:13:49+0100", "2025-02-19t20:13:49,5z", "2025-02-30T00:00:00Z", "9999-12-31T23:59:60-23:59", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s)
		if std, serr := time.Parse(time.RFC3339Nano, s); serr == nil && std.Second() < 60 {
			if err != nil {
				t.Fatalf("ParseTime(%q): %v; time.Parse accepts it as %v", s, err, std)
			}
			if !got.Equal(std) {
				t.Fatalf("ParseTime(%q) = %v; time.Parse: %v", s, got, std)
			}
		}
		if err != nil {
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("ParseTime(%q) is not in UTC: %v", s, got)
		}
		if got.Year() < 0 || got.Year() > 9999 {
			return // an offset took it past what RFC 3339 can write
		}
		back, err := ParseTime(got.Format(time.RFC3339Nano))
		if err != nil || !back.Equal(got) {
			t.Fatalf("ParseTime(%q) = %v, which reads back as %v, %v", s, got, back, err)
		}
	})
}
