package sigma

import (
	"regexp"
	"regexp/syntax"
	"testing"
)

func TestRequiredLiteral(t *testing.T) {
	cases := map[string]string{
		`.+:assumed-role/aws:.+`:     ":assumed-role/aws:",
		`^arn:aws:iam::\d+:root$`:    "arn:aws:iam::",
		`(?i)AdministratorAccess`:    "",
		`(foo|bar)baz`:               "baz",
		`(foo|bar)`:                  "",
		`x*abc?`:                     "ab",
		`(?:secret){2,}`:             "secret",
		`(?:secret){0,3}`:            "",
		`(GetSecretValue)+Batch`:     "GetSecretValue",
		`a.b`:                        "a",
		`\.amazonaws\.com$`:          ".amazonaws.com",
		`(?s)begin.*(?i:end)`:        "begin",
		`^(?:ListUsers|ListRoles)$`:  "List", // the parser factors the prefix out
		`\x00\x01`:                   "\x00\x01",
		`(?m)^GetObject$`:            "GetObject",
		`[a-z]+@example\.(com|org)$`: "@example.",
	}
	for expr, want := range cases {
		tree, err := syntax.Parse(expr, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		if got := requiredLiteral(tree.Simplify()); got != want {
			t.Errorf("%s: literal %q, want %q", expr, got, want)
		}
	}
}

// The prefilter never changes an answer.
func TestRegexPrefilterAgrees(t *testing.T) {
	exprs := []string{`.+:assumed-role/aws:.+`, `(foo|bar)baz`, `(?i)AdminAccess`, `x*abc?`, `[a-z]+@example\.(com|org)$`, `(?m)^GetObject$`}
	inputs := []string{"", "arn:aws:sts::1:assumed-role/aws:ec2-instance/i-1", "arn:aws:sts::1:assumed-role/admin/x", ":assumed-role/aws:",
		"foobaz", "baz", "barbaz!", "ADMINACCESS", "ab", "xxabc", "a@example.org", "a@example.net", "x\nGetObject\ny", "GetObjects"}
	for _, e := range exprs {
		re := regexp.MustCompile(e)
		m := reMatcher(re)
		for _, in := range inputs {
			if m(in) != re.MatchString(in) {
				t.Errorf("%s on %q: prefiltered %v, regexp %v", e, in, m(in), re.MatchString(in))
			}
		}
	}
}
