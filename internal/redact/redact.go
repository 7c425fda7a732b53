// Package redact hides the secrets a URL or connection string can carry
// before it is logged, returned by the API or put in an error: one
// function for every URL Parapet prints (the store, the bus, feeds).
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces a secret.
const Mask = "xxxxx"

// secretParam says whether a query parameter (or a key=value setting)
// carries a secret: password, sslpassword, passwd, pwd, token, secret,
// key (sslkey, api_key, …), credential, signature, auth (X-Amz-Signature,
// X-Amz-Credential, X-Amz-Security-Token, authToken, …).
func secretParam(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"pass", "pwd", "token", "secret", "key", "credential", "signature", "auth", "sig"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// keyValue finds name=value settings in a connection string that is not
// a URL (PostgreSQL's "host=db password=…").
var keyValue = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&;]*)`)

// URL returns u with its secrets masked: the password of the user info
// (the whole user info for NATS, where a user alone is a token), and the
// value of every secret-bearing query parameter. A string that does not
// parse as a URL has every secret-looking setting masked, and its user
// info; one it cannot make sense of at all is masked whole after the
// scheme.
func URL(u string) string {
	if u == "" {
		return u
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" || p.Opaque != "" {
		return loose(u)
	}
	if p.User != nil {
		_, hasPassword := p.User.Password()
		switch {
		case p.Scheme == "nats" || p.Scheme == "tls" || p.Scheme == "ws" || p.Scheme == "wss":
			p.User = url.User(Mask)
		case hasPassword:
			p.User = url.UserPassword(p.User.Username(), Mask)
		}
	}
	if p.RawQuery != "" {
		q := p.Query()
		changed := false
		for k, vs := range q {
			if secretParam(k) {
				for i := range vs {
					vs[i] = Mask
				}
				changed = true
			}
		}
		if changed {
			p.RawQuery = q.Encode()
		}
	}
	if p.Fragment != "" {
		p.Fragment = ""
	}
	return p.String()
}

// loose masks what it can recognise in a string that is no clean URL.
func loose(s string) string {
	out := keyValue.ReplaceAllStringFunc(s, func(m string) string {
		kv := keyValue.FindStringSubmatch(m)
		if secretParam(kv[1]) {
			return kv[1] + "=" + Mask
		}
		return m
	})
	if i := strings.Index(out, "://"); i >= 0 {
		rest := out[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			out = out[:i+3] + Mask + rest[at:]
		}
	}
	return out
}
