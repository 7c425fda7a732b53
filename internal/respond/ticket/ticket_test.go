package ticket

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/respond"
	"github.com/parapet-sec/parapet/internal/store"
)

const (
	jiraToken  = "jira-tok-7f3a9c"
	snPassword = "sn-pw-41c2e8"
	snToken    = "sn-bearer-93bd10"
)

// jiraServer is a Jira Cloud site that keeps issues in memory and checks
// each request against the REST API v3 documentation: method, path,
// Basic auth, JSON bodies in Atlassian Document Format where the API
// takes rich text.
type jiraServer struct {
	t      *testing.T
	mu     sync.Mutex
	issues map[string]*fakeIssue
	seq    int
	calls  []string
	// noDone: the workflow offers no transition to a done status.
	noDone bool
	// status, when set, is what every request is answered.
	status int
	// email is the account the token belongs to (default bot@acme.example).
	email string
	// stale: like Jira's eventually consistent search, issues stay unseen
	// by it unless their ids are in reconcileIssues.
	stale bool
}

type fakeIssue struct {
	ID, Key, Summary, Status, Category string
	Labels                             []string
	Comments                           []string
	Links                              map[string]string // globalId → url
}

func newJira(t *testing.T) (*jiraServer, string) {
	j := &jiraServer{t: t, issues: map[string]*fakeIssue{}}
	srv := httptest.NewServer(j)
	t.Cleanup(srv.Close)
	return j, srv.URL
}

