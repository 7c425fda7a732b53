package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/server/apiclient"
	"github.com/parapet-sec/parapet/internal/store"
)

// live is a server whose pipeline has run one CloudTrail body: a finding,
// its incident and a pending approval of the playbook "tell", whose one
// step records what it was told in told.
type live struct {
	ts   *httptest.Server
	toks map[string]string
	mu   sync.Mutex
	told []string
}

func setupLive(t *testing.T) *live {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l := &live{}
	body := `{"Records":[{"eventVersion":"1.08","eventTime":"2026-11-24T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser",` +
		`"awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.17.20","eventID":"e-1","eventType":"AwsApiCall","recipientAccountId":"111122223333",` +
		`"userIdentity":{"type":"IAMUser","principalId":"AIDAALICE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"},` +
		`"requestParameters":{"userName":"mallory"}}]}`
	p := approvalPipeline(t, ctx, cancel, db, "tell", func(text string) {
		l.mu.Lock()
		l.told = append(l.told, text)
		l.mu.Unlock()
	}, body)
	c := config.Default()
	s := New(c, db, p, prometheus.NewRegistry(), nil, nil)
	l.ts = httptest.NewServer(s.Handler())
	t.Cleanup(l.ts.Close)
	l.toks = map[string]string{}
	for _, r := range store.Roles {
		secret, _, err := db.CreateToken(ctx, r, "t-"+r)
		if err != nil {
			t.Fatal(err)
		}
		l.toks[r] = secret
	}
	return l
}

// loadDoc reads the served document with kin-openapi and validates it.
func loadDoc(t *testing.T, l *live) *openapi3.T {
	t.Helper()
	req, _ := http.NewRequest("GET", l.ts.URL+"/v1/openapi.json", nil)
	req.Header.Set("Authorization", "Bearer "+l.toks["viewer"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatalf("loading the served document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the served document is not valid OpenAPI: %v", err)
	}
	return doc
}

// The served document is valid OpenAPI, every route has its schemas, and
// a schema a handler's responses break is caught.
func TestOpenAPIValid(t *testing.T) {
	l := setupLive(t)
	doc := loadDoc(t, l)
	for _, name := range []string{"Incident", "ApprovalView", "PlaybookRun", "Suppression", "Token", "AuditChain", "ErrorBody"} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("no component schema %s", name)
		}
	}
	inc := doc.Components.Schemas["Incident"].Value
	if inc.Properties["first"].Value.Format != "date-time" || !inc.Properties["levels"].Value.Type.Is("object") ||
		!contains(inc.Required, "risk") || contains(inc.Required, "account") {
		t.Errorf("Incident schema: %+v", inc)
	}
	op := doc.Paths.Find("/v1/incidents").Get
	if op.Parameters.GetByInAndName("query", "min_risk") == nil || op.Extensions["x-parapet-role"] != "viewer" || len(*op.Security) != 1 {
		t.Errorf("GET /v1/incidents: %+v", op)
	}
	if doc.Paths.Find("/v1/approvals/{id}/approve").Post.Parameters.GetByInAndName("path", "id") == nil {
		t.Error("approve: no path parameter id")
	}
	// A schema that disagrees with what the server sends fails.
	doc.Servers = openapi3.Servers{{URL: l.ts.URL}}
	req, resp, body := l.get(t, "viewer", "/v1/incidents")
	if err := validate(doc, req, resp, body); err != nil {
		t.Fatalf("GET /v1/incidents: %v", err)
	}
	// The list's items are incidents with their OU.
	item := doc.Components.Schemas["IncidentItem"].Value
	if item.Properties["ou"] == nil || contains(item.Required, "ou") || !contains(item.Required, "risk") {
		t.Errorf("IncidentItem schema: %+v", item)
	}
	item.Properties["risk"].Value.Type = &openapi3.Types{"string"}
	if err := validate(doc, req, resp, body); err == nil || !strings.Contains(err.Error(), "/items/0/risk") {
		t.Errorf("a response that breaks its schema: %v", err)
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func (l *live) get(t *testing.T, role, path string) (*http.Request, *http.Response, []byte) {
	t.Helper()
	return l.do(t, role, "GET", path, "")
}

func (l *live) do(t *testing.T, role, method, path, body string) (*http.Request, *http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, l.ts.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+l.toks[role])
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	req.Body = io.NopCloser(strings.NewReader(body))
	return req, resp, b
}

// validate checks a request and its response against the document.
func validate(doc *openapi3.T, req *http.Request, resp *http.Response, body []byte) error {
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return err
	}
	return validateWith(router, req, resp, body, true)
}

// validateWith validates the request too when valid says it should pass
// (and that it fails otherwise), and the response always.
func validateWith(router routers.Router, req *http.Request, resp *http.Response, body []byte, valid bool) error {
	route, params, err := router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("route: %w", err)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	err = openapi3filter.ValidateRequest(context.Background(), in)
	switch {
	case valid && err != nil:
		return fmt.Errorf("request: %w", err)
	case !valid && err == nil:
		return fmt.Errorf("request: the document accepts what the server refused")
	}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)), Options: opts})
}

