// Package resource is Parapet's model of AWS resources for posture
// checks: one shape per resource type, filled alike from Terraform,
// CloudFormation, AWS Config and the live account, so that one check
// answers for all of them. Every resource and attribute remembers where it
// came from: a file position or an ARN.
package resource

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Types of the model. The names follow Terraform's, which most readers know.
const (
	S3Bucket             = "aws_s3_bucket"
	S3AccountBlock       = "aws_s3_account_public_access_block"
	SecurityGroup        = "aws_security_group"
	NetworkACL           = "aws_network_acl"
	IAMUser              = "aws_iam_user"
	IAMRole              = "aws_iam_role"
	IAMGroup             = "aws_iam_group"
	IAMPolicy            = "aws_iam_policy" // managed and inline policies
	IAMPasswordPolicy    = "aws_iam_account_password_policy"
	IAMRoot              = "aws_iam_root"
	CloudTrail           = "aws_cloudtrail"
	KMSKey               = "aws_kms_key"
	RDSInstance          = "aws_db_instance"
	EBSVolume            = "aws_ebs_volume"
	EBSDefault           = "aws_ebs_encryption_by_default"
	VPC                  = "aws_vpc"
	GuardDutyDetector    = "aws_guardduty_detector"
	ConfigRecorder       = "aws_config_configuration_recorder"
	EC2Instance          = "aws_instance"
	LambdaFunctionURL    = "aws_lambda_function_url"
	CloudTrailSelector   = "aws_cloudtrail_event_selector"
	AccessAnalyzer       = "aws_accessanalyzer_analyzer"
	SecurityHub          = "aws_securityhub_account"
	EFSFileSystem        = "aws_efs_file_system"
	IAMServerCertificate = "aws_iam_server_certificate"
)

// Origin is where a value came from.
type Origin struct {
	File      string `json:"file,omitempty"`
	StartLine int    `json:"start_line,omitempty"`
	EndLine   int    `json:"end_line,omitempty"`
	Column    int    `json:"column,omitempty"`
	ARN       string `json:"arn,omitempty"`
}

func (o Origin) String() string {
	if o.ARN != "" {
		return o.ARN
	}
	if o.File == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d:%d", o.File, o.StartLine, o.Column)
}

// Unknown stands for a value known only after apply (a computed
// attribute, a data source): checks that read it are "unknown", not
// failed.
const Unknown = "(known after apply)"

// Resource is one resource in the model.
type Resource struct {
	Type     string            `json:"type"`
	Name     string            `json:"name"`              // logical name: bucket name, user name, Terraform address
	Address  string            `json:"address,omitempty"` // Terraform address or CloudFormation logical id
	ARN      string            `json:"arn,omitempty"`
	Account  string            `json:"account,omitempty"`
	Region   string            `json:"region,omitempty"`
	Source   string            `json:"source"` // terraform, cloudformation, config, aws
	Location Origin            `json:"location"`
	Attrs    map[string]any    `json:"attrs"`
	Origins  map[string]Origin `json:"-"` // attribute path → where it was set
	// Suppressed holds the check ids suppressed on this resource
	// (parapet:ignore comments), with their reasons.
	Suppressed map[string]string `json:"-"`
	// Policy is a bucket's policy document as the live account returned
	// it: the response engine's history of observed policies, so that a
	// bad change can be reverted to it.
	Policy string `json:"-"`
}

// Set sets an attribute and where it came from.
func (r *Resource) Set(path string, v any, o Origin) {
	if r.Attrs == nil {
		r.Attrs = map[string]any{}
	}
	if r.Origins == nil {
		r.Origins = map[string]Origin{}
	}
	r.Attrs[path] = v
	if o.File != "" || o.ARN != "" {
		r.Origins[path] = o
	}
}

// Get reads a top-level attribute.
func (r *Resource) Get(path string) (any, bool) {
	v, ok := r.Attrs[path]
	return v, ok
}

// ID names the resource for reports: its ARN, else its address, else its
// name.
func (r *Resource) ID() string {
	switch {
	case r.ARN != "":
		return r.ARN
	case r.Address != "":
		return r.Address
	}
	return r.Name
}

