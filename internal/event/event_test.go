package event

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestAppendString(t *testing.T) {
	for _, s := range []string{"plain", "quote\" back\\ nl\n tab\t cr\r", "\x00\x1f ctl", "é 中 😀", "bad \xff utf8", "\u2028 sep", ""} {
		out := AppendString(nil, s)
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("AppendString(%q) = %s: not JSON: %v", s, out, err)
		}
		want := s
		if !utf8.ValidString(s) {
			want = string([]rune(s)) // invalid bytes become U+FFFD, as in encoding/json
		}
		if got != want {
			t.Errorf("AppendString(%q) round-trips to %q, want %q", s, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("a\"b\x00\xff")
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s, not valid JSON: %v", s, out, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("AppendString(%q) = %s, which reads back as %q", s, out, back)
		}
	})
}

func TestLookupFields(t *testing.T) {
	e := Event{Raw: Raw{Format: RawFields, Names: []string{"srcaddr", "dstport", "action", "subnet-id"}, Values: []string{"10.0.0.1", "22", "ACCEPT", "-"}}}
	if v, ok := e.Lookup("dstport"); !ok || v.Kind != KindNumber || v.String() != "22" || string(v.JSON()) != "22" {
		t.Errorf("dstport = %v %v", v, ok)
	}
	if v, ok := e.Lookup("action"); !ok || v.Kind != KindString || string(v.JSON()) != `"ACCEPT"` {
		t.Errorf("action = %v %v", v, ok)
	}
	for _, missing := range []string{"subnet-id", "vpc-id"} {
		if _, ok := e.Lookup(missing); ok {
			t.Errorf("Lookup(%q) found a value", missing)
		}
	}
}

func TestLookupJSONArrays(t *testing.T) {
	e := Event{Raw: Raw{Format: RawJSON, Data: []byte(`{"requestParameters":{"ipPermissions":{"items":[{"ipRanges":{"items":[{"cidrIp":"10.0.0.0/8"},{"cidrIp":"0.0.0.0/0"}]}}]}}}`)}}
	var got []string
	e.Each("requestParameters.ipPermissions.items.ipRanges.items.cidrIp", func(v Value) bool {
		got = append(got, v.String())
		return true
	})
	if len(got) != 2 || got[1] != "0.0.0.0/0" {
		t.Errorf("Each through arrays = %q, want both CIDRs", got)
	}
}

func TestAppendJSONLeavesOutEmpty(t *testing.T) {
	e := Event{ID: "x", Class: ClassAPIActivity, Activity: 2}
	var m map[string]any
	if err := json.Unmarshal(e.AppendJSON(nil, false), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"actor", "src_endpoint", "dst_endpoint", "resources", "network", "finding", "origin", "time"} {
		if _, ok := m[k]; ok {
			t.Errorf("empty %s was written", k)
		}
	}
	if m["type_uid"].(float64) != 600302 || m["category_uid"].(float64) != 6 {
		t.Errorf("type_uid %v category_uid %v", m["type_uid"], m["category_uid"])
	}
}

// TestLookupFastPathAgrees: the fields answered from the decoded event
// give what walking the record gives.
func TestLookupFastPathAgrees(t *testing.T) {
	raw := []byte(`{"eventName":"PutBucketPolicy","eventSource":"s3.amazonaws.com","awsRegion":"eu-west-1","userAgent":"cli","errorCode":"AccessDenied","eventType":"AwsApiCall","userIdentity":{"type":"AssumedRole","arn":"arn:x","accountId":"1","accessKeyId":"ASIA","principalId":"AROA:s","invokedBy":"svc","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:role"}}}}`)
	fast := Event{Source: SourceCloudTrail, Raw: Raw{Format: RawJSON, Data: raw},
		API:   API{Operation: "PutBucketPolicy", Service: "s3.amazonaws.com", ErrorCode: "AccessDenied"},
		Cloud: Cloud{Region: "eu-west-1"}, Src: Endpoint{UserAgent: "cli"}, Type: "AwsApiCall",
		Actor: Actor{Type: "AssumedRole", ARN: "arn:x", Account: "1", AccessKeyID: "ASIA", PrincipalID: "AROA:s", InvokedBy: "svc", SessionIssuerARN: "arn:role", SessionIssuerType: "Role"}}
	slow := Event{Raw: fast.Raw}
	for _, p := range []string{"eventName", "eventSource", "awsRegion", "userAgent", "errorCode", "eventType", "userIdentity.type", "userIdentity.arn",
		"userIdentity.accountId", "userIdentity.accessKeyId", "userIdentity.principalId", "userIdentity.invokedBy", "userIdentity.sessionContext.sessionIssuer.arn",
		"userIdentity.sessionContext.sessionIssuer.type", "eventID"} {
		a, okA := fast.Lookup(p)
		b, okB := slow.Lookup(p)
		if okA != okB || a.String() != b.String() {
			t.Errorf("Lookup(%q): fast %q %v, walk %q %v", p, a.String(), okA, b.String(), okB)
		}
	}
}
