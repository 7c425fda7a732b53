// Package awsapi inventories a live AWS account into the resource model
// with read-only calls: several regions, several accounts (by assuming a
// role in each), the SDK's adaptive retryer with more attempts for
// throttling, and limits on calls in flight per account and per service.
package awsapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// Options say what to inventory.
type Options struct {
	Regions     []string      // default: the configured region
	AssumeRoles []string      // role ARNs, one per account; none: the caller's account
	Concurrency int           // calls in flight per account (default 8)
	PerAPI      int           // calls in flight per account and service (default 4)
	MaxAttempts int           // per call, for throttling (default 10)
	MaxBackoff  time.Duration // longest wait between attempts (default: the SDK's, 20 s)
	Now         time.Time     // the clock for key and credential ages (default: now)
	// Credentials, when set, replace the default chain's (internal/org:
	// a member account's assumed role).
	Credentials aws.CredentialsProvider
	// Stats, when set, counts the calls, throttled responses and retries.
	Stats *Stats
}

// Inventory reads every account and region.
func Inventory(ctx context.Context, opt Options) ([]*resource.Resource, []error) {
	if opt.Concurrency <= 0 {
		opt.Concurrency = 8
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 10
	}
	if opt.PerAPI <= 0 {
		opt.PerAPI = 4
	}
	if opt.Stats == nil {
		opt.Stats = &Stats{}
	}
	before := opt.Stats.Snapshot()
	custom := os.Getenv("AWS_ENDPOINT_URL") != ""
	base, accounts, err := configs(ctx, opt, custom)
	if err != nil {
		return nil, []error{err}
	}
	regions := opt.Regions
	if len(regions) == 0 {
		regions = []string{base.Region}
	}
	inv := &inventory{sem: make(chan struct{}, opt.Concurrency), custom: custom, now: opt.Now, supportRole: map[string]any{}}
	if inv.now.IsZero() {
		inv.now = time.Now()
	}
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
			wg.Go(func() { inv.monitoring(ctx, c, account, region) })
			wg.Go(func() { inv.services(ctx, c, account, region) })
		}
	}
	wg.Wait()
	// Calls that gave up and whose callers reported nothing (a missing
	// optional attribute is left unknown): the inventory is partial all
	// the same.
	if n := opt.Stats.Snapshot().GaveUp - before.GaveUp - inv.gaveUp.Load(); n > 0 {
		inv.fail(fmt.Errorf("%d more calls still failed after %d attempts (throttled or unavailable): their attributes are missing", n, opt.MaxAttempts))
	}
	inv.out = mergeConfig(inv.out, inv.fromConfig)
	// What only the account as a whole answers (CIS 3.8, 3.9, section 4),
	// and the support role (1.17).
	for _, a := range resource.AccountRollup(inv.out, true) {
		if v, ok := inv.supportRole[a.Account]; ok {
			set(a, "support_role", v)
		}
		inv.out = append(inv.out, a)
	}
	sort.SliceStable(inv.out, func(i, j int) bool { return inv.out[i].ARN < inv.out[j].ARN })
	return inv.out, inv.errs
}

// configs loads the SDK configuration (the standard retryer with
// opt.MaxAttempts) and one per account: the caller's, or each role of
// opt.AssumeRoles assumed from it.
func configs(ctx context.Context, opt Options, custom bool) (aws.Config, []aws.Config, error) {
	base, err := config.LoadDefaultConfig(ctx, config.WithRetryer(retryer(opt.MaxAttempts, opt.MaxBackoff, custom)))
	if err != nil {
		return aws.Config{}, nil, err
	}
	if base.Region == "" {
		base.Region = "us-east-1"
	}
	if opt.Credentials != nil {
		base.Credentials = opt.Credentials
	}
	// Each account its own bounds on calls in flight (in all, and per
	// service), all counted into opt.Stats.
	limited := func(c aws.Config) aws.Config {
		l := newLimiter(opt.Concurrency, opt.PerAPI, opt.Stats)
		c.APIOptions = append(slices.Clone(c.APIOptions), l.apiOption)
		return c
	}
	accounts := []aws.Config{limited(base.Copy())}
	if len(opt.AssumeRoles) > 0 {
		accounts = nil
		for _, arn := range opt.AssumeRoles {
			c := base.Copy()
			c.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), arn, func(o *stscreds.AssumeRoleOptions) {
				o.RoleSessionName = "parapet-scan"
			}))
			accounts = append(accounts, limited(c))
		}
	}
	return base, accounts, nil
}

