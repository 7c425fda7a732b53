package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/config"
)

// multistream builds a gzip body of members: head, then body repeated n
// times, then tail (each member compressed once: a large inflated size
// costs little to make).
func multistream(t testing.TB, head string, body []byte, n int, tail string) []byte {
	t.Helper()
	member := func(b []byte) []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	out := member([]byte(head))
	m := member(body)
	for range n {
		out = append(out, m...)
	}
	return append(out, member([]byte(tail))...)
}

const intakeRecord = `{"eventVersion":"1.08","eventID":"3d0c5b0e-0000-4000-8000-000000000000","eventTime":"2026-11-20T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"},"requestParameters":{"bucketName":"acme-logs","key":"a/b.txt"}}`

// allocated runs f and returns the bytes allocated meanwhile (the whole
// process: an upper bound of what f held at its peak).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Attack 9: a small gzip body that inflates past max_inflated is refused
// without its inflated content ever being held.
func TestIntakeGzipBombMemory(t *testing.T) {
	_, ts, toks := setupWith(t, "sources: {http: {max_inflated: 64MiB}}\n")
	spaces := bytes.Repeat([]byte(" "), 8<<20)
	bomb := multistream(t, `{"Records":[`, spaces, 9, "]}") // 72 MiB inflated
	var r reply
	n := allocated(func() {
		r = send(t, "POST", ts.URL+"/v1/ingest/cloudtrail", string(bomb), append(bearer(toks["ingest"]), "Content-Type", "application/gzip")...)
	})
	if r.code != 413 || !strings.Contains(r.body, "max_inflated") {
		t.Fatalf("bomb of %d bytes: %d %s", len(bomb), r.code, r.body)
	}
	t.Logf("%d-byte bomb refused after allocating %d KiB", len(bomb), n>>10)
	if limit := uint64(16 << 20); n > limit {
		t.Errorf("refusing a %d-byte gzip body that inflates to 72 MiB allocated %d MiB, want under %d MiB", len(bomb), n>>20, limit>>20)
	}
}

// A large gzip body that is accepted is checked while it inflates: the
// request holds the compressed body, never the inflated one.
func TestIntakeLargeGzipMemory(t *testing.T) {
	s, ts, toks := setupWith(t, "")
	chunk := []byte(strings.Repeat(intakeRecord+",", (4<<20)/(len(intakeRecord)+1)))
	body := multistream(t, `{"Records":[`, chunk, 32, intakeRecord+"]}") // 128 MiB inflated
	var r reply
	n := allocated(func() {
		r = send(t, "POST", ts.URL+"/v1/ingest/cloudtrail", string(body), append(bearer(toks["ingest"]), "Content-Type", "application/gzip")...)
	})
	if r.code != 202 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	t.Logf("%d-byte gzip body (128 MiB inflated) accepted after allocating %d KiB", len(body), n>>10)
	if limit := uint64(3*len(body) + 16<<20); n > limit {
		t.Errorf("accepting a %d-byte gzip body that inflates to 128 MiB allocated %d MiB, want under %d MiB", len(body), n>>20, limit>>20)
	}
	// What is spooled is what came: the compressed body.
	batch, err := s.DB.Pending(context.Background(), 0, 10)
	if err != nil || len(batch) != 1 || !bytes.Equal(batch[0].Body, body) {
		t.Errorf("spooled: %d bodies (%v), want the body as received", len(batch), err)
	}
}

// Firehose records (gzip'd CloudWatch Logs payloads inflate a lot) are
// checked as they inflate and spooled compressed.
func TestIntakeFirehoseMemory(t *testing.T) {
	s, ts, toks := setupWith(t, "")
	chunk := []byte(strings.Repeat(intakeRecord+"\n", (4<<20)/(len(intakeRecord)+1)))
	var recs []map[string]any
	for range 4 {
		recs = append(recs, map[string]any{"data": multistream(t, "", chunk, 8, intakeRecord)}) // 32 MiB each
	}
	req, _ := json.Marshal(map[string]any{"requestId": "r-1", "timestamp": time.Now().UnixMilli(), "records": recs})
	var r reply
	n := allocated(func() {
		r = send(t, "POST", ts.URL+"/v1/ingest/firehose", string(req), "X-Amz-Firehose-Access-Key", toks["ingest"], "Content-Type", "application/json")
	})
	if r.code != 200 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	t.Logf("%d-byte Firehose request (128 MiB inflated) accepted after allocating %d KiB", len(req), n>>10)
	if limit := uint64(4*len(req) + 16<<20); n > limit {
		t.Errorf("a %d-byte Firehose request of records inflating to 128 MiB allocated %d MiB, want under %d MiB", len(req), n>>20, limit>>20)
	}
	batch, err := s.DB.Pending(context.Background(), 0, 10)
	if err != nil || len(batch) != 1 {
		t.Fatalf("spooled: %d %v", len(batch), err)
	}
	if b := batch[0].Body; len(b) > 8<<20 || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("the Firehose body is spooled as %d bytes (gzip: %v), want compressed", len(b), len(b) > 1 && b[0] == 0x1f)
	}
	zr, err := gzip.NewReader(bytes.NewReader(batch[0].Body))
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	if err := lineCount(zr, &lines); err != nil || lines != 4*(8*((4<<20)/(len(intakeRecord)+1))+1) {
		t.Errorf("spooled %d records (%v)", lines, err)
	}
}

