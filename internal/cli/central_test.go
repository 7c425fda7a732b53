package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/parapet-sec/parapet/internal/awstest"
	"github.com/parapet-sec/parapet/internal/decode/ocsfparquet/ocsftest"
	"github.com/parapet-sec/parapet/internal/org/orgtest"
)

// The central logging account of an organization: its log-archive
// account holds the organization trail's bucket, a Security Lake bucket
// and the queue announcing their objects, and a reader role trusted by
// the management account with an ExternalId.
const (
	logArchive  = "222233334444"
	logMember   = "555566667777" // the account the trail's records are about
	logReader   = "ParapetLogReader"
	logExternal = "central-ext-7f3a"
	motoDefault = "123456789012" // the account of the emulator's default credentials: the management account
)

// accountProxy stands in front of the emulator and enforces two things
// AWS enforces and moto (5.2) does not, checked by hand: AssumeRole of a
// role that does not exist, or without the ExternalId its trust policy's
// StringEquals sts:ExternalId condition requires (moto lets any ARN be
// assumed with any ExternalId); and reading a bucket of another account
// without a bucket policy that grants it (moto serves any account's
// bucket to anyone; its SQS queues are per account already). A caller's
// account is the emulator's default one, or the role account of the
// credentials an AssumeRole through the proxy returned.
type accountProxy struct {
	*httptest.Server
	moto string

	mu       sync.Mutex
	keys     map[string]string // access key id → account
	owners   map[string]string // bucket → account
	sessions []string          // RoleSessionName of every AssumeRole
	// expireIn, when set, makes the credentials AssumeRole returns
	// expire that long after they are issued.
	expireIn time.Duration
}

var expiration = regexp.MustCompile(`<Expiration>[^<]*</Expiration>`)

var credentialKey = regexp.MustCompile(`Credential=([^/]+)/[^/]+/[^/]+/([^/]+)/`)

func newAccountProxy(t *testing.T, motoURL string) *accountProxy {
	t.Helper()
	px := &accountProxy{moto: motoURL, keys: map[string]string{}, owners: map[string]string{}}
	px.Server = httptest.NewServer(http.HandlerFunc(px.serve))
	t.Cleanup(px.Close)
	return px
}

func (px *accountProxy) caller(r *http.Request) (account, service string) {
	if a := r.Header.Get("x-moto-account-id"); a != "" {
		return a, "" // the test's own setup calls
	}
	m := credentialKey.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return motoDefault, ""
	}
	px.mu.Lock()
	defer px.mu.Unlock()
	if a := px.keys[m[1]]; a != "" {
		return a, m[2]
	}
	return motoDefault, m[2]
}

