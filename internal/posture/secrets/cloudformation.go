package secrets

import (
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// CloudFormation finds the secrets written in a template (YAML or JSON):
// in every property of every resource, whatever its type, and in
// Parameters' defaults (named by the parameter). Ref, GetAtt, ImportValue
// and dynamic references ({{resolve:…}}) are not secrets; in Sub only the
// text around ${…} is read; Base64 and Join are read through. base makes
// the file name relative.
func CloudFormation(file, base string) []Finding {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil // the loader reports unreadable templates
	}
	return CloudFormationSource(src, file, base)
}

// CloudFormationSource finds the secrets in one template's source.
func CloudFormationSource(src []byte, file, base string) []Finding {
	var doc yaml.Node
	if yaml.Unmarshal(src, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	lines := strings.Split(string(src), "\n")
	root := doc.Content[0]
	var out []Finding
	for i := 0; i+1 < len(root.Content); i += 2 {
		section, body := root.Content[i].Value, root.Content[i+1]
		if body.Kind != yaml.MappingNode || (section != "Resources" && section != "Parameters") {
			continue
		}
		for j := 0; j+1 < len(body.Content); j += 2 {
			id, n := body.Content[j].Value, body.Content[j+1]
			if n.Kind != yaml.MappingNode {
				continue
			}
			end := j + 2
			last := len(lines)
			if end < len(body.Content) {
				last = body.Content[end].Line - 1
			} else if i+2 < len(root.Content) {
				last = root.Content[i+2].Line - 1
			}
			w := &walker{f: Finding{Source: "cloudformation", File: rel(base, file), Address: id, BlockLine: body.Content[j].Line, BlockEnd: last,
				Ignores: ignores(lines, body.Content[j].Line, last)}}
			if section == "Parameters" {
				w.f.Type = "AWS::CloudFormation::Parameter"
				if d := child(n, "Default"); d != nil {
					w.node("Default", id, d)
				}
				out = append(out, w.finish()...)
				continue
			}
			if t := child(n, "Type"); t != nil {
				w.f.Type = t.Value
			}
			if props := child(n, "Properties"); props != nil && props.Kind == yaml.MappingNode {
				valueName := ""
				if w.f.Type == "AWS::SSM::Parameter" {
					if nm := child(props, "Name"); nm != nil && nm.Kind == yaml.ScalarNode && nm.Tag == "!!str" {
						valueName = nm.Value
					}
				}
				for k := 0; k+1 < len(props.Content); k += 2 {
					key := props.Content[k].Value
					name := key
					if key == "Value" && valueName != "" {
						name = valueName
					}
					w.node(key, name, props.Content[k+1])
				}
			}
			out = append(out, w.finish()...)
		}
	}
	return out
}

func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

var subRe = regexp.MustCompile(`\$\{[^}]*\}`)

// node judges a template value.
func (w *walker) node(path, name string, n *yaml.Node) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch tag := n.Tag; {
	case tag == "!Ref" || tag == "!GetAtt" || tag == "!ImportValue" || tag == "!FindInMap" || tag == "!GetAZs" || tag == "!Cidr" || tag == "!Condition":
		return
	case tag == "!Sub":
		w.sub(path, name, n)
		return
	case strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!"):
		// !Base64, !Join, !If, !Select …: read through to their literals.
		w.children(path, name, n)
		return
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag != "!!str" && n.Tag != "" {
			return
		}
		line := n.Line
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			line++ // a block scalar's text starts on the next line
		}
		w.str(path, name, n.Value, line, n.Column, "")
	case yaml.MappingNode:
		if len(n.Content) == 2 && (strings.HasPrefix(n.Content[0].Value, "Fn::") || n.Content[0].Value == "Ref") {
			switch fn := n.Content[0].Value; fn {
			case "Ref", "Fn::GetAtt", "Fn::ImportValue", "Fn::FindInMap", "Fn::GetAZs", "Fn::Cidr":
			case "Fn::Sub":
				w.sub(path, name, n.Content[1])
			default:
				w.children(path, name, n.Content[1])
			}
			return
		}
		if nm, val := child(n, "Name"), child(n, "Value"); len(n.Content) == 4 && nm != nil && val != nil && nm.Kind == yaml.ScalarNode {
			// {Name: DB_PASSWORD, Value: …}: an ECS environment variable.
			w.node(path, nm.Value, val)
			return
		}
		keys := make([]int, 0, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			keys = append(keys, i)
		}
		sort.SliceStable(keys, func(a, b int) bool { return n.Content[keys[a]].Line < n.Content[keys[b]].Line })
		for _, i := range keys {
			k := n.Content[i].Value
			w.node(join(path, k), k, n.Content[i+1])
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			w.node(path+"["+strconv.Itoa(i)+"]", name, c)
		}
	}
}

// children reads a function's argument: a scalar, or each element.
func (w *walker) children(path, name string, n *yaml.Node) {
	if n.Kind == yaml.SequenceNode {
		for _, c := range n.Content {
			w.node(path, name, c)
		}
		return
	}
	n2 := *n
	if strings.HasPrefix(n2.Tag, "!") && !strings.HasPrefix(n2.Tag, "!!") {
		n2.Tag = ""
		if n2.Kind == yaml.ScalarNode {
			n2.Tag = "!!str"
		}
	}
	w.node(path, name, &n2)
}

// sub reads a Sub's template text without its ${…} substitutions (each
// replaced by a space, so no secret is made of text around one).
func (w *walker) sub(path, name string, n *yaml.Node) {
	if n.Kind == yaml.SequenceNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.ScalarNode {
		return
	}
	line := n.Line
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		line++
	}
	w.str(path, name, subRe.ReplaceAllString(n.Value, " "), line, n.Column, "")
}
