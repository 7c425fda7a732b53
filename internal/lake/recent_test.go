package lake

import (
	"context"
	"fmt"
	"testing"
)

// Serve's mode: nothing is written but by Flush, copies among the recent
// keys are passed over, partitions' files are not read, and a replay of
// the same rows after a crash writes the same files, which replace
// themselves.
func TestRecentMode(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	evs := manyCalls(3000, t0)
	for i := range evs {
		evs[i].ID = fmt.Sprintf("r-%05d", i)
	}
	w := openTest(t, dir, Options{Recent: 1000, RollSize: 1 << 10, MaxBuffered: 1 << 10, RollAge: 1})
	if err := w.Write(ctx, evs[:2000]); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Files != 0 {
		t.Fatalf("%d files written before Flush in Recent mode (roll size, age and buffer limits are the caller's)", st.Files)
	}
	if w.Buffered() == 0 {
		t.Fatal("nothing buffered")
	}
	// The last 1,000 keys are remembered: their copies are passed over.
	if err := w.Write(ctx, evs[1500:2000]); err != nil {
		t.Fatal(err)
	}
	if d := w.Stats().Duplicates; d != 500 {
		t.Errorf("%d duplicates passed over, want 500", d)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if w.Buffered() != 0 {
		t.Errorf("%d bytes still buffered after Flush", w.Buffered())
	}
	files, _ := w.Files(ctx, Filter{})
	n, _ := countRows(t, w.Lake)
	if n != 2000 {
		t.Errorf("lake holds %d rows, want 2000", n)
	}
	// A crash before the flush was recorded: a new writer (no memory) is
	// given the same rows again and flushes; the files replace
	// themselves.
	w2 := openTest(t, dir, Options{Recent: 1000})
	if err := w2.Write(ctx, evs[:2000]); err != nil {
		t.Fatal(err)
	}
	if err := w2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	files2, _ := w2.Files(ctx, Filter{})
	if n, _ := countRows(t, w2.Lake); n != 2000 || len(files2) != len(files) {
		t.Errorf("after the replay: %d rows in %d files, want 2000 in %d", n, len(files2), len(files))
	}
	// Keys older than the remembered generations are not checked (the
	// compaction drops such copies).
	if err := w2.Write(ctx, evs[2000:]); err != nil {
		t.Fatal(err)
	}
	if err := w2.Write(ctx, evs[:10]); err != nil {
		t.Fatal(err)
	}
	if err := w2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, per := countRows(t, w2.Lake); n != 3010 || len(per) != 3000 {
		t.Errorf("%d rows (%d distinct), want 3,010 (3,000 distinct) before compaction", n, len(per))
	}
	if _, err := w2.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, per := countRows(t, w2.Lake); n != 3000 || len(per) != 3000 {
		t.Errorf("after compaction %d rows (%d distinct), want 3,000", n, len(per))
	}
}
