package respond

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
)

// Params are an action's parameters, rendered from the playbook.
type Params map[string]string

// Call is one API call an action makes: what dry-run prints.
type Call struct {
	Service   string         `json:"service"`
	Operation string         `json:"operation"`
	Input     map[string]any `json:"input,omitempty"`
}

// Outcome is what an action did: the state before (for rollback and the
// audit trail) and a one-line summary.
type Outcome struct {
	Summary string         `json:"summary"`
	Before  map[string]any `json:"before,omitempty"`
	After   map[string]any `json:"after,omitempty"`
	Calls   []Call         `json:"calls,omitempty"`
}

// ErrNoRollback: the action cannot be undone (a forensic snapshot, a
// deleted password).
var ErrNoRollback = errors.New("this action has no rollback")

// Action is one thing Parapet can do. Every action is idempotent (doing it
// twice leaves the same state as once) and declares the IAM permissions
// it needs.
type Action struct {
	Name        string
	Description string
	Required    []string
	Optional    []string
	Permissions []string
	// Secrets are parameters that hold secrets: playbooks give them only
	// as references, env:NAME or file:PATH, read when the action runs.
	Secrets []string
	// Destructive actions change the estate in ways people notice
	// (deactivating keys, stopping instances): playbooks using them wait
	// for approval unless they say otherwise.
	Destructive bool
	// Target names the resource the action touches (for rate limits,
	// blast radius, protection and the audit trail).
	Target func(Params) string
	// Plan lists the calls Execute would make.
	Plan     func(Params) []Call
	Execute  func(context.Context, Params) (Outcome, error)
	Rollback func(context.Context, Params, Outcome) error // nil: ErrNoRollback
	// Protected reports whether the target carries the protection tag
	// (parapet:protected=true); nil when the resource has no tags. An error
	// blocks the action (fail closed).
	Protected func(context.Context, Params) (bool, error)
	// Kinds says what each parameter holds; every value is checked against
	// its kind's naming rules before any call (see Validate).
	Kinds map[string]Kind
	// Check, when set, checks the rendered parameters together (an enum, a
	// key format, a URL scheme) when the step is planned: before any call,
	// in dry runs and in playbooks lint. It reads no secret and does no I/O.
	Check func(Params) error
	// Verify re-reads, through the cloud API, the resource the action would
	// change, just before it changes it: the action runs only when the live
	// state still shows the problem it fixes. Every action that changes
	// the estate has one; the engine refuses to run one that has not.
	Verify func(context.Context, Params) (Live, error)
	// NoLiveState marks actions that change nothing in the estate
	// (notifications): they have no Verify.
	NoLiveState bool
}

// Live is what an action's Verify read of the live resource.
type Live struct {
	// Problem: the live state still shows what the action fixes.
	Problem bool
	// Why says what the live state is, in words.
	Why string
	// State is what was read (it goes to the run and the audit trail).
	State map[string]any
	// IDs are the names the resource answers to, as read (its ARN with any
	// path, its id): the protect list is matched against them too.
	IDs []string
}

// ErrNoVerify: an action that changes the estate declares no live check.
var ErrNoVerify = errors.New("the action declares no live-state check (Verify): refused")

// names lists every form of the resources a step's parameters name: each
// value, and its ARN in the finding's account and region.
func (a *Action) names(p Params, account, region string) []string {
	var out []string
	keys := make([]string, 0, len(a.Kinds))
	for k := range a.Kinds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := p[k]
		if v == "" {
			continue
		}
		out = append(out, v)
		arn := ""
		switch a.Kinds[k] {
		case KindBucket:
			arn = "arn:aws:s3:::" + v
		case KindGroupID:
			arn = "arn:aws:ec2:" + region + ":" + account + ":security-group/" + v
		case KindInstanceID:
			arn = "arn:aws:ec2:" + region + ":" + account + ":instance/" + v
		case KindUser:
			arn = "arn:aws:iam::" + account + ":user/" + v
		case KindRole:
			arn = "arn:aws:iam::" + account + ":role/" + v
		case KindDetectorID:
			arn = "arn:aws:guardduty:" + region + ":" + account + ":detector/" + v
		case KindTrail:
			if strings.HasPrefix(v, "arn:") {
				out = append(out, v[strings.LastIndex(v, "/")+1:])
			} else {
				arn = "arn:aws:cloudtrail:" + region + ":" + account + ":trail/" + v
			}
		}
		if arn != "" {
			out = append(out, arn)
		}
	}
	return out
}

