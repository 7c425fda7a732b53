// Package awsapi inventories a live AWS account into the resource model
// with read-only calls: several regions, several accounts (by assuming a
// role in each), the SDK's standard retryer with more attempts for
// throttling, and a limit on calls in flight.
package awsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// Options say what to inventory.
type Options struct {
	Regions     []string // default: the configured region
	AssumeRoles []string // role ARNs, one per account; none: the caller's account
	Concurrency int      // calls in flight (default 8)
	MaxAttempts int      // per call, for throttling (default 10)
}

// Inventory reads every account and region.
func Inventory(ctx context.Context, opt Options) ([]*resource.Resource, []error) {
	if opt.Concurrency <= 0 {
		opt.Concurrency = 8
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 10
	}
	base, err := config.LoadDefaultConfig(ctx, config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = opt.MaxAttempts })
	}))
	if err != nil {
		return nil, []error{err}
	}
	if base.Region == "" {
		base.Region = "us-east-1"
	}
	regions := opt.Regions
	if len(regions) == 0 {
		regions = []string{base.Region}
	}
	accounts := []aws.Config{base}
	if len(opt.AssumeRoles) > 0 {
		accounts = nil
		for _, arn := range opt.AssumeRoles {
			c := base.Copy()
			c.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), arn, func(o *stscreds.AssumeRoleOptions) {
				o.RoleSessionName = "parapet-scan"
			}))
			accounts = append(accounts, c)
		}
	}
	inv := &inventory{sem: make(chan struct{}, opt.Concurrency), custom: os.Getenv("AWS_ENDPOINT_URL") != ""}
	var wg sync.WaitGroup
	for _, acct := range accounts {
		id, err := sts.NewFromConfig(acct).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			inv.fail(fmt.Errorf("account: %w", err))
			continue
		}
		account := aws.ToString(id.Account)
		wg.Go(func() { inv.global(ctx, acct, account) })
		for _, region := range regions {
			c := acct.Copy()
			c.Region = region
			wg.Go(func() { inv.regional(ctx, c, account, region) })
		}
	}
	wg.Wait()
	sort.SliceStable(inv.out, func(i, j int) bool { return inv.out[i].ARN < inv.out[j].ARN })
	return inv.out, inv.errs
}

type inventory struct {
	mu     sync.Mutex
	out    []*resource.Resource
	errs   []error
	sem    chan struct{}
	custom bool
}

func (in *inventory) fail(err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.errs = append(in.errs, err)
}

func (in *inventory) add(r *resource.Resource) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.out = append(in.out, r)
}

// call runs f within the concurrency limit.
func (in *inventory) call(f func()) {
	in.sem <- struct{}{}
	defer func() { <-in.sem }()
	f()
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func mk(typ, name, arn, account, region string) *resource.Resource {
	return &resource.Resource{Type: typ, Name: name, ARN: arn, Account: account, Region: region, Source: "aws",
		Location: resource.Origin{ARN: arn}, Attrs: map[string]any{}, Origins: map[string]resource.Origin{}}
}

func set(r *resource.Resource, k string, v any) { r.Set(k, v, resource.Origin{ARN: r.ARN}) }

func policyStatements(doc string) any {
	if u, err := url.QueryUnescape(doc); err == nil {
		doc = u
	}
	var v any
	if json.Unmarshal([]byte(doc), &v) != nil {
		return resource.Unknown
	}
	if st := resource.ParsePolicy(v); st != nil {
		return st
	}
	return []any{}
}

// global: S3 and IAM (account-wide services).
func (in *inventory) global(ctx context.Context, cfg aws.Config, account string) {
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = in.custom })
	var buckets *s3.ListBucketsOutput
	var err error
	in.call(func() { buckets, err = s3c.ListBuckets(ctx, &s3.ListBucketsInput{}) })
	if err != nil {
		in.fail(fmt.Errorf("s3: %w", err))
	} else {
		var wg sync.WaitGroup
		for _, b := range buckets.Buckets {
			name := aws.ToString(b.Name)
			wg.Go(func() { in.bucket(ctx, s3c, name, account) })
		}
		wg.Wait()
	}
	iamc := iam.NewFromConfig(cfg)
	in.iam(ctx, iamc, account)
}

