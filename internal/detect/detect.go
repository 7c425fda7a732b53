// Package detect turns events into findings: Sigma rules through an index,
// external findings (GuardDuty) passed through with their own severity,
// and, later, behavioural models. A Finding is shaped like an OCSF
// Detection Finding (2004).
package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parapet-sec/parapet/internal/decode/asff"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/event"
)

// Levels in ascending order.
var Levels = []string{"informational", "low", "medium", "high", "critical"}

// LevelRank orders levels; unknown levels rank below informational.
func LevelRank(level string) int {
	return slices.Index(Levels, level)
}

// Finding is one detection.
type Finding struct {
	// ID is deterministic: a hash of the rule id and the event ids, so a
	// rerun over the same events gives the same ids.
	ID          string
	Time        time.Time // time of the (last) event
	RuleID      string
	Title       string
	Description string
	Level       string
	Source      string // sigma, guardduty, securityhub, ueba
	Attack      Attack
	EventIDs    []string
	Cloud       event.Cloud
	Actor       event.Actor
	SrcIP       string
	Resources   []event.Resource
	Explanation []Evidence
	// Summary says in one line what happened, for tables and
	// notifications.
	Summary string
	// Record is the native record of the finding's (first) event when it
	// has one: playbooks read request parameters from it.
	Record []byte
	// Score is the anomaly score of behavioural findings: -log10 of how
	// rare the event's raw score is among the account's events (4 means
	// one event in 10,000 scores as high). Zero for rule findings.
	Score float64
	// Triage is the rule's guide for the analyst: what to check, in order.
	Triage []string
	// Count is how many events the finding stands for when an Aggregator
	// merged an episode into it (see Aggregator), from FirstSeen to
	// LastSeen; EventIDs then keeps the first MaxEventIDs of them. Zero
	// for a finding that was not aggregated.
	Count               int
	FirstSeen, LastSeen time.Time
	// Retro marks a finding made over history (a new or changed rule, or
	// new indicators, run over the lake), not as its events arrived:
	// playbooks wait for approval on it unless they say otherwise.
	Retro bool
	// group, set by correlation rules, is the correlation's group: the
	// Aggregator merges a correlation's findings by it.
	group string
	// say is the Summary's phrase, which an Aggregator retells for the
	// episode's count ("read 12 objects from acme-logs").
	say, sayMany, sayMixed string
	sayDiffers             bool // an episode whose events tell different stories
}

// Truncated says whether the finding stands for more events than
// EventIDs lists.
func (f *Finding) Truncated() bool { return f.Count > len(f.EventIDs) }

// Attack is the MITRE ATT&CK mapping.
type Attack struct {
	Techniques []string // T1078.004
	Tactics    []string // persistence, privilege-escalation
}

// Evidence is one reason for a finding.
type Evidence struct {
	Selection string // the rule's search; for behavioural findings the model
	Field     string
	Value     string
	Pattern   []string
	// Detail says it in words (behavioural findings), and Score is the
	// factor's contribution (-log10 of its probability).
	Detail string
	Score  float64
}

