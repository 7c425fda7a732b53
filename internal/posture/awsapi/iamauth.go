package awsapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// Authorization reads what the access graph (internal/attackpath) needs
// of the live account, into the IAM attributes of the resource model the
// Terraform and Config loaders fill: users, groups and roles with their
// inline and managed policies, boundaries, trust policies and groups
// (iam:GetAccountAuthorizationDetails, paged), managed policies with
// their default versions; Lambda functions and EC2 instances with the
// role they run as; the resource policies of functions, S3 buckets, KMS
// keys, SQS queues, SNS topics and Secrets Manager secrets; and the
// service control policies that apply to the account.
//
// Only the first account of opt is read (one graph is one account).
// Errors are per call and not fatal; notes say what could not be read
// and is left out (Organizations not readable: no SCPs applied).
func Authorization(ctx context.Context, opt Options) (res []*resource.Resource, notes []string, errs []error) {
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 10
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 8
	}
	custom := os.Getenv("AWS_ENDPOINT_URL") != ""
	base, accounts, err := configs(ctx, opt, custom)
	if err != nil {
		return nil, nil, []error{err}
	}
	cfg := accounts[0]
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, nil, []error{fmt.Errorf("account: %w", err)}
	}
	a := &authReader{account: aws.ToString(id.Account), custom: custom, sem: make(chan struct{}, opt.Concurrency), profiles: map[string]string{}}
	if err := a.iam(ctx, iam.NewFromConfig(cfg)); err != nil {
		return nil, nil, []error{err}
	}
	regions := opt.Regions
	if len(regions) == 0 {
		regions = []string{base.Region}
	}
	var wg sync.WaitGroup
	orgs := []*organizations.Client{organizations.NewFromConfig(cfg)}
	if len(opt.AssumeRoles) > 0 {
		// A member account seldom may read the organization's policies;
		// the caller's own account (the management account, say) may.
		orgs = append(orgs, organizations.NewFromConfig(base))
	}
	wg.Go(func() { a.scps(ctx, orgs) })
	wg.Go(func() { a.buckets(ctx, s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = custom })) })
	for _, region := range regions {
		c := cfg.Copy()
		c.Region = region
		for _, f := range []func(context.Context, aws.Config, string){a.functions, a.instances, a.keys, a.queues, a.topics, a.secrets} {
			wg.Go(func() {
				a.sem <- struct{}{}
				defer func() { <-a.sem }()
				f(ctx, c, region)
			})
		}
	}
	wg.Wait()
	return a.out, a.notes, a.errs
}

type authReader struct {
	account  string
	custom   bool
	sem      chan struct{}
	profiles map[string]string // instance profile ARN → role ARN (written before the regional reads)

	mu    sync.Mutex
	out   []*resource.Resource
	notes []string
	errs  []error
}

func (a *authReader) add(r *resource.Resource) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.out = append(a.out, r)
}

func (a *authReader) fail(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.custom && unsupported(err) {
		err = &Unsupported{Err: err}
	}
	a.errs = append(a.errs, err)
}

func (a *authReader) note(s string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.notes = append(a.notes, s)
}

