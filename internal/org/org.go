// Package org is Parapet's view of an AWS Organization: which accounts
// there are (discovered through the Organizations API from the management
// or a delegated-administrator account, or a static list), which of them
// to include, and one way into each (STS AssumeRole of one role name, with
// an optional ExternalId and session names that say why Parapet is there).
package org

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Account is one member account.
type Account struct {
	ID     string            `json:"id"`
	Name   string            `json:"name,omitempty"`
	OU     string            `json:"ou,omitempty"` // path from the root: Root/Workloads/Sandbox
	Tags   map[string]string `json:"tags,omitempty"`
	Status string            `json:"status,omitempty"` // ACTIVE, SUSPENDED, … ("" for a static entry)
}

// Filter selects accounts: an account is included when it matches every
// non-empty include list (any entry of each) and no exclude entry.
type Filter struct {
	Accounts []string          // account ids
	OUs      []string          // OU paths (Root/Workloads) or bare OU names (Sandbox); a path includes its sub-OUs
	Tags     map[string]string // key → value ("" or "*": any value)
}

func (f Filter) empty() bool { return len(f.Accounts) == 0 && len(f.OUs) == 0 && len(f.Tags) == 0 }

// matchAll: every non-empty list of f has an entry matching a.
func (f Filter) matchAll(a Account) bool {
	if len(f.Accounts) > 0 && !slices.Contains(f.Accounts, a.ID) {
		return false
	}
	if len(f.OUs) > 0 && !slices.ContainsFunc(f.OUs, func(o string) bool { return inOU(a.OU, o) }) {
		return false
	}
	if len(f.Tags) > 0 && !tagsMatch(a.Tags, f.Tags, true) {
		return false
	}
	return true
}

// matchAny: some entry of f matches a.
func (f Filter) matchAny(a Account) bool {
	return slices.Contains(f.Accounts, a.ID) ||
		slices.ContainsFunc(f.OUs, func(o string) bool { return inOU(a.OU, o) }) ||
		len(f.Tags) > 0 && tagsMatch(a.Tags, f.Tags, false)
}

func tagsMatch(have, want map[string]string, all bool) bool {
	n := 0
	for k, v := range want {
		hv, ok := have[k]
		if ok && (v == "" || v == "*" || v == hv) {
			n++
		}
	}
	if all {
		return n == len(want)
	}
	return n > 0
}

// InOU says whether the account is in ou: an OU path from the root
// (Root/Workloads: that OU and its sub-OUs) or a bare OU name (Sandbox: any
// OU of exactly that name on the account's path), case-insensitively. A
// name that is a prefix of another OU's name does not match it.
func (a Account) InOU(ou string) bool { return inOU(a.OU, ou) }

// inOU: the account's OU path is ou or below it; a bare name (no "/")
// matches any OU of that name on the path.
func inOU(path, ou string) bool {
	ou = strings.Trim(ou, "/")
	if path == "" || ou == "" {
		return false
	}
	if !strings.Contains(ou, "/") && !strings.EqualFold(ou, "Root") {
		return slices.ContainsFunc(strings.Split(path, "/")[1:], func(p string) bool { return strings.EqualFold(p, ou) })
	}
	return strings.EqualFold(path, ou) || len(path) > len(ou) && strings.EqualFold(path[:len(ou)], ou) && path[len(ou)] == '/'
}

