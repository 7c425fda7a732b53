package attackpath

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/iac/terraform"
)

// graphOf builds the graph of a Terraform configuration written in a
// temporary folder.
func graphOf(t *testing.T, tf string) *Graph {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(tf), 0o600); err != nil {
		t.Fatal(err)
	}
	blocks, errs := terraform.Load(dir, terraform.Options{})
	if len(errs) > 0 {
		t.Fatalf("terraform.Load: %v", errs)
	}
	ms, err := BuiltinMethods()
	if err != nil {
		t.Fatalf("BuiltinMethods: %v", err)
	}
	return Build(terraform.Resources(blocks, dir), ms, Options{})
}

// Fixture pieces: a user with one inline policy, a role with a trust
// policy and an optional managed policy.
func user(name, statements string) string {
	s := `
resource "aws_iam_user" "` + name + `" {
  name = "` + name + `"
}
`
	if statements != "" {
		s += `
resource "aws_iam_user_policy" "` + name + `" {
  name   = "` + name + `-policy"
  user   = aws_iam_user.` + name + `.name
  policy = jsonencode({ Version = "2012-10-17", Statement = [` + statements + `] })
}
`
	}
	return s
}

func role(name, trust, managedARN string) string {
	s := `
resource "aws_iam_role" "` + name + `" {
  name               = "` + name + `"
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [` + trust + `] })
}
`
	if managedARN != "" {
		s += `
resource "aws_iam_role_policy_attachment" "` + name + `" {
  role       = aws_iam_role.` + name + `.name
  policy_arn = "` + managedARN + `"
}
`
	}
	return s
}

const (
	acct     = "111122223333"
	adminARN = "arn:aws:iam::aws:policy/AdministratorAccess"
)

func allow(action, res string) string {
	return `{ Effect = "Allow", Action = "` + action + `", Resource = "` + res + `" }`
}

func deny(action, res string) string {
	return `{ Effect = "Deny", Action = "` + action + `", Resource = "` + res + `" }`
}

func trustService(svc string) string {
	return `{ Effect = "Allow", Principal = { Service = "` + svc + `" }, Action = "sts:AssumeRole" }`
}

func trustAWS(p string) string {
	return `{ Effect = "Allow", Principal = { AWS = "` + p + `" }, Action = "sts:AssumeRole" }`
}

func arn(kind, name string) string { return "arn:aws:iam::" + acct + ":" + kind + "/" + name }

// An account admin so that every fixture names the account.
var adminRole = role("ops-admin", trustService("lambda.amazonaws.com"), adminARN)

