package detect_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/event"
)

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// call is a CloudTrail record of an IAM user's call, shaped as AWS
// documents it (userIdentity of type IAMUser, a resource in the request
// parameters).
type call struct {
	n      int           // makes the event id
	at     time.Duration // after t0
	user   string
	ip     string
	op     string
	secret string
}

func (c call) event(t testing.TB) event.Event {
	t.Helper()
	r := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDA%s","arn":"arn:aws:iam::111122223333:user/%s","accountId":"111122223333","accessKeyId":"AKIA%s","userName":"%s"},`+
		`"eventTime":"%s","eventSource":"secretsmanager.amazonaws.com","eventName":"%s","awsRegion":"us-east-1","sourceIPAddress":"%s","userAgent":"aws-cli/2.15.0",`+
		`"requestParameters":{"secretId":"%s"},"responseElements":null,"requestID":"r-%d","eventID":"%08d-aaaa-4bbb-8ccc-%012d","readOnly":true,"eventType":"AwsApiCall",`+
		`"managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`,
		c.user, c.user, c.user, c.user, t0.Add(c.at).Format(time.RFC3339Nano), c.op, c.ip, c.secret, c.n, c.n, c.n)
	var ev event.Event
	if err := cloudtrail.Decode([]byte(r), &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// repeats makes n calls of one user, one every step.
func repeats(t testing.TB, from, n int, step time.Duration, start time.Duration, user, ip string) []event.Event {
	var evs []event.Event
	for i := range n {
		evs = append(evs, call{n: from + i, at: start + time.Duration(i)*step, user: user, ip: ip, op: "GetSecretValue", secret: "prod/db"}.event(t))
	}
	return evs
}

// detectAll runs the engine over events in batches of size, through an
// aggregator when agg is set, and returns every finding.
func detectAll(e *detect.Engine, agg *detect.Aggregator, evs []event.Event, size int) []detect.Finding {
	c := e.NewCorrelator()
	c.Episodes = agg != nil
	var out []detect.Finding
	for i := 0; i < len(evs); i += size {
		batch := evs[i:min(i+size, len(evs))]
		b := e.DetectBatch(batch)
		c.Correlate(batch, b)
		if agg == nil {
			out = append(out, b.Findings...)
			continue
		}
		for j := range b.Findings {
			agg.Add(&b.Findings[j])
		}
		out = agg.Drain(out)
	}
	if agg != nil {
		out = agg.Flush(out)
	}
	return out
}

func sortEvents(evs []event.Event) []event.Event {
	slices.SortStableFunc(evs, func(a, b event.Event) int { return a.Time.Compare(b.Time) })
	return evs
}

func secretEngine(t testing.TB, more string) *detect.Engine {
	rules, errs := sigma.Parse([]byte(baseRules+more), "r.yml", sigma.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return detect.NewEngine(rules)
}

func holding() *detect.Aggregator {
	a := detect.NewAggregator(time.Hour)
	a.Hold = true
	return a
}

// TestAggregateRepeats: 500 identical calls are one finding counting 500,
// spanning the first to the last call, keeping the first 100 event ids;
// without aggregation they are 500.
func TestAggregateRepeats(t *testing.T) {
	e := secretEngine(t, "")
	evs := repeats(t, 0, 500, 5*time.Second, 0, "alice", "203.0.113.7")
	plain := detectAll(e, nil, evs, 64)
	if len(plain) != 500 {
		t.Fatalf("without aggregation: %d findings, want 500", len(plain))
	}
	fs := detectAll(e, holding(), evs, 64)
	if len(fs) != 1 {
		t.Fatalf("aggregated: %d findings, want 1", len(fs))
	}
	f := fs[0]
	want := struct {
		ID                  string
		Count, IDs          int
		FirstSeen, LastSeen time.Time
		Truncated           bool
	}{plain[0].ID, 500, detect.MaxEventIDs, t0, t0.Add(499 * 5 * time.Second), true}
	got := want
	got.ID, got.Count, got.IDs, got.FirstSeen, got.LastSeen, got.Truncated = f.ID, f.Count, len(f.EventIDs), f.FirstSeen, f.LastSeen, f.Truncated()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("episode (-want +got):\n%s", diff)
	}
	if f.EventIDs[0] != evs[0].ID || f.EventIDs[99] != evs[99].ID {
		t.Errorf("event ids = %s … %s, want the first 100 in order", f.EventIDs[0], f.EventIDs[99])
	}
}

// TestAggregateGroups: different principals, source addresses or
// resources are different episodes; a gap longer than the window starts
// a new one.
func TestAggregateGroups(t *testing.T) {
	e := secretEngine(t, "")
	var other []event.Event
	for i := range 3 {
		other = append(other, call{n: 900 + i, at: time.Duration(i) * time.Minute, user: "alice", ip: "203.0.113.7", op: "GetSecretValue", secret: "prod/api"}.event(t))
	}
	tests := []struct {
		name   string
		evs    []event.Event
		counts []int
	}{
		{"two principals", append(repeats(t, 0, 10, time.Minute, 0, "alice", "203.0.113.7"), repeats(t, 100, 4, time.Minute, 0, "bob", "203.0.113.7")...), []int{10, 4}},
		{"two addresses", append(repeats(t, 0, 10, time.Minute, 0, "alice", "203.0.113.7"), repeats(t, 100, 4, time.Minute, 0, "alice", "198.51.100.9")...), []int{10, 4}},
		{"two secrets", append(repeats(t, 0, 10, time.Minute, 0, "alice", "203.0.113.7"), other...), []int{10, 3}},
		{"a gap longer than the window", append(repeats(t, 0, 10, time.Minute, 0, "alice", "203.0.113.7"), repeats(t, 100, 5, time.Minute, 9*time.Minute+61*time.Minute, "alice", "203.0.113.7")...), []int{10, 5}},
		{"gaps within the window", append(repeats(t, 0, 10, time.Minute, 0, "alice", "203.0.113.7"), repeats(t, 100, 5, 59*time.Minute, 68*time.Minute, "alice", "203.0.113.7")...), []int{15}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs := sortEvents(tc.evs)
			fs := detectAll(e, holding(), evs, 3)
			var counts []int
			for _, f := range fs {
				counts = append(counts, f.Count)
			}
			slices.Sort(counts)
			slices.Reverse(counts)
			if diff := cmp.Diff(tc.counts, counts); diff != "" {
				t.Errorf("episode counts (-want +got):\n%s", diff)
			}
			for i := 1; i < len(fs); i++ {
				if fs[i].Time.Before(fs[i-1].Time) {
					t.Errorf("finding %d (%s) before finding %d (%s): want first-seen order", i, fs[i].Time, i-1, fs[i-1].Time)
				}
			}
		})
	}
}

