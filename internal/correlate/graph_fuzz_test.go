package correlate

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
)

// FuzzGraphRecord: whatever a record holds (a forged response, a wrong
// type where an id should be, deep nesting, invalid JSON the decoder let
// through), learning from it and resolving a finding on it never panics,
// and a finding's entities stay bounded and non-empty strings.
func FuzzGraphRecord(f *testing.F) {
	f.Add([]byte(`{"eventName":"RunInstances","responseElements":`+runResponse+`}`), "RunInstances")
	f.Add([]byte(`{"eventName":"CreateAccessKey","responseElements":{"accessKey":{"accessKeyId":"AKIAX"}}}`), "CreateAccessKey")
	f.Add([]byte(`{"eventName":"AssumeRole","responseElements":{"assumedRoleUser":{"arn":"arn:aws:sts::1:assumed-role/r/s"},"credentials":{"accessKeyId":"ASIAX"}}}`), "AssumeRole")
	f.Add([]byte(`{"responseElements":{"instancesSet":{"items":[{"instanceId":7},{"instanceId":"i-0123456789abcdef0","groupSet":{"items":"x"}}]}}}`), "RunInstances")
	f.Add([]byte(`{"responseElements":[[[[[]]]]],"errorCode":null}`), "CreateUser")
	f.Add([]byte(`not json`), "RunInstances")
	f.Fuzz(func(t *testing.T, rec []byte, op string) {
		g := NewGraph(8)
		a := user("fuzz", "AKIAFUZZ000000000001")
		e := &event.Event{ID: "e", Time: time.Unix(0, 0), Actor: a, API: event.API{Operation: op}, Src: event.Endpoint{IP: netip.MustParseAddr("203.0.113.1")},
			Cloud: event.Cloud{Account: acct}, Raw: event.Raw{Format: event.RawJSON, Data: rec}}
		g.Observe(e)
		fd := &detect.Finding{ID: "f", Time: e.Time, Actor: a, Record: rec, Cloud: e.Cloud, SrcIP: "203.0.113.1"}
		ents, made := g.Resolve(fd)
		if len(ents) == 0 || len(ents) > MaxEntities {
			t.Fatalf("%d entities", len(ents))
		}
		for _, x := range made {
			if !slices.Contains(ents, x) && !g.Hub(x) && len(ents) < MaxEntities {
				t.Fatalf("made %s is not among the entities %v", x, ents)
			}
		}
		for _, x := range ents {
			if x == "" {
				t.Fatal("an empty entity")
			}
		}
		if _, err := g.Snapshot(); err != nil {
			t.Fatal(err)
		}
	})
}
