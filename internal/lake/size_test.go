package lake

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// TestLakeSizeFormats (PARAPET_LAKESIZE_DIR: a lake, e.g. the hunt
// package's generated one) encodes each partition's rows as one file in
// several formats and prints bytes per event for each, against the native
// records gzipped in files of 2,000.
func TestLakeSizeFormats(t *testing.T) {
	dir := os.Getenv("PARAPET_LAKESIZE_DIR")
	if dir == "" {
		t.Skip("PARAPET_LAKESIZE_DIR unset")
	}
	ctx := context.Background()
	l, err := OpenLake(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := l.Files(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	type variant struct {
		name string
		ff   fileFormat
	}
	v := hotFormat
	v.cut = 0
	var vs []variant
	add := func(name string, f func(*fileFormat)) {
		f(&v)
		vs = append(vs, variant{name, v})
	}
	add("1 file per partition-day, writer's format, records whole", func(*fileFormat) {})
	cut := hotFormat
	cut.cut = elidedAll // as NewRows cuts the writer's rows
	vs = append(vs, variant{"  the same, the id and time cut (the writer's files now)", cut})
	add("+ zstd SpeedBetterCompression", func(f *fileFormat) { f.level = zstd.SpeedBetterCompression })
	add("+ zstd SpeedBestCompression", func(f *fileFormat) { f.level = zstd.SpeedBestCompression })
	add("+ 4 MiB pages", func(f *fileFormat) { f.pageSize = 4 << 20 })
	v.pageSize = 1 << 20
	add("(1 MiB pages) + dictionaries (and Bloom filters sized by them)", func(f *fileFormat) { f.dicts = true })
	add("+ rows by (actor, operation, time) in each row group", func(f *fileFormat) { f.cluster = true })
	add("+ no min/max on raw and ocsf", func(f *fileFormat) { f.noBlobBounds = true })
	add("+ no statistics in page headers (= stop 30's compaction)", func(f *fileFormat) { f.noPageStats = true })
	add("+ the event id stored once (raw's \"eventID\" cut)", func(f *fileFormat) { f.cut = elidedEventID })
	add("+ the event time stored once (= compaction's format)", func(f *fileFormat) { f.cut = elidedAll })
	if v != coldFormat {
		t.Fatalf("the last variant is not compaction's format: %+v", v)
	}
	add("  the same at zstd SpeedBetterCompression", func(f *fileFormat) { f.level = zstd.SpeedBetterCompression })
	add("  the same at zstd SpeedBestCompression, 4 MiB pages", func(f *fileFormat) { f.level, f.pageSize = zstd.SpeedBestCompression, 4<<20 })
	last := len(vs) - 3 // the column breakdown's
	sizes := make([]int64, len(vs))
	took := make([]time.Duration, len(vs))
	var onDisk, events int64
	var raws [][]byte
	var times []int64
	pfs := make([]*parquet.File, len(vs))
	cols := map[string]*[3]int64{} // compressed size, Bloom filter, column+offset index
	var colOrder []string
	var nfiles int64
	for i := 0; i < len(files); {
		j := i
		var rows []Row
		for ; j < len(files) && files[j].Partition == files[i].Partition; j++ {
			onDisk += files[j].Size
			rs, err := l.ReadFile(ctx, files[j].Key)
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, rs...)
		}
		i = j
		slices.SortFunc(rows, func(a, b Row) int {
			return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.Source, b.Source), cmp.Compare(a.EventUID, b.EventUID))
		})
		events += int64(len(rows))
		for k := range rows {
			raws = append(raws, rows[k].Raw)
			times = append(times, rows[k].Time)
		}
		for k, vr := range vs {
			start := time.Now()
			data, err := vr.ff.encode(rows, nil)
			took[k] += time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			sizes[k] += int64(len(data))
			if pfs[k], err = parquet.OpenFile(bytes.NewReader(data), int64(len(data))); err != nil {
				t.Fatal(err)
			}
			if k == last {
				pf := pfs[k]
				nfiles++
				for _, rg := range pf.Metadata().RowGroups {
					for _, col := range rg.Columns {
						name := col.MetaData.PathInSchema[0]
						c := cols[name]
						if c == nil {
							c = new([3]int64)
							cols[name] = c
							colOrder = append(colOrder, name)
						}
						c[0] += col.MetaData.TotalCompressedSize
						c[1] += int64(col.MetaData.BloomFilterLength)
						c[2] += int64(col.ColumnIndexLength + col.OffsetIndexLength)
					}
				}
			}
		}
	}
	// gzipped CloudTrail: the records in time order, in files of 2,000.
	order := make([]int, len(raws))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(times[a], times[b]) })
	var gz int64
	for lo := 0; lo < len(order); lo += 2000 {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(`{"Records":[`))
		for k, at := range order[lo:min(lo+2000, len(order))] {
			if k > 0 {
				zw.Write([]byte(","))
			}
			zw.Write(raws[at])
		}
		zw.Write([]byte("]}"))
		zw.Close()
		gz += int64(buf.Len())
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "%d events, %d files\n", events, len(files))
	fmt.Fprintf(&out, "%-60s %8.1f B/event\n", "gzipped CloudTrail, files of 2,000 records", float64(gz)/float64(events))
	fmt.Fprintf(&out, "%-60s %8.1f B/event\n", "lake as written", float64(onDisk)/float64(events))
	for k, vr := range vs {
		fmt.Fprintf(&out, "%-60s %8.1f B/event  encode %7.0f events/s\n", vr.name, float64(sizes[k])/float64(events), float64(events)/took[k].Seconds())
	}
	fmt.Fprintf(&out, "columns in compaction's format over %d files (B/event: data pages with headers and dictionaries; Bloom filter; column and offset index):\n", nfiles)
	var sum [3]int64
	for _, name := range colOrder {
		c := cols[name]
		for k := range sum {
			sum[k] += c[k]
		}
		fmt.Fprintf(&out, "  %-20s %6.2f  bloom %5.2f  index %5.2f\n", name, float64(c[0])/float64(events), float64(c[1])/float64(events), float64(c[2])/float64(events))
	}
	fmt.Fprintf(&out, "  %-20s %6.2f  bloom %5.2f  index %5.2f; the rest (footers, magic): %.2f\n", "total", float64(sum[0])/float64(events), float64(sum[1])/float64(events), float64(sum[2])/float64(events),
		float64(sizes[last]-sum[0]-sum[1]-sum[2])/float64(events))
	t.Log("\n" + out.String())
}
