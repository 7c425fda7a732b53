package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/org/orgtest"
)

// scan aws --org honours check selections and suppressions per account
// scope: S3 checks off in the Sandbox OU (the OU from the inventory), S3
// failures suppressed in the accounts tagged env=production (a tag only
// the inventory knows), IAM checks everywhere.
func TestScanAWSOrgCheckScopes(t *testing.T) {
	if testing.Short() {
		t.Skip("an organization on the emulator: slow under the race detector; the full suite runs it (TestScanAWSOrg keeps the organization scan's concurrency in the race pass)")
	}
	f := orgtest.New(t)
	sup := filepath.Join(t.TempDir(), "sup.yaml")
	if err := os.WriteFile(sup, []byte(`suppressions:
  - check: PARAPET-S3-*
    resource: "*"
    reason: production buckets are reviewed elsewhere
    scope: {tags: [env=production]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "scan", "aws", "--org", "--role", orgtest.Role, "--exclude-accounts", f.NoRole, "--format", "json",
		"--check-scopes", `[{"scope": {"ous": ["Sandbox"]}, "disable": ["PARAPET-S3-*"]}]`, "--suppressions", sup)
	if code != ExitOK && code != ExitBadInput {
		t.Fatalf("scan aws --org: exit %d: %s", code, errOut)
	}
	var rep scanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	type seen struct{ s3, s3Failed, iam int }
	by := map[string]*seen{}
	for _, rs := range [][]scanResult{rep.Results, rep.Suppressed} {
		for _, r := range rs {
			s := by[r.Resource.Account]
			if s == nil {
				s = &seen{}
				by[r.Resource.Account] = s
			}
			switch {
			case strings.HasPrefix(r.CheckID, "PARAPET-S3-"):
				s.s3++
				if r.Status == "fail" {
					s.s3Failed++
				}
			case strings.HasPrefix(r.CheckID, "PARAPET-IAM-"):
				s.iam++
			}
		}
	}
	for _, id := range f.Sandbox {
		if s := by[id]; s == nil || s.s3 != 0 || s.iam == 0 {
			t.Errorf("sandbox account %s: %+v, want IAM results and no S3 result", id, s)
		}
	}
	if s := by[f.Production[0]]; s == nil || s.s3 == 0 || s.s3Failed != 0 {
		t.Errorf("production account %s: %+v, want S3 results, none failing (suppressed by tag)", f.Production[0], s)
	}
	if !slices.ContainsFunc(rep.Suppressed, func(r scanResult) bool {
		return r.Resource.Account == f.Production[0] && strings.Contains(r.Reason, "reviewed elsewhere")
	}) {
		t.Errorf("no S3 failure of %s suppressed by the tag-scoped entry", f.Production[0])
	}
	if out, _, code := run(t, "", "scan", "aws", "--org", "--role", orgtest.Role, "--check-scopes", `[{"scope": {"ou": ["Sandbox"]}, "disable": ["X"]}]`); code != ExitUsage || out != "" {
		t.Errorf("--check-scopes with a misspelt key: exit %d, want %d", code, ExitUsage)
	}
}
