package orgposture

import (
	"context"
	"encoding/json"
	"github.com/parapet-sec/parapet/internal/org"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/org/orgtest"
	"github.com/parapet-sec/parapet/internal/posture/awsapi"
	"github.com/parapet-sec/parapet/internal/posture/check"
	"github.com/parapet-sec/parapet/internal/posture/framework"
)

// PostureReads is exactly the SDK calls posture.go builds, and every
// call a member account's role makes is in the scanner role's policy.
func TestPostureReadsMatchSource(t *testing.T) {
	file, err := parser.ParseFile(token.NewFileSet(), "posture.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	used := map[[2]string]bool{}
	ast.Inspect(file, func(n ast.Node) bool {
		if cl, ok := n.(*ast.CompositeLit); ok {
			if sel, ok := cl.Type.(*ast.SelectorExpr); ok && strings.HasSuffix(sel.Sel.Name, "Input") {
				if pkg, ok := sel.X.(*ast.Ident); ok {
					used[[2]string{pkg.Name, strings.TrimSuffix(sel.Sel.Name, "Input")}] = true
				}
			}
		}
		return true
	})
	table := map[[2]string]bool{}
	scanner := awsapi.Permissions()
	for _, r := range PostureReads {
		k := [2]string{r[0], r[1]}
		table[k] = true
		if !used[k] {
			t.Errorf("PostureReads has %s.%s, which posture.go does not call", r[0], r[1])
		}
		if r[0] != "organizations" && !slices.Contains(scanner, r[2]) {
			t.Errorf("PostureReads %s: a member account's call, but the scanner role's policy lacks it", r[2])
		}
	}
	for k := range used {
		if !table[k] {
			t.Errorf("posture.go calls %s.%s: add it to PostureReads", k[0], k[1])
		}
	}
}

// The organization checks' ids are their own: no check under content/
// has one, and each names frameworks and controls that exist.
func TestChecksAreDistinct(t *testing.T) {
	loaded, errs := check.Load(content.FS, "checks")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, c := range loaded {
		for _, o := range Checks {
			if c.ID == o.ID {
				t.Errorf("%s is both %s and an organization check", c.ID, c.File)
			}
		}
	}
	all := append(loaded, Checks...)
	if errs := framework.Validate(loadFrameworks(t), all); len(errs) > 0 {
		t.Errorf("framework mappings: %v", errs)
	}
}

const (
	east = "us-east-1"
	west = "eu-west-1"
)

// orgPosture builds, on top of the orgtest organization, GuardDuty in
// some accounts and regions, Security Hub and Config in one each, a
// trail in one account, an SCP on the Sandbox OU and a delegated
// GuardDuty administrator; covered is what covers which cell.
func orgPosture(t *testing.T, f *orgtest.Fixture) (covered map[[3]string]bool, sandboxOU string) {
	t.Helper()
	ctx := context.Background()
	in := func(account, region string) aws.Config {
		c := orgtest.InAccount(f.Cfg, account)
		c.Region = region
		return c
	}
	covered = map[[3]string]bool{}
	// GuardDuty: on in the first sandbox account in both regions, the
	// first production one in us-east-1; a disabled detector in the
	// second sandbox account.
	for _, d := range []struct {
		account, region string
		on              bool
	}{{f.Sandbox[0], east, true}, {f.Sandbox[0], west, true}, {f.Production[0], east, true}, {f.Sandbox[1], east, false}} {
		if _, err := guardduty.NewFromConfig(in(d.account, d.region)).CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(d.on)}); err != nil {
			t.Fatal(err)
		}
		if d.on {
			covered[[3]string{d.account, d.region, GuardDuty}] = true
		}
	}
	// Security Hub in the second production account, us-east-1.
	if _, err := securityhub.NewFromConfig(in(f.Production[1], east)).EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{}); err != nil {
		t.Fatal(err)
	}
	covered[[3]string{f.Production[1], east, SecurityHub}] = true
	// Config: recording in the second production account (eu-west-1), a
	// stopped recorder in the first.
	for i, account := range []string{f.Production[1], f.Production[0]} {
		cs := configservice.NewFromConfig(in(account, west))
		if _, err := cs.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{
			Name: aws.String("default"), RoleARN: aws.String("arn:aws:iam::" + account + ":role/config"), RecordingGroup: &cfgtypes.RecordingGroup{AllSupported: true}}}); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			continue
		}
		bucket := "config-" + account
		if _, err := s3.NewFromConfig(in(account, east), func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &cfgtypes.DeliveryChannel{Name: aws.String("default"), S3BucketName: aws.String(bucket)}}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
			t.Fatal(err)
		}
		covered[[3]string{account, west, Config}] = true
	}
	// A single-region trail, logging, in the second sandbox account.
	bucket := "trail-" + f.Sandbox[1]
	if _, err := s3.NewFromConfig(in(f.Sandbox[1], east), func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	ct := cloudtrail.NewFromConfig(in(f.Sandbox[1], east))
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("local"), S3BucketName: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("local")}); err != nil {
		t.Fatal(err)
	}
	covered[[3]string{f.Sandbox[1], east, CloudTrail}] = true

	// An SCP on the Sandbox OU, GuardDuty delegated to the third sandbox
	// account.
	oc := organizations.NewFromConfig(f.Cfg)
	roots, err := oc.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oc.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: roots.Roots[0].Id, PolicyType: orgtypes.PolicyTypeServiceControlPolicy}); err != nil {
		t.Fatal(err)
	}
	ous, err := oc.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: roots.Roots[0].Id})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range ous.OrganizationalUnits {
		if aws.ToString(o.Name) == "Sandbox" {
			sandboxOU = aws.ToString(o.Id)
		}
	}
	pol, err := oc.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("DenyLeaveOrganization"), Description: aws.String("no account leaves"),
		Type:    orgtypes.PolicyTypeServiceControlPolicy,
		Content: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oc.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: pol.Policy.PolicySummary.Id, TargetId: aws.String(sandboxOU)}); err != nil {
		t.Fatal(err)
	}
	if _, err := oc.RegisterDelegatedAdministrator(ctx, &organizations.RegisterDelegatedAdministratorInput{AccountId: aws.String(f.Sandbox[2]), ServicePrincipal: aws.String("guardduty.amazonaws.com")}); err != nil {
		t.Fatal(err)
	}
	return covered, sandboxOU
}

