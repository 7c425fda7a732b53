package awsaction

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/iampolicy"
	"github.com/parapet-sec/parapet/internal/respond"
	"github.com/parapet-sec/parapet/internal/store"
)

// restoreEnv is the emulator with actions that keep snapshots in a real
// store.
func restoreEnv(t *testing.T) (*env, respond.Snapshots, *Clients) {
	t.Helper()
	e := setup(t)
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	snaps := respond.Snapshots{DB: db}
	c := &Clients{Snapshots: snaps}
	e.reg = respond.NewRegistry()
	Register(e.reg, c)
	return e, snaps, c
}

const (
	denyInsecure = `{"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::acme-vault","arn:aws:s3:::acme-vault/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`
	partner      = `{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-vault/*"}`
	publicRead   = `{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-vault/*"}`
)

func policy(stmts ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

func (e *env) bucketPolicy(t *testing.T, bucket string) string {
	t.Helper()
	out, err := e.s3.GetBucketPolicy(e.ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	if apiCode(err) == "NoSuchBucketPolicy" {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Policy)
}

func sids(t *testing.T, pol string) string {
	t.Helper()
	p, err := iampolicy.Parse([]byte(pol))
	if err != nil {
		t.Fatalf("%v: %s", err, pol)
	}
	var out []string
	for _, s := range p.Statements {
		out = append(out, s.Sid)
	}
	return strings.Join(out, ",")
}

func TestRevertBucketPolicy(t *testing.T) {
	const bucket = "acme-vault"
	p := respond.Params{"bucket": bucket}
	put := func(e *env, pol string) {
		t.Helper()
		if _, err := e.s3.PutBucketPolicy(e.ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(pol)}); err != nil {
			t.Fatal(err)
		}
	}
	mk := func(t *testing.T) (*env, respond.Snapshots, *Clients) {
		e, snaps, c := restoreEnv(t)
		if _, err := e.s3.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatal(err)
		}
		return e, snaps, c
	}
	revert := func(e *env) respond.Outcome {
		t.Helper()
		a := e.reg.Get("s3.revert_bucket_policy")
		live, err := a.Verify(e.ctx, p)
		if err != nil || !live.Problem {
			t.Fatalf("verify: %+v %v", live, err)
		}
		o, err := a.Execute(e.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}

	t.Run("not public now: compliant", func(t *testing.T) {
		e, _, _ := mk(t)
		put(e, policy(denyInsecure, partner))
		live, err := e.reg.Get("s3.revert_bucket_policy").Verify(e.ctx, p)
		if err != nil || live.Problem || !strings.Contains(live.Why, "grants nothing to everyone") {
			t.Errorf("live %+v %v", live, err)
		}
	})
	t.Run("no earlier read: only the public statement goes", func(t *testing.T) {
		e, _, _ := mk(t)
		put(e, policy(denyInsecure, publicRead, partner))
		o := revert(e)
		if got := sids(t, e.bucketPolicy(t, bucket)); got != "DenyInsecure,Partner" {
			t.Errorf("statements left: %s (%s)", got, o.Summary)
		}
	})
	t.Run("only public grants: the policy goes", func(t *testing.T) {
		e, _, _ := mk(t)
		put(e, policy(publicRead))
		revert(e)
		if got := e.bucketPolicy(t, bucket); got != "" {
			t.Errorf("policy left: %s", got)
		}
	})
	t.Run("restored from Parapet's own read", func(t *testing.T) {
		e, snaps, _ := mk(t)
		good := policy(denyInsecure)
		if err := snaps.Record(e.ctx, respond.Snapshot{Kind: respond.SnapshotBucketPolicy, Resource: bucket, State: good, Source: "posture scan"}); err != nil {
			t.Fatal(err)
		}
		put(e, policy(partner, publicRead))
		o := revert(e)
		if got := sids(t, e.bucketPolicy(t, bucket)); got != "DenyInsecure" || !strings.Contains(o.Summary, "posture scan") {
			t.Errorf("restored %s: %s", got, o.Summary)
		}
		// The public policy it replaced is kept, as a problem: never restored.
		if g, _, _ := snaps.LatestGood(e.ctx, respond.SnapshotBucketPolicy, bucket); sids(t, g.State) != "DenyInsecure" {
			t.Errorf("latest good: %s", g.State)
		}
	})
	t.Run("the operator's baseline first", func(t *testing.T) {
		e, snaps, c := mk(t)
		dir := t.TempDir()
		c.Baselines = dir
		_ = snaps.Record(e.ctx, respond.Snapshot{Kind: respond.SnapshotBucketPolicy, Resource: bucket, State: policy(denyInsecure), Source: "posture scan"})
		if err := os.WriteFile(filepath.Join(dir, bucket+".json"), []byte(policy(denyInsecure, partner)), 0o644); err != nil {
			t.Fatal(err)
		}
		put(e, policy(publicRead))
		o := revert(e)
		if got := sids(t, e.bucketPolicy(t, bucket)); got != "DenyInsecure,Partner" || !strings.Contains(o.Summary, "baseline") {
			t.Errorf("restored %s: %s", got, o.Summary)
		}
		// A public baseline is refused.
		if err := os.WriteFile(filepath.Join(dir, bucket+".json"), []byte(policy(publicRead)), 0o644); err != nil {
			t.Fatal(err)
		}
		put(e, policy(publicRead, partner))
		if _, err := e.reg.Get("s3.revert_bucket_policy").Execute(e.ctx, p); err == nil || !strings.Contains(err.Error(), "itself public") {
			t.Errorf("a public baseline: %v", err)
		}
	})
}

func TestRestoreEncryption(t *testing.T) {
	const bucket = "acme-ledger"
	const key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	p := respond.Params{"bucket": bucket}
	e, snaps, _ := restoreEnv(t)
	if _, err := e.s3.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	setEnc := func(alg s3types.ServerSideEncryption, kmsKey string) {
		t.Helper()
		d := &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: alg}
		if kmsKey != "" {
			d.KMSMasterKeyID = aws.String(kmsKey)
		}
		if _, err := e.s3.PutBucketEncryption(e.ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(bucket),
			ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: d}}}}); err != nil {
			t.Fatal(err)
		}
	}
	current := func() (string, string) {
		out, err := e.s3.GetBucketEncryption(e.ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)})
		if err != nil {
			return "", ""
		}
		d := out.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault
		return string(d.SSEAlgorithm), aws.ToString(d.KMSMasterKeyID)
	}
	a := e.reg.Get("s3.enable_default_encryption")
	// SSE-KMS in place (a failed DeleteBucketEncryption changed nothing):
	// compliant, and the read is kept.
	setEnc(s3types.ServerSideEncryptionAwsKms, key)
	if live, err := a.Verify(e.ctx, p); err != nil || live.Problem {
		t.Fatalf("SSE-KMS in place: %+v %v", live, err)
	}
	// Downgraded to SSE-S3 for real: the KMS key Parapet read goes back.
	setEnc(s3types.ServerSideEncryptionAes256, "")
	live, err := a.Verify(e.ctx, p)
	if err != nil || !live.Problem || !strings.Contains(live.Why, "weaker") {
		t.Fatalf("downgraded: %+v %v", live, err)
	}
	if _, err := a.Execute(e.ctx, p); err != nil {
		t.Fatal(err)
	}
	if alg, k := current(); alg != "aws:kms" || k != key {
		t.Errorf("restored %s %s, want aws:kms %s", alg, k, key)
	}
	// A bucket Parapet never read, on SSE-S3: nothing to restore.
	const other = "acme-other"
	if _, err := e.s3.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(other)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.PutBucketEncryption(e.ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(other),
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256}}}}}); err != nil {
		t.Fatal(err)
	}
	if live, err := a.Verify(e.ctx, respond.Params{"bucket": other}); err != nil || live.Problem {
		t.Errorf("SSE-S3, never read otherwise: %+v %v", live, err)
	}
	_ = snaps
}

