package enrich

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/event"
)

// Indicator is one threat-intelligence indicator: an address, a network
// or a domain, with where it came from.
type Indicator struct {
	Value       string    `json:"value"` // 203.0.113.7, 198.51.100.0/24, evil.example
	Kind        string    `json:"kind"`  // ip, cidr, domain
	Source      string    `json:"source"`
	Name        string    `json:"name,omitempty"` // the STIX indicator's name, the list's label
	Description string    `json:"description,omitempty"`
	Labels      []string  `json:"labels,omitempty"`
	ValidUntil  time.Time `json:"valid_until,omitzero"`
}

// Intel matches addresses and domains against loaded indicators.
type Intel struct {
	ips     map[netip.Addr]*Indicator
	nets    map[int]map[netip.Prefix]*Indicator // by prefix length
	lens    []int                               // prefix lengths present, longest first
	domains map[string]*Indicator
	// Skipped counts indicators that could not be used (a STIX pattern
	// other than an address or domain comparison, a bad value), by file.
	Skipped map[string]int
	Loaded  map[string]int
}

// NewIntel is an empty set.
func NewIntel() *Intel {
	return &Intel{ips: map[netip.Addr]*Indicator{}, nets: map[int]map[netip.Prefix]*Indicator{}, domains: map[string]*Indicator{},
		Skipped: map[string]int{}, Loaded: map[string]int{}}
}

// Len is how many indicators are loaded.
func (in *Intel) Len() int {
	n := len(in.ips) + len(in.domains)
	for _, m := range in.nets {
		n += len(m)
	}
	return n
}

// LoadIntel reads indicator files: STIX 2.1 bundles (JSON with
// "type": "bundle"), CSV with an address column (Feodo Tracker style, #
// comments), or plain lists (one IP, CIDR or domain per line, # comments).
func LoadIntel(files ...string) (*Intel, error) {
	in := NewIntel()
	for _, f := range files {
		if err := in.LoadFile(f); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// LoadFile adds one file's indicators.
func (in *Intel) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	src := filepath.Base(path)
	trim := bytes.TrimSpace(data)
	switch {
	case len(trim) > 0 && trim[0] == '{':
		return in.loadSTIX(src, trim)
	case isCSV(data):
		return in.loadCSV(src, data)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if i := strings.IndexAny(s, "#;"); i >= 0 {
			s = strings.TrimSpace(s[:i])
		}
		if s == "" {
			continue
		}
		if f := strings.Fields(s); len(f) > 0 {
			s = f[0]
		}
		if !in.add(&Indicator{Value: s, Source: src}) {
			in.Skipped[src]++
		}
	}
	return sc.Err()
}

func isCSV(data []byte) bool {
	for _, l := range bytes.Split(data, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) == 0 || l[0] == '#' {
			continue
		}
		return bytes.Count(l, []byte(",")) >= 2
	}
	return false
}

func (in *Intel) loadCSV(src string, data []byte) error {
	var lines [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			lines = append(lines, l)
		}
	}
	r := csv.NewReader(bytes.NewReader(bytes.Join(lines, []byte("\n"))))
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	col, label := -1, -1
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case col < 0 && (h == "ip" || h == "dst_ip" || h == "ip_address" || h == "indicator" || h == "value" || strings.HasSuffix(h, "_ip")):
			col = i
		case h == "malware" || h == "threat" || h == "label":
			label = i
		}
	}
	if col < 0 {
		return fmt.Errorf("%s: a CSV needs an address column (ip, dst_ip, indicator, value)", src)
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		if col >= len(rec) {
			in.Skipped[src]++
			continue
		}
		ind := &Indicator{Value: strings.TrimSpace(rec[col]), Source: src}
		if label >= 0 && label < len(rec) && rec[label] != "" {
			ind.Name = rec[label]
			ind.Labels = []string{rec[label]}
		}
		if !in.add(ind) {
			in.Skipped[src]++
		}
	}
	return nil
}

// STIX patterns Parapet uses: comparisons of an address or domain, joined
// by OR (AND of different objects cannot be matched on one address).
var (
	stixCmp = regexp.MustCompile(`(ipv4-addr|ipv6-addr|domain-name):value\s*(=|ISSUBSET)\s*'((?:[^'\\]|\\.)*)'`)
	stixAny = regexp.MustCompile(`[a-z0-9-]+:[a-z0-9_.\[\]*'-]+\s*(=|!=|>|<|>=|<=|IN|LIKE|MATCHES|ISSUBSET|ISSUPERSET)`)
)

