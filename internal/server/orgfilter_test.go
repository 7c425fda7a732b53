package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parapet-sec/parapet/internal/attackpath"
	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/pgtest"
	"github.com/parapet-sec/parapet/internal/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// The organization of the filter tests: OU names that are prefixes of
// others (Sandbox, Sandbox2; Prod, Production) and a sub-OU.
var filterOrg = []org.Account{
	{ID: "111122223333", Name: "prod-a", OU: "Root/Production"},
	{ID: "222233334444", Name: "prod-b", OU: "Root/Prod"},
	{ID: "444455556666", Name: "sandbox-a", OU: "Root/Sandbox"},
	{ID: "555566667777", Name: "sandbox-team", OU: "Root/Sandbox/Team"},
	{ID: "777788889999", Name: "sandbox2", OU: "Root/Sandbox2"},
}

// orgFilterServer runs real CloudTrail records, one user per account of
// filterOrg, through the pipeline into a store at dbPath (SQLite or
// PostgreSQL), with a playbook that asks for approval on each finding.
func orgFilterServer(t *testing.T, dbPath string, inventory bool) (*Server, *httptest.Server, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var recs []string
	for i, a := range filterOrg {
		user := strings.ReplaceAll(a.Name, "-", "")
		recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.08","eventTime":"2026-11-24T10:%02d:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser",`+
			`"awsRegion":"us-east-1","sourceIPAddress":"203.0.113.%d","userAgent":"aws-cli/2.17.20","eventID":"ev-%d","eventType":"AwsApiCall","recipientAccountId":%q,`+
			`"userIdentity":{"type":"IAMUser","principalId":"AIDA%s","arn":"arn:aws:iam::%s:user/%s","accountId":%q,"userName":%q},`+
			`"requestParameters":{"userName":"new-%s"}}`, i, 10+i, i, a.ID, strings.ToUpper(user), a.ID, user, a.ID, user, user))
	}
	p := approvalPipeline(t, ctx, cancel, db, "note", func(string) {}, `{"Records":[`+strings.Join(recs, ",")+`]}`)
	s := New(config.Default(), db, p, prometheus.NewRegistry(), nil, nil)
	if inventory {
		s.OrgAccounts = func() []org.Account { return slices.Clone(filterOrg) }
	}
	// Paths from a source in two of the accounts.
	s.Paths = &attackpath.Report{Account: "111122223333", Target: "admin", Paths: []attackpath.Path{
		{Source: "arn:aws:iam::111122223333:user/support", SourceName: "support", Target: "admin"},
		{Source: "arn:aws:iam::444455556666:role/ci", SourceName: "ci", Target: "admin"}}}
	s.PostureSummary = func(_ context.Context, accounts []string) (map[string]any, error) {
		return map[string]any{"targets": []any{}, "trend": []any{}, "asked": accounts}, nil
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	tok, _, err := db.CreateToken(ctx, "viewer", "v")
	if err != nil {
		t.Fatal(err)
	}
	return s, ts, tok
}

func getJSON(t *testing.T, ts *httptest.Server, tok, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, v
}

