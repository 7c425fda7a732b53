package gcp

import (
	"bufio"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/event"
)

// Audit log entries exported through a SIEM carry their timestamp in other
// ISO 8601 forms: read as the instant they name; other forms are the
// entry's error.
func TestTimeFormats(t *testing.T) {
	f, err := os.Open("testdata/audit.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	sc.Scan()
	rec := sc.Text()
	ts := regexp.MustCompile(`"timestamp": ?"[^"]*"`)
	if !ts.MatchString(rec) {
		t.Fatal("the first entry has no timestamp")
	}
	with := func(s string) []byte { return []byte(ts.ReplaceAllString(rec, `"timestamp": "`+s+`"`)) }
	want := time.Date(2026, 11, 20, 9, 14, 2, 0, time.UTC)
	for in, w := range map[string]time.Time{
		"2026-11-20 09:14:02":         want,
		"2026-11-20T09:14:02.25":      want.Add(250 * time.Millisecond),
		"2026-11-20T10:14:02+0100":    want,
		"2026-11-20T09:14:02.123456Z": want.Add(123456 * time.Microsecond),
	} {
		var ev event.Event
		if err := Decode(with(in), &ev); err != nil {
			t.Errorf("timestamp %q: %v", in, err)
		} else if !ev.Time.Equal(w) {
			t.Errorf("timestamp %q = %v, want %v", in, ev.Time, w)
		}
	}
	for _, in := range []string{"Nov 20 2026 09:14:02", "2026-02-29T09:14:02Z", "2026-11-20T09:14"} {
		var ev event.Event
		if err := Decode(with(in), &ev); err == nil {
			t.Errorf("timestamp %q accepted as %v", in, ev.Time)
		}
	}
}
