package respond

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/pgtest"
)

const fixOne = `name: fix
trigger: finding.rule_id == "r1"
mode: auto
steps:
  - action: fake.fix
    for_each: record.targets
    params: {target: "${item.name}"}
    on_error: continue
`

// Every action re-reads the live resource first: a compliant one is
// skipped (and said so in the run and the audit trail), an unreadable one
// fails without a call, an action with no live check is refused.
func TestVerifyBeforeAct(t *testing.T) {
	ctx := context.Background()
	f := &fakeAWS{compliant: map[string]bool{"closed": true}, unreadable: map[string]bool{"hidden": true}}
	e := newEngine(t, f, fixOne)
	rs, err := e.Handle(ctx, finding("f1", "r1", "open", "closed", "hidden"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.calls, ","); got != "fake.fix open" {
		t.Errorf("calls %q, want only the open one", got)
	}
	st := rs[0].Steps
	if len(st) != 3 || st[0].Status != "executed" || st[1].Status != "skipped" || !strings.HasPrefix(st[1].Reason, "live state compliant") ||
		st[2].Status != "failed" || !strings.Contains(st[2].Reason, "cannot read the live state") {
		t.Fatalf("steps %+v", st)
	}
	// The executed step's before-state is what the live read returned.
	if st[0].Outcome.Before["was"] != "open" {
		t.Errorf("before %v", st[0].Outcome.Before)
	}
	// The skip is in the audit trail with its reason, and the claim is
	// given back: a person may ask again once the state changes.
	if !auditHas(t, e, audit.ActionSkipped, "live state compliant") {
		t.Error("the audit trail lacks the compliant skip")
	}
	f.compliant["closed"] = false
	r, err := e.Request(ctx, "fix", finding("f1", "r1", "closed"), "alice", "it is open again")
	if err != nil || len(r.Steps) != 1 || r.Steps[0].Status != "executed" {
		t.Errorf("after the state changed: %v %+v", err, r.Steps)
	}

	// No Verify, not a notification: refused, never called.
	reg := NewRegistry()
	called := false
	reg.Add(&Action{Name: "fake.blind", Required: []string{"target"}, Target: func(p Params) string { return p["target"] },
		Plan: func(Params) []Call { return nil },
		Execute: func(context.Context, Params) (Outcome, error) {
			called = true
			return Outcome{}, nil
		}})
	pb, err := Parse([]byte("name: blind\ntrigger: \"true\"\nmode: auto\nsteps:\n  - action: fake.blind\n    params: {target: x}\n"), "b.yml", reg)
	if err != nil {
		t.Fatal(err)
	}
	e2 := newEngine(t, &fakeAWS{})
	e2.Registry, e2.Playbooks = reg, []*Playbook{pb}
	rs, _ = e2.Handle(ctx, finding("f9", "any"))
	if called || len(rs) != 1 || rs[0].Steps[0].Status != "failed" || !strings.Contains(rs[0].Steps[0].Reason, "no live-state check") {
		t.Errorf("an action without a live check ran: called %v, %+v", called, rs)
	}
}

func auditHas(t *testing.T, e *Engine, kind, text string) bool {
	t.Helper()
	var b strings.Builder
	if _, err := audit.Export(context.Background(), e.DB, &b); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, `"`+kind+`"`) && strings.Contains(line, text) {
			return true
		}
	}
	return false
}

// The protect list matches every form of a target: the value, its ARN in
// the finding's account, and the names the live read returned.
func TestProtectEveryForm(t *testing.T) {
	ctx := context.Background()
	for _, pat := range []string{"prod-db", "prod-*", "arn:fake:::prod-*", "arn:fake:::*"} {
		f := &fakeAWS{}
		e := newEngine(t, f, fixOne)
		e.Protect = []string{pat}
		rs, _ := e.Handle(ctx, finding("f1", "r1", "prod-db"))
		if len(f.calls) != 0 || rs[0].Steps[0].Status != "skipped" || !strings.Contains(rs[0].Steps[0].Reason, "configured list") {
			t.Errorf("pattern %q: calls %v, steps %+v", pat, f.calls, rs[0].Steps)
		}
	}
	// A tag that cannot be read blocks the action.
	f := &fakeAWS{}
	reg := f.registry()
	reg.Get("fake.fix").Protected = func(context.Context, Params) (bool, error) { return false, errors.New("AccessDenied") }
	e := newEngine(t, f, fixOne)
	e.Registry = reg
	p, _ := Parse([]byte(fixOne), "f.yml", reg)
	e.Playbooks = []*Playbook{p}
	rs, _ := e.Handle(ctx, finding("f2", "r1", "db"))
	if len(f.calls) != 0 || !strings.Contains(rs[0].Steps[0].Reason, "fail closed") {
		t.Errorf("an unreadable tag let the action run: %v %+v", f.calls, rs[0].Steps)
	}
}

