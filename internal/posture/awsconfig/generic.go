package awsconfig

import (
	"github.com/parapet-sec/parapet/internal/posture/mapping"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// generic makes the resource for an item of a type content/resources
// describes (and Model's hand-written cases do not), or returns nil;
// extend then sets its attributes.
func generic(it map[string]any, mk func(string) *resource.Resource) *resource.Resource {
	set, _ := mapping.Default()
	t := set.Config(str(it["resourceType"]))
	if t == nil {
		return nil
	}
	return mk(t.Type)
}

// extend sets the attributes content/resources declares for the item's
// type on r, when r is of that model type: every attribute of a type
// only content/resources maps, and the added attributes of one Model's
// hand-written cases map (a KMS key's policy). Paths start at the item:
// configuration.x or supplementaryConfiguration.y.
func extend(it map[string]any, r *resource.Resource) {
	set, _ := mapping.Default()
	if t := set.Config(str(it["resourceType"])); t != nil && t.Type == r.Type {
		setAttrs(it, r, t)
	}
}

func setAttrs(it map[string]any, r *resource.Resource, t *mapping.Type) {
	for _, k := range t.Keys {
		s := t.Attrs[k].Source(mapping.Config)
		if s == nil {
			r.Set(k, resource.Unknown, r.Location)
			continue
		}
		r.Set(k, s.Eval(it), r.Location)
	}
}
