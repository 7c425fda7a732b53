package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
)

// writeScanJSON writes rep exactly as json.Encoder with two-space
// indentation would, but encodes the results in chunks on every core and
// streams them: a 5,000-resource scan has tens of thousands of results,
// and encoding them into one growing buffer before indenting the whole
// of it was most of the scan's time.
func writeScanJSON(w io.Writer, rep scanReport) error {
	results := rep.Results
	rep.Results = []scanResult{}
	head, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if len(results) == 0 {
		_, err := w.Write(append(head, '\n'))
		return err
	}
	marker := []byte("\n  \"results\": []")
	i := bytes.Index(head, marker)
	if i < 0 {
		return fmt.Errorf("scan report: results not found in the encoded report")
	}
	cut := i + len(marker) - 1 // before the closing ]
	if _, err := w.Write(head[:cut]); err != nil {
		return err
	}
	type chunk struct {
		from, to int
		buf      bytes.Buffer
		err      error
		done     chan struct{}
	}
	const size = 256
	workers := runtime.GOMAXPROCS(0)
	work := make(chan *chunk)
	order := make(chan *chunk, 4*workers) // bounds the chunks held at once
	for range workers {
		go func() {
			for c := range work {
				for j := c.from; j < c.to; j++ {
					b, err := json.MarshalIndent(results[j], "    ", "  ")
					if err != nil {
						c.err = err
						break
					}
					c.buf.WriteString("\n    ")
					c.buf.Write(b)
					if j < len(results)-1 {
						c.buf.WriteByte(',')
					}
				}
				close(c.done)
			}
		}()
	}
	go func() {
		for from := 0; from < len(results); from += size {
			c := &chunk{from: from, to: min(from+size, len(results)), done: make(chan struct{})}
			order <- c
			work <- c
		}
		close(order)
		close(work)
	}()
	var werr error
	for c := range order {
		<-c.done
		if werr == nil {
			werr = c.err
		}
		if werr == nil {
			_, werr = w.Write(c.buf.Bytes())
		}
	}
	if werr != nil {
		return werr
	}
	if _, err := io.WriteString(w, "\n  ]"); err != nil {
		return err
	}
	_, err = w.Write(append(head[cut+1:], '\n'))
	return err
}
