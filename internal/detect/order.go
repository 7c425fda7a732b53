package detect

import (
	"bufio"
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/klauspost/compress/s2"

	"github.com/parapet-sec/parapet/internal/decode/vpcflow"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
)

// Defaults for an Order.
const (
	DefaultOrderMemory = 64 << 20
	orderBatch         = 1024 // events per batch handed on
	maxFanIn           = 64   // runs merged at once
)

// Order puts a batch run's events in event-time order, passes over
// duplicate records, runs the stateless detectors on every core and hands
// the events and their findings on in order: what behavioural models and
// correlation rules, which assume event time, need whatever order the
// input came in (a JSON-lines export newest first, files of several
// accounts, overlapping exports).
//
// Events are held as they are up to Memory bytes (an estimate of what
// they and their records take); past that the run so far is sorted and
// written to a temporary file, compressed, as native records and origins,
// which the workers decode again when Run merges the runs (the decoders are
// deterministic). Ties keep the order of arrival. Events that arrived in
// order are handed to Map where they lie, without a copy.
//
// Use: Add the events as they are read (taking ownership of the slices),
// then Run once. Order is not safe for concurrent use; Run owns the
// goroutines it starts and stops them before it returns.
type Order struct {
	// Map runs on each batch of ordered events on a worker goroutine (in
	// parallel with other batches): enrichment, then the stateless
	// detectors (Engine.DetectBatch). Required.
	Map func([]event.Event) *Batch
	// Dedup, when set, passes over records it has seen.
	Dedup *Dedup
	// Memory bounds the bytes of events held before a sorted run is
	// written to disk (default DefaultOrderMemory); negative: never
	// written (the caller bounds the input).
	Memory int64
	// Dir holds the runs written to disk (default os.TempDir()).
	Dir string
	// Workers run Map (default GOMAXPROCS).
	Workers int

	items   []item
	batches [][]event.Event // the slices Add was given, for items to point into
	bytes   int64
	seq     uint64
	newest  int64
	sorted  bool
	runs    []string
	stats   OrderStats
	err     error
}

// OrderStats counts what an Order did.
type OrderStats struct {
	Events     int64 // handed on
	Duplicates int64 // records passed over as copies of one handed on
	OutOfOrder int64 // events that arrived after a later one
	Runs       int   // sorted runs written to disk
	RunBytes   int64 // their compressed size
}

type item struct {
	t     int64 // event time, Unix nanoseconds
	seq   uint64
	key   uint64
	batch int32 // the event: batches[batch][idx]; -1 when read back from disk
	idx   int32
}

func (a *item) less(b *item) bool { return a.t < b.t || a.t == b.t && a.seq < b.seq }

var eventSize = int64(unsafe.Sizeof(event.Event{}) + unsafe.Sizeof(item{}))

func (o *Order) event(it *item) *event.Event { return &o.batches[it.batch][it.idx] }

// Add takes events (the slice must not change afterwards) and holds them
// until Run; it writes a sorted run to disk when the memory bound is
// reached.
func (o *Order) Add(events []event.Event) error {
	if o.err != nil {
		return o.err
	}
	if len(o.items) == 0 {
		o.sorted = true
	}
	if o.Memory == 0 {
		o.Memory = DefaultOrderMemory
	}
	if len(events) == 0 {
		return nil
	}
	o.batches = append(o.batches, events)
	batch := int32(len(o.batches) - 1)
	for i := range events {
		ev := &events[i]
		t := ev.Time.UnixNano()
		if t < o.newest {
			o.stats.OutOfOrder++
			o.sorted = false
		}
		o.newest = max(o.newest, t)
		it := item{t: t, seq: o.seq, batch: batch, idx: int32(i)}
		o.seq++
		if o.Dedup != nil {
			it.key = o.Dedup.Key(ev)
		}
		o.items = append(o.items, it)
		o.bytes += eventSize + int64(len(ev.Raw.Data)) + 16*int64(len(ev.Raw.Values)) + 64*int64(len(ev.Resources))
		if o.Memory > 0 && o.bytes > o.Memory {
			if err := o.spill(); err != nil {
				o.err = err
				return err
			}
			o.sorted = true
			// The rest of this slice belongs to the next run.
			o.batches = append(o.batches, events)
			batch = int32(len(o.batches) - 1)
		}
	}
	return nil
}

func (o *Order) sort() {
	if !o.sorted {
		slices.SortFunc(o.items, func(a, b item) int {
			if c := cmp.Compare(a.t, b.t); c != 0 {
				return c
			}
			return cmp.Compare(a.seq, b.seq)
		})
	}
	o.sorted = true
}