// accountsIn lists the accounts of a list's items (sorted, distinct), by
// get, and checks that each item carries the OU want says.
func accountsIn(t *testing.T, v map[string]any, key string, get func(map[string]any) string, ous map[string]string) string {
	t.Helper()
	items, _ := v[key].([]any)
	seen := map[string]bool{}
	for _, it := range items {
		m := it.(map[string]any)
		a := get(m)
		seen[a] = true
		if ou, _ := m["ou"].(string); ous != nil && ou != ous[a] {
			t.Errorf("%s item in %s: ou %q, want %q", key, a, ou, ous[a])
		}
	}
	var out []string
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// Every list of account-bearing items filtered by account and by OU, on
// SQLite and PostgreSQL: exact account ids (a prefix matches nothing), OU
// paths with their sub-OUs, OU names that never match a longer name.
func TestOrgFilter(t *testing.T) {
	backends := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "p.db") },
		"postgres": func(t *testing.T) string { return pgtest.URL(t) },
	}
	ous := map[string]string{}
	for _, a := range filterOrg {
		ous[a.ID] = a.OU
	}
	all := "111122223333,222233334444,444455556666,555566667777,777788889999"
	for name, path := range backends {
		t.Run(name, func(t *testing.T) {
			_, ts, tok := orgFilterServer(t, path(t), true)
			incAccount := func(m map[string]any) string { s, _ := m["account"].(string); return s }
			findingAccount := func(m map[string]any) string {
				c, _ := m["cloud"].(map[string]any)
				s, _ := c["account"].(string)
				return s
			}
			cases := []struct{ name, query, want string }{
				{"no filter", "", all},
				{"one account", "account=444455556666", "444455556666"},
				{"two accounts", "account=444455556666,111122223333", "111122223333,444455556666"},
				{"repeated", "account=444455556666&account=777788889999", "444455556666,777788889999"},
				{"an id's prefix", "account=11112222333", ""},
				{"an id's start", "account=1111", ""},
				{"like's wildcard", "account=%25", ""},
				{"OU path with its sub-OU", "ou=Root/Sandbox", "444455556666,555566667777"},
				{"OU name with its sub-OU", "ou=sandbox", "444455556666,555566667777"},
				{"sub-OU alone", "ou=Team", "555566667777"},
				{"an OU name's prefix", "ou=Sand", ""},
				{"an OU path's prefix", "ou=Root/Sand", ""},
				{"OU named like another's start", "ou=Prod", "222233334444"},
				{"OU path Root/Prod", "ou=Root/Prod", "222233334444"},
				{"two OUs", "ou=Sandbox2&ou=Production", "111122223333,777788889999"},
				{"account and OU", "ou=Sandbox&account=555566667777,111122223333", "555566667777"},
				{"root", "ou=Root", all},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					q := "?" + tc.query
					code, v := getJSON(t, ts, tok, "/v1/incidents"+q+"&status=open")
					if got := accountsIn(t, v, "items", incAccount, ous); code != 200 || got != tc.want {
						t.Errorf("incidents%s: %d %s, want %s", q, code, got, tc.want)
					}
					code, v = getJSON(t, ts, tok, "/v1/findings"+q)
					if got := accountsIn(t, v, "items", findingAccount, ous); code != 200 || got != tc.want {
						t.Errorf("findings%s: %d %s, want %s", q, code, got, tc.want)
					}
					code, v = getJSON(t, ts, tok, "/v1/approvals"+q)
					if got := accountsIn(t, v, "items", incAccount, ous); code != 200 || got != tc.want {
						t.Errorf("approvals%s: %d %s, want %s", q, code, got, tc.want)
					}
					// One CreateUser per account: a finding, its incident, a
					// pending approval and its run in each selected account.
					n := 0
					if tc.want != "" {
						n = len(strings.Split(tc.want, ","))
					}
					code, v = getJSON(t, ts, tok, "/v1/stats"+q)
					for _, k := range []string{"findings", "incidents", "pending_approvals"} {
						if got, _ := v[k].(float64); code != 200 || int(got) != n {
							t.Errorf("stats%s: %d, %s %v, want %d", q, code, k, v[k], n)
						}
					}
					if byLevel, _ := v["findings_by_level"].(map[string]any); n > 0 && byLevel["medium"] != float64(n) {
						t.Errorf("stats%s: findings by level %v, want medium %d", q, byLevel, n)
					}
					code, v = getJSON(t, ts, tok, "/v1/playbook-runs"+q)
					if items, _ := v["items"].([]any); code != 200 || len(items) != n {
						t.Errorf("playbook-runs%s: %d, %d runs, want %d", q, code, len(items), n)
					}
				})
			}
			// Paths: by their source's account.
			code, v := getJSON(t, ts, tok, "/v1/paths?ou=Sandbox")
			if got := accountsIn(t, v, "paths", incAccount, ous); code != 200 || got != "444455556666" {
				t.Errorf("paths in Sandbox: %d %s", code, got)
			}
			if code, v := getJSON(t, ts, tok, "/v1/paths?account=1111"); code != 200 || len(v["paths"].([]any)) != 0 {
				t.Errorf("paths of a prefix: %d %v", code, v)
			}
			// Posture: the accounts resolved, none for an OU with none.
			if _, v := getJSON(t, ts, tok, "/v1/posture?ou=Sandbox"); fmt.Sprint(v["asked"]) != "[444455556666 555566667777]" {
				t.Errorf("posture asked for %v", v["asked"])
			}
			if _, v := getJSON(t, ts, tok, "/v1/posture?ou=Sand"); fmt.Sprint(v["asked"]) != "[]" {
				t.Errorf("posture for no account asked for %v", v["asked"])
			}
			if _, v := getJSON(t, ts, tok, "/v1/posture"); v["asked"] != nil {
				t.Errorf("posture without a filter asked for %v", v["asked"])
			}
			// The inventory.
			code, v = getJSON(t, ts, tok, "/v1/org/accounts")
			if got := accountsIn(t, v, "items", func(m map[string]any) string { return m["id"].(string) }, ous); code != 200 || got != all || v["organization"] != true {
				t.Errorf("org accounts: %d %v", code, v)
			}
			if got := fmt.Sprint(v["ous"]); got != "[Root Root/Prod Root/Production Root/Sandbox Root/Sandbox/Team Root/Sandbox2]" {
				t.Errorf("OUs: %s", got)
			}
			// Bad filters.
			if code, v := getJSON(t, ts, tok, "/v1/findings?account="+strings.Repeat("1,", maxScopeAccounts+1)); code != 400 {
				t.Errorf("too many accounts: %d %v", code, v)
			}
			if code, v := getJSON(t, ts, tok, "/v1/incidents?ou=Sandbox"+strings.Repeat("&ou=Sandbox", maxScopeOUs)); code != 400 {
				t.Errorf("too many OUs: %d %v", code, v)
			}
			if code, v := getJSON(t, ts, tok, "/v1/incidents?ou="+url.QueryEscape(strings.Repeat("x", maxScopeValue+1))); code != 400 {
				t.Errorf("a long OU: %d %v", code, v)
			}
		})
	}
}

