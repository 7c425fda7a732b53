package framework

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/parapet-sec/parapet/internal/posture/check"
)

func testFramework(t *testing.T, body string) *Framework {
	t.Helper()
	fws, err := Load(fstest.MapFS{"fw.yaml": {Data: []byte(body)}}, ".")
	if err != nil {
		t.Fatal(err)
	}
	return fws[0]
}

const fwYAML = `id: demo
title: Demo framework
source: test
note: 'Checks evidence technical measures only.'
controls:
  - id: 'C.1'
    title: Encryption
    manual: false
    checks: [A-1, B-1, A-1]
    note: 'B-1 covers queues.'
  - id: 'C.2'
    title: Logging
    manual: false
  - id: 'C.3'
    title: Policy
    manual: true
`

// A control's framework-side checks and the checks' own frameworks: maps
// merge, each check once per control, and both count in the score.
func TestEvaluateMergesFrameworkSideChecks(t *testing.T) {
	f := testFramework(t, fwYAML)
	checks := []*check.Check{
		{ID: "A-1", Frameworks: map[string][]string{"demo": {"C.1", "C.2"}}},
		{ID: "B-1"},
		{ID: "C-1", Frameworks: map[string][]string{"demo": {"C.2", "C.2"}, "other": {"x"}}},
	}
	results := []check.Result{
		{CheckID: "A-1", Status: check.Pass},
		{CheckID: "B-1", Status: check.Fail},
		{CheckID: "C-1", Status: check.Pass},
	}
	s := Evaluate(f, checks, results)
	byID := map[string]ControlScore{}
	for _, c := range s.Controls {
		byID[c.ID] = c
	}
	if got := byID["C.1"]; !slices.Equal(got.Checks, []string{"A-1", "B-1"}) || got.Status != "fail" || got.Passed != 1 || got.Failed != 1 {
		t.Errorf("C.1: %+v", got)
	}
	if got := byID["C.2"]; !slices.Equal(got.Checks, []string{"A-1", "C-1"}) || got.Status != "pass" || got.Passed != 2 {
		t.Errorf("C.2: %+v", got)
	}
	if got := byID["C.3"]; got.Status != "manual" || len(got.Checks) != 0 {
		t.Errorf("C.3: %+v", got)
	}
	if s.Passed != 1 || s.Evaluated != 2 || s.Manual != 1 || s.Percent != 50 {
		t.Errorf("score %+v", s)
	}
}

// Notes, per framework and per control, reach the JSON score.
func TestEvaluateNotes(t *testing.T) {
	f := testFramework(t, fwYAML)
	s := Evaluate(f, nil, nil)
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"note":"Checks evidence technical measures only."`, `"note":"B-1 covers queues."`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("%s lacks %s", data, want)
		}
	}
	if strings.Count(string(data), `"note"`) != 2 {
		t.Errorf("empty notes are not left out: %s", data)
	}
}

// Annotate adds the framework side to each check's map, once, without
// touching another check's slice.
func TestAnnotate(t *testing.T) {
	f := testFramework(t, fwYAML)
	backing := []string{"C.2", "untouched"}
	a := &check.Check{ID: "A-1", Frameworks: map[string][]string{"demo": backing[:1]}}
	b := &check.Check{ID: "B-1"}
	Annotate([]*Framework{f}, []*check.Check{a, b})
	Annotate([]*Framework{f}, []*check.Check{a, b}) // idempotent
	if got := a.Frameworks["demo"]; !slices.Equal(got, []string{"C.2", "C.1"}) {
		t.Errorf("A-1: %v", got)
	}
	if got := b.Frameworks["demo"]; !slices.Equal(got, []string{"C.1"}) {
		t.Errorf("B-1: %v", got)
	}
	if backing[1] != "untouched" {
		t.Errorf("Annotate wrote into the check's own array: %v", backing)
	}
}

func TestValidate(t *testing.T) {
	f := testFramework(t, fwYAML)
	good := []*check.Check{
		{ID: "A-1", Frameworks: map[string][]string{"demo": {"C.2"}}},
		{ID: "B-1"},
	}
	var errs []string
	for _, e := range Validate([]*Framework{f}, good) {
		errs = append(errs, e.Error())
	}
	// A-1 is listed twice under C.1 in the fixture.
	if len(errs) != 1 || !strings.Contains(errs[0], "C.1: check A-1 listed twice") {
		t.Errorf("errors: %q", errs)
	}

	bad := testFramework(t, `id: demo
title: Demo
controls:
  - {id: 'C.1', title: One, checks: [NOPE-1]}
  - {id: 'C.1', title: Again}
  - {id: 'C.3', title: Policy, manual: true, checks: [A-1]}
`)
	checks := []*check.Check{
		{ID: "A-1", Frameworks: map[string][]string{"demo": {"C.9", "C.3"}, "nope": {"1"}}},
	}
	var got []string
	for _, e := range Validate([]*Framework{bad}, checks) {
		got = append(got, e.Error())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		"demo C.1: no check NOPE-1",
		"demo: control C.1 listed twice",
		"demo C.3: a manual control lists checks",
		"A-1: demo has no control C.9",
		"A-1: demo C.3 is manual",
		"A-1: unknown framework nope (known: demo)",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no error %q in:\n%s", want, all)
		}
	}
}

// Unknown fields are errors: a typo must not drop a mapping silently.
func TestLoadStrict(t *testing.T) {
	_, err := Load(fstest.MapFS{"fw.yaml": {Data: []byte("id: x\ntitle: X\ncontrols:\n  - {id: '1', title: T, check: [A-1]}\n")}}, ".")
	if err == nil || !strings.Contains(err.Error(), "check") {
		t.Errorf("got %v", err)
	}
}
