// Package server is parapet serve's HTTP face: the intake, the REST API
// (tokens with roles on every route), health and Prometheus metrics.
package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parapet-sec/parapet/internal/attackpath"
	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/lake"
	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/respond"
	"github.com/parapet-sec/parapet/internal/store"
	"github.com/parapet-sec/parapet/internal/webui"
)

// Server holds what the handlers need.
type Server struct {
	Config   *config.Config
	DB       *store.DB
	Pipeline *pipeline.Pipeline
	Registry *prometheus.Registry
	Log      *slog.Logger

	requests  *prometheus.CounterVec
	bytesIn   prometheus.Counter
	authFail  prometheus.Counter
	inFlight  prometheus.Gauge
	credFails *throttle // failed attempts per presented credential
	addrFails *throttle // failed and unauthenticated requests per client address
	proxies   []netip.Prefix
	tokens    *tokenCache
	intake    chan struct{} // a slot per intake request being read
	ready     func() bool
	sessions  sessions
	stream    broker

	// PostureSummary and PostureScan are set by serve when posture scans
	// are configured.
	// PostureSummary's accounts, when not nil, keeps only results in those
	// accounts.
	PostureSummary func(ctx context.Context, accounts []string) (map[string]any, error)
	PostureScan    func() bool
	// Org, set by serve with an organization, is the latest organization
	// scan's posture and rollup for GET /v1/org (nil, or a nil view: none).
	Org func(ctx context.Context) (*OrgView, error)
	// Paths, when set, is the privilege-escalation paths serve knows
	// (detect.paths) for GET /v1/paths and the UI's Paths page.
	Paths *attackpath.Report
	// PathsSource says where Paths came from (the file).
	PathsSource string
	// Relay, when set, hands each published change to the other workers
	// (serve on the bus), whose servers Deliver it.
	Relay func(kind string, data []byte)
	// AuditCheck reports the audit chain's status (set by serve, with the
	// anchor file; nil: one without an anchor, made on first use).
	AuditCheck *audit.Checker
	auditOnce  sync.Once

	// OrgAccounts, when set (serve with an organization), is the
	// organization's latest inventory: what GET /v1/org/accounts lists and
	// what the lists' ou= filter resolves OUs to accounts with.
	OrgAccounts func() []org.Account

	// Lake is the lake hunts and timelines read (nil: they answer 409).
	Lake *lake.Lake
	// HuntTimeout bounds one hunt or timeline page (0: HuntTimeout).
	HuntTimeout time.Duration
	hunting     chan struct{} // a slot per hunt or timeline page being read
}

// Route is one API route and the least role it needs ("" for none).
type Route struct {
	Method, Pattern, Role, Summary string
	handler                        http.HandlerFunc
}

// New builds the server; ready reports whether the pipeline runs.
func New(c *config.Config, db *store.DB, p *pipeline.Pipeline, reg *prometheus.Registry, log *slog.Logger, ready func() bool) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{Config: c, DB: db, Pipeline: p, Registry: reg, Log: log, ready: ready,
		credFails: &throttle{window: c.Auth.LoginWindow.D()}, addrFails: &throttle{window: c.Auth.LoginWindow.D()},
		proxies: trustedProxies(c), tokens: &tokenCache{ttl: c.Auth.TokenCache.D()},
		intake: make(chan struct{}, max(c.Sources.HTTP.MaxConcurrent, 1)), hunting: make(chan struct{}, 2)}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parapet_http_requests_total", Help: "HTTP requests, by route and status."}, []string{"route", "code"})
	s.bytesIn = prometheus.NewCounter(prometheus.CounterOpts{Name: "parapet_intake_bytes_total", Help: "Bytes accepted by the intake."})
	s.authFail = prometheus.NewCounter(prometheus.CounterOpts{Name: "parapet_auth_failures_total", Help: "Requests with a missing or bad token."})
	s.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{Name: "parapet_intake_requests_in_flight", Help: "Intake requests being read and checked (at most sources.http.max_concurrent)."})
	reg.MustRegister(s.requests, s.bytesIn, s.authFail, s.inFlight)
	return s
}

