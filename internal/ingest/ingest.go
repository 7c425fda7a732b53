// Package ingest turns inputs (files, stdin, later S3/SQS and HTTP bodies)
// into normalized events: it detects each input's format by content,
// frames it, decodes on all cores and hands batches on in input order. A
// Parquet file (AWS Security Lake's OCSF) is decoded by ocsfparquet on its
// reader's goroutine, row group by row group: in place from a file, held
// whole (up to MaxParquet) from a stream.
//
// Goroutines: Run owns all of them. One reader per input in flight (at most
// Options.Readers at once) gunzips and frames; Options.Workers workers
// decode and run Options.Map; the caller's goroutine runs emit, in order.
// Every channel between them is bounded, so memory stays flat however
// large the input.
package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"

	"github.com/parapet-sec/parapet/internal/decode"
	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/decode/ocsfparquet"
	"github.com/parapet-sec/parapet/internal/decode/vpcflow"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/inflate"
)

// Input is one stream to decode.
type Input struct {
	Name string
	Size int64 // bytes as stored; -1 when unknown
	Open func() (io.ReadCloser, error)
}

// Options tune Run. The zero value is usable.
type Options struct {
	Workers   int // decoding goroutines; default GOMAXPROCS
	Readers   int // inputs read at once; default GOMAXPROCS
	MaxRecord int // largest record accepted, bytes; default decode.DefaultMaxRecord
	// Map, when set, runs on each batch on a worker goroutine, in
	// parallel with other batches: the place for per-event work that needs
	// no order (encoding output, stateless matching). It runs on every
	// batch emit receives, those holding only a bad or skipped input
	// (no events) included.
	Map func(*Batch)
	// Counters, when set, is updated as input is read (for progress).
	Counters *Counters
	// Recycle says emit keeps nothing of a batch's events once it returns
	// (it copies what it needs): their memory is reused for the batches
	// that follow instead of fresh memory, which costs more to first
	// touch than to decode into.
	Recycle bool
}

// Counters are live totals, safe to read while Run works.
type Counters struct {
	BytesRead  atomic.Int64 // as stored (compressed bytes for .gz)
	Events     atomic.Int64
	InputsDone atomic.Int64
}

// Batch is a run of events from one input, in input order.
type Batch struct {
	Input  int    // index in the inputs given to Run
	Name   string // the input's name
	Events []event.Event
	// Errors are the bad records and bad input met in this batch; Skipped
	// are inputs or records passed over on purpose (digest files, empty
	// files).
	Errors  []*decode.Error
	Skipped []*decode.Error
	// Out is for Map to fill (encoded output) and emit to write.
	Out []byte
	// Data is for Map to hand its results (findings) to emit.
	Data any

	done  chan struct{}
	chunk *decode.Chunk
	flow  *vpcflow.Format
}

// Stats sums up a run.
type Stats struct {
	Inputs     int
	Events     int64
	BadRecords int64 // records and stretches of input that could not be decoded
	Skipped    int64 // inputs and records skipped: digest files, empty files
	// Stray counts the skipped inputs that are not part of a delivery (an
	// empty file); a digest file is CloudTrail's own and is not stray.
	Stray   int64
	Errors  []*decode.Error // the first MaxErrors
	Notices []*decode.Error // the first MaxErrors skipped inputs
}

// MaxErrors bounds the errors Stats keeps; all are counted.
const MaxErrors = 100

// Bad reports whether any input was bad or stray (exit 3).
func (s *Stats) Bad() bool { return s.BadRecords > 0 || s.Stray > 0 }

