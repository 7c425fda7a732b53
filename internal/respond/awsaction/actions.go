package awsaction

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/parapet-sec/parapet/internal/iampolicy"
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

var bucketKinds = map[string]respond.Kind{"bucket": respond.KindBucket}

func s3Actions(c *Clients) []*respond.Action {
	pab := &respond.Action{
		Name:        "s3.put_public_access_block",
		Description: "Block every form of public access to a bucket (all four PublicAccessBlock settings on).",
		Required:    []string{"bucket"},
		Permissions: []string{"s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock", "s3:GetBucketTagging", "s3:ListBucket"},
		Kinds:       bucketKinds,
		Target:      bucketTarget,
		Protected:   bucketProtected(c),
		Plan: func(p params) []call {
			return one("s3", "PutPublicAccessBlock", map[string]any{"Bucket": p["bucket"], "PublicAccessBlockConfiguration": map[string]bool{"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}})
		},
	}
	readPAB := func(ctx context.Context, cl *s3.Client, bucket string) (map[string]bool, error) {
		cur, err := cl.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(bucket)})
		if err != nil {
			if apiCode(err) == "NoSuchPublicAccessBlockConfiguration" {
				return nil, nil
			}
			return nil, err
		}
		return pabMap(cur.PublicAccessBlockConfiguration), nil
	}
	pab.Verify = verifyBucket(c, func(ctx context.Context, cl *s3.Client, p params) (respond.Live, error) {
		cur, err := readPAB(ctx, cl, p["bucket"])
		if err != nil {
			return respond.Live{}, err
		}
		live := respond.Live{State: map[string]any{"public_access_block": cur}, IDs: []string{bucketTarget(p)}}
		var off []string
		for _, k := range []string{"BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"} {
			if !cur[k] {
				off = append(off, k)
			}
		}
		if len(off) == 0 {
			live.Why = "all four PublicAccessBlock settings are on"
			return live, nil
		}
		live.Problem, live.Why = true, "PublicAccessBlock settings off: "+strings.Join(off, ", ")
		return live, nil
	})
	pab.Execute = func(ctx context.Context, p params) (outcome, error) {
		o := outcome{Calls: pab.Plan(p)}
		cl, err := c.S3(ctx)
		if err != nil {
			return o, err
		}
		cur, err := readPAB(ctx, cl, p["bucket"])
		if err != nil {
			return o, err
		}
		o.Before = map[string]any{"public_access_block": cur}
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
		prev := boolMap(o.Before["public_access_block"])
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
		Description: "When the bucket's live policy is public: put back the operator's baseline for the bucket, else the newest " +
			"non-public policy Parapet itself read from the bucket (posture scans, reads before earlier actions), else remove only " +
			"the public statements and keep the rest. Never restores from ingested records.",
		Required:    []string{"bucket"},
		Optional:    []string{"exclude_event"},
		Permissions: []string{"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:GetBucketTagging", "s3:ListBucket"},
		Destructive: false,
		Kinds:       map[string]respond.Kind{"bucket": respond.KindBucket, "exclude_event": respond.KindText},
		Target:      bucketTarget,
		Protected:   bucketProtected(c),
	}
	readPolicy := func(ctx context.Context, cl *s3.Client, bucket string) (string, error) {
		cur, err := cl.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
		if err != nil {
			if apiCode(err) == "NoSuchBucketPolicy" {
				return "", nil
			}
			return "", err
		}
		return aws.ToString(cur.Policy), nil
	}
	revert.Verify = verifyBucket(c, func(ctx context.Context, cl *s3.Client, p params) (respond.Live, error) {
		pol, err := readPolicy(ctx, cl, p["bucket"])
		if err != nil {
			return respond.Live{}, err
		}
		live := respond.Live{State: map[string]any{"policy": pol}, IDs: []string{bucketTarget(p)}}
		if pol == "" {
			live.State["policy"] = nil
			live.Why = "bucket " + p["bucket"] + " has no policy"
			return live, nil
		}
		doc, err := iampolicy.Parse([]byte(pol))
		if err != nil {
			return respond.Live{}, fmt.Errorf("the live policy of %s: %w", p["bucket"], err)
		}
		live.Problem = doc.Public()
		c.snapshot(ctx, respond.Snapshot{Kind: respond.SnapshotBucketPolicy, Resource: p["bucket"], State: pol, Problem: live.Problem, Source: "read before s3.revert_bucket_policy"})
		if !live.Problem {
			live.Why = "the live policy of " + p["bucket"] + " grants nothing to everyone"
			return live, nil
		}
		live.Why = fmt.Sprintf("the live policy of %s grants to everyone in %d statement(s)", p["bucket"], len(doc.PublicStatements()))
		return live, nil
	})
	revert.Plan = func(p params) []call {
		return []call{{Service: "s3", Operation: "PutBucketPolicy", Input: map[string]any{"Bucket": p["bucket"],
			"Policy": "the operator's baseline for the bucket, else the newest non-public policy Parapet read from it, else the live policy without its public statements"}}}
	}
	revert.Execute = func(ctx context.Context, p params) (outcome, error) {
		o := outcome{}
		cl, err := c.S3(ctx)
		if err != nil {
			return o, err
		}
		live, err := readPolicy(ctx, cl, p["bucket"])
		if err != nil {
			return o, err
		}
		o.Before = map[string]any{"policy": live}
		if live == "" {
			o.Before["policy"] = nil
			o.Summary = "bucket " + p["bucket"] + " has no policy: nothing to revert"
			return o, nil
		}
		doc, err := iampolicy.Parse([]byte(live))
		if err != nil {
			return o, fmt.Errorf("the live policy of %s: %w", p["bucket"], err)
		}
		if !doc.Public() {
			o.Summary = "the policy of " + p["bucket"] + " is no longer public: nothing to revert"
			return o, nil
		}
		restore, from, err := c.restorePolicy(ctx, p["bucket"])
		if err != nil {
			return o, err
		}
		if restore != "" {
			o.Calls = one("s3", "PutBucketPolicy", map[string]any{"Bucket": p["bucket"], "Policy": restore, "From": from})
			if _, err := cl.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(p["bucket"]), Policy: aws.String(restore)}); err != nil {
				return o, err
			}
			o.After = map[string]any{"policy": restore, "restored_from": from}
			o.Summary = "bucket policy of " + p["bucket"] + " restored from " + from
			return o, nil
		}
		// No verified earlier policy: take out only what makes it public.
		pub := doc.PublicStatements()
		rest, n := doc.Without(pub)
		if n == 0 {
			// Every statement was a public grant: removing them is removing
			// the policy, and nothing else is lost.
			o.Calls = one("s3", "DeleteBucketPolicy", map[string]any{"Bucket": p["bucket"]})
			if _, err := cl.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(p["bucket"])}); err != nil {
				return o, err
			}
			o.After = map[string]any{"policy": nil, "removed_statements": len(pub)}
			o.Summary = fmt.Sprintf("bucket policy of %s held only public grants (%d): removed", p["bucket"], len(pub))
			return o, nil
		}
		o.Calls = one("s3", "PutBucketPolicy", map[string]any{"Bucket": p["bucket"], "Policy": string(rest)})
		if _, err := cl.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(p["bucket"]), Policy: aws.String(string(rest))}); err != nil {
			return o, err
		}
		o.After = map[string]any{"policy": string(rest), "removed_statements": len(pub)}
		o.Summary = fmt.Sprintf("%d public statement(s) removed from the policy of %s; %d kept (Parapet has no earlier read of it to restore)", len(pub), p["bucket"], n)
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
		Name: "s3.enable_default_encryption",
		Description: "When a bucket has no default encryption, or weaker than Parapet last read (SSE-S3 where it read SSE-KMS), " +
			"put back the configuration Parapet read (the same KMS key); with none read, SSE-S3, or SSE-KMS with kms_key.",
		Required:    []string{"bucket"},
		Optional:    []string{"kms_key"},
		Permissions: []string{"s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration", "s3:GetBucketTagging", "s3:ListBucket"},
		Kinds:       map[string]respond.Kind{"bucket": respond.KindBucket, "kms_key": respond.KindKMSKey},
		Target:      bucketTarget,
		Protected:   bucketProtected(c),
	}
	enc.Plan = func(p params) []call {
		alg := "the configuration Parapet last read, else AES256"
		if p["kms_key"] != "" {
			alg = "the configuration Parapet last read, else aws:kms " + p["kms_key"]
		}
		return one("s3", "PutBucketEncryption", map[string]any{"Bucket": p["bucket"], "SSEAlgorithm": alg})
	}
	// want is what the bucket should have: what Parapet last read when it
	// was good, else what the playbook asks for.
	want := func(ctx context.Context, p params) (encryption, string) {
		if c.Snapshots != nil {
			if snap, ok, err := c.Snapshots.LatestGood(ctx, respond.SnapshotBucketEncryption, p["bucket"]); err == nil && ok {
				var e encryption
				if json.Unmarshal([]byte(snap.State), &e) == nil && e.Algorithm != "" {
					return e, "Parapet's read of " + snap.At.UTC().Format(time.RFC3339) + " (" + snap.Source + ")"
				}
			}
		}
		if p["kms_key"] != "" {
			return encryption{Algorithm: "aws:kms", KMSKey: p["kms_key"]}, "the playbook's kms_key"
		}
		return encryption{Algorithm: "AES256"}, "the default (SSE-S3)"
	}
	enc.Verify = verifyBucket(c, func(ctx context.Context, cl *s3.Client, p params) (respond.Live, error) {
		cur, raw, err := readEncryption(ctx, cl, p["bucket"])
		if err != nil {
			return respond.Live{}, err
		}
		live := respond.Live{State: map[string]any{"encryption": raw}, IDs: []string{bucketTarget(p)}}
		w, from := want(ctx, p)
		switch {
		case cur.Algorithm == "":
			live.Problem, live.Why = true, "bucket "+p["bucket"]+" has no default encryption"
		case cur.weaker(w):
			live.Problem, live.Why = true, fmt.Sprintf("bucket %s is encrypted with %s, weaker than %s (%s)", p["bucket"], cur, w, from)
		default:
			live.Why = fmt.Sprintf("bucket %s is encrypted with %s", p["bucket"], cur)
			c.snapshot(ctx, respond.Snapshot{Kind: respond.SnapshotBucketEncryption, Resource: p["bucket"], State: cur.json(), Source: "read before s3.enable_default_encryption"})
		}
		return live, nil
	})
	enc.Execute = func(ctx context.Context, p params) (outcome, error) {
		o := outcome{}
		cl, err := c.S3(ctx)
		if err != nil {
			return o, err
		}
		_, raw, err := readEncryption(ctx, cl, p["bucket"])
		if err != nil {
			return o, err
		}
		o.Before = map[string]any{"encryption": raw}
		w, from := want(ctx, p)
		d := &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryption(w.Algorithm)}
		if w.KMSKey != "" {
			d.KMSMasterKeyID = aws.String(w.KMSKey)
		}
		rule := s3types.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: d}
		if w.Algorithm != "AES256" {
			rule.BucketKeyEnabled = aws.Bool(true)
		}
		o.Calls = one("s3", "PutBucketEncryption", map[string]any{"Bucket": p["bucket"], "SSEAlgorithm": w.Algorithm, "KMSMasterKeyID": w.KMSKey, "From": from})
		if _, err := cl.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(p["bucket"]),
			ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{rule}}}); err != nil {
			return o, err
		}
		o.After = map[string]any{"encryption": w.json()}
		o.Summary = "default encryption of bucket " + p["bucket"] + " set to " + w.String() + " (" + from + ")"
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
		Permissions: []string{"s3:GetBucketVersioning", "s3:PutBucketVersioning", "s3:GetBucketTagging", "s3:ListBucket"},
		Kinds:       bucketKinds,
		Target:      bucketTarget,
		Protected:   bucketProtected(c),
		Plan: func(p params) []call {
			return one("s3", "PutBucketVersioning", map[string]any{"Bucket": p["bucket"], "Status": "Enabled"})
		},
	}
	ver.Verify = verifyBucket(c, func(ctx context.Context, cl *s3.Client, p params) (respond.Live, error) {
		cur, err := cl.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(p["bucket"])})
		if err != nil {
			return respond.Live{}, err
		}
		live := respond.Live{State: map[string]any{"versioning": string(cur.Status)}, IDs: []string{bucketTarget(p)}}
		if cur.Status == s3types.BucketVersioningStatusEnabled {
			live.Why = "versioning of " + p["bucket"] + " is on"
			return live, nil
		}
		live.Problem, live.Why = true, "versioning of "+p["bucket"]+" is off"
		return live, nil
	})
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
		Permissions: []string{"s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging", "s3:ListBucket"},
		Kinds:       bucketKinds,
		Target:      bucketTarget,
		Protected:   bucketProtected(c),
		Plan: func(p params) []call {
			return one("s3", "PutBucketAcl", map[string]any{"Bucket": p["bucket"], "ACL": "private"})
		},
	}
	acl.Verify = verifyBucket(c, func(ctx context.Context, cl *s3.Client, p params) (respond.Live, error) {
		cur, err := cl.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(p["bucket"])})
		if err != nil {
			return respond.Live{}, err
		}
		live := respond.Live{IDs: []string{bucketTarget(p)}}
		var public []string
		for _, g := range cur.Grants {
			if g.Grantee != nil && (strings.HasSuffix(aws.ToString(g.Grantee.URI), "/global/AllUsers") || strings.HasSuffix(aws.ToString(g.Grantee.URI), "/global/AuthenticatedUsers")) {
				public = append(public, aws.ToString(g.Grantee.URI)+" "+string(g.Permission))
			}
		}
		live.State = map[string]any{"public_grants": public}
		if len(public) == 0 {
			live.Why = "the ACL of " + p["bucket"] + " grants nothing to AllUsers or AuthenticatedUsers"
			return live, nil
		}
		live.Problem, live.Why = true, "the ACL of "+p["bucket"]+" grants "+strings.Join(public, ", ")
		return live, nil
	})
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