// Real responses of a running server match the document's schemas.
func TestOpenAPIResponses(t *testing.T) {
	l := setupLive(t)
	doc := loadDoc(t, l)
	doc.Servers = openapi3.Servers{{URL: l.ts.URL}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	check := func(role, method, path, body string, want int) []byte {
		t.Helper()
		req, resp, b := l.do(t, role, method, path, body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		if err := validateWith(router, req, resp, b, want < 400 || want == 404); err != nil {
			t.Errorf("%s %s: %v\n%s", method, path, err, b)
		}
		return b
	}
	incs := check("viewer", "GET", "/v1/incidents?status=open&min_risk=0&limit=10", "", 200)
	if !strings.Contains(string(incs), `"finding_count":1`) {
		t.Fatalf("no incident: %s", incs)
	}
	check("viewer", "GET", "/v1/incidents?status=sideways", "", 400)
	apps := check("viewer", "GET", "/v1/approvals?status=pending", "", 200)
	check("viewer", "GET", "/v1/findings?level=medium", "", 200)
	check("viewer", "GET", "/v1/playbook-runs", "", 200)
	check("viewer", "GET", "/v1/suppressions", "", 200)
	pbs := check("viewer", "GET", "/v1/playbooks", "", 200)
	if !strings.Contains(string(pbs), `"name":"tell"`) {
		t.Errorf("playbooks: %s", pbs)
	}
	check("viewer", "GET", "/v1/whoami", "", 200)
	check("admin", "GET", "/v1/tokens", "", 200)
	check("viewer", "GET", "/v1/incidents/nope", "", 404)
	id := between(string(apps), `"id":"`, `"`)
	check("approver", "POST", "/v1/approvals/"+id+"/approve", `{"comment":"ok"}`, 200)
	check("viewer", "GET", "/v1/audit?limit=5", "", 200)
}

func between(s, from, to string) string {
	_, s, _ = strings.Cut(s, from)
	s, _, _ = strings.Cut(s, to)
	return s
}

// A client generated from the document lists incidents and approves an
// approval, which runs the playbook.
func TestGeneratedClient(t *testing.T) {
	l := setupLive(t)
	ctx := context.Background()
	client := func(role string) *apiclient.ClientWithResponses {
		c, err := apiclient.NewClientWithResponses(l.ts.URL, apiclient.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+l.toks[role])
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	viewer := client("viewer")
	status := apiclient.GetIncidentsParamsStatus("open")
	incs, err := viewer.GetIncidentsWithResponse(ctx, &apiclient.GetIncidentsParams{Status: &status})
	if err != nil {
		t.Fatal(err)
	}
	if incs.JSON200 == nil || incs.JSON200.Items == nil || len(*incs.JSON200.Items) != 1 {
		t.Fatalf("incidents: %d %s", incs.StatusCode(), incs.Body)
	}
	inc := (*incs.JSON200.Items)[0]
	if inc.FindingCount != 1 || inc.Principal == nil || !strings.HasSuffix(*inc.Principal, "user/alice") || inc.First.IsZero() {
		t.Errorf("incident %+v", inc)
	}
	pending := apiclient.GetApprovalsParamsStatusPending
	apps, err := viewer.GetApprovalsWithResponse(ctx, &apiclient.GetApprovalsParams{Status: &pending})
	if err != nil {
		t.Fatal(err)
	}
	if apps.JSON200 == nil || apps.JSON200.Items == nil || len(*apps.JSON200.Items) != 1 {
		t.Fatalf("approvals: %d %s", apps.StatusCode(), apps.Body)
	}
	a := (*apps.JSON200.Items)[0]
	if a.Playbook != "tell" || a.Status != "pending" {
		t.Fatalf("approval %+v", a)
	}
	// A viewer may not approve; an approver may.
	if r, err := viewer.PostApprovalsIdApproveWithResponse(ctx, a.Id, apiclient.CommentBody{Comment: "no"}); err != nil || r.StatusCode() != 403 || r.JSON403 == nil {
		t.Fatalf("a viewer approved: %v %+v", err, r)
	}
	r, err := client("approver").PostApprovalsIdApproveWithResponse(ctx, a.Id, apiclient.CommentBody{Comment: "looks right"})
	if err != nil {
		t.Fatal(err)
	}
	if r.JSON200 == nil || r.JSON200.Result.Status != "executed" || r.JSON200.Result.DecidedBy == nil || *r.JSON200.Result.DecidedBy != "t-approver" {
		t.Fatalf("approve: %d %s", r.StatusCode(), r.Body)
	}
	l.mu.Lock()
	told := l.told
	l.mu.Unlock()
	if len(told) != 1 || told[0] != "User Created" {
		t.Errorf("the playbook's step was told %q", told)
	}
	approved := apiclient.GetApprovalsParamsStatusApproved
	after, err := viewer.GetApprovalsWithResponse(ctx, &apiclient.GetApprovalsParams{Status: &approved})
	if err != nil || after.JSON200 == nil || len(*after.JSON200.Items) != 1 || (*after.JSON200.Items)[0].Id != a.Id {
		t.Errorf("approved approvals: %v %s", err, after.Body)
	}
	// A second decision finds nothing pending.
	again, err := client("approver").PostApprovalsIdApproveWithResponse(ctx, a.Id, apiclient.CommentBody{})
	if err != nil || again.StatusCode() != 404 || again.JSON404 == nil || !strings.Contains(again.JSON404.Error, "no pending approval") {
		t.Errorf("second approval: %v %d %s", err, again.StatusCode(), again.Body)
	}
}
