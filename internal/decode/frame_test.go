package decode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// frameAll frames in into item texts and errors, reading through r.
func frameAll(t testing.TB, r io.Reader, chunk int) (items []string, offsets []int64, errs []*Error) {
	t.Helper()
	f := NewFramer(r, "in.json")
	if chunk > 0 {
		f.ChunkSize = chunk
	}
	f.MaxRecord = 1 << 10
	for n := 0; ; n++ {
		ch, err := f.Next()
		if err == io.EOF {
			return items, offsets, errs
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		for _, it := range ch.Items {
			items = append(items, string(ch.Data[it.Start:it.End]))
			offsets = append(offsets, it.Offset)
		}
		errs = append(errs, ch.Errors...)
		if n > 1e6 {
			t.Fatal("framer does not terminate")
		}
	}
}

func TestFramer(t *testing.T) {
	big := `{"eventVersion":"1.08","x":"` + strings.Repeat("a", 2000) + `"}`
	cases := []struct {
		name  string
		in    string
		items []string
		errs  []string // substrings, in order
	}{
		{name: "records wrapper", in: `{"Records":[{"a":1},{"b":[2,"]}"]}]}`, items: []string{`{"a":1}`, `{"b":[2,"]}"]}`}},
		{name: "wrapper with space and trailing keys", in: "{ \"Records\" : [ {\"a\":1} , {\"a\":2} ], \"x\": {\"y\":[1]} }\n", items: []string{`{"a":1}`, `{"a":2}`}},
		{name: "empty wrapper", in: `{"Records":[]}`},
		{name: "top array", in: `[{"a":1},{"a":"\"}"}]`, items: []string{`{"a":1}`, `{"a":"\"}"}`}},
		{name: "json lines", in: "{\"a\":1}\n{\"a\":2}\r\n\n{\"a\":3}", items: []string{`{"a":1}`, `{"a":2}`, `{"a":3}`}},
		{name: "pretty objects", in: "{\n \"a\": 1\n}\n{\n \"b\": {\"c\": 2}\n}\n", items: []string{"{\n \"a\": 1\n}", "{\n \"b\": {\"c\": 2}\n}"}},
		{name: "bom", in: "\xef\xbb\xbf{\"a\":1}\n", items: []string{`{"a":1}`}},
		{name: "broken line resumes", in: "{\"a\":1}\n{\"a\":\"unterminated\n{\"a\":3}\n", items: []string{`{"a":1}`, `{"a":"unterminated`, `{"a":3}`}},
		{name: "unbalanced line resumes", in: "{\"a\":1}\n{\"a\":{\"b\":1}\n{\"a\":3}\n", items: []string{`{"a":1}`, `{"a":{"b":1}`, `{"a":3}`}},
		{name: "truncated wrapper", in: `{"Records":[{"a":1},{"a":`, items: []string{`{"a":1}`}, errs: []string{"offset 20", "ends inside a record"}},
		{name: "unclosed wrapper", in: `{"Records":[{"a":1}`, items: []string{`{"a":1}`}, errs: []string{"not closed"}},
		{name: "garbage separator resyncs", in: `{"Records":[{"eventVersion":"1"} x {"eventVersion":"2"}]}`, items: []string{`{"eventVersion":"1"}`, `{"eventVersion":"2"}`}, errs: []string{"want ',' or ']'"}},
		{name: "oversized record skipped", in: `{"Records":[{"eventVersion":"0"},` + big + `,{"eventVersion":"2"}]}`, items: []string{`{"eventVersion":"0"}`, `{"eventVersion":"2"}`}, errs: []string{"offset 33", "too large"}},
		{name: "oversized line skipped", in: "{\"a\":1}\n" + big + "\n{\"a\":3}\n", items: []string{`{"a":1}`, `{"a":3}`}, errs: []string{"line 2", "too large"}},
		{name: "unclosed first line resumes", in: "{oops\n{\"a\":1}\n{\"a\":2}\n", items: []string{`{"a":1}`, `{"a":2}`}, errs: []string{"offset 0 (line 1)", "not closed before the next record"}},
		{name: "top-level garbage", in: "hello\n{\"a\":1}\n", items: []string{`{"a":1}`}, errs: []string{"unexpected 'h'"}},
		{name: "scalar elements", in: `[1,"s",{"a":1}]`, items: []string{`1`, `"s"`, `{"a":1}`}},
		{name: "empty", in: ""},
		{name: "only space", in: " \n\t "},
	}
	for _, tc := range cases {
		for _, chunk := range []int{0, 7} {
			for _, oneByte := range []bool{false, true} {
				var r io.Reader = strings.NewReader(tc.in)
				if oneByte {
					r = iotest.OneByteReader(r)
				}
				items, offsets, errs := frameAll(t, r, chunk)
				if strings.Join(items, "|") != strings.Join(tc.items, "|") {
					t.Errorf("%s (chunk %d, oneByte %v): items = %q, want %q", tc.name, chunk, oneByte, items, tc.items)
				}
				for i, off := range offsets {
					if !strings.HasPrefix(tc.in[off:], items[i]) {
						t.Errorf("%s: item %d offset %d does not point at it", tc.name, i, off)
					}
				}
				var msgs []string
				for _, e := range errs {
					msgs = append(msgs, e.Error())
				}
				all := strings.Join(msgs, "\n")
				if (len(tc.errs) == 0) != (len(errs) == 0) {
					t.Errorf("%s (chunk %d): errors = %q, want %q", tc.name, chunk, all, tc.errs)
				}
				for _, want := range tc.errs {
					if !strings.Contains(all, want) {
						t.Errorf("%s (chunk %d): errors = %q, want one containing %q", tc.name, chunk, all, want)
					}
				}
			}
		}
	}
}

func TestFramerReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader(`{"Records":[{"a":1},{"a"`), iotest.ErrReader(boom))
	items, _, errs := frameAll(t, r, 0)
	if len(items) != 1 || len(errs) != 1 || !errors.Is(errs[0], boom) || !errors.Is(errs[0], ErrTruncated) {
		t.Fatalf("items %q errs %v, want 1 item and a truncation error wrapping the read error", items, errs)
	}
}

