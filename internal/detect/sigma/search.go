package sigma

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"

	"go.yaml.in/yaml/v3"

	"github.com/parapet-sec/parapet/internal/event"
)

// search is one named search identifier: alternatives (a list of maps, or
// the values of a keyword list) of which any must hold; each alternative
// is a conjunction of field matchers.
type search struct {
	name string
	line int
	alts [][]*fieldMatch
}

// fieldMatch tests one field (or, for keywords, the whole record).
type fieldMatch struct {
	field string // "" for keywords
	key   string // as written, with modifiers
	all   bool   // every value must match (|all)
	preds []pred
	// str holds the value tests on the field's text; they share one read
	// of the field (preds holds the others: null, exists, fieldref,
	// keywords).
	str     []func(string) bool
	pattern []string // the values as written, for explanations
	// exact holds the values of plain equality tests without wildcards or
	// transforms, one per pred when every value is one: the index uses them.
	exact []string
	cost  int // see buildField: and and or test cheap operands first
}

// pred tests the event; it returns the field value that matched.
type pred func(d *doc, field string) (string, bool)

func (s *search) eval(d *doc) bool {
	for _, conj := range s.alts {
		ok := true
		for _, fm := range conj {
			if _, m := fm.eval(d); !m {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (fm *fieldMatch) eval(d *doc) (string, bool) {
	var hit string
	if len(fm.str) > 0 {
		vals := d.values(fm.field)
		if fm.all {
			for _, m := range fm.str {
				found := false
				for _, v := range vals {
					if m(v) {
						hit, found = v, true
						break
					}
				}
				if !found {
					return "", false
				}
			}
		} else {
			for _, v := range vals {
				for _, m := range fm.str {
					if m(v) {
						return v, true
					}
				}
			}
		}
	}
	if fm.all {
		for _, p := range fm.preds {
			v, ok := p(d, fm.field)
			if !ok {
				return "", false
			}
			hit = v
		}
		return hit, len(fm.preds)+len(fm.str) > 0
	}
	for _, p := range fm.preds {
		if v, ok := p(d, fm.field); ok {
			return v, true
		}
	}
	return "", false
}

func parseSearch(name string, n *yaml.Node, file string, opt Options) (*search, error) {
	s := &search{name: name, line: n.Line}
	switch n.Kind {
	case yaml.MappingNode:
		conj, err := parseMap(n, file, opt)
		if err != nil {
			return nil, err
		}
		s.alts = [][]*fieldMatch{conj}
	case yaml.SequenceNode:
		if len(n.Content) > 0 && n.Content[0].Kind == yaml.MappingNode {
			for _, m := range n.Content {
				if m.Kind != yaml.MappingNode {
					return nil, errAt(file, m, "search %s mixes maps and values", name)
				}
				conj, err := parseMap(m, file, opt)
				if err != nil {
					return nil, err
				}
				s.alts = append(s.alts, conj)
			}
			break
		}
		// A list of keywords: any of them anywhere in the record.
		fm, err := buildField("", "", nil, n, file, opt)
		if err != nil {
			return nil, err
		}
		s.alts = [][]*fieldMatch{{fm}}
	case yaml.ScalarNode:
		fm, err := buildField("", "", nil, n, file, opt)
		if err != nil {
			return nil, err
		}
		s.alts = [][]*fieldMatch{{fm}}
	default:
		return nil, errAt(file, n, "search %s: want a map, a list of maps or keywords", name)
	}
	return s, nil
}

func parseMap(n *yaml.Node, file string, opt Options) ([]*fieldMatch, error) {
	var conj []*fieldMatch
	for _, kv := range mapping(n) {
		parts := strings.Split(kv[0].Value, "|")
		fm, err := buildField(parts[0], kv[0].Value, parts[1:], kv[1], file, opt)
		if err != nil {
			return nil, err
		}
		conj = append(conj, fm)
	}
	return conj, nil
}

// valueNodes flattens a value or a list of values.
func valueNodes(n *yaml.Node) []*yaml.Node {
	if n.Kind == yaml.SequenceNode {
		return n.Content
	}
	return []*yaml.Node{n}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// buildField compiles one "field|mod|mod: values" entry.
func buildField(field, key string, mods []string, n *yaml.Node, file string, opt Options) (*fieldMatch, error) {
	fm := &fieldMatch{field: field, key: key}
	var (
		transforms []string
		kind       = "equals"
		cased      bool
		reFlags    string
	)
	for _, m := range mods {
		switch m {
		case "all":
			fm.all = true
		case "cased":
			cased = true
		case "contains", "startswith", "endswith", "re", "cidr", "exists", "fieldref", "lt", "lte", "gt", "gte":
			if kind != "equals" {
				return nil, errAt(file, n, "%s: %s and %s cannot be combined", key, kind, m)
			}
			kind = m
		case "i", "m", "s":
			reFlags += m
		case "base64", "base64offset", "utf16", "utf16le", "utf16be", "wide", "windash", "expand":
			transforms = append(transforms, m)
		default:
			return nil, errAt(file, n, "%s: unknown modifier %q", key, m)
		}
	}
	if reFlags != "" && kind != "re" {
		return nil, errAt(file, n, "%s: regular expression flags without |re", key)
	}
	if field == "" {
		if kind != "equals" && kind != "contains" {
			return nil, errAt(file, n, "keywords take no %s modifier", kind)
		}
		kind = "contains" // a keyword is found anywhere in the record
	}
	for _, vn := range valueNodes(n) {
		if vn.Kind != yaml.ScalarNode {
			return nil, errAt(file, vn, "%s: values must be scalars", key)
		}
		fm.pattern = append(fm.pattern, vn.Value)
		if isNull(vn) {
			if field == "" {
				return nil, errAt(file, vn, "a keyword cannot be null")
			}
			fm.preds = append(fm.preds, nullPred)
			continue
		}
		var p pred
		var err error
		switch kind {
		case "exists":
			want, perr := strconv.ParseBool(vn.Value)
			if perr != nil {
				return nil, errAt(file, vn, "%s: exists wants true or false", key)
			}
			p = existsPred(want)
		case "fieldref":
			p = fieldrefPred(vn.Value, cased)
		case "cidr":
			pfx, perr := netip.ParsePrefix(vn.Value)
			if perr != nil {
				return nil, errAt(file, vn, "%s: %v", key, perr)
			}
			fm.str = append(fm.str, func(s string) bool {
				a, e := netip.ParseAddr(s)
				return e == nil && pfx.Contains(a.Unmap())
			})
			continue
		case "lt", "lte", "gt", "gte":
			limit, perr := strconv.ParseFloat(vn.Value, 64)
			if perr != nil {
				return nil, errAt(file, vn, "%s: %s wants a number", key, kind)
			}
			fm.str = append(fm.str, numMatch(kind, limit))
			continue
		case "re":
			// Sigma regular expressions are case-sensitive unless |i says
			// otherwise.
			flags := reFlags
			expr := vn.Value
			if flags != "" {
				expr = "(?" + flags + ")" + expr
			}
			re, rerr := regexp.Compile(expr)
			if rerr != nil {
				return nil, errAt(file, vn, "%s: %v", key, rerr)
			}
			fm.str = append(fm.str, reMatcher(re))
			continue
		default:
			values, terr := transform(vn.Value, transforms, opt)
			if terr != nil {
				return nil, errAt(file, vn, "%s: %v", key, terr)
			}
			var alts []func(string) bool
			for _, v := range values {
				alts = append(alts, globMatcher(v, kind, cased, encoded(transforms)))
			}
			match := func(s string) bool {
				for _, a := range alts {
					if a(s) {
						return true
					}
				}
				return false
			}
			if kind == "equals" && len(transforms) == 0 && !cased {
				if toks := tokens(vn.Value, false); len(toks) == 1 && toks[0].wild == 0 {
					fm.exact = append(fm.exact, toks[0].lit)
				}
			}
			if field != "" {
				fm.str = append(fm.str, match)
				continue
			}
			p = keywordPred(match)
		}
		if err != nil {
			return nil, err
		}
		fm.preds = append(fm.preds, p)
	}
	if len(fm.preds)+len(fm.str) == 0 {
		return nil, errAt(file, n, "%s: no values", key)
	}
	// What testing it costs, roughly: a read of the field, and a test per
	// value (a regular expression much more); keywords search the record.
	per := 1
	switch kind {
	case "re":
		per = 16
	case "cidr", "fieldref":
		per = 2
	case "lt", "lte", "gt", "gte":
		per = 0 // cheap, and thresholds are seldom crossed: test them early
	}
	fm.cost = 2 + per*len(fm.pattern)
	if field == "" {
		fm.cost += 30
	}
	return fm, nil
}

// keywordPred tests the whole native record.
func keywordPred(match func(string) bool) pred {
	return func(d *doc, _ string) (string, bool) {
		ev := d.ev
		var text string
		if ev.Raw.Format == event.RawFields {
			text = strings.Join(ev.Raw.Values, " ")
		} else {
			text = string(ev.Raw.Data)
		}
		return "(record)", match(text)
	}
}

// nullPred: the field is absent or null.
func nullPred(d *doc, field string) (string, bool) {
	found, null := d.lookup(field)
	return "null", !found || null
}

func existsPred(want bool) pred {
	return func(d *doc, field string) (string, bool) {
		found, _ := d.lookup(field)
		return "", found == want
	}
}

func fieldrefPred(other string, cased bool) pred {
	return func(d *doc, field string) (string, bool) {
		ev := d.ev
		a, ok1 := ev.Lookup(field)
		b, ok2 := ev.Lookup(other)
		if !ok1 || !ok2 {
			return "", false
		}
		as, bs := a.String(), b.String()
		if cased {
			return as, as == bs
		}
		return as, strings.EqualFold(as, bs)
	}
}

func numMatch(kind string, limit float64) func(string) bool {
	return func(s string) bool {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return false
		}
		switch kind {
		case "lt":
			return f < limit
		case "lte":
			return f <= limit
		case "gt":
			return f > limit
		}
		return f >= limit
	}
}

// transform applies value modifiers in the order written; each may turn
// one value into several alternatives.
func transform(v string, mods []string, opt Options) ([]string, error) {
	vals := []string{v}
	for _, m := range mods {
		var next []string
		for _, s := range vals {
			switch m {
			case "base64":
				next = append(next, base64.StdEncoding.EncodeToString([]byte(s)))
			case "base64offset":
				next = append(next, base64Offsets(s)...)
			case "utf16le", "wide", "utf16":
				b := utf16Bytes(s, false)
				if m == "utf16" {
					b = append([]byte{0xff, 0xfe}, b...)
				}
				next = append(next, string(b))
			case "utf16be":
				next = append(next, string(utf16Bytes(s, true)))
			case "windash":
				next = append(next, windash(s)...)
			case "expand":
				ex, err := expand(s, opt.Placeholders)
				if err != nil {
					return nil, err
				}
				next = append(next, ex...)
			}
		}
		vals = next
	}
	return vals, nil
}

// encoded reports whether the value was encoded (base64, UTF-16): its
// characters are then literal, never wildcards.
func encoded(mods []string) bool {
	for _, m := range mods {
		if m != "windash" && m != "expand" {
			return true
		}
	}
	return false
}

func utf16Bytes(s string, bigEndian bool) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

// base64Offsets is the base64 of s at each of the three alignments it can
// have inside a longer encoded text, without the characters that depend on
// its neighbours (as Sigma specifies).
func base64Offsets(s string) []string {
	starts := []int{0, 2, 3}
	ends := []int{0, -3, -2}
	var out []string
	for i := range 3 {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, i), s...))
		enc = enc[starts[i]:]
		cut := len(enc)
		if r := (len(s) + i) % 3; r != 0 {
			cut += ends[r]
		}
		out = append(out, strings.TrimRight(enc[:max(cut, 0)], "="))
	}
	return out
}

// windash gives the variants of a command line with its dashes swapped for
// the other characters Windows accepts.
func windash(s string) []string {
	out := []string{s}
	for _, d := range []string{"/", "\u2013", "\u2014", "\u2015"} {
		var b strings.Builder
		for i, r := range s {
			if r == '-' && (i == 0 || s[i-1] == ' ') {
				b.WriteString(d)
			} else {
				b.WriteRune(r)
			}
		}
		if b.String() != s {
			out = append(out, b.String())
		}
	}
	return out
}

func expand(s string, ph map[string][]string) ([]string, error) {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return []string{s}, nil
	}
	j := strings.IndexByte(s[i+1:], '%')
	if j < 0 {
		return []string{s}, nil
	}
	name := s[i+1 : i+1+j]
	vals, ok := ph[name]
	if !ok {
		return nil, fmt.Errorf("placeholder %%%s%% has no values (give them with --placeholders)", name)
	}
	var out []string
	for _, v := range vals {
		rest, err := expand(s[i+2+j:], ph)
		if err != nil {
			return nil, err
		}
		for _, r := range rest {
			out = append(out, s[:i]+v+r)
		}
	}
	return out, nil
}
