package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// A suppression may carry a scope (accounts, OUs, tags): kept and listed;
// a bad one is refused.
func TestSuppressionScopeAPI(t *testing.T) {
	_, ts, toks := setup(t)
	do := func(method, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+"/v1/suppressions", bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer "+toks["analyst"])
		req.Header.Set("Content-Type", "application/json")
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
	body := func(scope string) string {
		return `{"expr": "finding.rule_id == \"noisy\"", "reason": "sandbox noise", "expires": "` + expires + `", "scope": ` + scope + `}`
	}
	if code, v := do("POST", body(`{"accounts": ["12"]}`)); code != 400 {
		t.Errorf("a scope with a bad account id: %d %v, want 400", code, v)
	}
	if code, v := do("POST", body(`{"ous": ["Sandbox"], "exclude": {"accounts": ["111111111111"]}}`)); code != 201 {
		t.Fatalf("a scoped suppression: %d %v, want 201", code, v)
	}
	_, v := do("GET", "")
	items, _ := v["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("GET = %v, want one suppression", v)
	}
	b, _ := json.Marshal(items[0].(map[string]any)["scope"])
	if want := `{"exclude":{"accounts":["111111111111"]},"ous":["Sandbox"]}`; string(b) != want {
		t.Errorf("listed scope %s, want %s", b, want)
	}
}
