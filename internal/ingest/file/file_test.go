package file

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/ingest"
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
	// Among readable ones, a missing path is an input that fails when
	// opened, in its place: reported beside the others, which are read.
	ins, err = Inputs([]string{filepath.Join(dir, "c.log"), filepath.Join(dir, "nope"), filepath.Join(dir, "b")}, nil)
	if err != nil || len(ins) != 3 || ins[1].Name != filepath.Join(dir, "nope") {
		t.Fatalf("Inputs with a missing path = %v, %v", ins, err)
	}
	if _, err := ins[1].Open(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("opening the missing path: %v", err)
	}
}

func TestSortByTime(t *testing.T) {
	names := []string{
		"AWSLogs/2/CloudTrail/us-east-1/2026/11/02/2_CloudTrail_us-east-1_20261102T1055Z_ABC.json.gz",
		"notes.jsonl",
		"AWSLogs/1/CloudTrail/eu-west-1/2026/11/02/1_CloudTrail_eu-west-1_20261102T0955Z_XYZ.json.gz",
		"AWSLogs/1/vpcflowlogs/eu-west-1/2026/11/02/1_vpcflowlogs_eu-west-1_fl-1_20261102T1000Z_ab12.log.gz",
		"export_2026.json",
	}
	var in []ingest.Input
	for _, n := range names {
		in = append(in, ingest.Input{Name: n})
	}
	SortByTime(in)
	var got []string
	for _, x := range in {
		got = append(got, x.Name)
	}
	want := []string{names[1], names[4], names[2], names[3], names[0]}
	if !slices.Equal(got, want) {
		t.Errorf("order:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
