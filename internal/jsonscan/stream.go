package jsonscan

import (
	"encoding/binary"
	"math/bits"
	"strconv"
)

// Stream validates JSON written to it in pieces of any size, holding none
// of it: a sequence of objects and arrays separated by optional white
// space (a document, JSON lines, concatenated documents), with the
// grammar and the depth bound of Value. It is what checks a body while it
// inflates. Errors are *SyntaxError with the offset from the start of the
// stream; after one, every Write returns it.
type Stream struct {
	off    int64 // bytes consumed before the current Write
	state  uint8
	depth  int
	object [MaxDepth]bool // per open container: an object (else an array)
	key    bool           // the string being read is an object key
	lit    string         // what remains of a literal
	hex    int            // hex digits left in a \u escape
	values int64
	err    error
}

const (
	sTop      = iota // between top-level values
	sValue           // a value is due (after ':' or ',' in an array)
	sFirstVal        // after '[': a value or ']'
	sFirstKey        // after '{': a key or '}'
	sKey             // after ',' in an object: a key
	sColon           // after a key
	sAfter           // after a value inside a container: ',' or its end
	sString
	sEscape
	sHex
	sLiteral
	sMinus    // after '-'
	sZero     // a leading 0
	sInt      // integer digits
	sDot      // after '.'
	sFrac     // fraction digits
	sExpMark  // after 'e' or 'E'
	sExpSign  // after the exponent's sign
	sExpDigit // exponent digits
)

// Values is how many top-level values were complete.
func (s *Stream) Values() int64 { return s.values }

// Offset is how many bytes were consumed.
func (s *Stream) Offset() int64 { return s.off }

func (s *Stream) fail(i int, msg string) (int, error) {
	s.err = &SyntaxError{Offset: int(s.off) + i, Msg: msg}
	s.off += int64(i)
	return i, s.err
}

func (s *Stream) want(p []byte, i int, what string) (int, error) {
	return s.fail(i, "unexpected "+quoteByte(p[i])+", want "+what)
}

