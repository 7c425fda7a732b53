package gcp

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/event"
)

// export decodes every LogEntry an export record carries.
func export(t *testing.T, rec []byte) ([]event.Event, bool, error) {
	t.Helper()
	var evs []event.Event
	var errs []error
	ok, err := Export(rec, func(entry []byte) {
		var ev event.Event
		if err := Decode(entry, &ev); err != nil {
			errs = append(errs, err)
			return
		}
		evs = append(evs, ev)
	})
	for _, e := range errs {
		t.Errorf("decode an exported entry: %v", e)
	}
	return evs, ok, err
}

// TestExportShapes: the shapes SIEMs and log pipelines write around a
// LogEntry (each file a record written from the shape's documented schema)
// decode to the same event as the LogEntry itself, and the rules' native
// paths (protoPayload.…, serviceData's policy delta, the request) answer.
func TestExportShapes(t *testing.T) {
	grant := want{core: core{id: "acme-prod-4821/-3kq9rfe2x1bc", method: "SetIamPolicy", service: "cloudresourcemanager.googleapis.com",
		principal: "mallory@example.com", ip: "203.0.113.7", ua: "google-cloud-sdk gcloud/456.0.0", outcome: event.OutcomeSuccess,
		project: "acme-prod-4821", logType: "activity", time: "2026-11-22T09:14:03.518204Z"},
		fields: map[string]string{
			"protoPayload.serviceData.policyDelta.bindingDeltas.member": "user:mallory.backup@gmail.com",
			"protoPayload.request.policy.bindings.role":                 "roles/owner",
			"gcp.audit.method_name":                                     "SetIamPolicy",
			"data.protoPayload.methodName":                              "SetIamPolicy",
			"protoPayload.authorizationInfo.permission":                 "resourcemanager.projects.setIamPolicy",
		}}
	keyDenied := want{core: core{id: "acme-prod-4821/1qk2e7xd3v9m", method: "google.iam.admin.v1.CreateServiceAccountKey", service: "iam.googleapis.com",
		principal: "ci-runner@acme-prod-4821.iam.gserviceaccount.com", ip: "198.51.100.23", ua: "Terraform/1.9.5", outcome: event.OutcomeFailure,
		code: "7", project: "acme-prod-4821", logType: "activity", time: "2026-11-22T09:20:41.002Z"},
		fields: map[string]string{"protoPayload.request.name": "projects/-/serviceAccounts/deploy@acme-prod-4821.iam.gserviceaccount.com"}}
	elasticGrant := grant
	elasticGrant.time = "2026-11-22T09:14:03.518Z" // Elastic keeps milliseconds
	pulledDenied := keyDenied
	pulledDenied.time = "2026-11-22T09:20:41.002117Z"
	for _, tc := range []struct {
		file string
		want []want
	}{
		{"pubsub_push.json", []want{grant}},
		{"pubsub_pull.json", []want{grant, pulledDenied}},
		{"splunk_pubsub.json", []want{grant}},
		{"bigquery_row.json", []want{grant}},
		{"log_analytics_row.json", []want{grant}},
		{"elastic_audit.json", []want{elasticGrant}},
		{"elastic_hit.json", []want{keyDenied}},
		{"elastic_original.json", []want{grant}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rec, err := os.ReadFile("testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			evs, ok, err := export(t, rec)
			if !ok || err != nil {
				t.Fatalf("Export(%s) = %v, %v; want an export shape", tc.file, ok, err)
			}
			if len(evs) != len(tc.want) {
				t.Fatalf("Export(%s): %d entries, want %d", tc.file, len(evs), len(tc.want))
			}
			for i := range evs {
				tc.want[i].check(t, &evs[i])
			}
		})
	}
}

type want struct {
	core
	fields map[string]string
}

type core struct {
	id, method, service, principal, ip, ua, code, project, logType, time string
	outcome                                                              event.Outcome
}

