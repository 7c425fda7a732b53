package sigma

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

// node is a compiled condition.
type node interface {
	eval(d *doc) bool
	// refs lists the searches the node can use, with whether they count
	// positively (not under a not).
	refs(positive bool, fn func(s *search, positive bool))
}

type andNode []node
type orNode []node
type notNode struct{ n node }
type ref struct{ s *search }

func (a andNode) eval(d *doc) bool {
	for _, n := range a {
		if !n.eval(d) {
			return false
		}
	}
	return true
}

func (o orNode) eval(d *doc) bool {
	for _, n := range o {
		if n.eval(d) {
			return true
		}
	}
	return false
}

func (n notNode) eval(d *doc) bool { return !n.n.eval(d) }
func (r ref) eval(d *doc) bool     { return r.s.eval(d) }

func (a andNode) refs(pos bool, fn func(*search, bool)) {
	for _, n := range a {
		n.refs(pos, fn)
	}
}

func (o orNode) refs(pos bool, fn func(*search, bool)) {
	for _, n := range o {
		n.refs(pos, fn)
	}
}

func (n notNode) refs(pos bool, fn func(*search, bool)) { n.n.refs(!pos, fn) }
func (r ref) refs(pos bool, fn func(*search, bool))     { fn(r.s, pos) }

// cost estimates what evaluating n costs.
func cost(n node) int {
	switch n := n.(type) {
	case andNode:
		c := 0
		for _, x := range n {
			c += cost(x)
		}
		return c
	case orNode:
		c := 0
		for _, x := range n {
			c += cost(x)
		}
		return c
	case notNode:
		return cost(n.n)
	case ref:
		c := 0
		for _, conj := range n.s.alts {
			for _, fm := range conj {
				c += fm.cost
			}
		}
		return c
	}
	return 1
}

// byCost orders the operands of every and and or in n cheapest first:
// evaluation has no side effects, so the order changes only how soon an
// operand decides (a rare field absent, or a regular expression never
// run because a cheaper test failed first). The order of equal costs is
// kept.
func byCost(n node) node {
	sorted := func(ns []node) []node {
		out := make([]node, len(ns))
		for i, x := range ns {
			out[i] = byCost(x)
		}
		slices.SortStableFunc(out, func(a, b node) int { return cost(a) - cost(b) })
		return out
	}
	switch n := n.(type) {
	case andNode:
		return andNode(sorted(n))
	case orNode:
		return orNode(sorted(n))
	case notNode:
		return notNode{byCost(n.n)}
	}
	return n
}

// parseCondition compiles a condition over the rule's searches.
func parseCondition(text string, searches map[string]*search) (node, error) {
	if strings.Contains(text, "|") {
		return nil, fmt.Errorf("aggregations after '|' (deprecated Sigma 1 syntax): %w; write a correlation rule", ErrUnsupported)
	}
	p := &condParser{toks: lexCondition(text), searches: searches}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	return n, nil
}

func lexCondition(s string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
			b.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == '(' || r == ')':
			flush()
			out = append(out, string(r))
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			flush()
		default:
			b.WriteRune(r)
		}
	}
	flush()
	return out
}

type condParser struct {
	toks     []string
	pos      int
	searches map[string]*search
}

func (p *condParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *condParser) or() (node, error) {
	first, err := p.and()
	if err != nil {
		return nil, err
	}
	ns := []node{first}
	for strings.EqualFold(p.peek(), "or") {
		p.pos++
		n, err := p.and()
		if err != nil {
			return nil, err
		}
		ns = append(ns, n)
	}
	if len(ns) == 1 {
		return first, nil
	}
	return orNode(ns), nil
}

func (p *condParser) and() (node, error) {
	first, err := p.not()
	if err != nil {
		return nil, err
	}
	ns := []node{first}
	for strings.EqualFold(p.peek(), "and") {
		p.pos++
		n, err := p.not()
		if err != nil {
			return nil, err
		}
		ns = append(ns, n)
	}
	if len(ns) == 1 {
		return first, nil
	}
	return andNode(ns), nil
}

func (p *condParser) not() (node, error) {
	if strings.EqualFold(p.peek(), "not") {
		p.pos++
		n, err := p.not()
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (node, error) {
	t := p.peek()
	switch {
	case t == "":
		return nil, fmt.Errorf("condition ends too early")
	case t == "(":
		p.pos++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing ')'")
		}
		p.pos++
		return n, nil
	case t == ")":
		return nil, fmt.Errorf("unexpected ')'")
	case (t == "1" || strings.EqualFold(t, "any") || strings.EqualFold(t, "all")) && strings.EqualFold(p.tokAt(p.pos+1), "of"):
		pattern := p.tokAt(p.pos + 2)
		if pattern == "" {
			return nil, fmt.Errorf("%s of what?", t)
		}
		p.pos += 3
		var matched []node
		names := slices.Sorted(maps.Keys(p.searches))
		for _, name := range names {
			if strings.EqualFold(pattern, "them") && !strings.HasPrefix(name, "_") {
				matched = append(matched, ref{p.searches[name]})
			} else if ok, _ := path.Match(pattern, name); ok {
				matched = append(matched, ref{p.searches[name]})
			}
		}
		if len(matched) == 0 {
			return nil, fmt.Errorf("%q matches no search identifier", pattern)
		}
		if strings.EqualFold(t, "all") {
			return andNode(matched), nil
		}
		return orNode(matched), nil
	case strings.EqualFold(t, "and") || strings.EqualFold(t, "or") || strings.EqualFold(t, "of"):
		return nil, fmt.Errorf("unexpected %q", t)
	}
	s, ok := p.searches[t]
	if !ok {
		return nil, fmt.Errorf("unknown search identifier %q", t)
	}
	p.pos++
	return ref{s}, nil
}

func (p *condParser) tokAt(i int) string {
	if i < len(p.toks) {
		return p.toks[i]
	}
	return ""
}
