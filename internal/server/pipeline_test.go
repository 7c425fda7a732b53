package server

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/respond"
	"github.com/parapet-sec/parapet/internal/store"
)

// approvalPipeline runs on db, until ctx ends (cancel it at cleanup), a
// pipeline with one rule, "User Created" (CreateUser), and one playbook,
// name, that waits for approval and then calls the action test.<name>,
// which hands tell the finding's title. body, a CloudTrail file, is
// processed before it returns.
func approvalPipeline(t *testing.T, ctx context.Context, cancel context.CancelFunc, db *store.DB, name string, tell func(string), body string) *pipeline.Pipeline {
	t.Helper()
	rules, errs := sigma.Load(fstest.MapFS{"create_user.yml": {Data: []byte(`title: User Created
id: 5c1e0a2b-0000-4000-8000-000000000001
level: medium
logsource: {product: aws, service: cloudtrail}
detection:
  s:
    eventName: CreateUser
  condition: s
`)}}, ".", sigma.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	reg := respond.NewRegistry()
	reg.Add(&respond.Action{Name: "test." + name, Required: []string{"text"}, NoLiveState: true,
		Plan: func(respond.Params) []respond.Call { return nil },
		Execute: func(_ context.Context, p respond.Params) (respond.Outcome, error) {
			tell(p["text"])
			return respond.Outcome{Summary: "told"}, nil
		}})
	pb, err := respond.Parse([]byte(`name: `+name+`
trigger: finding.rule_id == "5c1e0a2b-0000-4000-8000-000000000001"
mode: approve
approval: {timeout: 1h}
steps:
  - action: test.`+name+`
    params: {text: "${finding.title}"}
`), name+".yml", reg)
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline.Pipeline{DB: db, Rules: detect.NewEngine(rules), Incidents: correlate.New(time.Hour),
		Respond: &respond.Engine{Playbooks: []*respond.Playbook{pb}, Registry: reg, DB: db, Audit: log}}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	seq, err := p.Submit(ctx, "cloudtrail", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if err := p.WaitFor(wctx, seq); err != nil {
		t.Fatalf("the body was not processed: %v", err)
	}
	return p
}
