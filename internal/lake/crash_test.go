package lake

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// crashBatches are the batches the crash test's writer is given.
func crashBatches() [][]Row {
	evs := manyCalls(40*250, t0)
	for i := range evs {
		evs[i].ID = fmt.Sprintf("crash-%06d", i)
		if i%7 == 0 { // spread over partitions
			evs[i].Cloud.Account = "444455556666"
		}
	}
	var out [][]Row
	for i := 0; i < len(evs); i += 250 {
		rows, err := NewRows(evs[i : i+250])
		if err != nil {
			panic(err)
		}
		out = append(out, rows)
	}
	return out
}

// TestCrashChild is the writer TestKill9 kills: it writes batch after
// batch, acknowledging each on stdout once flushed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("PARAPET_LAKE_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestKill9")
	}
	ctx := context.Background()
	w := openTest(t, dir, Options{RollSize: 32 << 10})
	for i, b := range crashBatches() {
		if err := w.WriteRows(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("ack %d\n", i)
	}
	select {} // wait for the kill
}

// TestKill9: a writer killed with SIGKILL mid-stream, then every batch
// delivered again from the first (acknowledged ones too) to a new writer:
// each event is in the lake exactly once.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	for _, killAfter := range []int{3, 17} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestCrashChild$")
		cmd.Env = append(os.Environ(), "PARAPET_LAKE_CRASH_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		acked := -1
		for sc.Scan() {
			if n, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
				fmt.Sscan(n, &acked)
				if acked >= killAfter {
					break
				}
			}
		}
		cmd.Process.Kill() // SIGKILL, mid-write of the next batches
		cmd.Wait()
		if acked < killAfter {
			t.Fatalf("the child acknowledged %d batches, want %d", acked+1, killAfter+1)
		}
		// Every acknowledged batch is in the lake already.
		l, _ := OpenLake(context.Background(), dir, nil)
		_, per := countRows(t, l)
		for _, b := range crashBatches()[:acked+1] {
			for _, r := range b {
				if per[r.key()] != 1 {
					t.Fatalf("acknowledged row %s is in the lake %d times", r.EventUID, per[r.key()])
				}
			}
		}
	}
	ctx := context.Background()
	w := openTest(t, dir, Options{RollSize: 32 << 10})
	total := 0
	for _, b := range crashBatches() {
		total += len(b)
		if err := w.WriteRows(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	n, per := countRows(t, w.Lake)
	if n != total || len(per) != total {
		t.Errorf("after the kills and redelivery the lake holds %d rows (%d distinct), want %d", n, len(per), total)
	}
	// Leftovers of a write cut by the kill are hidden and not read.
	var hidden int
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".") && strings.HasSuffix(d.Name(), ".tmp") {
			hidden++
		}
		return nil
	})
	t.Logf("%d rows, %d files; %d temporary files left by the kills; %d copies passed over", n, w.Stats().Files, hidden, w.Stats().Duplicates)
}
