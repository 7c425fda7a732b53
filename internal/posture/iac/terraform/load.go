// Package terraform reads Terraform configurations (HCL) statically:
// variables with their defaults and .tfvars, locals, the common functions,
// count and for_each, and local modules, evaluated as far as they are known
// without a plan. Computed values stay unknown.
package terraform

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// Block is one resource instance as written, evaluated.
type Block struct {
	Type, Name string
	Address    string // module.x.aws_s3_bucket.data[0]
	Module     string // module.x. (or "")
	Values     map[string]any
	Range      hcl.Range
	AttrRanges map[string]hcl.Range
	// Refs lists, per attribute, the resources it references (type.name,
	// with the module prefix).
	Refs    map[string][]string
	Ignores map[string]string // check id → reason, from parapet:ignore comments
}

// Options tune loading.
type Options struct {
	VarFiles []string          // .tfvars files beyond terraform.tfvars and *.auto.tfvars
	Vars     map[string]string // -var values
	Files    *Files            // parsed files shared with other readers of the same tree (nil: parse here)
}

// Load reads the module in dir (and the local modules it calls).
func Load(dir string, opt Options) ([]*Block, []error) {
	files := opt.Files
	if files == nil {
		files = NewFiles()
	}
	l := &loader{files: files, installed: installedModules(dir)}
	vars := map[string]cty.Value{}
	for k, v := range opt.Vars {
		vars[k] = cty.StringVal(v)
	}
	blocks := l.module(dir, "", vars, opt.VarFiles, 0)
	return blocks, l.errs
}

type loader struct {
	files     *Files
	reported  map[string]bool // files whose parse errors were reported
	errs      []error
	installed map[string]string // module key → folder, from .terraform/modules/modules.json
}

type rawModule struct {
	block   *hclsyntax.Block
	ignores map[string]string
}

var ignoreRe = regexp.MustCompile(`parapet:ignore\s+(\S+)(?:\s+(.*))?`)

type rawResource struct {
	typ, name string
	body      *hclsyntax.Body
	rng       hcl.Range
	file      string
	ignores   map[string]string
}

func (l *loader) fail(format string, a ...any) { l.errs = append(l.errs, fmt.Errorf(format, a...)) }