// TestAggregateDeterministic: the same input gives the same findings, ids
// included, whatever the batches it arrives in and however often it runs.
func TestAggregateDeterministic(t *testing.T) {
	e := secretEngine(t, "")
	evs := sortEvents(append(append(repeats(t, 0, 200, 30*time.Second, 0, "alice", "203.0.113.7"),
		repeats(t, 1000, 50, 2*time.Minute, 10*time.Minute, "bob", "198.51.100.9")...),
		repeats(t, 2000, 20, time.Minute, 5*time.Hour, "alice", "203.0.113.7")...))
	want := detectAll(e, holding(), evs, len(evs))
	if len(want) != 3 {
		t.Fatalf("%d findings, want 3 episodes", len(want))
	}
	for _, size := range []int{1, 2, 7, 64, 100} {
		got := detectAll(e, holding(), evs, size)
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(detect.Finding{})); diff != "" {
			t.Errorf("in batches of %d (-one batch +batches):\n%s", size, diff)
		}
	}
}

// TestAggregateBounded: past MaxOpen the episodes quiet for longest are
// closed and written; nothing is lost.
func TestAggregateBounded(t *testing.T) {
	e := secretEngine(t, "")
	var evs []event.Event
	for i := range 300 {
		evs = append(evs, call{n: i, at: time.Duration(i) * time.Second, user: fmt.Sprintf("u%03d", i%50), ip: "203.0.113.7", op: "GetSecretValue", secret: "s"}.event(t))
	}
	agg := holding()
	agg.MaxOpen = 10
	c := e.NewCorrelator()
	var out []detect.Finding
	for i := range evs {
		b := e.DetectBatch(evs[i : i+1])
		c.Correlate(evs[i:i+1], b)
		for j := range b.Findings {
			agg.Add(&b.Findings[j])
		}
		if agg.Open() > 10 {
			t.Fatalf("%d episodes open, want at most 10", agg.Open())
		}
		out = agg.Drain(out)
	}
	out = agg.Flush(out)
	total := 0
	for _, f := range out {
		total += f.Count
	}
	if total != 300 {
		t.Errorf("episodes count %d events, want 300", total)
	}
}