// Run decodes inputs and calls emit with each batch in input order, on the
// caller's goroutine. It stops at the first error from emit or when ctx
// ends. Bad input is not an error: it is counted in Stats and reported in
// the batches.
func Run(ctx context.Context, inputs []Input, opt Options, emit func(*Batch) error) (Stats, error) {
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.Readers <= 0 {
		opt.Readers = runtime.GOMAXPROCS(0)
	}
	if opt.MaxRecord <= 0 {
		opt.MaxRecord = decode.DefaultMaxRecord
	}
	if opt.Counters == nil {
		opt.Counters = &Counters{}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	work := make(chan *Batch, 2*opt.Workers)
	var pool chan []event.Event // Recycle: emitted batches' event memory
	if opt.Recycle {
		pool = make(chan []event.Event, 2*opt.Workers+opt.Readers+2)
	}
	order := make(chan chan *Batch, opt.Readers)
	var workers, readers sync.WaitGroup
	for range opt.Workers {
		workers.Go(func() {
			for b := range work {
				decodeBatch(b, opt.Counters, pool)
				if opt.Map != nil {
					opt.Map(b)
				}
				close(b.done)
			}
		})
	}
	// The dispatcher starts readers in input order, at most opt.Readers at
	// a time, and tells the emitter the order of their queues. Once every
	// reader has stopped, it closes work, which ends the workers.
	go func() {
		defer close(work)
		defer readers.Wait()
		defer close(order)
		sem := make(chan struct{}, opt.Readers)
		for idx, in := range inputs {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			q := make(chan *Batch, 4)
			select {
			case order <- q:
			case <-ctx.Done():
				return
			}
			readers.Go(func() {
				defer func() { <-sem }()
				defer close(q)
				read(ctx, idx, in, opt, work, q)
				opt.Counters.InputsDone.Add(1)
			})
		}
	}()

	var st Stats
	st.Inputs = len(inputs)
	var emitErr error
	for q := range order {
		for b := range q {
			<-b.done
			if emitErr != nil {
				continue
			}
			st.add(b)
			if err := emit(b); err != nil {
				emitErr = err
				cancel()
			}
			if pool != nil && cap(b.Events) > 0 {
				select {
				case pool <- b.Events[:0]:
				default:
				}
				b.Events = nil
			}
		}
	}
	workers.Wait()
	if emitErr != nil {
		return st, emitErr
	}
	return st, ctx.Err()
}

func (s *Stats) add(b *Batch) {
	s.Events += int64(len(b.Events))
	s.BadRecords += int64(len(b.Errors))
	s.Skipped += int64(len(b.Skipped))
	for _, e := range b.Skipped {
		if !Skipped(e.Err) {
			s.Stray++
		}
	}
	for _, e := range b.Errors {
		if len(s.Errors) < MaxErrors {
			s.Errors = append(s.Errors, e)
		}
	}
	for _, e := range b.Skipped {
		if len(s.Notices) < MaxErrors {
			s.Notices = append(s.Notices, e)
		}
	}
}

// send hands a batch to the workers and queues it for the emitter.
func send(ctx context.Context, b *Batch, work chan<- *Batch, q chan<- *Batch) bool {
	b.done = make(chan struct{})
	select {
	case work <- b:
	case <-ctx.Done():
		return false
	}
	select {
	case q <- b:
		return true
	case <-ctx.Done():
		return false
	}
}

// sendNote queues a batch holding only an error or a notice. It runs Map
// on it like on every other batch, so emit may count on what Map sets.
func sendNote(ctx context.Context, idx int, in Input, e *decode.Error, skipped bool, opt Options, q chan<- *Batch) {
	b := &Batch{Input: idx, Name: in.Name, done: make(chan struct{})}
	if skipped {
		b.Skipped = []*decode.Error{e}
	} else {
		b.Errors = []*decode.Error{e}
	}
	if opt.Map != nil {
		opt.Map(b)
	}
	close(b.done)
	select {
	case q <- b:
	case <-ctx.Done():
	}
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// read opens one input, detects its format and frames it into batches.
func read(ctx context.Context, idx int, in Input, opt Options, work chan<- *Batch, q chan<- *Batch) {
	fail := func(off int64, err error) {
		sendNote(ctx, idx, in, &decode.Error{File: in.Name, Offset: off, Err: err}, false, opt, q)
	}
	rc, err := in.Open()
	if err != nil {
		fail(0, err)
		return
	}
	defer rc.Close()
	br := bufPool.Get().(*bufio.Reader)
	br.Reset(countingReader{rc, &opt.Counters.BytesRead})
	defer bufPool.Put(br)
	if magic, _ := br.Peek(len(ocsfparquet.Magic)); ocsfparquet.Is(magic) {
		readParquet(ctx, idx, in, rc, br, opt, work, q)
		return
	}
	var r io.Reader = br
	var whole []byte // the decompressed input, when it was read whole
	hint := int64(-1)
	if in.Size > 0 {
		hint = in.Size
	}
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		var stream io.Reader
		if whole, stream = gunzipWhole(br, in.Size); whole == nil {
			// Too large to hold, or bad: streamed, which also says where
			// a bad one goes wrong, after the records before it.
			if stream == br {
				hint = gzipSize(rc, in.Size)
			}
			zr, _ := gzPool.Get().(*gzip.Reader)
			var err error
			if zr == nil {
				zr, err = gzip.NewReader(stream)
			} else {
				err = zr.Reset(stream)
			}
			if err != nil {
				fail(0, fmt.Errorf("gzip: %w", err))
				return
			}
			defer gzPool.Put(zr)
			r = zr
		}
	}
	var head []byte
	var perr error
	var sr *bufio.Reader
	if whole != nil {
		head = whole[:min(len(whole), sniffSize)]
		if len(whole) < sniffSize {
			perr = io.EOF
		}
	} else {
		// Just big enough to sniff the format: the framer's reads past it
		// go straight to r (a larger buffer would fill with the
		// decompressed file only for the framer to copy it out again).
		sr = sniffPool.Get().(*bufio.Reader)
		sr.Reset(r)
		defer sniffPool.Put(sr)
		head, perr = sr.Peek(sniffSize)
	}
	kind, flow, skip, err := sniff(head)
	if err != nil {
		if errors.Is(err, errEmpty) && perr != nil && perr != io.EOF && perr != bufio.ErrBufferFull {
			// Nothing came before the cut (gzip cut short): bad, not empty.
			fail(0, fmt.Errorf("read: %w", perr))
			return
		}
		if errors.Is(err, errEmpty) {
			sendNote(ctx, idx, in, &decode.Error{File: in.Name, Err: err}, true, opt, q)
			return
		}
		fail(0, err)
		return
	}
	var fr *decode.Framer
	switch {
	case whole != nil && kind == kindFlow:
		fr = decode.NewLineFramerBytes(whole[skip:], in.Name)
	case whole != nil:
		fr = decode.NewFramerBytes(whole[skip:], in.Name)
	case kind == kindFlow:
		_, _ = sr.Discard(skip)
		fr = decode.NewLineFramer(sr, in.Name)
	default:
		_, _ = sr.Discard(skip)
		fr = decode.NewFramer(sr, in.Name)
	}
	if kind == kindFlow && skip > 0 {
		fr.Skip(int64(skip))
	}
	fr.MaxRecord = opt.MaxRecord
	if hint > 0 && hint < math.MaxInt32 {
		fr.SizeHint = int(hint)
	}
	for ctx.Err() == nil {
		ch, err := fr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			fail(0, err)
			return
		}
		if !send(ctx, &Batch{Input: idx, Name: in.Name, chunk: ch, flow: flow}, work, q) {
			return
		}
	}
}

