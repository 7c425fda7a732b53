package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// Defaults for a Framer.
const (
	DefaultMaxRecord = 16 << 20 // AWS caps CloudTrail and EventBridge events far below this
	DefaultChunkSize = 1 << 20
	DefaultMaxItems  = 1024
)

// Item is one framed record: Data[Start:End] of its chunk.
type Item struct {
	Start, End int
	Offset     int64 // in the uncompressed stream
	Line       int   // 1-based line of the first byte
}

// Chunk is a run of consecutive items sharing one buffer, plus the framing
// errors met between them. The buffer belongs to the chunk: the Framer
// never writes to it again, so values may point into it.
type Chunk struct {
	Data   []byte
	Items  []Item
	Errors []*Error
}

// Framer cuts a JSON stream into records without holding more than about
// two records and one chunk in memory. It understands every shape CloudTrail
// arrives in: a {"Records":[…]} object (as delivered to S3), a top-level
// array, JSON lines, and concatenated (even pretty-printed) objects. Each
// element or object becomes an Item; deciding what an item is belongs to the
// decoders.
//
// Bad framing is reported as an Error and skipped: a JSON lines file resumes
// at the next line, an array at the next element that starts a CloudTrail
// record.
type Framer struct {
	File      string
	MaxRecord int
	ChunkSize int
	MaxItems  int
	// SizeHint, when positive, is the expected size of the whole input:
	// the first buffer is cut to it (when below ChunkSize), so a small
	// file costs a small buffer.
	SizeHint int

	r       io.Reader
	buf     []byte
	pos     int
	base    int64 // stream offset of buf[0]
	lines   int   // newlines before buf[linePos]
	linePos int
	eof     bool
	rerr    error
	done    bool
	began   bool
	shared  bool // buf was handed out in a chunk
	grow    int  // size of the next buffer

	mode    mode
	wrapper bool // the array is the value of a "Records" key
	needSep bool // an array element was read; ',' or ']' comes next
	skip    *skipState
}

type mode uint8

const (
	modeTop mode = iota
	modeLines
	modeArray
	modeWrapperRest // after the Records array: skip to the wrapper's '}'
	modeResync      // after a broken array element: look for the next record
)

// skipState drops an oversized or broken value without keeping it.
type skipState struct {
	offset int64
	line   int
	err    error
	st     structState
	toEOL  bool // skip to the end of the line instead of a value
}

// NewFramer frames r, naming file in errors.
func NewFramer(r io.Reader, file string) *Framer {
	return &Framer{File: file, r: r, MaxRecord: DefaultMaxRecord, ChunkSize: DefaultChunkSize, MaxItems: DefaultMaxItems}
}

// NewLineFramer frames r as lines of text: each non-empty line is an item.
func NewLineFramer(r io.Reader, file string) *Framer {
	f := NewFramer(r, file)
	f.mode = modeLines
	return f
}

// NewFramerBytes frames b, the whole input, in place: the chunks it
// returns alias b, which the caller must not change or reuse.
func NewFramerBytes(b []byte, file string) *Framer {
	f := NewFramer(nil, file)
	f.buf, f.eof, f.began = b, true, true
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		f.pos = 3 // UTF-8 byte order mark
	}
	return f
}

// NewLineFramerBytes is NewLineFramer over b, as NewFramerBytes.
func NewLineFramerBytes(b []byte, file string) *Framer {
	f := NewFramerBytes(b, file)
	f.mode = modeLines
	return f
}

// Skip tells the framer that n bytes holding one line (a header the caller
// consumed) came before its input, so that offsets and lines stay true.
func (f *Framer) Skip(n int64) {
	f.base += n
	f.lines++
}

