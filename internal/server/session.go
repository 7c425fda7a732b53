package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/parapet-sec/parapet/internal/store"
)

// Browser sessions: the UI trades a token for an HttpOnly, SameSite=Strict
// cookie (Secure unless auth.insecure_cookies) naming a session held in
// memory (a restart logs everyone out), and every state-changing request
// made with the cookie must carry the session's CSRF token in
// X-CSRF-Token. Sign-in and sign-out refuse cross-origin requests. A
// session re-checks its token (auth.token_cache): revoking the token ends
// it. Sessions are bounded per token (the oldest gives way) and in all
// (sign-in answers 503).
const sessionCookie = "parapet_session"

type session struct {
	tok     store.Token
	csrf    string
	created time.Time
	expires time.Time
}

type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var errTooManySessions = errors.New("too many sessions")

// create opens a session for a token: its oldest gives way past perToken,
// and past total none is opened.
func (s *sessions) create(t store.Token, total, perToken int) (string, *session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*session{}
	}
	now := time.Now()
	var mine []string
	for id, x := range s.m {
		switch {
		case now.After(x.expires):
			delete(s.m, id)
		case x.tok.ID == t.ID:
			mine = append(mine, id)
		}
	}
	for perToken > 0 && len(mine) >= perToken {
		oldest := 0
		for i, id := range mine {
			if s.m[id].created.Before(s.m[mine[oldest]].created) {
				oldest = i
			}
		}
		delete(s.m, mine[oldest])
		mine = append(mine[:oldest], mine[oldest+1:]...)
	}
	if total > 0 && len(s.m) >= total {
		return "", nil, errTooManySessions
	}
	id := randHex(24)
	x := &session{tok: t, csrf: randHex(16), created: now, expires: now.Add(12 * time.Hour)}
	s.m[id] = x
	return id, x, nil
}

func (s *sessions) get(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.m[id]
	if x == nil || time.Now().After(x.expires) {
		return nil
	}
	return x
}

func (s *sessions) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// dropToken ends a token's sessions and says how many there were.
func (s *sessions) dropToken(tokenID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, x := range s.m {
		if x.tok.ID == tokenID {
			delete(s.m, id)
			n++
		}
	}
	return n
}

// live finds the cookie's session and re-checks its token; a session
// whose token was revoked ends (nil, store.ErrNoToken).
func (s *Server) live(r *http.Request) (string, *session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", nil, store.ErrNoToken
	}
	x := s.sessions.get(c.Value)
	if x == nil {
		return "", nil, store.ErrNoToken
	}
	if _, err := s.tokens.byID(r.Context(), s.DB, x.tok.ID); err != nil {
		if errors.Is(err, store.ErrNoToken) {
			s.sessions.drop(c.Value)
		}
		return "", nil, err
	}
	return c.Value, x, nil
}

// fromSession authenticates a browser request by its cookie; for methods
// that change state the CSRF header must match.
func (s *Server) fromSession(r *http.Request) (store.Token, error) {
	_, x, err := s.live(r)
	if err != nil {
		return store.Token{}, err
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-CSRF-Token")), []byte(x.csrf)) != 1 {
			return store.Token{}, errCSRF
		}
	}
	return x.tok, nil
}

var errCSRF = errors.New("missing or wrong X-CSRF-Token")

func (s *Server) cookie(value string, expires time.Time, maxAge int) *http.Cookie {
	return &http.Cookie{Name: sessionCookie, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: !s.Config.Auth.InsecureCookies, Expires: expires, MaxAge: maxAge}
}

// login: POST /ui/login {"token": "…"} sets the session cookie and
// returns the CSRF token; failures count towards the throttle.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !s.sameOrigin(r) {
		apiError(w, http.StatusForbidden, "sign-in from another site refused")
		return
	}
	addr := s.clientAddr(r)
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
		if !s.refuse(w, addr, "") {
			apiError(w, http.StatusBadRequest, "want {\"token\": \"…\"}")
		}
		return
	}
	secret := strings.TrimSpace(body.Token)
	tok, err := s.tokens.lookup(r.Context(), s.DB, secret)
	switch {
	case errors.Is(err, store.ErrNoToken) || err == nil && secret == "":
		if !s.refuse(w, addr, secret) {
			apiError(w, http.StatusUnauthorized, "unknown token")
		}
		return
	case err != nil:
		apiError(w, http.StatusInternalServerError, "store: %v", err)
		return
	case tok.Role == store.RoleIngest:
		apiError(w, http.StatusForbidden, "an ingest token only posts telemetry; it cannot sign in")
		return
	}
	id, x, err := s.sessions.create(tok, s.Config.Auth.MaxSessions, s.Config.Auth.MaxSessionsPerToken)
	if err != nil {
		w.Header().Set("Retry-After", "60")
		apiError(w, http.StatusServiceUnavailable, "too many sessions open (auth.max_sessions): retry later")
		return
	}
	http.SetCookie(w, s.cookie(id, x.expires, 0))
	writeJSON(w, http.StatusOK, map[string]any{"csrf": x.csrf, "role": tok.Role, "name": tok.Name})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if !s.sameOrigin(r) {
		apiError(w, http.StatusForbidden, "sign-out from another site refused")
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		if x := s.sessions.get(c.Value); x != nil && subtle.ConstantTimeCompare([]byte(r.Header.Get("X-CSRF-Token")), []byte(x.csrf)) == 1 {
			s.sessions.drop(c.Value)
		}
	}
	http.SetCookie(w, s.cookie("", time.Time{}, -1))
	writeJSON(w, http.StatusOK, map[string]any{})
}

// session tells the UI whether its cookie still holds a session, with the
// CSRF token to use.
func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	_, x, err := s.live(r)
	switch {
	case errors.Is(err, store.ErrNoToken):
		apiError(w, http.StatusUnauthorized, "not logged in")
	case err != nil:
		apiError(w, http.StatusInternalServerError, "store: %v", err)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"csrf": x.csrf, "role": x.tok.Role, "name": x.tok.Name})
	}
}