// TestCorrelationOncePerEpisode: a count correlation fires once for a
// group's burst and its finding then counts the burst's further matches,
// rather than firing again every N; without aggregation it fires every N
// as before.
func TestCorrelationOncePerEpisode(t *testing.T) {
	e := secretEngine(t, `---
title: Secrets read in bulk
id: corr-bulk
correlation:
  type: event_count
  rules: [secret_read]
  group-by: [userIdentity.arn]
  timespan: 10m
  condition: {gte: 3}
`)
	evs := repeats(t, 0, 12, 30*time.Second, 0, "alice", "203.0.113.7")
	count := func(fs []detect.Finding) (n int, f detect.Finding) {
		for _, x := range fs {
			if x.RuleID == "corr-bulk" {
				n++
				f = x
			}
		}
		return n, f
	}
	if n, _ := count(detectAll(e, nil, evs, 4)); n != 4 {
		t.Errorf("without aggregation: %d correlation findings, want 4 (every 3 matches)", n)
	}
	n, f := count(detectAll(e, holding(), evs, 4))
	if n != 1 || f.Count != 12 || !f.LastSeen.Equal(t0.Add(11*30*time.Second)) || len(f.EventIDs) != 12 {
		t.Errorf("aggregated: %d correlation findings, count %d, last seen %s, %d event ids; want 1, 12, %s, 12",
			n, f.Count, f.LastSeen, len(f.EventIDs), t0.Add(11*30*time.Second))
	}
	// Quiet for longer than the timespan and the window: a new episode.
	later := repeats(t, 100, 3, 30*time.Second, 3*time.Hour, "alice", "203.0.113.7")
	if n, _ := count(detectAll(e, holding(), append(evs, later...), 4)); n != 2 {
		t.Errorf("after a quiet spell: %d correlation findings, want 2", n)
	}
}

// TestPrincipal: grouping never falls back to an empty principal.
func TestPrincipal(t *testing.T) {
	tests := []struct {
		name    string
		actor   event.Actor
		account string
		want    string
	}{
		{"ARN", event.Actor{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/ci/run-1", PrincipalID: "AROA:run-1"}, "111122223333", "arn:aws:sts::111122223333:assumed-role/ci/run-1"},
		{"principal id", event.Actor{Type: "AWSAccount", PrincipalID: "AIDAEXAMPLE", Account: "444455556666"}, "111122223333", "AIDAEXAMPLE"},
		{"service", event.Actor{Type: "AWSService", InvokedBy: "ec2.amazonaws.com"}, "111122223333", "111122223333/AWSService:ec2.amazonaws.com"},
		{"type only", event.Actor{Type: "Unknown"}, "111122223333", "111122223333/Unknown"},
		{"nothing", event.Actor{}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := detect.Principal(&tc.actor, tc.account); got != tc.want {
				t.Errorf("Principal(%+v, %q) = %q, want %q", tc.actor, tc.account, got, tc.want)
			}
		})
	}
}

// TestGroupByPrincipalFallback: calls AWS services make (no ARN) are not
// one group: a correlation grouped by userIdentity.arn tells them apart
// by service, and so does aggregation.
func TestGroupByPrincipalFallback(t *testing.T) {
	e := secretEngine(t, `---
title: Keys created in bulk
id: corr-keys
correlation:
  type: event_count
  rules: [key_created]
  group-by: [userIdentity.arn]
  timespan: 10m
  condition: {gte: 3}
`)
	service := func(n int, svc string) event.Event {
		// An AWS service calling as itself: userIdentity has a type and
		// invokedBy, no ARN.
		r := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"AWSService","invokedBy":"%s"},"eventTime":"%s","eventSource":"iam.amazonaws.com",`+
			`"eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"%s","userAgent":"%s","requestParameters":{"userName":"svc"},`+
			`"eventID":"%08d-aaaa-4bbb-8ccc-000000000000","eventType":"AwsApiCall","recipientAccountId":"111122223333"}`,
			svc, t0.Add(time.Duration(n)*time.Second).Format(time.RFC3339), svc, svc, n)
		var ev event.Event
		if err := cloudtrail.Decode([]byte(r), &ev); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	// Two services, two calls each: no group of three.
	evs := []event.Event{service(1, "ec2.amazonaws.com"), service(2, "lambda.amazonaws.com"), service(3, "ec2.amazonaws.com"), service(4, "lambda.amazonaws.com")}
	for _, f := range detectAll(e, nil, evs, 4) {
		if f.RuleID == "corr-keys" {
			t.Errorf("correlation fired on %v: calls of two services were grouped as one empty principal", f.EventIDs)
		}
	}
	// Without the correlation the base rule's findings are written, one
	// episode per service.
	var keys []int
	for _, f := range detectAll(secretEngine(t, ""), holding(), evs, 4) {
		keys = append(keys, f.Count)
	}
	if diff := cmp.Diff([]int{2, 2}, keys); diff != "" {
		t.Errorf("episodes (-want +got):\n%s", diff)
	}
}

