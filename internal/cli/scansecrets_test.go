package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Fake secrets in the shapes of real ones (none is live).
const (
	tKeyID    = "AKIAUJZDEGXDNCF32EPF"
	tSecret   = "2hpChYgCfrL1spNxnyVmihA+2O76UMFxFkM+R5Kj"
	tGitHub   = "ghp_hGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8rES"
	tSlack    = "xoxb-28907866661-760313721590-gaKjIg8xNbe3nNyjOq9wMxEh"
	tStripe   = "sk_live_h2FDEEtfjgVvVqE1SkHbn88H"
	tGoogle   = "AIzaUsdMlHUvTCQCyEZDz-TddJ8HyS5SUkCnD8z"
	tPassword = "RA9a9SkpXz9w3QlY7Zkuvqdt"
	tPEMBody  = "MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAKci3arCk3Bjh0Vm"
)

var secretsTF = `provider "aws" {
  region     = "us-east-1"
  access_key = "` + tKeyID + `"
  secret_key = "` + tSecret + `"
}
resource "aws_lambda_function" "f" {
  function_name = "f"
  role          = "arn:aws:iam::123456789012:role/f"
  environment {
    variables = {
      GITHUB_TOKEN = "` + tGitHub + `"
      DB_PASSWORD  = var.db_password
      RESOLVED     = "{{resolve:secretsmanager:db:SecretString:password}}"
    }
  }
}
resource "aws_instance" "web" {
  ami       = "ami-1"
  user_data = <<EOF
#!/bin/bash
echo ${var.region}
export STRIPE_KEY=` + tStripe + `
EOF
  tags = {
    git_commit = "d68d2897add9bc2203a5ed0632a5cdd8ff8cefb0"
    note       = "password123"
  }
}
resource "aws_ecs_task_definition" "t" {
  family = "t"
  container_definitions = jsonencode([{
    name        = "app"
    image       = "app:1"
    environment = [{ name = "SLACK_TOKEN", value = "` + tSlack + `" }]
  }])
}
resource "aws_ssm_parameter" "p" {
  name  = "/prod/db/password"
  type  = "String"
  value = "` + tPassword + `"
}
# parapet:ignore PARAPET-SECRET-007 a browser key restricted to our referrers
resource "aws_ssm_parameter" "maps" {
  name  = "/web/maps"
  type  = "String"
  value = "` + tGoogle + `"
}
resource "aws_db_instance" "db" {
  identifier = "db"
  password   = "changeme-changeme-changeme"
}
module "m" {
  source = "./m"
}
`

var secretsModuleTF = `resource "aws_iam_server_certificate" "c" {
  name             = "c"
  certificate_body = "x"
  private_key      = "-----BEGIN RSA PRIVATE KEY-----\n` + tPEMBody + `\n` + tPEMBody + `\n-----END RSA PRIVATE KEY-----\n"
}
`

var secretsCFN = `AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  DBPassword:
    Type: String
    NoEcho: true
Resources:
  Web:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-12345678
      UserData:
        Fn::Base64: !Sub |
          #!/bin/bash
          echo ${AWS::Region}
          export AWS_ACCESS_KEY_ID=` + tKeyID + `
          export AWS_SECRET_ACCESS_KEY=` + tSecret + `
  Db:
    Type: AWS::RDS::DBInstance
    Properties:
      MasterUserPassword: !Ref DBPassword
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: app
          Environment:
            - Name: API_KEY
              Value: ` + tPassword + `
            - Name: DB_PASSWORD
              Value: '{{resolve:secretsmanager:db:SecretString:password}}'
`

func writeSecretsTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range map[string]string{"main.tf": secretsTF, "m/main.tf": secretsModuleTF, "stack.cfn.yaml": secretsCFN} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestScanSecrets: each secret in each form is one failure of its kind's
// check at the secret's line, with its redacted form; references,
// dynamic references, placeholders and hashes are none; a secret in a
// called module is reported once.
func TestScanSecrets(t *testing.T) {
	dir := writeSecretsTree(t)
	out, errOut, code := run(t, "", "scan", "iac", "--format", "json", "--fail-on", "critical", dir)
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d (critical secrets): %s", code, ExitFailure, errOut)
	}
	var rep scanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rep.Results {
		if strings.HasPrefix(r.CheckID, "PARAPET-SECRET-") {
			got = append(got, r.CheckID+" "+r.Status+" "+r.Location.File+":"+strconv.Itoa(r.Location.StartLine)+" "+r.Reason)
		}
	}
	for _, r := range rep.Suppressed {
		got = append(got, r.CheckID+" suppressed "+r.Location.File+":"+strconv.Itoa(r.Location.StartLine)+" "+r.Reason)
	}
	sort.Strings(got)
	want := []string{
		"PARAPET-SECRET-001 fail main.tf:3 AWS access key AKIA…2EPF in access_key (with its secret access key in secret_key on line 4)",
		"PARAPET-SECRET-001 fail stack.cfn.yaml:15 AWS access key AKIA…2EPF in UserData (with its secret access key beside it)",
		"PARAPET-SECRET-003 fail main.tf:11 GitHub token ghp_… (40 chars) in environment.variables.GITHUB_TOKEN",
		"PARAPET-SECRET-004 fail main.tf:34 Slack token xoxb-… (54 chars) in container_definitions[0].environment[0]",
		"PARAPET-SECRET-005 fail main.tf:22 Stripe live secret key sk_live_… (32 chars) in user_data",
		"PARAPET-SECRET-006 fail m/main.tf:4 private key -----BEGIN RSA PRIVATE KEY----- in private_key",
		"PARAPET-SECRET-007 suppressed main.tf:46 a browser key restricted to our referrers",
		"PARAPET-SECRET-008 fail main.tf:40 high-entropy secret (24 chars) in value (entropy 4.3 bits per character)",
		"PARAPET-SECRET-008 fail stack.cfn.yaml:28 high-entropy secret (24 chars) in ContainerDefinitions[0].Environment[0] (entropy 4.3 bits per character)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("secret results:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestScanSecretsRedacted: no output format, nor the log, shows a secret.
func TestScanSecretsRedacted(t *testing.T) {
	dir := writeSecretsTree(t)
	raws := []string{tKeyID, tSecret, tGitHub, tSlack, tStripe, tGoogle, tPassword, tPEMBody,
		tKeyID[4:16], tSecret[8:], tGitHub[4:], tSlack[5:], tStripe[8:], tGoogle[4:], tPassword[4:]}
	for _, format := range []string{"table", "json", "sarif", "ocsf", "html"} {
		t.Run(format, func(t *testing.T) {
			out, errOut, code := run(t, "", "scan", "iac", "--format", format, dir)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if !strings.Contains(out, "PARAPET-SECRET-001") {
				t.Errorf("%s output names no secret check", format)
			}
			for _, raw := range raws {
				if strings.Contains(out, raw) || strings.Contains(errOut, raw) {
					t.Errorf("%s output shows a secret (%d chars starting %q)", format, len(raw), raw[:3])
				}
			}
		})
	}
}

// TestScanSecretsPlan: a plan's configuration is read for literals, not
// its planned values; the secret is redacted in the output.
func TestScanSecretsPlan(t *testing.T) {
	dir := t.TempDir()
	plan := `{"format_version": "1.2", "terraform_version": "1.9.0",
"planned_values": {"root_module": {"resources": [{"address": "aws_db_instance.db", "mode": "managed", "type": "aws_db_instance", "name": "db",
  "values": {"password": "` + tPassword + `"}}]}},
"configuration": {
  "provider_config": {"aws": {"name": "aws", "expressions": {
    "access_key": {"constant_value": "` + tKeyID + `"}, "secret_key": {"constant_value": "` + tSecret + `"}}}},
  "root_module": {"resources": [{"address": "aws_db_instance.db", "mode": "managed", "type": "aws_db_instance", "name": "db",
    "expressions": {"password": {"references": ["data.aws_ssm_parameter.db.value"]}}}]}
}}`
	if err := os.WriteFile(filepath.Join(dir, "plan.json"), []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "scan", "iac", "--format", "json", dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep scanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rep.Results {
		if strings.HasPrefix(r.CheckID, "PARAPET-SECRET-") {
			got = append(got, r.CheckID+" "+r.Location.File+":"+strconv.Itoa(r.Location.StartLine)+" "+r.Resource.Address)
		}
	}
	if want := "PARAPET-SECRET-001 plan.json:5 provider.aws"; strings.Join(got, "; ") != want {
		t.Errorf("secret results = %q, want %q", got, want)
	}
	for _, raw := range []string{tKeyID, tSecret, tPassword} {
		if strings.Contains(out, raw) || strings.Contains(errOut, raw) {
			t.Errorf("output shows a secret (%d chars)", len(raw))
		}
	}
}
