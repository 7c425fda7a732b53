package hunt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/decode/vpcflow"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/lake"
)

// prefilterRecord writes a CloudTrail call whose fields are drawn among
// values the builtin rules test and their near misses: the operation and
// service, an error code (absent, null, empty, denied in another case),
// the identity's type, ARN and invoker, console credentials, readOnly,
// the event type, request parameters; some records hold a backslash, an
// Insight or spaces around the colons.
func prefilterRecord(rng *rand.Rand, i int, at time.Time) string {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	calls := [][2]string{{"GetObject", "s3"}, {"ListBuckets", "s3"}, {"PutBucketAcl", "s3"}, {"PutBucketPolicy", "s3"},
		{"DeleteBucketPublicAccessBlock", "s3"}, {"DescribeInstances", "ec2"}, {"ModifySnapshotAttribute", "ec2"},
		{"CreateGrant", "kms"}, {"Decrypt", "kms"}, {"AddPermission", "lambda"}, {"CreateFunctionUrlConfig", "lambda"},
		{"CreateAccessKey", "iam"}, {"ListUsers", "iam"}, {"GetSessionToken", "sts"}, {"AssumeRole", "sts"},
		{"GetCallerIdentity", "sts"}, {"ConsoleLogin", "signin"}, {"StopLogging", "cloudtrail"}, {"UpdateClusterConfig", "eks"}}
	c := calls[rng.IntN(len(calls))]
	svc := c[1] + ".amazonaws.com"
	if rng.IntN(10) == 0 {
		svc = pick("s3.amazonaws.com", "kms.amazonaws.com", "lambda.amazonaws.com")
	}
	var f []string
	add := func(k, v string) { f = append(f, fmt.Sprintf("%q:%s", k, v)) }
	add("eventVersion", `"1.09"`)
	var id []string
	typ := pick("IAMUser", "Root", "AssumedRole", "AWSService", "", "root", "FederatedUser")
	if typ != "" {
		id = append(id, fmt.Sprintf(`"type":%q`, typ))
	}
	arn := pick("arn:aws:iam::111122223333:user/alice", "arn:aws:sts::111122223333:assumed-role/web/i-0123456789abcdef0", "arn:aws:iam::111122223333:root", "")
	if arn != "" {
		id = append(id, fmt.Sprintf(`"arn":%q`, arn))
	}
	if rng.IntN(4) == 0 {
		id = append(id, fmt.Sprintf(`"invokedBy":%q`, pick("cloudformation.amazonaws.com", "signin.amazonaws.com", "AWS Internal")))
	}
	if rng.IntN(4) == 0 {
		id = append(id, `"sessionContext":{"ec2RoleDelivery":"2.0","attributes":{"mfaAuthenticated":"false"}}`)
	}
	id = append(id, `"accountId":"111122223333"`)
	add("userIdentity", "{"+strings.Join(id, ",")+"}")
	add("eventTime", fmt.Sprintf("%q", at.Format(time.RFC3339)))
	add("eventSource", fmt.Sprintf("%q", svc))
	add("eventName", fmt.Sprintf("%q", c[0]))
	if rng.IntN(12) > 0 {
		add("awsRegion", `"eu-west-1"`)
	}
	add("sourceIPAddress", pick(`"203.0.113.9"`, `"10.0.0.7"`, `"AWS Internal"`))
	ua := pick(`"aws-cli/2.15"`, `"console.amazonaws.com"`, `"Mozilla/5.0 (X11) \"quoted\""`)
	add("userAgent", ua)
	switch rng.IntN(8) {
	case 0:
		add("errorCode", pick(`"AccessDenied"`, `"accessdenied"`, `"Client.UnauthorizedOperation"`, `"AccessDeniedException"`))
	case 1:
		add("errorCode", pick(`"ThrottlingException"`, `"NoSuchBucket"`, `"AccessDenied2"`))
	case 2:
		add("errorCode", pick(`null`, `""`))
	}
	switch rng.IntN(4) {
	case 0:
		add("sessionCredentialFromConsole", pick(`"true"`, `"false"`, `true`))
	}
	switch rng.IntN(3) {
	case 0:
		add("readOnly", "true")
	case 1:
		add("readOnly", "false")
	}
	add("eventType", pick(`"AwsApiCall"`, `"AwsApiCall"`, `"AwsConsoleSignIn"`, `"AwsServiceEvent"`))
	switch rng.IntN(5) {
	case 0:
		add("requestParameters", pick(`{"bucketName":"b","x-amz-acl":"public-read"}`, `{"bucketName":"b","x-amz-acl":"private"}`,
			`{"authType":"NONE","functionName":"f"}`, `{"attributeType":"CREATE_VOLUME_PERMISSION","createVolumePermission":{"add":{"items":[{"group":"all"}]}}}`,
			`{"bucketName":"b","bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}}`))
	case 1:
		add("requestParameters", "null")
	}
	if c[0] == "ConsoleLogin" {
		add("responseElements", pick(`{"ConsoleLogin":"Success"}`, `{"ConsoleLogin":"Failure"}`))
	}
	add("eventID", fmt.Sprintf(`"p-%06d"`, i))
	add("recipientAccountId", `"111122223333"`)
	rec := "{" + strings.Join(f, ",") + "}"
	if rng.IntN(10) == 0 {
		rec = strings.ReplaceAll(rec, `":`, `" : `) // spaces around the colons
	}
	return rec
}

