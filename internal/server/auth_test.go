package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/store"
)

// setupWith is setup with a configuration file's content: a server on a
// fresh store, and a token of every role (ingest included).
func setupWith(t testing.TB, yaml string) (*Server, *httptest.Server, map[string]string) {
	t.Helper()
	c, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
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
	s := New(c, db, p, prometheus.NewRegistry(), nil, nil)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(s.CloseStreams)
	toks := map[string]string{}
	for _, r := range append([]string{"ingest"}, store.Roles...) {
		secret, _, err := db.CreateToken(ctx, r, "t-"+r)
		if err != nil {
			t.Fatal(err)
		}
		toks[r] = secret
	}
	return s, ts, toks
}

type reply struct {
	code int
	hdr  http.Header
	body string
}

// send makes one request; header is name, value, name, value….
func send(t testing.TB, method, url, body string, header ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// login signs in with a token and returns the session cookie and the
// CSRF token.
func login(t *testing.T, url, tok string) (cookie, csrf string) {
	t.Helper()
	r := send(t, "POST", url+"/ui/login", `{"token":"`+tok+`"}`, "Content-Type", "application/json", "Origin", url)
	if r.code != 200 {
		t.Fatalf("login: %d %s", r.code, r.body)
	}
	var v struct{ CSRF string }
	_ = json.Unmarshal([]byte(r.body), &v)
	for _, c := range (&http.Response{Header: r.hdr}).Cookies() {
		if c.Name == sessionCookie {
			return c.Name + "=" + c.Value, v.CSRF
		}
	}
	t.Fatalf("login set no session cookie: %v", r.hdr)
	return "", ""
}

// Attack 6: ten bad-token requests from one address (everyone behind a
// proxy or a NAT shares it) must not lock out the valid tokens and
// sessions that come from there. Failures are throttled per credential;
// unauthenticated garbage per address, with a much higher bound.
func TestThrottleSparesValidCredentials(t *testing.T) {
	_, ts, toks := setupWith(t, "auth: {login_failures: 10, address_failures: 25}\n")
	cookie, _ := login(t, ts.URL, toks["viewer"])
	for range 10 {
		if r := send(t, "GET", ts.URL+"/v1/incidents", "", bearer("ppt_wrong")...); r.code != 401 {
			t.Fatalf("a bad token: %d", r.code)
		}
	}
	// The guessed credential itself is throttled…
	if r := send(t, "GET", ts.URL+"/v1/incidents", "", bearer("ppt_wrong")...); r.code != 429 || r.hdr.Get("Retry-After") == "" {
		t.Errorf("the same bad token an 11th time: %d %q, want 429 with Retry-After", r.code, r.hdr.Get("Retry-After"))
	}
	// …the address is not: valid tokens, sessions and sign-ins from it go on.
	if r := send(t, "GET", ts.URL+"/v1/incidents", "", bearer(toks["admin"])...); r.code != 200 {
		t.Errorf("a valid token from the same address: %d %s", r.code, r.body)
	}
	if r := send(t, "GET", ts.URL+"/v1/incidents", "", "Cookie", cookie); r.code != 200 {
		t.Errorf("a session from the same address: %d %s", r.code, r.body)
	}
	login(t, ts.URL, toks["analyst"])
	if r := send(t, "GET", ts.URL+"/v1/incidents", "", bearer("ppt_another_wrong")...); r.code != 401 {
		t.Errorf("another bad token: %d, want 401 (throttled only per credential below the address bound)", r.code)
	}
	// Garbage past the address bound: refused, but a valid token still
	// gets through.
	for range 30 {
		send(t, "GET", ts.URL+"/v1/incidents", "")
	}
	if r := send(t, "GET", ts.URL+"/v1/incidents", ""); r.code != 429 {
		t.Errorf("unauthenticated requests past the address bound: %d, want 429", r.code)
	}
	if r := send(t, "GET", ts.URL+"/v1/incidents", "", bearer(toks["viewer"])...); r.code != 200 {
		t.Errorf("a valid token from an address past its bound: %d", r.code)
	}
	if r := send(t, "GET", ts.URL+"/v1/incidents", "", "Cookie", cookie); r.code != 200 {
		t.Errorf("a session from an address past its bound: %d", r.code)
	}
}

// The client address behind a reverse proxy: X-Forwarded-For counts only
// when the connection comes from a configured trusted proxy.
func TestTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		separate   bool // clients behind the proxy are told apart
	}{
		{"trusted", "auth: {address_failures: 3, trusted_proxies: [127.0.0.0/8, '::1/128']}\n", true},
		{"not trusted", "auth: {address_failures: 3, trusted_proxies: [10.0.0.0/8]}\n", false},
		{"none", "auth: {address_failures: 3}\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ts, toks := setupWith(t, tc.yaml)
			for range 4 {
				send(t, "GET", ts.URL+"/v1/incidents", "", "X-Forwarded-For", "203.0.113.7")
			}
			if r := send(t, "GET", ts.URL+"/v1/incidents", "", "X-Forwarded-For", "203.0.113.7"); r.code != 429 {
				t.Errorf("the noisy client: %d, want 429", r.code)
			}
			want := 429
			if tc.separate {
				want = 401
			}
			// A spoofed chain: only the hop the trusted proxy saw counts.
			if r := send(t, "GET", ts.URL+"/v1/incidents", "", "X-Forwarded-For", "203.0.113.7, 198.51.100.9"); r.code != want {
				t.Errorf("another client behind the proxy: %d, want %d", r.code, want)
			}
			if r := send(t, "GET", ts.URL+"/v1/incidents", "", append(bearer(toks["viewer"]), "X-Forwarded-For", "203.0.113.7")...); r.code != 200 {
				t.Errorf("a valid token from the noisy client: %d", r.code)
			}
		})
	}
	if _, err := config.Parse([]byte("auth: {trusted_proxies: [not-a-cidr]}\n")); err == nil || !strings.Contains(err.Error(), "auth.trusted_proxies") {
		t.Errorf("a bad trusted proxy: %v", err)
	}
}

