package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// s3Record writes one CloudTrail record in the documented shape.
func s3Record(id, at, name, user, ip, bucket string, readOnly bool, errorCode string) string {
	rec := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE%[4]s","arn":"arn:aws:iam::111122223333:user/%[4]s","accountId":"111122223333","userName":"%[4]s"},`+
		`"eventTime":"%[2]s","eventSource":"s3.amazonaws.com","eventName":"%[3]s","awsRegion":"us-east-1","sourceIPAddress":"%[5]s","userAgent":"aws-cli/2.15.0",`+
		`"requestParameters":{"bucketName":"%[6]s","Host":"%[6]s.s3.amazonaws.com"},"responseElements":null,"requestID":"R%[1]s","eventID":"%[1]s","readOnly":%[7]v,`+
		`"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"`,
		id, at, name, user, ip, bucket, readOnly)
	if errorCode != "" {
		rec += `,"errorCode":"` + errorCode + `","errorMessage":"Access Denied"`
	}
	return rec + "}"
}

// TestScanConfigChanges: with --events, a failing Config resource names
// the successful write calls that last changed it, newest first; a failed
// call, a read, another bucket's change and a duplicated record do not
// count; passing resources carry none; a bad events file is reported and
// makes the exit status 3.
func TestScanConfigChanges(t *testing.T) {
	dir := t.TempDir()
	item := func(name, versioning string) string {
		return fmt.Sprintf(`{"version":"1.3","accountId":"111122223333","configurationItemCaptureTime":"2026-11-20T10:00:00.000Z","configurationItemStatus":"OK",`+
			`"resourceType":"AWS::S3::Bucket","resourceId":"%[1]s","resourceName":"%[1]s","awsRegion":"us-east-1","arn":"arn:aws:s3:::%[1]s","configuration":{},`+
			`"supplementaryConfiguration":{"BucketVersioningConfiguration":"{\"status\": \"%[2]s\"}"}}`, name, versioning)
	}
	snap := filepath.Join(dir, "snapshot.json")
	os.WriteFile(snap, []byte(`{"configurationItems":[`+item("payroll-data", "Off")+`,`+item("web-assets", "Enabled")+`]}`), 0o644)
	put := s3Record("e-1", "2026-11-19T08:00:00Z", "PutBucketVersioning", "alice", "198.51.100.7", "payroll-data", false, "")
	records := []string{
		s3Record("e-0", "2026-11-01T08:00:00Z", "CreateBucket", "bob", "203.0.113.9", "payroll-data", false, ""),
		put, put, // delivered twice
		s3Record("e-2", "2026-11-19T09:00:00Z", "PutBucketVersioning", "mallory", "192.0.2.66", "payroll-data", false, "AccessDenied"),
		s3Record("e-3", "2026-11-19T10:00:00Z", "GetBucketVersioning", "carol", "198.51.100.8", "payroll-data", true, ""),
		s3Record("e-4", "2026-11-19T11:00:00Z", "PutBucketTagging", "dave", "198.51.100.9", "web-assets", false, ""),
	}
	trail := filepath.Join(dir, "trail.json")
	os.WriteFile(trail, []byte(`{"Records":[`+strings.Join(records, ",")+`]}`), 0o644)

	out, errOut, code := run(t, "", "scan", "config", "--format", "json", "--events", trail, snap)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep scanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var failing, passing bool
	for _, r := range rep.Results {
		if r.Resource.Name == "payroll-data" && r.Status == "fail" {
			failing = true
			if len(r.Changes) != 2 {
				t.Fatalf("%s on payroll-data: changes %+v, want alice's PutBucketVersioning then bob's CreateBucket", r.CheckID, r.Changes)
			}
			c := r.Changes[0]
			if c.Actor != "arn:aws:iam::111122223333:user/alice" || c.Operation != "PutBucketVersioning" || c.SourceIP != "198.51.100.7" ||
				c.Time.Format("2006-01-02T15:04:05Z") != "2026-11-19T08:00:00Z" || c.EventID != "e-1" || c.Identity != "person" {
				t.Errorf("newest change = %+v", c)
			}
			if r.Changes[1].EventID != "e-0" {
				t.Errorf("second change = %+v, want bob's CreateBucket", r.Changes[1])
			}
		}
		if r.Resource.Name == "web-assets" && r.Status == "pass" {
			passing = true
			if len(r.Changes) != 0 {
				t.Errorf("a passing resource carries changes: %+v", r.Changes)
			}
		}
	}
	if !failing || !passing {
		t.Fatalf("want a failing payroll-data and a passing web-assets result; stderr %s", errOut)
	}
	// The table names who changed it last.
	out, _, _ = run(t, "", "scan", "config", "--events", trail, snap)
	if !strings.Contains(out, "last changed 2026-11-19 08:00:00 UTC by arn:aws:iam::111122223333:user/alice (PutBucketVersioning from 198.51.100.7)") {
		t.Errorf("table lacks the last change:\n%s", out)
	}
	// A bad events file is reported; the scan still runs; exit 3.
	junk := filepath.Join(dir, "junk.json")
	os.WriteFile(junk, []byte("\x00\x01binary"), 0o644)
	out, errOut, code = run(t, "", "scan", "config", "--format", "json", "--events", trail, "--events", junk, snap)
	if code != ExitBadInput || !strings.Contains(errOut, "junk.json") || !strings.Contains(out, `"changes"`) {
		t.Errorf("bad events input: exit %d, stderr %s", code, errOut)
	}
}