// bucketGone says whether a bucket does not exist (a record may name any).
// verifyBucket is the Verify of a bucket action: the live bucket is
// read through read, and a bucket that no longer exists has nothing to
// act on.
func verifyBucket(c *Clients, read func(context.Context, *s3.Client, params) (respond.Live, error)) func(context.Context, params) (respond.Live, error) {
	return func(ctx context.Context, p params) (respond.Live, error) {
		cl, err := c.S3(ctx)
		if err != nil {
			return respond.Live{}, err
		}
		if gone, err := bucketGone(ctx, cl, p["bucket"]); err != nil || gone {
			return respond.Live{Why: "no bucket " + p["bucket"]}, err
		}
		return read(ctx, cl, p)
	}
}

func bucketGone(ctx context.Context, cl *s3.Client, bucket string) (bool, error) {
	_, err := cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return false, nil
	}
	var nf *s3types.NotFound
	if errors.As(err, &nf) || apiCode(err) == "NoSuchBucket" || apiCode(err) == "NotFound" {
		return true, nil
	}
	return false, err
}

// encryption is a bucket's default encryption, as Parapet compares it.
type encryption struct {
	Algorithm string `json:"algorithm"` // AES256, aws:kms, aws:kms:dsse; "" for none
	KMSKey    string `json:"kms_key,omitempty"`
}

