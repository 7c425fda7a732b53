package secrets

import (
	"encoding/json"
	"os"
	"sort"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// Plan finds the secrets written as literals in the configuration a
// Terraform plan in JSON (terraform show -json) carries: the expressions
// whose whole value is a constant, in every resource, provider and module
// call, and variable defaults. Planned values are not read: they hold
// what data sources and variables resolve to, which is no secret written
// into the source. A plan's configuration has no line numbers; each
// finding points at the line that names its block's address, else the
// first (terraform show -json writes one line).
func Plan(file, base string) []Finding {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil // the loader reports unreadable plans
	}
	return PlanSource(src, file, base)
}

// PlanSource finds the secrets in one plan's source.
func PlanSource(src []byte, file, base string) []Finding {
	var p tfjson.Plan
	if json.Unmarshal(src, &p) != nil || p.Config == nil {
		return nil
	}
	text := string(src)
	cfgAt := strings.Index(text, `"configuration"`)
	lineOfAddr := func(addr string) int {
		if i := strings.Index(text[max(cfgAt, 0):], `"`+addr+`"`); i >= 0 {
			return strings.Count(text[:max(cfgAt, 0)+i], "\n") + 1
		}
		return 1
	}
	var out []Finding
	emit := func(typ, addr, key string, exprs map[string]*tfjson.Expression) {
		l := lineOfAddr(key)
		w := &walker{f: Finding{Source: "terraform", File: rel(base, file), Type: typ, Address: addr, BlockLine: l, BlockEnd: l}}
		w.exprs("", exprs, l)
		out = append(out, w.finish()...)
	}
	names := make([]string, 0, len(p.Config.ProviderConfigs))
	for k := range p.Config.ProviderConfigs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		pc := p.Config.ProviderConfigs[k]
		addr := "provider." + pc.Name
		if pc.Alias != "" {
			addr += "." + pc.Alias
		}
		emit("provider", addr, k, pc.Expressions)
	}
	var module func(m *tfjson.ConfigModule, prefix string, depth int)
	module = func(m *tfjson.ConfigModule, prefix string, depth int) {
		if m == nil || depth > 10 {
			return
		}
		for _, r := range m.Resources {
			addr := prefix + r.Address
			if r.Mode == tfjson.DataResourceMode && !strings.HasPrefix(r.Address, "data.") {
				addr = prefix + "data." + r.Address
			}
			emit(r.Type, addr, r.Address, r.Expressions)
		}
		vars := make([]string, 0, len(m.Variables))
		for k := range m.Variables {
			vars = append(vars, k)
		}
		sort.Strings(vars)
		for _, k := range vars {
			if d := m.Variables[k].Default; d != nil {
				l := lineOfAddr(k)
				w := &walker{f: Finding{Source: "terraform", File: rel(base, file), Type: "variable", Address: prefix + "var." + k, BlockLine: l, BlockEnd: l}}
				w.value("default", k, d, l, 0, "")
				out = append(out, w.finish()...)
			}
		}
		calls := make([]string, 0, len(m.ModuleCalls))
		for k := range m.ModuleCalls {
			calls = append(calls, k)
		}
		sort.Strings(calls)
		for _, k := range calls {
			mc := m.ModuleCalls[k]
			emit("module", prefix+"module."+k, k, mc.Expressions)
			module(mc.Module, prefix+"module."+k+".", depth+1)
		}
	}
	module(p.Config.RootModule, "", 0)
	return out
}

// exprs walks a plan configuration's expressions: constants are values,
// nested blocks are walked.
func (w *walker) exprs(path string, exprs map[string]*tfjson.Expression, line int) {
	keys := make([]string, 0, len(exprs))
	for k := range exprs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	valueName := "" // {name, value}: an SSM parameter, a CodeBuild variable
	if n, ok := exprs["name"]; ok && n != nil && n.ExpressionData != nil && exprs["value"] != nil {
		valueName, _ = n.ConstantValue.(string)
	}
	for _, k := range keys {
		e := exprs[k]
		if e == nil || e.ExpressionData == nil {
			continue
		}
		if e.ConstantValue != nil && e.ConstantValue != tfjson.UnknownConstantValue {
			name := k
			if k == "value" && valueName != "" {
				name = valueName
			}
			w.value(path+k, name, e.ConstantValue, line, 0, "")
		}
		for _, nb := range e.NestedBlocks {
			w.exprs(path+k+".", nb, line)
		}
	}
}
