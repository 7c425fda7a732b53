package org

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Watcher lists the organization's included accounts again and again and
// says when the list changed (an account joined, left, moved OU or was
// suspended), so that serve scans a new account without waiting for the
// next scheduled scan or a restart.
type Watcher struct {
	Base             aws.Config
	Static           []Account
	Include, Exclude Filter
	// Inventory, when set, is given every account each poll lists
	// (included or not): what scopes resolve account ids through.
	Inventory *Inventory
	mu        sync.Mutex // guards last and seen: Latest is called from other goroutines
	last      []Account
	seen      bool
}

// Latest is the included accounts of the last successful poll (never nil
// after one, nil before one): serve's inventory, for the API's account and
// OU filters.
func (w *Watcher) Latest() []Account {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.seen {
		return nil
	}
	return append([]Account{}, w.last...)
}

// Poll lists the accounts; changed is true on the first poll and whenever
// the included accounts differ from the previous poll's.
func (w *Watcher) Poll(ctx context.Context) (accounts []Account, changed bool, err error) {
	all, err := Accounts(ctx, w.Base, w.Static)
	if err != nil {
		return nil, false, err
	}
	if w.Inventory != nil {
		w.Inventory.Set(all)
	}
	sel := Select(all, w.Include, w.Exclude)
	w.mu.Lock()
	defer w.mu.Unlock()
	changed = !w.seen || !slices.EqualFunc(sel, w.last, func(a, b Account) bool { return a.ID == b.ID && a.OU == b.OU })
	w.last, w.seen = sel, true
	return sel, changed, nil
}

// Run polls every interval until ctx ends, calling changed (on Run's
// goroutine) after a poll that found a different list, and failed after
// one that could not list the accounts. The first poll's list is the
// baseline, not a change.
func (w *Watcher) Run(ctx context.Context, every time.Duration, changed func([]Account), failed func(error)) {
	if _, _, err := w.Poll(ctx); err != nil && failed != nil {
		failed(err)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		accts, ch, err := w.Poll(ctx)
		switch {
		case err != nil:
			if failed != nil {
				failed(err)
			}
		case ch:
			changed(accts)
		}
	}
}

// Inventory is the latest list of the organization's accounts, set by a
// Watcher and read by scopes (Resolve); safe for concurrent use.
type Inventory struct {
	mu   sync.RWMutex
	list []Account
	byID map[string]Account
}

// Set replaces the list.
func (in *Inventory) Set(accounts []Account) {
	m := make(map[string]Account, len(accounts))
	for _, a := range accounts {
		m[a.ID] = a
	}
	in.mu.Lock()
	in.list, in.byID = slices.Clone(accounts), m
	in.mu.Unlock()
}

// Resolve is a Resolver over the latest list.
func (in *Inventory) Resolve(id string) (Account, bool) {
	in.mu.RLock()
	defer in.mu.RUnlock()
	a, ok := in.byID[id]
	return a, ok
}

// Accounts is the latest list.
func (in *Inventory) Accounts() []Account {
	in.mu.RLock()
	defer in.mu.RUnlock()
	return slices.Clone(in.list)
}