// Routes lists the API.
func (s *Server) Routes() []Route {
	return []Route{
		{"POST", "/v1/ingest/cloudtrail", "ingest", "CloudTrail: a log file body ({\"Records\":[…]}, gzip or not) or JSON lines", s.ingest("cloudtrail")},
		{"POST", "/v1/ingest/eventbridge", "ingest", "EventBridge events (API destinations): one event, an array, or JSON lines", s.ingest("eventbridge")},
		{"POST", "/v1/ingest/firehose", "ingest", "Kinesis Data Firehose HTTP endpoint delivery (records of base64 data: CloudWatch Logs subscriptions, EventBridge events); the access key is a Parapet token (role ingest)", s.firehose},
		{"POST", "/v1/ingest/azure", "ingest", "Azure Activity Log: {\"records\":[…]} as diagnostic settings export it (Event Hub, storage account), JSON lines, or Log Analytics AzureActivity rows", s.ingest("azure")},
		{"POST", "/v1/ingest/gcp", "ingest", "Google Cloud audit log entries (LogEntry with an AuditLog protoPayload), a JSON array or JSON lines, as a log sink exports them", s.ingest("gcp")},
		{"POST", "/v1/ingest/vpcflow", "ingest", "VPC Flow Logs text (default or custom format with its header line), gzip or not", s.ingest("vpcflow")},
		{"GET", "/v1/incidents", "viewer", "Incidents, most recent first or by risk (?status=open|closed&min_risk=60&q=text&sort=last|risk&limit=100; account=ID,ID…&ou=OU path or name: only those accounts' (or OUs' accounts'), by the incident's account or any of its findings')", s.incidents},
		{"GET", "/v1/incidents/{id}", "viewer", "One incident with its findings", s.incident},
		{"POST", "/v1/incidents/{id}/close", "analyst", "Close an incident; body {\"reason\": \"…\"}", s.closeIncident},
		{"GET", "/v1/suppressions", "viewer", "Active suppressions (false-positive patterns)", s.suppressions},
		{"POST", "/v1/suppressions", "analyst", "Suppress a pattern; body {\"expr\": CEL over finding that pins the rule, principal, a resource or the account, \"reason\": \"…\", \"expires\": RFC 3339, \"scope\": optional {\"accounts\", \"ous\", \"tags\", \"exclude\"}}", s.addSuppression},
		{"DELETE", "/v1/suppressions/{id}", "analyst", "End a suppression; ?reason=… or body {\"reason\": \"…\"}", s.removeSuppression},
		{"GET", "/v1/posture", "viewer", "Posture: the latest scan of each target (framework scores, failed checks, new / fixed / still failing since its previous scan) and the score trend (account=ID,ID…&ou=OU path or name: only those accounts' (or OUs' accounts') results, the counts recomputed from them; framework scores stay the target's)", s.posture},
		{"POST", "/v1/posture/scan", "analyst", "Scan the configured posture targets now", s.postureScan},
		{"GET", "/v1/org", "viewer", "The AWS Organization from the latest organization scan: accounts with their OU, score per framework and coverage gaps, the OU rollup, the GuardDuty / Security Hub / Config / CloudTrail coverage matrix, SCPs and delegated administrators (account=ID,ID…&ou=OU path or name: only those accounts' and OUs' rows, the OU rollup recomputed over them)", s.orgView},
		{"GET", "/v1/paths", "viewer", "Privilege-escalation paths: each principal that can become an administrator, step by step (from detect.paths, the JSON of parapet paths; account=ID,ID…&ou=OU path or name: only those accounts' (or OUs' accounts') sources)", s.paths},
		{"POST", "/v1/hunts", "viewer", "Hunt over the lake, synchronously: body {since, until, accounts, regions, rules: \"builtin\" or rule ids of the loaded pack, sigma: one Sigma rule (YAML), cel: a filter over the promoted columns, intel: match the loaded indicators, limit (default 1000, at most 10000), format: findings|events}; the range defaults to the 30 days before until (default now)", s.hunt},
		{"GET", "/v1/timeline", "viewer", "Everything one entity did over a range, newest first, a page at a time (?principal=ARN or principal id or session issuer|access_key=|ip=|resource=ARN&since=&until=&limit=100&cursor=); read from the lake, pruned by day and time statistics, rows matched on their promoted columns; account=ID,ID…&ou=OU path or name: only those accounts' (or OUs' accounts') events, the other accounts' partitions not read)", s.timeline},
		{"GET", "/v1/events/{id}", "viewer", "The native record of an event a finding names", s.event},
		{"GET", "/v1/config", "admin", "The effective configuration (secrets redacted)", s.config},
		{"GET", "/v1/tokens", "admin", "API tokens: id, name, role, created, last used, revoked (never a secret or a hash)", s.tokensList},
		{"DELETE", "/v1/tokens/{id}", "admin", "Revoke a token: it and its browser sessions stop working (on other workers within auth.token_cache)", s.tokenRevoke},
		{"GET", "/v1/findings", "viewer", "Findings, newest first (?level=high&limit=100; account=ID,ID…&ou=OU path or name: only those accounts' (or OUs' accounts'))", s.findings},
		{"GET", "/v1/approvals", "viewer", "Approvals (?status=pending|approved|denied|expired; account=ID,ID…&ou=OU path or name: only those accounts' (or OUs' accounts'), by the finding's account), each with its incident (id, title, risk, status), its finding's account and OU, and the API calls of each planned step", s.approvals},
		{"POST", "/v1/approvals/{id}/approve", "approver", "Approve a pending action and run it; body {\"comment\": \"…\"}", s.decide(true)},
		{"POST", "/v1/approvals/{id}/deny", "approver", "Deny a pending action; body {\"comment\": \"…\"}", s.decide(false)},
		{"GET", "/v1/playbooks", "viewer", "The loaded playbooks: trigger, mode, approval policy, steps (?finding_id=…: only the enabled ones whose trigger selects that finding)", s.playbooks},
		{"GET", "/v1/playbook-runs", "viewer", "Playbook runs, newest first (?finding_id=…&incident_id=…&status=executed|planned|pending-approval|denied|expired|failed|halted&limit=100; account=ID,ID…&ou=OU path or name: only the runs of those accounts' (or OUs' accounts') findings)", s.runs},
		{"POST", "/v1/playbook-runs", "analyst", "Run a playbook on a finding; body {\"finding_id\": \"…\", \"playbook\": \"…\", \"comment\": \"…\"}. It waits for approval when the playbook says so, and always under the four-eyes rule", s.requestRun},
		{"GET", "/v1/playbook-runs/{id}", "viewer", "One playbook run: who asked, who decided, each step's calls and outcome", s.run},
		{"GET", "/v1/audit", "viewer", "The audit trail (?after=SEQ&limit=100) and whether its hash chain is intact and holds its latest anchor", s.audit},
		{"GET", "/v1/org/accounts", "viewer", "The organization's accounts (id, name, OU path, tags, status) as serve's inventory last listed them, and their OU paths: what the account and OU filters take (empty without an organization)", s.orgAccounts},
		{"GET", "/v1/whoami", "viewer", "The caller's token: id, name, role", s.whoami},
		{"GET", "/v1/stats", "viewer", "Alert reduction, MTTD, MTTR, findings by level (account=ID,ID…&ou=OU path or name: over those accounts' (or OUs' accounts') findings, their incidents, approvals and runs)", s.stats},
		{"GET", "/v1/stream", "viewer", "Server-sent events: incident and approval changes as they happen", s.streamHandler},
		{"GET", "/v1/openapi.json", "viewer", "This API as an OpenAPI 3.1 document", s.openapi},
	}
}

