package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/pgtest"
)

// startServe runs parapet serve until the test ends and returns its URL.
func startServe(t testing.TB, args ...string) (string, func()) {
	t.Helper()
	addr := make(chan string, 1)
	serveListening = func(a string) { addr <- a }
	t.Cleanup(func() { serveListening = nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var errb bytes.Buffer
	go func() {
		defer close(done)
		cmd := New(IO{In: strings.NewReader(""), Out: io.Discard, Err: &errb})
		cmd.SetArgs(append([]string{"serve", "--listen", "127.0.0.1:0"}, args...))
		_ = cmd.ExecuteContext(ctx)
	}()
	select {
	case a := <-addr:
		stop := func() { cancel(); <-done }
		t.Cleanup(stop)
		return a, stop
	case <-done:
		cancel()
		t.Fatalf("serve ended: %s", errb.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	cancel()
	return "", nil
}

func token(t testing.TB, data, role string) string {
	t.Helper()
	out, errOut, code := run(t, "", "tokens", "create", "--role", role, "--name", "test-"+role, "--data", data)
	if code != ExitOK {
		t.Fatalf("tokens create: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

func call(t *testing.T, method, url, tok, ctype string, body []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &v)
	if v == nil {
		v = map[string]any{"raw": string(b)}
	}
	return resp.StatusCode, v
}

// The CLI contract of parapet serve: tokens, the CloudTrail intake,
// incidents, 401 on every /v1 route without a token, clear 4xx errors, and
// a restart that neither loses nor repeats.
func TestServeContract(t *testing.T) {
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("respond:\n  dry_run: true\nsources:\n  http:\n    max_body: 64KiB\n    max_inflated: 1MiB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	analyst, viewer := token(t, data, "analyst"), token(t, data, "viewer")
	if !strings.HasPrefix(analyst, "ppt_") || analyst == viewer {
		t.Fatalf("tokens %q %q", analyst, viewer)
	}
	url, stop := startServe(t, "--data", data, "--config", cfg)

	// 401 everywhere under /v1 without a valid token.
	for _, r := range [][2]string{{"GET", "/v1/incidents"}, {"POST", "/v1/ingest/cloudtrail"}, {"GET", "/v1/incidents/x"}, {"GET", "/v1/nothing-here"}} {
		if code, _ := call(t, r[0], url+r[1], "", "application/json", nil); code != 401 {
			t.Errorf("%s %s without a token: %d", r[0], r[1], code)
		}
		if code, _ := call(t, r[0], url+r[1], "ppt_not-a-token", "application/json", nil); code != 401 {
			t.Errorf("%s %s with a bad token: %d", r[0], r[1], code)
		}
	}
	if code, _ := call(t, "GET", url+"/healthz", "", "", nil); code != 200 {
		t.Errorf("/healthz: %d", code)
	}

	// A public bucket policy, as CloudTrail delivers it (gzip'd Records).
	pub := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-open/*"}}}
	rec := ctRecord("ev-serve-1", "mallory", "AKIAMALLORY", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "acme-open", "bucketPolicy": pub}, nil)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"Records":[` + rec + `]}`))
	zw.Close()
	if code, v := call(t, "POST", url+"/v1/ingest/cloudtrail", viewer, "application/gzip", gz.Bytes()); code != 403 {
		t.Errorf("a viewer may not ingest: %d %v", code, v)
	}
	code, v := call(t, "POST", url+"/v1/ingest/cloudtrail", analyst, "application/gzip", gz.Bytes())
	if code != 202 {
		t.Fatalf("ingest: %d %v", code, v)
	}
	incident := waitIncident(t, url, viewer)
	code, v = call(t, "GET", url+"/v1/incidents/"+incident, viewer, "", nil)
	fs, _ := v["findings"].([]any)
	if code != 200 || len(fs) == 0 || !strings.Contains(mustJSON(fs), "S3 Bucket Policy Grants Access To Everyone") {
		t.Errorf("incident detail: %d %v", code, v)
	}

	// The native record behind the finding, and the configuration (admin only).
	if code, v := call(t, "GET", url+"/v1/events/ev-serve-1", viewer, "", nil); code != 200 || v["eventName"] != "PutBucketPolicy" {
		t.Errorf("event by id: %d %v", code, v)
	}
	if code, _ := call(t, "GET", url+"/v1/config", analyst, "", nil); code != 403 {
		t.Errorf("an analyst read the configuration: %d", code)
	}

	// Bad requests get clear 4xx answers.
	gzipped := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	bomb := gzipped(append(append([]byte(`{"Records":[`), bytes.Repeat([]byte(" "), 2<<20)...), `]}`...))
	for _, c := range []struct {
		ctype string
		body  []byte
		code  int
		want  string
	}{
		{"application/gzip", bomb, 413, "inflates past sources.http.max_inflated"},
		{"application/gzip", gzipped([]byte(`{"Records":[{"eventID": }]}`)), 400, "malformed JSON at byte"},
		{"application/gzip", bomb[:len(bomb)/2], 400, "gzip"},
		{"application/json", []byte(`{"Records":[{"eventID": }]}`), 400, "malformed JSON at byte"},
		{"application/xml", []byte(`<x/>`), 415, "content type"},
		{"application/json", bytes.Repeat([]byte(" "), 70<<10), 413, "exceeds"},
		{"application/json", nil, 400, "empty body"},
	} {
		code, v := call(t, "POST", url+"/v1/ingest/cloudtrail", analyst, c.ctype, c.body)
		if code != c.code || !strings.Contains(mustJSON(v), c.want) {
			t.Errorf("%s body of %d bytes: %d %v, want %d %q", c.ctype, len(c.body), code, v, c.code, c.want)
		}
	}
	if code, v := call(t, "POST", url+"/v1/ingest/vpcflow", analyst, "application/gzip", gzipped(bytes.Repeat([]byte("2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK\n"), 40000))); code != 413 {
		t.Errorf("a flow log inflating past the limit: %d %v", code, v)
	}
	if code, v := call(t, "GET", url+"/metrics", "", "", nil); code != 200 || !strings.Contains(v["raw"].(string), "parapet_events_total 1") {
		t.Errorf("/metrics: %d %v", code, v)
	}

	// Restart and send the same file again: nothing new.
	stop()
	url, _ = startServe(t, "--data", data, "--config", cfg)
	if code, _ := call(t, "POST", url+"/v1/ingest/cloudtrail", analyst, "application/x-ndjson", []byte(rec+"\n")); code != 202 {
		t.Fatalf("ingest after restart: %d", code)
	}
	// Processed: the new process counted the event.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, m := call(t, "GET", url+"/metrics", "", "", nil); strings.Contains(m["raw"].(string), "parapet_events_total 1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the record sent after the restart was not processed")
		}
	}
	_, v = call(t, "GET", url+"/v1/incidents", viewer, "", nil)
	items, _ := v["items"].([]any)
	if len(items) != 1 || len(items[0].(map[string]any)["findings"].([]any)) != 1 {
		t.Errorf("after the same record again: %v", v)
	}
}

func waitIncident(t *testing.T, url, tok string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		code, v := call(t, "GET", url+"/v1/incidents", tok, "", nil)
		if code != 200 {
			t.Fatalf("incidents: %d %v", code, v)
		}
		if items, _ := v["items"].([]any); len(items) > 0 {
			return items[0].(map[string]any)["id"].(string)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no incident")
	return ""
}

// Firehose's HTTP endpoint delivery: base64 records (here a gzip'd
// CloudWatch Logs subscription payload carrying CloudTrail), the access
// key header as the token, and Firehose's answer format.
func TestServeFirehose(t *testing.T) {
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("respond:\n  dry_run: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, viewer := token(t, data, "analyst"), token(t, data, "viewer")
	url, _ := startServe(t, "--data", data, "--config", cfg)
	pub := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}}}
	rec := ctRecord("ev-fh-1", "mallory", "AKIAMALLORY", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "fh-bucket", "bucketPolicy": pub}, nil)
	cwl, _ := json.Marshal(map[string]any{"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "cloudtrail", "logStream": "s",
		"subscriptionFilters": []string{"all"}, "logEvents": []any{map[string]any{"id": "1", "timestamp": time.Now().UnixMilli(), "message": rec}}})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(cwl)
	zw.Close()
	req, _ := json.Marshal(map[string]any{"requestId": "req-1", "timestamp": time.Now().UnixMilli(), "records": []any{map[string]any{"data": gz.Bytes()}}})
	do := func(key string) (int, map[string]any) {
		r, _ := http.NewRequest("POST", url+"/v1/ingest/firehose", bytes.NewReader(req))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Amz-Firehose-Request-Id", "req-1")
		if key != "" {
			r.Header.Set("X-Amz-Firehose-Access-Key", key)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	if code, _ := do(""); code != 401 {
		t.Errorf("without the access key: %d", code)
	}
	if code, _ := do("wrong"); code != 401 {
		t.Errorf("with a wrong access key: %d", code)
	}
	code, v := do(tok)
	if code != 200 || v["requestId"] != "req-1" || v["timestamp"] == nil {
		t.Fatalf("delivery: %d %v", code, v)
	}
	id := waitIncident(t, url, viewer)
	_, d := call(t, "GET", url+"/v1/incidents/"+id, viewer, "", nil)
	if !strings.Contains(mustJSON(d), "fh-bucket") {
		t.Errorf("the finding from Firehose: %v", d)
	}
}

// An API call from an address on a threat-intelligence list becomes a
// finding and joins the principal's incident, raising its risk.
func TestServeIntel(t *testing.T) {
	data := t.TempDir()
	dir := t.TempDir()
	list := filepath.Join(dir, "bad-ips.txt")
	if err := os.WriteFile(list, []byte("# test list\n185.220.101.34\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("respond:\n  dry_run: true\nintel:\n  files: ["+list+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, viewer := token(t, data, "analyst"), token(t, data, "viewer")
	url, _ := startServe(t, "--data", data, "--config", cfg)
	rec := ctRecord("ev-intel-1", "carol", "AKIACAROL", "ec2.amazonaws.com", "DescribeInstances", map[string]any{}, nil)
	if code, v := call(t, "POST", url+"/v1/ingest/cloudtrail", tok, "application/x-ndjson", []byte(rec+"\n")); code != 202 {
		t.Fatalf("ingest: %d %v", code, v)
	}
	id := waitIncident(t, url, viewer)
	_, d := call(t, "GET", url+"/v1/incidents/"+id, viewer, "", nil)
	s := mustJSON(d)
	if !strings.Contains(s, "API call from an address on a threat-intelligence list") || !strings.Contains(s, "bad-ips.txt") || !strings.Contains(s, "initial-access") {
		t.Errorf("intel finding: %s", s)
	}
}

// A watched folder: a CloudTrail file dropped in it is processed once,
// also across a restart.
func TestServeFolder(t *testing.T) {
	data, logs := t.TempDir(), t.TempDir()
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("respond:\n  dry_run: true\nsources:\n  folders:\n    - path: "+logs+"\n      poll: 100ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	viewer := token(t, data, "viewer")
	url, stop := startServe(t, "--data", data, "--config", cfg)
	pub := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}}}
	rec := ctRecord("ev-folder-1", "mallory", "AKIAMALLORY", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "folder-bucket", "bucketPolicy": pub}, nil)
	p := filepath.Join(logs, "AWSLogs", "123456789012", "CloudTrail", "us-east-1", "2026", "11", "24", "trail.json")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(`{"Records":[`+rec+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	os.Chtimes(p, past, past)
	waitIncident(t, url, viewer)
	stop()
	url, _ = startServe(t, "--data", data, "--config", cfg)
	time.Sleep(500 * time.Millisecond) // several polls
	if got := findingEvents(t, url, viewer); got["ev-folder-1"] != 1 {
		t.Errorf("after a restart: %v", got)
	}
	if _, m := call(t, "GET", url+"/metrics", "", "", nil); strings.Contains(m["raw"].(string), "parapet_events_total 1") {
		t.Error("the file was read again after the restart")
	}
}

// serve --demo replays the demo week through the live pipeline: the
// attack stories become incidents.
func TestServeDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a week of data")
	}
	data := t.TempDir()
	viewer := token(t, data, "viewer")
	url, stop := startServe(t, "--data", data, "--demo")
	// Plain HTTP on loopback: the demo's session cookie is not Secure, so
	// that every browser keeps it.
	req, _ := http.NewRequest("POST", url+"/ui/login", strings.NewReader(`{"token":"`+viewer+`"}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 || len(resp.Cookies()) != 1 || resp.Cookies()[0].Secure {
		t.Errorf("demo sign-in: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	in := readDemoInput(t, data)
	metrics := waitDemoProcessed(t, url, in)
	_, v := call(t, "GET", url+"/v1/incidents?limit=1000", viewer, "", nil)
	titles := mustJSON(v["items"])
	for _, want := range []string{"S3 Bucket Policy Grants Access To Everyone", "Security Group Opens SSH Or RDP To The Internet", "Access Key Created For Another User",
		// The GPU launch: its incident is headed by its most severe
		// finding (GPU instances, or launches across regions).
		"Instances Launched"} {
		if !strings.Contains(titles, want) {
			t.Errorf("no %q incident from the demo", want)
		}
	}
	t.Logf("%d incidents", len(v["items"].([]any)))
	// The Paths page's data: the CI role's one step to admin.
	if _, pv := call(t, "GET", url+"/v1/paths", viewer, "", nil); !strings.Contains(mustJSON(pv["paths"]), `"source":"arn:aws:iam::111122223333:role/ci-deploy"`) {
		t.Errorf("demo paths lack ci-deploy's: %.400s", mustJSON(pv))
	}
	// The playbooks acted: on the emulator when moto_server is there (the
	// auto ones executed, the destructive ones wait for approval), in
	// dry-run otherwise.
	_, rv := call(t, "GET", url+"/v1/playbook-runs?limit=1000", viewer, "", nil)
	statuses := map[string]int{}
	for _, r := range rv["items"].([]any) {
		statuses[r.(map[string]any)["status"].(string)]++
	}
	if _, err := exec.LookPath("moto_server"); err == nil {
		_, av := call(t, "GET", url+"/v1/approvals?status=pending", viewer, "", nil)
		if statuses["executed"] == 0 || statuses["pending-approval"] == 0 || len(av["items"].([]any)) == 0 {
			t.Errorf("with the emulator: runs %v, pending approvals %d", statuses, len(av["items"].([]any)))
		}
	} else if statuses["planned"] == 0 {
		t.Errorf("without the emulator: runs %v", statuses)
	}
	// The bundled Terraform project's posture.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, p := call(t, "GET", url+"/v1/posture", viewer, "", nil)
		if ts, _ := p["targets"].([]any); len(ts) == 1 && strings.Contains(mustJSON(ts), "cis-aws-3.0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no posture scan of the demo project")
		}
	}
	stop()
	findings, stored := readStore(t, filepath.Join(data, "parapet.db"))
	t.Run("stories", func(t *testing.T) { checkDemoStories(t, data, findings) })
	t.Run("metrics agree with the store", func(t *testing.T) { checkMetricsAgree(t, metrics, stored, in) })
}

// A pattern declared a false positive stops filing (not storing) findings;
// closing an incident records who and why, and ends its MTTR.
func TestServeSuppressAndClose(t *testing.T) {
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("respond:\n  dry_run: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	analyst, viewer := token(t, data, "analyst"), token(t, data, "viewer")
	url, _ := startServe(t, "--data", data, "--config", cfg)
	pub := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}}}
	post := func(id, bucket string) {
		rec := ctRecord(id, "mallory", "AKIAMALLORY", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": bucket, "bucketPolicy": pub}, nil)
		if code, v := call(t, "POST", url+"/v1/ingest/cloudtrail", analyst, "application/x-ndjson", []byte(rec+"\n")); code != 202 {
			t.Fatalf("ingest: %d %v", code, v)
		}
	}
	post("ev-s-1", "site-a")
	inc := waitIncident(t, url, viewer)
	expires := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	for _, bad := range []string{`{"expr":"finding.rule_id ==","reason":"x","expires":"` + expires + `"}`, `{"expr":"true","reason":"","expires":"` + expires + `"}`,
		`{"expr":"true","reason":"x","expires":"2001-01-01T00:00:00Z"}`, `{"expr":"1","reason":"x","expires":"` + expires + `"}`,
		`{"expr":"true","reason":"mute everything","expires":"` + expires + `"}`} {
		if code, v := call(t, "POST", url+"/v1/suppressions", analyst, "application/json", []byte(bad)); code != 400 {
			t.Errorf("%s: %d %v", bad, code, v)
		}
	}
	if code, _ := call(t, "POST", url+"/v1/suppressions", viewer, "application/json", []byte(`{}`)); code != 403 {
		t.Errorf("a viewer suppressed: %d", code)
	}
	code, v := call(t, "POST", url+"/v1/suppressions", analyst, "application/json",
		[]byte(`{"expr":"finding.actor.arn == \"arn:aws:iam::123456789012:user/mallory\"","reason":"mallory is our red team this week","expires":"`+expires+`"}`))
	if code != 201 {
		t.Fatalf("suppress: %d %v", code, v)
	}
	sid := v["suppression"].(map[string]any)["id"].(string)
	post("ev-s-2", "site-b")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, m := call(t, "GET", url+"/metrics", "", "", nil); strings.Contains(m["raw"].(string), "parapet_findings_suppressed_total 1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second finding was not suppressed")
		}
	}
	if got := findingEvents(t, url, viewer); got["ev-s-2"] != 0 || got["ev-s-1"] != 1 {
		t.Errorf("a suppressed finding was filed: %v", got)
	}
	if code, _ := call(t, "POST", url+"/v1/incidents/"+inc+"/close", analyst, "application/json", []byte(`{"reason":""}`)); code != 400 {
		t.Errorf("closing without a reason: %d", code)
	}
	code, v = call(t, "POST", url+"/v1/incidents/"+inc+"/close", analyst, "application/json", []byte(`{"reason":"policy reverted by hand"}`))
	if code != 200 || v["incident"].(map[string]any)["status"] != "closed" || v["incident"].(map[string]any)["closed_by"] != "test-analyst" {
		t.Errorf("close: %d %v", code, v)
	}
	if _, st := call(t, "GET", url+"/v1/stats", viewer, "", nil); st["mttr_samples"].(float64) < 1 {
		t.Errorf("MTTR does not count the closed incident: %v", st)
	}
	// The list's filters: status, text, risk.
	count := func(query string) int {
		code, v := call(t, "GET", url+"/v1/incidents?"+query, viewer, "", nil)
		if code != 200 {
			t.Fatalf("%s: %d %v", query, code, v)
		}
		return len(v["items"].([]any))
	}
	if count("status=closed") != 1 || count("status=open") != 0 || count("q=MALLORY") != 1 || count("q=nobody-at-all") != 0 ||
		count("q=50%25_x") != 0 || count("min_risk=100") != 0 || count("status=closed&q=mallory&min_risk=1") != 1 {
		t.Errorf("filters: closed %d, open %d, q %d", count("status=closed"), count("status=open"), count("q=MALLORY"))
	}
	for _, bad := range []string{"status=gone", "min_risk=x", "min_risk=101"} {
		if code, _ := call(t, "GET", url+"/v1/incidents?"+bad, viewer, "", nil); code != 400 {
			t.Errorf("%s: %d", bad, code)
		}
	}
	if code, _ := call(t, "DELETE", url+"/v1/suppressions/"+sid+"?reason=red+team+week+over", analyst, "", nil); code != 200 {
		t.Errorf("end suppression: %d", code)
	}
	if _, l := call(t, "GET", url+"/v1/suppressions", viewer, "", nil); len(l["items"].([]any)) != 0 {
		t.Errorf("suppressions after ending: %v", l)
	}
}

// The same contract on PostgreSQL: tokens, intake, incidents, a restart.
func TestServePostgres(t *testing.T) {
	db := pgtest.URL(t)
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("respond:\n  dry_run: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "tokens", "create", "--role", "analyst", "--db", db)
	if code != ExitOK {
		t.Fatalf("tokens: %d %s", code, errOut)
	}
	tok := strings.TrimSpace(out)
	url, stop := startServe(t, "--data", data, "--config", cfg, "--db", db)
	pub := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}}}
	rec := ctRecord("ev-pg-1", "mallory", "AKIAMALLORY", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "pg-bucket", "bucketPolicy": pub}, nil)
	if code, v := call(t, "POST", url+"/v1/ingest/cloudtrail", tok, "application/x-ndjson", []byte(rec+"\n")); code != 202 {
		t.Fatalf("ingest: %d %v", code, v)
	}
	waitIncident(t, url, tok)
	// The playbook's dry run is recorded; the stats' queries run on
	// PostgreSQL too.
	// (The playbooks run after the incident is stored.)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, v := call(t, "GET", url+"/v1/playbook-runs?status=planned", tok, "", nil)
		if strings.Contains(mustJSON(v), "public-bucket-policy") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs on PostgreSQL: %v", v)
		}
	}
	if code, v := call(t, "GET", url+"/v1/stats", tok, "", nil); code != 200 || v["mttd_samples"].(float64) < 1 || len(v["daily"].([]any)) != 14 {
		t.Errorf("stats on PostgreSQL: %d %v", code, v)
	}
	for query, want := range map[string]int{"status=open&q=MALLORY": 1, "q=50%25_x": 0, "status=closed": 0} {
		if _, v := call(t, "GET", url+"/v1/incidents?"+query, tok, "", nil); len(v["items"].([]any)) != want {
			t.Errorf("incidents?%s on PostgreSQL: %v, want %d", query, v, want)
		}
	}
	stop()
	url, _ = startServe(t, "--data", data, "--config", cfg, "--db", db)
	if code, _ := call(t, "POST", url+"/v1/ingest/cloudtrail", tok, "application/x-ndjson", []byte(rec+"\n")); code != 202 {
		t.Fatal("ingest after restart")
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, m := call(t, "GET", url+"/metrics", "", "", nil); strings.Contains(m["raw"].(string), "parapet_events_total 1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not processed after the restart")
		}
	}
	if got := findingEvents(t, url, tok); got["ev-pg-1"] != 1 {
		t.Errorf("on PostgreSQL after a restart: %v", got)
	}
}

// GuardDuty findings arrive through the EventBridge route and become
// incidents, also when the intake pushes back (a tiny max_spooled).
func TestServeBackpressureAndEventBridge(t *testing.T) {
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("respond:\n  dry_run: true\nsources:\n  http:\n    max_spooled: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok := token(t, data, "analyst")
	url, _ := startServe(t, "--data", data, "--config", cfg)
	gd := `{"version":"0","id":"e1","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"123456789012","time":"2026-11-24T10:00:00Z","region":"us-east-1",
	  "detail":{"schemaVersion":"2.0","accountId":"123456789012","region":"us-east-1","id":"gd-1","type":"UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS","severity":8,
	  "title":"Credentials for instance role used from an external IP","description":"x","createdAt":"2026-11-24T10:00:00Z","updatedAt":"2026-11-24T10:00:00Z",
	  "resource":{"resourceType":"AccessKey","accessKeyDetails":{"accessKeyId":"ASIAX","principalId":"AROAX:i-1","userName":"app","userType":"AssumedRole"}},
	  "service":{"action":{"actionType":"AWS_API_CALL","awsApiCallAction":{"api":"ListBuckets","serviceName":"s3.amazonaws.com","remoteIpDetails":{"ipAddressV4":"198.51.100.7"}}}}}}`
	codes := map[int]int{}
	for range 20 {
		code, _ := call(t, "POST", url+"/v1/ingest/eventbridge", tok, "application/json", []byte(gd))
		codes[code]++
	}
	if codes[202] == 0 {
		t.Fatalf("nothing accepted: %v", codes)
	}
	if codes[503] == 0 {
		t.Logf("the processor kept up with every body (%v); backpressure not reached", codes)
	}
	id := waitIncident(t, url, tok)
	_, d := call(t, "GET", url+"/v1/incidents/"+id, tok, "", nil)
	if !strings.Contains(mustJSON(d), "InstanceCredentialExfiltration") {
		t.Errorf("the GuardDuty finding: %.500s", mustJSON(d))
	}
}
