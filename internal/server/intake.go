package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/parapet-sec/parapet/internal/jsonscan"
)

// The intake's memory. A request holds its body as it was received (at
// most sources.http.max_body; gzip stays gzip) and nothing in proportion
// to what the body inflates to: a gzip body is checked while it inflates,
// through a streaming JSON checker, in 64 KiB pieces, and the limit
// sources.http.max_inflated is enforced as it goes. The spool keeps the
// body as received, and the processor inflates it again, streaming, as it
// decodes. A Firehose request, whose records Parapet joins into one body,
// is decoded record by record and that body is written gzip-compressed as
// it is built. At most sources.http.max_concurrent requests are read at
// once (503 with Retry-After beyond), so the intake holds at most that
// many bodies.

// errInflated: a gzip body inflates past sources.http.max_inflated.
var errInflated = errors.New("inflates past sources.http.max_inflated")

var (
	gzReaders sync.Pool // *gzip.Reader
	gzWriters sync.Pool // *gzip.Writer
	pieces    = sync.Pool{New: func() any { return new([64 << 10]byte) }}
)

func isGzip(b []byte) bool { return len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b }

// slot takes one of the max_concurrent places for reading a body; false
// when none is free.
func (s *Server) slot() (release func(), ok bool) {
	select {
	case s.intake <- struct{}{}:
		s.inFlight.Inc()
		return func() { s.inFlight.Dec(); <-s.intake }, true
	default:
		return nil, false
	}
}

// readBody reads a body as received, at most max bytes, into one buffer
// sized from Content-Length.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	var buf bytes.Buffer
	if n := r.ContentLength; n > 0 && n <= max {
		buf.Grow(int(n) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, max))
	return buf.Bytes(), err
}

// gzipError is the body's compression failing (not its content).
type gzipError struct{ err error }

func (e gzipError) Error() string { return "gzip: " + e.err.Error() }

// inflateInto inflates a gzip body into dst (a checker, and for Firehose
// the spool's writer), 64 KiB at a time, refusing past max inflated bytes.
func inflateInto(dst io.Writer, body []byte, max int64) (int64, error) {
	zr, _ := gzReaders.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(body))
	} else {
		err = zr.Reset(bytes.NewReader(body))
	}
	if err != nil {
		return 0, gzipError{err}
	}
	defer gzReaders.Put(zr)
	buf := pieces.Get().(*[64 << 10]byte)
	defer pieces.Put(buf)
	var n int64
	for {
		k, rerr := zr.Read(buf[:])
		if n += int64(k); n > max {
			return n, fmt.Errorf("the gzip body %w (%d bytes)", errInflated, max)
		}
		if k > 0 {
			if _, err := dst.Write(buf[:k]); err != nil {
				return n, err
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, gzipError{rerr}
		}
	}
}

// jsonChecker is a streaming JSON check whose errors read as the intake's.
type jsonChecker struct{ jsonscan.Stream }

func (c *jsonChecker) Write(p []byte) (int, error) {
	n, err := c.Stream.Write(p)
	return n, jsonError(err)
}

// finish reports what the end of the input leaves wrong.
func (c *jsonChecker) finish() error {
	if err := c.Stream.Close(); err != nil {
		return jsonError(err)
	}
	if c.Values() == 0 {
		return errors.New("empty body")
	}
	return nil
}

func jsonError(err error) error {
	var se *jsonscan.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("malformed JSON at byte %d: %s", se.Offset, se.Msg)
	}
	return err
}

// checkJSON accepts a JSON document or JSON lines (not compressed) and
// names the byte offset of the first error.
func checkJSON(body []byte) error {
	i := jsonscan.SkipSpace(body, 0)
	if i >= len(body) {
		return errors.New("empty body")
	}
	for i < len(body) {
		if c := body[i]; c != '{' && c != '[' {
			return fmt.Errorf("malformed JSON at byte %d: want an object or an array, got %q", i, c)
		}
		end, err := jsonscan.Value(body, i)
		if err != nil {
			return fmt.Errorf("malformed JSON at byte %d: %v", i, err)
		}
		i = jsonscan.SkipSpace(body, end)
	}
	return nil
}

