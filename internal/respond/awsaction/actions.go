package awsaction

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/parapet-sec/parapet/internal/respond"
)

type (
	params  = respond.Params
	call    = respond.Call
	outcome = respond.Outcome
)

func one(service, op string, in map[string]any) []call {
	return []call{{Service: service, Operation: op, Input: in}}
}

// Register adds every AWS action to reg.
func Register(reg *respond.Registry, c *Clients) {
	reg.Add(s3Actions(c)...)
	reg.Add(iamActions(c)...)
	reg.Add(ec2Actions(c)...)
	reg.Add(auditServiceActions(c)...)
}

// ---- S3 ----

func bucketProtected(c *Clients) func(context.Context, params) (bool, error) {
	return func(ctx context.Context, p params) (bool, error) {
		cl, err := c.S3(ctx)
		if err != nil {
			return false, err
		}
		out, err := cl.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(p["bucket"])})
		if err != nil {
			if apiCode(err) == "NoSuchTagSet" {
				return false, nil
			}
			return false, err
		}
		for _, t := range out.TagSet {
			if aws.ToString(t.Key) == respond.ProtectTag && strings.EqualFold(aws.ToString(t.Value), "true") {
				return true, nil
			}
		}
		return false, nil
	}
}

func bucketTarget(p params) string { return "arn:aws:s3:::" + p["bucket"] }

var blockAll = s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}

