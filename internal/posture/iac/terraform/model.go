package terraform

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// Resources turns evaluated blocks into the resource model: each AWS
// provider resource Parapet checks, with the split resources of provider
// v4 and later (aws_s3_bucket_public_access_block, aws_security_group_rule,
// …) joined to the bucket or group they name. base makes file names
// relative in locations.
func Resources(blocks []*Block, base string) []*resource.Resource {
	m := &mapper{base: base, byAddr: map[string][]*resource.Resource{}, byName: map[string]*resource.Resource{}, profiles: map[string]*Block{}}
	for _, b := range blocks {
		m.primary(b)
	}
	for _, b := range blocks {
		m.secondary(b)
	}
	// Objects, once their buckets are complete.
	for _, b := range blocks {
		m.object(b)
	}
	return append(m.out, resource.AccountRollup(m.out, false)...)
}

type mapper struct {
	base   string
	out    []*resource.Resource
	byAddr map[string][]*resource.Resource // module-prefixed type.name → its instances
	byName map[string]*resource.Resource   // type/literal name (bucket names)
	// profiles: the aws_iam_instance_profile blocks, by address and by
	// "name/" + literal name (an instance's role is its profile's).
	profiles map[string]*Block
}

func (m *mapper) origin(r hcl.Range) resource.Origin {
	f := r.Filename
	if m.base != "" {
		if rel, err := filepath.Rel(m.base, f); err == nil {
			f = rel
		}
	}
	return resource.Origin{File: f, StartLine: r.Start.Line, EndLine: r.End.Line, Column: r.Start.Column}
}

func (m *mapper) blockOrigin(b *Block) resource.Origin {
	o := m.origin(b.Range)
	// The block's range is its header; the end is its closing brace.
	o.EndLine = max(o.EndLine, o.StartLine)
	return o
}

func (m *mapper) attrOrigin(b *Block, path string) resource.Origin {
	if r, ok := b.AttrRanges[path]; ok {
		return m.origin(r)
	}
	return m.blockOrigin(b)
}

func baseAddr(b *Block) string { return b.Module + b.Type + "." + b.Name }

func (m *mapper) add(b *Block, typ, name string) *resource.Resource {
	if name == "" || name == resource.Unknown {
		name = b.Address
	}
	r := &resource.Resource{Type: typ, Name: name, Address: b.Address, Source: "terraform", Location: m.blockOrigin(b), Attrs: map[string]any{}, Origins: map[string]resource.Origin{}, Suppressed: b.Ignores}
	m.out = append(m.out, r)
	m.byAddr[baseAddr(b)] = append(m.byAddr[baseAddr(b)], r)
	// Resources known by a literal name (a bucket, a user, a cluster) can
	// be named by split resources that do not reference them.
	if name != b.Address {
		k := typ + "/" + name
		if b.Type == "aws_rds_cluster" {
			k = "aws_rds_cluster/" + name
		}
		if m.byName[k] == nil {
			m.byName[k] = r
		}
	}
	return r
}

// set copies a value from the block, with its origin.
func (m *mapper) set(r *resource.Resource, b *Block, attr, path string, def any) {
	v, ok := b.Values[path]
	if !ok || v == nil {
		r.Set(attr, def, m.blockOrigin(b))
		return
	}
	r.Set(attr, v, m.attrOrigin(b, path))
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// metricName is "namespace/name", or resource.Unknown when either is.
func metricName(ns, name any) string {
	a, b := str(ns), str(name)
	if a == resource.Unknown || b == resource.Unknown || ns == nil || name == nil {
		return resource.Unknown
	}
	return a + "/" + b
}

func first(v any) map[string]any {
	if l, ok := v.([]any); ok && len(l) > 0 {
		if m, ok := l[0].(map[string]any); ok {
			return m
		}
	}
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return nil
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true") || strings.EqualFold(x, "enabled")
	}
	return false
}

// policyDoc decodes a policy given as a JSON string (jsonencode or a
// heredoc).
func policyDoc(v any) any {
	switch x := v.(type) {
	case string:
		if x == resource.Unknown {
			return resource.Unknown
		}
		var doc any
		if err := json.Unmarshal([]byte(x), &doc); err != nil {
			return resource.Unknown
		}
		return doc
	case map[string]any:
		return x
	}
	return nil
}

func statements(v any) any {
	doc := policyDoc(v)
	if doc == resource.Unknown {
		return resource.Unknown
	}
	if st := resource.ParsePolicy(doc); st != nil {
		return st
	}
	return []any{}
}