// Write validates the next piece.
func (s *Stream) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	i := 0
	for i < len(p) {
		c := p[i]
		switch s.state {
		case sTop:
			for i < len(p) && isSpace[p[i]] {
				i++
			}
			if i == len(p) {
				continue
			}
			if c = p[i]; c != '{' && c != '[' {
				return s.want(p, i, "an object or an array")
			}
			if n, err := s.open(p, i); err != nil {
				return n, err
			}
		case sValue, sFirstVal:
			if isSpace[c] {
				i++
				continue
			}
			if c == ']' && s.state == sFirstVal {
				s.close()
				i++
				continue
			}
			switch {
			case c == '{' || c == '[':
				if n, err := s.open(p, i); err != nil {
					return n, err
				}
			case c == '"':
				s.state, s.key = sString, false
			case c == 't':
				s.state, s.lit = sLiteral, "rue"
			case c == 'f':
				s.state, s.lit = sLiteral, "alse"
			case c == 'n':
				s.state, s.lit = sLiteral, "ull"
			case c == '-':
				s.state = sMinus
			case c == '0':
				s.state = sZero
			case c >= '1' && c <= '9':
				s.state = sInt
			default:
				return s.want(p, i, "value")
			}
		case sFirstKey, sKey:
			if isSpace[c] {
				i++
				continue
			}
			switch {
			case c == '"':
				s.state, s.key = sString, true
			case c == '}' && s.state == sFirstKey:
				s.close()
			default:
				return s.want(p, i, "string")
			}
		case sColon:
			if isSpace[c] {
				i++
				continue
			}
			if c != ':' {
				return s.want(p, i, "':' after object key")
			}
			s.state = sValue
		case sAfter:
			if isSpace[c] {
				i++
				continue
			}
			obj := s.object[s.depth-1]
			switch {
			case c == ',' && obj:
				s.state = sKey
			case c == ',':
				s.state = sValue
			case c == '}' && obj, c == ']' && !obj:
				s.close()
			default:
				return s.want(p, i, "',' or end of "+kindOf(obj))
			}
		case sString:
			// Eight bytes at a time to the first byte that ends the run.
			for i+8 <= len(p) {
				if m := specialMask(binary.LittleEndian.Uint64(p[i:])); m != 0 {
					i += bits.TrailingZeros64(m) >> 3
					goto stop
				}
				i += 8
			}
			for i < len(p) && plain[p[i]] {
				i++
			}
			if i == len(p) {
				continue
			}
		stop:
			switch c = p[i]; c {
			case '"':
				if s.key {
					s.state = sColon
				} else {
					s.done()
				}
			case '\\':
				s.state = sEscape
			default:
				return s.fail(i, "control character "+quoteByte(c)+" in string")
			}
		case sEscape:
			switch c {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.state = sString
			case 'u':
				s.state, s.hex = sHex, 4
			default:
				return s.fail(i, "bad escape "+quoteByte(c))
			}
		case sHex:
			if unhex(c) < 0 {
				return s.fail(i, "bad \\u escape")
			}
			if s.hex--; s.hex == 0 {
				s.state = sString
			}
		case sLiteral:
			if c != s.lit[0] {
				return s.fail(i, "invalid literal")
			}
			if s.lit = s.lit[1:]; s.lit == "" {
				s.done()
			}
		case sMinus:
			switch {
			case c == '0':
				s.state = sZero
			case c >= '1' && c <= '9':
				s.state = sInt
			default:
				return s.want(p, i, "digit")
			}
		case sInt, sZero:
			switch {
			case c >= '0' && c <= '9' && s.state == sInt:
			case c == '.':
				s.state = sDot
			case c == 'e' || c == 'E':
				s.state = sExpMark
			default:
				s.done()
				continue // the byte after the number, read again
			}
		case sDot:
			if c < '0' || c > '9' {
				return s.want(p, i, "digit after decimal point")
			}
			s.state = sFrac
		case sFrac:
			switch {
			case c >= '0' && c <= '9':
			case c == 'e' || c == 'E':
				s.state = sExpMark
			default:
				s.done()
				continue
			}
		case sExpMark:
			switch {
			case c == '+' || c == '-':
				s.state = sExpSign
			case c >= '0' && c <= '9':
				s.state = sExpDigit
			default:
				return s.want(p, i, "digit in exponent")
			}
		case sExpSign:
			if c < '0' || c > '9' {
				return s.want(p, i, "digit in exponent")
			}
			s.state = sExpDigit
		case sExpDigit:
			if c < '0' || c > '9' {
				s.done()
				continue
			}
		}
		i++
	}
	s.off += int64(len(p))
	return len(p), nil
}

// open starts the object or array at p[i].
func (s *Stream) open(p []byte, i int) (int, error) {
	if s.depth >= MaxDepth {
		return s.fail(i, "nesting deeper than "+strconv.Itoa(MaxDepth))
	}
	s.object[s.depth] = p[i] == '{'
	s.depth++
	if p[i] == '{' {
		s.state = sFirstKey
	} else {
		s.state = sFirstVal
	}
	return 0, nil
}

// close ends the innermost container.
func (s *Stream) close() {
	s.depth--
	s.done()
}

// done: a value ended.
func (s *Stream) done() {
	if s.depth == 0 {
		s.values++
		s.state = sTop
		return
	}
	s.state = sAfter
}

// Close reports a value left unfinished at the end of the input.
func (s *Stream) Close() error {
	if s.err != nil {
		return s.err
	}
	if s.state != sTop {
		s.err = &SyntaxError{Offset: int(s.off), Msg: "unexpected end of input"}
	}
	return s.err
}

func kindOf(object bool) string {
	if object {
		return "object"
	}
	return "array"
}
