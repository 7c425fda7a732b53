package gcp

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/parapet-sec/parapet/internal/event"
)

func entries(t *testing.T) []event.Event {
	t.Helper()
	f, err := os.Open("testdata/audit.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []event.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		if !Is(line) {
			t.Errorf("not recognised: %.80s", line)
		}
		var ev event.Event
		if err := Decode(line, &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func TestDecode(t *testing.T) {
	evs := entries(t)
	a := evs[0]
	if a.Source != event.SourceGCPAudit || a.Cloud.Provider != "gcp" || a.Cloud.Account != "acme-prod-4821" || a.ID != "acme-prod-4821/1x8yz4ee2c4l" ||
		a.Actor.UserName != "mallory@example.com" || a.Actor.Type != "User" || a.API.Service != "storage.googleapis.com" ||
		a.API.Operation != "storage.buckets.delete" || a.Outcome != event.OutcomeSuccess || a.Src.IP.String() != "203.0.113.7" ||
		a.Src.UserAgent != "google-cloud-sdk gcloud/456.0.0" || a.Type != "activity" || a.Activity != 4 ||
		len(a.Resources) != 1 || a.Resources[0].Name != "acme-backups" || a.Cloud.Region != "us" {
		t.Errorf("bucket delete: %+v", a)
	}
	b := evs[1]
	if b.Outcome != event.OutcomeFailure || b.API.ErrorCode != "7" || b.API.ErrorMessage != "PERMISSION_DENIED" || b.Actor.Type != "ServiceAccount" {
		t.Errorf("denied: %+v", b)
	}
	// Elastic's field names and the Pub/Sub "data." prefix, as SigmaHQ's
	// rules use them.
	if v, ok := a.Lookup("gcp.audit.method_name"); !ok || v.String() != "storage.buckets.delete" {
		t.Errorf("gcp.audit.method_name: %v %v", v, ok)
	}
	c := evs[2]
	if v, ok := c.Lookup("data.protoPayload.authorizationInfo.permission"); !ok || v.String() != "accesscontextmanager.accessPolicies.delete" {
		t.Errorf("data.protoPayload…: %v %v", v, ok)
	}
	if c.Cloud.Account != "acme-prod-4821" {
		t.Errorf("project of an organization-level entry: %q", c.Cloud.Account)
	}
}

func TestNotAuditLog(t *testing.T) {
	var ev event.Event
	for _, bad := range []string{`{"protoPayload":{}}`, `{"protoPayload":{"methodName":"m"},"timestamp":"2026-01-01T00:00:00Z"}`, `{"protoPayload":{"methodName":"m"},"timestamp":"x","insertId":"i"}`, `[`} {
		if err := Decode([]byte(bad), &ev); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// FuzzDecode: no input panics the decoder or the export shapes; what
// decodes has a method, an id and a time, and every entry an export shape
// yields is JSON.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"protoPayload":{"methodName":"a.b.delete","authenticationInfo":{"principalEmail":"x@y"},"status":{"code":7}},"insertId":"i","timestamp":"2026-01-01T00:00:00Z","logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity"}`))
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"message":{"data":"eyJwcm90b1BheWxvYWQiOnt9fQ==","messageId":"1"},"subscription":"s"}`))
	f.Add([]byte(`{"protopayload_auditlog":{"methodName":"m","requestJson":"{\"a\":1}"},"insertId":"i","timestamp":1.5e9}`))
	f.Add([]byte(`{"_source":{"gcp.audit.method_name":"m","event.id":"i","@timestamp":"2026-01-01T00:00:00Z","event.outcome":"failure"}}`))
	check := func(t *testing.T, b []byte) {
		var ev event.Event
		if Decode(b, &ev) == nil && (ev.API.Operation == "" || ev.ID == "" || ev.Time.IsZero()) {
			t.Fatalf("decoded without a method, an id or a time: %q", b)
		}
		Is(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		check(t, b)
		ok, err := Export(b, func(entry []byte) {
			if !json.Valid(entry) {
				t.Fatalf("export of %q yields an entry that is not JSON: %q", b, entry)
			}
			check(t, entry)
		})
		if err != nil && !ok {
			t.Fatalf("Export(%q): an error for a record that is no export shape: %v", b, err)
		}
	})
}
