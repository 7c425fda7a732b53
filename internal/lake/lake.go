package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// Lake is a lake's files: listed, read, compacted and pruned.
type Lake struct {
	dest dest
}

// OpenLake opens the lake at path: a local folder (created when missing)
// or s3://bucket/prefix (client nil: the default AWS configuration).
func OpenLake(ctx context.Context, path string, client *s3.Client) (*Lake, error) {
	d, err := openDest(ctx, path, client)
	if err != nil {
		return nil, err
	}
	return &Lake{dest: d}, nil
}

// String names the lake's location.
func (l *Lake) String() string { return l.dest.String() }

// File is one Parquet file of the lake.
type File struct {
	Key       string // relative to the lake's root
	Size      int64
	Partition Partition
	Name      string
}

// Filter selects partitions; zero fields select all.
type Filter struct {
	Tables   []string
	Accounts []string
	Regions  []string
	From, To string // YYYYMMDD, inclusive
	// Equal, for a scan, keeps only the rows whose promoted string column
	// (by name: access_key_id, actor_arn, …) holds the value, for every
	// column named. A row group whose Bloom filter rules a value out is
	// not read; in the others, Equal's columns are read first and the
	// rest only when a row matches. Files lists every file regardless.
	Equal map[string]string
}

func (f *Filter) match(p Partition) bool {
	if len(f.Tables) > 0 && !slices.Contains(f.Tables, p.Table) ||
		len(f.Accounts) > 0 && !slices.Contains(f.Accounts, p.Account) ||
		len(f.Regions) > 0 && !slices.Contains(f.Regions, p.Region) {
		return false
	}
	return (f.From == "" || p.Day >= f.From) && (f.To == "" || p.Day <= f.To)
}

// Files lists the lake's live files in the partitions f selects, in key
// order. Files a finished compaction replaced, but whose removal a crash
// interrupted, are left out: every row they hold is in the file that
// replaced them.
func (l *Lake) Files(ctx context.Context, f Filter) ([]File, error) {
	objs, err := l.dest.list(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	var out []File
	for _, o := range objs {
		p, name, ok := parseKey(o.Key)
		if !ok || !f.match(p) {
			continue
		}
		out = append(out, File{Key: o.Key, Size: o.Size, Partition: p, Name: name})
	}
	dead, err := l.replaced(ctx, out)
	if err != nil {
		return nil, err
	}
	if len(dead) == 0 {
		return out, nil
	}
	return slices.DeleteFunc(out, func(f File) bool { return dead[f.Key] }), nil
}

// replaced are the keys of files that compacted files among files
// replace.
func (l *Lake) replaced(ctx context.Context, files []File) (map[string]bool, error) {
	dead := map[string]bool{}
	perPart := map[Partition]int{}
	for _, f := range files {
		perPart[f.Partition]++
	}
	for _, f := range files {
		if !strings.HasPrefix(f.Name, mergedPrefix) || perPart[f.Partition] < 2 {
			continue // alone in its partition (as compaction leaves most): nothing there to replace
		}
		v, ok, err := l.footerValue(ctx, f, replacesKey)
		if err != nil {
			return nil, err
		}
		if ok {
			for _, n := range strings.Split(v, ",") {
				if n != "" && n != f.Name {
					dead[f.Partition.Prefix()+n] = true
				}
			}
		}
	}
	return dead, nil
}

// footer opens a file reading no more of it than its footer: its
// metadata, without page indexes or Bloom filters.
func (l *Lake) footer(ctx context.Context, f File) (*parquet.File, error) {
	r, done, err := l.dest.readerAt(ctx, f.Key)
	if err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	defer done()
	pf, err := parquet.OpenFile(r, f.Size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("lake: open %s: %w", f.Key, err)
	}
	return pf, nil
}

// footerValue reads a key of a file's footer metadata.
func (l *Lake) footerValue(ctx context.Context, f File, key string) (string, bool, error) {
	pf, err := l.footer(ctx, f)
	if err != nil {
		return "", false, err
	}
	v, ok := pf.Lookup(key)
	return v, ok, nil
}

// numRows reads the number of rows of a file from its footer.
func (l *Lake) numRows(ctx context.Context, f File) (int64, error) {
	pf, err := l.footer(ctx, f)
	if err != nil {
		return 0, err
	}
	return pf.NumRows(), nil
}

func (l *Lake) open(ctx context.Context, key string) (*parquet.File, error) {
	data, err := l.dest.get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("lake: open %s: %w", key, err)
	}
	return pf, nil
}

