package server

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/parapet-sec/parapet/internal/org/orgposture"
)

// GET /v1/org filters the accounts, coverage and OU rollup by account and
// OU, and answers an empty organization before the first scan.
func TestOrgView(t *testing.T) {
	s, ts, toks := setup(t)
	get := func(q string) (orgAnswer, int) {
		req, _ := http.NewRequest("GET", ts.URL+"/v1/org"+q, nil)
		req.Header.Set("Authorization", "Bearer "+toks["viewer"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a orgAnswer
		if resp.StatusCode == 200 {
			if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
				t.Fatal(err)
			}
		}
		return a, resp.StatusCode
	}
	if a, code := get(""); code != 200 || a.Accounts == nil || a.Coverage == nil || len(a.Accounts) != 0 {
		t.Fatalf("GET /v1/org without an organization: %d %+v", code, a)
	}

	accts := []orgposture.AccountScore{
		{Account: "111111111111", OU: "Root/Workloads/Sandbox", Scores: map[string]float64{"cis-aws-3.0": 50}},
		{Account: "222222222222", OU: "Root/Workloads/Production", Scores: map[string]float64{"cis-aws-3.0": 100}},
		{Account: "333333333333", OU: "Root/Security", Scores: map[string]float64{"cis-aws-3.0": 0}},
	}
	var cells []orgposture.Cell
	for i, a := range accts {
		for _, svc := range orgposture.Services {
			st := orgposture.Covered
			if i == 0 && svc == orgposture.GuardDuty {
				st = orgposture.NotCovered
			}
			if i == 2 && svc == orgposture.CloudTrail {
				st = orgposture.Unknown
			}
			cells = append(cells, orgposture.Cell{Account: a.Account, OU: a.OU, Region: "us-east-1", Service: svc, Status: st})
		}
	}
	view := &OrgView{At: "2026-12-07T01:00:00Z", Target: "aws --org", Posture: &orgposture.Posture{Regions: []string{"us-east-1"}, Coverage: cells, SCPs: []orgposture.SCP{{ID: "p-1", Name: "Deny"}}},
		Rollup: &orgposture.Rollup{Accounts: accts, OUs: orgposture.RollUpOUs(accts)}}
	s.Org = func(context.Context) (*OrgView, error) { return view, nil }

	for _, tc := range []struct {
		name, q  string
		accounts []string
		ous      map[string]float64 // OU → cis-aws-3.0 mean
		gaps     int
	}{
		{"all", "", []string{"111111111111", "222222222222", "333333333333"},
			map[string]float64{"Root": 50, "Root/Security": 0, "Root/Workloads": 75, "Root/Workloads/Production": 100, "Root/Workloads/Sandbox": 50}, 2},
		{"OU path with the OUs below", "?ou=Root/Workloads", []string{"111111111111", "222222222222"},
			map[string]float64{"Root": 75, "Root/Workloads": 75, "Root/Workloads/Production": 100, "Root/Workloads/Sandbox": 50}, 1},
		{"OU name", "?ou=security", []string{"333333333333"}, map[string]float64{"Root": 0, "Root/Security": 0}, 1},
		{"account", "?account=222222222222", []string{"222222222222"}, map[string]float64{"Root": 100, "Root/Workloads": 100, "Root/Workloads/Production": 100}, 0},
		{"two accounts", "?account=111111111111&account=333333333333", []string{"111111111111", "333333333333"},
			map[string]float64{"Root": 25, "Root/Security": 0, "Root/Workloads": 50, "Root/Workloads/Sandbox": 50}, 2},
		{"account and OU", "?account=111111111111&ou=Production", nil, map[string]float64{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, code := get(tc.q)
			if code != 200 {
				t.Fatalf("GET /v1/org%s: %d", tc.q, code)
			}
			var ids []string
			for _, x := range a.Accounts {
				ids = append(ids, x.Account)
			}
			if !slices.Equal(ids, tc.accounts) {
				t.Errorf("accounts = %v, want %v", ids, tc.accounts)
			}
			got := map[string]float64{}
			for _, o := range a.OUs {
				got[o.OU] = o.Scores["cis-aws-3.0"]
			}
			if len(got) != len(tc.ous) {
				t.Errorf("OUs = %v, want %v", got, tc.ous)
			}
			for ou, w := range tc.ous {
				if g, ok := got[ou]; !ok || g != w {
					t.Errorf("OU %s score = %v (%v), want %v", ou, g, ok, w)
				}
			}
			if len(a.Gaps) != tc.gaps || len(a.Coverage) != len(tc.accounts)*len(orgposture.Services) {
				t.Errorf("gaps %d, coverage %d cells; want %d, %d", len(a.Gaps), len(a.Coverage), tc.gaps, len(tc.accounts)*len(orgposture.Services))
			}
			if a.At != view.At || len(a.SCPs) != 1 {
				t.Errorf("at %q, SCPs %v", a.At, a.SCPs)
			}
		})
	}
	for _, x := range mustGet(get, "?account=111111111111").Accounts {
		if x.Gaps != 1 || x.Unread != 0 {
			t.Errorf("account 111111111111: gaps %d, unknown cells %d; want 1, 0", x.Gaps, x.Unread)
		}
	}
}

func mustGet(get func(string) (orgAnswer, int), q string) orgAnswer {
	a, _ := get(q)
	return a
}
