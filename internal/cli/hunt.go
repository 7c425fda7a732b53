package cli

import (
	"bufio"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/hunt"
	"github.com/parapet-sec/parapet/internal/lake"
	"github.com/parapet-sec/parapet/internal/report"
)

func newHunt(io IO) *cobra.Command {
	var (
		lf                lakeFlags
		since, until      string
		accounts, regions []string
		ruleDirs          []string
		noBuiltin         bool
		where, format     string
	)
	cmd := &cobra.Command{
		Use:   "hunt",
		Short: "Run Sigma rules or a CEL filter over the history in the lake",
		Long: `Hunt over the lake (parapet lake import, or serve's lake): Sigma rules run through the same engine as
detect, unmodified, over the events of a time range, optionally of some accounts and regions; with no
rules named, the builtin pack. --cel keeps only the events an expression over the lake's promoted columns
accepts (time, class_uid, activity_id, severity_id, status_id, event_uid, source, account_id, region,
actor_arn, actor_type, principal_id, access_key_id, session_name, session_issuer_arn, src_ip, dst_ip,
api_service, api_operation, error_code, resource_arns); given alone, it prints those events. Partitions
outside the range, accounts and regions are not read, nor row groups outside the range. Correlation rules
are not run. Findings print in the shape detect prints them.`,
		Example: `  parapet hunt --lake /srv/lake --since 2026-11-01 --rules sigma/rules/cloud/aws
  parapet hunt --lake s3://sec-lake/parapet --cel 'access_key_id == "AKIAEXAMPLE" && error_code != ""'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var q hunt.Query
			var err error
			if q.Since, err = parseWhen(since); err != nil {
				return usagef("--since: %v", err)
			}
			if q.Until, err = parseWhen(until); err != nil {
				return usagef("--until: %v", err)
			}
			q.Filter = lake.Filter{Accounts: accounts, Regions: regions}
			if where != "" {
				if q.Where, err = hunt.Compile(where); err != nil {
					return usagef("--cel: %v", err)
				}
			}
			if len(ruleDirs) > 0 || where == "" && !noBuiltin {
				rules, _, err := loadRules(io, ruleDirs, noBuiltin)
				if err != nil {
					return err
				}
				q.Engine = detect.NewEngine(rules)
			}
			var findings *report.FindingEncoder
			var events *report.EventEncoder
			if q.Engine != nil && format != "events" {
				if findings, err = report.NewFindingEncoder(format); err != nil {
					return usageError{err}
				}
			} else {
				f := format
				if f == "events" {
					f = "jsonl"
				}
				if events, err = report.NewEventEncoder(f, false); err != nil {
					return usageError{err}
				}
			}
			_, loc, err := lf.load(cmd)
			if err != nil {
				return err
			}
			l, err := lake.OpenLake(cmd.Context(), loc, nil)
			if err != nil {
				return err
			}
			w := bufio.NewWriterSize(io.Out, 256<<10)
			defer w.Flush()
			if findings != nil {
				w.Write(findings.Header())
			} else {
				w.Write(events.Header())
			}
			var line []byte
			start := time.Now()
			st, err := hunt.Run(cmd.Context(), l, q, func(ev *event.Event, found []detect.Finding) error {
				line = line[:0]
				var err error
				if findings == nil {
					if line, err = events.Append(line, ev); err != nil {
						return err
					}
				} else if found == nil {
					if line, err = events.Append(line, ev); err != nil {
						return err
					}
				}
				for i := range found {
					if line, err = findings.Append(line, &found[i]); err != nil {
						return err
					}
				}
				_, err = w.Write(line)
				return err
			})
			fmt.Fprintf(io.Err, "parapet: hunt over %s: %d of %d partitions, %d files (%s), %d of %d row groups read; %d events in range, %d passed, %d findings in %.2f s\n",
				l, st.PartitionsSelected, st.PartitionsAvailable, st.FilesRead, bytesHuman(st.BytesRead), st.RowGroups-st.Skipped-st.Pruned, st.RowGroups,
				st.RowsMatched, st.Passed, st.Findings, time.Since(start).Seconds())
			return err
		},
	}
	lf.register(cmd)
	cmd.Flags().StringVar(&since, "since", "", "from this time (RFC 3339, or a date YYYY-MM-DD, UTC)")
	cmd.Flags().StringVar(&until, "until", "", "up to this time, excluded (RFC 3339, or a date: up to its start)")
	cmd.Flags().StringSliceVar(&accounts, "accounts", nil, "only these accounts (comma-separated or repeated)")
	cmd.Flags().StringSliceVar(&regions, "regions", nil, "only these regions (comma-separated or repeated)")
	cmd.Flags().StringArrayVar(&ruleDirs, "rules", nil, "a folder of Sigma rules to run (repeatable; the builtin pack runs too unless --no-builtin)")
	cmd.Flags().BoolVar(&noBuiltin, "no-builtin", false, "leave the builtin rule pack out")
	cmd.Flags().StringVar(&where, "cel", "", "a CEL expression over the promoted columns: only events it accepts are hunted (alone: printed)")
	cmd.Flags().StringVarP(&format, "format", "f", "jsonl", "jsonl, ocsf or table (findings; events when only --cel), or events")
	return cmd
}

// parseWhen reads RFC 3339 or YYYY-MM-DD (UTC); "" is zero.
func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want RFC 3339 or YYYY-MM-DD", s)
	}
	return t, nil
}
