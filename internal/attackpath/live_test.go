package attackpath

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/parapet-sec/parapet/internal/awstest"
	"github.com/parapet-sec/parapet/internal/posture/awsapi"
)

func TestMain(m *testing.M) {
	code := m.Run()
	awstest.Stop()
	os.Exit(code)
}

// liveWorld is one method's test ground as IAM, Lambda and EC2 hold it:
// the attacker, what it is granted, and the target the method acts on.
// It is derived from the method's data (target, trusts, permissions,
// gains), so every method gets one without a hand-written test.
type liveWorld struct {
	acct         string
	attackerKind string // user or role
	grants       []statement
	boundary     []statement // the attacker's permissions boundary (nil: none)
	group        bool        // the attacker is in group "attackers"
	ownPolicy    bool        // a customer managed policy "attacker-tools" is attached to the attacker
	targetKind   string      // user, group, role, function, instance, or "" (the attacker itself)
	trust        string      // the target role's trusted principal (a service, or "root")
	scp          []statement // a service control policy on the account (nil: none)
}

type statement struct {
	Effect    string         `json:"Effect"`
	Action    string         `json:"Action"`
	Resource  string         `json:"Resource"`
	Condition map[string]any `json:"Condition,omitempty"`
}

func policyDoc(st []statement) string {
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": st})
	return string(b)
}

// liveNames: the objects every world uses.
const (
	liveAcct   = "123456789012" // moto's account
	liveRegion = "us-east-1"
)

func liveARN(acct, kind, name string) string { return "arn:aws:iam::" + acct + ":" + kind + "/" + name }

// worldOf derives the vulnerable world of a method: the attacker is
// granted exactly the method's permissions on its target.
func worldOf(m *Method, acct, instance, function string) liveWorld {
	w := liveWorld{acct: acct, attackerKind: "user"}
	if selfKind(m) == KindRole && m.Target == "self" {
		w.attackerKind = "role"
	}
	self := liveARN(acct, w.attackerKind, "attacker")
	target := self
	switch m.Target {
	case "self":
		if m.Gains == "unbounded" { // an administrator held back by its boundary
			w.grants = []statement{{Effect: "Allow", Action: "*", Resource: "*"}}
			for _, p := range m.Permissions {
				w.boundary = append(w.boundary, statement{Effect: "Allow", Action: p.Action, Resource: self})
			}
			return w
		}
	case "self_group":
		w.group, target = true, liveARN(acct, "group", "attackers")
	case "self_policy":
		w.ownPolicy, target = true, liveARN(acct, "policy", "attacker-tools")
	case "user":
		w.targetKind, target = "user", liveARN(acct, "user", "victim")
	case "group":
		w.targetKind, target = "group", liveARN(acct, "group", "admins")
	case "role":
		w.targetKind, target = "role", liveARN(acct, "role", "victim")
		w.trust = m.Trusts
		if m.Trusts == "caller" {
			w.trust = "root"
		} else if m.Trusts == "" {
			w.trust = "ec2.amazonaws.com"
		}
	case "function":
		w.targetKind, target = "function", function
	case "instance":
		w.targetKind, target = "instance", instance
	}
	for _, p := range m.Permissions {
		res := target
		if p.Resource == "*" {
			res = "*"
		}
		w.grants = append(w.grants, statement{Effect: "Allow", Action: p.Action, Resource: res})
	}
	return w
}

// lookAlike turns the world safe in one of the ways an account does: an
// explicit Deny, a condition that does not hold, a permissions boundary,
// a service control policy.
func lookAlike(w liveWorld, m *Method, how string) liveWorld {
	first := m.Permissions[0].Action
	switch how {
	case "deny":
		w.grants = append(slices.Clone(w.grants), statement{Effect: "Deny", Action: first, Resource: "*"})
	case "condition":
		var l []statement
		for _, s := range w.grants {
			s.Condition = map[string]any{"Bool": map[string]any{"aws:MultiFactorAuthPresent": "true"}}
			l = append(l, s)
		}
		w.grants = l
	case "boundary":
		w.boundary = []statement{{Effect: "Allow", Action: "s3:GetObject", Resource: "*"}}
		if w.attackerKind == "user" {
			// The emulator keeps no user boundaries: a role attacker
			// (its grants stay on the same targets).
			w.attackerKind = "role"
		}
	case "scp":
		w.scp = []statement{{Effect: "Allow", Action: "*", Resource: "*"}, {Effect: "Deny", Action: first, Resource: "*"}}
	}
	return w
}

