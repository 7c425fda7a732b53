// Package awsconfig reads AWS Config configuration items into the resource
// model: single items, lists, snapshots and history files
// ({"configurationItems": […]}), change notifications
// ({"configurationItem": …}) and select results ({"Results": ["…"]}).
// Config stores many values as JSON inside strings, some of them twice;
// they are decoded as needed.
package awsconfig

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// Load reads one file of configuration items.
func Load(path string) ([]*resource.Resource, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	items, err := Items(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []*resource.Resource
	var flows []map[string]any
	for _, it := range items {
		if it["resourceType"] == "AWS::EC2::FlowLog" {
			flows = append(flows, it)
			continue
		}
		if r := Model(it); r != nil {
			out = append(out, r)
		}
	}
	for _, f := range flows {
		vpc := str(dec(f["configuration"])["resourceId"])
		for _, r := range out {
			if r.Type == resource.VPC && r.Name == vpc {
				r.Set("flow_logs", true, resource.Origin{ARN: str(f["arn"])})
			}
		}
	}
	return out, nil
}

// Items finds the configuration items in a document.
func Items(data []byte) ([]map[string]any, error) {
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	var items []map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e)
			}
		case string:
			var inner any
			if json.Unmarshal([]byte(x), &inner) == nil {
				walk(inner)
			}
		case map[string]any:
			if x["configuration"] != nil || x["supplementaryConfiguration"] != nil {
				if _, ok := x["resourceType"]; !ok {
					// Select results carry only the fields selected: tell
					// the type by its shape.
					x["resourceType"] = shapeType(x)
				}
				items = append(items, x)
				return
			}
			for _, k := range []string{"configurationItems", "configurationItem", "Results", "invokingEvent", "data"} {
				if e, ok := x[k]; ok {
					walk(e)
				}
			}
		}
	}
	walk(doc)
	if len(items) == 0 {
		return nil, fmt.Errorf("no configuration items")
	}
	return items, nil
}

