package iampolicy

import (
	"strings"
	"testing"
)

func must(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, doc)
	}
	return p
}

// AWS's evaluation logic: explicit deny > allow > implicit deny; Not*
// elements; wildcards in actions (case-insensitive) and resources.
func TestEvaluate(t *testing.T) {
	const user = "arn:aws:iam::111122223333:user/alice"
	idp := must(t, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:Get*","s3:ListBucket"],"Resource":["arn:aws:s3:::acme-*","arn:aws:s3:::acme-*/*"]},
		{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-secret/*"},
		{"Effect":"Allow","NotAction":["iam:*","organizations:*"],"Resource":"arn:aws:ec2:*:111122223333:instance/*"},
		{"Effect":"Allow","Action":"kms:Decrypt","NotResource":"arn:aws:kms:us-east-1:111122223333:key/prod-*"}]}`)
	tests := []struct {
		action, resource string
		want             Decision
	}{
		{"s3:GetObject", "arn:aws:s3:::acme-logs/a.txt", Allow},
		{"S3:getobject", "arn:aws:s3:::acme-logs/a.txt", Allow},
		{"s3:GetObject", "arn:aws:s3:::ACME-logs/a.txt", ImplicitDeny},
		{"s3:GetObject", "arn:aws:s3:::acme-secret/k", ExplicitDeny},
		{"s3:PutObject", "arn:aws:s3:::acme-logs/a.txt", ImplicitDeny},
		{"ec2:StopInstances", "arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0", Allow},
		{"iam:CreateUser", "arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0", ImplicitDeny},
		{"kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/dev-1", Allow},
		{"kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/prod-1", ImplicitDeny},
	}
	for _, tc := range tests {
		if got := Evaluate(Request{Principal: user, Action: tc.action, Resource: tc.resource}, idp); got != tc.want {
			t.Errorf("Evaluate(%s on %s) = %v, want %v", tc.action, tc.resource, got, tc.want)
		}
	}
	// A Deny in another policy of the set wins.
	scp := must(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ec2:*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1"]}}}]}`)
	req := Request{Principal: user, Action: "ec2:StopInstances", Resource: "arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0", Context: map[string][]string{"aws:RequestedRegion": {"us-east-1"}}}
	if got := Evaluate(req, idp, scp); got != ExplicitDeny {
		t.Errorf("with the region SCP: %v", got)
	}
	req.Context["aws:RequestedRegion"] = []string{"eu-west-1"}
	if got := Evaluate(req, idp, scp); got != Allow {
		t.Errorf("in the allowed region: %v", got)
	}
}

// Principals of resource and trust policies: wildcard, an account (id or
// :root) standing for its principals, exact ARNs, services, NotPrincipal.
func TestEvaluatePrincipals(t *testing.T) {
	bucket := must(t, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},
		{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::777788889999:role/reader"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},
		{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"},
		{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:role/admin"]},"Action":"s3:DeleteBucket","Resource":"arn:aws:s3:::b"}]}`)
	tests := []struct {
		principal, typ, action, resource string
		want                             Decision
	}{
		{"arn:aws:iam::444455556666:user/x", "", "s3:GetObject", "arn:aws:s3:::b/k", Allow},
		{"arn:aws:iam::777788889999:role/reader", "", "s3:GetObject", "arn:aws:s3:::b/k", Allow},
		{"arn:aws:iam::777788889999:role/writer", "", "s3:GetObject", "arn:aws:s3:::b/k", ImplicitDeny},
		{"cloudtrail.amazonaws.com", "Service", "s3:PutObject", "arn:aws:s3:::b/k", Allow},
		{"cloudtrail.amazonaws.com", "AWS", "s3:PutObject", "arn:aws:s3:::b/k", ImplicitDeny},
		{"arn:aws:iam::111122223333:role/admin", "", "s3:DeleteBucket", "arn:aws:s3:::b", ImplicitDeny},
		{"arn:aws:iam::111122223333:role/dev", "", "s3:DeleteBucket", "arn:aws:s3:::b", ExplicitDeny},
	}
	for _, tc := range tests {
		if got := Evaluate(Request{Principal: tc.principal, PrincipalType: tc.typ, Action: tc.action, Resource: tc.resource}, bucket); got != tc.want {
			t.Errorf("%s (%s) %s = %v, want %v", tc.principal, tc.typ, tc.action, got, tc.want)
		}
	}
}

// Every condition operator family, with the qualifiers and IfExists.
func TestConditionOperators(t *testing.T) {
	tests := []struct {
		op      string
		have    []string // nil: the key is absent
		want    []string
		matches bool
	}{
		{"StringEquals", []string{"o-abc"}, []string{"o-abc", "o-def"}, true},
		{"StringEquals", []string{"O-ABC"}, []string{"o-abc"}, false},
		{"StringEquals", nil, []string{"o-abc"}, false},
		{"StringNotEquals", []string{"o-xyz"}, []string{"o-abc"}, true},
		{"StringNotEquals", []string{"o-abc"}, []string{"o-abc"}, false},
		{"StringEqualsIgnoreCase", []string{"O-ABC"}, []string{"o-abc"}, true},
		{"StringNotEqualsIgnoreCase", []string{"O-ABC"}, []string{"o-abc"}, false},
		{"StringLike", []string{"home/alice/doc"}, []string{"home/*/doc"}, true},
		{"StringLike", []string{"home/alice/x"}, []string{"home/?????/x"}, true},
		{"StringNotLike", []string{"tmp/x"}, []string{"home/*"}, true},
		{"StringEqualsIfExists", nil, []string{"x"}, true},
		{"StringEqualsIfExists", []string{"y"}, []string{"x"}, false},
		{"NumericLessThan", []string{"3599"}, []string{"3600"}, true},
		{"NumericLessThanEquals", []string{"3600"}, []string{"3600"}, true},
		{"NumericGreaterThan", []string{"10"}, []string{"10"}, false},
		{"NumericGreaterThanEquals", []string{"10"}, []string{"10"}, true},
		{"NumericEquals", []string{"7"}, []string{"7.0"}, true},
		{"NumericNotEquals", []string{"7"}, []string{"8"}, true},
		{"NumericEquals", []string{"seven"}, []string{"7"}, false},
		{"DateLessThan", []string{"2026-01-01T00:00:00Z"}, []string{"2026-06-01T00:00:00Z"}, true},
		{"DateGreaterThan", []string{"2026-01-01T00:00:00Z"}, []string{"2026-06-01T00:00:00Z"}, false},
		{"DateEquals", []string{"1767225600"}, []string{"2026-01-01T00:00:00Z"}, true},
		{"DateNotEquals", []string{"2026-01-02"}, []string{"2026-01-01"}, true},
		{"Bool", []string{"false"}, []string{"false"}, true},
		{"Bool", []string{"true"}, []string{"false"}, false},
		{"BinaryEquals", []string{"QmluYXJ5"}, []string{"QmluYXJ5"}, true},
		{"IpAddress", []string{"203.0.113.7"}, []string{"203.0.113.0/24"}, true},
		{"IpAddress", []string{"198.51.100.7"}, []string{"203.0.113.0/24"}, false},
		{"IpAddress", []string{"2001:db8::1"}, []string{"2001:db8::/32"}, true},
		{"NotIpAddress", []string{"198.51.100.7"}, []string{"203.0.113.0/24"}, true},
		{"ArnLike", []string{"arn:aws:iam::111122223333:role/ci-deploy"}, []string{"arn:aws:iam::*:role/ci-*"}, true},
		{"ArnEquals", []string{"arn:aws:sns:us-east-1:111122223333:topic"}, []string{"arn:aws:sns:us-east-1:111122223333:topic"}, true},
		{"ArnNotLike", []string{"arn:aws:iam::111122223333:role/admin"}, []string{"arn:aws:iam::*:role/ci-*"}, true},
		{"Null", nil, []string{"true"}, true},
		{"Null", []string{"x"}, []string{"true"}, false},
		{"Null", []string{"x"}, []string{"false"}, true},
		{"ForAnyValue:StringEquals", []string{"a", "b"}, []string{"b"}, true},
		{"ForAnyValue:StringEquals", []string{"a", "c"}, []string{"b"}, false},
		{"ForAllValues:StringEquals", []string{"a", "b"}, []string{"a", "b", "c"}, true},
		{"ForAllValues:StringEquals", []string{"a", "d"}, []string{"a", "b", "c"}, false},
		{"ForAllValues:StringEquals", nil, []string{"a"}, true},
		{"ForAnyValue:StringLike", []string{"tag/team"}, []string{"tag/*"}, true},
		{"NoSuchOperator", []string{"x"}, []string{"x"}, false},
	}
	for _, tc := range tests {
		if got := Condition(tc.op, tc.have, tc.have != nil, tc.want); got != tc.matches {
			t.Errorf("Condition(%s, %v, %v) = %v, want %v", tc.op, tc.have, tc.want, got, tc.matches)
		}
	}
}

