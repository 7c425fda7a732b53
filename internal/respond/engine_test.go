package respond

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/pgtest"
	"github.com/parapet-sec/parapet/internal/store"
)

// fakeAWS is a small in-memory stand-in for the unit tests of the engine's
// logic; the actions themselves are tested against moto (cli tests).
type fakeAWS struct {
	mu        sync.Mutex
	calls     []string
	failOn    map[string]bool
	protected map[string]bool
	undone    []string
	// compliant targets' live state no longer shows the problem;
	// unreadable ones cannot be read (their Verify fails).
	compliant, unreadable map[string]bool
	reads                 int
}

func (f *fakeAWS) called(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeAWS) registry() *Registry {
	reg := NewRegistry()
	mk := func(name string, destructive bool) *Action {
		a := &Action{Name: name, Required: []string{"target"}, Optional: []string{"note"}, Destructive: destructive, Permissions: []string{"svc:" + strings.ToUpper(name[5:6]) + name[6:]},
			Target: func(p Params) string { return p["target"] },
			Plan: func(p Params) []Call {
				return []Call{{Service: "svc", Operation: name, Input: map[string]any{"target": p["target"]}}}
			},
			Protected: func(_ context.Context, p Params) (bool, error) {
				return f.protected[p["target"]], nil
			},
			Verify: func(_ context.Context, p Params) (Live, error) {
				f.mu.Lock()
				f.reads++
				f.mu.Unlock()
				if f.unreadable[p["target"]] {
					return Live{}, errors.New("AccessDenied: cannot describe " + p["target"])
				}
				if f.compliant[p["target"]] {
					return Live{Why: p["target"] + " is closed", State: map[string]any{"open": false}}, nil
				}
				return Live{Problem: true, Why: p["target"] + " is open", State: map[string]any{"open": true}, IDs: []string{"arn:fake:::" + p["target"]}}, nil
			},
		}
		a.Execute = func(_ context.Context, p Params) (Outcome, error) {
			f.called(name + " " + p["target"])
			if f.failOn[p["target"]] {
				return Outcome{}, errors.New("boom")
			}
			return Outcome{Summary: "did " + p["target"], Before: map[string]any{"was": "open"}}, nil
		}
		a.Rollback = func(_ context.Context, p Params, o Outcome) error {
			f.undone = append(f.undone, name+" "+p["target"])
			return nil
		}
		return a
	}
	reg.Add(mk("fake.fix", false), mk("fake.cut", true))
	reg.Add(&Action{Name: "fake.notify", Required: []string{"url", "text"}, Secrets: []string{"url"}, NoLiveState: true,
		Plan: func(p Params) []Call { return nil },
		Execute: func(context.Context, Params) (Outcome, error) {
			f.called("notify")
			return Outcome{}, nil
		}})
	return reg
}

func newEngine(t *testing.T, f *fakeAWS, playbooks ...string) *Engine {
	t.Helper()
	return newEngineOn(t, filepath.Join(t.TempDir(), "p.db"), f, playbooks...)
}

// newEngineOn builds an engine on the store at path (SQLite or postgres://).
func newEngineOn(t *testing.T, path string, f *fakeAWS, playbooks ...string) *Engine {
	t.Helper()
	ctx := context.Background()
	reg := f.registry()
	var pbs []*Playbook
	for i, src := range playbooks {
		p, err := Parse([]byte(src), "p"+string(rune('a'+i))+".yml", reg)
		if err != nil {
			t.Fatal(err)
		}
		pbs = append(pbs, p)
	}
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log, err := audit.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	return &Engine{Playbooks: pbs, Registry: reg, DB: db, Audit: log}
}

func finding(id, rule string, targets ...string) *Finding {
	var items []any
	for _, t := range targets {
		items = append(items, map[string]any{"name": t})
	}
	return &Finding{Doc: map[string]any{"id": id, "rule_id": rule, "level": "high"}, Record: map[string]any{"targets": items}}
}

const fixEach = `name: fix
trigger: finding.rule_id == "r1"
mode: auto
max_failures: 2
max_targets: 3
steps:
  - action: fake.fix
    for_each: record.targets
    params: {target: "${item.name}"}
    on_error: continue
`

