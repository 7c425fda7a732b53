package pipeline_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/enrich"
	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/lake"
	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/report"
	"github.com/parapet-sec/parapet/internal/respond"
	"github.com/parapet-sec/parapet/internal/store"
)

// writeLake decodes CloudTrail bodies and writes their events into a lake
// at dir.
func writeLake(t *testing.T, dir string, bodies ...[]byte) *lake.Lake {
	t.Helper()
	ctx := context.Background()
	w, err := lake.Open(ctx, lake.Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range bodies {
		in := ingest.Input{Name: "body" + string(rune('a'+i)), Size: int64(len(b)), Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
		if _, err := ingest.Run(ctx, []ingest.Input{in}, ingest.Options{}, func(bt *ingest.Batch) error { return w.Write(ctx, bt.Events) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Lake
}

// A rule added to the pack runs over the lake's history on the next
// start: what it finds is filed as retro findings, into an incident, and
// a playbook in auto mode waits for approval on them (one that says
// approval.required: false runs). A rule whose content changed runs
// again; an unchanged one does not; events older than the look-back are
// not read.
func TestRetroRules(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "parapet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	old := strings.Replace(string(trailBody("bob", "old-1")), "2026-11-24", "2026-10-01", 1) // 60 days before now
	l := writeLake(t, filepath.Join(dir, "lake"), trailBody("alice", "r1", "r2"), []byte(old))
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

	rules, errs := sigma.Load(metricRules, ".", sigma.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	const createUser = "7d0f1a52-0000-4000-8000-000000000001"
	before := slices.DeleteFunc(slices.Clone(rules), func(r *sigma.Rule) bool { return r.ID == createUser })

	var mu sync.Mutex
	var told []string
	reg := respond.NewRegistry()
	reg.Add(&respond.Action{Name: "test.tell", Required: []string{"text"}, NoLiveState: true,
		Plan: func(respond.Params) []respond.Call { return nil },
		Execute: func(_ context.Context, p respond.Params) (respond.Outcome, error) {
			mu.Lock()
			told = append(told, p["text"])
			mu.Unlock()
			return respond.Outcome{Summary: "told"}, nil
		}})
	var pbs []*respond.Playbook
	for _, src := range []string{`name: auto-tell
trigger: finding.rule_id == "` + createUser + `"
mode: auto
steps:
  - action: test.tell
    params: {text: "auto"}
`, `name: always-tell
trigger: finding.rule_id == "` + createUser + `"
mode: auto
approval: {required: false}
steps:
  - action: test.tell
    params: {text: "always"}
`} {
		pb, err := respond.Parse([]byte(src), "pb.yml", reg)
		if err != nil {
			t.Fatal(err)
		}
		pbs = append(pbs, pb)
	}
	alog, err := audit.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline.Pipeline{DB: db, Rules: detect.NewEngine(rules), Incidents: correlate.New(time.Hour), Metrics: pipeline.NewMetrics(prometheus.NewRegistry()),
		Respond: &respond.Engine{Playbooks: pbs, Registry: reg, DB: db, Audit: alog}}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}

	// The first start only records the digests.
	ran, _, err := p.RetroRules(ctx, l, before, 30*24*time.Hour, now)
	if err != nil || len(ran) != 0 {
		t.Fatalf("first start ran %v (%v), want nothing", ran, err)
	}
	// The next start has the new rule: it runs, alone, over 30 days.
	ran, st, err := p.RetroRules(ctx, l, rules, 30*24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ran, []string{createUser}) {
		t.Fatalf("ran %v, want only the new rule", ran)
	}
	rows, err := db.QueryContext(ctx, `SELECT incident_id, body FROM findings WHERE rule_id = ?`, createUser)
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for rows.Next() {
		var inc, body string
		if err := rows.Scan(&inc, &body); err != nil {
			t.Fatal(err)
		}
		f, err := report.ParseFindingJSON([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if !f.Retro {
			t.Errorf("finding %s is not marked retro", f.ID)
		}
		if inc == "" {
			t.Errorf("finding %s was filed into no incident", f.ID)
		}
		events = append(events, f.EventIDs...)
	}
	rows.Close()
	slices.Sort(events)
	if !slices.Equal(events, []string{"r1", "r2"}) {
		t.Errorf("retro findings cover events %v, want r1 r2 (old-1 is older than the look-back)", events)
	}
	if st.Findings == 0 || st.Hunt.Events == 0 {
		t.Errorf("stats: %+v", st)
	}
	pending, err := p.Respond.Approvals(ctx, "pending")
	if err != nil {
		t.Fatal(err)
	}
	var waiting []string
	for _, a := range pending {
		waiting = append(waiting, a.Playbook)
	}
	if !slices.Contains(waiting, "auto-tell") || slices.Contains(waiting, "always-tell") {
		t.Errorf("pending approvals %v: want auto-tell waiting, always-tell not", waiting)
	}
	mu.Lock()
	if slices.Contains(told, "auto") || !slices.Contains(told, "always") {
		t.Errorf("actions run: %v; want always-tell's only", told)
	}
	mu.Unlock()

	// Unchanged: nothing runs. Changed (the level): it runs again.
	if ran, _, err := p.RetroRules(ctx, l, rules, 30*24*time.Hour, now); err != nil || len(ran) != 0 {
		t.Errorf("unchanged rules ran %v (%v)", ran, err)
	}
	changed := fstest.MapFS{"iam_write.yml": {Data: bytes.Replace(metricRules["iam_write.yml"].Data, []byte("level: low"), []byte("level: medium"), 1)}}
	ch, errs := sigma.Load(changed, ".", sigma.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	next := slices.Clone(rules)
	for i, r := range next {
		if r.ID == ch[0].ID {
			next[i] = ch[0]
		}
	}
	if ran, _, err := p.RetroRules(ctx, l, next, 30*24*time.Hour, now); err != nil || !slices.Equal(ran, []string{ch[0].ID}) {
		t.Errorf("a changed rule: ran %v (%v), want [%s]", ran, err, ch[0].ID)
	}
}

// New indicators run over the lake's history: at start against the list
// kept from the last run, and whenever the set changes (a TAXII poll).
func TestRetroIntel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "parapet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// trailBody's calls come from 203.0.113.7.
	l := writeLake(t, filepath.Join(dir, "lake"), trailBody("alice", "i1", "i2"))
	intel := func(lines ...string) *enrich.Intel {
		f := filepath.Join(t.TempDir(), "list.txt")
		if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		in, err := enrich.LoadIntel(f)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	p := &pipeline.Pipeline{DB: db, Rules: detect.NewEngine(nil), Incidents: correlate.New(time.Hour), Metrics: pipeline.NewMetrics(prometheus.NewRegistry()),
		Intel: intel("198.51.100.1")}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	retro := func() []string {
		rows, err := db.QueryContext(ctx, `SELECT body FROM findings`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			var body string
			rows.Scan(&body)
			f, _ := report.ParseFindingJSON([]byte(body))
			if f.Retro {
				ids = append(ids, f.EventIDs...)
			}
		}
		slices.Sort(ids)
		return ids
	}
	done := make(chan struct{})
	go func() { defer close(done); p.RetroIntelLoop(ctx, l, 365*24*time.Hour) }()
	// The first run lists the indicators; nothing matches them anyway.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if v, _ := db.Checkpoint(ctx, "retro", "intel"); v != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first run did not list the indicators")
		}
	}
	if got := retro(); len(got) != 0 {
		t.Fatalf("retro findings before any new indicator: %v", got)
	}
	// A poll adds the caller's address: its calls are found in history.
	p.SetIntel(intel("198.51.100.1", "203.0.113.7"))
	var got []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if got = retro(); len(got) >= 2 || time.Now().After(deadline) {
			break
		}
	}
	if !slices.Equal(got, []string{"i1", "i2"}) {
		t.Errorf("retro intel findings cover %v, want i1 i2", got)
	}
	// The same set again: nothing new runs.
	n, _, err := p.RetroIntel(ctx, l, p.CurrentIntel(), 365*24*time.Hour, time.Now())
	if err != nil || n != 0 {
		t.Errorf("a known set ran %d indicators (%v)", n, err)
	}
	cancel()
	<-done
}