func (l *loader) module(dir, prefix string, inputs map[string]cty.Value, varFiles []string, depth int) []*Block {
	if depth > 10 {
		l.fail("%s: modules nested too deep", dir)
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
	sort.Strings(files)
	var (
		variables = map[string]*hclsyntax.Block{}
		locals    []*hclsyntax.Attribute
		resources []rawResource
		datas     []rawData
		modules   []rawModule
	)
	for _, f := range files {
		src, file, diags, err := l.files.Parse(f)
		if err != nil {
			l.fail("%v", err)
			continue
		}
		if diags.HasErrors() && !l.reported[f] { // a module called twice is reported once
			if l.reported == nil {
				l.reported = map[string]bool{}
			}
			l.reported[f] = true
			l.fail("%s", diags.Error())
		}
		if file == nil {
			continue
		}
		body, ok := file.Body.(*hclsyntax.Body)
		if !ok {
			continue
		}
		lines := strings.Split(string(src), "\n")
		for _, b := range body.Blocks {
			switch b.Type {
			case "variable":
				if len(b.Labels) == 1 {
					variables[b.Labels[0]] = b
				}
			case "locals":
				for _, a := range b.Body.Attributes {
					locals = append(locals, a)
				}
			case "resource":
				if len(b.Labels) == 2 {
					resources = append(resources, rawResource{typ: b.Labels[0], name: b.Labels[1], body: b.Body, rng: b.Range(), file: f, ignores: ignores(lines, b.Range())})
				}
			case "data":
				if len(b.Labels) == 2 {
					datas = append(datas, rawData{typ: b.Labels[0], name: b.Labels[1], body: b.Body})
				}
			case "module":
				modules = append(modules, rawModule{b, ignores(lines, b.Range())})
			}
		}
	}
	// Variables: defaults, then .tfvars, then what the caller passes.
	vars := map[string]cty.Value{}
	names := make([]string, 0, len(variables))
	for n := range variables {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		vars[n] = cty.DynamicVal
		if a, ok := variables[n].Body.Attributes["default"]; ok {
			if v, d := a.Expr.Value(nil); !d.HasErrors() {
				vars[n] = v
			}
		}
	}
	if prefix == "" {
		auto, _ := filepath.Glob(filepath.Join(dir, "*.auto.tfvars"))
		sort.Strings(auto)
		tfvars := append([]string{filepath.Join(dir, "terraform.tfvars")}, auto...)
		for _, f := range append(tfvars, varFiles...) {
			_, file, diags, err := l.files.Parse(f)
			if err != nil {
				continue
			}
			if diags.HasErrors() || file == nil {
				l.fail("%s", diags.Error())
				continue
			}
			attrs, _ := file.Body.JustAttributes()
			for n, a := range attrs {
				if v, d := a.Expr.Value(nil); !d.HasErrors() {
					vars[n] = v
				}
			}
		}
	}
	for n, v := range inputs {
		vars[n] = v
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{
		"var":       cty.ObjectVal(vars),
		"path":      cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(dir), "root": cty.StringVal(dir), "cwd": cty.StringVal(dir)}),
		"terraform": cty.ObjectVal(map[string]cty.Value{"workspace": cty.StringVal("default")}),
		"data":      cty.DynamicVal,
		"module":    cty.DynamicVal,
		"each":      cty.DynamicVal,
		"count":     cty.DynamicVal,
	}, Functions: functions}
	// Locals, in as many passes as their references need.
	localVals := map[string]cty.Value{}
	for _, a := range locals {
		localVals[a.Name] = cty.DynamicVal
	}
	ctx.Variables["local"] = cty.ObjectVal(localVals)
	ctx.Variables["data"] = dataValues(datas, ctx)
	for pass := 0; pass < 8; pass++ {
		ctx.Variables["local"] = cty.ObjectVal(localVals)
		changed := false
		for _, a := range locals {
			v, d := a.Expr.Value(ctx)
			if d.HasErrors() || !v.IsWhollyKnown() && localVals[a.Name].IsWhollyKnown() {
				continue
			}
			if !v.RawEquals(localVals[a.Name]) {
				localVals[a.Name], changed = v, true
			}
		}
		if !changed {
			break
		}
	}
	ctx.Variables["local"] = cty.ObjectVal(localVals)
	// Resources, twice: the second pass sees the first's values, so that
	// one resource can name another (aws_s3_bucket.logs.bucket).
	var out []*Block
	for pass := 0; pass < 2; pass++ {
		ctx.Variables["data"] = dataValues(datas, ctx)
		out = out[:0]
		byType := map[string]map[string]cty.Value{}
		for _, r := range resources {
			insts := l.instances(r, ctx)
			for _, b := range insts {
				b.Module = prefix
				b.Address = prefix + b.Address
				out = append(out, b)
			}
			if byType[r.typ] == nil {
				byType[r.typ] = map[string]cty.Value{}
			}
			byType[r.typ][r.name] = objectOf(insts)
		}
		for t, m := range byType {
			ctx.Variables[t] = cty.ObjectVal(m)
		}
	}
	// Modules: local folders, folders `terraform init` installed, the
	// public modules Parapet maps from their inputs; anything else is
	// reported as not scanned.
	for _, rm := range modules {
		m := rm.block
		if len(m.Labels) != 1 {
			continue
		}
		src, ok := m.Body.Attributes["source"]
		if !ok {
			continue
		}
		sv, d := src.Expr.Value(nil)
		if d.HasErrors() || sv.Type() != cty.String || !sv.IsKnown() || sv.IsNull() {
			continue
		}
		s := sv.AsString()
		in := map[string]cty.Value{}
		ranges := map[string]hcl.Range{}
		for n, a := range m.Body.Attributes {
			if n == "source" || n == "version" || n == "count" || n == "for_each" || n == "providers" || n == "depends_on" {
				continue
			}
			ranges[n] = a.SrcRange
			if v, d := a.Expr.Value(ctx); !d.HasErrors() {
				in[n] = v
			} else {
				in[n] = cty.DynamicVal
			}
		}
		if moduleDisabled(m, ctx) {
			continue // count = 0, or for_each over nothing: the module makes nothing
		}
		name := m.Labels[0]
		childPrefix := prefix + "module." + name + "."
		notScanned := &ModuleNotScanned{Address: strings.TrimSuffix(childPrefix, "."), Source: s, File: m.Range().Filename, Line: m.Range().Start.Line}
		local := ""
		if d, ok := l.installed[moduleKey(prefix, name)]; ok {
			local = d
		} else if strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") {
			local = filepath.Join(dir, s)
		}
		if local != "" {
			if tf, _ := filepath.Glob(filepath.Join(local, "*.tf")); len(tf) == 0 {
				l.errs = append(l.errs, notScanned) // the folder is missing or holds no Terraform
				continue
			}
			out = append(out, l.module(local, childPrefix, in, nil, depth+1)...)
			continue
		}
		version := ""
		if a, ok := m.Body.Attributes["version"]; ok {
			if v, d := a.Expr.Value(nil); !d.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
				version = v.AsString()
			}
		}
		goIn := map[string]any{}
		for n, v := range in {
			goIn[n] = goValue(v)
		}
		c := &call{module: childPrefix, in: goIn, ranges: ranges, rng: m.Range(), ignores: rm.ignores}
		if blocks, ok := registryModule(s, version, c); ok {
			out = append(out, blocks...)
			continue
		}
		l.errs = append(l.errs, notScanned)
	}
	return out
}

