package cloudformation

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

func str(v any) string {
	s, _ := v.(string)
	return s
}

func m(v any) map[string]any {
	x, _ := v.(map[string]any)
	return x
}

// strOrUnknown is a string property, Unknown when it did not resolve to
// one.
func strOrUnknown(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return resource.Unknown
}

func metricName(ns, name any) string {
	a, b := strOrUnknown(ns), strOrUnknown(name)
	if a == resource.Unknown || b == resource.Unknown {
		return resource.Unknown
	}
	return a + "/" + b
}

func l(v any) []any {
	x, _ := v.([]any)
	return x
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

func num(v any, def float64) any {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		if x == resource.Unknown {
			return x
		}
		var f float64
		if _, err := fmt.Sscan(x, &f); err == nil {
			return f
		}
	}
	return def
}

func statements(doc any) any {
	if doc == resource.Unknown {
		return resource.Unknown
	}
	if st := resource.ParsePolicy(doc); st != nil {
		return st
	}
	return []any{}
}

var publicACLs = map[string]bool{"PublicRead": true, "PublicReadWrite": true, "AuthenticatedRead": true}

// refID is the logical id a Ref or GetAtt names, or "".
func refID(v any) string {
	s := str(v)
	for _, p := range []string{"ref:", "getatt:"} {
		if strings.HasPrefix(s, p) {
			return s[len(p):]
		}
	}
	return ""
}

func sgRule(r map[string]any) map[string]any {
	proto := strings.ToLower(fmt.Sprint(r["IpProtocol"]))
	from, _ := num(r["FromPort"], 0).(float64)
	to, _ := num(r["ToPort"], 0).(float64)
	if proto == "-1" || proto == "all" {
		proto, from, to = "-1", 0, 65535
	}
	v4, v6 := []any{}, []any{}
	if c := str(r["CidrIp"]); c != "" {
		v4 = append(v4, resource.NormalizeCIDR(c))
	}
	if c := str(r["CidrIpv6"]); c != "" {
		v6 = append(v6, resource.NormalizeCIDR(c))
	}
	return map[string]any{"protocol": proto, "from_port": from, "to_port": to, "cidr_blocks": v4, "ipv6_cidr_blocks": v6}
}