type tokenItem struct {
	ID, Name, Role, Created, LastUsed, Revoked string
}

func listTokens(t *testing.T, url, admin string) (reply, []map[string]any) {
	t.Helper()
	r := send(t, "GET", url+"/v1/tokens", "", bearer(admin)...)
	var v struct{ Items []map[string]any }
	_ = json.Unmarshal([]byte(r.body), &v)
	return r, v.Items
}

// Attack 7: a token can be revoked (admins, through the API), and the
// browser sessions it opened end with it.
func TestTokenRevocation(t *testing.T) {
	_, ts, toks := setupWith(t, "")
	cookie, _ := login(t, ts.URL, toks["analyst"])
	if r := send(t, "GET", ts.URL+"/v1/incidents", "", bearer(toks["analyst"])...); r.code != 200 {
		t.Fatalf("before: %d", r.code)
	}
	r, items := listTokens(t, ts.URL, toks["admin"])
	if r.code != 200 || len(items) != 5 {
		t.Fatalf("GET /v1/tokens: %d %s", r.code, r.body)
	}
	var id string
	for _, it := range items {
		for k := range it {
			switch k {
			case "id", "name", "role", "created", "last_used", "revoked":
			default:
				t.Errorf("the token list shows %q", k)
			}
		}
		if it["name"] == "t-analyst" {
			id, _ = it["id"].(string)
			if it["last_used"] == nil {
				t.Errorf("last_used not recorded: %v", it)
			}
		}
	}
	for _, secret := range toks {
		if strings.Contains(r.body, secret) || strings.Contains(r.body, strings.TrimPrefix(secret, "ppt_")) {
			t.Error("the token list shows a secret")
		}
	}
	if id == "" {
		t.Fatalf("no t-analyst in %s", r.body)
	}
	if r := send(t, "DELETE", ts.URL+"/v1/tokens/"+id, "", bearer(toks["analyst"])...); r.code != 403 {
		t.Errorf("an analyst revoked a token: %d", r.code)
	}
	if r := send(t, "DELETE", ts.URL+"/v1/tokens/"+id, "", bearer(toks["admin"])...); r.code != 200 {
		t.Fatalf("revoke: %d %s", r.code, r.body)
	}
	if r := send(t, "DELETE", ts.URL+"/v1/tokens/"+id, "", bearer(toks["admin"])...); r.code != 404 {
		t.Errorf("revoking it again: %d, want 404", r.code)
	}
	if r := send(t, "GET", ts.URL+"/v1/incidents", "", bearer(toks["analyst"])...); r.code != 401 {
		t.Errorf("the revoked token: %d, want 401", r.code)
	}
	if r := send(t, "GET", ts.URL+"/v1/incidents", "", "Cookie", cookie); r.code != 401 {
		t.Errorf("a session of the revoked token: %d, want 401", r.code)
	}
	if r := send(t, "GET", ts.URL+"/ui/session", "", "Cookie", cookie); r.code != 401 {
		t.Errorf("/ui/session of the revoked token: %d, want 401", r.code)
	}
	if r := send(t, "POST", ts.URL+"/ui/login", `{"token":"`+toks["analyst"]+`"}`, "Content-Type", "application/json"); r.code != 401 {
		t.Errorf("signing in with the revoked token: %d", r.code)
	}
	_, items = listTokens(t, ts.URL, toks["admin"])
	for _, it := range items {
		if it["id"] == id && it["revoked"] == nil {
			t.Errorf("the list does not show the revocation: %v", it)
		}
	}
}