func (j *jiraServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.calls = append(j.calls, r.Method+" "+r.URL.Path)
	fail := func(code int, msg string, args ...any) {
		j.t.Errorf("jira %s %s: "+msg, append([]any{r.Method, r.URL.Path}, args...)...)
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"errorMessages":[%q],"errors":{}}`, fmt.Sprintf(msg, args...))
	}
	if j.status != 0 {
		w.WriteHeader(j.status)
		fmt.Fprint(w, `{"errorMessages":["Client must be authenticated to access this resource."],"errors":{}}`)
		return
	}
	email := j.email
	if email == "" {
		email = "bot@acme.example"
	}
	if want := "Basic " + base64.StdEncoding.EncodeToString([]byte(email+":"+jiraToken)); r.Header.Get("Authorization") != want {
		fail(401, "Authorization %q", r.Header.Get("Authorization"))
		return
	}
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if r.Header.Get("Content-Type") != "application/json" {
			fail(415, "Content-Type %q", r.Header.Get("Content-Type"))
			return
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			fail(400, "body %s: %v", b, err)
			return
		}
	}
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		if v != nil {
			_ = json.NewEncoder(w).Encode(v)
		}
	}
	const issuePrefix = "/rest/api/3/issue/"
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/rest/api/3/search/jql":
		jql, _ := body["jql"].(string)
		var project, label string
		if _, err := fmt.Sscanf(jql, "project = %q AND labels = %q", &project, &label); err != nil {
			fail(400, "jql %q", jql)
			return
		}
		if body["maxResults"] != float64(1) {
			fail(400, "maxResults %v", body["maxResults"])
			return
		}
		var reconcile []string
		if rs, ok := body["reconcileIssues"]; ok {
			l, _ := rs.([]any)
			for _, r := range l {
				n, ok := r.(float64)
				if !ok || len(l) > 50 {
					fail(400, "reconcileIssues %v: up to 50 issue ids (integers)", rs)
					return
				}
				reconcile = append(reconcile, fmt.Sprint(int64(n)))
			}
		}
		issues := []any{}
		for _, is := range j.issues {
			if j.stale && !slices.Contains(reconcile, is.ID) {
				continue
			}
			if strings.HasPrefix(is.Key, project+"-") && slices.Contains(is.Labels, label) {
				issues = append(issues, map[string]any{"id": "1", "key": is.Key, "fields": map[string]any{
					"summary": is.Summary, "status": map[string]any{"name": is.Status, "statusCategory": map[string]any{"key": is.Category}}}})
			}
		}
		reply(200, map[string]any{"issues": issues, "isLast": true})
	case r.Method == http.MethodPost && r.URL.Path == "/rest/api/3/issue":
		f, _ := body["fields"].(map[string]any)
		project, _ := f["project"].(map[string]any)
		itype, _ := f["issuetype"].(map[string]any)
		summary, _ := f["summary"].(string)
		if project["key"] == nil || itype["name"] == nil || summary == "" {
			fail(400, "fields %v", f)
			return
		}
		desc, ok := checkADF(f["description"])
		if !ok {
			fail(400, "description is not an ADF document: %v", f["description"])
			return
		}
		var labels []string
		ls, _ := f["labels"].([]any)
		for _, l := range ls {
			s, ok := l.(string)
			if !ok || strings.ContainsAny(s, " ,") {
				fail(400, "label %v", l)
				return
			}
			labels = append(labels, s)
		}
		if p, ok := f["priority"]; ok {
			if m, _ := p.(map[string]any); m["name"] == nil {
				fail(400, "priority %v", p)
				return
			}
		}
		j.seq++
		key := fmt.Sprintf("%s-%d", project["key"], j.seq)
		j.issues[key] = &fakeIssue{ID: "1000" + fmt.Sprint(j.seq), Key: key, Summary: summary, Status: "To Do", Category: "new", Labels: labels, Comments: []string{desc}, Links: map[string]string{}}
		reply(201, map[string]any{"id": "1000" + fmt.Sprint(j.seq), "key": key, "self": "https://acme.atlassian.net/rest/api/3/issue/1000" + fmt.Sprint(j.seq)})
	case strings.HasPrefix(r.URL.Path, issuePrefix):
		key, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, issuePrefix), "/")
		is := j.issues[key]
		if is == nil {
			fail(404, "no issue %s", key)
			return
		}
		switch {
		case r.Method == http.MethodPut && rest == "":
			f, _ := body["fields"].(map[string]any)
			if s, ok := f["summary"].(string); ok {
				is.Summary = s
			}
			up, _ := body["update"].(map[string]any)
			ops, _ := up["labels"].([]any)
			for _, op := range ops {
				m, _ := op.(map[string]any)
				l, ok := m["add"].(string)
				if !ok {
					fail(400, "label operation %v", op)
					return
				}
				if !slices.Contains(is.Labels, l) {
					is.Labels = append(is.Labels, l)
				}
			}
			reply(204, nil)
		case r.Method == http.MethodPost && rest == "comment":
			text, ok := checkADF(body["body"])
			if !ok {
				fail(400, "comment body is not an ADF document: %v", body["body"])
				return
			}
			is.Comments = append(is.Comments, text)
			reply(201, map[string]any{"id": "10000"})
		case r.Method == http.MethodGet && rest == "transitions":
			ts := []any{map[string]any{"id": "21", "name": "Start work", "to": map[string]any{"name": "In Progress", "statusCategory": map[string]any{"key": "indeterminate"}}}}
			if !j.noDone {
				ts = append(ts, map[string]any{"id": "31", "name": "Resolve", "to": map[string]any{"name": "Done", "statusCategory": map[string]any{"key": "done"}}})
			}
			reply(200, map[string]any{"transitions": ts})
		case r.Method == http.MethodPost && rest == "transitions":
			tr, _ := body["transition"].(map[string]any)
			if tr["id"] != "31" {
				fail(400, "transition %v", body["transition"])
				return
			}
			is.Status, is.Category = "Done", "done"
			reply(204, nil)
		case r.Method == http.MethodPost && rest == "remotelink":
			obj, _ := body["object"].(map[string]any)
			gid, _ := body["globalId"].(string)
			u, _ := obj["url"].(string)
			if gid == "" || u == "" || obj["title"] == nil {
				fail(400, "remote link %v", body)
				return
			}
			code := 201
			if _, ok := is.Links[gid]; ok {
				code = 200 // the documented answer when the globalId exists: updated
			}
			is.Links[gid] = u
			reply(code, map[string]any{"id": 10000, "self": "https://acme.atlassian.net/rest/api/3/issue/" + key + "/remotelink/10000"})
		default:
			fail(404, "no such operation")
		}
	default:
		fail(404, "no such operation")
	}
}

func (j *jiraServer) take() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	c := j.calls
	j.calls = nil
	return c
}

// checkADF checks an Atlassian Document Format document of paragraphs
// (text and hardBreak nodes) and returns its text.
func checkADF(v any) (string, bool) {
	doc, _ := v.(map[string]any)
	if doc["type"] != "doc" || doc["version"] != float64(1) {
		return "", false
	}
	paras, ok := doc["content"].([]any)
	if !ok || len(paras) == 0 {
		return "", false
	}
	var b strings.Builder
	for _, p := range paras {
		para, _ := p.(map[string]any)
		nodes, ok := para["content"].([]any)
		if para["type"] != "paragraph" || !ok {
			return "", false
		}
		for _, n := range nodes {
			node, _ := n.(map[string]any)
			switch node["type"] {
			case "text":
				s, _ := node["text"].(string)
				if s == "" { // ADF refuses empty text nodes
					return "", false
				}
				b.WriteString(s)
			case "hardBreak":
				b.WriteString("\n")
			default:
				return "", false
			}
		}
		b.WriteString("\n\n")
	}
	return b.String(), true
}

func registry() *respond.Registry {
	r := respond.NewRegistry()
	Register(r, nil)
	return r
}

func jiraParams(site string) respond.Params {
	return respond.Params{"site": site, "email": "bot@acme.example", "api_token": "env:JIRA_TOKEN", "project": "SEC",
		"summary": "Public bucket acme-finance-reports", "description": "acme-finance-reports was made public.\nBy mallory.",
		"incident": "inc-0a1b2c3d4e5f6071", "link": "https://parapet.acme.example/#/incident/inc-0a1b2c3d4e5f6071",
		"labels": "cloud-security, s3", "priority": "High"}
}

// noSecret fails when v, as JSON (what the audit trail keeps), holds one of
// the secrets.
func noSecret(t *testing.T, what string, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if e, ok := v.(error); ok && e != nil {
		b = []byte(e.Error())
	}
	for _, s := range []string{jiraToken, snPassword, snToken, base64.StdEncoding.EncodeToString([]byte("bot@acme.example:" + jiraToken))} {
		if strings.Contains(string(b), s) {
			t.Errorf("%s holds a secret: %s", what, b)
		}
	}
}

func TestJiraOpenUpdateClose(t *testing.T) {
	j, site := newJira(t)
	t.Setenv("JIRA_TOKEN", jiraToken)
	a := registry().Get("ticket.jira")
	ctx := context.Background()
	p := jiraParams(site)

	steps := []struct {
		name, state string
		calls       []string
		summary     string
	}{
		{"open creates", "open", []string{"POST /rest/api/3/search/jql", "POST /rest/api/3/issue", "POST /rest/api/3/issue/SEC-1/remotelink"}, "Jira issue SEC-1 created: " + site + "/browse/SEC-1"},
		{"open again updates", "open", []string{"POST /rest/api/3/search/jql", "PUT /rest/api/3/issue/SEC-1", "POST /rest/api/3/issue/SEC-1/comment", "POST /rest/api/3/issue/SEC-1/remotelink"}, "Jira issue SEC-1 updated: " + site + "/browse/SEC-1"},
		{"update", "update", []string{"POST /rest/api/3/search/jql", "PUT /rest/api/3/issue/SEC-1", "POST /rest/api/3/issue/SEC-1/comment", "POST /rest/api/3/issue/SEC-1/remotelink"}, "Jira issue SEC-1 updated"},
		{"close", "close", []string{"POST /rest/api/3/search/jql", "POST /rest/api/3/issue/SEC-1/comment", "GET /rest/api/3/issue/SEC-1/transitions", "POST /rest/api/3/issue/SEC-1/transitions"}, "Jira issue SEC-1 closed (Done): " + site + "/browse/SEC-1"},
		{"close again does nothing", "close", []string{"POST /rest/api/3/search/jql"}, "Jira issue SEC-1 is already done"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			p["state"] = s.state
			o, err := a.Execute(ctx, p)
			if err != nil {
				t.Fatalf("Execute(%s) = %v", s.state, err)
			}
			if got := j.take(); !slices.Equal(got, s.calls) {
				t.Errorf("calls %q, want %q", got, s.calls)
			}
			if len(o.Calls) != len(s.calls) {
				t.Errorf("the outcome records %d calls, want %d", len(o.Calls), len(s.calls))
			}
			if !strings.HasPrefix(o.Summary, s.summary) {
				t.Errorf("summary %q, want %q…", o.Summary, s.summary)
			}
			noSecret(t, "the outcome", o)
		})
	}
	is := j.issues["SEC-1"]
	if len(j.issues) != 1 || is.Category != "done" {
		t.Fatalf("issues %+v", j.issues)
	}
	for _, l := range []string{"parapet", "parapet-incident-inc-0a1b2c3d4e5f6071", "cloud-security", "s3"} {
		if !slices.Contains(is.Labels, l) {
			t.Errorf("labels %q lack %q", is.Labels, l)
		}
	}
	if len(is.Links) != 1 || is.Links["parapet-incident=inc-0a1b2c3d4e5f6071"] != p["link"] {
		t.Errorf("remote links %v", is.Links)
	}
	// The description and every comment carry the link back.
	for i, c := range is.Comments {
		if !strings.Contains(c, p["link"]) {
			t.Errorf("text %d lacks the link: %q", i, c)
		}
	}
	if !strings.Contains(is.Comments[0], "made public.\nBy mallory.") {
		t.Errorf("the description lost its line break: %q", is.Comments[0])
	}
	// Another incident is another issue.
	p["incident"], p["state"] = "inc-ffff000011112222", "open"
	if o, err := a.Execute(ctx, p); err != nil || !strings.Contains(o.Summary, "SEC-2 created") {
		t.Errorf("a second incident: %q, %v", o.Summary, err)
	}
}

// TestJiraSearchReconciles: Jira's search is eventually consistent; the
// issue the action just created is found again because the search asks
// to reconcile it, so a second finding of the incident seconds later
// updates it rather than opening a second one.
func TestJiraSearchReconciles(t *testing.T) {
	j, site := newJira(t)
	j.stale = true
	t.Setenv("JIRA_TOKEN", jiraToken)
	a := registry().Get("ticket.jira")
	p := jiraParams(site)
	for i, want := range []string{"SEC-1 created", "SEC-1 updated"} {
		o, err := a.Execute(context.Background(), p)
		if err != nil || !strings.Contains(o.Summary, want) {
			t.Errorf("run %d: %q, %v; want %q", i+1, o.Summary, err, want)
		}
	}
	if len(j.issues) != 1 {
		t.Errorf("%d issues for one incident", len(j.issues))
	}
}

func TestJiraCloseWithoutIssueOrDoneTransition(t *testing.T) {
	j, site := newJira(t)
	t.Setenv("JIRA_TOKEN", jiraToken)
	a := registry().Get("ticket.jira")
	p := jiraParams(site)
	p["state"] = "close"
	o, err := a.Execute(context.Background(), p)
	if err != nil || !strings.Contains(o.Summary, "nothing to close") {
		t.Errorf("close without an issue: %q, %v", o.Summary, err)
	}
	if got := j.take(); !slices.Equal(got, []string{"POST /rest/api/3/search/jql"}) {
		t.Errorf("calls %q", got)
	}
	p["state"] = "open"
	if _, err := a.Execute(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	j.noDone = true
	p["state"] = "close"
	if _, err := a.Execute(context.Background(), p); err == nil || !strings.Contains(err.Error(), "no transition to a done status") {
		t.Errorf("a workflow without a done transition: %v", err)
	}
}

func TestJiraErrors(t *testing.T) {
	j, site := newJira(t)
	t.Setenv("JIRA_TOKEN", jiraToken)
	a := registry().Get("ticket.jira")
	ctx := context.Background()
	cases := []struct {
		name string
		set  respond.Params
		want string
	}{
		{"plain http to a remote host", respond.Params{"site": "http://acme.atlassian.net"}, "must be https"},
		{"credentials in the site", respond.Params{"site": "https://bot:" + jiraToken + "@acme.atlassian.net"}, "holds credentials"},
		{"a path in the site", respond.Params{"site": site + "/rest/api/3"}, "without a path"},
		{"a token given as a value", respond.Params{"api_token": jiraToken}, "must be a reference"},
		{"an unset token", respond.Params{"api_token": "env:NOT_SET_ANYWHERE"}, "NOT_SET_ANYWHERE is not set"},
		{"a bad state", respond.Params{"state": "reopen"}, "want open, update or close"},
		{"a bad project key", respond.Params{"project": "sec ops"}, "not a Jira project key"},
		{"a label with a space", respond.Params{"labels": "two words"}, "no spaces"},
		{"an incident id that could break JQL", respond.Params{"incident": `x" OR project = "HR`}, "not an incident id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := jiraParams(site)
			for k, v := range tc.set {
				p[k] = v
			}
			_, err := a.Execute(ctx, p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Execute = %v, want %q", err, tc.want)
			}
			noSecret(t, "the error", err)
			if strings.Contains(err.Error(), "acme.atlassian.net") {
				t.Errorf("the error repeats the site: %v", err)
			}
		})
	}
	if got := j.take(); len(got) != 0 {
		t.Errorf("invalid steps made calls: %q", got)
	}
	// A refusal names the call and the status, not the credentials.
	j.status = http.StatusUnauthorized
	_, err := a.Execute(ctx, jiraParams(site))
	if err == nil || !strings.Contains(err.Error(), "POST /rest/api/3/search/jql: jira answered HTTP 401: Client must be authenticated") {
		t.Errorf("a refusal: %v", err)
	}
	noSecret(t, "the error", err)
	// Nobody listening: a transport error without the URL.
	p := jiraParams("http://127.0.0.1:1")
	if _, err := a.Execute(ctx, p); err == nil || strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("connection refused: %v", err)
	}
}

// snServer is a ServiceNow instance answering the Table API on one table,
// checking method, path, auth, the query and the JSON bodies.
type snServer struct {
	t       *testing.T
	auth    string
	mu      sync.Mutex
	records map[string]map[string]any // sys_id → fields
	seq     int
	calls   []string
}

func newSN(t *testing.T, auth string) (*snServer, string) {
	s := &snServer{t: t, auth: auth, records: map[string]map[string]any{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func (s *snServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, r.Method+" "+r.URL.Path)
	fail := func(code int, msg string, args ...any) {
		s.t.Errorf("servicenow %s %s: "+msg, append([]any{r.Method, r.URL.Path}, args...)...)
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":{"message":%q,"detail":""},"status":"failure"}`, fmt.Sprintf(msg, args...))
	}
	if r.Header.Get("Authorization") != s.auth {
		w.WriteHeader(401)
		fmt.Fprint(w, `{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}`)
		return
	}
	if r.Header.Get("Accept") != "application/json" {
		fail(406, "Accept %q", r.Header.Get("Accept"))
		return
	}
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		if r.Header.Get("Content-Type") != "application/json" {
			fail(415, "Content-Type %q", r.Header.Get("Content-Type"))
			return
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			fail(400, "body %s: %v", b, err)
			return
		}
		for k, v := range body {
			if _, ok := v.(string); !ok {
				fail(400, "field %s is %T: the Table API takes strings", k, v)
				return
			}
		}
	}
	result := func(rec map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range rec {
			out[k] = v
		}
		return out
	}
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"result": v})
	}
	const path = "/api/now/table/incident"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == path:
		q := r.URL.Query()
		id, ok := strings.CutPrefix(q.Get("sysparm_query"), "correlation_id=")
		if !ok || q.Get("sysparm_limit") != "1" {
			fail(400, "query %q", r.URL.RawQuery)
			return
		}
		out := []any{}
		for _, rec := range s.records {
			if rec["correlation_id"] == id {
				out = append(out, result(rec))
			}
		}
		reply(200, out)
	case r.Method == http.MethodPost && r.URL.Path == path:
		if body["short_description"] == nil || body["correlation_id"] == nil {
			fail(400, "record %v", body)
			return
		}
		s.seq++
		id := fmt.Sprintf("%032x", s.seq)
		rec := map[string]any{"sys_id": id, "number": fmt.Sprintf("INC%07d", 10000+s.seq), "state": "1"}
		for k, v := range body {
			rec[k] = v
		}
		s.records[id] = rec
		reply(201, result(rec))
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, path+"/"):
		rec := s.records[strings.TrimPrefix(r.URL.Path, path+"/")]
		if rec == nil {
			fail(404, "no record")
			return
		}
		if body["state"] == "6" && (body["close_code"] == nil || body["close_notes"] == nil) {
			fail(403, "resolving needs close_code and close_notes (a data policy)")
			return
		}
		for k, v := range body {
			if k == "work_notes" {
				rec["work_notes"] = fmt.Sprint(rec["work_notes"]) + "\n" + v.(string)
				continue
			}
			rec[k] = v
		}
		reply(200, result(rec))
	default:
		fail(404, "no such operation")
	}
}

