package detect_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/decode/vpcflow"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
)

// trail is a CloudTrail record written from AWS's documented shape: who
// (an IAM user), the call, its parameters and response.
func trail(t *testing.T, n int, user, source, op, req, resp, errCode string) event.Event {
	t.Helper()
	if resp == "" {
		resp = "null"
	}
	errPart := ""
	if errCode != "" {
		errPart = fmt.Sprintf(`"errorCode":%q,"errorMessage":"denied",`, errCode)
	}
	r := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDA%[1]s","arn":"arn:aws:iam::111122223333:user/%[1]s","accountId":"111122223333","accessKeyId":"AKIA%[1]s","userName":"%[1]s"},`+
		`"eventTime":"%[2]s","eventSource":"%[3]s","eventName":"%[4]s","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0",%[8]s`+
		`"requestParameters":%[5]s,"responseElements":%[6]s,"requestID":"r-%[7]d","eventID":"%08[7]d-aaaa-4bbb-8ccc-000000000000","readOnly":false,"eventType":"AwsApiCall",`+
		`"managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`,
		user, t0.Add(time.Duration(n)*time.Second).Format(time.RFC3339), source, op, req, resp, n, errPart)
	var ev event.Event
	if err := cloudtrail.Decode([]byte(r), &ev); err != nil {
		t.Fatalf("decode %s: %v", op, err)
	}
	return ev
}

