package terraform

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFiles: a file is parsed once per cache and its errors come back
// with it; a nil cache parses every time; a missing file is an error.
func TestFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "main.tf")
	bad := filepath.Join(dir, "bad.tf")
	os.WriteFile(good, []byte("resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"x\"\n}\n"), 0o644)
	os.WriteFile(bad, []byte("resource \"aws_s3_bucket\" {\n"), 0o644)
	fs := NewFiles()
	_, f1, d1, err := fs.Parse(good)
	_, f2, _, _ := fs.Parse(good)
	if err != nil || f1 == nil || d1.HasErrors() || f1 != f2 {
		t.Fatalf("good file: %v %v; parsed twice: %v", err, d1, f1 != f2)
	}
	_, _, d, _ := fs.Parse(bad)
	_, _, d2, _ := fs.Parse(bad)
	if !d.HasErrors() || !d2.HasErrors() {
		t.Errorf("a bad file's errors are not kept: %v / %v", d, d2)
	}
	var none *Files
	_, f3, _, _ := none.Parse(good)
	_, f4, _, _ := none.Parse(good)
	if f3 == nil || f3 == f4 {
		t.Errorf("a nil cache should parse every time")
	}
	if _, _, _, err := fs.Parse(filepath.Join(dir, "missing.tf")); err == nil {
		t.Errorf("a missing file is not an error")
	}
	// The loader reports a bad file once even when two modules call it.
	mod := filepath.Join(dir, "mod")
	os.MkdirAll(mod, 0o755)
	os.WriteFile(filepath.Join(mod, "m.tf"), []byte("variable \"x\" {\n"), 0o644)
	root := filepath.Join(dir, "root")
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, "main.tf"), []byte("module \"a\" {\n  source = \"../mod\"\n}\nmodule \"b\" {\n  source = \"../mod\"\n}\n"), 0o644)
	_, errs := Load(root, Options{Files: fs})
	if len(errs) != 1 {
		t.Errorf("Load: %d errors %v, want the bad module file reported once", len(errs), errs)
	}
	if mods := CalledModules(root, fs); len(mods) != 2 {
		t.Errorf("CalledModules = %v, want the module folder twice", mods)
	}
}
