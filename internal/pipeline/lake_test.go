package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/lake"
	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/store"
)

// lakeIDs counts the lake's rows per event id, and lists its files.
func lakeIDs(t *testing.T, dir string) (map[string]int, []string) {
	t.Helper()
	ctx := context.Background()
	l, err := lake.OpenLake(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := l.Files(ctx, lake.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Key)
	}
	slices.Sort(names)
	ids := map[string]int{}
	if _, err := l.Scan(ctx, lake.Filter{}, time.Time{}, time.Time{}, func(rows []lake.Row) error {
		for i := range rows {
			ids[rows[i].EventUID]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ids, names
}

// runFeed runs a lake feed over db until every spooled body's events are
// in the lake (the bodies are spooled, never processed here: the feed
// does not wait for the processor), then stops it.
func runFeed(t *testing.T, db *store.DB, dir string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := lake.Open(ctx, lake.Options{Path: dir, Recent: 1 << 16})
	if err != nil {
		t.Fatal(err)
	}
	f := pipeline.NewLakeFeed(db, w, nil)
	f.FlushEvery = 50 * time.Millisecond
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		unread, err := db.LakeUnread(ctx, -1, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		flushing, _ := db.LakeInFlush(ctx, -1)
		if len(unread) == 0 && len(flushing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the feed did not write the spool into the lake")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// The feed writes every spooled event once; a flush a crash cut (its
// bodies left flushing, some of its files published, some not) is written
// again as the same files; a record delivered again in another body is
// kept once.
func TestLakeFeedExactlyOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "parapet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lakeDir := filepath.Join(dir, "lake")
	t0 := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	var seqs []int64
	want := map[string]bool{}
	for b := range 6 {
		var recs []string
		for j := range 50 {
			id := fmt.Sprintf("ev-%d-%02d", b, j)
			want[id] = true
			// Two days: two partitions, one flush (every body is spooled
			// before the feed starts and read in one batch).
			recs = append(recs, record(id, "alice", "s3.amazonaws.com", "GetObject", t0.Add(time.Duration(b*50+j)*6*time.Minute)))
		}
		seq, err := db.Spool(ctx, "http", []byte(`{"Records":[`+strings.Join(recs, ",")+`]}`))
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	runFeed(t, db, lakeDir)
	ids, files := lakeIDs(t, lakeDir)
	if len(ids) != len(want) {
		t.Fatalf("lake holds %d events, want %d", len(ids), len(want))
	}
	// A crash during the flush: its bodies are left flushing, one of its
	// files was published and the others not.
	if _, err := db.SetLake(ctx, seqs, store.LakeFlushing); err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("want a flush of several files, got %v", files)
	}
	for _, f := range files[1:] {
		if err := os.Remove(filepath.Join(lakeDir, f)); err != nil {
			t.Fatal(err)
		}
	}
	runFeed(t, db, lakeDir)
	ids2, files2 := lakeIDs(t, lakeDir)
	if !slices.Equal(files2, files) {
		t.Errorf("the replayed flush wrote %v, want the same files %v", files2, files)
	}
	for id := range want {
		if ids2[id] != 1 {
			t.Errorf("event %s is in the lake %d times after the replay", id, ids2[id])
		}
	}
	// Delivered twice while the feed runs: kept once. Delivered again
	// after a restart (the writer's memory of recent keys is gone): kept
	// twice until the lake is compacted.
	again := record("ev-2-07", "alice", "s3.amazonaws.com", "GetObject", t0.Add(time.Duration(2*50+7)*6*time.Minute))
	fresh := record("ev-new", "alice", "s3.amazonaws.com", "GetObject", t0)
	for range 2 {
		if _, err := db.Spool(ctx, "http", []byte(`{"Records":[`+again+`,`+fresh+`]}`)); err != nil {
			t.Fatal(err)
		}
	}
	runFeed(t, db, lakeDir)
	ids3, _ := lakeIDs(t, lakeDir)
	if ids3["ev-new"] != 1 || ids3["ev-2-07"] != 2 || len(ids3) != len(want)+1 {
		t.Errorf("after redeliveries: ev-new ×%d (want 1), ev-2-07 ×%d (want 2 before compaction), %d events", ids3["ev-new"], ids3["ev-2-07"], len(ids3))
	}
	l, err := lake.OpenLake(ctx, lakeDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Compact(ctx, lake.CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	ids4, _ := lakeIDs(t, lakeDir)
	for id, n := range ids4 {
		if n != 1 {
			t.Errorf("after compaction %s is in the lake %d times", id, n)
		}
	}
	// Nothing was processed: every body is still spooled for the
	// processor, none for the lake.
	if n, _ := db.PendingCount(ctx); n != 8 {
		t.Errorf("%d bodies pending for the processor, want 8", n)
	}
}
