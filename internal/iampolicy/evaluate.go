package iampolicy

import (
	"encoding/base64"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Request is what a policy is evaluated against: who asks, to do what, on
// what, with which request context (condition keys, lower case or as AWS
// writes them; values as strings).
type Request struct {
	// Principal is the caller's ARN (or an AWS account id, a service
	// principal such as ec2.amazonaws.com, "*" for anonymous).
	Principal string
	// PrincipalType is the Principal element's type that names the caller
	// in resource policies: AWS, Service, Federated, CanonicalUser ("" =
	// AWS).
	PrincipalType string
	Action        string // service:Operation
	Resource      string // an ARN
	Context       map[string][]string
}

// Decision is the outcome of an evaluation.
type Decision int

// Decisions: an explicit Deny wins over any Allow; without an Allow the
// request is implicitly denied.
const (
	ImplicitDeny Decision = iota
	Allow
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allow:
		return "allow"
	case ExplicitDeny:
		return "explicit deny"
	}
	return "implicit deny"
}

// Evaluate applies AWS's evaluation logic to one request over a set of
// policies of the same kind (identity policies of a principal, or one
// resource policy): any matching Deny → ExplicitDeny; else any matching
// Allow → Allow; else ImplicitDeny. Principal elements are checked only
// when a statement has one (resource and trust policies).
func Evaluate(req Request, policies ...*Policy) Decision {
	allowed := false
	for _, p := range policies {
		if p == nil {
			continue
		}
		for i := range p.Statements {
			s := &p.Statements[i]
			if !s.Applies(req) {
				continue
			}
			if !s.Allow() {
				return ExplicitDeny
			}
			allowed = true
		}
	}
	if allowed {
		return Allow
	}
	return ImplicitDeny
}

// Applies says whether the statement covers the request: its principal,
// action, resource and every condition match.
func (s *Statement) Applies(req Request) bool {
	if s.Principal != nil && !s.Principal.matches(req) {
		return false
	}
	if s.NotPrincipal != nil && s.NotPrincipal.matches(req) {
		return false
	}
	if len(s.Action) > 0 && !anyMatch(s.Action, req.Action, false) {
		return false
	}
	if len(s.NotAction) > 0 && anyMatch(s.NotAction, req.Action, false) {
		return false
	}
	if len(s.Resource) > 0 && !anyMatch(s.Resource, req.Resource, true) {
		return false
	}
	if len(s.NotResource) > 0 && anyMatch(s.NotResource, req.Resource, true) {
		return false
	}
	for op, kv := range s.Condition {
		for key, want := range kv {
			have, present := lookup(req.Context, key)
			if !Condition(op, have, present, want) {
				return false
			}
		}
	}
	return true
}

func (p Principals) matches(req Request) bool {
	typ := req.PrincipalType
	if typ == "" {
		typ = "AWS"
	}
	if _, ok := p["*"]; ok {
		return true
	}
	for t, vals := range p {
		if !strings.EqualFold(t, typ) {
			continue
		}
		for _, v := range vals {
			switch {
			case v == "*", v == req.Principal:
				return true
			case typ == "AWS" && accountOf(v) != "" && (strings.HasSuffix(v, ":root") || !strings.Contains(v, ":")):
				// An account (id or :root ARN) stands for every principal
				// in it.
				if accountOf(v) == accountOf(req.Principal) {
					return true
				}
			}
		}
	}
	return false
}

// anyMatch matches value against patterns with * and ? (actions are
// case-insensitive; ARNs are not).
func anyMatch(patterns []string, value string, caseSensitive bool) bool {
	for _, p := range patterns {
		if caseSensitive {
			if Wildcard(p, value) {
				return true
			}
		} else if wildcard(p, value, true) {
			return true
		}
	}
	return false
}

// Wildcard matches s against an AWS-style pattern: * stands for any run
// of characters (slashes and colons included, so that ARN paths match),
// ? for one. Policies, the protect list and everything else that takes
// such patterns use it.
func Wildcard(pattern, s string) bool { return wildcard(pattern, s, false) }

