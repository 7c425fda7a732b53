// Package asff decodes findings in the AWS Security Finding Format — what
// AWS Security Hub holds, GetFindings returns and EventBridge carries as
// "Security Hub Findings - Imported" — into events that later stages treat
// as external findings, as they do GuardDuty's: title, severity, resources,
// account and region, the ATT&CK tactics its TTPs types name.
package asff

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/decode"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/jsonscan"
)

// ErrNotFinding: the object lacks an ASFF finding's Id, ProductArn or
// GeneratorId.
var ErrNotFinding = errors.New("not an ASFF finding: needs Id, ProductArn and GeneratorId")

// ErrSkipped marks a finding Parapet leaves out on purpose (see Skip): it
// is counted as skipped, not as bad input.
var ErrSkipped = errors.New("ASFF finding skipped")

// ProductName is the ProductName (and CompanyName) Parapet sets on the
// findings it exports; ProductField is the ProductFields key holding the
// Parapet id of the finding or incident exported.
const (
	ProductName  = "Parapet"
	ProductField = "parapet/id"
)

// Skip says why a finding is not made an event, or "" to keep it:
// Parapet's own exported findings (reading them back would loop) and
// GuardDuty's (Parapet ingests GuardDuty findings natively, with more
// detail than their ASFF copy).
func Skip(rec []byte) string {
	get := func(path string) string { return jsonscan.GetString(rec, path) }
	if get("ProductName") == ProductName || get("ProductFields."+ProductField) != "" {
		return "exported by Parapet"
	}
	if strings.HasSuffix(get("ProductArn"), ":product/aws/guardduty") {
		return "from GuardDuty, which Parapet reads natively"
	}
	return ""
}

// Decode normalizes one ASFF finding object. A finding Skip names gives
// an error wrapping ErrSkipped.
func Decode(rec []byte, ev *event.Event) error {
	if err := jsonscan.Valid(rec); err != nil {
		return err
	}
	get := func(path string) string { return jsonscan.GetString(rec, path) }
	num := func(path string) (float64, bool) { return jsonscan.GetNumber(rec, path) }
	id, product, generator := get("Id"), get("ProductArn"), get("GeneratorId")
	if id == "" || product == "" || generator == "" {
		return ErrNotFinding
	}
	if why := Skip(rec); why != "" {
		return fmt.Errorf("%w: %s: %s", ErrSkipped, id, why)
	}
	f := &event.Finding{
		UID:         id,
		Type:        generator,
		Title:       get("Title"),
		Description: get("Description"),
		Product:     get("ProductName"),
		Workflow:    get("Workflow.Status"),
		Archived:    get("RecordState") == "ARCHIVED",
	}
	if strings.HasPrefix(id, "arn:") {
		f.ARN = id
	}
	if f.Product == "" {
		f.Product = productOf(product)
	}
	if f.Workflow == "" {
		f.Workflow = get("WorkflowState")
	}
	if vs, ve, ok := jsonscan.Get(rec, 0, "Types"); ok && rec[vs] == '[' {
		_, _ = jsonscan.ArrayEach(rec[:ve], vs, func(es, ee int) error {
			if rec[es] == '"' {
				f.Types = append(f.Types, jsonscan.Unquote(rec[es:ee]))
			}
			return nil
		})
	}
	f.Severity, _ = num("Severity.Normalized")
	f.Level = Level(get("Severity.Label"), f.Severity)
	if _, ok := num("Severity.Normalized"); !ok && get("Severity.Label") == "" {
		// The deprecated Product-only form.
		if p, ok := num("Severity.Product"); ok {
			f.Severity = p
			f.Level = Level("", p)
		}
	}
	if n, ok := num("Count"); ok {
		f.Count = int64(n)
	}
	f.FirstSeen = parseTime(get("FirstObservedAt"))
	f.LastSeen = parseTime(get("LastObservedAt"))

	*ev = event.Event{
		ID:       id,
		Source:   event.SourceSecurityHub,
		Class:    event.ClassDetectionFinding,
		Activity: 1, // Create
		Type:     generator,
		Finding:  f,
		Raw:      event.Raw{Format: event.RawJSON, Data: rec},
		Outcome:  event.OutcomeUnknown,
		Cloud: event.Cloud{
			Provider:  "aws",
			Partition: partitionOf(product),
			Account:   get("AwsAccountId"),
			Region:    get("Region"),
		},
	}
	if ev.Cloud.Region == "" {
		ev.Cloud.Region = field(product, 3)
	}
	created, updated := parseTime(get("CreatedAt")), parseTime(get("UpdatedAt"))
	ev.Time = updated
	if ev.Time.IsZero() {
		ev.Time = created
	}
	if ev.Time.IsZero() {
		return fmt.Errorf("asff finding %s: no valid UpdatedAt or CreatedAt", id)
	}
	if !created.IsZero() && updated.After(created) {
		ev.Activity = 2 // Update
	}

	// Network and process details, when the finding has them.
	if a, err := netip.ParseAddr(firstOf(get("Network.SourceIpV4"), get("Network.SourceIpV6"),
		get("Action.AwsApiCallAction.RemoteIpDetails.IpAddressV4"),
		get("Action.NetworkConnectionAction.RemoteIpDetails.IpAddressV4"))); err == nil {
		ev.Src.IP = a
	}
	if a, err := netip.ParseAddr(firstOf(get("Network.DestinationIpV4"), get("Network.DestinationIpV6"))); err == nil {
		ev.Dst.IP = a
	}
	if p, ok := num("Network.SourcePort"); ok && p > 0 && p < 65536 {
		ev.Src.Port = uint16(p)
	}
	if p, ok := num("Network.DestinationPort"); ok && p > 0 && p < 65536 {
		ev.Dst.Port = uint16(p)
	}
	ev.Dst.Domain = firstOf(get("Network.DestinationDomain"), get("Action.DnsRequestAction.Domain"))
	if !ev.Dst.IP.IsValid() && ev.Dst.Domain == "" {
		ev.Dst.Port = 0 // a port alone names no endpoint
	}
	if !ev.Src.IP.IsValid() {
		ev.Src.Port = 0
	}
	ev.API.Service = get("Action.AwsApiCallAction.ServiceName")
	ev.API.Operation = get("Action.AwsApiCallAction.Api")

	// The resources it is about; an access key one names the actor.
	if vs, ve, ok := jsonscan.Get(rec, 0, "Resources"); ok && rec[vs] == '[' {
		_, _ = jsonscan.ArrayEach(rec[:ve], vs, func(es, ee int) error {
			resource(rec[es:ee], ev)
			return nil
		})
	}
	return nil
}

