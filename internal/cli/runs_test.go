package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// An analyst asks for a playbook on a finding; under the four-eyes rule the
// run waits, its requester cannot approve it, another approver can, and the
// run's record shows who asked, who decided and what the step did (a real
// signed webhook delivery to a local receiver).
func TestServePlaybookRunsFourEyes(t *testing.T) {
	var delivered atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("X-Parapet-Signature"), "sha256=") {
			delivered.Add(1)
		}
	}))
	defer hook.Close()
	t.Setenv("PARAPET_TEST_HOOK", hook.URL)
	t.Setenv("PARAPET_TEST_HOOK_SECRET", "s3cr3t-value")
	dir := t.TempDir()
	pb := `name: page-owner
description: Tell the bucket's owner.
trigger: finding.rule_id == "no-such-rule"
mode: approve
steps:
  - action: notify.webhook
    params:
      url: env:PARAPET_TEST_HOOK
      secret: env:PARAPET_TEST_HOOK_SECRET
      message: "Look at ${record.requestParameters.bucketName}"
      finding_id: ${finding.id}
`
	if err := os.WriteFile(filepath.Join(dir, "page-owner.yml"), []byte(pb), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("auth:\n  four_eyes: true\nrespond:\n  builtin_playbooks: false\n  playbooks: ["+dir+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	named := func(role, name string) string {
		out, errOut, code := run(t, "", "tokens", "create", "--role", role, "--name", name, "--data", data)
		if code != ExitOK {
			t.Fatalf("tokens create: %s", errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		return lines[len(lines)-1]
	}
	alice, bob, viewer := named("approver", "alice"), named("approver", "bob"), named("viewer", "vic")
	url, _ := startServe(t, "--data", data, "--config", cfg)
	pub := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}}}
	rec := ctRecord("ev-r-1", "mallory", "AKIAMALLORY", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "site-a", "bucketPolicy": pub}, nil)
	if code, v := call(t, "POST", url+"/v1/ingest/cloudtrail", alice, "application/x-ndjson", []byte(rec+"\n")); code != 202 {
		t.Fatalf("ingest: %d %v", code, v)
	}
	inc := waitIncident(t, url, viewer)
	_, fv := call(t, "GET", url+"/v1/findings", viewer, "", nil)
	items, _ := fv["items"].([]any)
	if len(items) == 0 {
		t.Fatal("no finding")
	}
	fid := items[0].(map[string]any)["id"].(string)

	_, pv := call(t, "GET", url+"/v1/playbooks", viewer, "", nil)
	if !strings.Contains(mustJSON(pv), `"page-owner"`) || pv["four_eyes"] != true {
		t.Errorf("playbooks: %v", pv)
	}
	// Bad requests.
	for _, c := range []struct {
		tok, body string
		want      int
	}{
		{viewer, `{"finding_id":"` + fid + `","playbook":"page-owner"}`, 403},
		{alice, `{"finding_id":"` + fid + `"}`, 400},
		{alice, `{"finding_id":"` + fid + `","playbook":"page-owner","x":1}`, 400},
		{alice, `{"finding_id":"nope","playbook":"page-owner"}`, 404},
		{alice, `{"finding_id":"` + fid + `","playbook":"nope"}`, 404},
	} {
		if code, v := call(t, "POST", url+"/v1/playbook-runs", c.tok, "application/json", []byte(c.body)); code != c.want {
			t.Errorf("%s: %d %v, want %d", c.body, code, v, c.want)
		}
	}
	code, v := call(t, "POST", url+"/v1/playbook-runs", alice, "application/json", []byte(`{"finding_id":"`+fid+`","playbook":"page-owner","comment":"owner should know"}`))
	if code != 201 {
		t.Fatalf("request: %d %v", code, v)
	}
	res := v["result"].(map[string]any)
	runID, apr := res["id"].(string), res["approval_id"].(string)
	if res["status"] != "pending-approval" || res["requested_by"] != "alice" || runID == "" || apr == "" {
		t.Fatalf("request result %v", res)
	}
	if code, v := call(t, "POST", url+"/v1/approvals/"+apr+"/approve", alice, "application/json", []byte(`{"comment":"mine"}`)); code != 403 || !strings.Contains(mustJSON(v), "four-eyes") {
		t.Errorf("the requester approved: %d %v", code, v)
	}
	if delivered.Load() != 0 {
		t.Fatal("the step ran before a second person approved")
	}
	if code, v := call(t, "POST", url+"/v1/approvals/"+apr+"/approve", bob, "application/json", []byte(`{"comment":"agreed"}`)); code != 200 || v["result"].(map[string]any)["status"] != "executed" {
		t.Fatalf("bob's approval: %d %v", code, v)
	}
	if delivered.Load() != 1 {
		t.Errorf("%d webhook deliveries, want 1", delivered.Load())
	}
	_, rv := call(t, "GET", url+"/v1/playbook-runs/"+runID, viewer, "", nil)
	if rv["status"] != "executed" || rv["requested_by"] != "alice" || rv["decided_by"] != "bob" || !strings.Contains(mustJSON(rv["steps"]), "webhook delivered") {
		t.Errorf("run %v", rv)
	}
	if strings.Contains(mustJSON(rv), "s3cr3t-value") || strings.Contains(mustJSON(rv), hook.URL) {
		t.Error("a secret reached the run record")
	}
	_, lv := call(t, "GET", url+"/v1/playbook-runs?incident_id="+inc, viewer, "", nil)
	if runs, _ := lv["items"].([]any); len(runs) != 1 || runs[0].(map[string]any)["id"] != runID {
		t.Errorf("runs of the incident: %v", lv)
	}
	if code, _ := call(t, "GET", url+"/v1/playbook-runs/run-none", viewer, "", nil); code != 404 {
		t.Errorf("missing run: %d", code)
	}
	// MTTR now counts the finding → remediation.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, sv := call(t, "GET", url+"/v1/stats", viewer, "", nil)
		if n, _ := sv["mttr_samples"].(float64); n >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats %v", sv)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, av := call(t, "GET", url+"/v1/audit?limit=1000", viewer, "", nil)
	a := mustJSON(av)
	if !strings.Contains(a, `"playbook.requested"`) || strings.Contains(a, "s3cr3t-value") {
		t.Errorf("audit: requested %v", strings.Contains(a, `"playbook.requested"`))
	}
}
