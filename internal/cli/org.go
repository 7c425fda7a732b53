package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/org/orgposture"
	"github.com/parapet-sec/parapet/internal/server"
	"github.com/parapet-sec/parapet/internal/store"
)

func newOrg(io IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "org",
		Short: "The AWS Organization's own posture: SCPs, delegated administrators, security services' coverage",
	}
	cmd.AddCommand(newOrgPosture(io))
	return cmd
}

func newOrgPosture(io IO) *cobra.Command {
	var (
		of          orgFlags
		regions     []string
		concurrency int
		format      string
	)
	cmd := &cobra.Command{
		Use:     "posture",
		Aliases: []string{"coverage"},
		Short:   "Print which accounts and regions GuardDuty, Security Hub, AWS Config and CloudTrail cover, the SCPs and the delegated administrators",
		Long: `Read, from the management or a delegated-administrator account (the default credentials), the
organization's service control policies and delegated administrators, and through --role in every
included account and region whether GuardDuty has an enabled detector, Security Hub is on, an AWS
Config recorder is recording and a logging CloudTrail trail covers it (the account's own, or an
organization trail of the management account; a multi-region trail covers every region).

A cell that cannot be read (the role cannot be assumed, the call is refused or not answered) is
"unknown" with the error, never taken for covered. The account selection flags are scan aws --org's.

Exit status: 0; 3 when some cell or organization-level read is unknown.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usagef("--format: want table or json")
			}
			ctx := cmd.Context()
			of.on = true
			tg, err := of.target(ctx, regions)
			if err != nil {
				return err
			}
			p := orgposture.ReadPosture(ctx, orgposture.PostureOptions{Base: tg.base, Assumer: tg.assumer, Accounts: tg.accounts, Regions: tg.regions,
				Session: org.SessionName("parapet-posture", time.Now().UTC().Format("20060102T150405Z")), Concurrency: of.accountsConcurrency()})
			w := bufio.NewWriter(io.Out)
			defer w.Flush()
			if format == "json" {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(p); err != nil {
					return err
				}
			} else {
				writeOrgTable(w, p, nil)
			}
			w.Flush()
			unknown := 0
			for _, c := range p.Coverage {
				if c.Status == orgposture.Unknown {
					unknown++
				}
			}
			for _, e := range p.Errors {
				fmt.Fprintf(io.Err, "parapet: %s\n", e)
			}
			gaps := len(p.Gaps()) - unknown
			fmt.Fprintf(io.Err, "parapet: %d accounts × %d regions: %d gaps, %d unknown\n", len(tg.accounts), len(tg.regions), gaps, unknown)
			if unknown > 0 || len(p.Errors) > 0 {
				return &ExitError{Code: ExitBadInput}
			}
			return nil
		},
	}
	of.register(cmd.Flags(), &concurrency)
	_ = cmd.Flags().MarkHidden("org")
	cmd.Flags().StringSliceVar(&regions, "regions", nil, "regions to read (comma-separated; default: the configured region)")
	cmd.Flags().IntVar(&concurrency, "concurrency", 4, "accounts read at once")
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output: table or json")
	return cmd
}

// coverageMark is a cell's state in the table: yes, NO, or ? (unknown).
func coverageMark(status string) string {
	switch status {
	case orgposture.Covered:
		return "yes"
	case orgposture.NotCovered:
		return "NO"
	}
	return "?"
}

// writeOrgTable prints the coverage matrix (one row per account and
// region), the unknown cells' errors, the SCPs, the delegated
// administrators and, when given, the rollup.
func writeOrgTable(w io.Writer, p *orgposture.Posture, r *orgposture.Rollup) {
	fmt.Fprintf(w, "\nORGANIZATION COVERAGE\n%-14s %-28s %-16s", "ACCOUNT", "OU", "REGION")
	for _, s := range p.Services {
		fmt.Fprintf(w, " %-11s", strings.ToUpper(s))
	}
	fmt.Fprintln(w)
	type row struct{ account, ou, region string }
	var rows []row
	cells := map[row]map[string]orgposture.Cell{}
	for _, c := range p.Coverage {
		k := row{c.Account, c.OU, c.Region}
		if cells[k] == nil {
			cells[k] = map[string]orgposture.Cell{}
			rows = append(rows, k)
		}
		cells[k][c.Service] = c
	}
	var unknown []orgposture.Cell
	for _, k := range rows {
		fmt.Fprintf(w, "%-14s %-28s %-16s", k.account, k.ou, k.region)
		for _, s := range p.Services {
			c := cells[k][s]
			fmt.Fprintf(w, " %-11s", coverageMark(c.Status))
			if c.Status == orgposture.Unknown {
				unknown = append(unknown, c)
			}
		}
		fmt.Fprintln(w)
	}
	// One line per distinct reason a cell is unknown.
	seen := map[string]bool{}
	for _, c := range unknown {
		if key := c.Account + c.Error; !seen[key] {
			seen[key] = true
			fmt.Fprintf(w, "  ? %s %s: %s\n", c.Account, c.Service, c.Error)
		}
	}
	fmt.Fprintln(w, "\nSERVICE CONTROL POLICIES")
	if p.SCPs == nil {
		fmt.Fprintln(w, "  (not read)")
	}
	for _, s := range p.SCPs {
		var tg []string
		for _, t := range s.Targets {
			tg = append(tg, t.Name+" ("+strings.ToLower(t.Type)+" "+t.ID+")")
		}
		if len(tg) == 0 {
			tg = []string{"not attached"}
		}
		fmt.Fprintf(w, "  %-32s %s\n", s.Name, strings.Join(tg, ", "))
	}
	fmt.Fprintln(w, "\nDELEGATED ADMINISTRATORS")
	switch {
	case p.Delegated == nil:
		fmt.Fprintln(w, "  (not read)")
	case len(p.Delegated) == 0:
		fmt.Fprintln(w, "  none")
	}
	for _, d := range p.Delegated {
		fmt.Fprintf(w, "  %-14s %-20s %s\n", d.Account, d.Name, strings.Join(d.Services, ", "))
	}
	for _, e := range p.Errors {
		fmt.Fprintf(w, "  error: %s\n", e)
	}
	if r == nil {
		return
	}
	fmt.Fprintln(w, "\nROLLUP (score per framework: evaluated controls passed; an OU is the mean of its accounts)")
	scores := func(m map[string]float64) string {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %.0f%%", k, m[k]))
		}
		return strings.Join(parts, "  ")
	}
	for _, o := range r.OUs {
		fmt.Fprintf(w, "  %-42s %2d accounts  %s\n", o.OU, o.Accounts, scores(o.Scores))
	}
	for _, a := range r.Accounts {
		fmt.Fprintf(w, "  %-14s %-27s %4d failed  %s\n", a.Account, a.OU, a.Failed, scores(a.Scores))
	}
}

// orgSummary is the latest stored scan that read the organization (serve's
// scheduled scan aws --org): its posture and rollup, for GET /v1/org; nil
// when there is none.
func orgSummary(ctx context.Context, db *store.DB) (*server.OrgView, error) {
	// The key, indented or not; a later row without it is skipped.
	rows, err := db.QueryContext(ctx, `SELECT at, target, body FROM posture_runs WHERE body LIKE ? ORDER BY id DESC LIMIT 20`, `%"organization"%`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var at, target, body string
		if err := rows.Scan(&at, &target, &body); err != nil {
			return nil, err
		}
		var rep struct {
			Organization *orgposture.Posture `json:"organization"`
			Rollup       *orgposture.Rollup  `json:"rollup"`
		}
		if err := json.Unmarshal([]byte(body), &rep); err != nil || rep.Organization == nil {
			continue
		}
		return &server.OrgView{At: at, Target: target, Posture: rep.Organization, Rollup: rep.Rollup}, nil
	}
	return nil, rows.Err()
}
