package ueba

import (
	"strings"
	"testing"
)

// TestBuiltinRisk: the shipped action-risk table parses, and classes
// what its comments promise.
func TestBuiltinRisk(t *testing.T) {
	rt, err := builtinRisk()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ service, op, class string }{
		{"iam", "CreateAccessKey", "credential creation"},
		{"iam", "AttachUserPolicy", "IAM or policy change"},
		{"iam", "PutRolePolicy", "IAM or policy change"},
		{"cloudtrail", "StopLogging", "logging or security-service change"},
		{"guardduty", "DisassociateFromMasterAccount", "logging or security-service change"},
		{"s3", "PutBucketPolicy", "sharing or exposure"},
		{"lambda", "AddPermission20150331v2", "sharing or exposure"},
		{"ssm", "SendCommand", "remote execution"},
		{"ec2", "TerminateInstances", "destructive"},
		{"secretsmanager", "GetSecretValue", "data read"},
		{"ec2", "DescribeInstanceAttribute", "data read"}, // user data: before the read-only wildcard
		{"iam", "ListUsers", "read-only"},
		{"ec2", "DescribeInstances", "read-only"},
		{"sts", "GetCallerIdentity", "read-only"},
		{"dynamodb", "PutItem", ""},
		{"iam", "Attach", "IAM or policy change"},
	} {
		got := ""
		if k := rt.class(c.service, c.op); k >= 0 {
			got = rt.classes[k].Name
		}
		if got != c.class {
			t.Errorf("%s:%s: class %q, want %q", c.service, c.op, got, c.class)
		}
	}
}

func TestParseRiskRejects(t *testing.T) {
	for _, doc := range []string{
		"",
		"classes: []",
		"classes:\n  - name: x\n    weight: 9\n    actions: [iam:X]",
		"classes:\n  - name: x\n    weight: 1\n    actions: [iamX]",
		"classes:\n  - name: x\n    weight: 1\n    actions: ['iam:*X']",
		"classes:\n  - name: x\n    weight: 1\n    actions: ['i*m:X']",
		"classes:\n  - name: x\n    weight: 1\n    extra: 1",
	} {
		if _, err := parseRisk([]byte(doc)); err == nil || !strings.Contains(err.Error(), "action risk") {
			t.Errorf("%q: err %v", doc, err)
		}
	}
}