// Handler is the whole HTTP surface.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range s.Routes() {
		mux.Handle(r.Method+" "+r.Pattern, s.instrument(r.Pattern, s.auth(r.Role, r.handler)))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if s.ready != nil && !s.ready() {
			writeJSON(w, 503, map[string]string{"status": "starting"})
			return
		}
		if err := s.DB.PingContext(context.Background()); err != nil {
			writeJSON(w, 503, map[string]string{"status": "store unavailable"})
			return
		}
		writeJSON(w, 200, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", s.metricsGuard(promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{})))
	mux.HandleFunc("POST /ui/login", s.login)
	mux.HandleFunc("POST /ui/logout", s.logout)
	mux.HandleFunc("GET /ui/session", s.session)
	mux.Handle("/", webui.Handler())
	// Every other /v1 path: authenticate first, then 404, so that the API's
	// shape is not open to the anonymous.
	mux.Handle("/v1/", s.auth("viewer", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "no such route: %s %s", r.Method, r.URL.Path)
	}))
	return secureHeaders(mux)
}

func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(c int) { w.code = c; w.ResponseWriter.WriteHeader(c) }

// Flush lets server-sent events through the instrumentation.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *Server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: 200}
		h.ServeHTTP(sw, r)
		s.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
}

func (s *Server) incidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := pipeline.IncidentFilter{Limit: 100, Status: q.Get("status"), Query: strings.TrimSpace(q.Get("q"))}
	switch q.Get("sort") {
	case "", "last":
	case "risk":
		f.ByRisk = true
	default:
		apiError(w, http.StatusBadRequest, "sort %q: want last or risk", q.Get("sort"))
		return
	}
	if v, err := strconv.Atoi(q.Get("limit")); err == nil && v > 0 && v <= 1000 {
		f.Limit = v
	}
	switch f.Status {
	case "", "open", "closed":
	default:
		apiError(w, http.StatusBadRequest, "status %q: want open or closed", f.Status)
		return
	}
	if v := q.Get("min_risk"); v != "" {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n < 0 || n > 100 {
			apiError(w, http.StatusBadRequest, "min_risk %q: want 0 to 100", v)
			return
		}
		f.MinRisk = n
	}
	if len(f.Query) > 200 {
		apiError(w, http.StatusBadRequest, "q: at most 200 characters")
		return
	}
	sc, ok := s.scopeOf(w, r)
	if !ok {
		return
	}
	items := []incidentItem{}
	if sc.none() {
		writeJSON(w, http.StatusOK, incidentList{Items: items})
		return
	}
	f.Accounts = sc.list()
	incs, err := pipeline.FindIncidents(r.Context(), s.DB, f)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "store: %v", err)
		return
	}
	ous := s.ouIndex()
	for _, in := range incs {
		items = append(items, incidentItem{Incident: *in, OU: ous[in.Account]})
	}
	writeJSON(w, http.StatusOK, incidentList{Items: items})
}

