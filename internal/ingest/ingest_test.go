package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/enrich"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/ingest/file"
	"github.com/parapet-sec/parapet/internal/ocsf"
	"github.com/parapet-sec/parapet/internal/sharedtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// decodeAll runs ingestion over inputs and returns events and stats.
func decodeAll(t *testing.T, inputs []ingest.Input, opt ingest.Options) ([]event.Event, ingest.Stats) {
	t.Helper()
	var evs []event.Event
	st, err := ingest.Run(context.Background(), inputs, opt, func(b *ingest.Batch) error {
		evs = append(evs, b.Events...)
		return nil
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return evs, st
}

func samples(t *testing.T) []string {
	var files []string
	err := filepath.WalkDir("testdata/samples", func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestGolden decodes every sample and compares the JSON lines output, the
// errors and the notices with testdata/golden. Refresh with -update.
func TestGolden(t *testing.T) {
	for _, path := range samples(t) {
		t.Run(path, func(t *testing.T) {
			ins, err := file.Inputs([]string{path}, nil)
			if err != nil {
				t.Fatal(err)
			}
			evs, st := decodeAll(t, ins, ingest.Options{})
			var out bytes.Buffer
			for i := range evs {
				out.Write(evs[i].AppendJSON(nil, false))
				out.WriteByte('\n')
			}
			for _, e := range st.Errors {
				fmt.Fprintf(&out, "error: %v\n", e)
			}
			for _, e := range st.Notices {
				fmt.Fprintf(&out, "skipped: %v\n", e)
			}
			golden := filepath.Join("testdata/golden", strings.TrimPrefix(path, "testdata/samples/")+".jsonl")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), out.String()); diff != "" {
				t.Errorf("decode %s: output differs from %s (-want +got):\n%s", path, golden, diff)
			}
			for i := range evs {
				if !json.Valid(evs[i].AppendJSON(nil, true)) {
					t.Errorf("event %d: JSON lines output with raw is not valid JSON", i)
				}
			}
		})
	}
}

// TestOCSFSchema validates the OCSF form of every sample event against the
// OCSF 1.8 schema in shared/data/ocsf.
func TestOCSFSchema(t *testing.T) {
	schema, err := ocsf.Load(sharedtest.Path(t, "ocsf/ocsf-1.8.0-compiled.compact.json"))
	if err != nil {
		t.Fatal(err)
	}
	ins, err := file.Inputs([]string{"testdata/samples"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := decodeAll(t, ins, ingest.Options{})
	classes := map[event.Class]int{}
	// Half the address space is "aws", so that enrichments are validated too.
	ranges, err := enrich.NewRanges(map[string][]string{"aws": {"0.0.0.0/1", "2000::/4"}})
	if err != nil {
		t.Fatal(err)
	}
	// And every address the MaxMind test databases know is located.
	var geo *enrich.Geo
	if dir, err := sharedtest.Find("intel/geo-test-mmdb"); err == nil {
		if geo, err = enrich.OpenGeo(filepath.Join(dir, "GeoLite2-City-Test.mmdb"), filepath.Join(dir, "GeoLite2-ASN-Test.mmdb")); err != nil {
			t.Fatal(err)
		}
		defer geo.Close()
	}
	enriched, located := 0, 0
	for i := range evs {
		ranges.Enrich(&evs[i])
		if geo != nil {
			// The test databases hold few addresses: put one there.
			if i%3 == 0 && evs[i].Src.IP.IsValid() {
				evs[i].Src.IP = netip.MustParseAddr("81.2.69.142")
			}
			geo.Enrich(&evs[i])
			if evs[i].Src.Geo.Located {
				located++
			}
		}
		if evs[i].Src.Provider != "" || evs[i].Dst.Provider != "" {
			enriched++
		}
		b, err := ocsf.AppendJSON(nil, &evs[i], true)
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range validate(t, schema, b) {
			t.Errorf("%s %s (%s): %v", evs[i].Origin.File, evs[i].ID, evs[i].Class.Name(), err)
		}
		classes[evs[i].Class]++
	}
	for _, c := range []event.Class{event.ClassAPIActivity, event.ClassAuthentication, event.ClassAccountChange, event.ClassNetworkActivity, event.ClassDetectionFinding} {
		if classes[c] == 0 {
			t.Errorf("no sample event of class %s was validated", c.Name())
		}
	}
	if enriched == 0 {
		t.Error("no sample event was enriched, so no enrichment was validated")
	}
	if geo != nil && located == 0 {
		t.Error("no sample event was located, so no location was validated")
	}
}

// validate decodes OCSF JSON as a consumer would (numbers kept exact) and
// checks it against the schema.
func validate(t *testing.T, schema *ocsf.Schema, b []byte) []error {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("OCSF output is not JSON: %v", err)
	}
	return schema.Validate(m)
}

// TestValidatorCatchesErrors makes sure the validator is not a yes-man.
func TestValidatorCatchesErrors(t *testing.T) {
	schema, err := ocsf.Load(sharedtest.Path(t, "ocsf/ocsf-1.8.0-compiled.compact.json"))
	if err != nil {
		t.Fatal(err)
	}
	ins, _ := file.Inputs([]string{"testdata/samples/ct-error-code.json"}, nil)
	evs, _ := decodeAll(t, ins, ingest.Options{})
	good := func() map[string]any {
		b, _ := ocsf.AppendJSON(nil, &evs[0], false)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return m
	}
	breakers := map[string]func(m map[string]any){
		"missing required api":    func(m map[string]any) { delete(m, "api") },
		"unknown attribute":       func(m map[string]any) { m["colour"] = "blue" },
		"wrong type":              func(m map[string]any) { m["time"] = "yesterday" },
		"enum out of range":       func(m map[string]any) { m["activity_id"] = 42.0 },
		"bad type_uid":            func(m map[string]any) { m["type_uid"] = 1.0 },
		"undeclared profile":      func(m map[string]any) { m["metadata"].(map[string]any)["profiles"] = []any{} },
		"nested unknown":          func(m map[string]any) { m["api"].(map[string]any)["verb"] = "x" },
		"constraint at_least_one": func(m map[string]any) { m["src_endpoint"] = map[string]any{"port": 1.0} },
	}
	if errs := schema.Validate(good()); len(errs) != 0 {
		t.Fatalf("valid event rejected: %v", errs)
	}
	for name, brk := range breakers {
		m := good()
		brk(m)
		if errs := schema.Validate(m); len(errs) == 0 {
			t.Errorf("%s: validator accepted the broken event", name)
		}
	}
}

// TestOrderAndParallelism: the same inputs give the same output whatever
// the number of workers and readers.
func TestOrderAndParallelism(t *testing.T) {
	ins, err := file.Inputs([]string{"testdata/samples"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(opt ingest.Options) []string {
		evs, _ := decodeAll(t, ins, opt)
		var out []string
		for _, e := range evs {
			out = append(out, e.ID+"@"+e.Origin.File)
		}
		return out
	}
	want := ids(ingest.Options{Workers: 1, Readers: 1})
	for _, opt := range []ingest.Options{{Workers: 2, Readers: 2}, {Workers: 8, Readers: 3}, {Workers: 3, Readers: 16}} {
		if diff := cmp.Diff(want, ids(opt)); diff != "" {
			t.Errorf("workers %d readers %d: order differs (-1 worker +more):\n%s", opt.Workers, opt.Readers, diff)
		}
	}
}

// TestEmitErrorStops: an error from emit ends the run with that error.
func TestEmitErrorStops(t *testing.T) {
	ins, _ := file.Inputs([]string{"testdata/samples"}, nil)
	boom := fmt.Errorf("disk full")
	n := 0
	_, err := ingest.Run(context.Background(), ins, ingest.Options{}, func(b *ingest.Batch) error {
		n++
		return boom
	})
	if err != boom || n != 1 {
		t.Fatalf("Run = %v after %d batches, want %v after 1", err, n, boom)
	}
}

func TestStdin(t *testing.T) {
	data, err := os.ReadFile("testdata/samples/ct-jsonlines.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := file.Inputs([]string{"-"}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	evs, st := decodeAll(t, ins, ingest.Options{})
	if len(evs) != 2 || st.Bad() || evs[0].Origin.File != "(stdin)" {
		t.Fatalf("stdin: %d events, stats %+v, want 2 good events from (stdin)", len(evs), st)
	}
}

var _ = io.EOF

// TestOCSFFindingSchema validates the OCSF form of findings (a rule
// finding and a GuardDuty pass-through) against the schema.
func TestOCSFFindingSchema(t *testing.T) {
	schema, err := ocsf.Load(sharedtest.Path(t, "ocsf/ocsf-1.8.0-compiled.compact.json"))
	if err != nil {
		t.Fatal(err)
	}
	rules, errs := sigma.Parse([]byte("title: t\nid: r1\nlevel: high\ntags: [attack.persistence, attack.t1136.003]\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s:\n    eventName: CreateUser\n  condition: s\n"), "t.yml", sigma.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	engine := detect.NewEngine(rules)
	ins, _ := file.Inputs([]string{"testdata/samples/ct-jsonlines.jsonl", "testdata/samples/gd-finding-iam.json"}, nil)
	evs, _ := decodeAll(t, ins, ingest.Options{})
	fs := engine.DetectBatch(evs).Findings
	if len(fs) != 2 {
		t.Fatalf("%d findings, want a rule finding and a GuardDuty one", len(fs))
	}
	// An episode (detect.Aggregator): count, start_time, end_time.
	ep := fs[0]
	ep.Count, ep.FirstSeen, ep.LastSeen = 500, ep.Time, ep.Time.Add(time.Hour)
	fs = append(fs, ep)
	for i := range fs {
		b, _ := json.Marshal(ocsf.FromFinding(&fs[i]))
		for _, err := range validate(t, schema, b) {
			t.Errorf("finding %s: %v", fs[i].RuleID, err)
		}
	}
}

// TestRecycle: with Recycle, emitted batches' event memory is reused for
// later batches, and what emit copies out is the same as without it.
func TestRecycle(t *testing.T) {
	ins, err := file.Inputs([]string{"testdata/samples"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := decodeAll(t, ins, ingest.Options{Workers: 1, Readers: 1})
	var got []event.Event
	seen := map[*event.Event]bool{}
	reused := 0
	_, err = ingest.Run(context.Background(), ins, ingest.Options{Workers: 1, Readers: 1, Recycle: true}, func(b *ingest.Batch) error {
		got = append(got, b.Events...)
		if cap(b.Events) > 0 {
			p := &b.Events[:1][0]
			if seen[p] {
				reused++
			}
			seen[p] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("%d events recycled, %d fresh", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(want[i], got[i]) {
			t.Errorf("event %d recycled:\n%+v\nfresh:\n%+v", i, got[i], want[i])
		}
	}
	if reused == 0 {
		t.Errorf("no batch reused an emitted batch's memory (%d batches)", len(seen))
	}
}
