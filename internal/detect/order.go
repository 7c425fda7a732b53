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
	"math"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/klauspost/compress/s2"

	"github.com/parapet-sec/parapet/internal/event"
)

// Defaults for an Order.
const (
	DefaultOrderMemory = 64 << 20
	orderBatch         = 1024 // events per batch handed on
	maxFanIn           = 64   // runs merged at once
)

// Items not in a slice Add was given.
const (
	readBatch    = -1 // read back from a run on disk
	heldBatch    = -2 // held by AddSparse: held.get(idx)
	payloadBatch = -4 // held by AddPayloads: paid.get(idx)
	skipBatch    = -3 // passed over by AddSparse: ordered and counted only
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
// written to a temporary file, compressed (each event in its binary form,
// event.AppendBinary, native record included), and Run merges the runs.
// Ties keep the order of arrival. Events that arrived in
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

	items    []item
	batches  [][]event.Event // the slices Add was given, for items to point into
	held     *arena          // what AddSparse holds
	paid     *arena          // what AddPayloads holds
	bytes    int64
	seq      uint64
	newest   int64
	sorted   bool
	runs     []string
	spilling chan spillResult    // the spill in flight
	bufs     chan *[]event.Event // memory for events copied into order, recycled during Run
	stats    OrderStats
	err      error
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
	batch int32 // the event: batches[batch][idx]; or readBatch, heldBatch (held.get(idx)), skipBatch
	idx   int32
}

// sortTime is t in Unix nanoseconds, clamped to what they can hold (a
// missing time sorts first).
func sortTime(t time.Time) int64 {
	switch y := t.Year(); {
	case y < 1678:
		return math.MinInt64
	case y > 2261:
		return math.MaxInt64
	}
	return t.UnixNano()
}

func (a *item) less(b *item) bool { return a.t < b.t || a.t == b.t && a.seq < b.seq }

var eventSize = int64(unsafe.Sizeof(event.Event{}) + unsafe.Sizeof(item{}))

func (o *Order) event(it *item) *event.Event { return &o.batches[it.batch][it.idx] }

// next is ev's item (time, arrival and dedup key; the caller says where
// it lies), counting it out of order when it came after a later one.
func (o *Order) next(ev *event.Event) item {
	t := sortTime(ev.Time)
	if t < o.newest {
		o.stats.OutOfOrder++
		o.sorted = false
	}
	o.newest = max(o.newest, t)
	it := item{t: t, seq: o.seq}
	o.seq++
	if o.Dedup != nil {
		it.key = o.Dedup.Key(ev)
	}
	return it
}

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
		it := o.next(ev)
		it.batch, it.idx = batch, int32(i)
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

// AddSparse is Add for a run whose emit needs only the events something
// may be found in (findings or correlation hits, which Engine.MayFind
// marks in keep; nil keeps all), as when no behavioural model or playbook
// reads every event. Those are held in their binary form, which lets the
// memory the events were read into go as soon as the caller drops them,
// and Run maps them again, in order; the others are ordered and counted
// (and copies of a record passed over) but reach neither Map nor emit.
// Unlike Add it does not keep events. Use one of Add and AddSparse on an
// Order, not both.
func (o *Order) AddSparse(events []event.Event, keep []bool) error {
	return o.addHeld(events, keep, nil)
}

// AddPayloads is AddSparse for a run whose emit needs only what the
// caller made of each event as it was read (payloads[i]: its findings
// encoded for output, say; empty, or past the end of payloads, when
// there is nothing): the payloads are
// held, in order of their events' time, for RunPayloads, and copies of a
// record passed over. Use one of the Add methods on an Order.
func (o *Order) AddPayloads(events []event.Event, payloads [][]byte) error {
	if payloads == nil {
		payloads = [][]byte{} // none: every event passed over
	}
	return o.addHeld(events, nil, payloads)
}

