package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/store"
)

func newPipeline(t *testing.T) *Pipeline {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p := &Pipeline{DB: db, Rules: detect.NewEngine(nil), Incidents: correlate.New(0)}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return p
}

func finding(id, rule, arn string) detect.Finding {
	return detect.Finding{ID: id, RuleID: rule, Title: "t", Level: "high", Time: time.Now().UTC(), EventIDs: []string{"ev-" + id},
		Actor: event.Actor{ARN: arn}, Cloud: event.Cloud{Provider: "aws", Account: "123456789012"}}
}

// Suppressions are matched before the incident lock is taken: while a
// finding is being checked, closing an incident (which takes that lock)
// does not wait for it.
func TestSuppressionsEvaluatedOutsideTheLock(t *testing.T) {
	ctx := context.Background()
	p := newPipeline(t)
	if err := p.AddSuppression(ctx, &correlate.Suppression{Expr: `finding.rule_id == "noisy"`, Reason: "r", Expires: time.Now().Add(time.Hour), CreatedBy: "alice"}); err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	p.evalHook = func() {
		entered <- struct{}{}
		<-release
	}
	stored := make(chan error, 1)
	go func() {
		_, _, err := p.store(ctx, nil, []detect.Finding{finding("f1", "noisy", "arn:aws:iam::123456789012:user/ci")}, nil)
		stored <- err
	}()
	<-entered
	closed := make(chan error, 1)
	go func() {
		_, err := p.CloseIncident(ctx, "inc-none", "bob", "nothing")
		closed <- err
	}()
	select {
	case err := <-closed:
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("close: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("closing an incident waited for a suppression's evaluation")
		close(release)
		<-closed
		<-stored
		return
	}
	close(release)
	if err := <-stored; err != nil {
		t.Fatal(err)
	}
}

// Making and ending a suppression and closing an incident are recorded in
// the audit trail with who and why; a suppression that mutes everything
// is refused and recorded nowhere.
func TestSuppressionsAndClosingAudited(t *testing.T) {
	ctx := context.Background()
	p := newPipeline(t)
	if err := p.AddSuppression(ctx, &correlate.Suppression{Expr: `true`, Reason: "quiet", Expires: time.Now().Add(time.Hour), CreatedBy: "mallory"}); err == nil {
		t.Fatal(`a suppression of "true" was accepted`)
	}
	sup := &correlate.Suppression{Expr: `finding.actor.arn == "arn:aws:iam::123456789012:role/ci"`, Reason: "the CI role's deploys", Expires: time.Now().Add(time.Hour), CreatedBy: "alice"}
	if err := p.AddSuppression(ctx, sup); err != nil {
		t.Fatal(err)
	}
	kept, _, err := p.store(ctx, nil, []detect.Finding{finding("f1", "r1", "arn:aws:iam::123456789012:role/ci"), finding("f2", "r1", "arn:aws:iam::123456789012:user/bob")}, nil)
	if err != nil || len(kept) != 1 || kept[0].ID != "f2" {
		t.Fatalf("stored %v, %v: want f2 filed and f1 suppressed", kept, err)
	}
	if err := p.RemoveSuppression(ctx, sup.ID, "carol", "the deploy window is over"); err != nil {
		t.Fatal(err)
	}
	if err := p.RemoveSuppression(ctx, sup.ID, "carol", "again"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ending it twice: %v", err)
	}
	incs, _ := LoadIncidents(ctx, p.DB, 10)
	if len(incs) != 1 {
		t.Fatalf("incidents: %v", incs)
	}
	if _, err := p.CloseIncident(ctx, incs[0].ID, "dave", "bob's test, confirmed"); err != nil {
		t.Fatal(err)
	}
	rows, err := p.DB.QueryContext(ctx, `SELECT body FROM audit ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		var r struct {
			Kind, Actor, Target string
			Detail              map[string]any
		}
		if err := json.Unmarshal([]byte(b), &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %v %v", r.Kind, r.Actor, r.Target != "", r.Detail["reason"]))
	}
	want := []string{
		"suppression.created alice true the CI role's deploys",
		"suppression.deleted carol true the deploy window is over",
		"incident.closed dave true bob's test, confirmed",
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit trail:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A suppression stored before suppressions had to pin what they mute (or
// had a bounded cost) mutes nothing once loaded again.
func TestStoredSuppressionsRechecked(t *testing.T) {
	ctx := context.Background()
	p := newPipeline(t)
	now := time.Now().UTC()
	for id, expr := range map[string]string{"sup-all": `true`, "sup-ok": `finding.rule_id == "r1"`} {
		b, _ := json.Marshal(&correlate.Suppression{ID: id, Expr: expr, Reason: "old", Created: now, Expires: now.Add(time.Hour)})
		if _, err := p.DB.ExecContext(ctx, `INSERT INTO suppressions (id, expires, body) VALUES (?, ?, ?)`, id, now.Add(time.Hour).Format(time.RFC3339Nano), string(b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.loadSuppressions(ctx); err != nil {
		t.Fatal(err)
	}
	sids := p.suppressedIDs([]detect.Finding{finding("f1", "r1", "a"), finding("f2", "r2", "b")})
	if sids[0] != "sup-ok" || sids[1] != "" {
		t.Errorf("suppressed by %q, want [sup-ok \"\"]", sids)
	}
}

// A suppression scoped to an OU mutes the findings of that OU's accounts,
// resolved through the pipeline's inventory (Accounts): a production
// account's finding of the same rule is filed, and so is one of an account
// the inventory does not know.
func TestScopedSuppressionThroughTheInventory(t *testing.T) {
	ctx := context.Background()
	p := newPipeline(t)
	p.Accounts = org.Static([]org.Account{{ID: "111111111111", OU: "Root/Sandbox"}, {ID: "222222222222", OU: "Root/Production"}})
	if err := p.AddSuppression(ctx, &correlate.Suppression{Expr: `finding.rule_id == "noisy"`, Reason: "sandbox noise", Expires: time.Now().Add(time.Hour),
		CreatedBy: "alice", Scope: &org.Scope{OUs: []string{"Sandbox"}}}); err != nil {
		t.Fatal(err)
	}
	in := func(id, account string) detect.Finding {
		f := finding(id, "noisy", "arn:aws:iam::"+account+":user/ci")
		f.Cloud.Account = account
		return f
	}
	kept, _, err := p.store(ctx, nil, []detect.Finding{in("f1", "111111111111"), in("f2", "222222222222"), in("f3", "999999999999")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range kept {
		ids = append(ids, f.ID)
	}
	if strings.Join(ids, ",") != "f2,f3" {
		t.Errorf("filed %v, want f2 (production) and f3 (unknown account); f1 (sandbox) suppressed", ids)
	}
}