// A token revoked elsewhere (the CLI, another worker) ends its sessions
// once the cached check expires: seconds, here one nanosecond.
func TestSessionRechecksToken(t *testing.T) {
	s, ts, toks := setupWith(t, "auth: {token_cache: 1ns}\n")
	cookie, _ := login(t, ts.URL, toks["approver"])
	if r := send(t, "GET", ts.URL+"/v1/incidents", "", "Cookie", cookie); r.code != 200 {
		t.Fatalf("before: %d", r.code)
	}
	tok, err := s.DB.LookupToken(context.Background(), toks["approver"])
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DB.RevokeToken(context.Background(), tok.ID); err != nil {
		t.Fatal(err)
	}
	if r := send(t, "GET", ts.URL+"/v1/incidents", "", "Cookie", cookie); r.code != 401 {
		t.Errorf("a session whose token was revoked in the store: %d, want 401", r.code)
	}
	if r := send(t, "GET", ts.URL+"/v1/incidents", "", bearer(toks["approver"])...); r.code != 401 {
		t.Errorf("the token revoked in the store: %d, want 401", r.code)
	}
}

// Attack 10: an ingest token posts telemetry and does nothing else; it
// cannot sign in to the UI.
func TestIngestRole(t *testing.T) {
	_, ts, toks := setupWith(t, "")
	ing := toks["ingest"]
	if r := send(t, "POST", ts.URL+"/v1/ingest/cloudtrail", `{"Records":[]}`, append(bearer(ing), "Content-Type", "application/json")...); r.code != 202 {
		t.Errorf("ingest: %d %s", r.code, r.body)
	}
	fh := `{"requestId":"r1","timestamp":1,"records":[{"data":"eyJhIjoxfQ=="}]}`
	if r := send(t, "POST", ts.URL+"/v1/ingest/firehose", fh, "X-Amz-Firehose-Access-Key", ing, "Content-Type", "application/json"); r.code != 200 {
		t.Errorf("firehose with an ingest access key: %d %s", r.code, r.body)
	}
	for _, c := range [][3]string{
		{"GET", "/v1/incidents", ""},
		{"POST", "/v1/incidents/x/close", `{"reason":"r"}`},
		{"POST", "/v1/playbook-runs", `{"finding_id":"f","playbook":"p"}`},
		{"POST", "/v1/approvals/x/approve", `{}`},
		{"GET", "/v1/whoami", ""},
		{"GET", "/v1/nothing-here", ""},
	} {
		if r := send(t, c[0], ts.URL+c[1], c[2], append(bearer(ing), "Content-Type", "application/json")...); r.code != 403 {
			t.Errorf("%s %s as ingest: %d, want 403", c[0], c[1], r.code)
		}
	}
	if r := send(t, "POST", ts.URL+"/ui/login", `{"token":"`+ing+`"}`, "Content-Type", "application/json"); r.code != 403 {
		t.Errorf("an ingest token signed in: %d", r.code)
	}
}

