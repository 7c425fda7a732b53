package cli

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runSafe is run, with a panic turned into a test failure (it would
// otherwise end the test binary).
func runSafe(t *testing.T, args ...string) (out, errOut string, code int) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%v panicked: %v", args, r)
			code = -1
		}
	}()
	return run(t, "", args...)
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Every command that reads inputs, given a folder of good logs with one
// stray file beside them (or a missing path among good ones), reports the
// stray input on stderr naming it, keeps every good input's output and
// exits 3 when the input was bad (0 when it was only skipped: an empty
// file, a digest file). It never panics.
func TestStrayInput(t *testing.T) {
	trail := func(first, second string) string {
		return `{"Records":[` + ctRecord(first, "mallory", "AKIAMALLORY", "config.amazonaws.com", "StopConfigurationRecorder", map[string]any{"configurationRecorderName": "default"}, nil) +
			`,` + ctRecord(second, "alice", "AKIAALICE", "ec2.amazonaws.com", "DescribeInstances", map[string]any{}, nil) + `]}`
	}
	good := map[string]string{"a-trail.json": trail("ev-good-1", "ev-good-2"), "z-trail.json": trail("ev-good-3", "ev-good-4")}
	digest, err := os.ReadFile(filepath.Join(samples, "ct-digest.json"))
	if err != nil {
		t.Fatal(err)
	}
	zipped := gzipped(t, trail("ev-cut-1", "ev-cut-2")+"\n"+trail("ev-cut-3", "ev-cut-4"))
	cases := []struct {
		name  string
		file  string // the stray file's name; "" for a missing path
		body  []byte
		code  int
		parts []string // on stderr
	}{
		{"empty file", "empty.json", nil, ExitBadInput, []string{"skipped: ", "empty.json", "empty input"}},
		{"binary", "blob.bin", []byte("\x7fELF\x02\x01\x01\x00\x00\x00garbage\x00\xff"), ExitBadInput, []string{"bad input: ", "blob.bin", "binary data"}},
		{"text", "README.txt", []byte("These are our CloudTrail logs.\nAsk ops before deleting.\n"), ExitBadInput, []string{"bad input: ", "README.txt", "neither JSON nor a VPC flow log"}},
		{"non-CloudTrail JSON", "package.json", []byte(`{"name":"x","version":"1.0.0"}`), ExitBadInput, []string{"bad input: ", "package.json", "not a CloudTrail"}},
		{"S3 notification", "s3event.json", []byte(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-11-24T10:00:00.000Z","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"trail"},"object":{"key":"AWSLogs/x.json.gz"}}}]}`), ExitBadInput, []string{"bad input: ", "s3event.json", "S3 event notification"}},
		{"digest file", "digest.json", digest, ExitOK, []string{"skipped: ", "digest.json", "digest file"}},
		{"truncated gzip", "cut.json.gz", zipped[:len(zipped)-10], ExitBadInput, []string{"bad input: ", "cut.json.gz"}},
		{"missing path", "", nil, ExitBadInput, []string{"bad input: ", "missing.json", "no such file"}},
	}
	commands := []struct {
		name string
		args func(dir string) []string
		// check looks at stdout for the good input's output.
		check func(t *testing.T, out string)
	}{
		{"events", func(string) []string { return []string{"events"} }, func(t *testing.T, out string) {
			if !strings.Contains(out, `"id":"ev-good-1"`) || !strings.Contains(out, `"id":"ev-good-4"`) {
				t.Errorf("the good events are missing:\n%s", out)
			}
		}},
		{"detect", func(string) []string { return []string{"detect"} }, func(t *testing.T, out string) {
			if !strings.Contains(out, "AWS Config Recording Stopped") || !strings.Contains(out, "ev-good-1") || !strings.Contains(out, "ev-good-3") {
				t.Errorf("the good input's finding is missing:\n%s", out)
			}
		}},
		{"detect --respond", func(dir string) []string {
			return []string{"detect", "--respond", "--respond-dry-run", "--db", filepath.Join(dir, "parapet.db")}
		}, func(t *testing.T, out string) {
			if !strings.Contains(out, "AWS Config Recording Stopped") {
				t.Errorf("the good input's finding is missing:\n%s", out)
			}
		}},
		{"eval", func(dir string) []string {
			labels := filepath.Join(dir, "labels.jsonl")
			if err := os.WriteFile(labels, []byte(`{"event_id":"ev-good-1","story":"recorder"}`+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{"eval", "--json", "--labels", labels}
		}, func(t *testing.T, out string) {
			var rep evalReport
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("eval output: %v\n%s", err, out)
			}
			if rep.Events < 4 || rep.Labelled != 1 || rep.BySource["rules"] == nil || rep.BySource["rules"].Detected != 1 {
				t.Errorf("eval did not see the good input: %s", out)
			}
		}},
	}
	for _, c := range commands {
		for _, tc := range cases {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				dir := t.TempDir()
				logs := filepath.Join(dir, "logs")
				if err := os.MkdirAll(logs, 0o755); err != nil {
					t.Fatal(err)
				}
				// the stray file sorts before and after good files
				for name, body := range good {
					if err := os.WriteFile(filepath.Join(logs, name), []byte(body), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				paths := []string{logs}
				if tc.file != "" {
					if err := os.WriteFile(filepath.Join(logs, tc.file), tc.body, 0o644); err != nil {
						t.Fatal(err)
					}
				} else {
					paths = []string{filepath.Join(logs, "a-trail.json"), filepath.Join(dir, "missing.json"), filepath.Join(logs, "z-trail.json")}
				}
				args := append(append(c.args(dir), "--progress", "never", "--no-ueba"), paths...)
				if c.name == "events" {
					args = append([]string{"events", "--progress", "never"}, paths...)
				}
				out, errOut, code := runSafe(t, args...)
				if code != tc.code {
					t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errOut)
				}
				for _, p := range tc.parts {
					if !strings.Contains(errOut, p) {
						t.Errorf("stderr does not say %q:\n%s", p, errOut)
					}
				}
				if !strings.Contains(errOut, "from 3 inputs") {
					t.Errorf("the summary does not count the three inputs:\n%s", errOut)
				}
				c.check(t, out)
			})
		}
	}
}
