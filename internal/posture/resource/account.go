package resource

import (
	"crypto/x509"
	"encoding/pem"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Account-level types: what no single resource answers.
const (
	// Account is the account as a whole, rolled up from its trails,
	// metric filters and alarms (AccountRollup).
	Account      = "aws_account"
	MetricFilter = "aws_cloudwatch_log_metric_filter" // log_group, pattern, metrics ["namespace/name"]
	MetricAlarm  = "aws_cloudwatch_metric_alarm"      // metrics ["namespace/name"], actions (count)
)

// CloudTrail data-event attributes of a trail: s3_write_data_events and
// s3_read_data_events, true when its event selectors log S3 object writes
// (reads) for every bucket. cloudwatch_log_group is the name of the log
// group the trail delivers to ("" when none, Unknown when not known).

// MonitoredEvents are CIS AWS Foundations section 4's metric filters:
// each control's filter must name all of these terms (matched on the
// filter pattern with spaces removed, case-insensitively).
var MonitoredEvents = []struct {
	Control string
	Terms   []string
}{
	{"4.1", []string{`$.errorCode="*UnauthorizedOperation"`, `$.errorCode="AccessDenied*"`}},
	{"4.2", []string{`$.eventName="ConsoleLogin"`, `$.additionalEventData.MFAUsed!="Yes"`}},
	{"4.3", []string{`$.userIdentity.type="Root"`, `$.userIdentity.invokedByNOTEXISTS`, `$.eventType!="AwsServiceEvent"`}},
	{"4.4", names("DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy", "PutRolePolicy", "PutUserPolicy",
		"CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion", "AttachRolePolicy", "DetachRolePolicy",
		"AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy")},
	{"4.5", names("CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging")},
	{"4.6", []string{`$.eventName=ConsoleLogin`, `$.errorMessage="Failedauthentication"`}},
	{"4.7", append([]string{`$.eventSource=kms.amazonaws.com`}, names("DisableKey", "ScheduleKeyDeletion")...)},
	{"4.8", append([]string{`$.eventSource=s3.amazonaws.com`}, names("PutBucketAcl", "PutBucketPolicy", "PutBucketCors",
		"PutBucketLifecycle", "PutBucketReplication", "DeleteBucketPolicy", "DeleteBucketCors", "DeleteBucketLifecycle",
		"DeleteBucketReplication")...)},
	{"4.9", append([]string{`$.eventSource=config.amazonaws.com`}, names("StopConfigurationRecorder", "DeleteDeliveryChannel",
		"PutDeliveryChannel", "PutConfigurationRecorder")...)},
	{"4.10", names("AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress",
		"RevokeSecurityGroupEgress", "CreateSecurityGroup", "DeleteSecurityGroup")},
	{"4.11", names("CreateNetworkAcl", "CreateNetworkAclEntry", "DeleteNetworkAcl", "DeleteNetworkAclEntry",
		"ReplaceNetworkAclEntry", "ReplaceNetworkAclAssociation")},
	{"4.12", names("CreateCustomerGateway", "DeleteCustomerGateway", "AttachInternetGateway", "CreateInternetGateway",
		"DeleteInternetGateway", "DetachInternetGateway")},
	{"4.13", names("CreateRoute", "CreateRouteTable", "ReplaceRoute", "ReplaceRouteTableAssociation", "DeleteRouteTable",
		"DeleteRoute", "DisassociateRouteTable")},
	{"4.14", names("CreateVpc", "DeleteVpc", "ModifyVpcAttribute", "AcceptVpcPeeringConnection", "CreateVpcPeeringConnection",
		"DeleteVpcPeeringConnection", "RejectVpcPeeringConnection", "AttachClassicLinkVpc", "DetachClassicLinkVpc",
		"DisableVpcClassicLink", "EnableVpcClassicLink")},
	{"4.15", append([]string{`$.eventSource=organizations.amazonaws.com`}, names("AcceptHandshake", "AttachPolicy",
		"CreateAccount", "CreateOrganizationalUnit", "CreatePolicy", "DeclineHandshake", "DeleteOrganization",
		"DeleteOrganizationalUnit", "DeletePolicy", "DetachPolicy", "DisablePolicyType", "EnablePolicyType",
		"InviteAccountToOrganization", "LeaveOrganization", "MoveAccount", "RemoveAccountFromOrganization",
		"UpdatePolicy", "UpdateOrganizationalUnit")...)},
}

func names(ns ...string) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = `$.eventName=` + n
	}
	return out
}