func TestGuardrails(t *testing.T) {
	ctx := context.Background()
	f := &fakeAWS{failOn: map[string]bool{"bad1": true, "bad2": true}, protected: map[string]bool{"tagged": true}}
	e := newEngine(t, f, fixEach)
	e.Protect = []string{"prod-*"}
	// Protected by tag and by the configured list: never touched.
	rs, _ := e.Handle(ctx, finding("f1", "r1", "ok1", "tagged", "prod-db"))
	if got := strings.Join(f.calls, ","); got != "fake.fix ok1" {
		t.Errorf("calls %q: protected resources were touched", got)
	}
	if rs[0].Steps[1].Status != "skipped" || !strings.Contains(rs[0].Steps[1].Reason, "tag") || !strings.Contains(rs[0].Steps[2].Reason, "configured") {
		t.Errorf("steps %+v", rs[0].Steps)
	}
	// The same finding again: its playbook does not run again.
	f.calls = nil
	rs, _ = e.Handle(ctx, finding("f1", "r1", "ok1"))
	if len(f.calls) != 0 || len(rs) != 1 || rs[0].Status != "duplicate" || len(rs[0].Steps) != 0 {
		t.Errorf("replay: calls %v, %+v", f.calls, rs)
	}
	// A person asking for it again: the run happens, its done steps do not.
	r, err := e.Request(ctx, "fix", finding("f1", "r1", "ok1"), "alice", "again")
	if err != nil || len(f.calls) != 0 || len(r.Steps) != 1 || !strings.Contains(r.Steps[0].Reason, "already done") {
		t.Errorf("idempotency: calls %v, %+v, %v", f.calls, r.Steps, err)
	}
	// Two failures open the circuit: the third finding's steps are halted.
	e.Handle(ctx, finding("f2", "r1", "bad1"))
	e.Handle(ctx, finding("f3", "r1", "bad2"))
	f.calls = nil
	rs, _ = e.Handle(ctx, finding("f4", "r1", "ok2"))
	if len(f.calls) != 0 || rs[0].Status != "halted" || !strings.Contains(rs[0].Steps[0].Reason, "circuit open") {
		t.Errorf("circuit: calls %v, %+v", f.calls, rs[0])
	}
	// Blast radius: a new engine, four targets, at most three.
	f2 := &fakeAWS{}
	e2 := newEngine(t, f2, fixEach)
	rs, _ = e2.Handle(ctx, finding("f5", "r1", "a", "b", "c", "d"))
	if len(f2.calls) != 3 || rs[0].Status != "halted" || !strings.Contains(rs[0].Steps[3].Reason, "blast radius") {
		t.Errorf("blast radius: calls %v, %+v", f2.calls, rs[0])
	}
	// Rate limit per target.
	f3 := &fakeAWS{}
	e3 := newEngine(t, f3, fixEach)
	e3.TargetRate = 2
	for i := range 3 {
		e3.Handle(ctx, finding("g"+string(rune('0'+i)), "r1", "same"))
	}
	if len(f3.calls) != 2 {
		t.Errorf("rate limit: %d calls on one target, want 2", len(f3.calls))
	}
	if _, _, err := audit.Verify(ctx, e.DB, e.Audit.Head()); err != nil {
		t.Error(err)
	}
}

