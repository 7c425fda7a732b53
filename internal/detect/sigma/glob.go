package sigma

import (
	"regexp"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// token is a piece of a Sigma value: literal text, or a wildcard.
type token struct {
	lit  string
	wild byte // '*' or '?', 0 for literal
}

// tokens splits a Sigma value: * and ? are wildcards; \*, \? and \\ are
// the literal characters; any other backslash is itself.
func tokens(v string, literal bool) []token {
	if literal {
		return []token{{lit: v}}
	}
	var out []token
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			out = append(out, token{lit: b.String()})
			b.Reset()
		}
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && i+1 < len(v) && (v[i+1] == '*' || v[i+1] == '?' || v[i+1] == '\\'):
			b.WriteByte(v[i+1])
			i++
		case c == '*' || c == '?':
			flush()
			out = append(out, token{wild: c})
		default:
			b.WriteByte(c)
		}
	}
	flush()
	return out
}

// globMatcher compiles a value under a match kind (equals, contains,
// startswith, endswith) into a test, case-insensitive unless cased.
func globMatcher(v, kind string, cased, literal bool) func(string) bool {
	toks := tokens(v, literal)
	switch kind {
	case "contains":
		toks = append(append([]token{{wild: '*'}}, toks...), token{wild: '*'})
	case "startswith":
		toks = append(toks, token{wild: '*'})
	case "endswith":
		toks = append([]token{{wild: '*'}}, toks...)
	}
	// Collapse runs of '*'.
	var t []token
	for _, tk := range toks {
		if tk.wild == '*' && len(t) > 0 && t[len(t)-1].wild == '*' {
			continue
		}
		t = append(t, tk)
	}
	fold := func(s string) string {
		if cased {
			return s
		}
		return strings.ToLower(s)
	}
	star := func(i int) bool { return i >= 0 && i < len(t) && t[i].wild == '*' }
	lit := func(i int) (string, bool) {
		if i >= 0 && i < len(t) && t[i].wild == 0 {
			return fold(t[i].lit), true
		}
		return "", false
	}
	switch {
	case len(t) == 0:
		return func(s string) bool { return s == "" }
	case len(t) == 1 && star(0):
		return func(string) bool { return true }
	case len(t) == 1:
		l, _ := lit(0)
		if cased {
			return func(s string) bool { return s == l }
		}
		switch n, exact, ascii := foldLen(l); {
		case exact:
			return func(s string) bool { return len(s) == n && strings.EqualFold(s, l) }
		case ascii:
			return func(s string) bool { return len(s) >= n && strings.EqualFold(s, l) }
		}
		return func(s string) bool { return strings.EqualFold(s, l) }
	case len(t) == 2 && star(1):
		if l, ok := lit(0); ok {
			if !cased && isASCII(l) {
				return func(s string) bool { return hasPrefixFold(s, l) }
			}
			return func(s string) bool { return strings.HasPrefix(fold(s), l) }
		}
	case len(t) == 2 && star(0):
		if l, ok := lit(1); ok {
			if !cased && isASCII(l) {
				return func(s string) bool { return hasSuffixFold(s, l) }
			}
			return func(s string) bool { return strings.HasSuffix(fold(s), l) }
		}
	case len(t) == 3 && star(0) && star(2):
		if l, ok := lit(1); ok {
			if !cased && isASCII(l) {
				return func(s string) bool { return containsFold(s, l) }
			}
			return func(s string) bool { return strings.Contains(fold(s), l) }
		}
	}
	// Only '*' wildcards: literal segments in order, without a regexp.
	hasQ := false
	for _, tk := range t {
		if tk.wild == '?' {
			hasQ = true
		}
	}
	if !hasQ {
		var segs []string
		for _, tk := range t {
			if tk.wild == 0 {
				segs = append(segs, fold(tk.lit))
			}
		}
		anchoredStart, anchoredEnd := t[0].wild == 0, t[len(t)-1].wild == 0
		if !cased {
			return func(s string) bool {
				var buf [256]byte
				if len(s) <= len(buf) && isASCII(s) {
					// Lower-cased on the stack: ASCII lower-cases byte for byte.
					for i := 0; i < len(s); i++ {
						buf[i] = lowerASCII(s[i])
					}
					return segmentsMatch(unsafe.String(&buf[0], len(s)), segs, anchoredStart, anchoredEnd)
				}
				return segmentsMatch(strings.ToLower(s), segs, anchoredStart, anchoredEnd)
			}
		}
		return func(s string) bool { return segmentsMatch(s, segs, anchoredStart, anchoredEnd) }
	}
	// General case: an anchored regular expression.
	var re strings.Builder
	if !cased {
		re.WriteString("(?i)")
	}
	re.WriteString("(?s)^")
	for _, tk := range t {
		switch tk.wild {
		case '*':
			re.WriteString(".*")
		case '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(tk.lit))
		}
	}
	re.WriteString("$")
	rx := regexp.MustCompile(re.String()) // built from quoted parts: always valid
	return rx.MatchString
}

