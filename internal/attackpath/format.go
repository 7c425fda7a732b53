package attackpath

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Report is what `parapet paths` prints.
type Report struct {
	Account    string   `json:"account"`
	Target     string   `json:"target"` // "admin" or an ARN
	Principals int      `json:"principals"`
	Edges      int      `json:"edges"`
	Methods    int      `json:"methods"`              // evaluated in the graph
	Listed     []string `json:"methods_not_in_graph"` // methods in content/paths the graph cannot evaluate yet
	Paths      []Path   `json:"paths"`
	Problems   []string `json:"problems,omitempty"`
}

// NewReport summarises the graph and the paths found in it.
func (g *Graph) NewReport(target string, paths []Path) Report {
	if target == "" {
		target = "admin"
	}
	r := Report{Account: g.Account, Target: target, Edges: len(g.Edges), Paths: paths, Problems: g.Problems}
	for _, n := range g.Nodes {
		if n.Kind != KindAdmin {
			r.Principals++
		}
	}
	for _, m := range g.Methods {
		if m.Evaluated {
			r.Methods++
		} else {
			r.Listed = append(r.Listed, m.ID)
		}
	}
	if r.Paths == nil {
		r.Paths = []Path{}
	}
	return r
}

// WriteTable prints each path in words, principals that already are the
// target first.
func (r Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "account %s: %d principals, %d edges, %d escalation methods evaluated (%d more listed, not yet in the graph)\n",
		r.Account, r.Principals, r.Edges, r.Methods, len(r.Listed))
	reach := 0
	for _, p := range r.Paths {
		if len(p.Steps) > 0 {
			reach++
		}
	}
	fmt.Fprintf(w, "%d principals can reach %s\n", reach, r.Target)
	for _, p := range r.Paths {
		steps := "steps"
		if len(p.Steps) == 1 {
			steps = "step"
		}
		fmt.Fprintf(w, "\n%s %s (%d %s)\n", p.SourceKind, p.Source, len(p.Steps), steps)
		for _, line := range strings.Split(p.Text(), "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(w, "\n%d problems (policies not read: paths through them are not found):\n", len(r.Problems))
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
	return nil
}

// WriteJSON prints the report as JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// subgraph is the nodes and edges on the paths, in a stable order.
type subgraph struct {
	nodes []gnode
	edges []gedge
}

type gnode struct{ id, name, kind string }

type gedge struct {
	from, to, method, label string
}

func (r Report) subgraph() subgraph {
	var sg subgraph
	seenN := map[string]bool{}
	seenE := map[string]bool{}
	node := func(id, name, kind string) {
		if !seenN[id] {
			seenN[id] = true
			sg.nodes = append(sg.nodes, gnode{id, name, kind})
		}
	}
	kindOf := map[string]string{}
	for _, p := range r.Paths {
		kindOf[p.Source] = p.SourceKind
	}
	for _, p := range r.Paths {
		node(p.Source, p.SourceName, p.SourceKind)
		for _, s := range p.Steps {
			node(s.To, s.ToName, kindFromARN(s.To))
			var acts []string
			for _, g := range s.Grants {
				acts = append(acts, g.Action)
			}
			k := s.From + "\x00" + s.To + "\x00" + s.Method
			if !seenE[k] {
				seenE[k] = true
				sg.edges = append(sg.edges, gedge{s.From, s.To, s.Method, strings.Join(acts, ", ")})
			}
		}
	}
	for i := range sg.nodes {
		if k, ok := kindOf[sg.nodes[i].id]; ok {
			sg.nodes[i].kind = k
		}
	}
	sort.SliceStable(sg.nodes, func(i, j int) bool { return sg.nodes[i].id < sg.nodes[j].id })
	return sg
}

func kindFromARN(id string) string {
	switch {
	case id == AdminID:
		return KindAdmin
	case strings.Contains(id, ":user/"):
		return KindUser
	case strings.Contains(id, ":group/"):
		return KindGroup
	case strings.Contains(id, ":role/"):
		return KindRole
	case strings.HasSuffix(id, ":root"):
		return KindRoot
	}
	return ""
}

func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// WriteDOT prints the paths' graph for Graphviz.
func (r Report) WriteDOT(w io.Writer) error {
	sg := r.subgraph()
	fmt.Fprintln(w, "digraph paths {")
	fmt.Fprintln(w, "  rankdir=LR;")
	for _, n := range sg.nodes {
		shape := "box"
		if n.kind == KindAdmin || n.kind == KindRoot {
			shape = "doubleoctagon"
		} else if n.kind == KindRole {
			shape = "ellipse"
		}
		fmt.Fprintf(w, "  %s [label=%s, shape=%s];\n", dotQuote(n.id), dotQuote(n.name+"\n"+n.kind), shape)
	}
	for _, e := range sg.edges {
		fmt.Fprintf(w, "  %s -> %s [label=%s];\n", dotQuote(e.from), dotQuote(e.to), dotQuote(e.method+"\n"+e.label))
	}
	_, err := fmt.Fprintln(w, "}")
	return err
}

// WriteGraphML prints the paths' graph as GraphML.
func (r Report) WriteGraphML(w io.Writer) error {
	sg := r.subgraph()
	type data struct {
		Key   string `xml:"key,attr"`
		Value string `xml:",chardata"`
	}
	type xnode struct {
		ID   string `xml:"id,attr"`
		Data []data `xml:"data"`
	}
	type xedge struct {
		Source string `xml:"source,attr"`
		Target string `xml:"target,attr"`
		Data   []data `xml:"data"`
	}
	type key struct {
		ID   string `xml:"id,attr"`
		For  string `xml:"for,attr"`
		Name string `xml:"attr.name,attr"`
		Type string `xml:"attr.type,attr"`
	}
	type graph struct {
		EdgeDefault string  `xml:"edgedefault,attr"`
		Nodes       []xnode `xml:"node"`
		Edges       []xedge `xml:"edge"`
	}
	type doc struct {
		XMLName xml.Name `xml:"graphml"`
		NS      string   `xml:"xmlns,attr"`
		Keys    []key    `xml:"key"`
		Graph   graph    `xml:"graph"`
	}
	d := doc{NS: "http://graphml.graphdrawing.org/xmlns", Keys: []key{
		{"name", "node", "name", "string"}, {"kind", "node", "kind", "string"},
		{"method", "edge", "method", "string"}, {"actions", "edge", "actions", "string"}}, Graph: graph{EdgeDefault: "directed"}}
	for _, n := range sg.nodes {
		d.Graph.Nodes = append(d.Graph.Nodes, xnode{n.id, []data{{"name", n.name}, {"kind", n.kind}}})
	}
	for _, e := range sg.edges {
		d.Graph.Edges = append(d.Graph.Edges, xedge{e.from, e.to, []data{{"method", e.method}, {"actions", e.label}}})
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(d); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func cypherQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// WriteCypher prints Cypher statements that create the paths' graph
// (Neo4j, Memgraph).
func (r Report) WriteCypher(w io.Writer) error {
	sg := r.subgraph()
	for _, n := range sg.nodes {
		fmt.Fprintf(w, "MERGE (:Principal {id: %s, name: %s, kind: %s});\n", cypherQuote(n.id), cypherQuote(n.name), cypherQuote(n.kind))
	}
	for _, e := range sg.edges {
		fmt.Fprintf(w, "MATCH (a:Principal {id: %s}), (b:Principal {id: %s}) MERGE (a)-[:CAN_ACT_AS {method: %s, actions: %s}]->(b);\n",
			cypherQuote(e.from), cypherQuote(e.to), cypherQuote(e.method), cypherQuote(e.label))
	}
	return nil
}

// Write prints the report in a format: table, json, dot, graphml, cypher.
func (r Report) Write(w io.Writer, format string) error {
	switch format {
	case "", "table":
		return r.WriteTable(w)
	case "json":
		return r.WriteJSON(w)
	case "dot":
		return r.WriteDOT(w)
	case "graphml":
		return r.WriteGraphML(w)
	case "cypher":
		return r.WriteCypher(w)
	}
	return fmt.Errorf("unknown format %q (table, json, dot, graphml, cypher)", format)
}
