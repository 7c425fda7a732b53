// Package jsonscan is a small, allocation-free JSON scanner over complete
// byte slices. It validates exactly the grammar of RFC 8259 (as
// encoding/json.Valid does), never recurses, and bounds nesting depth, so a
// hostile document costs linear time and constant stack.
//
// Decoders use it to walk a record once, taking the fields they need and
// skipping the rest; event lookups use it to find a value by a dotted path
// in a record that was already validated.
package jsonscan

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// MaxDepth is the deepest nesting of objects and arrays a document may have.
const MaxDepth = 512

// SyntaxError describes malformed JSON. Offset is relative to the start of
// the slice that was scanned.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d of the record: %s", e.Offset, e.Msg)
}

func errAt(b []byte, i int, want string) error {
	if i >= len(b) {
		return &SyntaxError{Offset: i, Msg: "unexpected end of input, want " + want}
	}
	return &SyntaxError{Offset: i, Msg: fmt.Sprintf("unexpected %s, want %s", quoteByte(b[i]), want)}
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// isSpace reports JSON insignificant white space.
var isSpace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// plain marks bytes that may appear unescaped inside a string and end
// nothing: everything but '"', '\\' and control characters.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// SkipSpace returns the index of the first non-space byte at or after i.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && isSpace[b[i]] {
		i++
	}
	return i
}

// String scans the string whose opening quote is at b[i]. It returns the
// index just past the closing quote and whether the string holds escapes.
func String(b []byte, i int) (end int, escaped bool, err error) {
	if i >= len(b) || b[i] != '"' {
		return i, false, errAt(b, i, "string")
	}
	i++
	for {
		// Eight bytes at a time to the first byte that ends the run (the
		// lowest flagged byte of the mask is exact).
		for i+8 <= len(b) {
			if m := specialMask(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto stop
			}
			i += 8
		}
		for i < len(b) && plain[b[i]] {
			i++
		}
	stop:
		if i >= len(b) {
			return i, escaped, &SyntaxError{Offset: i, Msg: "unterminated string"}
		}
		switch c := b[i]; c {
		case '"':
			return i + 1, escaped, nil
		case '\\':
			escaped = true
			if i+1 >= len(b) {
				return i + 1, escaped, &SyntaxError{Offset: i + 1, Msg: "unterminated escape"}
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return len(b), escaped, &SyntaxError{Offset: i, Msg: "short \\u escape"}
				}
				for _, h := range b[i+2 : i+6] {
					if unhex(h) < 0 {
						return i, escaped, &SyntaxError{Offset: i, Msg: "bad \\u escape"}
					}
				}
				i += 6
			default:
				return i, escaped, &SyntaxError{Offset: i, Msg: "bad escape " + quoteByte(b[i+1])}
			}
		default:
			return i, escaped, &SyntaxError{Offset: i, Msg: "control character " + quoteByte(c) + " in string"}
		}
	}
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// Special reports whether any of the eight bytes in x is a quote, a
// backslash or a control character: the bytes that end a run of plain
// string text (the word-at-a-time test of "Bit Twiddling Hacks", exact
// for existence).
func Special(x uint64) bool { return specialMask(x) != 0 }

// SpecialMask flags (high bit of the byte) the bytes of x that Special
// looks for; the lowest flagged byte is exact, those above it may be
// false positives.
func SpecialMask(x uint64) uint64 { return specialMask(x) }

// specialMask flags (high bit of the byte) the bytes of x that Special
// looks for; the lowest flagged byte is exact, those above it may be
// false positives.
func specialMask(x uint64) uint64 {
	ctl := (x - 0x20*ones) & ^x & highs
	q := x ^ ('"' * ones)
	q = (q - ones) & ^q & highs
	bs := x ^ ('\\' * ones)
	bs = (bs - ones) & ^bs & highs
	return ctl | q | bs
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// Number scans a number starting at b[i] and returns the index past it.
func Number(b []byte, i int) (int, error) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return i, errAt(b, i, "digit")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, errAt(b, i, "digit after decimal point")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, errAt(b, i, "digit in exponent")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	_ = start
	return i, nil
}

func literal(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, &SyntaxError{Offset: i, Msg: "invalid literal, want " + lit}
	}
	return i + len(lit), nil
}

// scanner states for Value
const (
	wantValue = iota
	afterValue
	wantKey
)

