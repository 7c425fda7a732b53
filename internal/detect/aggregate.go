package detect

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/event"
)

// Aggregation defaults: an episode ends when its group is quiet for an
// hour of event time; at most 100,000 episodes are open at once.
const (
	DefaultAggregateWindow = time.Hour
	MaxOpenEpisodes        = 100_000
)

// Aggregator merges the findings of one episode into one finding: the
// same rule, for the same principal (session), from the same source
// address, on the same resources (for a correlation rule: its group),
// each within Window of the previous one in event time. The finding
// counts the events (Count), spans FirstSeen to LastSeen and lists the
// first MaxEventIDs event ids.
//
// An episode's finding keeps the id of the finding that opened it (a hash
// of the rule id and the first event's id, or the first correlation's
// events), so the id is known when the episode opens, does not change as
// it grows, and reruns over the same input give the same ids: playbooks,
// which run once per finding id, run once per episode.
//
// Findings of the behavioural models (source ueba: one per session
// already, growing while the session lasts) and GuardDuty findings
// (which count their own repeats, and whose updates keep their id) pass
// through as they are.
//
// Feed it findings in event-time order from one goroutine. It copies what
// it keeps: a finding's strings may point into an input chunk.
type Aggregator struct {
	// Window is the quiet time, in event time, that ends an episode
	// (default DefaultAggregateWindow).
	Window time.Duration
	// MaxOpen bounds the open episodes (default MaxOpenEpisodes); past
	// it the episodes quiet for longest are closed.
	MaxOpen int
	// Records keeps the native record of an episode's first event.
	Records bool
	// Hold keeps closed episodes and passed-through findings until no
	// open episode began before them, so that Drain returns findings in
	// the order of their first event (parapet detect's output). Without
	// it Drain returns only closed episodes, as they close.
	Hold bool

	open   map[string]*episode
	held   []Finding
	newest time.Time
	swept  time.Time
	oldest time.Time // no open episode began before it (when known)
}

type episode struct {
	key string
	f   Finding
}

// NewAggregator returns an aggregator with the given window (0: the
// default).
func NewAggregator(window time.Duration) *Aggregator {
	if window <= 0 {
		window = DefaultAggregateWindow
	}
	return &Aggregator{Window: window, MaxOpen: MaxOpenEpisodes}
}

// Aggregated says whether f is the kind of finding an Aggregator merges.
func Aggregated(f *Finding) bool {
	return f.Source != "ueba" && f.Source != "guardduty" && f.Source != "securityhub"
}

// init readies the aggregator on first use.
func (a *Aggregator) init() {
	if a.open != nil {
		return
	}
	a.open = map[string]*episode{}
	if a.Window <= 0 {
		a.Window = DefaultAggregateWindow
	}
	if a.MaxOpen <= 0 {
		a.MaxOpen = MaxOpenEpisodes
	}
}

// Add merges f into its episode and returns the episode's finding (valid
// until the next call) and whether f opened the episode. A finding that
// is not aggregated is returned as it is, opened.
func (a *Aggregator) Add(f *Finding) (*Finding, bool) {
	a.init()
	if f.Time.After(a.newest) {
		a.newest = f.Time
	}
	if !Aggregated(f) {
		if a.Hold {
			a.held = append(a.held, a.own(f))
			return &a.held[len(a.held)-1], true
		}
		return f, true
	}
	key := aggregateKey(f)
	n := max(len(f.EventIDs), 1)
	if ep := a.open[key]; ep != nil {
		g := &ep.f
		if f.Time.Sub(g.LastSeen) <= a.Window && g.FirstSeen.Sub(f.Time) <= a.Window {
			// An event the episode lists already (a record delivered
			// again, after a restart the pipeline's set of records seen
			// has forgotten) counts once.
			added := 0
			for _, id := range f.EventIDs {
				if slices.Contains(g.EventIDs, id) {
					continue
				}
				added++
				if len(g.EventIDs) < MaxEventIDs {
					g.EventIDs = append(g.EventIDs, strings.Clone(id))
				}
			}
			if len(f.EventIDs) == 0 {
				added = 1
			}
			if added == 0 {
				return g, false
			}
			g.Count += added
			if g.say != "" {
				g.sayDiffers = g.sayDiffers || f.say != g.say
				g.Summary = g.retell(g.Count, g.sayDiffers)
			}
			if f.Time.Before(g.FirstSeen) {
				g.FirstSeen = f.Time
			}
			if f.Time.After(g.LastSeen) {
				g.LastSeen = f.Time
			}
			return g, false
		}
		a.close(ep) // a gap longer than the window: a new episode
	}
	if len(a.open) >= a.MaxOpen {
		a.sweep(true)
	}
	ep := &episode{key: strings.Clone(key), f: a.own(f)}
	g := &ep.f
	g.Count, g.FirstSeen, g.LastSeen = n, f.Time, f.Time
	if n > 1 && g.say != "" {
		g.Summary = g.retell(n, false)
	}
	if len(g.EventIDs) > MaxEventIDs {
		g.EventIDs = g.EventIDs[:MaxEventIDs]
	}
	a.open[ep.key] = ep
	if a.oldest.IsZero() || g.FirstSeen.Before(a.oldest) {
		a.oldest = g.FirstSeen
	}
	return g, true
}