func (s *Server) incident(w http.ResponseWriter, r *http.Request) {
	in, fs, err := pipeline.Incident(r.Context(), s.DB, r.PathValue("id"))
	switch {
	case err != nil:
		apiError(w, http.StatusInternalServerError, "store: %v", err)
	case in == nil:
		apiError(w, http.StatusNotFound, "no incident %s", r.PathValue("id"))
	default:
		if fs == nil {
			fs = []json.RawMessage{}
		}
		writeJSON(w, http.StatusOK, incidentDetail{Incident: in, Findings: fs})
	}
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	tok, _ := r.Context().Value(ctxKey{}).(store.Token)
	writeJSON(w, http.StatusOK, whoamiAnswer{ID: tok.ID, Name: tok.Name, Role: tok.Role})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, errorBody{Error: fmt.Sprintf(format, args...), Status: code})
}

func (s *Server) findings(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && v > 0 && v <= 1000 {
		limit = v
	}
	sc, ok := s.scopeOf(w, r)
	if !ok {
		return
	}
	items := []json.RawMessage{}
	if sc.none() {
		writeJSON(w, http.StatusOK, findingList{Items: items})
		return
	}
	fs, err := pipeline.FindFindings(r.Context(), s.DB, pipeline.FindingFilter{Level: r.URL.Query().Get("level"), Accounts: sc.list(), Limit: limit})
	if err != nil {
		apiError(w, http.StatusInternalServerError, "store: %v", err)
		return
	}
	ous := s.ouIndex()
	for _, f := range fs {
		items = append(items, withOU(f.Body, ous[f.Account]))
	}
	writeJSON(w, http.StatusOK, findingList{Items: items})
}

