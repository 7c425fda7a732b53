package s3sqs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/parapet-sec/parapet/internal/awstest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	awstest.Stop()
	os.Exit(code)
}

func TestParse(t *testing.T) {
	s3n := `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventName":"ObjectCreated:Put",
	  "s3":{"bucket":{"name":"org-trail"},"object":{"key":"AWSLogs/o-abc123/111122223333/CloudTrail/us-east-1/2026/11/24/file+name.json.gz","eTag":"e1","sequencer":"s1"}}},
	  {"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"org-trail"},"object":{"key":"gone"}}}]}`
	sns, _ := json.Marshal(map[string]string{"Type": "Notification", "MessageId": "m", "Message": s3n})
	for name, c := range map[string]struct {
		body string
		want string
	}{
		"s3":          {s3n, "[{org-trail AWSLogs/o-abc123/111122223333/CloudTrail/us-east-1/2026/11/24/file name.json.gz e1}]"},
		"sns":         {string(sns), "[{org-trail AWSLogs/o-abc123/111122223333/CloudTrail/us-east-1/2026/11/24/file name.json.gz e1}]"},
		"eventbridge": {`{"version":"0","source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"b"},"object":{"key":"k.json.gz","etag":"x"}}}`, "[{b k.json.gz x}]"},
		"cloudtrail":  {`{"s3Bucket":"trail","s3ObjectKey":["a.json.gz","b.json.gz"]}`, "[{trail a.json.gz } {trail b.json.gz }]"},
		"test event":  {`{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}`, "[]"},
	} {
		objs, err := Parse([]byte(c.body))
		if err != nil || fmt.Sprint(objs) != c.want && !(c.want == "[]" && len(objs) == 0) {
			t.Errorf("%s: %v %v, want %s", name, objs, err, c.want)
		}
	}
	for _, bad := range []string{`nope`, `{"hello":1}`, `{"source":"aws.ec2","detail-type":"x","detail":{}}`} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k%20x"}}}]}`))
	f.Add([]byte(`{"Type":"Notification","Message":"{\"s3Bucket\":\"b\",\"s3ObjectKey\":[\"k\"]}"}`))
	f.Fuzz(func(t *testing.T, data []byte) { _, _ = Parse(data) })
}

type sink struct {
	mu     sync.Mutex
	cp     map[string]string
	bodies map[string]string
}

func (s *sink) SubmitOnce(_ context.Context, source, key, version string, body []byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cp[source+"|"+key] == version {
		return false, nil
	}
	s.cp[source+"|"+key] = version
	s.bodies[source+"|"+key] = string(body)
	return true, nil
}

func (s *sink) Checkpoint(_ context.Context, source, key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cp[source+"|"+key], nil
}

// On moto: a bucket notifies a queue of each CloudTrail file an
// organization trail writes; the source reads every file once and empties
// the queue; a message redelivered (sent again) spools nothing twice.
func TestOnEmulator(t *testing.T) {
	awstest.Start(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	q := sqs.NewFromConfig(cfg)
	qu, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("trail-notifications")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: qu.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("org-trail")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("org-trail"),
		NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
			QueueArn: aws.String(attrs.Attributes["QueueArn"]), Events: []s3types.Event{"s3:ObjectCreated:*"}}}}}); err != nil {
		t.Fatal(err)
	}
	keys := []string{
		"AWSLogs/o-abc123/111122223333/CloudTrail/us-east-1/2026/11/24/111122223333_CloudTrail_us-east-1_20261124T1000Z_a.json.gz",
		"AWSLogs/o-abc123/444455556666/CloudTrail/eu-west-1/2026/11/24/444455556666_CloudTrail_eu-west-1_20261124T1000Z_b.json.gz",
		"AWSLogs/o-abc123/111122223333/CloudTrail-Digest/us-east-1/2026/11/24/digest.json.gz",
	}
	for i, k := range keys {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("org-trail"), Key: aws.String(k), Body: strings.NewReader(fmt.Sprintf(`{"Records":[{"eventID":"e%d"}]}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
	sk := &sink{cp: map[string]string{}, bodies: map[string]string{}}
	src := &Source{QueueURL: aws.ToString(qu.QueueUrl), SQS: q, S3: s3c, Sink: sk, Wait: time.Second, Buckets: []string{"org-trail"}}
	total := 0
	for range 5 {
		n, err := src.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if total != 2 || !strings.Contains(sk.bodies["s3:org-trail|"+keys[1]], `"e1"`) {
		t.Fatalf("spooled %d: %v", total, sk.bodies)
	}
	left, _ := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: qu.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if left.Attributes["ApproximateNumberOfMessages"] != "0" || left.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Errorf("messages left: %v", left.Attributes)
	}
	// Redelivery of the first notification (as SQS would after a crash).
	etag, _ := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("org-trail"), Key: aws.String(keys[0])})
	again, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
		"s3": map[string]any{"bucket": map[string]any{"name": "org-trail"}, "object": map[string]any{"key": keys[0], "eTag": strings.Trim(aws.ToString(etag.ETag), `"`)}}}}})
	if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: qu.QueueUrl, MessageBody: aws.String(string(again))}); err != nil {
		t.Fatal(err)
	}
	if n, err := src.Poll(ctx); err != nil || n != 0 {
		t.Errorf("a redelivered notification spooled %d (%v)", n, err)
	}
}

