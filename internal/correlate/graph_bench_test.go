package correlate

import (
	"fmt"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/event"
)

// BenchmarkGraphObserve: the graph's cost per event on a mix like a
// trail's (most calls read-only, one in 50 a RunInstances with its
// response); reported as events/s.
func BenchmarkGraphObserve(b *testing.B) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	evs := make([]*event.Event, 0, 1000)
	for i := range 1000 {
		u := user(fmt.Sprintf("u%d", i%40), fmt.Sprintf("AKIA%016d", i%40))
		ip := fmt.Sprintf("198.18.%d.%d", i%7, i%40)
		if i%50 == 0 {
			evs = append(evs, call(fmt.Sprint("e", i), t0.Add(time.Duration(i)*time.Second), u, ip, "RunInstances", runResponse))
		} else {
			evs = append(evs, call(fmt.Sprint("e", i), t0.Add(time.Duration(i)*time.Second), u, ip, "DescribeInstances", `null`))
		}
	}
	g := NewGraph(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g.Observe(evs[i%len(evs)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
