package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/parapet-sec/parapet/internal/store"
)

// Browser sessions: the UI trades a token for an HttpOnly, SameSite=Strict
// cookie naming a session held in memory (a restart logs everyone out),
// and every state-changing request made with the cookie must carry the
// session's CSRF token in X-CSRF-Token.
const sessionCookie = "parapet_session"

type session struct {
	tok     store.Token
	csrf    string
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

func (s *sessions) create(t store.Token) (string, *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*session{}
	}
	now := time.Now()
	for id, x := range s.m {
		if now.After(x.expires) {
			delete(s.m, id)
		}
	}
	id := randHex(24)
	x := &session{tok: t, csrf: randHex(16), expires: now.Add(12 * time.Hour)}
	s.m[id] = x
	return id, x
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

// fromSession authenticates a browser request by its cookie; for methods
// that change state the CSRF header must match.
func (s *Server) fromSession(r *http.Request) (store.Token, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return store.Token{}, store.ErrNoToken
	}
	x := s.sessions.get(c.Value)
	if x == nil {
		return store.Token{}, store.ErrNoToken
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-CSRF-Token")), []byte(x.csrf)) != 1 {
			return store.Token{}, errCSRF
		}
	}
	return x.tok, nil
}

var errCSRF = errors.New("missing or wrong X-CSRF-Token")

// login: POST /ui/login {"token": "…"} sets the session cookie and
// returns the CSRF token; failures count towards the throttle.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	if s.throttle.blocked(ip) {
		apiError(w, http.StatusTooManyRequests, "too many failed attempts; wait and retry")
		return
	}
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, "want {\"token\": \"…\"}")
		return
	}
	tok, err := s.DB.LookupToken(r.Context(), strings.TrimSpace(body.Token))
	if err != nil {
		s.throttle.fail(ip)
		s.authFail.Inc()
		apiError(w, http.StatusUnauthorized, "unknown token")
		return
	}
	id, x := s.sessions.create(tok)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, Expires: x.expires})
	writeJSON(w, http.StatusOK, map[string]any{"csrf": x.csrf, "role": tok.Role, "name": tok.Name})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if x := s.sessions.get(c.Value); x != nil && subtle.ConstantTimeCompare([]byte(r.Header.Get("X-CSRF-Token")), []byte(x.csrf)) == 1 {
			s.sessions.drop(c.Value)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, map[string]any{})
}

// whoamiSession tells the UI whether its cookie still holds a session,
// with the CSRF token to use.
func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		apiError(w, http.StatusUnauthorized, "not logged in")
		return
	}
	x := s.sessions.get(c.Value)
	if x == nil {
		apiError(w, http.StatusUnauthorized, "not logged in")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"csrf": x.csrf, "role": x.tok.Role, "name": x.tok.Name})
}