// Value validates the JSON value starting at b[i] (after optional space) and
// returns the index just past it. Nesting deeper than MaxDepth is an error.
func Value(b []byte, i int) (int, error) {
	var stackBuf [32]byte
	stack := stackBuf[:0]
	state := wantValue
	var err error
	for {
		if state == afterValue && len(stack) == 0 {
			return i, nil
		}
		i = SkipSpace(b, i)
		switch state {
		case wantValue:
			if i >= len(b) {
				return i, errAt(b, i, "value")
			}
			switch c := b[i]; {
			case c == '{' || c == '[':
				if len(stack) >= MaxDepth {
					return i, &SyntaxError{Offset: i, Msg: fmt.Sprintf("nesting deeper than %d", MaxDepth)}
				}
				i = SkipSpace(b, i+1)
				closer := byte('}')
				if c == '[' {
					closer = ']'
				}
				if i < len(b) && b[i] == closer {
					i++
					state = afterValue
					break
				}
				stack = append(stack, c)
				if c == '{' {
					state = wantKey
				}
			case c == '"':
				if i, _, err = String(b, i); err != nil {
					return i, err
				}
				state = afterValue
			case c == 't':
				if i, err = literal(b, i, "true"); err != nil {
					return i, err
				}
				state = afterValue
			case c == 'f':
				if i, err = literal(b, i, "false"); err != nil {
					return i, err
				}
				state = afterValue
			case c == 'n':
				if i, err = literal(b, i, "null"); err != nil {
					return i, err
				}
				state = afterValue
			default:
				if i, err = Number(b, i); err != nil {
					return i, err
				}
				state = afterValue
			}
		case wantKey:
			if i, _, err = String(b, i); err != nil {
				return i, err
			}
			i = SkipSpace(b, i)
			if i >= len(b) || b[i] != ':' {
				return i, errAt(b, i, "':' after object key")
			}
			i++
			state = wantValue
		case afterValue:
			top := stack[len(stack)-1]
			if i >= len(b) {
				return i, errAt(b, i, "',' or end of "+kind(top))
			}
			switch b[i] {
			case ',':
				i++
				if top == '{' {
					state = wantKey
				} else {
					state = wantValue
				}
			case '}', ']':
				if (b[i] == '}') != (top == '{') {
					return i, errAt(b, i, "',' or end of "+kind(top))
				}
				stack = stack[:len(stack)-1]
				i++
			default:
				return i, errAt(b, i, "',' or end of "+kind(top))
			}
		}
	}
}

func kind(open byte) string {
	if open == '{' {
		return "object"
	}
	return "array"
}

// Valid reports whether b holds exactly one JSON value, with optional space
// around it.
func Valid(b []byte) error {
	end, err := Value(b, 0)
	if err != nil {
		return err
	}
	if end = SkipSpace(b, end); end != len(b) {
		return errAt(b, end, "end of input")
	}
	return nil
}

// ObjectEach walks the object at b[i], validating it, and calls fn with
// each key (still quoted-escaped when escaped is true: use Unquote) and the
// bounds of its value. fn may return an error to stop. It returns the index
// past the object.
func ObjectEach(b []byte, i int, fn func(key []byte, escaped bool, vs, ve int) error) (int, error) {
	i = SkipSpace(b, i)
	if i >= len(b) || b[i] != '{' {
		return i, errAt(b, i, "object")
	}
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		ks := i
		ke, esc, err := String(b, i)
		if err != nil {
			return ke, err
		}
		i = SkipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return i, errAt(b, i, "':' after object key")
		}
		vs := SkipSpace(b, i+1)
		ve, err := Value(b, vs)
		if err != nil {
			return ve, err
		}
		if err := fn(b[ks+1:ke-1], esc, vs, ve); err != nil {
			return ve, err
		}
		i = SkipSpace(b, ve)
		if i >= len(b) {
			return i, errAt(b, i, "',' or '}'")
		}
		switch b[i] {
		case ',':
			i = SkipSpace(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, errAt(b, i, "',' or '}'")
		}
	}
}

// ArrayEach walks the array at b[i], validating it, and calls fn with the
// bounds of each element. It returns the index past the array.
func ArrayEach(b []byte, i int, fn func(vs, ve int) error) (int, error) {
	i = SkipSpace(b, i)
	if i >= len(b) || b[i] != '[' {
		return i, errAt(b, i, "array")
	}
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		ve, err := Value(b, i)
		if err != nil {
			return ve, err
		}
		if err := fn(i, ve); err != nil {
			return ve, err
		}
		i = SkipSpace(b, ve)
		if i >= len(b) {
			return i, errAt(b, i, "',' or ']'")
		}
		switch b[i] {
		case ',':
			i = SkipSpace(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, errAt(b, i, "',' or ']'")
		}
	}
}

// Str returns the string value of the quoted JSON string s (quotes
// included). An unescaped string is returned without copying: it shares
// memory with s, which must not change afterwards.
func Str(s []byte, escaped bool) string {
	if len(s) < 2 {
		return ""
	}
	in := s[1 : len(s)-1]
	if !escaped {
		return unsafe.String(unsafe.SliceData(in), len(in))
	}
	return string(unescape(make([]byte, 0, len(in)), in))
}

// Unquote returns the string value of a quoted JSON string that may hold
// escapes, scanning it to find out. Invalid input yields "".
func Unquote(s []byte) string {
	end, esc, err := String(s, 0)
	if err != nil || end != len(s) {
		return ""
	}
	return Str(s, esc)
}

// KeyEqual reports whether the raw key (between its quotes) equals name.
func KeyEqual(key []byte, escaped bool, name string) bool {
	if !escaped {
		return string(key) == name
	}
	return string(unescape(nil, key)) == name
}

// unescape appends the decoded form of the string body in (no quotes) to dst.
// in must be a valid string body. Lone surrogates become U+FFFD.
func unescape(dst, in []byte) []byte {
	for i := 0; i < len(in); {
		c := in[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		if i+1 >= len(in) {
			break
		}
		switch in[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if i+6 > len(in) {
				return dst
			}
			r := rune(hex4(in[i+2 : i+6]))
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(in) && in[i] == '\\' && in[i+1] == 'u' {
					if r2 := utf16.DecodeRune(r, rune(hex4(in[i+2:i+6]))); r2 != utf8.RuneError {
						dst = utf8.AppendRune(dst, r2)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, in[i+1])
		}
		i += 2
	}
	return dst
}

func hex4(h []byte) int {
	return unhex(h[0])<<12 | unhex(h[1])<<8 | unhex(h[2])<<4 | unhex(h[3])
}
