package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// genTree writes a Terraform tree of n resources: 50 modules, each with
// variables, locals, buckets with their split resources, security groups,
// instances and databases.
func genTree(tb testing.TB, n int) string {
	dir := tb.TempDir()
	per := n / 50
	for m := range 50 {
		d := filepath.Join(dir, fmt.Sprintf("svc-%02d", m))
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "variable \"env\" {\n  default = \"prod\"\n}\nlocals {\n  prefix = \"acme-${var.env}-%02d\"\n}\n", m)
		for i := 0; i < per; i += 5 {
			fmt.Fprintf(&b, `resource "aws_s3_bucket" "b%[1]d" {
  bucket = "${local.prefix}-b%[1]d"
}
resource "aws_s3_bucket_public_access_block" "b%[1]d" {
  bucket                  = aws_s3_bucket.b%[1]d.id
  block_public_acls       = true
  block_public_policy     = %[2]v
  ignore_public_acls      = true
  restrict_public_buckets = true
}
resource "aws_security_group" "s%[1]d" {
  name = "s%[1]d"
  ingress {
    from_port   = %[3]d
    to_port     = %[3]d
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
resource "aws_instance" "i%[1]d" {
  ami           = "ami-1"
  instance_type = "t3.micro"
  metadata_options {
    http_tokens = "required"
  }
}
resource "aws_db_instance" "d%[1]d" {
  identifier        = "${local.prefix}-d%[1]d"
  storage_encrypted = true
}
`, i, i%7 != 0, []int{443, 22, 80}[i%3])
		}
		if err := os.WriteFile(filepath.Join(d, "main.tf"), []byte(b.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// BenchmarkScan5000: parapet scan iac on a generated tree of 5,000
// resources, end to end (load checks, read and evaluate the HCL, join,
// check, score frameworks, write JSON to a file, as `> report.json` does).
func BenchmarkScan5000(b *testing.B) {
	dir := genTree(b, 5000)
	outPath := filepath.Join(b.TempDir(), "report.json")
	for b.Loop() {
		out, err := os.Create(outPath)
		if err != nil {
			b.Fatal(err)
		}
		var errb bytes.Buffer
		cmd := New(IO{In: strings.NewReader(""), Out: out, Err: &errb})
		cmd.SetArgs([]string{"scan", "iac", "--format", "json", dir})
		code := Exit(&errb, cmd.ExecuteContext(context.Background()))
		info, _ := out.Stat()
		out.Close()
		// 5,000 Terraform resources; the 1,000 public access blocks join
		// their buckets in the model.
		if code != ExitOK || !strings.Contains(errb.String(), "4000 resources") || info.Size() == 0 {
			b.Fatalf("exit %d: %s", code, errb.String())
		}
	}
}
