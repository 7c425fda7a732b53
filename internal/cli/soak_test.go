package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

// TestServeSoak runs parapet serve under a steady load (4,000 events a
// second: rules, correlation, UEBA, incidents, response in dry-run) for
// PARAPET_SOAK (default 10m; skipped under -short) and checks that the
// live heap does not grow: the mean of the last third of the samples
// stays within 25% (and 32 MiB) of the middle third's.
func TestServeSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10-minute soak")
	}
	d := 10 * time.Minute
	if v := os.Getenv("PARAPET_SOAK"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d <= 0 {
			t.Skipf("PARAPET_SOAK=%q: not a positive duration", v)
		}
	}
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("respond:\n  dry_run: true\ndetect:\n  ueba:\n    warmup: 1m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok := token(t, data, "analyst")
	url, _ := startServe(t, "--data", data, "--config", cfg)
	users := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}
	ops := [][2]string{{"ec2.amazonaws.com", "DescribeInstances"}, {"s3.amazonaws.com", "GetObject"}, {"iam.amazonaws.com", "ListRoles"},
		{"sts.amazonaws.com", "AssumeRole"}, {"kms.amazonaws.com", "Decrypt"}, {"lambda.amazonaws.com", "Invoke"}}
	pub := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}}}
	const perBody = 500
	n := 0
	body := func() []byte {
		recs := make([]string, 0, perBody)
		for j := range perBody {
			id := fmt.Sprintf("ev-%d-%d", n, j)
			u := users[(n+j)%len(users)]
			if j%250 == 0 {
				recs = append(recs, ctRecord(id, u, "AKIA"+strings.ToUpper(u), "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": fmt.Sprintf("b-%d", j), "bucketPolicy": pub}, nil))
				continue
			}
			op := ops[(n*7+j)%len(ops)]
			recs = append(recs, ctRecord(id, u, "AKIA"+strings.ToUpper(u), op[0], op[1], map[string]any{"n": j % 10}, nil))
		}
		n++
		return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)
	}
	heap := func() float64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapAlloc)
	}
	tick := time.NewTicker(time.Second / 8) // 8 bodies of 500: 4,000 events a second
	defer tick.Stop()
	sample := time.NewTicker(d / 30)
	defer sample.Stop()
	var samples []float64
	end := time.Now().Add(d)
	rejected := 0
	for time.Now().Before(end) {
		select {
		case <-tick.C:
			req, _ := http.NewRequest("POST", url+"/v1/ingest/cloudtrail", bytes.NewReader(body()))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 202 {
				rejected++
			}
		case <-sample.C:
			samples = append(samples, heap())
			// PARAPET_SOAK_PROFILES=DIR keeps a heap profile at each
			// sample, for go tool pprof -diff_base.
			if dir := os.Getenv("PARAPET_SOAK_PROFILES"); dir != "" {
				if f, err := os.Create(filepath.Join(dir, fmt.Sprintf("heap-%02d.pprof", len(samples)))); err == nil {
					_ = pprof.WriteHeapProfile(f)
					f.Close()
				}
			}
		}
	}
	if len(samples) < 9 {
		t.Fatalf("only %d samples", len(samples))
	}
	mean := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	k := len(samples) / 3
	mid, last := mean(samples[k:2*k]), mean(samples[2*k:])
	var mib []string
	for _, x := range samples {
		mib = append(mib, fmt.Sprintf("%.1f", x/(1<<20)))
	}
	t.Logf("%d bodies (%d events) in %v, %d rejected; heap after GC: middle third %.1f MiB, last third %.1f MiB; samples (MiB): %s",
		n, n*perBody, d, rejected, mid/(1<<20), last/(1<<20), strings.Join(mib, " "))
	if last > mid*1.25 && last-mid > 32<<20 {
		t.Errorf("the heap grows: %.1f MiB → %.1f MiB", mid/(1<<20), last/(1<<20))
	}
	if rejected > n/100 {
		t.Errorf("%d of %d bodies rejected at 4,000 events a second", rejected, n)
	}
}