// Doc is the resource as checks see it.
func (r *Resource) Doc() map[string]any {
	d := make(map[string]any, len(r.Attrs)+4)
	for k, v := range r.Attrs {
		d[k] = v
	}
	d["_type"], d["_name"], d["_source"] = r.Type, r.Name, r.Source
	return d
}

// Statement is one IAM statement, normalized: lists for actions,
// resources and principals.
type Statement struct {
	Effect       string   `json:"effect"`
	Actions      []string `json:"actions"`
	NotActions   []string `json:"not_actions"`
	Resources    []string `json:"resources"`
	Principals   []string `json:"principals"` // "*", or ARNs, service names, account ids
	HasCondition bool     `json:"has_condition"`
}

// ParsePolicy normalizes an IAM policy document (a JSON string or an
// already decoded object) into statements as checks see them: a list of
// maps. It returns nil when the document is unknown or not a policy.
func ParsePolicy(doc any) []any {
	m, ok := doc.(map[string]any)
	if !ok {
		return nil
	}
	var stmts []any
	switch s := m["Statement"].(type) {
	case []any:
		stmts = s
	case map[string]any:
		stmts = []any{s}
	}
	var out []any
	for _, s := range stmts {
		sm, ok := s.(map[string]any)
		if !ok {
			continue
		}
		_, cond := sm["Condition"]
		keys := conditionKeys(sm["Condition"])
		out = append(out, map[string]any{
			"conditions":    keys, // "aws:securetransport=false"
			"effect":        fmt.Sprint(sm["Effect"]),
			"actions":       strs(sm["Action"]),
			"not_actions":   strs(sm["NotAction"]),
			"resources":     strs(sm["Resource"]),
			"principals":    principals(sm["Principal"]),
			"has_condition": cond,
		})
	}
	return out
}

// conditionKeys flattens a Condition block into sorted "key=value"
// strings, lowercased, one per value ("aws:securetransport=false"), so a
// check can test for a condition without knowing its operator.
func conditionKeys(c any) []any {
	cm, ok := c.(map[string]any)
	if !ok {
		return []any{}
	}
	var keys []string
	for _, ops := range cm {
		om, ok := ops.(map[string]any)
		if !ok {
			continue
		}
		for k, v := range om {
			for _, val := range strs(v) {
				keys = append(keys, strings.ToLower(k)+"="+strings.ToLower(fmt.Sprint(val)))
			}
			if b, ok := v.(bool); ok {
				keys = append(keys, strings.ToLower(k)+"="+fmt.Sprint(b))
			}
		}
	}
	sort.Strings(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return out
}

func strs(v any) []any {
	switch x := v.(type) {
	case string:
		return []any{x}
	case []any:
		var out []any
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return []any{}
}

func principals(v any) []any {
	switch x := v.(type) {
	case string:
		return []any{x}
	case map[string]any:
		var out []any
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, p := range strs(x[k]) {
				out = append(out, p)
			}
		}
		return out
	}
	return []any{}
}

// Lower is strings.ToLower for values that may be unknown.
func Lower(v any) string { return strings.ToLower(fmt.Sprint(v)) }

// DecodeInventory reads resources as the live inventory yields them,
// {"resources":[{"type":…,"name":…,"arn":…,"attrs":{…}}]}: the form of
// check examples for what only the account knows. Every attribute's
// origin is the resource's ARN.
func DecodeInventory(data []byte) ([]*Resource, error) {
	var doc struct {
		Resources []*Resource `json:"resources"`
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	for i, r := range doc.Resources {
		if r.Type == "" || r.ARN == "" {
			return nil, fmt.Errorf("inventory: resource %d needs a type and an ARN", i)
		}
		if r.Source == "" {
			r.Source = "aws"
		}
		r.Location = Origin{ARN: r.ARN}
		r.Origins = map[string]Origin{}
		for k := range r.Attrs {
			r.Origins[k] = Origin{ARN: r.ARN}
		}
	}
	return doc.Resources, nil
}

// AnyStar says whether a list holds "*" (CORS origins, principals): unknown
// when the list, or one of its values, is not known statically.
func AnyStar(v any) any {
	if v == Unknown {
		return Unknown
	}
	l, _ := v.([]any)
	unknown := false
	for _, e := range l {
		switch e {
		case "*":
			return true
		case Unknown:
			unknown = true
		}
	}
	if unknown {
		return Unknown
	}
	return false
}
