package lake

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parapet-sec/parapet/internal/event"
)

// Options configure a lake.
type Options struct {
	// Path is a local folder or s3://bucket/prefix.
	Path string
	// S3 is the client for an s3:// path (nil: the default AWS
	// configuration; path-style addressing when AWS_ENDPOINT_URL is set).
	S3 *s3.Client
	// RollSize: a partition's buffered rows are written as a file once
	// they hold this many bytes (before compression; default 64 MiB).
	RollSize int64
	// RollAge: and once the oldest has waited this long (default 15m;
	// checked on each Write and by FlushOld).
	RollAge time.Duration
	// MaxBuffered bounds the bytes buffered over all partitions: past it
	// the largest partitions are written early (default 4 × RollSize).
	MaxBuffered int64
	// MaxPartitions bounds the partitions whose id sets are held (default
	// 256): the least recently written is flushed and forgotten, and read
	// back from its files when written again.
	MaxPartitions int
	// MaxKeys bounds the row keys held over all partitions' id sets
	// (default 8M, some 300 MiB): past it, the least recently written
	// partitions are flushed and forgotten as a new one is opened, so an
	// import of years of history holds the days it is writing, not every
	// day it wrote.
	MaxKeys int
	// Recent, when > 0, is serve's mode: a row is passed over when its
	// key is among the last Recent to Recent×2 keys written (any
	// partition), and partitions' files are not read for their keys, so
	// memory does not grow with the lake; the caller makes replays exact
	// (the lake feed replays a flush cut by a crash as the same files,
	// which replace themselves) and compaction drops older copies.
	// Nothing is written but by Flush: RollSize, RollAge, MaxBuffered and
	// MaxPartitions are not applied (the caller flushes on Buffered).
	Recent int
	// Log receives notes on files written (nil: discarded).
	Log *slog.Logger
	// Now is the wall clock (nil: time.Now); tests set it.
	Now func() time.Time
}

