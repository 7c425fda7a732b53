package ingest_test

import (
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/ingest"
)

// A bad ASFF finding is reported with the file and the offset of its
// record, a skipped one is counted as skipped (not bad, not stray), and
// the others are read.
func TestASFFBadAndSkipped(t *testing.T) {
	good := `{"SchemaVersion":"2018-10-08","Id":"f-1","ProductArn":"arn:aws:securityhub:us-east-1::product/aws/inspector","GeneratorId":"g","AwsAccountId":"111122223333","UpdatedAt":"2026-11-20T10:00:00Z","Severity":{"Label":"LOW"},"Title":"t","Resources":[{"Type":"Other","Id":"x"}]}`
	bad := `{"SchemaVersion":"2018-10-08","Id":"f-2","ProductArn":"arn:aws:securityhub:us-east-1::product/aws/inspector","GeneratorId":"g","UpdatedAt":"not a time"}`
	own := strings.Replace(good, `"Title"`, `"ProductName":"Parapet","Title"`, 1)
	gd := strings.Replace(good, "product/aws/inspector", "product/aws/guardduty", 1)
	file := good + "\n" + bad + "\n" + `{"detail-type":"Security Hub Findings - Imported","source":"aws.securityhub","detail":{"findings":[` + own + `,` + gd + `,` + good + `]}}` + "\n"
	var events int
	st, err := ingest.Run(t.Context(), []ingest.Input{bytesInput("hub.jsonl", []byte(file))}, ingest.Options{Workers: 1}, func(b *ingest.Batch) error {
		events += len(b.Events)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if events != 2 || st.BadRecords != 1 || st.Skipped != 2 || st.Stray != 0 {
		t.Fatalf("events %d, stats %+v: want 2 events, 1 bad record, 2 skipped, none stray", events, st)
	}
	e := st.Errors[0]
	if e.File != "hub.jsonl" || e.Offset != int64(len(good)+1) || !strings.Contains(e.Error(), "f-2") {
		t.Errorf("error %v (file %q offset %d), want hub.jsonl at offset %d naming f-2", e, e.File, e.Offset, len(good)+1)
	}
}
