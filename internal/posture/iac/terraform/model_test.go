package terraform

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

func TestSplitResources(t *testing.T) {
	by, errs := load(t, "testdata/split")
	if len(errs) > 0 {
		t.Fatalf("Load: %v", errs)
	}
	// An Aurora member's encryption is its cluster's, whatever it says.
	if got := attr(by["aws_db_instance.member"], "encrypted"); got != false {
		t.Errorf("member encrypted = %v, want the cluster's false", got)
	}
	if got := attr(by["aws_db_instance.elsewhere"], "encrypted"); got != resource.Unknown {
		t.Errorf("member of a cluster not in the scan: encrypted = %v, want unknown", got)
	}
	// Two split resources naming a bucket the scan does not declare join
	// one bucket of their own, the rest of which is unknown.
	b := by["aws_s3_bucket_public_access_block.shared"]
	if b == nil || b.Type != resource.S3Bucket || b.Name != "acme-shared" {
		t.Fatalf("orphan bucket = %+v", b)
	}
	if pab, _ := attr(b, "public_access_block").(map[string]any); pab["block_public_policy"] != true {
		t.Errorf("public_access_block = %v", attr(b, "public_access_block"))
	}
	if attr(b, "encryption") != resource.Unknown {
		t.Errorf("encryption = %v, want unknown", attr(b, "encryption"))
	}
	if by["aws_s3_bucket_policy.shared"] != nil {
		t.Errorf("the policy made a second bucket")
	}
	sts, _ := attr(b, "policy_statements").([]any)
	if len(sts) != 1 {
		t.Fatalf("policy_statements = %v", attr(b, "policy_statements"))
	}
	st := sts[0].(map[string]any)
	if st["effect"] != "Allow" || len(st["not_actions"].([]any)) != 1 || st["has_condition"] != true {
		t.Errorf("statement from aws_iam_policy_document = %v", st)
	}
}

// TestInstanceAndURLAttrs: a referenced instance profile is set, and CORS
// origins not known statically leave cors_all_origins unknown.
func TestInstanceAndURLAttrs(t *testing.T) {
	dir := t.TempDir()
	src := `
variable "origins" {}
resource "aws_iam_instance_profile" "web" {
  name = "web"
  role = "web"
}
resource "aws_instance" "web" {
  ami                  = "ami-1"
  instance_type        = "t3.micro"
  iam_instance_profile = aws_iam_instance_profile.web.name
  monitoring           = true
}
resource "aws_instance" "bare" {
  ami           = "ami-1"
  instance_type = "t3.micro"
}
resource "aws_instance" "templated" {
  launch_template {
    name = "web"
  }
}
resource "aws_lambda_function_url" "open" {
  function_name      = "open"
  authorization_type = "NONE"
  cors {
    allow_origins = ["https://a.example.com", "*"]
  }
}
resource "aws_lambda_function_url" "var" {
  function_name      = "var"
  authorization_type = "AWS_IAM"
  cors {
    allow_origins = var.origins
  }
}
resource "aws_lambda_function_url" "none" {
  function_name      = "none"
  authorization_type = "AWS_IAM"
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	by, errs := load(t, dir)
	if len(errs) > 0 {
		t.Fatalf("Load: %v", errs)
	}
	for _, tc := range []struct {
		addr, attr string
		want       any
	}{
		{"aws_instance.web", "instance_profile", true},
		{"aws_instance.web", "detailed_monitoring", true},
		{"aws_instance.bare", "instance_profile", false},
		{"aws_instance.bare", "detailed_monitoring", false},
		{"aws_instance.templated", "instance_profile", resource.Unknown},
		{"aws_instance.templated", "detailed_monitoring", resource.Unknown},
		{"aws_lambda_function_url.open", "cors_all_origins", true},
		{"aws_lambda_function_url.var", "cors_all_origins", resource.Unknown},
		{"aws_lambda_function_url.none", "cors_all_origins", false},
	} {
		if got := attr(by[tc.addr], tc.attr); got != tc.want {
			t.Errorf("%s.%s = %v, want %v", tc.addr, tc.attr, got, tc.want)
		}
	}
}
