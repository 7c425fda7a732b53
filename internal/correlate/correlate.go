// Package correlate groups findings into incidents: the findings of one
// principal (else one resource, else one source address) that follow each
// other within a window of event time are one incident, whose risk grows
// with the findings' levels and with the ATT&CK tactics they span in
// kill-chain order. Incident ids are deterministic (the group key and the
// first finding's id), so replaying the same findings builds the same
// incidents, and a finding already seen is not counted twice.
//
// Informational findings are signals: worth remembering, not alerting on.
// A signal joins an incident of its group that an alerting finding (low
// or above) opened within the window, and one that came first waits and
// is filed into the incident when an alerting finding opens it; a signal
// never opens an incident by itself.
package correlate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/detect"
)

// TacticOrder is ATT&CK's enterprise kill chain.
var TacticOrder = []string{"reconnaissance", "resource-development", "initial-access", "execution", "persistence",
	"privilege-escalation", "defense-evasion", "credential-access", "discovery", "lateral-movement", "collection",
	"command-and-control", "exfiltration", "impact"}

var levelWeight = map[string]float64{"informational": 1, "low": 2, "medium": 5, "high": 12, "critical": 25}

// Incident is a group of related findings.
type Incident struct {
	ID         string         `json:"id"`
	Title      string         `json:"title"`
	Headline   string         `json:"headline"` // the worst finding's title
	Level      string         `json:"level"`    // the worst finding's level
	Status     string         `json:"status"`   // open, closed
	Key        string         `json:"key"`      // principal:ARN, resource:ARN or ip:ADDR
	Risk       float64        `json:"risk"`     // 0–100
	First      time.Time      `json:"first"`    // event time of the first finding
	Last       time.Time      `json:"last"`
	Account    string         `json:"account,omitempty"`
	Principal  string         `json:"principal,omitempty"`
	Resources  []string       `json:"resources,omitempty"`
	Tactics    []string       `json:"tactics,omitempty"` // in kill-chain order
	Techniques []string       `json:"techniques,omitempty"`
	Levels     map[string]int `json:"levels"`
	// Findings are the ids of the first MaxFindingIDs findings, in arrival
	// order (the store links every finding to its incident); Count is
	// how many there are in all.
	Findings []string `json:"findings"`
	Count    int      `json:"finding_count"`
	// Why says in words how the risk was reached.
	Why []string `json:"why"`
	// Closed, ClosedBy and CloseReason: when an analyst closed it (the end
	// of its MTTR).
	Closed      time.Time `json:"closed,omitzero"`
	ClosedBy    string    `json:"closed_by,omitempty"`
	CloseReason string    `json:"close_reason,omitempty"`
}

// Correlator builds incidents. Not safe for concurrent use.
type Correlator struct {
	Window time.Duration
	open   map[string]*Incident // by key: the latest incident of each key
	seen   map[string]string    // finding id → incident id
	// order remembers seen ids oldest first, so that the map stays
	// bounded (MaxSeen): a replay after a crash is recent.
	order []string
	next  int
	// pending holds, by key, the signals no incident took yet, oldest
	// first (at most MaxSignals a key); attached lists the ones the last
	// Add filed into the incident it opened.
	pending  map[string][]pendingSignal
	attached []string
}

// pendingSignal is what an incident needs of a signal to take it later.
type pendingSignal struct {
	id         string
	time       time.Time
	level      string
	resources  []string
	tactics    []string
	techniques []string
}

// MaxFindingIDs bounds the finding ids an incident lists; MaxSeen bounds
// how many finding ids the correlator remembers for de-duplication.
// MaxSignals bounds the signals waiting for an incident, per key.
const (
	MaxFindingIDs = 500
	MaxSeen       = 200_000
	MaxSignals    = 100
)

// Signal reports whether a finding is a signal: informational, stored and
// filed into an incident that an alerting finding opens, but never
// opening one, nor running playbooks, by itself.
func Signal(f *detect.Finding) bool { return f.Level == "informational" }

func (c *Correlator) remember(id, incident string) {
	if _, ok := c.seen[id]; ok {
		c.seen[id] = incident
		return
	}
	if len(c.order) < MaxSeen {
		c.order = append(c.order, id)
	} else {
		delete(c.seen, c.order[c.next])
		c.order[c.next] = id
		c.next = (c.next + 1) % MaxSeen
	}
	c.seen[id] = incident
}

