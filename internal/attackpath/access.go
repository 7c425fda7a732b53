package attackpath

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/parapet-sec/parapet/internal/iampolicy"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// KindResource is the kind of a data resource node (a bucket, a KMS key,
// a secret, a queue, a topic) that `paths --to` adds as a target.
const KindResource = "resource"

// Access levels, lowest first.
const (
	AccessRead  = "read"
	AccessWrite = "write"
	AccessAdmin = "admin"
)

// accessRight is one level of access to a resource type: the action that
// proves it, on the resource's ARN plus Suffix (an S3 object: "/*").
type accessRight struct {
	Level, Action, Suffix string
}

// accessTable says, per resource type, which action proves each access
// level ("can access" edges). Adding a type is adding a row.
var accessTable = map[string]struct {
	Noun   string
	Rights []accessRight
}{
	resource.S3Bucket: {"bucket", []accessRight{
		{AccessRead, "s3:GetObject", "/*"}, {AccessWrite, "s3:PutObject", "/*"}, {AccessAdmin, "s3:PutBucketPolicy", ""}}},
	resource.KMSKey: {"key", []accessRight{
		{AccessRead, "kms:Decrypt", ""}, {AccessWrite, "kms:Encrypt", ""}, {AccessAdmin, "kms:PutKeyPolicy", ""}}},
	resource.SecretsSecret: {"secret", []accessRight{
		{AccessRead, "secretsmanager:GetSecretValue", ""}, {AccessWrite, "secretsmanager:PutSecretValue", ""}, {AccessAdmin, "secretsmanager:PutResourcePolicy", ""}}},
	resource.SQSQueue: {"queue", []accessRight{
		{AccessRead, "sqs:ReceiveMessage", ""}, {AccessWrite, "sqs:SendMessage", ""}, {AccessAdmin, "sqs:SetQueueAttributes", ""}}},
	resource.SNSTopic: {"topic", []accessRight{
		{AccessRead, "sns:Subscribe", ""}, {AccessWrite, "sns:Publish", ""}, {AccessAdmin, "sns:SetTopicAttributes", ""}}},
}

// dataRes is a resource `paths --to` can target.
type dataRes struct {
	typ, arn, name, account string
	policy                  *iampolicy.Policy // its resource policy (nil: none)
	direct                  *iampolicy.Policy // the policy without account principals in Allow statements
	node                    int               // its node once added (-1: not yet)
}

// accessMethods are the pseudo-methods of "can access" edges.
var accessMethods = map[string]*Method{
	AccessRead:  {ID: "access-read", Title: "Read the resource", Gains: "access", Verb: "can read {target}"},
	AccessWrite: {ID: "access-write", Title: "Write to the resource", Gains: "access", Verb: "can write to {target}"},
	AccessAdmin: {ID: "access-admin", Title: "Administer the resource", Gains: "access", Verb: "can administer {target}"},
}

// addData records a resource of the access table (readLayers calls it).
func (g *Graph) addData(r *resource.Resource, parse func(doc, what string) *iampolicy.Policy) {
	if _, ok := accessTable[r.Type]; !ok {
		return
	}
	d := &dataRes{typ: r.Type, arn: r.ARN, name: r.Name, account: r.Account, node: -1}
	if d.account == "" {
		d.account = g.Account
	}
	if !strings.HasPrefix(d.arn, "arn:") {
		region := r.Region
		if region == "" {
			region = "us-east-1"
		}
		switch r.Type {
		case resource.S3Bucket:
			d.arn = "arn:aws:s3:::" + r.Name
		case resource.KMSKey:
			d.arn = fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", region, d.account, r.Name)
		case resource.SecretsSecret:
			d.arn = fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s", region, d.account, r.Name)
		case resource.SQSQueue:
			d.arn = fmt.Sprintf("arn:aws:sqs:%s:%s:%s", region, d.account, r.Name)
		case resource.SNSTopic:
			d.arn = fmt.Sprintf("arn:aws:sns:%s:%s:%s", region, d.account, r.Name)
		}
	}
	if doc := strAttr(r, resource.AttrResourcePolicy); doc != "" {
		// Unreadable or known only after apply: a problem of the graph
		// (readLayers parsed it first when it has an ARN), and the
		// resource is judged as if it had none.
		if d.policy = g.resPol[r.ARN]; d.policy == nil && r.ARN == "" {
			d.policy = parse(doc, "resource policy of "+r.ID())
		}
		if d.policy != nil {
			d.direct = withoutAccounts(d.policy)
		}
	}
	g.data = append(g.data, d)
}

var accountPrincipal = regexp.MustCompile(`^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:root)$`)

// withoutAccounts copies p with every account principal (an id, a :root
// ARN) left out of its Allow statements: naming an account delegates to
// its IAM policies, it grants no one by itself. Deny statements stay.
func withoutAccounts(p *iampolicy.Policy) *iampolicy.Policy {
	out := &iampolicy.Policy{Version: p.Version, ID: p.ID, Statements: make([]iampolicy.Statement, len(p.Statements))}
	copy(out.Statements, p.Statements)
	for i := range out.Statements {
		s := &out.Statements[i]
		if !s.Allow() || s.Principal == nil {
			continue
		}
		kept := iampolicy.Principals{}
		for t, vals := range s.Principal {
			for _, v := range vals {
				if !strings.EqualFold(t, "AWS") || !accountPrincipal.MatchString(v) {
					kept[t] = append(kept[t], v)
				}
			}
		}
		s.Principal = kept
	}
	return out
}

