package secrets

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// staticFuncs are the functions a literal may go through and still be a
// literal: base64encode("…"), jsonencode({…}), trimspace, …
var staticFuncs = map[string]function.Function{
	"jsonencode": stdlib.JSONEncodeFunc, "base64encode": base64EncodeFunc, "trimspace": stdlib.TrimSpaceFunc,
	"lower": stdlib.LowerFunc, "upper": stdlib.UpperFunc, "join": stdlib.JoinFunc, "format": stdlib.FormatFunc,
	"chomp": stdlib.ChompFunc, "tostring": stdlib.MakeToFunc(cty.String), "merge": stdlib.MergeFunc,
}

// base64encode would hide the literal it encodes: the literal is what is
// written in the file, so it stays as it is.
var base64EncodeFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "str", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl:   func(args []cty.Value, _ cty.Type) (cty.Value, error) { return args[0], nil },
})

// Terraform finds the secrets written in the .tf files of dir (not its
// subfolders): in every attribute of every resource, data source,
// provider and module block, in variable defaults (named by the variable)
// and locals. Only what is written as a literal is judged: a reference
// (var.x, data.x, another resource's attribute) is not a secret, and in a
// template only the literal text around ${…} is read. base makes file
// names relative. parse reads and parses a file (nil: read and parse
// here); a scan passes the loader's so that each file is parsed once.
func Terraform(dir, base string, parse func(path string) ([]byte, *hcl.File, error)) []Finding {
	files, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
	sort.Strings(files)
	var out []Finding
	for _, f := range files {
		if parse != nil {
			src, file, err := parse(f)
			if err == nil {
				out = append(out, terraformParsed(src, file, f, base)...)
			}
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			continue // the loader reports unreadable files
		}
		out = append(out, TerraformFile(src, f, base)...)
	}
	return out
}

// TerraformFile finds the secrets in one file's source.
func TerraformFile(src []byte, file, base string) []Finding {
	f, _ := hclsyntax.ParseConfig(src, file, hcl.InitialPos)
	return terraformParsed(src, f, file, base)
}

// terraformParsed finds the secrets in a parsed file.
func terraformParsed(src []byte, f *hcl.File, file, base string) []Finding {
	if f == nil || f.Body == nil {
		return nil
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	lines := strings.Split(string(src), "\n")
	var out []Finding
	for _, b := range body.Blocks {
		rng := b.Range()
		w := &walker{f: Finding{Source: "terraform", File: rel(base, file), BlockLine: rng.Start.Line, BlockEnd: rng.End.Line,
			Ignores: ignores(lines, rng.Start.Line, rng.End.Line)}}
		switch {
		case (b.Type == "resource" || b.Type == "data") && len(b.Labels) == 2:
			w.f.Type, w.f.Address = b.Labels[0], b.Labels[0]+"."+b.Labels[1]
			if b.Type == "data" {
				w.f.Address = "data." + w.f.Address
			}
			w.body(b.Body, "")
		case b.Type == "provider" && len(b.Labels) == 1:
			w.f.Type, w.f.Address = "provider", "provider."+b.Labels[0]
			if a, ok := b.Body.Attributes["alias"]; ok {
				if v, d := a.Expr.Value(nil); !d.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
					w.f.Address += "." + v.AsString()
				}
			}
			w.body(b.Body, "")
		case b.Type == "module" && len(b.Labels) == 1:
			w.f.Type, w.f.Address = "module", "module."+b.Labels[0]
			w.body(b.Body, "")
		case b.Type == "variable" && len(b.Labels) == 1:
			w.f.Type, w.f.Address = "variable", "var."+b.Labels[0]
			if a, ok := b.Body.Attributes["default"]; ok {
				w.expr("default", b.Labels[0], a.Expr)
			}
		case b.Type == "locals":
			w.f.Type = "locals"
			for _, a := range sortedAttrs(b.Body) {
				w.f.Address = "local." + a.Name
				w.expr(a.Name, a.Name, a.Expr)
			}
		}
		out = append(out, w.finish()...)
	}
	return out
}

func sortedAttrs(body *hclsyntax.Body) []*hclsyntax.Attribute {
	out := make([]*hclsyntax.Attribute, 0, len(body.Attributes))
	for _, a := range body.Attributes {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SrcRange.Start.Byte < out[j].SrcRange.Start.Byte })
	return out
}