// MaxParquet bounds a Parquet file read from a stream (an S3 object),
// which is held in memory to be read at offsets; files on disk are read
// in place.
const MaxParquet = 1 << 30

// parquetBatch is how many events of a Parquet file a batch holds.
const parquetBatch = 1024

// readParquet decodes a Parquet file of OCSF records (AWS Security Lake)
// on the reader's goroutine and queues its events in batches.
func readParquet(ctx context.Context, idx int, in Input, rc io.ReadCloser, br *bufio.Reader, opt Options, work chan<- *Batch, q chan<- *Batch) {
	fail := func(e *decode.Error) {
		sendNote(ctx, idx, in, e, false, opt, q)
	}
	var ra io.ReaderAt
	size := in.Size
	if r, ok := rc.(io.ReaderAt); ok && size > 0 {
		// Read in place; count the bytes of the file the reader did not.
		ra = r
		defer opt.Counters.BytesRead.Add(max(size-int64(br.Buffered()), 0))
	} else {
		data, err := io.ReadAll(io.LimitReader(br, MaxParquet+1))
		if err != nil {
			fail(&decode.Error{File: in.Name, Offset: int64(len(data)), Err: fmt.Errorf("read: %w", err)})
			return
		}
		if len(data) > MaxParquet {
			fail(&decode.Error{File: in.Name, Offset: MaxParquet, Err: fmt.Errorf("a Parquet file over %d MiB read from a stream: not read", MaxParquet>>20)})
			return
		}
		ra, size = bytes.NewReader(data), int64(len(data))
	}
	f, err := ocsfparquet.Open(ra, size, in.Name)
	if err != nil {
		var de *decode.Error
		if !errors.As(err, &de) {
			de = &decode.Error{File: in.Name, Err: err}
		}
		fail(de)
		return
	}
	b := &Batch{Input: idx, Name: in.Name}
	flush := func() error {
		if len(b.Events) == 0 && len(b.Errors) == 0 && len(b.Skipped) == 0 {
			return nil
		}
		opt.Counters.Events.Add(int64(len(b.Events)))
		if !send(ctx, b, work, q) {
			return ctx.Err()
		}
		b = &Batch{Input: idx, Name: in.Name}
		return nil
	}
	err = f.Each(func(ev *event.Event) error {
		ev.Origin = event.Origin{File: in.Name}
		b.Events = append(b.Events, *ev)
		if len(b.Events) >= parquetBatch {
			return flush()
		}
		return nil
	}, func(e *decode.Error) {
		if Skipped(e.Err) {
			b.Skipped = append(b.Skipped, e)
		} else {
			b.Errors = append(b.Errors, e)
		}
		if len(b.Errors)+len(b.Skipped) >= parquetBatch {
			_ = flush() // bounded; a cancelled run stops at the next event
		}
	})
	if err == nil {
		_ = flush()
	}
}

