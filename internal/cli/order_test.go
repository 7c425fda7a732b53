package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// recordAt is ctRecord at a given event time.
func recordAt(t *testing.T, rec string, at time.Time) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(rec), &m); err != nil {
		t.Fatal(err)
	}
	m["eventTime"] = at.UTC().Format(time.RFC3339)
	b, _ := json.Marshal(m)
	return string(b)
}

func writeLines(t *testing.T, path string, lines []string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// findingLines parses detect's JSON lines.
func findingLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var fs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("finding line %q: %v", l, err)
		}
		fs = append(fs, m)
	}
	return fs
}

// The same record delivered more than once (overlapping exports, an
// EventBridge copy of a trail's record) is detected once; the copies are
// counted in the summary. detect and eval both.
func TestDuplicateRecords(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var recs []string
	for i := range 6 {
		name, source := "DescribeInstances", "ec2.amazonaws.com"
		if i == 0 || i == 4 {
			name, source = "StopConfigurationRecorder", "config.amazonaws.com"
		}
		recs = append(recs, recordAt(t, ctRecord("ev-dup-"+strconv.Itoa(i), "mallory", "AKIAMALLORY", source, name, map[string]any{}, nil), t0.Add(time.Duration(i)*time.Minute)))
	}
	writeLines(t, filepath.Join(dir, "export-1.jsonl"), recs[:5])
	writeLines(t, filepath.Join(dir, "export-2.jsonl"), []string{recs[0], recs[2], recs[4], recs[5]}) // overlaps the first
	eb := `{"version":"0","id":"e1","detail-type":"AWS API Call via CloudTrail","source":"aws.config","account":"123456789012","time":"2026-11-02T09:00:00Z","region":"us-east-1","resources":[],"detail":` + recs[0] + `}`
	writeLines(t, filepath.Join(dir, "eventbridge.json"), []string{eb})

	out, errOut, code := run(t, "", "detect", "--progress", "never", "--no-ueba", dir)
	if code != ExitOK {
		t.Fatalf("detect exit %d: %s", code, errOut)
	}
	per := map[string]int{}
	for _, f := range findingLines(t, out) {
		for _, id := range f["event_ids"].([]any) {
			per[id.(string)]++
		}
	}
	if per["ev-dup-0"] != 1 || per["ev-dup-4"] != 1 || len(per) != 2 {
		t.Errorf("findings per event %v, want one each on ev-dup-0 and ev-dup-4", per)
	}
	if !strings.Contains(errOut, "4 duplicate records") || !strings.Contains(errOut, "in 6 events") {
		t.Errorf("the summary does not count the 4 copies (10 records, 6 events):\n%s", errOut)
	}

	labels := filepath.Join(t.TempDir(), "labels.jsonl")
	writeLines(t, labels, []string{`{"event_id":"ev-dup-0","story":"recorder"}`})
	// One finding per event (the two calls are otherwise one episode),
	// so that a copy counted twice would show.
	out, errOut, code = run(t, "", "eval", "--json", "--progress", "never", "--no-ueba", "--no-aggregate", "--labels", labels, dir)
	if code != ExitOK {
		t.Fatalf("eval exit %d: %s", code, errOut)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Events != 6 || rep.Labelled != 1 || rep.BySource["rules"].TrueFindings != 1 || rep.BySource["rules"].FalseAlerts != 1 {
		t.Errorf("eval counted copies: events %d labelled %d, rules %+v; want 6, 1, one true finding and one false alert", rep.Events, rep.Labelled, rep.BySource["rules"])
	}
	if !strings.Contains(errOut, "4 duplicate records") {
		t.Errorf("eval's summary does not count the copies:\n%s", errOut)
	}
}

var lateRE = regexp.MustCompile(`events scored \((\d+) late`)

// Records are detected in event-time order whatever the order of the
// input: a JSON-lines export written newest first is not "late" for the
// behavioural models, and findings come out in event time. Sorting in
// runs spilled to disk gives the same result as in memory, and leaves no
// temporary file behind.
func TestEventTimeOrder(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var recs []string
	for i := range 400 {
		name, source := "DescribeInstances", "ec2.amazonaws.com"
		if i%50 == 7 {
			name, source = "StopConfigurationRecorder", "config.amazonaws.com"
		}
		at := t0.Add(time.Duration(i) * 20 * time.Minute)
		recs = append(recs, recordAt(t, ctRecord("ev-ord-"+strconv.Itoa(i), "user"+strconv.Itoa(i%5), "AKIAUSER"+strconv.Itoa(i%5), source, name, map[string]any{}, nil), at))
	}
	slices.Reverse(recs) // newest first, as some exports write
	export := filepath.Join(dir, "export.jsonl")
	writeLines(t, export, recs)

	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	// A rule of our own, with no correlation rule behind it.
	rule := filepath.Join(dir, "stop-recorder.yml")
	if err := os.WriteFile(rule, []byte(`title: Config Recorder Stopped
id: 5b0c6a64-8f62-4c1e-9a55-3f7d2a0e9c11
status: test
logsource: {product: aws, service: cloudtrail}
detection:
  selection: {eventSource: config.amazonaws.com, eventName: StopConfigurationRecorder}
  condition: selection
level: high
`), 0o644); err != nil {
		t.Fatal(err)
	}
	own := []string{"--no-builtin", "--rules", rule, "--no-aggregate"}
	var outputs, ruleOutputs []string
	for _, args := range [][]string{nil, {"--sort-memory", "16384"}, {"--no-ueba"}, {"--no-ueba", "--sort-memory", "4096"},
		own, append([]string{"--no-ueba"}, own...), append([]string{"--no-ueba", "--sort-memory", "4096"}, own...)} {
		// Without the behavioural models only what the rules match is
		// held to sort (a sparse run); without correlation rules and
		// episodes too, only the findings, encoded (5 and 6): the same
		// findings, in the same order.
		ueba := !slices.Contains(args, "--no-ueba")
		args = append(append([]string{"detect", "--progress", "never", "--ueba-warmup", "1h"}, args...), export)
		out, errOut, code := run(t, "", args...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		if m := lateRE.FindStringSubmatch(errOut); ueba && (m == nil || m[1] != "0") {
			t.Errorf("%v: events were late:\n%s", args, errOut)
		}
		if strings.Contains(errOut, "warning") {
			t.Errorf("%v: a warning:\n%s", args, errOut)
		}
		if !strings.Contains(errOut, "400 events from 1 inputs") {
			t.Errorf("%v: the summary does not count every event:\n%s", args, errOut)
		}
		var last string
		var rules []string
		for i, f := range findingLines(t, out) {
			tm := f["time"].(string)
			if tm < last {
				t.Errorf("%v: a finding at %s after one at %s", args, tm, last)
			}
			last = tm
			if f["source"] == "sigma" {
				rules = append(rules, strings.Split(strings.TrimSpace(out), "\n")[i])
			}
		}
		if len(rules) != 8 {
			t.Errorf("%v: %d rule findings, want 8", args, len(rules))
		}
		if slices.Contains(args, "--sort-memory") && !regexp.MustCompile(`sorted by event time in ([2-9]|\d\d+) runs on disk`).MatchString(errOut) {
			t.Errorf("%v: the summary does not say the input was sorted in runs on disk:\n%s", args, errOut)
		}
		outputs = append(outputs, out)
		ruleOutputs = append(ruleOutputs, strings.Join(rules, "\n"))
	}
	if outputs[0] != outputs[1] || outputs[2] != outputs[3] || outputs[5] != outputs[6] {
		t.Errorf("sorting on disk changed the findings:\n%s\nvs\n%s", outputs[0], outputs[1])
	}
	if ruleOutputs[0] != ruleOutputs[2] || ruleOutputs[4] != ruleOutputs[5] {
		t.Errorf("holding only what the rules match changed their findings:\n%s\nvs\n%s\n%s\nvs\n%s", ruleOutputs[0], ruleOutputs[2], ruleOutputs[4], ruleOutputs[5])
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// Events more than --ueba-lateness behind their account's newest (here:
// a day that comes after the one the state learned) are counted as late
// and, past 1%, warned about in the summary.
func TestLateWarning(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	day := func(name string, d int) string {
		var recs []string
		for i := range 50 {
			at := t0.Add(time.Duration(d)*24*time.Hour + time.Duration(i)*5*time.Minute)
			recs = append(recs, recordAt(t, ctRecord("ev-"+name+"-"+strconv.Itoa(i), "alice", "AKIAALICE", "ec2.amazonaws.com", "DescribeInstances", map[string]any{}, nil), at))
		}
		p := filepath.Join(dir, name+".jsonl")
		writeLines(t, p, recs)
		return p
	}
	second, first := day("second", 1), day("first", 0)
	state := filepath.Join(dir, "state")
	if _, errOut, code := run(t, "", "detect", "--progress", "never", "--state", state, second); code != ExitOK || strings.Contains(errOut, "warning") {
		t.Fatalf("first run: exit %d:\n%s", code, errOut)
	}
	_, errOut, code := run(t, "", "detect", "--progress", "never", "--state", state, first)
	if code != ExitOK {
		t.Fatalf("second run: exit %d: %s", code, errOut)
	}
	if m := lateRE.FindStringSubmatch(errOut); m == nil || m[1] != "50" {
		t.Errorf("the earlier day's 50 events were not late:\n%s", errOut)
	}
	if !strings.Contains(errOut, "warning: 50 of 50 events (100%) arrived late") {
		t.Errorf("no warning about late events:\n%s", errOut)
	}
}
