package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

const pathsData = "testdata/paths"

// parapet paths over Terraform: the two-step path in words and as JSON,
// the graph formats; over an AWS Config snapshot.
func TestPathsCommand(t *testing.T) {
	tf := filepath.Join(pathsData, "tf")
	out, errOut, code := run(t, "", "paths", tf)
	if code != ExitOK {
		t.Fatalf("paths: exit %d, stderr %s", code, errOut)
	}
	for _, want := range []string{
		"ci-deployer can pass role ops-admin to a new Lambda function and invoke it: iam:PassRole on arn:aws:iam::111122223333:role/ops-admin via policy deploy, statement 2",
		"1. support can create an access key for user ci-deployer: iam:CreateAccessKey on arn:aws:iam::111122223333:user/ci-deployer via policy helpdesk, statement 1 (Keys)",
		"2. ci-deployer can pass role ops-admin",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q:\n%s", want, out)
		}
	}
	out, errOut, code = run(t, "", "paths", "--format", "json", tf)
	if code != ExitOK {
		t.Fatalf("json: exit %d, stderr %s", code, errOut)
	}
	var rep struct {
		Account string
		Paths   []struct {
			Source string
			Steps  []struct{ Method string }
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	steps := map[string]int{}
	for _, p := range rep.Paths {
		steps[p.Source] = len(p.Steps)
	}
	if rep.Account != "111122223333" || steps["arn:aws:iam::111122223333:user/support"] != 2 || steps["arn:aws:iam::111122223333:user/ci-deployer"] != 1 {
		t.Errorf("json: account %s, steps %v", rep.Account, steps)
	}
	for format, want := range map[string]string{
		"dot":     `"arn:aws:iam::111122223333:user/support" -> "arn:aws:iam::111122223333:user/ci-deployer"`,
		"graphml": `<edge source="arn:aws:iam::111122223333:user/support" target="arn:aws:iam::111122223333:user/ci-deployer">`,
		"cypher":  `MERGE (a)-[:CAN_ACT_AS {method: 'iam-create-access-key'`,
	} {
		out, _, code := run(t, "", "paths", "--format", format, tf)
		if code != ExitOK || !strings.Contains(out, want) {
			t.Errorf("--format %s (exit %d) lacks %q:\n%s", format, code, want, out)
		}
	}
	out, _, code = run(t, "", "paths", "--to", "ci-deployer", tf)
	if code != ExitOK || !strings.Contains(out, "1 principals can reach ci-deployer") {
		t.Errorf("--to ci-deployer (exit %d):\n%s", code, out)
	}
	if _, _, code := run(t, "", "paths", "--format", "pdf", tf); code != ExitUsage {
		t.Errorf("--format pdf: exit %d, want %d", code, ExitUsage)
	}

	out, errOut, code = run(t, "", "paths", filepath.Join(pathsData, "config-snapshot.json"))
	if code != ExitOK || !strings.Contains(out, "analyst can pass role glue-admin to a new Glue development endpoint and log in") ||
		!strings.Contains(out, "account 444455556666") {
		t.Errorf("config snapshot (exit %d, stderr %s):\n%s", code, errOut, out)
	}
}
