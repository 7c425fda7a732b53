package sigma

import (
	"regexp"
	"strings"
	"testing"
)

// FuzzEqualFold: the length shortcut of case-insensitive equality agrees
// with strings.EqualFold.
func FuzzEqualFold(f *testing.F) {
	f.Add("AssumedRole", "assumedrole")
	f.Add("kms", "\u212aM\u017f")
	f.Add("ss", "\u017f\u017f")
	f.Add("ß", "SS")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		lit := strings.NewReplacer("*", "", "?", "", `\`, "").Replace(pattern)
		if lit == "" {
			return
		}
		m := globMatcher(lit, "equals", false, false)
		if got, want := m(s), strings.EqualFold(s, strings.ToLower(lit)); got != want {
			t.Errorf("equals %q on %q = %v, want %v", lit, s, got, want)
		}
	})
}

// FuzzGlobFold: case-insensitive startswith, endswith, contains and
// wildcard patterns agree with matching the lower-cased string, whatever
// the string holds (non-ASCII, invalid UTF-8, runes that lower-case to
// ASCII or change length).
func FuzzGlobFold(f *testing.F) {
	f.Add("Assume", "AssumeRole")
	f.Add("k", "\u212a")
	f.Add("i", "\u0130x")
	f.Add("a*b", "xA\xffB")
	f.Add("ole", "R\u0130OLE")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		lit := strings.NewReplacer("?", "", `\`, "").Replace(pattern)
		if lit == "" {
			return
		}
		ls := strings.ToLower(s)
		segs := strings.Split(strings.ToLower(lit), "*")
		for _, c := range []struct {
			kind string
			want bool
		}{
			{"startswith", strings.HasPrefix(ls, segs[0]) && len(segs) == 1},
			{"endswith", strings.HasSuffix(ls, segs[0]) && len(segs) == 1},
			{"contains", strings.Contains(ls, segs[0]) && len(segs) == 1},
		} {
			if len(segs) > 1 {
				continue // wildcards: the pattern case below
			}
			if got := globMatcher(lit, c.kind, false, false)(s); got != c.want {
				t.Errorf("%s %q on %q = %v, want %v", c.kind, lit, s, got, c.want)
			}
		}
		if len(segs) > 1 {
			want := globRef(ls, segs)
			if got := globMatcher(lit, "equals", false, false)(s); got != want {
				t.Errorf("equals %q on %q = %v, want %v", lit, s, got, want)
			}
		}
	})
}

// globRef matches s against segments separated by * (the first anchored
// at the start, the last at the end) with a regular expression.
func globRef(s string, segs []string) bool {
	q := make([]string, len(segs))
	for i, seg := range segs {
		q[i] = regexp.QuoteMeta(seg)
	}
	return regexp.MustCompile("(?s)^" + strings.Join(q, ".*") + "$").MatchString(s)
}
