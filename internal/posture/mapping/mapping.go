// Package mapping reads resource mappings as data: for a model type (named
// after its Terraform type), its CloudFormation and AWS Config types and,
// per attribute, the path it comes from in each form with a small
// transform where the forms differ. The Terraform, CloudFormation and
// Config mappers apply it to every type they do not map by hand, so that
// adding a service is adding a file under content/resources.
package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/iampolicy"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// File is one content/resources/<service>.yaml.
type File struct {
	Types []*Type `yaml:"types"`
	Joins []*Join `yaml:"joins"`
}

// Type maps one model type.
type Type struct {
	Type           string `yaml:"type"`           // the model type: the Terraform resource type
	CloudFormation string `yaml:"cloudformation"` // AWS::Service::Thing, or ""
	Config         string `yaml:"config"`         // the AWS Config resource type, or ""
	// Other types of the same shape mapped to this one
	// (aws_elasticsearch_domain, AWS::Elasticsearch::Domain).
	TerraformAliases      []string         `yaml:"terraform_aliases"`
	CloudFormationAliases []string         `yaml:"cloudformation_aliases"`
	ConfigAliases         []string         `yaml:"config_aliases"` // AWS::WAFRegional::WebACL
	Name                  Attr             `yaml:"name"`           // where the logical name comes from
	Attrs                 map[string]*Attr `yaml:"attrs"`
	Keys                  []string         `yaml:"-"` // attribute names, sorted
}

// Join sets attributes of a mapped resource from a separate resource that
// names it (a queue policy, a topic policy): Terraform by reference or
// CloudFormation by Ref/GetAtt.
type Join struct {
	Terraform      string `yaml:"terraform"`
	CloudFormation string `yaml:"cloudformation"`
	Target         string `yaml:"target"` // the model type joined to
	By             Attr   `yaml:"by"`     // the attribute naming the target (a list of refs in CloudFormation is fine)
	// When, if set for a form, applies the join only where it is true
	// (one of several aws_guardduty_detector_feature resources).
	When  *Attr            `yaml:"when"`
	Attrs map[string]*Attr `yaml:"attrs"`
	Keys  []string         `yaml:"-"`
}

// Attr says where one attribute comes from in each form. A form without
// a source leaves the attribute unknown (the form cannot say).
type Attr struct {
	Terraform      *Source `yaml:"terraform"`
	CloudFormation *Source `yaml:"cloudformation"`
	Config         *Source `yaml:"config"`
	Transform      string  `yaml:"transform"` // default transform for every form
	Value          any     `yaml:"value"`     // for equals, any_equals
	Values         []any   `yaml:"values"`    // for in
	Default        any     `yaml:"default"`   // the raw value when the path is absent
	Combine        string  `yaml:"combine"`   // for each: any or all
}

// Source is a path in one form (a.b.c; lists are walked element by
// element; "a|b" takes the first that is present) with optional per-form
// transform and default. Const sets a fixed value instead of reading
// one. Key reads a Key/Value list (CloudFormation's
// LoadBalancerAttributes): the Value whose Key is Key. Each applies Path
// and the transform to every element of the list at Each and combines
// the answers with Combine (any or all): an unknown element makes the
// answer unknown unless another settles it. Match limits Each to the
// elements whose fields equal the given values (case-insensitively): the
// log option of one type.
type Source struct {
	Path       string         `yaml:"path"`
	Key        string         `yaml:"key"`
	KeyField   string         `yaml:"key_field"`   // the field Key is matched against: Key unless set (Name)
	ValueField string         `yaml:"value_field"` // the field read: Value unless set (Status)
	Each       string         `yaml:"each"`
	Match      map[string]any `yaml:"match"`
	Combine    string         `yaml:"combine"`
	Transform  string         `yaml:"transform"`
	Value      any            `yaml:"value"`
	Values     []any          `yaml:"values"`
	Default    any            `yaml:"default"`
	Const      any            `yaml:"const"`
	HasConst   bool           `yaml:"-"`
	HasDef     bool           `yaml:"-"`
}

// UnmarshalYAML takes a bare string as a path.
func (s *Source) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		s.Path = n.Value
		return nil
	}
	type plain Source
	if err := n.Decode((*plain)(s)); err != nil {
		return err
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "const":
			s.HasConst = true
		case "default":
			s.HasDef = true
		}
	}
	return nil
}

var transforms = map[string]bool{"": true, "value": true, "present": true, "absent": true, "equals": true, "any_equals": true, "not_equals": true, "in": true, "not_in": true,
	"count": true, "any_internet": true, "policy_public": true, "lower": true, "json": true, "list": true, "policy_document": true}