func (t *template) model(ignores map[int][2]string) []*resource.Resource {
	byID := map[string]*resource.Resource{}
	byName := map[string]*resource.Resource{} // model type/literal name
	var out []*resource.Resource
	type later struct {
		id    string
		typ   string
		props map[string]any
		o     map[string]resource.Origin
		n     *yaml.Node
	}
	var second []later
	var joins []later // mapped resources that name others: Aurora members, policies naming users
	for _, id := range t.order {
		n := t.resources[id]
		props, origins, cond := t.properties(n)
		if cond == false {
			continue // the condition is statically false: not created
		}
		typ := typeOf(n)
		loc := resource.Origin{File: t.file, StartLine: n.Line, EndLine: resourceEnd(n), Column: n.Column}
		at := func(k string) resource.Origin {
			if o, ok := origins[k]; ok {
				return o
			}
			return loc
		}
		add := func(mt, name string) *resource.Resource {
			if name == "" || name == resource.Unknown {
				name = id
			}
			r := &resource.Resource{Type: mt, Name: name, Address: id, Source: "cloudformation", Location: loc, Attrs: map[string]any{}, Origins: map[string]resource.Origin{}, Suppressed: map[string]string{}}
			// Suppressions: comments inside the resource or on the line
			// above it.
			for line := n.Line - 2; line <= loc.EndLine; line++ {
				if ig, ok := ignores[line]; ok {
					r.Suppressed[ig[0]] = ig[1]
				}
			}
			byID[id] = r
			if name != id && byName[mt+"/"+name] == nil {
				byName[mt+"/"+name] = r
			}
			out = append(out, r)
			return r
		}
		made := len(out)
		switch typ {
		case "AWS::S3::Bucket":
			r := add(resource.S3Bucket, str(props["BucketName"]))
			acl := str(props["AccessControl"])
			r.Set("acl", acl, at("AccessControl"))
			r.Set("public_acl", publicACLs[acl], at("AccessControl"))
			r.Set("policy_statements", []any{}, loc)
			if pab := m(props["PublicAccessBlockConfiguration"]); pab != nil {
				r.Set("public_access_block", map[string]any{"block_public_acls": truthy(pab["BlockPublicAcls"]), "block_public_policy": truthy(pab["BlockPublicPolicy"]),
					"ignore_public_acls": truthy(pab["IgnorePublicAcls"]), "restrict_public_buckets": truthy(pab["RestrictPublicBuckets"])}, at("PublicAccessBlockConfiguration"))
			} else {
				r.Set("public_access_block", nil, loc)
			}
			var enc map[string]any
			if rules := l(m(props["BucketEncryption"])["ServerSideEncryptionConfiguration"]); len(rules) > 0 {
				enc = m(m(rules[0])["ServerSideEncryptionByDefault"])
			}
			if enc != nil {
				r.Set("encryption", map[string]any{"algorithm": str(enc["SSEAlgorithm"]), "kms_key": str(enc["KMSMasterKeyID"])}, at("BucketEncryption"))
			} else {
				r.Set("encryption", nil, loc)
			}
			r.Set("versioning", str(m(props["VersioningConfiguration"])["Status"]) == "Enabled", at("VersioningConfiguration"))
			// CloudFormation cannot turn MFA delete on (only the root user
			// can, through the API): the template does not say.
			r.Set("mfa_delete", resource.Unknown, at("VersioningConfiguration"))
			r.Set("logging", props["LoggingConfiguration"] != nil, at("LoggingConfiguration"))
			r.Set("object_lock", truthy(props["ObjectLockEnabled"]), at("ObjectLockEnabled"))
		case "AWS::EC2::SecurityGroup":
			r := add(resource.SecurityGroup, str(props["GroupName"]))
			in, eg := []any{}, []any{}
			for _, x := range l(props["SecurityGroupIngress"]) {
				in = append(in, sgRule(m(x)))
			}
			for _, x := range l(props["SecurityGroupEgress"]) {
				eg = append(eg, sgRule(m(x)))
			}
			r.Set("ingress", in, at("SecurityGroupIngress"))
			r.Set("egress", eg, at("SecurityGroupEgress"))
		case "AWS::EC2::NetworkAcl":
			r := add(resource.NetworkACL, "")
			r.Set("ingress", []any{}, loc)
		case "AWS::IAM::User":
			r := add(resource.IAMUser, str(props["UserName"]))
			r.Set("access_keys", 0.0, loc)
			r.Set("oldest_active_key_days", 0.0, loc)
			r.Set("mfa", resource.Unknown, loc)
			r.Set("credentials_unused_days", resource.Unknown, loc)
			r.Set("console_password", props["LoginProfile"] != nil, at("LoginProfile"))
			if len(l(props["ManagedPolicyArns"])) > 0 || len(l(props["Policies"])) > 0 {
				r.Set("direct_policies", true, at("ManagedPolicyArns"))
			}
			t.inlinePolicies(id, props, at, &out)
			iamPrincipal(r, props, at)
			groups := []any{}
			for _, g := range l(props["Groups"]) {
				groups = append(groups, ref(g))
			}
			r.Set(resource.AttrGroups, groups, at("Groups"))
		case "AWS::IAM::Role":
			r := add(resource.IAMRole, str(props["RoleName"]))
			r.Set("trust_statements", statements(props["AssumeRolePolicyDocument"]), at("AssumeRolePolicyDocument"))
			r.Set(resource.AttrTrustDocument, docText(props["AssumeRolePolicyDocument"]), at("AssumeRolePolicyDocument"))
			t.inlinePolicies(id, props, at, &out)
			iamPrincipal(r, props, at)
		case "AWS::IAM::Group":
			r := add(resource.IAMGroup, str(props["GroupName"]))
			iamPrincipal(r, props, at)
		case "AWS::IAM::UserToGroupAddition":
			joins = append(joins, later{id: id, typ: typ, props: props, o: origins, n: n})
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::UserPolicy":
			r := add(resource.IAMPolicy, str(props["PolicyName"])+str(props["ManagedPolicyName"]))
			r.Set("statements", statements(props["PolicyDocument"]), at("PolicyDocument"))
			r.Set("inline", typ != "AWS::IAM::ManagedPolicy", loc)
			r.Set(resource.AttrDocument, docText(props["PolicyDocument"]), at("PolicyDocument"))
			joins = append(joins, later{id: id, typ: typ, props: props, o: origins, n: n}) // the users it is attached to
		case "AWS::CloudTrail::Trail":
			r := add(resource.CloudTrail, str(props["TrailName"]))
			r.Set("multi_region", truthy(props["IsMultiRegionTrail"]), at("IsMultiRegionTrail"))
			r.Set("log_file_validation", truthy(props["EnableLogFileValidation"]), at("EnableLogFileValidation"))
			// An empty KMSKeyId is no key.
			r.Set("kms_encrypted", props["KMSKeyId"] != nil && props["KMSKeyId"] != "", at("KMSKeyId"))
			r.Set("logging", props["IsLogging"] == nil || truthy(props["IsLogging"]), at("IsLogging"))
			r.Set("global_service_events", props["IncludeGlobalServiceEvents"] == nil || truthy(props["IncludeGlobalServiceEvents"]), at("IncludeGlobalServiceEvents"))
			// CloudTrail delivers to the log group only through the role.
			r.Set("cloudwatch_logs", props["CloudWatchLogsLogGroupArn"] != nil && props["CloudWatchLogsLogGroupArn"] != "" &&
				props["CloudWatchLogsRoleArn"] != nil && props["CloudWatchLogsRoleArn"] != "", at("CloudWatchLogsLogGroupArn"))
			r.Set("cloudwatch_log_group", resource.LogGroupName(props["CloudWatchLogsLogGroupArn"]), at("CloudWatchLogsLogGroupArn"))
			w, rd := resource.S3DataEvents(l(props["EventSelectors"]), l(props["AdvancedEventSelectors"]))
			r.Set("s3_write_data_events", w, at("EventSelectors"))
			r.Set("s3_read_data_events", rd, at("EventSelectors"))
		case "AWS::EFS::FileSystem":
			r := add(resource.EFSFileSystem, "")
			r.Set("encrypted", truthy(props["Encrypted"]), at("Encrypted"))
		case "AWS::AccessAnalyzer::Analyzer":
			r := add(resource.AccessAnalyzer, str(props["AnalyzerName"]))
			r.Set("active", true, loc)
		case "AWS::SecurityHub::Hub":
			r := add(resource.SecurityHub, "securityhub")
			r.Set("enabled", true, loc)
		case "AWS::IAM::ServerCertificate":
			r := add(resource.IAMServerCertificate, str(props["ServerCertificateName"]))
			r.Set("days_to_expiry", resource.CertDaysToExpiry(props["CertificateBody"], time.Now()), at("CertificateBody"))
		case "AWS::Logs::MetricFilter":
			r := add(resource.MetricFilter, str(props["FilterName"]))
			r.Set("log_group", strOrUnknown(props["LogGroupName"]), at("LogGroupName"))
			r.Set("pattern", strOrUnknown(props["FilterPattern"]), at("FilterPattern"))
			var metrics []any
			for _, t := range l(props["MetricTransformations"]) {
				metrics = append(metrics, metricName(m(t)["MetricNamespace"], m(t)["MetricName"]))
			}
			r.Set("metrics", metrics, at("MetricTransformations"))
		case "AWS::CloudWatch::Alarm":
			r := add(resource.MetricAlarm, str(props["AlarmName"]))
			r.Set("metrics", []any{metricName(props["Namespace"], props["MetricName"])}, at("MetricName"))
			r.Set("actions", float64(len(l(props["AlarmActions"]))), at("AlarmActions"))
		case "AWS::KMS::Key":
			r := add(resource.KMSKey, str(props["Description"]))
			r.Set("rotation", truthy(props["EnableKeyRotation"]), at("EnableKeyRotation"))
			spec := str(props["KeySpec"])
			if spec == "" {
				spec = "SYMMETRIC_DEFAULT"
			}
			r.Set("key_spec", spec, at("KeySpec"))
		case "AWS::RDS::DBInstance", "AWS::RDS::DBCluster":
			name := str(props["DBInstanceIdentifier"])
			if typ == "AWS::RDS::DBCluster" {
				name = str(props["DBClusterIdentifier"])
			}
			r := add(resource.RDSInstance, name)
			r.Set("public", truthy(props["PubliclyAccessible"]), at("PubliclyAccessible"))
			// Aurora Serverless v1 clusters are always encrypted.
			serverless := typ == "AWS::RDS::DBCluster" && str(props["EngineMode"]) == "serverless" && props["StorageEncrypted"] == nil
			r.Set("encrypted", serverless || truthy(props["StorageEncrypted"]), at("StorageEncrypted"))
			if typ == "AWS::RDS::DBInstance" && props["DBClusterIdentifier"] != nil {
				joins = append(joins, later{id: id, typ: typ, props: props, o: origins, n: n})
			}
			r.Set("backup_retention", num(props["BackupRetentionPeriod"], 1), at("BackupRetentionPeriod"))
			r.Set("multi_az", truthy(props["MultiAZ"]), at("MultiAZ"))
			r.Set("cluster", typ == "AWS::RDS::DBCluster", loc)
			r.Set("deletion_protection", truthy(props["DeletionProtection"]), at("DeletionProtection"))
			r.Set("iam_auth", truthy(props["EnableIAMDatabaseAuthentication"]), at("EnableIAMDatabaseAuthentication"))
			r.Set("auto_minor_upgrade", props["AutoMinorVersionUpgrade"] == nil || truthy(props["AutoMinorVersionUpgrade"]), at("AutoMinorVersionUpgrade"))
			if v := props["CopyTagsToSnapshot"]; v == resource.Unknown {
				r.Set("copy_tags", resource.Unknown, at("CopyTagsToSnapshot"))
			} else {
				r.Set("copy_tags", truthy(v), at("CopyTagsToSnapshot"))
			}
			if v := props["EnableCloudwatchLogsExports"]; v == resource.Unknown {
				r.Set("log_exports", resource.Unknown, at("EnableCloudwatchLogsExports"))
			} else {
				r.Set("log_exports", append([]any{}, l(v)...), at("EnableCloudwatchLogsExports"))
			}
			r.Set("enhanced_monitoring", resource.RDSMonitoring(typ == "AWS::RDS::DBCluster", props["MonitoringInterval"], props["Engine"]), at("MonitoringInterval"))
		case "AWS::EC2::Volume":
			r := add(resource.EBSVolume, "")
			r.Set("encrypted", truthy(props["Encrypted"]), at("Encrypted"))
		case "AWS::EC2::VPC":
			r := add(resource.VPC, "")
			r.Set("flow_logs", false, loc)
			r.Set("default_sg_restricts_all", false, loc)
		case "AWS::GuardDuty::Detector":
			r := add(resource.GuardDutyDetector, "")
			r.Set("enabled", truthy(props["Enable"]), at("Enable"))
		case "AWS::Config::ConfigurationRecorder":
			r := add(resource.ConfigRecorder, str(props["Name"]))
			rg := m(props["RecordingGroup"])
			r.Set("all_supported", rg == nil || truthy(rg["AllSupported"]), at("RecordingGroup"))
			r.Set("recording", true, loc) // a recorder in a template starts recording with its delivery channel
		case "AWS::EC2::Instance":
			r := add(resource.EC2Instance, "")
			// IMDS options live in a launch template in CloudFormation.
			if props["LaunchTemplate"] != nil {
				r.Set("imdsv2_required", resource.Unknown, at("LaunchTemplate"))
			} else {
				r.Set("imdsv2_required", false, loc)
			}
			public := false
			for _, ni := range l(props["NetworkInterfaces"]) {
				public = public || truthy(m(ni)["AssociatePublicIpAddress"])
			}
			r.Set("public_ip", public, at("NetworkInterfaces"))
			enc := false
			for _, bd := range l(props["BlockDeviceMappings"]) {
				enc = enc || truthy(m(m(bd)["Ebs"])["Encrypted"])
			}
			r.Set("root_encrypted", enc, at("BlockDeviceMappings"))
			// Monitoring and the instance profile not set here may come
			// from the launch template.
			var unset any = false
			if props["LaunchTemplate"] != nil {
				unset = resource.Unknown
			}
			switch mon := props["Monitoring"]; {
			case mon == nil:
				r.Set("detailed_monitoring", unset, loc)
			case mon == resource.Unknown:
				r.Set("detailed_monitoring", resource.Unknown, at("Monitoring"))
			default:
				r.Set("detailed_monitoring", truthy(mon), at("Monitoring"))
			}
			if str(props["IamInstanceProfile"]) != "" {
				r.Set("instance_profile", true, at("IamInstanceProfile"))
			} else {
				r.Set("instance_profile", unset, loc)
			}
		case "AWS::Lambda::Url":
			r := add(resource.LambdaFunctionURL, "")
			r.Set("auth_type", str(props["AuthType"]), at("AuthType"))
			r.Set("cors_all_origins", resource.AnyStar(m(props["Cors"])["AllowOrigins"]), at("Cors"))
		default:
			if generic(typ, props, at, add) { // types content/resources maps
				break
			}
			second = append(second, later{id: id, typ: typ, props: props, o: origins, n: n})
		}
		extend(typ, props, at, out[made:])
	}
	// find is the resource a property names: by Ref or GetAtt, by logical
	// id, or by its literal name.
	find := func(v any, typ string) *resource.Resource {
		if r := byID[refID(v)]; r != nil && r.Type == typ {
			return r
		}
		if s := str(v); s != "" && s != resource.Unknown {
			if r := byID[s]; r != nil && r.Type == typ {
				return r
			}
			return byName[typ+"/"+s]
		}
		return nil
	}
	// parent is find, or, for a resource the template does not declare,
	// one of its own with what the template cannot tell unknown, so that
	// the split resource is still evaluated.
	parent := func(s later, prop, typ string, unknowns ...string) *resource.Resource {
		if r := find(s.props[prop], typ); r != nil {
			return r
		}
		name := str(s.props[prop])
		if name == "" || name == resource.Unknown || refID(s.props[prop]) != "" {
			name = s.id
		}
		loc := resource.Origin{File: t.file, StartLine: s.n.Line, EndLine: resourceEnd(s.n), Column: s.n.Column}
		r := &resource.Resource{Type: typ, Name: name, Address: s.id, Source: "cloudformation", Location: loc, Attrs: map[string]any{}, Origins: map[string]resource.Origin{}, Suppressed: map[string]string{}}
		for line := s.n.Line - 2; line <= loc.EndLine; line++ {
			if ig, ok := ignores[line]; ok {
				r.Suppressed[ig[0]] = ig[1]
			}
		}
		for _, k := range unknowns {
			r.Set(k, resource.Unknown, loc)
		}
		byID[s.id] = r
		if name != s.id {
			byName[typ+"/"+name] = r
		}
		out = append(out, r)
		return r
	}
	for _, s := range second {
		at := func(k string) resource.Origin {
			if o, ok := s.o[k]; ok {
				return o
			}
			return resource.Origin{File: t.file, StartLine: s.n.Line, Column: s.n.Column}
		}
		p := s.props
		switch s.typ {
		case "AWS::S3::BucketPolicy":
			r := parent(s, "Bucket", resource.S3Bucket, "acl", "public_acl", "public_access_block", "encryption", "versioning", "mfa_delete", "logging", "object_lock")
			r.Set("policy_statements", statements(p["PolicyDocument"]), at("PolicyDocument"))
		case "AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress":
			prop := "GroupId"
			if p["GroupId"] == nil && p["GroupName"] != nil {
				prop = "GroupName"
			}
			if r := parent(s, prop, resource.SecurityGroup, "ingress", "egress"); r != nil {
				key := "ingress"
				if strings.HasSuffix(s.typ, "Egress") {
					key = "egress"
				}
				rules, _ := r.Attrs[key].([]any)
				r.Set(key, append(rules, sgRule(p)), at("GroupId"))
			}
		case "AWS::IAM::AccessKey":
			if r := find(p["UserName"], resource.IAMUser); r != nil {
				n, _ := r.Attrs["access_keys"].(float64)
				if str(p["Status"]) != "Inactive" {
					r.Set("access_keys", n+1, at("UserName"))
				}
			}
		case "AWS::EC2::FlowLog":
			if r := find(p["ResourceId"], resource.VPC); r != nil {
				r.Set("flow_logs", true, at("ResourceId"))
			}
		case "AWS::EC2::NetworkAclEntry":
			if truthy(p["Egress"]) {
				break
			}
			if r := parent(s, "NetworkAclId", resource.NetworkACL, "ingress"); r != nil {
				rule := sgRule(map[string]any{"IpProtocol": protoName(p["Protocol"]), "FromPort": m(p["PortRange"])["From"], "ToPort": m(p["PortRange"])["To"], "CidrIp": p["CidrBlock"], "CidrIpv6": p["Ipv6CidrBlock"]})
				rule["action"] = strings.ToLower(str(p["RuleAction"]))
				rules, _ := r.Attrs["ingress"].([]any)
				r.Set("ingress", append(rules, rule), at("NetworkAclId"))
			}
		default:
			genericJoin(s.typ, p, at, byID) // joins content/resources declares
		}
	}
	for _, s := range joins {
		at := func(k string) resource.Origin {
			if o, ok := s.o[k]; ok {
				return o
			}
			return resource.Origin{File: t.file, StartLine: s.n.Line, Column: s.n.Column}
		}
		p := s.props
		switch s.typ {
		case "AWS::RDS::DBInstance":
			// An instance in an Aurora cluster takes its storage
			// encryption, backups, deletion protection and IAM
			// authentication from the cluster; unknown when the cluster is
			// not in the template. Its storage is the cluster's, in
			// several zones.
			r := byID[s.id]
			if r == nil {
				continue
			}
			cl := find(p["DBClusterIdentifier"], resource.RDSInstance)
			for _, k := range []string{"encrypted", "backup_retention", "deletion_protection", "iam_auth", "copy_tags", "log_exports"} {
				if cl != nil {
					r.Set(k, cl.Attrs[k], cl.Origins[k])
				} else {
					r.Set(k, resource.Unknown, at("DBClusterIdentifier"))
				}
			}
			r.Set("cluster", true, at("DBClusterIdentifier"))
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::UserPolicy":
			// A policy attached to users is a direct user policy.
			users := l(p["Users"])
			if p["UserName"] != nil {
				users = append(users, p["UserName"])
			}
			for _, u := range users {
				if r := find(u, resource.IAMUser); r != nil {
					r.Set("direct_policies", true, at("Users"))
				}
			}
			// Where the policy applies, for the access graph.
			doc := docText(p["PolicyDocument"])
			for _, k := range []struct{ prop, typ string }{{"Users", resource.IAMUser}, {"Roles", resource.IAMRole}, {"Groups", resource.IAMGroup}} {
				names := l(p[k.prop])
				if k.prop == "Users" {
					names = users
				}
				for _, n := range names {
					r := find(n, k.typ)
					switch {
					case r == nil:
					case s.typ == "AWS::IAM::ManagedPolicy":
						r.AppendAttr(resource.AttrManagedPolicies, at(k.prop), s.id)
					default:
						r.AppendAttr(resource.AttrInlinePolicies, at(k.prop), resource.InlinePolicy(str(p["PolicyName"]), doc))
					}
				}
			}
		case "AWS::IAM::UserToGroupAddition":
			for _, u := range l(p["Users"]) {
				if r := find(u, resource.IAMUser); r != nil {
					r.AppendAttr(resource.AttrGroups, at("Users"), ref(p["GroupName"]))
				}
			}
		}
	}
	return append(out, resource.AccountRollup(out, false)...)
}

