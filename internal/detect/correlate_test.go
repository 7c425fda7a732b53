package detect_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/event"
)

const baseRules = `title: Secret read
id: base-secret
name: secret_read
level: informational
logsource: {product: aws, service: cloudtrail}
detection:
  s:
    eventName: GetSecretValue
  condition: s
---
title: Enumeration
id: base-enum
name: enumeration
logsource: {product: aws, service: cloudtrail}
detection:
  s:
    eventName|startswith: List
  condition: s
---
title: Key created
id: base-key
name: key_created
logsource: {product: aws, service: cloudtrail}
detection:
  s:
    eventName: CreateAccessKey
  condition: s
`

func rec(t *testing.T, at time.Duration, who, op, secret string) event.Event {
	t.Helper()
	r := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"%s-%s-%d-%s","eventTime":"%s","eventSource":"x.amazonaws.com","eventName":"%s","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/%s","userName":"%s"},"requestParameters":{"secretId":"%s"}}`,
		who, op, at, secret, time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC).Add(at).Format(time.RFC3339), op, who, who, secret)
	var ev event.Event
	if err := cloudtrail.Decode([]byte(r), &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func engine(t *testing.T, correlation string) *detect.Engine {
	rules, errs := sigma.Parse([]byte(baseRules+"---\n"+correlation), "c.yml", sigma.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return detect.NewEngine(rules)
}

// run feeds events in batches of two and returns the findings' rule ids.
func run(e *detect.Engine, evs []event.Event) []detect.Finding {
	c := e.NewCorrelator()
	var out []detect.Finding
	for i := 0; i < len(evs); i += 2 {
		batch := evs[i:min(i+2, len(evs))]
		b := e.DetectBatch(batch)
		c.Correlate(batch, b)
		out = append(out, b.Findings...)
	}
	return out
}

func ids(fs []detect.Finding) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.RuleID)
	}
	return strings.Join(s, ",")
}

func TestEventCount(t *testing.T) {
	e := engine(t, `title: Many secrets
id: corr-count
level: high
correlation:
  type: event_count
  rules: [secret_read]
  group-by: [userIdentity.arn]
  timespan: 10m
  condition: {gte: 3}
`)
	min := time.Minute
	evs := []event.Event{
		rec(t, 0, "a", "GetSecretValue", "s1"), rec(t, 1*min, "b", "GetSecretValue", "s1"),
		rec(t, 2*min, "a", "GetSecretValue", "s2"), rec(t, 20*min, "a", "GetSecretValue", "s3"), // outside a's window
		rec(t, 21*min, "a", "GetSecretValue", "s4"), rec(t, 22*min, "a", "GetSecretValue", "s5"), // fires
		rec(t, 23*min, "a", "GetSecretValue", "s6"), // starts over
	}
	fs := run(e, evs)
	if got := ids(fs); got != "corr-count" {
		t.Fatalf("findings %s, want one correlation (base rule findings held back)", got)
	}
	f := fs[0]
	if len(f.EventIDs) != 3 || f.Actor.UserName != "a" || f.Level != "high" || !strings.Contains(f.Summary, "userIdentity.arn=arn:aws:iam::1:user/a") ||
		!strings.HasPrefix(f.Summary, "a read the secret s5; ") {
		t.Errorf("finding %+v", f)
	}
	if again := run(e, evs); again[0].ID != f.ID {
		t.Error("finding id differs between runs")
	}
}

// distinctSecrets counts the distinct secrets one principal reads.
const distinctSecrets = `title: Many distinct secrets
id: corr-values
correlation:
  type: value_count
  rules: [secret_read]
  group-by: [userIdentity.arn]
  timespan: 10m
  condition: {field: requestParameters.secretId, gte: 3}
`

func TestValueCountAndGenerate(t *testing.T) {
	e := engine(t, distinctSecrets+"  generate: true\n")
	evs := []event.Event{
		rec(t, 0, "a", "GetSecretValue", "s1"), rec(t, time.Minute, "a", "GetSecretValue", "s1"),
		rec(t, 2*time.Minute, "a", "GetSecretValue", "s2"), rec(t, 3*time.Minute, "a", "GetSecretValue", "s3"),
	}
	got := ids(run(e, evs))
	if got != "base-secret,base-secret,base-secret,base-secret,corr-values" {
		t.Errorf("findings %s: want the base findings (generate: true) and one correlation after the third distinct secret", got)
	}
}

func TestTemporalOrdered(t *testing.T) {
	corr := `title: Enumerate then create a key
id: corr-seq
correlation:
  type: temporal_ordered
  rules: [enumeration, key_created]
  group-by: [userIdentity.userName]
  timespan: 30m