var publicACLs = map[string]bool{"public-read": true, "public-read-write": true, "authenticated-read": true}

func (m *mapper) primary(b *Block) {
	v := b.Values
	n := len(m.out)
	defer func() { m.extend(b, m.out[n:]) }()
	switch b.Type {
	case "aws_s3_bucket":
		r := m.add(b, resource.S3Bucket, str(v["bucket"]))
		m.set(r, b, "acl", "acl", "")
		r.Set("public_acl", publicACLs[str(v["acl"])], m.attrOrigin(b, "acl"))
		r.Set("policy_statements", statements(v["policy"]), m.attrOrigin(b, "policy"))
		if doc := docJSON(v["policy"]); doc != "" {
			r.Set(resource.AttrResourcePolicy, doc, m.attrOrigin(b, "policy"))
		}
		r.Set("public_access_block", nil, m.blockOrigin(b))
		enc := first(first(first(v["server_side_encryption_configuration"])["rule"])["apply_server_side_encryption_by_default"])
		if enc != nil {
			r.Set("encryption", map[string]any{"algorithm": str(enc["sse_algorithm"]), "kms_key": str(enc["kms_master_key_id"])}, m.attrOrigin(b, "server_side_encryption_configuration.rule.apply_server_side_encryption_by_default.sse_algorithm"))
		} else {
			r.Set("encryption", nil, m.blockOrigin(b))
		}
		r.Set("versioning", truthy(first(v["versioning"])["enabled"]), m.blockOrigin(b))
		r.Set("mfa_delete", truthy(first(v["versioning"])["mfa_delete"]), m.blockOrigin(b))
		r.Set("logging", first(v["logging"]) != nil, m.blockOrigin(b))
		r.Set("object_lock", truthy(v["object_lock_enabled"]) || first(v["object_lock_configuration"]) != nil, m.blockOrigin(b))
	case "aws_s3_account_public_access_block":
		r := m.add(b, resource.S3AccountBlock, "account")
		for _, k := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
			m.set(r, b, k, k, false)
		}
	case "aws_security_group":
		r := m.add(b, resource.SecurityGroup, str(v["name"]))
		r.Set("ingress", sgRules(v["ingress"]), m.blockOrigin(b))
		r.Set("egress", sgRules(v["egress"]), m.blockOrigin(b))
		m.set(r, b, "description", "description", "")
	case "aws_default_security_group":
		r := m.add(b, resource.SecurityGroup, "default")
		r.Set("ingress", sgRules(v["ingress"]), m.blockOrigin(b))
		r.Set("egress", sgRules(v["egress"]), m.blockOrigin(b))
		r.Set("default", true, m.blockOrigin(b))
	case "aws_network_acl":
		r := m.add(b, resource.NetworkACL, "")
		r.Set("ingress", naclRules(v["ingress"]), m.blockOrigin(b))
	case "aws_iam_user":
		r := m.add(b, resource.IAMUser, str(v["name"]))
		r.Set("direct_policies", false, m.blockOrigin(b))
		r.Set("access_keys", 0.0, m.blockOrigin(b))
		r.Set("console_password", false, m.blockOrigin(b))
		r.Set("inline_policy_statements", []any{}, m.blockOrigin(b))
		// Keys made by this configuration are new; MFA enrolment and use
		// are not in it.
		r.Set("oldest_active_key_days", 0.0, m.blockOrigin(b))
		r.Set("mfa", resource.Unknown, m.blockOrigin(b))
		r.Set("credentials_unused_days", resource.Unknown, m.blockOrigin(b))
		m.iamPrincipal(r, b)
	case "aws_iam_role":
		r := m.add(b, resource.IAMRole, str(v["name"]))
		r.Set("trust_statements", statements(v["assume_role_policy"]), m.attrOrigin(b, "assume_role_policy"))
		m.iamPrincipal(r, b)
		r.Set(resource.AttrTrustDocument, docJSON(v["assume_role_policy"]), m.attrOrigin(b, "assume_role_policy"))
		for _, ip := range list(v["inline_policy"]) {
			if ipm, ok := ip.(map[string]any); ok && ipm["policy"] != nil {
				appendInline(r, str(ipm["name"]), docJSON(ipm["policy"]), m.attrOrigin(b, "inline_policy"))
			}
		}
	case "aws_iam_group":
		r := m.add(b, resource.IAMGroup, str(v["name"]))
		m.iamPrincipal(r, b)
	case "aws_iam_policy", "aws_iam_user_policy", "aws_iam_role_policy", "aws_iam_group_policy":
		r := m.add(b, resource.IAMPolicy, str(v["name"]))
		r.Set("statements", statements(v["policy"]), m.attrOrigin(b, "policy"))
		r.Set("inline", b.Type != "aws_iam_policy", m.blockOrigin(b))
		r.Set(resource.AttrDocument, docJSON(v["policy"]), m.attrOrigin(b, "policy"))
	case "aws_iam_account_password_policy":
		r := m.add(b, resource.IAMPasswordPolicy, "account")
		for _, k := range []string{"minimum_password_length", "password_reuse_prevention", "max_password_age"} {
			m.set(r, b, k, k, 0.0)
		}
		for _, k := range []string{"require_symbols", "require_numbers", "require_uppercase_characters", "require_lowercase_characters"} {
			m.set(r, b, k, k, false)
		}
	case "aws_cloudtrail":
		r := m.add(b, resource.CloudTrail, str(v["name"]))
		m.set(r, b, "multi_region", "is_multi_region_trail", false)
		m.set(r, b, "log_file_validation", "enable_log_file_validation", false)
		r.Set("kms_encrypted", str(v["kms_key_id"]) != "", m.attrOrigin(b, "kms_key_id"))
		m.set(r, b, "logging", "enable_logging", true)
		m.set(r, b, "global_service_events", "include_global_service_events", true)
		// CloudTrail delivers to the log group only through the role.
		r.Set("cloudwatch_logs", str(v["cloud_watch_logs_group_arn"]) != "" && str(v["cloud_watch_logs_role_arn"]) != "", m.attrOrigin(b, "cloud_watch_logs_group_arn"))
		r.Set("cloudwatch_log_group", resource.LogGroupName(v["cloud_watch_logs_group_arn"]), m.attrOrigin(b, "cloud_watch_logs_group_arn"))
		w, rd := resource.S3DataEvents(list(v["event_selector"]), list(v["advanced_event_selector"]))
		r.Set("s3_write_data_events", w, m.blockOrigin(b))
		r.Set("s3_read_data_events", rd, m.blockOrigin(b))
	case "aws_cloudwatch_log_metric_filter":
		r := m.add(b, resource.MetricFilter, str(v["name"]))
		m.set(r, b, "log_group", "log_group_name", "")
		m.set(r, b, "pattern", "pattern", "")
		var metrics []any
		for _, t := range list(v["metric_transformation"]) {
			tm, _ := t.(map[string]any)
			metrics = append(metrics, metricName(tm["namespace"], tm["name"]))
		}
		r.Set("metrics", metrics, m.blockOrigin(b))
	case "aws_cloudwatch_metric_alarm":
		r := m.add(b, resource.MetricAlarm, str(v["alarm_name"]))
		r.Set("metrics", []any{metricName(v["namespace"], v["metric_name"])}, m.blockOrigin(b))
		r.Set("actions", float64(len(list(v["alarm_actions"]))), m.attrOrigin(b, "alarm_actions"))
	case "aws_kms_key":
		r := m.add(b, resource.KMSKey, str(v["description"]))
		m.set(r, b, "rotation", "enable_key_rotation", false)
		m.set(r, b, "key_spec", "customer_master_key_spec", "SYMMETRIC_DEFAULT")
	case "aws_db_instance", "aws_rds_cluster", "aws_rds_cluster_instance":
		name := str(v["identifier"])
		if b.Type == "aws_rds_cluster" {
			name = str(v["cluster_identifier"])
		}
		r := m.add(b, resource.RDSInstance, name)
		m.set(r, b, "public", "publicly_accessible", false)
		// Aurora Serverless v1 clusters are always encrypted (the
		// provider's default for engine_mode "serverless" is true).
		m.set(r, b, "encrypted", "storage_encrypted", b.Type == "aws_rds_cluster" && str(v["engine_mode"]) == "serverless")
		m.set(r, b, "backup_retention", "backup_retention_period", 0.0)
		m.set(r, b, "multi_az", "multi_az", false)
		r.Set("cluster", b.Type == "aws_rds_cluster", m.blockOrigin(b))
		m.set(r, b, "deletion_protection", "deletion_protection", false)
		m.set(r, b, "iam_auth", "iam_database_authentication_enabled", false)
		m.set(r, b, "auto_minor_upgrade", "auto_minor_version_upgrade", true)
		m.set(r, b, "copy_tags", "copy_tags_to_snapshot", false)
		m.set(r, b, "log_exports", "enabled_cloudwatch_logs_exports", []any{})
		r.Set("enhanced_monitoring", resource.RDSMonitoring(b.Type == "aws_rds_cluster", v["monitoring_interval"], v["engine"]), m.attrOrigin(b, "monitoring_interval"))
	case "aws_ebs_volume":
		r := m.add(b, resource.EBSVolume, "")
		m.set(r, b, "encrypted", "encrypted", false)
	case "aws_ebs_encryption_by_default":
		r := m.add(b, resource.EBSDefault, "account")
		m.set(r, b, "enabled", "enabled", true)
	case "aws_vpc":
		r := m.add(b, resource.VPC, "")
		r.Set("flow_logs", false, m.blockOrigin(b))
		// Until an aws_default_security_group takes it over, a VPC's
		// default group allows all egress and traffic among its members.
		r.Set("default_sg_restricts_all", false, m.blockOrigin(b))
	case "aws_guardduty_detector":
		r := m.add(b, resource.GuardDutyDetector, "")
		m.set(r, b, "enabled", "enable", true)
	case "aws_config_configuration_recorder":
		r := m.add(b, resource.ConfigRecorder, str(v["name"]))
		rg := first(v["recording_group"])
		all := rg == nil || truthy(rg["all_supported"])
		r.Set("all_supported", all, m.attrOrigin(b, "recording_group.all_supported"))
		r.Set("recording", false, m.blockOrigin(b))
	case "aws_instance":
		r := m.add(b, resource.EC2Instance, "")
		mo := first(v["metadata_options"])
		r.Set("imdsv2_required", mo != nil && str(mo["http_tokens"]) == "required", m.attrOrigin(b, "metadata_options.http_tokens"))
		m.set(r, b, "public_ip", "associate_public_ip_address", false)
		root := first(v["root_block_device"])
		r.Set("root_encrypted", root != nil && truthy(root["encrypted"]), m.attrOrigin(b, "root_block_device.encrypted"))
		// Monitoring and the instance profile not set here may come from
		// a launch template.
		var unset any = false
		if first(v["launch_template"]) != nil {
			unset = resource.Unknown
		}
		m.set(r, b, "detailed_monitoring", "monitoring", unset)
		if str(v["iam_instance_profile"]) != "" {
			r.Set("instance_profile", true, m.attrOrigin(b, "iam_instance_profile"))
		} else {
			r.Set("instance_profile", unset, m.blockOrigin(b))
		}
	case "aws_efs_file_system":
		r := m.add(b, resource.EFSFileSystem, str(v["creation_token"]))
		m.set(r, b, "encrypted", "encrypted", false)
	case "aws_accessanalyzer_analyzer":
		r := m.add(b, resource.AccessAnalyzer, str(v["analyzer_name"]))
		r.Set("active", true, m.blockOrigin(b))
	case "aws_securityhub_account":
		r := m.add(b, resource.SecurityHub, "securityhub")
		r.Set("enabled", true, m.blockOrigin(b))
	case "aws_iam_server_certificate":
		r := m.add(b, resource.IAMServerCertificate, str(v["name"]))
		r.Set("days_to_expiry", resource.CertDaysToExpiry(v["certificate_body"], time.Now()), m.attrOrigin(b, "certificate_body"))
	case "aws_s3_object", "aws_s3_bucket_object":
		r := m.add(b, "aws_s3_object", str(v["key"]))
		sse := str(v["server_side_encryption"])
		if sse == "" && str(v["kms_key_id"]) != "" {
			sse = "aws:kms"
		}
		r.Set("sse", sse, m.attrOrigin(b, "server_side_encryption"))
	case "aws_iam_instance_profile":
		m.profiles[baseAddr(b)] = b
		if n := str(v["name"]); n != "" && n != resource.Unknown {
			m.profiles["name/"+n] = b
		}
	case "aws_lambda_function_url":
		r := m.add(b, resource.LambdaFunctionURL, str(v["function_name"]))
		m.set(r, b, "auth_type", "authorization_type", "")
		r.Set("cors_all_origins", resource.AnyStar(first(v["cors"])["allow_origins"]), m.attrOrigin(b, "cors.allow_origins"))
	default:
		m.generic(b) // types content/resources maps
	}
}

