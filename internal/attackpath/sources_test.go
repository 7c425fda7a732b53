package attackpath

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/iac/cloudformation"
)

// CloudFormation feeds the same graph: inline and managed policies by
// Ref, group membership by UserToGroupAddition, a role's trust policy.
func TestCloudFormationSource(t *testing.T) {
	tpl := `AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Builder:
    Type: AWS::IAM::User
    Properties:
      UserName: builder
  Builders:
    Type: AWS::IAM::Group
    Properties:
      GroupName: builders
      Policies:
        - PolicyName: join-ops
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: iam:AddUserToGroup
                Resource: arn:aws:iam::123456789012:group/ops
  Membership:
    Type: AWS::IAM::UserToGroupAddition
    Properties:
      GroupName: !Ref Builders
      Users: [!Ref Builder]
  Ops:
    Type: AWS::IAM::Group
    Properties:
      GroupName: ops
  OpsPolicy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      ManagedPolicyName: ops-all
      Groups: [!Ref Ops]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: "*"
            Resource: "*"
  Deployer:
    Type: AWS::IAM::Role
    Properties:
      RoleName: deployer
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {AWS: "arn:aws:iam::123456789012:user/builder"}
            Action: sts:AssumeRole
      ManagedPolicyArns: [arn:aws:iam::aws:policy/ReadOnlyAccess]
`
	dir := t.TempDir()
	p := filepath.Join(dir, "iam.yaml")
	if err := os.WriteFile(p, []byte(tpl), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := cloudformation.Load(p, dir)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := BuiltinMethods()
	if err != nil {
		t.Fatal(err)
	}
	g := Build(res, ms, Options{})
	if g.Account != "123456789012" || len(g.Problems) > 0 {
		t.Fatalf("account %s, problems %v", g.Account, g.Problems)
	}
	if ops := g.Node("ops"); ops == nil || !ops.Admin {
		t.Fatalf("group ops = %+v, want admin through its managed policy", ops)
	}
	paths, err := g.Shortest("admin")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range paths {
		if p.SourceName == "builder" {
			for _, s := range p.Steps {
				got = append(got, s.Method+" "+s.ToName)
			}
		}
	}
	if want := []string{"iam-add-user-to-group ops"}; !slices.Equal(got, want) {
		t.Errorf("builder's path = %v, want %v", got, want)
	}
	// builder may assume deployer (trust names it), which is not admin.
	to, err := g.Shortest("deployer")
	if err != nil {
		t.Fatal(err)
	}
	if len(to) != 1 || to[0].SourceName != "builder" || to[0].Steps[0].Method != "sts-assume-role" {
		t.Errorf("paths to deployer = %+v", to)
	}
}

// A managed policy the scan does not hold is reported, not guessed.
func TestUnresolvedPolicy(t *testing.T) {
	g := graphOf(t, user("dev", "")+`
resource "aws_iam_user_policy_attachment" "x" {
  user       = aws_iam_user.dev.name
  policy_arn = "arn:aws:iam::111122223333:policy/elsewhere"
}`)
	if len(g.Problems) != 1 || !strings.Contains(g.Problems[0], "policy/elsewhere not in the scan") {
		t.Errorf("Problems = %v", g.Problems)
	}
}

// Every Terraform form of attaching a policy or joining a group reaches
// the principal.
func TestTerraformForms(t *testing.T) {
	adminPolicy := `
resource "aws_iam_policy" "all" {
  name   = "all"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }] })
}
`
	tests := []struct {
		name, tf, principal string
	}{
		{"aws_iam_policy_attachment to a role", adminPolicy + role("r", trustService("ec2.amazonaws.com"), "") + `
resource "aws_iam_policy_attachment" "a" {
  name       = "a"
  roles      = [aws_iam_role.r.name]
  policy_arn = aws_iam_policy.all.arn
}`, "r"},
		{"aws_iam_policy_attachment to a group of the user", adminPolicy + user("u", "") + `
resource "aws_iam_group" "g" {
  name = "g"
}
resource "aws_iam_policy_attachment" "a" {
  name       = "a"
  groups     = [aws_iam_group.g.name]
  policy_arn = aws_iam_policy.all.arn
}
resource "aws_iam_user_group_membership" "m" {
  user   = aws_iam_user.u.name
  groups = [aws_iam_group.g.name]
}`, "u"},
		{"managed_policy_arns on the role", role("r", trustService("ec2.amazonaws.com"), "") + `
resource "aws_iam_role" "m" {
  name                = "m"
  assume_role_policy  = jsonencode({ Version = "2012-10-17", Statement = [` + trustService("ec2.amazonaws.com") + `] })
  managed_policy_arns = ["` + adminARN + `"]
}`, "m"},
		{"inline_policy block on the role", `
resource "aws_iam_role" "i" {
  name               = "i"
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [` + trustService("ec2.amazonaws.com") + `] })
  inline_policy {
    name   = "all"
    policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }] })
  }
}`, "i"},
		{"aws_iam_policy_document data source", user("u", "") + `
data "aws_iam_policy_document" "all" {
  statement {
    actions   = ["*"]
    resources = ["*"]
  }
}
resource "aws_iam_user_policy" "u2" {
  name   = "doc"
  user   = aws_iam_user.u.name
  policy = data.aws_iam_policy_document.all.json
}`, "u"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := graphOf(t, tc.tf)
			n := g.Node(tc.principal)
			if n == nil || !n.Admin {
				t.Errorf("%s = %+v, want an administrator (problems %v)", tc.principal, n, g.Problems)
			}
		})
	}
}

// Terraform policies name roles by reference (aws_iam_role.x.arn, known
// only after apply): with one IAM reference in the document, that is the
// ARN; with two, nothing is guessed.
func TestTerraformReferences(t *testing.T) {
	roles := role("ops", trustService("lambda.amazonaws.com"), adminARN) + role("reader", trustService("lambda.amazonaws.com"), "arn:aws:iam::aws:policy/ReadOnlyAccess")
	lambda := `{ Effect = "Allow", Action = ["lambda:CreateFunction", "lambda:InvokeFunction"], Resource = "*" }`
	tests := []struct {
		name, passRole string
		wantLen        int
	}{
		{"the admin role by reference", `{ Effect = "Allow", Action = "iam:PassRole", Resource = aws_iam_role.ops.arn }`, 1},
		{"the reader role by reference", `{ Effect = "Allow", Action = "iam:PassRole", Resource = aws_iam_role.reader.arn }`, 0},
		{"two references: not guessed", `{ Effect = "Allow", Action = "iam:PassRole", Resource = aws_iam_role.reader.arn }, { Effect = "Allow", Action = "iam:GetRole", Resource = aws_iam_role.ops.arn }`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := graphOf(t, roles+user("ci", "")+`
resource "aws_iam_user_policy" "deploy" {
  name   = "deploy"
  user   = aws_iam_user.ci.name
  policy = jsonencode({ Version = "2012-10-17", Statement = [`+tc.passRole+`, `+lambda+`] })
}`)
			paths, err := g.Shortest("admin")
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for _, p := range paths {
				if p.SourceName == "ci" {
					got = p.Len()
				}
			}
			if got != tc.wantLen {
				t.Errorf("ci's shortest path = %d steps, want %d", got, tc.wantLen)
			}
		})
	}
}
