package cloudtrail

import (
	"bytes"
	"os"
	"testing"

	"github.com/parapet-sec/parapet/internal/event"
)

func BenchmarkDecode(b *testing.B) {
	rec, err := os.ReadFile("testdata/typical-record.json")
	if err != nil {
		b.Fatal(err)
	}
	rec = bytes.TrimSpace(rec)
	var ev event.Event
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Decode(rec, &ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkDecodeAndEncode(b *testing.B) {
	rec, _ := os.ReadFile("testdata/typical-record.json")
	rec = bytes.TrimSpace(rec)
	var ev event.Event
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		if err := Decode(rec, &ev); err != nil {
			b.Fatal(err)
		}
		out = ev.AppendJSON(out[:0], false)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
