package enrich

import (
	"net/netip"
	"slices"
)

// Keys lists the indicators' values (kind:value), sorted: what serve
// remembers to tell new indicators from known ones.
func (in *Intel) Keys() []string {
	if in == nil {
		return nil
	}
	out := make([]string, 0, in.Len())
	for a := range in.ips {
		out = append(out, "ip:"+a.String())
	}
	for _, m := range in.nets {
		for p := range m {
			out = append(out, "cidr:"+p.String())
		}
	}
	for d := range in.domains {
		out = append(out, "domain:"+d)
	}
	slices.Sort(out)
	return out
}

// Without is the set of in's indicators whose key (Keys) known does not
// hold: the new ones, to run over history.
func (in *Intel) Without(known map[string]bool) *Intel {
	out := NewIntel()
	if in == nil {
		return out
	}
	for a, ind := range in.ips {
		if !known["ip:"+a.String()] {
			out.ips[a] = ind
		}
	}
	for l, m := range in.nets {
		for p, ind := range m {
			if known["cidr:"+p.String()] {
				continue
			}
			if out.nets[l] == nil {
				out.nets[l] = map[netip.Prefix]*Indicator{}
				out.lens = append(out.lens, l)
			}
			out.nets[l][p] = ind
		}
	}
	slices.SortFunc(out.lens, func(a, b int) int { return b - a })
	for d, ind := range in.domains {
		if !known["domain:"+d] {
			out.domains[d] = ind
		}
	}
	return out
}
