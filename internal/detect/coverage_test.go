package detect

import (
	"encoding/json"
	"testing"

	"github.com/parapet-sec/parapet/internal/detect/sigma"
)

func TestMeasureCoverage(t *testing.T) {
	techs := []Technique{
		{ID: "T1562", Name: "Impair Defenses", Tactics: []string{"Defense Evasion"}},
		{ID: "T1562.008", Name: "Disable or Modify Cloud Logs", Tactics: []string{"Defense Evasion"}, Parent: "T1562"},
		{ID: "T1530", Name: "Data from Cloud Storage", Tactics: []string{"Collection"}},
		{ID: "T1098", Name: "Account Manipulation", Tactics: []string{"Persistence"}},
	}
	rules := []*sigma.Rule{
		{Title: "Trail stopped", Tags: []string{"attack.defense-evasion", "attack.t1562.008"}, Logsource: sigma.Logsource{Product: "aws"}},
		{Title: "Sink deleted", Tags: []string{"attack.t1562.008"}, Logsource: sigma.Logsource{Product: "gcp"}},
		{Title: "Bucket read", Tags: []string{"attack.t1530"}, Logsource: sigma.Logsource{Product: "aws"}},
		{Title: "Burst", Tags: []string{"attack.t1530"}, File: "rules/aws/cloudtrail/burst.yml"},
		{Title: "Phish", Tags: []string{"attack.t1566"}, Logsource: sigma.Logsource{Product: "aws"}},
	}
	cov := MeasureCoverage(rules, techs)
	if got := cov.Clouds; len(got) != 2 || got[0] != "aws" || got[1] != "gcp" {
		t.Fatalf("clouds %v", got)
	}
	rows := map[string]CoverageRow{}
	for _, r := range cov.Rows {
		rows[r.Technique.ID] = r
	}
	if n := len(rows["T1562"].Rules["aws"]); n != 1 {
		t.Errorf("a sub-technique's rule covers its parent: %d", n)
	}
	if n := len(rows["T1530"].Rules["aws"]); n != 2 {
		t.Errorf("T1530 on aws: %d rules (a correlation counts for its folder's cloud)", n)
	}
	if len(rows["T1098"].Rules) != 0 || cov.Covered("") != 3 || cov.Covered("gcp") != 2 || cov.Outside["T1566"] != 1 {
		t.Errorf("covered %d, gcp %d, outside %v", cov.Covered(""), cov.Covered("gcp"), cov.Outside)
	}
	if cov.Rows[0].Technique.Tactics[0] != "Persistence" {
		t.Errorf("rows not in tactic order: %v", cov.Rows[0].Technique)
	}
	b, _ := json.Marshal(cov.Navigator("x"))
	var layer struct {
		Domain     string
		Techniques []struct {
			TechniqueID string
			Score       int
			Comment     string
		}
	}
	if err := json.Unmarshal(b, &layer); err != nil {
		t.Fatal(err)
	}
	scores := map[string]int{}
	for _, x := range layer.Techniques {
		scores[x.TechniqueID] = x.Score
	}
	if layer.Domain != "enterprise-attack" || len(layer.Techniques) != 4 || scores["T1562"] != 2 || scores["T1530"] != 2 || scores["T1098"] != 0 {
		t.Errorf("layer %s", b)
	}
}