// A step with if_executed runs only after the step it names executed.
func TestIfExecuted(t *testing.T) {
	ctx := context.Background()
	f := &fakeAWS{compliant: map[string]bool{"a": true}}
	t.Setenv("FAKE_URL", "http://127.0.0.1:1/")
	e := newEngine(t, f, `name: gated
trigger: "true"
mode: auto
steps:
  - action: fake.fix
    params: {target: "${finding.id}"}
  - action: fake.cut
    if_executed: fake.fix
    params: {target: "${finding.id}-more"}
  - action: fake.notify
    if_executed: fake.fix
    params: {url: "env:FAKE_URL", text: "fixed ${finding.id}"}
`)
	e.Playbooks[0].Mode = ModeAuto
	rs, _ := e.Handle(ctx, finding("a", "r"))
	if len(f.calls) != 0 || rs[0].Steps[1].Status != "skipped" || rs[0].Steps[2].Status != "skipped" {
		t.Errorf("steps after a compliant one ran: %v %+v", f.calls, rs[0].Steps)
	}
	rs, _ = e.Handle(ctx, finding("b", "r"))
	if got := strings.Join(f.calls, ","); got != "fake.fix b,fake.cut b-more,notify" {
		t.Errorf("calls %q, %+v", got, rs[0].Steps)
	}
	if _, err := Parse([]byte("name: x\ntrigger: \"true\"\nsteps:\n  - action: fake.fix\n    if_executed: fake.cut\n    params: {target: a}\n"), "x.yml", f.registry()); err == nil {
		t.Error("if_executed naming no earlier step was accepted")
	}
}

// Values from records are checked against AWS's naming rules before any
// call: a bucket name that is a path or carries a header is refused.
func TestParametersValidated(t *testing.T) {
	ctx := context.Background()
	f := &fakeAWS{}
	reg := f.registry()
	reg.Get("fake.fix").Kinds = map[string]Kind{"target": KindBucket}
	p, err := Parse([]byte(fixOne), "f.yml", reg)
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, f)
	e.Registry, e.Playbooks = reg, []*Playbook{p}
	for i, bad := range []string{"../../x", "a\r\nX-Injected: 1", "<!channel>", "ab", "Bucket..name", "192.168.1.1", strings.Repeat("a", 300)} {
		rs, err := e.Handle(ctx, finding(fmt.Sprint("bad", i), "r1", bad))
		if err != nil {
			t.Fatal(err)
		}
		if len(f.calls) != 0 || rs[0].Status != "failed" || !strings.Contains(rs[0].Error, "not a valid S3 bucket name") {
			t.Errorf("%q: calls %v, result %+v", bad, f.calls, rs[0])
		}
	}
	rs, _ := e.Handle(ctx, finding("good", "r1", "acme-logs.prod"))
	if rs[0].Status != "executed" {
		t.Errorf("a valid name was refused: %+v", rs[0])
	}
}

