package detect

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/event"
)

// MaxGroups bounds the groups one correlation rule keeps; the stalest go
// first. MaxEventIDs bounds the event ids a correlation finding lists.
const (
	MaxGroups   = 100_000
	MaxEventIDs = 100
)

// Batch is what DetectBatch found in a run of events: findings, and the
// base-rule matches that feed correlation rules.
type Batch struct {
	Findings []Finding
	hits     []hit
	at       []int32 // DetectBatch's: the event of each finding
}

// EventOf is the index, in the events DetectBatch was given, of the event
// of the batch's finding i (as DetectBatch made them), or -1.
func (b *Batch) EventOf(i int) int {
	if i < len(b.at) {
		return int(b.at[i])
	}
	return -1
}

type hit struct {
	event int // index in the batch's events
	corr  *corrRef
}

// corrRef ties a base rule to a correlation that references it.
type corrRef struct {
	corr  *sigma.Rule
	ref   string // how the correlation names the rule
	index int    // position in the correlation's rule list
}

// DetectBatch runs the stateless detectors over events. It is safe to
// call from many goroutines; pass the result to a Correlator in event
// order.
func (e *Engine) DetectBatch(events []event.Event) *Batch {
	return e.DetectInto(events, &Batch{})
}

// DetectInto is DetectBatch into b, emptied first: a caller done with one
// batch's findings (encoded as they were found) gives the same Batch back
// for the next, and its memory is reused instead of grown again.
func (e *Engine) DetectInto(events []event.Event, b *Batch) *Batch {
	clear(b.Findings) // what the last batch's findings pointed to can go
	b.Findings, b.hits, b.at = b.Findings[:0], b.hits[:0], b.at[:0]
	m, _ := e.matchers.Get().(*sigma.Matcher)
	if m == nil {
		m = e.rules.Matcher()
	}
	defer e.matchers.Put(m)
	for i := range events {
		ev := &events[i]
		if ev.Finding != nil && e.External {
			b.Findings = append(b.Findings, external(ev))
			b.at = append(b.at, int32(i))
		}
		m.Match(ev, func(r *sigma.Rule) {
			for _, c := range e.feeds[r] {
				b.hits = append(b.hits, hit{event: i, corr: c})
			}
			if !e.quiet[r] {
				b.Findings = append(b.Findings, fromRule(r, e.attack[r], ev, m.Explain(r)))
				b.at = append(b.at, int32(i))
			}
		})
	}
	return b
}

// MayFind marks in keep (grown to len(events) when short; returned) the
// events DetectBatch would find something in: a finding or a correlation
// hit. It builds no findings, so it is the cheap first pass of a sparse
// run (Order.AddSparse). Safe to call from many goroutines.
func (e *Engine) MayFind(events []event.Event, keep []bool) []bool {
	keep = slices.Grow(keep[:0], len(events))[:len(events)]
	m, _ := e.matchers.Get().(*sigma.Matcher)
	if m == nil {
		m = e.rules.Matcher()
	}
	defer e.matchers.Put(m)
	for i := range events {
		ev := &events[i]
		k := ev.Finding != nil && e.External
		m.Match(ev, func(r *sigma.Rule) {
			k = k || len(e.feeds[r]) > 0 || !e.quiet[r]
		})
		keep[i] = k
	}
	return keep
}

// Correlator evaluates correlation rules over the stream. It is not safe
// for concurrent use: feed it batches in order from one goroutine.
type Correlator struct {
	states map[*sigma.Rule]*corrState
	// Episodes makes a correlation fire once per group and episode: after
	// it fires, each further match of the group within the timespan of the
	// previous one is reported as a finding of one event in the same group,
	// which an Aggregator merges into the first (count, last seen, event
	// ids), instead of the group starting over and firing again every N
	// matches.
	Episodes bool
}

// NewCorrelator starts empty windows for the engine's correlation rules.
func (e *Engine) NewCorrelator() *Correlator {
	c := &Correlator{states: map[*sigma.Rule]*corrState{}}
	for _, r := range e.correlations {
		c.states[r] = &corrState{rule: r, c: r.Correlation, groups: map[string]*group{}}
	}
	return c
}

// Correlate feeds the batch's base-rule matches to the correlation rules
// and appends their findings to b.Findings.
func (c *Correlator) Correlate(events []event.Event, b *Batch) {
	for _, h := range b.hits {
		st := c.states[h.corr.corr]
		if st == nil {
			continue
		}
		if f, ok := st.add(&events[h.event], h.corr, c.Episodes); ok {
			b.Findings = append(b.Findings, f)
		}
	}
	b.hits = nil
}

type corrState struct {
	rule   *sigma.Rule
	c      *sigma.Correlation
	groups map[string]*group
	newest time.Time
	buf    []byte   // key's
	vals   []string // value_count's values of one event
}

