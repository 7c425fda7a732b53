package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/store"
)

// Two rules on one API call: each call is two findings of one principal,
// filed into one incident in the same commit.
var metricRules = fstest.MapFS{
	"create_user.yml": {Data: []byte(`title: User Created
id: 7d0f1a52-0000-4000-8000-000000000001
level: medium
logsource: {product: aws, service: cloudtrail}
detection:
  s:
    eventName: CreateUser
  condition: s
`)},
	"iam_write.yml": {Data: []byte(`title: IAM Write By A Person
id: 7d0f1a52-0000-4000-8000-000000000002
level: low
logsource: {product: aws, service: cloudtrail}
detection:
  s:
    eventSource: iam.amazonaws.com
    userIdentity.type: IAMUser
  condition: s
`)},
	"signal.yml": {Data: []byte(`title: Buckets Listed
id: 7d0f1a52-0000-4000-8000-000000000003
level: informational
logsource: {product: aws, service: cloudtrail}
detection:
  s:
    eventName: ListBuckets
  condition: s
`)},
}

// listBody is a body of ListBuckets calls: each a signal (informational).
func listBody(user string, ids ...string) []byte {
	b := trailBody(user, ids...)
	b = bytes.ReplaceAll(b, []byte(`"eventSource":"iam.amazonaws.com","eventName":"CreateUser"`), []byte(`"eventSource":"s3.amazonaws.com","eventName":"ListBuckets"`))
	return bytes.ReplaceAll(b, []byte(`"eventTime":"2026-11-24T10:`), []byte(`"eventTime":"2026-11-24T09:`))
}

func trailBody(user string, ids ...string) []byte {
	var recs []string
	for i, id := range ids {
		recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.08","eventTime":"2026-11-24T10:%02d:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser",`+
			`"awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.17.20","eventID":%q,"eventType":"AwsApiCall","recipientAccountId":"111122223333",`+
			`"userIdentity":{"type":"IAMUser","principalId":"AIDA%s","arn":"arn:aws:iam::111122223333:user/%s","accountId":"111122223333","userName":%q},`+
			`"requestParameters":{"userName":"new-%s"}}`, i, id, strings.ToUpper(user), user, user, id))
	}
	return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)
}

// sameTarget makes every call of a body create the same user: repeats of
// one thing, one episode.
func sameTarget(body []byte) []byte {
	return regexp.MustCompile(`"userName":"new-[^"]*"`).ReplaceAll(body, []byte(`"userName":"new-one"`))
}

// storeCounts is what the counters should say: the store's rows.
func storeCounts(t *testing.T, db *store.DB) map[string]float64 {
	t.Helper()
	ctx := context.Background()
	out := map[string]float64{}
	for name, q := range map[string]string{
		"incidents":  `SELECT COUNT(*) FROM incidents`,
		"findings":   `SELECT COUNT(*) FROM findings WHERE incident_id NOT LIKE 'suppressed:%'`,
		"suppressed": `SELECT COUNT(*) FROM findings WHERE incident_id LIKE 'suppressed:%'`,
		"spooled":    `SELECT COUNT(*) FROM intake`,
	} {
		var n int
		if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[name] = float64(n)
	}
	return out
}

// value reads a counter or gauge.
func value(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	t.Fatalf("%v: not a counter, gauge or histogram", c.Desc())
	return 0
}

func counters(t *testing.T, m *pipeline.Metrics) map[string]float64 {
	findings := 0.0
	for _, lv := range detect.Levels {
		findings += value(t, m.Findings.WithLabelValues(lv))
	}
	return map[string]float64{
		"incidents":  value(t, m.Incidents),
		"findings":   findings,
		"suppressed": value(t, m.Suppressed),
		"spooled":    value(t, m.Spooled),
		"mttd":       value(t, m.MTTD),
	}
}

