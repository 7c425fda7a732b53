package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/demo"
	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/ingest/file"
	"github.com/parapet-sec/parapet/internal/store"
)

// promSample matches one sample line of the Prometheus text format.
var promSample = regexp.MustCompile(`(?m)^([a-z_]+)(\{[^}]*\})? (\S+)$`)

// scrape reads /metrics as name{labels} → value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	_, m := call(t, "GET", url+"/metrics", "", "", nil)
	raw, _ := m["raw"].(string)
	out := map[string]float64{}
	for _, x := range promSample.FindAllStringSubmatch(raw, -1) {
		v, err := strconv.ParseFloat(x[3], 64)
		if err != nil {
			t.Fatalf("metrics: %q: %v", x[0], err)
		}
		out[x[1]+x[2]] = v
	}
	return out
}

// demoInput is what serve --demo's watched folder holds: its files (one
// intake body each) and the events and bad records they decode to.
type demoInput struct {
	bodies             int
	events, badRecords int64
}

func readDemoInput(t *testing.T, data string) demoInput {
	t.Helper()
	inputs, err := file.Inputs([]string{filepath.Join(data, "demo-telemetry", "AWSLogs")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := ingest.Run(context.Background(), inputs, ingest.Options{}, func(*ingest.Batch) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	return demoInput{bodies: len(inputs), events: st.Events, badRecords: st.BadRecords}
}

// waitDemoProcessed waits until serve --demo has processed every file of
// the demo week (each body's events counted, its findings stored and its
// playbooks run) and returns the metrics then.
func waitDemoProcessed(t *testing.T, url string, in demoInput) map[string]float64 {
	t.Helper()
	for deadline := time.Now().Add(180 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		m := scrape(t, url)
		if m["parapet_events_total"] == float64(in.events) && m[`parapet_stage_seconds_count{stage="respond"}`] == float64(in.bodies) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo was not processed: %v of %d events, %v of %d bodies", m["parapet_events_total"], in.events,
				m[`parapet_stage_seconds_count{stage="respond"}`], in.bodies)
		}
	}
}

// storedFinding is what the demo checks read of a stored finding.
type storedFinding struct {
	Title    string   `json:"title"`
	Source   string   `json:"source"`
	Level    string   `json:"level"`
	EventIDs []string `json:"event_ids"`
	incident string
}

// checkDemoStories: every one of the demo's attack stories has findings
// in the store of serve --demo (the instance-credential story needs the
// demo's cloud ranges, impossible travel its geo database).
func checkDemoStories(t *testing.T, data string, findings []storedFinding) {
	t.Helper()
	labels, err := readLabels(filepath.Join(data, "demo-telemetry", "labels.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	per := map[string][]string{}
	for _, f := range findings {
		for _, id := range f.EventIDs {
			if s, ok := labels[id]; ok {
				per[s] = append(per[s], f.Title)
				break
			}
		}
	}
	for _, s := range demo.Stories {
		titles := map[string]int{}
		for _, x := range per[s.Name] {
			titles[x]++
		}
		t.Logf("story %s: %v", s.Name, titles)
		if len(per[s.Name]) == 0 {
			t.Errorf("story %s: no finding in serve --demo", s.Name)
		}
	}
	// The CI role's new policy version is the step of its path to admin.
	if pv := strings.Join(per["policy-version"], "\n"); !strings.Contains(pv, "A step of a known privilege-escalation path was taken") {
		t.Errorf("story policy-version: no path-step finding; it has:\n%s", pv)
	}
	ic := strings.Join(per["instance-credentials"], "\n")
	for _, want := range []string{"EC2 Instance Credentials Used From Outside AWS", "impossible travel"} {
		if !strings.Contains(ic, want) {
			t.Errorf("story instance-credentials: no %q finding; it has:\n%s", want, ic)
		}
	}
}

// readStore reads the findings and counts what serve's counters count.
func readStore(t *testing.T, path string) ([]storedFinding, map[string]float64) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT incident_id, body FROM findings`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var fs []storedFinding
	for rows.Next() {
		var f storedFinding
		var body string
		if err := rows.Scan(&f.incident, &body); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(body), &f); err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	for _, f := range fs {
		if strings.HasPrefix(f.incident, "suppressed:") {
			counts["parapet_findings_suppressed_total"]++
			continue
		}
		// By level, except the behavioural sessions': their findings grow
		// after they were counted, and may change level as they do.
		if f.Source == "ueba" {
			counts["ueba"]++
		} else {
			counts[fmt.Sprintf(`parapet_findings_total{level=%q}`, f.Level)]++
		}
		counts["parapet_detection_delay_seconds_count"]++
	}
	for name, q := range map[string]string{"parapet_incidents_total": `SELECT COUNT(*) FROM incidents`, "parapet_intake_spooled": `SELECT COUNT(*) FROM intake`} {
		var n int
		if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		counts[name] = float64(n)
	}
	return fs, counts
}

// checkMetricsAgree: every pipeline counter in /metrics says what the
// store holds (and the input it was given).
func checkMetricsAgree(t *testing.T, metrics, stored map[string]float64, in demoInput) {
	t.Helper()
	want := map[string]float64{
		"parapet_events_total":                  float64(in.events),
		"parapet_bad_records_total":             float64(in.badRecords),
		"parapet_intake_latency_seconds_count":  float64(in.bodies),
		"parapet_findings_suppressed_total":     0,
		"parapet_detection_delay_seconds_count": 0,
	}
	var storedAll, counted float64
	for k, v := range stored {
		switch {
		case k == "ueba":
			storedAll += v
		case strings.HasPrefix(k, "parapet_findings_total{"):
			storedAll += v
			// Rule findings keep their level: at least these many at it
			// (sessions' findings are counted at the level they were
			// first stored at).
			if metrics[k] < v {
				t.Errorf("%s = %v, the store has %v rule findings at that level", k, metrics[k], v)
			}
		default:
			want[k] = v
		}
	}
	for k, v := range metrics {
		if strings.HasPrefix(k, "parapet_findings_total{") {
			counted += v
		}
	}
	if counted != storedAll || storedAll == 0 {
		t.Errorf("parapet_findings_total = %v over all levels, the store holds %v findings", counted, storedAll)
	}
	for k, v := range want {
		if metrics[k] != v {
			t.Errorf("%s = %v, the store (or input) says %v", k, metrics[k], v)
		}
	}
	if stored["parapet_incidents_total"] == 0 {
		t.Error("the demo filed no incident")
	}
}
