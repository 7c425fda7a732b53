package check

import (
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/resource"
	"github.com/parapet-sec/parapet/internal/posture/secrets"
)

func TestParseSecretCheck(t *testing.T) {
	tests := []struct{ name, src, wantErr string }{
		{"ok", "id: S-1\ntitle: t\nseverity: high\nsecret: github_token\n", ""},
		{"ok with resource star", "id: S-1\ntitle: t\nseverity: high\nresource: '*'\nsecret: github_token\n", ""},
		{"unknown kind", "id: S-1\ntitle: t\nseverity: high\nsecret: gitlab_token\n", "want one of"},
		{"condition", "id: S-1\ntitle: t\nseverity: high\nsecret: github_token\ncondition: 'true'\n", "no condition"},
		{"resource type", "id: S-1\ntitle: t\nseverity: high\nresource: aws_instance\nsecret: github_token\n", "every resource"},
		{"severity", "id: S-1\ntitle: t\nseverity: huge\nsecret: github_token\n", "severity"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), "s.yaml")
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("Parse() = %v, want error %q", err, tc.wantErr)
			}
		})
	}
}

// A secret check is never evaluated on resources; its results are the
// detector's findings of its kind, located at the secret, suppressed by
// a parapet:ignore on the block, and never showing the value.
func TestSecretResults(t *testing.T) {
	c, err := Parse([]byte("id: S-8\ntitle: t\nseverity: high\nsecret: generic_secret\n"), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := Run([]*Check{c}, []*resource.Resource{{Type: "aws_instance", Name: "i"}}); len(got) != 0 {
		t.Errorf("Run(secret check) = %v, want nothing", got)
	}
	const pw = "RA9a9SkpXz9w3QlY7Zkuvqdt"
	src := `resource "aws_db_instance" "a" {
  password = "` + pw + `"
}
# parapet:ignore S-8 a throwaway test database
resource "aws_db_instance" "b" {
  password = "` + pw + `"
}
resource "aws_lambda_function" "c" {
  environment {
    variables = { GITHUB_TOKEN = "ghp_hGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8rES" }
  }
}`
	got := SecretResults([]*Check{c}, secrets.TerraformFile([]byte(src), "main.tf", ""))
	if len(got) != 2 {
		t.Fatalf("SecretResults() = %d results, want 2 (one per generic secret)", len(got))
	}
	for i, want := range []struct {
		status, addr string
		line         int
	}{{Fail, "aws_db_instance.a", 2}, {Suppressed, "aws_db_instance.b", 6}} {
		r := got[i]
		if r.Status != want.status || r.Resource.Address != want.addr || r.Location.StartLine != want.line || r.Location.File != "main.tf" {
			t.Errorf("result %d = %s %s %s:%d, want %s %s main.tf:%d", i, r.Status, r.Resource.Address, r.Location.File, r.Location.StartLine, want.status, want.addr, want.line)
		}
		if strings.Contains(r.Reason, pw) {
			t.Errorf("result %d reason %q shows the secret", i, r.Reason)
		}
	}
	if !strings.Contains(got[0].Reason, "(24 chars) in password") {
		t.Errorf("reason %q: want the kind, the redacted form and the attribute", got[0].Reason)
	}
}