// Without an organization: account= works, ou= is refused with a clear
// message, and the inventory is empty.
func TestOrgFilterWithoutOrganization(t *testing.T) {
	_, ts, tok := orgFilterServer(t, filepath.Join(t.TempDir(), "p.db"), false)
	code, v := getJSON(t, ts, tok, "/v1/findings?account=777788889999")
	if items, _ := v["items"].([]any); code != 200 || len(items) != 1 {
		t.Fatalf("findings of one account: %d %v", code, v)
	} else if _, has := items[0].(map[string]any)["ou"]; has {
		t.Errorf("an OU without an organization: %v", items[0])
	}
	for _, path := range []string{"/v1/incidents", "/v1/findings", "/v1/approvals", "/v1/paths", "/v1/posture"} {
		code, v := getJSON(t, ts, tok, path+"?ou=Sandbox")
		if msg, _ := v["error"].(string); code != 400 || !strings.Contains(msg, "no organization is configured") || !strings.Contains(msg, "ou=Sandbox") {
			t.Errorf("%s?ou=Sandbox: %d %v", path, code, v)
		}
	}
	code, v = getJSON(t, ts, tok, "/v1/org/accounts")
	if items, _ := v["items"].([]any); code != 200 || len(items) != 0 || v["organization"] != false || v["ous"] == nil {
		t.Errorf("org accounts without an organization: %d %v", code, v)
	}
}

