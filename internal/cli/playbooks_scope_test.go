package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/org/orgtest"
)

// playbooks lint prints each playbook's scope and approval by scope, and
// with --config naming an organization, the accounts the scope covers
// (listed through the emulator's Organizations), each auto, approval or
// protected.
func TestPlaybooksLintScope(t *testing.T) {
	if testing.Short() {
		t.Skip("an organization on the emulator: slow under the race detector; the full suite runs it (TestScanAWSOrg keeps the organization scan's concurrency in the race pass)")
	}
	f := orgtest.New(t)
	dir := t.TempDir()
	pb := `name: public-bucket
trigger: finding.rule_id == "public-bucket"
scope:
  ous: [Sandbox, Production]
  exclude: {accounts: ["` + f.Sandbox[2] + `"]}
approval:
  required: true
  auto_in: {ous: [Sandbox]}
steps:
  - action: s3.put_public_access_block
    params: {bucket: "${finding.resource}"}
`
	if err := os.WriteFile(filepath.Join(dir, "public-bucket.yml"), []byte(pb), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("organization:\n  role: "+orgtest.Role+"\nrespond:\n  protect_accounts: {accounts: [\""+f.Production[2]+"\"]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "playbooks", "lint", "--config", cfg, filepath.Join(dir))
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	type line struct{ id, text string }
	var ls []line
	for i, id := range f.Sandbox[:2] {
		ls = append(ls, line{id, fmt.Sprintf("  %s sandbox-%d (Root/Sandbox): auto", id, i)})
	}
	for i, id := range f.Production {
		what := "approval"
		if id == f.Production[2] {
			what = "protected"
		}
		ls = append(ls, line{id, fmt.Sprintf("  %s production-%d (Root/Production): %s", id, i, what)})
	}
	slices.SortFunc(ls, func(a, b line) int { return strings.Compare(a.id, b.id) })
	want := "scope public-bucket: ous=Sandbox,Production exclude(accounts=" + f.Sandbox[2] + "); approval: required, auto in ous=Sandbox\n"
	for _, l := range ls {
		want += l.text + "\n"
	}
	if !strings.Contains(out, want+"playbooks: 1 valid") {
		t.Errorf("playbooks lint --config:\n%s\nwant:\n%s", out, want)
	}

	// Without an organization: the scopes only.
	out, _, code = run(t, "", "playbooks", "lint")
	if code != ExitOK || !strings.Contains(out, "\nscope public-bucket-policy: all accounts; approval: ") || strings.Contains(out, "  1") {
		t.Errorf("playbooks lint (builtin): exit %d\n%s", code, out)
	}
}