func (s *Server) approvals(w http.ResponseWriter, r *http.Request) {
	if s.Pipeline.Respond == nil {
		writeJSON(w, http.StatusOK, approvalList{Items: []approvalView{}})
		return
	}
	status := r.URL.Query().Get("status")
	switch status {
	case "", "pending", "approved", "denied", "expired":
	default:
		apiError(w, http.StatusBadRequest, "status %q: want pending, approved, denied or expired", status)
		return
	}
	sc, ok := s.scopeOf(w, r)
	if !ok {
		return
	}
	if sc.none() {
		writeJSON(w, http.StatusOK, approvalList{Items: []approvalView{}})
		return
	}
	as, err := s.Pipeline.Respond.Approvals(r.Context(), status)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "store: %v", err)
		return
	}
	ous := s.ouIndex()
	items := make([]approvalView, 0, len(as))
	for _, a := range as {
		in, account := s.approvalIncident(r.Context(), a.FindingID)
		if !sc.has(account) {
			continue
		}
		items = append(items, approvalView{Approval: a, Incident: in, Account: account, OU: ous[account]})
	}
	writeJSON(w, http.StatusOK, approvalList{Items: items})
}

// approvalView is an approval as the API lists it: with the incident its
// finding belongs to, when it has one.
type approvalView struct {
	respond.Approval
	Incident *approvalIncident `json:"incident,omitempty"`
	Account  string            `json:"account,omitempty"` // the finding's
	OU       string            `json:"ou,omitempty"`      // the account's OU path, when the organization's inventory knows it
}

type approvalIncident struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Summary string  `json:"summary,omitempty"` // the story in one line
	Level   string  `json:"level,omitempty"`
	Risk    float64 `json:"risk"`
	Status  string  `json:"status"`
}

// approvalIncident finds the incident of a finding (nil when the finding
// is in none, or gone) and the finding's account.
func (s *Server) approvalIncident(ctx context.Context, findingID string) (*approvalIncident, string) {
	var id, account string
	if err := s.DB.QueryRowContext(ctx, `SELECT incident_id, account FROM findings WHERE id = ?`, findingID).Scan(&id, &account); err != nil || id == "" {
		return nil, account
	}
	var body string
	out := &approvalIncident{ID: id}
	if err := s.DB.QueryRowContext(ctx, `SELECT risk, status, body FROM incidents WHERE id = ?`, id).Scan(&out.Risk, &out.Status, &body); err != nil {
		return out, account
	}
	var in struct {
		Title   string `json:"title"`
		Summary string `json:"summary"`
		Level   string `json:"level"`
	}
	_ = json.Unmarshal([]byte(body), &in)
	out.Title, out.Summary, out.Level = in.Title, in.Summary, in.Level
	return out, account
}

