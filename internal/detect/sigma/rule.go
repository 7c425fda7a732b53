// Package sigma parses Sigma rules (specification v2) and compiles them
// into matchers over normalized events. Field names are the native ones of
// each log source (eventName, requestParameters.bucketName, dstport), so
// SigmaHQ's rules run unmodified.
package sigma

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/parapet-sec/parapet/internal/event"
)

// Rule is one parsed and compiled detection rule.
type Rule struct {
	ID             string
	Name           string // referenced by correlation rules
	Title          string
	Status         string
	Description    string
	Level          string // informational, low, medium, high, critical
	Author         string
	Date           string
	Modified       string
	Logsource      Logsource
	Tags           []string
	FalsePositives []string
	// Triage is Parapet's guide for the analyst (a list of steps, in
	// order, naming the fields to look at); other Sigma tools ignore it.
	Triage     []string
	References []string
	Fields     []string
	Related    []Related

	File string // where the rule was read from
	Line int    // line of the rule's first key
	// Digest identifies the rule's content (a hash of its document, as
	// parsed: comments and layout aside): serve re-runs a rule whose
	// digest changed over history.
	Digest string

	// Correlation is set for correlation rules, which have no detection.
	Correlation *Correlation

	searches map[string]*search
	cond     node
	condText string
	// positive lists, once each and in condition order, the searches the
	// condition uses positively (not under a not): what explains a match.
	positive []*search
}

// Logsource says which events a rule is written for.
type Logsource struct {
	Product, Service, Category string
}

// Related points at another rule.
type Related struct {
	ID, Type string
}

// Error locates a problem in a rule file.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ErrUnsupported marks valid Sigma that Parapet does not evaluate.
var ErrUnsupported = errors.New("unsupported")

// Options tune parsing.
type Options struct {
	// Placeholders give the values of %name% placeholders for the expand
	// modifier.
	Placeholders map[string][]string
}

// Parse reads every rule document in data. A document that fails is
// reported and the others are still returned.
func Parse(data []byte, file string, opt Options) ([]*Rule, []error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var rules []*Rule
	var errs []error
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, &Error{File: file, Msg: "yaml: " + err.Error()})
			break
		}
		if len(doc.Content) == 0 {
			continue
		}
		r, err := parseRule(doc.Content[0], file, opt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.Digest = digest(doc.Content[0])
		rules = append(rules, r)
	}
	if len(rules) == 0 && len(errs) == 0 {
		errs = append(errs, &Error{File: file, Msg: "no rule in file"})
	}
	return rules, errs
}

// digest hashes a rule document's content: keys and values in order,
// without comments, styles or positions.
func digest(n *yaml.Node) string {
	h := sha256.New()
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		fmt.Fprintf(h, "%d:%s:%d[", n.Kind, n.Value, len(n.Content))
		for _, c := range n.Content {
			walk(c)
		}
		h.Write([]byte{']'})
	}
	walk(n)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func errAt(file string, n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// mapping returns the key/value pairs of a mapping node.
func mapping(n *yaml.Node) [][2]*yaml.Node {
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
	}
	return out
}

func scalarList(n *yaml.Node) []string {
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{n.Value}
	case yaml.SequenceNode:
		var out []string
		for _, c := range n.Content {
			if c.Kind == yaml.ScalarNode {
				out = append(out, c.Value)
			}
		}
		return out
	}
	return nil
}

var levels = map[string]bool{"informational": true, "low": true, "medium": true, "high": true, "critical": true}

