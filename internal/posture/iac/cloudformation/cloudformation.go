// Package cloudformation reads CloudFormation templates (YAML with the
// short intrinsic forms, or JSON) into the resource model: Parameters take
// their defaults, Conditions are evaluated where static, and Ref, Sub,
// GetAtt, If, Join, Select, FindInMap and the condition functions are
// resolved as far as they are known without a stack.
package cloudformation

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// IsTemplate reports whether data looks like a CloudFormation template.
func IsTemplate(data []byte) bool {
	s := string(data)
	return strings.Contains(s, "AWSTemplateFormatVersion") || (strings.Contains(s, "Resources") && strings.Contains(s, "AWS::"))
}

type template struct {
	file       string
	params     map[string]any
	conditions map[string]*yaml.Node
	condVals   map[string]any
	mappings   map[string]any
	resources  map[string]*yaml.Node // logical id → resource node
	order      []string
}

// Load reads one template. base makes the file name relative in
// locations.
func Load(path, base string) ([]*resource.Resource, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rel := path
	if base != "" {
		if r, err := filepath.Rel(base, path); err == nil {
			rel = r
		}
	}
	ignores := ignoreComments(string(data))
	// A file may hold several templates as YAML documents ("---"): each
	// is read on its own, with its lines counted from the file's start.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []*resource.Resource
	templates := 0
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		templates++
		out = append(out, loadDocument(doc.Content[0], rel, ignores)...)
	}
	if templates == 0 {
		return nil, fmt.Errorf("%s: not a template", path)
	}
	return out, nil
}

func loadDocument(root *yaml.Node, rel string, ignores map[int][2]string) []*resource.Resource {
	t := &template{file: rel, params: map[string]any{}, conditions: map[string]*yaml.Node{}, condVals: map[string]any{}, resources: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i].Value, root.Content[i+1]
		switch k {
		case "Parameters":
			for j := 0; j+1 < len(v.Content); j += 2 {
				name, p := v.Content[j].Value, v.Content[j+1]
				t.params[name] = resource.Unknown
				for x := 0; x+1 < len(p.Content); x += 2 {
					if p.Content[x].Value == "Default" {
						t.params[name] = scalar(p.Content[x+1])
					}
				}
			}
		case "Conditions":
			for j := 0; j+1 < len(v.Content); j += 2 {
				t.conditions[v.Content[j].Value] = v.Content[j+1]
			}
		case "Mappings":
			t.mappings, _ = t.eval(v).(map[string]any)
		case "Resources":
			for j := 0; j+1 < len(v.Content); j += 2 {
				id := v.Content[j].Value
				t.resources[id] = v.Content[j+1]
				t.order = append(t.order, id)
			}
		}
	}
	t.params["AWS::Region"], t.params["AWS::AccountId"], t.params["AWS::StackName"] = resource.Unknown, resource.Unknown, resource.Unknown
	t.params["AWS::Partition"], t.params["AWS::URLSuffix"], t.params["AWS::NoValue"] = "aws", "amazonaws.com", nil
	return t.model(ignores)
}

var ignoreRe = regexp.MustCompile(`parapet:ignore\s+(\S+)(?:\s+(.*))?`)

// ignoreComments maps a line to the parapet:ignore comments on it.
func ignoreComments(src string) map[int][2]string {
	out := map[int][2]string{}
	for i, l := range strings.Split(src, "\n") {
		if m := ignoreRe.FindStringSubmatch(l); m != nil {
			out[i+1] = [2]string{m[1], strings.TrimSpace(m[2])}
		}
	}
	return out
}

func scalar(n *yaml.Node) any {
	if n.Kind != yaml.ScalarNode {
		return resource.Unknown
	}
	switch n.Tag {
	case "!!int", "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err == nil {
			return f
		}
	case "!!bool":
		return strings.EqualFold(n.Value, "true")
	case "!!null":
		return nil
	}
	return n.Value
}