// Next returns the next chunk, or io.EOF when the stream is exhausted. A
// chunk may carry only errors.
func (f *Framer) Next() (*Chunk, error) {
	if f.done {
		return nil, io.EOF
	}
	ch := &Chunk{}
	start := f.pos
	for !f.done && len(ch.Items) < f.MaxItems && (len(ch.Items) == 0 || f.pos-start < f.ChunkSize) {
		if !f.step(ch) {
			continue
		}
		// step needs more input
		if len(ch.Items) > 0 {
			break
		}
		if f.eof {
			f.finish(ch)
			break
		}
		f.read()
		start = f.pos
	}
	if len(ch.Items) > 0 {
		ch.Data = f.buf
		f.shared = true
	}
	if len(ch.Items) == 0 && len(ch.Errors) == 0 && f.done {
		return nil, io.EOF
	}
	return ch, nil
}

// read drops the consumed input and reads more. Bytes handed out in a chunk
// are never overwritten: a shared buffer is replaced, not compacted.
func (f *Framer) read() {
	f.lineAt(f.pos)
	left := f.buf[f.pos:]
	if f.shared || cap(f.buf)-len(left) < 4096 {
		// Start small (most files are small) and double up to ChunkSize.
		if f.grow == 0 && f.SizeHint > 0 {
			f.grow = min(f.SizeHint, f.ChunkSize)
		} else {
			f.grow = min(max(2*f.grow, 64<<10), f.ChunkSize)
		}
		nb := make([]byte, len(left), max(f.grow, 2*len(left))+4096)
		copy(nb, left)
		f.buf, f.shared = nb, false
	} else {
		f.buf = f.buf[:copy(f.buf, left)]
	}
	f.base += int64(f.pos)
	f.pos, f.linePos = 0, 0
	for len(f.buf) < cap(f.buf) {
		m, err := f.r.Read(f.buf[len(f.buf):cap(f.buf)])
		f.buf = f.buf[:len(f.buf)+m]
		if err != nil {
			f.eof = true
			if !errors.Is(err, io.EOF) {
				f.rerr = err
			}
			break
		}
		if m == 0 {
			break
		}
	}
	if !f.began && len(f.buf) >= 3 && bytes.HasPrefix(f.buf, []byte("\xef\xbb\xbf")) {
		f.pos = 3 // UTF-8 byte order mark
	}
	f.began = true
}

// finish reports what was left unfinished at the end of the stream.
func (f *Framer) finish(ch *Chunk) {
	f.done = true
	i := skipSpace(f.buf, f.pos)
	switch {
	case f.skip != nil:
		ch.Errors = append(ch.Errors, &Error{File: f.File, Offset: f.skip.offset, Line: f.skip.line, Err: f.truncated(f.skip.err)})
	case i < len(f.buf):
		ch.Errors = append(ch.Errors, f.errAt(i, f.truncated(nil)))
	case f.mode == modeArray || f.mode == modeWrapperRest:
		ch.Errors = append(ch.Errors, f.errAt(i, f.truncated(errors.New("array or object not closed"))))
	case f.rerr != nil:
		ch.Errors = append(ch.Errors, f.errAt(i, fmt.Errorf("read: %w", f.rerr)))
	}
	f.pos = len(f.buf)
}

func (f *Framer) truncated(cause error) error {
	switch {
	case f.rerr != nil && cause != nil:
		return fmt.Errorf("%w (%v): read: %w", ErrTruncated, cause, f.rerr)
	case f.rerr != nil:
		return fmt.Errorf("%w: read: %w", ErrTruncated, f.rerr)
	case cause != nil:
		return fmt.Errorf("%w: %w", ErrTruncated, cause)
	}
	return ErrTruncated
}

func (f *Framer) lineAt(p int) int {
	if p > f.linePos {
		f.lines += bytes.Count(f.buf[f.linePos:p], []byte{'\n'})
		f.linePos = p
	}
	return f.lines + 1
}

func (f *Framer) errAt(p int, err error) *Error {
	return &Error{File: f.File, Offset: f.base + int64(p), Line: f.lineAt(p), Err: err}
}

func (f *Framer) item(ch *Chunk, s, e int) {
	ch.Items = append(ch.Items, Item{Start: s, End: e, Offset: f.base + int64(s), Line: f.lineAt(s)})
}

