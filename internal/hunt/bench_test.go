package hunt

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/enrich"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/lake"
)

// benchLake writes n CloudTrail calls (decoded from records written for
// this benchmark) over 10 days and 3 accounts.
func benchLake(b *testing.B, n int) *lake.Lake {
	b.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	ops := []string{"GetObject", "PutObject", "ListBuckets", "DescribeInstances", "GetCallerIdentity", "PutBucketPolicy", "CreateAccessKey"}
	svcs := []string{"s3", "s3", "s3", "ec2", "sts", "s3", "iam"}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	evs := make([]event.Event, 0, n)
	for i := range n {
		at = at.Add(time.Duration(rng.IntN(34_000)) * time.Millisecond)
		o := rng.IntN(len(ops))
		acct := []string{"111122223333", "444455556666", "777788889999"}[rng.IntN(3)]
		raw := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE%04d","arn":"arn:aws:iam::%s:user/u%d","accountId":"%s","accessKeyId":"AKIAEXAMPLE%08d","userName":"u%d"},"eventTime":"%s","eventSource":"%s.amazonaws.com","eventName":"%s","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.%d","userAgent":"aws-cli/2.15","requestParameters":{"bucketName":"b-%d"},"responseElements":null,"requestID":"R%x","eventID":"%016x-%d","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management"}`,
			i%300, acct, i%300, acct, i%500, i%300, at.Format(time.RFC3339), svcs[o], ops[o], rng.IntN(250), rng.IntN(40), rng.Uint64(), rng.Uint64(), i, acct)
		var ev event.Event
		if err := cloudtrail.Decode([]byte(raw), &ev); err != nil {
			b.Fatal(err)
		}
		evs = append(evs, ev)
	}
	ctx := context.Background()
	w, err := lake.Open(ctx, lake.Options{Path: b.TempDir(), RollSize: 256 << 20})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Write(ctx, evs); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return w.Lake
}

// BenchmarkHunt: the builtin rule pack over every event of the lake
// (read, decoded again, matched).
func BenchmarkHunt(b *testing.B) {
	l := benchLake(b, 50_000)
	rules, errs := sigma.Load(content.FS, "rules", sigma.Options{})
	if len(errs) > 0 {
		b.Fatal(errs[0])
	}
	q := Query{Engine: detect.NewEngine(rules)}
	var events int64
	var st Stats
	cpu0 := cpuTime()
	for b.Loop() {
		var err error
		st, err = Run(context.Background(), l, q, func(*event.Event, []detect.Finding) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		events += st.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(events)/(cpuTime()-cpu0).Seconds(), "events/CPU-s")
	b.ReportMetric(float64(st.Passed-st.PassedOver)/float64(st.Events), "rebuilt/event")
}

// cpuTime is the CPU time the process has used: on a machine shared with
// other work, events per CPU-second say more than per wall second.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHuntSelective: one access key over one account and two days,
// by CEL: what pruning leaves to read.
func BenchmarkHuntSelective(b *testing.B) {
	l := benchLake(b, 50_000)
	where, err := Compile(`access_key_id == "AKIAEXAMPLE00000042"`)
	if err != nil {
		b.Fatal(err)
	}
	q := Query{Where: where, Filter: lake.Filter{Accounts: []string{"111122223333"}},
		Since: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)}
	var found int
	for b.Loop() {
		found = 0
		if _, err := Run(context.Background(), l, q, func(*event.Event, []detect.Finding) error { found++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	if found == 0 {
		b.Fatal("the key is in no event of the range")
	}
}

// BenchmarkHuntIntel: an indicator list over every event of the lake,
// alone (rows tested on their address columns before any event is
// rebuilt) and with the builtin pack (every event rebuilt).
func BenchmarkHuntIntel(b *testing.B) {
	l := benchLake(b, 50_000)
	in := enrich.NewIntel()
	if err := in.AddSTIX("bench", []json.RawMessage{json.RawMessage(`{"type":"indicator","spec_version":"2.1","id":"indicator--1","pattern_type":"stix","pattern":"[ipv4-addr:value = '203.0.113.7' OR ipv4-addr:value = '203.0.113.99']","valid_from":"2026-01-01T00:00:00Z"}`)}); err != nil {
		b.Fatal(err)
	}
	rules, errs := sigma.Load(content.FS, "rules", sigma.Options{})
	if len(errs) > 0 {
		b.Fatal(errs[0])
	}
	for _, c := range []struct {
		name string
		q    Query
	}{{"alone", Query{Intel: in}}, {"with-builtin", Query{Intel: in, Engine: detect.NewEngine(rules)}}} {
		b.Run(c.name, func(b *testing.B) {
			var events, found int64
			for b.Loop() {
				st, err := Run(context.Background(), l, c.q, func(*event.Event, []detect.Finding) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
				events += st.Events
				found = st.Findings
			}
			if found == 0 {
				b.Fatal("no intel finding")
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
