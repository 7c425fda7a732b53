package detect

import (
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/event"
)

// TestCorrelatorKeepsNoViewOfInput: events' strings point into their input
// chunk; a correlation window that kept one would keep the whole chunk,
// and memory would grow with the input (it did: 1.3 GB for a million
// events). Every string the correlator holds must be its own.
func TestCorrelatorKeepsNoViewOfInput(t *testing.T) {
	const rules = `title: Read
id: r
name: read
logsource: {product: aws, service: cloudtrail}
detection:
  s:
    eventName: GetObject
  condition: s
---
title: Many objects
id: c1
correlation:
  type: value_count
  rules: [read]
  group-by: [userIdentity.arn]
  timespan: 1h
  condition: {field: requestParameters.key, gte: 1000}
---
title: Many reads
id: c2
correlation:
  type: event_count
  rules: [read]
  group-by: [requestParameters.bucketName]
  timespan: 1h
  condition: {gte: 1000}
---
title: Read then read
id: c3
correlation:
  type: temporal
  rules: [read, read]
  group-by: [userIdentity.arn]
  timespan: 1h
`
	rs, errs := sigma.Parse([]byte(rules), "c.yml", sigma.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	e := NewEngine(rs)
	c := e.NewCorrelator()
	// One buffer for all records, as a chunk holds them.
	var chunk []byte
	var spans [][2]int
	for i := range 50 {
		r := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"id-%d","eventTime":"%s","eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/u%d","userName":"u%d"},"requestParameters":{"bucketName":"b%d","key":"k%d"}}`,
			i, time.Date(2026, 11, 2, 10, 0, i, 0, time.UTC).Format(time.RFC3339), i%3, i%3, i%2, i%7)
		spans = append(spans, [2]int{len(chunk), len(chunk) + len(r)})
		chunk = append(chunk, r...)
	}
	evs := make([]event.Event, len(spans))
	for i, sp := range spans {
		if err := cloudtrail.Decode(chunk[sp[0]:sp[1]:sp[1]], &evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	b := e.DetectBatch(evs)
	c.Correlate(evs, b)
	lo, hi := uintptr(unsafe.Pointer(&chunk[0])), uintptr(unsafe.Pointer(&chunk[0]))+uintptr(len(chunk))
	view := func(s string) bool {
		if s == "" {
			return false
		}
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		return p >= lo && p < hi
	}
	held := 0
	for _, st := range c.states {
		for k, g := range st.groups {
			held++
			if view(k) {
				t.Errorf("%s: group key %q is a view of the input", st.rule.Title, k)
			}
			for _, x := range append(append(g.window, g.seen...), valuesOf(g.values)...) {
				if view(x.id) {
					t.Errorf("%s: event id %q is a view of the input", st.rule.Title, x.id)
				}
			}
			for v := range g.values {
				if view(v) {
					t.Errorf("%s: value %q is a view of the input", st.rule.Title, v)
				}
			}
		}
	}
	if held == 0 {
		t.Fatal("the correlator holds no group: the test tests nothing")
	}
}

func valuesOf(m map[string]*entry) []entry {
	var out []entry
	for _, x := range m {
		out = append(out, *x)
	}
	return out
}