// A policy with "Principal": "*" and a restrictive condition grants only
// to the requests the condition admits.
func TestEvaluateConditionalPublic(t *testing.T) {
	p := must(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}]}`)
	in := Request{Principal: "arn:aws:iam::444455556666:user/x", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: map[string][]string{"aws:PrincipalOrgID": {"o-a1b2c3d4e5"}}}
	out := Request{Principal: "arn:aws:iam::999999999999:user/x", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: map[string][]string{"aws:principalorgid": {"o-zzzz"}}}
	anon := Request{Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}
	if Evaluate(in, p) != Allow || Evaluate(out, p) != ImplicitDeny || Evaluate(anon, p) != ImplicitDeny || p.Public() {
		t.Errorf("org-restricted policy: in %v, out %v, anonymous %v, public %v", Evaluate(in, p), Evaluate(out, p), Evaluate(anon, p), p.Public())
	}
}

func TestAllowsAllActionsAndForeignAccounts(t *testing.T) {
	for doc, want := range map[string]bool{
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`:                                                            true,
		`{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`:                                                     true,
		`{"Statement":{"Effect":"Allow","NotAction":"*","Resource":"*"}}`:                                                         false,
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/*"}}`:                                             false,
		`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}`:                                                             false,
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}}`: false,
		`{"Statement":{"Effect":"Allow","Action":["s3:*","ec2:*"],"Resource":"*"}}`:                                               false,
	} {
		if got := must(t, doc).AllowsAllActions(); got != want {
			t.Errorf("AllowsAllActions(%s) = %v, want %v", doc, got, want)
		}
	}
	p := must(t, `{"Statement":[
		{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root","444455556666","arn:aws:iam::777788889999:role/x"]},"Action":"kms:Decrypt","Resource":"*"},
		{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222233334444:root"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-mine"}}},
		{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::555566667777:root"},"Action":"*","Resource":"*"}]}`)
	known := func(a string) bool { return a == "111122223333" }
	if got := strings.Join(p.ForeignAccounts(known, []string{"o-mine"}), ","); got != "444455556666,777788889999" {
		t.Errorf("ForeignAccounts = %q", got)
	}
	if got := strings.Join(p.ForeignAccounts(known, nil), ","); got != "222233334444,444455556666,777788889999" {
		t.Errorf("ForeignAccounts without the org = %q", got)
	}
}

// The protect list's patterns: the same wildcard as policies.
func TestWildcard(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		want   bool
	}{
		{"prod-*", "prod-db", true}, {"prod-*", "dev-db", false}, {"arn:aws:iam::*:user/*", "arn:aws:iam::111122223333:user/admins/bob", true},
		{"arn:aws:s3:::logs-?", "arn:aws:s3:::logs-1", true}, {"arn:aws:s3:::logs-?", "arn:aws:s3:::logs-12", false},
		{"*", "", true}, {"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false}, {"exact", "exact", true},
	} {
		if got := Wildcard(tc.pat, tc.s); got != tc.want {
			t.Errorf("Wildcard(%q, %q) = %v, want %v", tc.pat, tc.s, got, tc.want)
		}
	}
}

// A permissions boundary caps identity policies: allowed only where both
// allow; a Deny in either wins.
func TestEvaluateBounded(t *testing.T) {
	const role = "arn:aws:iam::111122223333:role/app"
	admin := must(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	boundary := must(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","iam:Get*"],"Resource":"*"},
		{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}`)
	s3only := must(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	tests := []struct {
		name     string
		action   string
		boundary *Policy
		identity []*Policy
		want     Decision
	}{
		{"no boundary", "iam:CreateUser", nil, []*Policy{admin}, Allow},
		{"boundary allows", "s3:GetObject", boundary, []*Policy{admin}, Allow},
		{"boundary does not allow", "iam:CreateUser", boundary, []*Policy{admin}, ImplicitDeny},
		{"boundary denies", "s3:DeleteBucket", boundary, []*Policy{admin}, ExplicitDeny},
		{"identity does not allow", "s3:PutObject", boundary, []*Policy{s3only}, ImplicitDeny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := Request{Principal: role, Action: tc.action, Resource: "*"}
			if got := EvaluateBounded(req, tc.boundary, tc.identity...); got != tc.want {
				t.Errorf("EvaluateBounded(%s) = %v, want %v", tc.action, got, tc.want)
			}
		})
	}
}
