package terraform

import (
	"encoding/json"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// rawData is a data block as written.
type rawData struct {
	typ, name string
	body      *hclsyntax.Body
}

// dataValues is what `data.TYPE.NAME` evaluates to: the JSON document of
// each aws_iam_policy_document (as the provider renders it, values known
// only after apply kept as resource.Unknown, as jsonencode keeps them);
// every other data source is unknown.
func dataValues(datas []rawData, ctx *hcl.EvalContext) cty.Value {
	byType := map[string]map[string]cty.Value{}
	for _, d := range datas {
		if byType[d.typ] == nil {
			byType[d.typ] = map[string]cty.Value{}
		}
		v := cty.DynamicVal
		_, counted := d.body.Attributes["count"]
		_, each := d.body.Attributes["for_each"]
		if d.typ == "aws_iam_policy_document" && !counted && !each {
			doc := policyDocument(d.body, ctx)
			v = cty.ObjectVal(map[string]cty.Value{"json": doc, "minified_json": doc, "id": cty.DynamicVal})
		}
		byType[d.typ][d.name] = v
	}
	out := map[string]cty.Value{}
	for t, m := range byType {
		out[t] = cty.ObjectVal(m)
	}
	return cty.ObjectVal(out)
}

// policyDocument renders an aws_iam_policy_document's statements (and
// the statements of its source_policy_documents) as the IAM JSON
// document: actions, resources, principals, conditions and their Not
// forms, in the shape resource.ParsePolicy reads.
func policyDocument(body *hclsyntax.Body, ctx *hcl.EvalContext) cty.Value {
	b := &Block{AttrRanges: map[string]hcl.Range{}, Refs: map[string][]string{}}
	v := bodyValues(body, ctx, b, "")
	var sts []any
	for _, src := range list(v["source_policy_documents"]) {
		s := str(src)
		if s == resource.Unknown || s == "" {
			return cty.UnknownVal(cty.String)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(s), &doc); err != nil {
			return cty.UnknownVal(cty.String)
		}
		switch x := doc["Statement"].(type) {
		case []any:
			sts = append(sts, x...)
		case map[string]any:
			sts = append(sts, x)
		}
	}
	if v["statement"] == resource.Unknown {
		return cty.UnknownVal(cty.String) // a dynamic statement over unknown values
	}
	for _, s := range list(v["statement"]) {
		sm, ok := s.(map[string]any)
		if !ok {
			continue
		}
		st := map[string]any{"Effect": "Allow"}
		if e := str(sm["effect"]); e != "" {
			st["Effect"] = e
		}
		if sid := str(sm["sid"]); sid != "" {
			st["Sid"] = sid
		}
		for k, j := range map[string]string{"actions": "Action", "not_actions": "NotAction", "resources": "Resource", "not_resources": "NotResource"} {
			if x, ok := sm[k]; ok && x != nil {
				st[j] = x
			}
		}
		for k, j := range map[string]string{"principals": "Principal", "not_principals": "NotPrincipal"} {
			if p := principals(sm[k]); p != nil {
				st[j] = p
			}
		}
		cond := map[string]any{}
		for _, c := range list(sm["condition"]) {
			cm, _ := c.(map[string]any)
			test, variable := str(cm["test"]), str(cm["variable"])
			if test == "" || variable == "" {
				continue
			}
			if cond[test] == nil {
				cond[test] = map[string]any{}
			}
			cond[test].(map[string]any)[variable] = cm["values"]
		}
		if len(cond) > 0 {
			st["Condition"] = cond
		}
		sts = append(sts, st)
	}
	version := str(v["version"])
	if version == "" {
		version = "2012-10-17"
	}
	data, err := json.Marshal(map[string]any{"Version": version, "Statement": sts})
	if err != nil {
		return cty.UnknownVal(cty.String)
	}
	return cty.StringVal(string(data))
}

// principals turns principals blocks into a Principal element: "*" for
// type "*" (as the provider renders it), else {type: identifiers}.
func principals(v any) any {
	l := list(v)
	if len(l) == 0 {
		return nil
	}
	out := map[string]any{}
	for _, p := range l {
		pm, _ := p.(map[string]any)
		t := str(pm["type"])
		if t == "*" {
			return "*"
		}
		if t == "" || t == resource.Unknown {
			t = resource.Unknown
		}
		ids := list(pm["identifiers"])
		if ids == nil {
			if s := str(pm["identifiers"]); s != "" {
				ids = []any{s}
			}
		}
		prev, _ := out[t].([]any)
		out[t] = append(prev, ids...)
	}
	for t, ids := range out {
		if l := ids.([]any); len(l) == 1 {
			out[t] = l[0]
		}
	}
	return out
}
