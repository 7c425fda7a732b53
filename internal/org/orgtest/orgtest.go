// Package orgtest builds an AWS Organization on the emulator for tests:
// member accounts in two OUs, Parapet's role in all but one, and an STS
// that, like AWS and unlike moto, refuses a role that does not exist.
package orgtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
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

// Throttled counts the requests the proxy refused with a throttling error.
var Throttled atomic.Int64

// Throttle is the request rate the proxy allows, as AWS meters it: per
// credential (a scan assumes one role session per account, so per
// account), region and service, a token bucket of Burst requests refilled
// at Rate a second. A request above it is answered with the service's
// own throttling error: Throttling (query APIs: IAM, STS, RDS, …),
// RequestLimitExceeded (EC2, HTTP 503), ThrottlingException (JSON APIs:
// KMS, CloudTrail, Config, …), SlowDown (S3, HTTP 503) or
// TooManyRequestsException (REST-JSON APIs, HTTP 429). STS and
// Organizations are never throttled (the scan's way in, not its
// inventory). Services, when set, limits the throttling to those
// (signing names: iam, ec2, s3, …).
type Throttle struct {
	Rate     float64
	Burst    int
	Services []string
}

var throttle atomic.Pointer[throttler]

var inFlight struct {
	mu       sync.Mutex
	now, max map[string]int
}

// ResetInFlight forgets the requests in flight counted so far.
func ResetInFlight() {
	inFlight.mu.Lock()
	defer inFlight.mu.Unlock()
	inFlight.now, inFlight.max = map[string]int{}, map[string]int{}
}

// MaxInFlight is the most requests the proxy has had in flight at once
// since ResetInFlight, per access key ("AKID") and per access key and
// service ("AKID/ec2").
func MaxInFlight() map[string]int {
	inFlight.mu.Lock()
	defer inFlight.mu.Unlock()
	return maps.Clone(inFlight.max)
}

// track counts r in flight until the returned function is called.
func track(r *http.Request) (done func()) {
	key, _, service := scope(r)
	if key == "" {
		return func() {}
	}
	keys := []string{key, key + "/" + service}
	inFlight.mu.Lock()
	defer inFlight.mu.Unlock()
	if inFlight.now == nil {
		inFlight.now, inFlight.max = map[string]int{}, map[string]int{}
	}
	for _, k := range keys {
		inFlight.now[k]++
		inFlight.max[k] = max(inFlight.max[k], inFlight.now[k])
	}
	return func() {
		inFlight.mu.Lock()
		defer inFlight.mu.Unlock()
		for _, k := range keys {
			inFlight.now[k]--
		}
	}
}

type throttler struct {
	Throttle
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// SetThrottle makes the proxy throttle as t says until the returned
// function is called.
func SetThrottle(t Throttle) (restore func()) {
	throttle.Store(&throttler{Throttle: t, buckets: map[string]*bucket{}})
	return func() { throttle.Store(nil) }
}

// allow takes a token from the request's bucket.
func (th *throttler) allow(key string, now time.Time) bool {
	th.mu.Lock()
	defer th.mu.Unlock()
	b, ok := th.buckets[key]
	if !ok {
		b = &bucket{tokens: float64(th.Burst), at: now}
		th.buckets[key] = b
	}
	b.tokens = min(float64(th.Burst), b.tokens+now.Sub(b.at).Seconds()*th.Rate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// scope is the request's signing scope: access key, region, service.
func scope(r *http.Request) (key, region, service string) {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return "", "", ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	p := strings.Split(cred, "/")
	if len(p) < 5 {
		return "", "", ""
	}
	return p[0], p[2], p[3]
}

// throttled answers r with a throttling error when it is above the rate.
func throttled(w http.ResponseWriter, r *http.Request) bool {
	th := throttle.Load()
	if th == nil {
		return false
	}
	key, region, service := scope(r)
	if service == "" || service == "sts" || service == "organizations" || len(th.Services) > 0 && !slices.Contains(th.Services, service) {
		return false
	}
	if th.allow(key+"/"+region+"/"+service, time.Now()) {
		return false
	}
	Throttled.Add(1)
	switch {
	case service == "s3" && strings.HasPrefix(r.URL.Path, "/v20180820/"): // S3 Control wraps its errors
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error><RequestId>1</RequestId></ErrorResponse>`)
	case service == "s3":
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>1</RequestId></Error>`)
	case service == "ec2":
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>1</RequestID></Response>`)
	case r.Header.Get("X-Amz-Target") != "":
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"ThrottlingException","message":"Rate exceeded"}`)
	case strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>`)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"message":"Rate exceeded"}`)
	}
	return true
}

// STSProxy stands in front of the emulator and makes its STS refuse what
// AWS refuses and moto allows: assuming a role that does not exist in the
// target account (moto lets any ARN be assumed). The existence check is
// the emulator's own IAM in that account. It also throttles as AWS does
// when SetThrottle says so, and delays every request by Latency.
func STSProxy(t testing.TB, motoURL string) *httptest.Server {
	t.Helper()
	u, _ := url.Parse(motoURL)
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Requests.Add(1)
		defer track(r)()
		if d := Latency.Load(); d > 0 {
			time.Sleep(time.Duration(d))
		}
		if throttled(w, r) {
			return
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