// addHeld holds events (or payloads, when given) as AddSparse and
// AddPayloads say.
func (o *Order) addHeld(events []event.Event, keep []bool, payloads [][]byte) error {
	if o.err != nil {
		return o.err
	}
	if len(o.items) == 0 {
		o.sorted = true
	}
	if o.Memory == 0 {
		o.Memory = DefaultOrderMemory
	}
	for i := range events {
		ev := &events[i]
		it := o.next(ev)
		it.batch = skipBatch
		o.bytes += int64(unsafe.Sizeof(item{}))
		hold := keep == nil || keep[i]
		if payloads != nil {
			hold = i < len(payloads) && len(payloads[i]) > 0
		}
		if hold {
			if o.held == nil && payloads == nil {
				o.held = &arena{}
			}
			if payloads != nil {
				// Copied: the caller's memory is its own again once
				// this returns.
				if o.paid == nil {
					o.paid = &arena{plain: true}
				}
				var n int
				it.batch = payloadBatch
				it.idx, n = o.paid.add(payloads[i], nil)
				o.bytes += int64(n)
			} else {
				var n int
				it.batch = heldBatch
				it.idx, n = o.held.add(nil, ev)
				o.bytes += int64(n)
			}
		}
		o.items = append(o.items, it)
		if o.Memory > 0 && o.bytes > o.Memory {
			if err := o.spill(); err != nil {
				o.err = err
				return err
			}
			o.sorted = true
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

// spill sorts the held events and writes them to a new run file on a
// goroutine of its own, while Add goes on with the next run (one spill at
// a time: the next waits for it).
func (o *Order) spill() error {
	if err := o.waitSpill(); err != nil {
		return err
	}
	o.sort()
	w, err := newRunWriter(o.Dir)
	if err != nil {
		return err
	}
	o.runs = append(o.runs, w.f.Name())
	items, batches, held, paid := o.items, o.batches, o.held, o.paid
	o.items, o.batches, o.bytes = make([]item, 0, len(items)), nil, 0
	o.held, o.paid = nil, nil
	done := make(chan spillResult, 1)
	o.spilling = done
	go func() {
		var buf []byte
		for i := range items {
			it := &items[i]
			var payload []byte // skipBatch: none
			switch {
			case it.batch >= 0:
				buf = batches[it.batch][it.idx].AppendBinary(buf[:0])
				payload = buf
			case it.batch == heldBatch:
				payload = held.get(it.idx)
			case it.batch == payloadBatch:
				payload = paid.get(it.idx)
			}
			if err := w.write(it.t, it.seq, it.key, payload); err != nil {
				w.abort()
				done <- spillResult{err: err}
				return
			}
		}
		n, err := w.close()
		done <- spillResult{n: n, err: err}
	}()
	return nil
}

type spillResult struct {
	n   int64
	err error
}

// waitSpill waits for the spill in flight, if any.
func (o *Order) waitSpill() error {
	if o.spilling == nil {
		return nil
	}
	r := <-o.spilling
	o.spilling = nil
	if r.err != nil {
		return r.err
	}
	o.stats.Runs++
	o.stats.RunBytes += r.n
	return nil
}

// Close waits for a spill in flight and removes the runs written to disk.
// Run calls it; call it when Run is not called.
func (o *Order) Close() error {
	errs := []error{o.waitSpill()}
	for _, p := range o.runs {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	o.runs, o.items, o.batches, o.held, o.paid = nil, nil, nil, nil, nil
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

// getBuf returns memory for a batch of events copied into order: warm
// memory from a batch already emitted, not a fresh megabyte per batch (a
// sync.Pool loses it at every collection, and a sorting run collects
// often).
func (o *Order) getBuf() *[]event.Event {
	select {
	case b := <-o.bufs:
		return b
	default:
		b := make([]event.Event, orderBatch)
		return &b
	}
}

// putBuf keeps b for the next batch, up to the batches that can be in
// flight at once.
func (o *Order) putBuf(b *[]event.Event) {
	select {
	case o.bufs <- b:
	default:
	}
}

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
	if err := o.waitSpill(); err != nil {
		return o.stats, err
	}
	if o.Map == nil {
		return o.stats, errors.New("order: no Map")
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	src, closeSrc, err := o.source()
	if err != nil {
		return o.stats, err
	}
	defer closeSrc()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	o.bufs = make(chan *[]event.Event, 4*workers+2)
	defer func() { o.bufs = nil }()
	work := make(chan *job, 2*workers)
	order := make(chan *job, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range work {
				o.process(j)
				close(j.done)
			}
		})
	}
	var produceErr error
	var passed int64 // AddSparse's events with nothing in them
	go func() {
		defer close(work)
		defer close(order)
		newJob := func() *job { return &job{items: make([]item, 0, orderBatch)} }
		j := newJob()
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
			j = newJob()
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
			if it.batch == skipBatch {
				passed++
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
			if it.batch < 0 || j.payloads != nil {
				if j.payloads == nil {
					// The first record read back: the events before it
					// are held ones, without a payload.
					j.payloads = make([][]byte, len(j.items)-1, orderBatch)
				}
				j.payloads = append(j.payloads, payload)
			}
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
			o.putBuf(j.buf)
		}
	}
	wg.Wait()
	o.stats.Events += passed // order is closed: the producer is done
	switch {
	case emitErr != nil:
		return o.stats, emitErr
	case produceErr != nil:
		return o.stats, produceErr
	}
	return o.stats, ctx.Err()
}

// source sorts what is held and returns the items in order: from memory,
// or merged with the runs on disk.
func (o *Order) source() (source, func(), error) {
	o.sort()
	if len(o.runs) == 0 {
		return &memSource{items: o.items, held: o.held, paid: o.paid}, func() {}, nil
	}
	for len(o.runs) > maxFanIn {
		if err := o.premerge(); err != nil {
			return nil, nil, err
		}
	}
	m, err := o.merger()
	if err != nil {
		return nil, nil, err
	}
	return m, m.close, nil
}

// RunPayloads hands the payloads AddPayloads held to emit in their
// events' time order (ties in arrival order), copies of a record passed
// over, on the caller's goroutine; emit must not keep a payload after it
// returns. It stops at the first error from emit or when ctx ends, and
// removes the runs written to disk.
func (o *Order) RunPayloads(ctx context.Context, emit func(payload []byte) error) (OrderStats, error) {
	defer o.Close()
	if o.err != nil {
		return o.stats, o.err
	}
	if err := o.waitSpill(); err != nil {
		return o.stats, err
	}
	src, closeSrc, err := o.source()
	if err != nil {
		return o.stats, err
	}
	defer closeSrc()
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return o.stats, ctx.Err()
		}
		it, payload, ok, err := src.next()
		if err != nil || !ok {
			return o.stats, err
		}
		if o.Dedup != nil && o.Dedup.SeenKey(it.key, it.t) {
			o.stats.Duplicates++
			continue
		}
		o.stats.Events++
		if it.batch == skipBatch {
			continue
		}
		if err := emit(payload); err != nil {
			return o.stats, err
		}
	}
}

// process materializes a job's events and runs Map on them.
func (o *Order) process(j *job) {
	if j.contiguous() {
		first := &j.items[0]
		j.events = o.batches[first.batch][first.idx : int(first.idx)+len(j.items)]
		j.items, j.payloads = nil, nil
		j.res = o.Map(j.events)
		return
	}
	j.buf = o.getBuf()
	j.events = (*j.buf)[:len(j.items)]
	for i := range j.items {
		if it := &j.items[i]; it.batch >= 0 {
			j.events[i] = *o.event(it)
			continue
		}
		if err := event.ReadBinary(j.payloads[i], &j.events[i]); err != nil {
			j.err = fmt.Errorf("order: reading a sorted run back: %w", err)
			return
		}
	}
	j.items, j.payloads = nil, nil
	j.res = o.Map(j.events)
}

// arena holds what AddSparse keeps, S2-compressed in blocks of
// arenaBlock bytes as each fills (and what AddPayloads keeps, in plain
// blocks): a sparse run holds a fifth of
// the memory, and on machines where first touching memory is dear (12 µs
// a page on the one the benchmarks ran on) that is faster as well as
// smaller. Not safe for concurrent use.
type arena struct {
	sealed [][]byte // compressed blocks
	open   []byte   // the block being filled
	refs   []ref
	// get decompresses a block into fresh memory (what it returns may be
	// aliased by events decoded from it) and keeps the last few.
	cache [arenaCache]struct {
		block int32
		data  []byte
	}
	next    int
	scratch []byte // for compressing
	// plain: blocks are kept as they are, not compressed (payloads: a
	// copy into a block is cheaper than a fresh allocation per payload,
	// compressing and decompressing them dearer than the memory saved).
	plain bool
}

// ref is where one payload lies: in block (len(sealed) while it is the
// open one), at off, n bytes.
type ref struct {
	block  int32
	off, n uint32
}

const (
	arenaBlock = 1 << 20
	arenaCache = 4
)

// add appends p (or ev's binary form) and returns its index and the bytes
// it takes, an estimate until its block is compressed.
func (a *arena) add(p []byte, ev *event.Event) (int32, int) {
	if len(a.open) > 0 && len(a.open)+len(p) > arenaBlock || len(a.open) >= arenaBlock {
		a.seal()
	}
	if a.open == nil {
		a.open = make([]byte, 0, arenaBlock+64<<10)
	}
	off := len(a.open)
	if ev != nil {
		a.open = ev.AppendBinary(a.open)
	} else {
		a.open = append(a.open, p...)
	}
	n := len(a.open) - off
	a.refs = append(a.refs, ref{block: int32(len(a.sealed)), off: uint32(off), n: uint32(n)})
	if a.plain {
		return int32(len(a.refs) - 1), n + int(unsafe.Sizeof(ref{}))
	}
	// S2 keeps about a quarter of JSON and of events' binary form.
	return int32(len(a.refs) - 1), n/4 + int(unsafe.Sizeof(ref{}))
}

// seal compresses the open block.
func (a *arena) seal() {
	if a.plain {
		a.sealed = append(a.sealed, a.open)
		a.open = nil
		return
	}
	a.scratch = s2.Encode(a.scratch[:cap(a.scratch)], a.open)
	a.sealed = append(a.sealed, append([]byte(nil), a.scratch...)) // Encode's buffer is the worst case's size
	a.open = a.open[:0]
}

// get returns payload i.
func (a *arena) get(i int32) []byte {
	r := a.refs[i]
	var data []byte
	switch {
	case int(r.block) == len(a.sealed):
		data = a.open
	case a.plain:
		data = a.sealed[r.block]
	default:
		for _, c := range a.cache {
			if c.data != nil && c.block == r.block {
				data = c.data
				break
			}
		}
		if data == nil {
			var err error
			if data, err = s2.Decode(nil, a.sealed[r.block]); err != nil {
				panic("order: a held block is corrupt: " + err.Error()) // written by this process
			}
			a.cache[a.next].block, a.cache[a.next].data = r.block, data
			a.next = (a.next + 1) % arenaCache
		}
	}
	return data[r.off : r.off+r.n : r.off+r.n]
}

// source yields items in order: a held event, or a record read back.
type source interface {
	next() (it item, payload []byte, ok bool, err error)
}

type memSource struct {
	items []item
	held  *arena
	paid  *arena
	i     int
}

func (m *memSource) next() (item, []byte, bool, error) {
	if m.i >= len(m.items) {
		return item{}, nil, false, nil
	}
	m.i++
	it := m.items[m.i-1]
	if it.batch == heldBatch {
		return it, m.held.get(it.idx), true, nil
	}
	if it.batch == payloadBatch {
		return it, m.paid.get(it.idx), true, nil
	}
	return it, nil, true, nil
}

// A run file is a stream of records compressed with S2: per record its
// event time, arrival sequence and dedup key (8 bytes each, little
// endian), then the payload's length (uvarint) and the payload (the
// event's binary form; empty for an event AddSparse passes over).

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

// runReader reads a run back; a goroutine of its own decompresses ahead.
type runReader struct {
	name  string
	recs  chan []rec
	stop  chan struct{}
	done  chan struct{}
	err   error // set before recs is closed
	batch []rec
	head  item
	body  []byte
	ok    bool
}

type rec struct {
	head item
	body []byte
}

func openRun(path string) (*runReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("order: %w", err)
	}
	r := &runReader{name: path, recs: make(chan []rec, 2), stop: make(chan struct{}), done: make(chan struct{})}
	go r.read(f)
	return r, r.advance()
}

