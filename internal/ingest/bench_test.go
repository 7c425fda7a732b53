package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/parapet-sec/parapet/internal/demo"
	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/ingest/file"
)

// corpus builds files of realistic CloudTrail records: the typical 2.2 KB
// record with a distinct eventID, user and source address per record.
func corpus(b *testing.B, files, perFile int, zip bool) (inputs []ingest.Input, records int, size int64) {
	rec, err := os.ReadFile("../decode/cloudtrail/testdata/typical-record.json")
	if err != nil {
		b.Fatal(err)
	}
	rec = bytes.TrimSpace(rec)
	rng := rand.New(rand.NewPCG(1, 2))
	const b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	randStr := func(n int) []byte {
		out := make([]byte, n)
		for i := range out {
			out[i] = b32[rng.IntN(32)]
		}
		return out
	}
	// The fields that differ from record to record in real logs get fresh
	// random values, so that gzip compresses the corpus as it does real
	// CloudTrail (about 8:1), not a file of copies.
	fresh := func(r []byte, old string, n int) []byte {
		return bytes.Replace(r, []byte(old), randStr(n), 1)
	}
	for f := range files {
		var body bytes.Buffer
		if zip {
			body.WriteString(`{"Records":[`)
		}
		for i := range perFile {
			if zip && i > 0 {
				body.WriteByte(',')
			}
			r := fresh(rec, "4b6b2d1e-6f0c-4a55-9a3e-0d2f8e1c7a11", 36)
			r = bytes.Replace(r, []byte("198.51.100.23"), fmt.Appendf(nil, "%d.%d.%d.%d", 1+rng.IntN(223), rng.IntN(256), rng.IntN(256), rng.IntN(256)), 1)
			r = fresh(r, "EXAMPLE7Q3B9Z2KD", 16)
			r = fresh(r, "ASIAEXAMPLEKEY000001", 20)
			r = fresh(r, "Ex4mPl3Id2/abcdefghijklmnopqrstuvwxyz0123456789=", 48)
			r = fresh(r, "ci-deploy-4711", 14)
			r = bytes.Replace(r, []byte("09:15:41Z"), fmt.Appendf(nil, "%02d:%02d:%02dZ", rng.IntN(24), rng.IntN(60), rng.IntN(60)), 1)
			body.Write(r)
			if !zip {
				body.WriteByte('\n')
			}
		}
		data := body.Bytes()
		if zip {
			body.WriteString("]}")
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			_, _ = w.Write(body.Bytes())
			_ = w.Close()
			data = z.Bytes()
		}
		size += int64(len(data))
		inputs = append(inputs, ingest.Input{Name: fmt.Sprint(f), Size: int64(len(data)), Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}})
		records += perFile
	}
	return inputs, records, size
}

func benchRun(b *testing.B, inputs []ingest.Input, records int, size int64) {
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		st, err := ingest.Run(context.Background(), inputs, ingest.Options{}, func(*ingest.Batch) error { return nil })
		if err != nil || st.Bad() || st.Events != int64(records) {
			b.Fatalf("run: %v, %d events of %d, %d bad", err, st.Events, records, st.BadRecords)
		}
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkIngestGzip: CloudTrail .json.gz files as S3 delivers them.
func BenchmarkIngestGzip(b *testing.B) {
	inputs, n, size := corpus(b, 16, 2000, true)
	benchRun(b, inputs, n, size)
}

// BenchmarkIngestJSONLines: uncompressed JSON lines.
func BenchmarkIngestJSONLines(b *testing.B) {
	inputs, n, size := corpus(b, 16, 2000, false)
	benchRun(b, inputs, n, size)
}

// BenchmarkIngestDemo: the demo week (CloudTrail and flow logs, gzip, a
// realistic mix of record sizes), read from disk.
func BenchmarkIngestDemo(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "demo")
	res, err := demo.Generate(demo.Config{Dir: dir, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	inputs, err := file.Inputs([]string{filepath.Join(dir, "AWSLogs")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, in := range inputs {
		size += in.Size
	}
	benchRun(b, inputs, res.Records+res.Flows, size)
}
