package terraform

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// ModuleNotScanned is a module call Parapet could not expand: its source is
// neither a local folder, nor installed under .terraform/modules (after
// `terraform init`), nor one of the public modules whose inputs Parapet
// maps. The resources it makes are not in the scan; Load reports it among
// its errors so that a scan can say so.
type ModuleNotScanned struct {
	Address string // module.x (with its callers' prefixes)
	Source  string
	File    string
	Line    int
}

func (e *ModuleNotScanned) Error() string {
	return fmt.Sprintf("%s:%d: module not scanned: %s (source %q)", e.File, e.Line, e.Address, e.Source)
}

// installedModules reads .terraform/modules/modules.json under root: the
// folder `terraform init` put each module call in, by key (the call names
// from the root, joined by dots: "vpc", "eks.node_group"), as absolute
// paths. None when the file is absent.
func installedModules(root string) map[string]string {
	data, err := os.ReadFile(filepath.Join(root, ".terraform", "modules", "modules.json"))
	if err != nil {
		return nil
	}
	var manifest struct {
		Modules []struct{ Key, Source, Dir string }
	}
	if json.Unmarshal(data, &manifest) != nil {
		return nil
	}
	out := map[string]string{}
	for _, m := range manifest.Modules {
		if m.Key == "" || m.Dir == "" {
			continue
		}
		dir := m.Dir
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(root, dir)
		}
		out[m.Key] = dir
	}
	return out
}

// moduleKey is the manifest key of a call named name under prefix
// (module.a.module.b. → "a.b.name").
func moduleKey(prefix, name string) string {
	var parts []string
	for _, p := range strings.Split(strings.TrimSuffix(prefix, "."), ".") {
		if p != "" && p != "module" {
			parts = append(parts, indexRe.ReplaceAllString(p, ""))
		}
	}
	return strings.Join(append(parts, name), ".")
}

var (
	registryRe = regexp.MustCompile(`^(?:registry\.terraform\.io/)?terraform-aws-modules/([a-z0-9-]+)/aws(?://modules/([a-z0-9-]+))?$`)
	githubRe   = regexp.MustCompile(`^(?:git::)?(?:https://|ssh://git@|git@)?github\.com[/:]terraform-aws-modules/terraform-aws-([a-z0-9-]+?)(?:\.git)?(?://modules/([a-z0-9-]+))?(?:\?ref=v?([0-9][^&]*))?$`)
	versionRe  = regexp.MustCompile(`^\s*(=|~>|>=|>|<=|<|!=)?\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?`)
)

// call is a module call being mapped from its inputs.
type call struct {
	module  string // module.x. with the callers' prefixes
	in      map[string]any
	ranges  map[string]hcl.Range
	rng     hcl.Range
	ignores map[string]string
	major   int // of the version asked for; -1 for the latest
	minor   int
}

func (c *call) get(input string, def any) any {
	if v, ok := c.in[input]; ok && v != nil {
		return v
	}
	return def
}

// block is a resource the module would make: module.x.TYPE.NAME[0].
func (c *call) block(typ, name string) *Block {
	return &Block{Type: typ, Name: name, Module: c.module, Address: c.module + typ + "." + name + "[0]", Values: map[string]any{},
		Range: c.rng, AttrRanges: map[string]hcl.Range{}, Refs: map[string][]string{}, Ignores: c.ignores}
}

// put sets a resource attribute from an input, located at the input.
func (c *call) put(b *Block, attr, input string, def any) {
	b.Values[attr] = c.get(input, def)
	if r, ok := c.ranges[input]; ok {
		b.AttrRanges[attr] = r
	}
}

// since says whether the version asked for is at least major.minor; a
// call that asks for none gets the latest release.
func (c *call) since(major, minor int) bool {
	return c.major < 0 || c.major > major || c.major == major && c.minor >= minor
}

