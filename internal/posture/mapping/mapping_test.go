package mapping

import (
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

func TestDefault(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatalf("Default() = %v", err)
	}
	for _, typ := range []string{"aws_lambda_function", "aws_sqs_queue", "aws_elasticsearch_domain"} {
		if s.Terraform(typ) == nil {
			t.Errorf("Terraform(%q) = nil", typ)
		}
	}
	if s.CloudFormation("AWS::Elasticsearch::Domain").Type != "aws_opensearch_domain" {
		t.Errorf("CloudFormation alias not mapped")
	}
	if c := s.Config("AWS::WAFRegional::WebACL"); c == nil || c.Type != "aws_waf_web_acl" {
		t.Errorf("Config alias not mapped")
	}
}

func TestEval(t *testing.T) {
	doc := map[string]any{
		"metadata_options": []any{map[string]any{"http_tokens": "required"}},
		"ingress":          []any{map[string]any{"cidr": []any{"10.0.0.0/8"}}, map[string]any{"cidr": []any{"::/0"}}},
		"arn":              resource.Unknown,
		"subnets":          []any{resource.Unknown, resource.Unknown},
		"attrs":            []any{map[string]any{"Key": "a.b", "Value": "true"}},
		"containers":       `[{"privileged": true}, {"user": "1000"}]`,
		"logs":             []any{map[string]any{"type": "AUDIT", "enabled": false}, map[string]any{"type": "APP"}, map[string]any{"type": resource.Unknown, "enabled": true}},
		"policy":           `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"}}}]}`,
		"open":             `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sqs:*"}]}`,
	}
	tests := []struct {
		name string
		src  Source
		want any
	}{
		{"nested block", Source{Path: "metadata_options.http_tokens", Transform: "equals", Value: "required"}, true},
		{"absent with default", Source{Path: "x", Default: 5, HasDef: true}, 5.0},
		{"absent", Source{Path: "x", Transform: "equals", Value: true}, false},
		{"absent value", Source{Path: "x"}, nil},
		{"present unknown", Source{Path: "arn", Transform: "present"}, true},
		{"equals unknown", Source{Path: "arn", Transform: "equals", Value: "x"}, resource.Unknown},
		{"any internet", Source{Path: "ingress.cidr", Transform: "any_internet"}, true},
		{"count", Source{Path: "ingress", Transform: "count"}, 2.0},
		{"count references", Source{Path: "subnets", Transform: "count"}, 2.0},
		{"count unknown list", Source{Path: "arn", Transform: "count"}, resource.Unknown},
		{"key value", Source{Path: "attrs", Key: "a.b", Transform: "equals", Value: true}, true},
		{"alternatives", Source{Path: "nope|arn", Transform: "present"}, true},
		{"each any", Source{Each: "containers", Path: "privileged", Transform: "equals", Value: true, Default: false, HasDef: true, Combine: "any"}, true},
		{"each all", Source{Each: "containers", Path: "privileged", Transform: "equals", Value: true, Default: false, HasDef: true, Combine: "all"}, false},
		{"each unknown", Source{Each: "containers", Path: "user", Transform: "in", Values: []any{"root"}, Default: resource.Unknown, HasDef: true, Combine: "any"}, resource.Unknown},
		{"where off", Source{Each: "logs", Match: map[string]any{"type": "audit"}, Path: "enabled", Transform: "equals", Value: true, Default: true, HasDef: true, Combine: "any"}, resource.Unknown},
		{"where default", Source{Each: "logs", Match: map[string]any{"type": "APP"}, Path: "enabled", Transform: "equals", Value: true, Default: true, HasDef: true, Combine: "any"}, true},
		{"where none", Source{Each: "services", Match: map[string]any{"type": "SLOW"}, Path: "enabled", Transform: "equals", Value: true, Default: true, HasDef: true, Combine: "any"}, false},
		{"policy pinned", Source{Path: "policy", Transform: "policy_public"}, false},
		{"policy public", Source{Path: "open", Transform: "policy_public"}, true},
		{"policy absent", Source{Path: "nope", Transform: "policy_public"}, false},
		{"const", Source{Const: 1, HasConst: true}, 1.0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.src.Eval(doc); got != tc.want {
				t.Errorf("Eval(%+v) = %v, want %v", tc.src, got, tc.want)
			}
		})
	}
}

func TestKeyFields(t *testing.T) {
	doc := map[string]any{"Features": []any{
		map[string]any{"Name": "RDS_LOGIN_EVENTS", "Status": "DISABLED"},
		map[string]any{"Name": "S3_DATA_EVENTS", "Status": "ENABLED"},
	}}
	s := Source{Path: "Features", Key: "S3_DATA_EVENTS", KeyField: "Name", ValueField: "Status", Transform: "equals", Value: "ENABLED"}
	if got := s.Eval(doc); got != true {
		t.Errorf("S3_DATA_EVENTS = %v, want true", got)
	}
	s.Key = "RDS_LOGIN_EVENTS"
	if got := s.Eval(doc); got != false {
		t.Errorf("RDS_LOGIN_EVENTS = %v, want false", got)
	}
	s.Key, s.Default, s.HasDef = "EKS_AUDIT_LOGS", resource.Unknown, true
	if got := s.Eval(doc); got != resource.Unknown {
		t.Errorf("absent feature = %v, want unknown", got)
	}
	j := &Join{When: &Attr{Terraform: &Source{Path: "name"}, Transform: "equals", Value: "S3_DATA_EVENTS"}}
	if !j.Applies(Terraform, map[string]any{"name": "S3_DATA_EVENTS"}) || j.Applies(Terraform, map[string]any{"name": "EKS_AUDIT_LOGS"}) {
		t.Error("Applies does not follow When")
	}
	if !j.Applies(CloudFormation, map[string]any{}) {
		t.Error("a join without When for the form must apply")
	}
}
