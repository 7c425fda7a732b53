package cli

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/parapet-sec/parapet/internal/awstest"
	"github.com/parapet-sec/parapet/internal/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	awstest.Stop()
	pgtest.Stop()
	os.Exit(code)
}

// receiver is a local webhook endpoint that keeps what it is sent.
type receiver struct {
	mu     sync.Mutex
	bodies []map[string]any
	srv    *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		r.mu.Lock()
		r.bodies = append(r.bodies, m)
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) texts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, b := range r.bodies {
		if s, ok := b["text"].(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func awsConfig(t *testing.T) aws.Config {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// ctRecord is a CloudTrail record by an IAM user.
func ctRecord(id, user, key, source, name string, req, resp any) string {
	rec := map[string]any{
		"eventVersion": "1.09", "eventID": id, "eventTime": time.Now().UTC().Format(time.RFC3339),
		"eventSource": source, "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "185.220.101.34",
		"userAgent": "aws-cli/2.15.30", "requestParameters": req, "responseElements": resp, "eventType": "AwsApiCall",
		"recipientAccountId": "123456789012", "readOnly": false, "managementEvent": true,
		"userIdentity": map[string]any{"type": "IAMUser", "principalId": "AIDA" + strings.ToUpper(user), "arn": "arn:aws:iam::123456789012:user/" + user,
			"accountId": "123456789012", "accessKeyId": key, "userName": user},
	}
	b, _ := json.Marshal(rec)
	return string(b)
}

// detectAndRespond runs the seed's chain through the CLI: CloudTrail
// records → parapet detect --records → parapet respond.
func detectAndRespond(t *testing.T, records []string, respondArgs ...string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	trail := filepath.Join(dir, "trail.jsonl")
	if err := os.WriteFile(trail, []byte(strings.Join(records, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	findings, errOut, code := run(t, "", "detect", "--progress", "never", "--records", "--no-ueba", trail)
	if code != ExitOK {
		t.Fatalf("detect exit %d: %s", code, errOut)
	}
	fpath := filepath.Join(dir, "findings.jsonl")
	if err := os.WriteFile(fpath, []byte(findings), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "parapet.db")
	args := append([]string{"respond", "--findings", fpath, "--db", db}, respondArgs...)
	out, errOut, code := run(t, "", args...)
	if code != ExitOK {
		t.Fatalf("respond exit %d: %s", code, errOut)
	}
	verify, errV, code := run(t, "", "audit", "verify", "--db", db)
	if code != ExitOK || !strings.Contains(verify, "intact") {
		t.Fatalf("audit verify exit %d: %s %s", code, verify, errV)
	}
	return out + errOut, db
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestRespondPublicBucketEndToEnd(t *testing.T) {
	awstest.Start(t)
	ctx := context.Background()
	cfg := awsConfig(t)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	const bucket = "acme-finance-reports"
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-finance-reports/*"}]}`
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(public)}); err != nil {
		t.Fatal(err)
	}
	slack := newReceiver(t)
	t.Setenv("PARAPET_SLACK_WEBHOOK", slack.srv.URL)
	var policy any
	_ = json.Unmarshal([]byte(public), &policy)
	rec := ctRecord("ev-public-1", "grace", "ASIAGRACE", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": bucket, "bucketPolicy": policy}, nil)
	out, db := detectAndRespond(t, []string{rec})
	if !strings.Contains(out, "public-bucket-policy") || !strings.Contains(out, "executed") {
		t.Fatalf("the playbook did not run:\n%s", out)
	}
	// Read back through the API: the policy is gone, public access blocked.
	if _, err := s3c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)}); apiCode(err) != "NoSuchBucketPolicy" {
		t.Errorf("bucket policy still there (err %v)", err)
	}
	pab, err := s3c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	c := pab.PublicAccessBlockConfiguration
	if !aws.ToBool(c.BlockPublicAcls) || !aws.ToBool(c.BlockPublicPolicy) || !aws.ToBool(c.IgnorePublicAcls) || !aws.ToBool(c.RestrictPublicBuckets) {
		t.Errorf("public access block: %+v", c)
	}
	texts := slack.texts()
	if len(texts) != 1 || !strings.Contains(texts[0], bucket) {
		t.Errorf("Slack got %q", texts)
	}
	// The audit trail holds every step, and no secret.
	exported, _, _ := run(t, "", "audit", "export", "--db", db)
	for _, kind := range []string{"finding.received", "playbook.matched", "action.executed"} {
		if !strings.Contains(exported, kind) {
			t.Errorf("audit trail lacks %s", kind)
		}
	}
	if strings.Contains(exported, slack.srv.URL) {
		t.Error("the webhook URL reached the audit trail")
	}
	// The same findings again: nothing runs twice.
	_, out2, _ := run(t, "", "respond", "--findings", filepath.Join(filepath.Dir(db), "findings.jsonl"), "--db", db)
	if !strings.Contains(out2, "duplicate: this finding already triggered this playbook") || len(slack.texts()) != 1 {
		t.Errorf("a second run acted again:\n%s", out2)
	}
}

func TestRespondSSHOpenedEndToEnd(t *testing.T) {
	awstest.Start(t)
	ctx := context.Background()
	ec2c := ec2.NewFromConfig(awsConfig(t))
	vpcs, err := ec2c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil || len(vpcs.Vpcs) == 0 {
		t.Fatalf("no default VPC: %v", err)
	}
	sg, err := ec2c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web"), VpcId: vpcs.Vpcs[0].VpcId})
	if err != nil {
		t.Fatal(err)
	}
	open := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}
	https := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}
	if _, err := ec2c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{open, https}}); err != nil {
		t.Fatal(err)
	}
	req := map[string]any{"groupId": aws.ToString(sg.GroupId), "ipPermissions": map[string]any{"items": []any{map[string]any{
		"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": map[string]any{"items": []any{map[string]any{"cidrIp": "0.0.0.0/0"}}}}}}}
	out, _ := detectAndRespond(t, []string{ctRecord("ev-ssh-1", "bob", "AKIABOB", "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", req, nil)})
	if !strings.Contains(out, "admin-port-open-to-world") {
		t.Fatalf("the playbook did not run:\n%s", out)
	}
	got, err := ec2c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{aws.ToString(sg.GroupId)}})
	if err != nil {
		t.Fatal(err)
	}
	var ports []int32
	for _, p := range got.SecurityGroups[0].IpPermissions {
		ports = append(ports, aws.ToInt32(p.FromPort))
	}
	if len(ports) != 1 || ports[0] != 443 {
		t.Errorf("ingress ports after the response: %v, want only 443 (SSH revoked, HTTPS kept)", ports)
	}
}

func TestRespondCompromisedKeyEndToEnd(t *testing.T) {
	awstest.Start(t)
	ctx := context.Background()
	iamc := iam.NewFromConfig(awsConfig(t))
	keys := map[string]string{}
	for _, u := range []string{"frank", "erin"} {
		if _, err := iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(u)}); err != nil {
			t.Fatal(err)
		}
		k, err := iamc.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(u)})
		if err != nil {
			t.Fatal(err)
		}
		keys[u] = aws.ToString(k.AccessKey.AccessKeyId)
	}
	// frank's key creates a key for erin.
	rec := ctRecord("ev-key-1", "frank", keys["frank"], "iam.amazonaws.com", "CreateAccessKey", map[string]any{"userName": "erin"},
		map[string]any{"accessKey": map[string]any{"accessKeyId": keys["erin"], "userName": "erin", "status": "Active"}})
	// Without approval nothing happens: the plan waits.
	out, db := detectAndRespond(t, []string{rec})
	if !strings.Contains(out, "pending-approval") {
		t.Fatalf("a destructive playbook did not wait for approval:\n%s", out)
	}
	list, _, _ := run(t, "", "approvals", "list", "--db", db)
	id := ""
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, "compromised-access-key") && strings.Contains(line, "pending") {
			id = strings.Fields(line)[0]
		}
	}
	if id == "" {
		t.Fatalf("no pending approval listed:\n%s", list)
	}
	if _, errOut, code := run(t, "", "approvals", "approve", id, "--db", db); code != ExitUsage {
		t.Fatalf("approval without --by: exit %d %s", code, errOut)
	}
	if _, errOut, code := run(t, "", "approvals", "approve", id, "--by", "alice", "--comment", "confirmed with frank", "--db", db); code != ExitOK {
		t.Fatalf("approve: exit %d: %s", code, errOut)
	}
	for u, k := range keys {
		ks, err := iamc.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(u)})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ks.AccessKeyMetadata {
			if aws.ToString(m.AccessKeyId) == k && m.Status != "Inactive" {
				t.Errorf("%s's key %s is %s", u, k, m.Status)
			}
		}
	}
	if _, err := iamc.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("frank"), PolicyName: aws.String("parapet-quarantine")}); err != nil {
		t.Errorf("frank is not quarantined: %v", err)
	}
	exported, _, _ := run(t, "", "audit", "export", "--db", db)
	if !strings.Contains(exported, `"kind":"approval.granted","actor":"alice"`) {
		t.Errorf("the approval is not in the audit trail with who gave it:\n%s", exported)
	}
	if _, _, code := run(t, "", "audit", "verify", "--db", db); code != ExitOK {
		t.Error("audit trail broken after the approval")
	}
}

func TestRespondCloudTrailStoppedEndToEnd(t *testing.T) {
	awstest.Start(t)
	ctx := context.Background()
	cfg := awsConfig(t)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	ctc := cloudtrail.NewFromConfig(cfg)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("trail-logs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ctc.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("org-trail"), S3BucketName: aws.String("trail-logs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ctc.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("org-trail")}); err != nil {
		t.Fatal(err)
	}
	out, _ := detectAndRespond(t, []string{ctRecord("ev-ct-1", "mallory", "AKIAMAL", "cloudtrail.amazonaws.com", "StopLogging", map[string]any{"name": "org-trail"}, nil)})
	if !strings.Contains(out, "cloudtrail-stopped") {
		t.Fatalf("the playbook did not run:\n%s", out)
	}
	st, err := ctc.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("org-trail")})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(st.IsLogging) {
		t.Error("the trail is still not logging")
	}
}

// Dry-run prints the exact calls and changes nothing.
func TestRespondDryRunChangesNothing(t *testing.T) {
	awstest.Start(t)
	ctx := context.Background()
	s3c := s3.NewFromConfig(awsConfig(t), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bucket-one")}); err != nil {
		t.Fatal(err)
	}
	rec := ctRecord("ev-dry-1", "grace", "ASIAGRACE", "s3.amazonaws.com", "DeleteBucketPublicAccessBlock", map[string]any{"bucketName": "bucket-one"}, nil)
	out, _ := detectAndRespond(t, []string{rec}, "--dry-run")
	if !strings.Contains(out, `dry-run public-access-block-removed`) || !strings.Contains(out, `s3 PutPublicAccessBlock {"Bucket":"bucket-one"`) {
		t.Fatalf("dry-run did not print the call:\n%s", out)
	}
	if _, err := s3c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("bucket-one")}); apiCode(err) != "NoSuchPublicAccessBlockConfiguration" {
		t.Errorf("dry-run changed the bucket: %v", err)
	}
}

// parapet detect --respond never restores what records say a policy was:
// the policy a record showed before the public one is not put back (it is
// a claim); the bucket's live policy loses only its public statement; a
// protected bucket is left alone.
func TestDetectRespondNeverRestoresFromRecords(t *testing.T) {
	awstest.Start(t)
	ctx := context.Background()
	s3c := s3.NewFromConfig(awsConfig(t), func(o *s3.Options) { o.UsePathStyle = true })
	claimed := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"s3:*","Resource":"arn:aws:s3:::acme-reports/*"}]}`
	live := `{"Version":"2012-10-17","Statement":[{"Sid":"Reporting","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/reporting"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-reports/*"},` +
		`{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-reports/*"}]}`
	public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-reports/*"}]}`
	for _, b := range []string{"acme-reports", "acme-website"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(strings.ReplaceAll(live, "acme-reports", b))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s3c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("acme-website"), Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("parapet:protected"), Value: aws.String("true")}}}}); err != nil {
		t.Fatal(err)
	}
	var cl, pub, web any
	_ = json.Unmarshal([]byte(claimed), &cl)
	_ = json.Unmarshal([]byte(public), &pub)
	_ = json.Unmarshal([]byte(strings.ReplaceAll(public, "acme-reports", "acme-website")), &web)
	dir := t.TempDir()
	trail := filepath.Join(dir, "trail.jsonl")
	recs := []string{
		ctRecord("ev-1", "ops", "AKIAOPS", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "acme-reports", "bucketPolicy": cl}, nil),
		ctRecord("ev-2", "grace", "ASIAGRACE", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "acme-reports", "bucketPolicy": pub}, nil),
		ctRecord("ev-3", "web", "AKIAWEB", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "acme-website", "bucketPolicy": web}, nil),
	}
	if err := os.WriteFile(trail, []byte(strings.Join(recs, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "p.db")
	out, errOut, code := run(t, "", "detect", "--progress", "never", "--no-ueba", "--respond", "--db", db, trail)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Count(out, "S3 Bucket Policy Grants Access To Everyone") != 2 {
		t.Errorf("stdout should hold the findings only:\n%s", out)
	}
	got, err := s3c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("acme-reports")})
	if err != nil {
		t.Fatal(err)
	}
	if p := aws.ToString(got.Policy); strings.Contains(p, "999999999999") || strings.Contains(p, `"Public"`) || !strings.Contains(p, `"Reporting"`) {
		t.Errorf("policy after the response:\n%s\nwant the live one without its public statement", p)
	}
	if !strings.Contains(errOut, "protected resource arn:aws:s3:::acme-website") {
		t.Errorf("the protected bucket was not reported as protected:\n%s", errOut)
	}
	if got := livePolicy(t, s3c, "acme-website"); !strings.Contains(got, `"Public"`) {
		t.Errorf("the protected bucket's policy was touched: %s", got)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// parapet scan aws reads the account through the API; --remediate hands
// the failures to the response engine, and a second scan finds them fixed.
func TestScanAWSAndRemediate(t *testing.T) {
	awstest.Start(t)
	ctx := context.Background()
	cfg := awsConfig(t)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	ec2c := ec2.NewFromConfig(cfg)
	ctc := cloudtrail.NewFromConfig(cfg)
	for _, b := range []string{"acme-open", "trail-logs"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	vpcs, _ := ec2c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	sg, err := ec2c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web"), VpcId: vpcs.Vpcs[0].VpcId})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ec2c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
		t.Fatal(err)
	}
	// The trail: multi-region, into CloudWatch Logs, S3 object writes as
	// data events; a CIS 4.3 metric filter (root usage) with an alarm.
	logs := cloudwatchlogs.NewFromConfig(cfg)
	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("cloudtrail")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ctc.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("org-trail"), S3BucketName: aws.String("trail-logs"), IsMultiRegionTrail: aws.Bool(true),
		CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:cloudtrail:*"), CloudWatchLogsRoleArn: aws.String("arn:aws:iam::123456789012:role/trail")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ctc.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("org-trail"), EventSelectors: []cttypes.EventSelector{{
		ReadWriteType: cttypes.ReadWriteTypeWriteOnly, IncludeManagementEvents: aws.Bool(true),
		DataResources: []cttypes.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3"}}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := logs.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String("cloudtrail"), FilterName: aws.String("root-usage"),
		FilterPattern:         aws.String(`{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }`),
		MetricTransformations: []logstypes.MetricTransformation{{MetricName: aws.String("RootUsage"), MetricNamespace: aws.String("CIS"), MetricValue: aws.String("1")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cloudwatch.NewFromConfig(cfg).PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("root-usage"), MetricName: aws.String("RootUsage"),
		Namespace: aws.String("CIS"), Statistic: cwtypes.StatisticSum, Period: aws.Int32(300), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold, AlarmActions: []string{"arn:aws:sns:us-east-1:123456789012:security"}}); err != nil {
		t.Fatal(err)
	}
	// An expired certificate and an unencrypted file system.
	expiredCert, expiredKey := readFile(t, "testdata/expired-cert.pem"), readFile(t, "testdata/expired-cert.key")
	if _, err := iam.NewFromConfig(cfg).UploadServerCertificate(ctx, &iam.UploadServerCertificateInput{ServerCertificateName: aws.String("old-www"),
		CertificateBody: aws.String(expiredCert), PrivateKey: aws.String(expiredKey)}); err != nil {
		t.Fatal(err)
	}
	if _, err := efs.NewFromConfig(cfg).CreateFileSystem(ctx, &efs.CreateFileSystemInput{CreationToken: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	// A console user without MFA, and a public function URL.
	iamc := iam.NewFromConfig(cfg)
	if _, err := iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("console-dev")}); err != nil {
		t.Fatal(err)
	}
	if _, err := iamc.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("console-dev"), Password: aws.String("Correct-Horse-9!")}); err != nil {
		t.Fatal(err)
	}
	role, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("fn-role"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("fn-role"), PolicyName: aws.String("fn-inline"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	lc := lambda.NewFromConfig(cfg)
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("hook"), Role: role.Role.Arn, Runtime: lambdatypes.RuntimePython312,
		Handler: aws.String("index.handler"), Code: &lambdatypes.FunctionCode{ZipFile: zipOf(t, "index.py", "def handler(e, c):\n    return 1\n")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("hook"), AuthType: lambdatypes.FunctionUrlAuthTypeNone}); err != nil {
		t.Fatal(err)
	}
	status := func() map[string]string {
		out, errOut, code := run(t, "", "scan", "aws", "--format", "json")
		if code != ExitOK {
			t.Fatalf("scan aws: exit %d: %s", code, errOut)
		}
		if errOut != "" {
			t.Logf("scan aws: %s", errOut)
		}
		var rep scanReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, r := range rep.Results {
			m[r.CheckID+" "+r.Resource.Name] = r.Status
			if r.Location.ARN == "" {
				t.Errorf("a live result without its ARN: %+v", r)
			}
		}
		return m
	}
	sgID := aws.ToString(sg.GroupId)
	before := status()
	// What only the live account knows: the root user's MFA, a console
	// user's MFA, a function URL's auth type, and services never turned on
	// in the region (no Config recorder, no GuardDuty detector).
	for _, k := range []string{"PARAPET-IAM-010 root", "PARAPET-IAM-012 console-dev", "PARAPET-LAMBDA-001 hook", "PARAPET-CFG-001 (none)", "PARAPET-GD-001 (none)", "PARAPET-S3-007 account", "PARAPET-IAM-001 fn-inline"} {
		if before[k] != "fail" {
			t.Errorf("before: %s is %q, want fail", k, before[k])
		}
	}
	// One result per group and check: the default group and "web" alike
	// (results of live resources are told apart by ARN).
	groups, err := ec2c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups.SecurityGroups {
		if before["PARAPET-EC2-003 "+aws.ToString(g.GroupId)] == "" {
			t.Errorf("security group %s has no PARAPET-EC2-003 result", aws.ToString(g.GroupId))
		}
	}
	for _, k := range []string{"PARAPET-IAM-024 old-www", "PARAPET-CW-001 123456789012", "PARAPET-CT-007 123456789012"} {
		if before[k] != "fail" {
			t.Errorf("before: %s is %q, want fail", k, before[k])
		}
	}
	efsFail := false
	for k, v := range before {
		efsFail = efsFail || strings.HasPrefix(k, "PARAPET-EFS-001 fs-") && v == "fail"
	}
	if !efsFail {
		t.Error("the unencrypted file system was not reported")
	}
	if before["PARAPET-IAM-009 root"] != "pass" {
		t.Errorf("the root user has no keys in the emulator, yet IAM-009 is %q", before["PARAPET-IAM-009 root"])
	}
	for _, k := range []string{"PARAPET-S3-001 acme-open", "PARAPET-EC2-001 " + sgID, "PARAPET-CT-004 org-trail"} {
		if before[k] != "fail" {
			t.Errorf("before: %s is %q, want fail", k, before[k])
		}
	}
	db := filepath.Join(t.TempDir(), "p.db")
	if _, errOut, code := run(t, "", "scan", "aws", "--remediate", "--db", db, "--dry-run"); code != ExitOK || !strings.Contains(errOut, "planned") {
		t.Fatalf("dry-run remediation: exit %d\n%s", code, errOut)
	}
	if after := status(); after["PARAPET-S3-001 acme-open"] != "fail" {
		t.Error("dry-run changed the account")
	}
	if _, errOut, code := run(t, "", "scan", "aws", "--remediate", "--db", db); code != ExitOK || !strings.Contains(errOut, "executed") {
		t.Fatalf("remediation: exit %d\n%s", code, errOut)
	}
	after := status()
	// Logging restarted: the trail's filter, alarm and data events count.
	for _, k := range []string{"PARAPET-CW-003 123456789012", "PARAPET-CT-006 123456789012"} {
		if after[k] != "pass" {
			t.Errorf("after remediation: %s is %q, want pass", k, after[k])
		}
	}
	for _, k := range []string{"PARAPET-S3-001 acme-open", "PARAPET-EC2-001 " + sgID, "PARAPET-CT-004 org-trail"} {
		if after[k] != "pass" {
			t.Errorf("after remediation: %s is %q, want pass", k, after[k])
		}
	}
	if out, _, code := run(t, "", "audit", "verify", "--db", db); code != ExitOK {
		t.Errorf("audit: %s", out)
	}
}

func zipOf(t *testing.T, name, body string) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	w, err := z.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, body); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// scan aws reads several regions and, through assumed roles, several
// accounts.
func TestScanAWSRegionsAndAccounts(t *testing.T) {
	awstest.Start(t)
	ctx := context.Background()
	cfg := awsConfig(t)
	// A second account, reached through a role in it.
	const other = "222233334444"
	role := "arn:aws:iam::" + other + ":role/parapet-audit"
	creds, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("setup")})
	if err != nil {
		t.Fatal(err)
	}
	ocfg := cfg.Copy()
	ocfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(creds.Credentials.AccessKeyId), aws.ToString(creds.Credentials.SecretAccessKey), aws.ToString(creds.Credentials.SessionToken))
	if _, err := s3.NewFromConfig(ocfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("other-account-data")}); err != nil {
		t.Fatal(err)
	}
	// A group open to SSH in us-west-2 of the first account.
	west := cfg.Copy()
	west.Region = "us-west-2"
	ec2w := ec2.NewFromConfig(west)
	vpcs, err := ec2w.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil || len(vpcs.Vpcs) == 0 {
		t.Fatalf("no default VPC in us-west-2: %v", err)
	}
	sg, err := ec2w.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("west-web"), Description: aws.String("w"), VpcId: vpcs.Vpcs[0].VpcId})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ec2w.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "scan", "aws", "--format", "json", "--regions", "us-east-1,us-west-2", "--concurrency", "2",
		"--assume-role", role, "--assume-role", "arn:aws:iam::123456789012:role/parapet-audit")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep scanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	regions, accounts := map[string]bool{}, map[string]bool{}
	var westSSH, otherBucket bool
	for _, r := range rep.Results {
		arn := r.Resource.ARN
		if parts := strings.Split(arn, ":"); len(parts) > 4 {
			regions[parts[3]] = true
			accounts[parts[4]] = true
		}
		westSSH = westSSH || r.CheckID == "PARAPET-EC2-001" && strings.Contains(arn, ":us-west-2:123456789012:security-group/"+aws.ToString(sg.GroupId)) && r.Status == "fail"
		otherBucket = otherBucket || r.CheckID == "PARAPET-S3-001" && arn == "arn:aws:s3:::other-account-data"
	}
	if !westSSH {
		t.Error("the SSH group in us-west-2 was not reported")
	}
	if !otherBucket {
		t.Error("the bucket in the second account was not read")
	}
	for _, want := range []string{"us-east-1", "us-west-2"} {
		if !regions[want] {
			t.Errorf("nothing from %s (%v)", want, regions)
		}
	}
	for _, want := range []string{"123456789012", other} {
		if !accounts[want] {
			t.Errorf("nothing from account %s (%v)", want, accounts)
		}
	}
}

// scan aws rides out throttling: in front of the emulator, a proxy
// answers every other request with 503 SlowDown or EC2's
// RequestLimitExceeded; the SDK's retryer, with enough attempts, still
// reads everything, and with one attempt the failures are reported (the
// caller's identity, asked first, is left alone so that the scan starts).
func TestScanAWSThrottled(t *testing.T) {
	m := awstest.Start(t)
	target, err := url.Parse(m.URL)
	if err != nil {
		t.Fatal(err)
	}
	var n, storm, throttled atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		// Every other call, a dozen times: then the storm passes, as
		// AWS's does, and the adaptive retryer's rate recovers.
		if !strings.Contains(string(body), "Action=GetCallerIdentity") && n.Add(1)%2 == 0 && storm.Add(1) <= 12 {
			throttled.Add(1)
			if strings.Contains(string(body), "Action=Describe") {
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, `<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>x</RequestID></Response>`)
				return
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx := context.Background()
	s3c := s3.NewFromConfig(awsConfig(t), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("busy-bucket")}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	// Every other call is refused, so the adaptive retryer's client-side
	// rate falls: --max-backoff keeps its waits short here.
	out, errOut, code := run(t, "", "scan", "aws", "--format", "json", "--max-attempts", "10", "--max-backoff", "50ms")
	if code != ExitOK || strings.Contains(errOut, "503") {
		t.Fatalf("with retries: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out, `"arn": "arn:aws:s3:::busy-bucket"`) || throttled.Load() < 10 {
		t.Errorf("throttled %d times; the bucket read: %v", throttled.Load(), strings.Contains(out, "busy-bucket"))
	}
	// The report counts what the proxy did: every throttled response, each
	// retried, none given up.
	var rep scanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if st := rep.Stats; st == nil || st.Total.Throttled != throttled.Load() || st.Total.Retries < st.Total.Throttled || st.Total.GaveUp != 0 ||
		!strings.Contains(errOut, fmt.Sprintf("parapet: API: %d API calls, %d throttled responses", st.Total.Calls, throttled.Load())) {
		t.Errorf("stats %+v, proxy throttled %d; stderr: %s", rep.Stats, throttled.Load(), errOut)
	}
	storm.Store(0) // another storm
	_, errOut, code = run(t, "", "scan", "aws", "--format", "json", "--max-attempts", "1")
	if code != ExitBadInput || !strings.Contains(errOut, "StatusCode: 503") || !strings.Contains(errOut, "could not be read") {
		t.Errorf("with one attempt the throttling was not reported:\n%s", errOut)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A policy the posture inventory read (scan aws --db) is history the
// response engine reverts to, when CloudTrail never showed the policy
// being set.
func TestRevertToPolicySeenByScan(t *testing.T) {
	awstest.Start(t)
	ctx := context.Background()
	s3c := s3.NewFromConfig(awsConfig(t), func(o *s3.Options) { o.UsePathStyle = true })
	private := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/reporting"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-ledger/*"}]}`
	public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-ledger/*"}]}`
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("acme-ledger")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("acme-ledger"), Policy: aws.String(private)}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "p.db")
	if _, errOut, code := run(t, "", "scan", "aws", "--format", "json", "--db", db); code != ExitOK {
		t.Fatalf("scan: exit %d: %s", code, errOut)
	}
	// Later, someone opens the bucket; the trail shows only that.
	time.Sleep(10 * time.Millisecond)
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("acme-ledger"), Policy: aws.String(public)}); err != nil {
		t.Fatal(err)
	}
	var pub any
	_ = json.Unmarshal([]byte(public), &pub)
	trail := filepath.Join(dir, "trail.jsonl")
	rec := ctRecord("ev-open", "grace", "ASIAGRACE", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "acme-ledger", "bucketPolicy": pub}, nil)
	if err := os.WriteFile(trail, []byte(rec+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := run(t, "", "detect", "--progress", "never", "--no-ueba", "--respond", "--db", db, trail); code != ExitOK {
		t.Fatalf("detect: exit %d: %s", code, errOut)
	}
	got, err := s3c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("acme-ledger")})
	if err != nil {
		t.Fatalf("the policy is gone instead of reverted: %v", err)
	}
	var have, want any
	_ = json.Unmarshal([]byte(aws.ToString(got.Policy)), &have)
	_ = json.Unmarshal([]byte(private), &want)
	if mustJSON(have) != mustJSON(want) {
		t.Errorf("policy after the response:\n%s\nwant the one the scan saw:\n%s", aws.ToString(got.Policy), private)
	}
}
