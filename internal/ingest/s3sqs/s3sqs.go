// Package s3sqs feeds parapet serve from CloudTrail (or VPC Flow Logs)
// delivered to S3, announced on an SQS queue: S3 event notifications sent
// straight to SQS or through SNS, EventBridge "Object Created" events, and
// CloudTrail's own SNS notifications (s3ObjectKey lists). Organization
// trails need nothing special: their keys carry each member account.
//
// Only the buckets on an allow-list are read: a notification is a claim
// anyone allowed to send to the queue can make, so an object it names in
// another bucket is reported and not read.
//
// Delivery is at least once and processing exactly once: every object is
// spooled together with its checkpoint (bucket/key → ETag or sequencer) in
// one transaction, and a message is deleted only after all its objects are
// spooled; a redelivered message finds its objects checkpointed.
//
// A queue and buckets in another account (a central log-archive account,
// where organization trails, flow logs and Security Lake write) are read
// through a role there: the clients carry that role's credentials (see
// org.Assumer) and Role names it, so that a role that cannot be assumed
// is reported with its ARN and retried, not mistaken for a missing queue.
package s3sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
)

// Permissions are the calls a Source makes, as IAM actions: the policy
// of the role it reads as (a central log-archive account's reader role
// needs these on the queue and the buckets' objects, and kms:Decrypt on
// the buckets' key where they are encrypted with SSE-KMS). The trails'
// buckets are looked up with cloudtrail:DescribeTrails.
var Permissions = []string{"s3:GetObject", "sqs:DeleteMessage", "sqs:ReceiveMessage"}

// Submitter spools an object once per version (pipeline.SubmitOnce).
type Submitter interface {
	SubmitOnce(ctx context.Context, source, key, version string, body []byte) (bool, error)
	Checkpoint(ctx context.Context, source, key string) (string, error)
}

// Source reads one queue.
type Source struct {
	QueueURL string
	SQS      *sqs.Client
	S3       *s3.Client
	Sink     Submitter
	Log      *slog.Logger
	Wait     time.Duration // long poll (default 20s)
	MaxSize  int64         // larger objects are reported and skipped
	// Buckets are the only buckets read: an object a message names in
	// another bucket is reported and not read.
	Buckets []string
	// Resolve, when Buckets is empty, gives the allow-list (the buckets
	// of trails); it is called again on the next poll
	// until it succeeds.
	Resolve func(ctx context.Context) ([]string, error)
	// Role is the role the clients' credentials assume (its ARN; ""
	// for the process's own credentials), and Credentials those
	// credentials: each poll retrieves them first (cached until five
	// minutes before they expire), so a role that cannot be assumed is
	// reported as such.
	Role        string
	Credentials aws.CredentialsProvider
}

// RoleError is a role a source could not assume.
type RoleError struct {
	Role, Queue string
	Err         error
}

func (e *RoleError) Error() string {
	return fmt.Sprintf("queue %s: cannot assume role %s: %v", e.Queue, e.Role, e.Err)
}
func (e *RoleError) Unwrap() error { return e.Err }

// Object is one S3 object a message announces.
type Object struct {
	Bucket, Key, Version string
}

// Run polls until ctx ends; errors are logged and retried with backoff.
func (s *Source) Run(ctx context.Context) error {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	backoff := time.Second
	for ctx.Err() == nil {
		if _, err := s.Poll(ctx); err != nil && ctx.Err() == nil {
			attrs := []any{"queue", s.QueueURL, "err", err, "retry_in", backoff}
			var re *RoleError
			var ae smithy.APIError
			switch {
			case errors.As(err, &re):
				attrs = append(attrs, "role", s.Role)
			case s.Role == "" && errors.As(err, &ae) && crossAccount(ae.ErrorCode()):
				attrs = append(attrs, "hint", "a queue or bucket in another account (a central log-archive account) is read through a role there: give the source's role_arn")
			}
			s.Log.Error("s3sqs poll failed", attrs...)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Minute)
			continue
		}
		backoff = time.Second
	}
	return nil
}