type inventory struct {
	mu     sync.Mutex
	out    []*resource.Resource
	errs   []error
	sem    chan struct{}
	custom bool
	now    time.Time
	// supportRole: per account, whether an entity holds AWSSupportAccess.
	supportRole map[string]any
	// fromConfig are the resources read from the Config recorders' current
	// items (configItems), merged into out at the end.
	fromConfig []*resource.Resource
	// gaveUp counts the errors fail reported that were calls out of
	// attempts.
	gaveUp atomic.Int64
}

func (in *inventory) fail(err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.custom && unsupported(err) {
		err = &Unsupported{Err: err}
	}
	var me *retry.MaxAttemptsError
	if errors.As(err, &me) || throttled(err) {
		in.gaveUp.Add(1)
	}
	in.errs = append(in.errs, err)
}

// Unsupported is a call the custom endpoint (AWS_ENDPOINT_URL: an
// emulator, a proxy) does not implement: it answered with something that
// is not an AWS response. With AWS itself that never happens.
type Unsupported struct{ Err error }

func (u *Unsupported) Error() string { return "not available at the custom endpoint: " + u.Err.Error() }
func (u *Unsupported) Unwrap() error { return u.Err }

// unsupported: the response could not be read as the service's protocol
// and its status says "no such thing" (404, 501) or "broke" (500): an HTML
// error page, a router's 404. Throttling (429, 503) stays retryable.
func unsupported(err error) bool {
	var de *smithy.DeserializationError
	var re *awshttp.ResponseError
	if !errors.As(err, &de) || !errors.As(err, &re) {
		return false
	}
	switch re.HTTPStatusCode() {
	case 404, 500, 501:
		return true
	}
	return false
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
	in.call(func() {
		sc := s3control.NewFromConfig(cfg, func(o *s3control.Options) {
			if in.custom {
				o.APIOptions = append(o.APIOptions, noAccountHost)
			}
		})
		r := mk(resource.S3AccountBlock, "account", "arn:aws:s3:::account/"+account+"/public-access-block", account, "")
		out, err := sc.GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String(account)})
		switch {
		case err == nil && out.PublicAccessBlockConfiguration != nil:
			p := out.PublicAccessBlockConfiguration
			set(r, "block_public_acls", aws.ToBool(p.BlockPublicAcls))
			set(r, "block_public_policy", aws.ToBool(p.BlockPublicPolicy))
			set(r, "ignore_public_acls", aws.ToBool(p.IgnorePublicAcls))
			set(r, "restrict_public_buckets", aws.ToBool(p.RestrictPublicBuckets))
		case code(err) == "NoSuchPublicAccessBlockConfiguration":
			for _, k := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
				set(r, k, false)
			}
		default:
			in.fail(fmt.Errorf("s3 account public access block: %w", err))
			return
		}
		in.add(r)
	})
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
			set(r, "mfa_delete", out.MFADelete == "Enabled")
		}
		if out, err := c.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: b}); err == nil {
			set(r, "logging", out.LoggingEnabled != nil)
		}
		set(r, "policy_statements", []any{})
		if out, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b}); err == nil {
			set(r, "policy_statements", policyStatements(aws.ToString(out.Policy)))
			r.Policy = aws.ToString(out.Policy)
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
		lock := false
		if out, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: b}); err == nil && out.ObjectLockConfiguration != nil {
			lock = out.ObjectLockConfiguration.ObjectLockEnabled == "Enabled"
		}
		set(r, "object_lock", lock)
	})
	in.add(r)
}