func (e encryption) String() string {
	if e.KMSKey != "" {
		return e.Algorithm + " with key " + e.KMSKey
	}
	return e.Algorithm
}

func (e encryption) json() string { b, _ := json.Marshal(e); return string(b) }

// weaker: the live configuration protects less than want (no encryption,
// SSE-S3 where a KMS key was, or another key than the one read).
func (e encryption) weaker(want encryption) bool {
	if want.Algorithm == "" || want.Algorithm == "AES256" {
		return e.Algorithm == ""
	}
	return e.Algorithm != want.Algorithm || want.KMSKey != "" && e.KMSKey != want.KMSKey
}

// readEncryption reads a bucket's default encryption: compared form and
// the rules as returned (for before-states and rollback).
func readEncryption(ctx context.Context, cl *s3.Client, bucket string) (encryption, string, error) {
	out, err := cl.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)})
	if err != nil {
		if apiCode(err) == "ServerSideEncryptionConfigurationNotFoundError" {
			return encryption{}, "", nil
		}
		return encryption{}, "", err
	}
	if out.ServerSideEncryptionConfiguration == nil || len(out.ServerSideEncryptionConfiguration.Rules) == 0 {
		return encryption{}, "", nil
	}
	raw, _ := json.Marshal(out.ServerSideEncryptionConfiguration.Rules)
	d := out.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault
	if d == nil {
		return encryption{}, string(raw), nil
	}
	return encryption{Algorithm: string(d.SSEAlgorithm), KMSKey: aws.ToString(d.KMSMasterKeyID)}, string(raw), nil
}