// ReadFile reads every row of a file, in time order.
func (l *Lake) ReadFile(ctx context.Context, key string) ([]Row, error) {
	rows, err := readAll[Row](ctx, l, key)
	if err != nil {
		return nil, err
	}
	if err := restoreRaws(key, rows); err != nil {
		return nil, err
	}
	return inTimeOrder(rows), nil
}

func readAll[T any](ctx context.Context, l *Lake, key string) ([]T, error) {
	pf, err := l.open(ctx, key)
	if err != nil {
		return nil, err
	}
	r := parquet.NewGenericReader[T](pf)
	defer r.Close()
	out := make([]T, 0, pf.NumRows())
	buf := make([]T, 1024)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("lake: read %s: %w", key, err)
		}
	}
}

// keyRow is the columns a row's key is made of.
type keyRow struct {
	Time     int64  `parquet:"time,timestamp(millisecond)"`
	EventUID string `parquet:"event_uid"`
	Source   string `parquet:"source"`
}

// readKeys reads the keys of a file's rows (three columns of it).
func (l *Lake) readKeys(ctx context.Context, key string) ([]string, error) {
	rows, err := readAll[keyRow](ctx, l, key)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rows))
	for i := range rows {
		r := Row{Time: rows[i].Time, EventUID: rows[i].EventUID, Source: rows[i].Source}
		out[i] = r.key()
	}
	return out, nil
}

// CompactOptions tune Compact.
type CompactOptions struct {
	// Target is the size of file compaction aims for (default 128 MiB):
	// files at least half of it are left alone, smaller ones are merged
	// in groups of up to Target bytes.
	Target int64
	// Retention, when positive, removes partitions whose day ended more
	// than this long before Now.
	Retention time.Duration
	Now       func() time.Time
	// Level is the zstd level of the files compaction writes (0:
	// zstd.SpeedBestCompression; SpeedBetterCompression compacts about
	// 2× faster into 3% larger files).
	Level zstd.Level
	// Workers is how many partitions are compacted at once (default 1:
	// serve compacts beside its intake); each holds the rows of the files
	// it merges.
	Workers int
	// MaxRows bounds the rows of the files merged into one (default
	// 500,000; a larger file is rewritten alone): a merge holds its rows
	// in memory to drop copies and order them, so a worker's memory is
	// bounded by this, not by the size of a partition or of the lake (a
	// merge of 500,000 generated CloudTrail calls, 1.8 KB records, peaks
	// at 2.4 GB RSS).
	MaxRows int64
}

// defaultMaxRows is CompactOptions.MaxRows's default.
const defaultMaxRows = 500_000

// CompactLevel is the zstd level named fastest, default, better or best.
func CompactLevel(name string) (zstd.Level, error) {
	for _, l := range []zstd.Level{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression, zstd.SpeedBestCompression} {
		if name == levelNames[l] {
			return l, nil
		}
	}
	return 0, fmt.Errorf("%q is not a level (fastest, default, better, best)", name)
}

var levelNames = map[zstd.Level]string{zstd.SpeedFastest: "fastest", zstd.SpeedDefault: "default", zstd.SpeedBetterCompression: "better", zstd.SpeedBestCompression: "best"}

// CompactStats say what Compact did.
type CompactStats struct {
	Partitions   int   // partitions with files merged
	FilesMerged  int   // files merged away (or rewritten alone)
	FilesWritten int   // merged files written
	Duplicates   int64 // rows dropped as copies of another row
	Pruned       int   // files removed by retention
}

