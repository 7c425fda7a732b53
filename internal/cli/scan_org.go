package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/pflag"

	pconfig "github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/org/orgposture"
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
	orgJSON     string        // serve's organization section, as JSON
	concurrency *int          // --concurrency: accounts at once with --org
	listed      []org.Account // every account listed (for scopes), after target
	// What inventory read with --org: the organization's posture and the
	// included accounts.
	posture  *orgposture.Posture
	accounts []org.Account
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

// orgTarget is the organization a command reads: the central identity,
// the included accounts and the role into each.
type orgTarget struct {
	base     aws.Config
	accounts []org.Account
	assumer  *org.Assumer
	regions  []string
}

// target lists the organization's included accounts (flags, then serve's
// organization section under --org-config); regions is --regions.
func (of *orgFlags) target(ctx context.Context, regions []string) (*orgTarget, error) {
	c := of.cfg
	if of.orgJSON != "" {
		var arg struct {
			pconfig.Organization
			Refresh json.RawMessage `json:"refresh"` // a scan lists the accounts anew
		}
		if err := json.Unmarshal([]byte(of.orgJSON), &arg); err != nil {
			return nil, usagef("--org-config: %v", err)
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
		if len(regions) == 0 {
			regions = base.Regions
		}
	}
	if c.Role == "" {
		return nil, usagef("--org needs --role")
	}
	base, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	if base.Region == "" {
		base.Region = "us-east-1"
	}
	c.Include.OUs, c.Exclude.OUs = append(c.Include.OUs, of.ous...), append(c.Exclude.OUs, of.exOUs...)
	c.Include.Tags = append(c.Include.Tags, of.tags...)
	include, exclude, static := orgSelection(c)
	all, err := org.Accounts(ctx, base, static)
	if err != nil {
		return nil, fmt.Errorf("organization: %w (list the accounts under organization.accounts where Organizations cannot be read)", err)
	}
	of.listed = all
	accounts := org.Select(all, include, exclude)
	if len(accounts) == 0 {
		return nil, fmt.Errorf("organization: none of its %d accounts is included", len(all))
	}
	if len(regions) == 0 {
		regions = []string{base.Region}
	}
	return &orgTarget{base: base, accounts: accounts, assumer: &org.Assumer{Base: base, Role: c.Role, ExternalID: c.ExternalID}, regions: regions}, nil
}

// accountsConcurrency is --concurrency with --org: accounts at once.
func (of *orgFlags) accountsConcurrency() int {
	if of.concurrency != nil && *of.concurrency > 0 {
		return *of.concurrency
	}
	return 4
}

// inventory reads the caller's account (without --org) or every included
// account; what could not be assumed is also returned as notices. With
// --org it also reads the organization's posture (of.posture).
func (of *orgFlags) inventory(ctx context.Context, opt awsapi.Options, start time.Time) ([]*resource.Resource, []error, []scanNotice, error) {
	if !of.on {
		st := &awsapi.Stats{}
		opt.Stats = st
		res, errs := awsapi.Inventory(ctx, opt)
		of.stats = &org.ScanStats{Total: st.Snapshot()}
		return res, errs, nil, nil
	}
	if len(opt.AssumeRoles) > 0 {
		return nil, nil, nil, usagef("--org and --assume-role: one or the other")
	}
	tg, err := of.target(ctx, opt.Regions)
	if err != nil {
		return nil, nil, nil, err
	}
	opt.Regions = tg.regions
	n := of.accountsConcurrency()
	opt.Concurrency = 0 // calls in flight per account: awsapi's default
	session := org.SessionName("parapet-scan", start.UTC().Format("20060102T150405Z"))
	of.stats = &org.ScanStats{}
	res, errs := org.Scan(ctx, org.ScanOptions{Assumer: tg.assumer, Accounts: tg.accounts, Concurrency: n, Inventory: opt, Stats: of.stats, Session: session})
	var notices []scanNotice
	for _, e := range errs {
		var ae *org.AccountError
		if errors.As(e, &ae) {
			notices = append(notices, scanNotice{Kind: "account not scanned", Message: ae.Error(), Address: ae.Account.ID, Source: ae.Account.OU,
				Location: scanLocation{ARN: ae.Role}})
		}
	}
	// The organization's own posture: SCPs, delegated administrators,
	// and which accounts and regions the security services cover.
	of.posture = orgposture.ReadPosture(ctx, orgposture.PostureOptions{Base: tg.base, Assumer: tg.assumer, Accounts: tg.accounts, Regions: tg.regions,
		Session: session, Concurrency: n})
	of.accounts = tg.accounts
	// What the posture could not read is partial too (an account not
	// assumed is already among errs).
	notAssumed := map[string]bool{}
	for _, e := range errs {
		var ae *org.AccountError
		if errors.As(e, &ae) {
			notAssumed[ae.Account.ID] = true
		}
	}
	for _, e := range of.posture.Errors {
		notices = append(notices, scanNotice{Kind: "organization not read", Message: e})
		errs = append(errs, errors.New("organization: "+e))
	}
	for _, c := range of.posture.Coverage {
		if c.Status == orgposture.Unknown && !notAssumed[c.Account] {
			errs = append(errs, fmt.Errorf("account %s %s %s coverage: %s", c.Account, c.Region, c.Service, c.Error))
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
	include = org.Filter{Accounts: c.Include.Accounts, OUs: c.Include.OUs, Tags: org.TagFilter(c.Include.Tags)}
	exclude = org.Filter{Accounts: c.Exclude.Accounts, OUs: c.Exclude.OUs, Tags: org.TagFilter(c.Exclude.Tags)}
	for _, a := range c.Accounts {
		static = append(static, org.Account{ID: a.ID, Name: a.Name, OU: a.OU})
	}
	return include, exclude, static
}

// runOrgInventory is serve's organization inventory: it lists the
// included accounts now and every organization.refresh until ctx ends
// (on the caller's goroutine), calling changed when the list changed, and
// gives inv (what scopes resolve through) every account listed. The
// watcher it returns at once answers Latest for the API (nil until the
// first listing).
func runOrgInventory(ctx context.Context, c pconfig.Organization, inv *org.Inventory, log *slog.Logger, changed func()) (w *org.Watcher, run func(), err error) {
	base, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	if base.Region == "" {
		base.Region = "us-east-1"
	}
	inc, exc, static := orgSelection(c)
	w = &org.Watcher{Base: base, Static: static, Include: inc, Exclude: exc, Inventory: inv}
	every := c.Refresh.D()
	if every <= 0 {
		every = time.Hour
	}
	return w, func() {
		w.Run(ctx, every, func(a []org.Account) {
			log.Info("organization_accounts_changed", "accounts", len(a))
			changed()
		}, func(err error) { log.Warn("organization_list_failed", "error", err) })
	}, nil
}

// postureTarget names a scheduled scan by its arguments, without the
// organization section serve hands over (its external id stays out of the
// store and the API).
func postureTarget(args []string) string {
	var kept []string
	for i := 1; i < len(args); i++ {
		if args[i] == "--org-config" || args[i] == "--check-scopes" {
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
