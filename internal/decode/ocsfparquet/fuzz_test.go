package ocsfparquet_test

import (
	"bytes"
	"testing"

	"github.com/parapet-sec/parapet/internal/decode"
	"github.com/parapet-sec/parapet/internal/decode/ocsfparquet"
	"github.com/parapet-sec/parapet/internal/decode/ocsfparquet/ocsftest"
	"github.com/parapet-sec/parapet/internal/event"
)

// FuzzDecode: no file, however broken, panics or hangs the decoder; every
// problem is an error naming the file.
func FuzzDecode(f *testing.F) {
	for _, seed := range [][]byte{
		must(ocsftest.Encode(ocsftest.CloudTrail(), 2)),
		must(ocsftest.Encode(ocsftest.Flows(), 0)),
		must(ocsftest.Encode(ocsftest.Findings(), 0)),
		[]byte("PAR1PAR1"),
		[]byte("PAR1\x00\x00\x00\x00PAR1"),
	} {
		f.Add(seed)
		if len(seed) > 64 {
			f.Add(seed[:len(seed)-40])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, err := ocsfparquet.Open(bytes.NewReader(data), int64(len(data)), "fuzz.parquet")
		if err != nil {
			if de, ok := err.(*decode.Error); !ok || de.File != "fuzz.parquet" {
				t.Fatalf("error %v does not name the file", err)
			}
			return
		}
		if pf.NumRows() > 1<<20 {
			return // a footer claiming millions of rows: reading them is slow, not wrong
		}
		err = pf.Each(func(*event.Event) error { return nil }, func(e *decode.Error) {
			if e.File != "fuzz.parquet" {
				t.Fatalf("error %v does not name the file", e)
			}
		})
		if err != nil {
			t.Fatalf("Each returned %v: bad input is reported through fail", err)
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