type group struct {
	last   time.Time
	fired  bool              // fired in this session: with episodes matches extend its finding; with once they are quiet
	window []entry           // event_count: the matches in the window
	values map[string]*entry // value_count: the latest match per value
	oldest time.Time         // value_count: the oldest of values (zero: none, or not known)
	seen   []entry           // temporal: the latest match of each rule
}

// entry is one match: when, and which event.
type entry struct {
	t  time.Time
	id string
}

func (s *corrState) need() int64 {
	switch s.c.Op {
	case "gt":
		return s.c.N + 1
	}
	return max(s.c.N, 1)
}

// key is the group's key: the group-by values joined by 0x1f, built in
// s.buf (valid until the next call; copy what you keep).
func (s *corrState) key(ev *event.Event, ref string) string {
	s.buf = s.buf[:0]
	for i, g := range s.c.GroupBy {
		if i > 0 {
			s.buf = append(s.buf, 0x1f)
		}
		s.buf = append(s.buf, s.groupValue(ev, g, ref)...)
	}
	return unsafe.String(unsafe.SliceData(s.buf), len(s.buf))
}

// groupValue is the value of one group-by field.
func (s *corrState) groupValue(ev *event.Event, g, ref string) string {
	field := s.c.GroupField(g, ref)
	v, _ := ev.Lookup(field)
	val := v.String()
	if val == "" && principalFields[field] {
		// Never group on an empty principal: calls without an ARN
		// (AWS services, some cross-account callers) are told apart
		// by principal id, else account and type.
		val = Principal(&ev.Actor, ev.Cloud.Account)
	}
	return val
}

// shown is the group-by fields and their values, for the finding.
func (s *corrState) shown(ev *event.Event, ref string) []string {
	shown := make([]string, 0, len(s.c.GroupBy))
	for _, g := range s.c.GroupBy {
		shown = append(shown, g+"="+s.groupValue(ev, g, ref))
	}
	return shown
}

// principalFields are the native fields that name who acted: grouped on,
// an empty one falls back to Principal.
var principalFields = map[string]bool{
	"userIdentity.arn": true, "userIdentity.principalId": true, "userIdentity.userName": true,
	"caller": true, "Caller": true, "protoPayload.authenticationInfo.principalEmail": true,
}

