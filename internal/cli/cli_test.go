package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const samples = "../ingest/testdata/samples"

// run executes the CLI in-process and returns stdout, stderr and the exit
// status main would use.
func run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := New(IO{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	code := Exit(&errb, err)
	return out.String(), errb.String(), code
}

func TestVersion(t *testing.T) {
	out, _, code := run(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "parapet ") || !strings.Contains(out, "commit: ") || !strings.Contains(out, "built: ") {
		t.Errorf("version = %q (exit %d)", out, code)
	}
}

func TestEventsFormats(t *testing.T) {
	good := filepath.Join(samples, "ct-jsonlines.jsonl")
	out, errOut, code := run(t, "", "events", good)
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("jsonl: %d lines, want 2", len(lines))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("jsonl line is not JSON: %v", err)
		}
		for _, k := range []string{"id", "time", "class_uid", "actor", "src_endpoint", "api", "cloud"} {
			if _, ok := m[k]; !ok {
				t.Errorf("jsonl line lacks %q: %s", k, l)
			}
		}
	}
	if !strings.Contains(errOut, "parapet: 2 events from 1 inputs") || !strings.Contains(errOut, "0 bad records") {
		t.Errorf("summary missing: %q", errOut)
	}

	out, _, code = run(t, "", "events", "--format", "ocsf", "--raw", good)
	if code != ExitOK {
		t.Fatalf("ocsf exit %d", code)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["metadata"] == nil || m["raw_data"] == nil {
			t.Errorf("ocsf line %q: %v", l, err)
		}
	}

	out, _, _ = run(t, "", "events", "-f", "table", good)
	if !strings.HasPrefix(out, "TIME") || strings.Count(out, "\n") != 3 || !strings.Contains(out, "CreateUser") {
		t.Errorf("table = %q", out)
	}
}

func TestEventsStdin(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(samples, "ct-jsonlines.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	out, _, code := run(t, string(data), "events", "-")
	if code != ExitOK || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"file":"(stdin)"`) {
		t.Errorf("stdin: exit %d out %q", code, out)
	}
}

func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "mixed.jsonl")
	good, _ := os.ReadFile(filepath.Join(samples, "ct-jsonlines.jsonl"))
	if err := os.WriteFile(bad, append(append([]byte("{oops\n"), good...), "not json\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "events", bad)
	if code != ExitBadInput {
		t.Errorf("bad input: exit %d, want %d", code, ExitBadInput)
	}
	if strings.Count(out, "\n") != 2 {
		t.Errorf("the good records were not printed: %q", out)
	}
	if !strings.Contains(errOut, "mixed.jsonl: offset 0 (line 1)") || !strings.Contains(errOut, "2 bad records") {
		t.Errorf("stderr does not locate the bad input: %q", errOut)
	}

	for _, args := range [][]string{{"events"}, {"events", "--format", "xml", bad}, {"events", "--nope", bad}, {"version", "extra"}} {
		if _, _, code := run(t, "", args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
	if _, _, code := run(t, "", "events", filepath.Join(dir, "missing.json")); code != ExitFailure {
		t.Errorf("missing file: exit %d, want %d", code, ExitFailure)
	}
}

func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a week of data")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	out, errOut, code := run(t, "", "demo", "--dir", dir, "--days", "5", "--progress", "never")
	if code != ExitOK {
		t.Fatalf("demo exit %d: %s", code, errOut)
	}
	for _, s := range []string{"ssh-open", "public-bucket", "key-compromise", "cryptomining", "exfiltration", "What Parapet saw"} {
		if !strings.Contains(out, s) {
			t.Errorf("demo output lacks %q", s)
		}
	}
	if strings.Contains(out, "NOT FOUND") {
		t.Errorf("a story was not found in the decoded events:\n%s", out)
	}
}