// build creates the world on the emulator.
func (w liveWorld) build(t *testing.T, ctx context.Context, cfg aws.Config) {
	t.Helper()
	c := iam.NewFromConfig(cfg)
	must := func(what string, err error) {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	admin := aws.String("arn:aws:iam::aws:policy/AdministratorAccess")
	var err error
	var boundary *string
	if w.boundary != nil {
		out, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("attacker-boundary"), PolicyDocument: aws.String(policyDoc(w.boundary))})
		must("create boundary", err)
		boundary = out.Policy.Arn
	}
	if w.attackerKind == "role" {
		_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("attacker"), PermissionsBoundary: boundary,
			AssumeRolePolicyDocument: aws.String(trustDoc(w.acct, "ec2.amazonaws.com"))})
		must("create attacker role", err)
		_, err = c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("attacker"), PolicyName: aws.String("grants"), PolicyDocument: aws.String(policyDoc(w.grants))})
		must("put role policy", err)
	} else {
		_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("attacker"), PermissionsBoundary: boundary})
		must("create attacker", err)
		_, err = c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("attacker"), PolicyName: aws.String("grants"), PolicyDocument: aws.String(policyDoc(w.grants))})
		must("put user policy", err)
	}
	if w.group {
		_, err = c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("attackers")})
		must("create group", err)
		_, err = c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("attackers"), UserName: aws.String("attacker")})
		must("join group", err)
	}
	if w.ownPolicy {
		out, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("attacker-tools"), PolicyDocument: aws.String(policyDoc([]statement{{Effect: "Allow", Action: "s3:ListBucket", Resource: "*"}}))})
		must("create tools policy", err)
		_, err = c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("attacker"), PolicyArn: out.Policy.Arn})
		must("attach tools policy", err)
	}
	switch w.targetKind {
	case "user":
		_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("victim")})
		must("create victim", err)
		_, err = c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("victim"), PolicyArn: admin})
		must("attach admin", err)
	case "group":
		_, err = c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("admins")})
		must("create admins", err)
		_, err = c.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("admins"), PolicyArn: admin})
		must("attach admin", err)
	case "role":
		w.adminRole(t, ctx, c, "victim", w.trust)
	case "function":
		role := w.adminRole(t, ctx, c, "victim", "lambda.amazonaws.com")
		_, err = lambda.NewFromConfig(cfg).CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("nightly"), Role: aws.String(role),
			Runtime: lambdatypes.RuntimePython312, Handler: aws.String("index.handler"), Code: &lambdatypes.FunctionCode{ZipFile: zipOf(t)}})
		must("create function", err)
	case "instance":
		w.adminRole(t, ctx, c, "victim", "ec2.amazonaws.com")
		ip, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("victim")})
		must("create instance profile", err)
		_, err = c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("victim"), RoleName: aws.String("victim")})
		must("add role to profile", err)
		_, err = ec2.NewFromConfig(cfg).RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			InstanceType: ec2types.InstanceTypeT3Micro, IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: ip.InstanceProfile.Arn}})
		must("run instance", err)
	}
}

func (w liveWorld) adminRole(t *testing.T, ctx context.Context, c *iam.Client, name, trust string) string {
	t.Helper()
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trustDoc(w.acct, trust))})
	if err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Fatalf("attach admin to %s: %v", name, err)
	}
	return aws.ToString(out.Role.Arn)
}

func trustDoc(acct, who string) string {
	p := map[string]any{"Service": who}
	if who == "root" {
		p = map[string]any{"AWS": "arn:aws:iam::" + acct + ":root"}
	}
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": p, "Action": "sts:AssumeRole"}}})
	return string(b)
}

