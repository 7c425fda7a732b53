package awsaction

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/org/orgtest"
	"github.com/parapet-sec/parapet/internal/respond"
	"github.com/parapet-sec/parapet/internal/store"
)

// "Auto-remediate public buckets in the sandbox OU, ask in production,
// never touch the security account", on the emulator's organization: the
// scope is resolved through the inventory Organizations returns, and each
// action lands in the finding's own account.
func TestScopedResponseInOrganization(t *testing.T) {
	f := orgtest.New(t)
	ctx := context.Background()
	oc := organizations.NewFromConfig(f.Cfg)
	roots, err := oc.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	ou, err := oc.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: roots.Roots[0].Id, Name: aws.String("Security")})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := oc.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("security"), Email: aws.String("security@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	security := aws.ToString(ca.CreateAccountStatus.AccountId)
	if _, err := oc.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(security), SourceParentId: roots.Roots[0].Id, DestinationParentId: ou.OrganizationalUnit.Id}); err != nil {
		t.Fatal(err)
	}
	const outside = "777777777777" // not a member: the inventory does not know it
	sandbox, production := f.Sandbox[1], f.Production[0]
	for _, acct := range []string{security, outside} {
		if _, err := iam.NewFromConfig(orgtest.InAccount(f.Cfg, acct)).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(orgtest.Role),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
			t.Fatal(err)
		}
	}
	// The same public bucket (no PublicAccessBlock) in each account.
	bucket := func(acct string) string { return "pub-" + acct }
	s3In := func(acct string) *s3.Client {
		return s3.NewFromConfig(orgtest.InAccount(f.Cfg, acct), func(o *s3.Options) { o.UsePathStyle = true })
	}
	accounts := []string{sandbox, production, security, outside, "123456789012"}
	for _, acct := range accounts {
		if _, err := s3In(acct).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket(acct))}); err != nil {
			t.Fatal(err)
		}
	}
	blocked := func(acct string) bool {
		out, err := s3In(acct).GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(bucket(acct))})
		return err == nil && aws.ToBool(out.PublicAccessBlockConfiguration.BlockPublicPolicy)
	}

	inv, err := org.Discover(ctx, f.Cfg)
	if err != nil {
		t.Fatal(err)
	}
	reg := respond.NewRegistry()
	Register(reg, &Clients{Org: &org.Assumer{Role: orgtest.Role}})
	pb, err := respond.Parse([]byte(`name: public-bucket
trigger: finding.rule_id == "public-bucket"
scope:
  ous: [Sandbox, Production, Security]
approval:
  required: true
  auto_in: {ous: [Sandbox]}
steps:
  - action: s3.put_public_access_block
    params:
      bucket: ${finding.resource}
`), "public-bucket.yml", reg)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log, err := audit.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	e := &respond.Engine{Playbooks: []*respond.Playbook{pb}, Registry: reg, DB: db, Audit: log,
		Accounts: org.Static(inv), ProtectAccounts: org.Scope{OUs: []string{"Security"}}}
	finding := func(acct string) *respond.Finding {
		doc := map[string]any{"id": "f-" + acct, "rule_id": "public-bucket", "title": "public bucket", "level": "high", "resource": bucket(acct)}
		if acct != "123456789012" {
			doc["cloud"] = map[string]any{"provider": "aws", "account": acct, "region": "us-east-1"}
		} else {
			doc["resource"] = bucket(acct) // no account: the central one's bucket
		}
		return &respond.Finding{Doc: doc, Record: map[string]any{}}
	}
	for _, tc := range []struct {
		name, account, status, reason string
		blocked                       []string // accounts whose bucket is private afterwards
	}{
		{"sandbox: remediated in its own account", sandbox, "executed", "", []string{sandbox}},
		{"production: waits for approval", production, "pending-approval", "", []string{sandbox}},
		{"security: protected, refused", security, "executed", "protected account " + security + " (security, Root/Security)", []string{sandbox}},
		{"no account: not triggered", "123456789012", "", "", []string{sandbox}},
		{"outside the inventory: not triggered", outside, "", "", []string{sandbox}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := e.Handle(ctx, finding(tc.account))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.status == "" && len(rs) != 0:
				t.Errorf("Handle = %+v, want no run", rs)
			case tc.status != "" && (len(rs) != 1 || rs[0].Status != tc.status):
				t.Errorf("Handle = %+v, want one run %s", rs, tc.status)
			case tc.reason != "" && (len(rs[0].Steps) != 1 || rs[0].Steps[0].Status != "skipped" || !strings.Contains(rs[0].Steps[0].Reason, tc.reason)):
				t.Errorf("steps %+v, want skipped: %s", rs[0].Steps, tc.reason)
			}
			for _, acct := range accounts {
				if got, want := blocked(acct), contains(tc.blocked, acct); got != want {
					t.Errorf("account %s: bucket private = %v, want %v", acct, got, want)
				}
			}
		})
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM audit WHERE body LIKE '%protected account `+security+`%'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("audit records of the refusal: %d (%v), want 1", n, err)
	}
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
