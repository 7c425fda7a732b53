package ingest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
)

// FuzzDecodeJSON: the router never panics, every event it emits encodes
// to valid JSON, and it reports or emits for every input.
func FuzzDecodeJSON(f *testing.F) {
	files, _ := filepath.Glob("testdata/samples/*.json*")
	azure, _ := filepath.Glob("../decode/azure/testdata/*.json*")  // every Azure export shape
	gcpShapes, _ := filepath.Glob("../decode/gcp/testdata/*.json") // every GCP export shape
	for _, p := range append(append(files, azure...), gcpShapes...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"logEvents":[{"message":"{\"eventTime\":\"2026-01-01T00:00:00Z\",\"eventName\":\"X\"}"}]}`))
	f.Add([]byte(`{"body":"{\"records\":[{\"operationName\":\"A/B/WRITE\",\"time\":\"2026-01-01T00:00:00Z\",\"resourceId\":\"/x\"}]}"}`))
	f.Fuzz(func(t *testing.T, item []byte) {
		emitted, failed := 0, 0
		ingest.DecodeJSON(item, func(e *event.Event) {
			emitted++
			if out := e.AppendJSON(nil, true); !json.Valid(out) {
				t.Fatalf("event is not valid JSON: %s", out)
			}
		}, func(error) { failed++ })
		if emitted+failed == 0 && json.Valid(item) && bytes.Contains(item, []byte(`"eventName"`)) && bytes.HasPrefix(bytes.TrimSpace(item), []byte("{")) {
			// A valid object naming an event must yield an event or an error,
			// unless it is an empty Records or logEvents list.
			if !bytes.Contains(item, []byte(`"Records"`)) && !bytes.Contains(item, []byte(`"logEvents"`)) {
				t.Fatalf("nothing emitted and nothing reported for %q", item)
			}
		}
	})
}

// FuzzIngest drives whole inputs (sniffing, gzip, framing, decoding)
// through Run: never a panic, and the counts add up.
func FuzzIngest(f *testing.F) {
	files, _ := filepath.Glob("testdata/samples/*")
	files2, _ := filepath.Glob("testdata/samples/flow/*")
	for _, p := range append(files, files2...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := ingest.Input{Name: "fuzz", Size: int64(len(data)), Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}}
		var events int64
		st, err := ingest.Run(t.Context(), []ingest.Input{in}, ingest.Options{Workers: 2, MaxRecord: 4096}, func(b *ingest.Batch) error {
			events += int64(len(b.Events))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if st.Events != events {
			t.Fatalf("stats say %d events, emitted %d", st.Events, events)
		}
	})
}