// Gzip files up to wholeGzip bytes, whose contents are up to wholeOut,
// are read and decompressed whole (package inflate): a CloudTrail file is
// a few KiB to a few MiB, and decompressing it in one call into the
// buffer the framer then reads in place takes about three quarters of the
// time a streaming reader does, with one copy of the contents fewer.
// Larger ones are streamed, so that a reader holds at most wholeOut of
// contents (its events alias them until they are done) and not a whole
// large file.
const (
	wholeGzip = 4 << 20
	wholeOut  = 16 << 20
)

// gunzipWhole reads the gzip file br holds (size bytes, when known) and
// returns its contents, or nil and the stream to decompress as it is
// read: the file is larger than wholeGzip (or grows past it), or what it
// holds is larger than wholeOut, or it is bad (a streaming reader then
// reads the same bytes again, to return the records before the damage
// and say where it is). The contents are fresh memory (the events decoded
// from them alias it); the compressed bytes' buffer is reused.
func gunzipWhole(br *bufio.Reader, size int64) ([]byte, io.Reader) {
	if size <= 0 || size > wholeGzip {
		return nil, br
	}
	zb := zipPool.Get().(*[]byte)
	defer zipPool.Put(zb)
	z := (*zb)[:0]
	if cap(z) < int(size)+1 {
		z = make([]byte, 0, int(size)+1)
	}
	for {
		if len(z) == cap(z) {
			if len(z) > wholeGzip { // grown since it was listed
				return nil, io.MultiReader(bytes.NewReader(slices.Clone(z)), br)
			}
			z = slices.Grow(z, len(z))
		}
		n, err := br.Read(z[len(z):cap(z)])
		z = z[:len(z)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, io.MultiReader(bytes.NewReader(slices.Clone(z)), errReader{err})
		}
	}
	if cap(z) <= 2*wholeGzip {
		*zb = z
	}
	out := 0
	if n := inflate.Size(z); n > 0 && n <= wholeOut {
		out = n
	}
	if out == 0 && len(z) > 0 {
		out = 4 * len(z)
	}
	data, err := inflate.Gunzip(make([]byte, 0, out), z, wholeOut)
	if err != nil {
		return nil, bytes.NewReader(slices.Clone(z))
	}
	return data, nil
}

// errReader returns its error.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// gzipSize reads the uncompressed size a gzip file records in its last
// four bytes (modulo 4 GiB, and of its last member only), as a hint for
// buffer sizes; -1 when the file cannot be read at an offset or the figure
// is implausible.
func gzipSize(rc io.Reader, size int64) int64 {
	ra, ok := rc.(io.ReaderAt)
	if !ok || size < 20 {
		return -1
	}
	var tail [4]byte
	if _, err := ra.ReadAt(tail[:], size-4); err != nil {
		return -1
	}
	n := int64(binary.LittleEndian.Uint32(tail[:]))
	if n == 0 || n > 1032*size { // deflate expands at most 1032:1
		return -1
	}
	return n
}

// Readers are reused across inputs: most inputs are small files, and a
// gzip reader's state costs more to build than its file to read.
var (
	bufPool   = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}
	sniffPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, sniffSize) }}
	gzPool    sync.Pool
	zipPool   = sync.Pool{New: func() any { return new([]byte) }}
)