func s3Actions(c *Clients) []*respond.Action {
	pab := &respond.Action{
		Name:        "s3.put_public_access_block",
		Description: "Block every form of public access to a bucket (all four PublicAccessBlock settings on).",
		Required:    []string{"bucket"},
		Permissions: []string{"s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock", "s3:GetBucketTagging"},
		Target:      bucketTarget,
		Protected:   bucketProtected(c),
		Plan: func(p params) []call {
			return one("s3", "PutPublicAccessBlock", map[string]any{"Bucket": p["bucket"], "PublicAccessBlockConfiguration": map[string]bool{"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}})
		},
	}
	pab.Execute = func(ctx context.Context, p params) (outcome, error) {
		o := outcome{Calls: pab.Plan(p)}
		cl, err := c.S3(ctx)
		if err != nil {
			return o, err
		}
		o.Before = map[string]any{"public_access_block": nil}
		if cur, err := cl.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(p["bucket"])}); err == nil {
			o.Before["public_access_block"] = pabMap(cur.PublicAccessBlockConfiguration)
		} else if apiCode(err) != "NoSuchPublicAccessBlockConfiguration" {
			return o, err
		}
		if _, err := cl.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(p["bucket"]), PublicAccessBlockConfiguration: &blockAll}); err != nil {
			return o, err
		}
		o.After = map[string]any{"public_access_block": pabMap(&blockAll)}
		o.Summary = "public access blocked on bucket " + p["bucket"]
		return o, nil
	}
	pab.Rollback = func(ctx context.Context, p params, o outcome) error {
		cl, err := c.S3(ctx)
		if err != nil {
			return err
		}
		prev, _ := o.Before["public_access_block"].(map[string]bool)
		if prev == nil {
			_, err = cl.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(p["bucket"])})
			return err
		}
		_, err = cl.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(p["bucket"]), PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(prev["BlockPublicAcls"]), IgnorePublicAcls: aws.Bool(prev["IgnorePublicAcls"]), BlockPublicPolicy: aws.Bool(prev["BlockPublicPolicy"]), RestrictPublicBuckets: aws.Bool(prev["RestrictPublicBuckets"])}})
		return err
	}

	revert := &respond.Action{
		Name: "s3.revert_bucket_policy",
		Description: "Put back the bucket policy Parapet last observed before the offending change (exclude_event names it), " +
			"or delete the policy when none was observed; previous, when given, is the policy to restore.",
		Required:    []string{"bucket"},
		Optional:    []string{"exclude_event", "previous"},
		Permissions: []string{"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:GetBucketTagging"},
		Destructive: false,
		Target:      bucketTarget,
		Protected:   bucketProtected(c),
	}
	previousPolicy := func(ctx context.Context, p params) (string, bool) {
		if p["previous"] != "" {
			return p["previous"], true
		}
		if c.History != nil {
			if pol, ok, err := c.History.PreviousBucketPolicy(ctx, p["bucket"], p["exclude_event"]); err == nil && ok {
				return pol, true
			}
		}
		return "", false
	}
	revert.Plan = func(p params) []call {
		if p["previous"] != "" {
			return one("s3", "PutBucketPolicy", map[string]any{"Bucket": p["bucket"], "Policy": p["previous"]})
		}
		return []call{
			{Service: "s3", Operation: "PutBucketPolicy", Input: map[string]any{"Bucket": p["bucket"], "Policy": "(the policy observed before event " + p["exclude_event"] + ", if any)"}},
			{Service: "s3", Operation: "DeleteBucketPolicy", Input: map[string]any{"Bucket": p["bucket"], "When": "no earlier policy was observed"}},
		}
	}
	revert.Execute = func(ctx context.Context, p params) (outcome, error) {
		o := outcome{}
		cl, err := c.S3(ctx)
		if err != nil {
			return o, err
		}
		o.Before = map[string]any{"policy": nil}
		if cur, err := cl.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(p["bucket"])}); err == nil {
			o.Before["policy"] = aws.ToString(cur.Policy)
		} else if apiCode(err) != "NoSuchBucketPolicy" {
			return o, err
		}
		if prev, ok := previousPolicy(ctx, p); ok {
			o.Calls = one("s3", "PutBucketPolicy", map[string]any{"Bucket": p["bucket"], "Policy": prev})
			if _, err := cl.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(p["bucket"]), Policy: aws.String(prev)}); err != nil {
				return o, err
			}
			o.After = map[string]any{"policy": prev}
			o.Summary = "bucket policy of " + p["bucket"] + " reverted to the one observed before"
			return o, nil
		}
		o.Calls = one("s3", "DeleteBucketPolicy", map[string]any{"Bucket": p["bucket"]})
		if _, err := cl.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(p["bucket"])}); err != nil {
			return o, err
		}
		o.After = map[string]any{"policy": nil}
		o.Summary = "bucket policy of " + p["bucket"] + " deleted (no earlier policy was observed)"
		return o, nil
	}
	revert.Rollback = func(ctx context.Context, p params, o outcome) error {
		cl, err := c.S3(ctx)
		if err != nil {
			return err
		}
		if pol, ok := o.Before["policy"].(string); ok && pol != "" {
			_, err = cl.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(p["bucket"]), Policy: aws.String(pol)})
			return err
		}
		_, err = cl.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(p["bucket"])})
		return err
	}

	enc := &respond.Action{
		Name:        "s3.enable_default_encryption",
		Description: "Turn on default encryption of a bucket (SSE-S3, or SSE-KMS with kms_key).",
		Required:    []string{"bucket"},
		Optional:    []string{"kms_key"},
		Permissions: []string{"s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration", "s3:GetBucketTagging"},
		Target:      bucketTarget,
		Protected:   bucketProtected(c),
	}
	encRule := func(p params) s3types.ServerSideEncryptionRule {
		d := &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256}
		if p["kms_key"] != "" {
			d = &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(p["kms_key"])}
		}
		return s3types.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: d, BucketKeyEnabled: aws.Bool(p["kms_key"] != "")}
	}
	enc.Plan = func(p params) []call {
		alg := "AES256"
		if p["kms_key"] != "" {
			alg = "aws:kms " + p["kms_key"]
		}
		return one("s3", "PutBucketEncryption", map[string]any{"Bucket": p["bucket"], "SSEAlgorithm": alg})
	}
	enc.Execute = func(ctx context.Context, p params) (outcome, error) {
		o := outcome{Calls: enc.Plan(p)}
		cl, err := c.S3(ctx)
		if err != nil {
			return o, err
		}
		o.Before = map[string]any{"encryption": nil}
		if cur, err := cl.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(p["bucket"])}); err == nil && cur.ServerSideEncryptionConfiguration != nil {
			b, _ := json.Marshal(cur.ServerSideEncryptionConfiguration.Rules)
			o.Before["encryption"] = string(b)
		}
		if _, err := cl.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(p["bucket"]),
			ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{encRule(p)}}}); err != nil {
			return o, err
		}
		o.Summary = "default encryption on for bucket " + p["bucket"]
		return o, nil
	}
	enc.Rollback = func(ctx context.Context, p params, o outcome) error {
		cl, err := c.S3(ctx)
		if err != nil {
			return err
		}
		if prev, _ := o.Before["encryption"].(string); prev != "" {
			var rules []s3types.ServerSideEncryptionRule
			if err := json.Unmarshal([]byte(prev), &rules); err == nil {
				_, err = cl.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(p["bucket"]), ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: rules}})
				return err
			}
		}
		_, err = cl.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: aws.String(p["bucket"])})
		return err
	}

	ver := &respond.Action{
		Name:        "s3.enable_versioning",
		Description: "Turn on versioning of a bucket, so that overwritten and deleted objects can be recovered.",
		Required:    []string{"bucket"},
		Permissions: []string{"s3:GetBucketVersioning", "s3:PutBucketVersioning", "s3:GetBucketTagging"},
		Target:      bucketTarget,
		Protected:   bucketProtected(c),
		Plan: func(p params) []call {
			return one("s3", "PutBucketVersioning", map[string]any{"Bucket": p["bucket"], "Status": "Enabled"})
		},
	}
	ver.Execute = func(ctx context.Context, p params) (outcome, error) {
		o := outcome{Calls: ver.Plan(p)}
		cl, err := c.S3(ctx)
		if err != nil {
			return o, err
		}
		cur, err := cl.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(p["bucket"])})
		if err != nil {
			return o, err
		}
		o.Before = map[string]any{"versioning": string(cur.Status)}
		if _, err := cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(p["bucket"]), VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
			return o, err
		}
		o.Summary = "versioning on for bucket " + p["bucket"]
		return o, nil
	}
	ver.Rollback = func(ctx context.Context, p params, o outcome) error {
		if o.Before["versioning"] == "Enabled" {
			return nil
		}
		cl, err := c.S3(ctx)
		if err != nil {
			return err
		}
		// A bucket once versioned can only be suspended.
		_, err = cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(p["bucket"]), VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}})
		return err
	}

	acl := &respond.Action{
		Name:        "s3.remove_public_acl",
		Description: "Set a bucket's ACL back to private, dropping grants to AllUsers and AuthenticatedUsers.",
		Required:    []string{"bucket"},
		Permissions: []string{"s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"},
		Target:      bucketTarget,
		Protected:   bucketProtected(c),
		Plan: func(p params) []call {
			return one("s3", "PutBucketAcl", map[string]any{"Bucket": p["bucket"], "ACL": "private"})
		},
	}
	acl.Execute = func(ctx context.Context, p params) (outcome, error) {
		o := outcome{Calls: acl.Plan(p)}
		cl, err := c.S3(ctx)
		if err != nil {
			return o, err
		}
		cur, err := cl.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(p["bucket"])})
		if err != nil {
			return o, err
		}
		b, _ := json.Marshal(map[string]any{"Owner": cur.Owner, "Grants": cur.Grants})
		o.Before = map[string]any{"acl": string(b)}
		if _, err := cl.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(p["bucket"]), ACL: s3types.BucketCannedACLPrivate}); err != nil {
			return o, err
		}
		o.Summary = "ACL of bucket " + p["bucket"] + " set to private"
		return o, nil
	}
	acl.Rollback = func(ctx context.Context, p params, o outcome) error {
		cl, err := c.S3(ctx)
		if err != nil {
			return err
		}
		var prev struct {
			Owner  *s3types.Owner
			Grants []s3types.Grant
		}
		s, _ := o.Before["acl"].(string)
		if err := json.Unmarshal([]byte(s), &prev); err != nil {
			return err
		}
		_, err = cl.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(p["bucket"]), AccessControlPolicy: &s3types.AccessControlPolicy{Owner: prev.Owner, Grants: prev.Grants}})
		return err
	}
	return []*respond.Action{pab, revert, enc, ver, acl}
}