// expected lists the steps the attacker must have in the world: every
// evaluated method acting on the same kind of target whose permissions
// the world grants (a method's scenario grants those of its look-alikes
// too: RunInstances is part of several), as "method → target name".
func expected(ms []*Method, m *Method, w liveWorld) []string {
	granted := map[string]bool{}
	for _, s := range w.grants {
		granted[s.Action] = true
	}
	var out []string
	for _, o := range ms {
		if !o.Evaluated || o.Target != m.Target || o.Trusts != m.Trusts || o.Gains != m.Gains || selfKind(o) != selfKind(m) && m.Target == "self" {
			continue
		}
		ok := true
		for _, p := range o.Permissions {
			ok = ok && (granted[p.Action] || granted["*"])
		}
		if m.Gains == "unbounded" {
			ok = true
			for _, p := range o.Permissions {
				ok = ok && slices.ContainsFunc(w.boundary, func(s statement) bool { return s.Action == p.Action })
			}
		}
		if ok {
			to := "victim"
			switch {
			case m.Target == "self" || m.Target == "self_group" || m.Target == "self_policy":
				to = "admin"
			case m.Target == "group":
				to = "admins"
			}
			out = append(out, o.ID+" → "+to)
		}
	}
	sort.Strings(out)
	return out
}

// liveGraph reads the emulator's account with the live reader and builds
// the graph.
func liveGraph(t *testing.T, ctx context.Context, ms []*Method) *Graph {
	t.Helper()
	res, notes, errs := awsapi.Authorization(ctx, awsapi.Options{Regions: []string{liveRegion}, MaxAttempts: 2})
	for _, e := range errs {
		t.Logf("reader: %v", e)
	}
	if res == nil {
		t.Fatalf("Authorization: nothing read: %v", errs)
	}
	_ = notes
	return Build(res, ms, Options{})
}

// stepsOf: the steps leaving the attacker ("trust" edges aside).
func stepsOf(g *Graph) []string {
	var out []string
	for i, n := range g.Nodes {
		if n.Name != "attacker" || (n.Kind != KindUser && n.Kind != KindRole) {
			continue
		}
		for _, e := range g.Out(i) {
			out = append(out, e.Method.ID+" → "+g.Nodes[e.To].Name)
		}
	}
	sort.Strings(out)
	return out
}

func reachesAdmin(t *testing.T, g *Graph) bool {
	t.Helper()
	ps, err := g.Shortest("admin")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.SourceName == "attacker" {
			return true
		}
	}
	return false
}

// Every method the graph evaluates, on the emulator: its vulnerable
// world read live gives exactly the expected steps and a path to admin;
// its look-alike (a Deny, a condition, a boundary, in turn) gives none.
//
// Each world costs the emulator a few seconds: on a developer's machine
// the test takes the first method of each kind of target (self, its
// group or policy, a user, a group, a role, a function,
// an instance); in CI (CI=true) or with PARAPET_LIVE_ALL=1, every one.
// TestTerraformMethods builds every method's world, and its look-alike,
// from Terraform in a second.
func TestLiveMethods(t *testing.T) {
	if testing.Short() {
		t.Skip("about 85 emulator accounts built and read: minutes")
	}
	ms, err := BuiltinMethods()
	if err != nil {
		t.Fatal(err)
	}
	all := os.Getenv("CI") == "true" || os.Getenv("PARAPET_LIVE_ALL") == "1"
	kinds := map[string]bool{}
	tp, fp, fn, ran := 0, 0, 0, 0
	for i, m := range ms {
		if !m.Evaluated {
			continue
		}
		kind := m.Target
		if !all && kinds[kind] {
			continue
		}
		kinds[kind] = true
		ran++
		kinds := []string{"deny", "condition", "boundary"}
		how := kinds[i%len(kinds)]
		switch {
		case m.Gains == "unbounded" && how == "boundary":
			how = "deny"
		case how == "boundary" && (m.Target == "group" || strings.HasPrefix(m.Target, "self") && selfKind(m) != KindRole):
			how = "condition" // a user attacker by nature: the emulator keeps no user boundaries
		}
		if m.ID == "iam-delete-user-permissions-boundary" || m.ID == "iam-put-user-permissions-boundary" {
			continue // the emulator keeps no user boundaries (CreateUser ignores it; no PutUserPermissionsBoundary)
		}
		t.Run(m.ID, func(t *testing.T) {
			awstest.Start(t)
			ctx := context.Background()
			cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(liveRegion))
			if err != nil {
				t.Fatal(err)
			}
			function := "arn:aws:lambda:" + liveRegion + ":" + liveAcct + ":function:nightly"
			var instance string
			if m.Target == "instance" {
				instance = "arn:aws:ec2:" + liveRegion + ":" + liveAcct + ":instance/*" // the id is known after launch
			}
			w := worldOf(m, liveAcct, instance, function)
			w.build(t, ctx, cfg)
			g := liveGraph(t, ctx, ms)
			got, want := stepsOf(g), expected(ms, m, w)
			for _, s := range got {
				if slices.Contains(want, s) {
					tp++
				} else {
					fp++
				}
			}
			for _, s := range want {
				if !slices.Contains(got, s) {
					fn++
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("steps of the attacker = %v, want %v (problems %v)", got, want, g.Problems)
			}
			if !reachesAdmin(t, g) {
				t.Errorf("the attacker reaches no administrator")
			}
			t.Run("look-alike "+how, func(t *testing.T) {
				awstest.Start(t)
				lookAlike(w, m, how).build(t, ctx, cfg)
				g := liveGraph(t, ctx, ms)
				if got := stepsOf(g); reachesAdmin(t, g) {
					t.Errorf("look-alike (%s) reaches admin: steps %v", how, got)
				}
			})
		})
	}
	t.Logf("live methods: %d worlds (all: %v); %d expected steps found, %d unexpected, %d missed", ran, all, tp, fp, fn)
}