// checkBody checks a body as the route takes it: JSON (or, for flow
// logs, any text) gzip'd or not, inflating to at most maxInflated bytes.
func checkBody(body []byte, flow bool, maxInflated int64) error {
	switch {
	case !isGzip(body) && flow:
		return nil
	case !isGzip(body):
		return checkJSON(body)
	case flow:
		_, err := inflateInto(io.Discard, body, maxInflated)
		return err
	}
	c := jsonCheckers.Get().(*jsonChecker)
	defer jsonCheckers.Put(c)
	*c = jsonChecker{}
	if _, err := inflateInto(c, body, maxInflated); err != nil {
		return err
	}
	return c.finish()
}

var jsonCheckers = sync.Pool{New: func() any { return new(jsonChecker) }}

// intakeError answers for a body that failed its check.
func intakeError(err error) int {
	switch {
	case errors.Is(err, errInflated):
		return http.StatusRequestEntityTooLarge
	default:
		return http.StatusBadRequest
	}
}

// ingest spools a body after checking it is what the route takes.
func (s *Server) ingest(source string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch ct {
		case "application/json", "application/x-ndjson", "application/jsonl", "application/gzip", "application/x-gzip", "application/octet-stream", "text/plain", "":
		default:
			apiError(w, http.StatusUnsupportedMediaType, "content type %q: send application/json, application/x-ndjson, text/plain (flow logs) or application/gzip", ct)
			return
		}
		release, ok := s.slot()
		if !ok {
			w.Header().Set("Retry-After", "1")
			apiError(w, http.StatusServiceUnavailable, "too many intake requests at once (sources.http.max_concurrent): retry later")
			return
		}
		defer release()
		if s.backlogged(w) {
			return
		}
		body, err := readBody(w, r, int64(s.Config.Sources.HTTP.MaxBody))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			apiError(w, http.StatusRequestEntityTooLarge, "the body exceeds %d bytes (sources.http.max_body)", tooBig.Limit)
			return
		case err != nil:
			apiError(w, http.StatusBadRequest, "reading the body: %v", err)
			return
		case len(bytes.TrimSpace(body)) == 0:
			apiError(w, http.StatusBadRequest, "empty body")
			return
		}
		if err := checkBody(body, source == "vpcflow", int64(s.Config.Sources.HTTP.MaxInflated)); err != nil {
			apiError(w, intakeError(err), "%v", err)
			return
		}
		seq, err := s.Pipeline.Submit(r.Context(), source, body)
		if err != nil {
			apiError(w, http.StatusServiceUnavailable, "could not spool the body: %v", err)
			return
		}
		s.bytesIn.Add(float64(len(body)))
		writeJSON(w, http.StatusAccepted, ingestAccepted{Accepted: seq, Bytes: len(body)})
	}
}

