package demo

import (
	"os"
	"path/filepath"
)

// IAMDir is the folder, inside the demo's, of Acme's IAM as Terraform:
// parapet paths reads it for the principals that can become
// administrator; serve --demo watches their paths and scans it.
const IAMDir = "iam"

// acmeIAM is the organization's production IAM. ci-deploy is the
// deliberately vulnerable principal: its policy lets it manage the
// application's policies (ci-*) with iam:CreatePolicyVersion, and its own
// policy is one of them, so it can write itself a new default version
// granting anything: one step to administrator (the policy-version story
// takes it). alice is an administrator already; the others cannot
// escalate.
const acmeIAM = `# Acme's production IAM (the demo's organization; invented).
resource "aws_iam_user" "alice" {
  name = "alice"
}

resource "aws_iam_user_policy_attachment" "alice_admin" {
  user       = aws_iam_user.alice.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}

resource "aws_iam_user" "bob" {
  name = "bob"
}

resource "aws_iam_user_policy" "bob" {
  name = "network-ops"
  user = aws_iam_user.bob.name
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["ec2:Describe*", "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"], Resource = "*" }]
  })
}

resource "aws_iam_role" "ci_deploy" {
  name = "ci-deploy"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Federated = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com" }, Action = "sts:AssumeRoleWithWebIdentity" }]
  })
}

resource "aws_iam_policy" "ci_deploy" {
  name = "ci-deploy"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "Deploy", Effect = "Allow", Action = ["ec2:RunInstances", "ec2:Describe*", "s3:PutObject", "s3:GetObject"], Resource = "*" },
      { Sid = "ManageAppPolicies", Effect = "Allow", Action = ["iam:CreatePolicyVersion", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions"], Resource = "arn:aws:iam::111122223333:policy/ci-*" },
    ]
  })
}

resource "aws_iam_role_policy_attachment" "ci_deploy" {
  role       = aws_iam_role.ci_deploy.name
  policy_arn = aws_iam_policy.ci_deploy.arn
}

resource "aws_iam_role" "ec2_app" {
  name = "ec2-app"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy" "ec2_app" {
  name = "app-data"
  role = aws_iam_role.ec2_app.name
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["s3:GetObject", "s3:ListBucket"], Resource = ["arn:aws:s3:::acme-customer-data", "arn:aws:s3:::acme-customer-data/*"] }]
  })
}
`

// WriteIAM writes Acme's IAM as Terraform into dir/iam and returns that
// folder.
func WriteIAM(dir string) (string, error) {
	d := filepath.Join(dir, IAMDir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", err
	}
	return d, os.WriteFile(filepath.Join(d, "main.tf"), []byte(acmeIAM), 0o644)
}