var space = regexp.MustCompile(`\s+`)

// normPattern removes spaces and quotes around bare event names and
// sources, so that `$.eventName = "CreateTrail"` and `$.eventName=CreateTrail`
// compare equal; the result is lowercased.
func normPattern(p string) string {
	p = space.ReplaceAllString(p, "")
	return strings.ToLower(p)
}

// covers reports whether a filter pattern names every term.
func covers(pattern string, terms []string) bool {
	p := normPattern(pattern)
	unq := strings.ReplaceAll(p, `"`, "")
	for _, t := range terms {
		t = normPattern(t)
		if !strings.Contains(p, t) && !strings.Contains(unq, strings.ReplaceAll(t, `"`, "")) {
			return false
		}
	}
	return true
}

// AccountRollup adds one Account resource per account seen among res,
// with what only the account as a whole answers:
//
//   - monitored: the CIS 4.x controls whose metric filter exists on the
//     log group of a multi-region, logging trail, with an alarm (that has an
//     action) on the filter's metric;
//   - s3_write_data_events, s3_read_data_events: a multi-region trail logs
//     S3 object writes (reads) for every bucket (CIS 3.8, 3.9);
//   - trails: how many trails there are.
//
// A log group, pattern or metric not known statically (IaC) is taken as
// matching, since the configuration wires it; an account without any
// trail gets no rollup from IaC (a project that defines no trail is not
// the account's logging baseline), but does from the live account.
func AccountRollup(res []*Resource, live bool) []*Resource {
	type acct struct {
		trails  []*Resource
		filters []*Resource
		alarms  []*Resource
		origin  Origin
	}
	accts := map[string]*acct{}
	get := func(r *Resource) *acct {
		a := accts[r.Account]
		if a == nil {
			a = &acct{origin: r.Location}
			accts[r.Account] = a
		}
		return a
	}
	for _, r := range res {
		switch r.Type {
		case CloudTrail:
			a := get(r)
			a.trails = append(a.trails, r)
			if !live {
				a.origin = r.Location
			}
		case MetricFilter:
			get(r).filters = append(get(r).filters, r)
		case MetricAlarm:
			get(r).alarms = append(get(r).alarms, r)
		}
	}
	var out []*Resource
	ids := make([]string, 0, len(accts))
	for id := range accts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := accts[id]
		if !live && len(a.trails) == 0 {
			continue
		}
		groups := map[string]bool{} // log groups of multi-region logging trails
		anyGroup := false           // a group not known statically
		write, read := false, false
		for _, t := range a.trails {
			if t.Attrs["multi_region"] != true || t.Attrs["logging"] == false {
				continue
			}
			switch g := t.Attrs["cloudwatch_log_group"].(type) {
			case string:
				if g == Unknown {
					anyGroup = true
				} else if g != "" {
					groups[g] = true
				}
			}
			write = write || t.Attrs["s3_write_data_events"] == true
			read = read || t.Attrs["s3_read_data_events"] == true
		}
		alarmed := map[string]bool{}
		anyMetric := false
		for _, al := range a.alarms {
			if n, _ := al.Attrs["actions"].(float64); n == 0 {
				continue
			}
			for _, m := range list(al.Attrs["metrics"]) {
				if m == Unknown {
					anyMetric = true
				}
				alarmed[strings.ToLower(m)] = true
			}
		}
		monitored := []any{}
		for _, me := range MonitoredEvents {
			for _, f := range a.filters {
				g, _ := f.Attrs["log_group"].(string)
				if !(groups[g] || (g == Unknown && len(groups)+boolInt(anyGroup) > 0) || (anyGroup && g != "")) {
					continue
				}
				pat, _ := f.Attrs["pattern"].(string)
				if pat == Unknown || !covers(pat, me.Terms) {
					continue
				}
				ok := anyMetric
				for _, m := range list(f.Attrs["metrics"]) {
					ok = ok || alarmed[strings.ToLower(m)] || (m == Unknown && len(alarmed) > 0)
				}
				if ok {
					monitored = append(monitored, me.Control)
					break
				}
			}
		}
		r := &Resource{Type: Account, Name: id, Account: id, Source: "rollup", Location: a.origin,
			Attrs: map[string]any{}, Origins: map[string]Origin{}}
		if id != "" {
			r.ARN = "arn:aws:iam::" + id + ":root"
			if live {
				r.Location = Origin{ARN: r.ARN}
			}
		}
		if r.Name == "" {
			r.Name = "account"
		}
		r.Set("monitored", monitored, r.Location)
		r.Set("s3_write_data_events", write, r.Location)
		r.Set("s3_read_data_events", read, r.Location)
		r.Set("trails", float64(len(a.trails)), r.Location)
		// Known only from the live account (who holds AWSSupportAccess).
		r.Set("support_role", Unknown, r.Location)
		out = append(out, r)
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func list(v any) []string {
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = x
	case string:
		out = []string{x}
	}
	return out
}

