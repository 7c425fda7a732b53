package correlate

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/org"
)

// A scoped suppression mutes its pattern only in the accounts of its
// scope, resolved through the inventory; it round-trips through the
// stored JSON.
func TestScopedSuppression(t *testing.T) {
	now := time.Now()
	inv := org.Static([]org.Account{{ID: "111111111111", OU: "Root/Sandbox"}, {ID: "222222222222", OU: "Root/Production"}})
	b, _ := json.Marshal(&Suppression{Expr: `finding.rule_id == "noisy"`, Reason: "expected in sandboxes", Expires: now.Add(time.Hour), Scope: &org.Scope{OUs: []string{"Sandbox"}}})
	var s Suppression
	if err := json.Unmarshal(b, &s); err != nil || s.Scope == nil {
		t.Fatalf("round trip: %s: %v", b, err)
	}
	if err := s.Compile(now); err != nil {
		t.Fatal(err)
	}
	doc := func(rule, account string) map[string]any {
		d := map[string]any{"id": "f", "rule_id": rule}
		if account != "" {
			d["cloud"] = map[string]any{"provider": "aws", "account": account}
		}
		return d
	}
	for _, tc := range []struct {
		rule, account string
		want          bool
	}{
		{"noisy", "111111111111", true},
		{"noisy", "222222222222", false},
		{"other", "111111111111", false},
		{"noisy", "", false},
		{"noisy", "999999999999", false}, // not in the inventory
	} {
		if got := s.Matches(doc(tc.rule, tc.account), now, inv); got != tc.want {
			t.Errorf("Matches(%s in %q) = %v, want %v", tc.rule, tc.account, got, tc.want)
		}
	}
	// No inventory: the OU cannot be told.
	if s.Matches(doc("noisy", "111111111111"), now, nil) {
		t.Error("Matches without an inventory: an OU scope matched")
	}
	bad := &Suppression{Expr: `finding.rule_id == "noisy"`, Reason: "r", Expires: now.Add(time.Hour), Scope: &org.Scope{Accounts: []string{"12"}}}
	if err := bad.Compile(now); err == nil || !strings.Contains(err.Error(), "scope") {
		t.Errorf("Compile with a bad account id = %v, want a scope error", err)
	}
}
