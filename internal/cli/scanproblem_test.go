package cli

import (
	"encoding/json"
	"html"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/posture/check"
)

// A failed check is titled as the problem in every format: JSON, the
// table, SARIF (rule and result) and the HTML report; a passing one keeps
// the check's title.
func TestScanFailuresTitledAsProblems(t *testing.T) {
	checks, errs := check.Load(content.FS, "checks")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	byID := map[string]*check.Check{}
	for _, c := range checks {
		byID[c.ID] = c
	}
	dir := writeScanTree(t)
	out, errOut, code := run(t, "", "scan", "iac", "--format", "json", dir)
	if code != ExitOK && code != ExitFailure {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep scanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	failed := map[string]string{} // check id → problem title
	passes := 0
	for _, r := range rep.Results {
		c := byID[r.CheckID]
		if c == nil {
			continue
		}
		switch r.Status {
		case check.Fail:
			if r.Title != c.Problem || r.Title == c.Title {
				t.Errorf("%s failed, titled %q; want the problem %q", r.CheckID, r.Title, c.Problem)
			}
			failed[r.CheckID] = c.Problem
		case check.Pass:
			passes++
			if r.Title != c.Title {
				t.Errorf("%s passed, titled %q; want %q", r.CheckID, r.Title, c.Title)
			}
		}
	}
	if len(failed) < 3 || passes == 0 {
		t.Fatalf("the scan tree should fail several checks and pass some: %d failed, %d passed", len(failed), passes)
	}
	table, _, _ := run(t, "", "scan", "iac", "--format", "table", dir)
	sarif, _, _ := run(t, "", "scan", "iac", "--format", "sarif", dir)
	page, _, _ := run(t, "", "scan", "iac", "--format", "html", dir)
	var s struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID               string `json:"id"`
						ShortDescription struct {
							Text string `json:"text"`
						} `json:"shortDescription"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID  string `json:"ruleId"`
				Message struct {
					Text string `json:"text"`
				} `json:"message"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(sarif), &s); err != nil || len(s.Runs) != 1 {
		t.Fatalf("sarif: %v", err)
	}
	rules := map[string]string{}
	for _, r := range s.Runs[0].Tool.Driver.Rules {
		rules[r.ID] = r.ShortDescription.Text
	}
	for _, r := range s.Runs[0].Results {
		if p, ok := failed[r.RuleID]; ok && !strings.Contains(r.Message.Text, ": "+p) {
			t.Errorf("SARIF result of %s: %q; want it to say %q", r.RuleID, r.Message.Text, p)
		}
	}
	// In the table, each failure's line is followed by its problem title.
	lines := strings.Split(table, "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) < 3 || (f[0] != "FAIL" && f[0] != "NEW") || i+1 == len(lines) {
			continue
		}
		if p, ok := failed[f[2]]; ok && strings.TrimSpace(lines[i+1]) != p {
			t.Errorf("table: %q is followed by %q, want the problem %q", l, lines[i+1], p)
		}
	}
	for id, p := range failed {
		if rules[id] != p {
			t.Errorf("SARIF rule %s: %q, want %q", id, rules[id], p)
		}
		if !strings.Contains(table, "\n         "+p+"\n") {
			t.Errorf("the table does not title %s's failure %q:\n%s", id, p, table)
		}
		if !strings.Contains(page, html.EscapeString(p)) {
			t.Errorf("the HTML report does not title %s's failure %q", id, p)
		}
	}
}
