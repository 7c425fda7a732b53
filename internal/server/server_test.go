package server

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func setup(t *testing.T) (*Server, *httptest.Server, map[string]string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p := &pipeline.Pipeline{DB: db, Rules: detect.NewEngine(nil), Incidents: correlate.New(0)}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	c.Auth.LoginFailures = 1000
	s := New(c, db, p, prometheus.NewRegistry(), nil, nil)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	toks := map[string]string{}
	for _, r := range append([]string{store.RoleIngest}, store.Roles...) {
		secret, _, err := db.CreateToken(ctx, r, "t-"+r)
		if err != nil {
			t.Fatal(err)
		}
		toks[r] = secret
	}
	return s, ts, toks
}

// Every route with every role: a role the route does not allow gets 403,
// one it allows gets past authorization, and no token gets 401. Ingest
// tokens post telemetry and nothing else.
func TestEveryRouteEveryRole(t *testing.T) {
	s, ts, toks := setup(t)
	allowed := map[string][]string{
		"ingest":   {"ingest", "analyst", "approver", "admin"},
		"viewer":   {"viewer", "analyst", "approver", "admin"},
		"analyst":  {"analyst", "approver", "admin"},
		"approver": {"approver", "admin"},
		"admin":    {"admin"},
	}
	for _, rt := range s.Routes() {
		if allowed[rt.Role] == nil {
			t.Fatalf("%s %s: role %q", rt.Method, rt.Pattern, rt.Role)
		}
		path := strings.ReplaceAll(strings.ReplaceAll(rt.Pattern, "{id}", "nope"), "{", "")
		do := func(tok string) int {
			req, _ := http.NewRequest(rt.Method, ts.URL+path, bytes.NewReader([]byte(`{"Records":[]}`)))
			req.Header.Set("Content-Type", "application/json")
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("%s %s: secure headers missing", rt.Method, path)
			}
			return resp.StatusCode
		}
		if code := do(""); code != 401 {
			t.Errorf("%s %s without a token: %d", rt.Method, path, code)
		}
		for _, role := range []string{"ingest", "viewer", "analyst", "approver", "admin"} {
			code := do(toks[role])
			denied := !slices.Contains(allowed[rt.Role], role)
			switch {
			case denied && code != 403:
				t.Errorf("%s %s as %s (needs %s): %d, want 403", rt.Method, path, role, rt.Role, code)
			case !denied && (code == 401 || code == 403):
				t.Errorf("%s %s as %s (needs %s): %d", rt.Method, path, role, rt.Role, code)
			}
		}
	}
}

// The OpenAPI document is golden: a change to the API shows in review.
func TestOpenAPIGolden(t *testing.T) {
	s, ts, toks := setup(t)
	got, _ := json.MarshalIndent(s.OpenAPI(), "", "  ")
	golden := "testdata/openapi.golden.json"
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(append(got, '\n')) != string(want) {
		t.Errorf("the OpenAPI document changed; review and run go test ./internal/server -update")
	}
	req, _ := http.NewRequest("GET", ts.URL+"/v1/openapi.json", nil)
	req.Header.Set("Authorization", "Bearer "+toks["viewer"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	patterns := map[string]bool{}
	for _, r := range s.Routes() {
		patterns[r.Pattern] = true
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || doc["openapi"] != "3.0.3" || len(doc["paths"].(map[string]any)) != len(patterns) {
		t.Errorf("served document: %v %v", err, doc["openapi"])
	}
}

// Server-sent events reach a subscriber as the pipeline publishes them.
func TestStream(t *testing.T) {
	s, ts, toks := setup(t)
	req, _ := http.NewRequest("GET", ts.URL+"/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+toks["viewer"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf) // the greeting comment
	if !strings.HasPrefix(string(buf[:n]), ": parapet") {
		t.Fatalf("greeting %q", buf[:n])
	}
	s.Publish("incident", map[string]string{"id": "inc-1"})
	n, _ = resp.Body.Read(buf)
	if got := string(buf[:n]); !strings.Contains(got, "event: incident\ndata: {\"id\":\"inc-1\"}") {
		t.Errorf("event %q", got)
	}
}

// Backpressure: with the processor stopped, the intake accepts up to
// max_spooled bodies and then answers 503 with Retry-After.
func TestBackpressure(t *testing.T) {
	s, ts, toks := setup(t)
	s.Config.Sources.HTTP.MaxSpooled = 2
	codes := []int{}
	for range 3 {
		req, _ := http.NewRequest("POST", ts.URL+"/v1/ingest/cloudtrail", strings.NewReader(`{"Records":[]}`))
		req.Header.Set("Authorization", "Bearer "+toks["analyst"])
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == 503 && resp.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	}
	if codes[0] != 202 || codes[1] != 202 || codes[2] != 503 {
		t.Errorf("codes %v, want 202 202 503", codes)
	}
}

// The configuration an admin reads carries no credentials.
func TestConfigRedacted(t *testing.T) {
	s, ts, toks := setup(t)
	s.Config.Bus.NATS = "nats://worker:n4ts-s3cret@nats.internal:4222"
	s.Config.DB = "postgres://parapet:pg-s3cret@db.internal/parapet?sslpassword=k3y-s3cret&sslmode=require"
	s.Config.Intel.TAXII = []config.TAXII{{Collection: "https://taxii.example.com/api1/collections/x/?token=t4xii-s3cret", Password: "env:TAXII"}}
	req, _ := http.NewRequest("GET", ts.URL+"/v1/config", nil)
	req.Header.Set("Authorization", "Bearer "+toks["admin"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || strings.Contains(string(b), "s3cret") || !strings.Contains(string(b), "nats.internal") ||
		!strings.Contains(string(b), "db.internal") || !strings.Contains(string(b), "taxii.example.com") {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
}
