package attackpath

import (
	"fmt"
	"sort"
	"strings"

	"github.com/parapet-sec/parapet/internal/iampolicy"
)

// trustMethod is the edge from a principal outside the account's IAM (a
// service, another account, an identity provider) to a role that trusts
// it: not an escalation, the trust itself.
var trustMethod = &Method{ID: "trust", Title: "Trusted by the role's trust policy", Family: "trust", Target: "role", Gains: "target",
	Verb: "is trusted to assume role {target}", Evaluated: true}

// trustIndex: which roles trust whom, from their trust policies' Allow
// statements for sts:AssumeRole* (conditions aside: they are checked
// when the caller is a principal of the account).
type trustIndex struct {
	byAWS     map[string][]int // an ARN or account id → roles
	byService map[string][]int
	anyone    []int
	foreign   map[string][]trustRef // external or federated principal → roles
}

type trustRef struct {
	role, stmt int
	kind       string
	cond       bool
	action     string
}

func (g *Graph) trusts() *trustIndex {
	t := &trustIndex{byAWS: map[string][]int{}, byService: map[string][]int{}, foreign: map[string][]trustRef{}}
	for i, n := range g.Nodes {
		if n.trust == nil {
			continue
		}
		seen := map[string]bool{}
		once := func(k string) bool {
			if seen[k] {
				return false
			}
			seen[k] = true
			return true
		}
		for si, s := range n.trust.Statements {
			if !s.Allow() {
				continue
			}
			action := ""
			for _, a := range []string{"sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML"} {
				if (len(s.Action) > 0 && anyAction(s.Action, a)) || (len(s.NotAction) > 0 && !anyAction(s.NotAction, a)) {
					action = a
					break
				}
			}
			if action == "" {
				continue
			}
			for typ, vals := range s.Principal {
				for _, v := range vals {
					switch {
					case typ == "*" || v == "*":
						if once("*") {
							t.anyone = append(t.anyone, i)
						}
					case strings.EqualFold(typ, "Service"):
						if once("svc " + v) {
							t.byService[v] = append(t.byService[v], i)
						}
					case strings.EqualFold(typ, "Federated"):
						if once("fed " + v) {
							t.foreign[v] = append(t.foreign[v], trustRef{role: i, stmt: si, kind: KindFederated, cond: len(s.Condition) > 0, action: action})
						}
					case strings.EqualFold(typ, "AWS"):
						acct := accountOf(v)
						if acct != "" && acct != g.Account {
							if once("ext " + v) {
								t.foreign[v] = append(t.foreign[v], trustRef{role: i, stmt: si, kind: KindExternal, cond: len(s.Condition) > 0, action: action})
							}
							continue
						}
						key := v
						if acct != "" && (strings.HasSuffix(v, ":root") || !strings.Contains(v, ":")) {
							key = g.Account
						}
						if once("aws " + key) {
							t.byAWS[key] = append(t.byAWS[key], i)
						}
					}
				}
			}
		}
	}
	return t
}

func anyAction(patterns []string, a string) bool {
	for _, p := range patterns {
		if iampolicy.Wildcard(strings.ToLower(p), strings.ToLower(a)) {
			return true
		}
	}
	return false
}

// accountOf is the account id of an ARN or a bare account id.
func accountOf(v string) string {
	if len(v) == 12 && strings.Trim(v, "0123456789") == "" {
		return v
	}
	parts := strings.SplitN(v, ":", 6)
	if len(parts) >= 5 && strings.HasPrefix(v, "arn:") {
		return parts[4]
	}
	return ""
}

// selfKind: the principal kind a self method applies to, from its
// actions (iam:AttachUserPolicy → user; iam:PutRolePolicy → role).
func selfKind(m *Method) string {
	for _, p := range m.Permissions {
		switch {
		case strings.Contains(p.Action, "User"):
			return KindUser
		case strings.Contains(p.Action, "Role"):
			return KindRole
		case strings.Contains(p.Action, "Group"):
			return KindGroup
		}
	}
	return ""
}

