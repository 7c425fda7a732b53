package resource

import "strings"

// NormalizeCIDR writes any block with a /0 prefix as the internet is
// written, "0.0.0.0/0" or "::/0": 1.2.3.4/0 and 2001:db8::/0 cover every
// address as those do, and the checks compare against the two spellings.
// Anything else is returned as it is.
func NormalizeCIDR(c string) string {
	i := strings.LastIndex(c, "/")
	if i < 0 || strings.TrimSpace(c[i+1:]) != "0" {
		return c
	}
	if strings.Contains(c[:i], ":") {
		return "::/0"
	}
	return "0.0.0.0/0"
}

// NormalizeCIDRs applies NormalizeCIDR to the strings of a list.
func NormalizeCIDRs(l []any) []any {
	out := make([]any, 0, len(l))
	for _, v := range l {
		if s, ok := v.(string); ok {
			v = NormalizeCIDR(s)
		}
		out = append(out, v)
	}
	return out
}