func TestRollbackOnError(t *testing.T) {
	ctx := context.Background()
	f := &fakeAWS{failOn: map[string]bool{"b": true}}
	e := newEngine(t, f, `name: chain
trigger: "true"
mode: auto
steps:
  - action: fake.fix
    params: {target: a}
  - action: fake.fix
    params: {target: b}
    on_error: rollback
  - action: fake.fix
    params: {target: c}
`)
	rs, err := e.Handle(ctx, finding("f", "any"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.calls, ",") != "fake.fix a,fake.fix b" || strings.Join(f.undone, ",") != "fake.fix a" || rs[0].Status != "failed" || rs[0].Steps[0].Status != "rolled-back" {
		t.Errorf("calls %v, undone %v, result %+v", f.calls, f.undone, rs[0])
	}
}

func TestApprovals(t *testing.T) {
	ctx := context.Background()
	f := &fakeAWS{}
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	e := newEngine(t, f, `name: cut
trigger: "true"
approval: {approvers: [alice, bob], timeout: 1h}
steps:
  - action: fake.cut
    params: {target: key1}
`, `name: cut-eager
trigger: finding.id == "f2"
approval: {timeout: 1h, on_timeout: approve}
steps:
  - action: fake.cut
    params: {target: key2}
`)
	e.Now = func() time.Time { return now }
	if e.Playbooks[0].Mode != ModeApprove {
		t.Fatalf("a destructive playbook defaults to %q", e.Playbooks[0].Mode)
	}
	rs, _ := e.Handle(ctx, finding("f1", "r"))
	if len(f.calls) != 0 || rs[0].Status != "pending-approval" {
		t.Fatalf("ran without approval: %v %+v", f.calls, rs)
	}
	if _, err := e.Decide(ctx, rs[0].ApprovalID, "mallory", "", true); err == nil || !strings.Contains(err.Error(), "may not decide") {
		t.Errorf("a non-approver decided: %v", err)
	}
	if _, err := e.Decide(ctx, rs[0].ApprovalID, "alice", "go", true); err != nil || len(f.calls) != 1 {
		t.Fatalf("approved: %v, calls %v", err, f.calls)
	}
	if _, err := e.Decide(ctx, rs[0].ApprovalID, "bob", "", true); !errors.Is(err, ErrNotPending) {
		t.Errorf("decided twice: %v", err)
	}
	// Timeouts: deny by default, approve when the playbook says so.
	rs, _ = e.Handle(ctx, finding("f2", "r"))
	now = now.Add(2 * time.Hour)
	out, err := e.Expire(ctx)
	if err != nil || len(out) != 2 {
		t.Fatalf("expire: %v %+v", err, out)
	}
	statuses := map[string]string{}
	for _, r := range out {
		statuses[r.Playbook] = r.Status
	}
	if statuses["cut"] != "expired" || statuses["cut-eager"] != "executed" || strings.Join(f.calls, ",") != "fake.cut key1,fake.cut key2" {
		t.Errorf("timeouts: %v, calls %v", statuses, f.calls)
	}
}

// One approval per playbook, target set and incident: a request like a
// pending one folds into it with a count (and the finding listed), a
// request for another incident or after the decision is a new approval,
// and approving runs the plan once.
func TestApprovalsFold(t *testing.T) {
	ctx := context.Background()
	f := &fakeAWS{}
	e := newEngine(t, f, `name: cut
trigger: "true"
approval: {approvers: [alice], timeout: 1h}
steps:
  - action: fake.cut
    params: {target: key1}
`)
	in := func(id, incident string) *Finding {
		fd := finding(id, "r")
		fd.Doc["incident_id"] = incident
		return fd
	}
	first, _ := e.Handle(ctx, in("f1", "inc-1"))
	again, _ := e.Handle(ctx, in("f2", "inc-1"))
	twice, _ := e.Handle(ctx, in("f2", "inc-1")) // a redelivered finding is not a new request
	other, _ := e.Handle(ctx, in("f3", "inc-2"))
	redelivered := ""
	if len(twice) > 0 {
		redelivered = twice[0].ApprovalID
	}
	if first[0].ApprovalID == "" || again[0].ApprovalID != first[0].ApprovalID || redelivered != "" || other[0].ApprovalID == first[0].ApprovalID {
		t.Fatalf("approvals: %s, %s, %s, %s", first[0].ApprovalID, again[0].ApprovalID, redelivered, other[0].ApprovalID)
	}
	pending, err := e.Approvals(ctx, "pending")
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending: %v %+v", err, pending)
	}
	for _, a := range pending {
		want := map[bool]int{true: 2, false: 1}[a.ID == first[0].ApprovalID]
		if a.Repeats != want {
			t.Errorf("%s: repeats %d, want %d", a.ID, a.Repeats, want)
		}
		if a.ID == first[0].ApprovalID && strings.Join(a.Folded, ",") != "f2" {
			t.Errorf("folded findings %v, want [f2]", a.Folded)
		}
		// Each planned step lists the calls its action's Plan gives.
		if len(a.Steps) != 1 || len(a.Steps[0].Calls) != 1 || a.Steps[0].Calls[0].Operation != "fake.cut" || a.Steps[0].Calls[0].Input["target"] != "key1" {
			t.Errorf("%s: planned steps %+v, want one fake.cut call on key1", a.ID, a.Steps)
		}
	}
	if _, err := e.Decide(ctx, first[0].ApprovalID, "alice", "one cut for the incident", true); err != nil || strings.Join(f.calls, ",") != "fake.cut key1" {
		t.Fatalf("approved: %v, calls %v", err, f.calls)
	}
	later, _ := e.Handle(ctx, in("f4", "inc-1"))
	if later[0].ApprovalID == "" || later[0].ApprovalID == first[0].ApprovalID {
		t.Errorf("a request after the decision folded into the decided approval: %s", later[0].ApprovalID)
	}
}

