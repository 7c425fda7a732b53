package cloudtrail

import (
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/event"
)

// CloudTrail exported through SIEMs and data lakes writes eventTime in
// other ISO-8601 forms than CloudTrail's own: they are read as the instant
// they name; anything else is the record's error.
func TestEventTimeFormats(t *testing.T) {
	rec := func(ts string) []byte {
		return []byte(`{"eventVersion":"1.09","eventTime":"` + ts + `","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","eventID":"t1",` +
			`"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a","sessionContext":{"attributes":{"creationDate":"` + ts + `"}}}}`)
	}
	want := time.Date(2025, 2, 19, 20, 13, 49, 0, time.UTC)
	accepted := []struct {
		in   string
		want time.Time
	}{
		{"2025-02-19T20:13:49Z", want},
		{"2025-02-19 20:13:49", want},
		{"2025-02-19T20:13:49", want},
		{"2025-02-19 20:13:49Z", want},
		{"2025-02-19t20:13:49z", want},
		{"2025-02-19T20:13:49.123Z", want.Add(123 * time.Millisecond)},
		{"2025-02-19 20:13:49.123456", want.Add(123456 * time.Microsecond)},
		{"2025-02-19T20:13:49.123456789Z", want.Add(123456789)},
		{"2025-02-19T20:13:49.1234567891Z", want.Add(123456789)}, // past nanoseconds: cut
		{"2025-02-19T20:13:49.5", want.Add(500 * time.Millisecond)},
		{"2025-02-19T20:13:49,25Z", want.Add(250 * time.Millisecond)},
		{"2025-02-19T21:13:49+01:00", want},
		{"2025-02-19T21:13:49+0100", want},
		{"2025-02-19T21:13:49+01", want},
		{"2025-02-19T15:13:49.000-05:00", want},
		{"2025-02-19 20:13:49 +00:00", want},
		{"2025-02-19 20:13:49.000 UTC", want},
		{"2025-02-19T20:13:49+00:00", want},
	}
	for _, tc := range accepted {
		var ev event.Event
		if err := Decode(rec(tc.in), &ev); err != nil {
			t.Errorf("eventTime %q: %v", tc.in, err)
			continue
		}
		if !ev.Time.Equal(tc.want) || ev.Time.Location() != time.UTC {
			t.Errorf("eventTime %q = %v, want %v", tc.in, ev.Time, tc.want)
		}
		if !ev.Actor.SessionCreated.Equal(tc.want) {
			t.Errorf("creationDate %q = %v, want %v", tc.in, ev.Actor.SessionCreated, tc.want)
		}
	}
	rejected := []string{
		"", "2025-02-19", "2025-02-19T20:13", "2025/02/19 20:13:49", "19/02/2025 20:13:49", "Feb 19 2025 20:13:49",
		"1739996029", "2025-02-19T20:13:49.Z", "2025-02-19T20:13:49+1", "2025-02-19T20:13:49+24:00",
		"2025-02-19T20:13:49+01:60", "2025-13-19T20:13:49Z", "2025-02-30T20:13:49Z", "2025-02-19T24:00:00Z", "2025-02-19T20:60:49Z",
		"2025-02-19T20:13:49Zjunk", "2025-02-19T20:13:49  UTC", "2025-02-19T20:13:49 ", " 2025-02-19T20:13:49Z", "+2025-02-19T20:13:49Z",
		"2025-02-19T20:13:49-", "2025-02-19T20:13:49+01:0",
	}
	for _, in := range rejected {
		var ev event.Event
		err := Decode(rec(in), &ev)
		if err == nil {
			t.Errorf("eventTime %q accepted as %v", in, ev.Time)
			continue
		}
		if in != "" && !strings.Contains(err.Error(), "eventTime") {
			t.Errorf("eventTime %q: error %q does not name the field", in, err)
		}
	}
}
