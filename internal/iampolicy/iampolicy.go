// Package iampolicy reads IAM policy documents (identity and resource
// policies) and answers what they expose: whether a statement grants to
// everyone, which statements do, and a document with those statements
// taken out. It is the one place Parapet decides exposure, so that
// response actions, rules and checks agree.
//
// "Public" follows Amazon S3's definition (the meaning of "public" for
// Block Public Access): an Allow statement is public when its principal is
// a wildcard (or it uses NotPrincipal) unless a condition pins the caller
// or the request's source to fixed values (no wildcard, no policy
// variable): aws:SourceIp (CIDRs), aws:SourceArn, aws:SourceVpc,
// aws:SourceVpce, aws:SourceOwner, aws:SourceAccount, aws:userid outside
// the pattern "AROLEID:*", s3:x-amz-server-side-encryption-aws-kms-key-id,
// and, as IAM Access Analyzer treats them, aws:PrincipalOrgID,
// aws:PrincipalAccount, aws:PrincipalArn and kms:CallerAccount. A Deny is
// never a grant.
package iampolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Policy is a parsed policy document. Statements keep their original JSON,
// so that a document rewritten without some statements says exactly what
// the rest said.
type Policy struct {
	Version    string
	ID         string
	Statements []Statement
}

// Statement is one statement, with every list normalized.
type Statement struct {
	Sid          string
	Effect       string     // Allow or Deny
	Principal    Principals // nil when the statement has none
	NotPrincipal Principals
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	// Condition: operator → key → values (keys as written; compare them
	// case-insensitively).
	Condition map[string]map[string][]string
	Raw       json.RawMessage
}

// Principals maps a principal type (AWS, Service, Federated,
// CanonicalUser; "*" for the bare wildcard) to its values.
type Principals map[string][]string

// ErrNotPolicy: the document is not a policy.
var ErrNotPolicy = errors.New("not an IAM policy document")