// policyText decodes a policy document as IAM returns it (URL-encoded).
func policyText(doc *string) string {
	s := aws.ToString(doc)
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// iam reads the account authorization details, all pages.
func (a *authReader) iam(ctx context.Context, c *iam.Client) error {
	p := iam.NewGetAccountAuthorizationDetailsPaginator(c, &iam.GetAccountAuthorizationDetailsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("iam:GetAccountAuthorizationDetails: %w", err)
		}
		for _, g := range page.GroupDetailList {
			r := mk(resource.IAMGroup, aws.ToString(g.GroupName), aws.ToString(g.Arn), a.account, "")
			for _, ip := range g.GroupPolicyList {
				r.AppendAttr(resource.AttrInlinePolicies, r.Location, resource.InlinePolicy(aws.ToString(ip.PolicyName), policyText(ip.PolicyDocument)))
			}
			for _, mp := range g.AttachedManagedPolicies {
				r.AppendAttr(resource.AttrManagedPolicies, r.Location, aws.ToString(mp.PolicyArn))
			}
			a.add(r)
		}
		for _, u := range page.UserDetailList {
			r := mk(resource.IAMUser, aws.ToString(u.UserName), aws.ToString(u.Arn), a.account, "")
			for _, ip := range u.UserPolicyList {
				r.AppendAttr(resource.AttrInlinePolicies, r.Location, resource.InlinePolicy(aws.ToString(ip.PolicyName), policyText(ip.PolicyDocument)))
			}
			for _, mp := range u.AttachedManagedPolicies {
				r.AppendAttr(resource.AttrManagedPolicies, r.Location, aws.ToString(mp.PolicyArn))
			}
			for _, g := range u.GroupList {
				r.AppendAttr(resource.AttrGroups, r.Location, g)
			}
			if u.PermissionsBoundary != nil {
				set(r, resource.AttrBoundary, aws.ToString(u.PermissionsBoundary.PermissionsBoundaryArn))
			}
			a.add(r)
		}
		for _, ro := range page.RoleDetailList {
			r := mk(resource.IAMRole, aws.ToString(ro.RoleName), aws.ToString(ro.Arn), a.account, "")
			set(r, resource.AttrTrustDocument, policyText(ro.AssumeRolePolicyDocument))
			for _, ip := range ro.RolePolicyList {
				r.AppendAttr(resource.AttrInlinePolicies, r.Location, resource.InlinePolicy(aws.ToString(ip.PolicyName), policyText(ip.PolicyDocument)))
			}
			for _, mp := range ro.AttachedManagedPolicies {
				r.AppendAttr(resource.AttrManagedPolicies, r.Location, aws.ToString(mp.PolicyArn))
			}
			if ro.PermissionsBoundary != nil {
				set(r, resource.AttrBoundary, aws.ToString(ro.PermissionsBoundary.PermissionsBoundaryArn))
			}
			for _, ip := range ro.InstanceProfileList {
				a.profiles[aws.ToString(ip.Arn)] = aws.ToString(ro.Arn)
			}
			a.add(r)
		}
		for _, mp := range page.Policies {
			r := mk(resource.IAMPolicy, aws.ToString(mp.PolicyName), aws.ToString(mp.Arn), a.account, "")
			doc := resource.Unknown // no default version returned: unreadable
			for _, v := range mp.PolicyVersionList {
				if v.IsDefaultVersion || aws.ToString(v.VersionId) == aws.ToString(mp.DefaultVersionId) {
					doc = policyText(v.Document)
					break
				}
			}
			set(r, resource.AttrDocument, doc)
			set(r, "inline", false)
			a.add(r)
		}
	}
	return nil
}

// scps reads the service control policies attached to the account and
// to each of its parents up to the root, with the first client allowed
// to. Not in an organization: no SCPs; not readable: a note, no SCPs.
func (a *authReader) scps(ctx context.Context, clients []*organizations.Client) {
	var why []string
	for _, c := range clients {
		found, none, err := a.readSCPs(ctx, c)
		switch {
		case none:
			return
		case err == nil:
			for _, r := range found {
				a.add(r)
			}
			return
		}
		why = append(why, err.Error())
	}
	a.note(fmt.Sprintf("service control policies not read (%s): paths ignore them", strings.Join(why, "; ")))
}

