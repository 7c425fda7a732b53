package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/parapet-sec/parapet/internal/awstest"
)

// Attacks on the responder through forged telemetry, each on loopback
// against the AWS API emulator: anyone with an ingest token can post a
// record, and a record is a claim, not a fact.

// attackServe starts parapet serve with its playbooks acting on the
// emulator (not in dry-run) and returns its URL and an analyst token.
func attackServe(t *testing.T) (string, string) {
	t.Helper()
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("respond:\n  dry_run: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok := token(t, data, "analyst")
	url, _ := startServe(t, "--data", data, "--config", cfg)
	return url, tok
}

// post sends CloudTrail records as JSON lines.
func post(t *testing.T, url, tok string, recs ...string) {
	t.Helper()
	if code, v := call(t, "POST", url+"/v1/ingest/cloudtrail", tok, "application/x-ndjson", []byte(strings.Join(recs, "\n")+"\n")); code != 202 {
		t.Fatalf("ingest: %d %v", code, v)
	}
}

// Records processed: detected, or passed over as duplicates.
var eventsTotal = regexp.MustCompile(`(?m)^parapet_(?:events|duplicate_records)_total(?:\{[^}]*\})? ([0-9.e+]+)$`)

// waitEvents waits until serve has processed n events (it works one body
// at a time, in order).
func waitEvents(t *testing.T, url string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			total := 0.0
			for _, m := range eventsTotal.FindAllStringSubmatch(string(b), -1) {
				v, _ := strconv.ParseFloat(m[1], 64)
				total += v
			}
			if total >= float64(n) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("serve did not process %d events", n)
}

// waitRuns waits until serve has finished n playbook runs (none still
// being planned) and returns them.
func waitRuns(t *testing.T, url, tok string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var runs []map[string]any
	for time.Now().Before(deadline) {
		_, v := call(t, "GET", url+"/v1/playbook-runs", tok, "", nil)
		items, _ := v["items"].([]any)
		runs = runs[:0]
		for _, it := range items {
			runs = append(runs, it.(map[string]any))
		}
		if len(runs) >= n {
			return runs
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%d playbook runs, want %d: %v", len(runs), n, runs)
	return nil
}

func stepStatuses(run map[string]any) string {
	var out []string
	steps, _ := run["steps"].([]any)
	for _, s := range steps {
		st, _ := s.(map[string]any)
		a, _ := st["action"].(string)
		status, _ := st["status"].(string)
		out = append(out, a+":"+status)
	}
	return strings.Join(out, ",")
}

func policyJSON(t *testing.T, v any) any {
	t.Helper()
	var out any
	switch x := v.(type) {
	case string:
		if err := json.Unmarshal([]byte(x), &out); err != nil {
			t.Fatal(err)
		}
	default:
		out = x
	}
	return out
}

func livePolicy(t *testing.T, s3c *s3.Client, bucket string) string {
	t.Helper()
	out, err := s3c.GetBucketPolicy(context.Background(), &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	if apiCode(err) == "NoSuchBucketPolicy" {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return mustJSON(policyJSON(t, aws.ToString(out.Policy)))
}

const vaultPolicy = `{"Version":"2012-10-17","Statement":[
	{"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::BUCKET","arn:aws:s3:::BUCKET/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}},
	{"Sid":"Reporting","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/reporting"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::BUCKET/*"}]}`

// 11.1: a forged history (an old PutBucketPolicy granting a foreign
// account) then a forged public PutBucketPolicy: the playbook must not
// install the attacker's policy, nor delete the bucket's real one (Deny
// statements included) when there is no history.
func TestAttackPolicyHistoryPoisoning(t *testing.T) {
	awstest.Start(t)
	ctx := context.Background()
	s3c := s3.NewFromConfig(awsConfig(t), func(o *s3.Options) { o.UsePathStyle = true })
	real := map[string]string{}
	for _, b := range []string{"acme-vault", "acme-vault-two"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
		pol := strings.ReplaceAll(vaultPolicy, "BUCKET", b)
		if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(pol)}); err != nil {
			t.Fatal(err)
		}
		real[b] = livePolicy(t, s3c, b)
	}
	url, tok := attackServe(t)
	foreign := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::999999999999:root"}, "Action": "s3:*", "Resource": "arn:aws:s3:::acme-vault/*"}}}
	public := func(b string) map[string]any {
		return map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + b + "/*"}}}
	}
	old := strings.Replace(ctRecord("forged-history", "ops", "AKIAOPS", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "acme-vault", "bucketPolicy": foreign}, nil),
		`"eventTime":"`+time.Now().UTC().Format("2006-01-02"), `"eventTime":"`+time.Now().UTC().AddDate(0, 0, -30).Format("2006-01-02"), 1)
	post(t, url, tok, old)
	post(t, url, tok, ctRecord("forged-public", "mallory", "AKIAMALLORY", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "acme-vault", "bucketPolicy": public("acme-vault")}, nil))
	post(t, url, tok, ctRecord("forged-public-2", "mallory", "AKIAMALLORY", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "acme-vault-two", "bucketPolicy": public("acme-vault-two")}, nil))
	runs := waitRuns(t, url, tok, 2)
	for b, want := range real {
		if got := livePolicy(t, s3c, b); got != want {
			t.Errorf("%s: the live policy changed on forged records:\n got %s\nwant %s", b, got, want)
		}
	}
	for _, r := range runs {
		if st := stepStatuses(r); !strings.HasPrefix(st, "s3.revert_bucket_policy:skipped") || strings.Contains(st, "executed") {
			t.Errorf("run %v: steps %s", r["finding_id"], st)
		}
		steps, _ := r["steps"].([]any)
		if reason, _ := stepAt(steps, 0)["reason"].(string); !strings.Contains(reason, "live state compliant") {
			t.Errorf("run %v: reason %v", r["finding_id"], steps[0])
		}
	}
}

// 11.2 and 11.3: a failed DeleteBucketEncryption (AccessDenied) on an
// SSE-KMS bucket raises no remediation, and a forged successful one does
// not downgrade the bucket to SSE-S3: the KMS key stays.
func TestAttackFailedCallAndEncryptionDowngrade(t *testing.T) {
	awstest.Start(t)
	ctx := context.Background()
	s3c := s3.NewFromConfig(awsConfig(t), func(o *s3.Options) { o.UsePathStyle = true })
	const bucket, key = "acme-ledger", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(bucket), ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
		Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(key)}}}}}); err != nil {
		t.Fatal(err)
	}
	url, tok := attackServe(t)
	failed := func(id, name string, req map[string]any) string {
		rec := ctRecord(id, "mallory", "AKIAMALLORY", "s3.amazonaws.com", name, req, nil)
		return strings.Replace(rec, `"eventType":`, `"errorCode":"AccessDenied","errorMessage":"Access Denied","eventType":`, 1)
	}
	pub := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + bucket + "/*"}}}
	post(t, url, tok, failed("failed-enc", "DeleteBucketEncryption", map[string]any{"bucketName": bucket}),
		failed("failed-pol", "PutBucketPolicy", map[string]any{"bucketName": bucket, "bucketPolicy": pub}))
	waitEvents(t, url, 2)
	_, fv := call(t, "GET", url+"/v1/findings", tok, "", nil)
	for _, it := range asItems(fv) {
		if lvl := it["level"]; lvl == "high" || lvl == "critical" {
			t.Errorf("a failed call raised a %v finding: %v", lvl, it["title"])
		}
	}
	_, rv := call(t, "GET", url+"/v1/playbook-runs", tok, "", nil)
	if runs := asItems(rv); len(runs) != 0 {
		t.Errorf("failed calls ran playbooks: %v", runs)
	}
	// A forged "successful" deletion: the live bucket still has its KMS key.
	post(t, url, tok, ctRecord("forged-enc", "mallory", "AKIAMALLORY", "s3.amazonaws.com", "DeleteBucketEncryption", map[string]any{"bucketName": bucket}, nil))
	runs := waitRuns(t, url, tok, 1)
	out, err := s3c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	d := out.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault
	if d.SSEAlgorithm != s3types.ServerSideEncryptionAwsKms || aws.ToString(d.KMSMasterKeyID) != key {
		t.Errorf("encryption after a forged deletion: %s %s, want aws:kms %s", d.SSEAlgorithm, aws.ToString(d.KMSMasterKeyID), key)
	}
	if st := stepStatuses(runs[0]); !strings.HasPrefix(st, "s3.enable_default_encryption:skipped") {
		t.Errorf("steps %s", st)
	}
}

func stepAt(steps []any, i int) map[string]any {
	if i < len(steps) {
		m, _ := steps[i].(map[string]any)
		return m
	}
	return nil
}

func asItems(v map[string]any) []map[string]any {
	items, _ := v["items"].([]any)
	var out []map[string]any
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// 11.12 and 11.13: values from records are checked before any call and
// escaped in messages; the same record posted four times runs its
// playbook once.
func TestAttackInjectionAndReplay(t *testing.T) {
	awstest.Start(t)
	ctx := context.Background()
	s3c := s3.NewFromConfig(awsConfig(t), func(o *s3.Options) { o.UsePathStyle = true })
	slack := newReceiver(t)
	t.Setenv("PARAPET_SLACK_WEBHOOK", slack.srv.URL)
	const bucket = "acme-open"
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	pub := func(b string) map[string]any {
		return map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + b + "/*"}}}
	}
	pj, _ := json.Marshal(pub(bucket))
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(string(pj))}); err != nil {
		t.Fatal(err)
	}
	url, tok := attackServe(t)
	// A bucket name that is a path, one that carries a header.
	post(t, url, tok, ctRecord("inject-path", "mallory", "AKIAMALLORY", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "../../x", "bucketPolicy": pub("x")}, nil))
	post(t, url, tok, ctRecord("inject-header", "mallory", "AKIAMALLORY", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "a\r\nX-Injected: 1", "bucketPolicy": pub("x")}, nil))
	runs := waitRuns(t, url, tok, 2)
	for _, r := range runs {
		msg, _ := r["error"].(string)
		steps, _ := r["steps"].([]any)
		if r["status"] != "failed" || !strings.Contains(msg, "not a valid S3 bucket name") || len(steps) != 0 {
			t.Errorf("an injected bucket name: %v", r)
		}
	}
	// The real public bucket, by a user whose name is Slack markup, four
	// times over.
	rec := ctRecord("replayed", "<!channel>", "AKIAMALLORY", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": bucket, "bucketPolicy": pub(bucket)}, nil)
	for range 4 {
		post(t, url, tok, rec)
	}
	waitEvents(t, url, 6)
	runs = waitRuns(t, url, tok, 3)
	n := 0
	for _, r := range runs {
		if r["finding_id"] != runs[0]["finding_id"] {
			continue
		}
		n++
		if st := stepStatuses(r); st != "s3.revert_bucket_policy:executed,s3.put_public_access_block:executed,notify.slack:executed" {
			t.Errorf("steps %s", st)
		}
	}
	if n != 1 {
		t.Errorf("the playbook ran %d times for one record posted four times", n)
	}
	if got := livePolicy(t, s3c, bucket); got != "" {
		t.Errorf("the public policy is still there: %s", got)
	}
	texts := slack.texts()
	if len(texts) != 1 || strings.Contains(texts[0], "<!channel>") || !strings.Contains(texts[0], "&lt;!channel&gt;") {
		t.Errorf("Slack got %q", texts)
	}
}
