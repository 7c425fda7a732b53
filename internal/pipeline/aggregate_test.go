package pipeline_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync/atomic"
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

// TestEpisodeAcrossBodies: an episode that arrives in two bodies is one
// stored finding counting both events, a playbook runs on it once, and
// the counters agree with the store.
func TestEpisodeAcrossBodies(t *testing.T) {
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
	var runs atomic.Int32
	p := tellPipeline(t, ctx, db, rules, &runs)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var last int64
	for _, b := range [][]byte{sameTarget(trailBody("alice", "e1")), sameTarget(trailBody("alice", "e2"))} {
		if last, err = p.Submit(ctx, "cloudtrail", b); err != nil {
			t.Fatal(err)
		}
		// One body at a time: the second must find the first stored.
		wctx, wcancel := context.WithTimeout(ctx, time.Minute)
		if err := p.WaitFor(wctx, last); err != nil {
			t.Fatalf("the body was not processed: %v", err)
		}
		wcancel()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	var body string
	if err := db.QueryRowContext(context.Background(), `SELECT body FROM findings WHERE rule_id = ?`, "7d0f1a52-0000-4000-8000-000000000001").Scan(&body); err != nil {
		t.Fatal(err)
	}
	var f struct {
		Count    int      `json:"count"`
		EventIDs []string `json:"event_ids"`
	}
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatal(err)
	}
	if f.Count != 2 || len(f.EventIDs) != 2 || f.EventIDs[0] != "e1" || f.EventIDs[1] != "e2" {
		t.Errorf("stored finding: count %d, event ids %v; want 2, [e1 e2]", f.Count, f.EventIDs)
	}
	stored := storeCounts(t, db)
	if stored["findings"] != 2 {
		t.Errorf("the store holds %v findings, want 2 (one episode of each rule)", stored["findings"])
	}
	if got := counters(t, p.Metrics); got["findings"] != stored["findings"] || got["incidents"] != stored["incidents"] {
		t.Errorf("counters %v, the store holds %v", got, stored)
	}
	var triggers int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM triggers`).Scan(&triggers); err != nil {
		t.Fatal(err)
	}
	if n := runs.Load(); n != 1 || triggers != 1 {
		t.Errorf("the playbook ran %d times (%d triggers), want once", n, triggers)
	}
}

// TestEpisodeAcrossRestart: serve stopped and started again between two
// events of one episode: the second grows the stored finding (count 2)
// instead of opening a new one, and the playbook does not run again.
func TestEpisodeAcrossRestart(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "parapet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rules, errs := sigma.Load(metricRules, ".", sigma.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var runs atomic.Int32
	for _, id := range []string{"e1", "e2"} {
		ctx, cancel := context.WithCancel(context.Background())
		// A new pipeline each time: nothing carried over but the store.
		p := tellPipeline(t, ctx, db, rules, &runs)
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		last, err := p.Submit(ctx, "cloudtrail", sameTarget(trailBody("alice", id)))
		if err != nil {
			t.Fatal(err)
		}
		wctx, wcancel := context.WithTimeout(ctx, time.Minute)
		if err := p.WaitFor(wctx, last); err != nil {
			t.Fatalf("the body was not processed: %v", err)
		}
		wcancel()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	var body string
	if err := db.QueryRowContext(context.Background(), `SELECT body FROM findings WHERE rule_id = ?`, "7d0f1a52-0000-4000-8000-000000000001").Scan(&body); err != nil {
		t.Fatal(err)
	}
	var f struct {
		Count    int      `json:"count"`
		EventIDs []string `json:"event_ids"`
		Title    string   `json:"title"`
	}
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatal(err)
	}
	if f.Count != 2 || len(f.EventIDs) != 2 || f.Title == "" {
		t.Errorf("stored finding after the restart: count %d, event ids %v, title %q; want 2 events of one episode, its body intact", f.Count, f.EventIDs, f.Title)
	}
	if stored := storeCounts(t, db); stored["findings"] != 2 {
		t.Errorf("the store holds %v findings, want 2 (one episode of each rule)", stored["findings"])
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("the playbook ran %d times across the restart, want once", n)
	}
}

// tellPipeline is a pipeline on db that aggregates episodes, with a
// playbook counting its runs in runs on the first rule of metricRules.
func tellPipeline(t *testing.T, ctx context.Context, db *store.DB, rules []*sigma.Rule, runs *atomic.Int32) *pipeline.Pipeline {
	t.Helper()
	reg := respond.NewRegistry()
	reg.Add(&respond.Action{Name: "test.tell", Required: []string{"text"}, NoLiveState: true,
		Plan: func(respond.Params) []respond.Call { return nil },
		Execute: func(context.Context, respond.Params) (respond.Outcome, error) {
			runs.Add(1)
			return respond.Outcome{Summary: "told"}, nil
		}})
	pb, err := respond.Parse([]byte(`name: tell
trigger: finding.rule_id == "7d0f1a52-0000-4000-8000-000000000001"
mode: auto
steps:
  - action: test.tell
    params: {text: "${finding.id}"}
`), "tell.yml", reg)
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline.Pipeline{DB: db, Rules: detect.NewEngine(rules), Incidents: correlate.New(time.Hour), Metrics: pipeline.NewMetrics(prometheus.NewRegistry()),
		Respond: &respond.Engine{Playbooks: []*respond.Playbook{pb}, Registry: reg, DB: db, Audit: log}, Aggregate: detect.NewAggregator(time.Hour)}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return p
}
