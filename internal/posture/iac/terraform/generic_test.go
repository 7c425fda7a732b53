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
	dir := t.TempDir()
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