// Drain appends to dst the findings that are done, as of the newest event
// time seen: episodes quiet for longer than the window (and, with Hold,
// passed-through findings) in the order of their first event.
func (a *Aggregator) Drain(dst []Finding) []Finding {
	if a.newest.Sub(a.swept) >= a.Window/8 {
		a.sweep(false)
	}
	if !a.Hold {
		dst = append(dst, a.held...)
		a.held = a.held[:0]
		return dst
	}
	// Held findings go out once no open episode began before them (or
	// when too many wait).
	sortByTime(a.held)
	n := 0
	for n < len(a.held) && (len(a.open) == 0 || a.held[n].Time.Before(a.oldest) || len(a.held)-n > a.MaxOpen) {
		n++
	}
	dst = append(dst, a.held[:n]...)
	a.held = slices.Delete(a.held, 0, n)
	return dst
}

// Flush closes every episode and appends all that is left to dst in the
// order of their first event: the end of the input.
func (a *Aggregator) Flush(dst []Finding) []Finding {
	for _, ep := range a.open {
		a.close(ep)
	}
	a.oldest = time.Time{}
	sortByTime(a.held)
	dst = append(dst, a.held...)
	a.held = a.held[:0]
	return dst
}

// Open is how many episodes are open.
func (a *Aggregator) Open() int { return len(a.open) }

func (a *Aggregator) close(ep *episode) {
	delete(a.open, ep.key)
	a.held = append(a.held, ep.f)
}

// sweep closes the episodes quiet for longer than the window; with full
// (at MaxOpen) also the eighth quiet for longest.
func (a *Aggregator) sweep(full bool) {
	a.swept = a.newest
	from := a.newest.Add(-a.Window)
	a.oldest = time.Time{}
	var rest []*episode
	for _, ep := range a.open {
		if ep.f.LastSeen.Before(from) {
			a.close(ep)
			continue
		}
		if full {
			rest = append(rest, ep)
		}
		if a.oldest.IsZero() || ep.f.FirstSeen.Before(a.oldest) {
			a.oldest = ep.f.FirstSeen
		}
	}
	if !full || len(a.open) < a.MaxOpen {
		return
	}
	slices.SortFunc(rest, func(x, y *episode) int { return x.f.LastSeen.Compare(y.f.LastSeen) })
	for _, ep := range rest[:max(len(rest)/8, 1)] {
		a.close(ep)
	}
	a.oldest = time.Time{}
	for _, ep := range a.open {
		if a.oldest.IsZero() || ep.f.FirstSeen.Before(a.oldest) {
			a.oldest = ep.f.FirstSeen
		}
	}
}

func sortByTime(fs []Finding) {
	slices.SortStableFunc(fs, func(x, y Finding) int {
		if c := x.Time.Compare(y.Time); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	})
}