// decide approves or denies as the caller: the token's name, its role and
// "token:ID" are the names a playbook's approvers may list (a playbook that
// lists none takes any approver).
func (s *Server) decide(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, _ := r.Context().Value(ctxKey{}).(store.Token)
		if s.Pipeline.Respond == nil {
			apiError(w, http.StatusNotFound, "the response engine is off")
			return
		}
		var body commentBody
		if r.ContentLength != 0 {
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
				apiError(w, http.StatusBadRequest, "body: %v (want {\"comment\": \"…\"})", err)
				return
			}
		}
		by := tok.Name
		if by == "" {
			by = "token:" + tok.ID
		}
		res, err := s.Pipeline.Respond.DecideAs(r.Context(), r.PathValue("id"), by, []string{tok.Name, tok.Role, "token:" + tok.ID}, body.Comment, approve)
		switch {
		case errors.Is(err, respond.ErrNotPending):
			apiError(w, http.StatusNotFound, "no pending approval %s", r.PathValue("id"))
		case errors.Is(err, respond.ErrFourEyes):
			apiError(w, http.StatusForbidden, "%v", err)
		case err != nil && res.Status == "":
			apiError(w, http.StatusForbidden, "%v", err)
		case err != nil:
			writeJSON(w, http.StatusOK, runOutcome{Result: res, Error: err.Error()})
		default:
			writeJSON(w, http.StatusOK, runOutcome{Result: res})
		}
		if res.Status != "" {
			s.Publish("run", res)
		}
	}
}

func (s *Server) playbooks(w http.ResponseWriter, r *http.Request) {
	items := []playbookInfo{}
	// ?finding_id=… lists only the enabled playbooks whose trigger selects
	// that finding: what the UI offers to run on it.
	var only *respond.Finding
	if id := r.URL.Query().Get("finding_id"); id != "" && s.Pipeline.Respond != nil {
		f, err := s.Pipeline.Finding(r.Context(), id)
		if errors.Is(err, pipeline.ErrNotFound) {
			apiError(w, http.StatusNotFound, "no finding %s", id)
			return
		}
		if err != nil {
			apiError(w, http.StatusInternalServerError, "store: %v", err)
			return
		}
		only = f
	}
	if s.Pipeline.Respond != nil {
		for _, p := range s.Pipeline.Respond.Playbooks {
			if only != nil && (!p.IsEnabled() || !p.Matches(only)) {
				continue
			}
			items = append(items, playbookInfo{Name: p.Name, Description: p.Description, Trigger: p.Trigger, Mode: p.Mode,
				Enabled: p.IsEnabled(), NeedsApproval: p.NeedsApproval(), Approval: p.Approval, Steps: p.Steps})
		}
	}
	writeJSON(w, http.StatusOK, playbookList{Items: items, FourEyes: s.Config.Auth.FourEyes})
}

func (s *Server) runs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := respond.RunFilter{FindingIDs: q["finding_id"], Status: q.Get("status")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 1000 {
			apiError(w, http.StatusBadRequest, "limit %q: want 1 to 1000", v)
			return
		}
		f.Limit = n
	}
	if id := q.Get("incident_id"); id != "" {
		rows, err := s.DB.QueryContext(r.Context(), `SELECT id FROM findings WHERE incident_id = ?`, id)
		if err != nil {
			apiError(w, http.StatusInternalServerError, "store: %v", err)
			return
		}
		for rows.Next() {
			var fid string
			if rows.Scan(&fid) == nil {
				f.FindingIDs = append(f.FindingIDs, fid)
			}
		}
		rows.Close()
		if len(f.FindingIDs) == 0 {
			writeJSON(w, http.StatusOK, runList{Items: []respond.Result{}})
			return
		}
	}
	sc, ok := s.scopeOf(w, r)
	if !ok {
		return
	}
	if sc != nil {
		f.Accounts = sc.accounts
	}
	items, err := respond.Runs(r.Context(), s.DB, f)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "store: %v", err)
		return
	}
	if items == nil {
		items = []respond.Result{}
	}
	writeJSON(w, http.StatusOK, runList{Items: items})
}

