package attackpath

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
)

// WalkRuleID prefixes the rule ids of path-walk findings: the method's id
// follows ("parapet-path-iam-create-policy-version").
const WalkRuleID = "parapet-path-"

// Walker matches CloudTrail events against the steps of known paths: a
// successful call by a step's principal, with an API the step's
// permissions name, on the step's object, is that step being walked.
type Walker struct {
	steps   map[string][]walkStep // by principal ARN
	sources map[string]int        // source ARN → steps of its shortest path
	paths   int
}

type walkStep struct {
	path    *Path
	k       int               // 1-based
	actions map[string]bool   // lower-case IAM actions
	object  string            // ARN the method acts on
	name    string            // its name
	self    bool              // the object is the principal itself
	grants  map[string]string // action → "policy, statement n"
}

// LoadReport reads the JSON `parapet paths --format json` writes.
func LoadReport(file string) (*Report, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("%s: offset %d: %v", file, se.Offset, err)
		case errors.As(err, &te):
			return nil, fmt.Errorf("%s: offset %d: %v", file, te.Offset, err)
		}
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if r.Paths == nil {
		return nil, fmt.Errorf("%s: no \"paths\": not the JSON of parapet paths --format json", file)
	}
	return &r, nil
}

// LoadWalker reads the JSON `parapet paths --format json` writes.
func LoadWalker(file string) (*Walker, error) {
	r, err := LoadReport(file)
	if err != nil {
		return nil, err
	}
	return NewWalker(r.Paths), nil
}

// NewWalker indexes the steps of the paths.
func NewWalker(paths []Path) *Walker {
	w := &Walker{steps: map[string][]walkStep{}, sources: map[string]int{}}
	for i := range paths {
		p := &paths[i]
		if len(p.Steps) == 0 {
			continue
		}
		w.paths++
		if n, ok := w.sources[p.Source]; !ok || len(p.Steps) < n {
			w.sources[p.Source] = len(p.Steps)
		}
		for k, s := range p.Steps {
			ws := walkStep{path: p, k: k + 1, actions: map[string]bool{}, object: s.Object, self: s.Object == s.From, grants: map[string]string{}}
			ws.name = arnName(s.Object)
			for _, g := range s.Grants {
				a := strings.ToLower(g.Action)
				ws.actions[a] = true
				if _, ok := ws.grants[a]; !ok {
					ws.grants[a] = fmt.Sprintf("policy %s, statement %d", g.Policy, g.Statement)
				}
			}
			if s.Method == "sts-assume-role" || s.Method == "sts-role-chaining" || strings.HasPrefix(s.Method, "trust") {
				ws.actions["sts:assumerole"] = true
			}
			w.steps[s.From] = append(w.steps[s.From], ws)
		}
	}
	return w
}

// Paths is how many paths (with at least one step) the walker knows.
func (w *Walker) Paths() int { return w.paths }

// SourceSteps reports whether the principal (an ARN) is the source of a
// known path, and the length of its shortest one.
func (w *Walker) SourceSteps(arn string) (int, bool) {
	if w == nil {
		return 0, false
	}
	n, ok := w.sources[arn]
	return n, ok
}

