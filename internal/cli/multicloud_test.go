package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/ocsf"
	"github.com/parapet-sec/parapet/internal/sharedtest"
)

// SigmaHQ's Azure Activity Log and GCP audit rules, unmodified, on Azure
// Monitor's export, Log Analytics rows and GCP log entries: each rule meets
// the field names it was written for, whichever schema the record has.
func TestDetectAzureAndGCP(t *testing.T) {
	rules := sharedtest.Path(t, "sigma/rules/cloud")
	inputs := []string{
		filepath.Join("..", "decode", "azure", "testdata", "activity.json"),
		filepath.Join("..", "decode", "azure", "testdata", "azureactivity-rows.jsonl"),
		filepath.Join("..", "decode", "gcp", "testdata", "audit.jsonl"),
	}
	out, errOut, code := run(t, "", append([]string{"detect", "--progress", "never", "--no-ueba", "--format", "jsonl",
		"--rules", filepath.Join(rules, "azure", "activity_logs"), "--rules", filepath.Join(rules, "gcp", "audit")}, inputs...)...)
	if code != ExitOK {
		t.Fatalf("detect: exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		`"title":"Granting Of Permissions To An Account"`,                 // keywords over the record
		`"title":"Azure Application Gateway Modified or Deleted"`,         // operationName, upper case
		`"title":"Azure Active Directory Hybrid Health AD FS New Server"`, // Log Analytics columns
		`"title":"Google Cloud Storage Buckets Modified or Deleted"`,      // gcp.audit.method_name
		`"title":"GCP Access Policy Deleted"`,                             // data.protoPayload…
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in:\n%s\n%s", want, out, errOut)
		}
	}
	// Each source's events (exit 0 above: no bad input).
	for _, want := range []string{`"cloud":{"provider":"azure"`, `"cloud":{"provider":"gcp"`} {
		if !strings.Contains(out, want) {
			t.Errorf("no finding from %s", want)
		}
	}
}

// Azure and GCP events and findings in OCSF: valid against OCSF 1.8.0, with
// the provider's own account type (Azure Subscription, GCP Project).
func TestAzureAndGCPOCSF(t *testing.T) {
	schema, err := ocsf.Load(sharedtest.Path(t, "ocsf/ocsf-1.8.0-compiled.compact.json"))
	if err != nil {
		t.Fatal(err)
	}
	rules := sharedtest.Path(t, "sigma/rules/cloud")
	for _, c := range []struct {
		file, provider, account string
	}{
		{filepath.Join("..", "decode", "azure", "testdata", "activity.json"), "Azure", "Azure Subscription"},
		{filepath.Join("..", "decode", "gcp", "testdata", "audit.jsonl"), "GCP", "GCP Project"},
	} {
		events, errOut, code := run(t, "", "events", "--format", "ocsf", c.file)
		if code != ExitOK {
			t.Fatalf("events: %d %s", code, errOut)
		}
		findings, errOut, code := run(t, "", "detect", "--progress", "never", "--no-ueba", "--format", "ocsf",
			"--rules", filepath.Join(rules, "azure", "activity_logs"), "--rules", filepath.Join(rules, "gcp", "audit"), c.file)
		if code != ExitOK {
			t.Fatalf("detect: %d %s", code, errOut)
		}
		n := 0
		for _, line := range strings.Split(strings.TrimSpace(events+findings), "\n") {
			var doc map[string]any
			if err := json.Unmarshal([]byte(line), &doc); err != nil {
				t.Fatalf("%s: %v", c.file, err)
			}
			n++
			for _, e := range schema.Validate(doc) {
				t.Errorf("%s: %v", c.file, e)
			}
			cloud, _ := doc["cloud"].(map[string]any)
			acct, _ := cloud["account"].(map[string]any)
			if cloud["provider"] != c.provider || acct["type"] != c.account {
				t.Errorf("%s: cloud %v", c.file, cloud)
			}
		}
		if n < 3 {
			t.Errorf("%s: %d OCSF documents", c.file, n)
		}
	}
}

// parapet serve takes Azure and GCP logs on their routes and files their
// findings (SigmaHQ's rules, from detect.rules) into incidents per
// subscription or project principal.
func TestServeAzureAndGCP(t *testing.T) {
	rules := sharedtest.Path(t, "sigma/rules/cloud")
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	y := "respond:\n  dry_run: true\ndetect:\n  rules: [" + filepath.Join(rules, "azure", "activity_logs") + ", " + filepath.Join(rules, "gcp", "audit") + "]\n"
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	tok := token(t, data, "analyst")
	url, _ := startServe(t, "--data", data, "--config", cfg)
	for route, file := range map[string]string{
		"/v1/ingest/azure": filepath.Join("..", "decode", "azure", "testdata", "activity.json"),
		"/v1/ingest/gcp":   filepath.Join("..", "decode", "gcp", "testdata", "audit.jsonl"),
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if code, v := call(t, "POST", url+route, tok, "application/json", b); code != 202 {
			t.Fatalf("%s: %d %v", route, code, v)
		}
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, v := call(t, "GET", url+"/v1/incidents?limit=100", tok, "", nil)
		s := mustJSON(v)
		if strings.Contains(s, "Google Cloud Storage Buckets Modified or Deleted") && strings.Contains(s, "Azure Application Gateway Modified or Deleted") &&
			strings.Contains(s, "mallory@contoso.com") && strings.Contains(s, "mallory@example.com") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("incidents: %s", s)
		}
	}
}
