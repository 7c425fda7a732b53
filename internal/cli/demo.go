package cli

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/parapet-sec/parapet/internal/attackpath"
	"github.com/parapet-sec/parapet/internal/demo"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
)

func newDemo(io IO) *cobra.Command {
	var (
		cfg             demo.Config
		flags           ingestFlags
		evalSet         bool
		accounts, teams int
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Generate a week of a small organization's telemetry with attacks in it, and ingest it",
		Long: `Generate, deterministically from --seed, several days of CloudTrail and VPC Flow Logs for Acme (two
accounts, ten people, CI, Lambda and EC2 roles, AWS services) laid out as AWS delivers them to S3,
with seven attack stories embedded; write the ground truth to labels.jsonl; then ingest it all and
print what was seen. No cloud account and no network needed.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start := time.Now()
			if evalSet {
				days := cfg.Days
				if !cmd.Flags().Changed("days") {
					days = 28
				}
				res, err := demo.GenerateEval(demo.EvalConfig{Dir: cfg.Dir, Seed: cfg.Seed, Days: days, Accounts: accounts, Teams: teams})
				if err != nil {
					return err
				}
				fmt.Fprintf(io.Out, "Parapet evaluation set: %d days, %d accounts, %d CloudTrail records in %d files, %d labelled story records (%d stories), generated in %.1f s into %s\n",
					days, accounts, res.Records, res.CloudTrailFiles, len(res.Labels), countStories(res.Labels), time.Since(start).Seconds(), cfg.Dir)
				fmt.Fprintf(io.Out, "Evaluate: bin/parapet eval --labels %s --geoip %s --asn %s --cloud-ranges %s %s\n",
					res.LabelsPath, res.GeoPath, res.GeoPath, res.RangesPath, filepath.Join(cfg.Dir, "AWSLogs"))
				return nil
			}
			res, err := demo.Generate(cfg)
			if err != nil {
				return err
			}
			out := bufio.NewWriter(io.Out)
			defer out.Flush()
			fmt.Fprintf(out, "Parapet demo: %d days of Acme's telemetry (seed %d), %s to %s, generated in %.2f s into %s\n",
				cfg.Days, cfg.Seed, res.Start.Format("Mon 2006-01-02"), res.End.Add(-time.Second).Format("Mon 2006-01-02"), time.Since(start).Seconds(), cfg.Dir)
			fmt.Fprintf(out, "  %d CloudTrail log files (%d records), %d VPC flow log files (%d records); ground truth: %s (%d labels)\n\n",
				res.CloudTrailFiles, res.Records, res.FlowFiles, res.Flows, res.LabelsPath, len(res.Labels))
			out.Flush()

			story := map[string]string{}
			for _, l := range res.Labels {
				story[l.EventID] = l.Story
			}
			seen := newTally(story)
			rules, _, err := loadRules(io, nil, false)
			if err != nil {
				return err
			}
			engine := detect.NewEngine(rules)
			correlator := engine.NewCorrelator()
			// The behavioural models, warmed up on the first three days:
			// the demo's week is shorter than the default warm-up.
			uf := uebaFlags{warmup: 72 * time.Hour, lateness: time.Hour, threshold: 4, minRaw: 5}
			ue, err := uf.engine()
			if err != nil {
				return err
			}
			flags.timeOrder = true
			// What requests do (parapet.* fields), as detect reads it;
			// the accounts are learned from the records.
			flags.requests = true
			// The demo's AWS addresses, so that rules can tell inside from
			// outside AWS.
			flags.cloudRanges = append(flags.cloudRanges, res.RangesPath)
			flags.geoip, flags.asn = res.GeoPath, res.GeoPath
			var all []detect.Finding
			// Incidents as serve files them, measured against the stories.
			attack := map[string]string{}
			for _, l := range res.Labels {
				attack[l.EventID] = l.AttackOf()
			}
			incs := newStoryIncidents(time.Hour, attack)
			// The paths to admin in Acme's IAM: a call that walks one is a
			// finding, as in serve --demo.
			_, walker, err := demoPaths(cfg.Dir)
			if err != nil {
				return err
			}
			detectBatch := func(b *ingest.Batch) {
				res := engine.DetectBatch(b.Events)
				res.Findings = append(res.Findings, walker.Findings(b.Events)...)
				b.Data = res
			}
			st, err := flags.run(cmd.Context(), io, []string{filepath.Join(cfg.Dir, "AWSLogs")}, detectBatch, func(b *ingest.Batch) error {
				for i := range b.Events {
					seen.add(&b.Events[i])
				}
				res := b.Data.(*detect.Batch)
				correlator.Correlate(b.Events, res)
				uf.observe(ue, b.Events, res)
				for i := range res.Findings {
					seen.finding(&res.Findings[i])
				}
				incs.observe(b.Events)
				incs.file(res.Findings)
				all = append(all, res.Findings...)
				return nil
			})
			if err != nil {
				return err
			}
			// The behavioural sessions still open at the end of the week.
			rest := uf.flush(ue)
			for _, f := range rest {
				seen.finding(&f)
				all = append(all, f)
			}
			incs.file(rest)
			seen.print(out, st)
			incs.print(out, 12)
			printRunItYourself(out, res.RangesPath, res.GeoPath, filepath.Join(cfg.Dir, "AWSLogs"))
			if err := demoResponse(cmd.Context(), out, cfg.Dir, all); err != nil {
				return err
			}
			if err := demoPosture(out, io, cfg.Dir); err != nil {
				return err
			}
			if st.Bad() {
				return &ExitError{Code: ExitBadInput}
			}
			if missing := seen.missingLabels(); missing > 0 {
				return fmt.Errorf("%d labelled records were not among the decoded events", missing)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.Dir, "dir", "parapet-demo", "folder to write the demo data into")
	cmd.Flags().Uint64Var(&cfg.Seed, "seed", 1, "random seed: the same seed gives the same data")
	cmd.Flags().IntVar(&cfg.Days, "days", 7, "days of telemetry (at least 5; with --eval at least 21, default 28)")
	cmd.Flags().BoolVar(&evalSet, "eval", false, "write an evaluation set instead (several accounts, weeks of noisy background, each attack\nstory injected three times), for parapet eval; nothing is run")
	cmd.Flags().IntVar(&accounts, "accounts", 4, "with --eval: long-lived accounts (the short-lived ones, an account per attack kind,\nattacker identity and history of 1, 2, 3 or 7 days, come beside them)")
	cmd.Flags().IntVar(&teams, "teams", 2, "with --eval: copies of the ten people in each long-lived account")
	flags.register(cmd.Flags())
	return cmd
}

// tally is what the demo prints about the events it decoded.
type tally struct {
	labels      map[string]string
	found       map[string]int
	classes     map[string]int
	accounts    map[string]int
	principal   map[string]int
	ops         map[string]int
	errs        map[string]int
	flows       struct{ accepted, rejected, bytesOut, bytesIn int64 }
	first       time.Time
	last        time.Time
	stories     map[string]*storySeen
	findings    int
	falseAlerts map[string]int // rule title → findings on background events
}

type storySeen struct {
	first, last time.Time
	trail, flow int
	ops         map[string]int
	actors      map[string]bool
	srcIPs      map[string]bool
	bytesOut    int64
	ports       map[uint16]bool
	rules       map[string]int      // rule title → findings on this story's events
	why         map[string][]string // behavioural finding title → its strongest reasons
}

func newTally(labels map[string]string) *tally {
	return &tally{labels: labels, found: map[string]int{}, classes: map[string]int{}, accounts: map[string]int{}, principal: map[string]int{},
		ops: map[string]int{}, errs: map[string]int{}, stories: map[string]*storySeen{}, falseAlerts: map[string]int{}}
}

func actorName(e *event.Event) string {
	switch {
	case e.Actor.Type == "AssumedRole":
		return "role/" + e.Actor.UserName
	case e.Actor.UserName != "":
		return e.Actor.UserName
	case e.Actor.InvokedBy != "":
		return e.Actor.InvokedBy
	}
	return e.Actor.Type
}

func (t *tally) add(e *event.Event) {
	if t.first.IsZero() || e.Time.Before(t.first) {
		t.first = e.Time
	}
	if e.Time.After(t.last) {
		t.last = e.Time
	}
	t.classes[e.Source.Service()+"\t"+e.Class.Name()]++
	t.accounts[e.Cloud.Account+" "+e.Cloud.Region]++
	if n := e.Network; n != nil {
		if n.Action == "ACCEPT" {
			t.flows.accepted++
		} else {
			t.flows.rejected++
		}
		if n.Direction == "egress" {
			t.flows.bytesOut += n.Bytes
		} else {
			t.flows.bytesIn += n.Bytes
		}
	} else {
		t.principal[actorName(e)]++
		t.ops[e.API.Service+" "+e.API.Operation]++
		if e.API.ErrorCode != "" {
			t.errs[e.API.ErrorCode]++
		}
	}
	name, ok := t.labels[e.ID]
	if !ok {
		return
	}
	t.found[e.ID]++
	s := t.stories[name]
	if s == nil {
		s = &storySeen{ops: map[string]int{}, actors: map[string]bool{}, srcIPs: map[string]bool{}, ports: map[uint16]bool{}, rules: map[string]int{}}
		t.stories[name] = s
	}
	if s.first.IsZero() || e.Time.Before(s.first) {
		s.first = e.Time
	}
	if e.Time.After(s.last) {
		s.last = e.Time
	}
	if e.Network != nil {
		s.flow++
		s.ports[e.Dst.Port] = true
		if e.Network.Direction == "egress" {
			s.bytesOut += e.Network.Bytes
		}
		return
	}
	s.trail++
	s.ops[e.API.Operation]++
	s.actors[actorName(e)] = true
	if e.Src.IP.IsValid() {
		s.srcIPs[e.Src.IP.String()] = true
	}
}

// finding files a finding under the story of its event, or counts it as
// a false alert on the background.
func (t *tally) finding(f *detect.Finding) {
	t.findings++
	for _, id := range f.EventIDs {
		if name, ok := t.labels[id]; ok {
			if s := t.stories[name]; s != nil {
				k := f.Level + "\t" + f.Title
				s.rules[k]++
				if f.Source == "ueba" && s.why[k] == nil {
					if s.why == nil {
						s.why = map[string][]string{}
					}
					for _, e := range f.Explanation[:min(3, len(f.Explanation))] {
						s.why[k] = append(s.why[k], fmt.Sprintf("%s %.1f: %s", e.Selection, e.Score, e.Detail))
					}
				}
			}
			return
		}
	}
	t.falseAlerts[f.Level+"\t"+f.Title]++
}

func (t *tally) missingLabels() int {
	n := 0
	for id := range t.labels {
		if t.found[id] == 0 {
			n++
		}
	}
	return n
}

func sortedSet[K cmp.Ordered](m map[K]bool) []K {
	return slices.Sorted(maps.Keys(m))
}

func (t *tally) print(w *bufio.Writer, st ingest.Stats) {
	fmt.Fprintf(w, "\nWhat Parapet saw: %d events, %s to %s, %d bad records\n", st.Events, t.first.Format(time.RFC3339), t.last.Format(time.RFC3339), st.BadRecords)
	fmt.Fprintln(w, "\n  events by source and OCSF class")
	for _, k := range slices.Sorted(maps.Keys(t.classes)) {
		src, class, _ := strings.Cut(k, "\t")
		fmt.Fprintf(w, "    %-12s %-18s %7d\n", src, class, t.classes[k])
	}
	fmt.Fprintln(w, "\n  accounts and regions")
	for _, k := range slices.Sorted(maps.Keys(t.accounts)) {
		fmt.Fprintf(w, "    %-28s %7d\n", k, t.accounts[k])
	}
	fmt.Fprintln(w, "\n  busiest principals (API calls)")
	for _, k := range topN(t.principal, 8) {
		fmt.Fprintf(w, "    %-28s %7d\n", k, t.principal[k])
	}
	fmt.Fprintln(w, "\n  most frequent API calls")
	for _, k := range topN(t.ops, 8) {
		fmt.Fprintf(w, "    %-48s %7d\n", k, t.ops[k])
	}
	fmt.Fprintf(w, "\n  API errors:")
	for _, k := range topN(t.errs, 5) {
		fmt.Fprintf(w, " %s %d", k, t.errs[k])
	}
	fmt.Fprintf(w, "\n  network: %d flows accepted, %d rejected; %s in, %s out\n",
		t.flows.accepted, t.flows.rejected, bytesHuman(t.flows.bytesIn), bytesHuman(t.flows.bytesOut))

	fmt.Fprintln(w, "\nThe attack stories hidden in this week (ground truth from labels.jsonl, as decoded):")
	wd := 0
	for _, s := range demo.Stories {
		wd = max(wd, len(s.Name))
	}
	for _, s := range demo.Stories {
		seen := t.stories[s.Name]
		if seen == nil {
			fmt.Fprintf(w, "  %-*s NOT FOUND in the decoded events\n", wd, s.Name)
			continue
		}
		fmt.Fprintf(w, "  %-*s %s\n", wd, s.Name, s.Summary)
		fmt.Fprintf(w, "  %*s %s → %s: %d CloudTrail records, %d flow records\n", wd, "", seen.first.Format("Mon 15:04:05Z"), seen.last.Format("Mon 15:04:05Z"), seen.trail, seen.flow)
		if seen.trail > 0 {
			var ops []string
			for _, op := range topN(seen.ops, 6) {
				if seen.ops[op] > 1 {
					op = fmt.Sprintf("%s×%d", op, seen.ops[op])
				}
				ops = append(ops, op)
			}
			fmt.Fprintf(w, "  %*s by %s from %s: %s\n", wd, "", strings.Join(sortedSet(seen.actors), ", "), strings.Join(sortedSet(seen.srcIPs), ", "), strings.Join(ops, ", "))
		}
		if seen.flow > 0 {
			var ports []string
			for _, p := range sortedSet(seen.ports) {
				ports = append(ports, fmt.Sprint(p))
			}
			fmt.Fprintf(w, "  %*s flows to port %s, %s sent out\n", wd, "", strings.Join(ports, ", "), bytesHuman(seen.bytesOut))
		}
		if len(seen.rules) == 0 {
			fmt.Fprintf(w, "  %*s detected by: nothing\n", wd, "")
		}
		for _, k := range slices.Sorted(maps.Keys(seen.rules)) {
			level, title, _ := strings.Cut(k, "\t")
			fmt.Fprintf(w, "  %*s DETECTED %-8s %s (%d findings)\n", wd, "", level, title, seen.rules[k])
			for _, why := range seen.why[k] {
				fmt.Fprintf(w, "  %*s            · %s\n", wd, "", why)
			}
		}
	}
	fp := 0
	for _, n := range t.falseAlerts {
		fp += n
	}
	fmt.Fprintf(w, "\nDetection: %d findings; %d on the attack stories, %d on background events", t.findings, t.findings-fp, fp)
	if fp == 0 {
		fmt.Fprintln(w, " (no false alerts).")
	} else {
		fmt.Fprintln(w, ":")
		for _, k := range topN(t.falseAlerts, 10) {
			level, title, _ := strings.Cut(k, "\t")
			fmt.Fprintf(w, "  %6d %-8s %s\n", t.falseAlerts[k], level, title)
		}
	}
	fmt.Fprintln(w, "Behavioural baselines (UEBA) mature on the first three days of the week here (--ueba-warmup 72h; the default is seven):")
	fmt.Fprintln(w, "before, only an anomaly with a first high-risk action is reported, at level low and marked immature.")
}

// printRunItYourself prints the detect command that repeats the demo's
// detection on the files it wrote.
func printRunItYourself(w *bufio.Writer, ranges, geo, logs string) {
	fmt.Fprintf(w, "Run it yourself: bin/parapet detect --format table --ueba-warmup 72h --cloud-ranges %s \\\n    --geoip %s --asn %s %s\n",
		shellQuote(ranges), shellQuote(geo), shellQuote(geo), shellQuote(logs))
}

// shellQuote quotes a path for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func countStories(labels []demo.Label) int {
	seen := map[string]bool{}
	for _, l := range labels {
		seen[l.Story] = true
	}
	return len(seen)
}

// demoPaths writes the paths to admin of the demo's IAM (demo.IAMDir,
// written first when an older demo folder lacks it) to dir/paths.json, as
// parapet paths --format json would, and returns the file and a walker
// over them.
func demoPaths(dir string) (string, *attackpath.Walker, error) {
	iamDir := filepath.Join(dir, demo.IAMDir)
	if _, err := os.Stat(filepath.Join(iamDir, "main.tf")); err != nil {
		if iamDir, err = demo.WriteIAM(dir); err != nil {
			return "", nil, err
		}
	}
	res, err := pathsInput(iamDir, nil, func(error) {})
	if err != nil {
		return "", nil, fmt.Errorf("demo IAM: %w", err)
	}
	methods, err := attackpath.BuiltinMethods()
	if err != nil {
		return "", nil, err
	}
	g := attackpath.Build(res, methods, attackpath.Options{})
	paths, err := g.Shortest("admin")
	if err != nil {
		return "", nil, err
	}
	var b bytes.Buffer
	if err := g.NewReport("admin", paths).WriteJSON(&b); err != nil {
		return "", nil, err
	}
	file := filepath.Join(dir, "paths.json")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		return "", nil, err
	}
	return file, attackpath.NewWalker(paths), nil
}
