package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
)

// evalReport is what parapet eval measures.
type evalReport struct {
	Events     int64                  `json:"events"`
	Benign     int64                  `json:"benign_events"`
	Labelled   int64                  `json:"labelled_events"`
	Stories    []storyResult          `json:"stories"`
	BySource   map[string]*sourceStat `json:"by_source"` // rules, ueba, all
	MissingIDs int                    `json:"labels_not_decoded"`
	// UEBAByClass counts behavioural findings by the identity class of
	// their subject (person, root, service, aws_on_behalf, unknown):
	// AWS services and calls AWS made on a principal's behalf must have
	// none.
	UEBAByClass map[string]int `json:"ueba_findings_by_identity_class"`
}

type storyResult struct {
	Story      string             `json:"story"`
	Events     int                `json:"events"`
	First      time.Time          `json:"first_event"`
	DetectedBy []string           `json:"detected_by"`
	MTTD       map[string]float64 `json:"mttd_seconds"` // per source, event time from the first story event to the first finding
}

type sourceStat struct {
	Stories      int     `json:"stories"`
	Detected     int     `json:"detected"`
	Recall       float64 `json:"recall"`
	TrueFindings int     `json:"findings_on_stories"`
	FalseAlerts  int     `json:"false_alerts"`
	Precision    float64 `json:"precision"`
	FAPer1000    float64 `json:"false_alerts_per_1000_benign"`
	MTTDMedian   float64 `json:"mttd_median_seconds"`
}

func sourceGroup(f *detect.Finding) string {
	if f.Source == "ueba" {
		return "ueba"
	}
	return "rules"
}