// target finds the resource an attribute of b refers to: by reference
// (aws_s3_bucket.logs.id) or by literal name.
func (m *mapper) target(b *Block, attr, typ string) *resource.Resource {
	for _, ref := range b.Refs[attr] {
		insts := m.byAddr[b.Module+ref]
		if len(insts) == 0 || insts[0].Type != typ {
			continue
		}
		// A counted resource naming a counted one: the same index.
		if i := strings.LastIndex(b.Address, "["); i >= 0 {
			for _, r := range insts {
				if strings.HasSuffix(r.Address, b.Address[i:]) {
					return r
				}
			}
		}
		return insts[0]
	}
	if s := str(b.Values[attr]); s != "" && s != resource.Unknown {
		return m.byName[typ+"/"+s]
	}
	return nil
}

// targets is target for an attribute holding a list (users = [...]):
// every resource it references or names.
func (m *mapper) targets(b *Block, attr, typ string) []*resource.Resource {
	var out []*resource.Resource
	seen := map[*resource.Resource]bool{}
	for _, ref := range b.Refs[attr] {
		for _, r := range m.byAddr[b.Module+ref] {
			if r.Type == typ && !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	for _, e := range list(b.Values[attr]) {
		if s := str(e); s != "" && s != resource.Unknown {
			if r := m.byName[typ+"/"+s]; r != nil && !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	return out
}

// Attributes a resource of each type has that a split resource alone
// cannot tell: unknown on a parent made for an orphan.
var orphanUnknowns = map[string][]string{
	resource.S3Bucket:      {"acl", "public_acl", "policy_statements", "public_access_block", "encryption", "versioning", "mfa_delete", "logging", "object_lock"},
	resource.SecurityGroup: {"ingress", "egress", "description"},
	resource.NetworkACL:    {"ingress"},
}

// parent is the resource a split resource belongs to: the one it
// references or names, or, when that is not in the scan, one of its own
// (under the literal name when there is one, so that other split
// resources naming it join it) whose other attributes are unknown: the
// split resource is still evaluated.
func (m *mapper) parent(b *Block, attr, typ string) *resource.Resource {
	if r := m.target(b, attr, typ); r != nil {
		return r
	}
	name := str(b.Values[attr])
	if name == resource.Unknown {
		name = ""
	}
	r := m.add(b, typ, name)
	for _, k := range orphanUnknowns[typ] {
		r.Set(k, resource.Unknown, m.blockOrigin(b))
	}
	return r
}

func (m *mapper) secondary(b *Block) {
	m.iamLinks(b)
	v := b.Values
	switch b.Type {
	case "aws_s3_bucket_public_access_block":
		if r := m.parent(b, "bucket", resource.S3Bucket); r != nil {
			pab := map[string]any{}
			for _, k := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
				pab[k] = truthy(v[k])
			}
			r.Set("public_access_block", pab, m.blockOrigin(b))
		}
	case "aws_s3_bucket_server_side_encryption_configuration":
		if r := m.target(b, "bucket", resource.S3Bucket); r != nil {
			enc := first(first(v["rule"])["apply_server_side_encryption_by_default"])
			if enc != nil {
				r.Set("encryption", map[string]any{"algorithm": str(enc["sse_algorithm"]), "kms_key": str(enc["kms_master_key_id"])}, m.blockOrigin(b))
			}
		}
	case "aws_s3_bucket_versioning":
		if r := m.target(b, "bucket", resource.S3Bucket); r != nil {
			r.Set("versioning", str(first(v["versioning_configuration"])["status"]) == "Enabled", m.blockOrigin(b))
			r.Set("mfa_delete", str(first(v["versioning_configuration"])["mfa_delete"]) == "Enabled", m.blockOrigin(b))
		}
	case "aws_s3_bucket_logging":
		if r := m.target(b, "bucket", resource.S3Bucket); r != nil {
			r.Set("logging", true, m.blockOrigin(b))
		}
	case "aws_s3_bucket_acl":
		if r := m.target(b, "bucket", resource.S3Bucket); r != nil {
			r.Set("acl", str(v["acl"]), m.attrOrigin(b, "acl"))
			r.Set("public_acl", publicACLs[str(v["acl"])], m.attrOrigin(b, "acl"))
		}
	case "aws_s3_bucket_policy":
		if r := m.parent(b, "bucket", resource.S3Bucket); r != nil {
			r.Set("policy_statements", statements(v["policy"]), m.attrOrigin(b, "policy"))
			if doc := docJSON(v["policy"]); doc != "" {
				r.Set(resource.AttrResourcePolicy, doc, m.attrOrigin(b, "policy"))
			}
		}
	case "aws_s3_bucket_object_lock_configuration":
		if r := m.target(b, "bucket", resource.S3Bucket); r != nil {
			r.Set("object_lock", true, m.blockOrigin(b))
		}
	case "aws_security_group_rule":
		if r := m.parent(b, "security_group_id", resource.SecurityGroup); r != nil {
			key := "ingress"
			if str(v["type"]) == "egress" {
				key = "egress"
			}
			rules, _ := r.Attrs[key].([]any)
			r.Set(key, append(rules, sgRule(v, "protocol", "cidr_blocks", "ipv6_cidr_blocks")), m.blockOrigin(b))
		}
	case "aws_network_acl_rule":
		if truthy(v["egress"]) {
			break
		}
		if r := m.parent(b, "network_acl_id", resource.NetworkACL); r != nil {
			rules, _ := r.Attrs["ingress"].([]any)
			r.Set("ingress", append(rules, naclRule(v, "rule_action")), m.blockOrigin(b))
		}
	case "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule":
		if r := m.parent(b, "security_group_id", resource.SecurityGroup); r != nil {
			key := "ingress"
			if strings.HasSuffix(b.Type, "egress_rule") {
				key = "egress"
			}
			w := map[string]any{"from_port": v["from_port"], "to_port": v["to_port"], "ip_protocol": v["ip_protocol"]}
			if c := str(v["cidr_ipv4"]); c != "" {
				w["cidr_blocks"] = []any{c}
			}
			if c := str(v["cidr_ipv6"]); c != "" {
				w["ipv6_cidr_blocks"] = []any{c}
			}
			rules, _ := r.Attrs[key].([]any)
			r.Set(key, append(rules, sgRule(w, "ip_protocol", "cidr_blocks", "ipv6_cidr_blocks")), m.blockOrigin(b))
		}
	case "aws_iam_access_key":
		if r := m.target(b, "user", resource.IAMUser); r != nil {
			n, _ := r.Attrs["access_keys"].(float64)
			if str(v["status"]) != "Inactive" {
				r.Set("access_keys", n+1, m.blockOrigin(b))
			}
		}
	case "aws_iam_user_login_profile":
		if r := m.target(b, "user", resource.IAMUser); r != nil {
			r.Set("console_password", true, m.blockOrigin(b))
		}
	case "aws_iam_user_policy_attachment", "aws_iam_user_policy":
		if r := m.target(b, "user", resource.IAMUser); r != nil {
			r.Set("direct_policies", true, m.blockOrigin(b))
		}
	case "aws_iam_policy_attachment":
		for _, r := range m.targets(b, "users", resource.IAMUser) {
			r.Set("direct_policies", true, m.attrOrigin(b, "users"))
		}
	case "aws_db_instance", "aws_rds_cluster_instance":
		// An instance in an Aurora cluster takes its storage encryption,
		// backups, deletion protection and IAM authentication from the
		// cluster; unknown when the cluster is not in the scan. Its
		// storage is the cluster's, in several zones.
		if c := v["cluster_identifier"]; c != nil && c != "" {
			r := m.byAddr[baseAddr(b)]
			var cl *resource.Resource
			for _, ref := range b.Refs["cluster_identifier"] {
				if insts := m.byAddr[b.Module+ref]; len(insts) > 0 && strings.HasPrefix(ref, "aws_rds_cluster.") {
					cl = insts[0]
				}
			}
			if s := str(c); cl == nil && s != resource.Unknown {
				cl = m.byName["aws_rds_cluster/"+s]
			}
			for _, x := range r {
				if x.Address != b.Address {
					continue
				}
				for _, k := range []string{"encrypted", "backup_retention", "deletion_protection", "iam_auth", "copy_tags", "log_exports"} {
					if cl != nil {
						x.Set(k, cl.Attrs[k], cl.Origins[k])
					} else {
						x.Set(k, resource.Unknown, m.attrOrigin(b, "cluster_identifier"))
					}
				}
				x.Set("cluster", true, m.attrOrigin(b, "cluster_identifier"))
			}
		}
	case "aws_default_security_group":
		if r := m.target(b, "vpc_id", resource.VPC); r != nil {
			r.Set("default_sg_restricts_all", len(sgRules(v["ingress"])) == 0 && len(sgRules(v["egress"])) == 0, m.blockOrigin(b))
		}
	case "aws_flow_log":
		if r := m.target(b, "vpc_id", resource.VPC); r != nil {
			r.Set("flow_logs", true, m.blockOrigin(b))
		}
	case "aws_config_configuration_recorder_status":
		if r := m.target(b, "name", resource.ConfigRecorder); r != nil {
			r.Set("recording", truthy(v["is_enabled"]), m.attrOrigin(b, "is_enabled"))
		} else {
			for _, x := range m.out {
				if x.Type == resource.ConfigRecorder {
					x.Set("recording", truthy(v["is_enabled"]), m.attrOrigin(b, "is_enabled"))
				}
			}
		}
	default:
		m.genericJoin(b) // joins content/resources declares
	}
}

// object completes an S3 object with its bucket's default encryption: an
// object written without its own is encrypted as the bucket says
// (unknown when the bucket is not in the scan).
func (m *mapper) object(b *Block) {
	if b.Type != "aws_s3_object" && b.Type != "aws_s3_bucket_object" {
		return
	}
	var objs []*resource.Resource
	for _, r := range m.byAddr[baseAddr(b)] {
		if r.Address == b.Address && r.Type == "aws_s3_object" {
			objs = append(objs, r)
		}
	}
	var def any = resource.Unknown
	at := m.attrOrigin(b, "bucket")
	if bk := m.target(b, "bucket", resource.S3Bucket); bk != nil {
		def, at = "", bk.Origins["encryption"]
		switch enc := bk.Attrs["encryption"].(type) {
		case map[string]any:
			def = enc["algorithm"]
		case string:
			def = enc // unknown
		}
	}
	for _, r := range objs {
		r.Set("bucket_sse", def, at)
	}
}

// sgRules normalizes inline ingress or egress blocks.
func sgRules(v any) []any {
	out := []any{}
	l, _ := v.([]any)
	for _, e := range l {
		if em, ok := e.(map[string]any); ok {
			out = append(out, sgRule(em, "protocol", "cidr_blocks", "ipv6_cidr_blocks"))
		}
	}
	return out
}

// sgRule: protocol ("-1" for all, lower-cased names), ports (0–65535 when
// all), and the IPv4 and IPv6 sources.
func sgRule(m map[string]any, protoKey, v4, v6 string) map[string]any {
	proto := strings.ToLower(fmt.Sprint(m[protoKey]))
	if proto == "all" || proto == "<nil>" {
		proto = "-1"
	}
	from, _ := m["from_port"].(float64)
	to, _ := m["to_port"].(float64)
	if proto == "-1" {
		from, to = 0, 65535
	}
	cidrs := func(k string) []any {
		l, _ := m[k].([]any)
		return resource.NormalizeCIDRs(l)
	}
	return map[string]any{"protocol": proto, "from_port": from, "to_port": to, "cidr_blocks": cidrs(v4), "ipv6_cidr_blocks": cidrs(v6)}
}

func naclRules(v any) []any {
	out := []any{}
	l, _ := v.([]any)
	for _, e := range l {
		em, ok := e.(map[string]any)
		if !ok {
			continue
		}
		out = append(out, naclRule(em, "action"))
	}
	return out
}

// naclRule: a rule of a network ACL, inline or aws_network_acl_rule
// (protocol numbers 6 and 17 as tcp and udp).
func naclRule(em map[string]any, actionKey string) map[string]any {
	w := map[string]any{}
	for k, x := range em {
		w[k] = x
	}
	switch fmt.Sprint(em["protocol"]) {
	case "6":
		w["protocol"] = "tcp"
	case "17":
		w["protocol"] = "udp"
	}
	r := sgRule(w, "protocol", "cidr_block", "ipv6_cidr_block")
	r["cidr_blocks"], r["ipv6_cidr_blocks"] = []any{}, []any{}
	if c := str(em["cidr_block"]); c != "" {
		r["cidr_blocks"] = []any{resource.NormalizeCIDR(c)}
	}
	if c := str(em["ipv6_cidr_block"]); c != "" {
		r["ipv6_cidr_blocks"] = []any{resource.NormalizeCIDR(c)}
	}
	r["action"] = strings.ToLower(fmt.Sprint(em[actionKey]))
	return r
}
