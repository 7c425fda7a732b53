package azure

import (
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/event"
)

// Activity Log records exported through Log Analytics or a SIEM carry their
// time in other ISO 8601 forms: read as the instant they name; other forms
// are the record's error.
func TestTimeFormats(t *testing.T) {
	rec := string(records(t)[0])
	const orig = `"2026-11-20T09:14:02.1234567Z"`
	if !strings.Contains(rec, orig) {
		t.Fatal("the first record's time changed")
	}
	want := time.Date(2026, 11, 20, 9, 14, 2, 0, time.UTC)
	for in, w := range map[string]time.Time{
		"2026-11-20 09:14:02":           want,
		"2026-11-20 09:14:02.5":         want.Add(500 * time.Millisecond),
		"2026-11-20T10:14:02+01:00":     want,
		"2026-11-20T09:14:02.1234567Z":  want.Add(123456700),
		"2026-11-20T09:14:02.000 UTC":   want,
		"2026-11-20T04:14:02.000-05:00": want,
	} {
		var ev event.Event
		if err := Decode([]byte(strings.Replace(rec, orig, `"`+in+`"`, 1)), &ev); err != nil {
			t.Errorf("time %q: %v", in, err)
		} else if !ev.Time.Equal(w) {
			t.Errorf("time %q = %v, want %v", in, ev.Time, w)
		}
	}
	for _, in := range []string{"11/20/2026 9:14:02 AM", "2026-11-31T09:14:02Z", "2026-11-20"} {
		var ev event.Event
		if err := Decode([]byte(strings.Replace(rec, orig, `"`+in+`"`, 1)), &ev); err == nil {
			t.Errorf("time %q accepted as %v", in, ev.Time)
		}
	}
}