// read decompresses records in batches, their bodies carved from shared
// blocks, until the end, an error or stop.
func (r *runReader) read(f *os.File) {
	defer close(r.done)
	defer close(r.recs)
	defer f.Close()
	br := bufio.NewReaderSize(s2.NewReader(bufio.NewReaderSize(f, 64<<10)), 64<<10)
	var block []byte
	for {
		batch := make([]rec, 0, 256)
		size := 0
		for len(batch) < cap(batch) && size < 256<<10 {
			var h [24]byte
			if _, err := io.ReadFull(br, h[:]); err != nil {
				if err != io.EOF {
					r.err = fmt.Errorf("order: read %s: %w", r.name, err)
				}
				r.send(batch)
				return
			}
			n, err := binary.ReadUvarint(br)
			if err != nil || n > 1<<31 {
				r.err = fmt.Errorf("order: read %s: bad record length", r.name)
				return
			}
			if cap(block)-len(block) < int(n) {
				block = make([]byte, 0, max(256<<10, int(n)))
			}
			body := block[len(block) : len(block)+int(n) : len(block)+int(n)]
			block = block[:len(block)+int(n)]
			if _, err := io.ReadFull(br, body); err != nil {
				r.err = fmt.Errorf("order: read %s: %w", r.name, err)
				return
			}
			head := item{t: int64(binary.LittleEndian.Uint64(h[0:])), seq: binary.LittleEndian.Uint64(h[8:]),
				key: binary.LittleEndian.Uint64(h[16:]), batch: readBatch}
			if n == 0 {
				head.batch = skipBatch
			}
			batch = append(batch, rec{head: head, body: body})
			size += int(n)
		}
		if !r.send(batch) {
			return
		}
	}
}

func (r *runReader) send(batch []rec) bool {
	if len(batch) == 0 {
		return true
	}
	select {
	case r.recs <- batch:
		return true
	case <-r.stop:
		return false
	}
}

// advance reads the next record into head and body; ok is false at the end.
func (r *runReader) advance() error {
	if len(r.batch) == 0 {
		b, more := <-r.recs
		if !more {
			r.ok = false
			return r.err
		}
		r.batch = b
	}
	r.head, r.body, r.ok = r.batch[0].head, r.batch[0].body, true
	r.batch = r.batch[1:]
	return nil
}

// close stops the reading goroutine and waits for it.
func (r *runReader) close() {
	close(r.stop)
	<-r.done
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
	m := &merger{mem: &memSource{items: o.items, held: o.held, paid: o.paid}}
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
		r.close()
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
