package terraform

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// The role a function or an instance runs as, for the access graph: by
// reference or literal, an instance's through its instance profile.
func TestRunnerRoles(t *testing.T) {
	dir := t.TempDir()
	src := `
variable "role_arn" {}
resource "aws_iam_role" "fn" {
  name               = "fn-admin"
  assume_role_policy = "{}"
}
resource "aws_lambda_function" "ref" {
  function_name = "ref"
  role          = aws_iam_role.fn.arn
}
resource "aws_lambda_function" "literal" {
  function_name = "literal"
  role          = "arn:aws:iam::111122223333:role/other"
}
resource "aws_lambda_function" "var" {
  function_name = "var"
  role          = var.role_arn
}
resource "aws_iam_instance_profile" "node" {
  name = "node"
  role = aws_iam_role.fn.name
}
resource "aws_instance" "by_ref" {
  iam_instance_profile = aws_iam_instance_profile.node.name
}
resource "aws_instance" "by_name" {
  iam_instance_profile = "node"
}
resource "aws_instance" "elsewhere" {
  iam_instance_profile = "not-in-scan"
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	by, errs := load(t, dir)
	if len(errs) > 0 {
		t.Fatalf("Load: %v", errs)
	}
	for addr, want := range map[string]any{
		"aws_lambda_function.ref":     "fn-admin",
		"aws_lambda_function.literal": "arn:aws:iam::111122223333:role/other",
		"aws_lambda_function.var":     nil,
		"aws_instance.by_ref":         "fn-admin",
		"aws_instance.by_name":        "fn-admin",
		"aws_instance.elsewhere":      nil,
	} {
		r := by[addr]
		if r == nil {
			t.Errorf("%s not loaded", addr)
			continue
		}
		if got := r.Attrs[resource.AttrRole]; got != want {
			t.Errorf("%s role = %v, want %v", addr, got, want)
		}
	}
}
