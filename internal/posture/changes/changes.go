// Package changes remembers, per resource, the API calls that last changed
// it, from the events Parapet has seen: a failing posture result says who
// changed the resource, when and from where — the evidence an auditor asks
// for. Only successful write calls count (a failed or read-only call
// changed nothing); records that arrive twice or out of order are folded
// (by event id, newest first).
package changes

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/parapet-sec/parapet/internal/event"
)

// PerResource is how many changes are kept per resource.
const PerResource = 5

// Change is one call that changed a resource, as its log record claims.
type Change struct {
	Time      time.Time `json:"time"`
	Operation string    `json:"operation"`                // eventName: PutBucketPolicy
	Service   string    `json:"service,omitempty"`        // eventSource: s3.amazonaws.com
	Actor     string    `json:"actor"`                    // the principal's ARN (or user name, or principal id)
	ActorType string    `json:"actor_type,omitempty"`     // IAMUser, AssumedRole, Root, AWSService, …
	Identity  string    `json:"identity_class,omitempty"` // person, root, service, aws_on_behalf
	Account   string    `json:"account,omitempty"`
	Region    string    `json:"region,omitempty"`
	SourceIP  string    `json:"source_ip,omitempty"`
	Source    string    `json:"source_domain,omitempty"` // an AWS service's name where no address was recorded
	UserAgent string    `json:"user_agent,omitempty"`
	EventID   string    `json:"event_id,omitempty"`
}

// Keys are the names an event resource or a posture resource is known
// by: its ARN, and its name within its account ("111122223333/name"; a
// bucket, whose ARN carries no account, as "/name").
func Keys(arn, account, name string) []string {
	var out []string
	if arn != "" {
		out = append(out, "arn "+arn)
	}
	if name != "" {
		out = append(out, "name "+account+"/"+name)
		if account != "" {
			// Event records name buckets without an owner account.
			out = append(out, "name /"+name)
		}
	}
	return out
}

// FromEvent is the change an event records and the keys of the resources
// it changed; ok is false when the event changed nothing (a read, a failed
// call, a flow record, a finding).
func FromEvent(ev *event.Event) (c Change, keys []string, ok bool) {
	if ev.Class == event.ClassNetworkActivity || ev.Class == event.ClassDetectionFinding || ev.API.Operation == "" ||
		ev.API.ReadOnly || ev.Outcome == event.OutcomeFailure || ev.API.ErrorCode != "" || len(ev.Resources) == 0 {
		return c, nil, false
	}
	if readOnlyName(ev.API.Operation) {
		return c, nil, false
	}
	a := &ev.Actor
	actor := a.ARN
	if actor == "" {
		actor = a.UserName
	}
	if actor == "" {
		actor = a.PrincipalID
	}
	if actor == "" && a.InvokedBy != "" {
		actor = a.InvokedBy
	}
	c = Change{Time: ev.Time.UTC(), Operation: ev.API.Operation, Service: ev.API.Service, Actor: actor, ActorType: a.Type,
		Identity: a.Class(), Account: ev.Cloud.Account, Region: ev.Cloud.Region, Source: ev.Src.Domain,
		UserAgent: ev.Src.UserAgent, EventID: ev.ID}
	if ev.Src.IP.IsValid() {
		c.SourceIP = ev.Src.IP.String()
	}
	seen := map[string]bool{}
	for _, r := range ev.Resources {
		acct := r.Account
		if acct == "" && !strings.HasPrefix(r.UID, "arn:aws:s3:::") && r.Type != "AWS::S3::Bucket" {
			acct = ev.Cloud.Account
		}
		for _, k := range Keys(r.UID, acct, r.Name) {
			if strings.HasPrefix(k, "name /") && acct != "" {
				continue // only buckets are looked up without their account
			}
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return c, keys, len(keys) > 0
}

// readOnlyName: records that do not say readOnly are judged by the call's
// name.
func readOnlyName(op string) bool {
	for _, p := range []string{"Get", "List", "Describe", "Head", "Lookup", "BatchGet", "Search", "Scan", "Query", "Select", "Check", "Validate", "Simulate", "Generate", "Decrypt", "Encrypt", "AssumeRole", "ConsoleLogin", "Download"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// Merge adds c to list (newest first, one entry per event id, at most
// PerResource) and reports whether list changed.
func Merge(list []Change, c Change) ([]Change, bool) {
	for _, have := range list {
		if c.EventID != "" && have.EventID == c.EventID {
			return list, false
		}
	}
	if len(list) >= PerResource && !c.Time.After(list[len(list)-1].Time) {
		return list, false // older than everything kept
	}
	list = append(list, c)
	sort.SliceStable(list, func(i, j int) bool { return list[i].Time.After(list[j].Time) })
	if len(list) > PerResource {
		list = list[:PerResource]
	}
	return list, true
}

// Index holds the recent changes of every resource seen, bounded: when it
// holds more than Max resources the least recently changed are dropped.
type Index struct {
	Max int // keys (a resource has one to three); 0 means 100,000

	mu sync.Mutex
	m  map[string][]Change
	// dirty lists the keys changed since the last Dirty call (for a store
	// that persists them).
	dirty map[string]bool
}

// Observe records what ev changed; it reports whether anything was new.
func (ix *Index) Observe(ev *event.Event) bool {
	c, keys, ok := FromEvent(ev)
	if !ok {
		return false
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.m == nil {
		ix.m, ix.dirty = map[string][]Change{}, map[string]bool{}
	}
	changed := false
	for _, k := range keys {
		list, ch := Merge(ix.m[k], c)
		if ch {
			ix.m[k] = list
			ix.dirty[k] = true
			changed = true
		}
	}
	if max := ix.max(); len(ix.m) > max {
		ix.evict(len(ix.m) - max*9/10)
	}
	return changed
}

func (ix *Index) max() int {
	if ix.Max > 0 {
		return ix.Max
	}
	return 100_000
}

// evict drops the n resources changed longest ago.
func (ix *Index) evict(n int) {
	type kt struct {
		k string
		t time.Time
	}
	all := make([]kt, 0, len(ix.m))
	for k, l := range ix.m {
		all = append(all, kt{k, l[0].Time})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].t.Before(all[j].t) })
	for _, e := range all[:n] {
		delete(ix.m, e.k)
		delete(ix.dirty, e.k)
	}
}

// Put sets a key's list (loading a persisted index).
func (ix *Index) Put(key string, list []Change) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.m == nil {
		ix.m, ix.dirty = map[string][]Change{}, map[string]bool{}
	}
	ix.m[key] = list
}

// Dirty returns the keys changed since the last call, with their lists.
func (ix *Index) Dirty() map[string][]Change {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	out := map[string][]Change{}
	for k := range ix.dirty {
		out[k] = append([]Change(nil), ix.m[k]...)
	}
	clear(ix.dirty)
	return out
}

// Len is the number of resource keys held.
func (ix *Index) Len() int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return len(ix.m)
}

// Lookup returns the recent changes of the resource known by these names
// (newest first; the changes found under every key, folded).
func (ix *Index) Lookup(arn, account, name string) []Change {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var out []Change
	for _, k := range Keys(arn, account, name) {
		for _, c := range ix.m[k] {
			out, _ = Merge(out, c)
		}
	}
	return out
}
