package attackpath

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/parapet-sec/parapet/internal/iampolicy"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// runner is an existing resource that runs as a role: a Lambda function
// or an EC2 instance (through its instance profile). Methods with target
// function or instance act on it and reach its role.
type runner struct {
	arn, name string
	role      int // the role's node
}

// readLayers takes from the resource model what decides a request beside
// identity policies: the service control policies of the account (by
// level), resource policies (by resource ARN), and the functions and
// instances that run as a role of the graph.
func (g *Graph) readLayers(res []*resource.Resource, parse func(doc, what string) *iampolicy.Policy) {
	levels := map[string][]*iampolicy.Policy{}
	g.resPol = map[string]*iampolicy.Policy{}
	for _, r := range res {
		switch r.Type {
		case resource.OrganizationsSCP:
			target := strAttr(r, resource.AttrSCPTarget)
			if target == "" {
				continue
			}
			p := parse(strAttr(r, resource.AttrDocument), "service control policy "+r.ID())
			if p == nil { // unreadable: nothing passes this level
				p = &iampolicy.Policy{}
			}
			levels[target] = append(levels[target], p)
		case resource.LambdaFunction, resource.EC2Instance:
			arn := r.ARN
			if arn == "" {
				arn = g.runnerARN(r, res)
			}
			if doc := strAttr(r, resource.AttrResourcePolicy); doc != "" {
				if p := parse(doc, "resource policy of "+r.ID()); p != nil {
					g.resPol[arn] = p
					for _, st := range p.Statements {
						if st.Allow() {
							g.runnerActions = append(g.runnerActions, st.Action...)
						}
					}
				}
			}
			role := strAttr(r, resource.AttrRole)
			if role == "" || role == resource.Unknown {
				continue
			}
			ri, ok := g.byID[role]
			if !ok {
				ri, ok = g.byID[fmt.Sprintf("arn:aws:iam::%s:role/%s", g.Account, role)]
			}
			if !ok || g.Nodes[ri].Kind != KindRole {
				g.Problems = append(g.Problems, fmt.Sprintf("%s: role %s not in the scan", r.ID(), role))
				continue
			}
			ru := runner{arn: arn, name: r.Name, role: ri}
			if r.Type == resource.LambdaFunction {
				g.functions = append(g.functions, ru)
			} else {
				g.instances = append(g.instances, ru)
			}
		default:
			if doc := strAttr(r, resource.AttrResourcePolicy); doc != "" && r.ARN != "" {
				if p := parse(doc, "resource policy of "+r.ID()); p != nil {
					g.resPol[r.ARN] = p
				}
			}
			g.addData(r, parse)
		}
	}
	targets := make([]string, 0, len(levels))
	for t := range levels {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	for _, t := range targets {
		g.scps = append(g.scps, levels[t])
		g.SCPLevels = append(g.SCPLevels, t)
	}
}

// regionRE finds the region of a regional ARN in a policy document.
var regionRE = regexp.MustCompile(`arn:aws[a-z-]*:[a-z0-9-]+:([a-z]{2}(?:-[a-z]+)+-\d):\d{12}:`)

// runnerARN names a function or an instance a source gives no ARN
// (Terraform, CloudFormation: the region and an instance's id are known
// only after apply): in the graph's account, in the region the policies'
// ARNs name most often ("*" when none does), an instance as
// instance/* (any instance id).
func (g *Graph) runnerARN(r *resource.Resource, res []*resource.Resource) string {
	if g.region == "" {
		count := map[string]int{}
		for _, x := range res {
			docs := []string{strAttr(x, resource.AttrDocument)}
			for _, p := range listAttr(x, resource.AttrInlinePolicies) {
				pm, _ := p.(map[string]any)
				s, _ := pm["document"].(string)
				docs = append(docs, s)
			}
			for _, d := range docs {
				for _, m := range regionRE.FindAllStringSubmatch(d, -1) {
					count[m[1]]++
				}
			}
		}
		g.region = "*"
		n := 0
		for reg, c := range count {
			if c > n || (c == n && reg < g.region) {
				g.region, n = reg, c
			}
		}
	}
	if r.Type == resource.LambdaFunction {
		return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", g.region, g.Account, r.Name)
	}
	return fmt.Sprintf("arn:aws:ec2:%s:%s:instance/*", g.region, g.Account)
}

// runners lists the functions or instances a method with that target
// acts on, as objects that reach their role.
func (g *Graph) runners(target string, self int) []object {
	l := g.functions
	if target == "instance" {
		l = g.instances
	}
	var out []object
	for _, ru := range l {
		if ru.role != self {
			out = append(out, object{ru.arn, ru.name, ru.role})
		}
	}
	return out
}

// layers are the policies beside n's identity policies that decide its
// request on res.
func (g *Graph) layers(boundary *iampolicy.Policy, res string) iampolicy.Layers {
	l := iampolicy.Layers{SCPs: g.scps, Boundary: boundary}
	if !strings.HasSuffix(res, "*") {
		l.Resource = g.resPol[res]
	}
	return l
}

// probes are the admin probes the account's SCPs allow at all (for a
// principal they name in no condition): an SCP that denies leaving the
// organization to everyone does not leave the account without
// administrators. When SCPs deny every probe, all stay (none is admin).
func (g *Graph) probes() []string {
	if g.probesC != nil {
		return g.probesC
	}
	g.probesC = adminProbes
	if len(g.scps) == 0 {
		return g.probesC
	}
	var kept []string
	for _, a := range adminProbes {
		req := iampolicy.Request{Principal: fmt.Sprintf("arn:aws:iam::%s:user/*", g.Account), Action: a, Resource: "*",
			Context: map[string][]string{"aws:PrincipalAccount": {g.Account}}}
		if iampolicy.EvaluateSCPs(req, g.scps) == iampolicy.Allow {
			kept = append(kept, a)
		}
	}
	if len(kept) > 0 {
		g.probesC = kept
	}
	return g.probesC
}

// runnerGrant: some function's or instance's resource policy allows one
// of m's actions to someone, so a principal whose own policies do not
// name it may still take the step.
func (g *Graph) runnerGrant(m *Method) bool {
	if m.Target != "function" && m.Target != "instance" {
		return false
	}
	for _, p := range m.Permissions {
		if anyAction(g.runnerActions, p.Action) {
			return true
		}
	}
	return false
}
