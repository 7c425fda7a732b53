package pipeline_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/respond"
	"github.com/parapet-sec/parapet/internal/store"
)

// TestPlaybooksSeeTheIncident: the finding a playbook runs on carries the
// id of the incident it was filed into (finding.incident_id), which ticket
// actions key their tickets by and link back to; so does a stored finding
// loaded for a manual run.
func TestPlaybooksSeeTheIncident(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "parapet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rules, errs := sigma.Load(metricRules, ".", sigma.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var mu sync.Mutex
	var seen []string
	reg := respond.NewRegistry()
	reg.Add(&respond.Action{Name: "test.tell", Required: []string{"text"}, NoLiveState: true,
		Plan: func(respond.Params) []respond.Call { return nil },
		Execute: func(_ context.Context, p respond.Params) (respond.Outcome, error) {
			mu.Lock()
			seen = append(seen, p["text"])
			mu.Unlock()
			return respond.Outcome{Summary: "told"}, nil
		}})
	pb, err := respond.Parse([]byte(`name: tell
trigger: finding.rule_id == "7d0f1a52-0000-4000-8000-000000000001"
mode: auto
steps:
  - action: test.tell
    params: {text: "${finding.?incident_id.orValue('none')}"}
`), "tell.yml", reg)
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline.Pipeline{DB: db, Rules: detect.NewEngine(rules), Incidents: correlate.New(time.Hour), Metrics: pipeline.NewMetrics(prometheus.NewRegistry()),
		Respond: &respond.Engine{Playbooks: []*respond.Playbook{pb}, Registry: reg, DB: db, Audit: log}}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	last, err := p.Submit(ctx, "cloudtrail", trailBody("alice", "e1"))
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if err := p.WaitFor(wctx, last); err != nil {
		t.Fatalf("the body was not processed: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var findingID, incidentID string
	if err := db.QueryRowContext(context.Background(), `SELECT id, incident_id FROM findings WHERE rule_id = ?`, "7d0f1a52-0000-4000-8000-000000000001").Scan(&findingID, &incidentID); err != nil {
		t.Fatal(err)
	}
	if incidentID == "" {
		t.Fatal("the finding was filed into no incident")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != incidentID {
		t.Errorf("the playbook saw incident_id %q, want [%s]", seen, incidentID)
	}
	f, err := p.Finding(context.Background(), findingID)
	if err != nil {
		t.Fatal(err)
	}
	if f.Doc["incident_id"] != incidentID {
		t.Errorf("Finding(%s).incident_id = %v, want %s", findingID, f.Doc["incident_id"], incidentID)
	}
}
