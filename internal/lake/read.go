package lake

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/event"
)

// Event rebuilds the normalized event of a row. A CloudTrail row is
// decoded again from its native record, so rules reading any native field
// (requestParameters.bucketName) see what they would have seen live
// (enrichment aside); other rows get the promoted columns and their native
// JSON record.
func (r *Row) Event() (event.Event, error) {
	var ev event.Event
	err := r.Rebuild(&ev)
	return ev, err
}

// Rebuild is Event into ev (overwritten): rebuilding many events into a
// slice, it spares copying each.
func (r *Row) Rebuild(ev *event.Event) error {
	if r.DecodeRaw(ev) {
		return nil
	}
	*ev = event.Event{
		ID:       r.EventUID,
		Time:     time.UnixMilli(r.Time).UTC(),
		Source:   sourceOf(r.Source),
		Class:    event.Class(r.ClassUID),
		Activity: uint8(r.ActivityID),
		Outcome:  event.Outcome(r.StatusID),
		Cloud:    event.Cloud{Provider: "aws", Account: r.Account, Region: r.Region},
		Actor: event.Actor{Type: r.ActorType, ARN: r.ActorARN, PrincipalID: r.PrincipalID, AccessKeyID: r.AccessKeyID,
			SessionName: r.SessionName, SessionIssuerARN: r.SessionIssuerARN},
		API: event.API{Service: r.APIService, Operation: r.APIOperation, ErrorCode: r.ErrorCode},
	}
	if p := ev.Source.Product(); p != "" {
		ev.Cloud.Provider = p
	}
	ev.Src.IP, _ = netip.ParseAddr(r.SrcIP)
	ev.Dst.IP, _ = netip.ParseAddr(r.DstIP)
	for _, a := range r.ResourceARNs {
		ev.Resources = append(ev.Resources, event.Resource{UID: a})
	}
	if len(r.Raw) > 0 && r.Raw[0] == '{' {
		ev.Raw = event.Raw{Format: event.RawJSON, Data: r.Raw}
	}
	return nil
}

// DecodeRaw rebuilds into ev the event of a CloudTrail row from its
// native record alone (and its source column), as Rebuild does; false
// when Rebuild needs the row's other columns: a row of another source, or
// a record that does not decode (ev is then overwritten, but not an
// event).
func (r *Row) DecodeRaw(ev *event.Event) bool {
	return r.Source == "cloudtrail" && len(r.Raw) > 0 && cloudtrail.Decode(r.Raw, ev) == nil
}

func sourceOf(name string) event.Source {
	for _, s := range event.Sources {
		if s.Service() == name {
			return s
		}
	}
	return event.SourceUnknown
}

// ScanStats count what a scan read and passed over.
type ScanStats struct {
	Files, FilesRead    int   // files in the partitions selected; files read
	RowGroups, Skipped  int   // row groups in the files read; of those, passed over by their time statistics
	Pruned              int   // and passed over by Filter.Equal (a Bloom filter, or no row of the value)
	Rows, RowsMatched   int64 // rows decoded (with Filter.Equal: its columns); rows in the time range (and holding its values)
	BytesRead           int64 // bytes of the files read
	PartitionsSelected  int
	PartitionsAvailable int
}

// Scan calls fn with the rows of the partitions f selects whose time is
// in [since, until) (zero: unbounded), a row group at a time, without
// their OCSF column (OCSF is empty). Partitions are pruned by their day,
// account and region; row groups by the time column's statistics.
// Memory holds one file and one row group's rows.
func (l *Lake) Scan(ctx context.Context, f Filter, since, until time.Time, fn func([]Row) error) (ScanStats, error) {
	return l.ScanParallel(ctx, f, since, until, 1, fn)
}

// ScanParallel is Scan reading up to workers files at once: fn is called
// from that many goroutines (which end before it returns) and must be safe
// for concurrent use. Rows of one file come in time order, files in no
// order.
func (l *Lake) ScanParallel(ctx context.Context, f Filter, since, until time.Time, workers int, fn func([]Row) error) (ScanStats, error) {
	return l.ScanColumns(ctx, f, since, until, workers, nil, func(rows []Row, _ func([]int) ([]Row, error)) error { return fn(rows) })
}