// eval resolves a node: maps, lists, scalars, and intrinsic functions in
// both their short (!Ref) and long ({"Ref": …}) forms.
func (t *template) eval(n *yaml.Node) any {
	if n == nil {
		return nil
	}
	if strings.HasPrefix(n.Tag, "!") && n.Tag != "!!str" && !strings.HasPrefix(n.Tag, "!!") {
		return t.intrinsic(strings.TrimPrefix(n.Tag, "!"), n)
	}
	switch n.Kind {
	case yaml.AliasNode:
		return t.eval(n.Alias)
	case yaml.ScalarNode:
		return scalar(n)
	case yaml.SequenceNode:
		out := []any{}
		for _, c := range n.Content {
			v := t.eval(c)
			if v == nil && isNoValue(c) {
				continue
			}
			out = append(out, v)
		}
		return out
	case yaml.MappingNode:
		if len(n.Content) == 2 {
			k := n.Content[0].Value
			if k == "Ref" || k == "Condition" && false || strings.HasPrefix(k, "Fn::") {
				return t.intrinsic(strings.TrimPrefix(k, "Fn::"), n.Content[1])
			}
		}
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			v := t.eval(n.Content[i+1])
			if v == nil && isNoValue(n.Content[i+1]) {
				continue
			}
			out[n.Content[i].Value] = v
		}
		return out
	}
	return nil
}

func isNoValue(n *yaml.Node) bool {
	return n.Tag == "!Ref" && n.Value == "AWS::NoValue" || n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Ref" && n.Content[1].Value == "AWS::NoValue"
}

var subRe = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

func (t *template) intrinsic(fn string, arg *yaml.Node) any {
	args := func() []any {
		if l, ok := t.eval(&yaml.Node{Kind: arg.Kind, Tag: "", Content: arg.Content, Value: arg.Value}).([]any); ok {
			return l
		}
		return nil
	}
	switch fn {
	case "Ref":
		name := arg.Value
		if v, ok := t.params[name]; ok {
			return v
		}
		if _, ok := t.resources[name]; ok {
			return "ref:" + name // a resource: its logical id, for joins
		}
		return resource.Unknown
	case "Sub":
		var s string
		vars := map[string]any{}
		switch arg.Kind {
		case yaml.ScalarNode:
			s = arg.Value
		case yaml.SequenceNode:
			if len(arg.Content) > 0 {
				s = arg.Content[0].Value
			}
			if len(arg.Content) > 1 {
				vars, _ = t.eval(arg.Content[1]).(map[string]any)
			}
		}
		unknown := false
		out := subRe.ReplaceAllStringFunc(s, func(m string) string {
			name := m[2 : len(m)-1]
			if v, ok := vars[name]; ok {
				if sv, ok := v.(string); ok && sv != resource.Unknown {
					return sv
				}
			}
			if v, ok := t.params[name]; ok {
				if sv, ok := v.(string); ok && sv != resource.Unknown {
					return sv
				}
				if f, ok := v.(float64); ok {
					return strconv.FormatFloat(f, 'f', -1, 64)
				}
			}
			unknown = true
			return m
		})
		if unknown {
			return resource.Unknown
		}
		return out
	case "GetAtt", "ImportValue", "GetAZs", "Cidr", "Base64", "Transform":
		if fn == "GetAtt" {
			id := arg.Value
			if arg.Kind == yaml.SequenceNode && len(arg.Content) > 0 {
				id = arg.Content[0].Value
			}
			if i := strings.IndexByte(id, '.'); i >= 0 {
				id = id[:i]
			}
			return "getatt:" + id
		}
		return resource.Unknown
	case "Join":
		a := args()
		if len(a) != 2 {
			return resource.Unknown
		}
		sep, _ := a[0].(string)
		parts, _ := a[1].([]any)
		var ss []string
		for _, p := range parts {
			s, ok := p.(string)
			if !ok || s == resource.Unknown {
				return resource.Unknown
			}
			ss = append(ss, s)
		}
		return strings.Join(ss, sep)
	case "Select":
		a := args()
		if len(a) != 2 {
			return resource.Unknown
		}
		i, ok1 := a[0].(float64)
		if s, ok := a[0].(string); ok {
			f, err := strconv.ParseFloat(s, 64)
			i, ok1 = f, err == nil
		}
		l, ok2 := a[1].([]any)
		if !ok1 || !ok2 || int(i) >= len(l) {
			return resource.Unknown
		}
		return l[int(i)]
	case "FindInMap":
		a := args()
		if len(a) != 3 {
			return resource.Unknown
		}
		m1, _ := t.mappings[fmt.Sprint(a[0])].(map[string]any)
		m2, _ := m1[fmt.Sprint(a[1])].(map[string]any)
		if v, ok := m2[fmt.Sprint(a[2])]; ok {
			return v
		}
		return resource.Unknown
	case "If":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
			return resource.Unknown
		}
		switch t.condition(arg.Content[0].Value) {
		case true:
			return t.eval(arg.Content[1])
		case false:
			return t.eval(arg.Content[2])
		}
		return resource.Unknown
	case "Equals":
		a := args()
		if len(a) != 2 || a[0] == resource.Unknown || a[1] == resource.Unknown {
			return resource.Unknown
		}
		return fmt.Sprint(a[0]) == fmt.Sprint(a[1])
	case "Not":
		a := args()
		if len(a) == 1 {
			if b, ok := t.truth(a[0], arg.Content[0]); ok {
				return !b
			}
		}
		return resource.Unknown
	case "And", "Or":
		all, any_ := true, false
		for i, v := range args() {
			b, ok := t.truth(v, arg.Content[i])
			if !ok {
				return resource.Unknown
			}
			all, any_ = all && b, any_ || b
		}
		if fn == "And" {
			return all
		}
		return any_
	case "Condition":
		return t.condition(arg.Value)
	}
	return resource.Unknown
}