func (s *snServer) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

func snParams(instance string) respond.Params {
	return respond.Params{"instance": instance, "user": "parapet.bot", "password": "env:SN_PASSWORD",
		"short_description": "Public bucket acme-finance-reports", "description": "acme-finance-reports was made public by mallory.",
		"incident": "inc-0a1b2c3d4e5f6071", "link": "https://parapet.acme.example/#/incident/inc-0a1b2c3d4e5f6071", "urgency": "1", "impact": "2"}
}

func TestServiceNowOpenUpdateClose(t *testing.T) {
	s, instance := newSN(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("parapet.bot:"+snPassword)))
	t.Setenv("SN_PASSWORD", snPassword)
	a := registry().Get("ticket.servicenow")
	ctx := context.Background()
	p := snParams(instance)
	const id = "00000000000000000000000000000001"
	steps := []struct {
		state   string
		calls   []string
		summary string
	}{
		{"open", []string{"GET /api/now/table/incident", "POST /api/now/table/incident"}, "ServiceNow INC0010001 created: " + instance + "/incident.do?sys_id=" + id},
		{"update", []string{"GET /api/now/table/incident", "PATCH /api/now/table/incident/" + id}, "ServiceNow INC0010001 updated"},
		{"open", []string{"GET /api/now/table/incident", "PATCH /api/now/table/incident/" + id}, "ServiceNow INC0010001 updated"},
		{"close", []string{"GET /api/now/table/incident", "PATCH /api/now/table/incident/" + id}, "ServiceNow INC0010001 resolved: " + instance},
		{"close", []string{"GET /api/now/table/incident"}, "ServiceNow INC0010001 is already resolved"},
	}
	for i, st := range steps {
		p["state"] = st.state
		o, err := a.Execute(ctx, p)
		if err != nil {
			t.Fatalf("step %d: Execute(%s) = %v", i, st.state, err)
		}
		if got := s.take(); !slices.Equal(got, st.calls) {
			t.Errorf("step %d (%s): calls %q, want %q", i, st.state, got, st.calls)
		}
		if !strings.HasPrefix(o.Summary, st.summary) {
			t.Errorf("step %d (%s): summary %q, want %q…", i, st.state, o.Summary, st.summary)
		}
		noSecret(t, "the outcome", o)
	}
	rec := s.records[id]
	if len(s.records) != 1 || rec["state"] != "6" || rec["close_code"] != "Solution provided" || rec["close_notes"] != "Resolved by Parapet." ||
		rec["urgency"] != "1" || rec["impact"] != "2" || rec["correlation_id"] != "inc-0a1b2c3d4e5f6071" {
		t.Errorf("record %v", rec)
	}
	if notes := fmt.Sprint(rec["work_notes"]); strings.Count(notes, p["link"]) != 4 {
		t.Errorf("every write should leave a work note with the link: %q", notes)
	}
	if !strings.Contains(fmt.Sprint(rec["description"]), p["link"]) {
		t.Errorf("description %q", rec["description"])
	}
}