// ScanColumns is ScanParallel reading, at first, only the columns named in
// cols (and time; nil: every column but ocsf): fn gets rows holding those,
// and full, which reads every column (but ocsf) of the rows at the given
// indexes of rows (ascending), from the pages holding them — for the few
// rows the first columns do not say enough about (a hunt rebuilds a
// CloudTrail row's event from its source and native record alone, the
// others' from every column). With cols, rows (not what their strings
// and records point to) and full are valid until fn returns. Without
// Filter.Equal, a row group's every row is read at first; with it, the
// rows holding its values, whole.
func (l *Lake) ScanColumns(ctx context.Context, f Filter, since, until time.Time, workers int, cols map[string]bool,
	fn func(rows []Row, full func(at []int) ([]Row, error)) error) (ScanStats, error) {
	if cols != nil {
		cols = maps.Clone(cols)
		cols["time"] = true
	}
	var st ScanStats
	if !since.IsZero() && f.From == "" {
		f.From = since.UTC().Format("20060102")
	}
	if !until.IsZero() && f.To == "" {
		f.To = until.Add(-time.Millisecond).UTC().Format("20060102")
	}
	for c := range f.Equal {
		if !stringColumns[c] {
			return st, fmt.Errorf("lake: %q is not a promoted string column", c)
		}
	}
	all, err := l.Files(ctx, Filter{})
	if err != nil {
		return st, err
	}
	parts := map[Partition]bool{}
	var files []File
	for _, file := range all {
		sel := f.match(file.Partition)
		parts[file.Partition] = parts[file.Partition] || sel
		if sel {
			files = append(files, file)
		}
	}
	st.PartitionsAvailable = len(parts)
	for _, sel := range parts {
		if sel {
			st.PartitionsSelected++
		}
	}
	st.Files = len(files)
	lo, hi := int64(-1<<63), int64(1<<63-1)
	if !since.IsZero() {
		lo = since.UnixMilli()
	}
	if !until.IsZero() {
		hi = until.UnixMilli() - 1
	}
	workers = max(1, min(workers, len(files)))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan File)
	stats := make([]ScanStats, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			var buf []Row // reused: rows read in part are valid until fn returns
			for file := range work {
				if err := l.scanFile(ctx, file, lo, hi, f.Equal, cols, &buf, &stats[i], fn); err != nil {
					errs[i] = err
					cancel()
					return
				}
			}
		})
	}
