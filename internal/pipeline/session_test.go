package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/ueba"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/store"
)

// TestSessionFindingUpserted: a behavioural session delivered in two
// bodies is one stored finding, which the second body grows (its event
// ids, count, level) instead of a second finding beside the first.
func TestSessionFindingUpserted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "parapet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Ten days of an office's ordinary calls, learned before serve
	// starts (the models' state, as a --state file would give it).
	models := ueba.New(ueba.Config{Warmup: time.Nanosecond, MatureEvents: -1})
	start := time.Now().UTC().Add(-11 * 24 * time.Hour).Truncate(24 * time.Hour)
	ops := []string{"s3:ListBuckets", "logs:FilterLogEvents", "lambda:GetFunction", "dynamodb:DescribeTable", "sts:GetCallerIdentity"}
	users := []string{"alice", "bob", "carol", "dave"}
	for d := range 10 {
		for h := 9; h < 17; h++ {
			for i, u := range users {
				for k := range 6 {
					svc, op, _ := strings.Cut(ops[(k+i+d)%len(ops)], ":")
					ev := event.Event{ID: fmt.Sprintf("h-%d-%d-%d-%d", d, h, i, k), Source: event.SourceCloudTrail,
						Time:  start.Add(time.Duration(d*24+h)*time.Hour + time.Duration(k*9+i)*time.Minute),
						Cloud: event.Cloud{Account: "123456789012", Region: "us-east-1"},
						Actor: event.Actor{Type: "IAMUser", ARN: "arn:aws:iam::123456789012:user/" + u, PrincipalID: "AIDA" + strings.ToUpper(u),
							UserName: u, Account: "123456789012", AccessKeyID: "AKIA" + strings.ToUpper(u)},
						API: event.API{Service: svc + ".amazonaws.com", Operation: op},
						Src: event.Endpoint{IP: netip.MustParseAddr(fmt.Sprintf("203.0.113.%d", 10+i)), UserAgent: "aws-cli/2.15.30"}}
					if f := models.Observe(&ev); f != nil {
						t.Fatalf("ordinary history made a finding: %s", f.Title)
					}
				}
			}
		}
	}
	p := &pipeline.Pipeline{DB: db, Rules: detect.NewEngine(nil), UEBA: models, Incidents: correlate.New(time.Hour)}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	// bob's key, the next night, from a network and with a client he
	// never used: enumeration in one body, privilege and a credential in
	// the next, minutes later.
	at := start.Add(10*24*time.Hour + 22*time.Hour)
	bodies := [][]string{
		{"sts:GetCallerIdentity", "iam:ListUsers", "iam:ListRoles", "iam:ListAttachedUserPolicies"},
		{"iam:AttachUserPolicy", "iam:CreateAccessKey", "iam:CreateLoginProfile"},
	}
	stored := func() []storedFinding {
		t.Helper()
		rows, err := db.QueryContext(context.Background(), `SELECT id, level, rule_id, body FROM findings WHERE rule_id LIKE 'ueba.%'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []storedFinding
		for rows.Next() {
			var s storedFinding
			var body string
			if err := rows.Scan(&s.ID, &s.Level, &s.RuleID, &body); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(body), &s.body); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	var sent []string
	var first []storedFinding
	for b, calls := range bodies {
		var recs []string
		for _, c := range calls {
			svc, op, _ := strings.Cut(c, ":")
			id := fmt.Sprintf("s-%d-%s", b, op)
			sent = append(sent, id)
			recs = append(recs, sessionRecord(id, svc+".amazonaws.com", op, at))
			at = at.Add(40 * time.Second)
		}
		seq, err := p.Submit(ctx, "cloudtrail", []byte(`{"Records":[`+strings.Join(recs, ",")+`]}`))
		if err != nil {
			t.Fatal(err)
		}
		wctx, wcancel := context.WithTimeout(ctx, time.Minute)
		if err := p.WaitFor(wctx, seq); err != nil {
			t.Fatalf("body %d was not processed: %v", b, err)
		}
		wcancel()
		if b == 0 {
			first = stored()
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	last := stored()
	if len(first) != 1 || len(last) != 1 {
		t.Fatalf("behavioural findings stored: %d after the first body, %d after the second; want one session finding each time", len(first), len(last))
	}
	f0, f1 := first[0], last[0]
	if f0.ID != f1.ID {
		t.Errorf("the session's finding changed id from %s to %s", f0.ID, f1.ID)
	}
	for _, id := range f0.body.EventIDs {
		if !strings.HasPrefix(id, "s-0-") {
			t.Errorf("after the first body the finding holds %s", id)
		}
	}
	// Grown: everything it held, then the second body's privilege and
	// credential calls, in time order, counted.
	want := append(slices.Clone(f0.body.EventIDs), "s-1-AttachUserPolicy", "s-1-CreateAccessKey", "s-1-CreateLoginProfile")
	if !slices.Equal(f1.body.EventIDs, want) || f1.body.Count != len(want) {
		t.Errorf("stored after the second body: event ids %v (count %d), want %v", f1.body.EventIDs, f1.body.Count, want)
	}
	if f1.Level != f1.body.Level || f1.RuleID != f1.body.RuleID || detect.LevelRank(f1.Level) < detect.LevelRank(f0.Level) {
		t.Errorf("stored columns level %s rule %s, body level %s rule %s (first level %s)", f1.Level, f1.RuleID, f1.body.Level, f1.body.RuleID, f0.Level)
	}
	t.Logf("%s: %s %v", f1.Level, f1.body.Title, f1.body.EventIDs)
}

type storedFinding struct {
	ID, Level, RuleID string
	body              struct {
		Title    string   `json:"title"`
		Level    string   `json:"level"`
		RuleID   string   `json:"rule_id"`
		EventIDs []string `json:"event_ids"`
		Count    int      `json:"count"`
	}
}

// sessionRecord is a CloudTrail record of bob's long-term key, from an
// address and a client bob never used.
func sessionRecord(id, source, name string, t time.Time) string {
	rec := map[string]any{
		"eventVersion": "1.09", "eventID": id, "eventTime": t.UTC().Format(time.RFC3339),
		"eventSource": source, "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.66",
		"userAgent": "python-requests/2.31", "eventType": "AwsApiCall", "recipientAccountId": "123456789012", "managementEvent": true,
		"userIdentity": map[string]any{"type": "IAMUser", "principalId": "AIDABOB", "arn": "arn:aws:iam::123456789012:user/bob",
			"accountId": "123456789012", "accessKeyId": "AKIABOB", "userName": "bob"},
	}
	b, _ := json.Marshal(rec)
	return string(b)
}