// S3DataEvents reads a trail's event selectors (basic: ReadWriteType and
// DataResources; advanced: field selectors) and says whether they log S3
// object writes and reads for every bucket. Selectors are given as
// decoded JSON (maps with AWS's or Terraform's key names).
func S3DataEvents(basic, advanced []any) (write, read bool) {
	all := func(vals []string) bool {
		for _, v := range vals {
			v = strings.TrimSuffix(v, "/")
			if v == "arn:aws:s3" || v == "arn:aws:s3:::" || v == "arn:aws:s3:::*" {
				return true
			}
		}
		return false
	}
	get := func(m map[string]any, keys ...string) any {
		for _, k := range keys {
			if v, ok := m[k]; ok {
				return v
			}
		}
		return nil
	}
	for _, s := range basic {
		sm, _ := s.(map[string]any)
		rw, _ := get(sm, "ReadWriteType", "read_write_type", "readWriteType").(string)
		if rw == "" {
			rw = "All"
		}
		for _, d := range asList(get(sm, "DataResources", "data_resource", "dataResources")) {
			dm, _ := d.(map[string]any)
			if t, _ := get(dm, "Type", "type").(string); t != "AWS::S3::Object" || !all(list(get(dm, "Values", "values"))) {
				continue
			}
			write = write || rw == "All" || rw == "WriteOnly"
			read = read || rw == "All" || rw == "ReadOnly"
		}
	}
	for _, s := range advanced {
		sm, _ := s.(map[string]any)
		isS3, readOnly, bucketsLimited := false, "", false
		for _, f := range asList(get(sm, "FieldSelectors", "field_selector", "fieldSelectors")) {
			fm, _ := f.(map[string]any)
			field, _ := get(fm, "Field", "field").(string)
			eq := list(get(fm, "Equals", "equals"))
			switch field {
			case "resources.type":
				isS3 = len(eq) == 1 && eq[0] == "AWS::S3::Object"
			case "readOnly":
				if len(eq) == 1 {
					readOnly = strings.ToLower(eq[0])
				}
			case "resources.ARN":
				bucketsLimited = true
			}
		}
		if !isS3 || bucketsLimited {
			continue
		}
		write = write || readOnly != "true"
		read = read || readOnly != "false"
	}
	return write, read
}

func asList(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case map[string]any:
		return []any{x}
	}
	return nil
}

// LogGroupName takes a log group's name from the ARN a trail names
// (arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*): "" when there is none,
// Unknown when it is not known statically.
func LogGroupName(arn any) string {
	s, ok := arn.(string)
	switch {
	case !ok || s == "":
		return ""
	case s == Unknown || strings.Contains(s, Unknown):
		return Unknown
	}
	i := strings.Index(s, ":log-group:")
	if i < 0 {
		return Unknown
	}
	return strings.TrimSuffix(s[i+len(":log-group:"):], ":*")
}

// CertDaysToExpiry reads a PEM certificate body and gives the days left
// until it expires (negative once expired), or Unknown.
func CertDaysToExpiry(body any, now time.Time) any {
	s, ok := body.(string)
	if !ok || s == Unknown {
		return Unknown
	}
	blk, _ := pem.Decode([]byte(s))
	if blk == nil {
		return Unknown
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return Unknown
	}
	return math.Floor(c.NotAfter.Sub(now).Hours() / 24)
}