func (in *inventory) bucket(ctx context.Context, c *s3.Client, name, account string) {
	r := mk(resource.S3Bucket, name, "arn:aws:s3:::"+name, account, "")
	b := aws.String(name)
	in.call(func() {
		if out, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b}); err == nil {
			p := out.PublicAccessBlockConfiguration
			set(r, "public_access_block", map[string]any{"block_public_acls": aws.ToBool(p.BlockPublicAcls), "block_public_policy": aws.ToBool(p.BlockPublicPolicy),
				"ignore_public_acls": aws.ToBool(p.IgnorePublicAcls), "restrict_public_buckets": aws.ToBool(p.RestrictPublicBuckets)})
		} else {
			set(r, "public_access_block", nil)
		}
		if out, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b}); err == nil && out.ServerSideEncryptionConfiguration != nil && len(out.ServerSideEncryptionConfiguration.Rules) > 0 {
			d := out.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault
			set(r, "encryption", map[string]any{"algorithm": string(d.SSEAlgorithm), "kms_key": aws.ToString(d.KMSMasterKeyID)})
		} else {
			set(r, "encryption", nil)
		}
		if out, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b}); err == nil {
			set(r, "versioning", out.Status == "Enabled")
		}
		if out, err := c.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: b}); err == nil {
			set(r, "logging", out.LoggingEnabled != nil)
		}
		set(r, "policy_statements", []any{})
		if out, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b}); err == nil {
			set(r, "policy_statements", policyStatements(aws.ToString(out.Policy)))
		}
		public := false
		if out, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: b}); err == nil {
			for _, g := range out.Grants {
				if g.Grantee != nil && (strings.HasSuffix(aws.ToString(g.Grantee.URI), "/AllUsers") || strings.HasSuffix(aws.ToString(g.Grantee.URI), "/AuthenticatedUsers")) {
					public = true
				}
			}
		}
		set(r, "public_acl", public)
		set(r, "acl", "")
		set(r, "object_lock", false)
	})
	in.add(r)
}

func (in *inventory) iam(ctx context.Context, c *iam.Client, account string) {
	in.call(func() {
		users, err := c.ListUsers(ctx, &iam.ListUsersInput{})
		if err != nil {
			in.fail(fmt.Errorf("iam: %w", err))
			return
		}
		for _, u := range users.Users {
			r := mk(resource.IAMUser, aws.ToString(u.UserName), aws.ToString(u.Arn), account, "")
			keys, _ := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: u.UserName})
			active := 0.0
			if keys != nil {
				for _, k := range keys.AccessKeyMetadata {
					if k.Status == "Active" {
						active++
					}
				}
			}
			set(r, "access_keys", active)
			_, lerr := c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: u.UserName})
			set(r, "console_password", lerr == nil)
			att, _ := c.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: u.UserName})
			inl, _ := c.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: u.UserName})
			if att != nil && len(att.AttachedPolicies) > 0 || inl != nil && len(inl.PolicyNames) > 0 {
				set(r, "direct_policies", true)
			}
			in.add(r)
		}
		roles, err := c.ListRoles(ctx, &iam.ListRolesInput{})
		if err == nil {
			for _, ro := range roles.Roles {
				if strings.HasPrefix(aws.ToString(ro.Path), "/aws-service-role/") {
					continue
				}
				r := mk(resource.IAMRole, aws.ToString(ro.RoleName), aws.ToString(ro.Arn), account, "")
				set(r, "trust_statements", policyStatements(aws.ToString(ro.AssumeRolePolicyDocument)))
				in.add(r)
			}
		}
		pols, err := c.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: "Local"})
		if err == nil {
			for _, p := range pols.Policies {
				r := mk(resource.IAMPolicy, aws.ToString(p.PolicyName), aws.ToString(p.Arn), account, "")
				v, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: p.Arn, VersionId: p.DefaultVersionId})
				if err == nil && v.PolicyVersion != nil {
					set(r, "statements", policyStatements(aws.ToString(v.PolicyVersion.Document)))
				} else {
					set(r, "statements", resource.Unknown)
				}
				set(r, "inline", false)
				in.add(r)
			}
		}
		if pp, err := c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{}); err == nil {
			p := pp.PasswordPolicy
			r := mk(resource.IAMPasswordPolicy, "account", "arn:aws:iam::"+account+":account-password-policy", account, "")
			set(r, "minimum_password_length", float64(aws.ToInt32(p.MinimumPasswordLength)))
			set(r, "password_reuse_prevention", float64(aws.ToInt32(p.PasswordReusePrevention)))
			set(r, "max_password_age", float64(aws.ToInt32(p.MaxPasswordAge)))
			set(r, "require_symbols", p.RequireSymbols)
			set(r, "require_numbers", p.RequireNumbers)
			set(r, "require_uppercase_characters", p.RequireUppercaseCharacters)
			set(r, "require_lowercase_characters", p.RequireLowercaseCharacters)
			in.add(r)
		} else if code(err) == "NoSuchEntity" {
			r := mk(resource.IAMPasswordPolicy, "account", "arn:aws:iam::"+account+":account-password-policy", account, "")
			set(r, "minimum_password_length", 0.0)
			set(r, "password_reuse_prevention", 0.0)
			in.add(r)
		}
	})
}