func TestServiceNowBearerAndErrors(t *testing.T) {
	s, instance := newSN(t, "Bearer "+snToken)
	t.Setenv("SN_TOKEN", snToken)
	t.Setenv("SN_PASSWORD", snPassword)
	a := registry().Get("ticket.servicenow")
	ctx := context.Background()
	p := snParams(instance)
	delete(p, "user")
	delete(p, "password")
	p["token"] = "file:" + filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p["token"][5:], []byte(snToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p["state"] = "close"
	if o, err := a.Execute(ctx, p); err != nil || !strings.Contains(o.Summary, "nothing to close") {
		t.Errorf("close without a record: %q, %v", o.Summary, err)
	}
	p["state"] = "open"
	if o, err := a.Execute(ctx, p); err != nil || !strings.Contains(o.Summary, "INC0010001 created") {
		t.Errorf("bearer: %q, %v", o.Summary, err)
	}
	s.take()
	// Basic auth where the instance wants the token: the status and
	// ServiceNow's message, no password.
	q := snParams(instance)
	_, err := a.Execute(ctx, q)
	if err == nil || !strings.Contains(err.Error(), "GET /api/now/table/incident: servicenow answered HTTP 401: User Not Authenticated") {
		t.Errorf("refused: %v", err)
	}
	noSecret(t, "the error", err)
	for _, tc := range []struct {
		set  respond.Params
		want string
	}{
		{respond.Params{"instance": "http://acme.service-now.com"}, "must be https"},
		{respond.Params{"table": "incident/../sys_user"}, "not a ServiceNow table name"},
		{respond.Params{"urgency": "urgent"}, "want 1 (high)"},
		{respond.Params{"incident": "x^ORactive=true"}, "not an incident id"},
		{respond.Params{"user": "", "password": ""}, "give user and password, or token"},
		{respond.Params{"password": snPassword}, "must be a reference"},
	} {
		q := snParams(instance)
		for k, v := range tc.set {
			q[k] = v
		}
		_, err := a.Execute(ctx, q)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Execute(%v) = %v, want %q", tc.set, err, tc.want)
		}
		noSecret(t, "the error", err)
	}
	if got := s.take(); len(got) != 1 {
		t.Errorf("invalid steps made calls: %q", got)
	}
}

