package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLakeSchema(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "logs", "a.json.gz")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, trailFile("044455556666", time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC), 0, 3), 0o644); err != nil {
		t.Fatal(err)
	}
	lakeDir := filepath.Join(dir, "lake")
	if _, errOut, code := run(t, "", "lake", "import", "--lake", lakeDir, "--progress", "never", p); code != ExitOK {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	out, errOut, code := run(t, "", "lake", "schema", "--lake", lakeDir, "--athena")
	if code != ExitOK || strings.Count(out, "CREATE EXTERNAL TABLE") != 6 ||
		!strings.Contains(out, "'projection.accountid.values' = '044455556666'") ||
		!strings.Contains(out, "'projection.eventday.range' = '20261001,NOW'") {
		t.Fatalf("athena: exit %d: %s\n%s", code, errOut, out)
	}
	out, errOut, code = run(t, "", "lake", "schema", "--lake", lakeDir, "--glue")
	var tables []map[string]any
	if code != ExitOK || json.Unmarshal([]byte(out), &tables) != nil || len(tables) != 6 {
		t.Fatalf("glue: exit %d: %s\n%s", code, errOut, out)
	}
	out, errOut, code = run(t, "", "lake", "schema", "--lake", lakeDir, "--duckdb")
	if code != ExitOK || strings.Count(out, "CREATE OR REPLACE VIEW") != 6 || strings.Count(out, "read_parquet(") != 1 || !strings.Contains(out, "VIEW api_activity AS") {
		t.Fatalf("duckdb: exit %d: %s\n%s", code, errOut, out)
	}
	for _, args := range [][]string{{"lake", "schema", "--lake", lakeDir}, {"lake", "schema", "--lake", lakeDir, "--athena", "--glue"}} {
		if _, _, code := run(t, "", args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want usage", args, code)
		}
	}
	// A lake not made yet is not made by asking for its schema.
	missing := filepath.Join(dir, "nothing-here")
	if out, _, code := run(t, "", "lake", "schema", "--lake", missing, "--athena"); code != ExitOK || !strings.Contains(out, "'projection.accountid.type' = 'injected'") {
		t.Errorf("missing lake: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("schema created the lake folder: %v", err)
	}
}
