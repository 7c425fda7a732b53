package detect

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/parapet-sec/parapet/internal/decode/vpcflow"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/enrich"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
)

// ExampleResult is the outcome of one rule example.
type ExampleResult struct {
	Rule  *sigma.Rule
	File  string // the examples file
	Line  int
	Want  bool // the example should match
	Got   bool
	Err   error // the example could not be decoded
	Count [2]int
}

// OK reports whether the example behaved as it says.
func (r ExampleResult) OK() bool { return r.Err == nil && r.Want == r.Got }

// ExamplesFile is where a rule's examples live: beside it, as
// NAME.examples.jsonl, one {"match": bool, "record": {…}} (a CloudTrail
// record, EventBridge event or GuardDuty finding) or {"match": bool,
// "flow": "header line\nrecord line"} per line.
func ExamplesFile(ruleFile string) string {
	return strings.TrimSuffix(ruleFile, path.Ext(ruleFile)) + ".examples.jsonl"
}

// example is one line of an examples file.
type example struct {
	line          int
	match         bool
	record        json.RawMessage
	records       []json.RawMessage
	flow          string
	flows         []string
	cloudRanges   map[string][]string
	knownAccounts []string
	err           error
}

// readExamples parses an examples file: {"match": bool, "record"|"records"|
// "flow": …, "cloud_ranges": {provider: [prefix…]}} per line.
func readExamples(data []byte) []example {
	var out []example
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var ex struct {
			Match   *bool             `json:"match"`
			Record  json.RawMessage   `json:"record"`
			Records []json.RawMessage `json:"records"`
			Flow    string            `json:"flow"`
			// Flows is a correlation's sequence of flow-log lines, each
			// "header line\nrecord line" like flow.
			Flows []string `json:"flows"`
			// CloudRanges, provider → prefixes, enriches the example's
			// events as --cloud-ranges would.
			CloudRanges map[string][]string `json:"cloud_ranges"`
			// KnownAccounts are the organization's accounts, as
			// --account would give them (default: learned from the
			// records' recipientAccountId).
			KnownAccounts []string `json:"known_accounts"`
		}
		if err := json.Unmarshal(text, &ex); err != nil || ex.Match == nil {
			out = append(out, example{line: line, err: fmt.Errorf("want {\"match\": true|false, \"record\"|\"flow\": …}: %v", err)})
			continue
		}
		out = append(out, example{line: line, match: *ex.Match, record: ex.Record, records: ex.Records, flow: ex.Flow, flows: ex.Flows, cloudRanges: ex.CloudRanges, knownAccounts: ex.KnownAccounts})
	}
	return out
}

// events decodes an example's record (or flow line) and enriches it.
func (ex example) events() ([]event.Event, error) {
	evs, err := decodeExample(ex.record, ex.flow)
	if ex.cloudRanges != nil {
		ranges, rerr := enrich.NewRanges(ex.cloudRanges)
		if rerr != nil {
			return evs, fmt.Errorf("cloud_ranges: %w", rerr)
		}
		for i := range evs {
			ranges.Enrich(&evs[i])
		}
	}
	// What the request does (parapet.policy.*, share.*, ingress.*), as
	// detect reads it.
	req := enrich.NewRequests(enrich.NewAccounts(ex.knownAccounts, nil))
	for i := range evs {
		req.Enrich(&evs[i])
	}
	return evs, err
}

// ExampleProblem is a rule its examples cannot prove: it has none, or
// not both a matching and a non-matching one.
type ExampleProblem struct {
	Rule *sigma.Rule
	Err  error
}

func (p *ExampleProblem) Error() string { return p.Err.Error() }

// RunExamples evaluates every rule against its examples. A rule without
// examples, or without both a matching and a non-matching one, is
// reported in problems (each an *ExampleProblem).
func RunExamples(fsys fs.FS, rules []*sigma.Rule) (results []ExampleResult, problems []error) {
	for _, r := range rules {
		file := ExamplesFile(r.File)
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			problems = append(problems, &ExampleProblem{r, fmt.Errorf("%s: rule %q has no examples (%s)", r.File, r.Title, file)})
			continue
		}
		var pos, neg int
		for _, ex := range readExamples(data) {
			res := ExampleResult{Rule: r, File: file, Line: ex.line, Want: ex.match, Err: ex.err}
			if ex.err != nil {
				results = append(results, res)
				continue
			}
			if res.Want {
				pos++
			} else {
				neg++
			}
			if r.Correlation != nil {
				// A correlation's example is a sequence of records run
				// through every rule of the pack, in order.
				res.Got, res.Err = correlationExample(rules, r, ex.records, ex.flows)
				results = append(results, res)
				continue
			}
			evs, err := ex.events()
			res.Err = err
			for i := range evs {
				if r.Applies(evs[i].Source) && r.Match(&evs[i]) {
					res.Got = true
				}
			}
			results = append(results, res)
		}
		if pos == 0 || neg == 0 {
			problems = append(problems, &ExampleProblem{r, fmt.Errorf("%s: rule %q needs at least one matching and one non-matching example (has %d and %d)", file, r.Title, pos, neg)})
		}
	}
	return results, problems
}

