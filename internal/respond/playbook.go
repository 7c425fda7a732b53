// Package respond turns findings into actions: playbooks (YAML, validated
// against a JSON Schema) whose CEL triggers select findings and whose
// steps call registered actions with parameters templated from the
// finding, behind approvals and guardrails, every decision in the audit
// trail.
package respond

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/parapet-sec/parapet/internal/org"
)

// Modes.
const (
	ModeAuto    = "auto"
	ModeApprove = "approve"
	ModeDryRun  = "dry-run"
)

// Playbook is one response, as written.
type Playbook struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description" json:"description,omitempty"`
	Trigger     string `yaml:"trigger" json:"trigger"`
	Mode        string `yaml:"mode" json:"mode,omitempty"`
	Enabled     *bool  `yaml:"enabled" json:"enabled,omitempty"`
	// Informational lets the trigger see informational findings (signals),
	// which playbooks are otherwise not run on.
	Informational bool           `yaml:"informational" json:"informational,omitempty"`
	Approval      ApprovalPolicy `yaml:"approval" json:"approval,omitempty"`
	// Scope: the accounts whose findings trigger the playbook (default
	// all); a finding outside it does not trigger it.
	Scope org.Scope `yaml:"scope" json:"scope,omitzero"`
	Steps []Step    `yaml:"steps" json:"steps"`
	// Guardrails.
	MaxFailures int    `yaml:"max_failures" json:"max_failures,omitempty"` // the circuit opens after this many failed steps in Window (default 3)
	MaxTargets  int    `yaml:"max_targets" json:"max_targets,omitempty"`   // at most this many distinct resources touched in Window (default 20)
	Window      string `yaml:"window" json:"window,omitempty"`             // default 1h

	File    string        `yaml:"-" json:"-"`
	trigger cel.Program   `yaml:"-"`
	window  time.Duration `yaml:"-"`
}

// ApprovalPolicy says who must approve, and what happens when nobody does.
type ApprovalPolicy struct {
	Required  *bool    `yaml:"required" json:"required,omitempty"`
	Approvers []string `yaml:"approvers" json:"approvers,omitempty"`
	Timeout   string   `yaml:"timeout" json:"timeout,omitempty"`       // default 4h
	OnTimeout string   `yaml:"on_timeout" json:"on_timeout,omitempty"` // deny (default) or approve
	// AutoIn: findings in these accounts run without approval, whatever
	// required and mode say (not a retro finding: see retroNeedsApproval); RequiredIn: findings in these accounts wait
	// for approval, whatever required, mode and auto_in say.
	AutoIn     *org.Scope `yaml:"auto_in" json:"auto_in,omitempty"`
	RequiredIn *org.Scope `yaml:"required_in" json:"required_in,omitempty"`
}

// Step is one action call.
type Step struct {
	Action string            `yaml:"action" json:"action"`
	Params map[string]string `yaml:"params" json:"params,omitempty"`
	When   string            `yaml:"when" json:"when,omitempty"`
	// ForEach, a CEL list, runs the step once per element, seen as item.
	ForEach string `yaml:"for_each" json:"for_each,omitempty"`
	OnError string `yaml:"on_error" json:"on_error,omitempty"` // continue, abort (default), rollback
	Timeout string `yaml:"timeout" json:"timeout,omitempty"`   // default 30s
	// IfExecuted names an action of an earlier step: this step runs only
	// when that one executed in the same run (not skipped because the live
	// state was already compliant), so that a follow-up change or a
	// message claiming a remediation happens only after the remediation.
	IfExecuted string `yaml:"if_executed" json:"if_executed,omitempty"`

	when    cel.Program
	forEach cel.Program
	params  map[string]*template
	timeout time.Duration
}

// Enabled reports whether the playbook runs.
func (p *Playbook) IsEnabled() bool { return p.Enabled == nil || *p.Enabled }

// NeedsApproval reports whether the playbook waits for a person.
func (p *Playbook) NeedsApproval() bool {
	if p.Approval.Required != nil {
		return *p.Approval.Required
	}
	return p.Mode == ModeApprove
}

