package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// playbooks lint proves every builtin playbook on the findings the rules'
// examples produce, and names the template that cannot read a finding.
func TestPlaybooksLintProvesOnRuleExamples(t *testing.T) {
	out, errOut, code := run(t, "", "playbooks", "lint")
	if code != ExitOK || !strings.Contains(out, "10 valid, 10 proven") || !strings.Contains(out, " 0 problems") {
		t.Fatalf("builtin playbooks: exit %d\n%s%s", code, out, errOut)
	}
	dir := t.TempDir()
	// Triggers on mining-pool traffic, whose findings have no actor.
	pb := `name: page-on-mining
trigger: finding.rule_id == "9222a2d6-bd24-5233-8e0c-7433a4af7434"
mode: auto
steps:
  - action: notify.slack
    params:
      webhook: env:PARAPET_SLACK_WEBHOOK
      text: "mining by ${finding.actor.user_name}"
`
	if err := os.WriteFile(filepath.Join(dir, "page.yml"), []byte(pb), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code = run(t, "", "playbooks", "lint", dir)
	if code != ExitFailure || !strings.Contains(out, "flow_mining_pool_port.examples.jsonl") || !strings.Contains(out, "no such key: actor") {
		t.Errorf("a playbook that cannot read its findings passed lint: exit %d\n%s", code, out)
	}
}

// playbooks actions lists the ticket actions with their secrets.
func TestPlaybooksActionsListsTickets(t *testing.T) {
	out, errOut, code := run(t, "", "playbooks", "actions")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"ticket.jira\n", "secrets (env:NAME or file:PATH): api_token", "ticket.servicenow\n", "secrets (env:NAME or file:PATH): password, token"} {
		if !strings.Contains(out, want) {
			t.Errorf("playbooks actions lacks %q:\n%s", want, out)
		}
	}
}

// respond on findings written without their native records: the run fails,
// the exit status says so (4), and the message names the flag to add.
func TestRespondFailedRunExitsNonZero(t *testing.T) {
	dir := t.TempDir()
	pub := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-open/*"}}}
	trail := filepath.Join(dir, "trail.json")
	rec := ctRecord("ev-norec", "mallory", "AKIAMALLORY", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "acme-open", "bucketPolicy": pub}, nil)
	if err := os.WriteFile(trail, []byte(`{"Records":[`+rec+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	findings, errOut, code := run(t, "", "detect", "--progress", "never", "--no-ueba", trail)
	if code != ExitOK {
		t.Fatalf("detect: exit %d: %s", code, errOut)
	}
	f := filepath.Join(dir, "f.jsonl")
	if err := os.WriteFile(f, []byte(findings), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = run(t, "", "respond", "--findings", f, "--db", filepath.Join(dir, "p.db"), "--dry-run")
	if code != ExitActionFailed || !strings.Contains(errOut, "failed") || !strings.Contains(errOut, "parapet detect --records") {
		t.Errorf("respond on findings without records: exit %d\n%s", code, errOut)
	}
}

// The API lists, for a finding, only the playbooks that apply to it (what
// the UI offers).
func TestServePlaybooksForAFinding(t *testing.T) {
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("respond:\n  dry_run: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok := token(t, data, "analyst")
	url, _ := startServe(t, "--data", data, "--config", cfg)
	pub := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-open/*"}}}
	post(t, url, tok, ctRecord("ev-pb-1", "mallory", "AKIAMALLORY", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "acme-open", "bucketPolicy": pub}, nil))
	waitIncident(t, url, tok)
	_, fv := call(t, "GET", url+"/v1/findings", tok, "", nil)
	items := asItems(fv)
	if len(items) == 0 {
		t.Fatal("no finding")
	}
	_, pv := call(t, "GET", url+"/v1/playbooks?finding_id="+items[0]["id"].(string), tok, "", nil)
	var names []string
	for _, p := range asItems(pv) {
		names = append(names, p["name"].(string))
	}
	if strings.Join(names, ",") != "public-bucket-policy" {
		t.Errorf("playbooks for a public-bucket finding: %v", names)
	}
	_, all := call(t, "GET", url+"/v1/playbooks", tok, "", nil)
	if len(asItems(all)) < 9 {
		t.Errorf("all playbooks: %d", len(asItems(all)))
	}
	if code, _ := call(t, "GET", url+"/v1/playbooks?finding_id=nope", tok, "", nil); code != 404 {
		t.Errorf("an unknown finding: %d", code)
	}
}