func TestMethodFamilies(t *testing.T) {
	tests := []struct {
		name    string
		tf      string
		source  string
		method  string // an edge of this method leaves the source ("" = none may reach admin)
		wantLen int    // shortest path to admin; 0 = none
	}{
		// Policies on oneself.
		{"attach user policy to self", adminRole + user("dev", allow("iam:AttachUserPolicy", arn("user", "dev"))), "dev", "iam-attach-user-policy", 1},
		{"attach user policy: explicit deny", adminRole + user("dev", allow("iam:AttachUserPolicy", "*")+", "+deny("iam:AttachUserPolicy", "*")), "dev", "", 0},
		{"put user policy, NotResource excludes self", adminRole + user("dev", `{ Effect = "Allow", Action = "iam:PutUserPolicy", NotResource = "`+arn("user", "dev")+`" }`), "dev", "", 0},
		{"attach user policy: condition that does not hold", adminRole + user("dev",
			`{ Effect = "Allow", Action = "iam:AttachUserPolicy", Resource = "*", Condition = { StringEquals = { "aws:PrincipalAccount" = "999999999999" } } }`), "dev", "", 0},
		{"put role policy on self", adminRole + role("app", trustService("ec2.amazonaws.com"), "") + `
resource "aws_iam_role_policy" "app" {
  name   = "self-edit"
  role   = aws_iam_role.app.name
  policy = jsonencode({ Version = "2012-10-17", Statement = [` + allow("iam:PutRolePolicy", arn("role", "app")) + `] })
}`, "app", "iam-put-role-policy", 1},
		{"NotAction with iam writes", adminRole + user("dev", `{ Effect = "Allow", NotAction = ["s3:*", "kms:*"], Resource = "*" }`), "dev", "iam-put-user-policy", 1},
		{"create policy version of an attached policy", adminRole + user("dev", "") + `
resource "aws_iam_policy" "tools" {
  name   = "dev-tools"
  policy = jsonencode({ Version = "2012-10-17", Statement = [` + allow("iam:CreatePolicyVersion", "arn:aws:iam::"+acct+":policy/dev-tools") + `] })
}
resource "aws_iam_user_policy_attachment" "tools" {
  user       = aws_iam_user.dev.name
  policy_arn = aws_iam_policy.tools.arn
}`, "dev", "iam-create-policy-version", 1},
		{"create policy version of another policy", adminRole + user("dev", "") + `
resource "aws_iam_policy" "tools" {
  name   = "dev-tools"
  policy = jsonencode({ Version = "2012-10-17", Statement = [` + allow("iam:CreatePolicyVersion", "arn:aws:iam::"+acct+":policy/other") + `] })
}
resource "aws_iam_user_policy_attachment" "tools" {
  user       = aws_iam_user.dev.name
  policy_arn = aws_iam_policy.tools.arn
}`, "dev", "", 0},
		// Groups.
		{"put group policy on own group", adminRole + user("dev", "") + `
resource "aws_iam_group" "devs" {
  name = "devs"
}
resource "aws_iam_group_policy" "devs" {
  name   = "devs-self"
  group  = aws_iam_group.devs.name
  policy = jsonencode({ Version = "2012-10-17", Statement = [` + allow("iam:PutGroupPolicy", arn("group", "devs")) + `] })
}
resource "aws_iam_group_membership" "devs" {
  name  = "devs"
  group = aws_iam_group.devs.name
  users = [aws_iam_user.dev.name]
}`, "dev", "iam-put-group-policy", 1},
		{"add oneself to the admins group", adminRole + user("intern", allow("iam:AddUserToGroup", arn("group", "admins"))) + `
resource "aws_iam_group" "admins" {
  name = "admins"
}
resource "aws_iam_group_policy_attachment" "admins" {
  group      = aws_iam_group.admins.name
  policy_arn = "` + adminARN + `"
}`, "intern", "iam-add-user-to-group", 1},
		// Credentials of others.
		{"create an access key for an admin user", user("helpdesk", allow("iam:CreateAccessKey", arn("user", "deploy"))) + user("deploy", allow("*", "*")), "helpdesk", "iam-create-access-key", 1},
		{"login profile only for a non-admin user", user("helpdesk", allow("iam:CreateLoginProfile", arn("user", "reader"))) + user("reader", allow("s3:GetObject", "*")) + user("deploy", allow("*", "*")), "helpdesk", "", 0},
		// Trust.
		{"assume a role that trusts the account", user("dev", allow("sts:AssumeRole", arn("role", "ops"))) + role("ops", trustAWS("arn:aws:iam::"+acct+":root"), adminARN), "dev", "sts-assume-role", 1},
		{"assume a role that trusts the caller by ARN, no identity policy", user("dev", allow("s3:ListBucket", "*")) + role("ops", trustAWS(arn("user", "dev")), adminARN), "dev", "sts-assume-role", 1},
		{"assume a role that trusts someone else", user("dev", allow("sts:AssumeRole", "*")) + user("alice", "") + role("ops", trustAWS(arn("user", "alice")), adminARN), "dev", "", 0},
		{"assume a role whose trust requires MFA", user("dev", allow("sts:AssumeRole", "*")) + role("ops",
			`{ Effect = "Allow", Principal = { AWS = "arn:aws:iam::`+acct+`:root" }, Action = "sts:AssumeRole", Condition = { Bool = { "aws:MultiFactorAuthPresent" = "true" } } }`, adminARN), "dev", "", 0},
		{"rewrite a trust policy and assume the role", user("dev", allow("iam:UpdateAssumeRolePolicy", arn("role", "ops"))+", "+allow("sts:AssumeRole", arn("role", "ops"))) +
			role("ops", trustService("ec2.amazonaws.com"), adminARN), "dev", "iam-update-assume-role-policy", 1},
		// PassRole.
		{"pass an admin role to Lambda", user("ci", allow("iam:PassRole", arn("role", "ops-admin"))+", "+allow("lambda:CreateFunction", "*")+", "+allow("lambda:InvokeFunction", "*")) + adminRole, "ci", "passrole-lambda-create-invoke", 1},
		{"PassRole restricted to a non-admin role", user("ci", allow("iam:PassRole", arn("role", "reader"))+", "+allow("lambda:CreateFunction", "*")+", "+allow("lambda:InvokeFunction", "*")) + adminRole +
			role("reader", trustService("lambda.amazonaws.com"), "arn:aws:iam::aws:policy/ReadOnlyAccess"), "ci", "", 0},
		{"PassRole only to EC2, Lambda rights", user("ci", `{ Effect = "Allow", Action = "iam:PassRole", Resource = "*", Condition = { StringEquals = { "iam:PassedToService" = "ec2.amazonaws.com" } } }, `+allow("lambda:CreateFunction", "*")+", "+allow("lambda:InvokeFunction", "*")) + adminRole, "ci", "", 0},
		{"pass an admin role to EC2", user("ci", `{ Effect = "Allow", Action = "iam:PassRole", Resource = "*", Condition = { StringEquals = { "iam:PassedToService" = "ec2.amazonaws.com" } } }, `+allow("ec2:RunInstances", "*")) + role("node", trustService("ec2.amazonaws.com"), adminARN), "ci", "passrole-ec2-run-instances", 1},
		{"pass a role to a CloudFormation stack", user("ci", allow("iam:PassRole", arn("role", "cfn"))+", "+allow("cloudformation:CreateStack", "*")) + role("cfn", trustService("cloudformation.amazonaws.com"), adminARN), "ci", "passrole-cloudformation-create-stack", 1},
		{"pass a role to CodeBuild", user("ci", allow("iam:PassRole", "*")+", "+allow("codebuild:CreateProject", "*")+", "+allow("codebuild:StartBuild", "*")) + role("build", trustService("codebuild.amazonaws.com"), adminARN), "ci", "passrole-codebuild-create-start", 1},
		{"pass a role to CodeBuild without StartBuild", user("ci", allow("iam:PassRole", "*")+", "+allow("codebuild:CreateProject", "*")) + role("build", trustService("codebuild.amazonaws.com"), adminARN), "ci", "", 0},
		// Boundaries.
		{"a boundary blocks self-attachment", adminRole + `
resource "aws_iam_policy" "bound" {
  name   = "s3-only"
  policy = jsonencode({ Version = "2012-10-17", Statement = [` + allow("s3:*", "*") + `] })
}
resource "aws_iam_user" "dev" {
  name                 = "dev"
  permissions_boundary = aws_iam_policy.bound.arn
}
resource "aws_iam_user_policy" "dev" {
  name   = "dev-policy"
  user   = aws_iam_user.dev.name
  policy = jsonencode({ Version = "2012-10-17", Statement = [` + allow("iam:AttachUserPolicy", arn("user", "dev")) + `] })
}`, "dev", "", 0},
		{"deleting one's boundary uncaps AdministratorAccess", `
resource "aws_iam_policy" "bound" {
  name   = "bounded"
  policy = jsonencode({ Version = "2012-10-17", Statement = [` + allow("s3:*", "*") + `, ` + allow("iam:DeleteUserPermissionsBoundary", arn("user", "dev")) + `] })
}
resource "aws_iam_user" "dev" {
  name                 = "dev"
  permissions_boundary = aws_iam_policy.bound.arn
}
resource "aws_iam_user_policy_attachment" "dev" {
  user       = aws_iam_user.dev.name
  policy_arn = "` + adminARN + `"
}`, "dev", "iam-delete-user-permissions-boundary", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := graphOf(t, tc.tf)
			src := g.Node(tc.source)
			if src == nil {
				t.Fatalf("no node %s; problems %v", tc.source, g.Problems)
			}
			if src.Admin {
				t.Fatalf("%s is admin already", tc.source)
			}
			var methods []string
			for _, e := range g.Out(g.byID[src.ID]) {
				methods = append(methods, e.Method.ID)
			}
			if tc.method != "" && !slices.Contains(methods, tc.method) {
				t.Errorf("edges from %s = %v, want %s among them (problems %v)", tc.source, methods, tc.method, g.Problems)
			}
			paths, err := g.Shortest("admin")
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for _, p := range paths {
				if p.Source == src.ID {
					got = p.Len()
					if got == 0 {
						t.Fatalf("%s listed as admin", tc.source)
					}
					if !strings.Contains(p.Text(), tc.source+" can ") {
						t.Errorf("Text() = %q, want it to say what %s can do", p.Text(), tc.source)
					}
				}
			}
			if got != tc.wantLen {
				t.Errorf("shortest path of %s = %d steps, want %d (edges %v)", tc.source, got, tc.wantLen, methods)
			}
		})
	}
}