func pabMap(c *s3types.PublicAccessBlockConfiguration) map[string]bool {
	if c == nil {
		return nil
	}
	return map[string]bool{"BlockPublicAcls": aws.ToBool(c.BlockPublicAcls), "IgnorePublicAcls": aws.ToBool(c.IgnorePublicAcls),
		"BlockPublicPolicy": aws.ToBool(c.BlockPublicPolicy), "RestrictPublicBuckets": aws.ToBool(c.RestrictPublicBuckets)}
}

// ---- IAM ----

// quarantinePolicy denies everything: attached inline, it overrides every
// allow the principal has.
const quarantinePolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"ParapetQuarantine","Effect":"Deny","Action":"*","Resource":"*"}]}`

const (
	quarantineName = "parapet-quarantine"
	revokeName     = "parapet-revoke-older-sessions"
)

func userProtected(c *Clients) func(context.Context, params) (bool, error) {
	return func(ctx context.Context, p params) (bool, error) {
		cl, err := c.IAM(ctx)
		if err != nil {
			return false, err
		}
		out, err := cl.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String(p["user"])})
		if err != nil {
			return false, err
		}
		for _, t := range out.Tags {
			if aws.ToString(t.Key) == respond.ProtectTag && strings.EqualFold(aws.ToString(t.Value), "true") {
				return true, nil
			}
		}
		return false, nil
	}
}

func roleProtected(c *Clients) func(context.Context, params) (bool, error) {
	return func(ctx context.Context, p params) (bool, error) {
		cl, err := c.IAM(ctx)
		if err != nil {
			return false, err
		}
		out, err := cl.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String(p["role"])})
		if err != nil {
			return false, err
		}
		for _, t := range out.Tags {
			if aws.ToString(t.Key) == respond.ProtectTag && strings.EqualFold(aws.ToString(t.Value), "true") {
				return true, nil
			}
		}
		return false, nil
	}
}

func iamActions(c *Clients) []*respond.Action {
	deactivate := &respond.Action{
		Name:        "iam.deactivate_access_key",
		Description: "Make an access key inactive (it stops working at once; it can be made active again).",
		Required:    []string{"user", "access_key_id"},
		Permissions: []string{"iam:ListAccessKeys", "iam:UpdateAccessKey", "iam:ListUserTags"},
		Destructive: true,
		Target:      func(p params) string { return "iam-user/" + p["user"] + "/" + p["access_key_id"] },
		Protected:   userProtected(c),
		Plan: func(p params) []call {
			return one("iam", "UpdateAccessKey", map[string]any{"UserName": p["user"], "AccessKeyId": p["access_key_id"], "Status": "Inactive"})
		},
	}
	setKey := func(ctx context.Context, p params, status string) error {
		cl, err := c.IAM(ctx)
		if err != nil {
			return err
		}
		_, err = cl.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String(p["user"]), AccessKeyId: aws.String(p["access_key_id"]), Status: iamStatus(status)})
		return err
	}
	deactivate.Execute = func(ctx context.Context, p params) (outcome, error) {
		o := outcome{Calls: deactivate.Plan(p)}
		cl, err := c.IAM(ctx)
		if err != nil {
			return o, err
		}
		keys, err := cl.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(p["user"])})
		if err != nil {
			return o, err
		}
		found := false
		for _, k := range keys.AccessKeyMetadata {
			if aws.ToString(k.AccessKeyId) == p["access_key_id"] {
				o.Before = map[string]any{"status": string(k.Status)}
				found = true
			}
		}
		if !found {
			return o, fmt.Errorf("user %s has no access key %s", p["user"], p["access_key_id"])
		}
		if err := setKey(ctx, p, "Inactive"); err != nil {
			return o, err
		}
		o.After = map[string]any{"status": "Inactive"}
		o.Summary = "access key " + p["access_key_id"] + " of " + p["user"] + " made inactive"
		return o, nil
	}
	deactivate.Rollback = func(ctx context.Context, p params, o outcome) error {
		if o.Before["status"] == "Inactive" {
			return nil
		}
		return setKey(ctx, p, "Active")
	}

	quarantineUser, quarantineRole := quarantine(c, "user"), quarantine(c, "role")

	revoke := &respond.Action{
		Name:        "iam.revoke_role_sessions",
		Description: "Refuse every session of a role issued before now (inline deny on aws:TokenIssueTime), as the console's \"revoke active sessions\" does.",
		Required:    []string{"role"},
		Permissions: []string{"iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:ListRoleTags"},
		Destructive: true,
		Target:      func(p params) string { return "iam-role/" + p["role"] },
		Protected:   roleProtected(c),
	}
	revokeDoc := func(t time.Time) string {
		return `{"Version":"2012-10-17","Statement":[{"Sid":"ParapetRevokeOlderSessions","Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"` + t.UTC().Format(time.RFC3339) + `"}}}]}`
	}
	revoke.Plan = func(p params) []call {
		return one("iam", "PutRolePolicy", map[string]any{"RoleName": p["role"], "PolicyName": revokeName, "PolicyDocument": revokeDoc(time.Now())})
	}
	revoke.Execute = func(ctx context.Context, p params) (outcome, error) {
		doc := revokeDoc(time.Now())
		o := outcome{Calls: one("iam", "PutRolePolicy", map[string]any{"RoleName": p["role"], "PolicyName": revokeName, "PolicyDocument": doc})}
		cl, err := c.IAM(ctx)
		if err != nil {
			return o, err
		}
		if _, err := cl.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(p["role"]), PolicyName: aws.String(revokeName), PolicyDocument: aws.String(doc)}); err != nil {
			return o, err
		}
		o.Summary = "sessions of role " + p["role"] + " issued before now refused"
		return o, nil
	}
	revoke.Rollback = func(ctx context.Context, p params, o outcome) error {
		cl, err := c.IAM(ctx)
		if err != nil {
			return err
		}
		_, err = cl.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(p["role"]), PolicyName: aws.String(revokeName)})
		return err
	}

	loginProfile := &respond.Action{
		Name:        "iam.delete_login_profile",
		Description: "Delete a user's console password (no rollback: the password is gone; set a new one to restore access).",
		Required:    []string{"user"},
		Permissions: []string{"iam:GetLoginProfile", "iam:DeleteLoginProfile", "iam:ListUserTags"},
		Destructive: true,
		Target:      func(p params) string { return "iam-user/" + p["user"] },
		Protected:   userProtected(c),
		Plan: func(p params) []call {
			return one("iam", "DeleteLoginProfile", map[string]any{"UserName": p["user"]})
		},
	}
	loginProfile.Execute = func(ctx context.Context, p params) (outcome, error) {
		o := outcome{Calls: loginProfile.Plan(p)}
		cl, err := c.IAM(ctx)
		if err != nil {
			return o, err
		}
		if _, err := cl.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String(p["user"])}); err != nil {
			if apiCode(err) == "NoSuchEntity" {
				o.Before = map[string]any{"login_profile": false}
				o.Summary = p["user"] + " has no console password"
				return o, nil
			}
			return o, err
		}
		o.Before = map[string]any{"login_profile": true}
		if _, err := cl.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: aws.String(p["user"])}); err != nil {
			return o, err
		}
		o.Summary = "console password of " + p["user"] + " deleted"
		return o, nil
	}

	detach := func(kind string) *respond.Action {
		a := &respond.Action{
			Name:        "iam.detach_" + kind + "_policy",
			Description: "Detach a managed policy from a " + kind + ".",
			Required:    []string{kind, "policy_arn"},
			Permissions: []string{"iam:Detach" + title(kind) + "Policy", "iam:Attach" + title(kind) + "Policy", "iam:List" + title(kind) + "Tags"},
			Destructive: true,
			Target:      func(p params) string { return "iam-" + kind + "/" + p[kind] },
			Plan: func(p params) []call {
				return one("iam", "Detach"+title(kind)+"Policy", map[string]any{title(kind) + "Name": p[kind], "PolicyArn": p["policy_arn"]})
			},
		}
		if kind == "user" {
			a.Protected = userProtected(c)
		} else {
			a.Protected = roleProtected(c)
		}
		a.Execute = func(ctx context.Context, p params) (outcome, error) {
			o := outcome{Calls: a.Plan(p)}
			cl, err := c.IAM(ctx)
			if err != nil {
				return o, err
			}
			if kind == "user" {
				_, err = cl.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String(p[kind]), PolicyArn: aws.String(p["policy_arn"])})
			} else {
				_, err = cl.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(p[kind]), PolicyArn: aws.String(p["policy_arn"])})
			}
			if err != nil && apiCode(err) != "NoSuchEntity" {
				return o, err
			}
			o.Before = map[string]any{"attached": err == nil}
			o.Summary = p["policy_arn"] + " detached from " + kind + " " + p[kind]
			return o, nil
		}
		a.Rollback = func(ctx context.Context, p params, o outcome) error {
			if o.Before["attached"] != true {
				return nil
			}
			cl, err := c.IAM(ctx)
			if err != nil {
				return err
			}
			if kind == "user" {
				_, err = cl.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String(p[kind]), PolicyArn: aws.String(p["policy_arn"])})
			} else {
				_, err = cl.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(p[kind]), PolicyArn: aws.String(p["policy_arn"])})
			}
			return err
		}
		return a
	}
	return []*respond.Action{deactivate, quarantineUser, quarantineRole, revoke, loginProfile, detach("user"), detach("role")}
}

