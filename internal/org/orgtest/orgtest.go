// Package orgtest builds an AWS Organization on the emulator for tests:
// member accounts in two OUs, Parapet's role in all but one, and an STS
// that, like AWS and unlike moto, refuses a role that does not exist.
package orgtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/parapet-sec/parapet/internal/awstest"
)

// Latency, when set (nanoseconds), delays every request the proxy
// forwards: a network round trip to AWS, for benchmarks.
var Latency atomic.Int64

// Requests counts the API requests the proxy has seen (benchmarks).
var Requests atomic.Int64

// STSProxy stands in front of the emulator and makes its STS refuse what
// AWS refuses and moto allows: assuming a role that does not exist in the
// target account (moto lets any ARN be assumed). The existence check is
// the emulator's own IAM in that account.
func STSProxy(t testing.TB, motoURL string) *httptest.Server {
	t.Helper()
	u, _ := url.Parse(motoURL)
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Requests.Add(1)
		if d := Latency.Load(); d > 0 {
			time.Sleep(time.Duration(d))
		}
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

// InAccount makes the emulator act in account (its x-moto-account-id
// header): how the test builds each member account's contents.
func InAccount(cfg aws.Config, account string) aws.Config {
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

func New(t testing.TB) *Fixture { t.Helper(); return NewSized(t, 3) }

// NewSized is New with perOU accounts in each OU (at least 3; the last
// production one has no role).
func NewSized(t testing.TB, perOU int) *Fixture {
	t.Helper()
	m := awstest.Start(t)
	px := STSProxy(t, m.URL)
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
		for i := range perOU {
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
			if ou == "Production" && i == perOU-1 {
				f.NoRole = id
			} else if _, err := iam.NewFromConfig(InAccount(cfg, id)).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(Role),
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
	s3c := s3.NewFromConfig(InAccount(cfg, f.Sandbox[0]), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(f.PublicBucket)}); err != nil {
		t.Fatal(err)
	}
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + f.PublicBucket + `/*"}]}`
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(f.PublicBucket), Policy: aws.String(pol)}); err != nil {
		t.Fatal(err)
	}
	s3p := s3.NewFromConfig(InAccount(cfg, f.Production[0]), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3p.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(f.Private)}); err != nil {
		t.Fatal(err)
	}
	return f
}
