package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const scanTF = `variable "public" {
  default = true
}
locals {
  prefix = "acme"
}
resource "aws_s3_bucket" "data" {
  count  = 2
  bucket = "${local.prefix}-data-${count.index}"
}
resource "aws_s3_bucket_public_access_block" "data" {
  count                   = 2
  bucket                  = aws_s3_bucket.data[count.index].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
resource "aws_db_instance" "db" {
  identifier          = "orders"
  publicly_accessible = var.public
  storage_encrypted   = true
}
# parapet:ignore PARAPET-EC2-006 legacy AMI without IMDSv2 support, replaced in Q1
resource "aws_instance" "legacy" {
  ami           = "ami-1"
  instance_type = "t3.micro"
}
resource "aws_instance" "careless" {
  # parapet:ignore PARAPET-EC2-006
  ami           = "ami-1"
  instance_type = "t3.micro"
}
module "network" {
  source = "./modules/network"
  open   = true
}
`

const moduleTF = `variable "open" {
  default = false
}
resource "aws_security_group" "web" {
  name = "web"
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = var.open ? ["0.0.0.0/0"] : ["10.0.0.0/8"]
  }
}
`

const cfnStack = `AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Public:
    Type: String
    Default: 'yes'
Conditions:
  MakePublic: !Equals [!Ref Public, 'yes']
  Never: !Equals ['a', 'b']
Resources:
  Site:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub '${AWS::Region}-site'
      AccessControl: !If [MakePublic, PublicRead, Private]
  Ghost:
    Type: AWS::S3::Bucket
    Condition: Never
    Properties:
      AccessControl: PublicRead
  # parapet:ignore PARAPET-KMS-001 an asymmetric signing key cannot rotate
  Key:
    Type: AWS::KMS::Key
    Properties:
      Description: signing
`

func writeScanTree(t *testing.T) string {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "modules", "network"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, body := range map[string]string{"main.tf": scanTF, "modules/network/main.tf": moduleTF, "terraform.tfvars": "public = false\n", "stack.yaml": cfnStack} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestScanIaC(t *testing.T) {
	dir := writeScanTree(t)
	out, errOut, code := run(t, "", "scan", "iac", "--format", "json", dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep scanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, r := range rep.Results {
		status[r.CheckID+" "+r.Resource.Address] = r.Status
		if r.Location.File == "" || r.Location.StartLine == 0 || r.Severity == "" {
			t.Errorf("result without location or severity: %+v", r)
		}
	}
	want := map[string]string{
		"PARAPET-S3-001 aws_s3_bucket.data[0]":                  "pass", // count expanded, split resource joined by reference
		"PARAPET-S3-001 aws_s3_bucket.data[1]":                  "pass",
		"PARAPET-RDS-001 aws_db_instance.db":                    "pass", // terraform.tfvars overrides the default
		"PARAPET-EC2-001 module.network.aws_security_group.web": "fail", // the module's input opens SSH
		"PARAPET-EC2-006 aws_instance.careless":                 "fail", // an ignore without a reason is not honoured
	}
	for k, v := range want {
		if status[k] != v {
			t.Errorf("%s: %q, want %q", k, status[k], v)
		}
	}
	if len(rep.Suppressed) != 2 || rep.Suppressed[0].Resource.Address != "aws_instance.legacy" || !strings.Contains(rep.Suppressed[0].Reason, "legacy AMI") ||
		rep.Suppressed[1].Resource.Address != "Key" || !strings.Contains(rep.Suppressed[1].Reason, "asymmetric") {
		t.Errorf("suppressed: %+v", rep.Suppressed)
	}
	var cis bool
	for _, f := range rep.Frameworks {
		if f.ID == "cis-aws-3.0" && f.Evaluated > 0 && f.Manual > 0 {
			cis = true
		}
	}
	if !cis {
		t.Errorf("no CIS score: %+v", rep.Frameworks)
	}
	// --fail-on: the SSH finding is high.
	if _, _, code := run(t, "", "scan", "iac", "--fail-on", "high", dir); code != ExitFailure {
		t.Errorf("--fail-on high: exit %d", code)
	}
	if _, _, code := run(t, "", "scan", "iac", "--fail-on", "critical", dir); code != ExitOK {
		t.Errorf("--fail-on critical: exit %d", code)
	}
}

// The SARIF validates against the SARIF 2.1.0 schema and carries what
// GitHub code scanning needs.
func TestScanSARIF(t *testing.T) {
	dir := writeScanTree(t)
	out, errOut, code := run(t, "", "scan", "iac", "--format", "sarif", dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	c := jsonschema.NewCompiler()
	sch, err := c.Compile("testdata/sarif/sarif-2.1.0-rtm.5.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("SARIF does not validate: %v", err)
	}
	var s struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID         string
						Properties map[string]any
					}
				}
			}
			Results []struct {
				RuleID              string
				PartialFingerprints map[string]string
				Locations           []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
		}
	}
	_ = json.Unmarshal([]byte(out), &s)
	r := s.Runs[0]
	if len(r.Tool.Driver.Rules) < 30 || r.Tool.Driver.Rules[0].Properties["security-severity"] == nil {
		t.Errorf("rules: %d, first %+v", len(r.Tool.Driver.Rules), r.Tool.Driver.Rules[0])
	}
	found := false
	for _, res := range r.Results {
		l := res.Locations[0].PhysicalLocation
		if res.RuleID == "PARAPET-EC2-001" && l.ArtifactLocation.URI == "modules/network/main.tf" && l.Region.StartLine == 4 && len(res.PartialFingerprints) == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("no SSH result at modules/network/main.tf:4 with a fingerprint:\n%s", out)
	}
}

func TestChecksTest(t *testing.T) {
	out, _, code := run(t, "", "checks", "test")
	if code != ExitOK || !strings.Contains(out, " 0 failed") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	// A check whose fail example passes is caught.
	dir := t.TempDir()
	_ = os.MkdirAll(filepath.Join(dir, "c.examples"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "c.yaml"), []byte("id: X-1\ntitle: t\nseverity: low\nresource: aws_kms_key\ncondition: 'true'\n"), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "c.examples", "pass.tf"), []byte("resource \"aws_kms_key\" \"k\" {\n}\n"), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "c.examples", "fail.tf"), []byte("resource \"aws_kms_key\" \"k\" {\n}\n"), 0o644)
	out, _, code = run(t, "", "checks", "test", dir)
	if code != ExitFailure || !strings.Contains(out, "FAIL X-1") {
		t.Errorf("a check that cannot fail passed its test: exit %d\n%s", code, out)
	}
}
