// Package attackpath builds the access graph of an AWS account from
// Parapet's resource model (Terraform, CloudFormation, AWS Config, the
// live account: every loader that fills the IAM attributes of
// internal/posture/resource feeds it) and searches it for paths to
// administrator.
//
// Nodes are principals: IAM users, groups, roles, the account root,
// service principals, external accounts and federated identity providers
// named in trust policies, and one virtual node "admin". An edge says
// that its source can act as its destination (or, to the virtual node,
// grant itself anything) by one escalation method of content/paths; it
// carries every permission the method needs and the policy and statement
// that grants each one. Every permission question goes through
// internal/iampolicy (Allow and Deny, NotAction and NotResource,
// conditions, permissions boundaries).
//
// A principal is an administrator when its effective permissions allow
// each of a fixed set of probe actions (IAM writes, STS, compute, data,
// keys, organization and logging: see adminProbes) on every resource
// ("*"): in practice Action "*" on Resource "*", or a NotAction that
// leaves out nothing that matters. iam:* alone is not admin by this
// definition; it reaches admin in one step (attach AdministratorAccess
// to oneself), which the graph shows.
//
// Service control policies (resource.OrganizationsSCP) cap every
// principal; a resource policy (resource.AttrResourcePolicy) can grant a
// method's permission on its resource; existing Lambda functions and EC2
// instances (resource.AttrRole) are targets that reach their role.
//
// Not modelled yet: session policies, stacks, projects, dev endpoints,
// notebooks and other resources that run as a role (their methods are in
// content/paths with evaluated: false).
package attackpath

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/parapet-sec/parapet/internal/iampolicy"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// Node kinds.
const (
	KindUser      = "user"
	KindGroup     = "group"
	KindRole      = "role"
	KindRoot      = "root"
	KindService   = "service"
	KindExternal  = "external"
	KindFederated = "federated"
	KindAdmin     = "admin" // the virtual node "can grant itself anything"
)

// AdminID is the ID of the virtual admin node.
const AdminID = "admin"

// Node is a principal.
type Node struct {
	ID       string `json:"id"` // its ARN (a service name, "admin")
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Admin    bool   `json:"admin"`
	AdminVia *Grant `json:"admin_via,omitempty"` // the statement that makes it admin
	Location string `json:"location,omitempty"`  // where it is defined

	policies  []namedPolicy // effective identity policies (own and groups')
	managed   []*namedPolicy
	boundary  *iampolicy.Policy
	bname     string
	groups    []int
	trust     *iampolicy.Policy
	unbounded bool // admin were it not for its boundary
	may       map[string]bool
	docsC     []*iampolicy.Policy
	ctx       map[string][]string
}

type namedPolicy struct {
	name, arn string
	doc       *iampolicy.Policy
}

// Grant is one permission a step uses and where it is granted.
type Grant struct {
	Action    string `json:"action"`
	Resource  string `json:"resource"`
	Policy    string `json:"policy"`
	Statement int    `json:"statement"` // 1-based
	Sid       string `json:"sid,omitempty"`
	Note      string `json:"note,omitempty"`
}

func (g Grant) String() string {
	pol := "policy " + g.Policy
	if strings.HasPrefix(g.Policy, "trust policy of ") || strings.HasPrefix(g.Policy, "resource policy of ") {
		pol = g.Policy
	}
	s := fmt.Sprintf("%s on %s via %s, statement %d", g.Action, g.Resource, pol, g.Statement)
	if g.Sid != "" {
		s += " (" + g.Sid + ")"
	}
	if g.Note != "" {
		s += " " + g.Note
	}
	return s
}

// Edge: From can act as To by Method, acting on Object.
type Edge struct {
	From, To   int
	Method     *Method
	Object     string // the ARN the method acts on (a role, a policy, a group)
	ObjectName string
	Grants     []Grant
}

