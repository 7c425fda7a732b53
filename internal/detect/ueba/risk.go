package ueba

import (
	"bytes"
	"fmt"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/parapet-sec/parapet/content"
)

// riskTable weighs an API by what it can do (content/ueba/action-risk.yaml):
// credential creation, IAM change, logging or security-service change,
// sharing or exposure, remote execution, destruction, data read, read-only.
type riskTable struct {
	classes []riskClass
	actionIndex
}

// actionIndex finds the class (tier) of an API among lists of
// "service:Operation" actions, where the operation may end in * and the
// service may be *: the action-risk table's and the global priors'.
type actionIndex struct {
	exact map[string]int // "service:Operation" → class
	rules []riskRule     // wildcard actions, in the order written
}

type riskClass struct {
	Name    string   `yaml:"name"`
	Weight  float64  `yaml:"weight"`
	Actions []string `yaml:"actions"`
}

type riskRule struct {
	service, prefix string // service "*": any; prefix: the operation's start
	class           int
}

// parseRisk reads an action-risk table.
func parseRisk(data []byte) (*riskTable, error) {
	var doc struct {
		Classes []riskClass `yaml:"classes"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("action risk: %w", err)
	}
	if len(doc.Classes) == 0 {
		return nil, fmt.Errorf("action risk: no classes")
	}
	t := &riskTable{classes: doc.Classes, actionIndex: actionIndex{exact: map[string]int{}}}
	for i, c := range doc.Classes {
		if c.Name == "" || c.Weight < 0 || c.Weight > maxFactor {
			return nil, fmt.Errorf("action risk: class %d: want a name and a weight from 0 to %g", i+1, float64(maxFactor))
		}
		if err := t.add(i, c.Actions); err != nil {
			return nil, fmt.Errorf("action risk: class %q: %w", c.Name, err)
		}
	}
	return t, nil
}

// add indexes a class's actions.
func (t *actionIndex) add(class int, actions []string) error {
	for _, a := range actions {
		svc, op, ok := strings.Cut(a, ":")
		if !ok || svc == "" || op == "" || strings.Contains(strings.TrimSuffix(op, "*"), "*") || svc != "*" && strings.Contains(svc, "*") {
			return fmt.Errorf("%q is not service:Operation (the operation may end in *)", a)
		}
		if p, wild := strings.CutSuffix(op, "*"); wild || svc == "*" {
			t.rules = append(t.rules, riskRule{service: svc, prefix: p, class: class})
			continue
		}
		if _, dup := t.exact[a]; !dup {
			t.exact[a] = class
		}
	}
	return nil
}

// class is the class of service:op, -1 when no class names it. An exact
// action wins over a wildcard; among wildcards, the first written.
func (t *actionIndex) class(service, op string) int {
	var buf [128]byte
	key := append(append(append(buf[:0], service...), ':'), op...)
	if c, ok := t.exact[string(key)]; ok {
		return c
	}
	for _, r := range t.rules {
		if (r.service == "*" || r.service == service) && strings.HasPrefix(op, r.prefix) {
			return r.class
		}
	}
	return -1
}

// builtinRisk is the table shipped in content/.
var builtinRisk = sync.OnceValues(func() (*riskTable, error) {
	data, err := content.FS.ReadFile("ueba/action-risk.yaml")
	if err != nil {
		return nil, err
	}
	return parseRisk(data)
})

// risk is the class and weight of service:op (-1 and 0 when unclassed).
func (e *Engine) risk(service, op string) (int, float64) {
	if e.riskTable == nil {
		return -1, 0
	}
	c := e.riskTable.class(service, op)
	if c < 0 {
		return -1, 0
	}
	return c, e.riskTable.classes[c].Weight
}