func (px *accountProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	account, service := px.caller(r)
	var assumed string // the role account of an AssumeRole
	if service == "sts" {
		form, _ := url.ParseQuery(string(body))
		if form.Get("Action") == "AssumeRole" {
			arn := form.Get("RoleArn")
			if why := px.refuse(arn, form.Get("ExternalId")); why != "" {
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::%s:root is not authorized to perform: sts:AssumeRole on resource: %s (%s)</Message></Error><RequestId>1</RequestId></ErrorResponse>`, account, arn, why)
				return
			}
			px.mu.Lock()
			px.sessions = append(px.sessions, form.Get("RoleSessionName"))
			px.mu.Unlock()
			if p := strings.Split(arn, ":"); len(p) == 6 {
				assumed = p[4]
			}
		}
	}
	if service == "s3" {
		bucket, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		px.mu.Lock()
		owner := px.owners[bucket]
		px.mu.Unlock()
		if owner != "" && owner != account {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>1</RequestId></Error>`)
			return
		}
	}
	req, _ := http.NewRequest(r.Method, px.moto+r.URL.RequestURI(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if assumed != "" && resp.StatusCode == http.StatusOK {
		var ar struct {
			Key string `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
		}
		px.mu.Lock()
		if xml.Unmarshal(out, &ar) == nil && ar.Key != "" {
			px.keys[ar.Key] = assumed
		}
		if px.expireIn > 0 {
			out = expiration.ReplaceAll(out, []byte("<Expiration>"+time.Now().Add(px.expireIn).UTC().Format(time.RFC3339)+"</Expiration>"))
		}
		px.mu.Unlock()
	}
	for k, v := range resp.Header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
}

// refuse says why AWS would refuse to assume arn with externalID ("":
// it would not), from the role's trust policy in its own account.
func (px *accountProxy) refuse(arn, externalID string) string {
	p := strings.Split(arn, ":")
	if len(p) != 6 || !strings.HasPrefix(p[5], "role/") {
		return "not a role ARN"
	}
	req, _ := http.NewRequest(http.MethodPost, px.moto+"/", strings.NewReader("Action=GetRole&Version=2010-05-08&RoleName="+url.QueryEscape(strings.TrimPrefix(p[5], "role/"))))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("x-moto-account-id", p[4])
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "no such role"
	}
	var gr struct {
		Doc string `xml:"GetRoleResult>Role>AssumeRolePolicyDocument"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := xml.Unmarshal(b, &gr); err != nil {
		return err.Error()
	}
	doc := gr.Doc
	if u, err := url.QueryUnescape(doc); err == nil {
		doc = u
	}
	var pol struct {
		Statement []struct {
			Condition map[string]map[string]any
		}
	}
	if err := json.Unmarshal([]byte(doc), &pol); err != nil {
		return "trust policy: " + err.Error()
	}
	for _, s := range pol.Statement {
		want, ok := s.Condition["StringEquals"]["sts:ExternalId"]
		if !ok {
			continue
		}
		if v, _ := want.(string); v != externalID {
			return "the ExternalId does not match"
		}
	}
	return ""
}

// centralEstate builds the log-archive account on the emulator: the
// reader role, the trail's bucket with one CloudTrail file of three
// records about logMember, a Security Lake bucket with one OCSF Parquet
// file of ocsftest's five CloudTrail samples (about ocsftest.Acct), and a
// queue holding an S3 notification for each (an S3 event notification
// and, as Security Lake sends them, an EventBridge Object Created event).
func centralEstate(t *testing.T, px *accountProxy) (trail, lakeBucket, queueURL string) {
	t.Helper()
	ctx := context.Background()
	la := orgtest.InAccount(awsConfig(t), logArchive)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + motoDefault + `:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"` + logExternal + `"}}}]}`
	if _, err := iam.NewFromConfig(la).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(logReader), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	trail, lakeBucket = "org-trail-"+logArchive, "aws-security-data-lake-us-east-1-"+logArchive
	s3c := s3.NewFromConfig(la, func(o *s3.Options) { o.UsePathStyle = true })
	for _, b := range []string{trail, lakeBucket} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
		px.owners[b] = logArchive
	}
	admin := map[string]any{"userName": "temp-admin", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
	var recs []string
	for _, r := range []string{
		ctRecord("central-1", "bob", "AKIABOB", "iam.amazonaws.com", "AttachUserPolicy", admin, nil),
		ctRecord("central-2", "bob", "AKIABOB", "ec2.amazonaws.com", "DescribeInstances", map[string]any{}, nil),
		ctRecord("central-3", "bob", "AKIABOB", "s3.amazonaws.com", "ListBuckets", map[string]any{}, nil),
	} {
		recs = append(recs, strings.ReplaceAll(r, motoDefault, logMember))
	}
	ctKey := "AWSLogs/o-a1b2c3d4e5/" + logMember + "/CloudTrail/us-east-1/2026/12/07/" + logMember + "_CloudTrail_us-east-1_20261207T0100Z_central.json"
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(trail), Key: aws.String(ctKey),
		Body: strings.NewReader(`{"Records":[` + strings.Join(recs, ",") + `]}`)}); err != nil {
		t.Fatal(err)
	}
	pq, err := ocsftest.Encode(ocsftest.CloudTrail(), 0)
	if err != nil {
		t.Fatal(err)
	}
	lakeKey := ocsftest.Key("CLOUD_TRAIL_MGMT", ocsftest.Region, ocsftest.Acct, ocsftest.Day, "central.gz.parquet")
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(lakeBucket), Key: aws.String(lakeKey), Body: bytes.NewReader(pq)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cloudtrail.NewFromConfig(awsConfig(t)).CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("org-trail"), S3BucketName: aws.String(trail)}); err != nil {
		t.Fatal(err)
	}
	q := sqs.NewFromConfig(la)
	qu, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("org-logs-notify")})
	if err != nil {
		t.Fatal(err)
	}
	s3n, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
		"s3": map[string]any{"bucket": map[string]any{"name": trail}, "object": map[string]any{"key": url.QueryEscape(ctKey), "sequencer": "0A1"}}}}})
	ebn, _ := json.Marshal(map[string]any{"source": "aws.s3", "detail-type": "Object Created", "account": logArchive,
		"detail": map[string]any{"bucket": map[string]any{"name": lakeBucket}, "object": map[string]any{"key": lakeKey, "sequencer": "0B1"}}})
	for _, m := range [][]byte{s3n, ebn} {
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: qu.QueueUrl, MessageBody: aws.String(string(m))}); err != nil {
			t.Fatal(err)
		}
	}
	return trail, lakeBucket, aws.ToString(qu.QueueUrl)
}