// body walks a block's attributes and nested blocks. A block with a
// literal name and a value (an SSM parameter, a CodeBuild environment
// variable) names its value by its name ("/prod/db/password",
// DB_PASSWORD), whatever its type: a SecureString written in the file is
// as readable there as a String.
func (w *walker) body(body *hclsyntax.Body, path string) {
	valueName := ""
	if a, ok := body.Attributes["name"]; ok && body.Attributes["value"] != nil {
		if v, d := a.Expr.Value(nil); !d.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
			valueName = v.AsString()
		}
	}
	for _, a := range sortedAttrs(body) {
		name := a.Name
		if a.Name == "value" && valueName != "" {
			name = valueName
		}
		w.expr(path+a.Name, name, a.Expr)
	}
	for _, nb := range body.Blocks {
		switch nb.Type {
		case "lifecycle", "provisioner", "connection":
			continue
		case "dynamic":
			for _, c := range nb.Body.Blocks {
				if c.Type == "content" && len(nb.Labels) == 1 {
					w.body(c.Body, path+nb.Labels[0]+".")
				}
			}
			continue
		}
		w.body(nb.Body, path+nb.Type+".")
	}
}

// expr judges an attribute's expression: a literal (through the static
// functions) is evaluated and its value detected; otherwise the literal
// parts are: the text of a template around its interpolations, the items
// of an object or tuple, a function's arguments, a conditional's results.
func (w *walker) expr(path, name string, e hclsyntax.Expression) {
	rng := e.Range()
	switch x := e.(type) {
	case *hclsyntax.ObjectConsExpr:
		if n, v, ok := nameValueExpr(x); ok {
			w.expr(path, n, v)
			return
		}
		for _, it := range x.Items {
			if k := keyOf(it.KeyExpr); k != "" {
				w.expr(join(path, k), k, it.ValueExpr)
			}
		}
		return
	case *hclsyntax.TupleConsExpr:
		for i, it := range x.Exprs {
			w.expr(path+"["+strconv.Itoa(i)+"]", name, it)
		}
		return
	case *hclsyntax.FunctionCallExpr:
		for _, a := range x.Args {
			w.expr(path, name, a)
		}
		return
	case *hclsyntax.ConditionalExpr:
		w.expr(path, name, x.TrueResult)
		w.expr(path, name, x.FalseResult)
		return
	case *hclsyntax.ParenthesesExpr:
		w.expr(path, name, x.Expression)
		return
	}
	if len(e.Variables()) == 0 {
		v, d := e.Value(&hcl.EvalContext{Functions: staticFuncs})
		if !d.HasErrors() && v.IsWhollyKnown() {
			line := rng.Start.Line
			if t, ok := e.(*hclsyntax.TemplateExpr); ok && len(t.Parts) > 0 {
				line = t.Parts[0].Range().Start.Line // a heredoc's text starts on the next line
			}
			w.value(path, name, ctyToGo(v), line, rng.Start.Column, "")
			return
		}
	}
	if t, ok := e.(*hclsyntax.TemplateExpr); ok {
		for _, p := range t.Parts {
			if lit, ok := p.(*hclsyntax.LiteralValueExpr); ok && lit.Val.Type() == cty.String && lit.Val.IsKnown() && !lit.Val.IsNull() {
				w.str(path, name, lit.Val.AsString(), lit.SrcRange.Start.Line, rng.Start.Column, "")
			}
		}
	}
}

// keyOf reads an object key written as a name or a literal string.
func keyOf(e hclsyntax.Expression) string {
	if k := hcl.ExprAsKeyword(e); k != "" {
		return k
	}
	if kv, d := e.Value(nil); !d.HasErrors() && kv.Type() == cty.String && kv.IsKnown() && !kv.IsNull() {
		return kv.AsString()
	}
	return ""
}

// nameValueExpr reads { name = "DB_PASSWORD", value = … }.
func nameValueExpr(o *hclsyntax.ObjectConsExpr) (string, hclsyntax.Expression, bool) {
	if len(o.Items) != 2 {
		return "", nil, false
	}
	var n string
	var v hclsyntax.Expression
	for _, it := range o.Items {
		switch strings.ToLower(keyOf(it.KeyExpr)) {
		case "name":
			if nv, d := it.ValueExpr.Value(nil); !d.HasErrors() && nv.Type() == cty.String && nv.IsKnown() && !nv.IsNull() {
				n = nv.AsString()
			}
		case "value":
			v = it.ValueExpr
		}
	}
	return n, v, n != "" && v != nil
}

func ctyToGo(v cty.Value) any {
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString()
	case t.IsListType() || t.IsSetType() || t.IsTupleType():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, ctyToGo(e))
		}
		return out
	case t.IsMapType() || t.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = ctyToGo(e)
		}
		return out
	}
	return nil
}
