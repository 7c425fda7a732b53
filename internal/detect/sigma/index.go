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
	// tests holds, for the rules of always whose condition requires the
	// field to pass some other test (startswith, endswith, contains, a
	// pattern), those tests: the rule is a candidate only for a value one
	// of them accepts. nil for the others.
	tests [][]*fieldMatch
}

// alwaysFor returns the rules of always that are candidates for the
// field's value v.
func (ix *index) alwaysFor(v string) []*Rule {
	var out []*Rule
	for i, r := range ix.always {
		if ts := ix.tests[i]; ts != nil && !accepts(ts, v) {
			continue
		}
		out = append(out, r)
	}
	return out
}

func accepts(tests []*fieldMatch, v string) bool {
	for _, fm := range tests {
		for _, m := range fm.str {
			if m(v) {
				return true
			}
		}
	}
	return false
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
				tests, ok := requiredTests(r.cond, ix.field)
				if !ok {
					tests = nil
				}
				ix.tests = append(ix.tests, tests)
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
// n must have, when n implies such a set: the required tests, when all of
// them are plain equality.
func required(n node, field string) (nameSet, bool) {
	tests, ok := requiredTests(n, field)
	if !ok || !exactOnly(tests) {
		return nil, false
	}
	names := nameSet{}
	for _, fm := range tests {
		for _, v := range fm.exact {
			names[strings.ToLower(v)] = struct{}{}
		}
	}
	return names, len(names) > 0
}

// requiredTests returns value tests on field (without |all, null or
// exists) one of which every event matching n passes, when n implies
// them. Where there is a choice (the operands of an and, the tests of one
// alternative of a search) plain equality comes first, then the fewest
// values.
func requiredTests(n node, field string) ([]*fieldMatch, bool) {
	if field == "" {
		return nil, false
	}
	switch n := n.(type) {
	case ref:
		var all []*fieldMatch
		for _, conj := range n.s.alts {
			var pick *fieldMatch
			for _, fm := range conj {
				if fm.field != field || fm.all || len(fm.preds) > 0 || len(fm.str) == 0 {
					continue
				}
				if pick == nil || exactOnly([]*fieldMatch{fm}) && !exactOnly([]*fieldMatch{pick}) {
					pick = fm
				}
			}
			if pick == nil {
				return nil, false
			}
			all = append(all, pick)
		}
		return all, len(all) > 0
	case andNode:
		var best []*fieldMatch
		for _, c := range n {
			if s, ok := requiredTests(c, field); ok && (best == nil || better(s, best)) {
				best = s
			}
		}
		return best, best != nil
	case orNode:
		var all []*fieldMatch
		for _, c := range n {
			s, ok := requiredTests(c, field)
			if !ok {
				return nil, false
			}
			all = append(all, s...)
		}
		return all, true
	}
	return nil, false // not, or anything else: no constraint
}

// exactOnly reports whether every test is plain equality without
// wildcards or transforms (the index files those by name).
func exactOnly(tests []*fieldMatch) bool {
	for _, fm := range tests {
		if len(fm.exact) == 0 || len(fm.exact) != len(fm.str) {
			return false
		}
	}
	return true
}

// better: plain equality first, then fewer values.
func better(a, b []*fieldMatch) bool {
	if ea, eb := exactOnly(a), exactOnly(b); ea != eb {
		return ea
	}
	return values(a) < values(b)
}

func values(tests []*fieldMatch) int {
	n := 0
	for _, fm := range tests {
		n += len(fm.str)
	}
	return n
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
