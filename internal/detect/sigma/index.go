package sigma

import (
	"strings"
	"unicode/utf8"

	"github.com/parapet-sec/parapet/internal/event"
)

// Set is a compiled rule set with an index, so that an event is only
// tested against the rules that could match it: a rule whose condition
// requires the operation field of its log source (CloudTrail's eventName,
// Azure's operationName, GCP's protoPayload.methodName) to be one of some
// constants is filed under those names; the others are tested on every
// event of their log source.
type Set struct {
	rules   []*Rule
	sources map[event.Source]*index
}

type index struct {
	field   string             // the field indexed
	byName  map[string][]*Rule // its lower-cased values
	indexed []*Rule            // the rules in byName, in rule order
	always  []*Rule
}

// indexed is the field the index keys on for CloudTrail, whose decoded
// operation (event.API.Operation) is its value.
const indexed = "eventName"

// indexFields are the fields the index keys on, by source. Sources other
// than CloudTrail are looked up by the field's value as rules read it.
var indexFields = map[event.Source]string{
	event.SourceCloudTrail:    indexed,
	event.SourceAzureActivity: "operationName",
	event.SourceGCPAudit:      "protoPayload.methodName",
}

// NewSet indexes rules for the sources Parapet decodes.
func NewSet(rules []*Rule) *Set {
	s := &Set{rules: rules, sources: map[event.Source]*index{}}
	for _, src := range event.Sources {
		ix := &index{field: indexFields[src], byName: map[string][]*Rule{}}
		for _, r := range rules {
			if !r.Applies(src) {
				continue
			}
			names, ok := required(r.cond, ix.field)
			if ok && src != event.SourceCloudTrail {
				// Looked up by the value's lower case, which agrees with
				// case-insensitive equality only on ASCII.
				for n := range names {
					ok = ok && isASCII(n)
				}
			}
			if !ok || ix.field == "" {
				ix.always = append(ix.always, r)
				continue
			}
			for n := range names {
				ix.byName[n] = append(ix.byName[n], r)
			}
			ix.indexed = append(ix.indexed, r)
		}
		s.sources[src] = ix
	}
	return s
}

// Rules returns the rules of the set.
func (s *Set) Rules() []*Rule { return s.rules }

// Candidates is how many rules an event of src with operation op is
// tested against.
func (s *Set) Candidates(src event.Source, op string) int {
	ix := s.sources[src]
	if ix == nil {
		return 0
	}
	return len(ix.always) + len(ix.byName[strings.ToLower(op)])
}

// Match calls fn with every rule ev satisfies, in rule order within the
// indexed and the always-tested groups. Matching many events, use a
// Matcher.
func (s *Set) Match(ev *event.Event, fn func(*Rule)) {
	s.Matcher().Match(ev, fn)
}

type nameSet map[string]struct{}

// required returns the values of field one of which every event matching
// n must have, when n implies such a set.
func required(n node, field string) (nameSet, bool) {
	if field == "" {
		return nil, false
	}
	switch n := n.(type) {
	case ref:
		return searchRequired(n.s, field)
	case andNode:
		var best nameSet
		for _, c := range n {
			if s, ok := required(c, field); ok && (best == nil || len(s) < len(best)) {
				best = s
			}
		}
		return best, best != nil
	case orNode:
		all := nameSet{}
		for _, c := range n {
			s, ok := required(c, field)
			if !ok {
				return nil, false
			}
			for k := range s {
				all[k] = struct{}{}
			}
		}
		return all, true
	}
	return nil, false // not, or anything else: no constraint
}

func searchRequired(s *search, field string) (nameSet, bool) {
	all := nameSet{}
	for _, conj := range s.alts {
		found := false
		for _, fm := range conj {
			if fm.field != field || fm.all || len(fm.exact) == 0 || len(fm.exact) != len(fm.str) || len(fm.preds) > 0 {
				continue
			}
			for _, v := range fm.exact {
				all[strings.ToLower(v)] = struct{}{}
			}
			found = true
			break
		}
		if !found {
			return nil, false
		}
	}
	return all, len(all) > 0
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
