package file

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInputs(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"b/2.json", "a/1.json.gz", ".hidden/x.json", "a/.dot.json", "c.log"} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ins, err := Inputs([]string{dir, filepath.Join(dir, "c.log"), "-"}, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range ins {
		names = append(names, strings.TrimPrefix(in.Name, dir+"/"))
	}
	want := "a/1.json.gz b/2.json c.log c.log (stdin)"
	if strings.Join(names, " ") != want {
		t.Errorf("Inputs = %q, want %q", strings.Join(names, " "), want)
	}
	if ins[0].Size != 2 {
		t.Errorf("size %d, want 2", ins[0].Size)
	}
	if _, err := Inputs([]string{filepath.Join(dir, "nope")}, nil); err == nil {
		t.Error("a missing path was not an error")
	}
}
