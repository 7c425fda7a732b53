package org

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/parapet-sec/parapet/internal/awstest"
	"github.com/parapet-sec/parapet/internal/posture/awsapi"
)

func TestMain(m *testing.M) {
	code := m.Run()
	awstest.Stop()
	os.Exit(code)
}

func TestSessionName(t *testing.T) {
	for _, tc := range []struct{ in []string }{
		{[]string{"parapet-scan", "20261206T230000Z"}},
		{[]string{"parapet", "s3 block public/access", strings.Repeat("x", 80)}},
		{[]string{""}},
	} {
		got := SessionName(tc.in...)
		if len(got) < 2 || len(got) > 64 || sessionBad.MatchString(got) {
			t.Errorf("SessionName(%q) = %q: not a valid STS session name", tc.in, got)
		}
	}
}

func TestSelect(t *testing.T) {
	accts := []Account{
		{ID: "1", OU: "Root/Sandbox", Status: "ACTIVE", Tags: map[string]string{"env": "dev"}},
		{ID: "2", OU: "Root/Production", Status: "ACTIVE", Tags: map[string]string{"env": "prod"}},
		{ID: "3", OU: "Root/Production/Payments", Status: "ACTIVE"},
		{ID: "4", OU: "Root", Status: "SUSPENDED"},
		{ID: "5", OU: "Root/Sandbox", Status: "ACTIVE"},
	}
	for _, tc := range []struct {
		name             string
		include, exclude Filter
		want             []string
	}{
		{"all active", Filter{}, Filter{}, []string{"1", "2", "3", "5"}},
		{"OU path with sub-OUs", Filter{OUs: []string{"Root/Production"}}, Filter{}, []string{"2", "3"}},
		{"bare OU name", Filter{OUs: []string{"sandbox"}}, Filter{}, []string{"1", "5"}},
		{"exclude account", Filter{OUs: []string{"Sandbox"}}, Filter{Accounts: []string{"5"}}, []string{"1"}},
		{"include tag", Filter{Tags: map[string]string{"env": "*"}}, Filter{}, []string{"1", "2"}},
		{"exclude tag", Filter{}, Filter{Tags: map[string]string{"env": "prod"}}, []string{"1", "3", "5"}},
		{"exclude OU", Filter{}, Filter{OUs: []string{"Root/Production/Payments"}}, []string{"1", "2", "5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, a := range Select(accts, tc.include, tc.exclude) {
				got = append(got, a.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Select = %v, want %v", got, tc.want)
			}
		})
	}
}