// moduleDisabled says whether a module call's count is a known 0 or its
// for_each a known empty collection.
func moduleDisabled(m *hclsyntax.Block, ctx *hcl.EvalContext) bool {
	if a, ok := m.Body.Attributes["count"]; ok {
		v, d := a.Expr.Value(ctx)
		return !d.HasErrors() && v.IsKnown() && !v.IsNull() && v.Type() == cty.Number && v.RawEquals(cty.NumberIntVal(0))
	}
	if a, ok := m.Body.Attributes["for_each"]; ok {
		v, d := a.Expr.Value(ctx)
		return !d.HasErrors() && v.IsWhollyKnown() && !v.IsNull() && v.CanIterateElements() && v.LengthInt() == 0
	}
	return false
}

// ignores reads parapet:ignore comments inside a block or on the lines
// just above it.
func ignores(lines []string, rng hcl.Range) map[string]string {
	out := map[string]string{}
	start := rng.Start.Line - 1
	for start > 0 && strings.HasPrefix(strings.TrimSpace(lines[start-1]), "#") || start > 0 && strings.HasPrefix(strings.TrimSpace(lines[start-1]), "//") {
		start--
	}
	end := rng.End.Line
	for i := start; i < end && i < len(lines); i++ {
		if m := ignoreRe.FindStringSubmatch(lines[i]); m != nil {
			out[m[1]] = strings.TrimSpace(m[2])
		}
	}
	// A block's own range is only its header: scan to the closing brace.
	depth := 0
	for i := rng.Start.Line - 1; i < len(lines); i++ {
		depth += strings.Count(lines[i], "{") - strings.Count(lines[i], "}")
		if m := ignoreRe.FindStringSubmatch(lines[i]); m != nil {
			out[m[1]] = strings.TrimSpace(m[2])
		}
		if depth <= 0 && i >= rng.Start.Line-1 && strings.Contains(lines[i], "}") {
			break
		}
	}
	return out
}