// step makes progress on the buffered input and reports whether it needs
// more to go on.
func (f *Framer) step(ch *Chunk) (needMore bool) {
	b := f.buf
	if f.skip != nil {
		return f.stepSkip(ch)
	}
	if f.mode == modeResync {
		return f.stepResync(ch)
	}
	i := skipSpace(b, f.pos)
	f.pos = i
	if i >= len(b) {
		if f.eof && f.mode != modeArray && f.mode != modeWrapperRest {
			f.finish(ch)
			return false
		}
		return true
	}
	c := b[i]
	switch f.mode {
	case modeLines:
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			if !f.eof {
				return f.tooLarge(ch, i, true)
			}
			j = len(b) - i
		}
		end := i + j
		for end > i && (b[end-1] == '\r' || b[end-1] == ' ' || b[end-1] == '\t') {
			end--
		}
		if j > f.MaxRecord {
			ch.Errors = append(ch.Errors, f.errAt(i, fmt.Errorf("%w: line of %d bytes exceeds the %d byte limit", ErrTooLarge, j, f.MaxRecord)))
		} else {
			f.item(ch, i, end)
		}
		f.pos = min(i+j+1, len(b))
		return false
	case modeTop:
		switch c {
		case '[':
			f.mode, f.wrapper, f.needSep = modeArray, false, false
			f.pos = i + 1
			return false
		case '{':
			end, ok, need := recordsWrapper(b, i)
			if need && !f.eof {
				return true
			}
			if ok {
				f.mode, f.wrapper, f.needSep = modeArray, true, false
				f.pos = end
				return false
			}
			return f.value(ch, i, true)
		}
		ch.Errors = append(ch.Errors, f.errAt(i, fmt.Errorf("%w: unexpected %s at top level", ErrNotRecord, quote(c))))
		f.skip = &skipState{offset: f.base + int64(i), line: f.lineAt(i), toEOL: true}
		return false
	case modeArray:
		if f.needSep {
			switch c {
			case ',':
				f.needSep = false
				f.pos = i + 1
				return false
			case ']':
				f.endArray(i)
				return false
			}
			ch.Errors = append(ch.Errors, f.errAt(i, fmt.Errorf("malformed array: unexpected %s after element, want ',' or ']'", quote(c))))
			f.mode = modeResync
			f.pos = i + 1
			return false
		}
		if c == ']' {
			f.endArray(i)
			return false
		}
		return f.value(ch, i, false)
	case modeWrapperRest:
		f.skip = &skipState{offset: f.base + int64(i), line: f.lineAt(i), st: structState{depth: 1}}
		return false
	}
	return false
}

func (f *Framer) endArray(i int) {
	f.pos = i + 1
	f.needSep = false
	if f.wrapper {
		f.mode = modeWrapperRest
	} else {
		f.mode = modeTop
	}
}

// value frames one value starting at b[i].
func (f *Framer) value(ch *Chunk, i int, top bool) (needMore bool) {
	b := f.buf
	end, status := scanValue(b, i, top)
	if status == scanDone && end == i {
		ch.Errors = append(ch.Errors, f.errAt(i, fmt.Errorf("malformed JSON: unexpected %s, want a value", quote(b[i]))))
		f.mode = modeResync
		f.pos = i + 1
		return false
	}
	switch status {
	case scanIncomplete:
		if f.eof {
			ch.Errors = append(ch.Errors, f.errAt(i, f.truncated(nil)))
			f.pos = len(b)
			f.done = true
			return false
		}
		return f.tooLarge(ch, i, false)
	case scanLineBrace:
		// At top level a line starting with '{' while an object is open
		// begins the next record: this one never closed.
		ch.Errors = append(ch.Errors, f.errAt(i, fmt.Errorf("malformed record: not closed before the next record at offset %d", f.base+int64(end))))
		f.pos = end
		return false
	case scanBadString:
		ch.Errors = append(ch.Errors, f.errAt(i, fmt.Errorf("malformed record: line break inside a string at offset %d", f.base+int64(end))))
		if top {
			f.pos = end + 1 // resume at the next line
		} else {
			f.mode = modeResync
			f.pos = end
		}
		return false
	}
	if end-i > f.MaxRecord {
		ch.Errors = append(ch.Errors, f.errAt(i, fmt.Errorf("%w: %d bytes, over the %d byte limit", ErrTooLarge, end-i, f.MaxRecord)))
	} else {
		f.item(ch, i, end)
	}
	f.pos = end
	if top {
		// A single-line object followed by a line break: JSON lines. Frame
		// by lines from here on, so a broken line costs only itself.
		j := end
		for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\r') {
			j++
		}
		if j < len(b) && b[j] == '\n' && bytes.IndexByte(b[i:end], '\n') < 0 {
			f.mode = modeLines
		}
	} else {
		f.needSep = true
	}
	return false
}

