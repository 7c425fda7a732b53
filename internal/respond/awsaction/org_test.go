package awsaction

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/org/orgtest"
	"github.com/parapet-sec/parapet/internal/respond"
	"github.com/parapet-sec/parapet/internal/store"
)

func TestSessionFor(t *testing.T) {
	for _, c := range []respond.Cause{
		{Playbook: "compromised-access-key", Finding: "f-1"},
		{Playbook: strings.Repeat("p", 90), Finding: "posture:PARAPET-S3-003:arn:aws:s3:::bucket:2026-12-06T23:00:00Z"},
		{Playbook: "public bucket / sandbox"},
	} {
		s := SessionFor(c)
		if !strings.HasPrefix(s, "parapet-") || len(s) > 64 || s != org.SessionName(s) {
			t.Errorf("SessionFor(%+v) = %q: not a valid session name starting parapet-", c, s)
		}
	}
	if a, b := SessionFor(respond.Cause{Playbook: "p", Finding: "posture:" + strings.Repeat("a", 40)}), SessionFor(respond.Cause{Playbook: "p", Finding: "posture:" + strings.Repeat("b", 40)}); a == b {
		t.Errorf("two findings share the session name %q", a)
	}
}

// A playbook acting on a member account's finding changes that account,
// through the organization role, and no other.
func TestResponseInFindingAccount(t *testing.T) {
	f := orgtest.New(t)
	ctx := context.Background()
	keys := map[string]string{} // account → the key of its user ci-bot
	for _, acct := range []string{"123456789012", f.Sandbox[0], f.Production[0]} {
		c := iam.NewFromConfig(orgtest.InAccount(f.Cfg, acct))
		if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ci-bot")}); err != nil {
			t.Fatal(err)
		}
		k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ci-bot")})
		if err != nil {
			t.Fatal(err)
		}
		keys[acct] = aws.ToString(k.AccessKey.AccessKeyId)
	}
	reg := respond.NewRegistry()
	Register(reg, &Clients{Org: &org.Assumer{Role: orgtest.Role, ExternalID: "ext-1"}})
	pb, err := respond.Parse([]byte(`name: stolen-key
trigger: finding.rule_id == "stolen"
mode: auto
steps:
  - action: iam.deactivate_access_key
    params:
      user: ${finding.actor.user_name}
      access_key_id: ${finding.actor.access_key_id}
`), "stolen.yml", reg)
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
	e := &respond.Engine{Playbooks: []*respond.Playbook{pb}, Registry: reg, DB: db, Audit: log}
	fd := &respond.Finding{Doc: map[string]any{"id": "f-sandbox-1", "rule_id": "stolen", "title": "stolen key", "level": "high",
		"cloud": map[string]any{"provider": "aws", "account": f.Sandbox[0], "region": "us-east-1"},
		"actor": map[string]any{"type": "IAMUser", "user_name": "ci-bot", "access_key_id": keys[f.Sandbox[0]]}}, Record: map[string]any{}}
	rs, err := e.Handle(ctx, fd)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Status != "executed" {
		t.Fatalf("Handle = %+v, want one executed run", rs)
	}
	for acct, key := range keys {
		out, err := iam.NewFromConfig(orgtest.InAccount(f.Cfg, acct)).ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("ci-bot")})
		if err != nil {
			t.Fatal(err)
		}
		want := iamtypes.StatusTypeActive
		if acct == f.Sandbox[0] {
			want = iamtypes.StatusTypeInactive
		}
		for _, k := range out.AccessKeyMetadata {
			if aws.ToString(k.AccessKeyId) == key && k.Status != want {
				t.Errorf("account %s: key %s is %s, want %s", acct, key, k.Status, want)
			}
		}
	}

	// A finding in an account without the role fails there, clearly.
	fd.Doc["id"], fd.Doc["cloud"] = "f-norole-1", map[string]any{"provider": "aws", "account": f.NoRole, "region": "us-east-1"}
	rs, err = e.Handle(ctx, fd)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Status == "executed" || !strings.Contains(resultText(rs[0]), f.NoRole) {
		t.Errorf("Handle in an account without the role = %+v, want a failure naming %s", rs, f.NoRole)
	}
}

func resultText(r respond.Result) string {
	s := r.Error
	for _, st := range r.Steps {
		s += " " + st.Reason
	}
	return s
}
