package guardduty

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/event"
)

// A finding exported through a SIEM with its times in another ISO 8601
// form keeps them.
func TestTimeFormats(t *testing.T) {
	b, err := os.ReadFile("../../ingest/testdata/samples/gd-finding-s3.json")
	if err != nil {
		t.Fatal(err)
	}
	const orig = `"2022-01-13T00:00:47.437Z"`
	if !strings.Contains(string(b), orig) {
		t.Fatal("the sample's updatedAt changed")
	}
	want := time.Date(2022, 1, 13, 0, 0, 47, 437_000_000, time.UTC)
	for _, in := range []string{"2022-01-13 00:00:47.437", "2022-01-13T01:00:47.437+01:00", "2022-01-13T00:00:47.437 UTC"} {
		var ev event.Event
		if err := Decode([]byte(strings.ReplaceAll(string(b), orig, `"`+in+`"`)), &ev); err != nil {
			t.Errorf("%q: %v", in, err)
		} else if !ev.Time.Equal(want) {
			t.Errorf("updatedAt %q: time %v, want %v", in, ev.Time, want)
		}
	}
}
