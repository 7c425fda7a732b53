package lake

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
)

// lakeBytes is the size of the lake's live files.
func lakeBytes(t *testing.T, l *Lake) int64 {
	t.Helper()
	files, err := l.Files(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, f := range files {
		n += f.Size
	}
	return n
}

// lakeEvents is every row of the lake, by partition, in time order, with
// the event Row.Event makes of it and its OCSF record.
type lakeRow struct {
	Row   Row
	Event string
	OCSF  string
}

func lakeEvents(t *testing.T, l *Lake) map[string][]lakeRow {
	t.Helper()
	out := map[string][]lakeRow{}
	for part, rows := range readLake(t, l) {
		slices.SortFunc(rows, func(a, b Row) int { return timeOrder(&a, &b) })
		for _, r := range rows {
			ev, err := r.Event()
			if err != nil {
				t.Fatal(err)
			}
			js, err := r.OCSFJSON()
			if err != nil {
				t.Fatal(err)
			}
			evJSON, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			out[part] = append(out[part], lakeRow{Row: r, Event: string(evJSON), OCSF: string(js)})
		}
	}
	return out
}

// TestCompactForSize: compaction rewrites the writer's files, several of a
// partition or one alone, as smaller files that read back as the same
// rows, events and OCSF records; a second compaction leaves them alone.
func TestCompactForSize(t *testing.T) {
	if testing.Short() {
		t.Skip("zstd at its best level: slow under the race detector (the full suite runs it)")
	}
	ctx := context.Background()
	w := openTest(t, t.TempDir(), Options{RollSize: 512 << 10})
	if err := w.Write(ctx, benchEvents(6000)); err != nil { // 3 accounts, 20 minutes: several files each
		t.Fatal(err)
	}
	if err := w.Write(ctx, sample()); err != nil { // partitions of one file: calls, a flow, a finding
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	before := lakeEvents(t, w.Lake)
	files, _ := w.Files(ctx, Filter{})
	parts := map[Partition]int{}
	for _, f := range files {
		parts[f.Partition]++
	}
	if len(parts) < 5 || len(files) < len(parts)+6 {
		t.Fatalf("%d files in %d partitions: want several partitions of several files and some of one", len(files), len(parts))
	}
	size := lakeBytes(t, w.Lake)

	st, err := w.Compact(ctx, CompactOptions{})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := w.Files(ctx, Filter{})
	if st.FilesWritten != len(parts) || st.FilesMerged != len(files) || len(after) != len(parts) {
		t.Fatalf("compact: %+v, %d files; want every one of %d files rewritten as one file in each of %d partitions", st, len(after), len(files), len(parts))
	}
	for _, f := range after {
		if !strings.HasPrefix(f.Name, mergedPrefix) {
			t.Errorf("%s: not a compacted file", f.Key)
		}
	}
	if got := lakeEvents(t, w.Lake); !reflect.DeepEqual(before, got) {
		t.Fatalf("rows after compaction (-before +after):\n%s", cmp.Diff(before, got))
	}
	if got := lakeBytes(t, w.Lake); got >= size {
		t.Errorf("compacted lake: %d bytes, not smaller than the %d the writer wrote", got, size)
	} else {
		t.Logf("lake: %d bytes written, %d compacted", size, got)
	}

	st, err = w.Compact(ctx, CompactOptions{})
	if err != nil || st.FilesWritten != 0 || st.FilesMerged != 0 {
		t.Errorf("compacting again: %+v, %v; want nothing done", st, err)
	}

	// A writer opened on the compacted lake reads the keys of its files:
	// every event offered again is a copy.
	w2 := openTest(t, w.String(), Options{})
	evs := append(benchEvents(6000), sample()...)
	if err := w2.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w2.Stats(); st.Duplicates != int64(len(evs)) || st.Written != 0 {
		t.Errorf("writing the events again: %+v; want all %d passed over", st, len(evs))
	}
}

// TestColdRowGroups: a compacted file's row groups hold consecutive time
// ranges, and their rows are ordered by actor and operation; scans prune
// row groups by time as in the writer's files and give rows in time order.
func TestColdRowGroups(t *testing.T) {
	ctx := context.Background()
	evs := benchEvents(4000)
	var rows []*Row
	for _, r := range mustRows(t, evs) {
		if r.Account == "111122223333" {
			rows = append(rows, &r)
		}
	}
	ff := coldFormat
	ff.groupRows = 200
	l, err := OpenLake(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := rowPartition(rows[0])
	key, size, err := l.writeFile(ctx, p, rows, []string{"p-none.parquet"}, &ff)
	if err != nil {
		t.Fatal(err)
	}
	data, err := l.dest.get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(bytes.NewReader(data), size)
	if err != nil {
		t.Fatal(err)
	}
	groups := pf.Metadata().RowGroups
	if want := (len(rows) + 199) / 200; len(groups) != want {
		t.Fatalf("%d row groups, want %d", len(groups), want)
	}
	timeCol, _ := pf.Schema().Lookup("time")
	actorCol, _ := pf.Schema().Lookup("actor_arn")
	var prevMax int64
	for i, g := range groups {
		s := g.Columns[timeCol.ColumnIndex].MetaData.Statistics
		mn, mx := int64(binary.LittleEndian.Uint64(s.MinValue)), int64(binary.LittleEndian.Uint64(s.MaxValue))
		if i > 0 && mn < prevMax {
			t.Errorf("row group %d starts at %d, before the previous one ends (%d)", i, mn, prevMax)
		}
		prevMax = mx
		if len(g.SortingColumns) == 0 || int(g.SortingColumns[0].ColumnIdx) != actorCol.ColumnIndex {
			t.Errorf("row group %d: sorting columns %+v, want actor_arn first", i, g.SortingColumns)
		}
	}
	// As stored, a row group's rows are by actor, not by time.
	stored := make([]Row, 200)
	r := parquet.NewGenericReader[Row](pf)
	if n, _ := r.Read(stored); n != 200 {
		t.Fatalf("read %d rows of the first row group", n)
	}
	r.Close()
	if slices.IsSortedFunc(stored, func(a, b Row) int { return timeOrder(&a, &b) }) ||
		!slices.IsSortedFunc(stored, func(a, b Row) int { return clusterOrder(&a, &b) }) {
		t.Error("the first row group's rows are not ordered by actor and operation")
	}

	// A scan over the fourth row group's time range reads it alone, its
	// rows in time order.
	s := groups[3].Columns[timeCol.ColumnIndex].MetaData.Statistics
	since := time.UnixMilli(int64(binary.LittleEndian.Uint64(s.MinValue)))
	until := time.UnixMilli(int64(binary.LittleEndian.Uint64(s.MaxValue)) + 1)
	slices.SortFunc(rows, timeOrder)
	var want []string
	for _, r := range rows {
		if t := time.UnixMilli(r.Time); !t.Before(since) && t.Before(until) {
			want = append(want, r.EventUID)
		}
	}
	var got []string
	st, err := l.Scan(ctx, Filter{}, since, until, func(rows []Row) error {
		got = append(got, uids(rows)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rows of the fourth row group's range (-want +got):\n%s", d)
	}
	if st.RowGroups != len(groups) || st.Skipped != len(groups)-1 {
		t.Errorf("scan: %+v; want all but one of %d row groups passed over by time", st, len(groups))
	}

	// A lookup by key finds its rows through the dictionary-sized Bloom
	// filters, in time order.
	key0 := rows[len(rows)/2].AccessKeyID
	want = nil
	for _, r := range rows {
		if r.AccessKeyID == key0 {
			want = append(want, r.EventUID)
		}
	}
	got = nil
	st, err = l.Scan(ctx, Filter{Equal: map[string]string{"access_key_id": key0}}, time.Time{}, time.Time{}, func(rows []Row) error {
		got = append(got, uids(rows)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" || st.Pruned < len(groups)-2 {
		t.Errorf("rows of key %s (-want +got):\n%s\nstats %+v: want most row groups pruned", key0, d, st)
	}
}

// TestColdRowSchema: compacted files have the writer's columns, types and
// order (engines read both with one table definition); only encodings
// differ.
func TestColdRowSchema(t *testing.T) {
	describe := func(s *parquet.Schema) []string {
		var out []string
		for _, f := range s.Fields() {
			out = append(out, f.Name()+" "+hiveType(f))
		}
		for _, p := range s.Columns() {
			leaf, _ := s.Lookup(p...)
			typ := leaf.Node.Type()
			lt := ""
			if l := typ.LogicalType(); l != nil {
				lt = l.String()
			}
			out = append(out, fmt.Sprintf("%s %v %s def=%d rep=%d optional=%v", strings.Join(p, "."), typ.Kind(), lt,
				leaf.MaxDefinitionLevel, leaf.MaxRepetitionLevel, leaf.Node.Optional()))
		}
		return out
	}
	cold := parquet.SchemaOf(coldRow{})
	if d := cmp.Diff(describe(parquet.SchemaOf(Row{})), describe(cold)); d != "" {
		t.Errorf("coldRow's schema differs from Row's (-Row +coldRow):\n%s", d)
	}
	if leaf, _ := cold.Lookup("actor_arn"); leaf.Node.Encoding() == nil || leaf.Node.Encoding().String() != "RLE_DICTIONARY" {
		t.Error("coldRow's actor_arn is not dictionary-encoded")
	}
}
