package attackpath

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/parapet-sec/parapet/content"
)

// Method is one privilege-escalation method (a file of content/paths).
type Method struct {
	ID          string `yaml:"id" json:"id"`
	Title       string `yaml:"title" json:"title"`
	Family      string `yaml:"family" json:"family"`
	Description string `yaml:"description" json:"description"`
	// Target is what the method acts on: self (the principal itself),
	// self_group (a group it belongs to), self_policy (a customer managed
	// policy that applies to it), user, group, role; function, instance,
	// function (an existing Lambda function), instance (an existing EC2
	// instance with an instance profile): the attacker acts as its role;
	// stack, dev_endpoint, project, notebook are not in the graph yet.
	Target string `yaml:"target" json:"target"`
	// Trusts: for a role target, the service principal the role must
	// trust (a passed role), or "caller" (the role's trust policy must
	// admit the principal).
	Trusts        string       `yaml:"trusts,omitempty" json:"trusts,omitempty"`
	Permissions   []Permission `yaml:"permissions" json:"permissions"`
	Preconditions []string     `yaml:"preconditions" json:"preconditions"`
	// Gains: admin (the principal can grant itself anything), target (it
	// acts as the target principal), unbounded (its boundary goes away),
	// persistence (no new permission; listed, no edge).
	Gains      string   `yaml:"gains" json:"gains"`
	Verb       string   `yaml:"verb,omitempty" json:"verb,omitempty"`
	Evaluated  bool     `yaml:"evaluated" json:"evaluated"`
	References []string `yaml:"references" json:"references"`
	Scenario   struct {
		Given  string `yaml:"given" json:"given"`
		Expect string `yaml:"expect" json:"expect"`
	} `yaml:"scenario" json:"scenario"`
}

// Permission is one action a method needs, on the target ("target") or
// on any resource the attacker chooses ("*").
type Permission struct {
	Action   string `yaml:"action" json:"action"`
	Resource string `yaml:"resource" json:"resource"`
}

var (
	targets = map[string]bool{"self": true, "self_group": true, "self_policy": true, "user": true, "group": true, "role": true,
		"function": true, "instance": true, "stack": true, "dev_endpoint": true, "project": true, "notebook": true}
	// graphTargets are the targets the access graph evaluates today.
	graphTargets = map[string]bool{"self": true, "self_group": true, "self_policy": true, "user": true, "group": true, "role": true,
		"function": true, "instance": true}
	gains = map[string]bool{"admin": true, "target": true, "unbounded": true, "persistence": true}
)

// Validate returns every problem of the method.
func (m *Method) Validate() error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	if m.ID == "" {
		bad("no id")
	}
	if m.Title == "" || m.Description == "" || m.Family == "" {
		bad("title, description and family are required")
	}
	if !targets[m.Target] {
		bad("unknown target %q", m.Target)
	}
	if m.Evaluated && !graphTargets[m.Target] {
		bad("target %q is not in the graph yet: set evaluated: false", m.Target)
	}
	if !gains[m.Gains] {
		bad("unknown gains %q", m.Gains)
	}
	if m.Evaluated && m.Gains == "persistence" {
		bad("a persistence method adds no edge: set evaluated: false")
	}
	if len(m.Permissions) == 0 {
		bad("no permissions")
	}
	for i, p := range m.Permissions {
		if !strings.Contains(p.Action, ":") {
			bad("permission %d: action %q is not service:Operation", i+1, p.Action)
		}
		if p.Resource != "target" && p.Resource != "*" {
			bad("permission %d: resource %q is neither target nor *", i+1, p.Resource)
		}
	}
	if len(m.Preconditions) == 0 {
		bad("no preconditions")
	}
	if len(m.References) == 0 {
		bad("no references")
	}
	for _, r := range m.References {
		if !strings.HasPrefix(r, "https://") {
			bad("reference %q is not an https URL", r)
		}
	}
	if m.Scenario.Given == "" || m.Scenario.Expect == "" {
		bad("the scenario needs given and expect")
	}
	if m.Verb == "" {
		bad("no verb (how the step reads in a sentence)")
	}
	return errors.Join(errs...)
}

// LoadMethods reads every *.yaml under dir of fsys, sorted by id; a file
// with problems is an error naming it.
func LoadMethods(fsys fs.FS, dir string) ([]*Method, error) {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read escalation methods: %w", err)
	}
	var out []*Method
	var errs []error
	seen := map[string]string{}
	for _, e := range ents {
		if e.IsDir() || (path.Ext(e.Name()) != ".yaml" && path.Ext(e.Name()) != ".yml") {
			continue
		}
		p := path.Join(dir, e.Name())
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var m Method
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&m); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		if err := m.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		if prev, ok := seen[m.ID]; ok {
			errs = append(errs, fmt.Errorf("%s: id %s already in %s", p, m.ID, prev))
			continue
		}
		seen[m.ID] = p
		out = append(out, &m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, errors.Join(errs...)
}

// BuiltinMethods are the methods embedded in the binary.
func BuiltinMethods() ([]*Method, error) { return LoadMethods(content.FS, "paths") }
