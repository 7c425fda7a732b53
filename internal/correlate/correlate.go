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
	"net/netip"
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
	Level      string         `json:"level"`    // the band of Risk (see LevelOf)
	Status     string         `json:"status"`   // open, closed, merged
	Key        string         `json:"key"`      // the first finding's first entity (see Graph)
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
	// Summary says the story in one line: each step (a rule's findings),
	// who it is about and how many.
	Summary string      `json:"summary,omitempty"`
	Story   []StoryPart `json:"story,omitempty"`
	// Entities are what joins the incident's findings (see Graph), at
	// most MaxIncidentEntities.
	Entities []string `json:"entities,omitempty"`
	// Made are what the incident's findings created (keys, sessions,
	// users, instances), at most MaxIncidentEntities: a finding that uses
	// one of them joins the incident up to MaxSpan after its last finding,
	// not only within the window.
	Made []string `json:"made,omitempty"`
	// MergedInto: a finding joined this incident to an older one, which
	// holds its findings now (status "merged").
	MergedInto string `json:"merged_into,omitempty"`
}

// Correlator builds incidents. Not safe for concurrent use.
type Correlator struct {
	Window time.Duration
	// MaxSpan bounds an incident in time, first finding to last (default
	// 12h): a principal that raises findings all day long must not join
	// two attacks hours apart through its noise.
	MaxSpan time.Duration
	// Graph, when set, resolves a finding's entities (see Graph.Entities);
	// without it a finding's only entity is its Key.
	Graph *Graph
	open  map[string]*Incident   // by id: the incidents that can still take findings
	index map[string][]*Incident // entity → the open incidents holding it
	// into: an incident merged into another → that one.
	into map[string]string
	seen map[string]string // finding id → incident id
	// order remembers seen ids oldest first, so that the map stays
	// bounded (MaxSeen): a replay after a crash is recent.
	order []string
	next  int
	// pending holds, by entity, the signals no incident took yet, oldest
	// first (at most MaxSignals an entity); attached lists the ones the
	// last Add filed into its incident, merged the incidents it merged.
	pending  map[string][]*pendingSignal
	attached []string
	merged   []Merge
}

// Merge says that a finding joined two incidents: From's findings now
// belong to Into, and From is kept only as a pointer (status "merged").
type Merge struct {
	From, Into string
	// Merged is the incident From as it was left (status "merged").
	Merged *Incident `json:"-"`
}

// pendingSignal is what an incident needs of a signal to take it later.
type pendingSignal struct {
	id         string
	time       time.Time
	level      string
	title      string
	said       string // the finding's summary in words
	source     string
	who        string
	resources  []string
	tactics    []string
	techniques []string
	entities   []string
	taken      bool
}

// MaxFindingIDs bounds the finding ids an incident lists; MaxSeen bounds
// how many finding ids the correlator remembers for de-duplication.
// MaxSignals bounds the signals waiting for an incident, per entity.
// MaxIncidentFindings and MaxIncidentEntities cap what one incident
// grows to by merging: past them a finding that touches two incidents
// joins the older one and leaves the other alone.
const (
	MaxFindingIDs       = 500
	MaxSeen             = 200_000
	MaxSignals          = 100
	MaxIncidentFindings = 5000
	MaxIncidentEntities = 500
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
	return &Correlator{Window: window, MaxSpan: DefaultMaxSpan, open: map[string]*Incident{}, index: map[string][]*Incident{}, into: map[string]string{},
		seen: map[string]string{}, pending: map[string][]*pendingSignal{}}
}

// RestoreSignals takes back, after a restart, the stored signals that no
// incident took yet (oldest first), so that an incident opened later
// still files them.
func (c *Correlator) RestoreSignals(fs []*detect.Finding) {
	for _, f := range fs {
		if _, ok := c.seen[f.ID]; !ok {
			ents, _ := c.entities(f)
			c.wait(ents, f)
		}
	}
}

// Attached lists the signals, by finding id, that the last Add filed into
// its incident (they were stored before without one).
func (c *Correlator) Attached() []string { return c.attached }

// Merged lists the incidents the last Add merged into the one it
// returned.
func (c *Correlator) Merged() []Merge { return c.merged }

