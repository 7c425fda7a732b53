package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/parapet-sec/parapet/internal/org"
)

// The account and OU filters every list of account-bearing items takes:
// account=ID[,ID…] (repeatable) and ou=PATH|NAME (repeatable). An OU is
// resolved to its accounts (sub-OUs included) from serve's organization
// inventory (OrgAccounts); without an organization ou= is refused (400),
// since no account is known to be in any OU. Both given: the accounts
// named that are in one of the OUs.

const (
	maxScopeAccounts = 500
	maxScopeOUs      = 50
	maxScopeValue    = 256
)

// scope is a request's selection of accounts; nil: every account.
type scope struct {
	accounts []string // sorted, distinct; empty: nothing matches
}

// has says whether an item in account is selected.
func (sc *scope) has(account string) bool {
	if sc == nil {
		return true
	}
	_, ok := slices.BinarySearch(sc.accounts, account)
	return ok
}

// none says whether the scope selects nothing (a list can be answered
// empty without reading anything).
func (sc *scope) none() bool { return sc != nil && len(sc.accounts) == 0 }

// list is the accounts for a store filter (nil: no filter).
func (sc *scope) list() []string {
	if sc == nil {
		return nil
	}
	return sc.accounts
}

// inventory is the organization's accounts (nil without an organization,
// or before serve has listed them).
func (s *Server) inventory() []org.Account {
	if s.OrgAccounts == nil {
		return nil
	}
	return s.OrgAccounts()
}

// scopeOf reads a request's account= and ou= parameters; on a bad one it
// answers 400 and returns ok false.
func (s *Server) scopeOf(w http.ResponseWriter, r *http.Request) (sc *scope, ok bool) {
	q := r.URL.Query()
	var ids []string
	for _, v := range q["account"] {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id == "" {
				continue
			}
			if len(id) > maxScopeValue {
				apiError(w, http.StatusBadRequest, "account: an id of %d characters (at most %d)", len(id), maxScopeValue)
				return nil, false
			}
			ids = append(ids, id)
		}
	}
	if len(ids) > maxScopeAccounts {
		apiError(w, http.StatusBadRequest, "account: %d ids (at most %d)", len(ids), maxScopeAccounts)
		return nil, false
	}
	var ous []string
	for _, v := range q["ou"] {
		if v = strings.Trim(strings.TrimSpace(v), "/"); v != "" {
			if len(v) > maxScopeValue {
				apiError(w, http.StatusBadRequest, "ou: %d characters (at most %d)", len(v), maxScopeValue)
				return nil, false
			}
			ous = append(ous, v)
		}
	}
	if len(ous) > maxScopeOUs {
		apiError(w, http.StatusBadRequest, "ou: %d OUs (at most %d)", len(ous), maxScopeOUs)
		return nil, false
	}
	if len(ous) > 0 && s.OrgAccounts == nil {
		apiError(w, http.StatusBadRequest, "ou=%s: no organization is configured (organization.role in the serve configuration), so no account is known to be in an OU; filter with account= instead", strings.Join(ous, ","))
		return nil, false
	}
	named := len(ids) > 0
	if !named && len(ous) == 0 {
		return nil, true
	}
	inv := s.inventory()
	if len(ous) > 0 && inv == nil {
		w.Header().Set("Retry-After", "30")
		apiError(w, http.StatusServiceUnavailable, "ou=%s: the organization's accounts have not been listed yet (see organization_list_failed in serve's log if this lasts)", strings.Join(ous, ","))
		return nil, false
	}
	set := map[string]bool{}
	if len(ous) > 0 {
		for _, a := range inv {
			if slices.ContainsFunc(ous, a.InOU) && (!named || slices.Contains(ids, a.ID)) {
				set[a.ID] = true
			}
		}
	} else {
		for _, id := range ids {
			set[id] = true
		}
	}
	out := &scope{accounts: make([]string, 0, len(set))}
	for id := range set {
		out.accounts = append(out.accounts, id)
	}
	sort.Strings(out.accounts)
	return out, true
}

// ouIndex maps the inventory's account ids to their OU paths.
func (s *Server) ouIndex() map[string]string {
	inv := s.inventory()
	if len(inv) == 0 {
		return nil
	}
	m := make(map[string]string, len(inv))
	for _, a := range inv {
		if a.OU != "" {
			m[a.ID] = a.OU
		}
	}
	return m
}

// withOU adds "ou" to a JSON object when it is known.
func withOU(obj json.RawMessage, ou string) json.RawMessage {
	if ou == "" || len(obj) < 2 || obj[0] != '{' {
		return obj
	}
	v, _ := json.Marshal(ou)
	out := make([]byte, 0, len(obj)+len(v)+8)
	out = append(append(append(out, `{"ou":`...), v...), ',')
	if strings.TrimSpace(string(obj[1:])) == "}" {
		out = out[:len(out)-1]
	}
	return append(out, obj[1:]...)
}

// accountOf is the account an ARN names ("" when it names none).
func accountOf(arn string) string {
	if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 && parts[0] == "arn" {
		return parts[4]
	}
	return ""
}

// orgAccounts answers GET /v1/org/accounts: the organization's inventory
// and its OUs (every OU path an account is in, and each parent path).
func (s *Server) orgAccounts(w http.ResponseWriter, r *http.Request) {
	inv := s.inventory()
	out := orgInventory{Organization: s.OrgAccounts != nil, Listed: inv != nil, Items: []org.Account{}, OUs: []string{}}
	seen := map[string]bool{}
	for _, a := range inv {
		out.Items = append(out.Items, a)
		parts := strings.Split(a.OU, "/")
		for i := range parts {
			if p := strings.Join(parts[:i+1], "/"); a.OU != "" && !seen[p] {
				seen[p] = true
				out.OUs = append(out.OUs, p)
			}
		}
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].ID < out.Items[j].ID })
	sort.Strings(out.OUs)
	writeJSON(w, http.StatusOK, out)
}