// ExampleFinding is a finding a rule's matching example produces.
type ExampleFinding struct {
	Rule    *sigma.Rule
	File    string // the examples file
	Line    int
	Finding Finding
}

// ExampleFindings runs the whole pack over each rule's matching examples
// and returns the findings of that rule, as detect would write them: what
// playbooks are proven against (parapet playbooks lint).
func ExampleFindings(fsys fs.FS, rules []*sigma.Rule) []ExampleFinding {
	engine := NewEngine(rules)
	var out []ExampleFinding
	for _, r := range rules {
		file := ExamplesFile(r.File)
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			continue
		}
		for _, ex := range readExamples(data) {
			if ex.err != nil || !ex.match {
				continue
			}
			var evs []event.Event
			if r.Correlation != nil {
				if evs, err = sequenceEvents(ex.records, ex.flows); err != nil {
					evs = nil
				}
			} else if evs, err = ex.events(); err != nil {
				continue
			}
			if len(evs) == 0 {
				continue
			}
			b := engine.DetectBatch(evs)
			engine.NewCorrelator().Correlate(evs, b)
			for _, f := range b.Findings {
				if f.RuleID == r.ID || f.RuleID == r.Title {
					out = append(out, ExampleFinding{Rule: r, File: file, Line: ex.line, Finding: f})
				}
			}
		}
	}
	return out
}

func correlationExample(rules []*sigma.Rule, r *sigma.Rule, records []json.RawMessage, flows []string) (bool, error) {
	if len(records) == 0 && len(flows) == 0 {
		return false, errors.New("a correlation example needs \"records\": [ … ] or \"flows\": [ … ]")
	}
	evs, err := sequenceEvents(records, flows)
	if err != nil {
		return false, err
	}
	engine := NewEngine(rules)
	b := engine.DetectBatch(evs)
	engine.NewCorrelator().Correlate(evs, b)
	for _, f := range b.Findings {
		if f.RuleID == r.ID || f.RuleID == r.Title {
			return true, nil
		}
	}
	return false, nil
}

// sequenceEvents decodes a correlation example's records, then its flow
// lines, in order.
func sequenceEvents(records []json.RawMessage, flows []string) ([]event.Event, error) {
	var evs []event.Event
	for _, rec := range records {
		e, err := decodeExample(rec, "")
		if err != nil {
			return nil, err
		}
		evs = append(evs, e...)
	}
	for _, fl := range flows {
		e, err := decodeExample(nil, fl)
		if err != nil {
			return nil, err
		}
		evs = append(evs, e...)
	}
	// Requests read as detect reads them (parapet.request.*, policy and
	// share verdicts), for correlations over base rules that use them.
	req := enrich.NewRequests(nil)
	for i := range evs {
		req.Enrich(&evs[i])
	}
	return evs, nil
}

func decodeExample(record json.RawMessage, flow string) ([]event.Event, error) {
	var evs []event.Event
	switch {
	case len(record) > 0:
		var errs []error
		ingest.DecodeJSON(record, func(e *event.Event) { evs = append(evs, *e) }, func(err error) { errs = append(errs, err) })
		if len(errs) > 0 {
			return evs, errors.Join(errs...)
		}
	case flow != "":
		header, line, ok := strings.Cut(flow, "\n")
		f, isHeader := vpcflow.ParseHeader(header)
		if !ok || !isHeader {
			f, line = vpcflow.Default, flow
		}
		var ev event.Event
		if err := f.Decode(strings.TrimSpace(line), &ev); err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	default:
		return nil, errors.New("example has neither record nor flow")
	}
	if len(evs) == 0 {
		return nil, errors.New("example decodes to no event")
	}
	return evs, nil
}