// TestPrefilterExact: the builtin pack over a lake of calls drawn around
// what its rules test finds the same findings, in the same order, with
// the prefilter (rows no rule can match passed over on their columns)
// and without it (every row decoded and run).
func TestPrefilterExact(t *testing.T) {
	if testing.Short() {
		t.Skip("6,000 rows through the builtin pack twice: slow under the race detector (the full suite runs it)")
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(17, 30))
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	var evs []event.Event
	for i := range 6000 {
		at = at.Add(time.Duration(rng.IntN(60_000)) * time.Millisecond)
		var ev event.Event
		rec := prefilterRecord(rng, i, at)
		if err := cloudtrail.Decode([]byte(rec), &ev); err != nil {
			t.Fatalf("%s: %v", rec, err)
		}
		evs = append(evs, ev)
	}
	// An Insight: the operation it names is not the record's eventName.
	insight := `{"eventVersion":"1.08","eventTime":"2026-11-02T10:00:00Z","awsRegion":"eu-west-1","eventID":"insight-1","eventType":"AwsCloudTrailInsight","recipientAccountId":"111122223333","sharedEventID":"s","insightDetails":{"state":"Start","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","insightType":"ApiCallRateInsight"},"eventCategory":"Insight"}`
	var ev event.Event
	if err := cloudtrail.Decode([]byte(insight), &ev); err != nil {
		t.Fatal(err)
	}
	evs = append(evs, ev)
	// Rows whose event is rebuilt from every column: a CloudTrail call
	// whose record does not decode (no eventTime) and flow log records.
	evs = append(evs, event.Event{ID: "broken-1", Source: event.SourceCloudTrail, Time: at, Class: event.ClassAPIActivity,
		Cloud: event.Cloud{Provider: "aws", Account: "111122223333", Region: "eu-west-1"},
		API:   event.API{Service: "cloudtrail.amazonaws.com", Operation: "StopLogging"},
		Raw:   event.Raw{Format: event.RawJSON, Data: []byte(`{"eventName":"StopLogging","eventSource":"cloudtrail.amazonaws.com"}`)}})
	for i, port := range []int{22, 3389, 443, 5432} {
		t0 := at.Add(time.Duration(i) * time.Minute).Unix()
		line := fmt.Sprintf("2 111122223333 eni-0a1b2c3d 198.51.100.%d 10.0.0.5 44321 %d 6 10 840 %d %d ACCEPT OK", 7+i, port, t0, t0+60)
		if err := vpcflow.Default.Decode(line, &ev); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	w := writeLake(t, evs)
	rules, errs := sigma.Load(content.FS, "rules", sigma.Options{})
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	run := func(q Query) ([]string, Stats) {
		t.Helper()
		var out []string
		st, err := Run(ctx, w.Lake, q, func(ev *event.Event, found []detect.Finding) error {
			for _, f := range found {
				js, err := json.Marshal(f)
				if err != nil {
					return err
				}
				out = append(out, ev.ID+" "+string(js))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(out) // files come in no order
		return out, st
	}
	q := Query{Engine: detect.NewEngine(rules)}
	got, st := run(q)
	q.noPrefilter = true
	want, stAll := run(q)
	if !slices.Equal(got, want) {
		for _, f := range want {
			if _, found := slices.BinarySearch(got, f); !found {
				t.Errorf("missed with the prefilter: %.300s", f)
			}
		}
		for _, f := range got {
			if _, found := slices.BinarySearch(want, f); !found {
				t.Errorf("found only with the prefilter: %.300s", f)
			}
		}
	}
	byRule := map[string]int{}
	for _, f := range want {
		var v struct {
			Title string
		}
		json.Unmarshal([]byte(f[strings.IndexByte(f, ' ')+1:]), &v)
		byRule[v.Title]++
	}
	t.Logf("%d findings of %d rules; %d of %d rows passed over", len(want), len(byRule), st.PassedOver, st.Events)
	if len(byRule) < 5 || st.PassedOver == 0 || st.PassedOver == st.Events || stAll.PassedOver != 0 ||
		st.Events != int64(len(evs)) || st.Passed != stAll.Passed || st.Findings != stAll.Findings {
		t.Errorf("findings of %d rules %v; stats %+v, without the prefilter %+v", len(byRule), byRule, st, stAll)
	}
	// Compacted files hold a row group's rows by actor, not time: the
	// same findings, from the same rows.
	if cs, err := w.Compact(ctx, lake.CompactOptions{}); err != nil || cs.FilesWritten == 0 {
		t.Fatalf("compact: %+v, %v", cs, err)
	}
	q.noPrefilter = false
	if compacted, _ := run(q); !slices.Equal(compacted, want) {
		t.Errorf("on the compacted lake: %d findings, want %d, or others", len(compacted), len(want))
	}
}

// TestFinder: a finder says what bytes.Contains says, on texts where its
// bytes recur (the fallback after many false starts) and where they do
// not.
func TestFinder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, text := range []string{`"errorCode"`, `"type"`, `AwsCloudTrailInsight`, `"a"`, `""`, `"QZ"`} {
		f := newFinder(text)
		for range 3000 {
			b := make([]byte, rng.IntN(80))
			for i := range b {
				b[i] = `"erorCdtypeAwsInsightaQZ`[rng.IntN(24)]
			}
			if rng.IntN(3) == 0 && len(b) >= len(text) {
				at := rng.IntN(len(b) - len(text) + 1)
				copy(b[at:], text)
			}
			if got, want := f.in(b), bytes.Contains(b, []byte(text)); got != want {
				t.Fatalf("finder %q in %q: %v, bytes.Contains %v", text, b, got, want)
			}
		}
	}
}