// Set is every mapping, indexed by each form's type name.
type Set struct {
	byTF, byCFN, byConfig map[string]*Type
	joinTF, joinCFN       map[string][]*Join
}

// Load reads every *.yaml under root.
func Load(fsys fs.FS, root string) (*Set, error) {
	s := &Set{byTF: map[string]*Type{}, byCFN: map[string]*Type{}, byConfig: map[string]*Type{}, joinTF: map[string][]*Join{}, joinCFN: map[string][]*Join{}}
	var errs []error
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".yaml" {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		var f File
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			return nil
		}
		for _, t := range f.Types {
			if !strings.HasPrefix(t.Type, "aws_") {
				errs = append(errs, fmt.Errorf("%s: type %q is no Terraform-named model type", p, t.Type))
				continue
			}
			if s.byTF[t.Type] != nil {
				errs = append(errs, fmt.Errorf("%s: type %s mapped twice", p, t.Type))
			}
			t.Keys = keys(t.Attrs)
			if err := validate(p, t.Type, t.Attrs); err != nil {
				errs = append(errs, err)
			}
			s.byTF[t.Type] = t
			for _, a := range t.TerraformAliases {
				s.byTF[a] = t
			}
			for _, a := range append([]string{t.CloudFormation}, t.CloudFormationAliases...) {
				if a != "" {
					s.byCFN[a] = t
				}
			}
			for _, a := range append([]string{t.Config}, t.ConfigAliases...) {
				if a != "" {
					s.byConfig[a] = t
				}
			}
		}
		for _, j := range f.Joins {
			j.Keys = keys(j.Attrs)
			if err := validate(p, j.Target, j.Attrs); err != nil {
				errs = append(errs, err)
			}
			if j.When != nil {
				if err := validate(p, j.Target, map[string]*Attr{"when": j.When}); err != nil {
					errs = append(errs, err)
				}
			}
			if j.Terraform != "" {
				s.joinTF[j.Terraform] = append(s.joinTF[j.Terraform], j)
			}
			if j.CloudFormation != "" {
				s.joinCFN[j.CloudFormation] = append(s.joinCFN[j.CloudFormation], j)
			}
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("resource mappings: %w", joinErrs(errs))
	}
	return s, nil
}

func joinErrs(errs []error) error {
	var b strings.Builder
	for i, e := range errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return fmt.Errorf("%s", b.String())
}

func keys(m map[string]*Attr) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func validate(file, typ string, attrs map[string]*Attr) error {
	for k, a := range attrs {
		for _, t := range []string{a.Transform, tr(a.Terraform), tr(a.CloudFormation), tr(a.Config)} {
			if !transforms[t] {
				return fmt.Errorf("%s: %s.%s: unknown transform %q", file, typ, k, t)
			}
		}
	}
	return nil
}

func tr(s *Source) string {
	if s == nil {
		return ""
	}
	return s.Transform
}

var (
	defOnce sync.Once
	def     *Set
	defErr  error
)

// Default is the mapping embedded in the binary (content/resources),
// read once. The content is tested (TestDefault), so an error here is a
// build mistake; the mappers then map no generic type.
func Default() (*Set, error) {
	defOnce.Do(func() { def, defErr = Load(content.FS, "resources") })
	return def, defErr
}

// Terraform is the mapping of a Terraform resource type, or nil.
func (s *Set) Terraform(t string) *Type {
	if s == nil {
		return nil
	}
	return s.byTF[t]
}

// CloudFormation is the mapping of a CloudFormation type, or nil.
func (s *Set) CloudFormation(t string) *Type {
	if s == nil {
		return nil
	}
	return s.byCFN[t]
}

// Config is the mapping of an AWS Config resource type, or nil.
func (s *Set) Config(t string) *Type {
	if s == nil {
		return nil
	}
	return s.byConfig[t]
}

