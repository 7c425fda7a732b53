package cli

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/parapet-sec/parapet/internal/attackpath"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/posture/awsapi"
	"github.com/parapet-sec/parapet/internal/report"
	"github.com/parapet-sec/parapet/internal/respond"
)

func newDetect(io IO) *cobra.Command {
	var (
		format, minLevel, failOn string
		ruleDirs                 []string
		noBuiltin, withRecords   bool
		flags                    ingestFlags
		uf                       uebaFlags
		rf                       responseFlags
		respondOn                bool
		pathsFile                string
		pathsLive                bool
		af                       aggregateFlags
	)
	cmd := &cobra.Command{
		Use:   "detect PATH...",
		Short: "Run detection rules over telemetry and print findings",
		Long: `Decode telemetry as parapet events does, run the builtin rule pack, any --rules directories
(Sigma rules, SigmaHQ's run unmodified) and GuardDuty pass-through on every event, and the
behavioural models (UEBA; --no-ueba turns them off), and print one finding per line: what matched,
with the fields and values that made it match, or what was unusual and by how much. Events are
detected in event-time order whatever the input's order (sorted in memory up to --sort-memory, past
that in runs on temporary files), and a record delivered more than once is detected once;
--state FILE carries the learned baselines from one run to the next. Findings of one rule for the
same principal, source address and target merge into one finding per episode (count, first_seen,
last_seen) until the group is quiet for --aggregate-window; --no-aggregate prints one per event.
--paths FILE (the JSON of parapet paths --format json) adds a finding for every call that takes a
step of one of its privilege-escalation paths: "step k of n of a path from X to admin", critical
when it completes the path; --paths-live reads the paths of the account the AWS credentials name (as
parapet paths --live does) instead of a file.

Exit status: 1 when a finding reaches --fail-on, else 4 when a response action failed (--respond),
else 3 when some input was bad, else 0.`,
		Example: `  parapet detect AWSLogs/
  parapet detect --rules sigma/rules/cloud/aws --min-level high --format table trail.json.gz
  parapet detect --fail-on high --format ocsf events/ > findings.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("detect needs at least one PATH (or - for stdin)")
			}
			enc, err := report.NewFindingEncoder(format)
			if err != nil {
				return usageError{err}
			}
			enc.Records = withRecords
			minRank, failRank := detect.LevelRank(minLevel), len(detect.Levels)
			if minRank < 0 {
				return usagef("--min-level: want one of %s", strings.Join(detect.Levels, ", "))
			}
			if failOn != "" {
				if failRank = detect.LevelRank(failOn); failRank < 0 {
					return usagef("--fail-on: want one of %s", strings.Join(detect.Levels, ", "))
				}
			}
			rules, _, err := loadRules(io, ruleDirs, noBuiltin)
			if err != nil {
				return err
			}
			engine := detect.NewEngine(rules)
			_, dangling := engine.Correlations()
			for _, d := range dangling {
				fmt.Fprintf(io.Err, "parapet: rule skipped: %s\n", d)
			}
			// --paths: the steps of known privilege-escalation paths are
			// findings too, made with the rules' (stateless, per event).
			detectBatch := engine.DetectBatch
			var walker *attackpath.Walker
			if pathsFile != "" && pathsLive {
				return usagef("--paths or --paths-live, not both")
			}
			if pathsFile != "" || pathsLive {
				if pathsFile != "" {
					if walker, err = attackpath.LoadWalker(pathsFile); err != nil {
						return fmt.Errorf("--paths: %w", err)
					}
				} else if walker, err = liveWalker(cmd.Context(), io); err != nil {
					return fmt.Errorf("--paths-live: %w", err)
				}
				detectBatch = func(evs []event.Event) *detect.Batch {
					res := engine.DetectBatch(evs)
					res.Findings = append(res.Findings, walker.Findings(evs)...)
					return res
				}
			}
			correlator := engine.NewCorrelator()
			agg, err := af.aggregator(correlator, withRecords)
			if err != nil {
				return err
			}
			ue, err := uf.engine()
			if err != nil {
				return err
			}
			flags.timeOrder = ue != nil
			var resp *respond.Engine
			if respondOn {
				var closeFn func()
				if resp, closeFn, err = rf.engine(cmd.Context(), IO{In: io.In, Out: io.Err, Err: io.Err}); err != nil {
					return err
				}
				defer closeFn()
			}
			w := bufio.NewWriterSize(io.Out, 256<<10)
			if _, err := w.Write(enc.Header()); err != nil {
				return err
			}
			perLevel := map[string]int{}
			hidden := 0 // findings below --min-level, correlated and acted on all the same
			perRule := map[string]int{}
			failed := false
			respondFailed := 0
			// Rules run in the workers; correlation, which keeps state, and
			// output run in event-time order on this goroutine.
			var out []byte
			var done []detect.Finding
			write := func(fs []detect.Finding) error {
				out = out[:0]
				for i := range fs {
					f := &fs[i]
					if detect.LevelRank(f.Level) < minRank {
						hidden++
						continue
					}
					perLevel[f.Level]++
					perRule[f.Title]++
					if detect.LevelRank(f.Level) >= failRank {
						failed = true
					}
					var err error
					if out, err = enc.Append(out, f); err != nil {
						return err
					}
				}
				_, err := w.Write(out)
				return err
			}
			emit := func(events []event.Event, res *detect.Batch) error {
				correlator.Correlate(events, res)
				uf.observe(ue, events, res)
				for i := range res.Findings {
					res.Findings[i] = walker.Annotate(res.Findings[i]) // behavioural findings of a path's source
				}
				fs, opened := res.Findings, res
				if agg != nil {
					// One finding per episode: playbooks run on the finding
					// that opens it, output waits for it to close.
					var o []detect.Finding
					o, done = aggregate(agg, res.Findings, done[:0])
					fs, opened = done, &detect.Batch{Findings: o}
				}
				if resp != nil {
					n, err := respondBatch(cmd.Context(), io, resp, &ingest.Batch{Events: events}, opened)
					respondFailed += n
					if err != nil {
						return err
					}
				}
				return write(fs)
			}
			// Without behavioural models or playbooks, which read every
			// event, only the events a rule matches are held for ordering.
			var mayFind func([]event.Event, []bool) []bool
			if ue == nil && resp == nil {
				mayFind = engine.MayFind
				if walker != nil {
					// And the calls of the principals a path step starts from.
					mayFind = func(evs []event.Event, keep []bool) []bool {
						keep = engine.MayFind(evs, keep)
						for i := range evs {
							keep[i] = keep[i] || walker.MayMatch(&evs[i])
						}
						return keep
					}
				}
			}
			var st ingest.Stats
			var ost detect.OrderStats
			if corr, _ := engine.Correlations(); mayFind != nil && agg == nil && len(corr) == 0 {
				// Nothing keeps state across events (no models, playbooks,
				// correlations or episodes): findings are made and encoded
				// as events are read, and only the bytes wait for order.
				var batches sync.Pool
				st, ost, err = flags.detectEncoded(cmd.Context(), io, args, func(evs []event.Event, buf []byte) ([][]byte, []byte, error) {
					b, _ := batches.Get().(*detect.Batch)
					if b == nil {
						b = &detect.Batch{}
					}
					payloads, buf, err := encodeFindings(enc, engine.DetectInto(evs, b), len(evs), minRank, buf)
					batches.Put(b) // encoded: its findings' memory serves the next batch
					if err != nil || walker == nil {
						return payloads, buf, err
					}
					payloads, err = encodeWalk(enc, walker, evs, payloads, minRank)
					return payloads, buf, err
				}, func(p []byte) error {
					return decodeFindings(p, func(rank int, title string, line []byte) error {
						if rank < minRank {
							hidden++
							return nil
						}
						perLevel[detect.Levels[rank]]++
						perRule[title]++
						failed = failed || rank >= failRank
						_, err := w.Write(line)
						return err
					})
				})
			} else {
				st, ost, err = flags.detect(cmd.Context(), io, args, detectBatch, mayFind, emit)
			}
			if err == nil && ue != nil {
				// The behavioural sessions still open at the end of the input.
				err = emit(nil, &detect.Batch{Findings: uf.flush(ue)})
			}
			if err == nil && agg != nil {
				err = write(agg.Flush(done[:0]))
			}
			if ferr := w.Flush(); err == nil {
				err = ferr
			}
			if err != nil {
				return err
			}
			if err := uf.finish(io, ue); err != nil {
				return err
			}
			var levels []string
			total := 0
			for i := len(detect.Levels) - 1; i >= 0; i-- {
				if n := perLevel[detect.Levels[i]]; n > 0 {
					levels = append(levels, fmt.Sprintf("%d %s", n, detect.Levels[i]))
					total += n
				}
			}
			fmt.Fprintf(io.Err, "parapet: %d rules, %d findings (%s) in %d events\n", len(rules), total, strings.Join(levels, ", "), ost.Events)
			if hidden > 0 {
				fmt.Fprintf(io.Err, "parapet: %d findings below --min-level %s not shown\n", hidden, minLevel)
			}
			for _, t := range topN(perRule, 5) {
				fmt.Fprintf(io.Err, "parapet:   %5d  %s\n", perRule[t], t)
			}
			switch {
			case failed:
				return &ExitError{Code: ExitFailure, Err: fmt.Errorf("findings at or above %s", failOn)}
			case respondFailed > 0:
				return actionsFailed(respondFailed)
			case st.Bad():
				return &ExitError{Code: ExitBadInput}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "jsonl", "output format: jsonl, ocsf or table")
	cmd.Flags().StringArrayVar(&ruleDirs, "rules", nil, "a file or directory of Sigma rules to add (repeatable)")
	cmd.Flags().BoolVar(&noBuiltin, "no-builtin", false, "run only the --rules given, not the builtin pack")
	cmd.Flags().BoolVar(&withRecords, "records", false, "jsonl: add each finding's native record (\"record\"), which parapet respond reads")
	cmd.Flags().StringVar(&minLevel, "min-level", "low", "print only findings at or above this level (informational ones are signals: correlation rules still see them)")
	cmd.Flags().StringVar(&failOn, "fail-on", "", "exit 1 when a finding reaches this level")
	flags.register(cmd.Flags())
	flags.registerS3(cmd.Flags(), "detect")
	flags.registerOrder(cmd.Flags())
	uf.register(cmd.Flags())
	af.register(cmd.Flags())
	cmd.Flags().BoolVar(&pathsLive, "paths-live", false, "as --paths, with the paths to admin of the account the AWS credentials name, read live (as parapet paths --live)")
	cmd.Flags().StringVar(&pathsFile, "paths", "", "the JSON of 'parapet paths --format json': a call that takes a step of one of its paths is a finding (\"step k of n of a path from X to admin\")")
	cmd.Flags().BoolVar(&respondOn, "respond", false, "run the response playbooks on the findings as they are found (see parapet respond)")
	rf.register(cmd.Flags(), "respond-dry-run")
	return cmd
}

// encodeFindings encodes each event's findings (res from DetectBatch over
// n events) for output: per finding its level's rank, its title and its
// output (none below minRank, which is only counted); nil when there
// are none. The payloads are written into buf (grown as needed, and
// returned: the caller may use it again once it is done with them), each
// capped so that appending to one does not write over the next.
func encodeFindings(enc *report.FindingEncoder, res *detect.Batch, n, minRank int, buf []byte) ([][]byte, []byte, error) {
	if len(res.Findings) == 0 {
		return nil, buf, nil
	}
	payloads := make([][]byte, n)
	buf = buf[:0]
	var line []byte
	cur, start := -1, 0 // the event whose findings buf[start:] holds
	end := func() {
		if cur >= 0 {
			payloads[cur] = buf[start:len(buf):len(buf)]
		}
		cur = -1
	}
	for i := range res.Findings {
		f := &res.Findings[i]
		ev := res.EventOf(i)
		if ev < 0 {
			return nil, buf, fmt.Errorf("finding %s: no event", f.ID)
		}
		var err error
		switch {
		case ev == cur:
			buf, line, err = appendFinding(enc, buf, line, f, minRank)
		case payloads[ev] != nil: // an event's findings apart: appended to its own
			end()
			payloads[ev], line, err = appendFinding(enc, payloads[ev], line, f, minRank)
		default:
			end()
			cur, start = ev, len(buf)
			buf, line, err = appendFinding(enc, buf, line, f, minRank)
		}
		if err != nil {
			return nil, buf, err
		}
	}
	end()
	return payloads, buf, nil
}

// appendFinding appends one finding's payload (its rank, title and, at or
// above minRank, its encoded line) to p; line is scratch.
func appendFinding(enc *report.FindingEncoder, p, line []byte, f *detect.Finding, minRank int) ([]byte, []byte, error) {
	rank := detect.LevelRank(f.Level)
	if rank < 0 {
		rank = detect.LevelRank("medium") // Sigma's default
	}
	line = line[:0]
	if rank >= minRank {
		var err error
		if line, err = enc.Append(line, f); err != nil {
			return p, line, err
		}
	}
	p = slices.Grow(p, 1+2*binary.MaxVarintLen64+len(f.Title)+len(line)) // one allocation, not one per append
	p = append(p, byte(rank))
	p = binary.AppendUvarint(p, uint64(len(f.Title)))
	p = append(p, f.Title...)
	p = binary.AppendUvarint(p, uint64(len(line)))
	return append(p, line...), line, nil
}

// encodeWalk adds to payloads (made when nil) the path-step findings of
// the events, each at its event.
func encodeWalk(enc *report.FindingEncoder, w *attackpath.Walker, evs []event.Event, payloads [][]byte, minRank int) ([][]byte, error) {
	var line []byte
	for i := range evs {
		if !w.MayMatch(&evs[i]) {
			continue
		}
		for _, f := range w.Findings(evs[i : i+1]) {
			if payloads == nil {
				payloads = make([][]byte, len(evs))
			}
			var err error
			if payloads[i], line, err = appendFinding(enc, payloads[i], line, &f, minRank); err != nil {
				return nil, err
			}
		}
	}
	return payloads, nil
}

// decodeFindings calls fn with each finding encodeFindings put in p.
func decodeFindings(p []byte, fn func(rank int, title string, line []byte) error) error {
	field := func() ([]byte, bool) {
		n, k := binary.Uvarint(p)
		if k <= 0 || uint64(len(p)-k) < n {
			return nil, false
		}
		b := p[k : k+int(n)]
		p = p[k+int(n):]
		return b, true
	}
	for len(p) > 0 {
		rank := int(p[0])
		p = p[1:]
		title, ok := field()
		line, ok2 := field()
		if !ok || !ok2 || rank >= len(detect.Levels) {
			return errors.New("detect: a held finding is corrupt")
		}
		if err := fn(rank, string(title), line); err != nil {
			return err
		}
	}
	return nil
}

// topN returns the n largest entries of m, largest first, ties by name.
func topN(m map[string]int, n int) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return keys[:min(n, len(keys))]
}

// liveWalker reads the live account's IAM (as paths --live) and indexes
// the steps of its paths to admin.
func liveWalker(ctx context.Context, io IO) (*attackpath.Walker, error) {
	methods, err := attackpath.BuiltinMethods()
	if err != nil {
		return nil, err
	}
	res, notes, errs := awsapi.Authorization(ctx, awsapi.Options{})
	for _, n := range notes {
		fmt.Fprintf(io.Err, "parapet: note: %s\n", n)
	}
	for _, e := range errs {
		fmt.Fprintf(io.Err, "parapet: %v\n", e)
	}
	if res == nil && len(errs) > 0 {
		return nil, fmt.Errorf("read the account: %w", errs[0])
	}
	paths, err := attackpath.Build(res, methods, attackpath.Options{}).Shortest("admin")
	if err != nil {
		return nil, err
	}
	w := attackpath.NewWalker(paths)
	fmt.Fprintf(io.Err, "parapet: %d paths to admin in the live account\n", w.Paths())
	return w, nil
}
