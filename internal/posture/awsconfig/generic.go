package awsconfig

import (
	"github.com/parapet-sec/parapet/internal/posture/mapping"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// generic maps an item of a type content/resources describes (and Model's
// hand-written cases do not), or returns nil. Paths start at the item:
// configuration.x or supplementaryConfiguration.y.
func generic(it map[string]any, mk func(string) *resource.Resource) *resource.Resource {
	set, _ := mapping.Default()
	t := set.Config(str(it["resourceType"]))
	if t == nil {
		return nil
	}
	r := mk(t.Type)
	for _, k := range t.Keys {
		s := t.Attrs[k].Source(mapping.Config)
		if s == nil {
			r.Set(k, resource.Unknown, r.Location)
			continue
		}
		r.Set(k, s.Eval(it), r.Location)
	}
	return r
}
