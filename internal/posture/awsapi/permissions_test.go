package awsapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Reads is exactly the calls this package's source makes: every
// SDK XxxInput it builds has a row, and every row is built somewhere.
func TestReadsMatchSource(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	used := map[[2]string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			sel, ok := cl.Type.(*ast.SelectorExpr)
			if !ok || !strings.HasSuffix(sel.Sel.Name, "Input") {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); ok {
				used[[2]string{pkg.Name, strings.TrimSuffix(sel.Sel.Name, "Input")}] = true
			}
			return true
		})
	}
	table := map[[2]string]bool{}
	for _, r := range Reads {
		k := [2]string{r.Package, r.Operation}
		table[k] = true
		if !used[k] {
			t.Errorf("Reads has %s.%s, which the source does not call", r.Package, r.Operation)
		}
		if r.Action != "" && !strings.Contains(r.Action, ":") {
			t.Errorf("Reads %s.%s: action %q is not service:Action", r.Package, r.Operation, r.Action)
		}
	}
	for k := range used {
		if !table[k] {
			t.Errorf("the source calls %s.%s: add it to Reads with its IAM action", k[0], k[1])
		}
	}
	p := Permissions()
	if !slices.IsSorted(p) || len(p) == 0 || slices.Contains(p, "") {
		t.Errorf("Permissions() = %v", p)
	}
}