func (in *inventory) iam(ctx context.Context, c *iam.Client, account string) {
	in.call(func() {
		now := in.now
		p := iam.NewListUsersPaginator(c, &iam.ListUsersInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				in.fail(fmt.Errorf("iam: %w", err))
				return
			}
			for _, u := range page.Users {
				in.add(in.user(ctx, c, u, account, now))
			}
		}
		rp := iam.NewListRolesPaginator(c, &iam.ListRolesInput{})
		for rp.HasMorePages() {
			page, err := rp.NextPage(ctx)
			if err != nil {
				in.fail(fmt.Errorf("iam roles: %w", err))
				break
			}
			for _, ro := range page.Roles {
				if strings.HasPrefix(aws.ToString(ro.Path), "/aws-service-role/") {
					continue
				}
				r := mk(resource.IAMRole, aws.ToString(ro.RoleName), aws.ToString(ro.Arn), account, "")
				set(r, "trust_statements", policyStatements(aws.ToString(ro.AssumeRolePolicyDocument)))
				in.add(r)
				if names, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: ro.RoleName}); err == nil {
					for _, n := range names.PolicyNames {
						doc := ""
						if p, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: ro.RoleName, PolicyName: aws.String(n)}); err == nil {
							doc = aws.ToString(p.PolicyDocument)
						}
						in.inline(aws.ToString(ro.Arn), n, doc, account)
					}
				}
			}
		}
		gp := iam.NewListGroupsPaginator(c, &iam.ListGroupsInput{})
		for gp.HasMorePages() {
			page, err := gp.NextPage(ctx)
			if err != nil {
				in.fail(fmt.Errorf("iam groups: %w", err))
				break
			}
			for _, g := range page.Groups {
				names, err := c.ListGroupPolicies(ctx, &iam.ListGroupPoliciesInput{GroupName: g.GroupName})
				if err != nil {
					continue
				}
				for _, n := range names.PolicyNames {
					doc := ""
					if p, err := c.GetGroupPolicy(ctx, &iam.GetGroupPolicyInput{GroupName: g.GroupName, PolicyName: aws.String(n)}); err == nil {
						doc = aws.ToString(p.PolicyDocument)
					}
					in.inline(aws.ToString(g.Arn), n, doc, account)
				}
			}
		}
		pp := iam.NewListPoliciesPaginator(c, &iam.ListPoliciesInput{Scope: "Local"})
		for pp.HasMorePages() {
			page, err := pp.NextPage(ctx)
			if err != nil {
				in.fail(fmt.Errorf("iam policies: %w", err))
				break
			}
			for _, p := range page.Policies {
				r := mk(resource.IAMPolicy, aws.ToString(p.PolicyName), aws.ToString(p.Arn), account, "")
				v, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: p.Arn, VersionId: p.DefaultVersionId})
				if err == nil && v.PolicyVersion != nil {
					set(r, "statements", policyStatements(aws.ToString(v.PolicyVersion.Document)))
				} else {
					set(r, "statements", resource.Unknown)
				}
				set(r, "inline", false)
				set(r, "attachments", float64(aws.ToInt32(p.AttachmentCount)))
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
			// No policy: the account runs on AWS's defaults, which meet
			// none of the benchmark's requirements.
			r := mk(resource.IAMPasswordPolicy, "account", "arn:aws:iam::"+account+":account-password-policy", account, "")
			for _, k := range []string{"minimum_password_length", "password_reuse_prevention", "max_password_age"} {
				set(r, k, 0.0)
			}
			for _, k := range []string{"require_symbols", "require_numbers", "require_uppercase_characters", "require_lowercase_characters"} {
				set(r, k, false)
			}
			in.add(r)
		}
		in.root(ctx, c, account)
		// CIS 1.17: someone holds AWSSupportAccess.
		ents, err := c.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: aws.String("arn:aws:iam::aws:policy/AWSSupportAccess")})
		in.mu.Lock()
		if err == nil {
			in.supportRole[account] = len(ents.PolicyRoles)+len(ents.PolicyUsers)+len(ents.PolicyGroups) > 0
		} else {
			in.supportRole[account] = resource.Unknown
		}
		in.mu.Unlock()
		// CIS 1.19: expired server certificates.
		cp := iam.NewListServerCertificatesPaginator(c, &iam.ListServerCertificatesInput{})
		for cp.HasMorePages() {
			page, err := cp.NextPage(ctx)
			if err != nil {
				in.fail(fmt.Errorf("iam server certificates: %w", err))
				break
			}
			for _, sc := range page.ServerCertificateMetadataList {
				r := mk(resource.IAMServerCertificate, aws.ToString(sc.ServerCertificateName), aws.ToString(sc.Arn), account, "")
				if sc.Expiration != nil {
					set(r, "days_to_expiry", math.Floor(sc.Expiration.Sub(in.now).Hours()/24))
				} else {
					set(r, "days_to_expiry", resource.Unknown)
				}
				in.add(r)
			}
		}
	})
}