func newEval(io IO) *cobra.Command {
	var (
		labelsPath string
		ruleDirs   []string
		noBuiltin  bool
		asJSON     bool
		flags      ingestFlags
		uf         uebaFlags
		af         aggregateFlags
	)
	cmd := &cobra.Command{
		Use:   "eval --labels FILE PATH...",
		Short: "Measure detection on labelled telemetry: recall, precision, false alerts, MTTD",
		Long: `Run detection as parapet detect does (rules and UEBA) over labelled telemetry and measure it.
Labels are JSON lines {"event_id": "...", "story": "..."}; every other event is benign. A story is
detected when a finding names one of its events. Printed per story and per source (rules, ueba, all):
recall (stories detected), precision (findings on story events among all findings), false alerts per
1,000 benign events, and MTTD in event time (the story's first event to its first finding).
Findings are counted per episode (see parapet detect; --no-aggregate counts one per event).
parapet demo --eval writes such a set.`,
		Example: `  parapet demo --eval --dir eval
  parapet eval --labels eval/labels.jsonl --geoip eval/geo.mmdb --asn eval/geo.mmdb eval/AWSLogs`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if labelsPath == "" || len(args) == 0 {
				return usagef("eval needs --labels FILE and at least one PATH")
			}
			story, err := readLabels(labelsPath)
			if err != nil {
				return err
			}
			rules, _, err := loadRules(io, ruleDirs, noBuiltin)
			if err != nil {
				return err
			}
			engine := detect.NewEngine(rules)
			correlator := engine.NewCorrelator()
			agg, err := af.aggregator(correlator, false)
			if err != nil {
				return err
			}
			ue, err := uf.engine()
			if err != nil {
				return err
			}
			flags.timeOrder = ue != nil
			rep := &evalReport{BySource: map[string]*sourceStat{}}
			byClass := map[string]int{}
			rep.UEBAByClass = byClass
			type seen struct {
				n     int
				first time.Time
				found map[string]time.Time // source → first finding's event time
			}
			stories := map[string]*seen{}
			for _, s := range story {
				if stories[s] == nil {
					stories[s] = &seen{found: map[string]time.Time{}}
				}
			}
			decoded := map[string]bool{}
			falseAlerts, trueFindings := map[string]int{}, map[string]int{}
			var done []detect.Finding
			tally := func(fs []detect.Finding) {
				for i := range fs {
					f := &fs[i]
					src := sourceGroup(f)
					if src == "ueba" {
						byClass[f.Actor.Class()]++
					}
					name := ""
					for _, id := range f.EventIDs {
						if n, ok := story[id]; ok {
							name = n
							break
						}
					}
					if name == "" {
						falseAlerts[src]++
						continue
					}
					trueFindings[src]++
					s := stories[name]
					if t, ok := s.found[src]; !ok || f.Time.Before(t) {
						s.found[src] = f.Time
					}
				}
			}
			st, _, err := flags.detect(cmd.Context(), io, args, engine.DetectBatch, nil, func(events []event.Event, res *detect.Batch) error {
				correlator.Correlate(events, res)
				uf.observe(ue, events, res)
				for i := range events {
					ev := &events[i]
					rep.Events++
					name, ok := story[ev.ID]
					if !ok {
						continue
					}
					rep.Labelled++
					decoded[ev.ID] = true
					s := stories[name]
					s.n++
					if s.first.IsZero() || ev.Time.Before(s.first) {
						s.first = ev.Time
					}
				}
				if agg == nil {
					tally(res.Findings)
					return nil
				}
				_, done = aggregate(agg, res.Findings, done[:0])
				tally(done)
				return nil
			})
			if err != nil {
				return err
			}
			if agg != nil {
				tally(agg.Flush(done[:0]))
			}
			if err := uf.finish(io, ue); err != nil {
				return err
			}
			rep.Benign = rep.Events - rep.Labelled
			rep.MissingIDs = len(story) - len(decoded)
			names := make([]string, 0, len(stories))
			for n := range stories {
				names = append(names, n)
			}
			slices.Sort(names)
			mttd := map[string][]float64{}
			for _, src := range []string{"rules", "ueba", "all"} {
				rep.BySource[src] = &sourceStat{Stories: len(names)}
			}
			for _, n := range names {
				s := stories[n]
				r := storyResult{Story: n, Events: s.n, First: s.first, MTTD: map[string]float64{}}
				var firstAll time.Time
				for _, src := range []string{"rules", "ueba"} {
					t, ok := s.found[src]
					if !ok {
						continue
					}
					r.DetectedBy = append(r.DetectedBy, src)
					d := max(0, t.Sub(s.first).Seconds())
					r.MTTD[src] = d
					mttd[src] = append(mttd[src], d)
					rep.BySource[src].Detected++
					if firstAll.IsZero() || t.Before(firstAll) {
						firstAll = t
					}
				}
				if !firstAll.IsZero() {
					d := max(0, firstAll.Sub(s.first).Seconds())
					r.MTTD["all"] = d
					mttd["all"] = append(mttd["all"], d)
					rep.BySource["all"].Detected++
				}
				rep.Stories = append(rep.Stories, r)
			}
			falseAlerts["all"] = falseAlerts["rules"] + falseAlerts["ueba"]
			trueFindings["all"] = trueFindings["rules"] + trueFindings["ueba"]
			for src, s := range rep.BySource {
				s.FalseAlerts, s.TrueFindings = falseAlerts[src], trueFindings[src]
				if s.Stories > 0 {
					s.Recall = float64(s.Detected) / float64(s.Stories)
				}
				if n := s.FalseAlerts + s.TrueFindings; n > 0 {
					s.Precision = float64(s.TrueFindings) / float64(n)
				}
				if rep.Benign > 0 {
					s.FAPer1000 = 1000 * float64(s.FalseAlerts) / float64(rep.Benign)
				}
				s.MTTDMedian = median(mttd[src])
			}
			if asJSON {
				b, _ := json.MarshalIndent(rep, "", "  ")
				fmt.Fprintln(io.Out, string(b))
			} else {
				printEval(io, rep)
			}
			if st.Bad() {
				return &ExitError{Code: ExitBadInput}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&labelsPath, "labels", "", "the labels: JSON lines {\"event_id\": \"...\", \"story\": \"...\"}")
	cmd.Flags().StringArrayVar(&ruleDirs, "rules", nil, "a file or directory of Sigma rules to add (repeatable)")
	cmd.Flags().BoolVar(&noBuiltin, "no-builtin", false, "run only the --rules given, not the builtin pack")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	flags.register(cmd.Flags())
	flags.registerOrder(cmd.Flags())
	uf.register(cmd.Flags())
	af.register(cmd.Flags())
	return cmd
}

func readLabels(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var l struct {
			EventID string `json:"event_id"`
			Story   string `json:"story"`
		}
		if err := json.Unmarshal([]byte(text), &l); err != nil || l.EventID == "" || l.Story == "" {
			return nil, fmt.Errorf("%s:%d: want {\"event_id\": \"...\", \"story\": \"...\"}", path, line)
		}
		out[l.EventID] = l.Story
	}
	return out, sc.Err()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func printEval(io IO, rep *evalReport) {
	w := bufio.NewWriter(io.Out)
	defer w.Flush()
	fmt.Fprintf(w, "%d events: %d labelled in %d stories, %d benign\n\n", rep.Events, rep.Labelled, len(rep.Stories), rep.Benign)
	fmt.Fprintf(w, "%-28s %7s  %-12s %s\n", "STORY", "EVENTS", "DETECTED BY", "MTTD (event time)")
	for _, s := range rep.Stories {
		by := strings.Join(s.DetectedBy, "+")
		if by == "" {
			by = "MISSED"
		}
		var mt []string
		for _, src := range s.DetectedBy {
			mt = append(mt, fmt.Sprintf("%s %s", src, time.Duration(s.MTTD[src]*float64(time.Second)).Round(time.Second)))
		}
		fmt.Fprintf(w, "%-28s %7d  %-12s %s\n", s.Story, s.Events, by, strings.Join(mt, ", "))
	}
	fmt.Fprintf(w, "\n%-6s %8s %10s %10s %14s %14s\n", "SOURCE", "RECALL", "PRECISION", "FINDINGS", "FALSE ALERTS", "PER 1K BENIGN")
	for _, src := range []string{"rules", "ueba", "all"} {
		s := rep.BySource[src]
		fmt.Fprintf(w, "%-6s %4d/%-3d %10.3f %10d %14d %14.4f   MTTD median %s\n", src, s.Detected, s.Stories, s.Precision, s.TrueFindings+s.FalseAlerts, s.FalseAlerts, s.FAPer1000,
			time.Duration(s.MTTDMedian*float64(time.Second)).Round(time.Second))
	}
	var classes []string
	for _, c := range []string{event.ClassPerson, event.ClassRoot, event.ClassService, event.ClassOnBehalf, event.ClassUnknownWho} {
		classes = append(classes, fmt.Sprintf("%s %d", c, rep.UEBAByClass[c]))
	}
	fmt.Fprintf(w, "\nUEBA findings by the identity class of their subject: %s\n", strings.Join(classes, ", "))
	if rep.MissingIDs > 0 {
		fmt.Fprintf(w, "\n%d labelled event ids were not among the decoded events\n", rep.MissingIDs)
	}
}
