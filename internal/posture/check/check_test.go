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

// A failure points at the first attribute of the first conjunct that is
// false; its fingerprint does not depend on lines.
func TestFailureLocation(t *testing.T) {
	c := mustParse(t, "r.mfa == true && (r.console_password == false || r.access_keys == 0.0)")
	user := func(mfa, console bool, line int) *resource.Resource {
		r := &resource.Resource{Type: resource.IAMUser, Name: "u", Address: "aws_iam_user.u", Source: "terraform",
			Location: resource.Origin{File: "iam/main.tf", StartLine: line, EndLine: line + 5, Column: 1}}
		r.Set("mfa", mfa, resource.Origin{File: "iam/main.tf", StartLine: line + 1, Column: 3})
		r.Set("console_password", console, resource.Origin{File: "iam/main.tf", StartLine: line + 2, Column: 3})
		r.Set("access_keys", 1.0, resource.Origin{}) // no origin recorded: the block
		return r
	}
	for _, tc := range []struct {
		name         string
		mfa, console bool
		attr         string
		line         int
	}{
		{"first conjunct", false, true, "mfa", 11},
		{"second conjunct", true, true, "console_password", 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Run([]*Check{c}, []*resource.Resource{user(tc.mfa, tc.console, 10)})
			if len(got) != 1 || got[0].Status != Fail || got[0].Attribute != tc.attr || got[0].Location.StartLine != tc.line || got[0].Location.Column != 3 {
				t.Fatalf("Run = %+v, want a failure on %s at line %d", got, tc.attr, tc.line)
			}
			moved := Run([]*Check{c}, []*resource.Resource{user(tc.mfa, tc.console, 40)})
			if moved[0].Fingerprint != got[0].Fingerprint || len(got[0].Fingerprint) != 32 {
				t.Errorf("fingerprint %q moved to %q", got[0].Fingerprint, moved[0].Fingerprint)
			}
		})
	}
	if c.reads[0] != "mfa" || c.reads[1] != "console_password" || len(c.parts) != 2 {
		t.Errorf("reads %v, %d parts", c.reads, len(c.parts))
	}
	// Another check, resource or attribute is another fingerprint.
	r := user(false, true, 1)
	fps := map[string]bool{Fingerprint("A", r, "mfa"): true, Fingerprint("B", r, "mfa"): true, Fingerprint("A", r, "console_password"): true}
	r.Address = "aws_iam_user.v"
	fps[Fingerprint("A", r, "mfa")] = true
	if len(fps) != 4 {
		t.Errorf("fingerprints collide: %v", fps)
	}
}

// A condition whose conjuncts use macros (all, exists) parses, and each
// conjunct decides on its own.
func TestMacroConjuncts(t *testing.T) {
	c := mustParse(t, "r.on && r.from.all(p, p == 22.0) && r.names.exists(n, n == \"a\")")
	if len(c.parts) != 3 {
		t.Fatalf("%d parts, want 3", len(c.parts))
	}
	res := func(on, from, names any) *resource.Resource {
		r := &resource.Resource{Type: resource.IAMUser, Name: "u"}
		r.Set("on", on, resource.Origin{})
		r.Set("from", from, resource.Origin{})
		r.Set("names", names, resource.Origin{})
		return r
	}
	for _, tc := range []struct {
		on, from, names any
		want            string
	}{
		{true, []any{22.0}, []any{"b", "a"}, Pass},
		{true, []any{}, []any{"a"}, Pass},
		{true, []any{22.0, 8080.0}, []any{"a"}, Fail},
		{true, []any{22.0}, []any{"b"}, Fail},
		{false, []any{22.0}, []any{"a"}, Fail},
		{false, resource.Unknown, []any{"a"}, Fail},
		{true, resource.Unknown, []any{"a"}, Unknown},
	} {
		got := Run([]*Check{c}, []*resource.Resource{res(tc.on, tc.from, tc.names)})
		if len(got) != 1 || got[0].Status != tc.want {
			t.Errorf("on=%v from=%v names=%v: %+v, want %s", tc.on, tc.from, tc.names, got, tc.want)
		}
	}
}