// tooLarge is called when a value at b[i] is not complete in the buffer:
// it asks for more input, or starts skipping once the value passes the
// size limit.
func (f *Framer) tooLarge(ch *Chunk, i int, line bool) (needMore bool) {
	if len(f.buf)-i <= f.MaxRecord {
		return true
	}
	err := fmt.Errorf("%w: over the %d byte limit", ErrTooLarge, f.MaxRecord)
	f.skip = &skipState{offset: f.base + int64(i), line: f.lineAt(i), err: err, toEOL: line || f.mode == modeLines}
	f.pos = i
	return false
}

func (f *Framer) stepSkip(ch *Chunk) (needMore bool) {
	s, b := f.skip, f.buf
	var end int
	var done bool
	if s.toEOL {
		j := bytes.IndexByte(b[f.pos:], '\n')
		if j >= 0 {
			end, done = f.pos+j+1, true
		}
	} else {
		end, done = s.st.advance(b, f.pos)
	}
	if !done {
		f.lineAt(len(b))
		f.pos = len(b)
		if f.eof {
			if s.err != nil {
				ch.Errors = append(ch.Errors, &Error{File: f.File, Offset: s.offset, Line: s.line, Err: f.truncated(s.err)})
			}
			f.skip = nil
			f.done = true
			return false
		}
		return true
	}
	if s.err != nil {
		ch.Errors = append(ch.Errors, &Error{File: f.File, Offset: s.offset, Line: s.line, Err: s.err})
	}
	f.pos = end
	f.skip = nil
	if f.mode == modeWrapperRest {
		f.mode = modeTop
	} else if f.mode == modeArray {
		f.needSep = true
	}
	return false
}

var recordStart = []byte(`{"eventVersion"`)

// stepResync looks for the next element that starts a CloudTrail record
// after a broken one inside an array.
func (f *Framer) stepResync(ch *Chunk) (needMore bool) {
	b := f.buf
	j := bytes.Index(b[f.pos:], recordStart)
	if j < 0 {
		keep := max(f.pos, len(b)-len(recordStart))
		f.pos = keep
		if f.eof {
			f.done = true
			f.pos = len(b)
			return false
		}
		return true
	}
	f.pos += j
	f.mode, f.needSep = modeArray, false
	return false
}

// recordsWrapper reports whether the object at b[i] opens with a "Records"
// array (CloudTrail) or a "records" array (Azure Monitor's exports), and
// where the array's contents begin.
func recordsWrapper(b []byte, i int) (end int, ok, needMore bool) {
	j := skipSpace(b, i+1)
	const key = `"Records"`
	if len(b)-j < len(key)+2 {
		return 0, false, true
	}
	if k := string(b[j : j+len(key)]); k != key && k != `"records"` {
		return 0, false, false
	}
	j = skipSpace(b, j+len(key))
	if j >= len(b) {
		return 0, false, true
	}
	if b[j] != ':' {
		return 0, false, false
	}
	j = skipSpace(b, j+1)
	if j >= len(b) {
		return 0, false, true
	}
	if b[j] != '[' {
		return 0, false, false
	}
	return j + 1, true, false
}