// Restore takes back incidents from the store after a restart, so that
// new findings join them as they would have.
func (c *Correlator) Restore(incs []*Incident) {
	for _, in := range incs {
		if in.Count == 0 {
			in.Count = len(in.Findings)
		}
		if in.Status == "merged" {
			c.into[in.ID] = in.MergedInto
			continue
		}
		if len(in.Entities) == 0 && in.Key != "" {
			in.Entities = []string{in.Key}
		}
		c.open[in.ID] = in
		for _, e := range in.Entities {
			c.index[e] = append(c.index[e], in)
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

// entities are a finding's entities (its Key when it has none) and what
// its call created (see Graph.Resolve).
func (c *Correlator) entities(f *detect.Finding) (es, made []string) {
	if c.Graph != nil {
		es, made = c.Graph.Resolve(f)
	}
	if len(es) == 0 {
		es = []string{Key(f)}
	}
	return es, made
}

// resolve follows merges to the incident that holds id now.
func (c *Correlator) resolve(id string) string {
	for range 16 {
		next, ok := c.into[id]
		if !ok {
			break
		}
		id = next
	}
	return id
}

// DefaultMaxSpan is MaxSpan's default.
const DefaultMaxSpan = 12 * time.Hour

func (c *Correlator) within(in *Incident, t time.Time) bool {
	return in.Status == "open" && t.Sub(in.Last) <= c.Window && in.First.Sub(t) <= c.Window &&
		(c.MaxSpan <= 0 || t.Sub(in.First) <= c.MaxSpan && in.Last.Sub(t) <= c.MaxSpan)
}

// uses: the finding's entity e is something the incident created, and
// the finding comes within MaxSpan of the incident's last finding and
// twice that of its first.
func (c *Correlator) uses(in *Incident, e string, t time.Time) bool {
	if in.Status != "open" || !slices.Contains(in.Made, e) {
		return false
	}
	span := c.MaxSpan
	if span <= 0 {
		span = DefaultMaxSpan
	}
	return t.Sub(in.Last) <= span && t.Sub(in.First) <= 2*span && in.First.Sub(t) <= c.Window
}

// mergeable: two incidents may become one within the caps.
func (c *Correlator) mergeable(in, o *Incident) bool {
	first, last := in.First, in.Last
	if o.First.Before(first) {
		first = o.First
	}
	if o.Last.After(last) {
		last = o.Last
	}
	return in.Count+o.Count <= MaxIncidentFindings && len(in.Entities)+len(o.Entities) <= MaxIncidentEntities &&
		(c.MaxSpan <= 0 || last.Sub(first) <= 2*c.MaxSpan)
}

// Add files a finding. It returns the incident it joined and whether the
// finding was new (false: already filed, nothing changed). A signal that
// no incident takes yet returns a nil incident: it waits for one (see
// Signal). Attached then lists the waiting signals the incident took,
// and Merged the incidents this finding joined into it.
//
// A finding joins every open incident that holds one of its entities
// within the window; when there are several, they become one (the oldest
// takes the others), unless that would pass MaxIncidentFindings or
// MaxIncidentEntities.
func (c *Correlator) Add(f *detect.Finding) (*Incident, bool) {
	c.attached = c.attached[:0]
	c.merged = c.merged[:0]
	if id, ok := c.seen[f.ID]; ok {
		if id == "" {
			return nil, false // a signal still waiting
		}
		id = c.resolve(id)
		if in := c.open[id]; in != nil {
			return in, false
		}
		return &Incident{ID: id}, false
	}
	ents, made := c.entities(f)
	var cands []*Incident
	for _, e := range ents {
		for _, in := range c.index[e] {
			if (c.within(in, f.Time) || c.uses(in, e, f.Time)) && !slices.Contains(cands, in) {
				cands = append(cands, in)
			}
		}
	}
	var in *Incident
	if len(cands) == 0 {
		if Signal(f) {
			c.wait(ents, f)
			return nil, true
		}
		sum := sha256.Sum256([]byte(ents[0] + "\x00" + f.ID))
		in = &Incident{ID: "inc-" + hex.EncodeToString(sum[:8]), Status: "open", Key: ents[0], First: f.Time, Last: f.Time,
			Account: f.Cloud.Account, Levels: map[string]int{}}
		if a := ActorEntity(&f.Actor); f.Actor.ARN != "" && a != "" {
			in.Principal = f.Actor.ARN
		}
		c.open[in.ID] = in
	} else {
		sort.Slice(cands, func(i, j int) bool {
			if !cands[i].First.Equal(cands[j].First) {
				return cands[i].First.Before(cands[j].First)
			}
			return cands[i].ID < cands[j].ID
		})
		in = cands[0]
		for _, o := range cands[1:] {
			if c.mergeable(in, o) {
				c.merge(in, o)
			}
		}
	}
	for _, e := range ents {
		c.addEntity(in, e)
	}
	c.take(in, f.Time)
	p := pendingOf(f)
	p.entities = ents
	c.file(in, p)
	addAll(&in.Made, made, MaxIncidentEntities)
	c.score(in, f)
	return in, true
}

// merge moves o into in.
func (c *Correlator) merge(in, o *Incident) {
	for _, id := range o.Findings {
		if len(in.Findings) < MaxFindingIDs {
			in.Findings = append(in.Findings, id)
		}
		c.remember(id, in.ID)
	}
	in.Count += o.Count
	if worstRank(o.Levels) > worstRank(in.Levels) || in.Headline == "" {
		in.Headline = o.Headline
	}
	for lv, n := range o.Levels {
		in.Levels[lv] += n
	}
	c.extend(in, o.First, o.Last, o.Resources, o.Tactics, o.Techniques, o.Entities)
	addAll(&in.Made, o.Made, MaxIncidentEntities)
	for _, sp := range o.Story {
		in.addPart(sp.Title, sp.Said, sp.Level, sp.Source, sp.First, sp.Count, sp.Who...)
	}
	o.Status, o.MergedInto = "merged", in.ID
	c.into[o.ID] = in.ID
	delete(c.open, o.ID)
	for _, e := range o.Entities {
		c.unindex(e, o)
	}
	c.merged = append(c.merged, Merge{From: o.ID, Into: in.ID, Merged: o})
}

// extend widens an incident by what joins it: its time span, resources,
// ATT&CK tactics (kept in kill-chain order) and techniques, entities.
func (c *Correlator) extend(in *Incident, first, last time.Time, resources, tactics, techniques, entities []string) {
	if first.Before(in.First) {
		in.First = first
	}
	if last.After(in.Last) {
		in.Last = last
	}
	addAll(&in.Resources, resources, 50)
	addAll(&in.Tactics, tactics, len(TacticOrder)+8)
	sortTactics(in.Tactics)
	addAll(&in.Techniques, techniques, 100)
	for _, e := range entities {
		c.addEntity(in, e)
	}
}

func addAll(dst *[]string, src []string, max int) {
	for _, s := range src {
		if !slices.Contains(*dst, s) && len(*dst) < max {
			*dst = append(*dst, s)
		}
	}
}

func (c *Correlator) addEntity(in *Incident, e string) {
	if slices.Contains(in.Entities, e) || len(in.Entities) >= MaxIncidentEntities {
		return
	}
	in.Entities = append(in.Entities, e)
	c.index[e] = append(c.index[e], in)
}

func (c *Correlator) unindex(e string, in *Incident) {
	ins := slices.DeleteFunc(c.index[e], func(x *Incident) bool { return x == in })
	if len(ins) == 0 {
		delete(c.index, e)
	} else {
		c.index[e] = ins
	}
}

func pendingOf(f *detect.Finding) *pendingSignal {
	said, _, _ := strings.Cut(f.Summary, "; ")
	if f.Source == "ueba" {
		said, _, _ = strings.Cut(said, ", the strongest")
	}
	p := &pendingSignal{id: f.ID, time: f.Time, level: f.Level, title: f.Title, said: said, source: f.Source, who: Who(f), tactics: f.Attack.Tactics, techniques: f.Attack.Techniques}
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

// Who names, for a story, who or what a finding is about: the actor's
// user or session name, else the first resource's name, else the source
// address.
func Who(f *detect.Finding) string {
	a := &f.Actor
	switch {
	case a.Type == "AssumedRole" && a.SessionName != "" && a.UserName != "":
		return a.UserName + "/" + a.SessionName
	case a.UserName != "":
		return a.UserName
	case a.ARN != "":
		if i := strings.LastIndexAny(a.ARN, "/:"); i >= 0 {
			return a.ARN[i+1:]
		}
		return a.ARN
	}
	for _, r := range f.Resources {
		if r.Name != "" {
			return r.Name
		}
	}
	if f.SrcIP != "" {
		return f.SrcIP
	}
	return ""
}

// wait keeps a signal until an alerting finding that shares one of its
// entities files it within the window, dropping the oldest past
// MaxSignals an entity.
func (c *Correlator) wait(ents []string, f *detect.Finding) {
	c.remember(f.ID, "")
	p := pendingOf(f)
	p.entities = ents
	for _, e := range ents {
		ps := append(c.pending[e], p)
		if len(ps) > MaxSignals {
			ps = ps[1:]
		}
		c.pending[e] = ps
	}
}

// take files into an incident the waiting signals of its entities within
// the window of at.
func (c *Correlator) take(in *Incident, at time.Time) {
	for _, e := range in.Entities {
		ps := c.pending[e]
		if len(ps) == 0 {
			continue
		}
		delete(c.pending, e)
		for _, p := range ps {
			if p.taken || at.Sub(p.time) > c.Window || p.time.Sub(at) > c.Window {
				continue
			}
			p.taken = true
			c.file(in, p)
			c.attached = append(c.attached, p.id)
		}
	}
}

// file adds a finding's part to an incident (the score is the caller's).
func (c *Correlator) file(in *Incident, p *pendingSignal) {
	c.remember(p.id, in.ID)
	if len(in.Findings) < MaxFindingIDs {
		in.Findings = append(in.Findings, p.id)
	}
	in.Count++
	if r := detect.LevelRank(p.level); in.Headline == "" || r > worstRank(in.Levels) {
		in.Headline = p.title
	}
	in.Levels[p.level]++
	c.extend(in, p.time, p.time, p.resources, p.tactics, p.techniques, p.entities)
	in.addPart(p.title, p.said, p.level, p.source, p.time, 1, p.who)
}

// worstRank is the rank of the worst level counted, -1 for none.
func worstRank(levels map[string]int) int {
	w := -1
	for lv, n := range levels {
		if r := detect.LevelRank(lv); n > 0 && r > w {
			w = r
		}
	}
	return w
}

func sortTactics(ts []string) {
	sort.SliceStable(ts, func(i, j int) bool { return tacticRank(ts[i]) < tacticRank(ts[j]) })
}

// StoryPart is one step of an incident's story: the findings of one rule,
// who they are about and when the first was.
type StoryPart struct {
	Title  string    `json:"title"`
	Level  string    `json:"level,omitempty"`  // the worst of its findings'
	Source string    `json:"source,omitempty"` // its findings' (sigma, ueba, guardduty, …)
	Said   string    `json:"said,omitempty"`   // its first finding's summary in words
	Who    []string  `json:"who,omitempty"`    // at most maxWho, then WhoMore counts the rest
	More   int       `json:"who_more,omitempty"`
	Count  int       `json:"count"`
	First  time.Time `json:"first"`
}

const (
	maxParts = 12
	maxWho   = 8
)

func (in *Incident) addPart(title, said, level, source string, at time.Time, n int, who ...string) {
	i := slices.IndexFunc(in.Story, func(p StoryPart) bool { return p.Title == title })
	if i < 0 {
		if len(in.Story) >= maxParts {
			return
		}
		in.Story = append(in.Story, StoryPart{Title: title, Said: said, Source: source, First: at})
		i = len(in.Story) - 1
	}
	sp := &in.Story[i]
	sp.Count += n
	if at.Before(sp.First) && said != "" {
		sp.Said = said // the earliest finding's words
	}
	if detect.LevelRank(level) > detect.LevelRank(sp.Level) {
		sp.Level = level
	}
	if at.Before(sp.First) {
		sp.First = at
	}
	for _, w := range who {
		if w == "" || slices.Contains(sp.Who, w) {
			continue
		}
		if len(sp.Who) < maxWho {
			sp.Who = append(sp.Who, w)
		} else {
			sp.More++
		}
	}
	sort.SliceStable(in.Story, func(a, b int) bool { return in.Story[a].First.Before(in.Story[b].First) })
}

func tacticRank(t string) int {
	if i := slices.Index(TacticOrder, t); i >= 0 {
		return i
	}
	return len(TacticOrder)
}

// Risk floors by the worst finding's level, and the level bands risk
// falls in: an incident's level derives from its risk, and its risk is
// never below what its worst finding alone says.
var (
	riskFloor = map[string]float64{"low": 15, "medium": 40, "high": 65, "critical": 85}
	riskBands = []struct {
		min   float64
		level string
	}{{85, "critical"}, {65, "high"}, {40, "medium"}, {15, "low"}, {0, "informational"}}
)

// LevelOf is the level of a risk.
func LevelOf(risk float64) string {
	for _, b := range riskBands {
		if risk >= b.min {
			return b.level
		}
	}
	return "informational"
}

// score: the findings' level weights summed, multiplied by 1.5 for each
// ATT&CK tactic beyond the first (an attack moving through the kill chain
// is worse than noise repeating), squashed to 0–100, then combined with
// the floor the worst finding's level sets; the level is the risk's band.
func (c *Correlator) score(in *Incident, latest *detect.Finding) {
	sum := 0.0
	var parts []string
	worst := ""
	for _, lv := range detect.Levels {
		if n := in.Levels[lv]; n > 0 {
			sum += float64(n) * levelWeight[lv]
			parts = append(parts, fmt.Sprintf("%d %s", n, lv))
			worst = lv
		}
	}
	mult := math.Pow(1.5, float64(max(len(in.Tactics)-1, 0)))
	in.Risk = math.Round(1000*(1-math.Exp(-sum*mult/40))) / 10
	in.Why = []string{fmt.Sprintf("%s finding(s): weight %.0f", strings.Join(parts, ", "), sum)}
	if len(in.Tactics) > 1 {
		in.Why = append(in.Why, fmt.Sprintf("%d ATT&CK tactics in kill-chain order (%s): ×%.2f", len(in.Tactics), strings.Join(in.Tactics, " → "), mult))
	}
	if fl := riskFloor[worst]; fl > 0 {
		// The worst finding alone sets a floor; the rest of the story
		// raises the risk from there (as independent chances: 1-(1-a)(1-b)).
		in.Risk = math.Round(10*(100-(100-fl)*(1-in.Risk/100))) / 10
		in.Why = append(in.Why, fmt.Sprintf("a %s finding sets a floor of %.0f; the rest raises it to %.1f", worst, fl, in.Risk))
	}
	in.Level = LevelOf(in.Risk)
	if in.Headline == "" {
		in.Headline = latest.Title
	}
	in.Title, in.Summary = in.story()
}

// story says the incident in one line: the title names who and the steps
// (rule titles in the order they began), the summary counts each step.
func (in *Incident) story() (title, summary string) {
	var who []string
	var steps []string
	var sum []string
	told := 0 // parts said already by another rule's words
	for _, sp := range in.Story {
		for _, w := range sp.Who {
			if !slices.Contains(who, w) {
				who = append(who, w)
			}
		}
		if len(sum) < 5 {
			var s string
			if sp.Said != "" {
				// In words, with how many more findings like it.
				s = sp.Said
				if sp.Count > 1 {
					s += fmt.Sprintf(" (and %d more like it)", sp.Count-1)
				}
			} else {
				s = sp.Title
				if sp.Count > 1 {
					s += fmt.Sprintf(" ×%d", sp.Count)
				}
				if w := whoList(sp.Who, sp.More); w != "" {
					s = w + ": " + s
				}
			}
			// Two rules on one call say it once.
			if !slices.ContainsFunc(sum, func(x string) bool { return sp.Said != "" && strings.HasPrefix(x, sp.Said) }) {
				sum = append(sum, s)
			} else {
				told++
			}
		}
	}
	// The title's steps: the three worst, what rules found before what
	// the behavioural models found (a rule says what happened; UEBA says
	// it was unusual), the earliest of a kind first; told in the order
	// they began.
	idx := make([]int, len(in.Story))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		pa, pb := in.Story[idx[a]], in.Story[idx[b]]
		if ua, ub := pa.Source == "ueba", pb.Source == "ueba"; ua != ub {
			return ub
		}
		return detect.LevelRank(pa.Level) > detect.LevelRank(pb.Level)
	})
	idx = idx[:min(3, len(idx))]
	sort.Ints(idx)
	for _, i := range idx {
		steps = append(steps, shortTitle(in.Story[i].Title))
	}
	if len(in.Story) > 3 {
		steps = append(steps, fmt.Sprintf("+%d more", len(in.Story)-3))
	}
	if rest := len(in.Story) - len(sum) - told; rest > 0 {
		sum = append(sum, fmt.Sprintf("and %d more kinds of finding", rest))
	}
	if len(steps) == 0 {
		return in.Headline, ""
	}
	title = strings.Join(steps, " → ")
	if w := whoList(who, 0); w != "" {
		title = w + ": " + title
	}
	return title, strings.Join(sum, "; then ")
}

// shortTitle is a step's title for the incident's title: a behavioural
// finding's headline without its details ("Unusual behaviour: frank").
func shortTitle(t string) string {
	if i := strings.Index(t, " — "); i > 0 {
		return t[:i]
	}
	return t
}

// whoList names who a story is about: principals by name (up to three,
// else the first two and how many more), then the resources that are not
// principals counted by kind ("8 instances").
func whoList(who []string, more int) string {
	var people []string
	kinds := map[string]int{}
	var order []string
	for _, w := range who {
		k := thingKind(w)
		if k == "" {
			people = append(people, w)
			continue
		}
		if kinds[k] == 0 {
			order = append(order, k)
		}
		kinds[k]++
	}
	var parts []string
	switch n := len(people); {
	case n == 0:
	case n <= 3:
		parts = append(parts, strings.Join(people, ", "))
	default:
		parts = append(parts, fmt.Sprintf("%s and %d more", strings.Join(people[:2], ", "), n-2))
	}
	for i, k := range order {
		n := kinds[k]
		if i == len(order)-1 {
			n += more // what was not listed is most likely more of the same
		}
		if n == 1 {
			for _, w := range who {
				if thingKind(w) == k {
					parts = append(parts, w)
					break
				}
			}
			continue
		}
		plural := k + "s"
		if strings.HasSuffix(k, "s") {
			plural = k + "es"
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, plural))
	}
	if len(order) == 0 && more > 0 {
		parts = append(parts, fmt.Sprintf("%d more", more))
	}
	return strings.Join(parts, ", ")
}

// thingKind: the kind of a named resource (instance, interface, address),
// "" for a principal.
func thingKind(w string) string {
	switch {
	case strings.HasPrefix(w, "i-") && instanceID.MatchString(w):
		return "instance"
	case strings.HasPrefix(w, "eni-"):
		return "interface"
	}
	if _, err := netip.ParseAddr(w); err == nil {
		return "address"
	}
	return ""
}

// Close marks an incident closed: later findings of its entities open a
// new one. It returns the incident, or nil when the correlator does not
// hold it (the caller updates the stored copy).
func (c *Correlator) Close(id string) *Incident {
	if in := c.open[c.resolve(id)]; in != nil {
		in.Status = "closed"
		return in
	}
	return nil
}

// Evict forgets incidents whose last finding is older than twice the
// window before now (event time): they can take no more findings.
func (c *Correlator) Evict(now time.Time) {
	span := c.MaxSpan
	if span <= 0 {
		span = DefaultMaxSpan
	}
	for id, in := range c.open {
		// One that created something waits longer: what it made may be
		// used later (see Made).
		if keep := 2 * c.Window; now.Sub(in.Last) > keep && (len(in.Made) == 0 || now.Sub(in.Last) > span+c.Window) {
			delete(c.open, id)
			for _, e := range in.Entities {
				c.unindex(e, in)
			}
		}
	}
	for e, ps := range c.pending {
		if now.Sub(ps[len(ps)-1].time) > 2*c.Window {
			delete(c.pending, e)
		}
	}
	if len(c.into) > MaxSeen {
		clear(c.into)
	}
}