// Attack 14 (part): sign-in and sign-out refuse cross-origin requests
// (login CSRF would put a victim in the attacker's session; logout CSRF
// signs people out).
func TestLoginLogoutCSRF(t *testing.T) {
	_, ts, toks := setupWith(t, "")
	body := `{"token":"` + toks["admin"] + `"}`
	for _, h := range [][]string{
		{"Origin", "https://evil.example"},
		{"Origin", "null"},
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site", "Origin", "http://sub." + strings.TrimPrefix(ts.URL, "http://")},
	} {
		r := send(t, "POST", ts.URL+"/ui/login", body, append([]string{"Content-Type", "text/plain"}, h...)...)
		if r.code != 403 || r.hdr.Get("Set-Cookie") != "" {
			t.Errorf("login with %v: %d, cookie %q; want 403 and none", h, r.code, r.hdr.Get("Set-Cookie"))
		}
	}
	// The same origin, and a client that is no browser (no Origin).
	login(t, ts.URL, toks["admin"])
	if r := send(t, "POST", ts.URL+"/ui/login", body, "Content-Type", "application/json"); r.code != 200 {
		t.Errorf("login without an Origin header: %d", r.code)
	}
	cookie, csrf := login(t, ts.URL, toks["admin"])
	r := send(t, "POST", ts.URL+"/ui/logout", "", "Cookie", cookie, "X-CSRF-Token", csrf, "Origin", "https://evil.example")
	if r.code != 403 || r.hdr.Get("Set-Cookie") != "" {
		t.Errorf("cross-origin logout: %d, cookie %q; want 403 and none", r.code, r.hdr.Get("Set-Cookie"))
	}
	if r := send(t, "GET", ts.URL+"/ui/session", "", "Cookie", cookie); r.code != 200 {
		t.Errorf("the session after a refused logout: %d", r.code)
	}
	if r := send(t, "POST", ts.URL+"/ui/logout", "", "Cookie", cookie, "X-CSRF-Token", csrf, "Origin", ts.URL); r.code != 200 {
		t.Errorf("logout: %d", r.code)
	}
	if r := send(t, "GET", ts.URL+"/ui/session", "", "Cookie", cookie); r.code != 401 {
		t.Errorf("the session after logout: %d", r.code)
	}
}

// Session cookies are Secure unless plain-HTTP development says otherwise.
func TestSecureCookies(t *testing.T) {
	for _, tc := range []struct {
		yaml   string
		secure bool
	}{{"", true}, {"auth: {insecure_cookies: true}\n", false}} {
		_, ts, toks := setupWith(t, tc.yaml)
		r := send(t, "POST", ts.URL+"/ui/login", `{"token":"`+toks["viewer"]+`"}`, "Content-Type", "application/json")
		cs := (&http.Response{Header: r.hdr}).Cookies()
		if r.code != 200 || len(cs) != 1 || cs[0].Secure != tc.secure || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode {
			t.Errorf("%q: %d %v, want Secure=%v", tc.yaml, r.code, r.hdr["Set-Cookie"], tc.secure)
		}
	}
}

