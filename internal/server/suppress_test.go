package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Through the API: a suppression that mutes everything, or that loops
// within loops, is refused (400); one that pins a principal is made;
// ending it needs a reason; both are in the audit trail with the caller's
// name and the reason.
func TestSuppressionsAPI(t *testing.T) {
	_, ts, toks := setup(t)
	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+path, bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer "+toks["analyst"])
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	expires := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	sup := func(expr string) string {
		b, _ := json.Marshal(map[string]string{"expr": expr, "reason": "noise", "expires": expires})
		return string(b)
	}
	loops := `finding.rule_id == "r" && [1,2,3,4,5,6,7,8,9,10].exists(a, [1,2,3,4,5,6,7,8,9,10].exists(b, finding.event_ids.exists(c, finding.event_ids.exists(d, c == d))))`
	for _, bad := range []string{`true`, `finding.level != ""`, loops} {
		if code, v := do("POST", "/v1/suppressions", sup(bad)); code != 400 {
			t.Errorf("suppress %.60q: %d %v", bad, code, v)
		}
	}
	code, v := do("POST", "/v1/suppressions", sup(`finding.actor.arn == "arn:aws:iam::123456789012:role/ci"`))
	if code != 201 {
		t.Fatalf("suppress: %d %v", code, v)
	}
	id := v["suppression"].(map[string]any)["id"].(string)
	if code, _ := do("DELETE", "/v1/suppressions/"+id, ""); code != 400 {
		t.Errorf("ending a suppression without a reason: %d", code)
	}
	if code, _ := do("DELETE", "/v1/suppressions/"+id, `{"reason":"   "}`); code != 400 {
		t.Errorf("ending a suppression with a blank reason: %d", code)
	}
	if code, v := do("DELETE", "/v1/suppressions/"+id+"?reason=deploys+done", ""); code != 200 {
		t.Errorf("end: %d %v", code, v)
	}
	if code, _ := do("DELETE", "/v1/suppressions/"+id, `{"reason":"again"}`); code != 404 {
		t.Errorf("end twice: %d", code)
	}
	_, a := do("GET", "/v1/audit", "")
	var got []string
	for _, it := range a["items"].([]any) {
		r := it.(map[string]any)["record"].(map[string]any)
		got = append(got, r["kind"].(string)+" "+r["actor"].(string)+" "+r["detail"].(map[string]any)["reason"].(string))
	}
	if want := "suppression.created t-analyst noise|suppression.deleted t-analyst deploys done"; strings.Join(got, "|") != want {
		t.Errorf("audit trail: %q, want %q", got, want)
	}
}
