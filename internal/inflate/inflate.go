// Package inflate decompresses a gzip file (RFC 1952, every member) or a
// raw DEFLATE stream (RFC 1951) held whole in memory into memory, in one
// call.
//
// It exists for speed: a streaming decompressor (compress/flate,
// klauspost/compress/flate) decodes into a 32 KiB window, copies out of it
// into the caller's buffer, and reads its input a byte at a time through
// an io.ByteReader. Most log files are small and read whole anyway (a
// CloudTrail file is a few KiB to a few MiB), so this decoder reads its
// input eight bytes at a time from the slice, resolves most codes with one
// lookup in 11-bit tables, and writes straight into the output, whose
// earlier bytes are the window. On the demo's CloudTrail files it runs in
// about half the time of klauspost/compress's gzip reader (see
// BenchmarkGunzip).
//
// Any input is safe: a corrupt or truncated stream, or one whose output
// would pass the caller's limit, is an error (never a panic, never more
// memory than the limit); callers that need a streaming decoder's exact
// behaviour on bad input (where it stops, what it returned before)
// decode again with one.
package inflate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/bits"
	"sync"
)

var (
	// ErrCorrupt: the stream is not valid DEFLATE or gzip.
	ErrCorrupt = errors.New("inflate: corrupt stream")
	// ErrTruncated: the input ends before the stream does.
	ErrTruncated = errors.New("inflate: unexpected end of input")
	// ErrTooLarge: the output would pass the limit given.
	ErrTooLarge = errors.New("inflate: output larger than the limit")
	// ErrChecksum: a gzip member's CRC-32 or length does not match.
	ErrChecksum = errors.New("inflate: gzip checksum mismatch")
)

// Gunzip appends to dst the decompressed contents of every gzip member in
// src (which must hold nothing else) and returns it; the output may not
// grow past limit bytes (limit <= 0: no limit).
func Gunzip(dst, src []byte, limit int) ([]byte, error) {
	if len(src) == 0 {
		return dst, ErrTruncated
	}
	for len(src) > 0 {
		hdr, err := headerLen(src)
		if err != nil {
			return dst, err
		}
		start := len(dst)
		var used int
		dst, used, err = inflate(dst, src[hdr:], limit)
		if err != nil {
			return dst, err
		}
		src = src[hdr+used:]
		if len(src) < 8 {
			return dst, ErrTruncated
		}
		if crc32.ChecksumIEEE(dst[start:]) != binary.LittleEndian.Uint32(src) ||
			uint32(len(dst)-start) != binary.LittleEndian.Uint32(src[4:]) {
			return dst, ErrChecksum
		}
		src = src[8:]
	}
	return dst, nil
}

// Size returns the decompressed size a gzip file's last member records
// (its length modulo 2^32; a hint, not a promise), or -1.
func Size(src []byte) int {
	if len(src) < 18 || src[0] != 0x1f || src[1] != 0x8b {
		return -1
	}
	return int(binary.LittleEndian.Uint32(src[len(src)-4:]))
}

// headerLen returns the length of the gzip member header at the start of
// src.
func headerLen(src []byte) (int, error) {
	const (
		fhcrc    = 1 << 1
		fextra   = 1 << 2
		fname    = 1 << 3
		fcomment = 1 << 4
	)
	if len(src) < 10 {
		return 0, ErrTruncated
	}
	if src[0] != 0x1f || src[1] != 0x8b || src[2] != 8 {
		return 0, fmt.Errorf("%w: not a gzip member header", ErrCorrupt)
	}
	flg := src[3]
	if flg&0xe0 != 0 {
		return 0, fmt.Errorf("%w: reserved gzip flags set", ErrCorrupt)
	}
	n := 10
	if flg&fextra != 0 {
		if len(src) < n+2 {
			return 0, ErrTruncated
		}
		n += 2 + int(binary.LittleEndian.Uint16(src[n:]))
	}
	for _, f := range []byte{fname, fcomment} {
		if flg&f == 0 {
			continue
		}
		for {
			if n >= len(src) {
				return 0, ErrTruncated
			}
			n++
			if src[n-1] == 0 {
				break
			}
		}
	}
	if flg&fhcrc != 0 {
		n += 2
	}
	if n > len(src) {
		return 0, ErrTruncated
	}
	return n, nil
}

// Inflate appends to dst the decompressed raw DEFLATE stream at the start
// of src and returns it with the number of bytes of src the stream took.
func Inflate(dst, src []byte, limit int) ([]byte, int, error) {
	return inflate(dst, src, limit)
}