// own copies what a finding shares with its input chunk.
func (a *Aggregator) own(f *Finding) Finding {
	g := *f
	g.ID = strings.Clone(f.ID)
	g.EventIDs = make([]string, len(f.EventIDs), max(len(f.EventIDs), 4))
	for i, id := range f.EventIDs {
		g.EventIDs[i] = strings.Clone(id)
	}
	g.Cloud = event.Cloud{Provider: strings.Clone(f.Cloud.Provider), Partition: strings.Clone(f.Cloud.Partition),
		Account: strings.Clone(f.Cloud.Account), Region: strings.Clone(f.Cloud.Region), Zone: strings.Clone(f.Cloud.Zone)}
	ac := &g.Actor
	for _, s := range []*string{&ac.Type, &ac.ARN, &ac.PrincipalID, &ac.Account, &ac.UserName, &ac.AccessKeyID,
		&ac.SessionIssuerARN, &ac.SessionIssuerType, &ac.SessionName, &ac.InvokedBy} {
		*s = strings.Clone(*s)
	}
	g.SrcIP = strings.Clone(f.SrcIP)
	g.Summary = strings.Clone(f.Summary)
	g.group = strings.Clone(f.group)
	if len(f.Resources) > 0 {
		g.Resources = make([]event.Resource, len(f.Resources))
		for i, r := range f.Resources {
			g.Resources[i] = event.Resource{Type: strings.Clone(r.Type), UID: strings.Clone(r.UID), Name: strings.Clone(r.Name), Account: strings.Clone(r.Account)}
		}
	}
	if len(f.Explanation) > 0 {
		g.Explanation = make([]Evidence, len(f.Explanation))
		for i, e := range f.Explanation {
			e.Value = strings.Clone(e.Value)
			g.Explanation[i] = e
		}
	}
	g.Record = nil
	if a.Records && len(f.Record) > 0 {
		g.Record = slices.Clone(f.Record)
	}
	return g
}

// aggregateKey is the episode a finding belongs to.
func aggregateKey(f *Finding) string {
	var b strings.Builder
	b.Grow(128)
	b.WriteString(f.RuleID)
	b.WriteByte(0)
	if f.group != "" {
		// A correlation rule: its own group-by.
		b.WriteString(f.group)
		return b.String()
	}
	if f.Source != "sigma" && len(f.Explanation) > 0 {
		// Other sources (threat intel) say in the evidence what matched.
		b.WriteString(f.Explanation[0].Field)
		b.WriteByte('=')
		b.WriteString(f.Explanation[0].Value)
	}
	b.WriteByte(0)
	b.WriteString(f.Cloud.Account)
	b.WriteByte(0)
	b.WriteString(Principal(&f.Actor, f.Cloud.Account))
	b.WriteByte(0)
	b.WriteString(f.SrcIP)
	for _, r := range f.Resources {
		b.WriteByte(0)
		if r.UID != "" {
			b.WriteString(r.UID)
		} else {
			b.WriteString(r.Type)
			b.WriteByte(':')
			b.WriteString(r.Name)
		}
	}
	return b.String()
}

// Principal names who acted, for grouping: the ARN, else the principal
// id, else the account and the identity type, with the service for a
// call an AWS service made (111122223333/AWSService:ec2.amazonaws.com).
// Empty only when the actor says nothing at all.
func Principal(a *event.Actor, account string) string {
	switch {
	case a.ARN != "":
		return a.ARN
	case a.PrincipalID != "":
		return a.PrincipalID
	}
	if a.Account != "" {
		account = a.Account
	}
	who := a.Type
	if a.InvokedBy != "" {
		if who == "" {
			who = "AWSService"
		}
		who += ":" + a.InvokedBy
	}
	if who == "" {
		return ""
	}
	if account == "" {
		return who
	}
	return account + "/" + who
}

// Reopen opens an episode from a finding stored earlier (serve restarting:
// its open episodes go on, so that their further events grow the stored
// finding instead of opening new ones and running playbooks again). A
// correlation's group is read back from its explanation (group-by
// field=value pairs). Findings that are not aggregated are ignored; an
// episode already open under the finding's key is kept.
func (a *Aggregator) Reopen(f Finding) {
	if !Aggregated(&f) {
		return
	}
	a.init()
	if f.group == "" && len(f.Explanation) > 0 && f.Explanation[0].Selection == "correlation" {
		vals := make([]string, 0, len(f.Explanation[0].Pattern))
		for _, p := range f.Explanation[0].Pattern {
			_, v, _ := strings.Cut(p, "=")
			vals = append(vals, v)
		}
		f.group = strings.Join(vals, "\x1f")
	}
	if f.Count <= 0 {
		f.Count = max(len(f.EventIDs), 1)
	}
	if f.FirstSeen.IsZero() {
		f.FirstSeen = f.Time
	}
	if f.LastSeen.IsZero() {
		f.LastSeen = f.Time
	}
	key := aggregateKey(&f)
	if a.open[key] != nil || len(a.open) >= a.MaxOpen {
		return
	}
	a.open[key] = &episode{key: key, f: f}
	if f.LastSeen.After(a.newest) {
		a.newest = f.LastSeen
	}
	if a.oldest.IsZero() || f.FirstSeen.Before(a.oldest) {
		a.oldest = f.FirstSeen
	}
}
