// Package server is parapet serve's HTTP face: the intake, the REST API
// (tokens with roles on every route), health and Prometheus metrics.
package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/jsonscan"
	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/store"
)

// Server holds what the handlers need.
type Server struct {
	Config   *config.Config
	DB       *store.DB
	Pipeline *pipeline.Pipeline
	Registry *prometheus.Registry
	Log      *slog.Logger

	requests *prometheus.CounterVec
	bytesIn  prometheus.Counter
	authFail prometheus.Counter
	throttle *throttle
	ready    func() bool
}

// Route is one API route and the least role it needs ("" for none).
type Route struct {
	Method, Pattern, Role, Summary string
	handler                        http.HandlerFunc
}

// New builds the server; ready reports whether the pipeline runs.
func New(c *config.Config, db *store.DB, p *pipeline.Pipeline, reg *prometheus.Registry, log *slog.Logger, ready func() bool) *Server {
	s := &Server{Config: c, DB: db, Pipeline: p, Registry: reg, Log: log, ready: ready,
		throttle: &throttle{max: c.Auth.LoginFailures, window: c.Auth.LoginWindow.D(), fails: map[string][]time.Time{}}}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parapet_http_requests_total", Help: "HTTP requests, by route and status."}, []string{"route", "code"})
	s.bytesIn = prometheus.NewCounter(prometheus.CounterOpts{Name: "parapet_intake_bytes_total", Help: "Bytes accepted by the intake."})
	s.authFail = prometheus.NewCounter(prometheus.CounterOpts{Name: "parapet_auth_failures_total", Help: "Requests with a missing or bad token."})
	reg.MustRegister(s.requests, s.bytesIn, s.authFail)
	return s
}

// Routes lists the API.
func (s *Server) Routes() []Route {
	return []Route{
		{"POST", "/v1/ingest/cloudtrail", "analyst", "CloudTrail: a log file body ({\"Records\":[…]}, gzip or not) or JSON lines", s.ingest("cloudtrail")},
		{"POST", "/v1/ingest/eventbridge", "analyst", "EventBridge events (API destinations): one event, an array, or JSON lines", s.ingest("eventbridge")},
		{"POST", "/v1/ingest/vpcflow", "analyst", "VPC Flow Logs text (default or custom format with its header line), gzip or not", s.ingest("vpcflow")},
		{"GET", "/v1/incidents", "viewer", "Incidents, newest first", s.incidents},
		{"GET", "/v1/incidents/{id}", "viewer", "One incident with its findings", s.incident},
		{"GET", "/v1/whoami", "viewer", "The caller's token: id, name, role", s.whoami},
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
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
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

func (s *Server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: 200}
		h.ServeHTTP(sw, r)
		s.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
}

type ctxKey struct{}

// auth checks the bearer token and the role; failures from one address
// beyond the configured count are throttled (429).
func (s *Server) auth(role string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip, _, _ := net.SplitHostPort(r.RemoteAddr)
		if s.throttle.blocked(ip) {
			w.Header().Set("Retry-After", strconv.Itoa(int(s.throttle.window.Seconds())))
			apiError(w, http.StatusTooManyRequests, "too many failed attempts; wait and retry")
			return
		}
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || secret == "" {
			s.authFail.Inc()
			s.throttle.fail(ip)
			w.Header().Set("WWW-Authenticate", `Bearer realm="parapet"`)
			apiError(w, http.StatusUnauthorized, "a token is required: Authorization: Bearer TOKEN (parapet tokens create)")
			return
		}
		tok, err := s.DB.LookupToken(r.Context(), strings.TrimSpace(secret))
		if errors.Is(err, store.ErrNoToken) {
			s.authFail.Inc()
			s.throttle.fail(ip)
			w.Header().Set("WWW-Authenticate", `Bearer realm="parapet", error="invalid_token"`)
			apiError(w, http.StatusUnauthorized, "unknown token")
			return
		}
		if err != nil {
			apiError(w, http.StatusInternalServerError, "store: %v", err)
			return
		}
		if store.RoleRank(tok.Role) < store.RoleRank(role) {
			apiError(w, http.StatusForbidden, "this needs the %s role; the token is %s", role, tok.Role)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, tok)))
	})
}