// spill writes the held events, sorted, to a new run file.
func (o *Order) spill() error {
	o.sort()
	w, err := newRunWriter(o.Dir)
	if err != nil {
		return err
	}
	o.runs = append(o.runs, w.f.Name())
	var payload []byte
	for i := range o.items {
		it := &o.items[i]
		if payload, err = appendRecord(payload[:0], o.event(it)); err != nil {
			w.abort()
			return err
		}
		if err := w.write(it.t, it.seq, it.key, payload); err != nil {
			w.abort()
			return err
		}
	}
	n, err := w.close()
	if err != nil {
		return err
	}
	o.stats.Runs++
	o.stats.RunBytes += n
	// The events go (their memory is reused); the index is reused.
	clear(o.batches)
	o.items, o.batches, o.bytes = o.items[:0], o.batches[:0], 0
	return nil
}

// Close removes the runs written to disk. Run calls it.
func (o *Order) Close() error {
	var errs []error
	for _, p := range o.runs {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	o.runs, o.items, o.batches = nil, nil, nil
	return errors.Join(errs...)
}

// job is one batch of ordered records on its way through the workers.
type job struct {
	items    []item   // held events, or (batch -1) records read back from disk
	payloads [][]byte // those records
	events   []event.Event
	buf      *[]event.Event // events' memory, back to eventBufs after emit
	res      *Batch
	err      error
	done     chan struct{}
}

// eventBufs recycles the memory of events copied into order: warm memory,
// not a fresh megabyte per batch.
var eventBufs = sync.Pool{New: func() any {
	b := make([]event.Event, orderBatch)
	return &b
}}

// contiguous reports whether the job's events lie side by side in one of
// the slices Add was given.
func (j *job) contiguous() bool {
	first := &j.items[0]
	last := &j.items[len(j.items)-1]
	return first.batch >= 0 && last.batch == first.batch && int(last.idx-first.idx) == len(j.items)-1
}

// Run hands every event added on to emit, in event-time order, in
// batches with the findings Map found in them, on the caller's goroutine;
// emit must not keep the events after it returns (their memory is reused).
// It stops at the first error from emit or when ctx ends, and removes the
// runs written to disk.
func (o *Order) Run(ctx context.Context, emit func(events []event.Event, b *Batch) error) (OrderStats, error) {
	defer o.Close()
	if o.err != nil {
		return o.stats, o.err
	}
	if o.Map == nil {
		return o.stats, errors.New("order: no Map")
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	o.sort()
	var src source
	if len(o.runs) == 0 {
		src = &memSource{items: o.items}
	} else {
		for len(o.runs) > maxFanIn {
			if err := o.premerge(); err != nil {
				return o.stats, err
			}
		}
		m, err := o.merger()
		if err != nil {
			return o.stats, err
		}
		defer m.close()
		src = m
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan *job, 2*workers)
	order := make(chan *job, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			formats := map[string]*vpcflow.Format{}
			for j := range work {
				o.process(j, formats)
				close(j.done)
			}
		})
	}
	var produceErr error
	go func() {
		defer close(work)
		defer close(order)
		j := &job{}
		send := func() bool {
			if len(j.items) == 0 {
				return true
			}
			j.done = make(chan struct{})
			select {
			case work <- j:
			case <-ctx.Done():
				return false
			}
			select {
			case order <- j:
			case <-ctx.Done():
				return false
			}
			j = &job{}
			return true
		}
		for {
			it, payload, ok, err := src.next()
			if err != nil {
				produceErr = err
				cancel()
				return
			}
			if !ok {
				send()
				return
			}
			if o.Dedup != nil && o.Dedup.SeenKey(it.key, it.t) {
				o.stats.Duplicates++
				continue
			}
			// Events in their arrival order go on where they lie: a job
			// ends where that stops, unless it is still short.
			if n := len(j.items); n >= orderBatch/16 && j.contiguous() {
				last := &j.items[n-1]
				if (it.batch != last.batch || it.idx != last.idx+1) && !send() {
					return
				}
			}
			j.items = append(j.items, it)
			j.payloads = append(j.payloads, payload)
			if len(j.items) == orderBatch && !send() {
				return
			}
		}
	}()
	var emitErr error
	for j := range order {
		<-j.done
		if emitErr != nil {
			continue
		}
		if j.err != nil {
			emitErr = j.err
			cancel()
			continue
		}
		o.stats.Events += int64(len(j.events))
		if err := emit(j.events, j.res); err != nil {
			emitErr = err
			cancel()
		}
		if j.buf != nil {
			eventBufs.Put(j.buf)
		}
	}
	wg.Wait()
	switch {
	case emitErr != nil:
		return o.stats, emitErr
	case produceErr != nil:
		return o.stats, produceErr
	}
	return o.stats, ctx.Err()
}