func TestPostureOnEmulator(t *testing.T) {
	f := orgtest.New(t)
	ctx := context.Background()
	covered, sandboxOU := orgPosture(t, f)
	all, err := org.Discover(ctx, f.Cfg)
	if err != nil {
		t.Fatal(err)
	}
	members := org.Select(all, org.Filter{OUs: []string{"Sandbox", "Production"}}, org.Filter{})
	as := &org.Assumer{Base: f.Cfg, Role: orgtest.Role}
	opt := PostureOptions{Base: f.Cfg, Assumer: as, Accounts: members, Regions: []string{east, west}, Session: org.SessionName("parapet-posture", "test"), Concurrency: 3}
	p := ReadPosture(ctx, opt)

	if len(p.Errors) > 0 {
		t.Errorf("organization-level errors: %v", p.Errors)
	}
	// Every cell: covered where the test turned the service on, unknown in
	// the account without a role (naming the role), not covered elsewhere.
	if want := len(members) * 2 * len(Services); len(p.Coverage) != want {
		t.Fatalf("coverage has %d cells, want %d", len(p.Coverage), want)
	}
	for _, c := range p.Coverage {
		want := NotCovered
		switch {
		case c.Account == f.NoRole:
			want = Unknown
		case covered[[3]string{c.Account, c.Region, c.Service}]:
			want = Covered
		}
		if c.Status != want {
			t.Errorf("cell %s %s %s = %s (%s%s), want %s", c.Account, c.Region, c.Service, c.Status, c.Detail, c.Error, want)
		}
		if want == Unknown && (!strings.Contains(c.Error, f.NoRole) || !strings.Contains(c.Error, orgtest.Role)) {
			t.Errorf("unknown cell %s %s %s: error %q does not name the account and role", c.Account, c.Region, c.Service, c.Error)
		}
		if c.OU == "" {
			t.Errorf("cell %s %s %s: no OU", c.Account, c.Region, c.Service)
		}
	}
	// One result per cell, failing exactly on the gaps.
	fails := map[[3]string]bool{}
	for _, r := range p.Results {
		if r.Resource.Type == CoverageType && r.Status == check.Fail {
			fails[[3]string{r.Resource.Account, r.Resource.Region, r.Resource.Attrs["service"].(string)}] = true
		}
	}
	for _, c := range p.Coverage {
		if fails[[3]string{c.Account, c.Region, c.Service}] != (c.Status == NotCovered) {
			t.Errorf("cell %s %s %s (%s): failing result %v", c.Account, c.Region, c.Service, c.Status, !(c.Status == NotCovered))
		}
	}

	// SCPs: FullAWSAccess and the one on the Sandbox OU; delegated
	// GuardDuty, not Security Hub.
	var attached []string
	for _, s := range p.SCPs {
		if s.Name == "DenyLeaveOrganization" {
			for _, tg := range s.Targets {
				attached = append(attached, tg.ID)
			}
			if !strings.Contains(s.Content, "LeaveOrganization") {
				t.Errorf("SCP content = %q", s.Content)
			}
		}
	}
	if !slices.Equal(attached, []string{sandboxOU}) {
		t.Errorf("DenyLeaveOrganization targets = %v, want [%s]", attached, sandboxOU)
	}
	if len(p.Delegated) != 1 || p.Delegated[0].Account != f.Sandbox[2] || !slices.Equal(p.Delegated[0].Services, []string{"guardduty.amazonaws.com"}) {
		t.Errorf("delegated = %+v, want %s for guardduty.amazonaws.com", p.Delegated, f.Sandbox[2])
	}
	status := map[string]string{}
	for _, r := range p.Results {
		if r.Resource.Type == OrganizationType {
			status[r.CheckID] = r.Status
		}
	}
	if want := map[string]string{"PARAPET-ORG-007": check.Pass, "PARAPET-ORG-008": check.Pass, "PARAPET-ORG-009": check.Fail}; !maps(status, want) {
		t.Errorf("organization results = %v, want %v", status, want)
	}
	if b, err := json.Marshal(p); err != nil || !strings.Contains(string(b), `"coverage"`) {
		t.Errorf("json: %v", err)
	}

	// The rollup, by account: each cis-aws-3.0 control the ORG checks
	// evidence (3.1 CloudTrail, 3.3 Config, 4.16 Security Hub) passes when
	// every region's cell is covered and fails when one is not.
	fws := loadFrameworks(t)
	var cis *framework.Framework
	for _, fw := range fws {
		if fw.ID == "cis-aws-3.0" {
			cis = fw
		}
	}
	r := RollUp(fws, Checks, p.Results, members)
	want := map[string]float64{}
	for _, a := range members {
		if a.ID == f.NoRole {
			continue
		}
		passed := 0
		for _, s := range []string{CloudTrail, Config, SecurityHub} {
			if covered[[3]string{a.ID, east, s}] && covered[[3]string{a.ID, west, s}] {
				passed++
			}
		}
		want[a.ID] = 100 * float64(passed) / 3
	}
	got := map[string]AccountScore{}
	for _, a := range r.Accounts {
		got[a.Account] = a
	}
	for id, w := range want {
		if g, ok := got[id].Scores[cis.ID]; !ok || math.Abs(g-w) > 1e-9 {
			t.Errorf("account %s %s score = %v (%v), want %v", id, cis.ID, g, ok, w)
		}
	}
	if _, ok := got[f.NoRole].Scores[cis.ID]; ok {
		t.Errorf("account %s (not assumed, every cell unknown) has a %s score", f.NoRole, cis.ID)
	}
	// By OU: the mean of the OU's accounts' scores; Root holds both OUs.
	mean := func(ids []string) float64 {
		s, n := 0.0, 0
		for _, id := range ids {
			if v, ok := want[id]; ok {
				s += v
				n++
			}
		}
		return s / float64(n)
	}
	wantOU := map[string]float64{"Root/Sandbox": mean(f.Sandbox), "Root/Production": mean(f.Production), "Root": mean(append(slices.Clone(f.Sandbox), f.Production...))}
	seen := 0
	for _, o := range r.OUs {
		if w, ok := wantOU[o.OU]; ok {
			seen++
			if math.Abs(o.Scores[cis.ID]-w) > 1e-9 {
				t.Errorf("OU %s %s score = %v, want %v", o.OU, cis.ID, o.Scores[cis.ID], w)
			}
		}
	}
	if seen != 3 || len(r.OUs) != 3 {
		t.Errorf("rollup OUs = %+v, want Root, Root/Production, Root/Sandbox", r.OUs)
	}

	// An organization trail in the management account covers every
	// member in both regions.
	ctx2 := context.Background()
	mgmt := f.Cfg.Copy()
	if _, err := s3.NewFromConfig(mgmt, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx2, &s3.CreateBucketInput{Bucket: aws.String("org-trail")}); err != nil {
		t.Fatal(err)
	}
	ct := cloudtrail.NewFromConfig(mgmt)
	if _, err := ct.CreateTrail(ctx2, &cloudtrail.CreateTrailInput{Name: aws.String("org"), S3BucketName: aws.String("org-trail"), IsMultiRegionTrail: aws.Bool(true), IsOrganizationTrail: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.StartLogging(ctx2, &cloudtrail.StartLoggingInput{Name: aws.String("org")}); err != nil {
		t.Fatal(err)
	}
	p = ReadPosture(ctx, opt)
	for _, c := range p.Coverage {
		if c.Service == CloudTrail && c.Account != f.NoRole && (c.Status != Covered || !strings.Contains(c.Detail, "organization trail") && c.Account != f.Sandbox[1]) {
			t.Errorf("with an organization trail: cell %s %s = %s %q, want covered by it", c.Account, c.Region, c.Status, c.Detail)
		}
	}
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func loadFrameworks(t *testing.T) []*framework.Framework {
	t.Helper()
	sub, err := fs.Sub(content.FS, "frameworks")
	if err != nil {
		t.Fatal(err)
	}
	fws, err := framework.Load(sub, ".")
	if err != nil {
		t.Fatal(err)
	}
	return fws
}

// A call the endpoint does not answer makes the cells unknown, naming the
// error, never fails the read.
func TestPostureUnreachable(t *testing.T) {
	cfg := aws.Config{Region: east, BaseEndpoint: aws.String("http://127.0.0.1:1"), Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1}
	a := org.Account{ID: "111111111111", OU: "Root/X"}
	p := ReadPosture(context.Background(), PostureOptions{Base: cfg, Assumer: &org.Assumer{Base: cfg, Role: "R"}, Accounts: []org.Account{a}, Regions: []string{east}})
	if len(p.Coverage) != len(Services) || len(p.Errors) == 0 {
		t.Fatalf("coverage %v, errors %v", p.Coverage, p.Errors)
	}
	for _, c := range p.Coverage {
		if c.Status != Unknown || c.Error == "" {
			t.Errorf("cell %+v: want unknown with the error", c)
		}
	}
	for _, r := range p.Results {
		if r.Status != check.Unknown || r.Reason == "" {
			t.Errorf("result %s = %s %q: want unknown with the reason", r.CheckID, r.Status, r.Reason)
		}
	}
}
