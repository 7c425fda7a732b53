package check

import (
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

func mustParse(t *testing.T, cond string) *Check {
	t.Helper()
	c, err := Parse([]byte("id: T-1\ntitle: t\nseverity: high\nresource: aws_iam_user\ncondition: '"+cond+"'\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A value known only after apply makes a check unknown when the answer
// depends on it, and not when the condition does without it.
func TestUnknownValues(t *testing.T) {
	c := mustParse(t, "r.console_password == false || r.mfa == true")
	user := func(console, mfa any) *resource.Resource {
		r := &resource.Resource{Type: resource.IAMUser, Name: "u"}
		r.Set("console_password", console, resource.Origin{})
		r.Set("mfa", mfa, resource.Origin{})
		return r
	}
	for _, tc := range []struct {
		console, mfa any
		want         string
	}{
		{false, resource.Unknown, Pass},   // short-circuit: MFA does not matter
		{true, resource.Unknown, Unknown}, // the answer hangs on MFA
		{true, false, Fail},               // known both
		{resource.Unknown, true, Pass},    // MFA on: passes whatever the password
		{resource.Unknown, resource.Unknown, Unknown},
		{true, true, Pass},
	} {
		got := Run([]*Check{c}, []*resource.Resource{user(tc.console, tc.mfa)})
		if len(got) != 1 || got[0].Status != tc.want {
			t.Errorf("console=%v mfa=%v: %+v, want %s", tc.console, tc.mfa, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for name, body := range map[string]string{
		"no condition": "id: X\ntitle: t\nseverity: low\nresource: aws_s3_bucket\n",
		"bad severity": "id: X\ntitle: t\nseverity: urgent\nresource: aws_s3_bucket\ncondition: 'true'\n",
		"bad cel":      "id: X\ntitle: t\nseverity: low\nresource: aws_s3_bucket\ncondition: 'r.x ==='\n",
		"not bool":     "id: X\ntitle: t\nseverity: low\nresource: aws_s3_bucket\ncondition: '1 + 2'\n",
		"unknown key":  "id: X\ntitle: t\nseverity: low\nresource: aws_s3_bucket\ncondition: 'true'\nowner: me\n",
		"not a model":  "id: X\ntitle: t\nseverity: low\nresource: bucket\ncondition: 'true'\n",
	} {
		if _, err := Parse([]byte(body), "x.yaml"); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("id: T-1\ntitle: t\nseverity: high\nresource: aws_iam_user\ncondition: 'r.mfa == true'\n"))
	f.Add([]byte("id: X\ntitle: t\nseverity: low\nresource: aws_s3_bucket\ncondition: 'r.policy_statements.exists(s, s.effect == \"Deny\")'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "f.yaml")
		if err != nil {
			return
		}
		r := &resource.Resource{Type: c.Resource, Name: "x", Attrs: map[string]any{"mfa": resource.Unknown, "policy_statements": []any{}}}
		_ = Run([]*Check{c}, []*resource.Resource{r})
	})
}