// Compact merges each partition's small files into larger ones, dropping
// rows with the same key (source, id, time), and applies retention. The
// files it writes are encoded for size rather than speed (see the package
// doc, "Compacted files"); a file the writer wrote is rewritten so even
// when it is its partition's only small file.
//
// A merge writes the merged file, whose footer names the files it
// replaces, before it removes them: killed in between, the lake holds the
// merged file and the old ones; Files leaves the old ones out and the
// next Compact removes them.
func (l *Lake) Compact(ctx context.Context, opt CompactOptions) (CompactStats, error) {
	if opt.Target <= 0 {
		opt.Target = 128 << 20
	}
	if opt.MaxRows <= 0 {
		opt.MaxRows = defaultMaxRows
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	ff := coldFormat
	if opt.Level != 0 {
		ff.level = opt.Level
	}
	var st CompactStats
	if opt.Retention > 0 {
		n, err := l.Prune(ctx, opt.Now().Add(-opt.Retention))
		st.Pruned = n
		if err != nil {
			return st, err
		}
	}
	objs, err := l.dest.list(ctx, "")
	if err != nil {
		return st, fmt.Errorf("lake: %w", err)
	}
	var all []File
	for _, o := range objs {
		if p, name, ok := parseKey(o.Key); ok {
			all = append(all, File{Key: o.Key, Size: o.Size, Partition: p, Name: name})
		}
	}
	// Finish merges a crash interrupted.
	dead, err := l.replaced(ctx, all)
	if err != nil {
		return st, err
	}
	for k := range dead {
		if err := l.dest.remove(ctx, k); err != nil {
			return st, fmt.Errorf("lake: %w", err)
		}
	}
	all = slices.DeleteFunc(all, func(f File) bool { return dead[f.Key] })

	var parts [][]File
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].Partition == all[i].Partition {
			j++
		}
		parts = append(parts, all[i:j])
		i = j
	}
	workers := max(1, min(opt.Workers, len(parts)))
	var (
		mu    sync.Mutex // st, first, next
		first error
		next  int
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				if first != nil || next == len(parts) {
					mu.Unlock()
					return
				}
				files := parts[next]
				next++
				mu.Unlock()
				var ps CompactStats
				n, err := l.compactPartition(ctx, files, opt.Target, opt.MaxRows, ff, &ps)
				mu.Lock()
				st.FilesMerged += ps.FilesMerged
				st.FilesWritten += ps.FilesWritten
				st.Duplicates += ps.Duplicates
				if n > 0 {
					st.Partitions++
				}
				if err != nil && first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return st, first
}

func (l *Lake) compactPartition(ctx context.Context, files []File, target, maxRows int64, ff fileFormat, st *CompactStats) (int, error) {
	var small []File
	for _, f := range files {
		if f.Size < target/2 {
			small = append(small, f)
		}
	}
	// The rows of each file (from its footer): a group's rows are held in
	// memory.
	rowsOf := make([]int64, len(small))
	if len(small) > 1 {
		for i, f := range small {
			n, err := l.numRows(ctx, f)
			if err != nil {
				return 0, err
			}
			rowsOf[i] = n
		}
	}
	merged := 0
	for len(small) > 0 {
		var group []File
		var size, nrows int64
		for len(small) > 0 && (len(group) == 0 || size+small[0].Size <= target && nrows+rowsOf[0] <= maxRows) {
			group = append(group, small[0])
			size += small[0].Size
			nrows += rowsOf[0]
			small, rowsOf = small[1:], rowsOf[1:]
		}
		if len(group) < 2 && !strings.HasPrefix(group[0].Name, writtenPrefix) {
			continue // compacted already
		}
		var rows []*Row
		seen := map[string]bool{}
		names := make([]string, len(group))
		for i, f := range group {
			names[i] = f.Name
			rs, err := l.ReadFile(ctx, f.Key)
			if err != nil {
				return merged, err
			}
			for i := range rs {
				r := &rs[i]
				if r.Source == "cloudtrail" && len(r.Raw) > 0 && r.Raw[0] == '{' {
					r.OCSF = nil // a file written before CloudTrail calls lost the column: Row.OCSFJSON makes it
				}
				k := r.key()
				if seen[k] {
					st.Duplicates++
					continue
				}
				seen[k] = true
				rows = append(rows, r)
			}
		}
		if len(rows) > 0 {
			key, _, err := l.writeFile(ctx, group[0].Partition, rows, names, &ff)
			if err != nil {
				return merged, err
			}
			st.FilesWritten++
			// The merged file may carry the name of one it merged (the
			// same rows again): that one stays.
			for _, f := range group {
				if f.Key == key {
					continue
				}
				if err := l.dest.remove(ctx, f.Key); err != nil {
					return merged, fmt.Errorf("lake: %w", err)
				}
				st.FilesMerged++
			}
		}
		merged += len(group)
	}
	return merged, nil
}

// Prune removes every file of a day that ended before cutoff; it returns
// how many it removed.
func (l *Lake) Prune(ctx context.Context, cutoff time.Time) (int, error) {
	objs, err := l.dest.list(ctx, "")
	if err != nil {
		return 0, fmt.Errorf("lake: %w", err)
	}
	n := 0
	for _, o := range objs {
		p, _, ok := parseKey(o.Key)
		if !ok {
			continue
		}
		day, ok := p.dayTime()
		if !ok || !day.Add(24*time.Hour).Before(cutoff) {
			continue
		}
		if err := l.dest.remove(ctx, o.Key); err != nil {
			return n, fmt.Errorf("lake: %w", err)
		}
		n++
	}
	return n, nil
}