// process materializes a job's events and runs Map on them.
func (o *Order) process(j *job, formats map[string]*vpcflow.Format) {
	if j.contiguous() {
		first := &j.items[0]
		j.events = o.batches[first.batch][first.idx : int(first.idx)+len(j.items)]
		j.items, j.payloads = nil, nil
		j.res = o.Map(j.events)
		return
	}
	j.buf = eventBufs.Get().(*[]event.Event)
	j.events = (*j.buf)[:len(j.items)]
	for i := range j.items {
		if it := &j.items[i]; it.batch >= 0 {
			j.events[i] = *o.event(it)
			continue
		}
		if err := readRecord(j.payloads[i], &j.events[i], formats); err != nil {
			j.err = fmt.Errorf("order: reading a sorted run back: %w", err)
			return
		}
	}
	j.items, j.payloads = nil, nil
	j.res = o.Map(j.events)
}

// source yields items in order: a held event, or a record read back.
type source interface {
	next() (it item, payload []byte, ok bool, err error)
}

type memSource struct {
	items []item
	i     int
}

func (m *memSource) next() (item, []byte, bool, error) {
	if m.i >= len(m.items) {
		return item{}, nil, false, nil
	}
	m.i++
	return m.items[m.i-1], nil, true, nil
}

// A run file is a stream of records compressed with S2: per record its
// event time, arrival sequence and dedup key (8 bytes each, little
// endian), then the payload's length (uvarint) and the payload.

type runWriter struct {
	f  *os.File
	bw *bufio.Writer
	zw *s2.Writer
	n  int64
	h  [24 + binary.MaxVarintLen64]byte
}

func newRunWriter(dir string) (*runWriter, error) {
	f, err := os.CreateTemp(dir, "parapet-sort-*.run")
	if err != nil {
		return nil, fmt.Errorf("order: %w", err)
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	return &runWriter{f: f, bw: bw, zw: s2.NewWriter(bw, s2.WriterConcurrency(1))}, nil
}

func (w *runWriter) write(t int64, seq, key uint64, payload []byte) error {
	binary.LittleEndian.PutUint64(w.h[0:], uint64(t))
	binary.LittleEndian.PutUint64(w.h[8:], seq)
	binary.LittleEndian.PutUint64(w.h[16:], key)
	n := binary.PutUvarint(w.h[24:], uint64(len(payload)))
	if _, err := w.zw.Write(w.h[:24+n]); err != nil {
		return fmt.Errorf("order: write %s: %w", w.f.Name(), err)
	}
	if _, err := w.zw.Write(payload); err != nil {
		return fmt.Errorf("order: write %s: %w", w.f.Name(), err)
	}
	return nil
}

func (w *runWriter) close() (int64, error) {
	err := w.zw.Close()
	if err == nil {
		err = w.bw.Flush()
	}
	var size int64
	if info, serr := w.f.Stat(); serr == nil {
		size = info.Size()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("order: write %s: %w", w.f.Name(), err)
	}
	return size, nil
}

func (w *runWriter) abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

type runReader struct {
	f    *os.File
	br   *bufio.Reader
	head item
	body []byte
	ok   bool
}

func openRun(path string) (*runReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("order: %w", err)
	}
	r := &runReader{f: f, br: bufio.NewReaderSize(s2.NewReader(bufio.NewReaderSize(f, 64<<10)), 64<<10)}
	return r, r.advance()
}

// advance reads the next record into head and body; ok is false at the end.
func (r *runReader) advance() error {
	var h [24]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		if err == io.EOF {
			r.ok = false
			return nil
		}
		return fmt.Errorf("order: read %s: %w", r.f.Name(), err)
	}
	n, err := binary.ReadUvarint(r.br)
	if err != nil || n > 1<<31 {
		return fmt.Errorf("order: read %s: bad record length", r.f.Name())
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r.br, body); err != nil {
		return fmt.Errorf("order: read %s: %w", r.f.Name(), err)
	}
	r.head = item{t: int64(binary.LittleEndian.Uint64(h[0:])), seq: binary.LittleEndian.Uint64(h[8:]), key: binary.LittleEndian.Uint64(h[16:]), batch: -1}
	r.body, r.ok = body, true
	return nil
}

// merger is a k-way merge of the runs on disk and the one in memory.
type merger struct {
	mem     *memSource
	readers []*runReader
	h       cursorHeap
}

type cursor struct {
	r   *runReader // nil: the memory run
	mem *memSource
}

func (c *cursor) head() *item {
	if c.r != nil {
		return &c.r.head
	}
	return &c.mem.items[c.mem.i]
}

type cursorHeap []*cursor

