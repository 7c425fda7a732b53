package awsapi

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cstypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

func TestConfigResource(t *testing.T) {
	it := cstypes.BaseConfigurationItem{
		ResourceType: "AWS::SNS::Topic", ResourceId: aws.String("arn:aws:sns:eu-west-1:111122223333:alerts"), ResourceName: aws.String("alerts"),
		Arn: aws.String("arn:aws:sns:eu-west-1:111122223333:alerts"), AwsRegion: aws.String("eu-west-1"),
		ConfigurationItemStatus:    cstypes.ConfigurationItemStatusOk,
		Configuration:              aws.String(`{"TopicArn":"arn:aws:sns:eu-west-1:111122223333:alerts","KmsMasterKeyId":"alias/ops"}`),
		SupplementaryConfiguration: map[string]string{"Tags": `[{"Key":"team","Value":"ops"}]`},
	}
	r := configResource(it, "111122223333", "us-east-1")
	if r == nil || r.Type != "aws_sns_topic" || r.Name != "alerts" || r.Region != "eu-west-1" || r.Account != "111122223333" || r.Source != "aws" {
		t.Fatalf("got %+v", r)
	}
	if r.Attrs["kms_key"] != true {
		t.Errorf("kms_key = %v, want true", r.Attrs["kms_key"])
	}
	it.ConfigurationItemStatus = cstypes.ConfigurationItemStatusResourceDeleted
	if r := configResource(it, "111122223333", "us-east-1"); r != nil {
		t.Errorf("a deleted resource was mapped: %+v", r)
	}
	it.ConfigurationItemStatus, it.ResourceType = cstypes.ConfigurationItemStatusOk, "AWS::Example::Unmapped"
	if r := configResource(it, "111122223333", "us-east-1"); r != nil {
		t.Errorf("an unmapped type was mapped: %+v", r)
	}
}

func TestMergeConfig(t *testing.T) {
	direct := mk("aws_lambda_function", "hook", "arn:aws:lambda:us-east-1:111122223333:function:hook", "111122223333", "us-east-1")
	set(direct, "url_auth", "NONE")
	set(direct, "tracing", resource.Unknown)
	same := mk("aws_lambda_function", "hook", direct.ARN, "111122223333", "us-east-1")
	set(same, "url_auth", "AWS_IAM") // read directly wins
	set(same, "tracing", true)       // fills what the direct read could not tell
	set(same, "dlq", false)          // and what it did not read
	other := mk("aws_sns_topic", "alerts", "arn:aws:sns:us-east-1:111122223333:alerts", "111122223333", "us-east-1")
	out := mergeConfig([]*resource.Resource{direct}, []*resource.Resource{same, other})
	if len(out) != 2 || out[1] != other {
		t.Fatalf("got %d resources: %+v", len(out), out)
	}
	if direct.Attrs["url_auth"] != "NONE" || direct.Attrs["tracing"] != true || direct.Attrs["dlq"] != false {
		t.Errorf("merged attributes: %v", direct.Attrs)
	}
}
