// Package awsaction holds Parapet's AWS response actions, made through
// aws-sdk-go-v2 with the standard credential chain. AWS_ENDPOINT_URL points
// them at another endpoint (an emulator); S3 then uses path-style
// addressing.
package awsaction

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/respond"
)

// Snapshots keeps what Parapet itself read of resources (posture scans,
// the reads actions make before changing anything): the only history a
// restore comes from. Ingested records never reach it.
type Snapshots interface {
	Record(ctx context.Context, s respond.Snapshot) error
	LatestGood(ctx context.Context, kind, resource string) (respond.Snapshot, bool, error)
}

// Clients makes the service clients on first use, one set per region.
type Clients struct {
	// Snapshots, when set, is where the S3 actions keep and find what they
	// restore.
	Snapshots Snapshots
	// Baselines, when set, is a folder of operator-approved bucket policies
	// (BUCKET.json): s3.revert_bucket_policy restores a bucket's baseline
	// before anything else.
	Baselines string
	// Org, when set, is the organization role: actions on a finding of
	// another account than Home assume it in that account, in a session
	// named for the playbook and finding (SessionFor).
	Org *org.Assumer
	// Home is the central account (the default credentials'), where
	// actions use those credentials; "" asks STS on first use.
	Home    string
	once    sync.Once
	cfg     aws.Config
	err     error
	custom  bool
	mu      sync.Mutex
	regions map[string]*regional
}

type regional struct {
	s3c  *s3.Client
	iamc *iam.Client
	ec2c *ec2.Client
	ctc  *cloudtrail.Client
	gdc  *guardduty.Client
}

func (c *Clients) load(ctx context.Context, region string) (*regional, error) {
	c.once.Do(func() {
		c.cfg, c.err = config.LoadDefaultConfig(ctx)
		if c.err != nil {
			return
		}
		if c.cfg.Region == "" {
			c.cfg.Region = "us-east-1"
		}
		c.custom = os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
		c.regions = map[string]*regional{}
		if c.Org != nil {
			if c.Org.Base.Credentials == nil {
				c.Org.Base = c.cfg
			}
			if c.Home == "" {
				id, err := sts.NewFromConfig(c.cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
				if err != nil {
					c.err = fmt.Errorf("the central account: %w", err)
					return
				}
				c.Home = aws.ToString(id.Account)
			}
		}
	})
	if c.err != nil {
		return nil, c.err
	}
	if region == "" {
		region = c.cfg.Region
	}
	account, session := respond.AccountFrom(ctx), ""
	if c.Org == nil || account == c.Home {
		account = ""
	}
	if account != "" {
		session = SessionFor(respond.CauseFrom(ctx))
	}
	key := region + "|" + account + "|" + session
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.regions[key]; r != nil {
		return r, nil
	}
	if len(c.regions) >= 512 {
		// One set per region, account and finding: forget the old ones.
		clear(c.regions)
	}
	cfg := c.cfg.Copy()
	if account != "" {
		cfg = c.Org.Config(account, region, session)
	}
	cfg.Region = region
	r := &regional{
		s3c:  s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = c.custom }),
		iamc: iam.NewFromConfig(cfg),
		ec2c: ec2.NewFromConfig(cfg),
		ctc:  cloudtrail.NewFromConfig(cfg),
		gdc:  guardduty.NewFromConfig(cfg),
	}
	c.regions[key] = r
	return r, nil
}

func regionOf(ctx context.Context) string { return respond.RegionFrom(ctx) }

// SessionFor is the role session name of actions taken for c:
// parapet-PLAYBOOK-FINDING, the finding as a short digest of its id when
// the id is long (the audit trail maps it back).
func SessionFor(c respond.Cause) string {
	f := c.Finding
	if len(f) > 16 {
		sum := sha256.Sum256([]byte(f))
		f = hex.EncodeToString(sum[:6])
	}
	pb := c.Playbook
	if len(pb) > 40 {
		pb = pb[:40]
	}
	if f == "" {
		f = "read"
	}
	return org.SessionName("parapet", pb, f)
}

func (c *Clients) S3(ctx context.Context) (*s3.Client, error) {
	r, err := c.load(ctx, regionOf(ctx))
	if err != nil {
		return nil, err
	}
	return r.s3c, nil
}

func (c *Clients) IAM(ctx context.Context) (*iam.Client, error) {
	r, err := c.load(ctx, regionOf(ctx))
	if err != nil {
		return nil, err
	}
	return r.iamc, nil
}

func (c *Clients) EC2(ctx context.Context) (*ec2.Client, error) {
	r, err := c.load(ctx, regionOf(ctx))
	if err != nil {
		return nil, err
	}
	return r.ec2c, nil
}

func (c *Clients) CloudTrail(ctx context.Context) (*cloudtrail.Client, error) {
	r, err := c.load(ctx, regionOf(ctx))
	if err != nil {
		return nil, err
	}
	return r.ctc, nil
}

func (c *Clients) GuardDuty(ctx context.Context) (*guardduty.Client, error) {
	r, err := c.load(ctx, regionOf(ctx))
	if err != nil {
		return nil, err
	}
	return r.gdc, nil
}

// apiCode is the AWS error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