// snapshot keeps what an action read (best effort: a store that cannot
// write does not stop the response).
func (c *Clients) snapshot(ctx context.Context, s respond.Snapshot) {
	if c.Snapshots != nil {
		_ = c.Snapshots.Record(ctx, s)
	}
}

// restorePolicy is the policy a public bucket goes back to, and where it
// comes from: the operator's baseline, else the newest non-public policy
// Parapet itself read; "" when there is neither.
func (c *Clients) restorePolicy(ctx context.Context, bucket string) (string, string, error) {
	if c.Baselines != "" {
		path := filepath.Join(c.Baselines, bucket+".json")
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			doc, err := iampolicy.Parse(b)
			if err != nil {
				return "", "", fmt.Errorf("baseline %s: %w", path, err)
			}
			if doc.Public() {
				return "", "", fmt.Errorf("baseline %s is itself public: refusing to restore it", path)
			}
			return strings.TrimSpace(string(b)), "the operator's baseline " + path, nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", "", err
		}
	}
	if c.Snapshots == nil {
		return "", "", nil
	}
	snap, ok, err := c.Snapshots.LatestGood(ctx, respond.SnapshotBucketPolicy, bucket)
	if err != nil || !ok || snap.State == "" {
		return "", "", err
	}
	if doc, err := iampolicy.Parse([]byte(snap.State)); err != nil || doc.Public() {
		return "", "", nil
	}
	return snap.State, "Parapet's read of " + snap.At.UTC().Format(time.RFC3339) + " (" + snap.Source + ")", nil
}

