package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/pflag"

	pconfig "github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/posture/awsapi"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// orgFlags are scan aws's organization flags: with --org every included
// account of the organization is scanned through its role.
type orgFlags struct {
	on          bool
	cfg         pconfig.Organization
	ous, exOUs  []string
	tags        []string
	orgJSON     string // serve's organization section, as JSON
	concurrency *int   // --concurrency: accounts at once with --org
	// stats is the last inventory's API traffic (calls, throttled
	// responses, retries), per account with --org.
	stats *org.ScanStats
}

func (of *orgFlags) register(fs *pflag.FlagSet, concurrency *int) {
	of.concurrency = concurrency
	fs.BoolVar(&of.on, "org", false, "scan every included account of the AWS Organization through --role (--concurrency accounts at once)")
	fs.StringVar(&of.cfg.Role, "role", "", "with --org: the role name assumed in each member account")
	fs.StringVar(&of.cfg.ExternalID, "external-id", "", "with --org: the ExternalId the roles require")
	fs.StringArrayVar(&of.ous, "ou", nil, "with --org: only accounts in this OU (a path like Root/Workloads or a name; repeatable)")
	fs.StringArrayVar(&of.exOUs, "exclude-ou", nil, "with --org: never accounts in this OU (repeatable)")
	fs.StringArrayVar(&of.tags, "account-tag", nil, "with --org: only accounts with this tag, key=value (repeatable)")
	fs.StringSliceVar(&of.cfg.Include.Accounts, "accounts", nil, "with --org: only these account ids (comma-separated)")
	fs.StringSliceVar(&of.cfg.Exclude.Accounts, "exclude-accounts", nil, "with --org: never these account ids (comma-separated)")
	fs.StringVar(&of.orgJSON, "org-config", "", "with --org: serve's organization section as JSON (flags add to it)")
	_ = fs.MarkHidden("org-config")
}

func tagFilter(kvs []string) map[string]string {
	if len(kvs) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m
}

// inventory reads the caller's account (without --org) or every included
// account; what could not be assumed is also returned as notices.
func (of *orgFlags) inventory(ctx context.Context, opt awsapi.Options, start time.Time) ([]*resource.Resource, []error, []scanNotice, error) {
	if !of.on {
		st := &awsapi.Stats{}
		opt.Stats = st
		res, errs := awsapi.Inventory(ctx, opt)
		of.stats = &org.ScanStats{Total: st.Snapshot()}
		return res, errs, nil, nil
	}
	c := of.cfg
	if of.orgJSON != "" {
		var arg struct {
			pconfig.Organization
			Refresh json.RawMessage `json:"refresh"` // a scan lists the accounts anew
		}
		if err := json.Unmarshal([]byte(of.orgJSON), &arg); err != nil {
			return nil, nil, nil, usagef("--org-config: %v", err)
		}
		base := arg.Organization
		if c.Role == "" {
			c.Role = base.Role
		}
		if c.ExternalID == "" {
			c.ExternalID = base.ExternalID
		}
		c.Accounts = base.Accounts
		c.Include.Accounts = append(base.Include.Accounts, c.Include.Accounts...)
		c.Include.OUs, c.Include.Tags = base.Include.OUs, base.Include.Tags
		c.Exclude.Accounts = append(base.Exclude.Accounts, c.Exclude.Accounts...)
		c.Exclude.OUs, c.Exclude.Tags = base.Exclude.OUs, base.Exclude.Tags
		if len(opt.Regions) == 0 {
			opt.Regions = base.Regions
		}
	}
	if c.Role == "" {
		return nil, nil, nil, usagef("--org needs --role")
	}
	if len(opt.AssumeRoles) > 0 {
		return nil, nil, nil, usagef("--org and --assume-role: one or the other")
	}
	base, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	if base.Region == "" {
		base.Region = "us-east-1"
	}
	c.Include.OUs, c.Exclude.OUs = append(c.Include.OUs, of.ous...), append(c.Exclude.OUs, of.exOUs...)
	c.Include.Tags = append(c.Include.Tags, of.tags...)
	include, exclude, static := orgSelection(c)
	all, err := org.Accounts(ctx, base, static)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("organization: %w (list the accounts under organization.accounts where Organizations cannot be read)", err)
	}
	accounts := org.Select(all, include, exclude)
	if len(accounts) == 0 {
		return nil, nil, nil, fmt.Errorf("organization: none of its %d accounts is included", len(all))
	}
	n := 4
	if of.concurrency != nil && *of.concurrency > 0 {
		n = *of.concurrency
	}
	opt.Concurrency = 0 // calls in flight per account: awsapi's default
	as := &org.Assumer{Base: base, Role: c.Role, ExternalID: c.ExternalID}
	of.stats = &org.ScanStats{}
	res, errs := org.Scan(ctx, org.ScanOptions{Assumer: as, Accounts: accounts, Concurrency: n, Inventory: opt, Stats: of.stats,
		Session: org.SessionName("parapet-scan", start.UTC().Format("20060102T150405Z"))})
	var notices []scanNotice
	for _, e := range errs {
		var ae *org.AccountError
		if errors.As(e, &ae) {
			notices = append(notices, scanNotice{Kind: "account not scanned", Message: ae.Error(), Address: ae.Account.ID, Source: ae.Account.OU,
				Location: scanLocation{ARN: ae.Role}})
		}
	}
	return res, errs, notices, nil
}