// wildcard is Wildcard, ASCII case-insensitive when fold is set (without
// lowering copies: actions are matched millions of times in a graph).
func wildcard(pattern, s string, fold bool) bool {
	eq := func(a, b byte) bool {
		if a == b {
			return true
		}
		if !fold {
			return false
		}
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	px, sx, star, mark := 0, 0, -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && (pattern[px] == '?' || eq(pattern[px], s[sx])):
			px++
			sx++
		case px < len(pattern) && pattern[px] == '*':
			star, mark = px, sx
			px++
		case star >= 0:
			px = star + 1
			mark++
			sx = mark
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}

// lookup finds a context key case-insensitively (condition keys are).
func lookup(ctx map[string][]string, key string) ([]string, bool) {
	if v, ok := ctx[key]; ok {
		return v, true
	}
	for k, v := range ctx {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// Condition evaluates one condition operator (with its ForAllValues: /
// ForAnyValue: qualifier and IfExists suffix) for a key's request values
// (present says whether the request has the key) against the policy's.
func Condition(op string, vals []string, present bool, want []string) bool {
	o := op
	set := ""
	if i := strings.Index(o, ":"); i >= 0 {
		set, o = strings.ToLower(o[:i]), o[i+1:]
	}
	ifExists := strings.HasSuffix(o, "IfExists")
	o = strings.TrimSuffix(o, "IfExists")
	if o == "Null" {
		// Null: true means the key is absent.
		absent := !present || len(vals) == 0
		for _, w := range want {
			if strings.EqualFold(w, "true") == absent {
				return true
			}
		}
		return false
	}
	if !present || len(vals) == 0 {
		switch {
		case ifExists:
			return true
		case set == "forallvalues":
			return true // vacuously: no value fails
		}
		return false
	}
	negated := strings.HasPrefix(o, "StringNot") || strings.HasPrefix(o, "ArnNot") || o == "NotIpAddress" || o == "NumericNotEquals" || o == "DateNotEquals"
	one := func(v string) bool {
		for _, w := range want {
			if match(o, v, w) {
				return true
			}
		}
		return false
	}
	switch set {
	case "forallvalues":
		for _, v := range vals {
			if !one(v) {
				return false
			}
		}
		return true
	case "foranyvalue":
		for _, v := range vals {
			if one(v) {
				return true
			}
		}
		return false
	}
	// A single-valued key: negated operators must hold for the value, the
	// others match when any policy value matches.
	if negated {
		for _, v := range vals {
			if !one(v) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if one(v) {
			return true
		}
	}
	return false
}

// match compares one request value with one policy value.
func match(op, v, w string) bool {
	switch op {
	case "StringEquals":
		return v == w
	case "StringNotEquals":
		return v != w
	case "StringEqualsIgnoreCase":
		return strings.EqualFold(v, w)
	case "StringNotEqualsIgnoreCase":
		return !strings.EqualFold(v, w)
	case "StringLike":
		return Wildcard(w, v)
	case "StringNotLike":
		return !Wildcard(w, v)
	case "ArnEquals", "ArnLike":
		return arnLike(w, v)
	case "ArnNotEquals", "ArnNotLike":
		return !arnLike(w, v)
	case "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals":
		a, err1 := strconv.ParseFloat(v, 64)
		b, err2 := strconv.ParseFloat(w, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		return compare(op[len("Numeric"):], a, b)
	case "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals":
		a, ok1 := date(v)
		b, ok2 := date(w)
		if !ok1 || !ok2 {
			return false
		}
		return compare(op[len("Date"):], float64(a.UnixNano()), float64(b.UnixNano()))
	case "Bool":
		return strings.EqualFold(v, w)
	case "BinaryEquals":
		a, err1 := base64.StdEncoding.DecodeString(v)
		b, err2 := base64.StdEncoding.DecodeString(w)
		return err1 == nil && err2 == nil && string(a) == string(b)
	case "IpAddress", "NotIpAddress":
		in := ipIn(v, w)
		if op == "NotIpAddress" {
			return !in
		}
		return in
	}
	return false // an operator AWS does not have matches nothing
}

func compare(op string, a, b float64) bool {
	switch op {
	case "Equals":
		return a == b
	case "NotEquals":
		return a != b
	case "LessThan":
		return a < b
	case "LessThanEquals":
		return a <= b
	case "GreaterThan":
		return a > b
	case "GreaterThanEquals":
		return a >= b
	}
	return false
}

func date(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true // epoch seconds
	}
	return time.Time{}, false
}

func ipIn(v, w string) bool {
	a, err := netip.ParseAddr(v)
	if err != nil {
		if p, err := netip.ParsePrefix(v); err == nil {
			a = p.Addr()
		} else {
			return false
		}
	}
	if p, err := netip.ParsePrefix(w); err == nil {
		return p.Contains(a)
	}
	b, err := netip.ParseAddr(w)
	return err == nil && a == b
}

// arnLike compares ARNs part by part (six colon-separated parts, the
// resource part may hold more colons), each with wildcards.
func arnLike(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	pp := strings.SplitN(pattern, ":", 6)
	ap := strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return Wildcard(pattern, arn)
	}
	for i := range pp {
		if !Wildcard(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

// AllowsAllActions says whether an Allow grants every action ("*", or a
// NotAction that excludes little) on every resource, without conditions.
func (p *Policy) AllowsAllActions() bool {
	for _, s := range p.Statements {
		if !s.Allow() || len(s.Condition) > 0 {
			continue
		}
		all := false
		for _, a := range s.Action {
			if a == "*" || a == "*:*" {
				all = true
			}
		}
		if len(s.NotAction) > 0 && len(s.Action) == 0 && !slices.Contains(s.NotAction, "*") && !slices.Contains(s.NotAction, "*:*") {
			all = true // everything but a few actions is all, for a reviewer (everything but everything is nothing)
		}
		if !all {
			continue
		}
		if len(s.NotResource) > 0 {
			return true
		}
		for _, r := range s.Resource {
			if r == "*" {
				return true
			}
		}
	}
	return false
}

// ForeignAccounts lists the accounts an Allow names as principals (account
// ids, ARNs in them) that known does not hold, sorted; a condition that
// pins aws:PrincipalOrgID to one of orgs keeps a statement's accounts in.
func (p *Policy) ForeignAccounts(known func(account string) bool, orgs []string) []string {
	seen := map[string]bool{}
	for _, s := range p.Statements {
		if !s.Allow() || s.inOrg(orgs) {
			continue
		}
		for _, v := range s.Principal["AWS"] {
			if a := accountOf(v); a != "" && !known(a) {
				seen[a] = true
			}
		}
	}
	var out []string
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func (s *Statement) inOrg(orgs []string) bool {
	if len(orgs) == 0 {
		return false
	}
	for op, kv := range s.Condition {
		if !positive(op) {
			continue
		}
		for k, vals := range kv {
			if !strings.EqualFold(k, "aws:PrincipalOrgID") {
				continue
			}
			for _, v := range vals {
				for _, o := range orgs {
					if v == o {
						return true
					}
				}
			}
		}
	}
	return false
}

// EvaluateBounded evaluates a request by a principal whose identity
// policies are capped by a permissions boundary (nil: none): the request
// is allowed only when the identity policies allow it and the boundary
// allows it too; an explicit Deny in either wins.
func EvaluateBounded(req Request, boundary *Policy, identity ...*Policy) Decision {
	d := Evaluate(req, identity...)
	if boundary == nil || d == ExplicitDeny {
		return d
	}
	switch Evaluate(req, boundary) {
	case ExplicitDeny:
		return ExplicitDeny
	case Allow:
		return d
	}
	return ImplicitDeny
}
