package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// config validate names every problem of a file in one run, with its
// line and YAML keys; a valid file prints its effective configuration
// with the file's keys.
func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("detect:\n  ueba:\n    treshold: 3\ncorrelate:\n  window: soon\nlisten: nowhere\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "config", "validate", bad)
	if code != ExitFailure || out != "" {
		t.Errorf("bad file: exit %d, stdout %q", code, out)
	}
	for _, want := range []string{bad + ":3: detect.ueba.treshold: unknown key; did you mean threshold?", bad + `:5: correlate.window: "soon" is not a duration`, bad + `:6: listen: "nowhere" is not host:port`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("auth:\n  four_eyes: true\nsources:\n  http:\n    max_body: 1MiB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = run(t, "", "config", "validate", good)
	if code != ExitOK {
		t.Fatalf("good file: exit %d: %s", code, errOut)
	}
	var eff struct {
		Auth    map[string]any            `json:"auth"`
		Detect  map[string]any            `json:"detect"`
		Sources map[string]map[string]any `json:"sources"`
	}
	if err := json.Unmarshal([]byte(out), &eff); err != nil {
		t.Fatalf("effective configuration: %v\n%s", err, out)
	}
	if eff.Auth["four_eyes"] != true || eff.Sources["http"]["max_body"] != float64(1<<20) || eff.Detect["builtin_rules"] != true {
		t.Errorf("effective configuration without the file's keys:\n%s", out)
	}
}