func (g *Graph) edges(admin int) {
	t := g.trusts()
	var users, groups []int
	for i, n := range g.Nodes {
		switch n.Kind {
		case KindUser:
			users = append(users, i)
		case KindGroup:
			groups = append(groups, i)
		}
	}
	runnerGrant := map[*Method]bool{}
	for _, m := range g.Methods {
		runnerGrant[m] = g.runnerGrant(m)
	}
	for i, n := range g.Nodes {
		if n.Kind != KindUser && n.Kind != KindRole && n.Kind != KindGroup {
			continue
		}
		for _, m := range g.Methods {
			if !m.Evaluated || n.Admin {
				continue
			}
			ok := true
			for _, p := range m.Permissions {
				if !n.mayAllow(p.Action) {
					ok = false
					break
				}
			}
			if !ok && !(m.Trusts == "caller" && len(t.byAWS[n.ID]) > 0) && !runnerGrant[m] {
				continue
			}
			g.methodEdges(i, n, m, admin, t, users, groups)
		}
	}
	// Principals outside the account's IAM that roles trust.
	keys := make([]string, 0, len(t.foreign))
	for k := range t.foreign {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		refs := t.foreign[k]
		kind := refs[0].kind
		from := g.addNode(&Node{ID: k, Kind: kind, Name: k})
		for _, r := range refs {
			role := g.Nodes[r.role]
			gr := Grant{Action: r.action, Resource: role.ID, Policy: "trust policy of " + role.Name, Statement: r.stmt + 1, Sid: role.trust.Statements[r.stmt].Sid}
			if r.cond {
				gr.Note = "(when the statement's conditions hold)"
			}
			g.addEdge(Edge{From: from, To: r.role, Method: trustMethod, Object: role.ID, ObjectName: role.Name, Grants: []Grant{gr}})
		}
	}
	svcs := make([]string, 0, len(t.byService))
	for k := range t.byService {
		svcs = append(svcs, k)
	}
	sort.Strings(svcs)
	for _, s := range svcs {
		from := g.addNode(&Node{ID: s, Kind: KindService, Name: s})
		for _, ri := range t.byService[s] {
			role := g.Nodes[ri]
			g.addEdge(Edge{From: from, To: ri, Method: trustMethod, Object: role.ID, ObjectName: role.Name,
				Grants: []Grant{{Action: "sts:AssumeRole", Resource: role.ID, Policy: "trust policy of " + role.Name}}})
		}
	}
}

func (g *Graph) addNode(n *Node) int {
	if i, ok := g.byID[n.ID]; ok {
		return i
	}
	g.byID[n.ID] = len(g.Nodes)
	g.Nodes = append(g.Nodes, n)
	g.out = append(g.out, nil)
	g.in = append(g.in, nil)
	return len(g.Nodes) - 1
}

// object is one thing a method may act on.
type object struct {
	id, name string
	to       int // the node the attacker becomes (admin for self-grants)
}

