package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/store"
)

type ctxKey struct{}

// auth checks the caller's token (bearer, Firehose access key, or a
// browser session) and its role. A valid token is never throttled:
// failures are counted per presented credential (auth.login_failures)
// and per client address (auth.address_failures, much higher), and only
// requests without a valid token are refused with 429 past them.
func (s *Server) auth(role string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if !store.Allows(tok.Role, role) {
			apiError(w, http.StatusForbidden, "this needs the %s role; the token is %s", role, tok.Role)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, tok)))
	})
}

// authenticate finds the caller's token, or answers 401, 403 (CSRF) or
// 429 and reports false.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (store.Token, bool) {
	addr := s.clientAddr(r)
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok && r.Header.Get("Authorization") == "" && r.URL.Path == "/v1/ingest/firehose" {
		// Firehose cannot send a bearer token: its endpoint access key
		// is one.
		secret = r.Header.Get("X-Amz-Firehose-Access-Key")
		ok = secret != ""
	}
	secret = strings.TrimSpace(secret)
	if r.Header.Get("Authorization") == "" && !ok {
		if _, err := r.Cookie(sessionCookie); err == nil {
			tok, err := s.fromSession(r)
			switch {
			case errors.Is(err, errCSRF):
				apiError(w, http.StatusForbidden, "%v", err)
				return tok, false
			case err == nil:
				return tok, true
			case !errors.Is(err, store.ErrNoToken):
				apiError(w, http.StatusInternalServerError, "store: %v", err)
				return tok, false
			}
		}
	}
	if !ok || secret == "" {
		if s.refuse(w, addr, "") {
			return store.Token{}, false
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="parapet"`)
		apiError(w, http.StatusUnauthorized, "a token is required: Authorization: Bearer TOKEN (parapet tokens create)")
		return store.Token{}, false
	}
	tok, err := s.tokens.lookup(r.Context(), s.DB, secret)
	switch {
	case err == nil:
		return tok, true
	case !errors.Is(err, store.ErrNoToken):
		apiError(w, http.StatusInternalServerError, "store: %v", err)
		return tok, false
	}
	if s.refuse(w, addr, secret) {
		return tok, false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="parapet", error="invalid_token"`)
	apiError(w, http.StatusUnauthorized, "unknown token")
	return tok, false
}

// refuse counts a failed attempt from addr (with a credential, also
// against the credential) and answers 429 when either is past its bound.
func (s *Server) refuse(w http.ResponseWriter, addr, credential string) bool {
	s.authFail.Inc()
	wait := s.addrFails.fail(addr, s.Config.Auth.AddressFailures)
	if credential != "" {
		h := sha256.Sum256([]byte(credential))
		wait = max(wait, s.credFails.fail(hex.EncodeToString(h[:16]), s.Config.Auth.LoginFailures))
	}
	if wait <= 0 {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	apiError(w, http.StatusTooManyRequests, "too many failed attempts; wait and retry")
	return true
}

// throttle counts failures per key in fixed windows: constant memory per
// key, and a bounded number of keys.
type throttle struct {
	mu     sync.Mutex
	window time.Duration
	m      map[string]*window
}

type window struct {
	start time.Time
	n     int
}

const throttleKeys = 10000

// fail records a failure under key and, when the key already had max in
// its window, returns how long until the window ends (0: not throttled).
// A refused attempt is not counted: the window ends when it was due to.
func (t *throttle) fail(key string, max int) time.Duration {
	if max <= 0 {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if t.m == nil {
		t.m = map[string]*window{}
	}
	x := t.m[key]
	if x == nil || now.Sub(x.start) >= t.window {
		if x == nil && len(t.m) >= throttleKeys {
			t.prune(now)
		}
		x = &window{start: now}
		t.m[key] = x
	}
	if x.n >= max {
		return t.window - now.Sub(x.start)
	}
	x.n++
	return 0
}

// prune forgets the windows that ended, and then, when the table is still
// full, half of the rest.
func (t *throttle) prune(now time.Time) {
	for k, x := range t.m {
		if now.Sub(x.start) >= t.window {
			delete(t.m, k)
		}
	}
	for k := range t.m {
		if len(t.m) <= throttleKeys/2 {
			break
		}
		delete(t.m, k)
	}
}

// clientAddr is the request's client: the peer, or, when the peer is a
// trusted proxy, the first address from the right of X-Forwarded-For
// that is not one (the hops to its left are the client's own claims).
func (s *Server) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer.String()
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		peer = a.Unmap()
		if !s.trusted(peer) {
			break
		}
	}
	return peer.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func trustedProxies(c *config.Config) []netip.Prefix {
	var out []netip.Prefix
	for _, v := range c.Auth.TrustedProxies {
		if p, err := config.ParsePrefix(v); err == nil { // checked when the file was loaded
			out = append(out, p)
		}
	}
	return out
}

// sameOrigin refuses what a browser sends from another site: a
// Sec-Fetch-Site other than same-origin (or none: typed by the user), or
// an Origin whose host is not the one the request is for (the Host, or
// X-Forwarded-Host from a trusted proxy). A client that sends neither
// header is no browser, and no cross-site request forgery.
func (s *Server) sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // "null": a sandboxed or privacy-sensitive context
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if a, err := netip.ParseAddr(host); err == nil && s.trusted(a.Unmap()) {
			for _, v := range r.Header.Values("X-Forwarded-Host") {
				for _, h := range strings.Split(v, ",") {
					if strings.EqualFold(strings.TrimSpace(h), u.Host) {
						return true
					}
				}
			}
		}
	}
	return false
}

