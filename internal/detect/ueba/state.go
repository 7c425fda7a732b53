package ueba

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"unsafe"
)

// The state file: a magic line, a version, then every account, group,
// principal, key and address in a fixed little-endian layout. Maps are
// written in key order, so the same state gives the same bytes.
const (
	stateMagic   = "parapet ueba state\n"
	stateVersion = 2
)

type writer struct {
	w   *bufio.Writer
	buf []byte
}

func (w *writer) flush() {
	if len(w.buf) > 0 {
		w.w.Write(w.buf)
		w.buf = w.buf[:0]
	}
}

func (w *writer) u32(v uint32) { w.buf = binary.LittleEndian.AppendUint32(w.buf, v) }
func (w *writer) u64(v uint64) { w.buf = binary.LittleEndian.AppendUint64(w.buf, v) }
func (w *writer) i64(v int64)  { w.u64(uint64(v)) }
func (w *writer) f64(v float64) {
	w.u64(math.Float64bits(v))
}
func (w *writer) str(s string) {
	w.u32(uint32(len(s)))
	w.buf = append(w.buf, s...)
	if len(w.buf) > 64<<10 {
		w.flush()
	}
}

func (w *writer) sketch(s *sketch) {
	if littleEndian {
		// The layout is the little-endian encoding itself: copy it.
		w.buf = append(w.buf, sketchBytes(s)...)
		return
	}
	for _, b := range s.bloom {
		w.u64(b)
	}
	for _, sl := range s.top {
		w.u32(sl.h)
		w.u32(sl.c)
	}
	w.u32(s.n)
	w.u32(s.d)
}

// littleEndian: sketches are then written and read as their memory.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// sketchBytes views a sketch as bytes: its fields are all integers,
// 8-byte words then 4-byte ones, so there is no padding.
func sketchBytes(s *sketch) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(s)), unsafe.Sizeof(*s))
}

