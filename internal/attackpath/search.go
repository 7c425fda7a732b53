package attackpath

import (
	"fmt"
	"sort"
	"strings"
)

// Step is one edge of a path, for reports.
type Step struct {
	From     string  `json:"from"` // ARN
	FromName string  `json:"from_name"`
	To       string  `json:"to"`
	ToName   string  `json:"to_name"`
	Method   string  `json:"method"`
	Title    string  `json:"title"`
	Object   string  `json:"object"` // what the method acts on
	Grants   []Grant `json:"grants"`
	Text     string  `json:"text"` // the step in words
}

// Path leads from a principal to the target.
type Path struct {
	Source     string `json:"source"` // ARN
	SourceName string `json:"source_name"`
	SourceKind string `json:"source_kind"`
	Target     string `json:"target"`
	TargetName string `json:"target_name"`
	Steps      []Step `json:"steps"` // none: the source is the target (an administrator already)
	AdminVia   *Grant `json:"admin_via,omitempty"`
	// Access is the level of access the last step gives to a resource
	// target (read, write, admin; "" when the target is a principal).
	Access string `json:"access,omitempty"`
	edges  []int
}

// Len is the number of steps.
func (p Path) Len() int { return len(p.Steps) }

// sources are the principals paths are reported for: users, roles,
// external accounts and identity providers (groups are reached by
// joining them; services are AWS itself; the root is admin).
func sourceKind(k string) bool {
	return k == KindUser || k == KindRole || k == KindExternal || k == KindFederated
}

// targets resolves --to: "" or "admin" → every administrator; else the
// principal with that ARN or name.
func (g *Graph) targets(to string) ([]int, error) {
	if to == "" || to == "admin" {
		var out []int
		for i, n := range g.Nodes {
			if n.Admin {
				out = append(out, i)
			}
		}
		return out, nil
	}
	n := g.Node(to)
	if n == nil || n.Kind == KindResource {
		if d := g.findData(to); d != nil {
			return []int{g.accessNode(d)}, nil
		}
		return nil, fmt.Errorf("%s is neither a principal nor a bucket, KMS key, secret, queue or topic of the graph", to)
	}
	return []int{g.byID[n.ID]}, nil
}

// distances runs one breadth-first search backwards from the targets:
// for every node its distance and the first edge of a shortest path.
func (g *Graph) distances(tg []int) (dist, next []int) {
	dist = make([]int, len(g.Nodes))
	next = make([]int, len(g.Nodes))
	for i := range dist {
		dist[i], next[i] = -1, -1
	}
	queue := make([]int, 0, len(g.Nodes))
	for _, t := range tg {
		dist[t] = 0
		queue = append(queue, t)
	}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, ei := range g.in[v] {
			u := g.Edges[ei].From
			if dist[u] < 0 {
				dist[u], next[u] = dist[v]+1, ei
				queue = append(queue, u)
			}
		}
	}
	return dist, next
}

// Shortest returns, for every source principal that reaches the target
// ("" or "admin": any administrator; else a principal's ARN or name),
// one shortest path, sorted by length then source.
func (g *Graph) Shortest(to string) ([]Path, error) {
	tg, err := g.targets(to)
	if err != nil {
		return nil, err
	}
	dist, next := g.distances(tg)
	named := to != "" && to != "admin" // the target itself is not listed
	var out []Path
	for i, n := range g.Nodes {
		if dist[i] < 0 || !sourceKind(n.Kind) || (named && dist[i] == 0) {
			continue
		}
		var edges []int
		for v := i; dist[v] > 0; v = g.Edges[next[v]].To {
			edges = append(edges, next[v])
		}
		out = append(out, g.path(i, edges))
	}
	sortPaths(out)
	return out, nil
}