// user reads one IAM user: active keys and the oldest one's age, console
// password, MFA devices, directly attached policies, and how long its
// least recently used credential has sat idle.
func (in *inventory) user(ctx context.Context, c *iam.Client, u iamtypes.User, account string, now time.Time) *resource.Resource {
	r := mk(resource.IAMUser, aws.ToString(u.UserName), aws.ToString(u.Arn), account, "")
	days := func(t time.Time) float64 { return math.Floor(now.Sub(t).Hours() / 24) }
	active, oldest, unused := 0.0, 0.0, 0.0
	if keys, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: u.UserName}); err == nil {
		for _, k := range keys.AccessKeyMetadata {
			if k.Status != "Active" {
				continue
			}
			active++
			age := days(aws.ToTime(k.CreateDate))
			oldest = math.Max(oldest, age)
			idle := age
			if lu, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId}); err == nil && lu.AccessKeyLastUsed != nil && lu.AccessKeyLastUsed.LastUsedDate != nil {
				idle = days(*lu.AccessKeyLastUsed.LastUsedDate)
			}
			unused = math.Max(unused, idle)
		}
	} else {
		in.fail(fmt.Errorf("iam %s keys: %w", aws.ToString(u.UserName), err))
	}
	set(r, "access_keys", active)
	set(r, "oldest_active_key_days", oldest)
	_, lerr := c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: u.UserName})
	set(r, "console_password", lerr == nil)
	if lerr == nil {
		idle := days(aws.ToTime(u.CreateDate))
		if u.PasswordLastUsed != nil {
			idle = days(*u.PasswordLastUsed)
		}
		unused = math.Max(unused, idle)
	}
	set(r, "credentials_unused_days", unused)
	if m, err := c.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: u.UserName}); err == nil {
		set(r, "mfa", len(m.MFADevices) > 0)
	} else {
		set(r, "mfa", resource.Unknown)
	}
	att, _ := c.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: u.UserName})
	inl, _ := c.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: u.UserName})
	if inl != nil {
		for _, n := range inl.PolicyNames {
			doc := ""
			if p, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: u.UserName, PolicyName: aws.String(n)}); err == nil {
				doc = aws.ToString(p.PolicyDocument)
			}
			in.inline(aws.ToString(u.Arn), n, doc, account)
		}
	}
	set(r, "direct_policies", att != nil && len(att.AttachedPolicies) > 0 || inl != nil && len(inl.PolicyNames) > 0)
	return r
}

// inline adds an inline policy of a user, role or group as a policy
// resource named after it (ARN: owner ARN + "/inline/" + name).
func (in *inventory) inline(owner, name, doc, account string) {
	r := mk(resource.IAMPolicy, name, owner+"/inline/"+name, account, "")
	if doc == "" {
		set(r, "statements", resource.Unknown)
	} else {
		set(r, "statements", policyStatements(doc))
	}
	set(r, "inline", true)
	in.add(r)
}