// TestPlaybookDryRunAndRun runs the builtin example playbook (enabled, on
// the local site) through the response engine: a dry run plans the exact
// calls and sends nothing; the real run opens the issue for the finding's
// incident with the link back to it; the store (audit trail, runs) never
// holds the token.
func TestPlaybookDryRunAndRun(t *testing.T) {
	j, site := newJira(t)
	j.email = "parapet-bot@acme.example"
	t.Setenv("PARAPET_JIRA_API_TOKEN", jiraToken)
	reg := registry()
	src, err := fs.ReadFile(content.FS, "playbooks/jira-issue-for-high-risk.yml")
	if err != nil {
		t.Fatal(err)
	}
	src = []byte(strings.NewReplacer("https://acme.atlassian.net", site, "enabled: false", "enabled: true").Replace(string(src)))
	pb, err := respond.Parse(src, "jira-issue-for-high-risk.yml", reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log, err := audit.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	f, err := respond.ParseFinding([]byte(`{"id":"f-123","incident_id":"inc-85e8968374e4f6fa","rule_id":"r1","level":"high","title":"Public bucket\nacme","actor":{"user_name":"mallory"}}`))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	e := &respond.Engine{Playbooks: []*respond.Playbook{pb}, Registry: reg, DB: db, Audit: log, DryRun: true, Out: &out}
	rs, err := e.Handle(ctx, f)
	if err != nil || len(rs) != 1 || rs[0].Status != "planned" {
		t.Fatalf("dry run: %+v, %v", rs, err)
	}
	if got := j.take(); len(got) != 0 {
		t.Errorf("a dry run sent %q", got)
	}
	if !strings.Contains(out.String(), "POST /rest/api/3/search/jql") || !strings.Contains(out.String(), "POST /rest/api/3/issue") {
		t.Errorf("the dry run's plan:\n%s", out.String())
	}
	e.DryRun = false
	rs, err = e.Handle(ctx, f)
	if err != nil || len(rs) != 1 || rs[0].Status != "executed" {
		t.Fatalf("run: %+v, %v", rs, err)
	}
	is := j.issues["SEC-1"]
	if len(j.issues) != 1 || is.Summary != "[high] Public bucket acme" || !slices.Contains(is.Labels, "parapet-incident-inc-85e8968374e4f6fa") ||
		is.Links["parapet-incident=inc-85e8968374e4f6fa"] != "https://parapet.acme.example/#/incident/inc-85e8968374e4f6fa" {
		t.Errorf("issues %+v", j.issues)
	}
	noSecret(t, "the results", rs)
	db.Close()
	for _, file := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		if strings.Contains(string(b), jiraToken) || strings.Contains(string(b), base64.StdEncoding.EncodeToString([]byte("parapet-bot@acme.example:"+jiraToken))) {
			t.Errorf("%s holds the token", file)
		}
	}
}

