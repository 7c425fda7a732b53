package terraform

import (
	"errors"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

func load(t *testing.T, dir string) (map[string]*resource.Resource, []error) {
	t.Helper()
	blocks, errs := Load(dir, Options{})
	by := map[string]*resource.Resource{}
	for _, r := range Resources(blocks, dir) {
		by[r.Address] = r
	}
	return by, errs
}

func attr(r *resource.Resource, k string) any {
	if r == nil {
		return "(no resource)"
	}
	v, _ := r.Get(k)
	return v
}

// TestInstalledModules: modules.json maps each call to its folder; a
// registry module's resources, and those of the local module it calls,
// carry module addresses and the inputs they were given.
func TestInstalledModules(t *testing.T) {
	by, errs := load(t, "testdata/modules/installed")
	if len(errs) > 0 {
		t.Fatalf("Load: %v", errs)
	}
	site := by["module.web.aws_s3_bucket.site"]
	if site == nil || site.Name != "web-site" {
		t.Fatalf("bucket from the installed module: %+v (have %v)", site, keys(by))
	}
	ssh := by["module.web.module.rules.aws_security_group.ssh"]
	if ssh == nil || ssh.Name != "web-ssh" {
		t.Fatalf("group from the nested module: %+v", ssh)
	}
	in, _ := attr(ssh, "ingress").([]any)
	if len(in) != 1 || in[0].(map[string]any)["cidr_blocks"].([]any)[0] != "0.0.0.0/0" {
		t.Errorf("ingress = %v, want the caller's open CIDR", in)
	}
	if site.Location.File != ".terraform/modules/web/main.tf" {
		t.Errorf("location = %+v", site.Location)
	}
}

// TestRegistryModules: public modules without their code are mapped from
// their inputs, with the modules' defaults.
func TestRegistryModules(t *testing.T) {
	by, errs := load(t, "testdata/modules/registry")
	if len(errs) > 0 {
		t.Fatalf("Load: %v", errs)
	}
	b := by["module.logs.aws_s3_bucket.this[0]"]
	if b == nil || b.Name != "acme-logs" {
		t.Fatalf("bucket: %+v (have %v)", b, keys(by))
	}
	pab, _ := attr(b, "public_access_block").(map[string]any)
	if pab["block_public_policy"] != false || pab["block_public_acls"] != true {
		t.Errorf("public_access_block = %v, want the v4 defaults but block_public_policy", pab)
	}
	if attr(b, "versioning") != true {
		t.Errorf("versioning = %v", attr(b, "versioning"))
	}
	if enc, _ := attr(b, "encryption").(map[string]any); enc["algorithm"] != "aws:kms" {
		t.Errorf("encryption = %v", attr(b, "encryption"))
	}
	sts, _ := attr(b, "policy_statements").([]any)
	if len(sts) != 1 || sts[0].(map[string]any)["effect"] != "Deny" {
		t.Errorf("policy_statements = %v, want the deny-insecure-transport statement", sts)
	}
	if b.Location.StartLine != 3 {
		t.Errorf("location = %+v, want the module call's line 3", b.Location)
	}
	if o := b.Origins["acl"]; o.StartLine != 3 {
		t.Errorf("an attribute not given is at the call: %+v", o)
	}

	sg := by["module.web_sg.aws_security_group.this_name_prefix[0]"]
	in, _ := attr(sg, "ingress").([]any)
	if len(in) != 2 {
		t.Fatalf("ingress = %v", in)
	}
	ssh := in[1].(map[string]any)
	if ssh["from_port"] != 22.0 || len(ssh["cidr_blocks"].([]any)) != 2 || ssh["cidr_blocks"].([]any)[1] != "0.0.0.0/0" {
		t.Errorf("ssh rule = %v, want 22 from 10.0.0.0/8 and the internet", ssh)
	}
	eg, _ := attr(sg, "egress").([]any)
	if len(eg) != 0 {
		t.Errorf("egress = %v, want none (egress_rules defaults to none)", eg)
	}

	db := by["module.db.module.db_instance.aws_db_instance.this[0]"]
	if attr(db, "public") != true || attr(db, "encrypted") != true || attr(db, "deletion_protection") != false {
		t.Errorf("db: %v", db)
	}
	vpc := by["module.vpc.aws_vpc.this[0]"]
	if attr(vpc, "flow_logs") != true || attr(vpc, "default_sg_restricts_all") != true {
		t.Errorf("vpc: %v", vpc)
	}
	u := by["module.deployer.aws_iam_user.this[0]"]
	if attr(u, "console_password") != true || attr(u, "access_keys") != 1.0 {
		t.Errorf("user: %v", u)
	}
	if k := by["module.key.aws_kms_key.this[0]"]; attr(k, "rotation") != false {
		t.Errorf("key: %v", k)
	}
	if fu := by["module.fn.aws_lambda_function_url.this[0]"]; attr(fu, "auth_type") != "NONE" {
		t.Errorf("function URL: %v", fu)
	}
	role := by["module.admin.aws_iam_role.this[0]"]
	trust, _ := attr(role, "trust_statements").([]any)
	if len(trust) != 1 {
		t.Errorf("trust = %v", trust)
	}
	for a := range by {
		if strings.HasPrefix(a, "module.disabled.") {
			t.Errorf("a module with count = 0 made %s", a)
		}
	}
	var eks *Block
	blocks, _ := Load("testdata/modules/registry", Options{})
	for _, x := range blocks {
		if x.Type == "aws_eks_cluster" {
			eks = x
		}
	}
	if eks == nil || first(eks.Values["vpc_config"])["endpoint_public_access"] != true || eks.Values["encryption_config"] != nil {
		t.Errorf("eks (v18 defaults: public endpoint, no secrets encryption): %+v", eks)
	}
}

// TestModuleNotScanned: a module that is neither local, installed nor
// mapped, or whose local folder holds no Terraform, is reported with its
// source.
func TestModuleNotScanned(t *testing.T) {
	_, errs := load(t, "testdata/modules/unknown")
	var got []string
	for _, e := range errs {
		var m *ModuleNotScanned
		if !errors.As(e, &m) {
			t.Errorf("unexpected error %v", e)
			continue
		}
		got = append(got, m.Address+" "+m.Source)
	}
	want := []string{"module.network git::https://git.example.com/infra/network.git?ref=v3", "module.alb terraform-aws-modules/alb/aws", "module.gone ./modules/gone"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("notices = %q, want %q", got, want)
	}
}

func keys(m map[string]*resource.Resource) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
