package cloudformation

import (
	"strings"

	"github.com/parapet-sec/parapet/internal/posture/mapping"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// generic makes the resource for a type that content/resources describes
// (and model's hand-written cases do not), false when none does; extend
// then sets its attributes.
func generic(typ string, props map[string]any, at func(string) resource.Origin, add func(string, string) *resource.Resource) bool {
	set, _ := mapping.Default()
	mt := set.CloudFormation(typ)
	if mt == nil {
		return false
	}
	name := ""
	if s := mt.Name.Source(mapping.CloudFormation); s != nil {
		name, _ = s.Eval(props).(string)
	}
	add(mt.Type, name)
	return true
}

// extend sets the attributes content/resources declares for typ on the
// resources made from it: every attribute of a type only
// content/resources maps, and the added attributes of one model's
// hand-written cases map (a KMS key's policy).
func extend(typ string, props map[string]any, at func(string) resource.Origin, made []*resource.Resource) {
	set, _ := mapping.Default()
	mt := set.CloudFormation(typ)
	if mt == nil {
		return
	}
	for _, r := range made {
		if r.Type == mt.Type {
			genericAttrs(r, props, at, mt.Attrs, mt.Keys)
		}
	}
}

// genericJoin sets attributes of the resources a join type names by Ref
// or GetAtt (a queue policy's Queues).
func genericJoin(typ string, props map[string]any, at func(string) resource.Origin, byID map[string]*resource.Resource) {
	set, _ := mapping.Default()
	for _, j := range set.CloudFormationJoins(typ) {
		if j.By.CloudFormation == nil || !j.Applies(mapping.CloudFormation, props) {
			continue
		}
		by, _ := mapping.Lookup(props, j.By.CloudFormation.Path)
		for _, ref := range append(l(by), by) {
			if r := byID[refID(ref)]; r != nil && r.Type == j.Target {
				genericAttrs(r, props, at, j.Attrs, j.Keys)
			}
		}
	}
}

func genericAttrs(r *resource.Resource, props map[string]any, at func(string) resource.Origin, attrs map[string]*mapping.Attr, keys []string) {
	for _, k := range keys {
		s := attrs[k].Source(mapping.CloudFormation)
		if s == nil {
			r.Set(k, resource.Unknown, at(""))
			continue
		}
		top, _, _ := strings.Cut(s.Where(), ".")
		r.Set(k, s.Eval(props), at(top))
	}
}
