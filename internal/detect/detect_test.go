package detect_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/demo"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/ingest/file"
	"github.com/parapet-sec/parapet/internal/sharedtest"
)

func builtin(t *testing.T) []*sigma.Rule {
	t.Helper()
	rules, errs := sigma.Load(content.FS, "rules", sigma.Options{})
	for _, e := range errs {
		t.Errorf("builtin rule: %v", e)
	}
	return rules
}

// TestBuiltinRuleExamples runs every builtin rule on its own examples.
func TestBuiltinRuleExamples(t *testing.T) {
	rules := builtin(t)
	if len(rules) < 30 {
		t.Errorf("%d builtin rules", len(rules))
	}
	ids := map[string]string{}
	for _, r := range rules {
		if miss := incomplete(r); len(miss) > 0 {
			t.Errorf("%s: a builtin rule needs %s", r.File, strings.Join(miss, ", "))
		}
		if other, dup := ids[r.ID]; dup {
			t.Errorf("%s and %s share id %s", r.File, other, r.ID)
		}
		ids[r.ID] = r.File
	}
	results, problems := detect.RunExamples(content.FS, rules)
	for _, p := range problems {
		t.Error(p)
	}
	for _, res := range results {
		if !res.OK() {
			t.Errorf("%s:%d: rule %q: want match=%v, got %v (%v)", res.File, res.Line, res.Rule.Title, res.Want, res.Got, res.Err)
		}
	}
}

// incomplete lists what a builtin rule lacks: an id, a level, an ATT&CK
// technique tag, false positives and a triage guide (correlation rules
// too). Its examples, a matching and a near-miss one at least, are
// RunExamples' to check.
func incomplete(r *sigma.Rule) []string { return detect.Incomplete(r) }

// TestIncompleteRuleNamed: a rule lacking a part, or an example of each
// kind, is reported with its file.
func TestIncompleteRuleNamed(t *testing.T) {
	fsys := fstest.MapFS{
		"r/bare.yml": {Data: []byte("title: Bare\nid: x-1\nlevel: low\ntags: [attack.t1078]\nfalsepositives: [none]\n" +
			"logsource: {product: aws, service: cloudtrail}\ndetection: {s: {eventName: ListUsers}, condition: s}\n")},
		"r/bare.examples.jsonl": {Data: []byte(`{"match":false,"record":{"eventVersion":"1.09","eventTime":"2026-11-02T10:00:00Z","eventName":"GetUser","eventSource":"iam.amazonaws.com","eventID":"e1"}}` + "\n")},
	}
	rules, errs := sigma.Load(fsys, "r", sigma.Options{})
	if len(errs) > 0 || len(rules) != 1 {
		t.Fatalf("%d rules, %v", len(rules), errs)
	}
	if miss := incomplete(rules[0]); len(miss) != 1 || !strings.HasPrefix(miss[0], "a triage guide") {
		t.Errorf("incomplete = %v, want the triage guide only", miss)
	}
	_, problems := detect.RunExamples(fsys, rules)
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), "r/bare.examples.jsonl") || !strings.Contains(problems[0].Error(), "has 0 and 1") {
		t.Errorf("problems = %v, want the examples file named for lacking a matching example", problems)
	}
}

// TestIndexAgreesWithBruteForce: the index never hides a match.
func TestIndexAgreesWithBruteForce(t *testing.T) {
	rules := builtin(t)
	if dir, err := sharedtest.Find("sigma/rules/cloud"); err != nil {
		t.Logf("index checked on the builtin rules only: %v", err)
	} else {
		more, errs := sigma.Load(os.DirFS(dir), ".", sigma.Options{})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		rules = append(rules, more...)
	}
	set := sigma.NewSet(rules)
	d := filepath.Join(t.TempDir(), "demo")
	if _, err := demo.Generate(demo.Config{Dir: d, Seed: 3, Days: 5}); err != nil {
		t.Fatal(err)
	}
	ins, _ := file.Inputs([]string{filepath.Join(d, "AWSLogs"), "../ingest/testdata/samples"}, nil)
	checked := 0
	_, err := ingest.Run(context.Background(), ins, ingest.Options{}, func(b *ingest.Batch) error {
		for i := range b.Events {
			ev := &b.Events[i]
			want := map[*sigma.Rule]bool{}
			for _, r := range rules {
				if r.Applies(ev.Source) && r.Match(ev) {
					want[r] = true
				}
			}
			got := map[*sigma.Rule]bool{}
			set.Match(ev, func(r *sigma.Rule) { got[r] = true })
			if len(got) != len(want) {
				t.Fatalf("event %s (%s): index found %d rules, brute force %d", ev.ID, ev.API.Operation, len(got), len(want))
			}
			for r := range want {
				if !got[r] {
					t.Fatalf("event %s: index missed %s", ev.ID, r.File)
				}
			}
			checked++
		}
		return nil
	})
	if err != nil || checked < 10000 {
		t.Fatalf("checked %d events: %v", checked, err)
	}
	if n := set.Candidates(event.SourceCloudTrail, "GetObject"); n >= len(rules)/2 {
		t.Errorf("GetObject is tested against %d of %d rules: the index does not narrow", n, len(rules))
	}
}
