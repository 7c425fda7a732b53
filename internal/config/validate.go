package config

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// validate walks a document against the configuration's types before it
// is decoded, so that one pass names every problem with its line and its
// path of YAML keys: unknown keys (with the closest valid key at their
// level), repeated keys, and values of the wrong kind. What it reports it
// removes from the tree, so that the rest decodes and is checked too.
func validate(doc *yaml.Node) Errors {
	if doc == nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	var errs Errors
	bad := func(line int, path, format string, args ...any) {
		if path == "" {
			path = "top level"
		}
		errs = append(errs, fmt.Errorf("line %d: %s: %s", line, path, fmt.Sprintf(format, args...)))
	}
	if !walk(doc.Content[0], reflect.TypeOf(Config{}), "", bad) {
		doc.Content = nil
	}
	return errs
}

type reporter func(line int, path, format string, args ...any)

// walk checks n against t; false means n itself is wrong (reported) and
// the caller drops it.
func walk(n *yaml.Node, t reflect.Type, path string, bad reporter) bool {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return true
	}
	if t.Kind() == reflect.Pointer {
		return walk(n, t.Elem(), path, bad)
	}
	switch {
	case t == durationType || t == sizeType:
		return leaf(n, t, path, bad)
	case t.Kind() == reflect.Struct:
		return walkMapping(n, t, path, bad)
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			bad(n.Line, path, "want a list, not %s", kindOf(n))
			return false
		}
		kept := n.Content[:0]
		for i, item := range n.Content {
			if walk(item, t.Elem(), fmt.Sprintf("%s.%d", path, i), bad) {
				kept = append(kept, item)
			}
		}
		n.Content = kept
		return true
	}
	return leaf(n, t, path, bad)
}

func walkMapping(n *yaml.Node, t reflect.Type, path string, bad reporter) bool {
	keys, types := fieldsOf(t)
	if n.Kind != yaml.MappingNode {
		bad(n.Line, path, "want a mapping (keys: %s), not %s", strings.Join(keys, ", "), kindOf(n))
		return false
	}
	seen := map[string]int{}
	kept := n.Content[:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		sub := k.Value
		if path != "" {
			sub = path + "." + k.Value
		}
		if k.Tag == "!!merge" { // <<: *defaults
			ok := true
			if v.Kind == yaml.SequenceNode {
				for _, m := range v.Content {
					ok = walk(m, t, path, bad) && ok
				}
			} else {
				ok = walk(v, t, path, bad)
			}
			if ok {
				kept = append(kept, k, v)
			}
			continue
		}
		ft, known := types[k.Value]
		switch {
		case !known:
			if s := suggest(k.Value, keys); s != "" {
				bad(k.Line, sub, "unknown key; did you mean %s?", s)
			} else {
				bad(k.Line, sub, "unknown key (valid: %s)", strings.Join(keys, ", "))
			}
			continue
		case seen[k.Value] > 0:
			bad(k.Line, sub, "repeated (first at line %d)", seen[k.Value])
			continue
		}
		seen[k.Value] = k.Line
		if walk(v, ft, sub, bad) {
			kept = append(kept, k, v)
		}
	}
	n.Content = kept
	return true
}

// leaf checks a single value by decoding it alone.
func leaf(n *yaml.Node, t reflect.Type, path string, bad reporter) bool {
	if n.Kind != yaml.ScalarNode {
		bad(n.Line, path, "want %s, not %s", leafName(t), kindOf(n))
		return false
	}
	err := n.Decode(reflect.New(t).Interface())
	if err == nil {
		return true
	}
	msg := fmt.Sprintf("%q is not %s", n.Value, leafName(t))
	if t == durationType || t == sizeType {
		// Their own message: what the value should look like.
		msg = err.Error()
		if _, after, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
			msg = after
		}
	}
	bad(n.Line, path, "%s", msg)
	return false
}

// fieldsOf lists a struct's YAML keys in order, and their types.
func fieldsOf(t reflect.Type) ([]string, map[string]reflect.Type) {
	var keys []string
	types := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		keys = append(keys, name)
		types[name] = f.Type
	}
	return keys, types
}

func leafName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration"
	case t == sizeType:
		return "a size"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	}
	return "a value"
}

func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "true or false"
	case "!!str":
		return "a string"
	}
	return "a value"
}

// suggest is the valid key closest to a mistyped one ("" when none is
// close): the same key in another case or with - for _, else within an
// edit distance of a third of its length (at most 2).
func suggest(key string, valid []string) string {
	norm := strings.ReplaceAll(strings.ToLower(key), "-", "_")
	best, bestD := "", 1<<30
	for _, v := range valid {
		if norm == v {
			return v
		}
		d := distance(strings.ToLower(key), v)
		if d <= min(2, max(1, len(v)/3)) && d < bestD {
			best, bestD = v, d
		}
	}
	return best
}

// distance is the Levenshtein edit distance between a and b (bytes).
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