// rootLastUse reads the credential report's root row: days since its
// password or a key was last used (-1 when never), or Unknown.
func (in *inventory) rootLastUse(ctx context.Context, c *iam.Client) any {
	for range 10 {
		g, err := c.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
		if err != nil {
			return resource.Unknown
		}
		if g.State == "COMPLETE" {
			break
		}
		select {
		case <-ctx.Done():
			return resource.Unknown
		case <-time.After(500 * time.Millisecond):
		}
	}
	rep, err := c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	if err != nil {
		return resource.Unknown
	}
	rows, err := csv.NewReader(bytes.NewReader(rep.Content)).ReadAll()
	if err != nil || len(rows) < 2 {
		return resource.Unknown
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, row := range rows[1:] {
		if row[col["user"]] != "<root_account>" {
			continue
		}
		last := -1.0
		for _, k := range []string{"password_last_used", "access_key_1_last_used_date", "access_key_2_last_used_date"} {
			i, ok := col[k]
			if !ok || i >= len(row) {
				continue
			}
			t, err := time.Parse(time.RFC3339, row[i])
			if err != nil {
				continue // N/A, no_information
			}
			d := math.Floor(in.now.Sub(t).Hours() / 24)
			if last < 0 || d < last {
				last = d
			}
		}
		return last
	}
	return resource.Unknown
}

// root reads the root user's keys and MFA from the account summary, and
// whether its MFA is a virtual device (CIS asks for hardware).
func (in *inventory) root(ctx context.Context, c *iam.Client, account string) {
	sum, err := c.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
	if err != nil {
		in.fail(fmt.Errorf("iam account summary: %w", err))
		return
	}
	r := mk(resource.IAMRoot, "root", "arn:aws:iam::"+account+":root", account, "")
	set(r, "access_keys_present", sum.SummaryMap["AccountAccessKeysPresent"] > 0)
	set(r, "days_since_last_use", in.rootLastUse(ctx, c))
	mfa := sum.SummaryMap["AccountMFAEnabled"] > 0
	set(r, "mfa", mfa)
	virtual := false
	if v, err := c.ListVirtualMFADevices(ctx, &iam.ListVirtualMFADevicesInput{AssignmentStatus: "Assigned"}); err == nil {
		for _, d := range v.VirtualMFADevices {
			virtual = virtual || strings.HasSuffix(aws.ToString(d.SerialNumber), ":mfa/root-account-mfa-device")
		}
		set(r, "hardware_mfa", mfa && !virtual)
	} else {
		set(r, "hardware_mfa", resource.Unknown)
	}
	in.add(r)
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
					set(r, "detailed_monitoring", i.Monitoring != nil && i.Monitoring.State == "enabled")
					set(r, "instance_profile", i.IamInstanceProfile != nil && aws.ToString(i.IamInstanceProfile.Arn) != "")
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
			set(r, "cloudwatch_log_group", resource.LogGroupName(aws.ToString(t.CloudWatchLogsLogGroupArn)))
			if es, err := ct.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: t.TrailARN}); err == nil {
				var basic, adv []any
				for _, s := range es.EventSelectors {
					var drs []any
					for _, d := range s.DataResources {
						drs = append(drs, map[string]any{"Type": aws.ToString(d.Type), "Values": strsAny(d.Values)})
					}
					basic = append(basic, map[string]any{"ReadWriteType": string(s.ReadWriteType), "DataResources": drs})
				}
				for _, s := range es.AdvancedEventSelectors {
					var fs []any
					for _, f := range s.FieldSelectors {
						fs = append(fs, map[string]any{"Field": aws.ToString(f.Field), "Equals": strsAny(f.Equals)})
					}
					adv = append(adv, map[string]any{"FieldSelectors": fs})
				}
				w, rd := resource.S3DataEvents(basic, adv)
				set(r, "s3_write_data_events", w)
				set(r, "s3_read_data_events", rd)
			}
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
		if len(ds.DetectorIds) == 0 {
			// No detector in the region is GuardDuty off there.
			r := mk(resource.GuardDutyDetector, "(none)", fmt.Sprintf("arn:aws:guardduty:%s:%s:detector/(none)", region, account), account, region)
			set(r, "enabled", false)
			in.add(r)
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
			set(r, "multi_az", aws.ToBool(d.MultiAZ))
			set(r, "cluster", false)
			set(r, "deletion_protection", aws.ToBool(d.DeletionProtection))
			set(r, "iam_auth", aws.ToBool(d.IAMDatabaseAuthenticationEnabled))
			set(r, "auto_minor_upgrade", aws.ToBool(d.AutoMinorVersionUpgrade))
			if aws.ToString(d.DBClusterIdentifier) != "" {
				// An Aurora instance's snapshots and logs are its cluster's.
				set(r, "copy_tags", resource.Unknown)
				set(r, "log_exports", resource.Unknown)
			} else {
				set(r, "copy_tags", aws.ToBool(d.CopyTagsToSnapshot))
				logs := []any{}
				for _, x := range d.EnabledCloudwatchLogsExports {
					logs = append(logs, x)
				}
				set(r, "log_exports", logs)
			}
			set(r, "enhanced_monitoring", resource.RDSMonitoring(false, float64(aws.ToInt32(d.MonitoringInterval)), nil))
			in.add(r)
		}
	})
	in.call(func() {
		acls, err := e.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{})
		if err != nil {
			in.fail(fmt.Errorf("ec2 network acls %s: %w", region, err))
			return
		}
		for _, a := range acls.NetworkAcls {
			id := aws.ToString(a.NetworkAclId)
			r := mk(resource.NetworkACL, id, fmt.Sprintf("arn:aws:ec2:%s:%s:network-acl/%s", region, account, id), account, region)
			set(r, "ingress", naclRules(a.Entries))
			in.add(r)
		}
	})
	in.call(func() {
		lc := lambda.NewFromConfig(cfg)
		p := lambda.NewListFunctionsPaginator(lc, &lambda.ListFunctionsInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				in.fail(fmt.Errorf("lambda %s: %w", region, err))
				return
			}
			for _, f := range page.Functions {
				url := func(arn string, auth string, cors *lambdatypes.Cors) {
					r := mk(resource.LambdaFunctionURL, aws.ToString(f.FunctionName), arn, account, region)
					set(r, "auth_type", auth)
					set(r, "cors_all_origins", cors != nil && slices.Contains(cors.AllowOrigins, "*"))
					in.add(r)
				}
				urls, err := lc.ListFunctionUrlConfigs(ctx, &lambda.ListFunctionUrlConfigsInput{FunctionName: f.FunctionName})
				if err == nil {
					for _, u := range urls.FunctionUrlConfigs {
						url(aws.ToString(u.FunctionArn), string(u.AuthType), u.Cors)
					}
					continue
				}
				// Some endpoints (emulators, older partitions) lack the list
				// call: ask for the unqualified function's URL instead.
				u, gerr := lc.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: f.FunctionName})
				switch {
				case gerr == nil:
					url(aws.ToString(u.FunctionArn), string(u.AuthType), u.Cors)
				case code(gerr) != "ResourceNotFoundException":
					in.fail(fmt.Errorf("lambda %s %s: %w", region, aws.ToString(f.FunctionName), err))
				}
			}
		}
	})
	cs := configservice.NewFromConfig(cfg)
	recording := false
	in.call(func() {
		recs, err := cs.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{})
		if err != nil {
			in.fail(fmt.Errorf("config %s: %w", region, err))
			return
		}
		status := map[string]bool{}
		if st, err := cs.DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{}); err == nil {
			for _, s := range st.ConfigurationRecordersStatus {
				status[aws.ToString(s.Name)] = s.Recording
			}
		}
		if len(recs.ConfigurationRecorders) == 0 {
			// CIS 3.3 asks for a recorder in every region.
			r := mk(resource.ConfigRecorder, "(none)", fmt.Sprintf("arn:aws:config:%s:%s:config-recorder/(none)", region, account), account, region)
			set(r, "all_supported", false)
			set(r, "recording", false)
			in.add(r)
		}
		for _, rec := range recs.ConfigurationRecorders {
			name := aws.ToString(rec.Name)
			r := mk(resource.ConfigRecorder, name, fmt.Sprintf("arn:aws:config:%s:%s:config-recorder/%s", region, account, name), account, region)
			set(r, "all_supported", rec.RecordingGroup == nil || rec.RecordingGroup.AllSupported)
			set(r, "recording", status[name])
			in.add(r)
			recording = recording || status[name]
		}
	})
	if recording {
		in.configItems(ctx, cs, account, region)
	}
}