// countingReader counts what is read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// firehose takes Kinesis Data Firehose's HTTP endpoint delivery: a JSON
// request of base64 records, each gzip'd or not (CloudWatch Logs
// subscription payloads, EventBridge events, CloudTrail records), and
// answers in Firehose's format so that it retries what failed. Records
// are decoded one at a time and joined, as JSON lines, into one body
// written gzip-compressed as it grows.
func (s *Server) firehose(w http.ResponseWriter, r *http.Request) {
	reqID := r.Header.Get("X-Amz-Firehose-Request-Id")
	answer := func(code int, msg string) {
		writeJSON(w, code, firehoseAnswer{RequestID: reqID, Timestamp: time.Now().UnixMilli(), ErrorMessage: msg})
	}
	release, ok := s.slot()
	if !ok {
		w.Header().Set("Retry-After", "1")
		answer(http.StatusServiceUnavailable, "too many intake requests at once (sources.http.max_concurrent): retry later")
		return
	}
	defer release()
	if s.Pipeline.Backlog() >= s.Config.Sources.HTTP.MaxSpooled {
		w.Header().Set("Retry-After", "5")
		answer(http.StatusServiceUnavailable, "the pipeline is behind: retry later")
		return
	}
	var out bytes.Buffer
	zw, _ := gzWriters.Get().(*gzip.Writer)
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(&out, gzip.BestSpeed)
	} else {
		zw.Reset(&out)
	}
	defer gzWriters.Put(zw)
	in := &countingReader{r: http.MaxBytesReader(w, r.Body, int64(s.Config.Sources.HTTP.MaxBody))}
	records, id, err := s.firehoseRecords(in, zw)
	if reqID == "" {
		reqID = id
	}
	var tooBig *http.MaxBytesError
	var bad *recordError
	switch {
	case errors.As(err, &tooBig):
		answer(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body exceeds %d bytes", tooBig.Limit))
		return
	case errors.As(err, &bad):
		answer(intakeError(bad.err), bad.Error())
		return
	case err != nil:
		answer(http.StatusBadRequest, "not a Firehose delivery request: "+err.Error())
		return
	case records == 0:
		answer(http.StatusOK, "")
		return
	}
	if err := zw.Close(); err != nil {
		answer(http.StatusInternalServerError, "compressing the records: "+err.Error())
		return
	}
	if _, err := s.Pipeline.Submit(r.Context(), "firehose", out.Bytes()); err != nil {
		answer(http.StatusServiceUnavailable, "could not spool the records: "+err.Error())
		return
	}
	s.bytesIn.Add(float64(in.n))
	answer(http.StatusOK, "")
}

// recordError is one Firehose record failing its check.
type recordError struct {
	i   int
	err error
}

func (e *recordError) Error() string { return fmt.Sprintf("record %d: %v", e.i, e.err) }

// firehoseRecords walks {"requestId", "timestamp", "records": [{"data":
// base64}…]} one record at a time, checks each (inflating it, streaming,
// when it is gzip'd) and writes it to out as a line; it returns how many
// records there were and the request id.
func (s *Server) firehoseRecords(in io.Reader, out io.Writer) (int, string, error) {
	dec := json.NewDecoder(in)
	delim := func(want json.Delim) error {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); !ok || d != want {
			return fmt.Errorf("want %q, got %v", want, t)
		}
		return nil
	}
	if err := delim('{'); err != nil {
		return 0, "", err
	}
	var reqID string
	n := 0
	budget := int64(s.Config.Sources.HTTP.MaxInflated)
	check := jsonCheckers.Get().(*jsonChecker)
	defer jsonCheckers.Put(check)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return n, reqID, err
		}
		switch t {
		case "requestId":
			err = dec.Decode(&reqID)
		case "records":
			if err := delim('['); err != nil {
				return n, reqID, err
			}
			for dec.More() {
				var rec struct {
					Data []byte `json:"data"` // base64 in JSON
				}
				if err := dec.Decode(&rec); err != nil {
					return n, reqID, err
				}
				if !isGzip(rec.Data) {
					if budget -= int64(len(rec.Data)); budget < 0 {
						return n, reqID, &recordError{n, fmt.Errorf("the records %w", errInflated)}
					}
					if err := checkJSON(rec.Data); err != nil {
						return n, reqID, &recordError{n, err}
					}
					if _, err := out.Write(bytes.TrimSpace(rec.Data)); err != nil {
						return n, reqID, err
					}
				} else {
					*check = jsonChecker{}
					k, err := inflateInto(io.MultiWriter(check, out), rec.Data, budget)
					if err == nil {
						err = check.finish()
					}
					if err != nil {
						return n, reqID, &recordError{n, err}
					}
					budget -= k
				}
				if _, err := out.Write([]byte{'\n'}); err != nil {
					return n, reqID, err
				}
				n++
			}
			err = delim(']')
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return n, reqID, err
		}
	}
	return n, reqID, delim('}')
}