func TestDryRunAndUnconfiguredSecrets(t *testing.T) {
	ctx := context.Background()
	f := &fakeAWS{}
	e := newEngine(t, f, `name: tell
trigger: "true"
mode: auto
steps:
  - action: fake.fix
    params: {target: x}
  - action: fake.notify
    params: {url: env:PARAPET_TEST_UNSET_WEBHOOK, text: hi}
    on_error: continue
`)
	var out strings.Builder
	e.Out, e.DryRun = &out, true
	rs, _ := e.Handle(ctx, finding("f", "r"))
	if len(f.calls) != 0 || rs[0].Status != "planned" || !strings.Contains(out.String(), `svc fake.fix {"target":"x"}`) {
		t.Errorf("dry-run: calls %v, %+v, printed %q", f.calls, rs, out.String())
	}
	e.DryRun = false
	rs, _ = e.Handle(ctx, finding("g", "r"))
	if rs[0].Steps[1].Status != "skipped" || !strings.Contains(rs[0].Steps[1].Reason, "not configured") || rs[0].Status != "executed" {
		t.Errorf("an unconfigured notification: %+v", rs[0])
	}
}

func TestPlaybookProblems(t *testing.T) {
	reg := (&fakeAWS{}).registry()
	for src, want := range map[string]string{
		"name: x\ntrigger: \"true\"\n": "schema",
		"name: X Y\ntrigger: \"true\"\nsteps: [{action: fake.fix, params: {target: a}}]\n":                "schema",
		"name: x\ntrigger: \"true\"\nsurprise: 1\nsteps: [{action: fake.fix, params: {target: a}}]\n":     "schema",
		"name: x\ntrigger: \"finding.\"\nsteps: [{action: fake.fix, params: {target: a}}]\n":              "trigger",
		"name: x\ntrigger: \"1 + 1\"\nsteps: [{action: fake.fix, params: {target: a}}]\n":                 "not a condition",
		"name: x\ntrigger: \"true\"\nsteps: [{action: fake.nope, params: {target: a}}]\n":                 "unknown action",
		"name: x\ntrigger: \"true\"\nsteps: [{action: fake.fix}]\n":                                       "required",
		"name: x\ntrigger: \"true\"\nsteps: [{action: fake.fix, params: {target: a, b: c}}]\n":            "unknown parameter",
		"name: x\ntrigger: \"true\"\nsteps: [{action: fake.notify, params: {url: https://x, text: t}}]\n": "secret",
		"name: x\ntrigger: \"true\"\nsteps: [{action: fake.fix, params: {target: \"${finding.}\"}}]\n":    "target",
	} {
		_, err := Parse([]byte(src), "bad.yml", reg)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "bad.yml: ") {
			t.Errorf("%q: error %v, want one naming the file and mentioning %q", src, err, want)
		}
	}
}

func TestLeastPrivilege(t *testing.T) {
	f := &fakeAWS{}
	e := newEngine(t, f, fixEach, `name: off
trigger: "true"
enabled: false
steps:
  - action: fake.cut
    params: {target: a}
`)
	pol := LeastPrivilege(e.Playbooks, e.Registry)
	if len(pol.Statement) != 1 || strings.Join(pol.Statement[0].Action, ",") != "svc:Fix" || pol.Version != "2012-10-17" {
		t.Errorf("policy %+v: want only the enabled playbook's permission", pol)
	}
}

