package ocsf

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Schema is a compiled OCSF schema (every class and object with "extends",
// profiles and dictionary types resolved), as the OCSF compiler's compact
// output holds it. Load it from a file the user names; Parapet ships none.
type Schema struct {
	Version string
	classes map[int]*class
	objects map[string]*object
}

type attr struct {
	Type        string            `json:"type"`
	BaseType    string            `json:"base_type"`
	TypeKind    string            `json:"type_kind"`
	IsArray     bool              `json:"is_array"`
	Requirement string            `json:"requirement"`
	Profile     string            `json:"profile"`
	Enum        map[string]string `json:"enum"`
}

type constraints struct {
	AtLeastOne []string `json:"at_least_one"`
	JustOne    []string `json:"just_one"`
}

type object struct {
	Name        string           `json:"name"`
	Attributes  map[string]*attr `json:"attributes"`
	Constraints *constraints     `json:"constraints"`
}

type class struct {
	object
	UID      int    `json:"class_uid"`
	Category string `json:"category"`
}

// categoryUID numbers OCSF's categories.
var categoryUID = map[string]int{"system": 1, "findings": 2, "iam": 3, "network": 4, "discovery": 5, "application": 6, "remediation": 7, "unmanned_systems": 8}

// Load reads a compiled schema file.
func Load(path string) (*Schema, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw struct {
		Version string             `json:"version"`
		Classes map[string]*class  `json:"classes"`
		Objects map[string]*object `json:"objects"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("ocsf schema %s: %w", path, err)
	}
	if len(raw.Classes) == 0 || len(raw.Objects) == 0 {
		return nil, fmt.Errorf("ocsf schema %s: no classes or objects (want the compiled form)", path)
	}
	s := &Schema{Version: raw.Version, classes: map[int]*class{}, objects: raw.Objects}
	for _, c := range raw.Classes {
		if c.UID != 0 {
			s.classes[c.UID] = c
		}
	}
	return s, nil
}

// Validate checks one event (decoded from JSON into map[string]any, with
// numbers as float64 or json.Number) against its class. Attributes of a
// profile count only when metadata.profiles declares it.
func (s *Schema) Validate(ev map[string]any) []error {
	v := validator{s: s}
	uid, ok := intOf(ev["class_uid"])
	if !ok {
		return []error{fmt.Errorf("class_uid missing or not an integer")}
	}
	c := s.classes[int(uid)]
	if c == nil {
		return []error{fmt.Errorf("class_uid %d is not an OCSF %s class", uid, s.Version)}
	}
	if md, ok := ev["metadata"].(map[string]any); ok {
		if ps, ok := md["profiles"].([]any); ok {
			for _, p := range ps {
				if ps, ok := p.(string); ok {
					v.profiles = append(v.profiles, ps)
				}
			}
		}
	}
	v.object("", &c.object, ev)
	if cat, ok := intOf(ev["category_uid"]); ok && int(cat) != categoryUID[c.Category] {
		v.errf("category_uid", "is %d, class %s is in category %d", cat, c.Name, categoryUID[c.Category])
	}
	act, _ := intOf(ev["activity_id"])
	if tu, ok := intOf(ev["type_uid"]); ok && tu != uid*100+act {
		v.errf("type_uid", "is %d, want class_uid*100+activity_id = %d", tu, uid*100+act)
	}
	return v.errs
}

type validator struct {
	s        *Schema
	profiles []string
	errs     []error
}

func (v *validator) errf(path, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

func (v *validator) declared(profile string) bool {
	if profile == "" {
		return true
	}
	for _, p := range v.profiles {
		if p == profile {
			return true
		}
	}
	return false
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (v *validator) object(path string, o *object, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a := o.Attributes[k]
		if a == nil {
			v.errf(join(path, k), "is not an attribute of %s", o.Name)
			continue
		}
		if !v.declared(a.Profile) {
			v.errf(join(path, k), "belongs to profile %q, which metadata.profiles does not declare", a.Profile)
			continue
		}
		if path == "" && (k == "class_uid" || k == "category_uid") {
			// The compiled schema leaves these enums unfilled; Validate
			// checks them against the class itself.
			if _, ok := intOf(m[k]); !ok {
				v.errf(k, "want an integer")
			}
			continue
		}
		v.value(join(path, k), a, m[k])
	}
	names := make([]string, 0, len(o.Attributes))
	for n := range o.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := o.Attributes[n]
		if a.Requirement == "required" && v.declared(a.Profile) {
			if _, ok := m[n]; !ok {
				v.errf(join(path, n), "is required in %s", o.Name)
			}
		}
	}
	if c := o.Constraints; c != nil {
		if len(c.AtLeastOne) > 0 && !anyOf(m, c.AtLeastOne) {
			v.errf(pathOr(path, o.Name), "needs at least one of %s", strings.Join(c.AtLeastOne, ", "))
		}
		if len(c.JustOne) > 0 && countOf(m, c.JustOne) != 1 {
			v.errf(pathOr(path, o.Name), "needs exactly one of %s", strings.Join(c.JustOne, ", "))
		}
	}
}

func pathOr(path, name string) string {
	if path == "" {
		return name
	}
	return path
}

func anyOf(m map[string]any, names []string) bool { return countOf(m, names) > 0 }

func countOf(m map[string]any, names []string) int {
	n := 0
	for _, k := range names {
		if _, ok := m[k]; ok {
			n++
		}
	}
	return n
}

func (v *validator) value(path string, a *attr, x any) {
	if a.IsArray {
		xs, ok := x.([]any)
		if !ok {
			v.errf(path, "want an array of %s, got %T", a.Type, x)
			return
		}
		for i, el := range xs {
			v.scalarOrObject(path+"["+strconv.Itoa(i)+"]", a, el)
		}
		return
	}
	v.scalarOrObject(path, a, x)
}

func (v *validator) scalarOrObject(path string, a *attr, x any) {
	if x == nil {
		v.errf(path, "is null")
		return
	}
	if a.TypeKind == "object" {
		m, ok := x.(map[string]any)
		if !ok {
			v.errf(path, "want object %s, got %T", a.Type, x)
			return
		}
		if o := v.s.objects[a.Type]; o != nil {
			v.object(path, o, m)
		}
		return
	}
	switch base := a.BaseType; base {
	case "string_t":
		if _, ok := x.(string); !ok {
			v.errf(path, "want a string (%s), got %T", a.Type, x)
		}
	case "integer_t", "long_t":
		n, ok := intOf(x)
		if !ok {
			v.errf(path, "want an integer (%s), got %v", a.Type, x)
			return
		}
		if base == "integer_t" && (n > math.MaxInt32 || n < math.MinInt32) {
			v.errf(path, "%d does not fit integer_t", n)
		}
		if len(a.Enum) > 0 {
			if _, ok := a.Enum[strconv.FormatInt(n, 10)]; !ok {
				v.errf(path, "%d is not a defined value", n)
			}
		}
	case "float_t":
		if _, ok := numOf(x); !ok {
			v.errf(path, "want a number, got %T", x)
		}
	case "boolean_t":
		if _, ok := x.(bool); !ok {
			v.errf(path, "want a boolean, got %T", x)
		}
	case "json_t", "":
	default:
		v.errf(path, "unknown base type %s", base)
	}
}

func numOf(x any) (float64, bool) {
	switch n := x.(type) {
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

func intOf(x any) (int64, bool) {
	if n, ok := x.(json.Number); ok {
		i, err := n.Int64()
		return i, err == nil
	}
	f, ok := numOf(x)
	if !ok || f != math.Trunc(f) {
		return 0, false
	}
	return int64(f), true
}