// instances expands count and for_each.
func (l *loader) instances(r rawResource, ctx *hcl.EvalContext) []*Block {
	base := r.typ + "." + r.name
	if a, ok := r.body.Attributes["count"]; ok {
		v, d := a.Expr.Value(ctx)
		n := 1
		if !d.HasErrors() && v.IsKnown() && v.Type() == cty.Number {
			f, _ := v.AsBigFloat().Int64()
			n = int(f)
		}
		var out []*Block
		for i := 0; i < n && i < 1000; i++ {
			c := child(ctx, map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(i))})})
			out = append(out, l.block(r, c, base+"["+strconv.Itoa(i)+"]"))
		}
		return out
	}
	if a, ok := r.body.Attributes["for_each"]; ok {
		v, d := a.Expr.Value(ctx)
		if d.HasErrors() || !v.IsWhollyKnown() || v.IsNull() || !(v.Type().IsMapType() || v.Type().IsObjectType() || v.Type().IsSetType()) {
			return []*Block{l.block(r, child(ctx, map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": cty.UnknownVal(cty.String), "value": cty.DynamicVal})}), base+`["?"]`)}
		}
		var out []*Block
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if v.Type().IsSetType() {
				k = e
			}
			key := k
			if key.Type() != cty.String {
				key = cty.StringVal(fmt.Sprint(goValue(k)))
			}
			c := child(ctx, map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": key, "value": e})})
			out = append(out, l.block(r, c, base+`["`+key.AsString()+`"]`))
		}
		return out
	}
	return []*Block{l.block(r, ctx, base)}
}

func child(ctx *hcl.EvalContext, vars map[string]cty.Value) *hcl.EvalContext {
	c := &hcl.EvalContext{Variables: map[string]cty.Value{}, Functions: ctx.Functions}
	for k, v := range ctx.Variables {
		c.Variables[k] = v
	}
	for k, v := range vars {
		c.Variables[k] = v
	}
	return c
}

func (l *loader) block(r rawResource, ctx *hcl.EvalContext, addr string) *Block {
	b := &Block{Type: r.typ, Name: r.name, Address: addr, Range: r.rng, AttrRanges: map[string]hcl.Range{}, Refs: map[string][]string{}, Ignores: r.ignores}
	b.Values = bodyValues(r.body, ctx, b, "")
	return b
}

// bodyValues evaluates a body: attributes, and nested blocks as lists of
// objects.
func bodyValues(body *hclsyntax.Body, ctx *hcl.EvalContext, b *Block, path string) map[string]any {
	out := map[string]any{}
	for name, a := range body.Attributes {
		p := path + name
		b.AttrRanges[p] = a.SrcRange
		for _, t := range a.Expr.Variables() {
			root := t.RootName()
			if strings.HasPrefix(root, "aws_") && len(t) > 1 {
				if attr, ok := t[1].(hcl.TraverseAttr); ok {
					b.Refs[p] = append(b.Refs[p], root+"."+attr.Name)
				}
			}
		}
		v, d := a.Expr.Value(ctx)
		if d.HasErrors() {
			out[name] = resource.Unknown
			continue
		}
		out[name] = goValue(v)
	}
	for _, nb := range body.Blocks {
		switch nb.Type {
		case "lifecycle":
			// The meta-argument is the resource's own lifecycle block;
			// a nested one is data (aws_backup_plan's rule.lifecycle).
			if path == "" {
				continue
			}
		case "dynamic":
			if len(nb.Labels) == 1 {
				dynamicBlocks(nb, ctx, b, path, out)
			}
			continue
		}
		list, _ := out[nb.Type].([]any)
		out[nb.Type] = append(list, bodyValues(nb.Body, ctx, b, path+nb.Type+"."))
	}
	return out
}

// dynamicBlocks expands a dynamic "label" { for_each = …; content { … } }
// into label blocks, one per element, with the iterator (the label, or the
// name its iterator argument gives) bound to key and value. A for_each not
// known statically makes the whole list unknown.
func dynamicBlocks(nb *hclsyntax.Block, ctx *hcl.EvalContext, b *Block, path string, out map[string]any) {
	label := nb.Labels[0]
	fe, ok := nb.Body.Attributes["for_each"]
	if !ok {
		return
	}
	iter := label
	if it, ok := nb.Body.Attributes["iterator"]; ok {
		if kw := hcl.ExprAsKeyword(it.Expr); kw != "" {
			iter = kw
		}
	}
	var content *hclsyntax.Block
	for _, c := range nb.Body.Blocks {
		if c.Type == "content" {
			content = c
		}
	}
	if content == nil {
		return
	}
	v, d := fe.Expr.Value(ctx)
	if d.HasErrors() || !v.IsWhollyKnown() || v.IsNull() || !v.CanIterateElements() {
		out[label] = resource.Unknown
		return
	}
	list, _ := out[label].([]any)
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		child := ctx.NewChild()
		child.Variables = map[string]cty.Value{iter: cty.ObjectVal(map[string]cty.Value{"key": k, "value": e})}
		list = append(list, bodyValues(content.Body, child, b, path+label+"."))
	}
	out[label] = list
}

// goValue turns a cty value into plain Go values; unknowns become
// resource.Unknown.
func goValue(v cty.Value) any {
	if !v.IsKnown() {
		return resource.Unknown
	}
	if v.IsNull() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString()
	case t == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		return f
	case t == cty.Bool:
		return v.True()
	case t.IsListType() || t.IsSetType() || t.IsTupleType():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, goValue(e))
		}
		return out
	case t.IsMapType() || t.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = goValue(e)
		}
		return out
	}
	return resource.Unknown
}