func arnName(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	if i := strings.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// principal is the IAM principal that made the call: the user, or the
// role of an assumed-role session. AWS services acting as themselves and
// unknown identities are none.
func principal(ev *event.Event) string { return actorPrincipal(ev.Actor, ev.Cloud.Account) }

func actorPrincipal(a event.Actor, account string) string {
	switch a.Type {
	case "IAMUser":
		return a.ARN
	case "AssumedRole":
		if a.SessionIssuerARN != "" {
			return a.SessionIssuerARN
		}
		// arn:aws:sts::111:assumed-role/NAME/session → the role.
		if i := strings.Index(a.ARN, ":assumed-role/"); i >= 0 {
			rest := a.ARN[i+len(":assumed-role/"):]
			if j := strings.IndexByte(rest, '/'); j >= 0 {
				rest = rest[:j]
			}
			acct := a.Account
			if acct == "" {
				acct = account
			}
			return "arn:aws:iam::" + acct + ":role/" + rest
		}
	}
	return ""
}

// iamAction is the IAM action of a CloudTrail call: eventSource's
// service prefix and the eventName, lower case.
func iamAction(ev *event.Event) string {
	svc := strings.TrimSuffix(ev.API.Service, ".amazonaws.com")
	if svc == "" || ev.API.Operation == "" {
		return ""
	}
	op := ev.API.Operation
	// Lambda's API versions are in its event names (CreateFunction20150331,
	// UpdateFunctionCode20150331v2).
	if svc == "lambda" {
		digits := func() {
			for len(op) > 0 && op[len(op)-1] >= '0' && op[len(op)-1] <= '9' {
				op = op[:len(op)-1]
			}
		}
		digits()
		if n := len(op); n > 1 && op[n-1] == 'v' && op[n-2] >= '0' && op[n-2] <= '9' {
			op = op[:n-1]
			digits()
		}
	}
	return strings.ToLower(svc + ":" + op)
}

// resourceKeys are the request parameters that name the principal,
// policy or role a privilege-escalation call acts on.
var resourceKeys = []string{"policyArn", "roleArn", "roleName", "userName", "groupName", "role", "serviceRole",
	"roleARN", "RoleArn", "executionRoleArn", "taskRoleArn", "iamInstanceProfile.arn", "iamInstanceProfile.name", "instanceProfileName",
	// Steps into what already runs as a role: a function, an instance.
	"functionName", "instanceId", "target"}

func requestNames(ev *event.Event) []string {
	var out []string
	for _, k := range resourceKeys {
		if v, ok := ev.Lookup("requestParameters." + k); ok {
			if s := v.String(); s != "" {
				out = append(out, s)
			}
		}
	}
	for _, r := range ev.Resources {
		if r.UID != "" {
			out = append(out, r.UID)
		}
	}
	return out
}

// Match is one step of a known path an event walks.
type Match struct {
	Path   *Path
	K      int // 1-based
	Action string
	Grant  string // the policy and statement that allows it
	// Failed: the call was refused (errorCode): an attempt, not a step.
	Failed bool
}

// Remaining is how many steps are left after this one.
func (m Match) Remaining() int { return len(m.Path.Steps) - m.K }

// Match returns the steps of known paths the event walks (Failed when
// the call was refused). Calls by AWS services and events other than
// CloudTrail API calls walk none.
func (w *Walker) Match(ev *event.Event) []Match {
	if w == nil || len(w.steps) == 0 || ev.Source != event.SourceCloudTrail || ev.Actor.InvokedBy != "" {
		return nil
	}
	who := principal(ev)
	cands := w.steps[who]
	if len(cands) == 0 {
		return nil
	}
	act := iamAction(ev)
	var names []string
	var out []Match
	seen := map[*Path]bool{}
	for _, s := range cands {
		if !s.actions[act] || seen[s.path] {
			continue
		}
		if names == nil {
			names = requestNames(ev)
		}
		if !s.objectNamed(names, who) {
			continue
		}
		seen[s.path] = true
		out = append(out, Match{Path: s.path, K: s.k, Action: act, Grant: s.grants[act], Failed: ev.API.ErrorCode != ""})
	}
	return out
}

// objectNamed: the request names the step's object by ARN or name; a call
// on oneself may name nobody (CreateAccessKey without userName).
func (s walkStep) objectNamed(names []string, who string) bool {
	if len(names) == 0 {
		return s.self
	}
	for _, n := range names {
		if n == s.object || (s.name != "" && n == s.name) || strings.HasSuffix(n, "/"+s.name) && strings.Contains(n, ":instance-profile/") {
			return true
		}
	}
	return false
}

// MayMatch reports whether the event may walk a step: a CloudTrail call
// by a principal some step starts from. It builds nothing (a cheap first
// pass, as detect.Engine.MayFind).
func (w *Walker) MayMatch(ev *event.Event) bool {
	if w == nil || ev.Source != event.SourceCloudTrail || ev.Actor.InvokedBy != "" {
		return false
	}
	return len(w.steps[principal(ev)]) > 0
}

// Findings turns the events' matches into findings.
func (w *Walker) Findings(events []event.Event) []detect.Finding {
	if w == nil {
		return nil
	}
	var out []detect.Finding
	for i := range events {
		ms := w.Match(&events[i])
		if len(ms) == 0 {
			continue
		}
		// One finding per event: the step closest to the target; on a
		// tie the path that starts at the caller (a role's session may
		// have been reached some other way).
		who := principal(&events[i])
		sort.SliceStable(ms, func(a, b int) bool {
			if ra, rb := ms[a].Remaining(), ms[b].Remaining(); ra != rb {
				return ra < rb
			}
			return ms[a].Path.Source == who && ms[b].Path.Source != who
		})
		f := WalkFinding(&events[i], ms[0])
		for _, m := range ms[1:] {
			f.Explanation = append(f.Explanation, detect.Evidence{Selection: "also", Field: "path", Value: m.Path.Source,
				Detail: fmt.Sprintf("also step %d of %d of the path from %s", m.K, len(m.Path.Steps), m.Path.SourceName)})
		}
		out = append(out, f)
	}
	return out
}

// WalkFinding is the finding of one step walked: critical when it
// completes the path, high one step short of it, else medium; a refused
// attempt is low (the path may be stale, or something the graph does not
// read, a service control policy, denies it).
func WalkFinding(ev *event.Event, m Match) detect.Finding {
	f := detect.FromEvent(ev)
	p := m.Path
	n := len(p.Steps)
	step := p.Steps[m.K-1]
	f.RuleID = WalkRuleID + step.Method
	f.Source = "attackpath"
	switch m.Remaining() {
	case 0:
		f.Level = "critical"
	case 1:
		f.Level = "high"
	default:
		f.Level = "medium"
	}
	target, reached := p.TargetName, p.TargetName
	if p.Target == AdminID || p.AdminVia != nil || target == "" {
		target = "admin"
	}
	f.Title = "A step of a known privilege-escalation path was taken"
	f.Attack = walkAttack(step.Method)
	src := p.SourceName
	if src == "" {
		src = p.Source
	}
	f.Summary = fmt.Sprintf("step %d of %d of a path from %s to %s: %s", m.K, n, src, target, step.Title)
	f.Description = f.Summary + "."
	if m.Failed {
		f.Level = "low"
		f.Title = "A step of a known privilege-escalation path was attempted and refused"
		f.Summary = "refused: " + f.Summary
		f.Description = f.Summary + " (" + ev.API.ErrorCode + "). The graph says the call is allowed: the paths file may be stale, or a control it does not read denies it."
	} else if m.Remaining() == 0 {
		f.Description += " The path is complete: the principal can now act as " + reached + "."
	} else {
		f.Description += fmt.Sprintf(" %d more to %s.", m.Remaining(), reached)
	}
	f.Explanation = append(f.Explanation, detect.Evidence{Selection: "attackpath", Field: "eventName", Value: m.Action,
		Detail: fmt.Sprintf("%s calls %s on %s: step %d (%s), allowed by %s", src, m.Action, step.ToName, m.K, step.Method, m.Grant)})
	for i, s := range p.Steps {
		mark := ""
		if i+1 == m.K {
			mark = " ← this event"
		}
		f.Explanation = append(f.Explanation, detect.Evidence{Selection: "path", Field: fmt.Sprintf("step %d", i+1), Value: s.Method,
			Detail: s.Text + mark})
	}
	f.Triage = []string{"Was the change expected (a deployment, a ticket)? Ask the owner of " + src + ".",
		"Undo the step (delete the policy version, detach the policy, remove the key) and constrain the statement that allows it: " + m.Grant + ".",
		"Look for the next steps of the path in the principal's later calls."}
	f.ID = detect.FindingID(f.RuleID+":"+p.Source+":"+fmt.Sprint(m.K)+":"+fmt.Sprint(m.Failed), f.EventIDs)
	return f
}

func walkAttack(method string) detect.Attack {
	switch {
	case strings.HasPrefix(method, "sts-"):
		return detect.Attack{Techniques: []string{"T1548"}, Tactics: []string{"privilege-escalation"}}
	case strings.Contains(method, "access-key") || strings.Contains(method, "login-profile"):
		return detect.Attack{Techniques: []string{"T1098.001"}, Tactics: []string{"persistence", "privilege-escalation"}}
	case strings.HasPrefix(method, "iam-"):
		return detect.Attack{Techniques: []string{"T1098.003"}, Tactics: []string{"persistence", "privilege-escalation"}}
	}
	return detect.Attack{Techniques: []string{"T1548"}, Tactics: []string{"privilege-escalation"}}
}

// Annotate adds to a behavioural finding whose principal is the source
// of a known path a line saying so; other findings are returned as they
// are.
func (w *Walker) Annotate(f detect.Finding) detect.Finding {
	if w == nil || f.Source != "ueba" {
		return f
	}
	n, ok := w.sources[actorPrincipal(f.Actor, f.Cloud.Account)]
	if !ok {
		return f
	}
	steps := "steps"
	if n == 1 {
		steps = "step"
	}
	f.Explanation = append(f.Explanation, detect.Evidence{Selection: "attackpath", Field: "actor", Value: f.Actor.ARN,
		Detail: fmt.Sprintf("principal is the source of a path to admin (%d %s)", n, steps)})
	return f
}