func (s *Server) run(w http.ResponseWriter, r *http.Request) {
	if s.Pipeline.Respond == nil {
		apiError(w, http.StatusNotFound, "the response engine is off")
		return
	}
	res, err := s.Pipeline.Respond.Run(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, respond.ErrNoRun):
		apiError(w, http.StatusNotFound, "no playbook run %s", r.PathValue("id"))
	case err != nil:
		apiError(w, http.StatusInternalServerError, "store: %v", err)
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

func (s *Server) requestRun(w http.ResponseWriter, r *http.Request) {
	var body runBody
	if !decodeBody(w, r, &body) {
		return
	}
	if body.FindingID == "" || body.Playbook == "" {
		apiError(w, http.StatusBadRequest, "body: finding_id and playbook are required")
		return
	}
	if s.Pipeline.Respond == nil {
		apiError(w, http.StatusNotFound, "the response engine is off")
		return
	}
	f, err := s.Pipeline.Finding(r.Context(), body.FindingID)
	if errors.Is(err, pipeline.ErrNotFound) {
		apiError(w, http.StatusNotFound, "no finding %s", body.FindingID)
		return
	}
	if err != nil {
		apiError(w, http.StatusInternalServerError, "store: %v", err)
		return
	}
	res, err := s.Pipeline.Respond.Request(r.Context(), body.Playbook, f, caller(r), body.Comment)
	switch {
	case errors.Is(err, respond.ErrNoPlaybook):
		apiError(w, http.StatusNotFound, "%v", err)
		return
	case err != nil && res.Status == "":
		apiError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	s.Publish("run", res)
	out := runOutcome{Result: res}
	if err != nil {
		out.Error = err.Error()
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	limit := 100
	if v, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && v > 0 && v <= 1000 {
		limit = v
	}
	rows, err := s.DB.QueryContext(r.Context(), `SELECT seq, body, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "store: %v", err)
		return
	}
	defer rows.Close()
	items := []auditRecord{}
	for rows.Next() {
		var seq int64
		var body, hash string
		if err := rows.Scan(&seq, &body, &hash); err != nil {
			apiError(w, http.StatusInternalServerError, "store: %v", err)
			return
		}
		items = append(items, auditRecord{Seq: seq, Record: json.RawMessage(body), Hash: hash})
	}
	// Verified incrementally (only what was appended since the last
	// request), and against the latest anchor.
	s.auditOnce.Do(func() {
		if s.AuditCheck == nil {
			s.AuditCheck = &audit.Checker{DB: s.DB}
		}
	})
	chain, err := s.AuditCheck.Check(r.Context())
	if err != nil {
		apiError(w, http.StatusInternalServerError, "audit: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, auditPage{Items: items, Chain: chain})
}

func caller(r *http.Request) string {
	tok, _ := r.Context().Value(ctxKey{}).(store.Token)
	if tok.Name != "" {
		return tok.Name
	}
	return "token:" + tok.ID
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		apiError(w, http.StatusBadRequest, "body: %v", err)
		return false
	}
	return true
}

func (s *Server) closeIncident(w http.ResponseWriter, r *http.Request) {
	var body reasonBody
	if !decodeBody(w, r, &body) {
		return
	}
	if strings.TrimSpace(body.Reason) == "" {
		apiError(w, http.StatusBadRequest, "closing an incident needs a reason")
		return
	}
	in, err := s.Pipeline.CloseIncident(r.Context(), r.PathValue("id"), caller(r), body.Reason)
	switch {
	case errors.Is(err, pipeline.ErrNotFound):
		apiError(w, http.StatusNotFound, "no incident %s", r.PathValue("id"))
	case err != nil:
		apiError(w, http.StatusInternalServerError, "%v", err)
	default:
		writeJSON(w, http.StatusOK, incidentClosed{Incident: in})
	}
}

func (s *Server) suppressions(w http.ResponseWriter, r *http.Request) {
	items := s.Pipeline.Suppressions()
	if items == nil {
		items = []*correlate.Suppression{}
	}
	writeJSON(w, http.StatusOK, suppressionList{Items: items})
}

func (s *Server) addSuppression(w http.ResponseWriter, r *http.Request) {
	var body suppressionBody
	if !decodeBody(w, r, &body) {
		return
	}
	sup := &correlate.Suppression{Expr: body.Expr, Reason: body.Reason, Expires: body.Expires, CreatedBy: caller(r), Scope: body.Scope}
	if err := s.Pipeline.AddSuppression(r.Context(), sup); err != nil {
		apiError(w, http.StatusBadRequest, "%v", err)
		return
	}
	writeJSON(w, http.StatusCreated, suppressionCreated{Suppression: sup})
}

func (s *Server) removeSuppression(w http.ResponseWriter, r *http.Request) {
	// Why: ?reason=… or a body {"reason": "…"}.
	reason := r.URL.Query().Get("reason")
	if reason == "" && r.ContentLength != 0 {
		var body reasonBody
		if !decodeBody(w, r, &body) {
			return
		}
		reason = body.Reason
	}
	if strings.TrimSpace(reason) == "" {
		apiError(w, http.StatusBadRequest, "ending a suppression needs a reason (?reason=… or {\"reason\": \"…\"})")
		return
	}
	err := s.Pipeline.RemoveSuppression(r.Context(), r.PathValue("id"), caller(r), reason)
	switch {
	case errors.Is(err, pipeline.ErrNotFound):
		apiError(w, http.StatusNotFound, "no suppression %s", r.PathValue("id"))
	case err != nil:
		apiError(w, http.StatusInternalServerError, "%v", err)
	default:
		writeJSON(w, http.StatusOK, suppressionRemoved{Removed: r.PathValue("id")})
	}
}

func (s *Server) posture(w http.ResponseWriter, r *http.Request) {
	sc, ok := s.scopeOf(w, r)
	if !ok {
		return
	}
	if s.PostureSummary == nil {
		writeJSON(w, http.StatusOK, map[string]any{"targets": []any{}, "trend": []any{}})
		return
	}
	accounts := sc.list()
	if sc != nil && accounts == nil {
		accounts = []string{}
	}
	v, err := s.PostureSummary(r.Context(), accounts)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) paths(w http.ResponseWriter, r *http.Request) {
	sc, ok := s.scopeOf(w, r)
	if !ok {
		return
	}
	items := []pathItem{}
	if s.Paths == nil {
		writeJSON(w, http.StatusOK, pathsAnswer{Paths: items})
		return
	}
	ous := s.ouIndex()
	for _, p := range s.Paths.Paths {
		// A path is in its source's account (the report's when the
		// source's ARN names none).
		account := accountOf(p.Source)
		if account == "" {
			account = s.Paths.Account
		}
		if sc.has(account) {
			items = append(items, pathItem{Path: p, Account: account, OU: ous[account]})
		}
	}
	writeJSON(w, http.StatusOK, pathsAnswer{Source: s.PathsSource, Account: s.Paths.Account, Target: s.Paths.Target, Paths: items})
}

func (s *Server) postureScan(w http.ResponseWriter, r *http.Request) {
	if s.PostureScan == nil {
		apiError(w, http.StatusConflict, "no posture targets configured (posture.iac, posture.config, posture.aws)")
		return
	}
	writeJSON(w, http.StatusAccepted, postureQueued{Queued: s.PostureScan()})
}

// backlogged answers 503 with Retry-After when the spool holds more than
// the configured number of bodies: backpressure on senders instead of
// unbounded growth.
func (s *Server) backlogged(w http.ResponseWriter) bool {
	if n := s.Pipeline.Backlog(); n >= s.Config.Sources.HTTP.MaxSpooled {
		w.Header().Set("Retry-After", "5")
		apiError(w, http.StatusServiceUnavailable, "the pipeline is behind (%d bodies waiting): retry later", n)
		return true
	}
	return false
}

func (s *Server) event(w http.ResponseWriter, r *http.Request) {
	var body string
	err := s.DB.QueryRowContext(r.Context(), `SELECT body FROM events WHERE id = ?`, r.PathValue("id")).Scan(&body)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		apiError(w, http.StatusNotFound, "no stored event %s (only events behind findings are kept)", r.PathValue("id"))
	case err != nil:
		apiError(w, http.StatusInternalServerError, "store: %v", err)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, body)
	}
}

func (s *Server) config(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Config.Redacted())
}
