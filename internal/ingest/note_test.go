package ingest_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"testing"

	"github.com/parapet-sec/parapet/internal/ingest"
)

// Map runs on every batch emit receives, those that hold only a bad or a
// skipped input too: a caller may count on what Map hands on (the detect
// path's panic on a stray file beside real logs).
func TestMapRunsOnEveryBatch(t *testing.T) {
	inputs := []ingest.Input{
		bytesInput("good.json", []byte(goodA)),
		bytesInput("empty.json", nil),
		bytesInput("blob.bin", []byte("\x00\x01\x02")),
		bytesInput("notes.txt", []byte("not a log\n")),
		{Name: "gone.json", Size: -1, Open: func() (io.ReadCloser, error) { return nil, fs.ErrNotExist }},
		bytesInput("cut.json.gz", gz(t, goodA+"\n"+goodB)[:30]),
		bytesInput("good2.json", []byte(goodB)),
	}
	type mapped struct{ events int }
	batches := 0
	st, err := ingest.Run(context.Background(), inputs, ingest.Options{Map: func(b *ingest.Batch) {
		b.Data = &mapped{events: len(b.Events)}
	}}, func(b *ingest.Batch) error {
		batches++
		m, ok := b.Data.(*mapped)
		if !ok {
			t.Errorf("batch of %s (errors %v, skipped %v): Map did not run", b.Name, b.Errors, b.Skipped)
			return nil
		}
		if m.events != len(b.Events) {
			t.Errorf("batch of %s: Map saw %d events, emit %d", b.Name, m.events, len(b.Events))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 2 || st.BadRecords != 4 || st.Skipped != 1 {
		t.Errorf("events %d, bad %d, skipped %d; want 2, 4, 1 (errors %v)", st.Events, st.BadRecords, st.Skipped, st.Errors)
	}
	for _, e := range st.Errors {
		if e.File == "gone.json" && !errors.Is(e, fs.ErrNotExist) {
			t.Errorf("the missing input's error %v does not say so", e)
		}
	}
	if batches < len(inputs) {
		t.Errorf("%d batches for %d inputs", batches, len(inputs))
	}
}
