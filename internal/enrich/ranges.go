// Package enrich adds to events what the record alone does not say: which
// cloud provider's published address ranges hold an address (and, later,
// threat intelligence). Enrichment runs between decoding and detection;
// rules read its results as parapet.* fields.
package enrich

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/parapet-sec/parapet/internal/event"
)

// NoProvider is the provider of an address that no loaded range holds.
const NoProvider = "none"

// Ranges answers which cloud provider an address belongs to, from the
// lists the providers publish: AWS ip-ranges.json, Google Cloud
// cloud.json, Azure Service Tags. Overlapping prefixes of one provider are
// merged, so a lookup is one binary search. Safe for concurrent reads.
type Ranges struct {
	spans    []span // sorted, disjoint
	prefixes int
	sources  []string
}

type span struct {
	lo, hi   netip.Addr
	provider string
}

// NewRanges builds ranges from provider → prefixes (tests, and lists given
// inline).
func NewRanges(byProvider map[string][]string) (*Ranges, error) {
	var b builder
	for prov, list := range byProvider {
		for _, s := range list {
			if err := b.add(prov, s); err != nil {
				return nil, err
			}
		}
	}
	return b.build("inline"), nil
}

// LoadRanges reads provider range files; each file's format is recognised
// from its content.
func LoadRanges(paths ...string) (*Ranges, error) {
	var b builder
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if err := b.parse(data); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return b.build(paths...), nil
}

type builder struct {
	spans []span
	n     int
}

func (b *builder) add(provider, cidr string) error {
	p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
	if err != nil {
		return err
	}
	p = p.Masked()
	b.spans = append(b.spans, span{lo: p.Addr(), hi: lastAddr(p), provider: provider})
	b.n++
	return nil
}

// parse reads AWS ip-ranges.json, Google's cloud.json or goog.json, or an
// Azure Service Tags file.
func (b *builder) parse(data []byte) error {
	var doc struct {
		Prefixes []struct {
			AWS4 string `json:"ip_prefix"`
			GCP4 string `json:"ipv4Prefix"`
			GCP6 string `json:"ipv6Prefix"`
		} `json:"prefixes"`
		IPv6 []struct {
			AWS6 string `json:"ipv6_prefix"`
		} `json:"ipv6_prefixes"`
		Values []struct {
			Properties struct {
				AddressPrefixes []string `json:"addressPrefixes"`
			} `json:"properties"`
		} `json:"values"`
		ChangeNumber *int `json:"changeNumber"`
	}
	if err := json.Unmarshal(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), &doc); err != nil {
		return fmt.Errorf("not a provider range file: %w", err)
	}
	before := b.n
	for _, p := range doc.Prefixes {
		var err error
		switch {
		case p.AWS4 != "":
			err = b.add("aws", p.AWS4)
		case p.GCP4 != "":
			err = b.add("gcp", p.GCP4)
		case p.GCP6 != "":
			err = b.add("gcp", p.GCP6)
		}
		if err != nil {
			return err
		}
	}
	for _, p := range doc.IPv6 {
		if err := b.add("aws", p.AWS6); err != nil {
			return err
		}
	}
	for _, v := range doc.Values {
		for _, s := range v.Properties.AddressPrefixes {
			if err := b.add("azure", s); err != nil {
				return err
			}
		}
	}
	if b.n == before {
		return errors.New("no prefixes: want AWS ip-ranges.json, Google Cloud cloud.json or Azure Service Tags")
	}
	return nil
}

func (b *builder) build(sources ...string) *Ranges {
	s := b.spans
	sort.Slice(s, func(i, j int) bool {
		if c := s[i].lo.Compare(s[j].lo); c != 0 {
			return c < 0
		}
		return s[i].hi.Compare(s[j].hi) > 0
	})
	var out []span
	for _, sp := range s {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if sp.lo.Compare(last.hi) <= 0 || last.hi.Next() == sp.lo && last.provider == sp.provider {
				// Inside or adjoining the previous span: a provider's own
				// overlaps merge; another provider's overlap keeps the
				// first claim.
				if sp.provider == last.provider && sp.hi.Compare(last.hi) > 0 {
					last.hi = sp.hi
				} else if sp.provider != last.provider && sp.hi.Compare(last.hi) > 0 {
					out = append(out, span{lo: last.hi.Next(), hi: sp.hi, provider: sp.provider})
				}
				continue
			}
		}
		out = append(out, sp)
	}
	return &Ranges{spans: slices.Clip(out), prefixes: b.n, sources: sources}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		keep := max(0, min(8, bits-8*i))
		b[i] |= byte(0xff >> keep)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// Prefixes is how many prefixes were loaded.
func (r *Ranges) Prefixes() int { return r.prefixes }

// Provider returns the provider whose ranges hold a (aws, gcp, azure), or
// NoProvider.
func (r *Ranges) Provider(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	a = a.Unmap()
	// The first span that ends at or after a.
	i := sort.Search(len(r.spans), func(i int) bool { return r.spans[i].hi.Compare(a) >= 0 })
	if i < len(r.spans) && r.spans[i].lo.Compare(a) <= 0 {
		return r.spans[i].provider
	}
	return NoProvider
}

// Enrich sets the provider of the source and destination addresses of ev.
// Private and special addresses are left alone: they belong to no one's
// published ranges, and saying "none" of them would call a VPC endpoint
// outside the cloud.
func (r *Ranges) Enrich(ev *event.Event) {
	if r == nil {
		return
	}
	for _, e := range []*event.Endpoint{&ev.Src, &ev.Dst} {
		if ip := e.IP; ip.IsValid() && public(ip) {
			e.Provider = r.Provider(ip)
		}
	}
}

func public(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !cgnat.Contains(ip)
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")
