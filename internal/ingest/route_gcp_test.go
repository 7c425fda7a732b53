package ingest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
)

// TestRouteGCPExportShapes: the router hands the GCP export shapes SIEMs
// write (Pub/Sub push and pull, Splunk's google:gcp:pubsub:message,
// BigQuery and Log Analytics rows, Elastic documents and hits) to the GCP
// decoder, and reports a broken envelope.
func TestRouteGCPExportShapes(t *testing.T) {
	for _, tc := range []struct {
		file   string
		events int
	}{
		{"pubsub_push.json", 1},
		{"pubsub_pull.json", 2},
		{"splunk_pubsub.json", 1},
		{"bigquery_row.json", 1},
		{"log_analytics_row.json", 1},
		{"elastic_audit.json", 1},
		{"elastic_hit.json", 1},
		{"elastic_original.json", 1},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rec, err := os.ReadFile(filepath.Join("..", "decode", "gcp", "testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var evs []event.Event
			ingest.DecodeJSON(rec, func(e *event.Event) { evs = append(evs, *e) }, func(err error) { t.Errorf("DecodeJSON(%s): %v", tc.file, err) })
			if len(evs) != tc.events {
				t.Fatalf("DecodeJSON(%s): %d events, want %d", tc.file, len(evs), tc.events)
			}
			for _, ev := range evs {
				if ev.Source != event.SourceGCPAudit || ev.API.Operation == "" || ev.Actor.UserName == "" {
					t.Errorf("DecodeJSON(%s) = %+v, want a GCP audit event with its method and principal", tc.file, ev)
				}
			}
		})
	}
	var failures int
	ingest.DecodeJSON([]byte(`{"message":{"data":"%%%","messageId":"1"},"subscription":"projects/p/subscriptions/s"}`),
		func(e *event.Event) { t.Errorf("a broken push envelope emitted %+v", e) }, func(error) { failures++ })
	if failures != 1 {
		t.Errorf("a broken push envelope: %d errors, want 1", failures)
	}
}
