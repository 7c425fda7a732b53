package cli

import (
	"testing"

	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/org"
)

// serve's scopes resolve through the static organization.accounts at
// once (Organizations' list, when readable, replaces it: see
// org.TestWatcherPoll and runOrgInventory); with no organization there is no inventory.
func TestWatchInventoryStatic(t *testing.T) {
	if inv := newInventory(config.Organization{}); inv != nil {
		t.Errorf("no organization: inventory %v, want none", inv.Accounts())
	}
	c := config.Organization{Accounts: []config.OrgAccount{{ID: "111111111111", Name: "sandbox", OU: "Root/Sandbox"}}}
	inv := newInventory(c)
	if inv == nil || !(org.Scope{OUs: []string{"Sandbox"}}).Matches("111111111111", inv.Resolve) {
		t.Errorf("static accounts: a Sandbox scope does not cover 111111111111")
	}
}
