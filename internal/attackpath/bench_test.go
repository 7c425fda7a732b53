package attackpath

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// account generates an account of n principals (half users, a tenth
// groups, the rest roles) as the resource model holds them: most with
// ordinary data permissions, some with escalation permissions on a few
// targets, a few admins; roles trusting the account, a service or one
// role. With policies > 0, that many customer managed policies (the
// same mix) are attached, one to each principal, and the account has
// functions and instances running as roles (one per 50 principals
// each) and a level of service control policies, as the live reader
// gives them.
func account(n, policies int) []*resource.Resource {
	rng := rand.New(rand.NewPCG(18, 2026))
	const a = "111122223333"
	var res []*resource.Resource
	nUsers, nGroups := n/2, n/10
	nRoles := n - nUsers - nGroups
	doc := func(stmts ...string) string {
		s := `{"Version":"2012-10-17","Statement":[`
		for i, st := range stmts {
			if i > 0 {
				s += ","
			}
			s += st
		}
		return s + "]}"
	}
	allowSt := func(action, r string) string {
		return fmt.Sprintf(`{"Effect":"Allow","Action":%q,"Resource":%q}`, action, r)
	}
	data := []string{"s3:GetObject", "s3:PutObject", "dynamodb:Query", "sqs:SendMessage", "kms:Decrypt", "logs:PutLogEvents", "ec2:Describe*"}
	services := []string{"lambda.amazonaws.com", "ec2.amazonaws.com", "codebuild.amazonaws.com", "ecs-tasks.amazonaws.com", "glue.amazonaws.com"}
	risky := func(self string) string {
		switch rng.IntN(10) {
		case 0:
			return allowSt("iam:PassRole", fmt.Sprintf("arn:aws:iam::%s:role/role-%d", a, rng.IntN(nRoles))) + "," +
				allowSt("lambda:CreateFunction", "*") + "," + allowSt("lambda:InvokeFunction", "*")
		case 1:
			return allowSt("sts:AssumeRole", fmt.Sprintf("arn:aws:iam::%s:role/role-%d", a, rng.IntN(nRoles)))
		case 2:
			return allowSt("iam:CreateAccessKey", fmt.Sprintf("arn:aws:iam::%s:user/user-%d", a, rng.IntN(nUsers)))
		case 3:
			return allowSt("iam:AddUserToGroup", fmt.Sprintf("arn:aws:iam::%s:group/group-%d", a, rng.IntN(nGroups)))
		case 4:
			return `{"Effect":"Deny","Action":"iam:*","Resource":"*"},` + allowSt("iam:PutUserPolicy", self)
		case 5:
			if policies > 0 {
				return allowSt("lambda:UpdateFunctionCode", fmt.Sprintf("arn:aws:lambda:us-east-1:%s:function:fn-%d", a, rng.IntN(n/50)))
			}
		case 6:
			if policies > 0 {
				return allowSt("ssm:SendCommand", fmt.Sprintf("arn:aws:ec2:us-east-1:%s:instance/i-%d", a, rng.IntN(n/50)))
			}
		}
		return allowSt(data[rng.IntN(len(data))], "*")
	}
	principal := func(typ, name string) *resource.Resource {
		return &resource.Resource{Type: typ, Name: name, Address: typ + "." + name, Source: "terraform", Attrs: map[string]any{}}
	}
	for i := range nGroups {
		r := principal(resource.IAMGroup, fmt.Sprintf("group-%d", i))
		r.Attrs[resource.AttrInlinePolicies] = []any{resource.InlinePolicy("g", doc(allowSt(data[i%len(data)], "*"), risky(fmt.Sprintf("arn:aws:iam::%s:group/group-%d", a, i))))}
		if i%25 == 0 {
			r.Attrs[resource.AttrManagedPolicies] = []any{"arn:aws:iam::aws:policy/AdministratorAccess"}
		}
		res = append(res, r)
	}
	for i := range nUsers {
		self := fmt.Sprintf("arn:aws:iam::%s:user/user-%d", a, i)
		r := principal(resource.IAMUser, fmt.Sprintf("user-%d", i))
		r.Attrs[resource.AttrInlinePolicies] = []any{resource.InlinePolicy("u", doc(allowSt(data[rng.IntN(len(data))], "*"), risky(self)))}
		r.Attrs[resource.AttrGroups] = []any{fmt.Sprintf("group-%d", rng.IntN(nGroups))}
		res = append(res, r)
	}
	for i := range nRoles {
		self := fmt.Sprintf("arn:aws:iam::%s:role/role-%d", a, i)
		r := principal(resource.IAMRole, fmt.Sprintf("role-%d", i))
		var trust string
		switch rng.IntN(3) {
		case 0:
			trust = fmt.Sprintf(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sts:AssumeRole"}`, a)
		case 1:
			trust = fmt.Sprintf(`{"Effect":"Allow","Principal":{"Service":%q},"Action":"sts:AssumeRole"}`, services[rng.IntN(len(services))])
		default:
			trust = fmt.Sprintf(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:role/role-%d"},"Action":"sts:AssumeRole"}`, a, rng.IntN(nRoles))
		}
		r.Attrs[resource.AttrTrustDocument] = doc(trust)
		r.Attrs[resource.AttrInlinePolicies] = []any{resource.InlinePolicy("r", doc(allowSt(data[rng.IntN(len(data))], "*"), risky(self)))}
		if i%40 == 0 {
			r.Attrs[resource.AttrManagedPolicies] = []any{"arn:aws:iam::aws:policy/AdministratorAccess"}
		}
		res = append(res, r)
	}
	if policies == 0 {
		return res
	}
	for i := range policies {
		pa := fmt.Sprintf("arn:aws:iam::%s:policy/policy-%d", a, i)
		p := &resource.Resource{Type: resource.IAMPolicy, Name: fmt.Sprintf("policy-%d", i), ARN: pa, Account: a, Source: "aws",
			Attrs: map[string]any{resource.AttrDocument: doc(allowSt(data[rng.IntN(len(data))], "*"), risky(pa))}}
		res = append(res, p)
	}
	for _, r := range res {
		switch r.Type {
		case resource.IAMUser, resource.IAMRole, resource.IAMGroup:
			r.AppendAttr(resource.AttrManagedPolicies, r.Location, fmt.Sprintf("arn:aws:iam::%s:policy/policy-%d", a, rng.IntN(policies)))
		}
	}
	for i := range n / 50 {
		role := fmt.Sprintf("arn:aws:iam::%s:role/role-%d", a, rng.IntN(nRoles))
		res = append(res,
			&resource.Resource{Type: resource.LambdaFunction, Name: fmt.Sprintf("fn-%d", i), ARN: fmt.Sprintf("arn:aws:lambda:us-east-1:%s:function:fn-%d", a, i),
				Account: a, Source: "aws", Attrs: map[string]any{resource.AttrRole: role}},
			&resource.Resource{Type: resource.EC2Instance, Name: fmt.Sprintf("i-%d", i), ARN: fmt.Sprintf("arn:aws:ec2:us-east-1:%s:instance/i-%d", a, i),
				Account: a, Source: "aws", Attrs: map[string]any{resource.AttrRole: role}})
	}
	res = append(res, &resource.Resource{Type: resource.OrganizationsSCP, Name: "guardrails", ARN: "arn:aws:organizations::999999999999:policy/o-x/service_control_policy/p-1",
		Source: "aws", Attrs: map[string]any{resource.AttrSCPTarget: "r-root",
			resource.AttrDocument: doc(allowSt("*", "*"), `{"Effect":"Deny","Action":["organizations:LeaveOrganization","cloudtrail:StopLogging"],"Resource":"*"}`)}})
	return res
}

func BenchmarkPaths(b *testing.B) {
	ms, err := BuiltinMethods()
	if err != nil {
		b.Fatal(err)
	}
	for _, sz := range []struct{ n, policies int }{{2000, 0}, {10000, 0}, {10000, 5000}} {
		n := sz.n
		res := account(n, sz.policies)
		name := fmt.Sprintf("principals=%d", n)
		if sz.policies > 0 {
			name += fmt.Sprintf("/policies=%d", sz.policies)
		}
		b.Run("build/"+name, func(b *testing.B) {
			b.ReportAllocs()
			var g *Graph
			for b.Loop() {
				g = Build(res, ms, Options{})
			}
			b.ReportMetric(float64(len(g.Edges)), "edges")
		})
		g := Build(res, ms, Options{})
		b.Run("shortest/"+name, func(b *testing.B) {
			b.ReportAllocs()
			var ps []Path
			for b.Loop() {
				ps, _ = g.Shortest("admin")
			}
			b.ReportMetric(float64(len(ps)), "paths")
		})
	}
}

// The generated account is what the benchmark measures: paths exist and
// every one ends at an administrator.
func TestGeneratedAccount(t *testing.T) {
	ms, err := BuiltinMethods()
	if err != nil {
		t.Fatal(err)
	}
	for _, policies := range []int{0, 1000} {
		testGenerated(t, ms, account(2000, policies))
	}
}

func testGenerated(t *testing.T, ms []*Method, res []*resource.Resource) {
	t.Helper()
	g := Build(res, ms, Options{})
	if len(g.Problems) > 0 {
		t.Fatalf("problems: %v", g.Problems[:min(5, len(g.Problems))])
	}
	ps, err := g.Shortest("admin")
	if err != nil {
		t.Fatal(err)
	}
	if len(g.functions) > 0 {
		runners := 0
		for _, e := range g.Edges {
			if e.Method.Target == "function" || e.Method.Target == "instance" {
				runners++
			}
		}
		if runners == 0 {
			t.Errorf("no step acts on a function or an instance")
		}
	}
	steps := 0
	for _, p := range ps {
		if p.Len() > 0 {
			last := p.Steps[p.Len()-1].To
			if n := g.Node(last); n == nil || !n.Admin {
				t.Errorf("path from %s ends at %s, not an admin", p.Source, last)
			}
		}
		steps = max(steps, p.Len())
	}
	if len(ps) < 100 || steps < 2 {
		t.Errorf("%d paths, longest %d steps: the generator makes too few", len(ps), steps)
	}
}

// withBucket adds the bucket payroll to a generated account: its policy
// lets role-3 read and denies changing it to all but role-0.
func withBucket(res []*resource.Resource) []*resource.Resource {
	const a = "111122223333"
	return append(res, &resource.Resource{Type: resource.S3Bucket, Name: "payroll", ARN: "arn:aws:s3:::payroll", Account: a, Source: "aws",
		Attrs: map[string]any{resource.AttrResourcePolicy: `{"Version":"2012-10-17","Statement":[` +
			`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + a + `:role/role-3"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::payroll/*"},` +
			`{"Effect":"Deny","Principal":"*","Action":"s3:PutBucketPolicy","Resource":"arn:aws:s3:::payroll",` +
			`"Condition":{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::` + a + `:role/role-0"}}}]}`}})
}

// BenchmarkPathsToBucket: `paths --to payroll` on the generated account
// of 10,000 principals and 5,000 policies; each iteration evaluates every
// principal's access anew (the graph caches it per resource otherwise).
func BenchmarkPathsToBucket(b *testing.B) {
	ms, err := BuiltinMethods()
	if err != nil {
		b.Fatal(err)
	}
	g := Build(withBucket(account(10000, 5000)), ms, Options{})
	d := g.findData("payroll")
	b.ReportAllocs()
	var ps []Path
	for b.Loop() {
		d.node = -1
		ps, _ = g.Shortest("payroll")
	}
	b.ReportMetric(float64(len(ps)), "paths")
}

// The bucket of the benchmark is reached, by role-3 through its policy,
// and no path gives admin access to anyone but role-0.
func TestGeneratedAccountBucket(t *testing.T) {
	ms, err := BuiltinMethods()
	if err != nil {
		t.Fatal(err)
	}
	g := Build(withBucket(account(2000, 1000)), ms, Options{})
	ps, err := g.Shortest("arn:aws:s3:::payroll")
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]Path{}
	for _, p := range ps {
		by[p.SourceName] = p
		if p.Access == AccessAdmin && p.Steps[p.Len()-1].From != "arn:aws:iam::111122223333:role/role-0" {
			t.Errorf("%s has admin access through %s", p.SourceName, p.Steps[p.Len()-1].From)
		}
	}
	if p, ok := by["role-3"]; !ok || p.Len() != 1 {
		t.Errorf("role-3 does not reach payroll in one step")
	}
	if len(ps) < 100 {
		t.Errorf("%d principals reach payroll: the generator grants too few", len(ps))
	}
}