// FindingID derives the deterministic id.
func FindingID(ruleID string, eventIDs []string) string {
	h := sha256.New()
	h.Write([]byte(ruleID))
	for _, id := range eventIDs {
		h.Write([]byte{0})
		h.Write([]byte(id))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Incomplete lists what a rule lacks that every builtin rule has: an id,
// a level, an ATT&CK technique tag, false positives and a triage guide
// (rules lint --strict holds other rules to it too).
func Incomplete(r *sigma.Rule) []string {
	var miss []string
	if r.ID == "" {
		miss = append(miss, "an id")
	}
	if LevelRank(r.Level) < 0 {
		miss = append(miss, "a level")
	}
	if len(AttackFromTags(r.Tags).Techniques) == 0 {
		miss = append(miss, "an ATT&CK technique tag")
	}
	if len(r.FalsePositives) == 0 {
		miss = append(miss, "falsepositives")
	}
	if len(r.Triage) == 0 {
		miss = append(miss, "a triage guide (triage: steps naming the fields to check, in order)")
	}
	return miss
}

// AttackFromTags reads Sigma's attack.* tags.
func AttackFromTags(tags []string) Attack {
	var a Attack
	for _, t := range tags {
		rest, ok := strings.CutPrefix(strings.ToLower(t), "attack.")
		if !ok {
			continue
		}
		if len(rest) > 1 && rest[0] == 't' && rest[1] >= '0' && rest[1] <= '9' {
			a.Techniques = append(a.Techniques, strings.ToUpper(rest))
		} else if !strings.HasPrefix(rest, "g") && !strings.HasPrefix(rest, "s0") {
			a.Tactics = append(a.Tactics, rest)
		}
	}
	return a
}

// Engine runs detectors over events. It is safe for concurrent use: rules
// are immutable once compiled.
type Engine struct {
	rules *sigma.Set
	// External passes findings carried by events (GuardDuty) through.
	External bool
	// correlations are the correlation rules; feeds maps each base rule
	// to the correlations it feeds; quiet holds base rules whose own
	// findings the correlations keep back (generate: false).
	correlations []*sigma.Rule
	feeds        map[*sigma.Rule][]*corrRef
	quiet        map[*sigma.Rule]bool
	attack       map[*sigma.Rule]Attack // parsed once from the tags
	// matchers are reused across batches: each remembers which rules
	// the operation names it has seen can match.
	matchers sync.Pool
}

// NewEngine builds an engine over compiled rules, correlation rules among
// them.
func NewEngine(rules []*sigma.Rule) *Engine {
	e := &Engine{External: true, feeds: map[*sigma.Rule][]*corrRef{}, quiet: map[*sigma.Rule]bool{}, attack: map[*sigma.Rule]Attack{}}
	var plain []*sigma.Rule
	for _, r := range rules {
		e.attack[r] = AttackFromTags(r.Tags)
		if r.Correlation != nil {
			e.correlations = append(e.correlations, r)
		} else {
			plain = append(plain, r)
		}
	}
	for _, c := range e.correlations {
		for _, r := range plain {
			ref, ok := c.Correlation.Refers(r)
			if !ok {
				continue
			}
			e.feeds[r] = append(e.feeds[r], &corrRef{corr: c, ref: ref, index: slices.Index(c.Correlation.Rules, ref)})
			if !c.Correlation.Generate {
				e.quiet[r] = true
			}
		}
	}
	e.rules = sigma.NewSet(plain)
	return e
}

// Correlations lists the correlation rules and the references among
// them that name no loaded rule.
func (e *Engine) Correlations() (rules []*sigma.Rule, dangling []string) {
	for _, c := range e.correlations {
		for _, ref := range c.Correlation.Rules {
			found := false
			for _, fs := range e.feeds {
				for _, f := range fs {
					if f.corr == c && f.ref == ref {
						found = true
					}
				}
			}
			if !found {
				dangling = append(dangling, fmt.Sprintf("%s: correlation %q names no loaded rule %q", c.File, c.Title, ref))
			}
		}
	}
	return e.correlations, dangling
}

// Rules returns the engine's rule set.
func (e *Engine) Rules() *sigma.Set { return e.rules }

// Quiet reports whether r's own matches make no finding: r feeds
// correlation rules that keep them back (generate: false). Without
// correlations (a hunt), such a rule finds nothing.
func (e *Engine) Quiet(r *sigma.Rule) bool { return e.quiet[r] }

// FromEvent starts a finding on one event: time, event id, cloud, actor,
// source and resources; the caller sets the rest and the id.
func FromEvent(ev *event.Event) Finding {
	f := base(ev)
	f.setSay(say(ev))
	return f
}

func base(ev *event.Event) Finding {
	f := Finding{
		Time:      ev.Time,
		EventIDs:  []string{ev.ID},
		Cloud:     ev.Cloud,
		Actor:     ev.Actor,
		Resources: ev.Resources,
	}
	if ev.Src.IP.IsValid() {
		f.SrcIP = ev.Src.IP.String()
	}
	if ev.Raw.Format == event.RawJSON {
		f.Record = ev.Raw.Data
	}
	return f
}

func fromRule(r *sigma.Rule, attack Attack, ev *event.Event, why []sigma.Match) Finding {
	f := base(ev)
	f.RuleID = r.ID
	if f.RuleID == "" {
		f.RuleID = r.Title
	}
	f.Title = r.Title
	f.Description = r.Description
	f.Triage = r.Triage
	f.Level = r.Level
	if f.Level == "" {
		f.Level = "medium" // Sigma's default when a rule gives none
	}
	f.Source = "sigma"
	f.Attack = attack
	if len(why) > 0 {
		f.Explanation = make([]Evidence, 0, len(why))
	}
	for _, m := range why {
		f.Explanation = append(f.Explanation, Evidence{Selection: m.Search, Field: m.Field, Value: m.Value, Pattern: m.Pattern})
	}
	f.setSay(say(ev))
	f.ID = FindingID(f.RuleID, f.EventIDs)
	return f
}

func external(ev *event.Event) Finding {
	x := ev.Finding
	f := base(ev)
	src := ev.Source.Service() // guardduty, securityhub
	if src == "" {
		src = "external"
	}
	f.RuleID = src + "." + x.Type
	f.Title = x.Title
	if f.Title == "" {
		f.Title = x.Type
	}
	f.Description = x.Description
	f.Level = x.Level
	f.Source = src
	f.Explanation = []Evidence{{Selection: src, Field: "type", Value: x.Type}}
	f.Summary = x.Type
	if len(x.Types) > 0 {
		f.Explanation = append(f.Explanation, Evidence{Selection: src, Field: "types", Value: strings.Join(x.Types, ", ")})
		f.Attack.Tactics, f.Attack.Techniques = asff.Tactics(x.Types)
		if x.Title != "" {
			f.Summary = x.Title
		}
	}
	f.ID = FindingID(f.RuleID, f.EventIDs)
	return f
}
