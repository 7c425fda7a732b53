package terraform

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// TestGeneric: a type mapped by content/resources is mapped with each
// attribute's origin (the attribute's line, else its block's), unknown
// values kept unknown, and joins applied.
func TestGeneric(t *testing.T) {
	src := `resource "aws_sqs_queue" "q" {
  name = "orders"

  kms_master_key_id = aws_kms_key.k.arn
}

resource "aws_sqs_queue_policy" "p" {
  queue_url = aws_sqs_queue.q.id
  policy    = jsonencode({Statement = [{Effect = "Allow", Principal = "*", Action = "sqs:SendMessage", Resource = aws_sqs_queue.q.arn}]})
}

resource "aws_lambda_function" "f" {
  function_name = "f"
  runtime       = var.runtime
  tracing_config {
    mode = "Active"
  }
}

variable "runtime" {}
`
	by := resourcesByType(t, src)
	q, f := by["aws_sqs_queue"], by["aws_lambda_function"]
	if q == nil || f == nil {
		t.Fatalf("Resources() = %v, want a queue and a function", by)
	}
	tests := []struct {
		name string
		r    *resource.Resource
		attr string
		want any
		line int
	}{
		{"present reference", q, "kms_key", true, 4},
		{"joined policy", q, "policy_public", true, 9},
		{"unknown variable", f, "runtime", resource.Unknown, 14},
		{"nested block", f, "tracing_active", true, 16},
		{"absent", f, "in_vpc", false, 12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.Attrs[tc.attr]; got != tc.want {
				t.Errorf("%s = %v, want %v", tc.attr, got, tc.want)
			}
			if got := tc.r.Origins[tc.attr].StartLine; got != tc.line {
				t.Errorf("origin of %s = line %d, want %d", tc.attr, got, tc.line)
			}
		})
	}
}

// TestExtend: content/resources adds attributes to a type mapped by hand
// (a KMS key's policy, a detector's protection plans), joins may apply
// only when their When holds, and what is not set stays unknown.
func TestExtend(t *testing.T) {
	src := `resource "aws_kms_key" "k" {
  description         = "app"
  enable_key_rotation = true
  policy              = jsonencode({Statement = [{Effect = "Allow", Principal = "*", Action = "kms:Decrypt", Resource = "*"}]})
}

resource "aws_guardduty_detector" "d" {
  enable = true
}

resource "aws_guardduty_detector_feature" "s3" {
  detector_id = aws_guardduty_detector.d.id
  name        = "S3_DATA_EVENTS"
  status      = "DISABLED"
}

resource "aws_guardduty_detector_feature" "eks" {
  detector_id = aws_guardduty_detector.d.id
  name        = "EKS_AUDIT_LOGS"
  status      = "ENABLED"
}
`
	by := resourcesByType(t, src)
	k, d := by["aws_kms_key"], by["aws_guardduty_detector"]
	if k == nil || d == nil {
		t.Fatalf("Resources() = %v, want a key and a detector", by)
	}
	tests := []struct {
		r    *resource.Resource
		attr string
		want any
	}{
		{k, "rotation", true}, // by hand
		{k, "policy_public", true},
		{d, "enabled", true},
		{d, "s3_protection", false},
		{d, "eks_audit_logs", true},
		{d, "malware_protection", resource.Unknown},
	}
	for _, tc := range tests {
		if got := tc.r.Attrs[tc.attr]; got != tc.want {
			t.Errorf("%s.%s = %v, want %v", tc.r.Type, tc.attr, got, tc.want)
		}
	}
}

// resourcesByType loads src as a module's main.tf and returns its
// resources by type (the last of each).
func resourcesByType(t *testing.T, src string) map[string]*resource.Resource {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	blocks, errs := Load(dir, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	by := map[string]*resource.Resource{}
	for _, r := range Resources(blocks, dir) {
		by[r.Type] = r
	}
	return by
}