func TestApprovalByRole(t *testing.T) {
	ctx := context.Background()
	f := &fakeAWS{}
	e := newEngine(t, f, `name: cut
trigger: "true"
approval: {approvers: [security-oncall]}
steps:
  - action: fake.cut
    params: {target: key1}
`)
	rs, _ := e.Handle(ctx, finding("f1", "r"))
	if _, err := e.DecideAs(ctx, rs[0].ApprovalID, "carol", []string{"carol", "developer"}, "", true); err == nil {
		t.Error("someone outside the approver role decided")
	}
	r, err := e.DecideAs(ctx, rs[0].ApprovalID, "dave (security-oncall)", []string{"dave", "security-oncall"}, "on call", true)
	if err != nil || r.Status != "executed" || len(f.calls) != 1 {
		t.Fatalf("the on-call approver: %v %+v calls %v", err, r, f.calls)
	}
}

func FuzzParsePlaybook(f *testing.F) {
	f.Add([]byte(fixEach))
	f.Add([]byte("name: x\ntrigger: \"true\"\nsteps: [{action: fake.fix, params: {target: \"${finding.id}\"}}]\n"))
	reg := (&fakeAWS{}).registry()
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data, "fuzz.yml", reg)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yml: ") {
				t.Fatalf("an error that does not name the file: %v", err)
			}
			return
		}
		if p.Name == "" || len(p.Steps) == 0 || p.Mode == "" {
			t.Fatalf("accepted an incomplete playbook: %+v", p)
		}
	})
}