// ConfigTypes are the AWS Config resource types mapped, sorted.
func (s *Set) ConfigTypes() []string {
	if s == nil {
		return nil
	}
	out := make([]string, 0, len(s.byConfig))
	for t := range s.byConfig {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// TerraformJoins are the joins a Terraform resource type makes (one per
// type it may name).
func (s *Set) TerraformJoins(t string) []*Join {
	if s == nil {
		return nil
	}
	return s.joinTF[t]
}

// CloudFormationJoins are the joins a CloudFormation type makes.
func (s *Set) CloudFormationJoins(t string) []*Join {
	if s == nil {
		return nil
	}
	return s.joinCFN[t]
}

// Form names an input form.
type Form int

// The forms.
const (
	Terraform Form = iota
	CloudFormation
	Config
)

// Source is the attribute's source in a form, with the attribute's
// transform, value and default filled in where the form does not say.
func (a *Attr) Source(f Form) *Source {
	var s *Source
	switch f {
	case Terraform:
		s = a.Terraform
	case CloudFormation:
		s = a.CloudFormation
	case Config:
		s = a.Config
	}
	if s == nil {
		return nil
	}
	out := *s
	if out.Transform == "" {
		out.Transform = a.Transform
	}
	if out.Value == nil {
		out.Value = a.Value
	}
	if out.Values == nil {
		out.Values = a.Values
	}
	if out.Combine == "" {
		out.Combine = a.Combine
	}
	if !out.HasDef && a.Default != nil {
		out.Default, out.HasDef = a.Default, true
	}
	return &out
}

// Eval reads the source from doc and applies its transform: the
// attribute's value, resource.Unknown when the form holds a value not
// known statically.
func (s *Source) Eval(doc map[string]any) any {
	if s.HasConst {
		return normNum(s.Const)
	}
	if s.Each == "" {
		return s.one(doc)
	}
	all, found := Lookup(doc, s.Each)
	if !found {
		return s.Combine == "all" // nothing to answer for
	}
	if isUnknown(all) {
		return resource.Unknown
	}
	elems, ok := decode(all).([]any)
	if !ok {
		elems = []any{decode(all)}
	}
	unknown := false
	for _, e := range elems {
		switch s.matches(e) {
		case false:
			continue
		case resource.Unknown:
			unknown = true
			continue
		}
		v := s.one(e)
		switch {
		case v == resource.Unknown:
			unknown = true
		case s.Combine == "all" && v != true:
			return false
		case s.Combine != "all" && v == true:
			return true
		}
	}
	if unknown {
		return resource.Unknown
	}
	return s.Combine == "all"
}

// matches says whether an element Each walks has the fields Match asks
// for: true, false, or resource.Unknown when a field is not known
// statically.
func (s *Source) matches(e any) any {
	for k, want := range s.Match {
		got, found := Lookup(e, k)
		switch {
		case !found:
			return false
		case isUnknown(got):
			return resource.Unknown
		case !eq(got, normNum(want)):
			return false
		}
	}
	return true
}

func (s *Source) one(doc any) any {
	var raw any
	found := false
	for _, p := range strings.Split(s.Path, "|") {
		if raw, found = Lookup(doc, p); found {
			break
		}
	}
	if found && s.Key != "" {
		raw, found = keyValue(raw, s.Key, s.KeyField, s.ValueField)
	}
	if !found && s.HasDef {
		raw, found = normNum(s.Default), true
	}
	return apply(s, raw, found)
}

// keyValue reads [{Key: k, Value: v}, …], or other fields of the same
// shape ([{Name: n, Status: s}, …]).
func keyValue(v any, key, keyField, valueField string) (any, bool) {
	if keyField == "" {
		keyField = "Key"
	}
	if valueField == "" {
		valueField = "Value"
	}
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	for _, e := range l {
		m, _ := e.(map[string]any)
		if k, _ := m[keyField].(string); k == key {
			return m[valueField], m[valueField] != nil
		}
	}
	return nil, false
}

// Applies says whether the join applies to a resource of the form: its
// When is true, or it has none for the form.
func (j *Join) Applies(f Form, doc map[string]any) bool {
	if j.When == nil {
		return true
	}
	s := j.When.Source(f)
	return s == nil || s.Eval(doc) == true
}

// Lookup walks a dotted path: through maps, and over every element of a
// list (Terraform's nested blocks are lists). A path that crossed lists
// gives the list of what it found, or the one value when there is one.
// JSON held in strings (AWS Config) is decoded on the way.
func Lookup(doc any, p string) (any, bool) {
	if p == "" {
		return doc, doc != nil
	}
	var out []any
	crossed := false
	var walk func(v any, segs []string)
	walk = func(v any, segs []string) {
		if len(segs) == 0 {
			if v != nil {
				out = append(out, v)
			}
			return
		}
		v = decode(v)
		switch x := v.(type) {
		case map[string]any:
			walk(x[segs[0]], segs[1:])
		case []any:
			crossed = true
			for _, e := range x {
				walk(e, segs)
			}
		case string:
			if x == resource.Unknown {
				out = append(out, resource.Unknown)
			}
		}
	}
	walk(doc, strings.Split(p, "."))
	switch {
	case len(out) == 0:
		return nil, false
	case len(out) == 1:
		return out[0], true
	case !crossed:
		return out[0], true
	}
	return out, true
}

// decode turns JSON held in a string into its value.
func decode(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "{") && !strings.HasPrefix(t, "[") {
		return v
	}
	var x any
	if json.Unmarshal([]byte(t), &x) != nil {
		return v
	}
	return x
}

func isUnknown(v any) bool {
	switch x := v.(type) {
	case string:
		return x == resource.Unknown
	case []any:
		for _, e := range x {
			if isUnknown(e) {
				return true
			}
		}
	}
	return false
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		for _, e := range x {
			if !empty(e) {
				return false
			}
		}
		return true
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func eq(a, b any) bool {
	if as, ok := a.(string); ok {
		if bs, ok := b.(string); ok {
			return strings.EqualFold(as, bs)
		}
		if bb, ok := b.(bool); ok {
			return strings.EqualFold(as, fmt.Sprint(bb))
		}
		if bf, ok := b.(float64); ok {
			return as == fmt.Sprint(bf)
		}
	}
	if af, ok := a.(float64); ok {
		if bi, ok := b.(int); ok {
			return af == float64(bi)
		}
	}
	return a == b
}

func flat(v any) []any {
	l, ok := v.([]any)
	if !ok {
		return []any{v}
	}
	var out []any
	for _, e := range l {
		out = append(out, flat(e)...)
	}
	return out
}

func apply(s *Source, raw any, found bool) any {
	switch s.Transform {
	case "present":
		// A value set to something computed (a key's ARN) is present.
		return found && !empty(raw)
	case "absent":
		return !found || empty(raw)
	}
	if !found {
		if s.Transform == "count" {
			return 0.0
		}
		switch s.Transform {
		case "any_internet", "policy_public", "in", "any_equals", "equals":
			return false
		case "not_in", "not_equals":
			return true
		case "list":
			return []any{}
		}
		return nil
	}
	if l, ok := raw.([]any); ok && s.Transform == "count" {
		return float64(len(l)) // a list of references has a known length
	}
	if isUnknown(raw) {
		return resource.Unknown
	}
	switch s.Transform {
	case "equals", "not_equals":
		all := true
		for _, e := range flat(raw) {
			all = all && eq(e, normNum(s.Value))
		}
		if s.Transform == "not_equals" {
			return !all
		}
		return all
	case "any_equals":
		for _, e := range flat(raw) {
			if eq(e, normNum(s.Value)) {
				return true
			}
		}
		return false
	case "in", "not_in":
		in := false
		for _, e := range flat(raw) {
			for _, w := range s.Values {
				in = in || eq(e, normNum(w))
			}
		}
		return in == (s.Transform == "in")
	case "count":
		switch x := raw.(type) {
		case []any:
			return float64(len(x))
		case map[string]any:
			return float64(len(x))
		}
		return 1.0
	case "any_internet":
		for _, e := range flat(raw) {
			if Internet(e) {
				return true
			}
		}
		return false
	case "policy_public":
		return policyPublic(raw)
	case "policy_document":
		return resource.PolicyJSON(raw)
	case "lower":
		if str, ok := raw.(string); ok {
			return strings.ToLower(str)
		}
	case "json":
		return decode(raw)
	case "list":
		out := []any{}
		for _, e := range flat(raw) {
			out = append(out, normNum(e))
		}
		return out
	}
	return normNum(raw)
}

// normNum makes YAML's ints float64, as every form's numbers are.
func normNum(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return v
}

// Internet says whether v is a CIDR with a /0 prefix: the whole internet,
// however the address part is written.
func Internet(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	return err == nil && p.Bits() == 0
}

// policyPublic asks the IAM policy evaluator whether a resource policy
// grants to everyone (a wildcard principal no condition pins down).
func policyPublic(v any) any {
	var data []byte
	switch x := decode(v).(type) {
	case map[string]any:
		data, _ = json.Marshal(x)
	case string:
		return resource.Unknown // not JSON: not known statically
	default:
		return false
	}
	p, err := iampolicy.Parse(data)
	if err != nil {
		return resource.Unknown
	}
	return p.Public()
}

// Where is the path a result about this attribute should point at: the
// list Each walks, else the first of Path's alternatives.
func (s *Source) Where() string {
	if s.Each != "" {
		return s.Each
	}
	p, _, _ := strings.Cut(s.Path, "|")
	return p
}