// Poll receives one batch of messages and handles them; it returns how
// many objects it spooled.
func (s *Source) Poll(ctx context.Context) (int, error) {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Role != "" && s.Credentials != nil {
		if _, err := s.Credentials.Retrieve(ctx); err != nil {
			return 0, &RoleError{Role: s.Role, Queue: s.QueueURL, Err: err}
		}
	}
	if len(s.Buckets) == 0 && s.Resolve != nil {
		b, err := s.Resolve(ctx)
		if err != nil {
			return 0, fmt.Errorf("the buckets to read: %w", err)
		}
		s.Buckets = b
	}
	if len(s.Buckets) == 0 {
		return 0, errors.New("s3sqs: no bucket is allowed: give the buckets (or trails) this queue announces")
	}
	wait := s.Wait
	if wait <= 0 {
		wait = 20 * time.Second
	}
	out, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.QueueURL), MaxNumberOfMessages: 10,
		WaitTimeSeconds: int32(wait / time.Second)})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range out.Messages {
		objs, err := Parse([]byte(aws.ToString(m.Body)))
		if err != nil {
			// Not a notification: reported and deleted (it would come back
			// for ever), never silently.
			s.Log.Warn("s3sqs: a message that announces no S3 object was deleted", "queue", s.QueueURL, "id", aws.ToString(m.MessageId), "err", err)
		}
		ok := true
		for _, o := range objs {
			if !slices.Contains(s.Buckets, o.Bucket) {
				// Anyone who can send to the queue can name any bucket
				// the reader can read: reported, not read, and the message
				// deleted with the rest.
				s.Log.Warn("s3sqs: an object in a bucket off the allow-list was not read", "queue", s.QueueURL, "id", aws.ToString(m.MessageId),
					"bucket", o.Bucket, "key", o.Key)
				continue
			}
			spooled, err := s.object(ctx, o)
			if err != nil {
				attrs := []any{"bucket", o.Bucket, "key", o.Key, "err", err}
				if s.Role != "" {
					attrs = append(attrs, "role", s.Role)
				} else if ae := smithy.APIError(nil); errors.As(err, &ae) && crossAccount(ae.ErrorCode()) {
					attrs = append(attrs, "hint", "a bucket in another account (a central log-archive account) is read through a role there: give the source's role_arn")
				}
				s.Log.Error("s3sqs: object not read; the message stays for redelivery", attrs...)
				ok = false
				break
			}
			if spooled {
				n++
			}
		}
		if !ok {
			continue
		}
		if _, err := s.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (s *Source) object(ctx context.Context, o Object) (bool, error) {
	if strings.Contains(o.Key, "/CloudTrail-Digest/") || strings.HasSuffix(o.Key, "/") {
		return false, nil
	}
	source := "s3:" + o.Bucket
	if o.Version != "" {
		if have, err := s.Sink.Checkpoint(ctx, source, o.Key); err != nil {
			return false, err
		} else if have == o.Version {
			return false, nil
		}
	}
	out, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key)})
	if err != nil {
		return false, err
	}
	defer out.Body.Close()
	if s.MaxSize > 0 && aws.ToInt64(out.ContentLength) > s.MaxSize {
		s.Log.Warn("s3sqs: object larger than the intake's limit: skipped", "bucket", o.Bucket, "key", o.Key, "size", aws.ToInt64(out.ContentLength))
		return false, nil
	}
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return false, err
	}
	version := o.Version
	if version == "" {
		version = strings.Trim(aws.ToString(out.ETag), `"`)
	}
	if len(body) == 0 {
		return false, nil
	}
	return s.Sink.SubmitOnce(ctx, source, o.Key, version, body)
}

// crossAccount: the error codes of a queue or bucket that belongs to
// another account when read without its role.
func crossAccount(code string) bool {
	switch code {
	case "AccessDenied", "AccessDeniedException", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "InvalidClientTokenId":
		return true
	}
	return false
}

// Parse reads the objects a message announces.
func Parse(body []byte) ([]Object, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	// SNS envelope: the notification is a JSON string in Message.
	if raw, ok := m["Message"]; ok && string(m["Type"]) == `"Notification"` {
		var inner string
		if err := json.Unmarshal(raw, &inner); err != nil {
			return nil, fmt.Errorf("SNS Message: %w", err)
		}
		return Parse([]byte(inner))
	}
	switch {
	case m["Records"] != nil:
		var n struct {
			Records []struct {
				EventSource string `json:"eventSource"`
				EventName   string `json:"eventName"`
				S3          struct {
					Bucket struct {
						Name string `json:"name"`
					} `json:"bucket"`
					Object struct {
						Key       string `json:"key"`
						ETag      string `json:"eTag"`
						Sequencer string `json:"sequencer"`
					} `json:"object"`
				} `json:"s3"`
			} `json:"Records"`
		}
		if err := json.Unmarshal(body, &n); err != nil {
			return nil, err
		}
		var out []Object
		for _, r := range n.Records {
			if r.EventSource != "aws:s3" || !strings.HasPrefix(r.EventName, "ObjectCreated:") {
				continue
			}
			key, err := url.QueryUnescape(r.S3.Object.Key)
			if err != nil {
				key = r.S3.Object.Key
			}
			v := r.S3.Object.ETag
			if v == "" {
				v = r.S3.Object.Sequencer
			}
			out = append(out, Object{Bucket: r.S3.Bucket.Name, Key: key, Version: v})
		}
		return out, nil
	case m["detail"] != nil:
		var e struct {
			Source     string `json:"source"`
			DetailType string `json:"detail-type"`
			Detail     struct {
				Bucket struct {
					Name string `json:"name"`
				} `json:"bucket"`
				Object struct {
					Key       string `json:"key"`
					ETag      string `json:"etag"`
					Sequencer string `json:"sequencer"`
				} `json:"object"`
			} `json:"detail"`
		}
		if err := json.Unmarshal(body, &e); err != nil {
			return nil, err
		}
		if e.Source != "aws.s3" || e.DetailType != "Object Created" {
			return nil, fmt.Errorf("an EventBridge event that is not S3 Object Created (%s %s)", e.Source, e.DetailType)
		}
		v := e.Detail.Object.ETag
		if v == "" {
			v = e.Detail.Object.Sequencer
		}
		return []Object{{Bucket: e.Detail.Bucket.Name, Key: e.Detail.Object.Key, Version: v}}, nil
	case m["s3ObjectKey"] != nil:
		var c struct {
			Bucket string   `json:"s3Bucket"`
			Keys   []string `json:"s3ObjectKey"`
		}
		if err := json.Unmarshal(body, &c); err != nil {
			return nil, err
		}
		out := make([]Object, 0, len(c.Keys))
		for _, k := range c.Keys {
			out = append(out, Object{Bucket: c.Bucket, Key: k})
		}
		return out, nil
	case string(m["Event"]) == `"s3:TestEvent"`:
		return nil, nil
	}
	return nil, errors.New("no S3 object in it (want an S3 event notification, its SNS envelope, an EventBridge Object Created event or a CloudTrail notification)")
}
