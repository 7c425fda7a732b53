package ocsfparquet_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/decode"
	"github.com/parapet-sec/parapet/internal/decode/ocsfparquet"
	"github.com/parapet-sec/parapet/internal/decode/ocsfparquet/ocsftest"
	"github.com/parapet-sec/parapet/internal/event"
)

// BenchmarkDecodeCloudTrail decodes a Security-Lake-shaped file of 20,000
// CloudTrail calls (row groups of 5,000): assembly, the mapping back to
// CloudTrail and CloudTrail's decoder.
func BenchmarkDecodeCloudTrail(b *testing.B) {
	base := ocsftest.CloudTrail()
	rows := make([]ocsftest.APIActivity, 0, 20000)
	for i := range 20000 {
		r := base[i%len(base)]
		r.Metadata = &ocsftest.Metadata{UID: ocsftest.S(fmt.Sprintf("ct-%06d", i)), Product: base[i%len(base)].Metadata.Product,
			EventCode: base[i%len(base)].Metadata.EventCode}
		r.Time = ocsftest.T0.Add(time.Duration(i) * time.Second).UnixMilli()
		rows = append(rows, r)
	}
	data, err := ocsftest.Encode(rows, 5000)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	var n int
	for b.Loop() {
		f, err := ocsfparquet.Open(bytes.NewReader(data), int64(len(data)), "bench.parquet")
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Each(func(*event.Event) error { n++; return nil }, func(e *decode.Error) { b.Fatal(e) }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
