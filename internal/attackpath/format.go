package attackpath

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
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
		if n.Kind != KindAdmin && n.Kind != KindResource {
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
	case strings.HasPrefix(id, "arn:aws:s3:::"), strings.Contains(id, ":kms:"), strings.Contains(id, ":secretsmanager:"),
		strings.Contains(id, ":sqs:"), strings.Contains(id, ":sns:"):
		return KindResource
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

// PathSVG draws a path left to right: the source, each principal it
// acts as, the target; each arrow names the step's method and actions.
func PathSVG(p Path) string {
	const boxW, boxH, gap, top = 170, 54, 170, 30
	type box struct{ name, kind string }
	boxes := []box{{p.SourceName, p.SourceKind}}
	for _, s := range p.Steps {
		boxes = append(boxes, box{s.ToName, kindFromARN(s.To)})
	}
	width := len(boxes)*(boxW+gap) - gap + 20
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="path-graph" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		width, boxH+2*top+10, width, boxH+2*top+10, html.EscapeString("path from "+p.SourceName))
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>`)
	for i, bx := range boxes {
		x := 10 + i*(boxW+gap)
		fill := "#eef3fb"
		if bx.kind == KindAdmin || bx.kind == KindRoot || i == len(boxes)-1 && len(boxes) > 1 {
			fill = "#fbe9e7"
		}
		fmt.Fprintf(&b, `<g class="node"><rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="%s" stroke="#445"/>`, x, top, boxW, boxH, fill)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-size="13" font-weight="bold">%s</text>`, x+boxW/2, top+23, html.EscapeString(clip(bx.name, 24)))
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-size="11" fill="#555">%s</text></g>`, x+boxW/2, top+41, html.EscapeString(bx.kind))
		if i+1 < len(boxes) {
			s := p.Steps[i]
			var acts []string
			for _, g := range s.Grants {
				acts = append(acts, g.Action)
			}
			x1, x2, y := x+boxW, x+boxW+gap, top+boxH/2
			fmt.Fprintf(&b, `<g class="edge"><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" stroke-width="1.5" marker-end="url(#arrow)"/>`, x1, y, x2, y)
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-size="10">%d. %s</text>`, (x1+x2)/2, y-8, i+1, html.EscapeString(clip(s.Method, 22)))
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-size="9" fill="#666">%s</text><title>%s</title></g>`, (x1+x2)/2, y+16,
				html.EscapeString(clip(strings.Join(acts, ", "), 26)), html.EscapeString(s.Text))
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// WriteHTML prints a self-contained page (no scripts, no external
// resources): for each path its drawing and its steps in words.
func (r Report) WriteHTML(w io.Writer) error {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Parapet: paths to " + e(r.Target) + "</title>\n")
	b.WriteString(`<style>body{font-family:system-ui,sans-serif;margin:2em;color:#223}section{border-top:1px solid #ccd;padding:1em 0}` +
		`.graph{overflow-x:auto}ol li{margin:.3em 0;font-size:.92em}code{background:#f3f3f6;padding:0 .2em}</style></head><body>` + "\n")
	reach := 0
	for _, p := range r.Paths {
		if len(p.Steps) > 0 {
			reach++
		}
	}
	fmt.Fprintf(&b, "<h1>Paths to %s</h1>\n<p>Account %s: %d principals, %d edges, %d escalation methods evaluated. <strong>%d principals can reach %s.</strong></p>\n",
		e(r.Target), e(r.Account), r.Principals, r.Edges, r.Methods, reach, e(r.Target))
	for _, p := range r.Paths {
		n := len(p.Steps)
		steps := "steps"
		if n == 1 {
			steps = "step"
		}
		fmt.Fprintf(&b, "<section class=\"path\" data-source=\"%s\"><h2>%s %s <small>(%d %s)</small></h2>\n", e(p.Source), e(p.SourceKind), e(p.SourceName), n, steps)
		if n == 0 {
			via := ""
			if p.AdminVia != nil {
				via = ": " + p.AdminVia.String()
			}
			fmt.Fprintf(&b, "<p>Already %s%s</p></section>\n", e(r.Target), e(via))
			continue
		}
		b.WriteString("<div class=\"graph\">" + PathSVG(p) + "</div>\n<ol>")
		for _, s := range p.Steps {
			b.WriteString("<li>" + e(s.Text) + "</li>")
		}
		b.WriteString("</ol></section>\n")
	}
	if len(r.Problems) > 0 {
		b.WriteString("<h2>Problems</h2><ul>")
		for _, p := range r.Problems {
			b.WriteString("<li>" + e(p) + "</li>")
		}
		b.WriteString("</ul>")
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Write prints the report in a format: table, json, dot, graphml, cypher, html.
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
	case "html":
		return r.WriteHTML(w)
	}
	return fmt.Errorf("unknown format %q (table, json, dot, graphml, cypher, html)", format)
}
