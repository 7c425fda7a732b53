package check

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// accountOf is a resource's account and how to resolve it: r first, then
// what an organization scan put on the resource (its OU and account name,
// org.AttrOU and org.AttrAccountName).
func accountOf(res *resource.Resource, r org.Resolver) (string, org.Resolver) {
	if res == nil {
		return "", r
	}
	return res.Account, func(id string) (org.Account, bool) {
		if r != nil {
			if a, ok := r(id); ok {
				return a, true
			}
		}
		ou, _ := res.Attrs[org.AttrOU].(string)
		if id != res.Account || ou == "" {
			return org.Account{}, false
		}
		name, _ := res.Attrs[org.AttrAccountName].(string)
		return org.Account{ID: id, OU: ou, Name: name}, true
	}
}

// Selection turns checks off, or limits them, in the accounts of a scope:
// in its accounts a check runs unless an entry of Disable names it, and,
// when Only is set, only when an entry of Only names it. An entry is a
// check id (a glob: PARAPET-S3-00*) or a framework id (every check
// mapped to it).
//
//	posture:
//	  check_scopes:
//	    - scope: {ous: [Sandbox]}
//	      disable: [PARAPET-S3-00*]
type Selection struct {
	Scope   org.Scope `yaml:"scope" json:"scope,omitzero"`
	Disable []string  `yaml:"disable" json:"disable,omitempty"`
	Only    []string  `yaml:"only" json:"only,omitempty"`
}

// Validate returns the selection's problems.
func (s Selection) Validate() error {
	errs := s.Scope.Validate()
	if len(s.Disable)+len(s.Only) == 0 {
		errs = append(errs, errors.New("a check scope needs disable or only"))
	}
	for _, e := range append(append([]string{}, s.Disable...), s.Only...) {
		if _, err := path.Match(e, ""); err != nil || strings.TrimSpace(e) == "" {
			errs = append(errs, fmt.Errorf("%q is not a check id, glob or framework id", e))
		}
	}
	return errors.Join(errs...)
}

func names(e string, c *Check, id string) bool {
	if ok, _ := path.Match(e, id); ok {
		return true
	}
	if c == nil {
		return false
	}
	_, ok := c.Frameworks[e]
	return ok
}

// Enabled says whether the selections let check c run on a resource of
// account (r resolves it).
func Enabled(sels []Selection, c *Check, id, account string, r org.Resolver) bool {
	for _, s := range sels {
		if !s.Scope.Matches(account, r) {
			continue
		}
		for _, e := range s.Disable {
			if names(e, c, id) {
				return false
			}
		}
		if len(s.Only) > 0 {
			only := false
			for _, e := range s.Only {
				only = only || names(e, c, id)
			}
			if !only {
				return false
			}
		}
	}
	return true
}

// Select drops the results of the checks the selections turn off in
// their resource's account; r resolves accounts to OUs and tags (nil:
// only the OU an organization scan put on each resource).
func Select(results []Result, sels []Selection, r org.Resolver) []Result {
	if len(sels) == 0 {
		return results
	}
	out := results[:0]
	for _, res := range results {
		account, rr := accountOf(res.Resource, r)
		if Enabled(sels, res.Check, res.CheckID, account, rr) {
			out = append(out, res)
		}
	}
	return out
}