// New makes a correlator with a window (default 1h).
func New(window time.Duration) *Correlator {
	if window <= 0 {
		window = time.Hour
	}
	return &Correlator{Window: window, open: map[string]*Incident{}, seen: map[string]string{}, pending: map[string][]pendingSignal{}}
}

// RestoreSignals takes back, after a restart, the stored signals that no
// incident took yet (oldest first), so that an incident opened later
// still files them.
func (c *Correlator) RestoreSignals(fs []*detect.Finding) {
	for _, f := range fs {
		if _, ok := c.seen[f.ID]; !ok {
			c.wait(Key(f), f)
		}
	}
}

// Attached lists the signals, by finding id, that the last Add filed into
// the incident it opened (they were stored before without one).
func (c *Correlator) Attached() []string { return c.attached }

// Restore takes back incidents from the store after a restart, so that
// new findings join them as they would have.
func (c *Correlator) Restore(incs []*Incident) {
	for _, in := range incs {
		if in.Count == 0 {
			in.Count = len(in.Findings)
		}
		if cur := c.open[in.Key]; cur == nil || in.Last.After(cur.Last) {
			c.open[in.Key] = in
		}
		for _, f := range in.Findings {
			c.remember(f, in.ID)
		}
	}
}

// Key is the group a finding belongs to.
func Key(f *detect.Finding) string {
	switch {
	case f.Actor.ARN != "":
		return "principal:" + f.Actor.ARN
	case f.Actor.PrincipalID != "":
		return "principal:" + f.Actor.PrincipalID
	case len(f.Resources) > 0 && f.Resources[0].UID != "":
		return "resource:" + f.Resources[0].UID
	case len(f.Resources) > 0 && f.Resources[0].Name != "":
		return "resource:" + f.Resources[0].Name
	case f.SrcIP != "":
		return "ip:" + f.SrcIP
	}
	return "account:" + f.Cloud.Account
}

// Add files a finding. It returns the incident it joined and whether the
// finding was new (false: already filed, nothing changed). A signal that
// no incident takes yet returns a nil incident: it waits for one (see
// Signal). Attached then lists the waiting signals an incident opened by
// this finding took.
func (c *Correlator) Add(f *detect.Finding) (*Incident, bool) {
	c.attached = c.attached[:0]
	if id, ok := c.seen[f.ID]; ok {
		if id == "" {
			return nil, false // a signal still waiting
		}
		for _, in := range c.open {
			if in.ID == id {
				return in, false
			}
		}
		return &Incident{ID: id}, false
	}
	key := Key(f)
	in := c.open[key]
	if in == nil || in.Status == "closed" || f.Time.Sub(in.Last) > c.Window || in.First.Sub(f.Time) > c.Window {
		if Signal(f) {
			c.wait(key, f)
			return nil, true
		}
		sum := sha256.Sum256([]byte(key + "\x00" + f.ID))
		in = &Incident{ID: "inc-" + hex.EncodeToString(sum[:8]), Status: "open", Key: key, First: f.Time, Last: f.Time,
			Account: f.Cloud.Account, Levels: map[string]int{}}
		if strings.HasPrefix(key, "principal:") {
			in.Principal = strings.TrimPrefix(key, "principal:")
		}
		c.open[key] = in
		c.take(key, in, f.Time)
	}
	c.file(in, pendingOf(f))
	c.score(in, f)
	return in, true
}

func pendingOf(f *detect.Finding) pendingSignal {
	p := pendingSignal{id: f.ID, time: f.Time, level: f.Level, tactics: f.Attack.Tactics, techniques: f.Attack.Techniques}
	for _, r := range f.Resources {
		id := r.UID
		if id == "" {
			id = r.Name
		}
		if id != "" {
			p.resources = append(p.resources, id)
		}
	}
	return p
}

// wait keeps a signal until an alerting finding of its key opens an
// incident within the window, dropping the oldest past MaxSignals.
func (c *Correlator) wait(key string, f *detect.Finding) {
	c.remember(f.ID, "")
	ps := append(c.pending[key], pendingSignal{})
	if len(ps) > MaxSignals {
		ps = ps[1:]
	}
	ps[len(ps)-1] = pendingOf(f)
	c.pending[key] = ps
}

