package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/lake"
)

// BenchmarkTimeline: the first page (100 items) of an access key's 30 days
// among 100,000 calls in 3 accounts: a busy key (a fifth of the calls: its
// newest day fills the page) and a rare one (200 calls: every day is
// read). What the timeline reads, and how long a page takes.
func BenchmarkTimeline(b *testing.B) {
	const n = 100_000
	rng := rand.New(rand.NewPCG(5, 6))
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	step := 30 * 24 * time.Hour / n
	evs := make([]event.Event, 0, n)
	for i := range n {
		at = at.Add(step)
		acct := []string{"111122223333", "444455556666", "777788889999"}[rng.IntN(3)]
		key := fmt.Sprintf("AKIABENCH%08d", i%500)
		if i%5 == 0 {
			key = "AKIABENCHBUSY0001"
		}
		raw := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDABENCH%04d","arn":"arn:aws:iam::%s:user/u%d","accountId":"%s","accessKeyId":%q,"userName":"u%d"},"eventTime":"%s","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.%d","userAgent":"aws-cli/2.15","requestParameters":{"bucketName":"b-%d"},"responseElements":null,"requestID":"R%x","eventID":"%016x-%d","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Data"}`,
			i%500, acct, i%500, acct, key, i%500, at.Format(time.RFC3339), rng.IntN(250), rng.IntN(40), rng.Uint64(), rng.Uint64(), i, acct)
		var ev event.Event
		if err := cloudtrail.Decode([]byte(raw), &ev); err != nil {
			b.Fatal(err)
		}
		evs = append(evs, ev)
	}
	ctx := context.Background()
	w, err := lake.Open(ctx, lake.Options{Path: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Write(ctx, evs); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	s := New(config.Default(), nil, nil, prometheus.NewRegistry(), nil, nil)
	s.Lake = w.Lake
	for _, key := range []string{"AKIABENCHBUSY0001", "AKIABENCH00000042"} {
		b.Run(key, func(b *testing.B) {
			var page timelinePage
			for b.Loop() {
				rec := httptest.NewRecorder()
				s.timeline(rec, httptest.NewRequest("GET", "/v1/timeline?access_key="+key+"&since=2026-11-01&until=2026-12-01", nil))
				if rec.Code != 200 {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
				page = timelinePage{}
				if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
					b.Fatal(err)
				}
			}
			if len(page.Items) != 100 || page.NextCursor == "" {
				b.Fatalf("a page of %d items", len(page.Items))
			}
			b.ReportMetric(float64(page.Stats.BytesRead)/(1<<20), "MiB-read/op")
			b.ReportMetric(float64(page.Stats.Events), "rows-checked/op")
			b.ReportMetric(float64(page.Stats.Partitions), "partitions-read/op")
		})
	}
}