// add takes one base-rule match and reports a finding when the
// correlation's condition is met; the group then starts over, or, with
// episodes, reports each further match until the group is quiet for the
// timespan.
func (s *corrState) add(ev *event.Event, ref *corrRef, episodes bool) (Finding, bool) {
	t := ev.Time
	if t.After(s.newest) {
		s.newest = t
	}
	key := s.key(ev, ref.ref)
	g := s.groups[key]
	if g == nil {
		if len(s.groups) >= MaxGroups {
			s.evict()
		}
		g = &group{}
		// Copies: the event's strings point into its input chunk, which a
		// window must not keep alive (and key into s.buf).
		key = strings.Clone(key)
		s.groups[key] = g
	}
	if g.fired {
		if t.Sub(g.last) <= s.c.Timespan {
			if t.After(g.last) {
				g.last = t
			}
			if !episodes {
				return Finding{}, false // once: the session goes on, reported already
			}
			f := s.finding(ev, strings.Clone(key), s.shown(ev, ref.ref), []entry{{t: t, id: ev.ID}}, fmt.Sprintf("a further match within %s", s.c.Timespan))
			return f, true
		}
		*g = group{} // quiet for the timespan: start over
	}
	if t.After(g.last) {
		g.last = t
	}
	from := t.Add(-s.c.Timespan)
	this := entry{t: t, id: strings.Clone(ev.ID)}
	var what string
	var matched []entry
	fire := false
	switch s.c.Type {
	case "event_count":
		g.window = slices.DeleteFunc(g.window, func(x entry) bool { return x.t.Before(from) })
		g.window = append(g.window, this)
		if n := int64(len(g.window)); n > s.need() {
			g.window = g.window[n-s.need():]
		}
		n := int64(len(g.window))
		fire = n >= s.need() && (s.c.Op != "eq" || n == s.c.N)
		if fire {
			matched = g.window
			what = fmt.Sprintf("%d matching events within %s", n, s.c.Timespan)
		}
	case "value_count":
		// Every value counts: a list (the names a batch call reads, an
		// array in the record) adds each of its elements.
		vals := s.vals[:0]
		ev.Each(s.c.Field, func(v event.Value) bool {
			if v.Kind == event.KindArray {
				v.Elements(func(el event.Value) bool {
					if el.Kind != event.KindNull {
						vals = append(vals, el.String())
					}
					return true
				})
				return true
			}
			if v.Kind != event.KindNull {
				vals = append(vals, v.String())
			}
			return true
		})
		s.vals = vals[:0]
		if len(vals) == 0 {
			return Finding{}, false
		}
		if g.values == nil {
			g.values = map[string]*entry{}
		}
		if g.oldest.Before(from) {
			// Something left the window: drop it (and find the new
			// oldest), not on every match.
			g.oldest = time.Time{}
			for k, x := range g.values {
				if x.t.Before(from) {
					delete(g.values, k)
				} else if g.oldest.IsZero() || x.t.Before(g.oldest) {
					g.oldest = x.t
				}
			}
		}
		for _, val := range vals {
			if old := g.values[val]; old != nil {
				// The value's latest match moves on (in place: assigning
				// to the map would store the key again, a view of the
				// input chunk).
				if old.t.Equal(g.oldest) {
					g.oldest = time.Time{} // not known: found again when needed
				}
				*old = this
			} else {
				// A copy: the value is a view of the input chunk.
				e := this
				g.values[strings.Clone(val)] = &e
				if g.oldest.IsZero() || t.Before(g.oldest) {
					g.oldest = t
				}
			}
		}
		clear(vals)
		n := int64(len(g.values))
		fire = n >= s.need()
		if fire {
			for _, x := range g.values {
				matched = append(matched, *x)
			}
			what = fmt.Sprintf("%d distinct %s within %s", n, s.c.Field, s.c.Timespan)
		}
	case "temporal", "temporal_ordered":
		if g.seen == nil {
			g.seen = make([]entry, len(s.c.Rules))
		}
		if s.c.Type == "temporal_ordered" && ref.index > 0 && (g.seen[ref.index-1].t.IsZero() || g.seen[ref.index-1].t.After(t)) {
			return Finding{}, false // out of order: the earlier step has not happened
		}
		g.seen[ref.index] = this
		fire = true
		for _, x := range g.seen {
			if x.t.IsZero() || x.t.Before(from) {
				fire = false
			}
		}
		matched = g.seen
		if !fire {
			break
		}
		what = fmt.Sprintf("%s within %s", strings.Join(s.c.Rules, ", then "), s.c.Timespan)
		if s.c.Type == "temporal" {
			what = fmt.Sprintf("all of %s within %s", strings.Join(s.c.Rules, ", "), s.c.Timespan)
		}
	}
	if !fire {
		return Finding{}, false
	}
	key = strings.Clone(key)
	f := s.finding(ev, key, s.shown(ev, ref.ref), matched, what)
	if episodes || s.c.Once {
		*g = group{last: g.last, fired: true}
	} else {
		delete(s.groups, key)
	}
	return f, true
}

// finding reports the correlation on the matched events.
func (s *corrState) finding(ev *event.Event, key string, shown []string, matched []entry, what string) Finding {
	f := base(ev)
	f.RuleID = s.rule.ID
	if f.RuleID == "" {
		f.RuleID = s.rule.Title
	}
	f.Title = s.rule.Title
	f.Description = s.rule.Description
	f.Triage = s.rule.Triage
	f.Level = s.rule.Level
	if f.Level == "" {
		f.Level = "medium"
	}
	f.Source = "sigma"
	f.Attack = AttackFromTags(s.rule.Tags)
	slices.SortStableFunc(matched, func(a, b entry) int {
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	f.EventIDs = nil
	for i, m := range matched {
		if len(f.EventIDs) == MaxEventIDs {
			break
		}
		if i > 0 && matched[i-1].id == m.id && matched[i-1].t.Equal(m.t) {
			continue // one event that gave several values
		}
		f.EventIDs = append(f.EventIDs, m.id)
	}
	f.Explanation = []Evidence{{Selection: "correlation", Field: s.c.Type, Value: what, Pattern: shown}}
	// The last event in words first, then what the correlation counted.
	f.Summary = Say(ev) + "; " + what + " for " + strings.Join(shown, ", ")
	f.ID = FindingID(f.RuleID, f.EventIDs)
	f.group = key
	return f
}

// evict drops groups idle for longer than the timespan, or, when none is,
// the idlest.
func (s *corrState) evict() {
	from := s.newest.Add(-s.c.Timespan)
	var oldest string
	var oldestT time.Time
	for k, g := range s.groups {
		if g.last.Before(from) {
			delete(s.groups, k)
			continue
		}
		if oldest == "" || g.last.Before(oldestT) {
			oldest, oldestT = k, g.last
		}
	}
	if len(s.groups) >= MaxGroups {
		delete(s.groups, oldest)
	}
}

// Groups is how many groups the correlator holds, over all rules.
func (c *Correlator) Groups() int {
	n := 0
	for _, s := range c.states {
		n += len(s.groups)
	}
	return n
}
