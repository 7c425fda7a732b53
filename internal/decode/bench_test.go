package decode

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// BenchmarkFrameRecords cuts a CloudTrail file as S3 delivers it
// ({"Records":[…]}, 2,000 records) into records.
func BenchmarkFrameRecords(b *testing.B) {
	rec, err := os.ReadFile("cloudtrail/testdata/typical-record.json")
	if err != nil {
		b.Fatal(err)
	}
	rec = bytes.TrimSpace(rec)
	var file bytes.Buffer
	file.WriteString(`{"Records":[`)
	for i := range 2000 {
		if i > 0 {
			file.WriteByte(',')
		}
		file.Write(rec)
	}
	file.WriteString(`]}`)
	data := file.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		f := NewFramer(bytes.NewReader(data), "bench.json")
		n := 0
		for {
			ch, err := f.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += len(ch.Items)
		}
		if n != 2000 {
			b.Fatalf("%d records", n)
		}
	}
}

func TestIndexQuoteOrBackslash(t *testing.T) {
	naive := func(b []byte) int {
		for i, c := range b {
			if c == '"' || c == '\\' {
				return i
			}
		}
		return -1
	}
	// Every position and length around the word and 64-byte boundaries,
	// with the neighbours that trip word-at-a-time tests (0x21, 0x5d, 0xff).
	for n := 0; n < 140; n++ {
		for at := -1; at < n; at++ {
			for _, c := range []byte{'"', '\\'} {
				b := bytes.Repeat([]byte{'a'}, n)
				for i := range b {
					b[i] = []byte{'a', '#', ']', 0xff, '!', 0x5b}[(i*7+n)%6]
				}
				if at >= 0 {
					b[at] = c
					if at+1 < n {
						b[at+1] = '"'
					}
				}
				if got, want := indexQuoteOrBackslash(b), naive(b); got != want {
					t.Fatalf("len %d, %q at %d: got %d, want %d", n, c, at, got, want)
				}
			}
		}
	}
}
