package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/parapet-sec/parapet/internal/awstest"
)

// serve's S3→SQS source reads only the buckets its trails write to (as
// CloudTrail describes them): a forged notification naming another
// bucket is not read, and the events of the trail's bucket are.
func TestServeS3SQSReadsOnlyTrailBuckets(t *testing.T) {
	awstest.Start(t)
	// With trails named, and with no allow-list at all (the buckets of
	// every trail in the account).
	for _, named := range []bool{true, false} {
		t.Run(fmt.Sprintf("trails named %v", named), func(t *testing.T) { s3sqsAllowList(t, named) })
	}
}

func s3sqsAllowList(t *testing.T, named bool) {
	sfx := fmt.Sprint(named)
	ctx := context.Background()
	cfg := awsConfig(t)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	q := sqs.NewFromConfig(cfg)
	qu, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("ct-notify-" + sfx)})
	if err != nil {
		t.Fatal(err)
	}
	key := "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/24/123456789012_CloudTrail_us-east-1_20261124T1000Z_a.json"
	for i, b := range []string{"trail-logs-" + sfx, "attacker-logs-" + sfx} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
		body := `{"Records":[` + ctRecord(fmt.Sprintf("ev-%s-%d", b, i), "alice", "AKIAALICE", "ec2.amazonaws.com", "DescribeInstances", map[string]any{}, nil) + `]}`
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cloudtrail.NewFromConfig(cfg).CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("main-" + sfx), S3BucketName: aws.String("trail-logs-" + sfx)}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"attacker-logs-" + sfx, "trail-logs-" + sfx} {
		n, _ := json.Marshal(map[string]any{"s3Bucket": b, "s3ObjectKey": []string{key}})
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: qu.QueueUrl, MessageBody: aws.String(string(n))}); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(t.TempDir(), "parapet.yaml")
	y := fmt.Sprintf("respond:\n  dry_run: true\nsources:\n  s3sqs:\n    - queue_url: %s\n      region: us-east-1\n      wait: 1s\n", aws.ToString(qu.QueueUrl))
	if named {
		y += "      trails: [main-" + sfx + "]\n"
	}
	if err := os.WriteFile(conf, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	url, _ := startServe(t, "--data", t.TempDir(), "--config", conf)
	events := regexp.MustCompile(`(?m)^parapet_events_total (\S+)$`)
	count := func() int {
		_, m := call(t, "GET", url+"/metrics", "", "", nil)
		if x := events.FindStringSubmatch(m["raw"].(string)); x != nil {
			n, _ := strconv.ParseFloat(x[1], 64)
			return int(n)
		}
		return 0
	}
	for deadline := time.Now().Add(60 * time.Second); count() < 1; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the trail's bucket was not read")
		}
	}
	// Both messages leave the queue once handled; then the count is final.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		a, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: qu.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
		if err == nil && a.Attributes["ApproximateNumberOfMessages"] == "0" && a.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the messages were not handled")
		}
	}
	// And what they spooled is processed.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, m := call(t, "GET", url+"/metrics", "", "", nil); strings.Contains(m["raw"].(string), "\nparapet_intake_spooled 0\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the spool did not drain")
		}
	}
	if n := count(); n != 1 {
		t.Errorf("%d events, want 1: an object in a bucket the trail does not write to was read", n)
	}
}
