package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/ingest"
)

// recordStream generates one {"Records":[…]} object of about size bytes on
// a single line, as S3 delivers CloudTrail, without holding it.
type recordStream struct {
	rec   []byte
	size  int64
	sent  int64
	n     int
	state int // 0 head, 1 records, 2 tail, 3 done
	buf   bytes.Buffer
}

func (s *recordStream) Read(p []byte) (int, error) {
	for s.buf.Len() < len(p) && s.state < 3 {
		switch s.state {
		case 0:
			s.buf.WriteString(`{"Records":[`)
			s.state = 1
		case 1:
			if s.n > 0 {
				s.buf.WriteByte(',')
			}
			// A distinct eventID per record.
			fmt.Fprintf(&s.buf, `{"eventID":"%012d",`, s.n)
			s.buf.Write(s.rec[1:])
			s.n++
			if s.sent+int64(s.buf.Len()) >= s.size {
				s.state = 2
			}
		case 2:
			s.buf.WriteString("]}\n")
			s.state = 3
		}
	}
	n, err := s.buf.Read(p)
	s.sent += int64(n)
	if s.state == 3 && s.buf.Len() == 0 {
		return n, io.EOF
	}
	return n, err
}

// TestLargeInputMemory decodes 1 GiB of CloudTrail on one line and checks
// that the heap stays far below the input size.
func TestLargeInputMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB input: skipped under -short")
	}
	rec, err := os.ReadFile("../decode/cloudtrail/testdata/typical-record.json")
	if err != nil {
		t.Fatal(err)
	}
	rec = bytes.TrimSpace(rec)
	stream := &recordStream{rec: rec, size: 1 << 30}
	in := ingest.Input{Name: "huge.json", Size: -1, Open: func() (io.ReadCloser, error) { return io.NopCloser(stream), nil }}

	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	var events int64
	st, err := ingest.Run(context.Background(), []ingest.Input{in}, ingest.Options{}, func(b *ingest.Batch) error {
		events += int64(len(b.Events))
		return nil
	})
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	if st.Bad() || events != int64(stream.n) {
		t.Fatalf("decoded %d of %d records, %d bad: %v", events, stream.n, st.BadRecords, st.Errors)
	}
	const limit = 150 << 20
	t.Logf("1 GiB, %d records: peak heap in use %d MiB", events, peak.Load()>>20)
	if peak.Load() > limit {
		t.Errorf("peak heap in use %d MiB for 1 GiB of input, want under %d MiB", peak.Load()>>20, limit>>20)
	}
}