// ctyValue is the reverse of goValue, for resources other resources name.
func ctyValue(v any) cty.Value {
	switch x := v.(type) {
	case string:
		if x == resource.Unknown {
			return cty.DynamicVal
		}
		return cty.StringVal(x)
	case float64:
		return cty.NumberFloatVal(x)
	case bool:
		return cty.BoolVal(x)
	case []any:
		if len(x) == 0 {
			return cty.EmptyTupleVal
		}
		var vs []cty.Value
		for _, e := range x {
			vs = append(vs, ctyValue(e))
		}
		return cty.TupleVal(vs)
	case map[string]any:
		m := map[string]cty.Value{}
		for k, e := range x {
			m[k] = ctyValue(e)
		}
		return cty.ObjectVal(m)
	}
	return cty.NullVal(cty.DynamicPseudoType)
}

// objectOf is what other resources see of a resource: its values, with
// its computed attributes (id, arn) unknown. Counted resources are tuples.
func objectOf(insts []*Block) cty.Value {
	obj := func(b *Block) cty.Value {
		m := map[string]cty.Value{"id": cty.DynamicVal, "arn": cty.DynamicVal}
		for k, v := range b.Values {
			m[k] = ctyValue(v)
		}
		return cty.ObjectVal(m)
	}
	if len(insts) == 1 && !strings.HasSuffix(insts[0].Address, "]") {
		return obj(insts[0])
	}
	var vs []cty.Value
	for _, b := range insts {
		vs = append(vs, obj(b))
	}
	if len(vs) == 0 {
		return cty.EmptyTupleVal
	}
	return cty.TupleVal(vs)
}

