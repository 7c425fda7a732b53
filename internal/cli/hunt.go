package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/enrich"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/hunt"
	"github.com/parapet-sec/parapet/internal/lake"
	"github.com/parapet-sec/parapet/internal/redact"
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
		intelFiles        []string
		intelConfig       bool
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
are not run. --intel matches indicator files (STIX 2.1 bundles, CSV or plain IP / CIDR / domain lists) against
each event's source and destination, honouring each indicator's valid_until at the event's time;
--intel-config adds the configuration's intel section (its files, and one poll of each TAXII collection).
Intel matches are findings shaped as serve files them (rule parapet-intel). Findings print in the shape
detect prints them.`,
		Example: `  parapet hunt --lake /srv/lake --since 2026-11-01 --rules sigma/rules/cloud/aws
  parapet hunt --lake s3://sec-lake/parapet --cel 'access_key_id == "AKIAEXAMPLE" && error_code != ""'
  parapet hunt --since 2026-10-01 --intel feeds/c2.stix.json --intel feeds/blocklist.txt`,
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
			cfg, loc, err := lf.load(cmd)
			if err != nil {
				return err
			}
			if len(intelFiles) > 0 || intelConfig {
				if q.Intel, err = huntIntel(cmd.Context(), io, intelFiles, intelConfig, cfg); err != nil {
					return err
				}
			}
			if len(ruleDirs) > 0 || where == "" && q.Intel == nil && !noBuiltin {
				rules, _, err := loadRules(io, ruleDirs, noBuiltin)
				if err != nil {
					return err
				}
				q.Engine = detect.NewEngine(rules)
			}
			var findings *report.FindingEncoder
			var events *report.EventEncoder
			if (q.Engine != nil || q.Intel != nil) && format != "events" {
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
			rebuilt := ""
			if st.PassedOver > 0 {
				rebuilt = fmt.Sprintf(" (%d rebuilt, the others matching no rule by their columns)", st.Passed-st.PassedOver)
			}
			fmt.Fprintf(io.Err, "parapet: hunt over %s: %d of %d partitions, %d files (%s), %d of %d row groups read; %d events in range, %d passed%s, %d findings in %.2f s\n",
				l, st.PartitionsSelected, st.PartitionsAvailable, st.FilesRead, bytesHuman(st.BytesRead), st.RowGroups-st.Skipped-st.Pruned, st.RowGroups,
				st.RowsMatched, st.Passed, rebuilt, st.Findings, time.Since(start).Seconds())
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
	cmd.Flags().StringArrayVar(&intelFiles, "intel", nil, "an indicator file to match: STIX 2.1 bundle, CSV or plain list (repeatable)")
	cmd.Flags().BoolVar(&intelConfig, "intel-config", false, "match the indicators of the configuration's intel section too (files, and one poll of each TAXII collection)")
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

// huntIntel loads the indicators a hunt matches: files, and with
// fromConfig the configuration's intel files and TAXII collections (each
// polled once from its start).
func huntIntel(ctx context.Context, io IO, files []string, fromConfig bool, cfg *config.Config) (*enrich.Intel, error) {
	in := enrich.NewIntel()
	for _, f := range files {
		if err := in.LoadFile(f); err != nil {
			return nil, usagef("--intel %s: %v", f, err)
		}
	}
	if fromConfig {
		for _, f := range cfg.Intel.Files {
			if err := in.LoadFile(f); err != nil {
				return nil, fmt.Errorf("intel.files %s: %w", f, err)
			}
		}
		for _, x := range cfg.Intel.TAXII {
			pw, err := config.ReadSecret(x.Password)
			if err != nil {
				return nil, fmt.Errorf("intel.taxii %s: %w", redact.URL(x.Collection), err)
			}
			c := &enrich.TAXII{Collection: x.Collection, User: x.User, Password: pw, MaxObjects: x.MaxObjects, MaxBytes: int64(x.MaxBytes),
				MaxTotalObjects: x.MaxTotalObjects, MaxTotalBytes: int64(x.MaxTotalBytes)}
			// Every page there is: a poll stopped at its per-poll bound
			// returns what it read, and the next goes on from there.
			for range 64 {
				objs, err := c.Poll(ctx)
				var limit *enrich.LimitError
				if err != nil && !errors.As(err, &limit) {
					return nil, fmt.Errorf("intel.taxii %s: %w", redact.URL(x.Collection), err)
				}
				if err := in.AddSTIX("taxii:"+x.Collection, objs); err != nil {
					return nil, fmt.Errorf("intel.taxii %s: %w", redact.URL(x.Collection), err)
				}
				if limit == nil || len(objs) == 0 {
					break
				}
				fmt.Fprintf(io.Err, "parapet: intel.taxii %s: %d objects, more to read (%s)\n", redact.URL(x.Collection), len(objs), limit.Limit)
			}
		}
	}
	for src, n := range in.Loaded {
		name := src
		if u, ok := strings.CutPrefix(src, "taxii:"); ok {
			name = "taxii:" + redact.URL(u)
		}
		fmt.Fprintf(io.Err, "parapet: intel %s: %d indicators (%d skipped)\n", name, n, in.Skipped[src])
	}
	if in.Len() == 0 {
		return nil, usagef("--intel: no usable indicator loaded")
	}
	return in, nil
}
