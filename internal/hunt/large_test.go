package hunt

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/lake"
)

// largeUsers are the IAM users of the large lake, each with one access
// key; calls pick a user with a Zipf law, so that a few keys make most
// calls and most keys a few.
const largeUsers = 20_000

// largeLake builds (or reuses, when dir holds a finished one) a lake of n
// CloudTrail calls over 30 days and 3 accounts in dir.
func largeLake(b *testing.B, dir string, n int) *lake.Lake {
	ctx := context.Background()
	done := filepath.Join(dir, "built-"+strconv.Itoa(n))
	if _, err := os.Stat(done); err == nil {
		l, err := lake.OpenLake(ctx, dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	w, err := lake.Open(ctx, lake.Options{Path: dir})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	step := 30 * 24 * time.Hour / time.Duration(n)
	ops := []string{"GetObject", "PutObject", "ListBuckets", "DescribeInstances", "GetCallerIdentity", "PutBucketPolicy", "CreateAccessKey", "AssumeRole", "Decrypt"}
	svcs := []string{"s3", "s3", "s3", "ec2", "sts", "s3", "iam", "sts", "kms"}
	const chunk = 200_000
	var gz int64 // the records as gzipped CloudTrail files of 2,000 (for n up to 2M: it takes a while)
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		evs := make([]event.Event, hi-lo)
		workers := runtime.GOMAXPROCS(0)
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for g := range workers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(lo), uint64(g)))
				zipf := rand.NewZipf(rng, 1.2, 1, largeUsers-1)
				for i := lo + g; i < hi; i += workers {
					u := int(zipf.Uint64())
					o := rng.IntN(len(ops))
					acct := []string{"111122223333", "444455556666", "777788889999"}[u%3]
					at := from.Add(time.Duration(i) * step)
					raw := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE%06d","arn":"arn:aws:iam::%s:user/u%d","accountId":"%s","accessKeyId":"AKIAEXAMPLE%08d","userName":"u%d"},"eventTime":"%s","eventSource":"%s.amazonaws.com","eventName":"%s","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.%d","userAgent":"aws-cli/2.15.%d","requestParameters":{"bucketName":"b-%d"},"responseElements":null,"requestID":"R%x","eventID":"%016x-%d","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management"}`,
						u, acct, u, acct, u, u, at.Format(time.RFC3339), svcs[o], ops[o], u%250, u%40, u%97, rng.Uint64(), rng.Uint64(), i, acct)
					if err := cloudtrail.Decode([]byte(raw), &evs[i-lo]); err != nil {
						errs[g] = err
						return
					}
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		if n <= 2_000_000 {
			for i := 0; i < len(evs); i += 2000 {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				zw.Write([]byte(`{"Records":[`))
				for j := i; j < min(i+2000, len(evs)); j++ {
					if j > i {
						zw.Write([]byte(","))
					}
					zw.Write(evs[j].Raw.Data)
				}
				zw.Write([]byte("]}"))
				zw.Close()
				gz += int64(buf.Len())
			}
		}
		if err := w.Write(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	st := w.Stats()
	b.Logf("built %d events in %s: %d files, %d bytes (%.1f B/event; gzipped CloudTrail: %.1f B/event, 0 when not measured)",
		n, time.Since(start).Round(time.Second), st.Files, st.Bytes, float64(st.Bytes)/float64(n), float64(gz)/float64(n))
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return w.Lake
}

// BenchmarkHuntSelectiveLarge: one access key over the 30 days of a lake
// of PARAPET_BENCH_LAKE_EVENTS calls (built in PARAPET_BENCH_LAKE_DIR,
// or a temporary folder, the first time), by CEL, on every core: a key of
// a rare user, of a middling one and of the busiest.
func BenchmarkHuntSelectiveLarge(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("PARAPET_BENCH_LAKE_EVENTS"))
	if n <= 0 {
		b.Skip("PARAPET_BENCH_LAKE_EVENTS unset")
	}
	dir := os.Getenv("PARAPET_BENCH_LAKE_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	l := largeLake(b, dir, n)
	for _, user := range []int{5000, 200, 20} {
		key := fmt.Sprintf("AKIAEXAMPLE%08d", user)
		b.Run("user="+strconv.Itoa(user), func(b *testing.B) {
			where, err := Compile(`access_key_id == "` + key + `"`)
			if err != nil {
				b.Fatal(err)
			}
			q := Query{Where: where, Since: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)}
			var st Stats
			for b.Loop() {
				found := 0
				if st, err = Run(context.Background(), l, q, func(*event.Event, []detect.Finding) error { found++; return nil }); err != nil {
					b.Fatal(err)
				}
				if found == 0 {
					b.Fatalf("key %s in no event", key)
				}
			}
			b.ReportMetric(float64(st.Passed), "events-found")
			b.ReportMetric(float64(st.FilesRead), "files-read")
			b.ReportMetric(float64(st.BytesRead)/1e6, "MB-read")
			b.ReportMetric(float64(st.RowGroups-st.Skipped-st.Pruned), "row-groups-read")
			b.ReportMetric(float64(st.RowGroups), "row-groups")
		})
	}
}