// An organization whose accounts serve has not listed yet: ou= answers
// 503 with Retry-After, never an empty list that looks like an answer.
func TestOrgFilterBeforeListing(t *testing.T) {
	s, ts, tok := orgFilterServer(t, filepath.Join(t.TempDir(), "p.db"), false)
	s.OrgAccounts = func() []org.Account { return nil }
	code, v := getJSON(t, ts, tok, "/v1/incidents?ou=Sandbox")
	if msg, _ := v["error"].(string); code != 503 || !strings.Contains(msg, "not been listed yet") {
		t.Errorf("ou= before the listing: %d %v", code, v)
	}
	if code, v := getJSON(t, ts, tok, "/v1/incidents?account=444455556666"); code != 200 || len(v["items"].([]any)) != 1 {
		t.Errorf("account= before the listing: %d %v", code, v)
	}
	if code, v := getJSON(t, ts, tok, "/v1/org/accounts"); code != 200 || v["organization"] != true || v["listed"] != false {
		t.Errorf("the inventory before the listing: %d %v", code, v)
	}
}

func TestWithOU(t *testing.T) {
	for _, tc := range []struct{ in, ou, want string }{
		{`{"id":"f"}`, "Root/A", `{"ou":"Root/A","id":"f"}`},
		{`{}`, "Root/A", `{"ou":"Root/A"}`},
		{`{"id":"f"}`, "", `{"id":"f"}`},
		{`{"id":"f"}`, `Root/"q"`, `{"ou":"Root/\"q\"","id":"f"}`},
	} {
		got := string(withOU(json.RawMessage(tc.in), tc.ou))
		if got != tc.want || !json.Valid([]byte(got)) {
			t.Errorf("withOU(%s, %q) = %s, want %s", tc.in, tc.ou, got, tc.want)
		}
	}
}

// The timeline of one account or OU: only its events, the other accounts'
// partitions not read; an id's prefix reads nothing.
func TestTimelineByAccount(t *testing.T) {
	s, l, counts := huntSetup(t)
	s.OrgAccounts = func() []org.Account {
		return []org.Account{{ID: "111122223333", OU: "Root/Prod"}, {ID: "444455556666", OU: "Root/Production"}}
	}
	get := func(q string) (int, timelineAnswer) {
		t.Helper()
		_, resp, b := l.get(t, "viewer", "/v1/timeline?access_key="+devKey+"&since=2026-11-01&until=2026-11-04&limit=100"+q)
		var a timelineAnswer
		_ = json.Unmarshal(b, &a)
		return resp.StatusCode, a
	}
	_, all := get("")
	if len(all.Items) != counts["dev"] {
		t.Fatalf("dev's timeline: %d items, want %d", len(all.Items), counts["dev"])
	}
	// dev's calls in 444455556666: i%5 == 4 and i%3 != 0 of 0…29.
	for _, tc := range []struct {
		q       string
		n       int
		account string
	}{
		{"&account=444455556666", 4, "444455556666"},
		{"&ou=Production", 4, "444455556666"},
		{"&ou=Root/Prod", counts["dev"] - 4, "111122223333"},
		{"&account=4444", 0, ""},
		{"&ou=Prod&account=444455556666", 0, ""},
	} {
		code, a := get(tc.q)
		if code != 200 || len(a.Items) != tc.n {
			t.Errorf("timeline%s: %d, %d items, want %d", tc.q, code, len(a.Items), tc.n)
		}
		for _, it := range a.Items {
			if it.Account != tc.account || it.OU == "" {
				t.Errorf("timeline%s: an item in %s (%q)", tc.q, it.Account, it.OU)
			}
		}
		if tc.n > 0 && a.Stats.Files >= all.Stats.Files {
			t.Errorf("timeline%s read %d files, all accounts' %d", tc.q, a.Stats.Files, all.Stats.Files)
		}
	}
}