// roleFor is the role --remediate assumes in a failure's account: with
// --org, --role (or serve's organization.role).
func (of *orgFlags) roleFor() (role, externalID string) {
	if !of.on {
		return "", ""
	}
	role, externalID = of.cfg.Role, of.cfg.ExternalID
	if of.orgJSON != "" {
		var c struct {
			Role          string `json:"role"`
			ResponderRole string `json:"responder_role"`
			ExternalID    string `json:"external_id"`
		}
		if json.Unmarshal([]byte(of.orgJSON), &c) == nil {
			role, externalID = cmp.Or(c.ResponderRole, role, c.Role), cmp.Or(externalID, c.ExternalID)
		}
	}
	return role, externalID
}

// orgSelection is the organization section's account selection.
func orgSelection(c pconfig.Organization) (include, exclude org.Filter, static []org.Account) {
	include = org.Filter{Accounts: c.Include.Accounts, OUs: c.Include.OUs, Tags: tagFilter(c.Include.Tags)}
	exclude = org.Filter{Accounts: c.Exclude.Accounts, OUs: c.Exclude.OUs, Tags: tagFilter(c.Exclude.Tags)}
	for _, a := range c.Accounts {
		static = append(static, org.Account{ID: a.ID, Name: a.Name, OU: a.OU})
	}
	return include, exclude, static
}

// watchOrg triggers a posture scan whenever the organization's included
// accounts change (every organization.refresh), until ctx ends.
func (p *postureScanner) watchOrg(ctx context.Context) {
	base, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		p.log.Warn("organization_watch_failed", "error", err)
		return
	}
	if base.Region == "" {
		base.Region = "us-east-1"
	}
	inc, exc, static := orgSelection(p.org)
	w := &org.Watcher{Base: base, Static: static, Include: inc, Exclude: exc}
	w.Run(ctx, p.org.Refresh.D(), func(a []org.Account) {
		p.log.Info("organization_accounts_changed", "accounts", len(a))
		p.Trigger()
	}, func(err error) { p.log.Warn("organization_list_failed", "error", err) })
}

// postureTarget names a scheduled scan by its arguments, without the
// organization section serve hands over (its external id stays out of the
// store and the API).
func postureTarget(args []string) string {
	var kept []string
	for i := 1; i < len(args); i++ {
		if args[i] == "--org-config" {
			i++
			continue
		}
		kept = append(kept, args[i])
	}
	return strings.Join(kept, " ")
}

// writeAPIStats is the scan summary's account of the API traffic: the
// total, and with --org each account AWS throttled or that gave up calls
// (the JSON report's stats has every account).
func writeAPIStats(w io.Writer, st *org.ScanStats) {
	if st == nil {
		return
	}
	line := func(who string, c awsapi.CallStats) {
		fmt.Fprintf(w, "parapet: %s: %d API calls, %d throttled responses, %d retries", who, c.Calls, c.Throttled, c.Retries)
		if c.GaveUp > 0 {
			fmt.Fprintf(w, ", %d calls gave up after their attempts (partial)", c.GaveUp)
		}
		fmt.Fprintln(w)
	}
	ids := slices.Sorted(maps.Keys(st.Accounts))
	for _, id := range ids {
		if c := st.Accounts[id]; c.Throttled > 0 || c.GaveUp > 0 {
			line("account "+id, c)
		}
	}
	who := "API"
	if st.Accounts != nil {
		who = fmt.Sprintf("%d accounts", len(st.Accounts))
	}
	line(who, st.Total)
}