func (w want) check(t *testing.T, ev *event.Event) {
	t.Helper()
	got := core{id: ev.ID, method: ev.API.Operation, service: ev.API.Service, principal: ev.Actor.UserName, ua: ev.Src.UserAgent,
		code: ev.API.ErrorCode, project: ev.Cloud.Account, logType: ev.Type, time: ev.Time.Format(time.RFC3339Nano), outcome: ev.Outcome}
	if ev.Src.IP.IsValid() {
		got.ip = ev.Src.IP.String()
	}
	if got != w.core {
		t.Errorf("decoded %+v\nwant    %+v", got, w.core)
	}
	if ev.Source != event.SourceGCPAudit || ev.Raw.Format != event.RawJSON {
		t.Errorf("source %v, raw format %v", ev.Source, ev.Raw.Format)
	}
	for path, v := range w.fields {
		found := false
		ev.Each(path, func(x event.Value) bool {
			if x.String() == v || (x.Kind == event.KindArray && strings.Contains(x.String(), `"`+v+`"`)) {
				found = true
				return false
			}
			x.Elements(func(el event.Value) bool {
				found = found || el.String() == v
				return !found
			})
			return !found
		})
		if !found {
			t.Errorf("Lookup(%q): no value %q in %s", path, v, ev.Raw.Data)
		}
	}
}

// TestExportNotAnExport: records of other shapes are left alone, and
// broken envelopes are reported.
func TestExportNotAnExport(t *testing.T) {
	for _, tc := range []struct {
		name, rec string
		ok, err   bool
	}{
		{"cloudtrail", `{"eventVersion":"1.09","eventName":"GetObject","eventTime":"2026-01-01T00:00:00Z"}`, false, false},
		{"a LogEntry itself", `{"protoPayload":{"methodName":"m"},"insertId":"i","timestamp":"2026-01-01T00:00:00Z"}`, false, false},
		{"random data object", `{"data":{"a":1}}`, false, false},
		{"not JSON", `{"message":`, false, false},
		{"array", `[1,2]`, false, false},
		{"push with bad base64", `{"message":{"data":"%%%","messageId":"1"},"subscription":"projects/p/subscriptions/s"}`, true, true},
		{"push whose data is not JSON", `{"message":{"data":"aGVsbG8=","messageId":"1"},"subscription":"projects/p/subscriptions/s"}`, true, true},
		{"bigquery row without a method", `{"protopayload_auditlog":{"serviceName":"s"},"insertId":"i","timestamp":"2026-01-01 00:00:00 UTC"}`, true, false},
		{"bigquery row with a bad requestJson", `{"protopayload_auditlog":{"methodName":"m","requestJson":"{"},"insertId":"i","timestamp":"2026-01-01 00:00:00 UTC"}`, true, false},
		{"elastic doc without gcp.audit", `{"@timestamp":"2026-01-01T00:00:00Z","event":{"dataset":"aws.cloudtrail"}}`, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			ok, err := Export([]byte(tc.rec), func([]byte) { n++ })
			if ok != tc.ok || (err != nil) != tc.err {
				t.Errorf("Export(%s) = %v, %v; want ok %v, error %v", tc.rec, ok, err, tc.ok, tc.err)
			}
			if err != nil && n > 0 {
				t.Errorf("Export(%s): an error and %d entries", tc.rec, n)
			}
		})
	}
}

// TestExportTimestamps: BigQuery's and epoch forms become RFC 3339.
func TestExportTimestamps(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`"2026-11-22 09:14:03.518204 UTC"`, "2026-11-22T09:14:03.518204Z"},
		{`"2026-11-22 09:14:03 UTC"`, "2026-11-22T09:14:03Z"},
		{`"2026-11-22T09:14:03.518204Z"`, "2026-11-22T09:14:03.518204Z"},
		{`"2026-11-22 09:14:03.518204+00:00"`, "2026-11-22T09:14:03.518204Z"},
		{`1795338843.5`, "2026-11-22T09:14:03.5Z"},
		{`"1.7953388435E9"`, "2026-11-22T09:14:03.5Z"},
	} {
		rec := `{"protopayload_auditlog":{"methodName":"m"},"insertId":"i","timestamp":` + tc.in + `}`
		var got string
		ok, err := Export([]byte(rec), func(entry []byte) {
			var ev event.Event
			if err := Decode(entry, &ev); err != nil {
				t.Errorf("%s: %v", tc.in, err)
				return
			}
			got = ev.Time.Format(time.RFC3339Nano)
		})
		if !ok || err != nil || got != tc.want {
			t.Errorf("timestamp %s = %q (%v, %v), want %q", tc.in, got, ok, err, tc.want)
		}
	}
}