// zipOf is a function's code: one file in a zip.
func zipOf(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	f, err := z.Create("index.py")
	if err == nil {
		_, err = f.Write([]byte("def handler(event, context):\n    return None\n"))
	}
	if err == nil {
		err = z.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A service control policy on a member account cuts the path; the same
// world without it has the path. The reader assumes a role into the
// member account and reads the organization with the caller's
// (management account's) credentials.
func TestLiveSCP(t *testing.T) {
	if testing.Short() {
		t.Skip("an account on the emulator: slow under the race detector; the full suite runs it")
	}
	ms, err := BuiltinMethods()
	if err != nil {
		t.Fatal(err)
	}
	var m *Method
	for _, x := range ms {
		if x.ID == "passrole-lambda-create-invoke" {
			m = x
		}
	}
	for _, tc := range []struct {
		name string
		deny bool
	}{{"no SCP deny", false}, {"SCP denies iam:PassRole", true}} {
		t.Run(tc.name, func(t *testing.T) {
			awstest.Start(t)
			ctx := context.Background()
			base, err := config.LoadDefaultConfig(ctx, config.WithRegion(liveRegion))
			if err != nil {
				t.Fatal(err)
			}
			org := organizations.NewFromConfig(base)
			if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
				t.Fatal(err)
			}
			acc, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("workload"), Email: aws.String("workload@example.org")})
			if err != nil {
				t.Fatal(err)
			}
			member := aws.ToString(acc.CreateAccountStatus.AccountId)
			first := m.Permissions[0].Action
			scp := []statement{{Effect: "Allow", Action: "*", Resource: "*"}}
			if tc.deny {
				scp = append(scp, statement{Effect: "Deny", Action: first, Resource: "*"})
			}
			pol, err := org.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("guardrail"), Description: aws.String("test"),
				Type: orgtypes.PolicyTypeServiceControlPolicy, Content: aws.String(policyDoc(scp))})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := org.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: pol.Policy.PolicySummary.Id, TargetId: aws.String(member)}); err != nil {
				t.Fatal(err)
			}
			roleARN := "arn:aws:iam::" + member + ":role/OrganizationAccountAccessRole"
			cfg := base.Copy()
			cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), roleARN))
			w := worldOf(m, member, "", "")
			w.build(t, ctx, cfg)
			res, notes, errs := awsapi.Authorization(ctx, awsapi.Options{Regions: []string{liveRegion}, MaxAttempts: 2, AssumeRoles: []string{roleARN}})
			if res == nil {
				t.Fatalf("Authorization: %v", errs)
			}
			g := Build(res, ms, Options{})
			if g.Account != member || len(g.SCPLevels) == 0 {
				t.Fatalf("account %s, SCP levels %v (notes %v), want %s with the member's SCPs", g.Account, g.SCPLevels, notes, member)
			}
			if got := reachesAdmin(t, g); got == tc.deny {
				t.Errorf("attacker reaches admin = %v with steps %v, want %v", got, stepsOf(g), !tc.deny)
			}
		})
	}
}