func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// ---- EC2 ----

func instanceProtected(c *Clients) func(context.Context, params) (bool, error) {
	return func(ctx context.Context, p params) (bool, error) {
		inst, err := describeInstance(ctx, c, p["instance_id"])
		if err != nil {
			return false, err
		}
		for _, t := range inst.Tags {
			if aws.ToString(t.Key) == respond.ProtectTag && strings.EqualFold(aws.ToString(t.Value), "true") {
				return true, nil
			}
		}
		return false, nil
	}
}

func describeInstance(ctx context.Context, c *Clients, id string) (*ec2types.Instance, error) {
	cl, err := c.EC2(ctx)
	if err != nil {
		return nil, err
	}
	out, err := cl.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return nil, err
	}
	for _, r := range out.Reservations {
		for i := range r.Instances {
			return &r.Instances[i], nil
		}
	}
	return nil, fmt.Errorf("no instance %s", id)
}

func ec2Actions(c *Clients) []*respond.Action {
	permission := func(p params) ec2types.IpPermission {
		from, _ := strconv.Atoi(p["from_port"])
		to, _ := strconv.Atoi(p["to_port"])
		if p["to_port"] == "" {
			to = from
		}
		proto := p["protocol"]
		if proto == "" {
			proto = "tcp"
		}
		perm := ec2types.IpPermission{IpProtocol: aws.String(proto)}
		if proto != "-1" {
			perm.FromPort, perm.ToPort = aws.Int32(int32(from)), aws.Int32(int32(to))
		}
		cidr := p["cidr"]
		if strings.Contains(cidr, ":") {
			perm.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(cidr)}}
		} else {
			perm.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(cidr)}}
		}
		return perm
	}
	revoke := &respond.Action{
		Name:        "ec2.revoke_security_group_ingress",
		Description: "Remove an ingress rule from a security group (protocol tcp by default; -1 for all).",
		Required:    []string{"group_id", "cidr"},
		Optional:    []string{"protocol", "from_port", "to_port"},
		Permissions: []string{"ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupIngress"},
		Target:      func(p params) string { return "security-group/" + p["group_id"] },
		Protected: func(ctx context.Context, p params) (bool, error) {
			cl, err := c.EC2(ctx)
			if err != nil {
				return false, err
			}
			out, err := cl.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{p["group_id"]}})
			if err != nil {
				return false, err
			}
			for _, g := range out.SecurityGroups {
				for _, t := range g.Tags {
					if aws.ToString(t.Key) == respond.ProtectTag && strings.EqualFold(aws.ToString(t.Value), "true") {
						return true, nil
					}
				}
			}
			return false, nil
		},
		Plan: func(p params) []call {
			return one("ec2", "RevokeSecurityGroupIngress", map[string]any{"GroupId": p["group_id"], "IpProtocol": p["protocol"], "FromPort": p["from_port"], "ToPort": p["to_port"], "Cidr": p["cidr"]})
		},
	}
	revoke.Execute = func(ctx context.Context, p params) (outcome, error) {
		o := outcome{Calls: revoke.Plan(p)}
		cl, err := c.EC2(ctx)
		if err != nil {
			return o, err
		}
		perm := permission(p)
		out, err := cl.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(p["group_id"]), IpPermissions: []ec2types.IpPermission{perm}})
		if err != nil {
			if apiCode(err) == "InvalidPermission.NotFound" {
				o.Before = map[string]any{"rule": false}
				o.Summary = "no such rule on " + p["group_id"] + ": nothing to revoke"
				return o, nil
			}
			return o, err
		}
		o.Before = map[string]any{"rule": out.Return == nil || aws.ToBool(out.Return)}
		o.Summary = fmt.Sprintf("ingress %s %s-%s from %s revoked on %s", aws.ToString(perm.IpProtocol), p["from_port"], p["to_port"], p["cidr"], p["group_id"])
		return o, nil
	}
	revoke.Rollback = func(ctx context.Context, p params, o outcome) error {
		if o.Before["rule"] != true {
			return nil
		}
		cl, err := c.EC2(ctx)
		if err != nil {
			return err
		}
		_, err = cl.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(p["group_id"]), IpPermissions: []ec2types.IpPermission{permission(p)}})
		return err
	}

	quarantine := &respond.Action{
		Name:        "ec2.quarantine_instance",
		Description: "Move an instance into an isolation security group with no rules (created in its VPC if missing), cutting its network.",
		Required:    []string{"instance_id"},
		Permissions: []string{"ec2:DescribeInstances", "ec2:DescribeSecurityGroups", "ec2:CreateSecurityGroup", "ec2:RevokeSecurityGroupEgress", "ec2:CreateTags", "ec2:ModifyInstanceAttribute"},
		Destructive: true,
		Target:      func(p params) string { return "instance/" + p["instance_id"] },
		Protected:   instanceProtected(c),
		Plan: func(p params) []call {
			return []call{
				{Service: "ec2", Operation: "CreateSecurityGroup", Input: map[string]any{"GroupName": "parapet-quarantine-<vpc>", "When": "missing"}},
				{Service: "ec2", Operation: "ModifyInstanceAttribute", Input: map[string]any{"InstanceId": p["instance_id"], "Groups": []string{"parapet-quarantine-<vpc>"}}},
			}
		},
	}
	quarantine.Execute = func(ctx context.Context, p params) (outcome, error) {
		o := outcome{}
		cl, err := c.EC2(ctx)
		if err != nil {
			return o, err
		}
		inst, err := describeInstance(ctx, c, p["instance_id"])
		if err != nil {
			return o, err
		}
		var groups []string
		for _, g := range inst.SecurityGroups {
			groups = append(groups, aws.ToString(g.GroupId))
		}
		o.Before = map[string]any{"groups": groups}
		vpc := aws.ToString(inst.VpcId)
		name := "parapet-quarantine-" + vpc
		var qid string
		found, err := cl.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{name}}, {Name: aws.String("vpc-id"), Values: []string{vpc}}}})
		if err != nil {
			return o, err
		}
		if len(found.SecurityGroups) > 0 {
			qid = aws.ToString(found.SecurityGroups[0].GroupId)
		} else {
			created, err := cl.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String("Parapet quarantine: no traffic in or out"), VpcId: inst.VpcId,
				TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: []ec2types.Tag{{Key: aws.String("parapet:purpose"), Value: aws.String("quarantine")}}}}})
			if err != nil {
				return o, err
			}
			qid = aws.ToString(created.GroupId)
			o.Calls = append(o.Calls, call{Service: "ec2", Operation: "CreateSecurityGroup", Input: map[string]any{"GroupName": name, "VpcId": vpc}})
			// New groups allow all egress: take it away.
			_, _ = cl.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(qid), IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
		}
		if _, err := cl.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(p["instance_id"]), Groups: []string{qid}}); err != nil {
			return o, err
		}
		o.Calls = append(o.Calls, call{Service: "ec2", Operation: "ModifyInstanceAttribute", Input: map[string]any{"InstanceId": p["instance_id"], "Groups": []string{qid}}})
		o.After = map[string]any{"groups": []string{qid}}
		o.Summary = "instance " + p["instance_id"] + " moved to isolation group " + qid
		return o, nil
	}
	quarantine.Rollback = func(ctx context.Context, p params, o outcome) error {
		cl, err := c.EC2(ctx)
		if err != nil {
			return err
		}
		var groups []string
		switch g := o.Before["groups"].(type) {
		case []string:
			groups = g
		case []any:
			for _, x := range g {
				groups = append(groups, fmt.Sprint(x))
			}
		}
		if len(groups) == 0 {
			return fmt.Errorf("the instance's groups before quarantine are unknown")
		}
		_, err = cl.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(p["instance_id"]), Groups: groups})
		return err
	}

	snapshot := &respond.Action{
		Name:        "ec2.snapshot_volumes",
		Description: "Snapshot every EBS volume of an instance for forensics, tagged with the finding (no rollback: evidence is kept).",
		Required:    []string{"instance_id"},
		Optional:    []string{"finding_id"},
		Permissions: []string{"ec2:DescribeInstances", "ec2:CreateSnapshot", "ec2:CreateTags"},
		Target:      func(p params) string { return "instance/" + p["instance_id"] },
		Protected:   instanceProtected(c),
		Plan: func(p params) []call {
			return one("ec2", "CreateSnapshot", map[string]any{"VolumeId": "(each volume of " + p["instance_id"] + ")", "Tags": map[string]string{"parapet:finding": p["finding_id"]}})
		},
	}
	snapshot.Execute = func(ctx context.Context, p params) (outcome, error) {
		o := outcome{}
		cl, err := c.EC2(ctx)
		if err != nil {
			return o, err
		}
		inst, err := describeInstance(ctx, c, p["instance_id"])
		if err != nil {
			return o, err
		}
		var snaps []string
		for _, m := range inst.BlockDeviceMappings {
			if m.Ebs == nil {
				continue
			}
			vol := aws.ToString(m.Ebs.VolumeId)
			out, err := cl.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: aws.String(vol), Description: aws.String("Parapet forensic snapshot of " + p["instance_id"]),
				TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSnapshot, Tags: []ec2types.Tag{{Key: aws.String("parapet:finding"), Value: aws.String(p["finding_id"])}, {Key: aws.String("parapet:instance"), Value: aws.String(p["instance_id"])}}}}})
			if err != nil {
				return o, err
			}
			snaps = append(snaps, aws.ToString(out.SnapshotId))
			o.Calls = append(o.Calls, call{Service: "ec2", Operation: "CreateSnapshot", Input: map[string]any{"VolumeId": vol}})
		}
		o.After = map[string]any{"snapshots": snaps}
		o.Summary = fmt.Sprintf("%d volumes of %s snapshotted: %s", len(snaps), p["instance_id"], strings.Join(snaps, ", "))
		return o, nil
	}

	stop := &respond.Action{
		Name:        "ec2.stop_instance",
		Description: "Stop an instance (its disks are kept; it can be started again).",
		Required:    []string{"instance_id"},
		Permissions: []string{"ec2:DescribeInstances", "ec2:StopInstances", "ec2:StartInstances"},
		Destructive: true,
		Target:      func(p params) string { return "instance/" + p["instance_id"] },
		Protected:   instanceProtected(c),
		Plan: func(p params) []call {
			return one("ec2", "StopInstances", map[string]any{"InstanceIds": []string{p["instance_id"]}})
		},
	}
	stop.Execute = func(ctx context.Context, p params) (outcome, error) {
		o := outcome{Calls: stop.Plan(p)}
		cl, err := c.EC2(ctx)
		if err != nil {
			return o, err
		}
		inst, err := describeInstance(ctx, c, p["instance_id"])
		if err != nil {
			return o, err
		}
		state := ""
		if inst.State != nil {
			state = string(inst.State.Name)
		}
		o.Before = map[string]any{"state": state}
		if _, err := cl.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{p["instance_id"]}}); err != nil {
			return o, err
		}
		o.Summary = "instance " + p["instance_id"] + " stopping (was " + state + ")"
		return o, nil
	}
	stop.Rollback = func(ctx context.Context, p params, o outcome) error {
		if o.Before["state"] != "running" {
			return nil
		}
		cl, err := c.EC2(ctx)
		if err != nil {
			return err
		}
		_, err = cl.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{p["instance_id"]}})
		return err
	}
	return []*respond.Action{revoke, quarantine, snapshot, stop}
}

