package terraform

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

func TestLoadPlan(t *testing.T) {
	data, err := os.ReadFile("testdata/plan.json")
	if err != nil {
		t.Fatal(err)
	}
	if !IsPlan(data) {
		t.Fatal("the fixture is not recognised as a plan")
	}
	res, err := LoadPlan("testdata/plan.json", "testdata")
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]*resource.Resource{}
	for _, r := range res {
		by[r.Address] = r
		if r.Source != "terraform-plan" || r.Location.File != "plan.json" || r.Location.StartLine <= 1 {
			t.Errorf("%s: source %q, location %+v", r.Address, r.Source, r.Location)
		}
	}
	b0, b1 := by["aws_s3_bucket.data[0]"], by["aws_s3_bucket.data[1]"]
	if b0 == nil || b1 == nil {
		t.Fatalf("buckets missing: %v", by)
	}
	// The public access block joins data[0] through the configuration's
	// references, not data[1].
	if pab, _ := b0.Get("public_access_block"); pab == nil {
		t.Errorf("data[0] has no public access block: %v", b0.Attrs)
	}
	if pab, _ := b1.Get("public_access_block"); pab != nil {
		t.Errorf("data[1] took data[0]'s block: %v", pab)
	}
	if b0.Name != "acme-data-0" {
		t.Errorf("bucket name %q", b0.Name)
	}
	sg := by["module.network.aws_security_group.web"]
	if sg == nil {
		t.Fatal("the module's security group is missing")
	}
	in, _ := sg.Get("ingress")
	if l, ok := in.([]any); !ok || len(l) != 1 {
		t.Errorf("ingress %v", in)
	}
	db := by["aws_db_instance.orders"]
	if v, _ := db.Get("public"); v != true {
		t.Errorf("db public: %v", v)
	}
	// after_unknown: the public IP is known only after apply.
	if v, _ := by["aws_instance.web"].Get("public_ip"); v != resource.Unknown {
		t.Errorf("public_ip: %v, want unknown", v)
	}
	if line := by["aws_kms_key.signing"].Location.StartLine; line < 2 {
		t.Errorf("kms key line %d", line)
	}
}

func TestLoadPlanErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"notjson.json": "{",
		"version.json": `{"format_version":"9.0","planned_values":{}}`,
		"noplan.json":  `{"format_version":"1.2","resource_changes":[]}`,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadPlan(p, dir); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// dynamic blocks expand per element with their iterator; a for_each that
// is not known statically makes the list unknown, not empty.
func TestDynamicBlocks(t *testing.T) {
	dir := t.TempDir()
	src := `variable "ports" {
  default = { a = 22, b = 80 }
}
resource "aws_security_group" "s" {
  dynamic "ingress" {
    for_each = var.ports
    iterator = p
    content {
      from_port = p.value
      description = p.key
    }
  }
}
resource "aws_security_group" "u" {
  dynamic "ingress" {
    for_each = aws_vpc.v.cidr_block
    content {
      from_port = 1
    }
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	blocks, errs := Load(dir, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	by := map[string]*Block{}
	for _, b := range blocks {
		by[b.Address] = b
	}
	in, _ := by["aws_security_group.s"].Values["ingress"].([]any)
	if len(in) != 2 || in[0].(map[string]any)["description"] != "a" || in[1].(map[string]any)["from_port"] != 80.0 {
		t.Errorf("expanded: %v", by["aws_security_group.s"].Values["ingress"])
	}
	if v := by["aws_security_group.u"].Values["ingress"]; v != resource.Unknown {
		t.Errorf("unknown for_each gave %v", v)
	}
}

// A lifecycle block nested in a resource's block is data, not the
// lifecycle meta-argument.
func TestNestedLifecycle(t *testing.T) {
	dir := t.TempDir()
	src := `resource "aws_backup_plan" "p" {
  name = "daily"
  rule {
    rule_name = "daily"
    lifecycle {
      delete_after = 35
    }
  }
  lifecycle {
    prevent_destroy = true
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	blocks, errs := Load(dir, Options{})
	if len(errs) > 0 || len(blocks) != 1 {
		t.Fatal(blocks, errs)
	}
	v := blocks[0].Values
	if _, ok := v["lifecycle"]; ok {
		t.Errorf("the meta-argument is in the values: %v", v["lifecycle"])
	}
	rule, _ := v["rule"].([]any)
	if len(rule) != 1 {
		t.Fatalf("rule: %v", v["rule"])
	}
	lc, _ := rule[0].(map[string]any)["lifecycle"].([]any)
	if len(lc) != 1 || lc[0].(map[string]any)["delete_after"] != 35.0 {
		t.Errorf("rule.lifecycle: %v", rule[0])
	}
}
