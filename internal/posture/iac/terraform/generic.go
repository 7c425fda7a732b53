package terraform

import (
	"strings"

	"github.com/parapet-sec/parapet/internal/posture/mapping"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// generic maps a resource type that content/resources describes (and
// this file's hand-written cases do not).
func (m *mapper) generic(b *Block) {
	set, _ := mapping.Default()
	t := set.Terraform(b.Type)
	if t == nil {
		return
	}
	name := ""
	if s := t.Name.Source(mapping.Terraform); s != nil {
		name, _ = s.Eval(b.Values).(string)
	}
	m.add(b, t.Type, name) // primary's extend sets the attributes
}

// extend sets the attributes content/resources declares for b's type on
// the resources made from b: every attribute of a type only
// content/resources maps, and the added attributes of one the Go mapper
// maps by hand (a KMS key's policy).
func (m *mapper) extend(b *Block, made []*resource.Resource) {
	set, _ := mapping.Default()
	t := set.Terraform(b.Type)
	if t == nil {
		return
	}
	for _, r := range made {
		if r.Type == t.Type {
			m.genericAttrs(r, b, t.Attrs, t.Keys)
		}
	}
}

// genericJoin sets attributes of the resource a join type names (a queue
// policy on its queue).
func (m *mapper) genericJoin(b *Block) {
	set, _ := mapping.Default()
	for _, j := range set.TerraformJoins(b.Type) {
		if j.By.Terraform == nil || !j.Applies(mapping.Terraform, b.Values) {
			continue
		}
		if r := m.target(b, j.By.Terraform.Path, j.Target); r != nil {
			m.genericAttrs(r, b, j.Attrs, j.Keys)
		}
	}
}

func (m *mapper) genericAttrs(r *resource.Resource, b *Block, attrs map[string]*mapping.Attr, keys []string) {
	for _, k := range keys {
		s := attrs[k].Source(mapping.Terraform)
		if s == nil {
			r.Set(k, resource.Unknown, m.blockOrigin(b))
			continue
		}
		r.Set(k, s.Eval(b.Values), m.pathOrigin(b, s.Where()))
	}
}

// pathOrigin is where the attribute at path was written: the attribute,
// else the first attribute of the nested block it names, else the block.
func (m *mapper) pathOrigin(b *Block, path string) resource.Origin {
	if path == "" {
		return m.blockOrigin(b)
	}
	if rg, ok := b.AttrRanges[path]; ok {
		return m.origin(rg)
	}
	var best string
	for k := range b.AttrRanges {
		if strings.HasPrefix(k, path+".") && (best == "" || b.AttrRanges[k].Start.Line < b.AttrRanges[best].Start.Line) {
			best = k
		}
	}
	if best != "" {
		return m.origin(b.AttrRanges[best])
	}
	return m.blockOrigin(b)
}