func (w *writer) group(g *group) {
	w.str(g.key)
	w.u32(g.members)
	w.i64(g.first)
	for f := range g.feats {
		t := &g.feats[f]
		w.u32(t.n)
		w.u32(t.d)
		keys := make([]uint32, 0, len(t.counts))
		for k := range t.counts {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		w.u32(uint32(len(keys)))
		for _, k := range keys {
			w.u32(k)
			w.u32(t.counts[k])
		}
		w.flush()
	}
	for _, h := range g.hours {
		w.u32(h)
	}
	w.u32(g.n)
	for _, v := range g.vol {
		w.f64(v)
	}
}

// Save writes the engine's learned state.
func (e *Engine) Save(out io.Writer) error {
	bw := bufio.NewWriterSize(out, 1<<20)
	w := &writer{w: bw}
	w.buf = append(w.buf, stateMagic...)
	w.u32(stateVersion)
	w.i64(e.maxT)
	for _, id := range sortedKeys(e.accounts) {
		a := e.accounts[id]
		w.u32(1) // one more account
		w.str(a.id)
		w.i64(a.first)
		w.group(&a.all)
		for _, b := range a.calib.bins {
			w.f64(b)
		}
		w.f64(a.calib.total)
		w.f64(a.calib.maxRaw)
		w.i64(a.calib.day)
	}
	w.u32(0)
	w.u32(uint32(len(e.groups)))
	for _, k := range sortedKeys(e.groups) {
		w.group(e.groups[k])
	}
	w.u32(uint32(len(e.principals)))
	for _, k := range sortedKeys(e.principals) {
		p := e.principals[k]
		w.str(p.key)
		w.str(p.name)
		w.str(p.kind)
		w.str(p.group)
		w.str(p.account)
		w.i64(p.first)
		w.i64(p.last)
		w.u32(p.n)
		for f := range p.feats {
			w.sketch(&p.feats[f])
		}
		for _, h := range p.hours {
			w.u32(h)
		}
		for m := range p.vol {
			v := &p.vol[m]
			for _, s := range v.slot {
				w.u32(math.Float32bits(s))
			}
			for _, s := range v.dow {
				w.u32(math.Float32bits(s))
			}
			w.f64(v.total)
			w.f64(v.sumsq)
			w.i64(v.bucket)
			w.u32(v.cur)
		}
		w.str(p.prevOp)
		w.i64(p.prevT)
		w.u32(math.Float32bits(p.loc.lat))
		w.u32(math.Float32bits(p.loc.lon))
		w.u32(uint32(p.loc.radius))
		w.str(p.loc.country)
		w.i64(p.loc.t)
		if p.loc.ok {
			w.u32(1)
		} else {
			w.u32(0)
		}
		w.i64(0) // was the hour of its last finding; sessions are not saved
		w.f64(p.burst)
		w.i64(p.burstT)
		w.u32(p.burstN)
	}
	w.u32(uint32(len(e.keys)))
	for _, k := range sortedKeys(e.keys) {
		w.str(k)
		w.sketch(&e.keys[k].feats[0])
		w.sketch(&e.keys[k].feats[1])
	}
	ips := make([]netip.Addr, 0, len(e.ips))
	for a := range e.ips {
		ips = append(ips, a)
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	w.u32(uint32(len(ips)))
	for _, a := range ips {
		b, _ := a.MarshalBinary()
		w.str(string(b))
		w.sketch(&e.ips[a].principals)
	}
	w.flush()
	return bw.Flush()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

type reader struct {
	r   *bufio.Reader
	err error
	b   [8]byte
}

func (r *reader) read(n int) []byte {
	if r.err != nil {
		return r.b[:n]
	}
	if _, err := io.ReadFull(r.r, r.b[:n]); err != nil {
		r.err = err
	}
	return r.b[:n]
}

func (r *reader) u32() uint32   { return binary.LittleEndian.Uint32(r.read(4)) }
func (r *reader) u64() uint64   { return binary.LittleEndian.Uint64(r.read(8)) }
func (r *reader) i64() int64    { return int64(r.u64()) }
func (r *reader) f64() float64  { return math.Float64frombits(r.u64()) }
func (r *reader) f32() float32  { return math.Float32frombits(r.u32()) }
func (r *reader) count() uint32 { return r.limit(r.u32(), 1<<24) }

func (r *reader) limit(n, max uint32) uint32 {
	if n > max && r.err == nil {
		r.err = fmt.Errorf("a count of %d is beyond any state Parapet writes", n)
	}
	if r.err != nil {
		return 0
	}
	return n
}

func (r *reader) str() string {
	n := r.limit(r.u32(), 1<<20)
	if n == 0 || r.err != nil {
		return ""
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r.r, b); err != nil {
		r.err = err
	}
	return string(b)
}

func (r *reader) sketch(s *sketch) {
	if littleEndian {
		if r.err == nil {
			if _, err := io.ReadFull(r.r, sketchBytes(s)); err != nil {
				r.err = err
			}
		}
		return
	}
	for i := range s.bloom {
		s.bloom[i] = r.u64()
	}
	for i := range s.top {
		s.top[i].h = r.u32()
		s.top[i].c = r.u32()
	}
	s.n = r.u32()
	s.d = r.u32()
}

func (r *reader) group(g *group) {
	g.key = r.str()
	g.members = r.u32()
	g.first = r.i64()
	for f := range g.feats {
		t := &g.feats[f]
		t.n = r.u32()
		t.d = r.u32()
		n := r.limit(r.u32(), maxTableValues)
		t.counts = make(map[uint32]uint32, n)
		for range n {
			if r.err != nil {
				return
			}
			k := r.u32()
			t.counts[k] = r.u32()
		}
	}
	for i := range g.hours {
		g.hours[i] = r.u32()
	}
	g.n = r.u32()
	for i := range g.vol {
		g.vol[i] = r.f64()
	}
}

// Load reads a state written by Save into a new engine with cfg.
func Load(in io.Reader, cfg Config) (*Engine, error) {
	r := &reader{r: bufio.NewReaderSize(in, 1<<20)}
	magic := make([]byte, len(stateMagic))
	if _, err := io.ReadFull(r.r, magic); err != nil || string(magic) != stateMagic {
		return nil, errors.New("not a Parapet UEBA state file")
	}
	if v := r.u32(); v != stateVersion && r.err == nil {
		return nil, fmt.Errorf("state version %d; this Parapet reads version %d", v, stateVersion)
	}
	e := New(cfg)
	e.maxT = r.i64()
	for r.u32() == 1 && r.err == nil {
		a := &account{}
		a.id = r.str()
		a.first = r.i64()
		r.group(&a.all)
		for i := range a.calib.bins {
			a.calib.bins[i] = r.f64()
		}
		a.calib.total = r.f64()
		a.calib.maxRaw = r.f64()
		a.calib.day = r.i64()
		e.accounts[a.id] = a
	}
	for range r.count() {
		if r.err != nil {
			break
		}
		g := &group{}
		r.group(g)
		e.groups[g.key] = g
	}
	for range r.count() {
		if r.err != nil {
			break
		}
		p := &entity{}
		p.key, p.name, p.kind, p.group, p.account = r.str(), r.str(), r.str(), r.str(), r.str()
		p.first, p.last, p.n = r.i64(), r.i64(), r.u32()
		for f := range p.feats {
			r.sketch(&p.feats[f])
		}
		for i := range p.hours {
			p.hours[i] = r.u32()
		}
		for m := range p.vol {
			v := &p.vol[m]
			for i := range v.slot {
				v.slot[i] = r.f32()
			}
			for i := range v.dow {
				v.dow[i] = r.f32()
			}
			v.total, v.sumsq, v.bucket, v.cur = r.f64(), r.f64(), r.i64(), r.u32()
		}
		p.prevOp, p.prevT = r.str(), r.i64()
		p.loc.lat, p.loc.lon, p.loc.radius = r.f32(), r.f32(), uint16(r.u32())
		p.loc.country, p.loc.t, p.loc.ok = r.str(), r.i64(), r.u32() == 1
		r.i64() // was the hour of its last finding
		p.burst, p.burstT, p.burstN = r.f64(), r.i64(), r.u32()
		if g := e.groups[p.group]; g != nil {
			p.group = g.key // share the string
		}
		e.principals[p.key] = p
		if a := e.accounts[p.account]; a != nil {
			a.maxT = max(a.maxT, p.last)
		}
		if g := e.groups[p.group]; g != nil {
			g.list = append(g.list, p)
		}
	}
	for range r.count() {
		if r.err != nil {
			break
		}
		k := r.str()
		x := &keyEntity{}
		r.sketch(&x.feats[0])
		r.sketch(&x.feats[1])
		e.keys[k] = x
	}
	for range r.count() {
		if r.err != nil {
			break
		}
		var a netip.Addr
		if err := a.UnmarshalBinary([]byte(r.str())); err != nil && r.err == nil {
			r.err = err
		}
		x := &ipEntity{}
		r.sketch(&x.principals)
		e.ips[a] = x
	}
	if r.err != nil {
		return nil, fmt.Errorf("state file cut short or damaged: %w", r.err)
	}
	return e, nil
}
