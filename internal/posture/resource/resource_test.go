package resource

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestParsePolicy(t *testing.T) {
	var doc any
	_ = json.Unmarshal([]byte(`{"Version":"2012-10-17","Statement":[
	  {"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":false},"StringNotEquals":{"aws:SourceVpce":["vpce-1","vpce-2"]}}},
	  {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:root"],"Service":"ec2.amazonaws.com"},"NotAction":"iam:*","Resource":["a","b"]}]}`), &doc)
	st := ParsePolicy(doc)
	if len(st) != 2 {
		t.Fatalf("%d statements", len(st))
	}
	s0 := st[0].(map[string]any)
	want := []any{"aws:securetransport=false", "aws:sourcevpce=vpce-1", "aws:sourcevpce=vpce-2"}
	if !reflect.DeepEqual(s0["conditions"], want) || s0["has_condition"] != true {
		t.Errorf("conditions %v", s0["conditions"])
	}
	s1 := st[1].(map[string]any)
	if !reflect.DeepEqual(s1["not_actions"], []any{"iam:*"}) || len(s1["principals"].([]any)) != 2 || len(s1["resources"].([]any)) != 2 {
		t.Errorf("statement 2: %v", s1)
	}
	if ParsePolicy("not a policy") != nil {
		t.Error("a string parsed as a policy")
	}
}

func TestDecodeInventory(t *testing.T) {
	res, err := DecodeInventory([]byte(`{"resources":[{"type":"aws_iam_root","name":"root","arn":"arn:aws:iam::1:root","attrs":{"mfa":true}}]}`))
	if err != nil || len(res) != 1 || res[0].Source != "aws" || res[0].Origins["mfa"].ARN != "arn:aws:iam::1:root" {
		t.Fatalf("%v %+v", err, res)
	}
	for _, bad := range []string{`{"resources":[{"type":"x"}]}`, `{"resources":[],"extra":1}`, `[`} {
		if _, err := DecodeInventory([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"a":true}}}]}`))
	f.Add([]byte(`{"Statement":{"Effect":"Deny","Principal":{"AWS":"*"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc any
		if json.Unmarshal(data, &doc) != nil {
			return
		}
		for _, s := range ParsePolicy(doc) {
			m := s.(map[string]any)
			for _, k := range []string{"actions", "not_actions", "resources", "principals", "conditions"} {
				if _, ok := m[k].([]any); !ok {
					t.Fatalf("%s is %T", k, m[k])
				}
			}
		}
	})
}

func FuzzDecodeInventory(f *testing.F) {
	f.Add([]byte(`{"resources":[{"type":"aws_iam_root","name":"root","arn":"arn:aws:iam::1:root","attrs":{"mfa":true}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = DecodeInventory(data)
	})
}

func TestNormalizeCIDR(t *testing.T) {
	for in, want := range map[string]string{"0.0.0.0/0": "0.0.0.0/0", "1.2.3.4/0": "0.0.0.0/0", "::/0": "::/0", "2001:db8::/0": "::/0",
		"10.0.0.0/8": "10.0.0.0/8", "::/128": "::/128", "x": "x", Unknown: Unknown, "10.0.0.0/00": "10.0.0.0/00"} {
		if got := NormalizeCIDR(in); got != want {
			t.Errorf("NormalizeCIDR(%q) = %q, want %q", in, got, want)
		}
	}
}