// A two-step path: a user assumes a role that may assume an admin role.
func TestShortestTwoSteps(t *testing.T) {
	tf := user("dev", allow("sts:AssumeRole", arn("role", "hop"))) +
		role("hop", trustAWS("arn:aws:iam::"+acct+":root"), "") + `
resource "aws_iam_role_policy" "hop" {
  name   = "hop-next"
  role   = aws_iam_role.hop.name
  policy = jsonencode({ Version = "2012-10-17", Statement = [` + allow("sts:AssumeRole", arn("role", "top")) + `] })
}` + role("top", trustAWS(arn("role", "hop")), adminARN) +
		// A longer way round, which must not be the one reported.
		user("slow", allow("sts:AssumeRole", arn("role", "hop")))
	g := graphOf(t, tf)
	paths, err := g.Shortest("")
	if err != nil {
		t.Fatal(err)
	}
	var dev *Path
	for i := range paths {
		if paths[i].SourceName == "dev" {
			dev = &paths[i]
		}
	}
	if dev == nil {
		t.Fatalf("no path from dev in %+v", paths)
	}
	var hops []string
	for _, s := range dev.Steps {
		hops = append(hops, s.ToName)
	}
	if want := []string{"hop", "top"}; !slices.Equal(hops, want) {
		t.Errorf("dev's path goes through %v, want %v", hops, want)
	}
	if dev.Steps[1].Grants[0].Policy != "trust policy of top" || dev.Steps[1].Method != "sts-assume-role" {
		t.Errorf("second step = %+v", dev.Steps[1])
	}
	// --to a role: hop reaches top in one step.
	to, err := g.Shortest(arn("role", "top"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range to {
		if p.SourceName == "hop" && p.Len() != 1 {
			t.Errorf("hop to top: %d steps", p.Len())
		}
	}
	// All paths: dev has exactly one (no other way in this account).
	all, err := g.All("", 6, 20)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range all {
		if p.SourceName == "dev" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("All: %d paths from dev, want 1", n)
	}
	if _, err := g.Shortest("arn:aws:s3:::bucket"); err == nil {
		t.Error("Shortest(a bucket) did not fail")
	}
}