// readSCPs: none when the account is in no organization or is its
// management account (SCPs do not apply to it).
func (a *authReader) readSCPs(ctx context.Context, c *organizations.Client) (found []*resource.Resource, none bool, err error) {
	org, err := c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		var notInUse *orgtypes.AWSOrganizationsNotInUseException
		if errors.As(err, &notInUse) {
			return nil, true, nil
		}
		return nil, false, fmt.Errorf("organizations:DescribeOrganization: %w", err)
	}
	if org.Organization != nil && aws.ToString(org.Organization.MasterAccountId) == a.account {
		a.note("the management account of its organization: service control policies do not apply to it")
		return nil, true, nil
	}
	targets := []string{a.account}
	for child := a.account; ; {
		ps, err := c.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(child)})
		if err != nil {
			return nil, false, fmt.Errorf("organizations:ListParents %s: %w", child, err)
		}
		if len(ps.Parents) == 0 {
			break
		}
		child = aws.ToString(ps.Parents[0].Id)
		targets = append(targets, child)
		if ps.Parents[0].Type == orgtypes.ParentTypeRoot {
			break
		}
	}
	for _, t := range targets {
		p := organizations.NewListPoliciesForTargetPaginator(c, &organizations.ListPoliciesForTargetInput{TargetId: aws.String(t), Filter: orgtypes.PolicyTypeServiceControlPolicy})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, false, fmt.Errorf("organizations:ListPoliciesForTarget %s: %w", t, err)
			}
			for _, ps := range page.Policies {
				d, err := c.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: ps.Id})
				if err != nil {
					return nil, false, fmt.Errorf("organizations:DescribePolicy %s: %w", aws.ToString(ps.Id), err)
				}
				if d.Policy == nil {
					continue
				}
				r := mk(resource.OrganizationsSCP, aws.ToString(ps.Name), aws.ToString(ps.Arn), a.account, "")
				set(r, resource.AttrDocument, aws.ToString(d.Policy.Content))
				set(r, resource.AttrSCPTarget, t)
				found = append(found, r)
			}
		}
	}
	return found, false, nil
}

func (a *authReader) buckets(ctx context.Context, c *s3.Client) {
	l, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		a.fail(fmt.Errorf("s3:ListBuckets: %w", err))
		return
	}
	for _, b := range l.Buckets {
		name := aws.ToString(b.Name)
		r := mk(resource.S3Bucket, name, "arn:aws:s3:::"+name, a.account, "")
		p, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b.Name})
		switch {
		case err == nil:
			set(r, resource.AttrResourcePolicy, aws.ToString(p.Policy))
		case code(err) != "NoSuchBucketPolicy":
			a.fail(fmt.Errorf("s3:GetBucketPolicy %s: %w", name, err))
		}
		a.add(r)
	}
}

func (a *authReader) functions(ctx context.Context, cfg aws.Config, region string) {
	c := lambda.NewFromConfig(cfg)
	p := lambda.NewListFunctionsPaginator(c, &lambda.ListFunctionsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(fmt.Errorf("lambda:ListFunctions %s: %w", region, err))
			return
		}
		for _, f := range page.Functions {
			r := mk(resource.LambdaFunction, aws.ToString(f.FunctionName), aws.ToString(f.FunctionArn), a.account, region)
			set(r, resource.AttrRole, aws.ToString(f.Role))
			pol, err := c.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: f.FunctionName})
			switch {
			case err == nil:
				set(r, resource.AttrResourcePolicy, aws.ToString(pol.Policy))
			case code(err) != "ResourceNotFoundException":
				a.fail(fmt.Errorf("lambda:GetPolicy %s: %w", aws.ToString(f.FunctionName), err))
			}
			a.add(r)
		}
	}
}

func (a *authReader) instances(ctx context.Context, cfg aws.Config, region string) {
	p := ec2.NewDescribeInstancesPaginator(ec2.NewFromConfig(cfg), &ec2.DescribeInstancesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(fmt.Errorf("ec2:DescribeInstances %s: %w", region, err))
			return
		}
		for _, rv := range page.Reservations {
			for _, in := range rv.Instances {
				if in.IamInstanceProfile == nil || (in.State != nil && in.State.Name == "terminated") {
					continue
				}
				id := aws.ToString(in.InstanceId)
				r := mk(resource.EC2Instance, id, fmt.Sprintf("arn:aws:ec2:%s:%s:instance/%s", region, a.account, id), a.account, region)
				if role := a.profiles[aws.ToString(in.IamInstanceProfile.Arn)]; role != "" {
					set(r, resource.AttrRole, role)
				} else {
					a.note(fmt.Sprintf("instance %s: instance profile %s not in the account's IAM", id, aws.ToString(in.IamInstanceProfile.Arn)))
				}
				a.add(r)
			}
		}
	}
}