// ingest spools a body after checking it is what the route takes.
func (s *Server) ingest(source string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch ct {
		case "application/json", "application/x-ndjson", "application/jsonl", "application/gzip", "application/x-gzip", "application/octet-stream", "text/plain", "":
		default:
			apiError(w, http.StatusUnsupportedMediaType, "content type %q: send application/json, application/x-ndjson, text/plain (flow logs) or application/gzip", ct)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(s.Config.Sources.HTTP.MaxBody)))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			apiError(w, http.StatusRequestEntityTooLarge, "the body exceeds %d bytes (sources.http.max_body)", tooBig.Limit)
			return
		case err != nil:
			apiError(w, http.StatusBadRequest, "reading the body: %v", err)
			return
		case len(bytes.TrimSpace(body)) == 0:
			apiError(w, http.StatusBadRequest, "empty body")
			return
		}
		if source != "vpcflow" {
			if err := checkJSON(body); err != nil {
				apiError(w, http.StatusBadRequest, "%v", err)
				return
			}
		}
		seq, err := s.Pipeline.Submit(r.Context(), source, body)
		if err != nil {
			apiError(w, http.StatusServiceUnavailable, "could not spool the body: %v", err)
			return
		}
		s.bytesIn.Add(float64(len(body)))
		writeJSON(w, http.StatusAccepted, map[string]any{"accepted": seq, "bytes": len(body)})
	}
}

// checkJSON accepts a JSON document or JSON lines (gzip or not) and names
// the byte offset of the first error.
func checkJSON(body []byte) error {
	if len(body) > 2 && body[0] == 0x1f && body[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("gzip: %v", err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			return fmt.Errorf("gzip: %v", err)
		}
		body = plain
	}
	i := jsonscan.SkipSpace(body, 0)
	if i >= len(body) {
		return errors.New("empty body")
	}
	for i < len(body) {
		if c := body[i]; c != '{' && c != '[' {
			return fmt.Errorf("malformed JSON at byte %d: want an object or an array, got %q", i, c)
		}
		end, err := jsonscan.Value(body, i)
		if err != nil {
			return fmt.Errorf("malformed JSON at byte %d: %v", i, err)
		}
		i = jsonscan.SkipSpace(body, end)
	}
	return nil
}

func (s *Server) incidents(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && v > 0 && v <= 1000 {
		limit = v
	}
	incs, err := pipeline.LoadIncidents(r.Context(), s.DB, limit)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "store: %v", err)
		return
	}
	items := make([]any, 0, len(incs))
	for _, in := range incs {
		items = append(items, in)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (s *Server) incident(w http.ResponseWriter, r *http.Request) {
	in, fs, err := pipeline.Incident(r.Context(), s.DB, r.PathValue("id"))
	switch {
	case err != nil:
		apiError(w, http.StatusInternalServerError, "store: %v", err)
	case in == nil:
		apiError(w, http.StatusNotFound, "no incident %s", r.PathValue("id"))
	default:
		writeJSON(w, http.StatusOK, map[string]any{"incident": in, "findings": fs})
	}
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	tok, _ := r.Context().Value(ctxKey{}).(store.Token)
	writeJSON(w, http.StatusOK, map[string]any{"id": tok.ID, "name": tok.Name, "role": tok.Role})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, map[string]any{"error": fmt.Sprintf(format, args...), "status": code})
}

// throttle counts failed authentications per address.
type throttle struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	fails  map[string][]time.Time
}

func (t *throttle) fail(ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	keep := t.fails[ip][:0]
	for _, f := range t.fails[ip] {
		if now.Sub(f) < t.window {
			keep = append(keep, f)
		}
	}
	t.fails[ip] = append(keep, now)
	if len(t.fails) > 10000 { // bound the table: forget the oldest addresses
		for k := range t.fails {
			delete(t.fails, k)
			if len(t.fails) <= 5000 {
				break
			}
		}
	}
}

func (t *throttle) blocked(ip string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	now := time.Now()
	for _, f := range t.fails[ip] {
		if now.Sub(f) < t.window {
			n++
		}
	}
	return t.max > 0 && n >= t.max
}