// monitoring reads a region's log metric filters and metric alarms, for
// the account rollup (CIS section 4).
func (in *inventory) monitoring(ctx context.Context, cfg aws.Config, account, region string) {
	in.call(func() {
		lc := cloudwatchlogs.NewFromConfig(cfg)
		p := cloudwatchlogs.NewDescribeMetricFiltersPaginator(lc, &cloudwatchlogs.DescribeMetricFiltersInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				in.fail(fmt.Errorf("logs %s: %w", region, err))
				return
			}
			for _, f := range page.MetricFilters {
				name := aws.ToString(f.FilterName)
				r := mk(resource.MetricFilter, name, fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:metric-filter:%s", region, account, aws.ToString(f.LogGroupName), name), account, region)
				set(r, "log_group", aws.ToString(f.LogGroupName))
				set(r, "pattern", aws.ToString(f.FilterPattern))
				var metrics []any
				for _, t := range f.MetricTransformations {
					metrics = append(metrics, aws.ToString(t.MetricNamespace)+"/"+aws.ToString(t.MetricName))
				}
				set(r, "metrics", metrics)
				in.add(r)
			}
		}
	})
	in.call(func() {
		cw := cloudwatch.NewFromConfig(cfg)
		p := cloudwatch.NewDescribeAlarmsPaginator(cw, &cloudwatch.DescribeAlarmsInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				in.fail(fmt.Errorf("cloudwatch %s: %w", region, err))
				return
			}
			for _, a := range page.MetricAlarms {
				r := mk(resource.MetricAlarm, aws.ToString(a.AlarmName), aws.ToString(a.AlarmArn), account, region)
				set(r, "metrics", []any{aws.ToString(a.Namespace) + "/" + aws.ToString(a.MetricName)})
				set(r, "actions", float64(len(a.AlarmActions)))
				in.add(r)
			}
		}
	})
}