func (h cursorHeap) Len() int           { return len(h) }
func (h cursorHeap) Less(i, j int) bool { return h[i].head().less(h[j].head()) }
func (h cursorHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)        { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (o *Order) merger() (*merger, error) {
	m := &merger{mem: &memSource{items: o.items}}
	for _, p := range o.runs {
		r, err := openRun(p)
		if err != nil {
			m.close()
			return nil, err
		}
		m.readers = append(m.readers, r)
		if r.ok {
			m.h = append(m.h, &cursor{r: r})
		}
	}
	if len(m.mem.items) > 0 {
		m.h = append(m.h, &cursor{mem: m.mem})
	}
	heap.Init(&m.h)
	return m, nil
}

func (m *merger) next() (item, []byte, bool, error) {
	if len(m.h) == 0 {
		return item{}, nil, false, nil
	}
	c := m.h[0]
	if c.r == nil {
		it, payload, _, _ := c.mem.next()
		if c.mem.i >= len(c.mem.items) {
			heap.Pop(&m.h)
		} else {
			heap.Fix(&m.h, 0)
		}
		return it, payload, true, nil
	}
	it, body := c.r.head, c.r.body
	if err := c.r.advance(); err != nil {
		return item{}, nil, false, err
	}
	if c.r.ok {
		heap.Fix(&m.h, 0)
	} else {
		heap.Pop(&m.h)
	}
	return it, body, true, nil
}

func (m *merger) close() {
	for _, r := range m.readers {
		r.f.Close()
	}
}

// premerge merges the first maxFanIn runs on disk into one, so that the
// final merge reads at most maxFanIn files at once.
func (o *Order) premerge() error {
	first := o.runs[:maxFanIn]
	m := &merger{mem: &memSource{}}
	defer m.close()
	for _, p := range first {
		r, err := openRun(p)
		if err != nil {
			return err
		}
		m.readers = append(m.readers, r)
		if r.ok {
			m.h = append(m.h, &cursor{r: r})
		}
	}
	heap.Init(&m.h)
	w, err := newRunWriter(o.Dir)
	if err != nil {
		return err
	}
	for {
		it, body, ok, err := m.next()
		if err != nil {
			w.abort()
			return err
		}
		if !ok {
			break
		}
		if err := w.write(it.t, it.seq, it.key, body); err != nil {
			w.abort()
			return err
		}
	}
	n, err := w.close()
	if err != nil {
		os.Remove(w.f.Name())
		return err
	}
	for _, p := range first {
		os.Remove(p)
	}
	o.stats.RunBytes += n
	o.runs = append([]string{w.f.Name()}, o.runs[maxFanIn:]...)
	return nil
}

// A record's payload: its raw format (1 JSON, 2 text fields), its origin
// (file, offset), for text records the field names, and the native record.

func appendRecord(b []byte, ev *event.Event) ([]byte, error) {
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	switch ev.Raw.Format {
	case event.RawJSON:
		b = append(b, 1)
	case event.RawFields:
		b = append(b, 2)
	default:
		return b, fmt.Errorf("order: event %s has no native record to write to disk", ev.ID)
	}
	str(ev.Origin.File)
	b = binary.AppendUvarint(b, uint64(max(ev.Origin.Offset, 0)))
	if ev.Raw.Format == event.RawFields {
		str(strings.Join(ev.Raw.Names, " "))
	}
	b = binary.AppendUvarint(b, uint64(len(ev.Raw.Data)))
	return append(b, ev.Raw.Data...), nil
}

// readRecord decodes a payload back into the event it was written from
// (the decoders are deterministic). ev's strings share p's memory.
func readRecord(p []byte, ev *event.Event, formats map[string]*vpcflow.Format) error {
	bad := errors.New("bad record")
	if len(p) == 0 {
		return bad
	}
	kind := p[0]
	p = p[1:]
	str := func() (string, bool) {
		n, k := binary.Uvarint(p)
		if k <= 0 || uint64(len(p)-k) < n {
			return "", false
		}
		s := string(p[k : k+int(n)])
		p = p[k+int(n):]
		return s, true
	}
	file, ok := str()
	if !ok {
		return bad
	}
	off, k := binary.Uvarint(p)
	if k <= 0 {
		return bad
	}
	p = p[k:]
	var names string
	if kind == 2 {
		if names, ok = str(); !ok {
			return bad
		}
	}
	n, k := binary.Uvarint(p)
	if k <= 0 || uint64(len(p)-k) != n {
		return bad
	}
	data := p[k:]
	switch kind {
	case 1:
		got := 0
		var derr error
		ingest.DecodeJSON(data, func(e *event.Event) {
			if got == 0 {
				*ev = *e
			}
			got++
		}, func(err error) { derr = err })
		if derr != nil {
			return derr
		}
		if got != 1 {
			return fmt.Errorf("%d events from one record", got)
		}
	case 2:
		f := formats[names]
		if f == nil {
			var err error
			if f, err = vpcflow.NewFormat(strings.Fields(names)); err != nil {
				return err
			}
			formats[names] = f
		}
		if err := f.Decode(string(data), ev); err != nil {
			return err
		}
	default:
		return bad
	}
	ev.Origin = event.Origin{File: file, Offset: int64(off)}
	return nil
}
