package lake

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/event"
)

// benchTrail is a trail as an account's CloudTrail delivers it, for the
// write benchmarks beside benchEvents (whose every call has a key,
// session, address and object of its own: the worst case for the
// promoted columns). Here, as in real trails, principals work in
// sessions: a workload role's session (one temporary key, one address,
// one SDK) makes many calls before its credentials rotate an hour later;
// people come through SSO roles from a few addresses; a CI user has a
// long-term key; and AWS services (AssumeRole for instance profiles and
// functions, KMS for S3 and EBS) make a large share of the calls. The
// mix: S3 data events, KMS, read-only describes and lists, STS, some
// writes, and failed calls (AccessDenied). The records follow the shapes
// AWS documents for each call (written here, not copied from a trail);
// each is decoded by the CloudTrail decoder, as intake does.
func benchTrail(tb testing.TB, n int) []event.Event {
	tb.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	accounts := []string{"111122223333", "444455556666", "777788889999"}
	type principal struct {
		kind    string // role, sso, user
		id      string // the user's or role's unique id
		acct    string
		name    string // role or user name
		session string
		key     string
		ip      string
		agent   string
		until   time.Time // when the session's credentials rotate
	}
	agents := []string{
		"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/s3#1.58.2",
		"Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 os/linux#5.10.220-209.869.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.4 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.144",
		"aws-sdk-java/2.25.60 Linux/5.10.219-208.866.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.11+9-LTS Java/17.0.11 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
		"aws-cli/2.17.13 md/awscrt#0.20.11 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#source md/prompt#off md/command#s3.ls",
	}
	hex := func(k int) string {
		const digits = "0123456789abcdef"
		var b strings.Builder
		for range k {
			b.WriteByte(digits[rng.IntN(16)])
		}
		return b.String()
	}
	upper := func(k int) string {
		const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
		var b strings.Builder
		for range k {
			b.WriteByte(digits[rng.IntN(len(digits))])
		}
		return b.String()
	}
	uuid := func() string { return hex(8) + "-" + hex(4) + "-4" + hex(3) + "-8" + hex(3) + "-" + hex(12) }
	var ps []*principal
	for i := range 60 {
		p := &principal{kind: "role", acct: accounts[i%3], name: fmt.Sprintf("svc-%s-%d", []string{"orders", "billing", "etl", "api", "reports"}[i%5], i), agent: agents[i%3]}
		if i%10 == 9 {
			p.kind, p.name, p.agent = "user", fmt.Sprintf("ci-deploy-%d", i), agents[3]
			p.key, p.ip = "AKIA"+upper(16), fmt.Sprintf("198.51.100.%d", 10+i)
		}
		p.id = "AROA" + upper(17)
		if p.kind == "user" {
			p.id = "AIDA" + upper(17)
		}
		ps = append(ps, p)
	}
	for i := range 20 {
		ps = append(ps, &principal{kind: "sso", acct: accounts[i%3], name: []string{"AWSReservedSSO_AdministratorAccess_3f1c9a2b7d4e8f60", "AWSReservedSSO_ReadOnly_9a8b7c6d5e4f3a21"}[i%2],
			agent: agents[3], id: "AROA" + upper(17)})
	}
	zipf := rand.NewZipf(rng, 1.1, 1, uint64(len(ps)-1))
	refresh := func(p *principal, at time.Time) {
		if p.kind == "user" || at.Before(p.until) {
			return
		}
		p.until = at.Add(time.Hour)
		p.key = "ASIA" + upper(16)
		switch p.kind {
		case "role":
			p.session = "i-0" + hex(16)
			p.ip = fmt.Sprintf("10.%d.%d.%d", rng.IntN(4), rng.IntN(256), 1+rng.IntN(254))
		case "sso":
			p.session = fmt.Sprintf("engineer%d@example.com", rng.IntN(12))
			p.ip = fmt.Sprintf("203.0.113.%d", 1+rng.IntN(30))
		}
	}
	identity := func(p *principal) string {
		switch p.kind {
		case "user":
			return fmt.Sprintf(`{"type":"IAMUser","principalId":"%s","arn":"arn:aws:iam::%s:user/%s","accountId":"%s","accessKeyId":"%s","userName":"%s"}`,
				p.id, p.acct, p.name, p.acct, p.key, p.name)
		}
		roleID := p.id
		path := "role/"
		if p.kind == "sso" {
			path = "role/aws-reserved/sso.amazonaws.com/eu-west-1/"
		}
		return fmt.Sprintf(`{"type":"AssumedRole","principalId":"%s:%s","arn":"arn:aws:sts::%s:assumed-role/%s/%s","accountId":"%s","accessKeyId":"%s","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"%s","arn":"arn:aws:iam::%s:%s%s","accountId":"%s","userName":"%s"},"attributes":{"creationDate":"%s","mfaAuthenticated":"false"}}}`,
			roleID, p.session, p.acct, p.name, p.session, p.acct, p.key, roleID, p.acct, path, p.name, p.acct, p.name, p.until.Add(-time.Hour).Format(time.RFC3339))
	}
	evs := make([]event.Event, n)
	at := t0
	for i := range evs {
		at = at.Add(time.Duration(rng.IntN(120)) * time.Millisecond)
		p := ps[zipf.Uint64()]
		refresh(p, at)
		tm := at.Format(time.RFC3339)
		eid, rid := uuid(), uuid()
		var rec string
		switch k := rng.IntN(100); {
		case k < 14: // a service assumes a role for an instance profile or a function
			svc := []string{"ec2.amazonaws.com", "lambda.amazonaws.com"}[rng.IntN(2)]
			sess := "i-0" + hex(16)
			if svc == "lambda.amazonaws.com" {
				sess = p.name + "-handler"
			}
			rec = fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"AWSService","invokedBy":"%s"},"eventTime":"%s","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"eu-west-1","sourceIPAddress":"%s","userAgent":"%s","requestParameters":{"roleArn":"arn:aws:iam::%s:role/%s","roleSessionName":"%s"},"responseElements":{"credentials":{"accessKeyId":"ASIA%s","sessionToken":"IQoJb3JpZ2luX2VjEHYaCWV1LXdlc3QtMSJHMEUCIQ%s","expiration":"%s"}},"requestID":"%s","eventID":"%s","readOnly":true,"resources":[{"accountId":"%s","type":"AWS::IAM::Role","ARN":"arn:aws:iam::%s:role/%s"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","sharedEventID":"%s","eventCategory":"Management"}`,
				svc, tm, svc, svc, p.acct, p.name, sess, upper(16), hex(40), at.Add(6*time.Hour).Format("Jan 2, 2006, 3:04:05 PM"), rid, eid, p.acct, p.acct, p.name, p.acct, uuid())
		case k < 26: // KMS on behalf of S3 or EBS, by the calling role
			op := []string{"Decrypt", "GenerateDataKey"}[rng.IntN(2)]
			keyID := fmt.Sprintf("%08x-1111-2222-3333-%012x", len(p.name), int(p.acct[1]))
			rec = fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":%s,"eventTime":"%s","eventSource":"kms.amazonaws.com","eventName":"%s","awsRegion":"eu-west-1","sourceIPAddress":"s3.amazonaws.com","userAgent":"s3.amazonaws.com","requestParameters":{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::%s-data/%s"},"encryptionAlgorithm":"SYMMETRIC_DEFAULT","keyId":"arn:aws:kms:eu-west-1:%s:key/%s"},"responseElements":null,"requestID":"%s","eventID":"%s","readOnly":true,"resources":[{"accountId":"%s","type":"AWS::KMS::Key","ARN":"arn:aws:kms:eu-west-1:%s:key/%s"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management"}`,
				identity(p), tm, op, p.name, hex(12), p.acct, keyID, rid, eid, p.acct, p.acct, keyID, p.acct)
		case k < 52: // S3 data events
			op := []string{"GetObject", "GetObject", "PutObject", "HeadObject"}[rng.IntN(4)]
			bucket := p.name + "-data"
			obj := fmt.Sprintf("%s/2026/11/%02d/%s.json.gz", []string{"in", "out", "tmp"}[rng.IntN(3)], 1+rng.IntN(28), hex(12))
			rec = fmt.Sprintf(`{"eventVersion":"1.10","userIdentity":%s,"eventTime":"%s","eventSource":"s3.amazonaws.com","eventName":"%s","awsRegion":"eu-west-1","sourceIPAddress":"%s","userAgent":"[%s]","requestParameters":{"bucketName":"%s","Host":"%s.s3.eu-west-1.amazonaws.com","key":"%s"},"responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":%d,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"%s","bytesTransferredOut":%d},"requestID":"%s","eventID":"%s","readOnly":%t,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::%s/%s"},{"accountId":"%s","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::%s"}],"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"%s","eventCategory":"Data","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"%s.s3.eu-west-1.amazonaws.com"}}`,
				identity(p), tm, op, p.ip, p.agent, bucket, bucket, obj, rng.IntN(1<<16), upper(56), rng.IntN(1<<20), strings.ToUpper(hex(16)), eid, op != "PutObject", bucket, obj, p.acct, bucket, p.acct, bucket)
		case k < 80: // reads: describes and lists
			op := []struct{ svc, name, params string }{
				{"ec2", "DescribeInstances", `{"instancesSet":{},"filterSet":{"items":[{"name":"tag:Environment","valueSet":{"items":[{"value":"production"}]}}]}}`},
				{"ec2", "DescribeSecurityGroups", `{"securityGroupSet":{},"securityGroupIdSet":{},"filterSet":{}}`},
				{"s3", "ListBuckets", `{"Host":"s3.eu-west-1.amazonaws.com"}`},
				{"logs", "DescribeLogStreams", `{"logGroupName":"/aws/lambda/handler","orderBy":"LastEventTime","descending":true,"limit":1}`},
				{"ssm", "GetParameter", `{"name":"/app/config/feature-flags","withDecryption":false}`},
				{"iam", "GetRole", `{"roleName":"` + p.name + `"}`},
				{"secretsmanager", "GetSecretValue", `{"secretId":"arn:aws:secretsmanager:eu-west-1:` + p.acct + `:secret:app/db-AbCdEf"}`},
			}[rng.IntN(7)]
			rec = fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":%s,"eventTime":"%s","eventSource":"%s.amazonaws.com","eventName":"%s","awsRegion":"eu-west-1","sourceIPAddress":"%s","userAgent":"%s","requestParameters":%s,"responseElements":null,"requestID":"%s","eventID":"%s","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"%s.eu-west-1.amazonaws.com"}}`,
				identity(p), tm, op.svc, op.name, p.ip, p.agent, op.params, rid, eid, p.acct, op.svc)
		case k < 88: // who am I
			rec = fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":%s,"eventTime":"%s","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","awsRegion":"eu-west-1","sourceIPAddress":"%s","userAgent":"%s","requestParameters":null,"responseElements":null,"requestID":"%s","eventID":"%s","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"sts.eu-west-1.amazonaws.com"}}`,
				identity(p), tm, p.ip, p.agent, rid, eid, p.acct)
		case k < 95: // writes
			group := fmt.Sprintf("/aws/lambda/%s", p.name)
			rec = fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":%s,"eventTime":"%s","eventSource":"logs.amazonaws.com","eventName":"CreateLogStream","awsRegion":"eu-west-1","sourceIPAddress":"%s","userAgent":"%s","requestParameters":{"logGroupName":"%s","logStreamName":"2026/11/30/[$LATEST]%s"},"responseElements":null,"requestID":"%s","eventID":"%s","readOnly":false,"eventType":"AwsApiCall","apiVersion":"20140328","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management"}`,
				identity(p), tm, p.ip, p.agent, group, hex(32), rid, eid, p.acct)
		default: // a denied call
			rec = fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":%s,"eventTime":"%s","eventSource":"iam.amazonaws.com","eventName":"ListAttachedRolePolicies","awsRegion":"us-east-1","sourceIPAddress":"%s","userAgent":"%s","errorCode":"AccessDenied","errorMessage":"User: arn:aws:sts::%s:assumed-role/%s/%s is not authorized to perform: iam:ListAttachedRolePolicies on resource: role %s because no identity-based policy allows the iam:ListAttachedRolePolicies action","requestParameters":null,"responseElements":null,"requestID":"%s","eventID":"%s","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management"}`,
				identity(p), tm, p.ip, p.agent, p.acct, p.name, p.session, p.name, rid, eid, p.acct)
		}
		if err := cloudtrail.Decode([]byte(rec), &evs[i]); err != nil {
			tb.Fatalf("record %d: %v\n%s", i, err, rec)
		}
	}
	return evs
}

// TestBenchTrail checks the trail benchmarks write: every record a
// CloudTrail call with its id, and the mix the comment says.
func TestBenchTrail(t *testing.T) {
	evs := benchTrail(t, 5000)
	ops := map[string]int{}
	keys := map[string]bool{}
	var size int
	for i := range evs {
		e := &evs[i]
		if e.ID == "" || e.Source != event.SourceCloudTrail || e.Cloud.Account == "" {
			t.Fatalf("event %d: %+v", i, e)
		}
		ops[e.API.Operation]++
		if e.Actor.AccessKeyID != "" {
			keys[e.Actor.AccessKeyID] = true
		}
		size += len(e.Raw.Data)
	}
	if len(ops) < 12 || ops["AssumeRole"] < 400 || ops["GetObject"] < 400 {
		t.Errorf("mix: %v", ops)
	}
	// Sessions: keys repeat (far fewer keys than calls), but more than one.
	if len(keys) < 20 || len(keys) > 1000 {
		t.Errorf("%d keys in %d calls", len(keys), len(evs))
	}
	t.Logf("%d calls, %d keys, %d operations, %.0f bytes a record", len(evs), len(keys), len(ops), float64(size)/float64(len(evs)))
}
