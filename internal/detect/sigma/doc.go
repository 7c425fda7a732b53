package sigma

import (
	"strings"

	"github.com/parapet-sec/parapet/internal/event"
)

// doc is one event under evaluation with the values of the fields read so
// far, so that the rules testing a field, and the explanation of a match,
// read it once per event (a field outside the decoded model is a walk
// through the raw record).
type doc struct {
	ev    *event.Event
	names []string
	vals  [][]string
	first []uint8 // firstFound, firstNull: the field's first value, as Lookup sees it
	buf   []string
}

const (
	firstFound = 1 << iota
	firstNull
)

func (d *doc) reset(ev *event.Event) {
	d.ev = ev
	clear(d.names) // let the previous event's strings go
	clear(d.vals)
	d.names, d.vals, d.first = d.names[:0], d.vals[:0], d.first[:0]
	d.buf = d.buf[:0]
}

// values reads a field: every value on its path, an array's elements one
// by one and then the array as JSON text, objects as JSON text; null is no
// value. The result is valid until the next reset.
func (d *doc) values(field string) []string {
	return d.vals[d.read(field)]
}

// lookup reports whether the field has a value and whether its first
// value is null, as event.Lookup would.
func (d *doc) lookup(field string) (found, null bool) {
	f := d.first[d.read(field)]
	return f&firstFound != 0, f&firstNull != 0
}

// read reads the field once per event; it returns its index in names.
func (d *doc) read(field string) int {
	for i, n := range d.names {
		if n == field {
			return i
		}
	}
	start := len(d.buf)
	var first uint8
	d.ev.Each(field, func(v event.Value) bool {
		if first == 0 {
			first = firstFound
			if v.Kind == event.KindNull {
				first |= firstNull
			}
		}
		if v.Kind == event.KindArray {
			v.Elements(func(el event.Value) bool {
				if el.Kind != event.KindNull {
					d.buf = append(d.buf, el.String())
				}
				return true
			})
		}
		if v.Kind != event.KindNull {
			d.buf = append(d.buf, v.String())
		}
		return true
	})
	v := d.buf[start:len(d.buf):len(d.buf)]
	d.names = append(d.names, field)
	d.vals = append(d.vals, v)
	d.first = append(d.first, first)
	return len(d.names) - 1
}

// Matcher evaluates a Set on one event at a time, reading each field once
// per event across all the rules. It is not safe for concurrent use: use
// one per goroutine.
type Matcher struct {
	set  *Set
	d    doc
	why  []Match
	memo map[*index]map[string][]*Rule // see always
}

// Matcher returns a matcher over the set.
func (s *Set) Matcher() *Matcher { return &Matcher{set: s} }

// Match calls fn with every rule ev satisfies, in rule order within the
// indexed and the always-tested groups. During fn, Explain explains the
// match.
func (m *Matcher) Match(ev *event.Event, fn func(*Rule)) {
	ix := m.set.sources[ev.Source]
	if ix == nil {
		return
	}
	m.d.reset(ev)
	defer m.d.reset(nil)
	if ev.Source != event.SourceCloudTrail && len(ix.byName) > 0 {
		// The rules filed under the operation field's value, as the rules
		// read it; several values or one not ASCII: all of them (each
		// tests the field itself).
		rules := ix.indexed
		switch vals := m.d.values(ix.field); {
		case len(vals) == 0:
			rules = nil
		case len(vals) == 1 && isASCII(vals[0]):
			rules = ix.lookup(vals[0])
		}
		for _, r := range rules {
			if r.cond != nil && r.cond.eval(&m.d) {
				fn(r)
			}
		}
	} else if op := ev.API.Operation; op != "" && len(ix.byName) > 0 {
		for _, r := range ix.lookup(op) {
			if r.cond != nil && r.cond.eval(&m.d) {
				fn(r)
			}
		}
	}
	for _, r := range m.always(ix, ev) {
		if r.cond != nil && r.cond.eval(&m.d) {
			fn(r)
		}
	}
}

// always returns the always-tested rules of ix that can match ev: those
// whose condition requires some test of the operation field that its
// value fails are left out (remembered per value).
func (m *Matcher) always(ix *index, ev *event.Event) []*Rule {
	if len(ix.always) == 0 || ix.field == "" {
		return ix.always
	}
	var v string
	if ev.Source == event.SourceCloudTrail {
		v = ev.API.Operation
	} else {
		switch vals := m.d.values(ix.field); len(vals) {
		case 0:
			v = ""
		case 1:
			v = vals[0]
		default:
			return ix.always // several values: the rules test them
		}
	}
	memo := m.memo[ix]
	if memo == nil {
		if m.memo == nil {
			m.memo = map[*index]map[string][]*Rule{}
		}
		memo = map[string][]*Rule{}
		m.memo[ix] = memo
	}
	rules, ok := memo[v]
	if !ok {
		rules = ix.alwaysFor(v)
		if len(memo) >= maxMemo {
			clear(memo)
		}
		memo[strings.Clone(v)] = rules
	}
	return rules
}

// maxMemo bounds the operation names a Matcher remembers per source.
const maxMemo = 4096

// lookup returns the rules filed under name, whatever its case.
func (ix *index) lookup(name string) []*Rule {
	if len(name) > 64 {
		return ix.byName[strings.ToLower(name)]
	}
	var buf [64]byte
	b := buf[:len(name)]
	for i := range len(name) {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return ix.byName[string(b)] // the conversion does not allocate
}

// Explain lists what made the event of the current Match call satisfy r;
// see Rule.Explain. The slice is valid until the next call: copy what you
// keep.
func (m *Matcher) Explain(r *Rule) []Match {
	m.why = r.appendExplain(m.why[:0], &m.d)
	return m.why
}
