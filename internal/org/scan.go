package org

import (
	"context"
	"sort"
	"sync"

	"github.com/parapet-sec/parapet/internal/posture/awsapi"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// ScanOptions say how to inventory the selected accounts.
type ScanOptions struct {
	Assumer  *Assumer
	Accounts []Account // the selected accounts (Select)
	Session  string    // the role session name, e.g. SessionName("parapet-scan", scanID)
	// Concurrency is how many accounts are read at once (default 4);
	// Inventory bounds the calls in flight within each.
	Concurrency int
	Inventory   awsapi.Options // regions, calls in flight (per account and per service in it) and attempts
	// Stats, when set, receives the scan's API traffic: calls, throttled
	// responses and retries per account and in total.
	Stats *ScanStats
}

// ScanStats is a scan's API traffic per account (by id) and in total.
type ScanStats struct {
	Total    awsapi.CallStats            `json:"total"`
	Accounts map[string]awsapi.CallStats `json:"accounts,omitempty"`
}

// Attributes Scan sets on every resource it returns.
const (
	AttrOU          = "org_ou"
	AttrAccountName = "org_account_name"
)

// Scan inventories every account through its assumed role, at most
// Concurrency accounts at once, each with its own bounds on calls in
// flight (Inventory.Concurrency, and Inventory.PerAPI per service) and its
// own adaptive retry rates, so one throttled account does not slow the
// others. An account that cannot be assumed is an *AccountError among the
// errors; the others' resources are complete. A call that AWS still
// throttles after its attempts is an error of its account (the scan is
// partial there), never the end of the scan.
// Each resource carries its account id (Account) and the account's OU and
// name (attributes AttrOU, AttrAccountName).
func Scan(ctx context.Context, opt ScanOptions) ([]*resource.Resource, []error) {
	var (
		mu   sync.Mutex
		out  []*resource.Resource
		errs []error
	)
	stats := map[string]awsapi.CallStats{}
	EachAccount(opt.Accounts, opt.Concurrency, func(a Account) {
		if err := opt.Assumer.Check(ctx, a, opt.Session); err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			return
		}
		inv := opt.Inventory
		inv.AssumeRoles = nil
		inv.Credentials = opt.Assumer.Credentials(a.ID, opt.Session)
		st := &awsapi.Stats{}
		inv.Stats = st
		res, es := awsapi.Inventory(ctx, inv)
		for _, r := range res {
			if r.Attrs == nil {
				r.Attrs = map[string]any{}
			}
			if a.OU != "" {
				r.Attrs[AttrOU] = a.OU
			}
			if a.Name != "" {
				r.Attrs[AttrAccountName] = a.Name
			}
		}
		mu.Lock()
		stats[a.ID] = st.Snapshot()
		out = append(out, res...)
		for _, e := range es {
			errs = append(errs, &accountScanError{account: a.ID, err: e})
		}
		mu.Unlock()
	})
	if opt.Stats != nil {
		opt.Stats.Accounts = stats
		opt.Stats.Total = awsapi.CallStats{}
		for _, s := range stats {
			opt.Stats.Total.Add(s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Account != out[j].Account {
			return out[i].Account < out[j].Account
		}
		return out[i].ARN < out[j].ARN
	})
	return out, errs
}

type accountScanError struct {
	account string
	err     error
}

func (e *accountScanError) Error() string { return "account " + e.account + ": " + e.err.Error() }
func (e *accountScanError) Unwrap() error { return e.err }

// EachAccount calls fn for every account, at most n at once (4 when n ≤
// 0), and returns when all have returned.
func EachAccount(accounts []Account, n int, fn func(Account)) {
	if n <= 0 {
		n = 4
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, n)
	for _, a := range accounts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			fn(a)
		})
	}
	wg.Wait()
}