// All returns every simple path of at most maxLen steps from each source
// to the target, at most perSource per source, shortest first.
func (g *Graph) All(to string, maxLen, perSource int) ([]Path, error) {
	tg, err := g.targets(to)
	if err != nil {
		return nil, err
	}
	isTarget := map[int]bool{}
	for _, t := range tg {
		isTarget[t] = true
	}
	dist, _ := g.distances(tg)
	var out []Path
	for i, n := range g.Nodes {
		if dist[i] < 0 || !sourceKind(n.Kind) {
			continue
		}
		if isTarget[i] {
			if to == "" || to == "admin" {
				out = append(out, g.path(i, nil))
			}
			continue
		}
		var found []Path
		onPath := map[int]bool{i: true}
		var stack []int
		var walk func(v int)
		walk = func(v int) {
			if len(found) >= perSource {
				return
			}
			for _, ei := range g.out[v] {
				w := g.Edges[ei].To
				if onPath[w] || dist[w] < 0 || len(stack)+1+dist[w] > maxLen {
					continue
				}
				stack = append(stack, ei)
				if isTarget[w] {
					found = append(found, g.path(i, append([]int(nil), stack...)))
				} else {
					onPath[w] = true
					walk(w)
					onPath[w] = false
				}
				stack = stack[:len(stack)-1]
				if len(found) >= perSource {
					return
				}
			}
		}
		walk(i)
		sortPaths(found)
		out = append(out, found...)
	}
	return out, nil
}

func sortPaths(ps []Path) {
	sort.SliceStable(ps, func(i, j int) bool {
		if len(ps[i].Steps) != len(ps[j].Steps) {
			return len(ps[i].Steps) < len(ps[j].Steps)
		}
		return ps[i].Source < ps[j].Source
	})
}

func (g *Graph) path(src int, edges []int) Path {
	n := g.Nodes[src]
	p := Path{Source: n.ID, SourceName: n.Name, SourceKind: n.Kind, edges: edges}
	last := n
	for _, ei := range edges {
		e := g.Edges[ei]
		from, to := g.Nodes[e.From], g.Nodes[e.To]
		p.Steps = append(p.Steps, Step{From: from.ID, FromName: from.Name, To: to.ID, ToName: to.Name, Method: e.Method.ID, Title: e.Method.Title,
			Object: e.Object, Grants: e.Grants, Text: stepText(from, e)})
		last = to
	}
	p.Target, p.TargetName, p.AdminVia = last.ID, last.Name, last.AdminVia
	if n := len(edges); n > 0 && last.Kind == KindResource {
		e := g.Edges[edges[n-1]]
		p.Access = strings.TrimPrefix(e.Method.ID, "access-")
		p.TargetName = e.ObjectName
	}
	return p
}

// stepText says a step in words: "ci-deployer can pass role ops-admin to
// a new Lambda function and invoke it: iam:PassRole on … via policy
// deploy, statement 2; lambda:CreateFunction …".
func stepText(from *Node, e Edge) string {
	verb := strings.ReplaceAll(e.Method.Verb, "{target}", e.ObjectName)
	if verb == "" {
		verb = "can use " + e.Method.ID + " on " + e.ObjectName
	}
	parts := make([]string, len(e.Grants))
	for i, gr := range e.Grants {
		parts[i] = gr.String()
	}
	return fmt.Sprintf("%s %s: %s", from.Name, verb, strings.Join(parts, "; "))
}

// Text is the whole path in words.
func (p Path) Text() string {
	if len(p.Steps) == 0 {
		s := p.SourceName + " is an administrator"
		if p.AdminVia != nil && p.AdminVia.Policy != "" {
			s += fmt.Sprintf(" (policy %s, statement %d)", p.AdminVia.Policy, p.AdminVia.Statement)
		}
		return s
	}
	var b strings.Builder
	for i, s := range p.Steps {
		if len(p.Steps) > 1 {
			fmt.Fprintf(&b, "%d. ", i+1)
		}
		b.WriteString(s.Text)
		b.WriteString("\n")
	}
	end := p.TargetName
	if p.Access != "" {
		end = fmt.Sprintf("%s has %s access to %s", p.SourceName, p.Access, p.TargetName)
	} else if p.Target == AdminID {
		end = "it can grant itself any permission"
	} else if p.AdminVia != nil && p.AdminVia.Policy != "" {
		end = fmt.Sprintf("%s is an administrator (policy %s, statement %d)", p.TargetName, p.AdminVia.Policy, p.AdminVia.Statement)
	} else {
		end = "reaches " + end
	}
	b.WriteString("=> " + end)
	return b.String()
}
