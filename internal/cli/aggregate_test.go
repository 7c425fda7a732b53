package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const secretReadRule = `title: Secret read
id: 00000000-0000-4000-8000-0000000000a1
level: low
tags: [attack.credential-access, attack.t1555.006]
falsepositives: [applications reading their own secrets]
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventSource: secretsmanager.amazonaws.com
    eventName: GetSecretValue
  condition: selection
`

// secretReads writes n GetSecretValue records of one IAM user (CloudTrail
// JSON lines, as AWS documents the record), one every 5 seconds from
// first, into path.
func secretReads(t *testing.T, path string, first, n int) {
	t.Helper()
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	var b strings.Builder
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&b, `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAALICE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAALICE","userName":"alice"},`+
			`"eventTime":"%s","eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7",`+
			`"userAgent":"aws-cli/2.15.0","requestParameters":{"secretId":"prod/db"},"responseElements":null,"requestID":"r-%d","eventID":"%08d-aaaa-4bbb-8ccc-000000000000",`+
			`"readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`+"\n",
			t0.Add(time.Duration(i)*5*time.Second).Format(time.RFC3339), i, i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDetectAggregate: 500 identical calls are one finding counting 500
// (--no-aggregate: 500 findings); the id is the same over reruns and
// whatever files the input is split into.
func TestDetectAggregate(t *testing.T) {
	dir := t.TempDir()
	writeRule(t, dir, "secret_read", secretReadRule, "")
	all := filepath.Join(dir, "all.jsonl")
	secretReads(t, all, 0, 500)
	split := []string{filepath.Join(dir, "b.jsonl"), filepath.Join(dir, "a.jsonl")}
	secretReads(t, split[0], 0, 237)
	secretReads(t, split[1], 237, 263)
	base := []string{"detect", "--no-builtin", "--no-ueba", "--rules", dir}

	out, errOut, code := run(t, "", append(base, all)...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d findings, want 1:\n%s", len(lines), out)
	}
	var f struct {
		ID        string   `json:"id"`
		Count     int      `json:"count"`
		FirstSeen string   `json:"first_seen"`
		LastSeen  string   `json:"last_seen"`
		EventIDs  []string `json:"event_ids"`
		Truncated bool     `json:"event_ids_truncated"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &f); err != nil {
		t.Fatal(err)
	}
	if f.Count != 500 || f.FirstSeen != "2026-11-02T10:00:00Z" || f.LastSeen != "2026-11-02T10:41:35Z" || len(f.EventIDs) != 100 || !f.Truncated {
		t.Errorf("finding = count %d, first_seen %s, last_seen %s, %d event ids, truncated %v; want 500, 2026-11-02T10:00:00Z, 2026-11-02T10:41:35Z, 100, true",
			f.Count, f.FirstSeen, f.LastSeen, len(f.EventIDs), f.Truncated)
	}
	if !strings.Contains(errOut, "1 findings (1 low)") {
		t.Errorf("summary %q, want 1 finding", errOut)
	}
	again, _, _ := run(t, "", append(base, all)...)
	if again != out {
		t.Errorf("a rerun gave\n%s\nwant\n%s", again, out)
	}
	parts, _, _ := run(t, "", append(base, split...)...)
	if parts != out {
		t.Errorf("the input split in two files gave\n%s\nwant\n%s", parts, out)
	}

	plain, _, _ := run(t, "", append(base, "--no-aggregate", all)...)
	if n := strings.Count(plain, "\n"); n != 500 || strings.Contains(plain, `"count"`) {
		t.Errorf("--no-aggregate: %d findings (with count: %v), want 500 without", n, strings.Contains(plain, `"count"`))
	}
	if !strings.HasPrefix(plain, strings.SplitN(out, `"time"`, 2)[0]) {
		t.Errorf("the episode's id is not its first finding's:\n%.80s\n%.80s", out, plain)
	}
	short, _, _ := run(t, "", append(base, "--aggregate-window", "4s", all)...)
	if n := strings.Count(short, "\n"); n != 500 {
		t.Errorf("--aggregate-window 4s (calls 5s apart): %d findings, want 500", n)
	}
	ocsf, _, _ := run(t, "", append(base, "--format", "ocsf", all)...)
	if !strings.Contains(ocsf, `"count":500`) || !strings.Contains(ocsf, `"start_time":`) || !strings.Contains(ocsf, `"end_time":`) {
		t.Errorf("ocsf = %.300s…, want count, start_time, end_time", ocsf)
	}
	table, _, _ := run(t, "", append(base, "--format", "table", all)...)
	if !strings.Contains(table, "COUNT") || !strings.Contains(table, "    500 Secret read") {
		t.Errorf("table = %q, want the count", table)
	}
	if _, _, code := run(t, "", append(base, "--aggregate-window", "0s", all)...); code != ExitUsage {
		t.Errorf("--aggregate-window 0s: exit %d, want %d", code, ExitUsage)
	}
}