// Table entries (uint32): bits 0-4 the bits the entry's code takes, 5-7
// its kind, 8-11 extra bits (a length's or distance's) or a subtable's
// index bits, 16-31 the value (a literal, a base length or distance, a
// subtable's offset).
const (
	kindInvalid = iota << 5
	kindLiteral
	kindLength
	kindEnd
	kindSub

	kindMask = 7 << 5

	litBits  = 11 // primary index bits of the literal/length table
	distBits = 8  // and of the distance table
	lenBits  = 7  // of the code length code table (its longest code)

	maxMatch = 258
)

var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	// The order in which a dynamic block gives the code length code's
	// lengths.
	lenOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

func litEntry(sym int) uint32 {
	switch {
	case sym < 256:
		return kindLiteral | uint32(sym)<<16
	case sym == 256:
		return kindEnd
	case sym <= 285:
		i := sym - 257
		return kindLength | uint32(lengthExtra[i])<<8 | uint32(lengthBase[i])<<16
	}
	return kindInvalid
}

func distEntry(sym int) uint32 {
	if sym < 30 {
		return kindLength | uint32(distExtra[sym])<<8 | uint32(distBase[sym])<<16
	}
	return kindInvalid
}

func lenEntry(sym int) uint32 { return kindLiteral | uint32(sym)<<16 }

// build fills a decoding table for the canonical Huffman code whose
// lengths are lens (0: symbol unused), with primary index bits pb and
// subtables behind it, and returns it (reusing t's memory). An
// over-subscribed or incomplete code is an error, as in zlib and
// compress/flate, but for a code of one symbol (one bit long) and one of
// none.
func build(t []uint32, lens []uint8, pb uint, entry func(int) uint32) ([]uint32, error) {
	var count [16]int
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [16]uint32
	code, left, longest := uint32(0), 1, 0
	for l := 1; l < 16; l++ {
		left = left<<1 - count[l]
		if left < 0 {
			return t, fmt.Errorf("%w: over-subscribed Huffman code", ErrCorrupt)
		}
		code = (code + uint32(count[l-1])) << 1
		next[l] = code
		if count[l] > 0 {
			longest = l
		}
	}
	if left > 0 && longest > 1 {
		return t, fmt.Errorf("%w: incomplete Huffman code", ErrCorrupt)
	}
	size := 1 << pb
	mask := uint32(size - 1)
	var sub [1 << litBits]uint8 // a prefix's longest code, less pb
	var subs []uint32           // the prefixes with a subtable
	var subsBuf [64]uint32
	subs = subsBuf[:0]
	codes := next
	for _, l := range lens {
		if uint(l) <= pb {
			codes[l]++ // l == 0 too: unused
			continue
		}
		p := reverse(codes[l], l) & mask
		codes[l]++
		s := l - uint8(pb)
		if sub[p] == 0 {
			subs = append(subs, p)
		}
		sub[p] = max(sub[p], s)
	}
	total := size
	for _, p := range subs {
		total += 1 << sub[p]
	}
	if cap(t) < total {
		t = make([]uint32, total)
	}
	t = t[:total]
	if left > 0 { // no code, or one of one bit: entries stay invalid
		clear(t)
	}
	off := size
	for _, p := range subs {
		t[p] = kindSub | uint32(pb) | uint32(sub[p])<<8 | uint32(off)<<16
		off += 1 << sub[p]
	}
	codes = next
	for sym, l := range lens {
		if l == 0 {
			continue
		}
		r := reverse(codes[l], l)
		codes[l]++
		e := entry(sym)
		if uint(l) <= pb {
			e |= uint32(l)
			for i := r; i < uint32(size); i += 1 << l {
				t[i] = e
			}
			continue
		}
		s := t[r&mask]
		sb := (s >> 8) & 15
		base := s >> 16
		sl := uint32(l) - uint32(pb)
		e |= sl
		for i := r >> pb; i < 1<<sb; i += 1 << sl {
			t[base+i] = e
		}
	}
	return t, nil
}

// reverse returns the n low bits of c in reverse order.
func reverse(c uint32, n uint8) uint32 {
	return uint32(bits.Reverse16(uint16(c))) >> (16 - n)
}

var fixed struct {
	once      sync.Once
	lit, dist []uint32
}

func fixedTables() ([]uint32, []uint32) {
	fixed.once.Do(func() {
		var lens [288]uint8
		for i := range lens {
			switch {
			case i < 144:
				lens[i] = 8
			case i < 256:
				lens[i] = 9
			case i < 280:
				lens[i] = 7
			default:
				lens[i] = 8
			}
		}
		fixed.lit, _ = build(nil, lens[:], litBits, litEntry)
		var dl [32]uint8 // 30 and 31 complete the code but are invalid
		for i := range dl {
			dl[i] = 5
		}
		fixed.dist, _ = build(nil, dl[:], distBits, distEntry)
	})
	return fixed.lit, fixed.dist
}

