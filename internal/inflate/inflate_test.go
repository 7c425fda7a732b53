package inflate

import (
	"bytes"
	stdflate "compress/flate"
	stdgzip "compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

// corpora returns inputs of several shapes: empty, one byte, random bytes,
// runs, and JSON-like log text with repeated keys and unique ids.
func corpora() map[string][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 300<<10)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	var logs bytes.Buffer
	logs.WriteString(`{"Records":[`)
	for i := 0; i < 3000; i++ {
		if i > 0 {
			logs.WriteByte(',')
		}
		fmt.Fprintf(&logs, `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/app-%d/s"},"eventTime":"2026-11-02T00:%02d:%02dZ","eventSource":"s3.amazonaws.com","eventName":"GetObject","requestID":"%016x","eventID":"%08x-%04x"}`,
			r.IntN(40), i/60%60, i%60, r.Uint64(), r.Uint32(), r.IntN(65536))
	}
	logs.WriteString(`]}`)
	return map[string][]byte{
		"empty":  {},
		"one":    {'x'},
		"random": random,
		"runs":   bytes.Repeat([]byte("aaaaaaaaaaaaaaaaaaaab"), 20000),
		"zeros":  make([]byte, 1<<20),
		"logs":   logs.Bytes(),
	}
}

func gz(t testing.TB, data []byte, level int) []byte {
	var b bytes.Buffer
	w, err := stdgzip.NewWriterLevel(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Name = "file.json" // a header with a name
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func TestGunzipMatchesStreaming(t *testing.T) {
	for name, data := range corpora() {
		for _, level := range []int{stdflate.NoCompression, stdflate.BestSpeed, 5, stdflate.BestCompression, stdflate.HuffmanOnly} {
			z := gz(t, data, level)
			got, err := Gunzip(nil, z, 0)
			if err != nil {
				t.Fatalf("%s level %d: %v", name, level, err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("%s level %d: %d bytes out, want %d, or different", name, level, len(got), len(data))
			}
			if Size(z) != len(data) {
				t.Errorf("%s level %d: Size %d, want %d", name, level, Size(z), len(data))
			}
		}
	}
}

// A stream klauspost/compress writes (other block shapes than the
// standard library's), appended to what dst holds.
func TestGunzipKlauspostAppends(t *testing.T) {
	data := corpora()["logs"]
	for level := -2; level <= 9; level++ {
		var b bytes.Buffer
		w, _ := kgzip.NewWriterLevel(&b, level)
		w.Write(data)
		w.Close()
		got, err := Gunzip([]byte("prefix"), b.Bytes(), 0)
		if err != nil || !bytes.Equal(got, append([]byte("prefix"), data...)) {
			t.Fatalf("level %d: err %v, %d bytes", level, err, len(got))
		}
	}
}

func TestGunzipMembers(t *testing.T) {
	a, b := []byte("first member "), corpora()["logs"]
	z := append(gz(t, a, 6), gz(t, b, 1)...)
	got, err := Gunzip(nil, z, 0)
	if err != nil || !bytes.Equal(got, append(append([]byte{}, a...), b...)) {
		t.Fatalf("two members: err %v, %d bytes", err, len(got))
	}
}

func TestGunzipBad(t *testing.T) {
	data := corpora()["logs"]
	z := gz(t, data, 6)
	flip := bytes.Clone(z)
	flip[len(flip)-10] ^= 0xff // the last deflate bytes or the CRC
	crc := bytes.Clone(z)
	crc[len(crc)-8] ^= 1
	cases := map[string]struct {
		in   []byte
		want error
	}{
		"empty":          {nil, ErrTruncated},
		"not gzip":       {[]byte(`{"Records":[]}` + "\n\n\n\n"), ErrCorrupt},
		"header only":    {z[:10], ErrTruncated},
		"cut mid-stream": {z[:len(z)/2], ErrTruncated},
		"no trailer":     {z[:len(z)-8], ErrTruncated},
		"bad crc":        {crc, ErrChecksum},
		"trailing junk":  {append(bytes.Clone(z), "junk......."...), ErrCorrupt},
		"flipped":        {flip, nil}, // some error
	}
	for name, c := range cases {
		_, err := Gunzip(nil, c.in, 0)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
		// The streaming reader refuses it too.
		if zr, zerr := stdgzip.NewReader(bytes.NewReader(c.in)); zerr == nil {
			if _, rerr := io.ReadAll(zr); rerr == nil {
				t.Errorf("%s: compress/gzip reads it", name)
			}
		}
	}
}

func TestGunzipLimit(t *testing.T) {
	data := corpora()["zeros"] // 1 MiB from 1 KiB: a small bomb
	z := gz(t, data, 9)
	if _, err := Gunzip(nil, z, 64<<10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("limit 64 KiB: %v", err)
	}
	if got, err := Gunzip(nil, z, len(data)); err != nil || len(got) != len(data) {
		t.Fatalf("limit exactly the size: %v, %d", err, len(got))
	}
}

// FuzzGunzip: on any input, Gunzip agrees with compress/gzip: the same
// bytes when it reads the input whole, an error when it does not, and
// never a panic.
func FuzzGunzip(f *testing.F) {
	for _, data := range corpora() {
		if len(data) > 64<<10 {
			data = data[:64<<10]
		}
		f.Add(gz(f, data, 1))
		f.Add(gz(f, data, 9))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := Gunzip(nil, in, 8<<20)
		zr, zerr := stdgzip.NewReader(bytes.NewReader(in))
		var want []byte
		if zerr == nil {
			want, zerr = io.ReadAll(io.LimitReader(zr, 8<<20+1))
			if zerr == nil && len(want) > 8<<20 {
				zerr = ErrTooLarge
			}
		}
		switch {
		case err == nil && zerr != nil:
			t.Fatalf("Gunzip read what compress/gzip refuses (%v)", zerr)
		case err != nil && zerr == nil:
			t.Fatalf("Gunzip refused what compress/gzip reads: %v", err)
		case err == nil && !bytes.Equal(got, want):
			t.Fatalf("different output: %d bytes, want %d", len(got), len(want))
		}
	})
}

// FuzzInflateRaw: a raw DEFLATE stream from random bytes, against
// compress/flate.
func FuzzInflateRaw(f *testing.F) {
	var b bytes.Buffer
	w, _ := stdflate.NewWriter(&b, 6)
	w.Write(corpora()["logs"][:20000])
	w.Close()
	f.Add(b.Bytes())
	f.Add([]byte{0x01, 0x00, 0x00, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		got, n, err := Inflate(nil, in, 8<<20)
		want, zerr := io.ReadAll(io.LimitReader(stdflate.NewReader(bytes.NewReader(in)), 8<<20+1))
		if zerr == nil && len(want) > 8<<20 {
			zerr = ErrTooLarge
		}
		switch {
		case err == nil && zerr != nil:
			t.Fatalf("Inflate read what compress/flate refuses (%v)", zerr)
		case err != nil && zerr == nil:
			t.Fatalf("Inflate refused what compress/flate reads: %v", err)
		case err == nil && (!bytes.Equal(got, want) || n > len(in)):
			t.Fatalf("different output: %d bytes, want %d (used %d of %d)", len(got), len(want), n, len(in))
		}
	})
}

// BenchmarkGunzip: the demo's CloudTrail files (bench/out/sigma-demo, made
// by bench/compare-sigma.sh) or, without them, generated logs in files of
// 30 records, against klauspost/compress's streaming reader.
func BenchmarkGunzip(b *testing.B) {
	var files [][]byte
	filepath.WalkDir("../../bench/out/sigma-demo/AWSLogs", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".gz" {
			if z, err := os.ReadFile(p); err == nil {
				files = append(files, z)
			}
		}
		return nil
	})
	if len(files) == 0 {
		logs := corpora()["logs"]
		for i := 0; i+8000 <= len(logs); i += 8000 {
			files = append(files, gz(b, logs[i:i+8000], 6))
		}
	}
	var total int64
	for _, z := range files {
		total += int64(Size(z))
	}
	b.Run("inflate", func(b *testing.B) {
		b.SetBytes(total)
		var out []byte
		for b.Loop() {
			for _, z := range files {
				var err error
				if out, err = Gunzip(out[:0], z, 0); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("klauspost", func(b *testing.B) {
		b.SetBytes(total)
		buf := make([]byte, 256<<10)
		var zr *kgzip.Reader
		var br bytes.Reader
		for b.Loop() {
			for _, z := range files {
				br.Reset(z)
				if zr == nil {
					zr, _ = kgzip.NewReader(&br)
				} else {
					zr.Reset(&br)
				}
				for {
					if _, err := zr.Read(buf); err != nil {
						break
					}
				}
			}
		}
	})
}