// segmentsMatch reports whether s holds segs in order, the first at the
// start when anchoredStart, the last at the end when anchoredEnd.
func segmentsMatch(s string, segs []string, anchoredStart, anchoredEnd bool) bool {
	if len(segs) == 0 {
		return true
	}
	last := len(segs) - 1
	if anchoredEnd {
		if !strings.HasSuffix(s, segs[last]) {
			return false
		}
		s = s[:len(s)-len(segs[last])]
		if anchoredStart && last == 0 {
			// one segment anchored at both ends: the whole string
			return s == ""
		}
		segs = segs[:last]
	}
	for i, seg := range segs {
		if i == 0 && anchoredStart {
			if !strings.HasPrefix(s, seg) {
				return false
			}
			s = s[len(seg):]
			continue
		}
		k := strings.Index(s, seg)
		if k < 0 {
			return false
		}
		s = s[k+len(seg):]
	}
	return true
}

// foldLen says what a string equal to l under simple case folding can
// measure when l is ASCII: an ASCII letter folds only with its other case
// (one byte), except k with the Kelvin sign and s with the long s (more
// bytes), and no other rune folds to ASCII. So without k or s the length
// is len(l) exactly; with them at least len(l).
func foldLen(l string) (n int, exact, ascii bool) {
	exact = true
	for i := 0; i < len(l); i++ {
		switch c := l[i]; {
		case c >= utf8.RuneSelf:
			return 0, false, false
		case c == 'k' || c == 'K' || c == 's' || c == 'S':
			exact = false
		}
	}
	return len(l), exact, true
}

// The case-insensitive tests below agree with strings.ToLower(s) holding
// l (lower case, ASCII) as a prefix, suffix or substring without
// allocating: where the part of s that can meet l is ASCII, ToLower maps it
// byte for byte (ToLower maps rune by rune, so a part at a rune boundary
// lowers on its own); elsewhere they fall back to ToLower.

func hasPrefixFold(s, l string) bool {
	head := s[:min(len(l), len(s))]
	if !isASCII(head) {
		return strings.HasPrefix(strings.ToLower(s), l)
	}
	return len(s) >= len(l) && equalLowerASCII(head, l)
}

func hasSuffixFold(s, l string) bool {
	tail := s[max(0, len(s)-len(l)):]
	if !isASCII(tail) {
		return strings.HasSuffix(strings.ToLower(s), l)
	}
	return len(s) >= len(l) && equalLowerASCII(tail, l)
}

func containsFold(s, l string) bool {
	if !isASCII(s) {
		return strings.Contains(strings.ToLower(s), l)
	}
	if len(l) == 0 {
		return true
	}
	first := l[0]
	for i := 0; i+len(l) <= len(s); i++ {
		if lowerASCII(s[i]) == first && equalLowerASCII(s[i:i+len(l)], l) {
			return true
		}
	}
	return false
}

// equalLowerASCII reports whether ASCII s lower-cased is l.
func equalLowerASCII(s, l string) bool {
	if len(s) != len(l) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lowerASCII(s[i]) != l[i] {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
