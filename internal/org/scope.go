package org

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Scope says which accounts a playbook, an approval rule, a protection, a
// suppression or a check selection applies to. The include lists are
// alternatives: an account is in scope when one of Accounts names it, it
// is in one of OUs, or it carries one of Tags (or when all three are
// empty), and no entry of Exclude matches it. The zero Scope is every
// account.
//
// OUs and tags come from the organization's inventory (a Resolver): an
// account the inventory does not know (or a finding with no account) is
// in scope only when Accounts names it by id, or when the scope has no OU
// or tag condition at all (include or exclude) and does not exclude it by
// id.
type Scope struct {
	Accounts []string     `yaml:"accounts" json:"accounts,omitempty" doc:"account ids"`
	OUs      []string     `yaml:"ous" json:"ous,omitempty" doc:"OU paths (Root/Workloads/Sandbox, sub-OUs included) or OU names (Sandbox)"`
	Tags     []string     `yaml:"tags" json:"tags,omitempty" doc:"account tags as key=value (key=* or key: any value)"`
	Exclude  ScopeExclude `yaml:"exclude" json:"exclude,omitzero" doc:"never accounts matching any of these"`
}

// ScopeExclude lists the accounts a Scope leaves out.
type ScopeExclude struct {
	Accounts []string `yaml:"accounts" json:"accounts,omitempty" doc:"account ids"`
	OUs      []string `yaml:"ous" json:"ous,omitempty" doc:"OU paths or names"`
	Tags     []string `yaml:"tags" json:"tags,omitempty" doc:"account tags as key=value"`
}

// Resolver says what the inventory knows of an account id (false: not in
// the inventory).
type Resolver func(id string) (Account, bool)

// Static is a Resolver over a fixed list (a static organization.accounts,
// or one inventory).
func Static(accounts []Account) Resolver {
	m := make(map[string]Account, len(accounts))
	for _, a := range accounts {
		m[a.ID] = a
	}
	return func(id string) (Account, bool) { a, ok := m[id]; return a, ok }
}

// IsZero reports whether the scope has no condition (every account).
func (s Scope) IsZero() bool {
	return len(s.Accounts)+len(s.OUs)+len(s.Tags)+len(s.Exclude.Accounts)+len(s.Exclude.OUs)+len(s.Exclude.Tags) == 0
}

func (s Scope) filters() (include, exclude Filter) {
	return Filter{Accounts: s.Accounts, OUs: s.OUs, Tags: TagFilter(s.Tags)},
		Filter{Accounts: s.Exclude.Accounts, OUs: s.Exclude.OUs, Tags: TagFilter(s.Exclude.Tags)}
}

// TagFilter reads key=value entries into a Filter's tags ("key" alone or
// key=*: any value).
func TagFilter(kvs []string) map[string]string {
	if len(kvs) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m
}

// Matches says whether account id is in the scope; r may be nil (no
// inventory: every account is unknown).
func (s Scope) Matches(id string, r Resolver) bool {
	if s.IsZero() {
		return true
	}
	if id != "" && slices.Contains(s.Exclude.Accounts, id) {
		return false
	}
	var a Account
	known := false
	if r != nil && id != "" {
		a, known = r(id)
	}
	if !known {
		if id != "" && slices.Contains(s.Accounts, id) {
			return true
		}
		return len(s.OUs)+len(s.Tags)+len(s.Exclude.OUs)+len(s.Exclude.Tags) == 0 && len(s.Accounts) == 0
	}
	a.ID = id
	inc, exc := s.filters()
	if exc.matchAny(a) {
		return false
	}
	return inc.empty() || inc.matchAny(a)
}

// Covers lists the accounts of an inventory the scope covers.
func (s Scope) Covers(accounts []Account) []Account {
	r := Static(accounts)
	var out []Account
	for _, a := range accounts {
		if s.Matches(a.ID, r) {
			out = append(out, a)
		}
	}
	return out
}

var scopeAccountID = regexp.MustCompile(`^[0-9]{12}$`)

// Validate returns every problem of the scope, each naming where.
func (s Scope) Validate() []error {
	var errs []error
	check := func(where string, ids, tags []string) {
		for _, id := range ids {
			if !scopeAccountID.MatchString(id) {
				errs = append(errs, fmt.Errorf("%saccounts: %q is not a 12-digit account id", where, id))
			}
		}
		for _, t := range tags {
			if k, _, _ := strings.Cut(t, "="); strings.TrimSpace(k) == "" {
				errs = append(errs, fmt.Errorf("%stags: %q: want key=value", where, t))
			}
		}
	}
	check("", s.Accounts, s.Tags)
	check("exclude.", s.Exclude.Accounts, s.Exclude.Tags)
	return errs
}

// String is the scope in one line, as playbooks lint prints it: "all
// accounts", or its lists, e.g. "ous=Sandbox accounts=111111111111
// exclude(tags=tier=critical)".
func (s Scope) String() string {
	if s.IsZero() {
		return "all accounts"
	}
	part := func(ids, ous, tags []string) string {
		var p []string
		if len(ids) > 0 {
			p = append(p, "accounts="+strings.Join(ids, ","))
		}
		if len(ous) > 0 {
			p = append(p, "ous="+strings.Join(ous, ","))
		}
		if len(tags) > 0 {
			p = append(p, "tags="+strings.Join(tags, ","))
		}
		return strings.Join(p, " ")
	}
	out := part(s.Accounts, s.OUs, s.Tags)
	if out == "" {
		out = "all accounts"
	}
	if ex := part(s.Exclude.Accounts, s.Exclude.OUs, s.Exclude.Tags); ex != "" {
		out += " exclude(" + ex + ")"
	}
	return out
}

// UnmarshalYAML reads a scope strictly: a misspelt key is an error, not
// a scope that silently covers every account.
func (s *Scope) UnmarshalYAML(n *yaml.Node) error {
	if err := knownKeys(n, "accounts", "ous", "tags", "exclude"); err != nil {
		return err
	}
	type plain Scope
	return n.Decode((*plain)(s))
}

// UnmarshalYAML reads the exclusions strictly.
func (s *ScopeExclude) UnmarshalYAML(n *yaml.Node) error {
	if err := knownKeys(n, "accounts", "ous", "tags"); err != nil {
		return err
	}
	type plain ScopeExclude
	return n.Decode((*plain)(s))
}

func knownKeys(n *yaml.Node, keys ...string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a scope is a mapping (keys: %s)", n.Line, strings.Join(keys, ", "))
	}
	for i := 0; i < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !slices.Contains(keys, k) {
			return fmt.Errorf("line %d: scope: unknown key %q (keys: %s)", n.Content[i].Line, k, strings.Join(keys, ", "))
		}
	}
	return nil
}
