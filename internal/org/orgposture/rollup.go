package orgposture

import (
	"github.com/parapet-sec/parapet/internal/org"
	"sort"
	"strings"

	"github.com/parapet-sec/parapet/internal/posture/check"
	"github.com/parapet-sec/parapet/internal/posture/framework"
)

// AccountScore is one account's compliance: each framework's score
// (framework.Evaluate over the account's own results; a framework none
// of whose controls the account's results evidence is left out).
type AccountScore struct {
	Account string             `json:"account"`
	Name    string             `json:"name,omitempty"`
	OU      string             `json:"ou,omitempty"`
	Scores  map[string]float64 `json:"scores"` // framework id → percent of evaluated controls passed
	Passed  int                `json:"passed"`
	Failed  int                `json:"failed"`
	Unknown int                `json:"unknown"`
}

// OUScore is an OU's compliance: the mean of its accounts' scores (the
// accounts in it and in every OU below it), per framework over the
// accounts that framework evaluated.
type OUScore struct {
	OU       string             `json:"ou"`
	Accounts int                `json:"accounts"`
	Scores   map[string]float64 `json:"scores"`
	Passed   int                `json:"passed"`
	Failed   int                `json:"failed"`
}

// Rollup is the compliance scores by account and by OU.
type Rollup struct {
	Accounts []AccountScore `json:"accounts"`
	OUs      []OUScore      `json:"ous"`
}

// RollUp scores each account from the results whose resource is in it,
// then each OU path (and every parent of one, up to Root) from its
// accounts. accounts names the accounts and their OUs (a result's own
// org.AttrOU fills in an account not listed); results without an account
// (organization-wide ones) count for no account.
func RollUp(fws []*framework.Framework, checks []*check.Check, results []check.Result, accounts []org.Account) Rollup {
	byAccount := map[string][]check.Result{}
	info := map[string]*AccountScore{}
	for _, a := range accounts {
		info[a.ID] = &AccountScore{Account: a.ID, Name: a.Name, OU: a.OU}
	}
	for _, r := range results {
		if r.Resource == nil || r.Resource.Account == "" {
			continue
		}
		id := r.Resource.Account
		byAccount[id] = append(byAccount[id], r)
		if info[id] == nil {
			ou, _ := r.Resource.Attrs[org.AttrOU].(string)
			name, _ := r.Resource.Attrs[org.AttrAccountName].(string)
			info[id] = &AccountScore{Account: id, Name: name, OU: ou}
		}
	}
	out := Rollup{Accounts: []AccountScore{}, OUs: []OUScore{}}
	for id, a := range info {
		a.Scores = map[string]float64{}
		for _, r := range byAccount[id] {
			switch r.Status {
			case check.Pass, check.Suppressed:
				a.Passed++
			case check.Fail:
				a.Failed++
			default:
				a.Unknown++
			}
		}
		for _, f := range fws {
			if s := framework.Evaluate(f, checks, byAccount[id]); s.Evaluated > 0 {
				a.Scores[f.ID] = s.Percent
			}
		}
		out.Accounts = append(out.Accounts, *a)
	}
	sort.Slice(out.Accounts, func(i, j int) bool { return out.Accounts[i].Account < out.Accounts[j].Account })

	out.OUs = RollUpOUs(out.Accounts)
	return out
}

// RollUpOUs scores every OU on the accounts' paths (and each parent, up
// to Root): the mean of its accounts' scores, per framework over the
// accounts that framework evaluated.
func RollUpOUs(accounts []AccountScore) []OUScore {
	seen := map[string]bool{}
	var ous []string
	for _, a := range accounts {
		parts := strings.Split(a.OU, "/")
		for i := range parts {
			p := strings.Join(parts[:i+1], "/")
			if p != "" && !seen[p] {
				seen[p] = true
				ous = append(ous, p)
			}
		}
	}
	sort.Strings(ous)
	out := []OUScore{}
	for _, ou := range ous {
		o := OUScore{OU: ou, Scores: map[string]float64{}}
		sum, n := map[string]float64{}, map[string]int{}
		for _, a := range accounts {
			if !InOU(a.OU, ou) {
				continue
			}
			o.Accounts++
			o.Passed += a.Passed
			o.Failed += a.Failed
			for f, v := range a.Scores {
				sum[f] += v
				n[f]++
			}
		}
		for f, v := range sum {
			o.Scores[f] = v / float64(n[f])
		}
		out = append(out, o)
	}
	return out
}

// InOU says whether an account with OU path path is in ou: ou is the
// path or a parent of it (Root/Workloads holds Root/Workloads/Sandbox),
// or, without a "/", the name of an OU on the path.
func InOU(path, ou string) bool {
	return org.InOUPath(path, ou)
}