// protoName turns NACL protocol numbers into what rules compare.
func protoName(v any) any {
	switch fmt.Sprint(v) {
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "-1":
		return "-1"
	}
	return v
}

// inlinePolicies adds the policies a user or role carries inline.
func (t *template) inlinePolicies(id string, props map[string]any, at func(string) resource.Origin, out *[]*resource.Resource) {
	for i, p := range l(props["Policies"]) {
		pm := m(p)
		name := str(pm["PolicyName"])
		if name == "" {
			name = fmt.Sprintf("%s.Policies[%d]", id, i)
		}
		r := &resource.Resource{Type: resource.IAMPolicy, Name: name, Address: id + ".Policies." + name, Source: "cloudformation", Location: at("Policies"), Attrs: map[string]any{}, Origins: map[string]resource.Origin{}}
		r.Set("statements", statements(pm["PolicyDocument"]), at("Policies"))
		r.Set("inline", true, at("Policies"))
		*out = append(*out, r)
	}
}

// ref is what a property names: the logical id of a Ref or GetAtt, else
// the literal value.
func ref(v any) string {
	if id := refID(v); id != "" {
		return id
	}
	return str(v)
}

// docText is a policy document as JSON text for the access graph.
func docText(doc any) string {
	if doc == resource.Unknown {
		return resource.Unknown
	}
	return resource.PolicyJSON(doc)
}

// iamPrincipal sets a user's, role's or group's inline and managed
// policies and its permissions boundary.
func iamPrincipal(r *resource.Resource, props map[string]any, at func(string) resource.Origin) {
	inline := []any{}
	for _, p := range l(props["Policies"]) {
		pm := m(p)
		inline = append(inline, resource.InlinePolicy(str(pm["PolicyName"]), docText(pm["PolicyDocument"])))
	}
	r.Set(resource.AttrInlinePolicies, inline, at("Policies"))
	managed := []any{}
	for _, p := range l(props["ManagedPolicyArns"]) {
		if s := ref(p); s != "" {
			managed = append(managed, s)
		}
	}
	r.Set(resource.AttrManagedPolicies, managed, at("ManagedPolicyArns"))
	r.Set(resource.AttrBoundary, ref(props["PermissionsBoundary"]), at("PermissionsBoundary"))
}