// registryModule maps a call of a public terraform-aws-modules module
// whose code is not installed to the resources the module makes from its
// inputs, with the module's documented defaults (those that changed
// between major versions follow the version asked for). It reports false
// for a source it does not know.
func registryModule(source, version string, c *call) ([]*Block, bool) {
	name, sub := "", ""
	if m := registryRe.FindStringSubmatch(source); m != nil {
		name, sub = m[1], m[2]
	} else if m := githubRe.FindStringSubmatch(source); m != nil {
		name, sub = m[1], m[2]
		if m[3] != "" {
			version = m[3]
		}
	} else {
		return nil, false
	}
	c.major, c.minor = -1, 0
	if m := versionRe.FindStringSubmatch(version); m != nil {
		c.major, _ = strconv.Atoi(m[2])
		c.minor, _ = strconv.Atoi(m[3])
		switch {
		case m[1] == ">=" || m[1] == ">" || m[1] == "!=":
			c.major = -1 // the latest release
		case m[1] == "~>" && m[4] == "":
			c.minor = 1 << 20 // ~> 3.0: the latest 3.x
		}
	}
	switch {
	case name == "s3-bucket" && sub == "":
		return s3BucketModule(c), true
	case name == "security-group":
		return securityGroupModule(c, sub)
	case name == "vpc" && sub == "":
		return vpcModule(c), true
	case name == "rds" && sub == "":
		return rdsModule(c), true
	case name == "rds-aurora" && sub == "":
		return auroraModule(c), true
	case name == "iam" && sub == "iam-user":
		return iamUserModule(c), true
	case name == "iam" && sub == "iam-assumable-role":
		return iamRoleModule(c), true
	case name == "iam" && sub == "iam-policy":
		return iamPolicyModule(c), true
	case name == "eks" && sub == "":
		return eksModule(c), true
	case name == "lambda" && sub == "":
		return lambdaModule(c), true
	case name == "kms" && sub == "":
		return kmsModule(c), true
	}
	return nil, false
}

