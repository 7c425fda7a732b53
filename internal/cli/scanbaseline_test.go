package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The baseline round trip: write the failures, then move code (lines
// shift), fix one failure and make another; against the baseline the
// run reports one new, one fixed, the rest still failing, and only the
// new one counts for --fail-on.
func TestScanBaseline(t *testing.T) {
	dir := writeLocationTree(t)
	base := filepath.Join(t.TempDir(), "parapet-baseline.json")
	if _, errOut, code := run(t, "", "scan", "iac", "--fail-on", "high", "--write-baseline", base, dir); code != ExitFailure {
		t.Fatalf("first scan: exit %d, want %d (it has high failures): %s", code, ExitFailure, errOut)
	}
	var b baselineFile
	if data, err := os.ReadFile(base); err != nil || json.Unmarshal(data, &b) != nil || len(b.Failures) == 0 {
		t.Fatalf("baseline: %v %+v", err, b)
	}
	// Move everything three lines down, fix the db's encryption, and turn
	// off minor upgrades on the bare one (a new, low failure).
	tf := "# moved\n\n\n" + strings.Replace(strings.Replace(locationTF, "storage_encrypted = false", "storage_encrypted = true", 1),
		"identifier = \"bare\"", "identifier = \"bare\"\n  auto_minor_version_upgrade = false", 1)
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(tf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "scan", "iac", "--format", "json", "--fail-on", "high", "--baseline", base, dir)
	if code != ExitOK {
		t.Errorf("--fail-on high against the baseline: exit %d, want 0 (the only new failure is low): %s", code, errOut)
	}
	var rep scanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	lc := rep.Lifecycle
	if lc == nil || lc.New != 1 || lc.Fixed != 1 || lc.StillFailing != len(b.Failures)-1 {
		t.Fatalf("lifecycle: %+v, want 1 new, 1 fixed, %d still failing", lc, len(b.Failures)-1)
	}
	if f := lc.FixedResults[0]; f.CheckID != "PARAPET-RDS-002" || f.Resource.Address != "aws_db_instance.db" || f.Attribute != "encrypted" {
		t.Errorf("fixed: %+v", f)
	}
	for _, r := range rep.Results {
		if r.Status != "fail" {
			if r.Baseline != "" {
				t.Errorf("%s %s is %s and %s", r.CheckID, r.Resource.Address, r.Status, r.Baseline)
			}
			continue
		}
		want := baselineUnchanged
		if r.CheckID == "PARAPET-RDS-005" && r.Resource.Address == "aws_db_instance.bare" {
			want = baselineNew
		}
		if r.Baseline != want {
			t.Errorf("%s %s at %s: %q, want %q", r.CheckID, r.Resource.Address, r.Location, r.Baseline, want)
		}
	}
	if _, _, code := run(t, "", "scan", "iac", "--fail-on", "low", "--baseline", base, dir); code != ExitFailure {
		t.Errorf("--fail-on low against the baseline: exit %d, want %d (the new failure is low)", code, ExitFailure)
	}
	table, _, _ := run(t, "", "scan", "iac", "--baseline", base, dir)
	for _, w := range []string{"NEW      low       PARAPET-RDS-005", "FIXED    high      PARAPET-RDS-002   aws_db_instance.db", "1 new, " + strconv.Itoa(len(b.Failures)-1) + " still failing, 1 fixed"} {
		if !strings.Contains(table, w) {
			t.Errorf("table: no %q in\n%s", w, table)
		}
	}
	// SARIF: baselineState new, unchanged, and absent for the fixed one.
	sarif, _, _ := run(t, "", "scan", "iac", "--format", "sarif", "--baseline", base, dir)
	validateSARIF(t, sarif)
	var s sarifDoc
	if err := json.Unmarshal([]byte(sarif), &s); err != nil {
		t.Fatal(err)
	}
	states := map[string]int{}
	for _, r := range s.Runs[0].Results {
		states[r.BaselineState]++
		if r.PartialFingerprints["parapet/v2"] == "" {
			t.Errorf("SARIF result without a fingerprint: %+v", r)
		}
	}
	if states["new"] != 1 || states["absent"] != 1 || states["unchanged"] != len(b.Failures)-1 {
		t.Errorf("SARIF baseline states: %v", states)
	}
	// Suppressing a baseline failure inline does not make it fixed.
	tf = strings.Replace(tf, "resource \"aws_db_instance\" \"db\" {", "# parapet:ignore PARAPET-RDS-003 backed up by AWS Backup\nresource \"aws_db_instance\" \"db\" {", 1)
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(tf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, _ = run(t, "", "scan", "iac", "--format", "json", "--baseline", base, dir)
	rep = scanReport{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if lc := rep.Lifecycle; len(rep.Suppressed) != 1 || lc.Fixed != 1 || lc.New != 1 || lc.StillFailing != len(b.Failures)-2 {
		t.Errorf("with a suppression: %d suppressed, lifecycle %+v", len(rep.Suppressed), lc)
	}

	// A file that is not a baseline is an error, not an empty baseline.
	if _, _, code := run(t, "", "scan", "iac", "--baseline", filepath.Join(dir, "stack.cfn.yaml"), dir); code == ExitOK {
		t.Error("a template taken as a baseline")
	}
}

// A pull request that creates a path to admin fails against the baseline
// and names it; one that adds a harmless policy passes. The baseline
// itself holds an older path (ops's), which stays unchanged.
func TestScanBaselineNewPathToAdmin(t *testing.T) {
	const base = `
resource "aws_iam_user" "deploy" {
  name = "deploy"
}
resource "aws_iam_user_policy" "deploy" {
  name   = "deploy"
  user   = aws_iam_user.deploy.name
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "s3:PutObject", Resource = "*" }] })
}
resource "aws_iam_user" "ops" {
  name = "ops"
}
resource "aws_iam_user_policy" "ops" {
  name   = "ops"
  user   = aws_iam_user.ops.name
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "iam:PutUserPolicy", Resource = "*" }] })
}
`
	dir := t.TempDir()
	write := func(extra string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(base+extra), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	baseline := filepath.Join(t.TempDir(), "baseline.json")
	if _, errOut, code := run(t, "", "scan", "iac", "--write-baseline", baseline, dir); code != ExitOK {
		t.Fatalf("baseline scan: exit %d: %s", code, errOut)
	}
	// The PR: deploy gets iam:CreatePolicyVersion on * in a managed policy
	// attached to it.
	write(`
resource "aws_iam_policy" "deploy_extra" {
  name   = "deploy-extra"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "iam:CreatePolicyVersion", Resource = "*" }] })
}
resource "aws_iam_user_policy_attachment" "deploy_extra" {
  user       = aws_iam_user.deploy.name
  policy_arn = aws_iam_policy.deploy_extra.arn
}
`)
	out, errOut, code := run(t, "", "scan", "iac", "--fail-on", "high", "--baseline", baseline, dir)
	if code != ExitFailure {
		t.Fatalf("PR with a new path: exit %d, want %d:\n%s\n%s", code, ExitFailure, out, errOut)
	}
	var newLine string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "can become admin") && strings.Contains(l, "NEW") {
			if newLine != "" {
				t.Errorf("more than one new path: %q and %q", newLine, l)
			}
			newLine = l
		}
	}
	if !strings.Contains(newLine, "user deploy can become admin") || !strings.Contains(newLine, "Minimal fix: remove or constrain iam:CreatePolicyVersion on arn:aws:iam::000000000000:policy/deploy-extra via policy deploy-extra, statement 1") {
		t.Errorf("the new path is not named:\n%s", out)
	}
	// A PR adding a harmless policy instead passes.
	write(`
resource "aws_iam_policy" "deploy_extra" {
  name   = "deploy-extra"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "*" }] })
}
resource "aws_iam_user_policy_attachment" "deploy_extra" {
  user       = aws_iam_user.deploy.name
  policy_arn = aws_iam_policy.deploy_extra.arn
}
`)
	if out, errOut, code := run(t, "", "scan", "iac", "--fail-on", "high", "--baseline", baseline, dir); code != ExitOK {
		t.Errorf("harmless PR: exit %d, want 0:\n%s\n%s", code, out, errOut)
	}
	// Without the baseline the old path (ops) fails the run.
	if _, _, code := run(t, "", "scan", "iac", "--fail-on", "high", dir); code != ExitFailure {
		t.Errorf("without a baseline: exit %d, want %d (ops can become admin)", code, ExitFailure)
	}
}