func boolMap(v any) map[string]bool {
	switch m := v.(type) {
	case map[string]bool:
		return m
	case map[string]any:
		out := map[string]bool{}
		for k, x := range m {
			out[k], _ = x.(bool)
		}
		return out
	}
	return nil
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
		Permissions: []string{"iam:GetUser", "iam:ListAccessKeys", "iam:UpdateAccessKey", "iam:ListUserTags"},
		Destructive: true,
		Kinds:       map[string]respond.Kind{"user": respond.KindUser, "access_key_id": respond.KindAccessKeyID},
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
		_, err = cl.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String(p["user"]), AccessKeyId: aws.String(p["access_key_id"]), Status: iamtypes.StatusType(status)})
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
	deactivate.Verify = func(ctx context.Context, p params) (respond.Live, error) {
		cl, err := c.IAM(ctx)
		if err != nil {
			return respond.Live{}, err
		}
		arn, gone, err := userARN(ctx, cl, p["user"])
		if err != nil || gone {
			return respond.Live{Why: "no IAM user " + p["user"]}, err
		}
		keys, err := cl.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(p["user"])})
		if err != nil {
			return respond.Live{}, err
		}
		live := respond.Live{IDs: []string{arn, p["access_key_id"]}}
		for _, k := range keys.AccessKeyMetadata {
			if aws.ToString(k.AccessKeyId) != p["access_key_id"] {
				continue
			}
			live.State = map[string]any{"status": string(k.Status)}
			if k.Status == iamtypes.StatusTypeActive {
				live.Problem, live.Why = true, "access key "+p["access_key_id"]+" of "+p["user"]+" is active"
			} else {
				live.Why = "access key " + p["access_key_id"] + " of " + p["user"] + " is already " + string(k.Status)
			}
			return live, nil
		}
		live.Why = "user " + p["user"] + " has no access key " + p["access_key_id"]
		return live, nil
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
		Permissions: []string{"iam:GetRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:ListRoleTags"},
		Destructive: true,
		Kinds:       map[string]respond.Kind{"role": respond.KindRole},
		Target:      func(p params) string { return "iam-role/" + p["role"] },
		Protected:   roleProtected(c),
	}
	revoke.Verify = func(ctx context.Context, p params) (respond.Live, error) {
		cl, err := c.IAM(ctx)
		if err != nil {
			return respond.Live{}, err
		}
		out, err := cl.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(p["role"])})
		if err != nil {
			if apiCode(err) == "NoSuchEntity" {
				return respond.Live{Why: "no IAM role " + p["role"]}, nil
			}
			return respond.Live{}, err
		}
		// A role's sessions cannot be listed: while it exists, sessions
		// issued before now may be in use.
		return respond.Live{Problem: true, Why: "role " + p["role"] + " exists; sessions issued before now may be in use",
			IDs: []string{aws.ToString(out.Role.Arn)}, State: map[string]any{"role": aws.ToString(out.Role.Arn)}}, nil
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
		Permissions: []string{"iam:GetUser", "iam:GetLoginProfile", "iam:DeleteLoginProfile", "iam:ListUserTags"},
		Destructive: true,
		Kinds:       map[string]respond.Kind{"user": respond.KindUser},
		Target:      func(p params) string { return "iam-user/" + p["user"] },
		Protected:   userProtected(c),
		Plan: func(p params) []call {
			return one("iam", "DeleteLoginProfile", map[string]any{"UserName": p["user"]})
		},
	}
	loginProfile.Verify = func(ctx context.Context, p params) (respond.Live, error) {
		cl, err := c.IAM(ctx)
		if err != nil {
			return respond.Live{}, err
		}
		arn, gone, err := userARN(ctx, cl, p["user"])
		if err != nil || gone {
			return respond.Live{Why: "no IAM user " + p["user"]}, err
		}
		if _, err := cl.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String(p["user"])}); err != nil {
			if apiCode(err) == "NoSuchEntity" {
				return respond.Live{Why: p["user"] + " has no console password", IDs: []string{arn}, State: map[string]any{"login_profile": false}}, nil
			}
			return respond.Live{}, err
		}
		return respond.Live{Problem: true, Why: p["user"] + " has a console password", IDs: []string{arn}, State: map[string]any{"login_profile": true}}, nil
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
			Kinds:       map[string]respond.Kind{kind: principalKind(kind), "policy_arn": respond.KindPolicyARN},
			Target:      func(p params) string { return "iam-" + kind + "/" + p[kind] },
			Plan: func(p params) []call {
				return one("iam", "Detach"+title(kind)+"Policy", map[string]any{title(kind) + "Name": p[kind], "PolicyArn": p["policy_arn"]})
			},
		}
		a.Permissions = append(a.Permissions, "iam:ListAttached"+title(kind)+"Policies")
		a.Verify = func(ctx context.Context, p params) (respond.Live, error) {
			cl, err := c.IAM(ctx)
			if err != nil {
				return respond.Live{}, err
			}
			var arns []string
			if kind == "user" {
				out, err := cl.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String(p[kind])})
				if apiCode(err) == "NoSuchEntity" {
					return respond.Live{Why: "no IAM user " + p[kind]}, nil
				} else if err != nil {
					return respond.Live{}, err
				}
				for _, x := range out.AttachedPolicies {
					arns = append(arns, aws.ToString(x.PolicyArn))
				}
			} else {
				out, err := cl.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(p[kind])})
				if apiCode(err) == "NoSuchEntity" {
					return respond.Live{Why: "no IAM role " + p[kind]}, nil
				} else if err != nil {
					return respond.Live{}, err
				}
				for _, x := range out.AttachedPolicies {
					arns = append(arns, aws.ToString(x.PolicyArn))
				}
			}
			live := respond.Live{State: map[string]any{"attached": arns}}
			if slices.Contains(arns, p["policy_arn"]) {
				live.Problem, live.Why = true, p["policy_arn"]+" is attached to "+kind+" "+p[kind]
			} else {
				live.Why = p["policy_arn"] + " is not attached to " + kind + " " + p[kind]
			}
			return live, nil
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

