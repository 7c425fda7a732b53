package sigma

import (
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