// ---- CloudTrail and GuardDuty ----

func auditServiceActions(c *Clients) []*respond.Action {
	start := &respond.Action{
		Name:        "cloudtrail.start_logging",
		Description: "Start a trail logging again (no rollback: Parapet never stops a trail).",
		Required:    []string{"trail"},
		Permissions: []string{"cloudtrail:GetTrailStatus", "cloudtrail:StartLogging"},
		Target:      func(p params) string { return "trail/" + p["trail"] },
		Plan: func(p params) []call {
			return one("cloudtrail", "StartLogging", map[string]any{"Name": p["trail"]})
		},
	}
	start.Execute = func(ctx context.Context, p params) (outcome, error) {
		o := outcome{Calls: start.Plan(p)}
		cl, err := c.CloudTrail(ctx)
		if err != nil {
			return o, err
		}
		st, err := cl.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(p["trail"])})
		if err != nil {
			return o, err
		}
		o.Before = map[string]any{"logging": aws.ToBool(st.IsLogging)}
		if _, err := cl.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(p["trail"])}); err != nil {
			return o, err
		}
		o.After = map[string]any{"logging": true}
		o.Summary = "trail " + p["trail"] + " logging again"
		return o, nil
	}

	gd := &respond.Action{
		Name:        "guardduty.enable_detector",
		Description: "Enable a GuardDuty detector again (no rollback: Parapet never disables detection).",
		Required:    []string{"detector_id"},
		Permissions: []string{"guardduty:GetDetector", "guardduty:UpdateDetector"},
		Target:      func(p params) string { return "guardduty-detector/" + p["detector_id"] },
		Plan: func(p params) []call {
			return one("guardduty", "UpdateDetector", map[string]any{"DetectorId": p["detector_id"], "Enable": true})
		},
	}
	gd.Execute = func(ctx context.Context, p params) (outcome, error) {
		o := outcome{Calls: gd.Plan(p)}
		cl, err := c.GuardDuty(ctx)
		if err != nil {
			return o, err
		}
		cur, err := cl.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(p["detector_id"])})
		if err != nil {
			return o, err
		}
		o.Before = map[string]any{"status": string(cur.Status)}
		if _, err := cl.UpdateDetector(ctx, &guardduty.UpdateDetectorInput{DetectorId: aws.String(p["detector_id"]), Enable: aws.Bool(true)}); err != nil {
			return o, err
		}
		o.Summary = "GuardDuty detector " + p["detector_id"] + " enabled"
		return o, nil
	}
	return []*respond.Action{start, gd}
}