func lineCount(r io.Reader, n *int) error {
	buf := make([]byte, 64<<10)
	for {
		k, err := r.Read(buf)
		*n += bytes.Count(buf[:k], []byte("\n"))
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Requests reading a body at once are bounded: one past the bound gets
// 503 with Retry-After, and its place is given back when one ends.
func TestIntakeConcurrency(t *testing.T) {
	_, ts, toks := setupWith(t, "sources: {http: {max_concurrent: 2}}\n")
	type slow struct {
		w     *io.PipeWriter
		wrote chan struct{}
		done  chan int
	}
	start := func() slow {
		pr, pw := io.Pipe()
		t.Cleanup(func() { pw.CloseWithError(io.ErrUnexpectedEOF) }) // before the server closes
		s := slow{pw, make(chan struct{}), make(chan int, 1)}
		req, _ := http.NewRequest("POST", ts.URL+"/v1/ingest/cloudtrail", pr)
		req.Header.Set("Authorization", "Bearer "+toks["ingest"])
		req.Header.Set("Content-Type", "application/json")
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				s.done <- 0
				return
			}
			resp.Body.Close()
			s.done <- resp.StatusCode
		}()
		// More than the transport buffers: the request reaches the server.
		go func() {
			pw.Write([]byte(`{"Records":[` + strings.Repeat(" ", 64<<10)))
			close(s.wrote)
		}()
		return s
	}
	inFlight := func(want string) {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if r := send(t, "GET", ts.URL+"/metrics", ""); strings.Contains(r.body, "\nparapet_intake_requests_in_flight "+want+"\n") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("never %s intake requests in flight", want)
			}
		}
	}
	a := start()
	inFlight("1")
	b := start()
	inFlight("2")
	last := send(t, "POST", ts.URL+"/v1/ingest/cloudtrail", `{"Records":[]}`, append(bearer(toks["ingest"]), "Content-Type", "application/json")...)
	if last.code != 503 || last.hdr.Get("Retry-After") == "" || !strings.Contains(last.body, "max_concurrent") {
		t.Fatalf("a third request at once: %d %q %s", last.code, last.hdr.Get("Retry-After"), last.body)
	}
	for _, s := range []slow{a, b} {
		<-s.wrote
		s.w.Write([]byte(`]}`))
		s.w.Close()
		if code := <-s.done; code != 202 {
			t.Errorf("a slow request: %d", code)
		}
	}
	if r := send(t, "POST", ts.URL+"/v1/ingest/cloudtrail", `{"Records":[]}`, append(bearer(toks["ingest"]), "Content-Type", "application/json")...); r.code != 202 {
		t.Errorf("after they ended: %d %s", r.code, r.body)
	}
}

// A body is accepted gzip'd exactly when it is accepted plain, and no
// body (or Firehose request) makes the intake panic.
func FuzzCheckBody(f *testing.F) {
	for _, s := range []string{`{"Records":[]}`, "{\"a\":1}\n[2]\n", `{"a":}`, ``, `  `, `[1,2`, `{"a":"\u00e9"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(b)
		zw.Close()
		plain, zipped := checkJSON(b), checkBody(gz.Bytes(), false, 1<<20)
		if (plain == nil) != (zipped == nil) {
			t.Errorf("%q: plain %v, gzip'd %v", b, plain, zipped)
		}
		_ = checkBody(b, false, 1<<20)
		_ = checkBody(b, true, 1<<20)
	})
}

func FuzzFirehose(f *testing.F) {
	f.Add([]byte(`{"requestId":"r","timestamp":1,"records":[{"data":"eyJhIjoxfQ=="}]}`))
	f.Add([]byte(`{"records":[{"data":"H4sIAAAAAAAA/6pWSlSyMqwFAAAA//8="}],"x":[1,{"y":2}]}`))
	f.Add([]byte(`{"records":[{"data":""}]}`))
	c, _ := config.Parse(nil)
	s := &Server{Config: c}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = s.firehoseRecords(bytes.NewReader(b), io.Discard)
	})
}