func principalKind(kind string) respond.Kind {
	if kind == "user" {
		return respond.KindUser
	}
	return respond.KindRole
}

// userARN reads a user's ARN (with its path); gone when there is no such
// user.
func userARN(ctx context.Context, cl *iam.Client, user string) (string, bool, error) {
	out, err := cl.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(user)})
	if err != nil {
		if apiCode(err) == "NoSuchEntity" {
			return "", true, nil
		}
		return "", false, err
	}
	return aws.ToString(out.User.Arn), false, nil
}

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

var instanceKinds = map[string]respond.Kind{"instance_id": respond.KindInstanceID}

// liveInstance reads an instance; nil (with the reason in Live) when it
// does not exist or is gone.
func liveInstance(ctx context.Context, c *Clients, id string) (*ec2types.Instance, respond.Live, error) {
	cl, err := c.EC2(ctx)
	if err != nil {
		return nil, respond.Live{}, err
	}
	out, err := cl.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		if apiCode(err) == "InvalidInstanceID.NotFound" || apiCode(err) == "InvalidInstanceID.Malformed" {
			return nil, respond.Live{Why: "no instance " + id}, nil
		}
		return nil, respond.Live{}, err
	}
	for _, r := range out.Reservations {
		for i := range r.Instances {
			inst := &r.Instances[i]
			if inst.State == nil || inst.State.Name == ec2types.InstanceStateNameTerminated || inst.State.Name == ec2types.InstanceStateNameShuttingDown {
				return nil, respond.Live{Why: "instance " + id + " is terminated"}, nil
			}
			arn := "arn:aws:ec2:" + regionOf(ctx) + ":" + aws.ToString(r.OwnerId) + ":instance/" + id
			return inst, respond.Live{IDs: []string{id, arn}}, nil
		}
	}
	return nil, respond.Live{Why: "no instance " + id}, nil
}

