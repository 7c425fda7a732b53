// Package sharedtest finds the project's shared reference data (the shared/
// folder beside the checkout) for tests. The product never reads it.
package sharedtest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Path returns shared/data/<rel>, skipping the test with a clear message
// when the folder is not there. PARAPET_SHARED overrides the location of
// shared/.
func Path(t testing.TB, rel string) string {
	t.Helper()
	p, err := Find(rel)
	if err != nil {
		t.Skipf("%v: this test needs the shared/ folder beside the checkout, or PARAPET_SHARED", err)
	}
	return p
}

// Find returns shared/data/<rel>, or an error saying why it is not there,
// for tests that do more when it is present and less when it is not.
func Find(rel string) (string, error) {
	root := os.Getenv("PARAPET_SHARED")
	if root == "" {
		dir, err := os.Getwd()
		if err != nil {
			return "", err
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				root = filepath.Join(dir, "..", "shared")
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return "", fmt.Errorf("shared reference data not found: no go.mod above the test")
			}
			dir = parent
		}
	}
	p := filepath.Join(root, "data", rel)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("shared reference data %s is absent", p)
	}
	return p, nil
}