feed:
	for _, file := range files {
		select {
		case work <- file:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	for _, s := range stats {
		st.FilesRead += s.FilesRead
		st.BytesRead += s.BytesRead
		st.RowGroups += s.RowGroups
		st.Skipped += s.Skipped
		st.Pruned += s.Pruned
		st.Rows += s.Rows
		st.RowsMatched += s.RowsMatched
	}
	if err := errors.Join(errs...); err != nil {
		return st, err
	}
	return st, ctx.Err()
}

// s3WholeMax is the size up to which a pruned scan gets an S3 object
// whole: one request, rather than one for each of its footer, indexes,
// Bloom filters and pages.
const s3WholeMax = 8 << 20

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

func (l *Lake) scanFile(ctx context.Context, file File, lo, hi int64, equal map[string]string, first map[string]bool, buf *[]Row, st *ScanStats,
	fn func([]Row, func([]int) ([]Row, error)) error) error {
	var pf *parquet.File
	_, onS3 := l.dest.(*s3Dest)
	if len(equal) == 0 || onS3 && file.Size <= s3WholeMax {
		// every row group is likely read (or the object is small): the
		// whole file in one read
		data, err := l.dest.get(ctx, file.Key)
		if err != nil {
			return fmt.Errorf("lake: %w", err)
		}
		st.BytesRead += int64(len(data))
		if pf, err = parquet.OpenFile(bytes.NewReader(data), int64(len(data)), parquet.SkipBloomFilters(len(equal) == 0)); err != nil {
			return fmt.Errorf("lake: open %s: %w", file.Key, err)
		}
	} else {
		// the footer, page indexes and Bloom filters, then only the pages
		// read
		ra, done, err := l.dest.readerAt(ctx, file.Key)
		if err != nil {
			return fmt.Errorf("lake: %w", err)
		}
		defer done()
		cr := &countingReader{r: ra}
		defer func() { st.BytesRead += cr.n.Load() }()
		if pf, err = parquet.OpenFile(cr, file.Size); err != nil {
			return fmt.Errorf("lake: open %s: %w", file.Key, err)
		}
	}
	st.FilesRead++
	leaf, ok := pf.Schema().Lookup("time")
	if !ok {
		return fmt.Errorf("lake: %s: no time column", file.Key)
	}
	eqCols := map[string]bool{"time": true}
	var eqPairs [][2]string
	for c, v := range equal {
		eqCols[c] = true
		eqPairs = append(eqPairs, [2]string{c, v})
	}
row:
	for i, rg := range pf.RowGroups() {
		st.RowGroups++
		if s := pf.Metadata().RowGroups[i].Columns[leaf.ColumnIndex].MetaData.Statistics; len(s.MinValue) == 8 && len(s.MaxValue) == 8 {
			mn, mx := int64(binary.LittleEndian.Uint64(s.MinValue)), int64(binary.LittleEndian.Uint64(s.MaxValue))
			if mx < lo || mn > hi {
				st.Skipped++
				continue
			}
		}
		if len(equal) > 0 {
			for c, v := range equal {
				cl, ok := pf.Schema().Lookup(c)
				if !ok {
					st.Pruned++
					continue row
				}
				if bf := rg.ColumnChunks()[cl.ColumnIndex].BloomFilter(); bf != nil {
					if has, err := bf.Check(parquet.ValueOf(v)); err == nil && !has {
						st.Pruned++
						continue row
					}
				}
			}
			cols, err := readRowGroup(file.Key, rg, nil, eqCols)
			if err != nil {
				return err
			}
			var at []int
			for j := range cols {
				if cols[j].Time >= lo && cols[j].Time <= hi && cols[j].equal(eqPairs) {
					at = append(at, j)
				}
			}
			if len(at) == 0 {
				st.Pruned++
				continue
			}
			var only map[string]bool // nil: every column
			if first != nil {
				only = maps.Clone(first)
				maps.Copy(only, eqCols)
			}
			rows, err := readRowsAt(file.Key, rg, at, only)
			if err != nil {
				return err
			}
			rows, perm := inTimeOrderPerm(rows)
			st.Rows += int64(len(cols))
			st.RowsMatched += int64(len(rows))
			whole := func(idx []int) ([]Row, error) {
				if only == nil { // read whole: nothing more to read
					out := make([]Row, len(idx))
					for k, j := range idx {
						out[k] = rows[j]
					}
					return out, nil
				}
				rgAt := make([]int, len(idx))
				for k, j := range idx {
					if perm != nil {
						j = int(perm[j])
					}
					rgAt[k] = at[j]
				}
				return readRowsAnyOrder(file.Key, rg, rgAt)
			}
			if err := fn(rows, whole); err != nil {
				return err
			}
			continue
		}
		var rows []Row
		var err error
		if first != nil {
			rows, err = readRowGroup(file.Key, rg, *buf, first)
			*buf = rows
		} else {
			rows, err = readRowGroup(file.Key, rg, nil, nil)
		}
		if err != nil {
			return err
		}
		n := len(rows)
		st.Rows += int64(n)
		kept := rows
		var pos []int // the row-group row of each kept row; nil: all kept
		if s := pf.Metadata().RowGroups[i].Columns[leaf.ColumnIndex].MetaData.Statistics; len(s.MinValue) != 8 || len(s.MaxValue) != 8 ||
			int64(binary.LittleEndian.Uint64(s.MinValue)) < lo || int64(binary.LittleEndian.Uint64(s.MaxValue)) > hi {
			// some rows may be out of the range (a row is a few hundred
			// bytes: not copied when all are in)
			kept = rows[:0]
			pos = []int{}
			for j, row := range rows {
				if row.Time >= lo && row.Time <= hi {
					kept = append(kept, row)
					pos = append(pos, j)
				}
			}
		}
		full := func(at []int) ([]Row, error) {
			if pos != nil {
				rgAt := make([]int, len(at))
				for k, j := range at {
					rgAt[k] = pos[j]
				}
				at = rgAt
			}
			return readRowsAnyOrder(file.Key, rg, at)
		}
		st.RowsMatched += int64(len(kept))
		var perm []int32
		if kept, perm = inTimeOrderPerm(kept); perm != nil {
			// full's positions follow the rows
			moved := make([]int, len(perm))
			for d, j := range perm {
				if pos != nil {
					moved[d] = pos[j]
				} else {
					moved[d] = int(j)
				}
			}
			pos = moved
		}
		if len(kept) > 0 {
			if err := fn(kept, full); err != nil {
				return err
			}
		}
	}
	return nil
}

// readRowsAnyOrder is readRowsAt for row numbers in any order (a
// compacted row group's rows are handed out in time order, not as
// stored).
func readRowsAnyOrder(file string, rg parquet.RowGroup, at []int) ([]Row, error) {
	if slices.IsSorted(at) {
		return readRowsAt(file, rg, at, nil)
	}
	order := make([]int, len(at)) // order[k]: the k-th smallest of at's indexes
	for k := range order {
		order[k] = k
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(at[a], at[b]) })
	asc := make([]int, len(at))
	for k, i := range order {
		asc[k] = at[i]
	}
	rows, err := readRowsAt(file, rg, asc, nil)
	if err != nil {
		return nil, err
	}
	out := make([]Row, len(at))
	for k, i := range order {
		out[i] = rows[k]
	}
	return out, nil
}

