package jsonscan

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// sequence is the reference: a sequence of objects and arrays checked
// whole by Value.
func sequence(b []byte) (int, error) {
	n := 0
	for i := SkipSpace(b, 0); i < len(b); i = SkipSpace(b, i) {
		if b[i] != '{' && b[i] != '[' {
			return n, errAt(b, i, "an object or an array")
		}
		end, err := Value(b, i)
		if err != nil {
			return n, err
		}
		i = end
		n++
	}
	return n, nil
}

// stream feeds b to a Stream in pieces of size n.
func stream(b []byte, n int) (int64, error) {
	var s Stream
	for len(b) > 0 {
		k := min(n, len(b))
		if _, err := s.Write(b[:k]); err != nil {
			return s.Values(), err
		}
		b = b[k:]
	}
	return s.Values(), s.Close()
}

var streamCases = []string{
	`{}`, `[]`, ` {"a":1} [2] `, "{\"a\":[1,2,{\"b\":null}]}\n{\"c\":true}\n",
	`{"a":-0.5e+10,"b":[0,1.25,-3E-2,1e9],"c":"x\"\\\/\b\f\n\r\t\u00e9y"}`,
	`[[[[[]]]]]`, `{"a":{}}`, `[true,false,null]`, "",
	`1`, `"x"`, `{`, `[1,]`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[01]`, `[-]`, `[1.]`, `[1e]`, `[1e+]`,
	`[tru]`, `[truex]`, `{"a":1]`, `[1}`, "[\"a\x01\"]", `["\x"]`, `["\u12G4"]`, `[nul`, `{"a":1} x`,
	`{"a" 1}`, `{1:2}`, `["abc`, `[1 2]`, `{"a":1 "b":2}`, `[-01]`, `[.5]`, `[+1]`, `]`, `}`,
	strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
	strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
	`{"Records":[` + strings.Repeat(`{"eventID":"e","n":12345,"ok":true,"s":"long string value with spaces"},`, 50) + `{}]}`,
}

// The stream accepts exactly what Value accepts, whatever the pieces.
func TestStreamMatchesValue(t *testing.T) {
	for _, c := range streamCases {
		wantN, wantErr := sequence([]byte(c))
		for _, n := range []int{1, 2, 3, 7, 8, 9, 64, 1 << 20} {
			gotN, gotErr := stream([]byte(c), n)
			if (gotErr == nil) != (wantErr == nil) || gotErr == nil && gotN != int64(wantN) {
				t.Errorf("stream(%.60q, pieces of %d) = %d, %v; Value: %d, %v", c, n, gotN, gotErr, wantN, wantErr)
			}
			var se *SyntaxError
			if gotErr != nil && !errors.As(gotErr, &se) {
				t.Errorf("stream(%.60q): %T, want *SyntaxError", c, gotErr)
			}
		}
	}
}

// The offset of an error is from the start of the stream.
func TestStreamOffset(t *testing.T) {
	doc := []byte("{\"a\":1}\n{\"b\":[1,2,x]}")
	_, err := stream(doc, 3)
	var se *SyntaxError
	if !errors.As(err, &se) || doc[se.Offset] != 'x' {
		t.Errorf("error %v, want one at the x (byte %d)", err, bytes.IndexByte(doc, 'x'))
	}
}

func FuzzStream(f *testing.F) {
	for _, c := range streamCases {
		f.Add([]byte(c), uint8(3))
	}
	f.Fuzz(func(t *testing.T, b []byte, piece uint8) {
		wantN, wantErr := sequence(b)
		gotN, gotErr := stream(b, int(piece)+1)
		if (gotErr == nil) != (wantErr == nil) || gotErr == nil && gotN != int64(wantN) {
			t.Errorf("stream(%q) = %d, %v; Value: %d, %v", b, gotN, gotErr, wantN, wantErr)
		}
	})
}

func BenchmarkStream(b *testing.B) {
	doc := []byte(`{"Records":[` + strings.Repeat(`{"eventVersion":"1.08","eventID":"3d0c5b0e","eventTime":"2026-11-20T10:00:00Z","n":12345,"ok":true,"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice"}},`, 2000) + `{}]}`)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		var s Stream
		for i := 0; i < len(doc); i += 32 << 10 {
			s.Write(doc[i:min(i+32<<10, len(doc))])
		}
		if s.Close() != nil {
			b.Fatal("invalid")
		}
	}
}