// decoder is the state of one stream.
type decoder struct {
	in   []byte
	pos  int    // the next byte of in to load into bits
	bits uint64 // loaded, not yet consumed, low bits first
	nb   uint   // how many
	over int    // zero bytes loaded past the end of in
}

// refill makes nb at least 56.
func (d *decoder) refill() {
	if d.pos+8 <= len(d.in) {
		d.bits |= binary.LittleEndian.Uint64(d.in[d.pos:]) << d.nb
		d.pos += int(63-d.nb) >> 3
		d.nb |= 56
		return
	}
	for d.nb <= 56 {
		if d.pos < len(d.in) {
			d.bits |= uint64(d.in[d.pos]) << d.nb
			d.pos++
		} else {
			d.over++
		}
		d.nb += 8
	}
}

// take consumes and returns n bits (n <= 32; the caller has refilled).
func (d *decoder) take(n uint) uint32 {
	v := uint32(d.bits & (1<<n - 1))
	d.bits >>= n
	d.nb -= n
	return v
}

// consumed returns how many bytes of in the stream has used (whole bytes:
// the last one's unused bits are padding), or an error when that is past
// its end.
func (d *decoder) consumed() (int, error) {
	n := d.pos + d.over - int(d.nb>>3)
	if n > len(d.in) {
		return 0, ErrTruncated
	}
	return n, nil
}