`
	e := engine(t, corr)
	m := time.Minute
	inOrder := []event.Event{rec(t, 0, "a", "ListUsers", ""), rec(t, 5*m, "a", "CreateAccessKey", "")}
	reversed := []event.Event{rec(t, 0, "a", "CreateAccessKey", ""), rec(t, 5*m, "a", "ListUsers", "")}
	tooLate := []event.Event{rec(t, 0, "a", "ListUsers", ""), rec(t, 45*m, "a", "CreateAccessKey", "")}
	others := []event.Event{rec(t, 0, "a", "ListUsers", ""), rec(t, 5*m, "b", "CreateAccessKey", "")}
	for name, c := range map[string]struct {
		evs  []event.Event
		want bool
	}{"in order": {inOrder, true}, "reversed": {reversed, false}, "too late": {tooLate, false}, "another user": {others, false}} {
		if got := strings.Contains(ids(run(e, c.evs)), "corr-seq"); got != c.want {
			t.Errorf("%s: fired %v, want %v", name, got, c.want)
		}
	}
	unordered := engine(t, strings.Replace(corr, "temporal_ordered", "temporal", 1))
	if !strings.Contains(ids(run(unordered, reversed)), "corr-seq") {
		t.Error("temporal (unordered) did not fire on the reversed sequence")
	}
}

func TestCorrelationParseErrors(t *testing.T) {
	for name, src := range map[string]string{
		"no type":      "title: c\ncorrelation:\n  rules: [x]\n  timespan: 1m\n",
		"no timespan":  "title: c\ncorrelation:\n  type: event_count\n  rules: [x]\n  condition: {gte: 1}\n",
		"bad timespan": "title: c\ncorrelation:\n  type: event_count\n  rules: [x]\n  timespan: 5 minutes\n  condition: {gte: 1}\n",
		"lt":           "title: c\ncorrelation:\n  type: event_count\n  rules: [x]\n  timespan: 5m\n  condition: {lt: 3}\n",
		"no field":     "title: c\ncorrelation:\n  type: value_count\n  rules: [x]\n  timespan: 5m\n  condition: {gte: 3}\n",
		"one rule":     "title: c\ncorrelation:\n  type: temporal\n  rules: [x]\n  timespan: 5m\n",
	} {
		if _, errs := sigma.Parse([]byte(src), "c.yml", sigma.Options{}); len(errs) == 0 {
			t.Errorf("%s: parsed", name)
		}
	}
	rules, _ := sigma.Parse([]byte("title: c\ncorrelation:\n  type: event_count\n  rules: [nothing]\n  timespan: 5m\n  condition: {gte: 1}\n"), "c.yml", sigma.Options{})
	if _, dangling := detect.NewEngine(rules).Correlations(); len(dangling) != 1 {
		t.Errorf("dangling references %v, want one", dangling)
	}
}

func TestGroupsAreBounded(t *testing.T) {
	e := engine(t, "title: c\nid: c\ncorrelation:\n  type: event_count\n  rules: [secret_read]\n  group-by: [userIdentity.arn]\n  timespan: 1h\n  condition: {gte: 2}\n")
	c := e.NewCorrelator()
	n := detect.MaxGroups + 500
	for i := 0; i < n; i += 1000 {
		var evs []event.Event
		for j := i; j < min(i+1000, n); j++ {
			evs = append(evs, rec(t, time.Duration(j)*time.Millisecond, fmt.Sprint("u", j), "GetSecretValue", "s"))
		}
		c.Correlate(evs, e.DetectBatch(evs))
	}
	if got := c.Groups(); got > detect.MaxGroups {
		t.Errorf("%d groups kept, want at most %d", got, detect.MaxGroups)
	}
}

// TestOncePerSession: with once: true a group is reported the first time
// and then not again while its matches keep within the timespan of each
// other; a gap longer than that starts a new session.
func TestOncePerSession(t *testing.T) {
	e := engine(t, `title: Secrets read in a session
id: corr-once
level: high
correlation:
  type: event_count
  rules: [secret_read]
  group-by: [userIdentity.arn]
  timespan: 30m
  once: true
  condition: {gte: 1}
`)
	min := time.Minute
	evs := []event.Event{
		rec(t, 0, "a", "GetSecretValue", "s1"),                                                   // fires
		rec(t, 20*min, "a", "GetSecretValue", "s2"), rec(t, 45*min, "a", "GetSecretValue", "s3"), // the session goes on
		rec(t, 46*min, "b", "GetSecretValue", "s1"),      // another group fires
		rec(t, 2*time.Hour, "a", "GetSecretValue", "s4"), // a new session fires
	}
	fs := run(e, evs)
	var got []string
	for _, f := range fs {
		got = append(got, f.Actor.UserName+"@"+f.Time.Format("15:04"))
	}
	if strings.Join(got, " ") != "a@10:00 b@10:46 a@12:00" {
		t.Errorf("findings %v, want a@10:00 b@10:46 a@12:00", got)
	}
}

// TestValueCountCountsEveryValue: a value_count counts each value of a
// list (a batch call naming several secrets), and lists the event once.
func TestValueCountCountsEveryValue(t *testing.T) {
	e := engine(t, distinctSecrets)
	batch := func(at time.Duration, ids string) event.Event {
		r := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"b-%d","eventTime":"%s","eventSource":"x.amazonaws.com","eventName":"GetSecretValue","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a","userName":"a"},"requestParameters":{"secretId":[%s]}}`,
			at, time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC).Add(at).Format(time.RFC3339), ids)
		var ev event.Event
		if err := cloudtrail.Decode([]byte(r), &ev); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	fs := run(e, []event.Event{batch(0, `"s1","s2","s3"`)})
	if got := ids(fs); got != "corr-values" {
		t.Fatalf("findings %s: want the correlation from one call naming three secrets", got)
	}
	if len(fs[0].EventIDs) != 1 {
		t.Errorf("event ids %q: want the one event once", fs[0].EventIDs)
	}
	if got := ids(run(e, []event.Event{batch(0, `"s1","s1"`), batch(time.Minute, `"s2"`)})); got != "" {
		t.Errorf("findings %s: two distinct secrets (one named twice) are not three", got)
	}
}