func FuzzParseFinding(f *testing.F) {
	f.Add([]byte(`{"id":"x","rule_id":"r","record":{"eventName":"PutBucketPolicy"}}`))
	f.Add([]byte(`{"id":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fd, err := ParseFinding(data)
		if err != nil {
			return
		}
		if fd.ID() == "" || fd.Record == nil {
			t.Fatalf("accepted a finding without an id or record map: %+v", fd)
		}
	})
}

// A person asks for a playbook on a finding its trigger did not match; with
// the four-eyes rule on, the run waits for someone else's approval, and the
// run's record follows it from the request to the execution.
func TestRequestFourEyesAndRuns(t *testing.T) {
	testRequestFourEyesAndRuns(t, filepath.Join(t.TempDir(), "p.db"))
}

// The same on PostgreSQL (a throwaway cluster).
func TestRequestFourEyesAndRunsPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	testRequestFourEyesAndRuns(t, pgtest.URL(t))
}

func testRequestFourEyesAndRuns(t *testing.T, path string) {
	ctx := context.Background()
	f := &fakeAWS{}
	e := newEngineOn(t, path, f, `name: fix-one
trigger: finding.rule_id == "never"
mode: auto
steps:
  - action: fake.fix
    params: {target: "${finding.id}-res"}
`)
	e.FourEyes = true
	if _, err := e.Request(ctx, "nope", finding("f1", "r"), "alice", ""); !errors.Is(err, ErrNoPlaybook) {
		t.Errorf("unknown playbook: %v", err)
	}
	r, err := e.Request(ctx, "fix-one", finding("f1", "r"), "alice", "contain it")
	if err != nil || r.Status != "pending-approval" || r.RunID == "" || r.RequestedBy != "alice" || len(f.calls) != 0 {
		t.Fatalf("request under four eyes: %v %+v calls %v", err, r, f.calls)
	}
	if _, err := e.Decide(ctx, r.ApprovalID, "alice", "mine", true); !errors.Is(err, ErrFourEyes) {
		t.Fatalf("the requester approved their own run: %v", err)
	}
	if len(f.calls) != 0 {
		t.Fatalf("ran: %v", f.calls)
	}
	got, err := e.Decide(ctx, r.ApprovalID, "bob", "confirmed with the owner", true)
	if err != nil || got.Status != "executed" || got.RunID != r.RunID || got.DecidedBy != "bob" || strings.Join(f.calls, ",") != "fake.fix f1-res" {
		t.Fatalf("approved by another: %v %+v calls %v", err, got, f.calls)
	}
	run, err := e.Run(ctx, r.RunID)
	if err != nil || run.Status != "executed" || run.RequestedBy != "alice" || run.DecidedBy != "bob" || len(run.Steps) != 1 || !run.Started.Equal(r.Started) {
		t.Errorf("stored run: %v %+v", err, run)
	}
	// Without four eyes an auto playbook runs when asked; a trigger's run
	// is the system's.
	e.FourEyes = false
	r2, err := e.Request(ctx, "fix-one", finding("f2", "r"), "carol", "")
	if err != nil || r2.Status != "executed" {
		t.Fatalf("request: %v %+v", err, r2)
	}
	if _, err := e.Request(ctx, "fix-one", finding("f3", "r"), System, ""); err == nil {
		t.Error("a request in the system's name")
	}
	runs, err := e.Runs(ctx, RunFilter{})
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs: %v %d", err, len(runs))
	}
	only, _ := e.Runs(ctx, RunFilter{FindingIDs: []string{"f2"}})
	if len(only) != 1 || only[0].RunID != r2.RunID {
		t.Errorf("runs of f2: %+v", only)
	}
	if _, err := e.Run(ctx, "run-none"); !errors.Is(err, ErrNoRun) {
		t.Errorf("missing run: %v", err)
	}
	// The audit trail names the requester and the decider.
	var buf bytes.Buffer
	if _, err := audit.Export(ctx, e.DB, &buf); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec audit.Record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Kind == audit.PlaybookRequested || rec.Kind == audit.ApprovalGranted {
			kinds = append(kinds, rec.Kind+":"+rec.Actor)
		}
	}
	if strings.Join(kinds, ",") != "playbook.requested:alice,approval.granted:bob,playbook.requested:carol" {
		t.Errorf("audit: %v", kinds)
	}
}

// Guardrails hold across processes that share a store (the workers of a
// scaled-out serve, or a restart): the circuit one opened stays open for
// the other, and the blast radius counts what both touched.
func TestGuardrailsShared(t *testing.T) {
	testGuardrailsShared(t, filepath.Join(t.TempDir(), "p.db"))
}

func TestGuardrailsSharedPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	testGuardrailsShared(t, pgtest.URL(t))
}

func testGuardrailsShared(t *testing.T, path string) {
	ctx := context.Background()
	f1, f2 := &fakeAWS{}, &fakeAWS{}
	e1, e2 := newEngineOn(t, path, f1, fixEach), newEngineOn(t, path, f2, fixEach)
	// Blast radius 3: two targets on one worker, one on the other, then
	// a fourth is refused on either.
	for _, c := range []struct {
		e *Engine
		f *Finding
	}{{e1, finding("f1", "r1", "a", "b")}, {e2, finding("f2", "r1", "c")}} {
		if rs, err := c.e.Handle(ctx, c.f); err != nil || len(rs) != 1 || rs[0].Status != "executed" {
			t.Fatalf("%s: %v %+v", c.f.ID(), err, rs)
		}
	}
	rs, err := e2.Handle(ctx, finding("f3", "r1", "d"))
	if err != nil || len(rs) != 1 {
		t.Fatalf("f3: %v %+v", err, rs)
	}
	if len(f2.calls) != 1 || rs[0].Status != "halted" || !strings.Contains(rs[0].Steps[0].Reason, "already touched 3") {
		t.Errorf("blast radius across engines: calls %v, %+v", f2.calls, rs[0])
	}
	// A target already touched is not a new one.
	if rs, _ := e1.Handle(ctx, finding("f4", "r1", "c")); rs[0].Status != "executed" {
		t.Errorf("re-touching c: %+v", rs[0])
	}
	// Two failures on one worker open the circuit on the other.
	g1, g2 := &fakeAWS{failOn: map[string]bool{"x": true}}, &fakeAWS{}
	c1 := newEngineOn(t, path, g1, strings.Replace(fixEach, "name: fix", "name: fix2", 1))
	c2 := newEngineOn(t, path, g2, strings.Replace(fixEach, "name: fix", "name: fix2", 1))
	c1.Handle(ctx, finding("g1", "r1", "x"))
	c1.Handle(ctx, finding("g2", "r1", "x"))
	rs, err = c2.Handle(ctx, finding("g3", "r1", "ok"))
	if err != nil || len(rs) != 1 {
		t.Fatalf("circuit across engines: %v %+v", err, rs)
	}
	if len(g2.calls) != 0 || rs[0].Status != "halted" || !strings.Contains(rs[0].Steps[0].Reason, "circuit open: 2 failures") {
		t.Errorf("circuit across engines: calls %v, %+v", g2.calls, rs[0])
	}
	// An hour later (the window) it closes.
	later := time.Now().Add(61 * time.Minute)
	c2.Now = func() time.Time { return later }
	if rs, _ := c2.Handle(ctx, finding("g4", "r1", "ok")); rs[0].Status != "executed" {
		t.Errorf("after the window: %+v", rs[0])
	}
}

// TestSignalsRunNoPlaybook: an informational finding triggers no playbook
// whose trigger would select it, unless the playbook asks for signals.
func TestSignalsRunNoPlaybook(t *testing.T) {
	ctx := context.Background()
	const byLevel = `name: any-level
trigger: finding.level != "critical"
mode: auto
steps:
  - action: fake.fix
    params: {target: "t1"}
`
	const asks = `name: signals-too
trigger: finding.rule_id == "r1"
informational: true
mode: auto
steps:
  - action: fake.fix
    params: {target: "t2"}
`
	f := &fakeAWS{}
	e := newEngine(t, f, byLevel, asks)
	signal := finding("s1", "r1")
	signal.Doc["level"] = "informational"
	if e.Playbooks[0].Triggers(signal) || !e.Playbooks[1].Triggers(signal) || !e.Playbooks[0].Matches(signal) {
		t.Errorf("Triggers: level trigger %v (want false), informational: true %v (want true); an analyst is still offered the first: %v",
			e.Playbooks[0].Triggers(signal), e.Playbooks[1].Triggers(signal), e.Playbooks[0].Matches(signal))
	}
	res, err := e.Handle(ctx, signal)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Playbook != "signals-too" || strings.Join(f.calls, ";") != "fake.fix t2" {
		t.Errorf("a signal ran %+v (calls %v), want only signals-too", res, f.calls)
	}
	res, err = e.Handle(ctx, finding("h1", "r1"))
	if err != nil || len(res) != 2 {
		t.Errorf("a high finding ran %d playbooks (%v), want 2", len(res), err)
	}
}

// TestApprovalsFoldGrowThePlan: in one incident, a request on another
// resource joins the pending approval's plan (one decision for the
// incident); approving runs every step once; the same step twice is kept
// once.
func TestApprovalsFoldGrowThePlan(t *testing.T) {
	ctx := context.Background()
	f := &fakeAWS{}
	e := newEngine(t, f, `name: cut
trigger: "true"
approval: {approvers: [alice], timeout: 1h}
steps:
  - action: fake.cut
    params: {target: "${finding.id}-key"}
`)
	in := func(id, incident string) *Finding {
		fd := finding(id, "r")
		fd.Doc["incident_id"] = incident
		return fd
	}
	a, _ := e.Handle(ctx, in("f1", "inc-1"))
	b, _ := e.Handle(ctx, in("f2", "inc-1"))
	c, _ := e.Handle(ctx, in("f3", "inc-1"))
	if a[0].ApprovalID == "" || b[0].ApprovalID != a[0].ApprovalID || c[0].ApprovalID != a[0].ApprovalID {
		t.Fatalf("approvals %s %s %s, want one", a[0].ApprovalID, b[0].ApprovalID, c[0].ApprovalID)
	}
	pending, err := e.Approvals(ctx, "pending")
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending: %v %d", err, len(pending))
	}
	var targets []string
	for _, s := range pending[0].Steps {
		targets = append(targets, s.Target)
	}
	if got := strings.Join(targets, ","); got != "f1-key,f2-key,f3-key" || pending[0].Repeats != 3 {
		t.Errorf("plan targets %s, repeats %d; want f1-key,f2-key,f3-key and 3", got, pending[0].Repeats)
	}
	// Each step shows the before-state Parapet read when it was asked.
	for _, s := range pending[0].Steps {
		if s.Before["open"] != true || s.BeforeWhy != s.Target+" is open" || s.ReadAt.IsZero() {
			t.Errorf("step %s: before %v %q read at %v", s.Target, s.Before, s.BeforeWhy, s.ReadAt)
		}
	}
	if _, err := e.Decide(ctx, a[0].ApprovalID, "alice", "cut them all", true); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.calls, ","); got != "fake.cut f1-key,fake.cut f2-key,fake.cut f3-key" {
		t.Errorf("calls %s", got)
	}
}