// Select keeps the accounts include takes and exclude does not, and never
// a suspended or closed one.
func Select(accounts []Account, include, exclude Filter) []Account {
	var out []Account
	for _, a := range accounts {
		if a.Status != "" && a.Status != string(orgtypes.AccountStatusActive) {
			continue
		}
		if !include.empty() && !include.matchAll(a) {
			continue
		}
		if exclude.matchAny(a) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// Discover lists the organization's accounts with their OU paths and tags.
// It needs organizations:ListAccounts, ListRoots,
// ListOrganizationalUnitsForParent, ListAccountsForParent and
// ListTagsForResource in the management or a delegated-administrator
// account.
func Discover(ctx context.Context, cfg aws.Config) ([]Account, error) {
	c := organizations.NewFromConfig(cfg)
	byID := map[string]*Account{}
	var ids []string
	p := organizations.NewListAccountsPaginator(c, &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("organizations list accounts: %w", err)
		}
		for _, a := range page.Accounts {
			id := aws.ToString(a.Id)
			st := string(a.State)
			if st == "" {
				st = string(a.Status)
			}
			byID[id] = &Account{ID: id, Name: aws.ToString(a.Name), Status: st}
			ids = append(ids, id)
		}
	}
	roots, err := c.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		return nil, fmt.Errorf("organizations list roots: %w", err)
	}
	// Walk the OU tree breadth first, naming each OU by its path.
	type node struct{ id, path string }
	var queue []node
	for _, r := range roots.Roots {
		queue = append(queue, node{aws.ToString(r.Id), "Root"})
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		ap := organizations.NewListAccountsForParentPaginator(c, &organizations.ListAccountsForParentInput{ParentId: aws.String(n.id)})
		for ap.HasMorePages() {
			page, err := ap.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("organizations list accounts in %s: %w", n.path, err)
			}
			for _, a := range page.Accounts {
				if x := byID[aws.ToString(a.Id)]; x != nil {
					x.OU = n.path
				}
			}
		}
		op := organizations.NewListOrganizationalUnitsForParentPaginator(c, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(n.id)})
		for op.HasMorePages() {
			page, err := op.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("organizations list OUs in %s: %w", n.path, err)
			}
			for _, o := range page.OrganizationalUnits {
				queue = append(queue, node{aws.ToString(o.Id), n.path + "/" + aws.ToString(o.Name)})
			}
		}
	}
	out := make([]Account, 0, len(ids))
	for _, id := range ids {
		a := byID[id]
		tp := organizations.NewListTagsForResourcePaginator(c, &organizations.ListTagsForResourceInput{ResourceId: aws.String(id)})
		for tp.HasMorePages() {
			page, err := tp.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("organizations tags of %s: %w", id, err)
			}
			for _, t := range page.Tags {
				if a.Tags == nil {
					a.Tags = map[string]string{}
				}
				a.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		}
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Accounts is Discover, or the static list when Organizations cannot be
// read (not the management or a delegated account, no permission, no
// organization); with neither it returns Discover's error.
func Accounts(ctx context.Context, cfg aws.Config, static []Account) ([]Account, error) {
	got, err := Discover(ctx, cfg)
	if err == nil {
		return got, nil
	}
	if len(static) > 0 {
		return static, nil
	}
	return nil, err
}

var sessionBad = regexp.MustCompile(`[^\w+=,.@-]+`)

// SessionName makes an STS role session name from its parts: joined with
// "-", characters STS refuses replaced, at most 64 characters, at least 2.
func SessionName(parts ...string) string {
	s := sessionBad.ReplaceAllString(strings.Join(parts, "-"), "_")
	if len(s) > 64 {
		s = s[:64]
	}
	for len(s) < 2 {
		s += "_"
	}
	return s
}

// Assumer holds one credentials cache per account and session name: each
// assumes Role in the account (with ExternalID when set) on first use and
// again before the credentials expire.
type Assumer struct {
	Base       aws.Config // the central identity
	Role       string     // role name in every member account (or a full role ARN template with {account})
	ExternalID string
	Partition  string // default aws
	// Duration of each session (default: STS's, 1h).
	Duration time.Duration

	mu    sync.Mutex
	cache map[[2]string]*aws.CredentialsCache
}

// RoleARN is the role Parapet assumes in account.
func (as *Assumer) RoleARN(account string) string {
	if strings.HasPrefix(as.Role, "arn:") {
		return strings.ReplaceAll(as.Role, "{account}", account)
	}
	part := as.Partition
	if part == "" {
		part = "aws"
	}
	return "arn:" + part + ":iam::" + account + ":role/" + strings.TrimPrefix(as.Role, "/")
}

// Credentials are account's credentials for session (a SessionName).
func (as *Assumer) Credentials(account, session string) *aws.CredentialsCache {
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.cache == nil {
		as.cache = map[[2]string]*aws.CredentialsCache{}
	}
	k := [2]string{account, session}
	if c := as.cache[k]; c != nil {
		return c
	}
	if len(as.cache) >= 1024 {
		// A session per finding: forget the old ones (they re-assume).
		clear(as.cache)
	}
	prov := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(as.Base), as.RoleARN(account), func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = session
		if as.ExternalID != "" {
			o.ExternalID = aws.String(as.ExternalID)
		}
		if as.Duration > 0 {
			o.Duration = as.Duration
		}
	})
	// Refresh five minutes before expiry.
	c := aws.NewCredentialsCache(prov, func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = 5 * time.Minute })
	as.cache[k] = c
	return c
}

// Config is Base with account's credentials for session, in region ("":
// Base's).
func (as *Assumer) Config(account, region, session string) aws.Config {
	c := as.Base.Copy()
	c.Credentials = as.Credentials(account, session)
	if region != "" {
		c.Region = region
	}
	return c
}

// AccountError is an account Parapet could not get into.
type AccountError struct {
	Account Account
	Role    string
	Err     error
}

func (e *AccountError) Error() string {
	name := e.Account.ID
	if e.Account.Name != "" {
		name += " (" + e.Account.Name + ")"
	}
	if e.Account.OU != "" {
		name += " in " + e.Account.OU
	}
	return fmt.Sprintf("account %s not scanned: cannot assume %s: %v", name, e.Role, e.Err)
}
func (e *AccountError) Unwrap() error { return e.Err }

// Check assumes the role in account once (the credentials are then
// cached): a clear AccountError when it cannot.
func (as *Assumer) Check(ctx context.Context, a Account, session string) error {
	if _, err := as.Credentials(a.ID, session).Retrieve(ctx); err != nil {
		var ae *AccountError
		if errors.As(err, &ae) {
			return ae
		}
		return &AccountError{Account: a, Role: as.RoleARN(a.ID), Err: err}
	}
	return nil
}

// InOUPath says whether an account with OU path path is in ou: ou is the
// path or a parent of it (Root/Workloads holds Root/Workloads/Sandbox),
// or, without a "/", the name of an OU on the path.
func InOUPath(path, ou string) bool { return inOU(path, ou) }