// Graph is the access graph of one account.
type Graph struct {
	Account  string
	Nodes    []*Node
	Edges    []Edge
	Methods  []*Method
	Problems []string // policies that could not be read or resolved
	// SCPLevels are the organization targets (root, OUs, the account)
	// whose service control policies the graph applies.
	SCPLevels []string

	scps      [][]*iampolicy.Policy
	resPol    map[string]*iampolicy.Policy
	functions []runner
	instances []runner
	region    string // of functions and instances the source gives no ARN (runnerARN)
	probesC   []string
	// runnerActions: the actions the resource policies of functions and
	// instances allow (patterns).
	runnerActions []string
	// data are the buckets, keys, secrets, queues and topics `paths
	// --to` can target (access.go).
	data []*dataRes

	out  [][]int
	in   [][]int
	byID map[string]int
}

// Options tune Build.
type Options struct {
	// Account is the account id for ARNs the source does not give
	// (Terraform, CloudFormation); "" = the most frequent account in the
	// resources and their policies, else 000000000000.
	Account string
}

// Node returns the node with that ID or name (nil when none).
func (g *Graph) Node(id string) *Node {
	if i, ok := g.byID[id]; ok {
		return g.Nodes[i]
	}
	for _, n := range g.Nodes {
		if n.Name == id {
			return n
		}
	}
	return nil
}

// Out lists the edges leaving node i.
func (g *Graph) Out(i int) []Edge {
	out := make([]Edge, 0, len(g.out[i]))
	for _, e := range g.out[i] {
		out = append(out, g.Edges[e])
	}
	return out
}

