package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/lake"
)

// kill -9 during ingestion, then restart: every acknowledged event is
// processed, none twice, and no incident is duplicated; every
// acknowledged event is in the lake exactly once.
func TestServeKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "parapet")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/parapet").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("respond:\n  dry_run: true\ndetect:\n  ueba:\n    enabled: false\nlake:\n  flush_every: 300ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok := token(t, data, "analyst")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	url := "http://" + addr
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--config", cfg, "--data", data, "--listen", addr)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if resp, err := http.Get(url + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return cmd
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("serve did not start: %s", errb.String())
			}
		}
	}
	pub := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}}}
	body := func(i int) []byte {
		var recs []string
		for j := range 20 {
			recs = append(recs, ctRecord(fmt.Sprintf("ev-%d-%d", i, j), "mallory", "AKIAMALLORY", "s3.amazonaws.com", "PutBucketPolicy",
				map[string]any{"bucketName": fmt.Sprintf("b-%d-%d", i, j), "bucketPolicy": pub}, nil))
		}
		return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)
	}
	srv := start()
	var mu sync.Mutex
	acked := map[int]bool{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			for i := w; ; i += 4 {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", url+"/v1/ingest/cloudtrail", bytes.NewReader(body(i)))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the server is gone
				}
				resp.Body.Close()
				if resp.StatusCode == 202 {
					mu.Lock()
					acked[i] = true
					mu.Unlock()
				}
			}
		})
	}
	// Let it take some, then kill it mid-flight.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		// Killed once the lake has files (some bodies are in it, the
		// rest buffered or not read yet).
		if n >= 40 && len(lakeEventIDs(t, filepath.Join(data, "lake"))) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.Wait()
	close(stop)
	wg.Wait()
	srv = start()
	defer func() { srv.Process.Signal(syscall.SIGTERM); srv.Wait() }()
	want := map[string]bool{}
	for i := range acked {
		for j := range 20 {
			want[fmt.Sprintf("ev-%d-%d", i, j)] = true
		}
	}
	viewer := token(t, data, "viewer")
	var got map[string]int
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got = findingEvents(t, url, viewer)
		missing := 0
		for id := range want {
			if got[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged events have no finding after the restart", missing, len(want))
		}
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("event %s has %d findings", id, n)
		}
	}
	t.Logf("%d bodies (%d events) acknowledged before kill -9; all processed once after the restart (%d events in all)", len(acked), len(want), len(got))
	var inLake map[string]int
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		inLake = lakeEventIDs(t, filepath.Join(data, "lake"))
		missing := 0
		for id := range want {
			if inLake[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged events are not in the lake after the restart", missing, len(want))
		}
	}
	for id, n := range inLake {
		if n != 1 {
			t.Errorf("event %s is in the lake %d times", id, n)
		}
	}
	t.Logf("the lake holds %d events, each once", len(inLake))
}

// lakeEventIDs counts the lake's rows per event id.
func lakeEventIDs(t *testing.T, dir string) map[string]int {
	t.Helper()
	out := map[string]int{}
	if _, err := os.Stat(dir); err != nil {
		return out
	}
	l, err := lake.OpenLake(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Scan(context.Background(), lake.Filter{}, time.Time{}, time.Time{}, func(rows []lake.Row) error {
		for i := range rows {
			out[rows[i].EventUID]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// findingEvents counts the findings per event id across all incidents.
func findingEvents(t *testing.T, url, tok string) map[string]int {
	t.Helper()
	_, v := call(t, "GET", url+"/v1/incidents?limit=1000", tok, "", nil)
	items, _ := v["items"].([]any)
	if len(items) > 1 {
		t.Fatalf("one principal within the window should make one incident, got %d", len(items))
	}
	out := map[string]int{}
	for _, it := range items {
		id := it.(map[string]any)["id"].(string)
		_, d := call(t, "GET", url+"/v1/incidents/"+id, tok, "", nil)
		fs, _ := d["findings"].([]any)
		for _, f := range fs {
			var fm struct {
				EventIDs []string `json:"event_ids"`
			}
			b, _ := json.Marshal(f)
			_ = json.Unmarshal(b, &fm)
			for _, e := range fm.EventIDs {
				out[e]++
			}
		}
	}
	return out
}
