package iampolicy

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPublic(t *testing.T) {
	const res = `"Resource":"arn:aws:s3:::b/*"`
	stmt := func(body string) string { return `{"Version":"2012-10-17","Statement":[` + body + `]}` }
	tests := []struct {
		name   string
		doc    string
		public bool
	}{
		{"bare wildcard", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `}`), true},
		{"AWS wildcard", stmt(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:*",` + res + `}`), true},
		{"wildcard among accounts", stmt(`{"Effect":"Allow","Principal":{"AWS":["111122223333","*"]},"Action":"s3:GetObject",` + res + `}`), true},
		{"single statement object", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `}}`, true},
		{"policy as a JSON string", `"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}"`, true},
		{"deny is not a grant", stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*",` + res + `,"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`), false},
		{"fixed account", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:*",` + res + `}`), false},
		{"service principal", stmt(`{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject",` + res + `}`), false},
		{"NotPrincipal allow", stmt(`{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"s3:GetObject",` + res + `}`), true},
		{"string: SourceAccount", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:PutObject",` + res + `,"Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"}}}`), false},
		{"string: PrincipalOrgID", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}`), false},
		{"string: PrincipalOrgID with a wildcard", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"StringLike":{"aws:PrincipalOrgID":"o-*"}}}`), true},
		{"string: SourceVpce", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}}`), false},
		{"string: policy variable is not fixed", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"StringEquals":{"aws:SourceAccount":"${aws:PrincipalAccount}"}}}`), true},
		{"string: kms CallerAccount", stmt(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"111122223333"}}}`), false},
		{"string: negation does not restrict", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"StringNotEquals":{"aws:SourceAccount":"111122223333"}}}`), true},
		{"string: IfExists does not restrict", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"StringEqualsIfExists":{"aws:SourceAccount":"111122223333"}}}`), true},
		{"string: ForAllValues does not restrict", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"ForAllValues:StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}`), true},
		{"string: ForAnyValue restricts", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"ForAnyValue:StringEquals":{"aws:PrincipalOrgPaths":"o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"}}}`), false},
		{"string: unrelated key does not restrict", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:PutObject",` + res + `,"Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}}`), true},
		{"arn: SourceArn", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:PutObject",` + res + `,"Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:cloudtrail:us-east-1:111122223333:trail/main"}}}`), false},
		{"arn: SourceArn with a wildcard", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:PutObject",` + res + `,"Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:cloudtrail:*"}}}`), true},
		{"arn: PrincipalArn", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/reader"}}}`), false},
		{"ip: fixed CIDR", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/48"]}}}`), false},
		{"ip: the whole internet", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}}`), true},
		{"ip: one wide range makes it public", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","0.0.0.0/1"]}}}`), true},
		{"ip: NotIpAddress does not restrict", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}`), true},
		{"bool: SecureTransport does not restrict", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"Bool":{"aws:SecureTransport":"true"}}}`), true},
		{"null: does not restrict", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"Null":{"aws:SourceVpce":"false"}}}`), true},
		{"date: does not restrict", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}`), true},
		{"userid role pattern", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"StringLike":{"aws:userid":"AROAEXAMPLEID:*"}}}`), true},
		{"userid fixed", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"StringEquals":{"aws:userid":"AIDAEXAMPLEID"}}}`), false},
		{"key names are case-insensitive", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `,"Condition":{"StringEquals":{"AWS:SOURCEACCOUNT":"111122223333"}}}`), false},
		{"one public among private", stmt(`{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:*",` + res + `},{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + res + `}`), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse([]byte(tc.doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := p.Public(); got != tc.public {
				t.Errorf("Public() = %v, want %v for %s", got, tc.public, tc.doc)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, doc := range []string{``, `[]`, `{}`, `{"Statement":[]}`, `{"Statement":[{"Effect":"Maybe"}]}`, `{"Statement":[{"Effect":"Allow","Principal":"bob"}]}`, `{"Statement":[{"Effect":"Allow","Action":{"a":1}}]}`, `"not json`} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("Parse(%q) = nil error, want one", doc)
		}
	}
}

func TestWithoutKeepsTheRest(t *testing.T) {
	doc := `{"Version":"2012-10-17","Id":"keep","Statement":[
		{"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}},
		{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},
		{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	pub := p.PublicStatements()
	if len(pub) != 1 || p.Statements[pub[0]].Sid != "Public" {
		t.Fatalf("PublicStatements = %v", pub)
	}
	out, n := p.Without(pub)
	if n != 2 {
		t.Fatalf("%d statements left, want 2", n)
	}
	q, err := Parse(out)
	if err != nil {
		t.Fatalf("the rewritten policy does not parse: %v\n%s", err, out)
	}
	if q.Public() || q.ID != "keep" || q.Statements[0].Sid != "DenyInsecure" || q.Statements[1].Sid != "Partner" {
		t.Errorf("rewritten policy: %s", out)
	}
	var a, b any
	_ = json.Unmarshal(q.Statements[0].Raw, &a)
	_ = json.Unmarshal(p.Statements[0].Raw, &b)
	if ja, jb := mustJSON(a), mustJSON(b); ja != jb {
		t.Errorf("the Deny statement changed: %s != %s", ja, jb)
	}
	if got := strings.Join(p.Accounts(), ","); got != "111122223333" {
		t.Errorf("Accounts() = %q", got)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`))
	f.Add([]byte(`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["1"]},"NotAction":"x","NotResource":"y"}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Parse(doc)
		if err != nil {
			return
		}
		_ = p.Public()
		out, n := p.Without(p.PublicStatements())
		if n > 0 {
			q, err := Parse(out)
			if err != nil {
				t.Fatalf("Without produced a document that does not parse: %v: %s", err, out)
			}
			if q.Public() {
				t.Fatalf("Without left a public statement: %s", out)
			}
		}
	})
}