// FuzzFramer: framing never panics or loops, items lie inside their chunk
// in stream order, and every byte that is not space is accounted for by an
// item or an error.
func FuzzFramer(f *testing.F) {
	for _, s := range []string{`{"Records":[{"a":1},{"b":2}]}`, "{\"a\":1}\n{\"b\":\n", `[1,{"a":"\"]"}]`, "{\n\"a\":1}{", `{"Records":[{"eventVersion":"1"} x`} {
		f.Add([]byte(s), uint16(5))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk uint16) {
		fr := NewFramer(bytes.NewReader(in), "fuzz")
		fr.ChunkSize = int(chunk%4096) + 1
		fr.MaxRecord = 256
		last := int64(-1)
		deadline := time.AfterFunc(5*time.Second, func() { panic(fmt.Sprintf("framer hangs on %q, chunk %d", in, fr.ChunkSize)) })
		defer deadline.Stop()
		for n := 0; ; n++ {
			ch, err := fr.Next()
			if err == io.EOF {
				break
			}
			if n > len(in)+10 {
				t.Fatal("framer does not terminate")
			}
			for _, it := range ch.Items {
				if it.Start < 0 || it.End > len(ch.Data) || it.Start >= it.End {
					t.Fatalf("item %+v outside chunk of %d bytes", it, len(ch.Data))
				}
				if it.Offset <= last {
					t.Fatalf("item offset %d not after %d", it.Offset, last)
				}
				last = it.Offset
				if !bytes.Equal(ch.Data[it.Start:it.End], in[it.Offset:it.Offset+int64(it.End-it.Start)]) {
					t.Fatalf("item at %d does not match the input", it.Offset)
				}
			}
		}
	})
}