// services reads the regional services CIS asks to be on (IAM Access
// Analyzer, Security Hub) and EFS file systems. A service that is off is
// a resource that fails, not a missing one.
func (in *inventory) services(ctx context.Context, cfg aws.Config, account, region string) {
	in.call(func() {
		aa := accessanalyzer.NewFromConfig(cfg)
		out, err := aa.ListAnalyzers(ctx, &accessanalyzer.ListAnalyzersInput{})
		if err != nil {
			in.fail(fmt.Errorf("access analyzer %s: %w", region, err))
			return
		}
		active := 0
		for _, a := range out.Analyzers {
			r := mk(resource.AccessAnalyzer, aws.ToString(a.Name), aws.ToString(a.Arn), account, region)
			set(r, "active", a.Status == "ACTIVE")
			in.add(r)
			active++
		}
		if active == 0 {
			r := mk(resource.AccessAnalyzer, "(none)", fmt.Sprintf("arn:aws:access-analyzer:%s:%s:analyzer/(none)", region, account), account, region)
			set(r, "active", false)
			in.add(r)
		}
	})
	in.call(func() {
		sh := securityhub.NewFromConfig(cfg)
		r := mk(resource.SecurityHub, "securityhub", fmt.Sprintf("arn:aws:securityhub:%s:%s:hub/default", region, account), account, region)
		out, err := sh.DescribeHub(ctx, &securityhub.DescribeHubInput{})
		switch {
		case err == nil:
			if out.HubArn != nil {
				r.ARN, r.Location = aws.ToString(out.HubArn), resource.Origin{ARN: aws.ToString(out.HubArn)}
			}
			set(r, "enabled", true)
		case code(err) == "InvalidAccessException" || code(err) == "ResourceNotFoundException":
			set(r, "enabled", false)
		default:
			in.fail(fmt.Errorf("security hub %s: %w", region, err))
			return
		}
		in.add(r)
	})
	in.call(func() {
		ec := efs.NewFromConfig(cfg)
		p := efs.NewDescribeFileSystemsPaginator(ec, &efs.DescribeFileSystemsInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				in.fail(fmt.Errorf("efs %s: %w", region, err))
				return
			}
			for _, f := range page.FileSystems {
				r := mk(resource.EFSFileSystem, aws.ToString(f.FileSystemId), aws.ToString(f.FileSystemArn), account, region)
				set(r, "encrypted", aws.ToBool(f.Encrypted))
				in.add(r)
			}
		}
	})
}

func naclRules(entries []ec2types.NetworkAclEntry) []any {
	out := []any{}
	for _, e := range entries {
		if aws.ToBool(e.Egress) {
			continue
		}
		proto := aws.ToString(e.Protocol)
		switch proto {
		case "6":
			proto = "tcp"
		case "17":
			proto = "udp"
		}
		from, to := 0.0, 65535.0
		if e.PortRange != nil && proto != "-1" {
			from, to = float64(aws.ToInt32(e.PortRange.From)), float64(aws.ToInt32(e.PortRange.To))
		}
		out = append(out, map[string]any{"protocol": proto, "from_port": from, "to_port": to, "action": strings.ToLower(string(e.RuleAction)),
			"cidr_blocks": []any{aws.ToString(e.CidrBlock)}, "ipv6_cidr_blocks": []any{aws.ToString(e.Ipv6CidrBlock)}})
	}
	return out
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

// noAccountHost drops the {AccountId}. host prefix S3 Control puts before
// the endpoint: with a custom endpoint (an emulator, a proxy) there is no
// such host.
func noAccountHost(st *middleware.Stack) error {
	return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("ParapetNoAccountHost", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		if req, ok := in.Request.(*smithyhttp.Request); ok {
			if i := strings.IndexByte(req.URL.Host, '.'); i == 12 && strings.Trim(req.URL.Host[:i], "0123456789") == "" {
				req.URL.Host = req.URL.Host[i+1:]
				req.Host = ""
			}
		}
		return next.HandleFinalize(ctx, in)
	}), "ResolveEndpointV2", middleware.After)
}

func strsAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
