package sigma

import (
	"slices"
	"strings"

	"github.com/parapet-sec/parapet/internal/event"
)

// tri is a three-valued truth: what a condition is when only some of the
// event's fields are known.
type tri uint8

const (
	no tri = iota
	yes
	maybe
)

// MayMatch reports whether some rule of the set can match an event of
// which only some fields are known: ev holds them (read as Match reads
// fields from an event; a known field ev lacks is absent from the event),
// known names them, and every other field may hold anything. It is false
// only when no event whose known fields read as ev's matches a rule, so
// that a caller knowing a few fields of a record (a lake's promoted
// columns) can pass over the records no rule matches without decoding
// them. Only CloudTrail events with a known operation (eventName) are
// judged; for the others it is true. Rules are evaluated in three-valued
// logic: a test of an unknown field, a keyword or a field reference is
// unknown, and a rule can match unless its condition is false.
func (m *Matcher) MayMatch(ev *event.Event, known func(field string) bool) bool {
	ix := m.set.sources[ev.Source]
	if ix == nil {
		return false // Match calls no rule for such an event either
	}
	if ev.Source != event.SourceCloudTrail || ev.API.Operation == "" || !known(indexed) {
		return true
	}
	m.d.reset(ev)
	defer m.d.reset(nil)
	if len(ix.byName) > 0 {
		for _, r := range ix.lookup(ev.API.Operation) {
			if r.cond != nil && may(r.cond, &m.d, known) != no {
				return true
			}
		}
	}
	for _, r := range m.always(ix, ev) {
		if r.cond != nil && may(r.cond, &m.d, known) != no {
			return true
		}
	}
	return false
}

// may evaluates n in three-valued logic.
func may(n node, d *doc, known func(string) bool) tri {
	switch n := n.(type) {
	case andNode:
		out := yes
		for _, c := range n {
			switch may(c, d, known) {
			case no:
				return no
			case maybe:
				out = maybe
			}
		}
		return out
	case orNode:
		out := no
		for _, c := range n {
			switch may(c, d, known) {
			case yes:
				return yes
			case maybe:
				out = maybe
			}
		}
		return out
	case notNode:
		switch may(n.n, d, known) {
		case yes:
			return no
		case no:
			return yes
		}
		return maybe
	case ref:
		out := no
		for _, conj := range n.s.alts {
			alt := yes
			for _, fm := range conj {
				switch {
				case !fm.knownIn(known):
					alt = maybe
				default:
					if _, ok := fm.eval(d); !ok {
						alt = no
					}
				}
				if alt == no {
					break
				}
			}
			switch alt {
			case yes:
				return yes
			case maybe:
				out = maybe
			}
		}
		return out
	}
	return maybe // a node this evaluation does not know
}

// knownIn reports whether the test reads only a known field: not a
// keyword (the whole record), nor a field reference (another field too).
func (fm *fieldMatch) knownIn(known func(string) bool) bool {
	if fm.field == "" || !known(fm.field) {
		return false
	}
	return !slices.Contains(strings.Split(fm.key, "|")[1:], "fieldref")
}