var functions = map[string]function.Function{
	"abs": stdlib.AbsoluteFunc, "ceil": stdlib.CeilFunc, "floor": stdlib.FloorFunc, "max": stdlib.MaxFunc, "min": stdlib.MinFunc,
	"chomp": stdlib.ChompFunc, "format": stdlib.FormatFunc, "formatlist": stdlib.FormatListFunc, "indent": stdlib.IndentFunc,
	"join": stdlib.JoinFunc, "lower": stdlib.LowerFunc, "upper": stdlib.UpperFunc, "replace": stdlib.ReplaceFunc, "split": stdlib.SplitFunc,
	"strrev": stdlib.ReverseFunc, "substr": stdlib.SubstrFunc, "title": stdlib.TitleFunc, "trimspace": stdlib.TrimSpaceFunc,
	"trim": stdlib.TrimFunc, "trimprefix": stdlib.TrimPrefixFunc, "trimsuffix": stdlib.TrimSuffixFunc,
	"concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc, "distinct": stdlib.DistinctFunc, "element": stdlib.ElementFunc,
	"flatten": stdlib.FlattenFunc, "keys": stdlib.KeysFunc, "length": stdlib.LengthFunc, "lookup": stdlib.LookupFunc,
	"merge": stdlib.MergeFunc, "range": stdlib.RangeFunc, "reverse": stdlib.ReverseListFunc, "setproduct": stdlib.SetProductFunc,
	"slice": stdlib.SliceFunc, "sort": stdlib.SortFunc, "values": stdlib.ValuesFunc, "zipmap": stdlib.ZipmapFunc,
	"coalesce": stdlib.CoalesceFunc, "coalescelist": stdlib.CoalesceListFunc, "compact": stdlib.CompactFunc,
	"jsonencode": jsonencode, "jsondecode": stdlib.JSONDecodeFunc, "csvdecode": stdlib.CSVDecodeFunc,
	"tostring": stdlib.MakeToFunc(cty.String), "tonumber": stdlib.MakeToFunc(cty.Number), "tobool": stdlib.MakeToFunc(cty.Bool),
	"tolist": stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)), "toset": stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
	"tomap": stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
}

// CalledModules lists the local module folders the module in dir calls
// (absolute, cleaned): a scan treats them as parts of their callers, not as
// roots of their own.
// files (may be nil) shares the parsing with the loader.
func CalledModules(dir string, files *Files) []string {
	paths, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
	var out []string
	for _, f := range paths {
		_, file, _, err := files.Parse(f)
		if err != nil || file == nil {
			continue
		}
		body, ok := file.Body.(*hclsyntax.Body)
		if !ok {
			continue
		}
		for _, b := range body.Blocks {
			if b.Type != "module" {
				continue
			}
			if a, ok := b.Body.Attributes["source"]; ok {
				if v, d := a.Expr.Value(nil); !d.HasErrors() && v.Type() == cty.String {
					if s := v.AsString(); strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") {
						if abs, err := filepath.Abs(filepath.Join(dir, s)); err == nil {
							out = append(out, filepath.Clean(abs))
						}
					}
				}
			}
		}
	}
	return out
}

// jsonencode is Terraform's, except that values known only after apply
// (an ARN, an id) are encoded as resource.Unknown instead of making the
// whole document unknown: a bucket policy whose Resource is
// "${aws_s3_bucket.b.arn}/*" still shows its effect, principals, actions
// and conditions to the checks.
var jsonencode = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "val", Type: cty.DynamicPseudoType, AllowUnknown: true, AllowDynamicType: true, AllowNull: true}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v := args[0]
		if !v.IsWhollyKnown() {
			known, ok := markUnknown(v)
			if !ok {
				return cty.UnknownVal(cty.String), nil
			}
			v = known
		}
		return stdlib.JSONEncodeFunc.Call([]cty.Value{v})
	},
})

// markUnknown replaces unknown leaves with resource.Unknown. A list or map
// of numbers with an unknown element cannot hold the string: then it
// reports false and the document stays unknown.
func markUnknown(v cty.Value) (out cty.Value, ok bool) {
	defer func() {
		if recover() != nil {
			out, ok = cty.NilVal, false
		}
	}()
	out, err := cty.Transform(v, func(_ cty.Path, v cty.Value) (cty.Value, error) {
		if !v.IsKnown() {
			return cty.StringVal(resource.Unknown), nil
		}
		return v, nil
	})
	return out, err == nil
}