// quarantine attaches an inline deny-all policy to a user or a role
// (kind): every call it makes, or every session of it, is refused until
// the policy is removed.
func quarantine(c *Clients, kind string) *respond.Action {
	what := map[string]string{"user": "every call it makes", "role": "every session of it"}[kind]
	Kind := strings.ToUpper(kind[:1]) + kind[1:]
	a := &respond.Action{
		Name:        "iam.quarantine_" + kind,
		Description: "Attach an inline deny-all policy to a " + kind + ": " + what + " is refused until the policy is removed.",
		Required:    []string{kind},
		Permissions: []string{"iam:Put" + Kind + "Policy", "iam:Delete" + Kind + "Policy", "iam:Get" + Kind + "Policy", "iam:List" + Kind + "Tags"},
		Destructive: true,
		Target:      func(p params) string { return "iam-" + kind + "/" + p[kind] },
		Plan: func(p params) []call {
			return one("iam", "Put"+Kind+"Policy", map[string]any{Kind + "Name": p[kind], "PolicyName": quarantineName, "PolicyDocument": quarantinePolicy})
		},
	}
	// The three calls, for users or for roles.
	get := func(ctx context.Context, cl *iam.Client, name string) error {
		if kind == "user" {
			_, err := cl.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(quarantineName)})
			return err
		}
		_, err := cl.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(quarantineName)})
		return err
	}
	put := func(ctx context.Context, cl *iam.Client, name string) error {
		if kind == "user" {
			_, err := cl.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(quarantineName), PolicyDocument: aws.String(quarantinePolicy)})
			return err
		}
		_, err := cl.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(quarantineName), PolicyDocument: aws.String(quarantinePolicy)})
		return err
	}
	del := func(ctx context.Context, cl *iam.Client, name string) error {
		if kind == "user" {
			_, err := cl.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(quarantineName)})
			return err
		}
		_, err := cl.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(quarantineName)})
		return err
	}
	if kind == "user" {
		a.Protected = userProtected(c)
	} else {
		a.Protected = roleProtected(c)
	}
	a.Execute = func(ctx context.Context, p params) (outcome, error) {
		o := outcome{Calls: a.Plan(p)}
		cl, err := c.IAM(ctx)
		if err != nil {
			return o, err
		}
		o.Before = map[string]any{"quarantined": get(ctx, cl, p[kind]) == nil}
		if err := put(ctx, cl, p[kind]); err != nil {
			return o, err
		}
		o.Summary = kind + " " + p[kind] + " quarantined (inline deny-all " + quarantineName + ")"
		return o, nil
	}
	a.Rollback = func(ctx context.Context, p params, o outcome) error {
		if o.Before["quarantined"] == true {
			return nil
		}
		cl, err := c.IAM(ctx)
		if err != nil {
			return err
		}
		return del(ctx, cl, p[kind])
	}
	return a
}