func TestValidate(t *testing.T) {
	good := map[Kind][]string{
		KindBucket:      {"acme-logs", "a.b.c", "LegacyBucket_1"},
		KindGroupID:     {"sg-0123abcd", "sg-0123456789abcdef0"},
		KindInstanceID:  {"i-0123abcd", "i-0123456789abcdef0"},
		KindAccessKeyID: {"AKIAIOSFODNN7EXAMPLE", "ASIAEXAMPLE123456789"},
		KindUser:        {"alice", "svc+ci@example.com"},
		KindPolicyARN:   {"arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::111122223333:policy/team/ReadOnly"},
		KindTrail:       {"main", "arn:aws:cloudtrail:us-east-1:111122223333:trail/main"},
		KindDetectorID:  {"12abc34d567e8fa901bc2d34eexample"},
		KindKMSKey:      {"", "1234abcd-12ab-34cd-56ef-1234567890ab", "alias/logs", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
		KindCIDR:        {"0.0.0.0/0", "::/0", "10.0.0.0/8"},
		KindProtocol:    {"tcp", "-1", "6", ""},
		KindPort:        {"22", "", "-1"},
		KindText:        {"<!channel> hello"},
	}
	bad := map[Kind][]string{
		KindBucket:      {"../../x", "a\r\nX-Injected: 1", "-abc", "ab", "a..b", "a/b", "10.0.0.1"},
		KindGroupID:     {"sg-xyz", "default", "sg-0123abcd; rm"},
		KindInstanceID:  {"i-", "i-0123abcd\n"},
		KindAccessKeyID: {"akia-lower", "AKIA/"},
		KindUser:        {"al ice", "a/b", strings.Repeat("u", 65)},
		KindPolicyARN:   {"AdministratorAccess", "arn:aws:iam::111122223333:role/x"},
		KindTrail:       {"a", "main\r\n", "arn:aws:s3:::x"},
		KindDetectorID:  {"ABC", "12/34"},
		KindKMSKey:      {"key", "arn:aws:kms:us-east-1:111122223333:key/../x"},
		KindCIDR:        {"0.0.0.0", "x/0"},
		KindProtocol:    {"http", "300"},
		KindPort:        {"22a", "70000"},
		KindText:        {"a\x00b"},
	}
	for k, vs := range good {
		for _, v := range vs {
			if err := Validate(k, v); err != nil {
				t.Errorf("Validate(%s, %q) = %v, want nil", k, v, err)
			}
		}
	}
	for k, vs := range bad {
		for _, v := range vs {
			if err := Validate(k, v); err == nil {
				t.Errorf("Validate(%s, %q) = nil, want an error", k, v)
			}
		}
	}
}

// Replays: the same finding posted again never triggers its playbooks
// again (one approval, not four).
func TestReplayDoesNotRetrigger(t *testing.T) {
	ctx := context.Background()
	f := &fakeAWS{}
	e := newEngine(t, f, `name: cut
trigger: "true"
approval: {timeout: 1h}
steps:
  - action: fake.cut
    params: {target: key1}
`)
	for range 4 {
		if _, err := e.Handle(ctx, finding("same", "r")); err != nil {
			t.Fatal(err)
		}
	}
	pending, err := e.Approvals(ctx, "pending")
	if err != nil || len(pending) != 1 {
		t.Errorf("%d approvals for one finding posted four times (%v)", len(pending), err)
	}
	runs, _ := e.Runs(ctx, RunFilter{FindingIDs: []string{"same"}})
	if len(runs) != 1 {
		t.Errorf("%d runs for one finding", len(runs))
	}
	// A dry run does not use up the finding's real run.
	f2 := &fakeAWS{}
	e2 := newEngine(t, f2, fixOne)
	e2.DryRun = true
	rs, _ := e2.Handle(ctx, finding("planned-first", "r1", "x"))
	if len(rs) != 1 || rs[0].Status != "planned" || len(f2.calls) != 0 {
		t.Fatalf("dry run: %+v %v", rs, f2.calls)
	}
	e2.DryRun = false
	rs, _ = e2.Handle(ctx, finding("planned-first", "r1", "x"))
	if len(rs) != 1 || rs[0].Status != "executed" || len(f2.calls) != 1 {
		t.Errorf("the real run after a dry run: %+v %v", rs, f2.calls)
	}
}

// Concurrent decisions on one approval and concurrent redeliveries of one
// finding execute its action exactly once, on SQLite and PostgreSQL.
func TestConcurrentDecisionsAndRedeliveries(t *testing.T) {
	testConcurrency(t, filepath.Join(t.TempDir(), "p.db"))
}

func TestConcurrentDecisionsAndRedeliveriesPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	testConcurrency(t, pgtest.URL(t))
}

func testConcurrency(t *testing.T, path string) {
	ctx := context.Background()
	f := &fakeAWS{}
	e := newEngineOn(t, path, f, `name: cut
trigger: finding.rule_id == "approve-me"
approval: {timeout: 1h}
steps:
  - action: fake.cut
    params: {target: "${finding.id}"}
`, `name: fix
trigger: finding.rule_id == "auto"
mode: auto
steps:
  - action: fake.fix
    params: {target: "${finding.id}"}
`)
	for round := range 5 {
		id := fmt.Sprint("apr-finding-", round)
		rs, err := e.Handle(ctx, finding(id, "approve-me"))
		if err != nil || len(rs) != 1 || rs[0].ApprovalID == "" {
			t.Fatalf("handle: %v %+v", err, rs)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := map[bool]int{}
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.Decide(ctx, rs[0].ApprovalID, fmt.Sprint("person", i), "", i%2 == 0)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					won[i%2 == 0]++
				} else if !errors.Is(err, ErrNotPending) {
					t.Errorf("decide: %v", err)
				}
			}()
		}
		wg.Wait()
		if won[true]+won[false] != 1 {
			t.Errorf("round %d: %d decisions succeeded (approvals %d, denials %d), want exactly one", round, won[true]+won[false], won[true], won[false])
		}
		runs := 0
		f.mu.Lock()
		for _, c := range f.calls {
			if c == "fake.cut "+id {
				runs++
			}
		}
		f.mu.Unlock()
		if runs != won[true] {
			t.Errorf("round %d: the action ran %d times for %d approvals", round, runs, won[true])
		}
	}
	// Eight deliveries of one finding at once: one run, one call.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.Handle(ctx, finding("redelivered", "auto")); err != nil {
				t.Errorf("handle: %v", err)
			}
		}()
	}
	wg.Wait()
	n := 0
	f.mu.Lock()
	for _, c := range f.calls {
		if c == "fake.fix redelivered" {
			n++
		}
	}
	f.mu.Unlock()
	if n != 1 {
		t.Errorf("the action ran %d times for one finding delivered eight times", n)
	}
	if _, _, err := audit.Verify(ctx, e.DB, e.Audit.Head()); err != nil {
		t.Error(err)
	}
}
