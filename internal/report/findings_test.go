package report

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
)

// TestFindingJSONForms: the direct writer and the struct form agree.
func TestFindingJSONForms(t *testing.T) {
	findings := []detect.Finding{
		{ID: "x", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), RuleID: "r", Title: "T \"q\"", Level: "high", Source: "sigma", Summary: "s",
			Attack: detect.Attack{Techniques: []string{"T1"}, Tactics: []string{"persistence"}}, EventIDs: []string{"e1", "e2"},
			Cloud: event.Cloud{Provider: "aws", Account: "1"}, Actor: event.Actor{Type: "IAMUser", UserName: "bob\n"}, SrcIP: "1.2.3.4",
			Resources:   []event.Resource{{Type: "AWS::S3::Bucket", Name: "b"}},
			Explanation: []detect.Evidence{{Selection: "sel", Field: "f", Value: "v", Pattern: []string{"p*"}}},
			Triage:      []string{"Who: userIdentity.arn", `What: "requestParameters"`}},
		{ID: "y", RuleID: "guardduty.X", Title: "X", Level: "low", Source: "guardduty", EventIDs: []string{"e"}, Attack: detect.Attack{Tactics: []string{"impact"}}},
		{ID: "z", RuleID: "ueba.novelty", Title: "U", Level: "medium", Source: "ueba", EventIDs: []string{"e"}, Score: 4.56789,
			Explanation: []detect.Evidence{{Selection: "novelty", Field: "API", Value: "iam:CreateAccessKey", Detail: "first time", Score: 3.14159}}},
		{ID: "w", RuleID: "r", Title: "episode", Level: "low", Source: "sigma", EventIDs: []string{"e1", "e2"}, Count: 500,
			FirstSeen: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), LastSeen: time.Date(2026, 1, 2, 4, 0, 0, 500e6, time.UTC)},
	}
	for i := range findings {
		direct := AppendFindingJSON(nil, &findings[i])
		viaStruct, err := json.Marshal(FindingJSON(&findings[i]))
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(direct, &a); err != nil {
			t.Fatalf("direct form is not JSON: %v\n%s", err, direct)
		}
		_ = json.Unmarshal(viaStruct, &b)
		if diff := cmp.Diff(b, a); diff != "" {
			t.Errorf("finding %d: forms differ (-struct +direct):\n%s", i, diff)
		}
	}
}