func TestSay(t *testing.T) {
	console := `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAERIN","arn":"arn:aws:iam::111122223333:user/erin","accountId":"111122223333","userName":"erin"},` +
		`"eventTime":"2026-11-02T10:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.50","userAgent":"Mozilla/5.0",` +
		`"requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"},"eventID":"c0000000-aaaa-4bbb-8ccc-000000000001","readOnly":false,"eventType":"AwsConsoleSignIn","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`
	var login event.Event
	if err := cloudtrail.Decode([]byte(console), &login); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ev   event.Event
		want string
	}{
		{"access key for another user", trail(t, 1, "frank", "iam.amazonaws.com", "CreateAccessKey", `{"userName":"erin"}`, `{"accessKey":{"userName":"erin","accessKeyId":"AKIAEXAMPLEERIN","status":"Active"}}`, ""),
			"frank created an access key for erin"},
		{"access key for oneself", trail(t, 2, "frank", "iam.amazonaws.com", "CreateAccessKey", `{}`, "", ""),
			"frank created an access key for themselves"},
		{"ingress", trail(t, 3, "mallory", "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress",
			`{"groupId":"sg-0a1b2c3d","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}`, "", ""),
			"mallory opened sg-0a1b2c3d to 0.0.0.0/0 on port 22"},
		{"ingress, all traffic", trail(t, 4, "mallory", "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress",
			`{"groupId":"sg-0a1b2c3d","ipPermissions":{"items":[{"ipProtocol":"-1","ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}`, "", ""),
			"mallory opened sg-0a1b2c3d to 0.0.0.0/0 on all ports"},
		{"run instances", trail(t, 5, "erin", "ec2.amazonaws.com", "RunInstances",
			`{"instancesSet":{"items":[{"imageId":"ami-0abc","minCount":1,"maxCount":5}]},"instanceType":"p3.16xlarge"}`,
			`{"instancesSet":{"items":[{"instanceId":"i-01"},{"instanceId":"i-02"},{"instanceId":"i-03"},{"instanceId":"i-04"},{"instanceId":"i-05"}]}}`, ""),
			"erin launched 5 p3.16xlarge instances"},
		{"run instances, no response", trail(t, 6, "erin", "ec2.amazonaws.com", "RunInstances",
			`{"instancesSet":{"items":[{"imageId":"ami-0abc","minCount":1,"maxCount":1}]},"instanceType":"t3.micro"}`, "", ""),
			"erin launched 1 t3.micro instance"},
		{"bucket policy", trail(t, 7, "mallory", "s3.amazonaws.com", "PutBucketPolicy", `{"bucketName":"acme-finance","policy":"{}"}`, "", ""),
			"mallory changed the bucket policy of acme-finance"},
		{"denied call", trail(t, 8, "mallory", "s3.amazonaws.com", "PutBucketPolicy", `{"bucketName":"acme-finance"}`, "", "AccessDenied"),
			"mallory changed the bucket policy of acme-finance (failed: AccessDenied)"},
		{"fallback", trail(t, 9, "frank", "kms.amazonaws.com", "CancelKeyDeletion", `{"keyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd"}`, "", ""),
			"frank called kms:CancelKeyDeletion"},
		{"one parameter", trail(t, 10, "frank", "kms.amazonaws.com", "ScheduleKeyDeletion", `{"keyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd","pendingWindowInDays":7}`, "", ""),
			"frank scheduled the deletion of KMS key 1234abcd"},
		{"stop logging", trail(t, 11, "mallory", "cloudtrail.amazonaws.com", "StopLogging", `{"name":"arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail"}`, "", ""),
			"mallory stopped CloudTrail logging on org-trail"},
		{"attach policy", trail(t, 12, "mallory", "iam.amazonaws.com", "AttachUserPolicy", `{"userName":"mallory","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`, "", ""),
			"mallory attached AdministratorAccess to mallory"},
		{"console", login, "erin signed in to the console from 203.0.113.50"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := detect.Say(&tc.ev)
			if tc.name == "fallback" {
				// the resource the decoder names follows "on"
				if len(got) < len(tc.want) || got[:len(tc.want)] != tc.want {
					t.Errorf("Say = %q, want %q…", got, tc.want)
				}
				return
			}
			if got != tc.want {
				t.Errorf("Say = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSayFlow(t *testing.T) {
	f, ok := vpcflow.ParseHeader("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path")
	if !ok {
		t.Fatal("header")
	}
	for _, tc := range []struct{ line, want string }{
		{"5 111122223333 eni-0a1 10.0.1.5 203.0.113.9 49152 3333 6 40 4300 1793612800 1793612860 ACCEPT OK vpc-1 subnet-1 i-0abc 2 IPv4 10.0.1.5 203.0.113.9 us-east-1 use1-az1 - - - - egress 8",
			"i-0abc (10.0.1.5) sent 4.2 KB to 203.0.113.9:3333"},
		{"5 111122223333 eni-0a1 198.51.100.20 10.0.1.5 51000 22 6 3 180 1793612800 1793612860 REJECT OK vpc-1 subnet-1 i-0abc 2 IPv4 198.51.100.20 10.0.1.5 us-east-1 use1-az1 - - - - ingress -",
			"i-0abc (10.0.1.5) received 180 bytes from 198.51.100.20 on port 22 (rejected)"},
	} {
		var ev event.Event
		if err := f.Decode(tc.line, &ev); err != nil {
			t.Fatal(err)
		}
		if got := detect.Say(&ev); got != tc.want {
			t.Errorf("Say(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

// An episode of GetObject calls is told with its count.
func TestSayEpisode(t *testing.T) {
	agg := detect.NewAggregator(time.Hour)
	var last *detect.Finding
	for i := range 12 {
		ev := trail(t, 100+i, "mallory", "s3.amazonaws.com", "GetObject", fmt.Sprintf(`{"bucketName":"acme-finance","key":"q%d.csv"}`, i), "", "")
		f := detect.FromEvent(&ev)
		f.RuleID, f.Title, f.Source = "r", "Reads", "sigma"
		last, _ = agg.Add(&f)
	}
	if want := "mallory read 12 objects from acme-finance"; last.Summary != want {
		t.Errorf("episode summary = %q, want %q", last.Summary, want)
	}
	ev := trail(t, 1, "mallory", "s3.amazonaws.com", "GetObject", `{"bucketName":"acme-finance","key":"q.csv"}`, "", "")
	if got, want := detect.Say(&ev), "mallory read an object from acme-finance"; got != want {
		t.Errorf("Say = %q, want %q", got, want)
	}
}

// An episode of different calls under one rule tells the first and counts
// them all, never "(n times)" of the first.
func TestSayMixedEpisode(t *testing.T) {
	agg := detect.NewAggregator(time.Hour)
	var last *detect.Finding
	for i, op := range []string{"GetCallerIdentity", "GetCallerIdentity", "ListBuckets", "GetCallerIdentity"} {
		ev := trail(t, 200+i, "ec2-app", "sts.amazonaws.com", op, `{}`, "", "")
		f := detect.FromEvent(&ev)
		f.RuleID, f.Title, f.Source = "r", "Recon", "sigma"
		last, _ = agg.Add(&f)
		if i == 1 {
			if want := "ec2-app called sts:GetCallerIdentity (2 times)"; last.Summary != want {
				t.Errorf("after two like calls: %q, want %q", last.Summary, want)
			}
		}
	}
	if want := "ec2-app called sts:GetCallerIdentity and more: 4 calls"; last.Summary != want {
		t.Errorf("episode summary = %q, want %q", last.Summary, want)
	}
}
