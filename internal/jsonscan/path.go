package jsonscan

import (
	"strconv"
	"strings"
)

// Each calls fn with the bounds of every value reached by path in the JSON
// value at b[i]. Segments are object keys separated by dots; a segment made
// of digits also selects that element of an array. An array met where a key
// is wanted is entered: every element is tried, so
// "items.instanceId" reaches the instanceId of each item. fn returns false
// to stop. b must be valid JSON (scan it first): malformed input ends the
// walk early but never panics.
func Each(b []byte, i int, path string, fn func(vs, ve int) bool) {
	each(b, SkipSpace(b, i), path, fn)
}

// Get returns the bounds of the first value reached by path, as Each.
func Get(b []byte, i int, path string) (vs, ve int, ok bool) {
	Each(b, i, path, func(s, e int) bool {
		vs, ve, ok = s, e, true
		return false
	})
	return vs, ve, ok
}

// each returns false when fn asked to stop.
func each(b []byte, i int, path string, fn func(vs, ve int) bool) bool {
	if i >= len(b) {
		return true
	}
	if path == "" {
		return fn(i, skip(b, i))
	}
	seg, rest, _ := strings.Cut(path, ".")
	switch b[i] {
	case '{':
		cont := true
		objectEachValid(b, i, func(key []byte, esc bool, vs, _ int) bool {
			if KeyEqual(key, esc, seg) {
				cont = each(b, vs, rest, fn)
				return false
			}
			return true
		})
		return cont
	case '[':
		idx, isIdx := index(seg)
		cont := true
		n := 0
		arrayEachValid(b, i, func(vs, _ int) bool {
			if isIdx {
				if n == idx {
					cont = each(b, vs, rest, fn)
					return false
				}
				n++
				return true
			}
			cont = each(b, vs, path, fn)
			return cont
		})
		return cont
	}
	return true
}

func index(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// GetString is the string at path in the object at the start of b, or ""
// when there is none (or the value is not a string).
func GetString(b []byte, path string) string {
	vs, ve, ok := Get(b, 0, path)
	if !ok || b[vs] != '"' {
		return ""
	}
	return Unquote(b[vs:ve])
}

// GetNumber is the number at path in the object at the start of b, written
// as a JSON number or as a string holding one; ok is false when there is
// none.
func GetNumber(b []byte, path string) (float64, bool) {
	vs, ve, ok := Get(b, 0, path)
	if !ok {
		return 0, false
	}
	raw := string(b[vs:ve])
	if b[vs] == '"' {
		raw = Unquote(b[vs:ve])
	}
	f, err := strconv.ParseFloat(raw, 64)
	return f, err == nil
}