// take files into a new incident the key's waiting signals within the
// window of the finding that opened it.
func (c *Correlator) take(key string, in *Incident, at time.Time) {
	ps := c.pending[key]
	if len(ps) == 0 {
		return
	}
	delete(c.pending, key)
	for _, p := range ps {
		if at.Sub(p.time) > c.Window || p.time.Sub(at) > c.Window {
			continue
		}
		c.file(in, p)
		c.attached = append(c.attached, p.id)
	}
}

// file adds a finding's part to an incident (the score is the caller's).
func (c *Correlator) file(in *Incident, p pendingSignal) {
	c.remember(p.id, in.ID)
	if len(in.Findings) < MaxFindingIDs {
		in.Findings = append(in.Findings, p.id)
	}
	in.Count++
	in.Levels[p.level]++
	if p.time.Before(in.First) {
		in.First = p.time
	}
	if p.time.After(in.Last) {
		in.Last = p.time
	}
	for _, id := range p.resources {
		if !slices.Contains(in.Resources, id) && len(in.Resources) < 50 {
			in.Resources = append(in.Resources, id)
		}
	}
	for _, t := range p.tactics {
		if !slices.Contains(in.Tactics, t) {
			in.Tactics = append(in.Tactics, t)
		}
	}
	sort.SliceStable(in.Tactics, func(i, j int) bool { return tacticRank(in.Tactics[i]) < tacticRank(in.Tactics[j]) })
	for _, t := range p.techniques {
		if !slices.Contains(in.Techniques, t) {
			in.Techniques = append(in.Techniques, t)
		}
	}
}

func tacticRank(t string) int {
	if i := slices.Index(TacticOrder, t); i >= 0 {
		return i
	}
	return len(TacticOrder)
}

// score: the findings' level weights summed, multiplied by 1.5 for each
// ATT&CK tactic beyond the first (an attack moving through the kill chain
// is worse than noise repeating), squashed to 0–100.
func (c *Correlator) score(in *Incident, latest *detect.Finding) {
	sum := 0.0
	var parts []string
	for _, lv := range detect.Levels {
		if n := in.Levels[lv]; n > 0 {
			sum += float64(n) * levelWeight[lv]
			parts = append(parts, fmt.Sprintf("%d %s", n, lv))
		}
	}
	mult := math.Pow(1.5, float64(max(len(in.Tactics)-1, 0)))
	in.Risk = math.Round(1000*(1-math.Exp(-sum*mult/40))) / 10
	in.Why = []string{fmt.Sprintf("%s finding(s): weight %.0f", strings.Join(parts, ", "), sum)}
	if len(in.Tactics) > 1 {
		in.Why = append(in.Why, fmt.Sprintf("%d ATT&CK tactics in kill-chain order (%s): ×%.2f", len(in.Tactics), strings.Join(in.Tactics, " → "), mult))
	}
	// The title: the worst finding's (the first of that level), and how
	// many more.
	if in.Headline == "" || detect.LevelRank(latest.Level) > detect.LevelRank(in.Level) {
		in.Headline, in.Level = latest.Title, latest.Level
	}
	in.Title = in.Headline
	if in.Count > 1 {
		in.Title = fmt.Sprintf("%s (+%d more)", in.Headline, in.Count-1)
	}
}

// Close marks an incident closed: later findings of its key open a new
// one. It returns the incident, or nil when the correlator does not hold it
// (the caller updates the stored copy).
func (c *Correlator) Close(id string) *Incident {
	for _, in := range c.open {
		if in.ID == id {
			in.Status = "closed"
			return in
		}
	}
	return nil
}

// Evict forgets incidents whose last finding is older than the window
// before now (event time): they can take no more findings.
func (c *Correlator) Evict(now time.Time) {
	for k, in := range c.open {
		if now.Sub(in.Last) > 2*c.Window {
			delete(c.open, k)
		}
	}
	for k, ps := range c.pending {
		if now.Sub(ps[len(ps)-1].time) > 2*c.Window {
			delete(c.pending, k)
		}
	}
}
