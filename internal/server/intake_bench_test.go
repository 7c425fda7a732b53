package server

import (
	"encoding/json"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// peakHeap runs f and samples the heap in use meanwhile: the largest
// excess over what was in use before (sampled every millisecond, so a
// lower bound of the true peak; B/op is the upper bound).
func peakHeap(f func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > base && m.HeapInuse-base > peak.Load() {
				peak.Store(m.HeapInuse - base)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	})
	f()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// benchIntake posts body b.N times and reports the bytes allocated per
// request (B/op: an upper bound of what one request holds at its peak)
// and the largest heap growth sampled during one.
func benchIntake(b *testing.B, path, body string, inflated int64, header ...string) {
	_, ts, toks := setupWith(b, "")
	header = append(header, "X-Amz-Firehose-Access-Key", toks["ingest"])
	if !strings.HasSuffix(path, "firehose") {
		header = append(header, "Authorization", "Bearer "+toks["ingest"])
	}
	var peak uint64
	b.SetBytes(inflated)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var r reply
		p := peakHeap(func() { r = send(b, "POST", ts.URL+path, body, header...) })
		if r.code != 202 && r.code != 200 {
			b.Fatalf("%d %s", r.code, r.body)
		}
		peak = max(peak, p)
	}
	b.ReportMetric(float64(len(body))/(1<<20), "body-MiB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// A CloudTrail body gzip'd, 400 MiB inflated (the accepted body).
func BenchmarkIntakeGzip400MiB(b *testing.B) {
	chunk := []byte(strings.Repeat(intakeRecord+",", (4<<20)/(len(intakeRecord)+1)))
	body := multistream(b, `{"Records":[`, chunk, 100, intakeRecord+"]}")
	benchIntake(b, "/v1/ingest/cloudtrail", string(body), int64(100*len(chunk)), "Content-Type", "application/gzip")
}

// The same records sent uncompressed, 64 MiB (the default max_body).
func BenchmarkIntakePlain64MiB(b *testing.B) {
	n := (64<<20 - 64) / (len(intakeRecord) + 1)
	body := `{"Records":[` + strings.Repeat(intakeRecord+",", n-1) + intakeRecord + "]}"
	benchIntake(b, "/v1/ingest/cloudtrail", body, int64(len(body)), "Content-Type", "application/json")
}

// A Firehose request of 16 gzip'd records, 25 MiB inflated each.
func BenchmarkIntakeFirehose400MiB(b *testing.B) {
	chunk := []byte(strings.Repeat(intakeRecord+"\n", (1<<20)/(len(intakeRecord)+1)))
	var recs []map[string]any
	for range 16 {
		recs = append(recs, map[string]any{"data": multistream(b, "", chunk, 25, intakeRecord)})
	}
	req, _ := json.Marshal(map[string]any{"requestId": "r-1", "timestamp": 1, "records": recs})
	benchIntake(b, "/v1/ingest/firehose", string(req), int64(16*25*len(chunk)), "Content-Type", "application/json")
}