// resource appends one element of Resources.
func resource(b []byte, ev *event.Event) {
	get := func(path string) string {
		vs, ve, ok := jsonscan.Get(b, 0, path)
		if !ok || b[vs] != '"' {
			return ""
		}
		return jsonscan.Unquote(b[vs:ve])
	}
	typ, id := get("Type"), get("Id")
	if typ == "" && id == "" {
		return
	}
	r := event.Resource{Type: ResourceType(typ), UID: id, Name: id, Account: ev.Cloud.Account}
	if strings.HasPrefix(id, "arn:") {
		r.Name = arnName(id)
		if a := field(id, 4); a != "" {
			r.Account = a
		}
	}
	switch typ {
	case "AwsEc2Instance":
		ev.Dst.InstanceID = r.Name
	case "AwsIamAccessKey":
		ev.Actor.AccessKeyID = firstOf(get("Details.AwsIamAccessKey.AccessKeyId"), r.Name)
		ev.Actor.UserName = get("Details.AwsIamAccessKey.PrincipalName")
		ev.Actor.PrincipalID = get("Details.AwsIamAccessKey.PrincipalId")
		ev.Actor.Type = get("Details.AwsIamAccessKey.PrincipalType")
		ev.Actor.Account = ev.Cloud.Account
	case "AwsIamUser", "AwsIamRole":
		if ev.Actor.ARN == "" && strings.HasPrefix(id, "arn:") {
			ev.Actor.ARN = id
			ev.Actor.Account = r.Account
		}
	}
	ev.Resources = append(ev.Resources, r)
}

// resourceTypes maps ASFF resource types to the CloudFormation names the
// rest of Parapet uses; others keep their ASFF name.
var resourceTypes = map[string]string{
	"AwsAccount":                "AWS::::Account",
	"AwsEc2Instance":            "AWS::EC2::Instance",
	"AwsEc2SecurityGroup":       "AWS::EC2::SecurityGroup",
	"AwsEc2Volume":              "AWS::EC2::Volume",
	"AwsEc2Vpc":                 "AWS::EC2::VPC",
	"AwsEc2NetworkInterface":    "AWS::EC2::NetworkInterface",
	"AwsIamAccessKey":           "AWS::IAM::AccessKey",
	"AwsIamUser":                "AWS::IAM::User",
	"AwsIamRole":                "AWS::IAM::Role",
	"AwsIamPolicy":              "AWS::IAM::ManagedPolicy",
	"AwsS3Bucket":               "AWS::S3::Bucket",
	"AwsS3Object":               "AWS::S3::Object",
	"AwsKmsKey":                 "AWS::KMS::Key",
	"AwsLambdaFunction":         "AWS::Lambda::Function",
	"AwsRdsDbInstance":          "AWS::RDS::DBInstance",
	"AwsCloudTrailTrail":        "AWS::CloudTrail::Trail",
	"AwsEksCluster":             "AWS::EKS::Cluster",
	"AwsEcrContainerImage":      "AWS::ECR::Image",
	"AwsSecretsManagerSecret":   "AWS::SecretsManager::Secret",
	"AwsSnsTopic":               "AWS::SNS::Topic",
	"AwsSqsQueue":               "AWS::SQS::Queue",
	"AwsDynamoDbTable":          "AWS::DynamoDB::Table",
	"AwsElbv2LoadBalancer":      "AWS::ElasticLoadBalancingV2::LoadBalancer",
	"AwsCloudFormationStack":    "AWS::CloudFormation::Stack",
	"AwsGuardDutyDetector":      "AWS::GuardDuty::Detector",
	"AwsEfsAccessPoint":         "AWS::EFS::AccessPoint",
	"AwsCloudWatchAlarm":        "AWS::CloudWatch::Alarm",
	"AwsApiGatewayV2Stage":      "AWS::ApiGatewayV2::Stage",
	"AwsCertificateManagerCert": "AWS::CertificateManager::Certificate",
}