func (in *Intel) loadSTIX(src string, data []byte) error {
	var b struct {
		Type    string            `json:"type"`
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if b.Type != "bundle" {
		return fmt.Errorf("%s: not a STIX 2.1 bundle (type %q)", src, b.Type)
	}
	for _, raw := range b.Objects {
		var o struct {
			Type        string   `json:"type"`
			Name        string   `json:"name"`
			Description string   `json:"description"`
			Pattern     string   `json:"pattern"`
			PatternType string   `json:"pattern_type"`
			Types       []string `json:"indicator_types"`
			Labels      []string `json:"labels"`
			ValidUntil  string   `json:"valid_until"`
			Revoked     bool     `json:"revoked"`
		}
		if err := json.Unmarshal(raw, &o); err != nil || o.Type != "indicator" {
			continue
		}
		if o.Revoked || (o.PatternType != "" && o.PatternType != "stix") {
			in.Skipped[src]++
			continue
		}
		cmps := stixCmp.FindAllStringSubmatch(o.Pattern, -1)
		// Usable only when every comparison in it is an address or domain
		// comparison, joined by OR.
		if len(cmps) == 0 || len(stixAny.FindAllString(o.Pattern, -1)) != len(cmps) || strings.Contains(o.Pattern, " AND ") || strings.Contains(o.Pattern, "FOLLOWEDBY") {
			in.Skipped[src]++
			continue
		}
		var until time.Time
		if o.ValidUntil != "" {
			until, _ = time.Parse(time.RFC3339, o.ValidUntil)
		}
		for _, c := range cmps {
			ind := &Indicator{Value: strings.ReplaceAll(c[3], `\'`, `'`), Source: src, Name: o.Name, Description: o.Description,
				Labels: append(o.Types, o.Labels...), ValidUntil: until}
			if !in.add(ind) {
				in.Skipped[src]++
			}
		}
	}
	return nil
}

// add files an indicator; false when its value is none of IP, CIDR or
// domain.
func (in *Intel) add(ind *Indicator) bool {
	v := strings.Trim(ind.Value, `"' `)
	if a, err := netip.ParseAddr(v); err == nil {
		ind.Kind, ind.Value = "ip", a.Unmap().String()
		in.ips[a.Unmap()] = ind
		in.Loaded[ind.Source]++
		return true
	}
	if p, err := netip.ParsePrefix(v); err == nil {
		p = p.Masked()
		if p.Addr().Is4In6() {
			return false
		}
		ind.Kind, ind.Value = "cidr", p.String()
		if in.nets[p.Bits()] == nil {
			in.nets[p.Bits()] = map[netip.Prefix]*Indicator{}
			in.lens = append(in.lens, p.Bits())
			sort.Sort(sort.Reverse(sort.IntSlice(in.lens)))
		}
		in.nets[p.Bits()][p] = ind
		in.Loaded[ind.Source]++
		return true
	}
	d := strings.ToLower(strings.TrimSuffix(v, "."))
	if strings.Contains(d, ".") && !strings.ContainsAny(d, " /:@*") && len(d) < 254 {
		ind.Kind, ind.Value = "domain", d
		in.domains[d] = ind
		in.Loaded[ind.Source]++
		return true
	}
	return false
}

// MatchIP finds the indicator for an address: exact, else the longest
// network holding it.
func (in *Intel) MatchIP(a netip.Addr, at time.Time) *Indicator {
	if in == nil || !a.IsValid() {
		return nil
	}
	a = a.Unmap()
	if ind := in.ips[a]; ind != nil && live(ind, at) {
		return ind
	}
	for _, l := range in.lens {
		if l > a.BitLen() {
			continue
		}
		p, _ := a.Prefix(l)
		if ind := in.nets[l][p]; ind != nil && live(ind, at) {
			return ind
		}
	}
	return nil
}

// MatchDomain finds the indicator for a domain or one of its parents.
func (in *Intel) MatchDomain(d string, at time.Time) *Indicator {
	if in == nil || d == "" {
		return nil
	}
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	for {
		if ind := in.domains[d]; ind != nil && live(ind, at) {
			return ind
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return nil
		}
		d = d[i+1:]
	}
}

func live(ind *Indicator, at time.Time) bool {
	return ind.ValidUntil.IsZero() || at.IsZero() || at.Before(ind.ValidUntil)
}

// Match is an event's endpoint that an indicator names.
type Match struct {
	Endpoint  string // src or dst
	Value     string // the address or domain
	Indicator *Indicator
}

// Matches checks an event's source and destination (the actor's source
// address for API calls, both peers for flows).
func (in *Intel) Matches(ev *event.Event) []Match {
	if in == nil {
		return nil
	}
	var out []Match
	for _, ep := range []struct {
		name string
		e    *event.Endpoint
	}{{"src", &ev.Src}, {"dst", &ev.Dst}} {
		if ind := in.MatchIP(ep.e.IP, ev.Time); ind != nil {
			out = append(out, Match{Endpoint: ep.name, Value: ep.e.IP.String(), Indicator: ind})
		} else if ind := in.MatchDomain(ep.e.Domain, ev.Time); ind != nil {
			out = append(out, Match{Endpoint: ep.name, Value: ep.e.Domain, Indicator: ind})
		}
	}
	return out
}

// Domains is how many domain indicators are loaded (a set without any
// can be matched on addresses alone).
func (in *Intel) Domains() int {
	if in == nil {
		return 0
	}
	return len(in.domains)
}

// MayMatch reports whether either address, as text (a lake row's src_ip
// and dst_ip columns), is named by an indicator valid at at: a cheap test
// before an event is rebuilt. Domains are not considered.
func (in *Intel) MayMatch(src, dst string, at time.Time) bool {
	for _, s := range [2]string{src, dst} {
		if s == "" {
			continue
		}
		if a, err := netip.ParseAddr(s); err == nil && in.MatchIP(a, at) != nil {
			return true
		}
	}
	return false
}
