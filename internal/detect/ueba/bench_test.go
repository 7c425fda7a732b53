package ueba

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/event"
)

// population makes n principals' worth of ordinary events, per events
// each, in time order: a 20-person office's calls repeated over n/20
// offices in 10 accounts.
func population(n, per int) []event.Event {
	ops := []string{"s3:ListBuckets", "logs:FilterLogEvents", "lambda:GetFunction", "dynamodb:DescribeTable", "sts:GetCallerIdentity", "s3:GetObject", "ec2:DescribeInstances"}
	evs := make([]event.Event, 0, n*per)
	for k := range per {
		for i := range n {
			at := t0.Add(time.Duration(k)*time.Hour + time.Duration(i%3600)*time.Second)
			ev := call(fmt.Sprintf("user%06d", i), ops[(i+k)%len(ops)], at, fmt.Sprintf("203.0.%d.%d", (i/200)%256, 10+i%200))
			ev.Cloud.Account = fmt.Sprintf("1111222233%02d", i%10)
			ev.Actor.Account = ev.Cloud.Account
			evs = append(evs, ev)
		}
	}
	return evs
}

// BenchmarkObserve is the behavioural models alone, per event.
func BenchmarkObserve(b *testing.B) {
	evs := population(2000, 50)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		e := New(Config{})
		for i := range evs {
			e.Observe(&evs[i])
		}
		n += len(evs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkState100k: 100,000 principals (20 events each), their memory,
// and the time to save and load them.
func BenchmarkState100k(b *testing.B) {
	const principals = 100_000
	evs := population(principals, 20)
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		e := New(Config{})
		for i := range evs {
			e.Observe(&evs[i])
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		heap := float64(after.HeapAlloc - before.HeapAlloc)
		// To a file and back, as parapet detect --state does.
		path := filepath.Join(b.TempDir(), "state")
		start := time.Now()
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Save(f); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		saved := time.Since(start)
		info, _ := os.Stat(path)
		start = time.Now()
		f, err = os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		e2, err := Load(f, Config{})
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		loaded := time.Since(start)
		if st := e2.Stats(); st.Principals != principals {
			b.Fatalf("%d principals after load", st.Principals)
		}
		b.ReportMetric(heap/(1<<20), "MiB-heap")
		b.ReportMetric(heap/principals, "B/principal")
		b.ReportMetric(float64(info.Size())/principals, "state-B/principal")
		b.ReportMetric(saved.Seconds(), "s-save")
		b.ReportMetric(loaded.Seconds(), "s-load")
		runtime.KeepAlive(e)
		runtime.KeepAlive(e2)
	}
}