// TestPlanChecks: a step whose parameters the action cannot use fails when
// it is planned (playbooks lint, dry runs), before any call.
func TestPlanChecks(t *testing.T) {
	reg := registry()
	f, err := respond.ParseFinding([]byte(`{"id":"f-1","level":"high","title":"t"}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ step, want string }{
		{"{action: ticket.jira, params: {site: https://acme.atlassian.net, email: b@acme.example, api_token: env:T, project: SEC, summary: s, incident: x, link: https://p.example/, state: reopen}}", "want open, update or close"},
		{"{action: ticket.jira, params: {site: http://acme.atlassian.net, email: b@acme.example, api_token: env:T, project: SEC, summary: s, incident: x, link: https://p.example/}}", "site: must be https"},
		{"{action: ticket.jira, params: {site: https://acme.atlassian.net, email: b@acme.example, api_token: env:T, project: sec, summary: s, incident: x, link: https://p.example/}}", "not a Jira project key"},
		{"{action: ticket.servicenow, params: {instance: https://acme.service-now.com, token: env:T, short_description: s, incident: x, link: https://p.example/, urgency: high}}", "want 1 (high)"},
		{"{action: ticket.servicenow, params: {instance: https://acme.service-now.com, short_description: s, incident: x, link: https://p.example/}}", "give user and password, or token"},
	} {
		pb, err := respond.Parse([]byte("name: t\ntrigger: \"true\"\nsteps: ["+tc.step+"]\n"), "t.yml", reg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (&respond.Engine{Registry: reg}).Prove(pb, f); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Prove(%s) = %v, want %q", tc.step, err, tc.want)
		}
	}
}