// regional: EC2, VPC, CloudTrail, GuardDuty, KMS, RDS in one region.
func (in *inventory) regional(ctx context.Context, cfg aws.Config, account, region string) {
	e := ec2.NewFromConfig(cfg)
	in.call(func() {
		sgs, err := e.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
		if err != nil {
			in.fail(fmt.Errorf("ec2 %s: %w", region, err))
			return
		}
		for _, g := range sgs.SecurityGroups {
			id := aws.ToString(g.GroupId)
			r := mk(resource.SecurityGroup, id, fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", region, account, id), account, region)
			set(r, "ingress", sgRules(g.IpPermissions))
			set(r, "egress", sgRules(g.IpPermissionsEgress))
			if aws.ToString(g.GroupName) == "default" {
				set(r, "default", true)
			}
			in.add(r)
		}
		vpcs, err := e.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
		if err == nil {
			flows, _ := e.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{})
			for _, v := range vpcs.Vpcs {
				id := aws.ToString(v.VpcId)
				r := mk(resource.VPC, id, fmt.Sprintf("arn:aws:ec2:%s:%s:vpc/%s", region, account, id), account, region)
				has := false
				if flows != nil {
					for _, f := range flows.FlowLogs {
						has = has || aws.ToString(f.ResourceId) == id
					}
				}
				set(r, "flow_logs", has)
				in.add(r)
			}
		}
		if vols, err := e.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{}); err == nil {
			for _, v := range vols.Volumes {
				id := aws.ToString(v.VolumeId)
				r := mk(resource.EBSVolume, id, fmt.Sprintf("arn:aws:ec2:%s:%s:volume/%s", region, account, id), account, region)
				set(r, "encrypted", aws.ToBool(v.Encrypted))
				in.add(r)
			}
		}
		if def, err := e.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{}); err == nil {
			r := mk(resource.EBSDefault, "ebs-default-encryption", fmt.Sprintf("arn:aws:ec2:%s:%s:ebs-default-encryption", region, account), account, region)
			set(r, "enabled", aws.ToBool(def.EbsEncryptionByDefault))
			in.add(r)
		}
		if res, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err == nil {
			for _, rs := range res.Reservations {
				for _, i := range rs.Instances {
					id := aws.ToString(i.InstanceId)
					r := mk(resource.EC2Instance, id, fmt.Sprintf("arn:aws:ec2:%s:%s:instance/%s", region, account, id), account, region)
					set(r, "imdsv2_required", i.MetadataOptions != nil && i.MetadataOptions.HttpTokens == "required")
					set(r, "public_ip", aws.ToString(i.PublicIpAddress) != "")
					set(r, "root_encrypted", resource.Unknown)
					in.add(r)
				}
			}
		}
	})
	in.call(func() {
		ct := cloudtrail.NewFromConfig(cfg)
		trails, err := ct.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)})
		if err != nil {
			in.fail(fmt.Errorf("cloudtrail %s: %w", region, err))
			return
		}
		for _, t := range trails.TrailList {
			r := mk(resource.CloudTrail, aws.ToString(t.Name), aws.ToString(t.TrailARN), account, region)
			set(r, "multi_region", aws.ToBool(t.IsMultiRegionTrail))
			set(r, "log_file_validation", aws.ToBool(t.LogFileValidationEnabled))
			set(r, "kms_encrypted", aws.ToString(t.KmsKeyId) != "")
			set(r, "cloudwatch_logs", aws.ToString(t.CloudWatchLogsLogGroupArn) != "")
			if st, err := ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: t.TrailARN}); err == nil {
				set(r, "logging", aws.ToBool(st.IsLogging))
			} else {
				set(r, "logging", resource.Unknown)
			}
			in.add(r)
		}
	})
	in.call(func() {
		gd := guardduty.NewFromConfig(cfg)
		ds, err := gd.ListDetectors(ctx, &guardduty.ListDetectorsInput{})
		if err != nil {
			return
		}
		for _, id := range ds.DetectorIds {
			r := mk(resource.GuardDutyDetector, id, fmt.Sprintf("arn:aws:guardduty:%s:%s:detector/%s", region, account, id), account, region)
			if d, err := gd.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(id)}); err == nil {
				set(r, "enabled", d.Status == "ENABLED")
			}
			in.add(r)
		}
	})
	in.call(func() {
		k := kms.NewFromConfig(cfg)
		keys, err := k.ListKeys(ctx, &kms.ListKeysInput{})
		if err != nil {
			return
		}
		for _, key := range keys.Keys {
			d, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: key.KeyId})
			if err != nil || d.KeyMetadata.KeyManager != "CUSTOMER" {
				continue
			}
			r := mk(resource.KMSKey, aws.ToString(key.KeyId), aws.ToString(key.KeyArn), account, region)
			set(r, "key_spec", string(d.KeyMetadata.KeySpec))
			if rs, err := k.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: key.KeyId}); err == nil {
				set(r, "rotation", rs.KeyRotationEnabled)
			} else {
				set(r, "rotation", resource.Unknown)
			}
			in.add(r)
		}
	})
	in.call(func() {
		rc := rds.NewFromConfig(cfg)
		dbs, err := rc.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
		if err != nil {
			return
		}
		for _, d := range dbs.DBInstances {
			r := mk(resource.RDSInstance, aws.ToString(d.DBInstanceIdentifier), aws.ToString(d.DBInstanceArn), account, region)
			set(r, "public", aws.ToBool(d.PubliclyAccessible))
			set(r, "encrypted", aws.ToBool(d.StorageEncrypted))
			set(r, "backup_retention", float64(aws.ToInt32(d.BackupRetentionPeriod)))
			in.add(r)
		}
	})
}

func sgRules(perms []ec2types.IpPermission) []any {
	out := []any{}
	for _, p := range perms {
		proto := strings.ToLower(aws.ToString(p.IpProtocol))
		from, to := float64(aws.ToInt32(p.FromPort)), float64(aws.ToInt32(p.ToPort))
		if proto == "-1" {
			from, to = 0, 65535
		}
		v4, v6 := []any{}, []any{}
		for _, r := range p.IpRanges {
			v4 = append(v4, aws.ToString(r.CidrIp))
		}
		for _, r := range p.Ipv6Ranges {
			v6 = append(v6, aws.ToString(r.CidrIpv6))
		}
		out = append(out, map[string]any{"protocol": proto, "from_port": from, "to_port": to, "cidr_blocks": v4, "ipv6_cidr_blocks": v6})
	}
	return out
}
