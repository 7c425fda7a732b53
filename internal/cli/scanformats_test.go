package cli

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/ocsf"
	"github.com/parapet-sec/parapet/internal/posture/check"
	"github.com/parapet-sec/parapet/internal/posture/framework"
	"github.com/parapet-sec/parapet/internal/sharedtest"
)

// --format ocsf writes one Compliance Finding (2003) per result, each
// valid against the OCSF 1.8.0 schema; a suppressed failure keeps its
// compliance status and takes the finding status Suppressed.
func TestScanOCSF(t *testing.T) {
	schema, err := ocsf.Load(sharedtest.Path(t, "ocsf/ocsf-1.8.0-compiled.compact.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := writeScanTree(t)
	out, errOut, code := run(t, "", "scan", "iac", "--format", "ocsf", dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var n, fails, suppressed int
	uids := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var f map[string]any
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		n++
		for _, e := range schema.Validate(f) {
			t.Errorf("finding %d: %v", n, e)
		}
		if f["class_uid"] != float64(2003) {
			t.Fatalf("class_uid %v", f["class_uid"])
		}
		uid := f["metadata"].(map[string]any)["uid"].(string)
		if uids[uid] {
			t.Errorf("two findings share uid %s", uid)
		}
		uids[uid] = true
		comp := f["compliance"].(map[string]any)
		if comp["status"] == "Fail" {
			fails++
		}
		if f["status"] == "Suppressed" {
			suppressed++
			if comp["status"] != "Fail" || !strings.Contains(comp["status_detail"].(string), "legacy AMI") && !strings.Contains(comp["status_detail"].(string), "asymmetric") {
				t.Errorf("suppressed finding: %v", comp)
			}
		}
		res := f["resources"].([]any)[0].(map[string]any)
		if data, _ := res["data"].(map[string]any); data == nil || data["file"] == "" || data["start_line"].(float64) == 0 {
			t.Errorf("an IaC finding without its file and line: %v", res)
		}
	}
	if n < 20 || fails == 0 || suppressed != 2 {
		t.Errorf("%d findings, %d failed, %d suppressed (want 2)", n, fails, suppressed)
	}
}

// --format html is one self-contained page: scores per framework and
// control, failures with locations and fixes, suppressions with reasons,
// and every value from the scanned files escaped.
func TestScanHTML(t *testing.T) {
	dir := writeScanTree(t)
	// A user's check whose texts carry markup.
	checks := t.TempDir()
	evil := `id: ACME-001
title: 'Buckets are <b>tagged</b>'
severity: low
resource: aws_s3_bucket
condition: 'false'
rationale: 'r'
remediation: '<script>alert(1)</script>'
iac_fix: 'tags = {}'
`
	if err := os.WriteFile(filepath.Join(checks, "evil.yaml"), []byte(evil), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "scan", "iac", "--format", "html", "--checks", checks, dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"<!DOCTYPE html>",
		"CIS Amazon Web Services Foundations Benchmark v3.0.0", "PCI DSS v4.0", "NIST SP 800-53 Revision 5",
		`id="fw-cis-aws-3.0"`, "Ensure no security groups allow ingress from 0.0.0.0/0 to remote server administration ports",
		"PARAPET-EC2-001", "modules/network/main.tf:4", "Allow SSH only from known addresses",
		"legacy AMI without IMDSv2 support", "an asymmetric signing key cannot rotate",
		"&lt;script&gt;alert(1)&lt;/script&gt;", "Buckets are &lt;b&gt;tagged&lt;/b&gt;",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	for _, bad := range []string{"<script>", "http://", "https://", "<link", "@import"} {
		if strings.Contains(out, bad) {
			t.Errorf("the report is not self-contained or not escaped: it contains %q", bad)
		}
	}
}

// A suppression file accepts a failure for a reason until a date; expired
// entries are not honoured and stale ones are reported; a malformed file
// stops the scan with the file and line.
func TestScanSuppressionFile(t *testing.T) {
	dir := writeScanTree(t)
	sup := filepath.Join(t.TempDir(), "suppressions.yaml")
	body := `suppressions:
  - check: PARAPET-EC2-001
    resource: "module.network.*"
    reason: "bastion reached through the VPN only; ticket SEC-42"
    expires: 2999-01-01
  - check: PARAPET-RDS-*
    resource: "aws_db_instance.db"
    reason: "accepted in the 2025 risk review"
    expires: 2000-01-01
  - check: PARAPET-LAMBDA-001
    resource: "*"
    reason: "no function URLs here"
`
	if err := os.WriteFile(sup, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "scan", "iac", "--format", "json", "--suppressions", sup, dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep scanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, s := range rep.Suppressed {
		if s.CheckID == "PARAPET-EC2-001" && s.Resource.Address == "module.network.aws_security_group.web" {
			found = strings.Contains(s.Reason, "SEC-42") && strings.Contains(s.Reason, "suppressions.yaml:2")
		}
	}
	if !found {
		t.Errorf("the SSH failure was not suppressed with its reason and place: %+v", rep.Suppressed)
	}
	for _, r := range rep.Results {
		if r.CheckID == "PARAPET-EC2-001" && strings.HasPrefix(r.Resource.Address, "module.network.") {
			t.Errorf("still reported: %+v", r)
		}
	}
	if !strings.Contains(errOut, "suppressions.yaml:6: suppression of PARAPET-RDS-* on aws_db_instance.db expired on 2000-01-01") {
		t.Errorf("the expired entry was not reported:\n%s", errOut)
	}
	if !strings.Contains(errOut, "suppressions.yaml:10: suppression of PARAPET-LAMBDA-001 on * matched no failure") {
		t.Errorf("the stale entry was not reported:\n%s", errOut)
	}
	if err := os.WriteFile(sup, []byte("suppressions:\n  - check: PARAPET-S3-001\n    resource: '*'\n  - check: X\n    resource: '*'\n    reason: r\n    owner: me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = run(t, "", "scan", "iac", "--suppressions", sup, dir)
	if code != ExitUsage || !strings.Contains(errOut, "suppressions.yaml:2: a suppression needs a reason") || !strings.Contains(errOut, `suppressions.yaml:4: unknown key "owner"`) {
		t.Errorf("a malformed file: exit %d\n%s", code, errOut)
	}
}

// A Terraform plan in JSON is scanned as planned, with locations in the
// plan file.
func TestScanPlan(t *testing.T) {
	out, errOut, code := run(t, "", "scan", "iac", "--format", "json", "../posture/iac/terraform/testdata/plan.json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep scanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, r := range rep.Results {
		status[r.CheckID+" "+r.Resource.Address] = r.Status
		if r.Location.File != "plan.json" || r.Location.StartLine < 2 {
			t.Errorf("location %+v", r.Location)
		}
	}
	for k, v := range map[string]string{
		"PARAPET-S3-001 aws_s3_bucket.data[0]":                  "pass", // joined to its public access block
		"PARAPET-S3-001 aws_s3_bucket.data[1]":                  "fail",
		"PARAPET-RDS-001 aws_db_instance.orders":                "fail",
		"PARAPET-EC2-001 module.network.aws_security_group.web": "fail",
		"PARAPET-EC2-006 aws_instance.web":                      "pass",
		"PARAPET-EC2-007 aws_instance.web":                      "unknown", // the public IP is known after apply
	} {
		if status[k] != v {
			t.Errorf("%s: %q, want %q", k, status[k], v)
		}
	}
}

// SARIF marks suppressed results as such (GitHub shows them dismissed),
// inline comments as inSource and suppression files as external.
func TestScanSARIFSuppressions(t *testing.T) {
	dir := writeScanTree(t)
	sup := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(sup, []byte("suppressions:\n  - check: PARAPET-EC2-001\n    resource: '*'\n    reason: bastion behind the VPN\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "scan", "iac", "--format", "sarif", "--suppressions", sup, dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var s struct {
		Runs []struct {
			Results []struct {
				RuleID       string
				Suppressions []struct{ Kind, Justification string }
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, r := range s.Runs[0].Results {
		for _, x := range r.Suppressions {
			kinds[r.RuleID] = x.Kind + ": " + x.Justification
		}
	}
	if !strings.HasPrefix(kinds["PARAPET-EC2-001"], "external: bastion behind the VPN") || !strings.HasPrefix(kinds["PARAPET-EC2-006"], "inSource: legacy AMI") {
		t.Errorf("suppressions in SARIF: %v", kinds)
	}
}

// Every control a check names exists in its framework, every framework a
// check names exists, every check a framework file lists exists, no
// mapping points at a manual control (else the score would silently
// ignore it), and every CIS control marked automated is tested by a check.
func TestFrameworkMappings(t *testing.T) {
	fws := loadFrameworks()
	sub, _ := fs.Sub(content.FS, "checks")
	checks, errs := check.Load(sub, ".") // the checks' own mappings, before Annotate
	for _, e := range errs {
		t.Errorf("check: %v", e)
	}
	for _, e := range framework.Validate(fws, checks) {
		t.Error(e)
	}
	for _, f := range fws {
		if f.ID != "cis-aws-3.0" {
			continue
		}
		mapped := framework.ControlChecks(f, checks)
		for _, c := range f.Controls {
			if !c.Manual && len(mapped[c.ID]) == 0 {
				t.Errorf("%s %s is automated but no check tests it", f.ID, c.ID)
			}
		}
	}
	want := []string{"aws-fsbp", "cis-aws-3.0", "cis-aws-4.0", "cis-aws-5.0", "gdpr", "hipaa", "iso-27001-2022", "nist-800-53-r5", "pci-dss-4.0", "soc2"}
	if got := framework.IDs(fws); !slices.Equal(got, want) {
		t.Errorf("frameworks %v, want %v", got, want)
	}
	// --framework's help lists the file names: each is its framework's id.
	if frameworkFileIDs() != frameworkIDs() {
		t.Errorf("file names %s, ids %s", frameworkFileIDs(), frameworkIDs())
	}
}

// --framework scores one framework with its notes; a framework file's own
// mappings (a control's checks:) show in each result's frameworks; an
// unknown id is a usage error that lists the known ones.
func TestScanFramework(t *testing.T) {
	dir := writeScanTree(t)
	out, errOut, code := run(t, "", "scan", "iac", "--format", "json", "--framework", "gdpr", dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep scanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Frameworks) != 1 || rep.Frameworks[0].ID != "gdpr" || !strings.Contains(rep.Frameworks[0].Note, "legal matter") {
		t.Fatalf("frameworks: %+v", rep.Frameworks)
	}
	var a bool
	for _, c := range rep.Frameworks[0].Controls {
		if c.ID == "Art.32(1)(a)" {
			a = c.Status != "manual" && c.Note != "" && slices.Contains(c.Checks, "PARAPET-RDS-002")
		}
		if c.ID == "Art.30" && c.Status != "manual" {
			t.Errorf("Art. 30 is scored: %+v", c)
		}
	}
	if !a {
		t.Errorf("Art. 32(1)(a) lacks its framework-side checks or note: %+v", rep.Frameworks[0].Controls)
	}
	// PARAPET-S3-001 names CIS 3.0 itself; ISO 27001 and FSBP map it from
	// their side.
	found := false
	for _, r := range rep.Results {
		if r.CheckID != "PARAPET-S3-001" {
			continue
		}
		found = true
		if !slices.Contains(r.Frameworks["cis-aws-3.0"], "2.1.4") || !slices.Contains(r.Frameworks["aws-fsbp"], "S3.8") ||
			!slices.Contains(r.Frameworks["iso-27001-2022"], "A.8.3") || !slices.Contains(r.Frameworks["gdpr"], "Art.25(2)") {
			t.Errorf("S3-001 frameworks: %v", r.Frameworks)
		}
		break
	}
	if !found {
		t.Error("no PARAPET-S3-001 result")
	}
	// The table lists one framework's controls with the notes.
	out, _, _ = run(t, "", "scan", "iac", "--framework", "gdpr", dir)
	for _, want := range []string{"note: GDPR compliance is a legal matter", "Art.30         MANUAL", "note: A record of processing activities is documentation"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	_, errOut, code = run(t, "", "scan", "iac", "--framework", "iso27001", dir)
	if code != ExitUsage || !strings.Contains(errOut, "iso-27001-2022") || !strings.Contains(errOut, "cis-aws-5.0") {
		t.Errorf("unknown framework: exit %d: %s", code, errOut)
	}
}
