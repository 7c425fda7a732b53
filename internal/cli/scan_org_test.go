package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/org/orgposture"
	"github.com/parapet-sec/parapet/internal/org/orgtest"
	"github.com/parapet-sec/parapet/internal/store"
)

func TestScanAWSOrg(t *testing.T) {
	f := orgtest.New(t)
	args := []string{"scan", "aws", "--org", "--role", orgtest.Role, "--external-id", "ext-1", "--ou", "Sandbox", "--ou", "Root/Production",
		"--exclude-accounts", f.Sandbox[2], "--concurrency", "3", "--format", "json"}
	out, errOut, code := run(t, "", args...)
	if code != ExitBadInput {
		t.Fatalf("scan aws --org: exit %d, want %d (one account cannot be assumed): %s", code, ExitBadInput, errOut)
	}
	if !strings.Contains(errOut, "account "+f.NoRole) {
		t.Errorf("stderr does not name the unassumable account %s: %s", f.NoRole, errOut)
	}
	var rep scanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var notice bool
	for _, n := range rep.Notices {
		if n.Kind == "account not scanned" && strings.Contains(n.Message, f.NoRole) {
			notice = true
		}
	}
	if !notice {
		t.Errorf("report notices %+v: want account %s not scanned", rep.Notices, f.NoRole)
	}
	// The API traffic: per scanned account and in total, on stderr too.
	if st := rep.Stats; st == nil || len(st.Accounts) != 4 || st.Total.Calls == 0 {
		t.Errorf("report stats %+v: want the calls of the 4 accounts scanned", rep.Stats)
	} else {
		var calls int64
		for _, c := range st.Accounts {
			calls += c.Calls
		}
		if calls != st.Total.Calls || !strings.Contains(errOut, fmt.Sprintf("parapet: 4 accounts: %d API calls, %d throttled responses, %d retries", st.Total.Calls, st.Total.Throttled, st.Total.Retries)) {
			t.Errorf("stats total %+v (accounts sum to %d calls), stderr: %s", st.Total, calls, errOut)
		}
	}
	accounts := map[string]string{}
	var public []scanResult
	for _, r := range rep.Results {
		if isOrgCheck(r.CheckID) {
			// The organization's coverage: an account not assumed is
			// unknown there, never passing or failing.
			if r.Resource.Account == f.NoRole && r.Status != "unknown" {
				t.Errorf("%s in %s (not assumable) = %s, want unknown", r.CheckID, f.NoRole, r.Status)
			}
			continue
		}
		accounts[r.Resource.Account] = r.Resource.OU
		if r.CheckID == "PARAPET-S3-003" && r.Status == "fail" {
			public = append(public, r)
		}
	}
	if len(public) != 1 || public[0].Resource.Name != f.PublicBucket || public[0].Resource.Account != f.Sandbox[0] || public[0].Resource.OU != "Root/Sandbox" {
		t.Errorf("public bucket failures %+v: want one, on %s in account %s, Root/Sandbox", public, f.PublicBucket, f.Sandbox[0])
	}
	for _, id := range []string{f.Sandbox[0], f.Sandbox[1], f.Production[0], f.Production[1]} {
		if _, ok := accounts[id]; !ok {
			t.Errorf("no result in account %s", id)
		}
	}
	for _, id := range []string{f.Sandbox[2], f.NoRole, "123456789012"} {
		if _, ok := accounts[id]; ok {
			t.Errorf("results in account %s, which is excluded or not assumable", id)
		}
	}

	// OCSF says the same: the account not scanned, and each result's account.
	out, _, _ = run(t, "", append(slices.Clone(args[:len(args)-2]), "--format", "ocsf")...)
	if !strings.Contains(out, "PARAPET-ACCOUNT-NOT-SCANNED") || !strings.Contains(out, `"`+f.NoRole+`"`) || !strings.Contains(out, `"`+f.Sandbox[0]+`"`) {
		t.Errorf("--format ocsf does not name the account not scanned (%s) and the scanned ones", f.NoRole)
	}

	// A failure at --fail-on outranks the partial scan.
	if _, errOut, code := run(t, "", append(args, "--fail-on", "critical")...); code != ExitFailure {
		t.Errorf("--fail-on critical: exit %d, want %d: %s", code, ExitFailure, errOut)
	}
	// --remediate acts in the failing bucket's own account, through the role.
	if _, errOut, code := run(t, "", append(args, "--remediate", "--db", filepath.Join(t.TempDir(), "p.db"))...); code != ExitBadInput {
		t.Errorf("--remediate: exit %d, want %d: %s", code, ExitBadInput, errOut)
	}
	pol, err := s3.NewFromConfig(orgtest.InAccount(f.Cfg, f.Sandbox[0]), func(o *s3.Options) { o.UsePathStyle = true }).
		GetBucketPolicy(context.Background(), &s3.GetBucketPolicyInput{Bucket: aws.String(f.PublicBucket)})
	if err != nil && !strings.Contains(err.Error(), "NoSuchBucketPolicy") {
		t.Errorf("the bucket policy after --remediate: %v", err)
	} else if err == nil && strings.Contains(aws.ToString(pol.Policy), `"*"`) {
		t.Errorf("after --remediate the bucket policy in %s is still public: %s", f.Sandbox[0], aws.ToString(pol.Policy))
	}
	if _, errOut, code := run(t, "", "scan", "aws", "--org"); code != ExitUsage || !strings.Contains(errOut, "--role") {
		t.Errorf("--org without --role: exit %d (%s), want a usage error", code, errOut)
	}
}