// stsProxy stands in front of the emulator and makes its STS refuse what
// AWS refuses and moto allows: assuming a role that does not exist in the
// target account (moto lets any ARN be assumed). The existence check is
// the emulator's own IAM in that account.
func stsProxy(t *testing.T, motoURL string) *httptest.Server {
	t.Helper()
	u, _ := url.Parse(motoURL)
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			if form.Get("Action") == "AssumeRole" {
				arn := strings.Split(form.Get("RoleArn"), ":")
				if len(arn) == 6 && !roleExists(motoURL, arn[4], strings.TrimPrefix(arn[5], "role/")) {
					w.WriteHeader(http.StatusForbidden)
					fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform sts:AssumeRole on %s</Message></Error><RequestId>1</RequestId></ErrorResponse>`, form.Get("RoleArn"))
					return
				}
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func roleExists(motoURL, account, name string) bool {
	req, _ := http.NewRequest(http.MethodPost, motoURL+"/", strings.NewReader("Action=GetRole&Version=2010-05-08&RoleName="+url.QueryEscape(name)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("x-moto-account-id", account)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// inAccount makes the emulator act in account (its x-moto-account-id
// header): how the test builds each member account's contents.
func inAccount(cfg aws.Config, account string) aws.Config {
	c := cfg.Copy()
	c.APIOptions = append(slices.Clone(c.APIOptions), func(s *middleware.Stack) error {
		return s.Build.Add(middleware.BuildMiddlewareFunc("motoAccount", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
			if r, ok := in.Request.(*smithyhttp.Request); ok {
				r.Header.Set("x-moto-account-id", account)
			}
			return next.HandleBuild(ctx, in)
		}), middleware.After)
	})
	return c
}

// Fixture is an organization on the emulator: 6 member accounts in
// Root/Sandbox (3) and Root/Production (3, one with no Parapet role), a
// public bucket in the first sandbox account, a private one in a
// production account.
type Fixture struct {
	Cfg                   aws.Config
	Sandbox, Production   []string
	NoRole                string
	PublicBucket, Private string
}

// Role is the role the fixture creates in the member accounts.
const Role = "ParapetScanner"

func newFixture(t *testing.T) *Fixture {
	t.Helper()
	m := awstest.Start(t)
	px := stsProxy(t, m.URL)
	t.Setenv("AWS_ENDPOINT_URL", px.URL)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	oc := organizations.NewFromConfig(cfg)
	if _, err := oc.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	roots, err := oc.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	root := aws.ToString(roots.Roots[0].Id)
	f := &Fixture{Cfg: cfg}
	for _, ou := range []string{"Sandbox", "Production"} {
		o, err := oc.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(root), Name: aws.String(ou)})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			name := fmt.Sprintf("%s-%d", strings.ToLower(ou), i)
			ca, err := oc.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com"),
				Tags: []orgtypes.Tag{{Key: aws.String("env"), Value: aws.String(strings.ToLower(ou))}}})
			if err != nil {
				t.Fatal(err)
			}
			id := aws.ToString(ca.CreateAccountStatus.AccountId)
			if _, err := oc.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id), SourceParentId: aws.String(root), DestinationParentId: o.OrganizationalUnit.Id}); err != nil {
				t.Fatal(err)
			}
			if ou == "Production" && i == 2 {
				f.NoRole = id
			} else if _, err := iam.NewFromConfig(inAccount(cfg, id)).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(Role),
				AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
				t.Fatal(err)
			}
			if ou == "Sandbox" {
				f.Sandbox = append(f.Sandbox, id)
			} else {
				f.Production = append(f.Production, id)
			}
		}
	}
	f.PublicBucket, f.Private = "open-"+f.Sandbox[0], "closed-"+f.Production[0]
	s3c := s3.NewFromConfig(inAccount(cfg, f.Sandbox[0]), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(f.PublicBucket)}); err != nil {
		t.Fatal(err)
	}
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + f.PublicBucket + `/*"}]}`
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(f.PublicBucket), Policy: aws.String(pol)}); err != nil {
		t.Fatal(err)
	}
	s3p := s3.NewFromConfig(inAccount(cfg, f.Production[0]), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3p.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(f.Private)}); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestOrganizationOnEmulator(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	accts, err := Discover(ctx, f.Cfg)
	if err != nil {
		t.Fatal(err)
	}
	ou := map[string]string{}
	for _, a := range accts {
		ou[a.ID] = a.OU
	}
	for _, id := range f.Sandbox {
		if ou[id] != "Root/Sandbox" {
			t.Errorf("Discover: account %s OU = %q, want Root/Sandbox", id, ou[id])
		}
	}
	for _, id := range f.Production {
		if ou[id] != "Root/Production" {
			t.Errorf("Discover: account %s OU = %q, want Root/Production", id, ou[id])
		}
	}
	if len(accts) != 7 { // the management account and six members
		t.Errorf("Discover: %d accounts, want 7", len(accts))
	}
	for _, a := range accts {
		if a.ID == f.Sandbox[1] && a.Tags["env"] != "sandbox" {
			t.Errorf("Discover: tags of %s = %v, want env=sandbox", a.ID, a.Tags)
		}
	}

	// Include the two OUs, exclude one sandbox account.
	sel := Select(accts, Filter{OUs: []string{"Sandbox", "Root/Production"}}, Filter{Accounts: []string{f.Sandbox[2]}})
	var ids []string
	for _, a := range sel {
		ids = append(ids, a.ID)
	}
	want := []string{f.Sandbox[0], f.Sandbox[1], f.Production[0], f.Production[1], f.NoRole}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("Select = %v, want %v", ids, want)
	}

	as := &Assumer{Base: f.Cfg, Role: Role, ExternalID: "ext-1"}
	res, errs := Scan(ctx, ScanOptions{Assumer: as, Accounts: sel, Session: SessionName("parapet-scan", "test"), Concurrency: 3,
		Inventory: awsapi.Options{Regions: []string{"us-east-1"}}})
	var denied []string
	for _, e := range errs {
		if ae, ok := e.(*AccountError); ok {
			denied = append(denied, ae.Account.ID)
			if !strings.Contains(ae.Error(), f.NoRole) || !strings.Contains(ae.Error(), "Root/Production") {
				t.Errorf("AccountError %q: want the account id and its OU", ae.Error())
			}
		}
	}
	if !slices.Equal(denied, []string{f.NoRole}) {
		t.Errorf("accounts not assumed = %v, want [%s] (errors: %v)", denied, f.NoRole, errs)
	}
	buckets := map[string][2]string{}
	seen := map[string]bool{}
	for _, r := range res {
		seen[r.Account] = true
		if r.Type == "aws_s3_bucket" {
			o, _ := r.Attrs[AttrOU].(string)
			buckets[r.Name] = [2]string{r.Account, o}
		}
	}
	if got := buckets[f.PublicBucket]; got != [2]string{f.Sandbox[0], "Root/Sandbox"} {
		t.Errorf("bucket %s: account, OU = %v, want %s Root/Sandbox", f.PublicBucket, got, f.Sandbox[0])
	}
	if got := buckets[f.Private]; got != [2]string{f.Production[0], "Root/Production"} {
		t.Errorf("bucket %s: account, OU = %v, want %s Root/Production", f.Private, got, f.Production[0])
	}
	if len(buckets) != 2 {
		t.Errorf("buckets %v: want only the two the member accounts hold", buckets)
	}
	for _, id := range []string{f.Sandbox[0], f.Sandbox[1], f.Production[0], f.Production[1]} {
		if !seen[id] {
			t.Errorf("no resource of account %s", id)
		}
	}
	if seen[f.NoRole] || seen[f.Sandbox[2]] || seen["123456789012"] {
		t.Errorf("resources of an account not scanned: %v", seen)
	}

	// The session Parapet assumed carries its name.
	id, err := sts.NewFromConfig(as.Config(f.Sandbox[0], "", SessionName("parapet-scan", "test"))).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if arn := aws.ToString(id.Arn); !strings.HasSuffix(arn, "/"+Role+"/parapet-scan-test") || aws.ToString(id.Account) != f.Sandbox[0] {
		t.Errorf("caller identity %s in %s, want the role session parapet-scan-test in %s", arn, aws.ToString(id.Account), f.Sandbox[0])
	}
}
