package cli

import (
	"context"
	"log/slog"
	"sync"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/org"
)

// watchInventory keeps the organization's accounts, which scopes
// (playbooks', approvals', respond.protect_accounts, suppressions')
// resolve through, current: the static organization.accounts at once,
// then Organizations' list every organization.refresh, so that an account
// that joins an OU is covered without a restart. nil with no
// organization. stop ends the watch and waits for it.
func watchInventory(ctx context.Context, c config.Organization, log *slog.Logger) (inv *org.Inventory, stop func()) {
	if !c.Enabled() && len(c.Accounts) == 0 {
		return nil, func() {}
	}
	inc, exc, static := orgSelection(c)
	inv = &org.Inventory{}
	inv.Set(static)
	if !c.Enabled() || c.Refresh <= 0 {
		return inv, func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		base, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			log.Warn("organization_inventory_failed", "error", err)
			return
		}
		if base.Region == "" {
			base.Region = "us-east-1"
		}
		w := &org.Watcher{Base: base, Static: static, Include: inc, Exclude: exc, Inventory: inv}
		w.Run(ctx, c.Refresh.D(), func(a []org.Account) {
			log.Info("organization_inventory_changed", "accounts", len(inv.Accounts()))
		}, func(err error) { log.Warn("organization_list_failed", "error", err) })
	})
	return inv, func() { cancel(); wg.Wait() }
}
