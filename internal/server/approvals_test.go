package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// The incident list by risk (then last seen), and an approval's incident
// found through its finding.
func TestIncidentsByRiskAndApprovalIncident(t *testing.T) {
	s, ts, toks := setup(t)
	ctx := context.Background()
	for _, in := range []struct {
		id   string
		risk float64
		last string
	}{{"inc-low-new", 20, "2026-12-06T10:00:00Z"}, {"inc-high", 90, "2026-12-01T10:00:00Z"}, {"inc-mid-old", 50, "2026-12-02T10:00:00Z"}, {"inc-mid-new", 50, "2026-12-05T10:00:00Z"}} {
		body, _ := json.Marshal(map[string]any{"id": in.id, "title": "Title of " + in.id, "risk": in.risk, "status": "open", "last": in.last})
		if _, err := s.DB.ExecContext(ctx, `INSERT INTO incidents (id, status, risk, first, last, updated, body) VALUES (?, 'open', ?, ?, ?, ?, ?)`,
			in.id, in.risk, in.last, in.last, in.last, string(body)); err != nil {
			t.Fatal(err)
		}
	}
	list := func(query string) (int, string) {
		req, _ := http.NewRequest("GET", ts.URL+"/v1/incidents"+query, nil)
		req.Header.Set("Authorization", "Bearer "+toks["viewer"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		var ids []string
		for _, i := range out.Items {
			ids = append(ids, i.ID)
		}
		return resp.StatusCode, strings.Join(ids, ",")
	}
	if code, got := list("?sort=risk"); code != 200 || got != "inc-high,inc-mid-new,inc-mid-old,inc-low-new" {
		t.Errorf("sort=risk: %d %s", code, got)
	}
	if code, got := list(""); code != 200 || got != "inc-low-new,inc-mid-new,inc-mid-old,inc-high" {
		t.Errorf("default (last seen): %d %s", code, got)
	}
	if code, _ := list("?sort=title"); code != 400 {
		t.Errorf("sort=title: %d, want 400", code)
	}

	if _, err := s.DB.ExecContext(ctx, `INSERT INTO findings (id, incident_id, time, level, rule_id, created, body) VALUES ('f-1', 'inc-high', '2026-12-01T10:00:00Z', 'high', 'r', '2026-12-01T10:00:00Z', '{}'), ('f-2', '', '2026-12-01T10:00:00Z', 'high', 'r', '2026-12-01T10:00:00Z', '{}')`); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.approvalIncident(ctx, "f-1"); got == nil || got.ID != "inc-high" || got.Title != "Title of inc-high" || got.Risk != 90 || got.Status != "open" {
		t.Errorf("the incident of f-1: %+v", got)
	}
	if got, _ := s.approvalIncident(ctx, "f-2"); got != nil {
		t.Errorf("a finding in no incident: %+v", got)
	}
	if got, _ := s.approvalIncident(ctx, "nope"); got != nil {
		t.Errorf("a missing finding: %+v", got)
	}
}