// inTimeOrder puts rows in time order, in place, and returns them: they
// are when the writer wrote their row group; compaction orders a row
// group's rows by actor and operation.
func inTimeOrder(rows []Row) []Row {
	rows, _ = inTimeOrderPerm(rows)
	return rows
}

// inTimeOrderPerm is inTimeOrder, and says where each row came from:
// rows[d] was rows[perm[d]] (perm is nil when they were in order).
func inTimeOrderPerm(rows []Row) ([]Row, []int32) {
	sorted := true
	for i := 1; i < len(rows) && sorted; i++ {
		sorted = timeOrder(&rows[i-1], &rows[i]) <= 0
	}
	if sorted {
		return rows, nil
	}
	// Sort (time, index) pairs, not rows: a comparison does not reach
	// into two rows (cache misses) but on equal times.
	type at struct {
		t int64
		i int32
	}
	idx := make([]at, len(rows))
	for i := range rows {
		idx[i] = at{rows[i].Time, int32(i)}
	}
	slices.SortFunc(idx, func(a, b at) int {
		if a.t != b.t {
			return cmp.Compare(a.t, b.t)
		}
		return timeOrder(&rows[a.i], &rows[b.i])
	})
	perm := make([]int32, len(idx))
	for d := range idx {
		perm[d] = idx[d].i
	}
	// Move each row once, cycle by cycle: rows[d] gets rows[idx[d].i].
	for d := range idx {
		if idx[d].i < 0 {
			continue
		}
		tmp := rows[d]
		j := d
		for {
			k := int(idx[j].i)
			idx[j].i = -1
			if k == d {
				rows[j] = tmp
				break
			}
			rows[j] = rows[k]
			j = k
		}
	}
	return rows, perm
}

// timeOrder is the order of the rows of a file the writer writes: by
// time, then key.
func timeOrder(a, b *Row) int {
	return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.Source, b.Source), cmp.Compare(a.EventUID, b.EventUID))
}
