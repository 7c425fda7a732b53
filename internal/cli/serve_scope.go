package cli

import (
	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/org"
)

// newInventory is the organization's accounts, which scopes
// (playbooks', approvals', respond.protect_accounts, suppressions')
// resolve through: the static organization.accounts at once; serve's
// organization watcher (runOrgInventory) replaces them with
// Organizations' list every organization.refresh, so that an account that
// joins an OU is covered without a restart. nil with no organization.
func newInventory(c config.Organization) *org.Inventory {
	if !c.Enabled() && len(c.Accounts) == 0 {
		return nil
	}
	_, _, static := orgSelection(c)
	inv := &org.Inventory{}
	inv.Set(static)
	return inv
}