// shapeType tells a resource type from an item without one (a select
// result that did not select resourceType) by its ARN or its fields; ""
// when it cannot.
func shapeType(x map[string]any) string {
	c := dec(x["configuration"])
	arn := str(x["arn"])
	if arn == "" {
		arn = str(c["arn"])
	}
	has := func(keys ...string) bool {
		for _, k := range keys {
			if c[k] == nil {
				return false
			}
		}
		return true
	}
	switch {
	case has("dBSnapshotIdentifier") || has("dBClusterSnapshotIdentifier"):
		return "" // snapshots are not modelled
	case strings.HasPrefix(arn, "arn:aws:iam::") && strings.Contains(arn, ":user/"):
		return "AWS::IAM::User"
	case strings.HasPrefix(arn, "arn:aws:iam::") && strings.Contains(arn, ":role/"):
		return "AWS::IAM::Role"
	case strings.HasPrefix(arn, "arn:aws:iam::") && strings.Contains(arn, ":group/"):
		return "AWS::IAM::Group"
	case strings.HasPrefix(arn, "arn:aws:iam::") && strings.Contains(arn, ":policy/"):
		return "AWS::IAM::Policy"
	case strings.HasPrefix(arn, "arn:aws:kms:") || has("keyId", "keyManager"):
		return "AWS::KMS::Key"
	case has("groupId", "ipPermissions"):
		return "AWS::EC2::SecurityGroup"
	case has("dbclusterArn") || has("dBClusterIdentifier"):
		return "AWS::RDS::DBCluster"
	case has("dBInstanceIdentifier") || has("dbInstanceArn"):
		return "AWS::RDS::DBInstance"
	case has("trailARN") || has("isMultiRegionTrail"):
		return "AWS::CloudTrail::Trail"
	case has("volumeId", "encrypted"):
		return "AWS::EC2::Volume"
	case has("instanceId", "imageId"):
		return "AWS::EC2::Instance"
	case has("networkAclId"):
		return "AWS::EC2::NetworkAcl"
	case has("vpcId", "cidrBlock", "isDefault"):
		return "AWS::EC2::VPC"
	case has("name", "owner", "creationDate"):
		return "AWS::S3::Bucket"
	}
	return ""
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// dec decodes a value that may be JSON in a string (or in a string in a
// string) into a map.
func dec(v any) map[string]any {
	for range 3 {
		switch x := v.(type) {
		case map[string]any:
			return x
		case string:
			var inner any
			if json.Unmarshal([]byte(x), &inner) != nil {
				return nil
			}
			v = inner
		default:
			return nil
		}
	}
	return nil
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return false
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

// policyText is an IAM document as JSON text (URL-encoded JSON decoded).
func policyText(v any) string {
	if s, ok := v.(string); ok {
		if u, err := url.QueryUnescape(s); err == nil {
			s = u
		}
		return s
	}
	return resource.PolicyJSON(v)
}

// iamPrincipal sets a user's, role's or group's inline and managed
// policies and its permissions boundary from its configuration item.
func iamPrincipal(r *resource.Resource, cfg map[string]any, inlineKey string, o resource.Origin) {
	inline := []any{}
	for _, p := range list(cfg[inlineKey]) {
		pm := dec(p)
		inline = append(inline, resource.InlinePolicy(str(pm["policyName"]), policyText(pm["policyDocument"])))
	}
	r.Set(resource.AttrInlinePolicies, inline, o)
	managed := []any{}
	for _, p := range list(cfg["attachedManagedPolicies"]) {
		if a := str(dec(p)["policyArn"]); a != "" {
			managed = append(managed, a)
		}
	}
	r.Set(resource.AttrManagedPolicies, managed, o)
	r.Set(resource.AttrBoundary, str(dec(cfg["permissionsBoundary"])["permissionsBoundaryArn"]), o)
}

// policy decodes an IAM document: JSON, URL-encoded JSON, or an object.
func policy(v any) any {
	if s, ok := v.(string); ok {
		if u, err := url.QueryUnescape(s); err == nil {
			s = u
		}
		var doc any
		if json.Unmarshal([]byte(s), &doc) == nil {
			return resource.ParsePolicy(doc)
		}
		return resource.Unknown
	}
	if st := resource.ParsePolicy(v); st != nil {
		return st
	}
	return []any{}
}

func sgRules(v any) []any {
	out := []any{}
	for _, p := range list(v) {
		pm, _ := p.(map[string]any)
		proto := strings.ToLower(fmt.Sprint(pm["ipProtocol"]))
		from, to := num(pm["fromPort"]), num(pm["toPort"])
		if proto == "-1" {
			from, to = 0, 65535
		}
		v4, v6 := []any{}, []any{}
		for _, r := range list(pm["ipv4Ranges"]) {
			v4 = append(v4, dec(r)["cidrIp"])
		}
		for _, r := range list(pm["ipRanges"]) {
			if s, ok := r.(string); ok {
				v4 = append(v4, s)
			} else {
				v4 = append(v4, dec(r)["cidrIp"])
			}
		}
		for _, r := range list(pm["ipv6Ranges"]) {
			v6 = append(v6, dec(r)["cidrIpv6"])
		}
		out = append(out, map[string]any{"protocol": proto, "from_port": from, "to_port": to, "cidr_blocks": v4, "ipv6_cidr_blocks": v6})
	}
	return out
}

// Model turns one configuration item into a resource, or nil for a type
// Parapet does not check.
func Model(it map[string]any) *resource.Resource {
	r := model(it)
	if r != nil {
		extend(it, r)
	}
	return r
}

func model(it map[string]any) *resource.Resource {
	cfg := dec(it["configuration"])
	arn := str(it["arn"])
	if arn == "" {
		arn = str(cfg["arn"])
	}
	o := resource.Origin{ARN: arn}
	sup := dec(it["supplementaryConfiguration"])
	if sup == nil {
		sup = map[string]any{}
	}
	// Select results may lack resourceName: fall back on the name in the
	// configuration, then on the id.
	name := str(it["resourceName"])
	for _, k := range []string{"userName", "roleName", "policyName", "dBInstanceIdentifier", "dBClusterIdentifier", "groupId", "name", "keyId"} {
		if name == "" {
			name = str(cfg[k])
		}
	}
	if name == "" {
		name = str(it["resourceId"])
	}
	mk := func(t string) *resource.Resource {
		return &resource.Resource{Type: t, Name: name, ARN: arn, Account: str(it["awsAccountId"]), Region: str(it["awsRegion"]), Source: "config",
			Location: o, Attrs: map[string]any{}, Origins: map[string]resource.Origin{}}
	}
	switch it["resourceType"] {
	case "AWS::EFS::FileSystem":
		r := mk(resource.EFSFileSystem)
		r.Set("encrypted", truthy(cfg["Encrypted"]) || truthy(cfg["encrypted"]), o)
		return r
	case "AWS::S3::AccountPublicAccessBlock":
		r := mk(resource.S3AccountBlock)
		for _, k := range [][2]string{{"block_public_acls", "blockPublicAcls"}, {"block_public_policy", "blockPublicPolicy"},
			{"ignore_public_acls", "ignorePublicAcls"}, {"restrict_public_buckets", "restrictPublicBuckets"}} {
			r.Set(k[0], truthy(cfg[k[1]]), o)
		}
		return r
	case "AWS::S3::Bucket":
		r := mk(resource.S3Bucket)
		if pab := dec(sup["PublicAccessBlockConfiguration"]); pab != nil {
			r.Set("public_access_block", map[string]any{"block_public_acls": truthy(pab["blockPublicAcls"]), "block_public_policy": truthy(pab["blockPublicPolicy"]),
				"ignore_public_acls": truthy(pab["ignorePublicAcls"]), "restrict_public_buckets": truthy(pab["restrictPublicBuckets"])}, o)
		} else {
			r.Set("public_access_block", nil, o)
		}
		if enc := dec(sup["ServerSideEncryptionConfiguration"]); enc != nil && len(list(enc["rules"])) > 0 {
			d := dec(dec(list(enc["rules"])[0])["applyServerSideEncryptionByDefault"])
			r.Set("encryption", map[string]any{"algorithm": str(d["sseAlgorithm"]), "kms_key": str(d["kmsMasterKeyID"])}, o)
		} else {
			r.Set("encryption", nil, o)
		}
		r.Set("versioning", str(dec(sup["BucketVersioningConfiguration"])["status"]) == "Enabled", o)
		r.Set("mfa_delete", truthy(dec(sup["BucketVersioningConfiguration"])["isMfaDeleteEnabled"]), o)
		r.Set("logging", str(dec(sup["BucketLoggingConfiguration"])["destinationBucketName"]) != "", o)
		r.Set("policy_statements", []any{}, o)
		if p := str(dec(sup["BucketPolicy"])["policyText"]); p != "" {
			r.Set("policy_statements", policy(p), o)
		}
		public := false
		for _, g := range list(dec(sup["AccessControlList"])["grantList"]) {
			gm := dec(g)
			grantee := fmt.Sprint(gm["grantee"])
			if strings.Contains(grantee, "AllUsers") || strings.Contains(grantee, "AuthenticatedUsers") {
				public = true
			}
		}
		r.Set("public_acl", public, o)
		r.Set("acl", "", o)
		lock := dec(sup["ObjectLockConfiguration"])
		if lock == nil {
			lock = dec(sup["BucketObjectLockConfiguration"])
		}
		r.Set("object_lock", lock != nil && strings.EqualFold(str(lock["objectLockEnabled"]), "Enabled"), o)
		return r
	case "AWS::EC2::SecurityGroup":
		r := mk(resource.SecurityGroup)
		r.Name = str(cfg["groupId"])
		r.Set("ingress", sgRules(cfg["ipPermissions"]), o)
		r.Set("egress", sgRules(cfg["ipPermissionsEgress"]), o)
		if str(cfg["groupName"]) == "default" {
			r.Set("default", true, o)
		}
		return r
	case "AWS::EC2::NetworkAcl":
		r := mk(resource.NetworkACL)
		in := []any{}
		for _, e := range list(cfg["entries"]) {
			em := dec(e)
			if truthy(em["egress"]) {
				continue
			}
			proto := fmt.Sprint(em["protocol"])
			switch proto {
			case "6":
				proto = "tcp"
			case "17":
				proto = "udp"
			}
			pr := dec(em["portRange"])
			from, to := num(pr["from"]), num(pr["to"])
			if proto == "-1" {
				from, to = 0, 65535
			}
			in = append(in, map[string]any{"protocol": proto, "from_port": from, "to_port": to, "action": strings.ToLower(str(em["ruleAction"])),
				"cidr_blocks": []any{em["cidrBlock"]}, "ipv6_cidr_blocks": []any{em["ipv6CidrBlock"]}})
		}
		r.Set("ingress", in, o)
		return r
	case "AWS::IAM::User":
		r := mk(resource.IAMUser)
		// A Config item does not record a user's keys, password or MFA:
		// checks on them answer "unknown" here, not pass.
		for _, k := range []string{"access_keys", "console_password", "mfa", "oldest_active_key_days", "credentials_unused_days"} {
			r.Set(k, resource.Unknown, o)
		}
		if len(list(cfg["attachedManagedPolicies"])) > 0 || len(list(cfg["userPolicyList"])) > 0 {
			r.Set("direct_policies", true, o)
		}
		iamPrincipal(r, cfg, "userPolicyList", o)
		r.Set(resource.AttrGroups, list(cfg["groupList"]), o)
		return r
	case "AWS::IAM::Role":
		r := mk(resource.IAMRole)
		r.Set("trust_statements", policy(cfg["assumeRolePolicyDocument"]), o)
		r.Set(resource.AttrTrustDocument, policyText(cfg["assumeRolePolicyDocument"]), o)
		iamPrincipal(r, cfg, "rolePolicyList", o)
		return r
	case "AWS::IAM::Group":
		r := mk(resource.IAMGroup)
		iamPrincipal(r, cfg, "groupPolicyList", o)
		return r
	case "AWS::IAM::Policy":
		r := mk(resource.IAMPolicy)
		r.Set("statements", []any{}, o)
		for _, v := range list(cfg["policyVersionList"]) {
			vm := dec(v)
			if truthy(vm["isDefaultVersion"]) {
				r.Set("statements", policy(vm["document"]), o)
				r.Set(resource.AttrDocument, policyText(vm["document"]), o)
			}
		}
		r.Set("inline", false, o)
		return r
	case "AWS::CloudTrail::Trail":
		r := mk(resource.CloudTrail)
		r.Set("multi_region", truthy(cfg["isMultiRegionTrail"]), o)
		r.Set("log_file_validation", truthy(cfg["logFileValidationEnabled"]), o)
		r.Set("kms_encrypted", str(cfg["kmsKeyId"]) != "", o)
		r.Set("logging", resource.Unknown, o) // a configuration item does not carry the logging status
		if st, ok := sup["TrailStatus"]; ok {
			r.Set("logging", truthy(dec(st)["isLogging"]), o)
		}
		r.Set("cloudwatch_logs", str(cfg["cloudWatchLogsLogGroupArn"]) != "", o)
		return r
	case "AWS::KMS::Key":
		r := mk(resource.KMSKey)
		spec := str(cfg["keySpec"])
		if spec == "" {
			spec = "SYMMETRIC_DEFAULT"
		}
		r.Set("key_spec", spec, o)
		if v, ok := sup["KeyRotationStatus"]; ok {
			r.Set("rotation", truthy(v) || truthy(dec(v)["keyRotationEnabled"]), o)
		} else {
			r.Set("rotation", resource.Unknown, o)
		}
		return r
	case "AWS::RDS::DBInstance", "AWS::RDS::DBCluster":
		// Config records DocumentDB and Neptune under RDS's types: their
		// clusters are judged by their own checks, their instances (whose
		// settings are the cluster's) not as RDS databases.
		if engine := strings.ToLower(str(cfg["engine"])); engine == "docdb" || engine == "neptune" {
			if it["resourceType"] != "AWS::RDS::DBCluster" {
				return nil
			}
			t := "aws_docdb_cluster"
			if engine == "neptune" {
				t = "aws_neptune_cluster"
				r := mk(t)
				r.Set("iam_auth", truthy(cfg["iAMDatabaseAuthenticationEnabled"]) || truthy(cfg["iamDatabaseAuthenticationEnabled"]), o)
				return docNeptune(r, cfg, o)
			}
			return docNeptune(mk(t), cfg, o)
		}
		r := mk(resource.RDSInstance)
		r.Set("public", truthy(cfg["publiclyAccessible"]), o)
		r.Set("encrypted", truthy(cfg["storageEncrypted"]), o)
		r.Set("backup_retention", num(cfg["backupRetentionPeriod"]), o)
		r.Set("multi_az", truthy(cfg["multiAZ"]), o)
		r.Set("cluster", it["resourceType"] == "AWS::RDS::DBCluster", o)
		r.Set("deletion_protection", truthy(cfg["deletionProtection"]), o)
		r.Set("iam_auth", truthy(cfg["iAMDatabaseAuthenticationEnabled"]) || truthy(cfg["iamDatabaseAuthenticationEnabled"]), o)
		r.Set("auto_minor_upgrade", truthy(cfg["autoMinorVersionUpgrade"]), o)
		cluster := it["resourceType"] == "AWS::RDS::DBCluster"
		if !cluster && (str(cfg["dBClusterIdentifier"]) != "" || str(cfg["dbClusterIdentifier"]) != "") {
			// An Aurora instance's snapshots and logs are its cluster's:
			// the cluster's item says.
			r.Set("copy_tags", resource.Unknown, o)
			r.Set("log_exports", resource.Unknown, o)
		} else {
			r.Set("copy_tags", truthy(cfg["copyTagsToSnapshot"]), o)
			logs := []any{}
			if l, ok := cfg["enabledCloudwatchLogsExports"].([]any); ok {
				logs = l
			}
			r.Set("log_exports", logs, o)
		}
		r.Set("enhanced_monitoring", resource.RDSMonitoring(cluster, cfg["monitoringInterval"], cfg["engine"]), o)
		return r
	case "AWS::EC2::Volume":
		r := mk(resource.EBSVolume)
		r.Set("encrypted", truthy(cfg["encrypted"]), o)
		return r
	case "AWS::EC2::VPC":
		r := mk(resource.VPC)
		r.Name = str(cfg["vpcId"])
		if r.Name == "" {
			r.Name = str(it["resourceId"])
		}
		r.Set("flow_logs", false, o)
		return r
	case "AWS::GuardDuty::Detector":
		r := mk(resource.GuardDutyDetector)
		r.Set("enabled", truthy(cfg["Enable"]) || strings.EqualFold(str(cfg["status"]), "ENABLED"), o)
		return r
	case "AWS::EC2::Instance":
		r := mk(resource.EC2Instance)
		r.Set("imdsv2_required", str(dec(cfg["metadataOptions"])["httpTokens"]) == "required", o)
		r.Set("public_ip", str(cfg["publicIpAddress"]) != "", o)
		r.Set("root_encrypted", resource.Unknown, o) // the volume's own item says
		r.Set("detailed_monitoring", strings.EqualFold(str(dec(cfg["monitoring"])["state"]), "enabled"), o)
		r.Set("instance_profile", str(dec(cfg["iamInstanceProfile"])["arn"]) != "", o)
		return r
	}
	return generic(it, mk) // types content/resources maps
}

// docNeptune sets what a DocumentDB or Neptune cluster's item says.
func docNeptune(r *resource.Resource, cfg map[string]any, o resource.Origin) *resource.Resource {
	r.Set("encrypted", truthy(cfg["storageEncrypted"]), o)
	logs := []any{}
	if l, ok := cfg["enabledCloudwatchLogsExports"].([]any); ok {
		logs = l
	}
	r.Set("log_exports", logs, o)
	r.Set("backup_retention", num(cfg["backupRetentionPeriod"]), o)
	r.Set("deletion_protection", truthy(cfg["deletionProtection"]), o)
	return r
}
