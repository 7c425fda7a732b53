// Package sharedtest finds the project's shared reference data (the shared/
// folder beside the checkout) for tests. The product never reads it.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Path returns shared/data/<rel>, skipping the test with a clear message
// when the folder is not there. PARAPET_SHARED overrides the location of
// shared/.
func Path(t testing.TB, rel string) string {
	t.Helper()
	root := os.Getenv("PARAPET_SHARED")
	if root == "" {
		dir, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				root = filepath.Join(dir, "..", "shared")
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				t.Skip("shared reference data not found: no go.mod above the test; set PARAPET_SHARED")
			}
			dir = parent
		}
	}
	p := filepath.Join(root, "data", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared reference data %s is absent (%v): this test needs the shared/ folder beside the checkout, or PARAPET_SHARED", p, err)
	}
	return p
}