// serve's scheduled live scan honours the organization section.
func TestPostureServeOrg(t *testing.T) {
	f := orgtest.New(t)
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "parapet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	oc := config.Organization{Role: orgtest.Role, ExternalID: "ext-secret-1", Concurrency: 2, Include: config.OrgFilter{OUs: []string{"Root/Sandbox"}}}
	// S3 checks off in the accounts tagged env=sandbox: a tag only the
	// organization's inventory knows.
	scopes := []config.CheckScope{{Scope: config.Scope{Tags: []string{"env=sandbox"}}, Disable: []string{"PARAPET-S3-*"}}}
	p := &postureScanner{cfg: config.Posture{AWS: config.PostureAWS{Enabled: true}, CheckScopes: scopes}, org: oc, db: db, log: slog.New(slog.DiscardHandler), now: make(chan struct{}, 1)}
	p.scanAll(ctx)
	var stored string
	if err := db.QueryRowContext(ctx, `SELECT body FROM posture_runs ORDER BY id DESC LIMIT 1`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	var rep scanReport
	if err := json.Unmarshal([]byte(stored), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rep.Results {
		if r.Resource.Type == orgposture.OrganizationType {
			continue // the organization's own checks: no member account
		}
		got[r.Resource.Account] = r.Resource.OU
		if strings.HasPrefix(r.CheckID, "PARAPET-S3-") {
			t.Errorf("%s on %s in %s: S3 checks are off in env=sandbox accounts (posture.check_scopes)", r.CheckID, r.Resource.Name, r.Resource.Account)
		}
	}
	want := map[string]string{f.Sandbox[0]: "Root/Sandbox", f.Sandbox[1]: "Root/Sandbox", f.Sandbox[2]: "Root/Sandbox"}
	var target string
	if err := db.QueryRowContext(ctx, `SELECT target FROM posture_runs ORDER BY id DESC LIMIT 1`).Scan(&target); err != nil || strings.Contains(target, "{") {
		t.Errorf("posture target %q (%v): want the arguments without the organization section", target, err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("serve's org scan: accounts and OUs %v, want %v", got, want)
	}
	// The organization's posture and rollup are stored with the scan, and
	// GET /v1/org's view reads them back.
	v, err := orgSummary(ctx, db)
	if err != nil || v == nil || v.Posture == nil || v.Rollup == nil {
		t.Fatalf("orgSummary = %+v, %v; want the stored organization", v, err)
	}
	cells := map[string]int{}
	for _, c := range v.Posture.Coverage {
		cells[c.Account]++
	}
	if len(cells) != 3 || cells[f.Sandbox[0]] != len(orgposture.Services) {
		t.Errorf("stored coverage by account = %v, want the 3 sandbox accounts × %d services", cells, len(orgposture.Services))
	}
	var ous []string
	for _, o := range v.Rollup.OUs {
		ous = append(ous, o.OU)
	}
	if !slices.Equal(ous, []string{"Root", "Root/Sandbox"}) || len(v.Rollup.Accounts) != 3 {
		t.Errorf("stored rollup: OUs %v, %d accounts; want Root, Root/Sandbox and 3", ous, len(v.Rollup.Accounts))
	}
}

// deploy roles: both outputs pass Parapet's own IaC scan, and the
// responder policy is iam-policy's.
func TestDeployRoles(t *testing.T) {
	dir := t.TempDir()
	base := []string{"deploy", "roles", "--principal", "arn:aws:iam::123456789012:role/parapet", "--external-id", "ext-42"}
	for _, tc := range []struct{ format, file string }{{"cloudformation", "cf/roles.json"}, {"terraform", "tf/main.tf"}} {
		path := filepath.Join(dir, tc.file)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, errOut, code := run(t, "", append(base, "--format", tc.format, "-o", path)...); code != ExitOK {
			t.Fatalf("deploy roles --format %s: exit %d: %s", tc.format, code, errOut)
		}
		out, errOut, code := run(t, "", "scan", "iac", filepath.Dir(path), "--format", "json", "--fail-on", "high")
		if code != ExitOK {
			t.Errorf("scan iac of the %s roles: exit %d: %s\n%s", tc.format, code, errOut, out)
		}
		var rep scanReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		types := map[string]int{}
		for _, r := range rep.Results {
			types[r.Resource.Type]++
			if r.Status == "fail" {
				t.Errorf("%s: %s fails on %s: %s", tc.format, r.CheckID, r.Resource.Name, r.Title)
			}
		}
		if types["aws_iam_role"] == 0 {
			t.Errorf("%s: the scan saw no IAM role: %v", tc.format, types)
		}
	}
	want, _, code := run(t, "", "iam-policy")
	if code != ExitOK {
		t.Fatal("iam-policy failed")
	}
	b, err := os.ReadFile(filepath.Join(dir, "cf/roles.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources map[string]struct {
			Properties struct {
				Policies []struct{ PolicyDocument json.RawMessage }
			}
		}
	}
	if err := json.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	type doc struct {
		Version   string
		Statement []map[string]any
	}
	var got, exp doc
	_ = json.Unmarshal(tpl.Resources["ResponderRole"].Properties.Policies[0].PolicyDocument, &got)
	_ = json.Unmarshal([]byte(want), &exp)
	// iam-policy's statements, then a Deny of the IAM writes on Parapet's
	// own roles (else the responder could make itself an administrator).
	var allows, denies []map[string]any
	for _, st := range got.Statement {
		if st["Effect"] == "Deny" {
			denies = append(denies, st)
		} else {
			allows = append(allows, st)
		}
	}
	if len(exp.Statement) == 0 || !reflect.DeepEqual(allows, exp.Statement) || got.Version != exp.Version {
		t.Errorf("responder policy allows %v, want iam-policy's %v", allows, exp.Statement)
	}
	var denied []string
	for _, st := range denies {
		denied = append(denied, fmt.Sprint(st["Resource"]))
		acts, _ := st["Action"].([]any)
		if !slices.ContainsFunc(acts, func(a any) bool { return a == "iam:PutRolePolicy" }) || slices.ContainsFunc(acts, func(a any) bool { return strings.HasPrefix(a.(string), "iam:Get") }) {
			t.Errorf("the deny on %v: actions %v, want the IAM writes (iam:PutRolePolicy among them), no reads", st["Resource"], acts)
		}
	}
	if !slices.Equal(denied, []string{"arn:aws:iam::*:role/ParapetResponder", "arn:aws:iam::*:role/ParapetScanner"}) {
		t.Errorf("IAM writes denied on %v, want Parapet's two roles", denied)
	}
	if _, errOut, code := run(t, "", "deploy", "roles", "--principal", "not-an-arn", "--external-id", "x1"); code != ExitUsage || !strings.Contains(errOut, "principal") {
		t.Errorf("a bad principal: exit %d (%s), want a usage error", code, errOut)
	}
}