// The pipeline's counters say what its store holds: an incident opened
// with several findings at once counts once, an incident a later body
// adds to is not counted again, a body processed twice (a replay) counts
// nothing twice, suppressed findings count once.
func TestMetricsAgreeWithStore(t *testing.T) {
	for _, tc := range []struct {
		name       string
		bodies     [][]byte
		suppress   string // a suppression's CEL expression
		aggregate  bool   // one finding per episode
		wantEvents float64
		want       map[string]float64 // the store, checked too
		unfiled    int                // signals stored without an incident
	}{
		{"one incident, two findings in its first body", [][]byte{trailBody("alice", "e1")}, "", false, 1,
			map[string]float64{"incidents": 1, "findings": 2}, 0},
		{"two principals, two calls each in one body", [][]byte{trailBody("alice", "e1", "e2"), trailBody("bob", "e3", "e4")}, "", false, 4,
			map[string]float64{"incidents": 2, "findings": 8}, 0},
		{"an incident grows over bodies", [][]byte{trailBody("alice", "e1"), trailBody("alice", "e2")}, "", false, 2,
			map[string]float64{"incidents": 1, "findings": 4}, 0},
		{"a body delivered twice", [][]byte{trailBody("alice", "e1"), trailBody("alice", "e1")}, "", false, 1,
			map[string]float64{"incidents": 1, "findings": 2}, 0},
		{"suppressed, delivered twice", [][]byte{trailBody("alice", "e1"), trailBody("alice", "e1")}, `finding.rule_id == "7d0f1a52-0000-4000-8000-000000000002"`, false, 1,
			map[string]float64{"incidents": 1, "findings": 1, "suppressed": 1}, 0},
		{"a signal alone opens no incident", [][]byte{listBody("alice", "e1")}, "", false, 1,
			map[string]float64{"incidents": 0, "findings": 1}, 1},
		{"signals, then the same principal's findings: one incident holds all", [][]byte{listBody("alice", "e1", "e2"), listBody("bob", "e3"), trailBody("alice", "e4")}, "", false, 4,
			map[string]float64{"incidents": 1, "findings": 5}, 1},
		{"signals delivered twice, then a finding", [][]byte{listBody("alice", "e1"), listBody("alice", "e1"), trailBody("alice", "e2")}, "", false, 2,
			map[string]float64{"incidents": 1, "findings": 3}, 0},
		{"aggregated: an episode grows over bodies", [][]byte{sameTarget(trailBody("alice", "e1", "e2")), sameTarget(trailBody("alice", "e3"))}, "", true, 3,
			map[string]float64{"incidents": 1, "findings": 2}, 0},
		{"aggregated: a body delivered twice", [][]byte{trailBody("alice", "e1"), trailBody("alice", "e1")}, "", true, 1,
			map[string]float64{"incidents": 1, "findings": 2}, 0},
		{"aggregated and suppressed, growing", [][]byte{sameTarget(trailBody("alice", "e1")), sameTarget(trailBody("alice", "e2"))}, `finding.rule_id == "7d0f1a52-0000-4000-8000-000000000002"`, true, 2,
			map[string]float64{"incidents": 1, "findings": 1, "suppressed": 1}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			db, err := store.Open(ctx, filepath.Join(t.TempDir(), "parapet.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			rules, errs := sigma.Load(metricRules, ".", sigma.Options{})
			if len(errs) > 0 || len(rules) != 3 {
				t.Fatalf("rules: %d %v", len(rules), errs)
			}
			p := &pipeline.Pipeline{DB: db, Rules: detect.NewEngine(rules), Incidents: correlate.New(time.Hour), Metrics: pipeline.NewMetrics(prometheus.NewRegistry())}
			if tc.aggregate {
				p.Aggregate = detect.NewAggregator(time.Hour)
			}
			if err := p.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if tc.suppress != "" {
				if err := p.AddSuppression(ctx, &correlate.Suppression{Expr: tc.suppress, Reason: "test", CreatedBy: "test", Expires: time.Now().Add(time.Hour)}); err != nil {
					t.Fatal(err)
				}
			}
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()
			var last int64
			for _, b := range tc.bodies {
				if last, err = p.Submit(ctx, "cloudtrail", b); err != nil {
					t.Fatal(err)
				}
			}
			wctx, wcancel := context.WithTimeout(ctx, time.Minute)
			defer wcancel()
			if err := p.WaitFor(wctx, last); err != nil {
				t.Fatalf("the bodies were not processed: %v", err)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			var unfiled int
			if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM findings WHERE incident_id = ''`).Scan(&unfiled); err != nil || unfiled != tc.unfiled {
				t.Errorf("%d signals stored without an incident, want %d (%v)", unfiled, tc.unfiled, err)
			}
			stored, got := storeCounts(t, db), counters(t, p.Metrics)
			stored["mttd"] = stored["findings"] // one detection delay per finding stored
			for k, v := range tc.want {
				if stored[k] != v {
					t.Errorf("the store holds %v %s, want %v", stored[k], k, v)
				}
			}
			for k, v := range stored {
				if got[k] != v {
					t.Errorf("counter %s = %v, the store holds %v", k, got[k], v)
				}
			}
			if n := value(t, p.Metrics.Events); n != tc.wantEvents {
				t.Errorf("parapet_events_total = %v, want %v", n, tc.wantEvents)
			}
			// Every record delivered is either detected or passed over
			// as a duplicate.
			records := 0
			for _, b := range tc.bodies {
				records += bytes.Count(b, []byte(`"eventID"`))
			}
			if n := value(t, p.Metrics.Events) + value(t, p.Metrics.Duplicates); n != float64(records) {
				t.Errorf("events + duplicates = %v, want the %d records delivered", n, records)
			}
		})
	}
}