// awsManaged are AWS managed policies the graph knows by heart (a scan
// of Terraform or CloudFormation does not hold their documents).
var awsManaged = map[string]string{
	"arn:aws:iam::aws:policy/AdministratorAccess": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/IAMFullAccess":       `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:DescribeOrganizationalUnit","organizations:DescribePolicy","organizations:ListChildren","organizations:ListParents","organizations:ListPoliciesForTarget","organizations:ListRoots","organizations:ListPolicies","organizations:ListTargetsForPolicy"],"Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/PowerUserAccess":     `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"},{"Effect":"Allow","Action":["iam:CreateServiceLinkedRole","iam:DeleteServiceLinkedRole","iam:ListRoles","organizations:DescribeOrganization","account:ListRegions","account:GetAccountInformation"],"Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/ReadOnlyAccess":      `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["*:Describe*","*:Get*","*:List*"],"Resource":"*"}]}`,
}

// adminProbes: allowed on "*" together, they make an administrator.
var adminProbes = []string{"iam:AttachRolePolicy", "iam:PutUserPolicy", "iam:CreateAccessKey", "iam:PassRole", "sts:AssumeRole",
	"ec2:RunInstances", "lambda:CreateFunction", "s3:GetObject", "s3:PutBucketPolicy", "kms:Decrypt", "secretsmanager:GetSecretValue",
	"dynamodb:Scan", "organizations:LeaveOrganization", "cloudtrail:StopLogging"}

// accountRE finds the account of an ARN (IAM, or a regional service's).
var accountRE = regexp.MustCompile(`arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):`)

func inferAccount(res []*resource.Resource) string {
	count := map[string]int{}
	for _, r := range res {
		if r.Account != "" {
			count[r.Account] += 10
		}
		for _, k := range []string{resource.AttrDocument, resource.AttrTrustDocument, resource.AttrResourcePolicy} {
			if s, ok := r.Attrs[k].(string); ok {
				for _, m := range accountRE.FindAllStringSubmatch(s, -1) {
					count[m[1]]++
				}
			}
		}
		if l, ok := r.Attrs[resource.AttrInlinePolicies].([]any); ok {
			for _, p := range l {
				if pm, ok := p.(map[string]any); ok {
					s, _ := pm["document"].(string)
					for _, m := range accountRE.FindAllStringSubmatch(s, -1) {
						count[m[1]]++
					}
				}
			}
		}
	}
	best, n := "000000000000", 0
	for a, c := range count {
		if c > n || (c == n && a < best) {
			best, n = a, c
		}
	}
	return best
}

func strAttr(r *resource.Resource, k string) string {
	s, _ := r.Attrs[k].(string)
	return s
}

func listAttr(r *resource.Resource, k string) []any {
	l, _ := r.Attrs[k].([]any)
	return l
}

// Build makes the access graph from the resource model and the methods.
func Build(res []*resource.Resource, methods []*Method, opt Options) *Graph {
	g := &Graph{Account: opt.Account, Methods: methods, byID: map[string]int{}}
	if g.Account == "" {
		g.Account = inferAccount(res)
	}
	parse := func(doc, what string) *iampolicy.Policy {
		if doc == "" {
			return nil
		}
		if doc == resource.Unknown {
			g.Problems = append(g.Problems, what+": document known only after apply")
			return nil
		}
		p, err := iampolicy.Parse([]byte(doc))
		if err != nil {
			g.Problems = append(g.Problems, fmt.Sprintf("%s: %v", what, err))
			return nil
		}
		return p
	}
	// Managed policies, by every name a reference may use.
	policies := map[string]*namedPolicy{}
	for a, doc := range awsManaged {
		p, _ := iampolicy.Parse([]byte(doc))
		policies[a] = &namedPolicy{name: a[strings.LastIndex(a, "/")+1:], arn: a, doc: p}
	}
	for _, r := range res {
		if r.Type != resource.IAMPolicy || r.Attrs["inline"] == true {
			continue
		}
		arn := r.ARN
		if !strings.HasPrefix(arn, "arn:") {
			arn = fmt.Sprintf("arn:aws:iam::%s:policy/%s", g.Account, r.Name)
		}
		np := &namedPolicy{name: r.Name, arn: arn, doc: g.resolveRefs(parse(strAttr(r, resource.AttrDocument), "policy "+r.ID()), listAttr(r, resource.AttrDocumentRefs))}
		for _, k := range []string{arn, r.ARN, r.Address, r.Name, r.ID()} {
			if k != "" && policies[k] == nil {
				policies[k] = np
			}
		}
	}
	resolve := func(ref, who string) *namedPolicy {
		if p := policies[ref]; p != nil {
			return p
		}
		if i := strings.IndexByte(ref, '.'); i > 0 && !strings.HasPrefix(ref, "arn:") { // CloudFormation GetAtt X.Arn
			if p := policies[ref[:i]]; p != nil {
				return p
			}
		}
		g.Problems = append(g.Problems, fmt.Sprintf("%s: managed policy %s not in the scan", who, ref))
		return nil
	}
	add := func(n *Node) int {
		if i, ok := g.byID[n.ID]; ok {
			return i
		}
		g.byID[n.ID] = len(g.Nodes)
		g.Nodes = append(g.Nodes, n)
		return len(g.Nodes) - 1
	}
	// Principals: groups first, so users can join them.
	kinds := map[string]string{resource.IAMGroup: KindGroup, resource.IAMUser: KindUser, resource.IAMRole: KindRole}
	var prs []*resource.Resource
	for _, r := range res {
		if kinds[r.Type] != "" {
			prs = append(prs, r)
		}
	}
	order := map[string]int{resource.IAMGroup: 0, resource.IAMUser: 1, resource.IAMRole: 2}
	sort.SliceStable(prs, func(i, j int) bool { return order[prs[i].Type] < order[prs[j].Type] })
	groupKeys := map[string]int{}
	for _, r := range prs {
		kind := kinds[r.Type]
		arn := r.ARN
		if !strings.HasPrefix(arn, "arn:") {
			arn = fmt.Sprintf("arn:aws:iam::%s:%s/%s", g.Account, kind, r.Name)
		}
		n := &Node{ID: arn, Kind: kind, Name: r.Name, Location: r.Location.String(), may: map[string]bool{}}
		for _, p := range listAttr(r, resource.AttrInlinePolicies) {
			pm, _ := p.(map[string]any)
			name, _ := pm["name"].(string)
			doc, _ := pm["document"].(string)
			refs, _ := pm["refs"].([]any)
			if d := g.resolveRefs(parse(doc, fmt.Sprintf("%s inline policy %s", r.ID(), name)), refs); d != nil {
				n.policies = append(n.policies, namedPolicy{name: name, arn: arn, doc: d})
			}
		}
		for _, ref := range listAttr(r, resource.AttrManagedPolicies) {
			s, _ := ref.(string)
			if p := resolve(s, r.ID()); p != nil && p.doc != nil {
				n.policies = append(n.policies, *p)
				n.managed = append(n.managed, p)
			}
		}
		if b := strAttr(r, resource.AttrBoundary); b != "" {
			if p := resolve(b, r.ID()); p != nil {
				n.boundary, n.bname = p.doc, p.name
				if p.doc == nil { // unreadable: nothing passes
					n.boundary = &iampolicy.Policy{}
				}
			}
		}
		if kind == KindRole {
			n.trust = parse(strAttr(r, resource.AttrTrustDocument), "trust policy of "+r.ID())
		}
		if kind == KindUser {
			for _, gr := range listAttr(r, resource.AttrGroups) {
				s, _ := gr.(string)
				gi, ok := groupKeys[s]
				if !ok {
					g.Problems = append(g.Problems, fmt.Sprintf("%s: group %s not in the scan", r.ID(), s))
					continue
				}
				n.groups = append(n.groups, gi)
				grp := g.Nodes[gi]
				for _, p := range grp.policies {
					p.name = "group " + grp.Name + ": " + p.name
					n.policies = append(n.policies, p)
				}
				n.managed = append(n.managed, grp.managed...)
			}
		}
		i := add(n)
		if kind == KindGroup {
			for _, k := range []string{arn, r.ARN, r.Address, r.Name, r.ID()} {
				if k != "" {
					groupKeys[k] = i
				}
			}
		}
	}
	g.readLayers(res, parse)
	root := add(&Node{ID: fmt.Sprintf("arn:aws:iam::%s:root", g.Account), Kind: KindRoot, Name: "root", Admin: true})
	_ = root
	admin := add(&Node{ID: AdminID, Kind: KindAdmin, Name: "admin", Admin: true})
	for _, n := range g.Nodes {
		if n.Kind == KindUser || n.Kind == KindRole || n.Kind == KindGroup {
			n.Admin, n.AdminVia = g.isAdmin(n, n.boundary)
			if !n.Admin && n.boundary != nil {
				n.unbounded, _ = g.isAdmin(n, nil)
			}
		}
	}
	g.out = make([][]int, len(g.Nodes))
	g.in = make([][]int, len(g.Nodes))
	g.edges(admin)
	return g
}

// resolveRefs fills the resources of a document that Terraform knows
// only after apply ("(known after apply)", an ARN by reference): when the
// document references exactly one IAM principal or policy, that is its
// ARN; with several, which one stands where is not known and the
// resource stays unmatched (no path is guessed).
func (g *Graph) resolveRefs(p *iampolicy.Policy, refs []any) *iampolicy.Policy {
	if p == nil || len(refs) != 1 {
		return p
	}
	ref, _ := refs[0].(string)
	if ref == "" {
		return p
	}
	arn := fmt.Sprintf("arn:aws:iam::%s:%s", g.Account, ref)
	for i := range p.Statements {
		s := &p.Statements[i]
		for _, l := range [][]string{s.Resource, s.NotResource} {
			for j, r := range l {
				if r == resource.Unknown {
					l[j] = arn
				}
			}
		}
	}
	return p
}

// context is the request context of n's calls: what is known of any
// request it makes (no MFA, source IP or tags: conditions on them do not
// hold).
func (g *Graph) context(n *Node) map[string][]string {
	if n.ctx == nil {
		n.ctx = map[string][]string{"aws:PrincipalArn": {n.ID}, "aws:PrincipalAccount": {g.Account}, "aws:PrincipalType": {principalType(n.Kind)}}
	}
	return n.ctx
}

func principalType(kind string) string {
	switch kind {
	case KindUser:
		return "User"
	case KindRole:
		return "AssumedRole"
	}
	return kind
}

func (g *Graph) isAdmin(n *Node, boundary *iampolicy.Policy) (bool, *Grant) {
	docs := n.docs()
	for _, a := range g.probes() {
		req := iampolicy.Request{Principal: n.ID, Action: a, Resource: "*", Context: g.context(n)}
		if iampolicy.EvaluateLayers(req, g.layers(boundary, "*"), docs...) != iampolicy.Allow {
			return false, nil
		}
	}
	gr := n.grant(iampolicy.Request{Principal: n.ID, Action: "iam:AttachRolePolicy", Resource: "*", Context: g.context(n)})
	return true, &gr
}

func (n *Node) docs() []*iampolicy.Policy {
	if n.docsC == nil {
		n.docsC = make([]*iampolicy.Policy, len(n.policies))
		for i, p := range n.policies {
			n.docsC[i] = p.doc
		}
	}
	return n.docsC
}

// literalResources lists the resources the Allow statements for an
// action name when every one is a literal ARN (no wildcard, no
// NotResource): then only those can be targets. ok is false otherwise.
func (n *Node) literalResources(action string) (map[string]bool, bool) {
	req := iampolicy.Request{Action: action}
	out := map[string]bool{}
	for _, p := range n.policies {
		for i := range p.doc.Statements {
			s := &p.doc.Statements[i]
			if !s.Allow() {
				continue
			}
			probe := *s
			probe.Resource, probe.NotResource, probe.Condition, probe.Principal, probe.NotPrincipal = nil, nil, nil, nil, nil
			if !probe.Applies(req) {
				continue
			}
			if len(s.NotResource) > 0 || len(s.Resource) == 0 {
				return nil, false
			}
			for _, r := range s.Resource {
				if strings.ContainsAny(r, "*?$") {
					return nil, false
				}
				out[r] = true
			}
		}
	}
	return out, true
}

// grant names the first Allow statement that covers the request.
func (n *Node) grant(req iampolicy.Request) Grant {
	for _, p := range n.policies {
		for i := range p.doc.Statements {
			s := &p.doc.Statements[i]
			if s.Allow() && s.Applies(req) {
				return Grant{Action: req.Action, Resource: req.Resource, Policy: p.name, Statement: i + 1, Sid: s.Sid}
			}
		}
	}
	return Grant{Action: req.Action, Resource: req.Resource}
}

// mayAllow: some Allow statement names the action (resources and
// conditions aside): a cheap filter before evaluating.
func (n *Node) mayAllow(action string) bool {
	if v, ok := n.may[action]; ok {
		return v
	}
	req := iampolicy.Request{Action: action}
	v := false
	for _, p := range n.policies {
		for i := range p.doc.Statements {
			s := &p.doc.Statements[i]
			if !s.Allow() {
				continue
			}
			probe := *s
			probe.Resource, probe.NotResource, probe.Condition, probe.Principal, probe.NotPrincipal = nil, nil, nil, nil, nil
			if probe.Applies(req) {
				v = true
			}
		}
	}
	n.may[action] = v
	return v
}

// allowed evaluates one request of n (identity policies and boundary).
func (g *Graph) allowed(n *Node, action, res string, extra map[string][]string) (Grant, bool) {
	ctx := g.context(n)
	if len(extra) > 0 {
		merged := make(map[string][]string, len(ctx)+len(extra))
		for k, v := range ctx {
			merged[k] = v
		}
		for k, v := range extra {
			merged[k] = v
		}
		ctx = merged
	}
	req := iampolicy.Request{Principal: n.ID, Action: action, Resource: res, Context: ctx}
	l := g.layers(n.boundary, res)
	if iampolicy.EvaluateLayers(req, l, n.docs()...) != iampolicy.Allow {
		return Grant{}, false
	}
	if l.Resource != nil && iampolicy.EvaluateBounded(req, n.boundary, n.docs()...) != iampolicy.Allow {
		// Granted by the resource policy alone.
		for i := range l.Resource.Statements {
			s := &l.Resource.Statements[i]
			if s.Allow() && s.Applies(req) {
				return Grant{Action: action, Resource: res, Policy: "resource policy of " + res, Statement: i + 1, Sid: s.Sid}, true
			}
		}
	}
	return n.grant(req), true
}

func (g *Graph) addEdge(e Edge) {
	g.out[e.From] = append(g.out[e.From], len(g.Edges))
	g.in[e.To] = append(g.in[e.To], len(g.Edges))
	g.Edges = append(g.Edges, e)
}
