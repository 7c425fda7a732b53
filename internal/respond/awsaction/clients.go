// Package awsaction holds Parapet's AWS response actions, made through
// aws-sdk-go-v2 with the standard credential chain. AWS_ENDPOINT_URL points
// them at another endpoint (an emulator); S3 then uses path-style
// addressing.
package awsaction

import (
	"context"
	"errors"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// History answers what Parapet observed of a bucket's policy before an
// event (from CloudTrail records it saw, or inventory).
type History interface {
	PreviousBucketPolicy(ctx context.Context, bucket, beforeEventID string) (policy string, ok bool, err error)
}

// Clients makes the service clients on first use.
type Clients struct {
	History History
	once    sync.Once
	cfg     aws.Config
	err     error
	s3c     *s3.Client
	iamc    *iam.Client
	ec2c    *ec2.Client
	ctc     *cloudtrail.Client
	gdc     *guardduty.Client
}

func (c *Clients) load(ctx context.Context) error {
	c.once.Do(func() {
		c.cfg, c.err = config.LoadDefaultConfig(ctx)
		if c.err != nil {
			return
		}
		if c.cfg.Region == "" {
			c.cfg.Region = "us-east-1"
		}
		custom := os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
		c.s3c = s3.NewFromConfig(c.cfg, func(o *s3.Options) { o.UsePathStyle = custom })
		c.iamc = iam.NewFromConfig(c.cfg)
		c.ec2c = ec2.NewFromConfig(c.cfg)
		c.ctc = cloudtrail.NewFromConfig(c.cfg)
		c.gdc = guardduty.NewFromConfig(c.cfg)
	})
	return c.err
}

func (c *Clients) S3(ctx context.Context) (*s3.Client, error) {
	err := c.load(ctx)
	return c.s3c, err
}

func (c *Clients) IAM(ctx context.Context) (*iam.Client, error) {
	err := c.load(ctx)
	return c.iamc, err
}

func (c *Clients) EC2(ctx context.Context) (*ec2.Client, error) {
	err := c.load(ctx)
	return c.ec2c, err
}

func (c *Clients) CloudTrail(ctx context.Context) (*cloudtrail.Client, error) {
	err := c.load(ctx)
	return c.ctc, err
}

func (c *Clients) GuardDuty(ctx context.Context) (*guardduty.Client, error) {
	err := c.load(ctx)
	return c.gdc, err
}

// apiCode is the AWS error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
