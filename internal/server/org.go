package server

import (
	"net/http"
	"slices"
	"strings"

	"github.com/parapet-sec/parapet/internal/org/orgposture"
)

// OrgView is the organization's posture from the latest organization
// scan: what serve hands GET /v1/org.
type OrgView struct {
	At      string // when the scan ran (RFC 3339)
	Target  string
	Posture *orgposture.Posture
	Rollup  *orgposture.Rollup
}

type (
	// orgAccount is an account's scores with its coverage counts.
	orgAccount struct {
		orgposture.AccountScore
		Gaps   int `json:"gaps"`          // coverage cells not covered
		Unread int `json:"unknown_cells"` // coverage cells that could not be read
	}
	orgAnswer struct {
		At        string                      `json:"at,omitempty"`     // the scan's time; empty: no organization scan yet
		Target    string                      `json:"target,omitempty"` // the scan's arguments
		Accounts  []orgAccount                `json:"accounts"`
		OUs       []orgposture.OUScore        `json:"ous"`      // each OU with accounts left by the filter, and its parents
		Services  []string                    `json:"services"` // the coverage matrix's columns
		Regions   []string                    `json:"regions"`
		Coverage  []orgposture.Cell           `json:"coverage"`
		Gaps      []orgposture.Cell           `json:"gaps"` // the cells not covered or unknown
		SCPs      []orgposture.SCP            `json:"scps"`
		Delegated []orgposture.DelegatedAdmin `json:"delegated_admins"`
		Errors    []string                    `json:"errors,omitempty"`
	}
)

// orgView answers GET /v1/org: the latest organization scan's accounts
// with their OU and scores, the OU rollup and the coverage, filtered by
// ?account= (repeatable) and ?ou= (a path or a name, with the OUs below).
func (s *Server) orgView(w http.ResponseWriter, r *http.Request) {
	ans := orgAnswer{Accounts: []orgAccount{}, OUs: []orgposture.OUScore{}, Services: orgposture.Services, Regions: []string{}, Coverage: []orgposture.Cell{}, Gaps: []orgposture.Cell{},
		SCPs: []orgposture.SCP{}, Delegated: []orgposture.DelegatedAdmin{}}
	if s.Org == nil {
		writeJSON(w, http.StatusOK, ans)
		return
	}
	v, err := s.Org(r.Context())
	if err != nil {
		apiError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	if v == nil || v.Posture == nil {
		writeJSON(w, http.StatusOK, ans)
		return
	}
	q := r.URL.Query()
	// As the other lists: comma-separated or repeated.
	var accounts, ous []string
	for _, v := range q["account"] {
		accounts = append(accounts, strings.Split(v, ",")...)
	}
	for _, v := range q["ou"] {
		ous = append(ous, strings.Split(v, ",")...)
	}
	for _, o := range ous {
		if len(o) > 512 {
			apiError(w, http.StatusBadRequest, "ou: at most 512 characters")
			return
		}
	}
	keep := func(account, ou string) bool {
		return (len(accounts) == 0 || slices.Contains(accounts, account)) &&
			(len(ous) == 0 || slices.ContainsFunc(ous, func(o string) bool { return orgposture.InOU(ou, o) }))
	}
	p := v.Posture
	ans.At, ans.Target, ans.Regions, ans.Errors = v.At, v.Target, p.Regions, p.Errors
	if p.SCPs != nil {
		ans.SCPs = p.SCPs
	}
	if p.Delegated != nil {
		ans.Delegated = p.Delegated
	}
	gaps, unread := map[string]int{}, map[string]int{}
	for _, c := range p.Coverage {
		if !keep(c.Account, c.OU) {
			continue
		}
		ans.Coverage = append(ans.Coverage, c)
		switch c.Status {
		case orgposture.NotCovered:
			gaps[c.Account]++
			ans.Gaps = append(ans.Gaps, c)
		case orgposture.Unknown:
			unread[c.Account]++
			ans.Gaps = append(ans.Gaps, c)
		}
	}
	if v.Rollup != nil {
		for _, a := range v.Rollup.Accounts {
			if !keep(a.Account, a.OU) {
				continue
			}
			ans.Accounts = append(ans.Accounts, orgAccount{AccountScore: a, Gaps: gaps[a.Account], Unread: unread[a.Account]})
		}
		// The OU rollup over the accounts the filter keeps.
		var scores []orgposture.AccountScore
		for _, a := range v.Rollup.Accounts {
			if keep(a.Account, a.OU) {
				scores = append(scores, a)
			}
		}
		ans.OUs = orgposture.RollUpOUs(scores)
	}
	writeJSON(w, http.StatusOK, ans)
}