// ProtectTag marks resources no playbook may touch.
const ProtectTag = "parapet:protected"

// Registry holds the actions by name.
type Registry struct {
	actions map[string]*Action
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{actions: map[string]*Action{}} }

// Add registers actions.
func (r *Registry) Add(as ...*Action) {
	for _, a := range as {
		if a.Target == nil {
			a.Target = func(Params) string { return "" }
		}
		r.actions[a.Name] = a
	}
}

// Get returns the action called name, or nil.
func (r *Registry) Get(name string) *Action { return r.actions[name] }

// Names lists the actions in order.
func (r *Registry) Names() []string {
	var out []string
	for n := range r.actions {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Policy is an IAM policy document.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one IAM statement.
type Statement struct {
	Sid      string   `json:"Sid"`
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource string   `json:"Resource"`
}

// LeastPrivilege is the IAM policy the enabled playbooks' actions need:
// one statement per service, the actions each declares, nothing more.
func LeastPrivilege(playbooks []*Playbook, reg *Registry) Policy {
	byService := map[string][]string{}
	for _, p := range playbooks {
		if !p.IsEnabled() {
			continue
		}
		for _, s := range p.Steps {
			a := reg.Get(s.Action)
			if a == nil {
				continue
			}
			for _, perm := range a.Permissions {
				svc, _, _ := strings.Cut(perm, ":")
				if !slices.Contains(byService[svc], perm) {
					byService[svc] = append(byService[svc], perm)
				}
			}
		}
	}
	pol := Policy{Version: "2012-10-17"}
	var svcs []string
	for s := range byService {
		svcs = append(svcs, s)
	}
	sort.Strings(svcs)
	for _, s := range svcs {
		perms := byService[s]
		sort.Strings(perms)
		pol.Statement = append(pol.Statement, Statement{Sid: "Parapet" + strings.ToUpper(s[:1]) + s[1:], Effect: "Allow", Action: perms, Resource: "*"})
	}
	return pol
}

// ResolveSecret reads a secret reference: env:NAME or file:PATH.
func ResolveSecret(ref string) (string, error) {
	switch {
	case strings.HasPrefix(ref, "env:"):
		v, ok := os.LookupEnv(ref[4:])
		if !ok || v == "" {
			return "", fmt.Errorf("environment variable %s is not set", ref[4:])
		}
		return v, nil
	case strings.HasPrefix(ref, "file:"):
		b, err := os.ReadFile(ref[5:])
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", fmt.Errorf("a secret must be a reference (env:NAME or file:PATH), not a value")
}

type regionKey struct{}

// WithRegion tells the actions run under ctx which region to work in (the
// finding's).
func WithRegion(ctx context.Context, region string) context.Context {
	if region == "" {
		return ctx
	}
	return context.WithValue(ctx, regionKey{}, region)
}

// RegionFrom is the region WithRegion set, or "" (the configured default).
func RegionFrom(ctx context.Context) string {
	r, _ := ctx.Value(regionKey{}).(string)
	return r
}

type accountKey struct{}

// WithAccount tells the actions run under ctx which AWS account to work
// in (the finding's): with an organization role configured they assume
// it there.
func WithAccount(ctx context.Context, account string) context.Context {
	if account == "" {
		return ctx
	}
	return context.WithValue(ctx, accountKey{}, account)
}

// AccountFrom is the account WithAccount set, or "" (the caller's own).
func AccountFrom(ctx context.Context) string {
	a, _ := ctx.Value(accountKey{}).(string)
	return a
}

type causeKey struct{}

// Cause is what an action runs for: the names a role session carries into
// the target account's CloudTrail.
type Cause struct{ Playbook, Finding string }

// WithCause names the playbook and finding the actions under ctx run for.
func WithCause(ctx context.Context, playbook, finding string) context.Context {
	return context.WithValue(ctx, causeKey{}, Cause{playbook, finding})
}

// CauseFrom is the Cause WithCause set (zero: unknown).
func CauseFrom(ctx context.Context) Cause {
	c, _ := ctx.Value(causeKey{}).(Cause)
	return c
}
