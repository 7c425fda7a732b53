package terraform

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// IsPlan says whether data looks like `terraform show -json` output of a
// plan.
func IsPlan(data []byte) bool {
	head := data[:min(len(data), 4096)]
	return bytes.Contains(head, []byte(`"format_version"`)) &&
		(bytes.Contains(data, []byte(`"planned_values"`)) || bytes.Contains(data, []byte(`"resource_changes"`)))
}

// LoadPlan maps a plan (`terraform show -json plan.out`) into the model:
// the planned values of every managed resource, in every module, with
// values known only after apply marked unknown and references taken from
// the plan's configuration, so that split resources (a bucket's public
// access block) join their bucket as they do from HCL. Locations point
// into the plan file at the resource's entry.
func LoadPlan(file, base string) ([]*resource.Resource, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var p tfjson.Plan
	if err := p.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if p.PlannedValues == nil || p.PlannedValues.RootModule == nil {
		return nil, fmt.Errorf("%s: a plan without planned_values (is it `terraform show -json` of a plan?)", file)
	}
	unknown := map[string]any{}
	for _, rc := range p.ResourceChanges {
		if rc.Change != nil {
			unknown[rc.Address] = rc.Change.AfterUnknown
		}
	}
	refs := map[string]map[string][]string{}   // module-prefixed config address → attribute → type.name
	configured := map[string]map[string]bool{} // … → attributes the configuration sets
	if p.Config != nil && p.Config.RootModule != nil {
		configRefs(p.Config.RootModule, "", refs, configured)
	}
	lines := lineIndex(data)
	var blocks []*Block
	var walk func(m *tfjson.StateModule)
	walk = func(m *tfjson.StateModule) {
		for _, r := range m.Resources {
			if r.Mode != tfjson.ManagedResourceMode {
				continue
			}
			module := ""
			if i := strings.LastIndex(r.Address, "."+r.Type+"."+r.Name); i >= 0 {
				module = r.Address[:i+1] // module.a["k"].module.b.
			}
			values := map[string]any{}
			for k, v := range r.AttributeValues {
				values[k] = v
			}
			cfgAddr := indexRe.ReplaceAllString(module, "") + r.Type + "." + r.Name
			markUnknownValues(values, unknown[r.Address])
			if r.Type == "aws_s3_bucket" {
				// Since provider v4 these are computed: "known after apply"
				// when the configuration leaves them to the split resources.
				for _, k := range legacyBucketAttrs {
					if values[k] == resource.Unknown && !configured[cfgAddr][k] {
						delete(values, k)
					}
				}
			}
			line := lines.find(r.Address)
			rng := hcl.Range{Filename: file, Start: hcl.Pos{Line: line, Column: 1}, End: hcl.Pos{Line: line, Column: 1}}
			blocks = append(blocks, &Block{Type: r.Type, Name: r.Name, Address: r.Address, Module: module, Values: values,
				Range: rng, AttrRanges: map[string]hcl.Range{}, Refs: refs[cfgAddr]})
		}
		for _, c := range m.ChildModules {
			walk(c)
		}
	}
	walk(p.PlannedValues.RootModule)
	res := Resources(blocks, base)
	for _, r := range res {
		r.Source = "terraform-plan"
	}
	return res, nil
}

// configRefs collects, per resource and attribute, the resources an
// expression references (aws_s3_bucket.b.id → aws_s3_bucket.b).
func configRefs(m *tfjson.ConfigModule, prefix string, out map[string]map[string][]string, configured map[string]map[string]bool) {
	for _, r := range m.Resources {
		attrs := map[string][]string{}
		set := map[string]bool{}
		for attr, e := range r.Expressions {
			set[attr] = true
			if e == nil {
				continue
			}
			for _, ref := range e.References {
				parts := strings.Split(ref, ".")
				if len(parts) < 2 || parts[0] == "var" || parts[0] == "local" || parts[0] == "data" || parts[0] == "module" || parts[0] == "each" || parts[0] == "count" {
					continue
				}
				t := parts[0] + "." + strings.SplitN(parts[1], "[", 2)[0]
				if !contains(attrs[attr], t) {
					attrs[attr] = append(attrs[attr], t)
				}
			}
		}
		out[prefix+r.Type+"."+r.Name] = attrs
		configured[prefix+r.Type+"."+r.Name] = set
	}
	for name, c := range m.ModuleCalls {
		if c != nil && c.Module != nil {
			configRefs(c.Module, prefix+"module."+name+".", out, configured)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// markUnknownValues sets resource.Unknown where after_unknown says a value
// is known only after apply (true), descending into blocks.
func markUnknownValues(values map[string]any, unknown any) {
	um, ok := unknown.(map[string]any)
	if !ok {
		return
	}
	for k, u := range um {
		switch x := u.(type) {
		case bool:
			if x {
				values[k] = resource.Unknown
			}
		case []any:
			list, ok := values[k].([]any)
			if !ok {
				continue
			}
			for i := range min(len(list), len(x)) {
				if b, ok := x[i].(bool); ok && b {
					list[i] = resource.Unknown
				} else if em, ok := list[i].(map[string]any); ok {
					markUnknownValues(em, x[i])
				}
			}
		case map[string]any:
			if em, ok := values[k].(map[string]any); ok {
				markUnknownValues(em, x)
			}
		}
	}
}

type lineIdx struct {
	data  []byte
	lines []int // offsets of line starts
}

func lineIndex(data []byte) *lineIdx {
	l := &lineIdx{data: data, lines: []int{0}}
	for i, c := range data {
		if c == '\n' {
			l.lines = append(l.lines, i+1)
		}
	}
	return l
}

// find gives the line of the first `"address": "addr"` in the plan (the
// planned_values entry comes first in Terraform's output), or 1.
func (l *lineIdx) find(addr string) int {
	re := regexp.MustCompile(`"address"\s*:\s*` + regexp.QuoteMeta(fmt.Sprintf("%q", addr)))
	loc := re.FindIndex(l.data)
	if loc == nil {
		return 1
	}
	lo, hi := 0, len(l.lines)
	for lo < hi {
		mid := (lo + hi) / 2
		if l.lines[mid] <= loc[0] {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

var indexRe = regexp.MustCompile(`\[[^\]]*\]`)

var legacyBucketAttrs = []string{"acl", "policy", "versioning", "server_side_encryption_configuration", "logging",
	"object_lock_configuration", "grant", "lifecycle_rule", "replication_configuration", "website", "cors_rule"}
