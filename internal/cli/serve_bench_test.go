package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkServeIntake posts CloudTrail files (500 records each, one in
// 250 a public bucket policy) to a running parapet serve (builtin rules,
// correlation, UEBA, incidents, response in dry-run) from 4 clients, and
// waits until every event is processed. It reports events/s through the
// whole pipeline and the p99 latency from a body's acknowledgement to its
// findings being stored.
func BenchmarkServeIntake(b *testing.B) { benchIntake(b, 0, "") }

// BenchmarkServeIntakeLakeOff is BenchmarkServeIntake without the data
// lake (lake.off): what keeping every event costs the intake.
func BenchmarkServeIntakeLakeOff(b *testing.B) { benchIntake(b, 0, "lake:\n  off: true\n") }

// BenchmarkServeIntakeBus is the same through NATS JetStream (a server
// embedded in the process, one worker): the intake publishes, the worker
// splits by account and processes its partitions.
func BenchmarkServeIntakeBus(b *testing.B) { benchIntake(b, 0, "bus:\n  embedded: 127.0.0.1:0\n") }

// BenchmarkServeIntakePaced20k sends at 20,000 events/s (40 bodies a
// second) to measure latency at the target rate, not under a
// flood's queue.
func BenchmarkServeIntakePaced20k(b *testing.B) { benchIntake(b, 40, "") }

func benchIntake(b *testing.B, bodiesPerSecond int, extra string) {
	data := b.TempDir()
	cfg := filepath.Join(b.TempDir(), "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("respond:\n  dry_run: true\n"+extra), 0o644); err != nil {
		b.Fatal(err)
	}
	tok := token(b, data, "analyst")
	url, _ := startServe(b, "--data", data, "--config", cfg)
	users := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}
	ops := [][2]string{{"ec2.amazonaws.com", "DescribeInstances"}, {"s3.amazonaws.com", "GetObject"}, {"iam.amazonaws.com", "ListRoles"},
		{"sts.amazonaws.com", "AssumeRole"}, {"kms.amazonaws.com", "Decrypt"}, {"lambda.amazonaws.com", "Invoke"}}
	pub := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}}}
	const perBody = 500
	body := func(n int) []byte {
		recs := make([]string, 0, perBody)
		for j := range perBody {
			id := fmt.Sprintf("ev-%d-%d", n, j)
			u := users[(n+j)%len(users)]
			if j%250 == 0 {
				recs = append(recs, ctRecord(id, u, "AKIA"+strings.ToUpper(u), "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": fmt.Sprintf("b-%d-%d", n, j), "bucketPolicy": pub}, nil))
				continue
			}
			op := ops[(n*7+j)%len(ops)]
			recs = append(recs, ctRecord(id, u, "AKIA"+strings.ToUpper(u), op[0], op[1], map[string]any{"n": j}, nil))
		}
		return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)
	}
	bodies := 8 * max(b.N, 5)
	pre := make([][]byte, bodies)
	for i := range pre {
		pre[i] = body(i)
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	go func() {
		var tick <-chan time.Time
		if bodiesPerSecond > 0 {
			t := time.NewTicker(time.Second / time.Duration(bodiesPerSecond))
			defer t.Stop()
			tick = t.C
		}
		for i := range bodies {
			if tick != nil {
				<-tick
			}
			next <- i
		}
		close(next)
	}()
	for range 4 {
		wg.Go(func() {
			for i := range next {
				req, _ := http.NewRequest("POST", url+"/v1/ingest/cloudtrail", bytes.NewReader(pre[i]))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 202 {
					b.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	want := bodies * perBody
	re := regexp.MustCompile(`(?m)^parapet_events_total (\S+)$`)
	var metrics string
	for {
		metrics = get(b, url+"/metrics")
		if m := re.FindStringSubmatch(metrics); m != nil {
			if n, _ := strconv.ParseFloat(m[1], 64); int(n) >= want {
				break
			}
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatal("not all events processed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(want)/elapsed.Seconds(), "events/s")
	// Acknowledged (spooled) to findings and incidents stored, per body:
	// the upper bound of the histogram bucket the 99th percentile is in.
	b.ReportMetric(histQuantile(metrics, "parapet_intake_latency_seconds", 0.99), "p99-ack-to-stored-s")
	b.ReportMetric(histQuantile(metrics, "parapet_intake_latency_seconds", 0.5), "p50-ack-to-stored-s")
}

func get(b *testing.B, url string) string {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	s, _ := io.ReadAll(resp.Body)
	return string(s)
}

// histQuantile estimates a quantile from a Prometheus histogram's text
// (the upper bound of the bucket it falls in).
func histQuantile(metrics, name string, q float64) float64 {
	re := regexp.MustCompile(`(?m)^` + name + `_bucket\{le="([^"]+)"\} (\S+)$`)
	var total float64
	type bk struct{ le, n float64 }
	var bks []bk
	for _, m := range re.FindAllStringSubmatch(metrics, -1) {
		le, _ := strconv.ParseFloat(m[1], 64)
		n, _ := strconv.ParseFloat(m[2], 64)
		if m[1] == "+Inf" {
			total = n
			le = 1e9
		}
		bks = append(bks, bk{le, n})
	}
	for _, x := range bks {
		if total > 0 && x.n >= q*total {
			return x.le
		}
	}
	return -1
}
