package ingest_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
)

// TestAzureExportShapes: every shape SIEMs and exports write Azure
// Activity Log records in reaches the Azure decoder whole: Splunk's Event
// Hub add-on events (the record, or the {"records":[…]} batch, under
// "body", as an object or a JSON string), the REST API's EventData as az
// monitor activity-log list prints it (a JSON array, each element with an
// eventName object that is not CloudTrail's), Microsoft Sentinel /
// Log Analytics rows, and Elastic documents (whose message holds the
// status message, not a record).
func TestAzureExportShapes(t *testing.T) {
	dir := filepath.Join("..", "decode", "azure", "testdata")
	cases := []struct {
		file string
		ops  []string
	}{
		{"splunk-eventhub.jsonl", []string{
			"MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE", "MICROSOFT.NETWORK/APPLICATIONGATEWAYS/DELETE",
			"MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE", "MICROSOFT.NETWORK/APPLICATIONGATEWAYS/DELETE"}},
		{"rest-eventdata.json", []string{"Microsoft.KeyVault/vaults/write", "Microsoft.Storage/storageAccounts/listKeys/action"}},
		{"sentinel-rows.jsonl", []string{"MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE", "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION",
			"Microsoft.Compute/virtualMachines/runCommand/action"}},
		{"elastic.jsonl", []string{"MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE", "MICROSOFT.KEYVAULT/VAULTS/DELETE",
			"MICROSOFT.KEYVAULT/VAULTS/ACCESSPOLICIES/WRITE"}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			in := ingest.Input{Name: tc.file, Size: int64(len(data)), Open: func() (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(data)), nil
			}}
			var ops []string
			st, err := ingest.Run(t.Context(), []ingest.Input{in}, ingest.Options{Workers: 1}, func(b *ingest.Batch) error {
				for _, e := range b.Errors {
					t.Errorf("bad record: %v", e)
				}
				for i := range b.Events {
					ev := &b.Events[i]
					if ev.Source != event.SourceAzureActivity {
						t.Errorf("%s decoded as source %v", ev.API.Operation, ev.Source)
					}
					ops = append(ops, ev.API.Operation)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ops, tc.ops) || st.BadRecords != 0 {
				t.Errorf("Run(%s) = %q (%d bad), want %q", tc.file, ops, st.BadRecords, tc.ops)
			}
		})
	}
}

// TestAzureBodyNotRecord: a "body" that holds no record is reported, not
// dropped in silence.
func TestAzureBodyNotRecord(t *testing.T) {
	for _, item := range []string{`{"body":"plain text"}`, `{"body":{"hello":1}}`, `{"body":42}`} {
		emitted, failed := 0, 0
		ingest.DecodeJSON([]byte(item), func(*event.Event) { emitted++ }, func(error) { failed++ })
		if emitted != 0 || failed != 1 {
			t.Errorf("DecodeJSON(%s): %d events, %d errors; want 0 and 1", item, emitted, failed)
		}
	}
}
