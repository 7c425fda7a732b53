package sigma

import (
	"regexp"
	"testing"
)

func regexpQuote(s string) string { return regexp.QuoteMeta(s) }

func mustRegexp(t *testing.T, expr string) *regexp.Regexp {
	t.Helper()
	re, err := regexp.Compile(expr)
	if err != nil {
		t.Fatal(err)
	}
	return re
}