func (a *authReader) keys(ctx context.Context, cfg aws.Config, region string) {
	c := kms.NewFromConfig(cfg)
	p := kms.NewListKeysPaginator(c, &kms.ListKeysInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(fmt.Errorf("kms:ListKeys %s: %w", region, err))
			return
		}
		for _, k := range page.Keys {
			r := mk(resource.KMSKey, aws.ToString(k.KeyId), aws.ToString(k.KeyArn), a.account, region)
			pol, err := c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: k.KeyId, PolicyName: aws.String("default")})
			if err != nil {
				a.fail(fmt.Errorf("kms:GetKeyPolicy %s: %w", aws.ToString(k.KeyId), err))
			} else {
				set(r, resource.AttrResourcePolicy, aws.ToString(pol.Policy))
			}
			a.add(r)
		}
	}
}

func (a *authReader) queues(ctx context.Context, cfg aws.Config, region string) {
	c := sqs.NewFromConfig(cfg)
	p := sqs.NewListQueuesPaginator(c, &sqs.ListQueuesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(fmt.Errorf("sqs:ListQueues %s: %w", region, err))
			return
		}
		for _, u := range page.QueueUrls {
			at, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u),
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn, sqstypes.QueueAttributeNamePolicy}})
			if err != nil {
				a.fail(fmt.Errorf("sqs:GetQueueAttributes %s: %w", u, err))
				continue
			}
			arn := at.Attributes["QueueArn"]
			r := mk(resource.SQSQueue, arn[lastColon(arn)+1:], arn, a.account, region)
			if pol := at.Attributes["Policy"]; pol != "" {
				set(r, resource.AttrResourcePolicy, pol)
			}
			a.add(r)
		}
	}
}

func (a *authReader) topics(ctx context.Context, cfg aws.Config, region string) {
	c := sns.NewFromConfig(cfg)
	p := sns.NewListTopicsPaginator(c, &sns.ListTopicsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(fmt.Errorf("sns:ListTopics %s: %w", region, err))
			return
		}
		for _, t := range page.Topics {
			arn := aws.ToString(t.TopicArn)
			r := mk(resource.SNSTopic, arn[lastColon(arn)+1:], arn, a.account, region)
			at, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: t.TopicArn})
			if err != nil {
				a.fail(fmt.Errorf("sns:GetTopicAttributes %s: %w", arn, err))
			} else if pol := at.Attributes["Policy"]; pol != "" {
				set(r, resource.AttrResourcePolicy, pol)
			}
			a.add(r)
		}
	}
}

func (a *authReader) secrets(ctx context.Context, cfg aws.Config, region string) {
	c := secretsmanager.NewFromConfig(cfg)
	p := secretsmanager.NewListSecretsPaginator(c, &secretsmanager.ListSecretsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(fmt.Errorf("secretsmanager:ListSecrets %s: %w", region, err))
			return
		}
		for _, s := range page.SecretList {
			r := mk(resource.SecretsSecret, aws.ToString(s.Name), aws.ToString(s.ARN), a.account, region)
			pol, err := c.GetResourcePolicy(ctx, &secretsmanager.GetResourcePolicyInput{SecretId: s.ARN})
			if err != nil {
				a.fail(fmt.Errorf("secretsmanager:GetResourcePolicy %s: %w", aws.ToString(s.Name), err))
			} else if pol.ResourcePolicy != nil {
				set(r, resource.AttrResourcePolicy, aws.ToString(pol.ResourcePolicy))
			}
			a.add(r)
		}
	}
}

func lastColon(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			return i
		}
	}
	return -1
}