func (g *Graph) methodEdges(i int, n *Node, m *Method, admin int, t *trustIndex, users, groups []int) {
	var objs []object
	switch m.Target {
	case "self":
		if k := selfKind(m); k != "" && k != n.Kind {
			return
		}
		switch m.Gains {
		case "admin":
			objs = []object{{n.ID, n.Name, admin}}
		case "unbounded":
			if n.unbounded {
				objs = []object{{n.ID, n.Name, admin}}
			}
		}
	case "self_group":
		if n.Kind == KindGroup {
			objs = append(objs, object{n.ID, n.Name, admin})
		}
		for _, gi := range n.groups {
			objs = append(objs, object{g.Nodes[gi].ID, g.Nodes[gi].Name, admin})
		}
	case "self_policy":
		seen := map[string]bool{}
		for _, p := range n.managed {
			if strings.HasPrefix(p.arn, "arn:aws:iam::aws:") || seen[p.arn] {
				continue // AWS managed policies cannot be changed
			}
			seen[p.arn] = true
			objs = append(objs, object{p.arn, p.name, admin})
		}
	case "user":
		if lit, ok := g.literalTargets(n, m, KindUser, i); ok {
			objs = lit
			break
		}
		for _, u := range users {
			if u != i {
				objs = append(objs, object{g.Nodes[u].ID, g.Nodes[u].Name, u})
			}
		}
	case "group":
		if n.Kind != KindUser {
			return
		}
		for _, gi := range groups {
			member := false
			for _, mg := range n.groups {
				member = member || mg == gi
			}
			if !member {
				objs = append(objs, object{g.Nodes[gi].ID, g.Nodes[gi].Name, gi})
			}
		}
	case "function", "instance":
		objs = g.runners(m.Target, i)
	case "role":
		var cands []int
		switch {
		case m.Trusts == "caller":
			cands = append(cands, t.byAWS[n.ID]...)
			if n.mayAllow("sts:AssumeRole") {
				// Roles that trust the whole account need the caller's own
				// permission: when its statements name roles literally,
				// only those.
				lit, ok := n.literalResources("sts:AssumeRole")
				for _, ri := range t.byAWS[g.Account] {
					if !ok || lit[g.Nodes[ri].ID] {
						cands = append(cands, ri)
					}
				}
			}
			cands = append(cands, t.anyone...)
		case m.Trusts != "":
			cands = t.byService[m.Trusts]
		default:
			if lit, ok := g.literalTargets(n, m, KindRole, i); ok {
				objs = lit
				break
			}
			for ri, r := range g.Nodes {
				if r.Kind == KindRole {
					cands = append(cands, ri)
				}
			}
		}
		seen := map[int]bool{}
		for _, ri := range cands {
			if ri != i && !seen[ri] {
				seen[ri] = true
				objs = append(objs, object{g.Nodes[ri].ID, g.Nodes[ri].Name, ri})
			}
		}
	}
	// Where the statements name their targets literally, only those can be
	// targets: skip evaluating the others.
	if m.Trusts != "caller" && len(objs) > 4 {
		for _, p := range m.Permissions {
			if p.Resource != "target" {
				continue
			}
			if lit, ok := n.literalResources(p.Action); ok {
				kept := objs[:0:0]
				for _, o := range objs {
					if lit[o.id] {
						kept = append(kept, o)
					}
				}
				objs = kept
			}
			break
		}
	}
	for _, o := range objs {
		var grants []Grant
		ok := true
		if m.Trusts == "caller" {
			gr, direct, allowed := g.assume(n, g.Nodes[o.to])
			if !allowed {
				continue
			}
			grants = append(grants, gr)
			if direct {
				g.addEdge(Edge{From: i, To: o.to, Method: m, Object: o.id, ObjectName: o.name, Grants: grants})
				continue
			}
		}
		for _, p := range m.Permissions {
			res := o.id
			if p.Resource == "*" {
				res = "*"
			}
			var extra map[string][]string
			if p.Action == "iam:PassRole" && m.Trusts != "" && m.Trusts != "caller" {
				extra = map[string][]string{"iam:PassedToService": {m.Trusts}}
			}
			gr, allowed := g.allowed(n, p.Action, res, extra)
			if !allowed {
				ok = false
				break
			}
			grants = append(grants, gr)
		}
		if ok {
			g.addEdge(Edge{From: i, To: o.to, Method: m, Object: o.id, ObjectName: o.name, Grants: grants})
		}
	}
}

// assume checks a role's trust policy for the caller: allowed, and
// direct when the trust names the caller's ARN (then no identity
// permission is needed in the same account).
func (g *Graph) assume(n, role *Node) (Grant, bool, bool) {
	if role.trust == nil {
		return Grant{}, false, false
	}
	req := iampolicy.Request{Principal: n.ID, Action: "sts:AssumeRole", Resource: role.ID, Context: g.context(n)}
	if iampolicy.Evaluate(req, role.trust) != iampolicy.Allow || iampolicy.EvaluateSCPs(req, g.scps) != iampolicy.Allow {
		return Grant{}, false, false
	}
	for i := range role.trust.Statements {
		s := &role.trust.Statements[i]
		if s.Allow() && s.Applies(req) {
			direct := false
			for _, v := range s.Principal["AWS"] {
				direct = direct || v == n.ID
			}
			return Grant{Action: "sts:AssumeRole", Resource: role.ID, Policy: fmt.Sprintf("trust policy of %s", role.Name), Statement: i + 1, Sid: s.Sid}, direct, true
		}
	}
	return Grant{}, false, false
}

// literalTargets: when n's statements name the targets of m's first
// target permission literally, the principals of that kind among them
// (ok); else ok is false and every principal of the kind is a candidate.
func (g *Graph) literalTargets(n *Node, m *Method, kind string, self int) ([]object, bool) {
	for _, p := range m.Permissions {
		if p.Resource != "target" {
			continue
		}
		lit, ok := n.literalResources(p.Action)
		if !ok {
			return nil, false
		}
		var js []int // in node order, as the full list would be
		for id := range lit {
			if j, found := g.byID[id]; found && j != self && g.Nodes[j].Kind == kind {
				js = append(js, j)
			}
		}
		sort.Ints(js)
		objs := []object{}
		for _, j := range js {
			objs = append(objs, object{g.Nodes[j].ID, g.Nodes[j].Name, j})
		}
		return objs, true
	}
	return nil, false
}