// A notification is a claim: one that names an object in a bucket off the
// allow-list (anyone who can send to the queue can forge one) is
// reported, and the object is not read, whatever the notification's
// shape; the bucket on the list is read. A source with no allow-list does
// not poll.
func TestForeignBucketNotRead(t *testing.T) {
	awstest.Start(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	q := sqs.NewFromConfig(cfg)
	qu, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("trail-notifications")})
	if err != nil {
		t.Fatal(err)
	}
	const key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/24/111122223333_CloudTrail_us-east-1_20261124T1000Z_x.json"
	for _, b := range []string{"org-trail", "attacker-logs"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key), Body: strings.NewReader(`{"Records":[{"eventID":"from-` + b + `"}]}`)}); err != nil {
			t.Fatal(err)
		}
	}
	s3n := func(bucket string) string {
		b, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
			"s3": map[string]any{"bucket": map[string]any{"name": bucket}, "object": map[string]any{"key": key, "eTag": "e-" + bucket}}}}})
		return string(b)
	}
	sns, _ := json.Marshal(map[string]string{"Type": "Notification", "MessageId": "m1", "Message": s3n("attacker-logs")})
	for _, body := range []string{
		s3n("attacker-logs"),
		string(sns),
		`{"version":"0","source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"attacker-logs"},"object":{"key":"` + key + `","etag":"x"}}}`,
		`{"s3Bucket":"attacker-logs","s3ObjectKey":["` + key + `"]}`,
		s3n("org-trail"),
	} {
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: qu.QueueUrl, MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	s0 := &sink{cp: map[string]string{}, bodies: map[string]string{}}
	if _, err := (&Source{QueueURL: aws.ToString(qu.QueueUrl), SQS: q, S3: s3c, Sink: s0, Wait: time.Second}).Poll(ctx); err == nil || len(s0.bodies) > 0 {
		t.Fatalf("a source with no allowed bucket polled (%v) and read %d objects: %v", err, len(s0.bodies), s0.bodies)
	}
	var logs bytes.Buffer
	sk := &sink{cp: map[string]string{}, bodies: map[string]string{}}
	src := &Source{QueueURL: aws.ToString(qu.QueueUrl), SQS: q, S3: s3c, Sink: sk, Wait: time.Second, Buckets: []string{"org-trail"},
		Log: slog.New(slog.NewTextHandler(&logs, nil))}
	for range 5 {
		if _, err := src.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for k, b := range sk.bodies {
		if strings.Contains(k, "attacker-logs") || strings.Contains(b, "from-attacker-logs") {
			t.Errorf("an object in a bucket off the allow-list was read: %s", k)
		}
	}
	if !strings.Contains(sk.bodies["s3:org-trail|"+key], "from-org-trail") {
		t.Errorf("the allowed bucket was not read: %v", sk.bodies)
	}
	if n := strings.Count(logs.String(), "bucket=attacker-logs"); n != 4 || !strings.Contains(logs.String(), "allow-list") {
		t.Errorf("%d reports of the foreign bucket, want 4:\n%s", n, logs.String())
	}
	left, _ := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: qu.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if left.Attributes["ApproximateNumberOfMessages"] != "0" || left.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Errorf("forged messages left on the queue: %v", left.Attributes)
	}
}

// Permissions lists exactly the calls the source makes (read from its
// code): the reader role's policy in the README is made of them.
func TestPermissionsMatchSource(t *testing.T) {
	src, err := os.ReadFile("s3sqs.go")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range regexp.MustCompile(`s\.(SQS|S3)\.([A-Z]\w+)\(`).FindAllStringSubmatch(string(src), -1) {
		a := strings.ToLower(m[1]) + ":" + m[2]
		if !slices.Contains(got, a) {
			got = append(got, a)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, Permissions) {
		t.Errorf("the source calls %v, Permissions = %v", got, Permissions)
	}
}