const (
	scanDone = iota
	scanIncomplete
	scanBadString
	scanLineBrace
)

// scanValue finds the end of the value at b[i] by structure alone (the
// decoders validate it). A line break inside a string, which JSON forbids,
// is reported so that framing can resynchronise; so is, at top level, a
// '{' opening a line while the value is still open.
func scanValue(b []byte, i int, top bool) (end, status int) {
	switch b[i] {
	case '{', '[', '"':
		st := structState{checkNL: true, badAt: -1, lineBrace: top, braceAt: -1}
		end, done := st.advance(b, i)
		if st.badAt >= 0 {
			return st.badAt, scanBadString
		}
		if st.braceAt >= 0 {
			return st.braceAt, scanLineBrace
		}
		if !done {
			return len(b), scanIncomplete
		}
		return end, scanDone
	}
	for j := i; j < len(b); j++ {
		switch b[j] {
		case ',', ']', '}', ' ', '\t', '\r', '\n':
			return j, scanDone
		}
	}
	return len(b), scanIncomplete
}

// structState follows nesting across buffer refills.
type structState struct {
	depth int
	inStr bool
	esc   bool
	// checkNL makes advance stop at a line break inside a string and
	// record it in badAt.
	checkNL bool
	badAt   int
	// lineBrace makes advance stop at a '{' that starts a line inside the
	// value, recording it in braceAt.
	lineBrace bool
	braceAt   int
}

// advance scans b[i:] and returns the index just past the value once depth
// returns to zero.
func (st *structState) advance(b []byte, i int) (int, bool) {
	for i < len(b) {
		if st.inStr {
			if st.esc {
				st.esc = false
				i++
				continue
			}
			// Jump to the next quote or backslash.
			j := indexQuoteOrBackslash(b[i:])
			if j < 0 {
				if st.checkNL {
					if k := bytes.IndexByte(b[i:], '\n'); k >= 0 {
						st.badAt = i + k
						return i + k, false
					}
				}
				return len(b), false
			}
			if st.checkNL {
				if k := bytes.IndexByte(b[i:i+j], '\n'); k >= 0 {
					st.badAt = i + k
					return i + k, false
				}
			}
			i += j
			if b[i] == '\\' {
				st.esc = true
			} else {
				st.inStr = false
				if st.depth == 0 {
					return i + 1, true
				}
			}
			i++
			continue
		}
		switch b[i] {
		case '"':
			st.inStr = true
		case '{', '[':
			if st.lineBrace && b[i] == '{' && st.depth > 0 && i > 0 && b[i-1] == '\n' {
				st.braceAt = i
				return i, false
			}
			st.depth++
		case '}', ']':
			st.depth--
			if st.depth <= 0 {
				return i + 1, true
			}
		}
		i++
	}
	return i, false
}

func indexQuoteOrBackslash(b []byte) int {
	// Most strings in a record are short: eight bytes at a time first (the
	// lowest flagged byte of the zero-byte test is exact), then, for long
	// ones, the vectorised byte search.
	i := 0
	for ; i+8 <= len(b) && i < 64; i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ ('"' * ones)
		q = (q - ones) & ^q & highs
		bs := x ^ ('\\' * ones)
		bs = (bs - ones) & ^bs & highs
		if m := q | bs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	if i < 64 {
		for ; i < len(b); i++ {
			if b[i] == '"' || b[i] == '\\' {
				return i
			}
		}
		return -1
	}
	rest := b[i:]
	q := bytes.IndexByte(rest, '"')
	if q < 0 {
		if k := bytes.IndexByte(rest, '\\'); k >= 0 {
			return i + k
		}
		return -1
	}
	if k := bytes.IndexByte(rest[:q], '\\'); k >= 0 {
		return i + k
	}
	return i + q
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

func quote(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}