// ResourceType gives the CloudFormation name of an ASFF resource type.
func ResourceType(asff string) string {
	if t, ok := resourceTypes[asff]; ok {
		return t
	}
	return asff
}

// ASFFType is ResourceType's inverse; "Other" for types ASFF has no name
// for.
func ASFFType(cfn string) string {
	for k, v := range resourceTypes {
		if v == cfn {
			return k
		}
	}
	return "Other"
}

// Level maps a Severity.Label, or failing it Severity.Normalized (0–100,
// banded as Security Hub documents), to Parapet's levels.
func Level(label string, normalized float64) string {
	switch l := strings.ToLower(label); l {
	case "informational", "low", "medium", "high", "critical":
		return l
	}
	switch {
	case normalized >= 90:
		return "critical"
	case normalized >= 70:
		return "high"
	case normalized >= 40:
		return "medium"
	case normalized >= 1:
		return "low"
	}
	return "informational"
}

// tactics are the ATT&CK tactics as ASFF's TTPs category names them.
var tactics = map[string]string{
	"initial access":       "initial-access",
	"execution":            "execution",
	"persistence":          "persistence",
	"privilege escalation": "privilege-escalation",
	"defense evasion":      "defense-evasion",
	"credential access":    "credential-access",
	"discovery":            "discovery",
	"lateral movement":     "lateral-movement",
	"collection":           "collection",
	"command and control":  "command-and-control",
	"exfiltration":         "exfiltration",
	"impact":               "impact",
	"reconnaissance":       "reconnaissance",
	"resource development": "resource-development",
}

// Tactics gives the ATT&CK tactics a finding's types name
// (TTPs/<tactic>/…), and any technique ids (T1078, T1078.004) that appear
// as a path segment or at the start of one.
func Tactics(types []string) (tacts, techniques []string) {
	seen := map[string]bool{}
	for _, t := range types {
		parts := strings.Split(t, "/")
		if len(parts) >= 2 && parts[0] == "TTPs" {
			if s, ok := tactics[strings.ToLower(strings.TrimSpace(parts[1]))]; ok && !seen[s] {
				seen[s] = true
				tacts = append(tacts, s)
			}
		}
		for _, p := range parts {
			if id := techniqueID(p); id != "" && !seen[id] {
				seen[id] = true
				techniques = append(techniques, id)
			}
		}
	}
	return tacts, techniques
}

// Tactic gives the ASFF TTPs category name of an ATT&CK tactic slug.
func Tactic(slug string) string {
	for k, v := range tactics {
		if v == slug {
			words := strings.Fields(k)
			for i, w := range words {
				if w != "and" {
					words[i] = strings.ToUpper(w[:1]) + w[1:]
				}
			}
			return strings.Join(words, " ")
		}
	}
	return ""
}

// techniqueID gives the ATT&CK technique id s starts with: T and four
// digits, optionally .and three.
func techniqueID(s string) string {
	s = strings.TrimSpace(s)
	if len(s) < 5 || s[0] != 'T' || !digits(s[1:5]) {
		return ""
	}
	n := 5
	if len(s) >= 9 && s[5] == '.' && digits(s[6:9]) {
		n = 9
	}
	if len(s) > n && (s[n] >= '0' && s[n] <= '9' || s[n] >= 'A' && s[n] <= 'Z' || s[n] >= 'a' && s[n] <= 'z') {
		return ""
	}
	return s[:n]
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// productOf names the product from its ARN: …:product/<company>/<product>.
func productOf(arn string) string {
	_, p, ok := strings.Cut(arn, ":product/")
	if !ok {
		return arn
	}
	return p
}

func partitionOf(arn string) string {
	if p := field(arn, 1); p != "" {
		return p
	}
	return "aws"
}

// field gives the i-th colon-separated field of an ARN.
func field(arn string, i int) string {
	fs := strings.SplitN(arn, ":", 6)
	if len(fs) != 6 || fs[0] != "arn" {
		return ""
	}
	return fs[i]
}

// arnName is the last path segment of an ARN's resource.
func arnName(arn string) string {
	r := field(arn, 5)
	if i := strings.LastIndexAny(r, "/:"); i >= 0 {
		r = r[i+1:]
	}
	if r == "" {
		return arn
	}
	return r
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := decode.ParseTime(s)
	if err != nil {
		return time.Time{}
	}
	return t
}
