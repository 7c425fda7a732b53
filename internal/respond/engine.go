package respond

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/parapet-sec/parapet/internal/iampolicy"
	"io"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/store"
)

// Finding is a finding as playbooks see it: its JSON lines form, and the
// native record of its event ({} when there is none).
type Finding struct {
	Doc    map[string]any
	Record map[string]any
}

// ID is the finding's id.
func (f *Finding) ID() string { s, _ := f.Doc["id"].(string); return s }

// Account is the finding's cloud account (cloud.account), or "".
func (f *Finding) Account() string {
	c, _ := f.Doc["cloud"].(map[string]any)
	s, _ := c["account"].(string)
	return s
}

// ParseFinding reads one finding JSON line (with "record" when detect
// wrote it with --records).
func ParseFinding(line []byte) (*Finding, error) {
	var doc map[string]any
	if err := json.Unmarshal(line, &doc); err != nil {
		return nil, err
	}
	if id, ok := doc["id"].(string); !ok || id == "" {
		return nil, errors.New("not a finding: no id")
	}
	f := &Finding{Doc: doc, Record: map[string]any{}}
	if r, ok := doc["record"].(map[string]any); ok {
		f.Record = r
		delete(doc, "record")
	}
	return f, nil
}

// Engine runs playbooks. Safe for concurrent use.
type Engine struct {
	Playbooks []*Playbook
	Registry  *Registry
	DB        *store.DB
	Audit     *audit.Log
	// DryRun plans every action and executes none (the exact calls go to
	// Out and the audit trail).
	DryRun bool
	// Protect lists resources no playbook touches: names or ARNs, with *
	// and ? wildcards.
	Protect []string
	// ProtectAccounts: no step acting on a cloud resource runs on a
	// finding in these accounts (the zero Scope: none). A finding there
	// does not wait for approval: its steps are refused.
	ProtectAccounts org.Scope
	// Accounts resolves a finding's account to its OU and tags for
	// playbook scopes, approval scopes and ProtectAccounts (nil: no
	// inventory; only scopes naming accounts by id match).
	Accounts org.Resolver
	// ActionRate is how many times an action may run per minute, and
	// TargetRate how many actions may touch one resource per hour
	// (defaults 60 and 10).
	ActionRate, TargetRate int
	// FourEyes: nobody decides an approval for a run they requested.
	FourEyes bool
	Out      io.Writer
	Now      func() time.Time

	mu sync.Mutex // one guard at a time in this process
}

// StepResult is what became of one step.
type StepResult struct {
	Action  string  `json:"action"`
	Target  string  `json:"target,omitempty"`
	Status  string  `json:"status"` // executed, planned, skipped, failed, rolled-back
	Reason  string  `json:"reason,omitempty"`
	Outcome Outcome `json:"outcome"`
	Params  Params  `json:"params,omitempty"`
}

// Result is what became of one playbook for one finding.
type Result struct {
	// RunID names the run in the store's playbook_runs (GET
	// /v1/playbook-runs/{id}); it stays the same from the request through
	// the approval to the execution.
	RunID       string       `json:"id,omitempty"`
	Playbook    string       `json:"playbook"`
	FindingID   string       `json:"finding_id"`
	Status      string       `json:"status"` // executed, planned, pending-approval, denied, expired, failed, halted
	ApprovalID  string       `json:"approval_id,omitempty"`
	RequestedBy string       `json:"requested_by,omitempty"` // "parapet" when a trigger matched
	DecidedBy   string       `json:"decided_by,omitempty"`
	Error       string       `json:"error,omitempty"` // why a run could not be planned
	Started     time.Time    `json:"started,omitzero"`
	Updated     time.Time    `json:"updated,omitzero"`
	Steps       []StepResult `json:"steps"`
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now().UTC()
}

func (e *Engine) vars(f *Finding) map[string]any {
	return map[string]any{"finding": f.Doc, "record": f.Record}
}

// Matches says whether a playbook's trigger selects a finding (a trigger
// that cannot read the finding does not): what an analyst is offered to
// run on it.
func (p *Playbook) Matches(f *Finding) bool {
	ok, err := evalBool(p.trigger, map[string]any{"finding": f.Doc, "record": f.Record})
	return err == nil && ok
}

// Triggers says whether the finding runs the playbook by itself (Handle):
// its trigger selects it, and it is not a signal (an informational
// finding), unless the playbook asks for signals (informational: true).
func (p *Playbook) Triggers(f *Finding) bool {
	ok, err := p.selects(f, map[string]any{"finding": f.Doc, "record": f.Record})
	return err == nil && ok
}

func (p *Playbook) selects(f *Finding, vars map[string]any) (bool, error) {
	if lv, _ := f.Doc["level"].(string); lv == "informational" && !p.Informational {
		return false, nil
	}
	return evalBool(p.trigger, vars)
}

// Prove plans a playbook on a finding without running anything: every
// template it renders for this finding renders, and every parameter is
// valid. It is what playbooks lint checks against the rules' examples.
func (e *Engine) Prove(p *Playbook, f *Finding) (int, error) {
	steps, err := e.plan(p, e.vars(f))
	return len(steps), err
}