func parseRule(n *yaml.Node, file string, opt Options) (*Rule, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errAt(file, n, "a rule must be a mapping")
	}
	r := &Rule{File: file, Line: n.Line}
	var detection, condition *yaml.Node
	for _, kv := range mapping(n) {
		k, v := kv[0].Value, kv[1]
		switch k {
		case "title":
			r.Title = v.Value
		case "id":
			r.ID = v.Value
		case "name":
			r.Name = v.Value
		case "status":
			r.Status = v.Value
		case "description":
			r.Description = v.Value
		case "level":
			r.Level = strings.ToLower(v.Value)
			if !levels[r.Level] {
				return nil, errAt(file, v, "level %q: want informational, low, medium, high or critical", v.Value)
			}
		case "author":
			r.Author = v.Value
		case "date":
			r.Date = v.Value
		case "modified":
			r.Modified = v.Value
		case "tags":
			r.Tags = scalarList(v)
		case "falsepositives":
			r.FalsePositives = scalarList(v)
		case "triage":
			r.Triage = scalarList(v)
		case "references":
			r.References = scalarList(v)
		case "fields":
			r.Fields = scalarList(v)
		case "related":
			for _, item := range v.Content {
				var rel Related
				for _, f := range mapping(item) {
					switch f[0].Value {
					case "id":
						rel.ID = f[1].Value
					case "type":
						rel.Type = f[1].Value
					}
				}
				r.Related = append(r.Related, rel)
			}
		case "logsource":
			for _, f := range mapping(v) {
				switch f[0].Value {
				case "product":
					r.Logsource.Product = strings.ToLower(f[1].Value)
				case "service":
					r.Logsource.Service = strings.ToLower(f[1].Value)
				case "category":
					r.Logsource.Category = strings.ToLower(f[1].Value)
				}
			}
		case "detection":
			detection = v
		case "correlation":
			c, err := parseCorrelation(v, file)
			if err != nil {
				return nil, err
			}
			r.Correlation = c
		case "action":
			return nil, errAt(file, kv[0], "rule collections (action: %s): %v", v.Value, ErrUnsupported)
		}
	}
	if r.Title == "" {
		return nil, errAt(file, n, "rule has no title")
	}
	if r.Correlation != nil {
		return r, nil
	}
	if detection == nil || detection.Kind != yaml.MappingNode {
		return nil, errAt(file, n, "rule %q has no detection mapping", r.Title)
	}
	r.searches = map[string]*search{}
	for _, kv := range mapping(detection) {
		name := kv[0].Value
		if name == "condition" {
			condition = kv[1]
			continue
		}
		if name == "timeframe" {
			continue
		}
		s, err := parseSearch(name, kv[1], file, opt)
		if err != nil {
			return nil, err
		}
		r.searches[name] = s
	}
	if condition == nil {
		return nil, errAt(file, detection, "detection has no condition")
	}
	conds := scalarList(condition)
	if len(conds) == 0 {
		return nil, errAt(file, condition, "condition must be a string or a list of strings")
	}
	var nodes []node
	for _, c := range conds {
		nd, err := parseCondition(c, r.searches)
		if err != nil {
			return nil, errAt(file, condition, "condition %q: %v", c, err)
		}
		nodes = append(nodes, nd)
	}
	r.condText = strings.Join(conds, " | ")
	r.cond = nodes[0]
	if len(nodes) > 1 { // a list of conditions: any of them
		r.cond = orNode(nodes)
	}
	r.cond.refs(true, func(s *search, pos bool) {
		if pos && !slices.Contains(r.positive, s) {
			r.positive = append(r.positive, s)
		}
	})
	// After positive: explanations list the searches as the condition
	// names them.
	r.cond = byCost(r.cond)
	return r, nil
}

// Applies reports whether the rule is written for events of src.
// Correlation rules apply to no event directly.
func (r *Rule) Applies(src event.Source) bool {
	if r.Correlation != nil {
		return false
	}
	if r.Logsource.Product != "" && r.Logsource.Product != src.Product() {
		return false
	}
	if r.Logsource.Service != "" && r.Logsource.Service != src.Service() {
		return false
	}
	return r.Logsource.Product != "" || r.Logsource.Service != ""
}

// Condition is the rule's condition as written.
func (r *Rule) Condition() string { return r.condText }

// Match reports whether ev satisfies the rule's condition (logsource
// routing is the caller's: see Applies).
func (r *Rule) Match(ev *event.Event) bool {
	if r.cond == nil {
		return false
	}
	var d doc
	d.reset(ev)
	return r.cond.eval(&d)
}