// scratch is one stream's reusable memory.
type scratch struct {
	lit, dist, lens []uint32
	ll              [286 + 30]uint8
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func inflate(dst, src []byte, limit int) ([]byte, int, error) {
	if limit <= 0 {
		limit = int(^uint(0) >> 1)
	}
	d := decoder{in: src}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	out := dst[:cap(dst)]
	op := len(dst)
	base := op // the stream's window starts here
	for {
		d.refill()
		if d.over > 8 {
			return out[:op], 0, ErrTruncated
		}
		final := d.take(1)
		var lit, dist []uint32
		switch d.take(2) {
		case 0: // stored
			d.take(d.nb & 7)
			n, err := d.consumed()
			if err != nil {
				return out[:op], 0, err
			}
			if n+4 > len(src) {
				return out[:op], 0, ErrTruncated
			}
			ln := int(binary.LittleEndian.Uint16(src[n:]))
			if uint16(ln) != ^binary.LittleEndian.Uint16(src[n+2:]) {
				return out[:op], 0, fmt.Errorf("%w: stored block length", ErrCorrupt)
			}
			n += 4
			if n+ln > len(src) {
				return out[:op], 0, ErrTruncated
			}
			if op+ln > limit {
				return out[:op], 0, ErrTooLarge
			}
			if op+ln > len(out) {
				out = grow(out, op, ln)
			}
			op += copy(out[op:], src[n:n+ln])
			d = decoder{in: src, pos: n + ln}
			if final == 1 {
				return out[:op], n + ln, nil
			}
			continue
		case 1:
			lit, dist = fixedTables()
		case 2:
			var err error
			if err = s.dynamic(&d); err != nil {
				return out[:op], 0, err
			}
			lit, dist = s.lit, s.dist
		default:
			return out[:op], 0, fmt.Errorf("%w: reserved block type", ErrCorrupt)
		}
		var err error
		if out, op, err = d.block(out, op, base, lit, dist, limit); err != nil {
			return out[:op], 0, err
		}
		if final == 1 {
			n, err := d.consumed()
			if err != nil {
				return out[:op], 0, err
			}
			return out[:op], n, nil
		}
	}
}

// grow returns out (of which op bytes are written) with room for at least
// n more.
func grow(out []byte, op, n int) []byte {
	c := max(2*len(out), op+n+maxMatch, 64<<10)
	nb := make([]byte, c)
	copy(nb, out[:op])
	return nb
}

// dynamic reads a dynamic block's header into s.lit and s.dist.
func (s *scratch) dynamic(d *decoder) error {
	d.refill()
	nlit := int(d.take(5)) + 257
	ndist := int(d.take(5)) + 1
	nclen := int(d.take(4)) + 4
	if nlit > 286 || ndist > 30 {
		return fmt.Errorf("%w: too many codes", ErrCorrupt)
	}
	var cl [19]uint8
	for i := 0; i < nclen; i++ {
		if d.nb < 3 {
			d.refill()
		}
		cl[lenOrder[i]] = uint8(d.take(3))
	}
	var err error
	if s.lens, err = build(s.lens, cl[:], lenBits, lenEntry); err != nil {
		return err
	}
	ll := s.ll[:nlit+ndist]
	for i := 0; i < len(ll); {
		if d.nb < 32 {
			d.refill()
			if d.over > 8 {
				return ErrTruncated
			}
		}
		e := s.lens[d.bits&(1<<lenBits-1)]
		if e&kindMask != kindLiteral {
			return fmt.Errorf("%w: code length code", ErrCorrupt)
		}
		d.take(uint(e & 31))
		sym := e >> 16
		var v uint8
		var n int
		switch {
		case sym < 16:
			ll[i] = uint8(sym)
			i++
			continue
		case sym == 16:
			if i == 0 {
				return fmt.Errorf("%w: repeat with no length before it", ErrCorrupt)
			}
			v, n = ll[i-1], 3+int(d.take(2))
		case sym == 17:
			n = 3 + int(d.take(3))
		default:
			n = 11 + int(d.take(7))
		}
		if i+n > len(ll) {
			return fmt.Errorf("%w: code lengths overrun", ErrCorrupt)
		}
		for ; n > 0; n-- {
			ll[i] = v
			i++
		}
	}
	if ll[256] == 0 {
		return fmt.Errorf("%w: no end-of-block code", ErrCorrupt)
	}
	if s.lit, err = build(s.lit, ll[:nlit], litBits, litEntry); err != nil {
		return err
	}
	s.dist, err = build(s.dist, ll[nlit:], distBits, distEntry)
	return err
}

// block decodes one Huffman-coded block's symbols into out from op (the
// stream's output starts at base) and returns them both. The bit buffer
// lives in locals while it runs (the compiler keeps them in registers).
func (d *decoder) block(out []byte, op, base int, lit, dist []uint32, limit int) ([]byte, int, error) {
	const litMask, distMask = 1<<litBits - 1, 1<<distBits - 1
	in, pos, bits, nb := d.in, d.pos, d.bits, d.nb
	defer func() { d.pos, d.bits, d.nb = pos, bits, nb }()
	lt := (*[1 << litBits]uint32)(lit)
	dt := (*[1 << distBits]uint32)(dist)
	for {
		if nb < 48 { // the longest symbol: 15+5 bits, then 15+13
			if pos+8 <= len(in) {
				bits |= binary.LittleEndian.Uint64(in[pos:]) << nb
				pos += int(63-nb) >> 3
				nb |= 56
			} else {
				d.pos, d.bits, d.nb = pos, bits, nb
				d.refill()
				pos, bits, nb = d.pos, d.bits, d.nb
				if d.over > 8 {
					return out, op, ErrTruncated
				}
			}
		}
		e := lt[bits&litMask]
		if e&kindMask == kindSub {
			bits >>= litBits
			nb -= litBits
			e = lit[(e>>16)+uint32(bits&(1<<((e>>8)&15)-1))]
		}
		n := uint(e & 31)
		bits >>= n
		nb -= n
		if e&kindMask == kindLiteral {
			if op >= len(out) {
				if op >= limit {
					return out, op, ErrTooLarge
				}
				out = grow(out, op, 1)
			}
			out[op] = byte(e >> 16)
			op++
			continue
		}
		if e&kindMask != kindLength {
			if e&kindMask == kindEnd {
				return out, op, nil
			}
			return out, op, fmt.Errorf("%w: invalid literal/length code", ErrCorrupt)
		}
		x := uint((e >> 8) & 15)
		length := int(e>>16) + int(bits&(1<<x-1))
		bits >>= x
		nb -= x
		e = dt[bits&distMask]
		if e&kindMask == kindSub {
			bits >>= distBits
			nb -= distBits
			e = dist[(e>>16)+uint32(bits&(1<<((e>>8)&15)-1))]
		}
		if e&kindMask != kindLength {
			return out, op, fmt.Errorf("%w: invalid distance code", ErrCorrupt)
		}
		n = uint(e & 31)
		bits >>= n
		nb -= n
		x = uint((e >> 8) & 15)
		dst := int(e>>16) + int(bits&(1<<x-1))
		bits >>= x
		nb -= x
		if dst > op-base {
			return out, op, fmt.Errorf("%w: distance before the start of the output", ErrCorrupt)
		}
		if op+length > len(out) {
			if op+length > limit {
				return out, op, ErrTooLarge
			}
			out = grow(out, op, length)
		}
		from := op - dst
		if dst >= 8 && length <= 64 && op+length+8 <= len(out) {
			// Short and not overlapping within a word: eight bytes at a
			// time, past the end too (what follows op is scratch).
			for i := 0; i < length; i += 8 {
				binary.LittleEndian.PutUint64(out[op+i:], binary.LittleEndian.Uint64(out[from+i:]))
			}
			op += length
			continue
		}
		if dst >= length {
			copy(out[op:op+length], out[from:from+length])
			op += length
			continue
		}
		end := op + length
		for op < end { // overlapping: each copy doubles what is repeated
			op += copy(out[op:end], out[from:op])
		}
	}
}
