package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Commands that read the store (or decide what it holds) never create
// one: without a store they say so and exit 1, and leave no file or
// folder behind.
func TestNoStoreIsNotCreated(t *testing.T) {
	t.Chdir(t.TempDir())
	missing := filepath.Join(t.TempDir(), "nowhere", "parapet.db")
	for _, tc := range []struct {
		args []string
		db   string // the store the command looks for
	}{
		{[]string{"approvals", "list"}, "parapet-data/parapet.db"},
		{[]string{"approvals", "list", "--db", missing}, missing},
		{[]string{"approvals", "approve", "apr-1", "--by", "alice", "--db", missing}, missing},
		{[]string{"approvals", "deny", "apr-1", "--by", "alice"}, "parapet-data/parapet.db"},
		{[]string{"audit", "export"}, "parapet-data/parapet.db"},
		{[]string{"audit", "verify", "--db", missing}, missing},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errOut, code := run(t, "", tc.args...)
			if code != ExitFailure || !strings.Contains(errOut, "no store at "+tc.db) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1 and \"no store at %s\"", code, out, errOut, tc.db)
			}
			for _, p := range []string{"parapet-data", filepath.Dir(missing)} {
				if _, err := os.Stat(p); err == nil {
					t.Errorf("%s was created", p)
				}
			}
		})
	}
}
