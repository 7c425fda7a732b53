package cli

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/store"
)

// serve compares each posture scan with the target's previous one: the
// second scan, after a fix and a new failure, stores 1 new, 1 fixed and
// the rest still failing, and the summary the posture page reads has both
// scans as trend points with a score per framework.
func TestPostureLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := writeLocationTree(t)
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "parapet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := &postureScanner{cfg: config.Posture{IaC: []string{dir}}, db: db, log: slog.New(slog.DiscardHandler), now: make(chan struct{}, 1)}
	p.scanAll(ctx)
	first, err := postureSummary(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if tg := first["targets"].([]any); len(tg) != 1 || tg[0].(map[string]any)["lifecycle"].(*lifecycle) != nil {
		t.Fatalf("first scan: %+v", tg)
	}
	tf := strings.Replace(strings.Replace(locationTF, "storage_encrypted = false", "storage_encrypted = true", 1),
		"identifier = \"bare\"", "identifier = \"bare\"\n  auto_minor_version_upgrade = false", 1)
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte("\n\n"+tf), 0o644); err != nil {
		t.Fatal(err)
	}
	p.scanAll(ctx)

	// Through the API's JSON, as the page reads it.
	sum, err := postureSummary(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(sum)
	var got struct {
		Targets []struct {
			Target    string
			Failed    int
			Failures  []scanResult
			Lifecycle *lifecycle
		}
		Trend []struct {
			Target       string
			Scores       map[string]float64
			New          *int `json:"new"`
			Fixed        *int `json:"fixed"`
			StillFailing *int `json:"still_failing"`
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Targets) != 1 || got.Targets[0].Lifecycle == nil {
		t.Fatalf("targets: %s", b)
	}
	tg := got.Targets[0]
	lc := tg.Lifecycle
	if lc.New != 1 || lc.Fixed != 1 || lc.StillFailing != tg.Failed-1 || len(lc.FixedResults) != 1 || lc.FixedResults[0].CheckID != "PARAPET-RDS-002" {
		t.Errorf("lifecycle: %+v (failed %d)", lc, tg.Failed)
	}
	news := 0
	for _, f := range tg.Failures {
		if f.Baseline == baselineNew {
			news++
			if f.CheckID != "PARAPET-RDS-005" {
				t.Errorf("new failure %s %s", f.CheckID, f.Resource.Address)
			}
		}
	}
	if news != 1 {
		t.Errorf("%d failures marked new", news)
	}
	if len(got.Trend) != 2 {
		t.Fatalf("trend: %s", b)
	}
	if got.Trend[0].New != nil || got.Trend[1].New == nil || *got.Trend[1].New != 1 || *got.Trend[1].Fixed != 1 || *got.Trend[1].StillFailing != lc.StillFailing {
		t.Errorf("trend points: %s", b)
	}
	for _, pt := range got.Trend {
		if _, ok := pt.Scores["cis-aws-3.0"]; !ok || len(pt.Scores) < 5 {
			t.Errorf("trend point without a score per framework: %+v", pt)
		}
	}
}
