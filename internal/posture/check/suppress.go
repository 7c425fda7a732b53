package check

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/parapet-sec/parapet/internal/org"
)

// Suppression is one entry of a suppression file: a check (or a glob of
// check ids) accepted on the resources a glob matches, for a stated
// reason, until an optional expiry date.
//
//	suppressions:
//	  - check: PARAPET-S3-006
//	    resource: "aws_s3_bucket.access_logs*"
//	    reason: "the log bucket cannot log to itself"
//	    expires: 2027-06-30
//	    scope: {ous: [Sandbox]}   # optional: only in these accounts
type Suppression struct {
	Check    string `yaml:"check"`
	Resource string `yaml:"resource"` // glob over the resource's ARN, address or name; "*" for all
	Reason   string `yaml:"reason"`
	Expires  string `yaml:"expires"` // YYYY-MM-DD: not honoured from that day on
	// Scope, when set, limits the entry to resources of these accounts
	// (ids, OUs, tags; see org.Scope).
	Scope *org.Scope `yaml:"scope"`
	File  string     `yaml:"-"`
	Line  int        `yaml:"-"`

	expires time.Time
	used    int
}

// Where names the entry: file:line.
func (s *Suppression) Where() string { return fmt.Sprintf("%s:%d", s.File, s.Line) }

// LoadSuppressions reads a suppression file. Unknown keys, a missing
// check, resource or reason, bad globs and bad dates are errors naming the
// line; the good entries still load.
func LoadSuppressions(file string) ([]*Suppression, []error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, []error{err}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, []error{fmt.Errorf("%s: %w", file, err)}
	}
	var root struct {
		Suppressions []yaml.Node `yaml:"suppressions"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&root); err != nil {
		return nil, []error{fmt.Errorf("%s: %w", file, err)}
	}
	var out []*Suppression
	var errs []error
	for _, n := range root.Suppressions {
		s := &Suppression{File: file, Line: n.Line}
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s:%d: %s", file, n.Line, fmt.Sprintf(format, args...)))
		}
		if err := n.Decode(s); err != nil {
			bad("%v", err)
			continue
		}
		if err := knownKeys(&n, "check", "resource", "reason", "expires", "scope"); err != nil {
			bad("%v", err)
			continue
		}
		switch {
		case s.Check == "":
			bad("a suppression needs a check id (or a glob such as PARAPET-S3-*)")
			continue
		case s.Resource == "":
			bad("a suppression needs a resource (an ARN, address or name; globs allowed; \"*\" for every resource)")
			continue
		case strings.TrimSpace(s.Reason) == "":
			bad("a suppression needs a reason")
			continue
		}
		if _, err := path.Match(s.Check, ""); err != nil {
			bad("check %q: %v", s.Check, err)
			continue
		}
		if _, err := path.Match(s.Resource, ""); err != nil {
			bad("resource %q: %v", s.Resource, err)
			continue
		}
		if s.Scope != nil {
			if errs := s.Scope.Validate(); len(errs) > 0 {
				bad("scope: %v", errors.Join(errs...))
				continue
			}
		}
		if s.Expires != "" {
			t, err := time.Parse("2006-01-02", s.Expires)
			if err != nil {
				bad("expires %q: want YYYY-MM-DD", s.Expires)
				continue
			}
			s.expires = t
		}
		out = append(out, s)
	}
	return out, errs
}

func knownKeys(n *yaml.Node, keys ...string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("a suppression is a mapping")
	}
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i].Value
		ok := false
		for _, want := range keys {
			ok = ok || k == want
		}
		if !ok {
			return fmt.Errorf("unknown key %q (want %s)", k, strings.Join(keys, ", "))
		}
	}
	return nil
}

// Matches says whether the entry covers a check on a resource.
func (s *Suppression) Matches(r Result) bool { return s.MatchesIn(r, nil) }

// MatchesIn is Matches with the accounts of the entry's scope resolved
// through ar (nil: only the OU an organization scan put on the resource).
func (s *Suppression) MatchesIn(r Result, ar org.Resolver) bool {
	if ok, _ := path.Match(s.Check, r.CheckID); !ok {
		return false
	}
	if s.Scope != nil {
		if account, rr := accountOf(r.Resource, ar); !s.Scope.Matches(account, rr) {
			return false
		}
	}
	if s.Resource == "*" {
		return true
	}
	for _, id := range []string{r.Resource.ARN, r.Resource.Address, r.Resource.Name} {
		if id == "" {
			continue
		}
		if ok, _ := path.Match(s.Resource, id); ok {
			return true
		}
	}
	return false
}

// ApplySuppressions marks the results the entries cover as suppressed,
// with the entry's reason and place, and returns warnings: entries that
// expired (not honoured) and entries that matched no failure (stale).
// Passing results stay passes.
func ApplySuppressions(results []Result, sups []*Suppression, now time.Time) []string {
	return ApplySuppressionsIn(results, sups, now, nil)
}

// ApplySuppressionsIn is ApplySuppressions with the entries' scopes
// resolved through ar (the organization's inventory).
func ApplySuppressionsIn(results []Result, sups []*Suppression, now time.Time, ar org.Resolver) []string {
	var warn []string
	var live []*Suppression
	for _, s := range sups {
		if !s.expires.IsZero() && !now.Before(s.expires) {
			warn = append(warn, fmt.Sprintf("%s: suppression of %s on %s expired on %s: not honoured", s.Where(), s.Check, s.Resource, s.Expires))
			continue
		}
		live = append(live, s)
	}
	for i := range results {
		r := &results[i]
		if r.Status != Fail && r.Status != Unknown {
			continue
		}
		for _, s := range live {
			if s.MatchesIn(*r, ar) {
				s.used++
				r.Status, r.SuppressedBy = Suppressed, s.Where()
				r.Reason = fmt.Sprintf("%s (%s)", strings.TrimSpace(s.Reason), s.Where())
				break
			}
		}
	}
	for _, s := range live {
		if s.used == 0 {
			warn = append(warn, fmt.Sprintf("%s: suppression of %s on %s matched no failure: remove it?", s.Where(), s.Check, s.Resource))
		}
	}
	return warn
}