// sameRule says whether a live ingress rule is the one p describes (same
// protocol and ports, and the CIDR among its ranges).
func sameRule(have, want ec2types.IpPermission) bool {
	proto := func(s string) string {
		switch strings.ToLower(s) {
		case "6":
			return "tcp"
		case "17":
			return "udp"
		case "1":
			return "icmp"
		case "all":
			return "-1"
		}
		return strings.ToLower(s)
	}
	if proto(aws.ToString(have.IpProtocol)) != proto(aws.ToString(want.IpProtocol)) {
		return false
	}
	if proto(aws.ToString(want.IpProtocol)) != "-1" && (aws.ToInt32(have.FromPort) != aws.ToInt32(want.FromPort) || aws.ToInt32(have.ToPort) != aws.ToInt32(want.ToPort)) {
		return false
	}
	for _, r := range want.IpRanges {
		for _, h := range have.IpRanges {
			if aws.ToString(h.CidrIp) == aws.ToString(r.CidrIp) {
				return true
			}
		}
	}
	for _, r := range want.Ipv6Ranges {
		for _, h := range have.Ipv6Ranges {
			if aws.ToString(h.CidrIpv6) == aws.ToString(r.CidrIpv6) {
				return true
			}
		}
	}
	return false
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
		Kinds: map[string]respond.Kind{"group_id": respond.KindGroupID, "cidr": respond.KindCIDR, "protocol": respond.KindProtocol,
			"from_port": respond.KindPort, "to_port": respond.KindPort},
		Target: func(p params) string { return "security-group/" + p["group_id"] },
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
	revoke.Verify = func(ctx context.Context, p params) (respond.Live, error) {
		cl, err := c.EC2(ctx)
		if err != nil {
			return respond.Live{}, err
		}
		out, err := cl.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{p["group_id"]}})
		if err != nil {
			if apiCode(err) == "InvalidGroup.NotFound" || apiCode(err) == "InvalidGroupId.NotFound" {
				return respond.Live{Why: "no security group " + p["group_id"]}, nil
			}
			return respond.Live{}, err
		}
		want := permission(p)
		for _, g := range out.SecurityGroups {
			ids := []string{aws.ToString(g.GroupId), "arn:aws:ec2:" + regionOf(ctx) + ":" + aws.ToString(g.OwnerId) + ":security-group/" + aws.ToString(g.GroupId)}
			for _, have := range g.IpPermissions {
				if sameRule(have, want) {
					return respond.Live{Problem: true, IDs: ids, Why: fmt.Sprintf("%s allows %s %s-%s from %s", p["group_id"], aws.ToString(want.IpProtocol), p["from_port"], p["to_port"], p["cidr"]),
						State: map[string]any{"rule": true}}, nil
				}
			}
			return respond.Live{IDs: ids, Why: fmt.Sprintf("%s has no rule for %s %s-%s from %s", p["group_id"], aws.ToString(want.IpProtocol), p["from_port"], p["to_port"], p["cidr"]),
				State: map[string]any{"rule": false}}, nil
		}
		return respond.Live{Why: "no security group " + p["group_id"]}, nil
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
		Kinds:       instanceKinds,
		Target:      func(p params) string { return "instance/" + p["instance_id"] },
		Protected:   instanceProtected(c),
		Plan: func(p params) []call {
			return []call{
				{Service: "ec2", Operation: "CreateSecurityGroup", Input: map[string]any{"GroupName": "parapet-quarantine-<vpc>", "When": "missing"}},
				{Service: "ec2", Operation: "ModifyInstanceAttribute", Input: map[string]any{"InstanceId": p["instance_id"], "Groups": []string{"parapet-quarantine-<vpc>"}}},
			}
		},
	}
	quarantine.Verify = func(ctx context.Context, p params) (respond.Live, error) {
		inst, live, err := liveInstance(ctx, c, p["instance_id"])
		if err != nil || inst == nil {
			return live, err
		}
		var groups []string
		isolated := len(inst.SecurityGroups) > 0
		for _, g := range inst.SecurityGroups {
			groups = append(groups, aws.ToString(g.GroupId))
			isolated = isolated && strings.HasPrefix(aws.ToString(g.GroupName), "parapet-quarantine-")
		}
		live.State = map[string]any{"groups": groups}
		if isolated {
			live.Why = "instance " + p["instance_id"] + " is already in its isolation group"
			return live, nil
		}
		live.Problem, live.Why = true, "instance "+p["instance_id"]+" is in groups "+strings.Join(groups, ", ")
		return live, nil
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
		Kinds:       map[string]respond.Kind{"instance_id": respond.KindInstanceID, "finding_id": respond.KindFindingID},
		Target:      func(p params) string { return "instance/" + p["instance_id"] },
		Protected:   instanceProtected(c),
		Plan: func(p params) []call {
			return one("ec2", "CreateSnapshot", map[string]any{"VolumeId": "(each volume of " + p["instance_id"] + ")", "Tags": map[string]string{"parapet:finding": p["finding_id"]}})
		},
	}
	snapshot.Verify = func(ctx context.Context, p params) (respond.Live, error) {
		inst, live, err := liveInstance(ctx, c, p["instance_id"])
		if err != nil || inst == nil {
			return live, err
		}
		n := 0
		for _, m := range inst.BlockDeviceMappings {
			if m.Ebs != nil {
				n++
			}
		}
		if n == 0 {
			live.Why = "instance " + p["instance_id"] + " has no EBS volume to keep"
			return live, nil
		}
		live.Problem, live.Why = true, fmt.Sprintf("instance %s has %d EBS volume(s) to keep as evidence", p["instance_id"], n)
		return live, nil
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
		Kinds:       instanceKinds,
		Target:      func(p params) string { return "instance/" + p["instance_id"] },
		Protected:   instanceProtected(c),
		Plan: func(p params) []call {
			return one("ec2", "StopInstances", map[string]any{"InstanceIds": []string{p["instance_id"]}})
		},
	}
	stop.Verify = func(ctx context.Context, p params) (respond.Live, error) {
		inst, live, err := liveInstance(ctx, c, p["instance_id"])
		if err != nil || inst == nil {
			return live, err
		}
		state := string(inst.State.Name)
		live.State = map[string]any{"state": state}
		if state == "running" || state == "pending" {
			live.Problem, live.Why = true, "instance "+p["instance_id"]+" is "+state
			return live, nil
		}
		live.Why = "instance " + p["instance_id"] + " is " + state
		return live, nil
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
		Kinds:       map[string]respond.Kind{"trail": respond.KindTrail},
		Target:      func(p params) string { return "trail/" + p["trail"] },
		Plan: func(p params) []call {
			return one("cloudtrail", "StartLogging", map[string]any{"Name": p["trail"]})
		},
	}
	start.Verify = func(ctx context.Context, p params) (respond.Live, error) {
		cl, err := c.CloudTrail(ctx)
		if err != nil {
			return respond.Live{}, err
		}
		st, err := cl.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(p["trail"])})
		if err != nil {
			if apiCode(err) == "TrailNotFoundException" {
				return respond.Live{Why: "no trail " + p["trail"]}, nil
			}
			return respond.Live{}, err
		}
		live := respond.Live{State: map[string]any{"logging": aws.ToBool(st.IsLogging)}}
		if aws.ToBool(st.IsLogging) {
			live.Why = "trail " + p["trail"] + " is logging"
			return live, nil
		}
		live.Problem, live.Why = true, "trail "+p["trail"]+" is not logging"
		return live, nil
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
		Kinds:       map[string]respond.Kind{"detector_id": respond.KindDetectorID},
		Target:      func(p params) string { return "guardduty-detector/" + p["detector_id"] },
		Plan: func(p params) []call {
			return one("guardduty", "UpdateDetector", map[string]any{"DetectorId": p["detector_id"], "Enable": true})
		},
	}
	gd.Verify = func(ctx context.Context, p params) (respond.Live, error) {
		cl, err := c.GuardDuty(ctx)
		if err != nil {
			return respond.Live{}, err
		}
		cur, err := cl.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(p["detector_id"])})
		if err != nil {
			var nf *gdtypes.BadRequestException
			if errors.As(err, &nf) || apiCode(err) == "BadRequestException" {
				return respond.Live{Why: "no GuardDuty detector " + p["detector_id"]}, nil
			}
			return respond.Live{}, err
		}
		live := respond.Live{State: map[string]any{"status": string(cur.Status)}}
		if cur.Status == gdtypes.DetectorStatusEnabled {
			live.Why = "detector " + p["detector_id"] + " is enabled"
			return live, nil
		}
		live.Problem, live.Why = true, "detector "+p["detector_id"]+" is "+string(cur.Status)
		return live, nil
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
		Kinds:       map[string]respond.Kind{kind: principalKind(kind)},
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
	a.Permissions = append(a.Permissions, "iam:Get"+Kind)
	a.Verify = func(ctx context.Context, p params) (respond.Live, error) {
		cl, err := c.IAM(ctx)
		if err != nil {
			return respond.Live{}, err
		}
		var arn string
		if kind == "user" {
			out, err := cl.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(p[kind])})
			if apiCode(err) == "NoSuchEntity" {
				return respond.Live{Why: "no IAM user " + p[kind]}, nil
			} else if err != nil {
				return respond.Live{}, err
			}
			arn = aws.ToString(out.User.Arn)
		} else {
			out, err := cl.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(p[kind])})
			if apiCode(err) == "NoSuchEntity" {
				return respond.Live{Why: "no IAM role " + p[kind]}, nil
			} else if err != nil {
				return respond.Live{}, err
			}
			arn = aws.ToString(out.Role.Arn)
		}
		err = get(ctx, cl, p[kind])
		switch {
		case err == nil:
			return respond.Live{Why: kind + " " + p[kind] + " is already quarantined", IDs: []string{arn}, State: map[string]any{"quarantined": true}}, nil
		case apiCode(err) != "NoSuchEntity":
			return respond.Live{}, err
		}
		return respond.Live{Problem: true, Why: kind + " " + p[kind] + " is not quarantined", IDs: []string{arn}, State: map[string]any{"quarantined": false}}, nil
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
