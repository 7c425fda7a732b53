package ueba

import "math"

// hash64 is FNV-1a over the parts of a value, with a separator, so that
// values never need to be assembled as strings.
func hash64(parts ...string) uint64 {
	h := uint64(14695981039346656037)
	for i, p := range parts {
		if i > 0 {
			h = (h ^ 0x1f) * 1099511628211
		}
		for j := 0; j < len(p); j++ {
			h = (h ^ uint64(p[j])) * 1099511628211
		}
	}
	// Finalise (murmur3's mixer): the bloom filter takes bits from every
	// part of the hash.
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb53ca94f874e
	h ^= h >> 33
	return h
}

const (
	bloomWords = 32 // 2,048 bits: about 5% false "seen" at 300 distinct values
	topK       = 16
)

// sketch is one entity's history of one feature in fixed space: a Bloom
// filter says whether a value was ever seen, a space-saving table counts
// the most frequent values, n counts observations and d distinct values
// (as the filter saw them).
type sketch struct {
	bloom [bloomWords]uint64
	top   [topK]slot
	n, d  uint32
}

type slot struct{ h, c uint32 }

func (s *sketch) bits(h uint64) (uint32, uint32, uint32) {
	const m = bloomWords * 64
	return uint32(h % m), uint32((h >> 21) % m), uint32((h >> 42) % m)
}

func (s *sketch) seen(h uint64) bool {
	a, b, c := s.bits(h)
	return s.bloom[a/64]&(1<<(a%64)) != 0 && s.bloom[b/64]&(1<<(b%64)) != 0 && s.bloom[c/64]&(1<<(c%64)) != 0
}

// count estimates how often the value was seen: exact-ish for frequent
// values, 1 for a seen value outside the table, 0 for a new one.
func (s *sketch) count(h uint64) uint32 {
	k := uint32(h)
	for _, sl := range s.top {
		if sl.h == k && sl.c > 0 {
			return sl.c
		}
	}
	if s.seen(h) {
		return 1
	}
	return 0
}

func (s *sketch) add(h uint64) {
	if !s.seen(h) {
		s.d++
		a, b, c := s.bits(h)
		s.bloom[a/64] |= 1 << (a % 64)
		s.bloom[b/64] |= 1 << (b % 64)
		s.bloom[c/64] |= 1 << (c % 64)
	}
	s.n++
	k := uint32(h)
	minI := 0
	for i := range s.top {
		if s.top[i].h == k && s.top[i].c > 0 {
			s.top[i].c++
			return
		}
		if s.top[i].c < s.top[minI].c {
			minI = i
		}
	}
	// Space-saving: the new value takes the least counted slot.
	s.top[minI] = slot{h: k, c: s.top[minI].c + 1}
}

// table is a group's or an account's history of one feature: exact counts
// up to a cap of distinct values (then new values are counted in n and d
// only).
type table struct {
	counts map[uint32]uint32
	n, d   uint32
}

const maxTableValues = 50000

func (t *table) count(h uint64) uint32 { return t.counts[uint32(h)] }

func (t *table) add(h uint64) {
	if t.counts == nil {
		t.counts = map[uint32]uint32{}
	}
	k := uint32(h)
	c, ok := t.counts[k]
	if !ok {
		t.d++
		if len(t.counts) >= maxTableValues {
			t.n++
			return
		}
	}
	t.counts[k] = c + 1
	t.n++
}

// level is what one level of history (entity, peers, account) says about
// a value: how often it was seen, out of how many, among how many
// distinct values.
type level struct{ c, n, d uint32 }

// tail is the probability, under this level's history, of a value at
// least as rare as this one: for a new value the chance that anything new
// turns up, (d+1)/(n+d+1) (a Dirichlet-process estimate); for a seen value
// its smoothed share times the number of values (so that a uniform history
// gives 1), at most 1. A level with no history says nothing (1).
func (l level) tail() float64 {
	if l.n == 0 {
		return 1
	}
	n, d := float64(l.n), float64(l.d)
	if l.c == 0 {
		return (d + 1) / (n + d + 1)
	}
	return math.Min(1, float64(l.c)/(n+1)*max(d, 1))
}

// without is l (a wider level: peers, account) without the counts of e
// (the entity's own), clamped at zero; distinct values stay l's (which
// of them were the entity's alone is not known).
func (e level) without(l level) level {
	return level{c: l.c - min(l.c, e.c), n: l.n - min(l.n, e.n), d: l.d}
}

// mix smooths an entity's tail towards its peers' and its account's: the
// entity's own history counts as much as it is long (kappa events give it
// half the weight), and even a long history keeps a quarter of the weight
// on the peers, so that a value rare for the entity but common for its
// peers scores low. A new entity is scored by its peers and account alone.
func mix(e, g, a level) float64 { return mixTail(e, g, a.tail()) }

// mixTail is mix with the account's tail given (the account's history
// blended with a global prior while it is short).
func mixTail(e, g level, la float64) float64 {
	const kappa = 30
	lg := la
	if g.n > 0 {
		wg := float64(g.n) / (float64(g.n) + kappa)
		lg = wg*(0.8*g.tail()+0.2*la) + (1-wg)*la
	}
	if e.n == 0 {
		return lg
	}
	we := float64(e.n) / (float64(e.n) + kappa)
	return we*(0.75*e.tail()+0.25*lg) + (1-we)*lg
}

// surprise is -log10 of a probability, capped: one factor alone never
// decides.
func surprise(p float64) float64 {
	if p <= 0 {
		return maxFactor
	}
	return math.Min(maxFactor, -math.Log10(p))
}

const maxFactor = 4.0

// poissonTail is P(X >= x) for X ~ Poisson(lambda), for x > lambda,
// summed in log space from the first term.
func poissonTail(x, lambda float64) float64 {
	if x <= lambda {
		return 1
	}
	if lambda <= 0 {
		return 0
	}
	logT := -lambda + x*math.Log(lambda) - lgamma(x+1)
	sum, t := 1.0, 1.0
	for k := x + 1; k < x+1000; k++ {
		t *= lambda / k
		sum += t
		if t < 1e-12*sum {
			break
		}
	}
	return math.Min(1, math.Exp(logT)*sum)
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// haversineKm is the great-circle distance.
func haversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Sqrt(math.Min(1, a)))
}