// sniffSize is how much of an input's start is read to tell its format.
const sniffSize = 8 << 10

type kind uint8

const (
	kindJSON kind = iota
	kindFlow
)

var errEmpty = errors.New("empty input: no records")

// sniff decides the format from the first bytes of the (uncompressed)
// input. For flow logs it returns the format and how many header bytes to
// skip.
func sniff(head []byte) (k kind, flow *vpcflow.Format, skip int, err error) {
	t := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(t) == 0 {
		return 0, nil, 0, errEmpty
	}
	if t[0] == '{' || t[0] == '[' {
		return kindJSON, nil, 0, nil
	}
	if bytes.IndexByte(head, 0) >= 0 || !utf8.Valid(head[:utf8Prefix(head)]) {
		return 0, nil, 0, fmt.Errorf("%w: binary data", decode.ErrUnknownFormat)
	}
	first, _, _ := bytes.Cut(t, []byte("\n"))
	line := strings.TrimSpace(string(first))
	if f, ok := vpcflow.ParseHeader(line); ok {
		n := bytes.Index(head, first) + len(first)
		if n < len(head) && head[n] == '\n' {
			n++
		}
		return kindFlow, f, n, nil
	}
	if fs := strings.Fields(line); len(fs) == len(vpcflow.DefaultFields) && fs[0] == "2" {
		return kindFlow, vpcflow.Default, 0, nil
	}
	return 0, nil, 0, fmt.Errorf("%w: neither JSON nor a VPC flow log (a custom flow log format needs its header line)", decode.ErrUnknownFormat)
}

// utf8Prefix trims a rune cut at the end of the peeked bytes.
func utf8Prefix(b []byte) int {
	n := len(b)
	for k := 0; k < utf8.UTFMax && n > 0; k++ {
		if utf8.RuneStart(b[n-1]) {
			if !utf8.FullRune(b[n-1:]) {
				return n - 1
			}
			return len(b) - k
		}
		n--
	}
	return len(b)
}

// decodeBatch decodes the batch's chunk into events on a worker.
func decodeBatch(b *Batch, c *Counters, pool chan []event.Event) {
	ch := b.chunk
	if ch == nil {
		return
	}
	b.chunk = nil
	b.Errors = append(b.Errors, ch.Errors...)
	select {
	case evs := <-pool: // nil: never
		if cap(evs) >= len(ch.Items) {
			b.Events = evs
		}
	default:
	}
	if b.Events == nil {
		b.Events = make([]event.Event, 0, len(ch.Items))
	}
	for _, it := range ch.Items {
		data := ch.Data[it.Start:it.End]
		fail := func(err error) {
			b.Errors = append(b.Errors, &decode.Error{File: b.Name, Offset: it.Offset, Line: it.Line, Err: err})
		}
		if b.flow != nil {
			// Decoded in place, sharing the chunk's memory like records.
			b.Events = append(b.Events, event.Event{})
			ev := &b.Events[len(b.Events)-1]
			if err := b.flow.DecodeRecord(data, ev); err != nil {
				b.Events = b.Events[:len(b.Events)-1]
				fail(err)
				continue
			}
			ev.Origin = event.Origin{File: b.Name, Offset: it.Offset}
			continue
		}
		if bytes.HasPrefix(data, ctPrefix) {
			// The common case, decoded in place: no copy of the event.
			b.Events = append(b.Events, event.Event{})
			ev := &b.Events[len(b.Events)-1]
			if err := cloudtrail.Decode(data, ev); err != nil {
				b.Events = b.Events[:len(b.Events)-1]
				fail(fmt.Errorf("cloudtrail record: %w", err))
				continue
			}
			ev.Origin = event.Origin{File: b.Name, Offset: it.Offset}
			continue
		}
		DecodeJSON(data, func(ev *event.Event) {
			ev.Origin = event.Origin{File: b.Name, Offset: it.Offset}
			b.Events = append(b.Events, *ev)
		}, func(err error) {
			if Skipped(err) {
				b.Skipped = append(b.Skipped, &decode.Error{File: b.Name, Offset: it.Offset, Line: it.Line, Err: err})
				return
			}
			fail(err)
		})
	}
	c.Events.Add(int64(len(b.Events)))
}