func (t *template) truth(v any, n *yaml.Node) (bool, bool) {
	if b, ok := v.(bool); ok {
		return b, true
	}
	if n != nil && n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Condition" {
		b, ok := t.condition(n.Content[1].Value).(bool)
		return b, ok
	}
	return false, false
}

func (t *template) condition(name string) any {
	if v, ok := t.condVals[name]; ok {
		return v
	}
	t.condVals[name] = resource.Unknown // cycles stay unknown
	v := t.eval(t.conditions[name])
	t.condVals[name] = v
	return v
}

func (t *template) origin(n *yaml.Node) resource.Origin {
	return resource.Origin{File: t.file, StartLine: n.Line, EndLine: n.Line, Column: n.Column}
}

// properties returns a resource's evaluated properties, with the origin of
// each, and its Condition's value.
func (t *template) properties(n *yaml.Node) (map[string]any, map[string]resource.Origin, any) {
	props := map[string]any{}
	origins := map[string]resource.Origin{}
	var cond any = true
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "Properties":
			p := n.Content[i+1]
			for j := 0; j+1 < len(p.Content); j += 2 {
				k := p.Content[j].Value
				props[k] = t.eval(p.Content[j+1])
				origins[k] = t.origin(p.Content[j])
			}
		case "Condition":
			cond = t.condition(n.Content[i+1].Value)
		}
	}
	return props, origins, cond
}

func typeOf(n *yaml.Node) string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "Type" {
			return n.Content[i+1].Value
		}
	}
	return ""
}

// resourceEnd is the last line of a resource's node.
func resourceEnd(n *yaml.Node) int {
	end := n.Line
	for _, c := range n.Content {
		end = max(end, resourceEnd(c))
	}
	return end
}

func sortedIDs(m map[string]*yaml.Node) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
