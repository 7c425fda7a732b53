package sigma

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Correlation is a Sigma correlation rule: it fires on a pattern across
// the matches of other rules, grouped by field values, within a time span.
type Correlation struct {
	Type     string   // event_count, value_count, temporal, temporal_ordered
	Rules    []string // the referenced rules, by id or name
	GroupBy  []string
	Timespan time.Duration
	// Op and N are the condition for event_count and value_count:
	// gte, gt or eq a count.
	Op    string
	N     int64
	Field string // value_count: the field whose distinct values count
	// Generate keeps the referenced rules' own findings (Sigma's default
	// is to leave them to the correlation).
	Generate bool
	// Aliases maps an alias used in GroupBy to the field each referenced
	// rule calls it.
	Aliases map[string]map[string]string
	// Once (Parapet's extension, `once: true`) reports a group once per
	// session: after it fires, the group stays quiet for as long as its
	// matches keep coming within Timespan of each other.
	Once bool
}

func parseCorrelation(n *yaml.Node, file string) (*Correlation, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errAt(file, n, "correlation must be a mapping")
	}
	c := &Correlation{}
	for _, kv := range mapping(n) {
		k, v := kv[0].Value, kv[1]
		switch k {
		case "type":
			c.Type = v.Value
		case "rules":
			c.Rules = scalarList(v)
		case "group-by":
			c.GroupBy = scalarList(v)
		case "timespan":
			d, err := parseTimespan(v.Value)
			if err != nil {
				return nil, errAt(file, v, "timespan: %v", err)
			}
			c.Timespan = d
		case "generate":
			c.Generate = v.Value == "true"
		case "once":
			c.Once = v.Value == "true"
		case "condition":
			for _, f := range mapping(v) {
				switch f[0].Value {
				case "field":
					c.Field = f[1].Value
				case "gte", "gt", "eq":
					nn, err := strconv.ParseInt(f[1].Value, 10, 64)
					if err != nil || nn < 0 {
						return nil, errAt(file, f[1], "condition %s: want a count", f[0].Value)
					}
					c.Op, c.N = f[0].Value, nn
				case "lt", "lte", "neq":
					return nil, errAt(file, f[0], "condition %s: %v (it needs the end of a window to decide)", f[0].Value, ErrUnsupported)
				default:
					return nil, errAt(file, f[0], "unknown condition %q", f[0].Value)
				}
			}
		case "aliases":
			c.Aliases = map[string]map[string]string{}
			for _, a := range mapping(v) {
				m := map[string]string{}
				for _, f := range mapping(a[1]) {
					m[f[0].Value] = f[1].Value
				}
				c.Aliases[a[0].Value] = m
			}
		}
	}
	switch c.Type {
	case "event_count", "value_count":
		if c.Op == "" {
			return nil, errAt(file, n, "%s needs a condition (gte, gt or eq)", c.Type)
		}
		if c.Type == "value_count" && c.Field == "" {
			return nil, errAt(file, n, "value_count needs condition.field")
		}
	case "temporal", "temporal_ordered":
		if len(c.Rules) < 2 {
			return nil, errAt(file, n, "%s needs at least two rules", c.Type)
		}
	case "":
		return nil, errAt(file, n, "correlation has no type")
	default:
		return nil, errAt(file, n, "unknown correlation type %q", c.Type)
	}
	if len(c.Rules) == 0 {
		return nil, errAt(file, n, "correlation names no rules")
	}
	if c.Timespan <= 0 {
		return nil, errAt(file, n, "correlation needs a timespan")
	}
	return c, nil
}

// parseTimespan reads Sigma's 30s, 5m, 1h, 2d, 1w.
func parseTimespan(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("bad timespan %q", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad timespan %q", s)
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, fmt.Errorf("bad timespan unit in %q (s, m, h, d or w)", s)
	}
	return time.Duration(n) * unit, nil
}

// GroupField is the field a referenced rule uses for a group-by name.
func (c *Correlation) GroupField(group string, ruleRef string) string {
	if m, ok := c.Aliases[group]; ok {
		if f, ok := m[ruleRef]; ok {
			return f
		}
	}
	return group
}

// Refers reports whether the correlation names r (by id or name).
func (c *Correlation) Refers(r *Rule) (string, bool) {
	for _, ref := range c.Rules {
		if ref != "" && (strings.EqualFold(ref, r.ID) || ref == r.Name) {
			return ref, true
		}
	}
	return "", false
}
