package sigma

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// reMatcher tests a regular expression, first checking for the longest
// literal text every match must contain: most values lack it, and a
// substring search costs a fraction of running an unanchored expression
// such as `.+:assumed-role/aws:.+`.
func reMatcher(re *regexp.Regexp) func(string) bool {
	lit := ""
	if t, err := syntax.Parse(re.String(), syntax.Perl); err == nil {
		lit = requiredLiteral(t.Simplify())
	}
	if len(lit) < 2 {
		return re.MatchString
	}
	return func(s string) bool {
		return strings.Contains(s, lit) && re.MatchString(s)
	}
}

// requiredLiteral returns the longest case-sensitive literal that every
// string matching t contains ("" when it finds none).
func requiredLiteral(t *syntax.Regexp) string {
	switch t.Op {
	case syntax.OpLiteral:
		if t.Flags&syntax.FoldCase != 0 {
			return ""
		}
		return string(t.Rune)
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiteral(t.Sub[0])
	case syntax.OpRepeat:
		if t.Min >= 1 {
			return requiredLiteral(t.Sub[0])
		}
	case syntax.OpConcat:
		best := ""
		for _, sub := range t.Sub {
			if l := requiredLiteral(sub); len(l) > len(best) {
				best = l
			}
		}
		return best
	}
	return ""
}
