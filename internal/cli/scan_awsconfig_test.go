package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cstypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parapet-sec/parapet/internal/awstest"
)

// createTopic makes an SNS topic on the emulator through SNS's query API
// (Parapet has no SNS client of its own: it reads topics through Config).
func createTopic(t *testing.T, endpoint, name, kmsKey string) {
	t.Helper()
	form := url.Values{"Action": {"CreateTopic"}, "Version": {"2010-03-31"}, "Name": {name}}
	if kmsKey != "" {
		form.Set("Attributes.entry.1.key", "KmsMasterKeyId")
		form.Set("Attributes.entry.1.value", kmsKey)
	}
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CreateTopic %s: %s", name, resp.Status)
	}
}

// scan aws reads the resources of every type Parapet maps from AWS Config
// from the recorder's current items when the region records: here SNS
// topics, which Parapet reads no other way. Without a recording recorder
// they are not read (and the missing recorder is itself a failure).
func TestScanAWSConfigItems(t *testing.T) {
	m := awstest.Start(t)
	ctx := context.Background()
	cfg := awsConfig(t)
	createTopic(t, m.URL, "alerts-plain", "")
	createTopic(t, m.URL, "alerts-kms", "alias/aws/sns")
	topics := func() map[string]string {
		out, errOut, code := run(t, "", "scan", "aws", "--format", "json")
		if code != ExitOK {
			t.Fatalf("scan aws: exit %d: %s", code, errOut)
		}
		var rep scanReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range rep.Results {
			if r.Resource.Type == "aws_sns_topic" {
				got[r.CheckID+" "+r.Resource.Name] = r.Status
				if !strings.HasPrefix(r.Resource.ARN, "arn:aws:sns:us-east-1:") || r.Location.ARN == "" {
					t.Errorf("a topic result without its ARN: %+v", r)
				}
			}
		}
		return got
	}
	if got := topics(); len(got) != 0 {
		t.Fatalf("topics read without a recording Config recorder: %v", got)
	}
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("config-delivery")}); err != nil {
		t.Fatal(err)
	}
	cs := configservice.NewFromConfig(cfg)
	if _, err := cs.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cstypes.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: aws.String("arn:aws:iam::123456789012:role/config"),
		RecordingGroup: &cstypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &cstypes.DeliveryChannel{
		Name: aws.String("default"), S3BucketName: aws.String("config-delivery")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
	got := topics()
	if got["PARAPET-SNS-001 alerts-plain"] != "fail" || got["PARAPET-SNS-001 alerts-kms"] != "pass" {
		t.Errorf("SNS-001 from Config items: %v, want alerts-plain fail and alerts-kms pass", got)
	}
}