// BenchmarkAggregator: the aggregator alone, per finding: 10,000 findings
// of 100 principals, 100 calls each.
func BenchmarkAggregator(b *testing.B) {
	e := secretEngine(b, "")
	var evs []event.Event
	for i := range 10_000 {
		evs = append(evs, call{n: i, at: time.Duration(i) * time.Second, user: fmt.Sprintf("u%03d", i%100), ip: "203.0.113.7", op: "GetSecretValue", secret: "s"}.event(b))
	}
	fs := e.DetectBatch(evs).Findings
	b.ReportAllocs()
	var out []detect.Finding
	for b.Loop() {
		agg := holding()
		for i := range fs {
			agg.Add(&fs[i])
			if i%256 == 0 {
				out = agg.Drain(out[:0])
			}
		}
		out = agg.Flush(out[:0])
	}
	b.ReportMetric(float64(len(fs))*float64(b.N)/b.Elapsed().Seconds(), "findings/s")
}

// TestAggregateReopenAndDuplicates: an episode reopened from its stored
// finding goes on (no new finding), and a record it lists already,
// delivered again, does not count twice.
func TestAggregateReopenAndDuplicates(t *testing.T) {
	e := secretEngine(t, "")
	evs := repeats(t, 0, 3, 5*time.Second, 0, "alice", "203.0.113.7")
	first := detectAll(e, nil, evs[:1], 64)
	if len(first) != 1 {
		t.Fatalf("%d findings", len(first))
	}
	stored := first[0]
	stored.Count, stored.FirstSeen, stored.LastSeen = 1, stored.Time, stored.Time
	a := detect.NewAggregator(time.Hour)
	a.Reopen(stored)
	if a.Open() != 1 {
		t.Fatalf("%d episodes open after reopening one", a.Open())
	}
	// The first record again (a redelivery), then the two others.
	for _, f := range detectAll(e, nil, evs, 64) {
		f := f
		g, opened := a.Add(&f)
		if opened {
			t.Fatalf("finding %s opened a new episode; want it in the reopened one", f.ID)
		}
		if g.ID != stored.ID {
			t.Errorf("episode id %s, want %s", g.ID, stored.ID)
		}
	}
	out := a.Flush(nil)
	if len(out) != 1 {
		t.Fatalf("after the restart: %d findings, want one", len(out))
	}
	if out[0].Count != 3 || len(out[0].EventIDs) != 3 {
		t.Errorf("after the restart: count %d, event ids %v; want 3 (the redelivered record once)", out[0].Count, out[0].EventIDs)
	}
}
