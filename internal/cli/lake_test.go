package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parapet-sec/parapet/internal/awstest"
	"github.com/parapet-sec/parapet/internal/ingest/s3list"
	"github.com/parapet-sec/parapet/internal/lake"
)

// trailFile is a CloudTrail log file (gzipped {"Records":[…]}) of n
// calls from one account, one a minute from at, written for these tests.
func trailFile(account string, at time.Time, first, n int) []byte {
	var recs []string
	for i := first; i < first+n; i++ {
		recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEUSER0001","arn":"arn:aws:iam::%[1]s:user/build","accountId":"%[1]s","accessKeyId":"AKIAEXAMPLEBUILD%04[2]d","userName":"build"},"eventTime":"%[3]s","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-2","sourceIPAddress":"192.0.2.%[4]d","userAgent":"aws-cli/2.15","requestParameters":{"bucketName":"builds-%[1]s","key":"a/b"},"responseElements":null,"requestID":"REQ%05[2]d","eventID":"6f0c7a52-0000-4000-8000-%012[2]d","readOnly":true,"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"%[1]s","eventCategory":"Data"}`,
			account, i, at.Add(time.Duration(i-first)*time.Minute).UTC().Format(time.RFC3339), i%250+1))
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`{"Records":[` + strings.Join(recs, ",") + `]}`))
	zw.Close()
	return buf.Bytes()
}

func lakeRows(t *testing.T, loc string) (int, map[string]int) {
	t.Helper()
	ctx := context.Background()
	l, err := lake.OpenLake(ctx, loc, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := l.Files(ctx, lake.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	per := map[string]int{}
	for _, f := range files {
		rows, err := l.ReadFile(ctx, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		n += len(rows)
		per[f.Partition.Prefix()] += len(rows)
	}
	return n, per
}

func TestLakeImport(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "AWSLogs")
	day := time.Date(2026, 10, 1, 23, 50, 0, 0, time.UTC)
	files := map[string][]byte{
		"111122223333/CloudTrail/us-east-2/2026/10/01/a.json.gz": trailFile("111122223333", day, 0, 20), // crosses midnight
		"111122223333/CloudTrail/us-east-2/2026/10/02/b.json.gz": trailFile("111122223333", day.Add(time.Hour), 20, 30),
		"444455556666/CloudTrail/us-east-2/2026/10/01/c.json.gz": trailFile("444455556666", day.Add(-time.Hour), 0, 5),
	}
	for name, data := range files {
		p := filepath.Join(logs, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lakeDir := filepath.Join(dir, "lake")
	_, errOut, code := run(t, "", "lake", "import", "--lake", lakeDir, "--progress", "never", logs)
	if code != ExitOK {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "55 events written") {
		t.Errorf("import summary: %s", errOut)
	}
	n, per := lakeRows(t, lakeDir)
	want := map[string]int{
		"ext/api_activity/1.0/region=us-east-2/accountId=111122223333/eventDay=20261001/": 10,
		"ext/api_activity/1.0/region=us-east-2/accountId=111122223333/eventDay=20261002/": 40,
		"ext/api_activity/1.0/region=us-east-2/accountId=444455556666/eventDay=20261001/": 5,
	}
	if n != 55 || fmt.Sprint(per) != fmt.Sprint(want) {
		t.Errorf("lake holds %d rows: %v; want 55: %v", n, per, want)
	}

	// Again: every input is in the checkpoint.
	_, errOut, code = run(t, "", "lake", "import", "--lake", lakeDir, "--progress", "never", logs)
	if code != ExitOK || !strings.Contains(errOut, "3 inputs already imported") {
		t.Errorf("second import: exit %d: %s", code, errOut)
	}
	// --fresh reads them again; nothing is written twice.
	_, errOut, code = run(t, "", "lake", "import", "--lake", lakeDir, "--progress", "never", "--fresh", logs)
	if code != ExitOK || !strings.Contains(errOut, "0 events written in 0 files") || !strings.Contains(errOut, "55 copies passed over") {
		t.Errorf("fresh import: exit %d: %s", code, errOut)
	}
	if n, _ := lakeRows(t, lakeDir); n != 55 {
		t.Errorf("after the fresh import the lake holds %d rows, want 55", n)
	}

	// Resume: an import interrupted after a.json.gz reads only the rest.
	other := filepath.Join(dir, "lake2")
	cp := filepath.Join(dir, "cp")
	os.WriteFile(cp, []byte(filepath.Join(logs, "111122223333/CloudTrail/us-east-2/2026/10/01/a.json.gz")+"\n"), 0o600)
	_, errOut, code = run(t, "", "lake", "import", "--lake", other, "--checkpoint", cp, "--progress", "always", logs)
	if code != ExitOK || !strings.Contains(errOut, "1 inputs already imported") || !strings.Contains(errOut, "35 events written") {
		t.Errorf("resumed import: exit %d: %s", code, errOut)
	}
	if data, _ := os.ReadFile(cp); strings.Count(string(data), "\n") != 3 {
		t.Errorf("checkpoint after the resumed import:\n%s", data)
	}

	// Compact and prune through the command line.
	_, errOut, code = run(t, "", "lake", "compact", "--lake", lakeDir, "--retention", "400000h")
	if code != ExitOK || !strings.Contains(errOut, "0 files past retention removed") {
		t.Errorf("compact: exit %d: %s", code, errOut)
	}
	// --retention none keeps every day (the events are weeks old).
	_, errOut, code = run(t, "", "lake", "compact", "--lake", lakeDir, "--retention", "none")
	if code != ExitOK || !strings.Contains(errOut, "0 files past retention removed") {
		t.Errorf("compact --retention none: exit %d: %s", code, errOut)
	}
	if n, _ := lakeRows(t, lakeDir); n == 0 {
		t.Error("compact --retention none removed the lake")
	}
	_, errOut, code = run(t, "", "lake", "prune", "--lake", lakeDir, "--retention", "1d")
	if code != ExitOK || !strings.Contains(errOut, "3 files older than") {
		t.Errorf("prune: exit %d: %s", code, errOut)
	}
	if n, _ := lakeRows(t, lakeDir); n != 0 {
		t.Errorf("after prune the lake holds %d rows", n)
	}
	for _, args := range [][]string{{"lake", "import", "--lake", lakeDir}, {"lake", "prune", "--lake", lakeDir}, {"lake", "compact", "--retention", "soon"}, {"lake", "compact", "--target", "big"}, {"lake", "compact", "--level", "max"}} {
		if _, errOut, code := run(t, "", args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, ExitUsage, errOut)
		}
	}
}

// TestLakeImportS3 backfills from an S3 prefix into a lake in S3, on the
// AWS API emulator.
func TestLakeImportS3(t *testing.T) {
	awstest.Start(t)
	ctx := context.Background()
	client, err := s3list.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"org-trail", "sec-lake"} {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	day := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	for i, key := range []string{"AWSLogs/111122223333/CloudTrail/us-east-2/2026/10/01/x.json.gz", "AWSLogs/111122223333/CloudTrail/us-east-2/2026/10/01/y.json.gz", "other/z.json.gz"} {
		body := trailFile("111122223333", day, i*10, 10)
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("org-trail"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	data := t.TempDir()
	_, errOut, code := run(t, "", "lake", "import", "--lake", "s3://sec-lake/parapet", "--data", data, "--progress", "never", "s3://org-trail/AWSLogs/")
	if code != ExitOK || !strings.Contains(errOut, "20 events written") {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	if n, _ := lakeRows(t, "s3://sec-lake/parapet"); n != 20 {
		t.Errorf("S3 lake holds %d rows, want 20", n)
	}
	if cp, err := os.ReadFile(filepath.Join(data, "lake-import.checkpoint")); err != nil || !strings.Contains(string(cp), "s3://org-trail/AWSLogs/111122223333/CloudTrail/us-east-2/2026/10/01/y.json.gz\n") {
		t.Errorf("checkpoint: %v\n%s", err, cp)
	}
}

func TestHunt(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	day := time.Date(2026, 10, 1, 23, 50, 0, 0, time.UTC)
	os.WriteFile(filepath.Join(logs, "a.json.gz"), trailFile("111122223333", day, 0, 20), 0o644)
	os.WriteFile(filepath.Join(logs, "c.json.gz"), trailFile("444455556666", day.Add(-time.Hour), 0, 5), 0o644)
	lakeDir := filepath.Join(dir, "lake")
	if _, errOut, code := run(t, "", "lake", "import", "--lake", lakeDir, "--progress", "never", logs); code != ExitOK {
		t.Fatalf("import: %s", errOut)
	}
	rules := filepath.Join(dir, "rules")
	os.MkdirAll(rules, 0o755)
	os.WriteFile(filepath.Join(rules, "read.yml"), []byte(`title: Object read from another account's build bucket
id: 5b8e8a36-1111-4000-8000-000000000001
status: test
level: medium
logsource:
  product: aws
  service: cloudtrail
detection:
  sel:
    eventSource: s3.amazonaws.com
    eventName: GetObject
    requestParameters.bucketName|startswith: builds-
  condition: sel
tags: [attack.t1530]
`), 0o644)

	// Rules over everything: a finding per call, in detect's shape.
	out, errOut, code := run(t, "", "hunt", "--lake", lakeDir, "--rules", rules, "--no-builtin")
	if code != ExitOK || strings.Count(out, "\n") != 25 || !strings.Contains(out, `"rule_id":"5b8e8a36-1111-4000-8000-000000000001"`) {
		t.Fatalf("hunt: exit %d, %d lines: %s\n%s", code, strings.Count(out, "\n"), errOut, out)
	}
	// Pruned by account and day: one partition read of three.
	out, errOut, _ = run(t, "", "hunt", "--lake", lakeDir, "--rules", rules, "--no-builtin", "--accounts", "111122223333", "--since", "2026-10-02")
	if strings.Count(out, "\n") != 10 || !strings.Contains(errOut, "1 of 3 partitions, 1 files") {
		t.Errorf("pruned hunt: %d findings: %s", strings.Count(out, "\n"), errOut)
	}
	// A time range inside a day.
	out, _, _ = run(t, "", "hunt", "--lake", lakeDir, "--rules", rules, "--no-builtin", "--since", "2026-10-01T23:55:00Z", "--until", "2026-10-02T00:02:00Z")
	if strings.Count(out, "\n") != 7 {
		t.Errorf("hunt over 7 minutes: %d findings, want 7:\n%s", strings.Count(out, "\n"), out)
	}
	// CEL alone prints the events it accepts.
	out, errOut, code = run(t, "", "hunt", "--lake", lakeDir, "--cel", `access_key_id == "AKIAEXAMPLEBUILD0003" && api_operation == "GetObject"`)
	if code != ExitOK || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"account":"444455556666"`) {
		t.Errorf("cel hunt: exit %d: %s\n%s", code, errOut, out)
	}
	// Intel: a listed caller address, from a file or the configuration's
	// intel section; a finding per call from it, in serve's shape.
	list := filepath.Join(dir, "bad-ips.txt")
	os.WriteFile(list, []byte("# test list\n192.0.2.3\n"), 0o644)
	out, errOut, code = run(t, "", "hunt", "--lake", lakeDir, "--intel", list)
	if code != ExitOK || strings.Count(out, "\n") != 2 || strings.Count(out, `"rule_id":"parapet-intel"`) != 2 || !strings.Contains(out, `src 192.0.2.3 is on bad-ips.txt as ip 192.0.2.3`) {
		t.Errorf("intel hunt: exit %d: %s\n%s", code, errOut, out)
	}
	cfgFile := filepath.Join(dir, "parapet.yaml")
	os.WriteFile(cfgFile, []byte("intel:\n  files: ["+list+"]\n"), 0o644)
	out, errOut, code = run(t, "", "hunt", "--lake", lakeDir, "--config", cfgFile, "--intel-config", "--accounts", "444455556666")
	if code != ExitOK || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"account":"444455556666"`) {
		t.Errorf("intel hunt from the configuration: exit %d: %s\n%s", code, errOut, out)
	}
	// The configuration's TAXII collection, read whole (basic auth, the
	// password from the environment).
	taxii := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "reader" || p != "taxii-pw" || r.URL.Path != "/api1/collections/c1/objects/" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
		io.WriteString(w, `{"more":false,"objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--9","name":"relay","pattern_type":"stix","pattern":"[ipv4-addr:value = '192.0.2.4']","valid_from":"2026-01-01T00:00:00Z"}]}`)
	}))
	defer taxii.Close()
	t.Setenv("HUNT_TAXII_PW", "taxii-pw")
	os.WriteFile(cfgFile, []byte("intel:\n  taxii:\n    - collection: "+taxii.URL+"/api1/collections/c1/\n      user: reader\n      password: env:HUNT_TAXII_PW\n"), 0o644)
	out, errOut, code = run(t, "", "hunt", "--lake", lakeDir, "--config", cfgFile, "--intel-config")
	if code != ExitOK || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"value":"192.0.2.4"`) || !strings.Contains(out, "taxii:") || strings.Contains(errOut, "taxii-pw") {
		t.Errorf("intel hunt over a TAXII collection: exit %d: %s\n%s", code, errOut, out)
	}
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, []byte("# nothing\n"), 0o644)
	for _, args := range [][]string{{"hunt", "--lake", lakeDir, "--intel", filepath.Join(dir, "missing.json")}, {"hunt", "--lake", lakeDir, "--intel", empty}} {
		if _, errOut, code := run(t, "", args...); code != ExitUsage || !strings.Contains(errOut, "--intel") {
			t.Errorf("%v: exit %d, want %d: %s", args, code, ExitUsage, errOut)
		}
	}
	for _, args := range [][]string{{"hunt", "--lake", lakeDir, "--cel", "access_key_id"}, {"hunt", "--lake", lakeDir, "--since", "yesterday"}} {
		if _, _, code := run(t, "", args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0 copies", 1: "1 copy", 2: "2 copies", 1000: "1000 copies"} {
		if got := count(n, "copy", "copies"); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}