// Handle runs every enabled playbook whose trigger matches f.
func (e *Engine) Handle(ctx context.Context, f *Finding) ([]Result, error) {
	vars := e.vars(f)
	var matched []*Playbook
	for _, p := range e.Playbooks {
		if !p.IsEnabled() || !p.Scope.Matches(f.Account(), e.Accounts) {
			continue
		}
		ok, err := p.selects(f, vars)
		if err != nil {
			// A trigger that cannot read this finding (a field it lacks)
			// does not match it.
			continue
		}
		if ok {
			matched = append(matched, p)
		}
	}
	if len(matched) == 0 {
		return nil, nil
	}
	if _, err := e.Audit.Append(ctx, audit.Record{Kind: audit.FindingReceived, FindingID: f.ID(),
		Detail: map[string]any{"rule_id": f.Doc["rule_id"], "title": f.Doc["title"], "level": f.Doc["level"]}}); err != nil {
		return nil, err
	}
	var out []Result
	for _, p := range matched {
		// A dry run's claim is its own: planning a finding does not use up
		// its real run.
		claim := p.Name
		if e.DryRun {
			claim = "dry-run:" + p.Name
		}
		runID, prior, err := e.trigger(ctx, f.ID(), claim)
		if err != nil {
			return out, err
		}
		if prior != "" {
			// The same finding again (a replayed or redelivered record):
			// its playbooks ran once already.
			out = append(out, Result{RunID: prior, Playbook: p.Name, FindingID: f.ID(), Status: "duplicate", RequestedBy: System,
				Error: "this finding already triggered this playbook (run " + prior + ")"})
			continue
		}
		r, err := e.run(ctx, p, f, vars, System, runID)
		if serr := e.saveRun(ctx, &r); err == nil {
			err = serr
		}
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// trigger claims (finding, playbook) for a triggered run, atomically: the
// first caller gets a run id to use; a later one (a replay, a redelivery,
// a second worker) gets the run id that claimed it. A claim whose run was
// never saved (its process died mid-run) is taken over after
// triggerTakeover; the steps' own idempotency keys keep what it did from
// being done twice.
func (e *Engine) trigger(ctx context.Context, findingID, playbook string) (runID, prior string, err error) {
	runID = newRunID()
	now := e.now().UTC()
	r, err := e.DB.ExecContext(ctx, `INSERT INTO triggers (finding_id, playbook, run_id, at) VALUES (?, ?, ?, ?) ON CONFLICT (finding_id, playbook) DO NOTHING`,
		findingID, playbook, runID, now.Format(guardTime))
	if err != nil {
		return "", "", err
	}
	if n, err := r.RowsAffected(); err != nil {
		return "", "", err
	} else if n == 1 {
		return runID, "", nil
	}
	var held, at string
	if err := e.DB.QueryRowContext(ctx, `SELECT run_id, at FROM triggers WHERE finding_id = ? AND playbook = ?`, findingID, playbook).Scan(&held, &at); err != nil {
		return "", "", err
	}
	var saved int
	if err := e.DB.QueryRowContext(ctx, `SELECT count(*) FROM playbook_runs WHERE id = ?`, held).Scan(&saved); err != nil {
		return "", "", err
	}
	if saved == 0 && at < now.Add(-triggerTakeover).Format(guardTime) {
		r, err := e.DB.ExecContext(ctx, `UPDATE triggers SET run_id = ?, at = ? WHERE finding_id = ? AND playbook = ? AND run_id = ?`, runID, now.Format(guardTime), findingID, playbook, held)
		if err != nil {
			return "", "", err
		}
		if n, _ := r.RowsAffected(); n == 1 {
			return runID, "", nil
		}
	}
	return "", held, nil
}

// triggerTakeover is how long a claimed run may go unsaved before another
// delivery of its finding takes it over: longer than any run takes.
const triggerTakeover = 30 * time.Minute

// System is who requests a run when a playbook's trigger matched.
const System = "parapet"

// ErrFourEyes: the four-eyes rule refuses a decision by the requester.
var ErrFourEyes = errors.New("four-eyes rule: the run's requester may not decide its approval")

// ErrNoPlaybook: a request names a playbook that is not loaded.
var ErrNoPlaybook = errors.New("no such playbook")

// Request runs a playbook on a finding because a person asked, whether or
// not its trigger matches: as any run, through dry-run, approval (always,
// when the four-eyes rule is on, so that someone else confirms) and the
// guardrails. by names the requester.
func (e *Engine) Request(ctx context.Context, playbook string, f *Finding, by, comment string) (Result, error) {
	if by == "" || by == System {
		return Result{}, errors.New("a request needs the name of who makes it")
	}
	p := e.playbook(playbook)
	if p == nil {
		return Result{}, fmt.Errorf("%w: %q", ErrNoPlaybook, playbook)
	}
	if _, err := e.Audit.Append(ctx, audit.Record{Kind: audit.PlaybookRequested, Actor: by, FindingID: f.ID(), Playbook: p.Name,
		Detail: map[string]any{"comment": comment}}); err != nil {
		return Result{}, err
	}
	r, err := e.run(ctx, p, f, e.vars(f), by, newRunID())
	if serr := e.saveRun(ctx, &r); err == nil {
		err = serr
	}
	return r, err
}

// playbook is the loaded playbook of that name (the last, when files
// repeat a name), or nil.
func (e *Engine) playbook(name string) *Playbook {
	var p *Playbook
	for _, x := range e.Playbooks {
		if x.Name == name {
			p = x
		}
	}
	return p
}

func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "run-" + hex.EncodeToString(b[:])
}

// saveRun writes (or updates) a run in playbook_runs.
func (e *Engine) saveRun(ctx context.Context, r *Result) error {
	if r.Status == "" || e.DB == nil {
		return nil
	}
	now := e.now().UTC()
	if r.RunID == "" {
		r.RunID = newRunID()
	}
	if r.Started.IsZero() {
		r.Started = now
	}
	r.Updated = now
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = e.DB.ExecContext(ctx, `INSERT INTO playbook_runs (id, finding_id, playbook, status, requested_by, started, updated, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated = excluded.updated, body = excluded.body`,
		r.RunID, r.FindingID, r.Playbook, r.Status, r.RequestedBy, r.Started.Format(time.RFC3339Nano), r.Updated.Format(time.RFC3339Nano), string(body))
	return err
}

// RunFilter selects runs; empty fields select all.
type RunFilter struct {
	FindingIDs []string
	// Accounts, when not nil, keeps the runs of findings in these
	// accounts (none when empty).
	Accounts []string
	Status   string
	Limit    int
}

// Runs lists playbook runs, newest first.
func (e *Engine) Runs(ctx context.Context, f RunFilter) ([]Result, error) {
	return Runs(ctx, e.DB, f)
}

// Runs lists the playbook runs in a store, newest first.
func Runs(ctx context.Context, db *store.DB, f RunFilter) ([]Result, error) {
	q := `SELECT body FROM playbook_runs WHERE (? = '' OR status = ?)`
	args := []any{f.Status, f.Status}
	if len(f.FindingIDs) > 0 {
		c, a := store.In("finding_id", f.FindingIDs)
		q += ` AND ` + c
		args = append(args, a...)
	}
	if f.Accounts != nil {
		if len(f.Accounts) == 0 {
			return nil, nil
		}
		c, a := store.In("account", f.Accounts)
		q += ` AND finding_id IN (SELECT id FROM findings WHERE ` + c + `)`
		args = append(args, a...)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q += ` ORDER BY started DESC, id LIMIT ?`
	args = append(args, f.Limit)
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Result{}
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		var r Result
		if err := json.Unmarshal([]byte(b), &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ErrNoRun: no run with that id.
var ErrNoRun = errors.New("no such playbook run")

// Run reads one playbook run.
func (e *Engine) Run(ctx context.Context, id string) (Result, error) {
	var b string
	err := e.DB.QueryRowContext(ctx, `SELECT body FROM playbook_runs WHERE id = ?`, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return Result{}, ErrNoRun
	}
	if err != nil {
		return Result{}, err
	}
	var r Result
	err = json.Unmarshal([]byte(b), &r)
	return r, err
}

// plan renders the steps that apply to the finding.
type plannedStep struct {
	Index   int    `json:"index"`
	Action  string `json:"action"`
	Params  Params `json:"params"`
	Target  string `json:"target"`
	Region  string `json:"region,omitempty"`  // the finding's: where the action works
	Account string `json:"account,omitempty"` // the finding's: what ARNs the protect list is matched in
	// Calls are the API calls the action's Plan gives for these params:
	// filled in when approvals are listed, never stored.
	Calls []Call `json:"calls,omitempty"`
	// Before is the target's live state as Parapet read it when the
	// approval was requested (what approving would change), BeforeWhy
	// says it in words, ReadAt when; empty for steps that change nothing.
	// Approving reads it again before acting.
	Before    map[string]any `json:"before,omitempty"`
	BeforeWhy string         `json:"before_why,omitempty"`
	ReadAt    time.Time      `json:"read_at,omitzero"`
}

// in is ctx for the step's actions: the finding's region and account.
func (s plannedStep) in(ctx context.Context) context.Context {
	return WithAccount(WithRegion(ctx, s.Region), s.Account)
}

// readBefore reads, for an approval, the live state of the target of
// each step that changes the estate.
func (e *Engine) readBefore(ctx context.Context, p *Playbook, steps []plannedStep) {
	ctx = WithCause(ctx, p.Name, "")
	for i := range steps {
		s := &steps[i]
		a := e.Registry.Get(s.Action)
		if a == nil || a.Verify == nil || s.Index >= len(p.Steps) {
			continue
		}
		vctx, cancel := context.WithTimeout(s.in(ctx), p.Steps[s.Index].timeout)
		live, err := a.Verify(vctx, s.Params)
		cancel()
		s.ReadAt = e.now()
		if err != nil {
			s.BeforeWhy = "could not read the live state: " + err.Error()
			continue
		}
		s.Before, s.BeforeWhy = live.State, live.Why
	}
}

func (e *Engine) plan(p *Playbook, vars map[string]any) ([]plannedStep, error) {
	var out []plannedStep
	for i := range p.Steps {
		s := &p.Steps[i]
		items := []any{nil}
		if s.forEach != nil {
			v, _, err := s.forEach.Eval(vars)
			if err != nil {
				continue // nothing to iterate in this finding
			}
			list, ok := v.Value().([]any)
			if !ok {
				if l, err := v.ConvertToNative(reflectAnySlice); err == nil {
					list, ok = l.([]any)
				}
			}
			if !ok {
				return nil, fmt.Errorf("step %d (%s): for_each is not a list", i+1, s.Action)
			}
			items = list
		}
		for _, item := range items {
			v := vars
			if s.forEach != nil {
				v = map[string]any{"finding": vars["finding"], "record": vars["record"], "item": item}
			}
			if s.when != nil {
				ok, err := evalBool(s.when, v)
				if err != nil || !ok {
					continue
				}
			}
			a := e.Registry.Get(s.Action)
			params := Params{}
			for k, t := range s.params {
				r, err := t.render(v, Escape(a.Kinds[k]))
				if err != nil {
					return nil, fmt.Errorf("step %d (%s): %s: %v%s", i+1, s.Action, k, err, missingHint(t, vars))
				}
				if err := Validate(a.Kinds[k], r); err != nil {
					return nil, fmt.Errorf("step %d (%s): %s: %w", i+1, s.Action, k, err)
				}
				params[k] = r
			}
			if a.Check != nil {
				if err := a.Check(params); err != nil {
					return nil, fmt.Errorf("step %d (%s): %w", i+1, s.Action, err)
				}
			}
			region, account := "", ""
			if f, ok := vars["finding"].(map[string]any); ok {
				if c, ok := f["cloud"].(map[string]any); ok {
					region, _ = c["region"].(string)
					account, _ = c["account"].(string)
				}
			}
			out = append(out, plannedStep{Index: i, Action: s.Action, Params: params, Target: a.Target(params), Region: region, Account: account})
		}
	}
	return out, nil
}

var reflectAnySlice = reflect.TypeOf([]any{})

func (e *Engine) run(ctx context.Context, p *Playbook, f *Finding, vars map[string]any, by, runID string) (Result, error) {
	res := Result{RunID: runID, Playbook: p.Name, FindingID: f.ID(), RequestedBy: by, Started: e.now().UTC()}
	steps, err := e.plan(p, vars)
	if err != nil {
		res.Status, res.Error = "failed", err.Error()
		_, aerr := e.Audit.Append(ctx, audit.Record{Kind: audit.ActionFailed, FindingID: f.ID(), Playbook: p.Name, Detail: map[string]any{"error": err.Error()}})
		return res, aerr
	}
	mode := p.Mode
	if e.DryRun {
		mode = ModeDryRun
	}
	if _, err := e.Audit.Append(ctx, audit.Record{Kind: audit.PlaybookMatched, FindingID: f.ID(), Playbook: p.Name,
		Detail: map[string]any{"mode": mode, "steps": len(steps)}}); err != nil {
		return res, err
	}
	if mode == ModeDryRun {
		res.Status = "planned"
		for _, s := range steps {
			a := e.Registry.Get(s.Action)
			calls := a.Plan(s.Params)
			res.Steps = append(res.Steps, StepResult{Action: s.Action, Target: s.Target, Status: "planned", Outcome: Outcome{Calls: calls}, Params: s.Params})
			if e.Out != nil {
				for _, c := range calls {
					in, _ := json.Marshal(c.Input)
					fmt.Fprintf(e.Out, "dry-run %s %s: %s %s %s\n", p.Name, f.ID(), c.Service, c.Operation, in)
				}
			}
			if _, err := e.Audit.Append(ctx, audit.Record{Kind: audit.ActionPlanned, FindingID: f.ID(), Playbook: p.Name, Action: s.Action, Target: s.Target,
				Detail: map[string]any{"calls": callsDetail(calls), "dry_run": true}}); err != nil {
				return res, err
			}
		}
		return res, nil
	}
	if e.protectedAccount(f.Account()) != "" {
		// Nothing to approve: every step on a resource will be refused.
		return e.execute(ctx, p, f.ID(), steps, res)
	}
	if p.NeedsApprovalIn(f.Account(), e.Accounts) || e.FourEyes && by != System || retroNeedsApproval(p, f) {
		id, err := e.requestApproval(ctx, p, f, steps, by, res.RunID)
		res.Status, res.ApprovalID = "pending-approval", id
		return res, err
	}
	return e.execute(ctx, p, f.ID(), steps, res)
}

// retroNeedsApproval: a finding made over history (retro) waits for a
// person unless the playbook says approval.required: false — its events
// may be weeks old, and the resource may have changed since. approval.auto_in
// does not lift it.
func retroNeedsApproval(p *Playbook, f *Finding) bool {
	retro, _ := f.Doc["retro"].(bool)
	return retro && (p.Approval.Required == nil || *p.Approval.Required)
}

func callsDetail(calls []Call) []any {
	var out []any
	for _, c := range calls {
		out = append(out, map[string]any{"service": c.Service, "operation": c.Operation, "input": c.Input})
	}
	return out
}

// idempotencyKey: the same finding never runs the same action with the
// same parameters twice.
func idempotencyKey(findingID, playbook string, s plannedStep) string {
	h := sha256.New()
	keys := make([]string, 0, len(s.Params))
	for k := range s.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%s", findingID, playbook, s.Index, s.Action)
	for _, k := range keys {
		fmt.Fprintf(h, "\x00%s=%s", k, s.Params[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func (e *Engine) execute(ctx context.Context, p *Playbook, findingID string, steps []plannedStep, res Result) (Result, error) {
	ctx = WithCause(ctx, p.Name, findingID)
	res.Status = "executed"
	var completed []doneStep
	executed := map[string]bool{} // actions that executed in this run
	for _, s := range steps {
		a := e.Registry.Get(s.Action)
		step := &p.Steps[s.Index]
		sr := StepResult{Action: s.Action, Target: s.Target, Params: s.Params}
		skip := func(reason string, detail map[string]any) error {
			sr.Status, sr.Reason = "skipped", reason
			res.Steps = append(res.Steps, sr)
			d := map[string]any{"reason": reason}
			for k, v := range detail {
				d[k] = v
			}
			_, err := e.Audit.Append(ctx, audit.Record{Kind: audit.ActionSkipped, FindingID: findingID, Playbook: p.Name, Action: s.Action, Target: s.Target, Detail: d})
			return err
		}
		if step.IfExecuted != "" && !executed[step.IfExecuted] {
			if err := skip("not needed: "+step.IfExecuted+" did not execute in this run", nil); err != nil {
				return res, err
			}
			continue
		}
		key := idempotencyKey(findingID, p.Name, s)
		claimed, why, err := e.claim(ctx, key)
		if err != nil {
			// Without the guard's state nothing runs.
			if err := skip("idempotency state unavailable: "+err.Error(), nil); err != nil {
				return res, err
			}
			continue
		}
		if !claimed {
			if err := skip(why, nil); err != nil {
				return res, err
			}
			continue
		}
		// From here on the step holds the claim: settle or release it.
		release := func(reason string, detail map[string]any) error {
			e.settle(ctx, key, "")
			return skip(reason, detail)
		}
		if reason := unconfigured(a, s.Params); reason != "" {
			// A notification nobody configured is skipped, not failed: it
			// must not open the circuit on the playbook's real work.
			if err := release(reason, nil); err != nil {
				return res, err
			}
			continue
		}
		if reason := e.listed(a, s, nil); reason != "" {
			if err := release(reason, nil); err != nil {
				return res, err
			}
			continue
		}
		if reason := e.protectedAccount(s.Account); reason != "" && !a.NoLiveState {
			if err := release(reason, map[string]any{"protected_account": s.Account}); err != nil {
				return res, err
			}
			continue
		}
		failStep := func(msg string, out Outcome) (bool, error) {
			sr.Outcome = out
			sr.Status, sr.Reason = "failed", msg
			res.Steps = append(res.Steps, sr)
			e.settle(ctx, key, "failed")
			e.fail(p)
			if _, aerr := e.Audit.Append(ctx, audit.Record{Kind: audit.ActionFailed, FindingID: findingID, Playbook: p.Name, Action: s.Action, Target: s.Target,
				Detail: map[string]any{"error": msg, "calls": callsDetail(out.Calls)}}); aerr != nil {
				return false, aerr
			}
			return step.OnError == "continue", nil
		}
		var live Live
		switch {
		case a.Verify != nil:
			vctx, cancel := context.WithTimeout(s.in(ctx), step.timeout)
			live, err = a.Verify(vctx, s.Params)
			cancel()
			if err != nil {
				cont, aerr := failStep("cannot read the live state of "+s.Target+": "+err.Error(), Outcome{})
				if aerr != nil {
					return res, aerr
				}
				if cont {
					continue
				}
				res.Status = "failed"
				return e.rollback(ctx, p, findingID, step, completed, res)
			}
			if !live.Problem {
				if err := release("live state compliant: "+live.Why, map[string]any{"live": live.State}); err != nil {
					return res, err
				}
				continue
			}
		case !a.NoLiveState:
			cont, aerr := failStep(ErrNoVerify.Error(), Outcome{})
			if aerr != nil {
				return res, aerr
			}
			if cont {
				continue
			}
			res.Status = "failed"
			return e.rollback(ctx, p, findingID, step, completed, res)
		}
		if reason := e.listed(a, s, live.IDs); reason != "" {
			if err := release(reason, nil); err != nil {
				return res, err
			}
			continue
		}
		if a.Protected != nil {
			prot, err := a.Protected(s.in(ctx), s.Params)
			if err != nil {
				// Fail closed: a protection that cannot be read is assumed.
				if err := release("protection tag of "+s.Target+" could not be read (fail closed): "+err.Error(), nil); err != nil {
					return res, err
				}
				continue
			}
			if prot {
				if err := release("protected resource "+s.Target+" (tag "+ProtectTag+"=true)", nil); err != nil {
					return res, err
				}
				continue
			}
		}
		if reason := e.guard(ctx, p, a, s); reason != "" {
			if err := release(reason, nil); err != nil {
				return res, err
			}
			if strings.HasPrefix(reason, "circuit") || strings.HasPrefix(reason, "blast radius") {
				res.Status = "halted"
				break
			}
			continue
		}
		sctx, cancel := context.WithTimeout(s.in(ctx), step.timeout)
		out, err := a.Execute(sctx, s.Params)
		cancel()
		if out.Before == nil && live.State != nil {
			out.Before = live.State
		}
		if err != nil {
			cont, aerr := failStep(err.Error(), out)
			if aerr != nil {
				return res, aerr
			}
			if cont {
				continue
			}
			res.Status = "failed"
			return e.rollback(ctx, p, findingID, step, completed, res)
		}
		sr.Outcome = out
		sr.Status = "executed"
		res.Steps = append(res.Steps, sr)
		completed = append(completed, doneStep{s, out})
		executed[s.Action] = true
		e.settle(ctx, key, "executed")
		if _, err := e.Audit.Append(ctx, audit.Record{Kind: audit.ActionExecuted, FindingID: findingID, Playbook: p.Name, Action: s.Action, Target: s.Target,
			Detail: map[string]any{"summary": out.Summary, "live": live.Why, "before": out.Before, "after": out.After, "calls": callsDetail(out.Calls)}}); err != nil {
			return res, err
		}
	}
	return res, nil
}

// doneStep is a step that executed, with what it did (for rollback).
type doneStep struct {
	step plannedStep
	out  Outcome
}

// rollback undoes the completed steps, newest first, when the failed
// step says on_error: rollback (abort leaves them).
func (e *Engine) rollback(ctx context.Context, p *Playbook, findingID string, failed *Step, completed []doneStep, res Result) (Result, error) {
	ctx = WithCause(ctx, p.Name, findingID)
	if failed.OnError != "rollback" {
		return res, nil
	}
	for i := len(completed) - 1; i >= 0; i-- {
		c := completed[i]
		ca := e.Registry.Get(c.step.Action)
		status := "rolled back"
		var rerr error
		if ca.Rollback == nil {
			rerr = ErrNoRollback
		} else {
			rerr = ca.Rollback(c.step.in(ctx), c.step.Params, c.out)
		}
		if rerr != nil {
			status = "rollback failed: " + rerr.Error()
		}
		if _, aerr := e.Audit.Append(ctx, audit.Record{Kind: audit.ActionRolledBack, FindingID: findingID, Playbook: p.Name, Action: c.step.Action, Target: c.step.Target,
			Detail: map[string]any{"status": status, "before": c.out.Before}}); aerr != nil {
			return res, aerr
		}
		for j := range res.Steps {
			if res.Steps[j].Action == c.step.Action && res.Steps[j].Target == c.step.Target && res.Steps[j].Status == "executed" {
				res.Steps[j].Status = "rolled-back"
			}
		}
	}
	return res, nil
}

// listed says why a step's resources are on the protect list, or "":
// every pattern is matched against every form of every resource the step
// names (the value, its ARN in the finding's account and region, and the
// names the live read returned).
func (e *Engine) listed(a *Action, s plannedStep, live []string) string {
	if len(e.Protect) == 0 {
		return ""
	}
	forms := append([]string{s.Target}, a.names(s.Params, s.Account, s.Region)...)
	forms = append(forms, live...)
	for _, pat := range e.Protect {
		for _, f := range forms {
			if f != "" && iampolicy.Wildcard(pat, f) {
				return "protected resource " + f + " (configured list: " + pat + ")"
			}
		}
	}
	return ""
}

// protectedAccount says why account is protected (respond's
// protect_accounts), or "".
func (e *Engine) protectedAccount(account string) string {
	if account == "" || e.ProtectAccounts.IsZero() || !e.ProtectAccounts.Matches(account, e.Accounts) {
		return ""
	}
	name := account
	if e.Accounts != nil {
		if a, ok := e.Accounts(account); ok && (a.Name != "" || a.OU != "") {
			name += " (" + strings.Trim(a.Name+", "+a.OU, ", ") + ")"
		}
	}
	return "protected account " + name + " (configured: " + e.ProtectAccounts.String() + ")"
}

// unconfigured names a secret reference that cannot be read, or "".
func unconfigured(a *Action, p Params) string {
	for _, name := range a.Secrets {
		if v, ok := p[name]; ok {
			if _, err := ResolveSecret(v); err != nil {
				return "not configured: " + name + ": " + err.Error()
			}
		}
	}
	return ""
}

// claim takes a step's idempotency key, atomically, so that one step for
// one finding runs once across redeliveries, concurrent decisions and
// every process on the store. A key whose step failed can be taken again.
func (e *Engine) claim(ctx context.Context, key string) (bool, string, error) {
	now := e.now().UTC().Format(time.RFC3339Nano)
	r, err := e.DB.ExecContext(ctx, `INSERT INTO executions (key, at, outcome) VALUES (?, ?, 'running') ON CONFLICT (key) DO NOTHING`, key, now)
	if err != nil {
		return false, "", err
	}
	if n, err := r.RowsAffected(); err != nil {
		return false, "", err
	} else if n == 1 {
		return true, "", nil
	}
	r, err = e.DB.ExecContext(ctx, `UPDATE executions SET outcome = 'running', at = ? WHERE key = ? AND outcome = 'failed'`, now, key)
	if err != nil {
		return false, "", err
	}
	if n, err := r.RowsAffected(); err != nil {
		return false, "", err
	} else if n == 1 {
		return true, "", nil
	}
	var outcome string
	if err := e.DB.QueryRowContext(ctx, `SELECT outcome FROM executions WHERE key = ?`, key).Scan(&outcome); err != nil {
		return false, "", err
	}
	if outcome == "running" {
		return false, "running in another process (idempotency key " + key + ")", nil
	}
	return false, "already done for this finding (idempotency key " + key + ")", nil
}

// settle records how a claimed step ended: executed, failed (may be
// retried), or "" to give the claim back (skipped: nothing was done).
func (e *Engine) settle(ctx context.Context, key, outcome string) {
	// A context already cancelled must not leave the claim held.
	ctx = context.WithoutCancel(ctx)
	if outcome == "" {
		_, _ = e.DB.ExecContext(ctx, `DELETE FROM executions WHERE key = ? AND outcome = 'running'`, key)
		return
	}
	_, _ = e.DB.ExecContext(ctx, `UPDATE executions SET outcome = ?, at = ? WHERE key = ?`, outcome, e.now().UTC().Format(time.RFC3339Nano), key)
}

// guard applies the guardrails; it returns why the step may not run, or "".
func (e *Engine) guard(ctx context.Context, p *Playbook, a *Action, s plannedStep) string {
	// The windows live in the store, so that they hold across restarts and
	// across the workers of a scaled-out serve (PostgreSQL: one guard at a
	// time, by an advisory lock).
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now().UTC()
	reason, err := e.guardTx(ctx, p, a, s, now)
	if err != nil {
		return "guardrail state unavailable: " + err.Error()
	}
	return reason
}

// guardTime formats times in guard_events: fixed width, so that text order
// is time order.
const guardTime = "2006-01-02T15:04:05.000000000Z"

func (e *Engine) guardTx(ctx context.Context, p *Playbook, a *Action, s plannedStep, now time.Time) (string, error) {
	tx, err := e.DB.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	if e.DB.Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7061727061)`); err != nil {
			return "", err
		}
	}
	since := func(d time.Duration) string { return now.Add(-d).Format(guardTime) }
	count := func(q string, args ...any) (int, error) {
		var n int
		err := tx.QueryRowContext(ctx, q, args...).Scan(&n)
		return n, err
	}
	// Rows past every window are of no more use.
	if _, err := tx.ExecContext(ctx, `DELETE FROM guard_events WHERE at < ?`, since(max(p.window, time.Hour)+24*time.Hour)); err != nil {
		return "", err
	}
	if n, err := count(`SELECT COUNT(*) FROM guard_events WHERE kind = 'fail' AND scope = ? AND at > ?`, p.Name, since(p.window)); err != nil {
		return "", err
	} else if n >= p.MaxFailures {
		return fmt.Sprintf("circuit open: %d failures of playbook %s within %s", n, p.Name, p.window), nil
	}
	if s.Target != "" {
		seen, err := count(`SELECT COUNT(*) FROM guard_events WHERE kind = 'touch' AND scope = ? AND target = ? AND at > ?`, p.Name, s.Target, since(p.window))
		if err != nil {
			return "", err
		}
		touched, err := count(`SELECT COUNT(DISTINCT target) FROM guard_events WHERE kind = 'touch' AND scope = ? AND at > ?`, p.Name, since(p.window))
		if err != nil {
			return "", err
		}
		if seen == 0 && touched >= p.MaxTargets {
			return fmt.Sprintf("blast radius: playbook %s already touched %d resources within %s", p.Name, touched, p.window), nil
		}
	}
	actionRate, targetRate := e.ActionRate, e.TargetRate
	if actionRate == 0 {
		actionRate = 60
	}
	if targetRate == 0 {
		targetRate = 10
	}
	if n, err := count(`SELECT COUNT(*) FROM guard_events WHERE kind = 'action' AND scope = ? AND at > ?`, a.Name, since(time.Minute)); err != nil {
		return "", err
	} else if n >= actionRate {
		return fmt.Sprintf("rate limit: %s ran %d times in the last minute", a.Name, n), nil
	}
	at := now.Format(guardTime)
	if s.Target != "" {
		if n, err := count(`SELECT COUNT(*) FROM guard_events WHERE kind = 'target' AND scope = ? AND at > ?`, s.Target, since(time.Hour)); err != nil {
			return "", err
		} else if n >= targetRate {
			return fmt.Sprintf("rate limit: %d actions on %s in the last hour", n, s.Target), nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO guard_events (kind, scope, target, at) VALUES ('target', ?, '', ?), ('touch', ?, ?, ?)`, s.Target, at, p.Name, s.Target, at); err != nil {
			return "", err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO guard_events (kind, scope, target, at) VALUES ('action', ?, '', ?)`, a.Name, at); err != nil {
		return "", err
	}
	return "", tx.Commit()
}

// fail counts a failed step towards the playbook's circuit breaker.
func (e *Engine) fail(p *Playbook) {
	_, _ = e.DB.ExecContext(context.Background(), `INSERT INTO guard_events (kind, scope, target, at) VALUES ('fail', ?, '', ?)`, p.Name, e.now().UTC().Format(guardTime))
}

// Approval is a plan waiting for a person.
type Approval struct {
	ID          string        `json:"id"`
	FindingID   string        `json:"finding_id"`
	Playbook    string        `json:"playbook"`
	Created     time.Time     `json:"created"`
	Expires     time.Time     `json:"expires"`
	OnTimeout   string        `json:"on_timeout"`
	Approvers   []string      `json:"approvers"`
	Status      string        `json:"status"` // pending, approved, denied, expired
	DecidedBy   string        `json:"decided_by,omitempty"`
	Comment     string        `json:"comment,omitempty"`
	RequestedBy string        `json:"requested_by,omitempty"`
	RunID       string        `json:"run_id,omitempty"`
	Steps       []plannedStep `json:"steps"`
	// Repeats counts the requests folded into this approval: the same
	// playbook for the same incident (their new steps added to the plan)
	// or, outside serve, on the same targets, while it was pending; Folded
	// lists the findings of the later ones (the first 100).
	Repeats int      `json:"repeats"`
	Folded  []string `json:"folded_findings,omitempty"`
}

// maxFolded bounds the finding ids an approval lists as folded into it;
// maxPlanSteps the steps folded requests grow its plan to.
const (
	maxFolded    = 100
	maxPlanSteps = 500
)

// sameStep: two planned steps do the same thing (a notification's text
// may differ: one is enough).
func sameStep(a, b plannedStep) bool {
	if a.Action != b.Action || a.Target != b.Target || a.Region != b.Region || a.Account != b.Account {
		return false
	}
	if a.Target != "" {
		return true
	}
	return a.Index == b.Index
}

// foldKey says which requests are one approval: in serve (the finding
// names its incident), the playbook and the incident, the plan growing by
// the steps each folded request adds; outside serve, the playbook and the
// set of actions and targets the plan calls.
func foldKey(p *Playbook, f *Finding, steps []plannedStep) string {
	incident, _ := f.Doc["incident_id"].(string)
	if incident != "" {
		h := sha256.Sum256([]byte(p.Name + "\x01incident\x01" + incident))
		return hex.EncodeToString(h[:16])
	}
	targets := make([]string, 0, len(steps))
	for _, s := range steps {
		targets = append(targets, s.Action+"\x00"+s.Target)
	}
	sort.Strings(targets)
	targets = slices.Compact(targets)
	h := sha256.New()
	fmt.Fprintf(h, "%s\x01%s", p.Name, incident)
	for _, t := range targets {
		fmt.Fprintf(h, "\x01%s", t)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "apr-" + hex.EncodeToString(b[:])
}

func (e *Engine) requestApproval(ctx context.Context, p *Playbook, f *Finding, steps []plannedStep, by, runID string) (string, error) {
	timeout := 4 * time.Hour
	if p.Approval.Timeout != "" {
		timeout, _ = time.ParseDuration(p.Approval.Timeout)
	}
	onTimeout := p.Approval.OnTimeout
	if onTimeout == "" {
		onTimeout = "deny"
	}
	var targets []string
	for _, s := range steps {
		targets = append(targets, s.Action+" "+s.Target)
	}
	key := foldKey(p, f, steps)
	// A request like one still pending folds into it, with a count: one
	// decision for the same actions on the same resources.
	var pending, folded, plan string
	err := e.DB.QueryRowContext(ctx, `SELECT id, coalesce(folded, ''), plan FROM approvals WHERE fold_key = ? AND status = 'pending' ORDER BY created LIMIT 1`, key).Scan(&pending, &folded, &plan)
	switch {
	case err == nil:
		var ids []string
		_ = json.Unmarshal([]byte(folded), &ids)
		if len(ids) < maxFolded && !slices.Contains(ids, f.ID()) {
			ids = append(ids, f.ID())
		}
		fj, _ := json.Marshal(ids)
		// The steps this request adds (another instance of the same
		// incident, say) join the plan: one decision for the incident.
		var have []plannedStep
		if err := json.Unmarshal([]byte(plan), &have); err != nil {
			return "", fmt.Errorf("approval %s: stored plan: %w", pending, err)
		}
		var added []string
		var fresh []plannedStep
		for _, st := range steps {
			if !slices.ContainsFunc(have, func(h plannedStep) bool { return sameStep(h, st) }) && len(have)+len(fresh) < maxPlanSteps {
				fresh = append(fresh, st)
				added = append(added, st.Action+" "+st.Target)
			}
		}
		e.readBefore(ctx, p, fresh)
		have = append(have, fresh...)
		pj, _ := json.Marshal(have)
		if _, err := e.DB.ExecContext(ctx, `UPDATE approvals SET repeats = repeats + 1, folded = ?, plan = ? WHERE id = ? AND status = 'pending'`, string(fj), string(pj), pending); err != nil {
			return "", err
		}
		_, err := e.Audit.Append(ctx, audit.Record{Kind: audit.ApprovalRequested, Actor: by, FindingID: f.ID(), Playbook: p.Name,
			Detail: map[string]any{"approval_id": pending, "run_id": runID, "folded": true, "steps": targets, "added_steps": added}})
		return pending, err
	case !errors.Is(err, sql.ErrNoRows):
		return "", err
	}
	id := newID()
	now := e.now()
	fj, _ := json.Marshal(map[string]any{"doc": f.Doc, "record": f.Record})
	steps = slices.Clone(steps)
	e.readBefore(ctx, p, steps)
	pj, _ := json.Marshal(steps)
	aj, _ := json.Marshal(p.Approval.Approvers)
	if _, err := e.DB.ExecContext(ctx, `INSERT INTO approvals (id, finding_id, playbook, created, expires, on_timeout, approvers, status, finding, plan, requested_by, run_id, fold_key, repeats) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, 1)`,
		id, f.ID(), p.Name, now.Format(time.RFC3339Nano), now.Add(timeout).Format(time.RFC3339Nano), onTimeout, string(aj), string(fj), string(pj), by, runID, key); err != nil {
		return "", err
	}
	_, err = e.Audit.Append(ctx, audit.Record{Kind: audit.ApprovalRequested, Actor: by, FindingID: f.ID(), Playbook: p.Name,
		Detail: map[string]any{"approval_id": id, "run_id": runID, "approvers": p.Approval.Approvers, "expires": now.Add(timeout).Format(time.RFC3339), "on_timeout": onTimeout, "steps": targets}})
	return id, err
}

// Approvals lists approvals with the given status ("" for all).
func (e *Engine) Approvals(ctx context.Context, status string) ([]Approval, error) {
	rows, err := e.DB.QueryContext(ctx, `SELECT id, finding_id, playbook, created, expires, on_timeout, approvers, status, coalesce(decided_by, ''), coalesce(comment, ''), plan, coalesce(requested_by, ''), coalesce(run_id, ''), repeats, coalesce(folded, '') FROM approvals WHERE ? = '' OR status = ? ORDER BY created`, status, status)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Approval
	for rows.Next() {
		var a Approval
		var created, expires, approvers, plan, folded string
		if err := rows.Scan(&a.ID, &a.FindingID, &a.Playbook, &created, &expires, &a.OnTimeout, &approvers, &a.Status, &a.DecidedBy, &a.Comment, &plan, &a.RequestedBy, &a.RunID, &a.Repeats, &folded); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(folded), &a.Folded)
		a.Created, _ = time.Parse(time.RFC3339Nano, created)
		a.Expires, _ = time.Parse(time.RFC3339Nano, expires)
		_ = json.Unmarshal([]byte(approvers), &a.Approvers)
		_ = json.Unmarshal([]byte(plan), &a.Steps)
		for i, st := range a.Steps {
			if act := e.Registry.Get(st.Action); act != nil && act.Plan != nil {
				a.Steps[i].Calls = act.Plan(st.Params)
			}
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ErrNotPending: the approval was already decided, or never existed.
var ErrNotPending = errors.New("no pending approval with that id")

// Decide approves (and runs the plan) or denies a pending approval; by
// must be among the playbook's approvers when it names any.
func (e *Engine) Decide(ctx context.Context, id, by, comment string, approve bool) (Result, error) {
	return e.DecideAs(ctx, id, by, []string{by}, comment, approve)
}

// DecideAs is Decide for a person who may hold approver roles: any of
// names (the person, their roles) may match the playbook's approvers.
func (e *Engine) DecideAs(ctx context.Context, id, by string, names []string, comment string, approve bool) (Result, error) {
	if by == "" {
		return Result{}, errors.New("a decision needs the name of who makes it")
	}
	var a Approval
	var plan, approvers string
	err := e.DB.QueryRowContext(ctx, `SELECT finding_id, playbook, approvers, plan, coalesce(requested_by, ''), coalesce(run_id, '') FROM approvals WHERE id = ? AND status = 'pending'`, id).
		Scan(&a.FindingID, &a.Playbook, &approvers, &plan, &a.RequestedBy, &a.RunID)
	if errors.Is(err, sql.ErrNoRows) {
		return Result{}, ErrNotPending
	}
	if err != nil {
		return Result{}, err
	}
	if e.FourEyes && a.RequestedBy != "" && a.RequestedBy != System && a.RequestedBy == by {
		return Result{}, fmt.Errorf("%w (%s requested it; another approver must decide)", ErrFourEyes, by)
	}
	_ = json.Unmarshal([]byte(approvers), &a.Approvers)
	allowed := len(a.Approvers) == 0
	for _, n := range names {
		allowed = allowed || n != "" && slices.Contains(a.Approvers, n)
	}
	if !allowed {
		return Result{}, fmt.Errorf("%s may not decide this approval: approvers are %s", by, strings.Join(a.Approvers, ", "))
	}
	status, kind := "denied", audit.ApprovalDenied
	if approve {
		status, kind = "approved", audit.ApprovalGranted
	}
	// One conditional update decides: of two simultaneous decisions, the
	// one that changes no row lost and does nothing.
	r, err := e.DB.ExecContext(ctx, `UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, comment = ? WHERE id = ? AND status = 'pending'`,
		status, by, e.now().Format(time.RFC3339Nano), comment, id)
	if err != nil {
		return Result{}, err
	}
	if n, err := r.RowsAffected(); err != nil {
		return Result{}, err
	} else if n != 1 {
		return Result{}, ErrNotPending
	}
	if _, err := e.Audit.Append(ctx, audit.Record{Kind: kind, Actor: by, FindingID: a.FindingID, Playbook: a.Playbook, Detail: map[string]any{"approval_id": id, "comment": comment}}); err != nil {
		return Result{}, err
	}
	res := Result{RunID: a.RunID, Playbook: a.Playbook, FindingID: a.FindingID, ApprovalID: id, Status: status, RequestedBy: a.RequestedBy, DecidedBy: by}
	if prev, err := e.Run(ctx, a.RunID); err == nil {
		res.Started = prev.Started
	}
	if res.RequestedBy == "" {
		res.RequestedBy = System
	}
	res, err = e.decided(ctx, a, plan, res, approve)
	if serr := e.saveRun(ctx, &res); err == nil {
		err = serr
	}
	return res, err
}

// decided runs what an approval approved.
func (e *Engine) decided(ctx context.Context, a Approval, plan string, res Result, approve bool) (Result, error) {
	if !approve {
		return res, nil
	}
	p := e.playbook(a.Playbook)
	if p == nil {
		return res, fmt.Errorf("approved, but playbook %q is not loaded: nothing ran", a.Playbook)
	}
	var steps []plannedStep
	if err := json.Unmarshal([]byte(plan), &steps); err != nil {
		return res, err
	}
	if e.DryRun {
		res.Status = "planned"
		return res, nil
	}
	return e.execute(ctx, p, a.FindingID, steps, res)
}

// Expire decides the pending approvals past their timeout as their
// playbooks say (deny unless on_timeout: approve).
func (e *Engine) Expire(ctx context.Context) ([]Result, error) {
	pending, err := e.Approvals(ctx, "pending")
	if err != nil {
		return nil, err
	}
	var out []Result
	now := e.now()
	for _, a := range pending {
		if now.Before(a.Expires) {
			continue
		}
		if a.OnTimeout == "approve" {
			// Approved by the clock: recorded as such.
			if _, err := e.DB.ExecContext(ctx, `UPDATE approvals SET approvers = '[]' WHERE id = ?`, a.ID); err != nil {
				return out, err
			}
			r, err := e.Decide(ctx, a.ID, "timeout", "no decision within the approval timeout; the playbook approves on timeout", true)
			if errors.Is(err, ErrNotPending) {
				continue // decided meanwhile
			}
			if err != nil {
				return out, err
			}
			out = append(out, r)
			continue
		}
		upd, err := e.DB.ExecContext(ctx, `UPDATE approvals SET status = 'expired', decided_by = 'timeout', decided_at = ? WHERE id = ? AND status = 'pending'`, now.Format(time.RFC3339Nano), a.ID)
		if err != nil {
			return out, err
		}
		if n, err := upd.RowsAffected(); err != nil {
			return out, err
		} else if n != 1 {
			continue // decided meanwhile
		}
		if _, err := e.Audit.Append(ctx, audit.Record{Kind: audit.ApprovalExpired, Actor: "timeout", FindingID: a.FindingID, Playbook: a.Playbook, Detail: map[string]any{"approval_id": a.ID, "outcome": "denied"}}); err != nil {
			return out, err
		}
		r := Result{RunID: a.RunID, Playbook: a.Playbook, FindingID: a.FindingID, ApprovalID: a.ID, Status: "expired", RequestedBy: a.RequestedBy, DecidedBy: "timeout"}
		if prev, err := e.Run(ctx, a.RunID); err == nil {
			r.Started = prev.Started
		}
		if err := e.saveRun(ctx, &r); err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}
