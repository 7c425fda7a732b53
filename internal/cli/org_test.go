package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"

	"github.com/parapet-sec/parapet/internal/org/orgposture"
	"github.com/parapet-sec/parapet/internal/org/orgtest"
	"github.com/parapet-sec/parapet/internal/posture/check"
)

// parapet org posture prints the coverage matrix; scan aws --org adds it,
// the organization checks and the rollup to its report.
func TestOrgPosture(t *testing.T) {
	if testing.Short() {
		t.Skip("an organization on the emulator: slow under the race detector; the full suite runs it (TestScanAWSOrg keeps the organization scan's concurrency in the race pass)")
	}
	f := orgtest.New(t)
	ctx := context.Background()
	if _, err := guardduty.NewFromConfig(orgtest.InAccount(f.Cfg, f.Sandbox[0])).CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	args := []string{"org", "posture", "--role", orgtest.Role, "--ou", "Sandbox", "--ou", "Production", "--regions", "us-east-1"}
	out, errOut, code := run(t, "", append(args, "--format", "json")...)
	if code != ExitBadInput {
		t.Fatalf("org posture: exit %d, want %d (one account cannot be assumed): %s", code, ExitBadInput, errOut)
	}
	var p orgposture.Posture
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	gd := map[string]string{}
	for _, c := range p.Coverage {
		if c.Service == orgposture.GuardDuty {
			gd[c.Account] = c.Status
		}
	}
	want := map[string]string{f.NoRole: orgposture.Unknown, f.Sandbox[0]: orgposture.Covered}
	for _, id := range append(append([]string{}, f.Sandbox...), f.Production...) {
		w := want[id]
		if w == "" {
			w = orgposture.NotCovered
		}
		if gd[id] != w {
			t.Errorf("GuardDuty in %s = %q, want %s", id, gd[id], w)
		}
	}
	if !strings.Contains(errOut, "6 accounts × 1 regions: 19 gaps, 4 unknown") {
		t.Errorf("stderr %q: want the count of gaps (5 accounts × 4 services, less the one covered) and unknown cells", errOut)
	}

	out, _, _ = run(t, "", args...)
	for _, s := range []string{"ORGANIZATION COVERAGE", "SERVICE CONTROL POLICIES", "FullAWSAccess", "DELEGATED ADMINISTRATORS", f.NoRole} {
		if !strings.Contains(out, s) {
			t.Errorf("org posture table lacks %q:\n%s", s, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, f.Sandbox[0]) && !strings.Contains(line, "yes") {
			t.Errorf("row of %s without GuardDuty covered: %q", f.Sandbox[0], line)
		}
	}

	// scan aws --org: the organization checks among the results, the
	// posture and the rollup in the report, in the table too.
	scan := []string{"scan", "aws", "--org", "--role", orgtest.Role, "--ou", "Sandbox", "--regions", "us-east-1"}
	out, errOut, _ = run(t, "", append(scan, "--format", "json")...)
	var rep scanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	if rep.Organization == nil || rep.Rollup == nil || len(rep.Rollup.Accounts) != 3 {
		t.Fatalf("scan aws --org report: organization %v, rollup %+v", rep.Organization != nil, rep.Rollup)
	}
	fails := map[string]int{}
	for _, r := range rep.Results {
		if isOrgCheck(r.CheckID) && r.Status == "fail" {
			fails[r.CheckID]++
		}
	}
	// Three sandbox accounts in one region: GuardDuty is off in two,
	// Security Hub, Config and CloudTrail in all three; no SCP but
	// FullAWSAccess and no delegated administrator.
	if w := map[string]int{"PARAPET-ORG-003": 2, "PARAPET-ORG-004": 3, "PARAPET-ORG-005": 3, "PARAPET-ORG-006": 3, "PARAPET-ORG-007": 1, "PARAPET-ORG-008": 1, "PARAPET-ORG-009": 1}; !equalCounts(fails, w) {
		t.Errorf("organization failures = %v, want %v", fails, w)
	}
	for _, a := range rep.Rollup.Accounts {
		if a.OU != "Root/Sandbox" || len(a.Scores) == 0 {
			t.Errorf("rollup account %+v: want Root/Sandbox with scores", a)
		}
	}
	// Every other format carries the organization checks' failures.
	for _, format := range []string{"sarif", "html", "ocsf"} {
		out, errOut, code := run(t, "", append(slices.Clone(scan), "--format", format)...)
		if code != ExitOK || !strings.Contains(out, "PARAPET-ORG-006") {
			t.Errorf("scan aws --org --format %s: exit %d, PARAPET-ORG-006 in the output %v: %s", format, code, strings.Contains(out, "PARAPET-ORG-006"), errOut)
		}
	}
	out, _, _ = run(t, "", scan...)
	if !strings.Contains(out, "ORGANIZATION COVERAGE") || !strings.Contains(out, "ROLLUP") || !strings.Contains(out, "Root/Sandbox") {
		t.Errorf("scan aws --org table lacks the organization and rollup:\n%s", out)
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// isOrgCheck: one of the organization checks (orgposture.Checks).
func isOrgCheck(id string) bool {
	return slices.ContainsFunc(orgposture.Checks, func(c *check.Check) bool { return c.ID == id })
}

// checks list names the organization's checks beside the content's, with
// their frameworks.
func TestChecksListOrganization(t *testing.T) {
	out, errOut, code := run(t, "", "checks", "list")
	if code != ExitOK {
		t.Fatalf("checks list: exit %d: %s", code, errOut)
	}
	for _, c := range orgposture.Checks {
		line := fmt.Sprintf("%-17s %-9s %-34s %s\n", c.ID, c.Severity, c.Resource, c.Title)
		if !strings.Contains(out, line) {
			t.Errorf("checks list lacks %s:\n%s", c.ID, line)
		}
	}
	if !strings.Contains(out, "PARAPET-S3-001 ") {
		t.Errorf("checks list lost the content's checks")
	}
	if n := strings.Count(out, "\nPARAPET-ORG-006 "); n != 1 {
		t.Errorf("PARAPET-ORG-006 listed %d times", n)
	}
}
