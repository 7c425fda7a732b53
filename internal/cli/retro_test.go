package cli

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A rule changed between two starts of serve runs over the lake's history
// on the second: what it finds in events serve kept before is filed as
// retro findings.
func TestServeRetroRules(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serve twice")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	rules := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rules, 0o755); err != nil {
		t.Fatal(err)
	}
	rule := func(name string) {
		t.Helper()
		r := `title: Reads From The Payroll Bucket
id: 5b7e3c1d-1111-4222-8333-944455556666
level: medium
logsource: {product: aws, service: cloudtrail}
detection:
  s:
    eventName: ` + name + `
    requestParameters.bucketName: payroll-exports
  condition: s
`
		if err := os.WriteFile(filepath.Join(rules, "payroll.yml"), []byte(r), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rule("GetObjectAcl") // matches nothing sent
	cfg := filepath.Join(dir, "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("respond:\n  dry_run: true\ndetect:\n  rules: ["+rules+"]\n  ueba:\n    enabled: false\nlake:\n  flush_every: 200ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok := token(t, data, "analyst")
	url, stop := startServe(t, "--data", data, "--config", cfg)
	var recs []string
	for i := range 5 {
		recs = append(recs, ctRecord(fmt.Sprintf("pay-%d", i), "dana", "AKIADANA", "s3.amazonaws.com", "GetObject",
			map[string]any{"bucketName": "payroll-exports", "key": fmt.Sprintf("2026/11/run-%d.csv", i)}, nil))
	}
	// A near miss: another bucket.
	recs = append(recs, ctRecord("other-0", "dana", "AKIADANA", "s3.amazonaws.com", "GetObject", map[string]any{"bucketName": "public-assets", "key": "logo.png"}, nil))
	req, _ := http.NewRequest("POST", url+"/v1/ingest/cloudtrail", bytes.NewReader([]byte(`{"Records":[`+strings.Join(recs, ",")+`]}`)))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("ingest: %d", resp.StatusCode)
	}
	for deadline := time.Now().Add(30 * time.Second); len(lakeEventIDs(t, filepath.Join(data, "lake"))) < len(recs); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the events did not reach the lake")
		}
	}
	if got := retroEvents(t, url, tok); len(got) != 0 {
		t.Fatalf("retro findings before the rule changed: %v", got)
	}
	stop()

	rule("GetObject") // changed: now it matches what was kept
	url, _ = startServe(t, "--data", data, "--config", cfg)
	var got map[string]bool
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got = retroEvents(t, url, tok)
		if len(got) >= 5 || time.Now().After(deadline) {
			break
		}
	}
	for i := range 5 {
		if !got[fmt.Sprintf("pay-%d", i)] {
			t.Errorf("pay-%d has no retro finding after the rule changed (got %v)", i, got)
		}
	}
	if got["other-0"] {
		t.Error("the near miss (another bucket) has a retro finding")
	}
}

// retroEvents lists the events behind the payroll rule's retro findings.
func retroEvents(t *testing.T, url, tok string) map[string]bool {
	t.Helper()
	_, v := call(t, "GET", url+"/v1/findings?limit=1000", tok, "", nil)
	items, _ := v["items"].([]any)
	out := map[string]bool{}
	for _, it := range items {
		f := it.(map[string]any)
		if f["rule_id"] != "5b7e3c1d-1111-4222-8333-944455556666" || f["retro"] != true {
			continue
		}
		ids, _ := f["event_ids"].([]any)
		for _, id := range ids {
			out[id.(string)] = true
		}
	}
	return out
}
