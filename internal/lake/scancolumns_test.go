package lake

import (
	"context"
	"path"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestScanColumnsFirst: reading a few columns first, then every column of some
// rows (full), gives the rows a whole scan gives, with a time range that
// cuts row groups (rows of the group passed over before those asked for).
func TestScanColumnsFirst(t *testing.T) {
	ctx := context.Background()
	w := openTest(t, t.TempDir(), Options{})
	if err := w.Write(ctx, manyCalls(3000, t0)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	since, until := t0.Add(700*time.Second), t0.Add(2100*time.Second)
	scanColumnsFirst(t, w, since, until)
	// Compacted files order a row group's rows by actor: the rows come
	// back in time order, and full still reads the rows asked for.
	if _, err := w.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	if files, _ := w.Files(ctx, Filter{}); len(files) == 0 || !strings.HasPrefix(path.Base(files[0].Key), mergedPrefix) {
		t.Fatalf("not compacted: %+v", files)
	}
	scanColumnsFirst(t, w, since, until)
}

func scanColumnsFirst(t *testing.T, w *Writer, since, until time.Time) {
	t.Helper()
	ctx := context.Background()
	var whole []Row
	if _, err := w.ScanParallel(ctx, Filter{}, since, until, 1, func(rows []Row) error {
		whole = append(whole, rows...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var firsts, fulls []Row
	st, err := w.ScanColumns(ctx, Filter{}, since, until, 2, map[string]bool{"source": true}, func(rows []Row, full func([]int) ([]Row, error)) error {
		var at []int
		for i := range rows {
			if rows[i].EventUID != "" || rows[i].Raw != nil || rows[i].Source == "" {
				t.Errorf("row %d read in part: %+v", i, rows[i])
			}
			if i%3 != 1 {
				at = append(at, i)
			}
		}
		got, err := full(at)
		if err != nil {
			return err
		}
		for k, i := range at {
			if got[k].Time != rows[i].Time {
				t.Errorf("full row %d at %d, the first read at %d", i, got[k].Time, rows[i].Time)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		firsts = append(firsts, rows...)
		fulls = append(fulls, got...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(whole) != 1400 || len(firsts) != len(whole) || st.RowsMatched != int64(len(whole)) {
		t.Fatalf("%d rows read in part, %d whole (want 1400), stats %+v", len(firsts), len(whole), st)
	}
	byID := func(a, b Row) int { return strings.Compare(a.EventUID, b.EventUID) }
	slices.SortFunc(fulls, byID)
	var want []Row
	for _, r := range whole {
		if _, found := slices.BinarySearchFunc(fulls, r, byID); found {
			want = append(want, r)
		}
	}
	slices.SortFunc(want, byID)
	if len(fulls) < 900 || !reflect.DeepEqual(fulls, want) {
		t.Errorf("%d full rows, not those of the whole scan (%d)", len(fulls), len(want))
		for i := range min(len(fulls), len(want)) {
			if !reflect.DeepEqual(fulls[i], want[i]) {
				t.Errorf("first difference at %d:\n%+v\n%+v", i, fulls[i], want[i])
				break
			}
		}
	}
}