// Parse reads a policy document: a JSON object with Statement (an object
// or a list), or that object as a JSON string (as CloudTrail and some
// APIs write it).
func Parse(doc []byte) (*Policy, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) > 0 && doc[0] == '"' {
		var s string
		if err := json.Unmarshal(doc, &s); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotPolicy, err)
		}
		doc = []byte(strings.TrimSpace(s))
	}
	var top struct {
		Version   string          `json:"Version"`
		ID        string          `json:"Id"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotPolicy, err)
	}
	if len(top.Statement) == 0 {
		return nil, fmt.Errorf("%w: no Statement", ErrNotPolicy)
	}
	var raws []json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(top.Statement), []byte("[")) {
		if err := json.Unmarshal(top.Statement, &raws); err != nil {
			return nil, fmt.Errorf("%w: Statement: %v", ErrNotPolicy, err)
		}
	} else {
		raws = []json.RawMessage{top.Statement}
	}
	if len(raws) == 0 {
		return nil, fmt.Errorf("%w: no statements", ErrNotPolicy)
	}
	p := &Policy{Version: top.Version, ID: top.ID}
	for i, raw := range raws {
		s, err := parseStatement(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: statement %d: %v", ErrNotPolicy, i+1, err)
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

func parseStatement(raw json.RawMessage) (Statement, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return Statement{}, err
	}
	s := Statement{Raw: append(json.RawMessage(nil), raw...)}
	var err error
	str := func(k string) string {
		var v string
		if b, ok := m[k]; ok && err == nil {
			if e := json.Unmarshal(b, &v); e != nil {
				err = fmt.Errorf("%s: %v", k, e)
			}
		}
		return v
	}
	list := func(k string) []string {
		b, ok := m[k]
		if !ok || err != nil {
			return nil
		}
		v, e := stringList(b)
		if e != nil {
			err = fmt.Errorf("%s: %v", k, e)
		}
		return v
	}
	s.Sid = str("Sid")
	s.Effect = str("Effect")
	s.Action, s.NotAction = list("Action"), list("NotAction")
	s.Resource, s.NotResource = list("Resource"), list("NotResource")
	if err != nil {
		return s, err
	}
	if b, ok := m["Principal"]; ok {
		if s.Principal, err = principals(b); err != nil {
			return s, fmt.Errorf("Principal: %v", err)
		}
	}
	if b, ok := m["NotPrincipal"]; ok {
		if s.NotPrincipal, err = principals(b); err != nil {
			return s, fmt.Errorf("NotPrincipal: %v", err)
		}
	}
	if b, ok := m["Condition"]; ok {
		var c map[string]map[string]json.RawMessage
		if err := json.Unmarshal(b, &c); err != nil {
			return s, fmt.Errorf("Condition: %v", err)
		}
		s.Condition = map[string]map[string][]string{}
		for op, kv := range c {
			s.Condition[op] = map[string][]string{}
			for k, v := range kv {
				vals, err := stringList(v)
				if err != nil {
					return s, fmt.Errorf("Condition %s %s: %v", op, k, err)
				}
				s.Condition[op][k] = vals
			}
		}
	}
	if !strings.EqualFold(s.Effect, "Allow") && !strings.EqualFold(s.Effect, "Deny") {
		return s, fmt.Errorf("Effect %q is neither Allow nor Deny", s.Effect)
	}
	return s, nil
}

// stringList reads a string, a number or bool (as written), or a list of
// them.
func stringList(b json.RawMessage) ([]string, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var raws []json.RawMessage
		if err := json.Unmarshal(b, &raws); err != nil {
			return nil, err
		}
		out := make([]string, 0, len(raws))
		for _, r := range raws {
			v, err := scalar(r)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	v, err := scalar(b)
	if err != nil {
		return nil, err
	}
	return []string{v}, nil
}

func scalar(b json.RawMessage) (string, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "", err
	}
	switch v.(type) {
	case float64, bool:
		return string(b), nil
	}
	return "", fmt.Errorf("expected a string or a list of strings, got %s", b)
}

func principals(b json.RawMessage) (Principals, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, err
		}
		if s != "*" {
			return nil, fmt.Errorf("a principal given as a string must be \"*\", not %q", s)
		}
		return Principals{"*": {"*"}}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	out := Principals{}
	for k, v := range m {
		vals, err := stringList(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", k, err)
		}
		out[k] = vals
	}
	return out, nil
}

// Wildcard says whether the principals include everyone: "*" bare, or a
// "*" among the AWS (or any other type's) values.
func (p Principals) Wildcard() bool {
	for _, vals := range p {
		for _, v := range vals {
			if v == "*" {
				return true
			}
		}
	}
	return false
}

// Allow says whether the statement grants (a Deny never does).
func (s *Statement) Allow() bool { return strings.EqualFold(s.Effect, "Allow") }

// Public says whether the statement grants access to anyone: an Allow to
// a wildcard principal (or with NotPrincipal, which grants everyone but
// the names) that no condition pins to fixed callers or sources.
func (s *Statement) Public() bool {
	if !s.Allow() {
		return false
	}
	if !s.Principal.Wildcard() && s.NotPrincipal == nil {
		return false
	}
	return !s.restricted()
}

// restrictingKeys are the condition keys that, with fixed values, limit a
// wildcard grant to known callers or sources (lower case).
var restrictingKeys = map[string]bool{
	"aws:sourceip": true, "aws:sourcearn": true, "aws:sourcevpc": true, "aws:sourcevpce": true,
	"aws:sourceowner": true, "aws:sourceaccount": true, "aws:userid": true,
	"s3:x-amz-server-side-encryption-aws-kms-key-id": true,
	"aws:principalorgid":                             true, "aws:principalaccount": true, "aws:principalarn": true,
	"kms:calleraccount": true, "aws:principalorgpaths": true,
}

// positive reports whether a condition operator limits the request to
// the values given (not a negation, not IfExists, not Null).
func positive(op string) bool {
	o := strings.ToLower(op)
	o = strings.TrimPrefix(o, "foranyvalue:")
	o = strings.TrimPrefix(o, "forallvalues:")
	if strings.HasSuffix(o, "ifexists") || strings.Contains(o, "not") || o == "null" {
		return false
	}
	switch o {
	case "stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "ipaddress":
		return true
	}
	return false
}

func (s *Statement) restricted() bool {
	for op, kv := range s.Condition {
		if !positive(op) || strings.HasPrefix(strings.ToLower(op), "forallvalues:") {
			// ForAllValues is true when the key is absent: no limit.
			continue
		}
		for k, vals := range kv {
			key := strings.ToLower(k)
			if !restrictingKeys[key] || len(vals) == 0 {
				continue
			}
			fixed := true
			for _, v := range vals {
				if !fixedValue(key, v) {
					fixed = false
				}
			}
			if fixed {
				return true
			}
		}
	}
	return false
}

// fixedValue: no wildcard, no policy variable, and for addresses a range
// no wider than AWS treats as non-public (IPv4 /8, IPv6 /32).
func fixedValue(key, v string) bool {
	if v == "" || strings.ContainsAny(v, "*?") || strings.Contains(v, "${") {
		return false
	}
	switch key {
	case "aws:sourceip":
		pfx, err := netip.ParsePrefix(v)
		if err != nil {
			a, err := netip.ParseAddr(v)
			return err == nil && a.IsValid()
		}
		if pfx.Addr().Is4() {
			return pfx.Bits() >= 8
		}
		return pfx.Bits() >= 32
	}
	return true
}

// Public says whether any statement of the policy is public.
func (p *Policy) Public() bool {
	for i := range p.Statements {
		if p.Statements[i].Public() {
			return true
		}
	}
	return false
}

// PublicStatements lists the indexes of the public statements.
func (p *Policy) PublicStatements() []int {
	var out []int
	for i := range p.Statements {
		if p.Statements[i].Public() {
			out = append(out, i)
		}
	}
	return out
}

// Without returns the document with the statements at the given indexes
// removed, the rest as written, and how many statements remain.
func (p *Policy) Without(drop []int) ([]byte, int) {
	skip := map[int]bool{}
	for _, i := range drop {
		skip[i] = true
	}
	var kept []json.RawMessage
	for i, s := range p.Statements {
		if !skip[i] {
			kept = append(kept, s.Raw)
		}
	}
	var b bytes.Buffer
	b.WriteString(`{"Version":`)
	v := p.Version
	if v == "" {
		v = "2012-10-17"
	}
	vj, _ := json.Marshal(v)
	b.Write(vj)
	if p.ID != "" {
		idj, _ := json.Marshal(p.ID)
		b.WriteString(`,"Id":`)
		b.Write(idj)
	}
	b.WriteString(`,"Statement":[`)
	for i, r := range kept {
		if i > 0 {
			b.WriteByte(',')
		}
		var c bytes.Buffer
		if json.Compact(&c, r) == nil {
			b.Write(c.Bytes())
		} else {
			b.Write(r)
		}
	}
	b.WriteString(`]}`)
	return b.Bytes(), len(kept)
}

// Accounts lists the AWS account ids the policy's Allow statements name
// as principals (account ids and ARNs in them), sorted.
func (p *Policy) Accounts() []string {
	seen := map[string]bool{}
	for _, s := range p.Statements {
		if !s.Allow() {
			continue
		}
		for _, v := range s.Principal["AWS"] {
			if a := accountOf(v); a != "" {
				seen[a] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func accountOf(v string) string {
	if len(v) == 12 && strings.Trim(v, "0123456789") == "" {
		return v
	}
	parts := strings.Split(v, ":")
	if len(parts) >= 5 && parts[0] == "arn" {
		return parts[4]
	}
	return ""
}