// NeedsApprovalIn reports whether a finding in account waits for a
// person: approval.required_in first, then approval.auto_in, then
// NeedsApproval. r resolves the account's OU and tags (nil: none known).
func (p *Playbook) NeedsApprovalIn(account string, r org.Resolver) bool {
	if s := p.Approval.RequiredIn; s != nil && s.Matches(account, r) {
		return true
	}
	if s := p.Approval.AutoIn; s != nil && s.Matches(account, r) {
		return false
	}
	return p.NeedsApproval()
}

// Error is a playbook problem with its file.
type Error struct {
	File string
	Msg  string
}

func (e *Error) Error() string { return e.File + ": " + e.Msg }

var schemaJSON = []byte(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://parapet.dev/schemas/playbook.json",
  "title": "Parapet playbook",
  "$defs": {
    "accounts": {"type": "object", "additionalProperties": false, "properties": {
      "accounts": {"type": "array", "items": {"type": "string", "pattern": "^[0-9]{12}$"}},
      "ous": {"type": "array", "items": {"type": "string", "minLength": 1}},
      "tags": {"type": "array", "items": {"type": "string", "pattern": "^[^=]+(=.*)?$"}}
    }},
    "scope": {"type": "object", "additionalProperties": false, "properties": {
      "accounts": {"$ref": "#/$defs/accounts/properties/accounts"},
      "ous": {"$ref": "#/$defs/accounts/properties/ous"},
      "tags": {"$ref": "#/$defs/accounts/properties/tags"},
      "exclude": {"$ref": "#/$defs/accounts"}
    }}
  },
  "type": "object",
  "required": ["name", "trigger", "steps"],
  "additionalProperties": false,
  "properties": {
    "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
    "description": {"type": "string"},
    "trigger": {"type": "string", "minLength": 1},
    "mode": {"enum": ["auto", "approve", "dry-run"]},
    "enabled": {"type": "boolean"},
    "informational": {"type": "boolean", "description": "also run on informational findings (signals); without it they never trigger the playbook"},
    "max_failures": {"type": "integer", "minimum": 1},
    "max_targets": {"type": "integer", "minimum": 1},
    "window": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
    "approval": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "required": {"type": "boolean"},
        "approvers": {"type": "array", "items": {"type": "string"}},
        "timeout": {"type": "string", "pattern": "^[0-9]+(s|m|h)$"},
        "on_timeout": {"enum": ["deny", "approve"]},
        "auto_in": {"$ref": "#/$defs/scope", "description": "findings in these accounts run without approval"},
        "required_in": {"$ref": "#/$defs/scope", "description": "findings in these accounts wait for approval (wins over auto_in)"}
      }
    },
    "scope": {"$ref": "#/$defs/scope", "description": "the accounts whose findings trigger the playbook (default: all)"},
    "steps": {
      "type": "array",
      "minItems": 1,
      "items": {
        "type": "object",
        "required": ["action"],
        "additionalProperties": false,
        "properties": {
          "action": {"type": "string", "pattern": "^[a-z0-9]+\\.[a-z0-9_]+$"},
          "params": {"type": "object", "additionalProperties": {"type": "string"}},
          "when": {"type": "string"},
          "for_each": {"type": "string"},
          "on_error": {"enum": ["continue", "abort", "rollback"]},
          "if_executed": {"type": "string", "pattern": "^[a-z0-9]+\\.[a-z0-9_]+$"},
          "timeout": {"type": "string", "pattern": "^[0-9]+(ms|s|m)$"}
        }
      }
    }
  }
}`)

// Schema is the playbooks' JSON Schema.
func Schema() []byte { return schemaJSON }

var compiledSchema = func() *jsonschema.Schema {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		panic(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("playbook.json", doc); err != nil {
		panic(err)
	}
	return c.MustCompile("playbook.json")
}()

// Parse reads one playbook file: YAML, validated against the schema, its
// CEL expressions and templates compiled, its actions known to reg.
func Parse(data []byte, file string, reg *Registry) (*Playbook, error) {
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{file, err.Error()}
	}
	js, err := json.Marshal(normalize(doc))
	if err != nil {
		return nil, &Error{file, err.Error()}
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return nil, &Error{file, err.Error()}
	}
	if err := compiledSchema.Validate(inst); err != nil {
		return nil, &Error{file, "does not match the playbook schema: " + schemaMessage(err)}
	}
	var p Playbook
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, &Error{file, err.Error()}
	}
	p.File = file
	if p.trigger, err = compileBool(p.Trigger); err != nil {
		return nil, &Error{file, "trigger: " + err.Error()}
	}
	p.window = time.Hour
	if p.Window != "" {
		p.window, _ = time.ParseDuration(p.Window)
	}
	if p.MaxFailures == 0 {
		p.MaxFailures = 3
	}
	if p.MaxTargets == 0 {
		p.MaxTargets = 20
	}
	destructive := false
	for i := range p.Steps {
		s := &p.Steps[i]
		a := reg.Get(s.Action)
		if a == nil {
			return nil, &Error{file, fmt.Sprintf("step %d: unknown action %q (parapet playbooks actions lists them)", i+1, s.Action)}
		}
		destructive = destructive || a.Destructive
		for _, name := range a.Required {
			if _, ok := s.Params[name]; !ok {
				return nil, &Error{file, fmt.Sprintf("step %d (%s): parameter %q is required", i+1, s.Action, name)}
			}
		}
		for name, v := range s.Params {
			if !slices.Contains(a.Required, name) && !slices.Contains(a.Optional, name) {
				return nil, &Error{file, fmt.Sprintf("step %d (%s): unknown parameter %q", i+1, s.Action, name)}
			}
			if slices.Contains(a.Secrets, name) && !strings.HasPrefix(v, "env:") && !strings.HasPrefix(v, "file:") {
				return nil, &Error{file, fmt.Sprintf("step %d (%s): %s holds a secret: give it as env:NAME or file:PATH, never in the playbook", i+1, s.Action, name)}
			}
		}
		if s.IfExecuted != "" && !slices.ContainsFunc(p.Steps[:i], func(e Step) bool { return e.Action == s.IfExecuted }) {
			return nil, &Error{file, fmt.Sprintf("step %d: if_executed: no earlier step runs %s", i+1, s.IfExecuted)}
		}
		if s.When != "" {
			if s.when, err = compileBool(s.When); err != nil {
				return nil, &Error{file, fmt.Sprintf("step %d: when: %v", i+1, err)}
			}
		}
		if s.ForEach != "" {
			if s.forEach, _, err = compile(s.ForEach); err != nil {
				return nil, &Error{file, fmt.Sprintf("step %d: for_each: %v", i+1, err)}
			}
		}
		s.params = map[string]*template{}
		for k, v := range s.Params {
			if s.params[k], err = parseTemplate(v); err != nil {
				return nil, &Error{file, fmt.Sprintf("step %d: %s: %v", i+1, k, err)}
			}
		}
		s.timeout = 30 * time.Second
		if s.Timeout != "" {
			s.timeout, _ = time.ParseDuration(s.Timeout)
		}
		if s.OnError == "" {
			s.OnError = "abort"
		}
	}
	if p.Mode == "" {
		// Gradual automation: what changes the estate waits for a person
		// until someone says otherwise.
		p.Mode = ModeAuto
		if destructive {
			p.Mode = ModeApprove
		}
	}
	return &p, nil
}

func schemaMessage(err error) string {
	var ve *jsonschema.ValidationError
	if e, ok := err.(*jsonschema.ValidationError); ok {
		ve = e
	}
	if ve == nil {
		return err.Error()
	}
	msg := strings.TrimSpace(fmt.Sprintf("%v", ve))
	msg = strings.ReplaceAll(msg, "\n", "; ")
	return msg
}

// normalize turns YAML's map[string]any trees into JSON-friendly ones.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	case int:
		return x
	}
	return v
}

// Load reads every .yml and .yaml file under root in fsys.
func Load(fsys fs.FS, root string, reg *Registry) ([]*Playbook, []error) {
	var out []*Playbook
	var errs []error
	_ = fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, &Error{p, err.Error()})
			return nil
		}
		if d.IsDir() || (path.Ext(p) != ".yml" && path.Ext(p) != ".yaml") {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, &Error{p, err.Error()})
			return nil
		}
		pb, err := Parse(data, p, reg)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		out = append(out, pb)
		return nil
	})
	seen := map[string]string{}
	for _, p := range out {
		if f, dup := seen[p.Name]; dup {
			errs = append(errs, &Error{p.File, fmt.Sprintf("playbook name %q is also used by %s", p.Name, f)})
		}
		seen[p.Name] = p.File
	}
	return out, errs
}

// CEL: findings are seen as `finding` (the JSON lines form) and `record`
// (the native record of its event, {} when there is none). Optional
// field selection reads what a finding may lack:
// finding.?actor.?user_name.orValue("unknown").
var celEnv = func() *cel.Env {
	env, err := cel.NewEnv(
		cel.OptionalTypes(),
		cel.Variable("finding", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("record", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("item", cel.DynType),
	)
	if err != nil {
		panic(err)
	}
	return env
}()

func compile(expr string) (cel.Program, *cel.Type, error) {
	ast, iss := celEnv.Compile(expr)
	if iss.Err() != nil {
		return nil, nil, iss.Err()
	}
	prg, err := celEnv.Program(ast, cel.EvalOptions(cel.OptOptimize))
	return prg, ast.OutputType(), err
}

func compileBool(expr string) (cel.Program, error) {
	prg, t, err := compile(expr)
	if err != nil {
		return nil, err
	}
	if t != cel.BoolType && t != cel.DynType {
		return nil, fmt.Errorf("%q is a %s, not a condition", expr, t)
	}
	return prg, nil
}

// template is a parameter value: literal text with ${CEL} expressions.
type template struct {
	src   string
	parts []string      // literal, expr, literal, expr, …, literal
	progs []cel.Program // one per expr
}

var placeholder = regexp.MustCompile(`\$\{([^}]*)\}`)

func parseTemplate(s string) (*template, error) {
	t := &template{src: s}
	last := 0
	for _, m := range placeholder.FindAllStringSubmatchIndex(s, -1) {
		t.parts = append(t.parts, s[last:m[0]])
		expr := strings.TrimSpace(s[m[2]:m[3]])
		prg, _, err := compile(expr)
		if err != nil {
			return nil, fmt.Errorf("${%s}: %v", expr, err)
		}
		t.progs = append(t.progs, prg)
		last = m[1]
	}
	t.parts = append(t.parts, s[last:])
	return t, nil
}

// render fills the template in; esc, when not nil, escapes each value
// the expressions produce (never the playbook's own text).
func (t *template) render(vars map[string]any, esc func(string) string) (string, error) {
	var b strings.Builder
	for i, p := range t.parts {
		b.WriteString(p)
		if i < len(t.progs) {
			out, _, err := t.progs[i].Eval(vars)
			if err != nil {
				return "", err
			}
			var v string
			switch x := out.Value().(type) {
			case string:
				v = x
			default:
				v = fmt.Sprint(x)
			}
			if esc != nil {
				v = esc(v)
			}
			b.WriteString(v)
		}
	}
	return b.String(), nil
}

// missingHint explains a template that read a field the finding lacks
// because it carries no native record.
func missingHint(t *template, vars map[string]any) string {
	if rec, _ := vars["record"].(map[string]any); len(rec) == 0 && strings.Contains(t.src, "record.") {
		return " (the finding carries no native record: write findings with `parapet detect --records`, or respond as they are found with `parapet detect --respond`)"
	}
	return ""
}

func evalBool(prg cel.Program, vars map[string]any) (bool, error) {
	out, _, err := prg.Eval(vars)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("not a condition: %v", out.Value())
	}
	return b, nil
}