func s3BucketModule(c *call) []*Block {
	if !truthy(c.get("create_bucket", true)) {
		return nil
	}
	b := c.block("aws_s3_bucket", "this")
	c.put(b, "bucket", "bucket", nil)
	c.put(b, "acl", "acl", nil)
	if v := first(c.get("versioning", nil)); len(v) > 0 {
		on := truthy(v["enabled"]) || truthy(v["status"]) || str(v["status"]) == "Enabled"
		if _, ok := v["enabled"]; !ok && v["status"] == nil {
			on = true // a versioning map without enabled or status: the module turns it on
		}
		b.Values["versioning"] = []any{map[string]any{"enabled": on, "mfa_delete": truthy(v["mfa_delete"]) || str(v["mfa_delete"]) == "Enabled"}}
		b.AttrRanges["versioning"] = c.ranges["versioning"]
	}
	if l := first(c.get("logging", nil)); len(l) > 0 {
		b.Values["logging"] = []any{l}
	}
	if e := first(c.get("server_side_encryption_configuration", nil)); len(e) > 0 {
		c.put(b, "server_side_encryption_configuration", "server_side_encryption_configuration", nil)
		b.AttrRanges["server_side_encryption_configuration.rule.apply_server_side_encryption_by_default.sse_algorithm"] = c.ranges["server_side_encryption_configuration"]
	}
	c.put(b, "object_lock_enabled", "object_lock_enabled", false)
	if o := first(c.get("object_lock_configuration", nil)); len(o) > 0 {
		b.Values["object_lock_configuration"] = []any{o}
	}
	// The module's policy: the one given (attach_policy) and the
	// statements its attach_* switches add.
	var sts []any
	policyKnown := true
	if truthy(c.get("attach_policy", false)) {
		doc := policyDoc(c.get("policy", nil))
		if doc == resource.Unknown {
			policyKnown = false
		}
		if dm, ok := doc.(map[string]any); ok {
			switch x := dm["Statement"].(type) {
			case []any:
				sts = append(sts, x...)
			case map[string]any:
				sts = append(sts, x)
			}
		}
	}
	if truthy(c.get("attach_deny_insecure_transport_policy", false)) {
		sts = append(sts, map[string]any{"Sid": "denyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
			"Resource": []any{resource.Unknown, resource.Unknown + "/*"}, "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}})
	}
	if !policyKnown {
		b.Values["policy"] = resource.Unknown
	} else if len(sts) > 0 {
		doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": sts})
		b.Values["policy"] = string(doc)
	}
	if r, ok := c.ranges["policy"]; ok {
		b.AttrRanges["policy"] = r
	}
	out := []*Block{b}
	if truthy(c.get("attach_public_policy", true)) {
		// Since 3.9.0 (April 2023) the module blocks public access by
		// default; before, it did not.
		def := c.since(3, 9)
		p := c.block("aws_s3_bucket_public_access_block", "this")
		for _, k := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
			c.put(p, k, k, def)
		}
		p.Refs["bucket"] = []string{"aws_s3_bucket.this"}
		out = append(out, p)
	}
	return out
}

// sgRules are the security-group module's named rules: from port, to
// port, protocol.
var sgNamedRules = map[string][3]any{
	"all-all": {-1.0, -1.0, "-1"}, "all-tcp": {0.0, 65535.0, "tcp"}, "all-udp": {0.0, 65535.0, "udp"}, "all-icmp": {-1.0, -1.0, "icmp"}, "all-ipv6-icmp": {-1.0, -1.0, "58"},
	"ssh-tcp": {22.0, 22.0, "tcp"}, "rdp-tcp": {3389.0, 3389.0, "tcp"}, "rdp-udp": {3389.0, 3389.0, "udp"},
	"http-80-tcp": {80.0, 80.0, "tcp"}, "http-8080-tcp": {8080.0, 8080.0, "tcp"}, "https-443-tcp": {443.0, 443.0, "tcp"}, "https-8443-tcp": {8443.0, 8443.0, "tcp"},
	"mysql-tcp": {3306.0, 3306.0, "tcp"}, "postgresql-tcp": {5432.0, 5432.0, "tcp"}, "oracle-db-tcp": {1521.0, 1521.0, "tcp"}, "redshift-tcp": {5439.0, 5439.0, "tcp"},
	"mssql-tcp": {1433.0, 1433.0, "tcp"}, "mssql-udp": {1434.0, 1434.0, "udp"}, "mssql-analytics-tcp": {2383.0, 2383.0, "tcp"}, "mssql-broker-tcp": {4022.0, 4022.0, "tcp"},
	"redis-tcp": {6379.0, 6379.0, "tcp"}, "memcached-tcp": {11211.0, 11211.0, "tcp"},
	"mongodb-27017-tcp": {27017.0, 27017.0, "tcp"}, "mongodb-27018-tcp": {27018.0, 27018.0, "tcp"}, "mongodb-27019-tcp": {27019.0, 27019.0, "tcp"},
	"elasticsearch-rest-tcp": {9200.0, 9200.0, "tcp"}, "elasticsearch-java-tcp": {9300.0, 9300.0, "tcp"},
	"winrm-http-tcp": {5985.0, 5985.0, "tcp"}, "winrm-https-tcp": {5986.0, 5986.0, "tcp"},
	"dns-udp": {53.0, 53.0, "udp"}, "dns-tcp": {53.0, 53.0, "tcp"}, "ntp-udp": {123.0, 123.0, "udp"},
	"smtp-tcp": {25.0, 25.0, "tcp"}, "smtps-465-tcp": {465.0, 465.0, "tcp"}, "smtp-submission-587-tcp": {587.0, 587.0, "tcp"},
	"ldap-tcp": {389.0, 389.0, "tcp"}, "ldaps-tcp": {636.0, 636.0, "tcp"}, "nfs-tcp": {2049.0, 2049.0, "tcp"},
	"kafka-broker-tcp": {9092.0, 9092.0, "tcp"}, "zookeeper-2181-tcp": {2181.0, 2181.0, "tcp"}, "cassandra-clients-tcp": {9042.0, 9042.0, "tcp"},
	"docker-swarm-mngmt-tcp": {2377.0, 2377.0, "tcp"}, "prometheus-http-tcp": {9090.0, 9090.0, "tcp"}, "grafana-tcp": {3000.0, 3000.0, "tcp"},
	"openvpn-udp": {1194.0, 1194.0, "udp"}, "ipsec-500-udp": {500.0, 500.0, "udp"}, "ipsec-4500-udp": {4500.0, 4500.0, "udp"},
	"splunk-indexer-tcp": {9997.0, 9997.0, "tcp"}, "vault-tcp": {8200.0, 8200.0, "tcp"}, "consul-tcp": {8300.0, 8300.0, "tcp"},
}

// csv reads the module's comma-separated CIDR strings ("10.0.0.0/8,1.2.3.4/32").
func csv(v any) []any {
	out := []any{}
	switch x := v.(type) {
	case string:
		for _, s := range strings.Split(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	case []any:
		return x
	}
	return out
}

// sgModuleRules turns the module's rule inputs for one direction into
// inline rules: named rules for every CIDR block, and the
// *_with_cidr_blocks / *_with_ipv6_cidr_blocks maps.
func sgModuleRules(c *call, dir string, autoRules []any, defV4 []any) ([]any, bool) {
	known := true
	v4 := list(c.get(dir+"_cidr_blocks", defV4))
	v6 := list(c.get(dir+"_ipv6_cidr_blocks", []any{}))
	named := func(n string) (map[string]any, bool) {
		r, ok := sgNamedRules[n]
		if !ok {
			return nil, false
		}
		return map[string]any{"from_port": r[0], "to_port": r[1], "protocol": r[2]}, true
	}
	var out []any
	rules := append(append([]any{}, autoRules...), list(c.get(dir+"_rules", []any{}))...)
	if c.get(dir+"_rules", nil) == resource.Unknown {
		known = false
	}
	for _, n := range rules {
		r, ok := named(str(n))
		if !ok {
			known = known && str(n) == ""
			continue
		}
		r["cidr_blocks"], r["ipv6_cidr_blocks"] = v4, v6
		out = append(out, r)
	}
	for _, kind := range []string{"cidr_blocks", "ipv6_cidr_blocks"} {
		in := c.get(dir+"_with_"+kind, []any{})
		if in == resource.Unknown {
			known = false
		}
		for _, e := range list(in) {
			em, _ := e.(map[string]any)
			if em == nil {
				continue
			}
			r := map[string]any{"from_port": em["from_port"], "to_port": em["to_port"], "protocol": em["protocol"], "cidr_blocks": []any{}, "ipv6_cidr_blocks": []any{}}
			if n := str(em["rule"]); n != "" {
				nr, ok := named(n)
				if !ok {
					known = false
					continue
				}
				for k, v := range nr {
					r[k] = v
				}
			}
			def := v4
			if kind == "ipv6_cidr_blocks" {
				def = v6
			}
			if x, ok := em[kind]; ok {
				r[kind] = csv(x)
			} else {
				r[kind] = def
			}
			out = append(out, r)
		}
	}
	return out, known
}

func securityGroupModule(c *call, sub string) ([]*Block, bool) {
	if !truthy(c.get("create", true)) || !truthy(c.get("create_sg", true)) {
		return nil, true
	}
	var autoIn, autoEg []any
	egV4 := []any{"0.0.0.0/0"}
	if sub != "" {
		// The per-service submodules (//modules/ssh, //modules/mysql, …)
		// open their service's named rules and all egress.
		var names []string
		for n := range sgNamedRules {
			if strings.HasPrefix(n, sub+"-") && n != "all-all" || sub == "all" && n == "all-all" {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			return nil, false
		}
		sort.Strings(names)
		for _, n := range names {
			autoIn = append(autoIn, n)
		}
		autoEg = []any{"all-all"}
	}
	b := c.block("aws_security_group", "this_name_prefix")
	if !truthy(c.get("use_name_prefix", true)) {
		b = c.block("aws_security_group", "this")
	}
	c.put(b, "name", "name", nil)
	c.put(b, "description", "description", "Security Group managed by Terraform")
	in, ok1 := sgModuleRules(c, "ingress", autoIn, []any{})
	eg, ok2 := sgModuleRules(c, "egress", autoEg, egV4)
	if ok1 {
		b.Values["ingress"] = in
	} else {
		b.Values["ingress"] = resource.Unknown
	}
	if ok2 {
		b.Values["egress"] = eg
	} else {
		b.Values["egress"] = resource.Unknown
	}
	return []*Block{b}, true
}

func vpcModule(c *call) []*Block {
	if !truthy(c.get("create_vpc", true)) {
		return nil
	}
	v := c.block("aws_vpc", "this")
	c.put(v, "cidr_block", "cidr", "10.0.0.0/16")
	out := []*Block{v}
	if truthy(c.get("enable_flow_log", false)) {
		f := c.block("aws_flow_log", "this")
		c.put(f, "traffic_type", "flow_log_traffic_type", "ALL")
		f.Refs["vpc_id"] = []string{"aws_vpc.this"}
		out = append(out, f)
	}
	// Since 5.0 the module takes over the default security group, with no
	// rules unless given.
	if truthy(c.get("manage_default_security_group", c.since(5, 0))) {
		d := c.block("aws_default_security_group", "this")
		for _, dir := range []string{"ingress", "egress"} {
			var rules []any
			for _, e := range list(c.get("default_security_group_"+dir, []any{})) {
				em, _ := e.(map[string]any)
				if len(em) == 0 {
					continue // [{}]: the module's way of clearing the rules
				}
				r := map[string]any{"from_port": em["from_port"], "to_port": em["to_port"], "protocol": em["protocol"], "cidr_blocks": csv(em["cidr_blocks"]), "ipv6_cidr_blocks": csv(em["ipv6_cidr_blocks"])}
				rules = append(rules, r)
			}
			d.Values[dir] = rules
			if r, ok := c.ranges["default_security_group_"+dir]; ok {
				d.AttrRanges[dir] = r
			}
		}
		d.Refs["vpc_id"] = []string{"aws_vpc.this"}
		out = append(out, d)
	}
	return out
}

func rdsModule(c *call) []*Block {
	if !truthy(c.get("create_db_instance", true)) {
		return nil
	}
	inner := *c
	inner.module = c.module + "module.db_instance."
	b := inner.block("aws_db_instance", "this")
	c.put(b, "identifier", "identifier", nil)
	c.put(b, "storage_encrypted", "storage_encrypted", true)
	c.put(b, "publicly_accessible", "publicly_accessible", false)
	c.put(b, "backup_retention_period", "backup_retention_period", nil)
	c.put(b, "multi_az", "multi_az", false)
	c.put(b, "deletion_protection", "deletion_protection", false)
	c.put(b, "iam_database_authentication_enabled", "iam_database_authentication_enabled", false)
	c.put(b, "auto_minor_version_upgrade", "auto_minor_version_upgrade", true)
	c.put(b, "copy_tags_to_snapshot", "copy_tags_to_snapshot", false)
	c.put(b, "monitoring_interval", "monitoring_interval", 0.0)
	c.put(b, "enabled_cloudwatch_logs_exports", "enabled_cloudwatch_logs_exports", []any{})
	return []*Block{b}
}

func auroraModule(c *call) []*Block {
	if !truthy(c.get("create", c.get("create_cluster", true))) {
		return nil
	}
	b := c.block("aws_rds_cluster", "this")
	c.put(b, "cluster_identifier", "name", nil)
	c.put(b, "engine_mode", "engine_mode", "provisioned")
	c.put(b, "storage_encrypted", "storage_encrypted", true)
	c.put(b, "backup_retention_period", "backup_retention_period", nil)
	c.put(b, "deletion_protection", "deletion_protection", false)
	c.put(b, "iam_database_authentication_enabled", "iam_database_authentication_enabled", false)
	c.put(b, "publicly_accessible", "publicly_accessible", false)
	c.put(b, "engine", "engine", nil)
	c.put(b, "copy_tags_to_snapshot", "copy_tags_to_snapshot", nil)
	c.put(b, "enabled_cloudwatch_logs_exports", "enabled_cloudwatch_logs_exports", []any{})
	return []*Block{b}
}

func iamUserModule(c *call) []*Block {
	if !truthy(c.get("create_user", true)) {
		return nil
	}
	u := c.block("aws_iam_user", "this")
	c.put(u, "name", "name", nil)
	out := []*Block{u}
	dep := func(typ string) *Block {
		b := c.block(typ, "this")
		b.Values["user"] = u.Values["name"]
		b.Refs["user"] = []string{"aws_iam_user.this"}
		return b
	}
	if truthy(c.get("create_iam_user_login_profile", true)) {
		out = append(out, dep("aws_iam_user_login_profile"))
	}
	if truthy(c.get("create_iam_access_key", true)) {
		out = append(out, dep("aws_iam_access_key"))
	}
	if len(list(c.get("policy_arns", []any{}))) > 0 {
		out = append(out, dep("aws_iam_user_policy_attachment"))
	}
	return out
}

func iamRoleModule(c *call) []*Block {
	if !truthy(c.get("create_role", false)) {
		return nil
	}
	r := c.block("aws_iam_role", "this")
	c.put(r, "name", "role_name", nil)
	if p := c.get("custom_role_trust_policy", ""); str(p) != "" {
		c.put(r, "assume_role_policy", "custom_role_trust_policy", nil)
		return []*Block{r}
	}
	principal := map[string]any{}
	if a := list(c.get("trusted_role_arns", []any{})); len(a) > 0 {
		principal["AWS"] = a
	}
	if s := list(c.get("trusted_role_services", []any{})); len(s) > 0 {
		principal["Service"] = s
	}
	st := map[string]any{"Effect": "Allow", "Action": []any{"sts:AssumeRole", "sts:TagSession"}, "Principal": principal}
	if truthy(c.get("role_requires_mfa", true)) {
		st["Condition"] = map[string]any{"Bool": map[string]any{"aws:MultiFactorAuthPresent": "true"}}
	}
	doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{st}})
	r.Values["assume_role_policy"] = string(doc)
	if rg, ok := c.ranges["trusted_role_arns"]; ok {
		r.AttrRanges["assume_role_policy"] = rg
	}
	return []*Block{r}
}

func iamPolicyModule(c *call) []*Block {
	if !truthy(c.get("create_policy", true)) {
		return nil
	}
	p := c.block("aws_iam_policy", "policy")
	c.put(p, "name", "name", nil)
	c.put(p, "policy", "policy", "")
	return []*Block{p}
}

func eksModule(c *call) []*Block {
	if !truthy(c.get("create", true)) {
		return nil
	}
	// Inputs lost their cluster_ prefix in 21.0; 19.0 made the endpoint
	// private and secrets encrypted by default.
	in := func(name string, def any) any {
		if v := c.get("cluster_"+name, nil); v != nil {
			if r, ok := c.ranges["cluster_"+name]; ok {
				c.ranges[name] = r
			}
			return v
		}
		return c.get(name, def)
	}
	v19 := c.since(19, 0)
	b := c.block("aws_eks_cluster", "this")
	b.Values["name"] = in("name", nil)
	b.Values["vpc_config"] = []any{map[string]any{
		"endpoint_public_access":  in("endpoint_public_access", !v19),
		"endpoint_private_access": in("endpoint_private_access", v19),
		"public_access_cidrs":     in("endpoint_public_access_cidrs", []any{"0.0.0.0/0"}),
	}}
	var encDef any = []any{}
	if v19 {
		encDef = map[string]any{"resources": []any{"secrets"}}
	}
	if enc := in("encryption_config", encDef); enc == resource.Unknown {
		b.Values["encryption_config"] = resource.Unknown
	} else if e := first(enc); len(e) > 0 {
		b.Values["encryption_config"] = []any{map[string]any{"resources": e["resources"], "provider": []any{map[string]any{"key_arn": c.get("cluster_encryption_config_kms_key_arn", resource.Unknown)}}}}
	}
	var logDef any = []any{}
	if v19 {
		logDef = []any{"audit", "api", "authenticator"}
	}
	b.Values["enabled_cluster_log_types"] = in("enabled_log_types", logDef)
	for _, k := range []string{"endpoint_public_access", "endpoint_public_access_cidrs"} {
		if r, ok := c.ranges[k]; ok {
			b.AttrRanges["vpc_config."+k] = r
		}
	}
	return []*Block{b}
}

func lambdaModule(c *call) []*Block {
	if !truthy(c.get("create", true)) || !truthy(c.get("create_function", true)) {
		return nil
	}
	f := c.block("aws_lambda_function", "this")
	c.put(f, "function_name", "function_name", nil)
	c.put(f, "runtime", "runtime", nil)
	c.put(f, "handler", "handler", nil)
	c.put(f, "kms_key_arn", "kms_key_arn", nil)
	c.put(f, "reserved_concurrent_executions", "reserved_concurrent_executions", -1.0)
	if env := c.get("environment_variables", nil); env != nil {
		f.Values["environment"] = []any{map[string]any{"variables": env}}
	}
	if m := c.get("tracing_mode", nil); m != nil {
		f.Values["tracing_config"] = []any{map[string]any{"mode": m}}
	}
	if s := c.get("vpc_subnet_ids", nil); s != nil {
		f.Values["vpc_config"] = []any{map[string]any{"subnet_ids": s, "security_group_ids": c.get("vpc_security_group_ids", []any{})}}
	}
	if d := c.get("dead_letter_target_arn", nil); d != nil {
		f.Values["dead_letter_config"] = []any{map[string]any{"target_arn": d}}
	}
	out := []*Block{f}
	if truthy(c.get("create_lambda_function_url", false)) {
		u := c.block("aws_lambda_function_url", "this")
		u.Values["function_name"] = f.Values["function_name"]
		c.put(u, "authorization_type", "authorization_type", "NONE")
		u.Refs["function_name"] = []string{"aws_lambda_function.this"}
		out = append(out, u)
	}
	return out
}

func kmsModule(c *call) []*Block {
	if !truthy(c.get("create", true)) {
		return nil
	}
	k := c.block("aws_kms_key", "this")
	c.put(k, "description", "description", nil)
	c.put(k, "enable_key_rotation", "enable_key_rotation", true)
	c.put(k, "customer_master_key_spec", "customer_master_key_spec", "SYMMETRIC_DEFAULT")
	return []*Block{k}
}
