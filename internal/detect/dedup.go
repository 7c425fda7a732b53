package detect

import (
	"hash/maphash"
	"time"

	"github.com/parapet-sec/parapet/internal/event"
)

// Defaults for a Dedup.
const (
	DefaultDedupWindow = time.Hour
	DefaultDedupMax    = 1 << 20 // about 40 MB
)

// Dedup is a time-windowed set of records seen, by native record id: the
// same record delivered more than once (at-least-once sources such as
// EventBridge and SQS, re-delivered or overlapping exports, a trail's
// record and its EventBridge copy) is recognised and passed over. A record
// is its source, its id and its event time (a GuardDuty finding updated
// under the same id is a new record).
//
// Memory is bounded: a record is remembered while its event time is
// within Window of the newest seen, and at most Max records are
// remembered (the oldest go first). A copy that arrives later than that is
// not recognised. Dedup is not safe for concurrent use.
type Dedup struct {
	window int64 // nanoseconds
	max    int
	seed   maphash.Seed
	set    map[uint64]struct{}
	fifo   []seen // in arrival order, from head
	head   int
	newest int64
}

type seen struct {
	key uint64
	t   int64
}

// NewDedup returns an empty set; zero window or max take the defaults.
func NewDedup(window time.Duration, max int) *Dedup {
	if window <= 0 {
		window = DefaultDedupWindow
	}
	if max <= 0 {
		max = DefaultDedupMax
	}
	return &Dedup{window: int64(window), max: max, seed: maphash.MakeSeed(), set: map[uint64]struct{}{}}
}

// Key is the record's identity: a hash of its source, id and event time.
func (d *Dedup) Key(ev *event.Event) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	h.WriteByte(byte(ev.Source))
	h.WriteString(ev.ID)
	t := sortTime(ev.Time)
	var b [8]byte
	for i := range b {
		b[i] = byte(t >> (8 * i))
	}
	h.Write(b[:])
	return h.Sum64()
}

// Seen reports whether ev was seen before, and remembers it if not.
func (d *Dedup) Seen(ev *event.Event) bool {
	return d.SeenKey(d.Key(ev), sortTime(ev.Time))
}

// SeenKey is Seen for a record's Key and event time (Unix nanoseconds).
func (d *Dedup) SeenKey(key uint64, t int64) bool {
	if _, ok := d.set[key]; ok {
		return true
	}
	d.set[key] = struct{}{}
	d.fifo = append(d.fifo, seen{key, t})
	d.newest = max(d.newest, t)
	for d.head < len(d.fifo) {
		s := d.fifo[d.head]
		if len(d.fifo)-d.head <= d.max && s.t >= d.newest-d.window {
			break
		}
		delete(d.set, s.key)
		d.head++
	}
	if d.head > 1024 && d.head > len(d.fifo)/2 {
		n := copy(d.fifo, d.fifo[d.head:])
		d.fifo = d.fifo[:n]
		d.head = 0
	}
	return false
}

// Len is how many records are remembered.
func (d *Dedup) Len() int { return len(d.set) }