// findData resolves --to among the data resources: an ARN, or a name.
func (g *Graph) findData(to string) *dataRes {
	for _, d := range g.data {
		if d.arn == to {
			return d
		}
	}
	for _, d := range g.data {
		if d.name == to {
			return d
		}
	}
	return nil
}

func accountOfARN(arn string) string {
	if m := accountRE.FindStringSubmatch(arn); m != nil {
		return m[1]
	}
	if p := strings.Split(arn, ":"); len(p) > 4 && len(p[4]) == 12 {
		return p[4]
	}
	return ""
}

// canAccess evaluates one access right of n (its identity policies docs,
// capped by its boundary and the SCPs) on d, with d's resource policy.
func (g *Graph) canAccess(n *Node, docs []*iampolicy.Policy, boundary *iampolicy.Policy, d *dataRes, r accessRight) (Grant, bool) {
	res := d.arn + r.Suffix
	req := iampolicy.Request{Principal: n.ID, Action: r.Action, Resource: res, Context: g.context(n)}
	where := fmt.Sprintf("resource policy of %s %s", accessTable[d.typ].Noun, d.name)
	fromResource := func(p *iampolicy.Policy, note string) Grant {
		for i := range p.Statements {
			s := &p.Statements[i]
			if s.Allow() && s.Applies(req) {
				return Grant{Action: r.Action, Resource: res, Policy: where, Statement: i + 1, Sid: s.Sid, Note: note}
			}
		}
		return Grant{Action: r.Action, Resource: res, Policy: where, Note: note}
	}
	if d.policy != nil && iampolicy.Evaluate(req, d.policy) == iampolicy.ExplicitDeny {
		return Grant{}, false
	}
	if n.Kind == KindExternal || n.Kind == KindFederated {
		// Another account's principal: only the resource policy is known
		// here; that account's own policies must allow it too.
		if d.policy != nil && iampolicy.Evaluate(req, d.policy) == iampolicy.Allow {
			return fromResource(d.policy, "(if its own account's policies allow it)"), true
		}
		return Grant{}, false
	}
	if accountOfARN(n.ID) != d.account {
		// Cross-account: both the identity policies and the resource
		// policy must allow.
		if iampolicy.EvaluateSCPs(req, g.scps) != iampolicy.Allow || iampolicy.EvaluateBounded(req, boundary, docs...) != iampolicy.Allow ||
			d.policy == nil || iampolicy.Evaluate(req, d.policy) != iampolicy.Allow {
			return Grant{}, false
		}
		return n.grant(req), true
	}
	if iampolicy.EvaluateLayers(req, iampolicy.Layers{SCPs: g.scps, Boundary: boundary, Resource: d.direct}, docs...) != iampolicy.Allow {
		return Grant{}, false
	}
	if iampolicy.EvaluateBounded(req, boundary, docs...) != iampolicy.Allow {
		return fromResource(d.direct, ""), true // the resource policy names it
	}
	// Identity policies grant it; a key policy must let IAM policies
	// decide (trust the account), else only the key policy counts.
	if d.typ == resource.KMSKey && d.policy != nil && iampolicy.Evaluate(req, d.policy) != iampolicy.Allow {
		return Grant{}, false
	}
	gr := n.grant(req)
	if n.Kind == KindAdmin {
		gr.Policy, gr.Note = "any administrator's", "(after granting itself anything)"
	}
	return gr, true
}

// anyAdmin stands for a principal that granted itself everything (the
// virtual admin node): Action * on Resource *.
var anyAdmin = func() *iampolicy.Policy {
	p, _ := iampolicy.Parse([]byte(awsManaged["arn:aws:iam::aws:policy/AdministratorAccess"]))
	return p
}()

// accessNode adds d's node and its "can access" edges: one from every
// user, role and group whose effective permissions allow at least one
// access level (the edge names the highest and carries each level's
// grant), and one from the virtual admin node when an administrator of
// the account could (a resource policy's explicit Deny cuts it).
func (g *Graph) accessNode(d *dataRes) int {
	if d.node >= 0 {
		return d.node
	}
	t := accessTable[d.typ]
	d.node = len(g.Nodes)
	g.byID[d.arn] = d.node
	g.Nodes = append(g.Nodes, &Node{ID: d.arn, Kind: KindResource, Name: d.name})
	g.out = append(g.out, nil)
	g.in = append(g.in, nil)
	// A cheap filter: without a resource policy, only principals whose
	// policies name one of the actions can have access.
	for i, n := range g.Nodes[:d.node] {
		var docs []*iampolicy.Policy
		boundary := n.boundary
		switch n.Kind {
		case KindUser, KindRole, KindGroup:
			docs = n.docs()
			if d.policy == nil {
				named := false
				for _, r := range t.Rights {
					named = named || n.mayAllow(r.Action)
				}
				if !named {
					continue
				}
			}
		case KindAdmin:
			n = &Node{ID: fmt.Sprintf("arn:aws:iam::%s:role/*", g.Account), Kind: KindAdmin, Name: n.Name,
				policies: []namedPolicy{{name: "any administrator's", doc: anyAdmin}}}
			docs, boundary = n.docs(), nil
		case KindExternal, KindFederated:
			if d.policy == nil {
				continue
			}
		default:
			continue
		}
		var grants []Grant
		level := ""
		for _, r := range t.Rights {
			if gr, ok := g.canAccess(n, docs, boundary, d, r); ok {
				grants = append(grants, gr)
				level = r.Level
			}
		}
		if level == "" {
			continue
		}
		g.addEdge(Edge{From: i, To: d.node, Method: accessMethods[level], Object: d.arn, ObjectName: t.Noun + " " + d.name, Grants: grants})
	}
	return d.node
}
