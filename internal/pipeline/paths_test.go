package pipeline_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parapet-sec/parapet/internal/attackpath"
	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/store"
)

// TestPathStepsRaiseRisk: with known paths, the first of two steps taken
// makes a high incident; the step that completes the path a critical one.
func TestPathStepsRaiseRisk(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "parapet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const acct = "111122223333"
	support, ci := "arn:aws:iam::"+acct+":user/support", "arn:aws:iam::"+acct+":user/ci"
	w := attackpath.NewWalker([]attackpath.Path{{Source: support, SourceName: "support", SourceKind: "user", Target: "admin", TargetName: "admin",
		Steps: []attackpath.Step{
			{From: support, FromName: "support", To: ci, ToName: "ci", Method: "iam-create-access-key", Object: ci, Title: "Create an access key for another user",
				Grants: []attackpath.Grant{{Action: "iam:CreateAccessKey", Resource: ci, Policy: "helpdesk", Statement: 1}}},
			{From: ci, FromName: "ci", To: "admin", ToName: "admin", Method: "iam-put-user-policy", Object: ci, Title: "Put an inline policy on oneself",
				Grants: []attackpath.Grant{{Action: "iam:PutUserPolicy", Resource: ci, Policy: "ci", Statement: 2}}},
		}}})
	p := &pipeline.Pipeline{DB: db, Rules: detect.NewEngine(nil), Incidents: correlate.New(time.Hour), Metrics: pipeline.NewMetrics(prometheus.NewRegistry()),
		Paths: w}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	call := func(who, name, id string, minute int) []byte {
		return bodyOf(fmt.Sprintf(`{"eventVersion":"1.08","eventTime":"2026-11-24T10:%02d:00Z","eventSource":"iam.amazonaws.com","eventName":%q,`+
			`"awsRegion":"us-east-1","sourceIPAddress":"198.51.100.4","eventID":%q,"eventType":"AwsApiCall","recipientAccountId":%q,`+
			`"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::%s:user/%s","accountId":%q,"userName":%q},"requestParameters":{"userName":"ci"}}`,
			minute, name, id, acct, acct, who, acct, who))
	}
	submit := func(b []byte) {
		t.Helper()
		last, err := p.Submit(ctx, "cloudtrail", b)
		if err != nil {
			t.Fatal(err)
		}
		wctx, wcancel := context.WithTimeout(ctx, time.Minute)
		defer wcancel()
		if err := p.WaitFor(wctx, last); err != nil {
			t.Fatal(err)
		}
	}
	worst := func() *correlate.Incident {
		t.Helper()
		incs, err := pipeline.FindIncidents(ctx, db, pipeline.IncidentFilter{})
		if err != nil || len(incs) == 0 {
			t.Fatalf("no incident (%v)", err)
		}
		w := incs[0]
		for _, in := range incs {
			if in.Risk > w.Risk {
				w = in
			}
		}
		return w
	}
	submit(call("support", "CreateAccessKey", "s1", 0))
	if in := worst(); in.Level != "high" || in.Risk >= 85 {
		t.Fatalf("after step 1 of 2: incident %s risk %.0f, want high", in.Level, in.Risk)
	}
	submit(call("ci", "PutUserPolicy", "s2", 5))
	if in := worst(); in.Level != "critical" {
		t.Fatalf("after the last step: incident %s risk %.0f, want critical", in.Level, in.Risk)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
