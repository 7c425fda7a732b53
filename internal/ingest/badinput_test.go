package ingest_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/decode"
	"github.com/parapet-sec/parapet/internal/ingest"
)

const (
	goodA = `{"eventVersion":"1.08","eventTime":"2026-11-02T09:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","eventID":"A"}`
	goodB = `{"eventVersion":"1.08","eventTime":"2026-11-02T09:00:01Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","eventID":"B"}`
)

func gz(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// repeat streams n bytes of c without holding them.
type repeat struct {
	c byte
	n int64
}

func (r *repeat) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	k := int(min(int64(len(p)), r.n))
	for i := range p[:k] {
		p[i] = r.c
	}
	r.n -= int64(k)
	return k, nil
}

func input(name string, open func() io.Reader) ingest.Input {
	return ingest.Input{Name: name, Size: -1, Open: func() (io.ReadCloser, error) { return io.NopCloser(open()), nil }}
}

// bytesInput is b as a file of known size: a gzip file is read whole and
// decompressed in one call (TestBadInput also reads it as a stream of
// unknown size).
func bytesInput(name string, b []byte) ingest.Input {
	in := input(name, func() io.Reader { return bytes.NewReader(b) })
	in.Size = int64(len(b))
	return in
}

func TestBadInput(t *testing.T) {
	records := `{"Records":[` + goodA + `,` + goodB + `]}`
	zipped := gz(t, records)
	deep := strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)
	sample, err := os.ReadFile("testdata/samples/AWSLogs/123456789012/CloudTrail/us-east-2/2014/03/06/123456789012_CloudTrail_us-east-2_20140306T2125Z_Mu0KsOhtH1ar15ZZ.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		in       ingest.Input
		events   []string // event ids, in order
		bad      int64
		skipped  int64
		stray    bool // a skipped input that makes the run exit 3
		errParts []string
	}{
		{name: "malformed line between good ones",
			in:     bytesInput("lines.jsonl", []byte(goodA+"\n"+`{"eventVersion":"1.08","eventTime":tru}`+"\n"+goodB+"\n")),
			events: []string{"A", "B"}, bad: 1, errParts: []string{"lines.jsonl: offset 154 (line 2)", "invalid JSON"}},
		{name: "malformed record inside Records",
			in:     bytesInput("wrapped.json", []byte(`{"Records":[`+goodA+`,{"eventVersion":"1.08","eventTime":"2026-11-02T09:00:00Z","eventName":5},`+goodB+`]}`)),
			events: []string{"A", "B"}, bad: 1, errParts: []string{"wrapped.json: offset 166", "eventName is not a string"}},
		{name: "truncated gzip",
			in:     bytesInput("cut.json.gz", sample[:len(sample)*2/3]),
			events: []string{"sha256:e5f79b8f901ae0cea5ed79e20140d9b2"}, bad: 1, errParts: []string{"cut.json.gz", "ends inside a record", "unexpected EOF"}},
		{name: "truncated gzip keeps what came before",
			in:     bytesInput("cut2.json.gz", gz(t, records+"\n"+records)[:len(gz(t, records+"\n"+records))-12]),
			events: []string{"A", "B", "A", "B"}, bad: 1, errParts: []string{"cut2.json.gz", "read:"}},
		{name: "gzip by content, not by name",
			in:     bytesInput("misnamed.json", zipped),
			events: []string{"A", "B"}},
		{name: "JSON that is not CloudTrail",
			in:  bytesInput("other.json", []byte(`{"foo":1,"bar":[1,2]}`)),
			bad: 1, errParts: []string{"other.json: offset 0 (line 1)", "not a CloudTrail, EventBridge or GuardDuty record"}},
		{name: "S3 notification is not a record",
			in:  bytesInput("s3event.json", []byte(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventTime":"1970-01-01T00:00:00.000Z","eventName":"ObjectCreated:Put"}]}`)),
			bad: 1, errParts: []string{"S3 event notification"}},
		{name: "binary file",
			in:  bytesInput("blob.bin", []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00garbage\x00\xff\xfe")),
			bad: 1, errParts: []string{"blob.bin: offset 0", "binary data"}},
		{name: "binary inside gzip",
			in:  bytesInput("blob.gz", gz(t, "\x00\x01\x02\x03")),
			bad: 1, errParts: []string{"blob.gz", "binary data"}},
		{name: "text that is no format",
			in:  bytesInput("notes.txt", []byte("hello world\nthis is not a log\n")),
			bad: 1, errParts: []string{"notes.txt", "neither JSON nor a VPC flow log"}},
		{name: "empty file",
			in:      bytesInput("empty.json", nil),
			skipped: 1, stray: true},
		{name: "record without eventTime",
			in:     bytesInput("notime.jsonl", []byte(`{"eventVersion":"1.08","eventName":"X"}`+"\n"+goodB+"\n")),
			events: []string{"B"}, bad: 1, errParts: []string{"no eventTime"}},
		{name: "100 MB single line, then a good one",
			in: input("huge.jsonl", func() io.Reader {
				return io.MultiReader(strings.NewReader(goodA+"\n"+`{"eventVersion":"1.08","x":"`), &repeat{'a', 100 << 20}, strings.NewReader("\"}\n"+goodB+"\n"))
			}),
			events: []string{"A", "B"}, bad: 1, errParts: []string{"huge.jsonl: offset 154 (line 2)", "too large"}},
		{name: "deeply nested object",
			in:     bytesInput("deep.jsonl", []byte(goodA+"\n"+`{"eventVersion":"1.08","eventTime":"2026-11-02T09:00:00Z","eventName":"X","requestParameters":`+deep+"}\n"+goodB+"\n")),
			events: []string{"A", "B"}, bad: 1, errParts: []string{"deep.jsonl", "nesting deeper than 512"}},
		{name: "unterminated Records array",
			in:     bytesInput("open.json", []byte(`{"Records":[`+goodA+`,`+goodB)),
			events: []string{"A", "B"}, bad: 1, errParts: []string{"not closed"}},
		{name: "flow log with a short line",
			in:     bytesInput("flow.log", []byte("2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1418530010 1418530070 ACCEPT OK\n2 123456789010 eni-1 10.0.0.1\n2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49153 6 10 840 1418530010 1418530070 REJECT OK\n")),
			events: []string{"vpcflow:", "vpcflow:"}, bad: 1, errParts: []string{"flow.log: offset 90 (line 2)", "4 fields, the format has 14"}},
		{name: "flow log with a bad port",
			in:  bytesInput("port.log", []byte("version srcaddr dstaddr srcport dstport start log-status\n2 10.0.0.1 10.0.0.2 99999 22 1418530010 OK\n")),
			bad: 1, errParts: []string{"port.log: offset 57 (line 2)", "port out of range"}},
	}
	streamed := cases[:0:0]
	for _, tc := range cases {
		if tc.in.Size > 0 { // the same, of unknown size: streamed
			tc.name += ", streamed"
			tc.in.Size = -1
			streamed = append(streamed, tc)
		}
	}
	for _, tc := range append(cases, streamed...) {
		t.Run(tc.name, func(t *testing.T) {
			evs, st := decodeAll(t, []ingest.Input{tc.in}, ingest.Options{})
			var ids []string
			for _, e := range evs {
				ids = append(ids, e.ID)
			}
			if len(ids) != len(tc.events) {
				t.Fatalf("events %q, want %q", ids, tc.events)
			}
			for i := range ids {
				if !strings.HasPrefix(ids[i], tc.events[i]) {
					t.Errorf("event %d id %q, want %q", i, ids[i], tc.events[i])
				}
			}
			if st.BadRecords != tc.bad || st.Skipped != tc.skipped {
				t.Errorf("bad %d skipped %d, want bad %d skipped %d; errors %v", st.BadRecords, st.Skipped, tc.bad, tc.skipped, st.Errors)
			}
			if st.Bad() != (tc.bad > 0 || tc.stray) {
				t.Errorf("Bad() = %v, want %v", st.Bad(), tc.bad > 0 || tc.stray)
			}
			var msgs []string
			for _, e := range st.Errors {
				msgs = append(msgs, e.Error())
				var de *decode.Error
				if !errors.As(e, &de) || de.File != tc.in.Name {
					t.Errorf("error %v does not name the file %s", e, tc.in.Name)
				}
			}
			all := strings.Join(msgs, "\n")
			for _, p := range tc.errParts {
				if !strings.Contains(all, p) {
					t.Errorf("errors %q do not mention %q", all, p)
				}
			}
		})
	}
}
