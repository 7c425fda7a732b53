package jsonscan

import "bytes"

// skip returns the end of the value at b[i] in JSON already known to be
// valid, by structure alone: much cheaper than Value, which validates.
func skip(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
		i++
	}
	return i
}

// skipString returns the index past the string whose quote is at b[i].
func skipString(b []byte, i int) int {
	i++
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		i += j
		// An escaped quote has an odd number of backslashes before it.
		k := i - 1
		for k >= 0 && b[k] == '\\' {
			k--
		}
		if (i-k-1)%2 == 0 {
			return i + 1
		}
		i++
	}
}

// objectEachValid walks the members of the valid object at b[i].
func objectEachValid(b []byte, i int, fn func(key []byte, escaped bool, vs, ve int) bool) {
	i = SkipSpace(b, i)
	if i >= len(b) || b[i] != '{' {
		return
	}
	i = SkipSpace(b, i+1)
	for i < len(b) && b[i] == '"' {
		ke := skipString(b, i)
		key := b[i+1 : max(ke-1, i+1)]
		escaped := bytes.IndexByte(key, '\\') >= 0
		i = SkipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return
		}
		vs := SkipSpace(b, i+1)
		ve := skip(b, vs)
		if !fn(key, escaped, vs, ve) {
			return
		}
		i = SkipSpace(b, ve)
		if i >= len(b) || b[i] != ',' {
			return
		}
		i = SkipSpace(b, i+1)
	}
}

// arrayEachValid walks the elements of the valid array at b[i].
func arrayEachValid(b []byte, i int, fn func(vs, ve int) bool) {
	i = SkipSpace(b, i)
	if i >= len(b) || b[i] != '[' {
		return
	}
	i = SkipSpace(b, i+1)
	for i < len(b) && b[i] != ']' {
		ve := skip(b, i)
		if ve <= i || !fn(i, ve) {
			return
		}
		i = SkipSpace(b, ve)
		if i >= len(b) || b[i] != ',' {
			return
		}
		i = SkipSpace(b, i+1)
	}
}

// ElementsValid calls fn with the bounds of each element of the valid
// array at b[i] until fn returns false.
func ElementsValid(b []byte, i int, fn func(vs, ve int) bool) {
	arrayEachValid(b, i, fn)
}

// StrValid returns the value of the quoted string s, already known to be
// valid JSON: without escapes it shares memory with s.
func StrValid(s []byte) string {
	if len(s) < 2 {
		return ""
	}
	return Str(s, bytes.IndexByte(s[1:len(s)-1], '\\') >= 0)
}
