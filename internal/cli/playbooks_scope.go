package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/config"

	pconfig "github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/respond"
)

// scopeOf is a configuration scope as an org.Scope.
func scopeOf(ids, ous, tags []string, ex pconfig.OrgFilter) org.Scope {
	return org.Scope{Accounts: ids, OUs: ous, Tags: tags, Exclude: org.ScopeExclude{Accounts: ex.Accounts, OUs: ex.OUs, Tags: ex.Tags}}
}

// protectScope is respond.protect_accounts as an org.Scope.
func protectScope(c *pconfig.Config) org.Scope {
	p := c.Respond.ProtectAccounts
	return scopeOf(p.Accounts, p.OUs, p.Tags, pconfig.OrgFilter{})
}

// lintAccounts lists the organization's accounts for playbooks lint:
// through Organizations, else organization.accounts; nil with no
// organization configured.
func lintAccounts(ctx context.Context, c *pconfig.Config) ([]org.Account, error) {
	if !c.Organization.Enabled() && len(c.Organization.Accounts) == 0 {
		return nil, nil
	}
	_, _, static := orgSelection(c.Organization)
	base, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		if len(static) > 0 {
			return static, nil
		}
		return nil, err
	}
	if base.Region == "" {
		base.Region = "us-east-1"
	}
	return org.Accounts(ctx, base, static)
}

// writeScopes prints each playbook's effective scope and approval by
// scope and, with the organization's accounts, what it does in each
// account it covers:
//
//	scope NAME: SCOPE; approval: required|none|dry-run[, auto in SCOPE][, required in SCOPE]
//	  ACCOUNT NAME (OU): auto|approval|protected
func writeScopes(w io.Writer, pbs []*respond.Playbook, accounts []org.Account, protect org.Scope) {
	r := org.Static(accounts)
	for _, p := range pbs {
		approval := "none"
		switch {
		case p.Mode == respond.ModeDryRun:
			approval = "dry-run"
		case p.NeedsApproval():
			approval = "required"
		}
		if s := p.Approval.AutoIn; s != nil {
			approval += ", auto in " + s.String()
		}
		if s := p.Approval.RequiredIn; s != nil {
			approval += ", required in " + s.String()
		}
		fmt.Fprintf(w, "scope %s: %s; approval: %s\n", p.Name, p.Scope.String(), approval)
		if accounts == nil {
			continue
		}
		n := 0
		for _, a := range accounts {
			if !p.Scope.Matches(a.ID, r) {
				continue
			}
			n++
			what := "auto"
			switch {
			case !protect.IsZero() && protect.Matches(a.ID, r):
				what = "protected"
			case p.Mode == respond.ModeDryRun:
				what = "dry-run"
			case p.NeedsApprovalIn(a.ID, r):
				what = "approval"
			}
			label := a.ID
			if a.Name != "" {
				label += " " + a.Name
			}
			if a.OU != "" {
				label += " (" + a.OU + ")"
			}
			fmt.Fprintf(w, "  %s: %s\n", label, what)
		}
		if n == 0 {
			fmt.Fprintf(w, "  no account of the %d listed\n", len(accounts))
		}
	}
}