func (o *Options) fill() {
	if o.RollSize <= 0 {
		o.RollSize = 64 << 20
	}
	if o.RollAge <= 0 {
		o.RollAge = 15 * time.Minute
	}
	if o.MaxBuffered <= 0 {
		o.MaxBuffered = 4 * o.RollSize
	}
	if o.MaxPartitions <= 0 {
		o.MaxPartitions = 256
	}
	if o.MaxKeys <= 0 {
		o.MaxKeys = 8 << 20
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Stats count what a writer did.
type Stats struct {
	Written    int64 // rows written to files
	Duplicates int64 // rows offered again and passed over
	Files      int64 // files written
	Bytes      int64 // bytes of files written
}

// Writer writes events into a lake. It is safe for concurrent use; one
// Writer (in one process) per lake is what makes deduplication exact.
type Writer struct {
	*Lake
	opt Options

	mu       sync.Mutex
	parts    map[Partition]*part
	recent   [2]map[[2]uint64]struct{} // Recent mode: the current and the previous generation
	buffered int64
	keys     int // in the parts' id sets
	clock    uint64
	stats    Stats
}

// part is one partition's state: its rows not yet in a file, and the keys
// of every row it holds, in files or buffered.
type part struct {
	p     Partition
	rows  []*Row // in rows given to WriteRows
	bytes int64
	since time.Time
	ids   map[[2]uint64]struct{}
	used  uint64
}

// Open opens (creating a local folder) the lake at opt.Path for writing.
func Open(ctx context.Context, opt Options) (*Writer, error) {
	opt.fill()
	l, err := OpenLake(ctx, opt.Path, opt.S3)
	if err != nil {
		return nil, err
	}
	return &Writer{Lake: l, opt: opt, parts: map[Partition]*part{}}, nil
}

// Write adds events. Each is buffered in its partition unless its key
// (source, id, time) is already there, in a file or in the buffer; a
// partition's rows are written as one file once big or old enough.
// Events are copied: the caller may reuse their memory once Write
// returns. An event is durable once a Flush after its Write returned.
func (w *Writer) Write(ctx context.Context, evs []event.Event) error {
	groups := byPartition(evs)
	if groups == nil {
		rows, err := newRowsParallel(evs)
		if err != nil {
			return err
		}
		return w.WriteRows(ctx, rows)
	}
	// A batch over several partitions is converted partition by
	// partition: a partition's buffered rows keep their slice and arena
	// blocks alive, and sharing them would keep every row of the batch
	// until the last partition it touched is written.
	rows := make([][]Row, len(groups))
	errs := make([]error, len(groups))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, g := range groups {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			rows[i], errs[i] = newRows(evs, g)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, r := range rows {
		if err := w.WriteRows(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// byPartition returns the indexes of evs by partition, in the order each
// partition first appears; nil when they are all of one partition.
func byPartition(evs []event.Event) [][]int32 {
	day := func(e *event.Event) int64 { return utcDay(e.Time.UnixMilli()) }
	same := func(a, b *event.Event) bool {
		return a.Class == b.Class && a.Cloud.Region == b.Cloud.Region && a.Cloud.Account == b.Cloud.Account && day(a) == day(b)
	}
	i := 1
	for i < len(evs) && same(&evs[0], &evs[i]) {
		i++
	}
	if i >= len(evs) {
		return nil
	}
	// Events are looked up by their values as they are (a partition's
	// names, PartitionOf, cost more than the lookup: a day's text), then,
	// once for each new set of values, by partition: two sets of values
	// may make one partition ("" and "unknown").
	type values struct {
		class           event.Class
		region, account string
		day             int64
	}
	seen := map[values]int{}
	at := map[Partition]int{}
	var groups [][]int32
	prev := -1
	for j := range evs {
		e := &evs[j]
		if prev >= 0 && same(&evs[j-1], e) {
			groups[prev] = append(groups[prev], int32(j))
			continue
		}
		v := values{e.Class, e.Cloud.Region, e.Cloud.Account, day(e)}
		g, ok := seen[v]
		if !ok {
			p := PartitionOf(e)
			if g, ok = at[p]; !ok {
				g = len(groups)
				at[p] = g
				groups = append(groups, nil)
			}
			seen[v] = g
		}
		groups[g] = append(groups[g], int32(j))
		prev = g
	}
	return groups
}

// parallelMin is the batch size from which Write converts on every core.
const parallelMin = 1024

// newRowsParallel is NewRows on up to GOMAXPROCS goroutines, which end
// before it returns.
func newRowsParallel(evs []event.Event) ([]Row, error) {
	n := min(runtime.GOMAXPROCS(0), len(evs)/(parallelMin/2))
	if n <= 1 {
		return NewRows(evs)
	}
	parts := make([][]Row, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		lo, hi := i*len(evs)/n, (i+1)*len(evs)/n
		wg.Go(func() { parts[i], errs[i] = NewRows(evs[lo:hi]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return slices.Concat(parts...), nil
}

// NewRows converts events to rows (the costly part of a write: callers
// with several cores convert batches in parallel and hand the rows to
// WriteRows). A CloudTrail row's Raw may lack its event id and time, as
// a file stores it (Row.RawElided).
func NewRows(evs []event.Event) ([]Row, error) {
	return newRows(evs, nil)
}

// newRows is NewRows over the events at idx (nil: every one).
func newRows(evs []event.Event, idx []int32) ([]Row, error) {
	n := len(evs)
	if idx != nil {
		n = len(idx)
	}
	at := func(i int) *event.Event {
		if idx != nil {
			return &evs[idx[i]]
		}
		return &evs[i]
	}
	rows := make([]Row, 0, n)
	scratch := make([]byte, 0, 4096)
	var a arena
	arns := 0
	for i := range n {
		// The native record and about what its promoted strings take.
		a.want += len(at(i).Raw.Data) + 256
		arns += len(at(i).Resources)
	}
	a.strs = make([]string, 0, arns)
	for i := range n {
		e := at(i)
		r, err := newRow(e, &a, &scratch)
		if err != nil {
			return nil, fmt.Errorf("lake: event %s: %w", e.ID, err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// rowPartition is the partition of a row (PartitionOf its event).
func rowPartition(r *Row) Partition {
	return Partition{
		Table:   Table(event.Class(r.ClassUID)),
		Region:  partValue(r.Region),
		Account: partValue(r.Account),
		Day:     time.UnixMilli(r.Time).UTC().Format("20060102"),
	}
}

// samePartition reports whether b is in a's partition: the same table,
// region and account values and the same UTC day.
func samePartition(a, b *Row) bool {
	return Table(event.Class(a.ClassUID)) == Table(event.Class(b.ClassUID)) && a.Region == b.Region && a.Account == b.Account && utcDay(a.Time) == utcDay(b.Time)
}

// utcDay is the UTC day of a time in ms since the epoch, by division (a
// calendar per row costs more than the rest of a partition test): floor,
// for times before 1970.
func utcDay(ms int64) int64 {
	if ms < 0 {
		ms -= 86_400_000 - 1
	}
	return ms / 86_400_000
}

// WriteRows is Write for rows made by NewRows. It keeps pointers to the
// rows until they are in a file: the caller leaves them unchanged.
func (w *Writer) WriteRows(ctx context.Context, rows []Row) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.opt.Now()
	var pt *part
	var prev *Row // the last row, whose partition pt is
	for i := range rows {
		r := &rows[i]
		if prev != nil && samePartition(prev, r) {
			// The rows of a batch come by partition (Write groups them):
			// the partition's names (a day's text) are made once.
			w.clock++
			pt.used = w.clock
		} else {
			var err error
			if pt, err = w.part(ctx, rowPartition(r)); err != nil {
				return err
			}
		}
		prev = r
		k := w.hashRow(r)
		if w.opt.Recent > 0 {
			if w.seenRecently(k) {
				w.stats.Duplicates++
				continue
			}
		} else {
			if _, dup := pt.ids[k]; dup {
				w.stats.Duplicates++
				continue
			}
			pt.ids[k] = struct{}{}
			w.keys++
		}
		if len(pt.rows) == 0 {
			pt.since = now
		}
		pt.rows = append(pt.rows, r)
		n := rowSize(r)
		pt.bytes += n
		w.buffered += n
		if w.opt.Recent > 0 {
			continue
		}
		if pt.bytes >= w.opt.RollSize {
			if err := w.roll(ctx, pt); err != nil {
				return err
			}
		}
	}
	if w.opt.Recent > 0 {
		return nil
	}
	for w.buffered > w.opt.MaxBuffered {
		var big *part
		for _, pt := range w.parts {
			if big == nil || pt.bytes > big.bytes {
				big = pt
			}
		}
		if err := w.roll(ctx, big); err != nil {
			return err
		}
	}
	return w.flushOld(ctx, now)
}

// seenRecently reports whether k is among the recent keys, adding it
// when not.
func (w *Writer) seenRecently(k [2]uint64) bool {
	for _, g := range w.recent {
		if _, ok := g[k]; ok {
			return true
		}
	}
	if w.recent[0] == nil || len(w.recent[0]) >= w.opt.Recent {
		w.recent[1], w.recent[0] = w.recent[0], make(map[[2]uint64]struct{}, min(w.opt.Recent, 1<<16))
	}
	w.recent[0][k] = struct{}{}
	return false
}

// Buffered is how many bytes of rows wait to be written (before
// compression).
func (w *Writer) Buffered() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buffered
}

func rowSize(r *Row) int64 {
	n := 160 + len(r.Raw) + len(r.EventUID) + len(r.ActorARN) + len(r.PrincipalID) + len(r.SessionIssuerARN)
	for _, a := range r.ResourceARNs {
		n += len(a) + 8
	}
	if r.OCSF != nil {
		n += len(*r.OCSF)
	}
	return int64(n)
}

// FlushOld writes the partitions whose oldest buffered row has waited
// RollAge. Write does it too; a caller with quiet periods calls it on a
// timer.
func (w *Writer) FlushOld(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushOld(ctx, w.opt.Now())
}

func (w *Writer) flushOld(ctx context.Context, now time.Time) error {
	for _, pt := range w.sorted() {
		if len(pt.rows) > 0 && now.Sub(pt.since) >= w.opt.RollAge {
			if err := w.roll(ctx, pt); err != nil {
				return err
			}
		}
	}
	return nil
}

// Flush writes every buffered row; when it returns nil, every event
// given to Write before is in a file.
func (w *Writer) Flush(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var pts []*part
	for _, pt := range w.sorted() {
		if len(pt.rows) > 0 {
			pts = append(pts, pt)
		}
	}
	if err := w.rollAll(ctx, pts); err != nil {
		return err
	}
	if w.opt.Recent > 0 {
		for p, pt := range w.parts {
			if len(pt.rows) == 0 {
				delete(w.parts, p) // nothing kept for it
			}
		}
	}
	return nil
}

// Close flushes.
func (w *Writer) Close() error {
	return w.Flush(context.Background())
}

// Stats returns the writer's counts so far.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// sorted lists the partitions in a stable order (files are written in
// the same order run to run).
func (w *Writer) sorted() []*part {
	out := make([]*part, 0, len(w.parts))
	for _, pt := range w.parts {
		out = append(out, pt)
	}
	slices.SortFunc(out, func(a, b *part) int { return cmp.Compare(a.p.Prefix(), b.p.Prefix()) })
	return out
}

// part returns p's state, reading the keys of its files when it is not
// held (the first write to it, or after it was forgotten).
func (w *Writer) part(ctx context.Context, p Partition) (*part, error) {
	w.clock++
	if pt, ok := w.parts[p]; ok {
		pt.used = w.clock
		return pt, nil
	}
	if w.opt.Recent > 0 {
		// Keys are not kept per partition (see Options.Recent).
		pt := &part{p: p, used: w.clock}
		w.parts[p] = pt
		return pt, nil
	}
	for len(w.parts) > 0 && (len(w.parts) >= w.opt.MaxPartitions || w.keys > w.opt.MaxKeys) {
		var old *part
		for _, pt := range w.parts {
			if old == nil || pt.used < old.used {
				old = pt
			}
		}
		if err := w.roll(ctx, old); err != nil {
			return nil, err
		}
		delete(w.parts, old.p)
		w.keys -= len(old.ids)
	}
	pt := &part{p: p, ids: map[[2]uint64]struct{}{}, used: w.clock}
	files, err := w.dest.list(ctx, p.Prefix())
	if err != nil {
		return nil, fmt.Errorf("lake: read partition %s: %w", p.Prefix(), err)
	}
	for _, f := range files {
		keys, err := w.readKeys(ctx, f.Key)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			pt.ids[w.hash(k)] = struct{}{}
		}
	}
	w.keys += len(pt.ids)
	w.parts[p] = pt
	return pt, nil
}

// hashSeeds are this process's: the id sets live only in memory.
var hashSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// hash is a row key's 128-bit hash: the id sets hold 16 bytes a row, and
// two keys share a hash with odds of about n²/2¹²⁹.
func (w *Writer) hash(k string) [2]uint64 {
	return [2]uint64{maphash.String(hashSeeds[0], k), maphash.String(hashSeeds[1], k)}
}

// hashRow is hash(r.key()) without making the key a string.
func (w *Writer) hashRow(r *Row) [2]uint64 {
	var buf [256]byte
	k := r.appendKey(buf[:0])
	return [2]uint64{maphash.Bytes(hashSeeds[0], k), maphash.Bytes(hashSeeds[1], k)}
}

// roll writes pt's buffered rows as one file.
func (w *Writer) roll(ctx context.Context, pt *part) error {
	return w.rollAll(ctx, []*part{pt})
}

// rollAll writes the buffered rows of each of pts as one file, encoding
// up to GOMAXPROCS files at once, writing them in the order of pts.
func (w *Writer) rollAll(ctx context.Context, pts []*part) error {
	pts = slices.DeleteFunc(slices.Clone(pts), func(pt *part) bool { return len(pt.rows) == 0 })
	files := make([]encodedFile, len(pts))
	errs := make([]error, len(pts))
	if len(pts) == 1 {
		files[0], errs[0] = prepareFile(pts[0].p, pts[0].rows, nil, &hotFormat)
	} else {
		sem := make(chan struct{}, runtime.GOMAXPROCS(0))
		var wg sync.WaitGroup
		for i, pt := range pts {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				files[i], errs[i] = prepareFile(pt.p, pt.rows, nil, &hotFormat)
			})
		}
		wg.Wait()
	}
	for i, pt := range pts {
		if errs[i] != nil {
			return errs[i]
		}
		if err := w.written(ctx, pt, files[i]); err != nil {
			return err
		}
		files[i] = encodedFile{}
	}
	return nil
}

// written writes f, made of pt's buffered rows, and forgets those rows.
func (w *Writer) written(ctx context.Context, pt *part, f encodedFile) error {
	key, size, err := w.putFile(ctx, f)
	if err != nil {
		return err
	}
	w.opt.Log.Debug("lake_file_written", "key", key, "rows", len(pt.rows), "bytes", size)
	w.stats.Written += int64(len(pt.rows))
	w.stats.Files++
	w.stats.Bytes += size
	w.buffered -= pt.bytes
	pt.rows, pt.bytes = nil, 0
	return nil
}

// writeFile sorts rows by time and writes them as a file of p named for
// its content: the same rows make the same name, so a file written again
// (a replay) replaces itself. replaces lists files the new one holds
// every row of (compaction).
func (l *Lake) writeFile(ctx context.Context, p Partition, rows []*Row, replaces []string, ff *fileFormat) (string, int64, error) {
	f, err := prepareFile(p, rows, replaces, ff)
	if err != nil {
		return "", 0, err
	}
	return l.putFile(ctx, f)
}

// encodedFile is a file made and not yet written.
type encodedFile struct {
	key  string
	data []byte
}

// prepareFile sorts and encodes rows as a file of p (writeFile without
// the write, so that files can be encoded in parallel).
func prepareFile(p Partition, rows []*Row, replaces []string, ff *fileFormat) (encodedFile, error) {
	// By time, then key: (source, event id) compare as the key strings
	// (source\x00id\x00time) do for one time.
	order := slices.Clone(rows)
	slices.SortFunc(order, timeOrder)
	sorted := make([]Row, len(order))
	for i, r := range order {
		sorted[i] = *r
	}
	h := sha256.New()
	var kb []byte
	for i := range sorted {
		kb = append(sorted[i].appendKey(kb[:0]), '\n')
		h.Write(kb)
	}
	sum := hex.EncodeToString(h.Sum(nil)[:10])
	prefix := writtenPrefix
	if len(replaces) > 0 {
		prefix = mergedPrefix
	}
	name := prefix + time.UnixMilli(sorted[0].Time).UTC().Format("20060102T150405Z") + "-" + sum + ".parquet"
	data, err := ff.encode(sorted, replaces)
	if err != nil {
		return encodedFile{}, fmt.Errorf("lake: encode %s%s: %w", p.Prefix(), name, err)
	}
	return encodedFile{key: p.Prefix() + name, data: data}, nil
}

func (l *Lake) putFile(ctx context.Context, f encodedFile) (string, int64, error) {
	if err := l.dest.put(ctx, f.key, f.data); err != nil {
		return "", 0, fmt.Errorf("lake: %w", err)
	}
	return f.key, int64(len(f.data)), nil
}

// writtenPrefix names the files the writer writes.
const writtenPrefix = "p-"

// mergedPrefix names compacted files, whose footer lists the files they
// replace.
const mergedPrefix = "m-"

// replacesKey is the footer metadata key listing the files a compacted
// file replaces (names in its partition, comma-separated).
const replacesKey = "parapet.replaces"

func joinNames(names []string) string {
	var b bytes.Buffer
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
	}
	return b.String()
}
