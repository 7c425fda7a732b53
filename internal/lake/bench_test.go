package lake

import (
	"context"
	"testing"
	"time"
)

// BenchmarkLakeWrite: events converted to rows (OCSF JSON included),
// deduplicated, sorted, encoded and zstd-compressed into files in a
// local folder; the conversion runs on every core (Write).
func BenchmarkLakeWrite(b *testing.B) {
	ctx := context.Background()
	evs := manyCalls(50_000, t0)
	var bytes int64
	var events int64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		w := openTest(b, b.TempDir(), Options{RollSize: 256 << 20, RollAge: time.Hour})
		b.StartTimer()
		if err := w.Write(ctx, evs); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		bytes += w.Stats().Bytes
		events += int64(len(evs))
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(bytes)/float64(events), "bytes/event")
}

// BenchmarkLakeEncode is the Parquet part alone: rows already converted.
func BenchmarkLakeEncode(b *testing.B) {
	ctx := context.Background()
	rows, err := NewRows(manyCalls(50_000, t0))
	if err != nil {
		b.Fatal(err)
	}
	var events int64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		w := openTest(b, b.TempDir(), Options{RollSize: 256 << 20, RollAge: time.Hour})
		b.StartTimer()
		if err := w.WriteRows(ctx, rows); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		events += int64(len(rows))
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkLakeConvert is the conversion alone: events to rows, OCSF JSON
// included, on one goroutine.
func BenchmarkLakeConvert(b *testing.B) {
	evs := manyCalls(10_000, t0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewRows(evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}