// syncBuffer is serve's log, read while serve writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveLogged is startServe with serve's log readable.
func serveLogged(t *testing.T, args ...string) (string, *syncBuffer, func()) {
	t.Helper()
	addr := make(chan string, 1)
	serveListening = func(a string) { addr <- a }
	t.Cleanup(func() { serveListening = nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	logb := &syncBuffer{}
	go func() {
		defer close(done)
		cmd := New(IO{In: strings.NewReader(""), Out: io.Discard, Err: logb})
		cmd.SetArgs(append([]string{"serve", "--listen", "127.0.0.1:0"}, args...))
		_ = cmd.ExecuteContext(ctx)
	}()
	select {
	case a := <-addr:
		var once sync.Once
		stop := func() { once.Do(func() { cancel(); <-done }) }
		t.Cleanup(stop)
		return a, logb, stop
	case <-done:
		cancel()
		t.Fatalf("serve ended: %s", logb.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	return "", nil, nil
}

// waitLog waits until serve's log has n lines containing every one of
// parts, and returns the first.
func waitLog(t *testing.T, logb *syncBuffer, n int, parts ...string) string {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var got []string
		for _, l := range strings.Split(logb.String(), "\n") {
			if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(l, p) }) {
				got = append(got, l)
			}
		}
		if len(got) >= n {
			return got[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve's log has %d lines with %q, want %d:\n%s", len(got), parts, n, logb.String())
		}
	}
}

func queueDepth(t *testing.T, q *sqs.Client, queueURL string) (visible, inFlight string) {
	t.Helper()
	a, err := q.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if err != nil {
		t.Fatal(err)
	}
	return a.Attributes["ApproximateNumberOfMessages"], a.Attributes["ApproximateNumberOfMessagesNotVisible"]
}

// centralConfig is serve's configuration with one S3→SQS source: the
// queue and the YAML lines of keys given.
func centralConfig(t *testing.T, queueURL string, keys ...string) string {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "parapet.yaml")
	y := fmt.Sprintf("respond:\n  dry_run: true\nsources:\n  s3sqs:\n    - queue_url: %s\n      region: us-east-1\n      wait: 1s\n", queueURL)
	for _, k := range keys {
		y += "      " + k + "\n"
	}
	if err := os.WriteFile(conf, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

// The S3→SQS source and the s3:// inputs read a central log-archive
// account through its reader role: the events arrive, exactly once each,
// and findings carry the account the events are about, not the
// log-archive account. Without the role the queue and the buckets are
// not readable, and a wrong ExternalId is refused: each is reported
// naming the queue, bucket or role, and serve runs on.
func TestCentralLogArchive(t *testing.T) {
	m := awstest.Start(t)
	px := newAccountProxy(t, m.URL)
	trail, lakeBucket, queueURL := centralEstate(t, px)
	t.Setenv("AWS_ENDPOINT_URL", px.URL)
	roleARN := "arn:aws:iam::" + logArchive + ":role/" + logReader
	q := sqs.NewFromConfig(orgtest.InAccount(awsConfig(t), logArchive))

	t.Run("cli", func(t *testing.T) {
		cases := []struct {
			name  string
			args  []string
			lines int    // events printed (-1: the run fails)
			err   string // on stderr
		}{
			{"trail without the role", []string{"s3://" + trail + "/AWSLogs/"}, -1, "list s3://" + trail + "/AWSLogs/"},
			{"lake without the role", []string{"s3://" + lakeBucket + "/aws/"}, -1, "AccessDenied: Access Denied (a bucket of another account, such as a central log-archive account, is read through a role there: --role-arn)"},
			{"wrong external id", []string{"s3://" + trail + "/AWSLogs/", "--role-arn", roleARN, "--external-id", "not-" + logExternal}, -1, "cannot assume role " + roleARN},
			{"no external id", []string{"s3://" + trail + "/AWSLogs/", "--role-arn", roleARN}, -1, "cannot assume role " + roleARN},
			{"trail", []string{"s3://" + trail + "/AWSLogs/", "--role-arn", roleARN, "--external-id", logExternal}, 3, ""},
			{"lake", []string{"s3://" + lakeBucket + "/aws/CLOUD_TRAIL_MGMT/", "--role-arn", roleARN, "--external-id", logExternal}, len(ocsftest.CloudTrail()), ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				out, errOut, code := run(t, "", append([]string{"events", "--progress", "never"}, tc.args...)...)
				if tc.lines < 0 {
					if code == ExitOK || !strings.Contains(errOut, tc.err) {
						t.Errorf("events %v = exit %d, stderr %q; want a failure naming %q", tc.args, code, errOut, tc.err)
					}
					if strings.Contains(errOut, logExternal) {
						t.Errorf("stderr shows the ExternalId: %s", errOut)
					}
					return
				}
				if code != ExitOK {
					t.Fatalf("events %v: exit %d: %s", tc.args, code, errOut)
				}
				lines := strings.Split(strings.TrimSpace(out), "\n")
				if len(lines) != tc.lines {
					t.Fatalf("events %v: %d events, want %d:\n%s", tc.args, len(lines), tc.lines, out)
				}
				for _, l := range lines {
					var ev struct {
						Cloud struct{ Account string }
					}
					if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Cloud.Account == logArchive || ev.Cloud.Account == "" {
						t.Errorf("event of account %q (err %v), want the account it is about: %s", ev.Cloud.Account, err, l)
					}
				}
			})
		}
		px.mu.Lock()
		defer px.mu.Unlock()
		if !slices.Contains(px.sessions, "parapet-events") {
			t.Errorf("role sessions %q: want the CLI's, named for its command", px.sessions)
		}
	})

	buckets := "buckets: [" + trail + ", " + lakeBucket + "]"
	t.Run("serve without the role", func(t *testing.T) {
		url, logb, stop := serveLogged(t, "--data", t.TempDir(), "--config", centralConfig(t, queueURL, buckets))
		line := waitLog(t, logb, 1, "s3sqs poll failed", "queue="+queueURL)
		if !strings.Contains(line, "role_arn") {
			t.Errorf("the error gives no hint of the role: %s", line)
		}
		if code, _ := call(t, "GET", url+"/metrics", "", "", nil); code != http.StatusOK {
			t.Errorf("serve does not answer after the source's error: %d", code)
		}
		stop()
		if v, f := queueDepth(t, q, queueURL); v != "2" || f != "0" {
			t.Errorf("queue holds %s visible, %s in flight; want both messages left for the role", v, f)
		}
	})

	t.Run("serve with a wrong external id", func(t *testing.T) {
		url, logb, stop := serveLogged(t, "--data", t.TempDir(), "--config", centralConfig(t, queueURL, buckets, "role_arn: "+roleARN, "external_id: not-"+logExternal))
		// Reported with the role and the queue, and tried again.
		line := waitLog(t, logb, 2, "s3sqs poll failed", "cannot assume role "+roleARN, queueURL)
		if !strings.Contains(line, "AccessDenied") {
			t.Errorf("the error does not say why: %s", line)
		}
		if code, _ := call(t, "GET", url+"/metrics", "", "", nil); code != http.StatusOK {
			t.Errorf("serve does not answer after the source's error: %d", code)
		}
		stop()
		if strings.Contains(logb.String(), logExternal) {
			t.Errorf("serve's log shows the ExternalId:\n%s", logb.String())
		}
		if v, f := queueDepth(t, q, queueURL); v != "2" || f != "0" {
			t.Errorf("queue holds %s visible, %s in flight; want both messages untouched", v, f)
		}
	})

	t.Run("serve with a wrong external id and a trail not found", func(t *testing.T) {
		// The allow-list cannot be made (the trail is neither serve's nor
		// readable through the role): serve starts, says so, and the
		// source tries again at each poll.
		url, logb, stop := serveLogged(t, "--data", t.TempDir(), "--config", centralConfig(t, queueURL, "trails: [lost-trail]", "role_arn: "+roleARN, "external_id: not-"+logExternal))
		line := waitLog(t, logb, 1, "the buckets to read are not known yet", "role="+roleARN, "trail lost-trail: not found")
		if !strings.Contains(line, "AccessDenied") {
			t.Errorf("the error does not say the role was refused: %s", line)
		}
		waitLog(t, logb, 1, "s3sqs poll failed", "cannot assume role "+roleARN)
		if code, _ := call(t, "GET", url+"/metrics", "", "", nil); code != http.StatusOK {
			t.Errorf("serve does not answer: %d", code)
		}
		stop()
		if v, f := queueDepth(t, q, queueURL); v != "2" || f != "0" {
			t.Errorf("queue holds %s visible, %s in flight; want both messages untouched", v, f)
		}
	})

	t.Run("serve with the role", func(t *testing.T) {
		data := t.TempDir()
		// The organization trail is the management account's (serve's own
		// identity describes it), its bucket the log archive's.
		url, logb, _ := serveLogged(t, "--data", data, "--config", centralConfig(t, queueURL, "trails: [org-trail]", "buckets: ["+lakeBucket+"]",
			"role_arn: "+roleARN, "external_id: "+logExternal))
		tok := token(t, data, "viewer")
		want := 3 + len(ocsftest.CloudTrail())
		waitEvents(t, url, want)
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if v, f := queueDepth(t, q, queueURL); v == "0" && f == "0" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the messages were not handled:\n%s", logb.String())
			}
		}
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if _, m := call(t, "GET", url+"/metrics", "", "", nil); strings.Contains(m["raw"].(string), "\nparapet_intake_spooled 0\n") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the spool did not drain")
			}
		}
		if n := metricEvents(t, url); n != want {
			t.Errorf("%d events, want %d", n, want)
		}
		_, fv := call(t, "GET", url+"/v1/findings?limit=1000", tok, "", nil)
		accounts := map[string]int{}
		for _, f := range asItems(fv) {
			c, _ := f["cloud"].(map[string]any)
			accounts[fmt.Sprint(c["account"])]++
		}
		if accounts[logMember] == 0 || accounts[ocsftest.Acct] == 0 || accounts[logArchive] != 0 || len(accounts) != 2 {
			t.Errorf("findings by account %v, want some of %s (the trail's) and %s (the lake's), none of %s (the log archive)", accounts, logMember, ocsftest.Acct, logArchive)
		}
		px.mu.Lock()
		sessions := slices.Clone(px.sessions)
		px.mu.Unlock()
		// One session served the queue and both buckets: the credentials
		// are cached, not assumed again for each call.
		if n := countOf(sessions, serveSession); n != 1 {
			t.Errorf("serve assumed the role %d times (sessions %q), want once, named for its queue", n, sessions)
		}
	})

	t.Run("serve renews credentials before they expire", func(t *testing.T) {
		// Credentials that expire in 4 minutes are inside the 5-minute
		// window: each poll assumes the role again.
		px.mu.Lock()
		px.expireIn, px.sessions = 4*time.Minute, nil
		px.mu.Unlock()
		defer func() { px.mu.Lock(); px.expireIn = 0; px.mu.Unlock() }()
		_, logb, stop := serveLogged(t, "--data", t.TempDir(), "--config", centralConfig(t, queueURL, buckets, "role_arn: "+roleARN, "external_id: "+logExternal))
		defer stop()
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			px.mu.Lock()
			n := countOf(px.sessions, serveSession)
			px.mu.Unlock()
			if n >= 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the role was assumed %d times, want again at each poll:\n%s", n, logb.String())
			}
		}
		if strings.Contains(logb.String(), "s3sqs poll failed") {
			t.Errorf("a poll failed while renewing:\n%s", logb.String())
		}
	})
}

const serveSession = "parapet-s3sqs-org-logs-notify"

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

var eventsOnly = regexp.MustCompile(`(?m)^parapet_events_total(?:\{[^}]*\})? ([0-9.e+]+)$`)

// metricEvents is parapet_events_total (duplicates not counted).
func metricEvents(t *testing.T, url string) int {
	t.Helper()
	_, m := call(t, "GET", url+"/metrics", "", "", nil)
	total := 0.0
	for _, x := range eventsOnly.FindAllStringSubmatch(m["raw"].(string), -1) {
		var v float64
		fmt.Sscan(x[1], &v)
		total += v
	}
	return int(total)
}