// The protect list matches every form of a target, for every resource
// type: the name or id, its ARN, and the ARN the live read returns (a
// user's path is only there).
func TestProtectListEveryForm(t *testing.T) {
	e, _, c := restoreEnv(t)
	ctx := e.ctx
	if _, err := e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice"), Path: aws.String("/admins/")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("prod-ledger")}); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "e.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log, err := audit.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := respond.Parse([]byte(`name: contain
trigger: "true"
mode: auto
steps:
  - action: iam.quarantine_user
    when: has(record.user)
    params: {user: "${record.user}"}
  - action: s3.enable_versioning
    when: has(record.bucket)
    params: {bucket: "${record.bucket}"}
`), "contain.yml", e.reg)
	if err != nil {
		t.Fatal(err)
	}
	_ = c
	for i, tc := range []struct {
		pattern string
		record  map[string]any
	}{
		{"alice", map[string]any{"user": "alice"}},
		{"arn:aws:iam::123456789012:user/alice", map[string]any{"user": "alice"}},
		{"arn:aws:iam::*:user/admins/*", map[string]any{"user": "alice"}},
		{"prod-*", map[string]any{"bucket": "prod-ledger"}},
		{"arn:aws:s3:::prod-*", map[string]any{"bucket": "prod-ledger"}},
	} {
		eng := &respond.Engine{Playbooks: []*respond.Playbook{pb}, Registry: e.reg, DB: db, Audit: log, Protect: []string{tc.pattern}}
		f := &respond.Finding{Doc: map[string]any{"id": fmt.Sprint("f", i), "cloud": map[string]any{"account": "123456789012", "region": "us-east-1"}}, Record: tc.record}
		rs, err := eng.Handle(ctx, f)
		if err != nil || len(rs) != 1 || len(rs[0].Steps) != 1 || rs[0].Steps[0].Status != "skipped" || !strings.Contains(rs[0].Steps[0].Reason, "configured list") {
			t.Errorf("pattern %q: %v %+v", tc.pattern, err, rs)
		}
	}
	if _, err := e.iam.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String(quarantineName)}); err == nil {
		t.Error("the protected user was quarantined")
	}
}