// Sessions are bounded per token (the oldest gives way) and in all (503).
func TestSessionBounds(t *testing.T) {
	_, ts, toks := setupWith(t, "auth: {max_sessions: 3, max_sessions_per_token: 2}\n")
	a1, _ := login(t, ts.URL, toks["viewer"])
	a2, _ := login(t, ts.URL, toks["viewer"])
	a3, _ := login(t, ts.URL, toks["viewer"])
	for c, want := range map[string]int{a1: 401, a2: 200, a3: 200} {
		if r := send(t, "GET", ts.URL+"/ui/session", "", "Cookie", c); r.code != want {
			t.Errorf("session %s: %d, want %d", c, r.code, want)
		}
	}
	login(t, ts.URL, toks["analyst"])
	r := send(t, "POST", ts.URL+"/ui/login", `{"token":"`+toks["admin"]+`"}`, "Content-Type", "application/json")
	if r.code != 503 || r.hdr.Get("Retry-After") == "" || r.hdr.Get("Set-Cookie") != "" {
		t.Errorf("a fourth session: %d %q", r.code, r.body)
	}
}

// Live-update subscribers are bounded per token and in all (503).
func TestStreamBounds(t *testing.T) {
	_, ts, toks := setupWith(t, "auth: {max_streams: 3, max_streams_per_token: 2}\n")
	open := func(tok string) (*http.Response, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/v1/stream", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cancel(); resp.Body.Close() })
		return resp, cancel
	}
	r1, stop1 := open(toks["viewer"])
	r2, _ := open(toks["viewer"])
	r3, _ := open(toks["viewer"])
	if r1.StatusCode != 200 || r2.StatusCode != 200 || r3.StatusCode != 503 || r3.Header.Get("Retry-After") == "" {
		t.Errorf("three streams of one token: %d %d %d, want 200 200 503 with Retry-After", r1.StatusCode, r2.StatusCode, r3.StatusCode)
	}
	r4, _ := open(toks["admin"])
	r5, _ := open(toks["analyst"])
	if r4.StatusCode != 200 || r5.StatusCode != 503 {
		t.Errorf("past the total: %d %d, want 200 503", r4.StatusCode, r5.StatusCode)
	}
	stop1()
	r1.Body.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		r, cancel := open(toks["analyst"])
		if r.StatusCode == 200 {
			cancel()
			break
		}
		cancel()
		if time.Now().After(deadline) {
			t.Fatal("a closed stream's place was not given back")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// /metrics can require a scrape token, or a Parapet token of a role.
func TestMetricsToken(t *testing.T) {
	t.Setenv("PARAPET_TEST_METRICS", "scr4pe-s3cret")
	_, ts, _ := setupWith(t, "metrics: {token: env:PARAPET_TEST_METRICS}\n")
	for tok, want := range map[string]int{"": 401, "wrong": 401, "scr4pe-s3cret": 200} {
		h := []string{}
		if tok != "" {
			h = bearer(tok)
		}
		if r := send(t, "GET", ts.URL+"/metrics", "", h...); r.code != want {
			t.Errorf("/metrics with %q: %d, want %d", tok, r.code, want)
		}
	}
	_, ts, toks := setupWith(t, "metrics: {role: viewer}\n")
	for tok, want := range map[string]int{"": 401, toks["ingest"]: 403, toks["viewer"]: 200, toks["admin"]: 200} {
		h := []string{}
		if tok != "" {
			h = bearer(tok)
		}
		if r := send(t, "GET", ts.URL+"/metrics", "", h...); r.code != want {
			t.Errorf("/metrics with a token: %d, want %d", r.code, want)
		}
	}
	_, ts, _ = setupWith(t, "")
	if r := send(t, "GET", ts.URL+"/metrics", ""); r.code != 200 {
		t.Errorf("/metrics by default: %d", r.code)
	}
	if _, err := config.Parse([]byte("metrics: {token: hunter2}\n")); err == nil {
		t.Error("a metrics token written in the file was accepted")
	}
}