// tokenCache keeps token checks for a few seconds (auth.token_cache), so
// that a request costs no query, and a revoked token stops working within
// that time on every worker (at once on the one that revoked it).
type tokenCache struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]cachedToken
}

type cachedToken struct {
	tok store.Token
	at  time.Time
}

const tokenCacheSize = 10000

func (c *tokenCache) get(key string, fetch func() (store.Token, error)) (store.Token, error) {
	c.mu.Lock()
	x, ok := c.m[key]
	c.mu.Unlock()
	if ok && time.Since(x.at) < c.ttl {
		return x.tok, nil
	}
	tok, err := fetch()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		delete(c.m, key)
		return tok, err
	}
	if c.m == nil || len(c.m) >= tokenCacheSize {
		c.m = map[string]cachedToken{}
	}
	c.m[key] = cachedToken{tok, time.Now()}
	return tok, nil
}

// lookup finds a live token by its secret (only valid ones are cached).
func (c *tokenCache) lookup(ctx context.Context, db *store.DB, secret string) (store.Token, error) {
	h := sha256.Sum256([]byte(secret))
	return c.get("s:"+hex.EncodeToString(h[:]), func() (store.Token, error) { return db.LookupToken(ctx, secret) })
}

// byID re-checks a session's token.
func (c *tokenCache) byID(ctx context.Context, db *store.DB, id string) (store.Token, error) {
	return c.get("i:"+id, func() (store.Token, error) { return db.TokenByID(ctx, id) })
}

// forget drops a token's cached checks (it was revoked here).
func (c *tokenCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, x := range c.m {
		if x.tok.ID == id {
			delete(c.m, k)
		}
	}
}

// tokensList: GET /v1/tokens, every token's id, name, role, when it was
// created, last used and revoked; never a secret or a hash.
func (s *Server) tokensList(w http.ResponseWriter, r *http.Request) {
	items, err := s.DB.Tokens(r.Context())
	if err != nil {
		apiError(w, http.StatusInternalServerError, "store: %v", err)
		return
	}
	if items == nil {
		items = []store.Token{}
	}
	writeJSON(w, http.StatusOK, tokenList{Items: items})
}

// tokenRevoke: DELETE /v1/tokens/{id} ends a token and, at once, its
// sessions on this server.
func (s *Server) tokenRevoke(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := s.DB.RevokeToken(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNoToken):
		apiError(w, http.StatusNotFound, "no live token %s", id)
		return
	case err != nil:
		apiError(w, http.StatusInternalServerError, "store: %v", err)
		return
	}
	s.tokens.forget(id)
	n := s.sessions.dropToken(id)
	s.Log.Info("token revoked", "token", id, "by", caller(r), "sessions_ended", n)
	writeJSON(w, http.StatusOK, tokenRevoked{Revoked: id, SessionsEnded: n})
}

// metricsGuard puts /metrics behind metrics.token (a scrape token) or
// metrics.role (a Parapet token), when either is configured.
func (s *Server) metricsGuard(h http.Handler) http.Handler {
	switch {
	case s.Config.Metrics.Role != "":
		return s.auth(s.Config.Metrics.Role, h.ServeHTTP)
	case s.Config.Metrics.Token == "":
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want, err := config.ReadSecret(s.Config.Metrics.Token)
		if err != nil {
			s.Log.Error("metrics token unreadable", "ref", s.Config.Metrics.Token, "err", err)
			apiError(w, http.StatusInternalServerError, "metrics.token cannot be read")
			return
		}
		got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(want)) != 1 {
			if s.refuse(w, s.clientAddr(r), got) {
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="parapet metrics"`)
			apiError(w, http.StatusUnauthorized, "/metrics needs the scrape token (metrics.token)")
			return
		}
		h.ServeHTTP(w, r)
	})
}
