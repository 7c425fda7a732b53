// Package ticket holds the ticketing actions: an issue in Jira Cloud
// (REST API v3) and a record in ServiceNow (Table API), opened, updated and
// closed for one Parapet incident, with a link back to it. Each is
// idempotent per incident: the Jira issue carries the label
// parapet-incident-ID and the ServiceNow record the correlation_id ID, and
// both are looked up before anything is written. Secrets (API tokens,
// passwords) come only from env: or file: references and are never part of
// an outcome or an error.
package ticket

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/respond"
)

// States a step asks for.
const (
	StateOpen   = "open"   // create the ticket, or update the one the incident has
	StateUpdate = "update" // the same: update the incident's ticket, creating it when absent
	StateClose  = "close"  // resolve the incident's ticket (nothing when it has none)
)

// Register adds the ticketing actions. A nil client is one with a 15 s
// timeout.
func Register(reg *respond.Registry, client *http.Client) {
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	reg.Add(jira(client), serviceNow(client))
}

// api is one ticketing system's REST endpoint with its credentials.
type api struct {
	client  *http.Client
	service string   // "jira" or "servicenow": names the calls and errors
	base    *url.URL // the site or instance, no path
	auth    string   // the Authorization header value (a secret)
	secret  string   // the token or password in it
	calls   []respond.Call
}

// do sends one request and decodes a JSON answer into out (when not nil).
// Errors name the method, the path and the HTTP status, never the host's
// credentials or the Authorization header.
func (a *api) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	u := *a.base
	u.Path = path
	u.RawQuery = query.Encode()
	input := map[string]any{}
	if len(query) > 0 {
		input["query"] = query.Encode()
	}
	if m, ok := body.(map[string]any); ok {
		for k, v := range m {
			input[k] = v
		}
	}
	a.calls = append(a.calls, respond.Call{Service: a.service, Operation: method + " " + path, Input: input})
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("%s %s: bad request", method, path)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", a.auth)
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %s", method, path, errorKind(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read the answer: %s", method, path, errorKind(err))
	}
	if resp.StatusCode >= 300 {
		msg := vendorMessage(data)
		if msg != "" {
			msg = ": " + msg
		}
		// An answer that echoes the credentials loses them.
		msg = strings.NewReplacer(a.auth, "(redacted)", a.secret, "(redacted)").Replace(msg)
		return fmt.Errorf("%s %s: %s answered HTTP %d%s", method, path, a.service, resp.StatusCode, msg)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: the answer is not the documented JSON: %v", method, path, err)
		}
	}
	return nil
}

// vendorMessage is the error text Jira ({"errorMessages":[…],"errors":{…}})
// or ServiceNow ({"error":{"message","detail"}}) put in an error answer,
// clipped.
func vendorMessage(data []byte) string {
	var e struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
		Error         *struct {
			Message string `json:"message"`
			Detail  string `json:"detail"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &e) != nil {
		return ""
	}
	var parts []string
	parts = append(parts, e.ErrorMessages...)
	keys := make([]string, 0, len(e.Errors))
	for k := range e.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+": "+e.Errors[k])
	}
	if e.Error != nil {
		parts = append(parts, strings.TrimSpace(e.Error.Message+" "+e.Error.Detail))
	}
	s := strings.Join(parts, "; ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Base checks a site or instance URL: https (http only for a loopback
// address), no credentials in it, no path, query or fragment. The error
// does not repeat the URL, which may hold what should have been a secret.
func Base(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, errors.New("not an https URL")
	}
	if u.User != nil {
		return nil, errors.New("the URL holds credentials: give them as the secret parameters")
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("give the site alone (https://HOST), without a path or query")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return nil, errors.New("must be https (plain http only to a loopback address)")
		}
	default:
		return nil, errors.New("not an https URL")
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// incidentRE is what an incident id may hold: it goes into a JQL string,
// a label and a ServiceNow encoded query, none of which it may break.
var incidentRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,100}$`)

func checkState(s string) (string, error) {
	switch s {
	case "":
		return StateOpen, nil
	case StateOpen, StateUpdate, StateClose:
		return s, nil
	}
	return "", fmt.Errorf("state %q: want open, update or close", s)
}

func basic(user, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+secret))
}

// errorKind describes a transport error without the URL in it.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

// withLink is a note's text with the link back to the incident.
func withLink(text, incident, link string) string {
	line := "Parapet incident " + incident + ": " + link
	if strings.TrimSpace(text) == "" {
		return line
	}
	return text + "\n\n" + line
}
