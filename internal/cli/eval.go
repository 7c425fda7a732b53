package cli

import (
	"bufio"
	"cmp"
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
	// Incidents: the findings filed into incidents as serve files them,
	// measured against the attacks (split, merged, reduction).
	Incidents incidentStats `json:"incidents"`
	// ByHistory groups the stories by the whole days of their account's
	// history before them (1d … 7d, then ">7d"; "unknown" when the labels
	// do not say): recall and MTTD of those stories; false alerts per
	// 1,000 benign events of the accounts whose stories have that history
	// (an account with stories of several groups counts as "mixed", one
	// without stories as "no stories").
	ByHistory []*groupStat `json:"by_history"`
	// ByIdentity groups the stories by the attacker's identity
	// (existing_key, new_key, new_principal): recall and MTTD.
	ByIdentity []*groupStat `json:"by_attacker_identity"`
	// ByKind groups the stories by kind: recall and MTTD.
	ByKind []*groupStat `json:"by_kind"`
	// ByClass counts benign events and UEBA findings by identity class
	// (the finding's subject's, the event's actor's).
	ByClass []*classStat `json:"by_identity_class"`
}

// groupStat is recall, MTTD and, where benign events belong to the
// group, false alerts, per source, for a group of stories.
type groupStat struct {
	Name     string                 `json:"name"`
	Accounts int                    `json:"accounts,omitempty"`
	Benign   int64                  `json:"benign_events,omitempty"`
	BySource map[string]*sourceStat `json:"by_source"`
}

// classStat is what the behavioural models said about one identity class.
type classStat struct {
	Class        string  `json:"class"`
	Benign       int64   `json:"benign_events"`
	Findings     int     `json:"ueba_findings"`
	FalseAlerts  int     `json:"ueba_false_alerts"`
	FAPer1000    float64 `json:"ueba_false_alerts_per_1000_benign"`
	TrueFindings int     `json:"ueba_findings_on_stories"`
}

type storyResult struct {
	Story      string             `json:"story"`
	Kind       string             `json:"kind,omitempty"`
	History    int                `json:"history_days,omitempty"`
	Identity   string             `json:"identity,omitempty"`
	Account    string             `json:"account,omitempty"`
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
		labelsPath     string
		ruleDirs       []string
		noBuiltin      bool
		asJSON         bool
		incidentWindow time.Duration
		flags          ingestFlags
		uf             uebaFlags
		af             aggregateFlags
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
			story, info, err := readStoryLabels(labelsPath)
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
			attacks := map[string]string{}
			for id, n := range story {
				attacks[id] = cmp.Or(info[n].Attack, n)
			}
			incs := newStoryIncidents(incidentWindow, attacks)
			benignBy := map[string]int64{}         // account → benign events
			benignClass := map[string]int64{}      // identity class → benign events
			falseBy := map[string]map[string]int{} // account → source → false alerts
			falseClass := map[string]int{}         // identity class → false UEBA alerts
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
					acct := f.Cloud.Account
					name := ""
					for _, id := range f.EventIDs {
						if n, ok := story[id]; ok {
							name = n
							break
						}
					}
					if name == "" {
						falseAlerts[src]++
						if falseBy[acct] == nil {
							falseBy[acct] = map[string]int{}
						}
						falseBy[acct][src]++
						if src == "ueba" {
							falseClass[f.Actor.Class()]++
						}
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
				incs.observe(events)
				incs.file(res.Findings)
				for i := range events {
					ev := &events[i]
					rep.Events++
					name, ok := story[ev.ID]
					if !ok {
						benignBy[ev.Cloud.Account]++
						benignClass[cmp.Or(ev.Actor.Class(), event.ClassUnknownWho)]++
						continue
					}
					rep.Labelled++
					if l := info[name]; l.Account == "" {
						l.Account = ev.Cloud.Account
						info[name] = l
					}
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
			// The behavioural sessions still open at the end of the input
			// (the aggregator passes them through as they are).
			rest := uf.flush(ue)
			incs.file(rest)
			rep.Incidents = incs.result()
			tally(rest)
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
				l := info[n]
				r := storyResult{Story: n, Kind: l.Kind, History: l.HistoryDays, Identity: l.Identity, Account: l.Account, Events: s.n, First: s.first, MTTD: map[string]float64{}}
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
			rep.groups(benignBy, falseBy)
			rep.classes(benignClass, falseClass)
			if asJSON {
				b, _ := json.MarshalIndent(rep, "", "  ")
				fmt.Fprintln(io.Out, string(b))
			} else {
				printEval(io, rep)
				w := bufio.NewWriter(io.Out)
				incs.print(w, 10)
				w.Flush()
			}
			if st.Bad() {
				return &ExitError{Code: ExitBadInput}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&labelsPath, "labels", "", "the labels: JSON lines {\"event_id\": \"...\", \"story\": \"...\"}, optionally with \"kind\", \"history_days\", \"identity\", \"account\"")
	cmd.Flags().StringArrayVar(&ruleDirs, "rules", nil, "a file or directory of Sigma rules to add (repeatable)")
	cmd.Flags().BoolVar(&noBuiltin, "no-builtin", false, "run only the --rules given, not the builtin pack")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().DurationVar(&incidentWindow, "incident-window", time.Hour, "findings that share an entity this close in event time join one incident (serve's correlate.window)")
	flags.register(cmd.Flags())
	flags.registerOrder(cmd.Flags())
	uf.register(cmd.Flags())
	af.register(cmd.Flags())
	return cmd
}

// storyLabel is what the labels say about a story beyond its events.
type storyLabel struct {
	Kind        string `json:"kind"`
	HistoryDays int    `json:"history_days"`
	Identity    string `json:"identity"`
	Account     string `json:"account"`
	// Attack: the attack the story is a stage of (empty: its own).
	Attack string `json:"attack"`
}

// readLabels reads the labels: event id → story.
func readLabels(path string) (map[string]string, error) {
	story, _, err := readStoryLabels(path)
	return story, err
}

// readStoryLabels reads the labels: event id → story, and story → what
// the labels say of it (the first line of a story that says it).
func readStoryLabels(path string) (map[string]string, map[string]storyLabel, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	out, info := map[string]string{}, map[string]storyLabel{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var l struct {
			EventID string `json:"event_id"`
			Story   string `json:"story"`
			storyLabel
		}
		if err := json.Unmarshal([]byte(text), &l); err != nil || l.EventID == "" || l.Story == "" {
			return nil, nil, fmt.Errorf("%s:%d: want {\"event_id\": \"...\", \"story\": \"...\"}", path, line)
		}
		out[l.EventID] = l.Story
		i := info[l.Story]
		i.Kind = cmp.Or(i.Kind, l.Kind)
		i.HistoryDays = cmp.Or(i.HistoryDays, l.HistoryDays)
		i.Identity = cmp.Or(i.Identity, l.Identity)
		i.Account = cmp.Or(i.Account, l.Account)
		i.Attack = cmp.Or(i.Attack, l.Attack)
		info[l.Story] = i
	}
	return out, info, sc.Err()
}

// historyGroup names a history length: whole days up to a week, then
// ">7d"; "unknown" when the labels do not say.
func historyGroup(days int) string {
	switch {
	case days <= 0:
		return "unknown"
	case days <= 7:
		return fmt.Sprintf("%dd", days)
	}
	return ">7d"
}

// groups fills ByHistory, ByIdentity and ByKind from the stories and the
// benign events and false alerts per account.
func (rep *evalReport) groups(benignBy map[string]int64, falseBy map[string]map[string]int) {
	// An account's history group is its stories'.
	acctGroup := map[string]string{}
	for _, s := range rep.Stories {
		g := historyGroup(s.History)
		if prev, ok := acctGroup[s.Account]; ok && prev != g {
			g = "mixed"
		}
		acctGroup[s.Account] = g
	}
	group := func(key func(s *storyResult) string, accounts bool) []*groupStat {
		byName := map[string]*groupStat{}
		get := func(name string) *groupStat {
			g := byName[name]
			if g == nil {
				g = &groupStat{Name: name, BySource: map[string]*sourceStat{}}
				for _, src := range []string{"rules", "ueba", "all"} {
					g.BySource[src] = &sourceStat{}
				}
				byName[name] = g
			}
			return g
		}
		mttd := map[*groupStat]map[string][]float64{}
		for i := range rep.Stories {
			s := &rep.Stories[i]
			g := get(key(s))
			if mttd[g] == nil {
				mttd[g] = map[string][]float64{}
			}
			for _, src := range []string{"rules", "ueba", "all"} {
				st := g.BySource[src]
				st.Stories++
				if d, ok := s.MTTD[src]; ok {
					st.Detected++
					mttd[g][src] = append(mttd[g][src], d)
				}
			}
		}
		if accounts {
			for acct, n := range benignBy {
				name, ok := acctGroup[acct]
				if !ok {
					name = "no stories"
				}
				g := get(name)
				g.Accounts++
				g.Benign += n
				for src, fa := range falseBy[acct] {
					g.BySource[src].FalseAlerts += fa
					g.BySource["all"].FalseAlerts += fa
				}
			}
		}
		out := make([]*groupStat, 0, len(byName))
		for _, g := range byName {
			for src, st := range g.BySource {
				if st.Stories > 0 {
					st.Recall = float64(st.Detected) / float64(st.Stories)
				}
				if g.Benign > 0 {
					st.FAPer1000 = 1000 * float64(st.FalseAlerts) / float64(g.Benign)
				}
				st.MTTDMedian = median(mttd[g][src])
			}
			out = append(out, g)
		}
		slices.SortFunc(out, func(a, b *groupStat) int { return cmp.Compare(groupOrder(a.Name), groupOrder(b.Name)) })
		return out
	}
	rep.ByHistory = group(func(s *storyResult) string { return historyGroup(s.History) }, true)
	rep.ByIdentity = group(func(s *storyResult) string { return cmp.Or(s.Identity, "unknown") }, false)
	rep.ByKind = group(func(s *storyResult) string { return cmp.Or(s.Kind, "unknown") }, false)
}

// groupOrder sorts history groups by days, other names by name.
func groupOrder(name string) string {
	var d int
	if _, err := fmt.Sscanf(name, "%dd", &d); err == nil && strings.HasSuffix(name, "d") {
		return fmt.Sprintf("0%03d", d)
	}
	if name == ">7d" {
		return "1"
	}
	return "2" + name
}

// classes fills ByClass.
func (rep *evalReport) classes(benign map[string]int64, falseAlerts map[string]int) {
	for _, c := range []string{event.ClassPerson, event.ClassRoot, event.ClassService, event.ClassOnBehalf, event.ClassUnknownWho} {
		st := &classStat{Class: c, Benign: benign[c], Findings: rep.UEBAByClass[c], FalseAlerts: falseAlerts[c]}
		st.TrueFindings = st.Findings - st.FalseAlerts
		if st.Benign > 0 {
			st.FAPer1000 = 1000 * float64(st.FalseAlerts) / float64(st.Benign)
		}
		rep.ByClass = append(rep.ByClass, st)
	}
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
	fmt.Fprintf(w, "%-34s %7s %7s %-13s  %-12s %s\n", "STORY", "EVENTS", "HISTORY", "IDENTITY", "DETECTED BY", "MTTD (event time)")
	for _, s := range rep.Stories {
		by := strings.Join(s.DetectedBy, "+")
		if by == "" {
			by = "MISSED"
		}
		var mt []string
		for _, src := range s.DetectedBy {
			mt = append(mt, fmt.Sprintf("%s %s", src, time.Duration(s.MTTD[src]*float64(time.Second)).Round(time.Second)))
		}
		fmt.Fprintf(w, "%-34s %7d %7s %-13s  %-12s %s\n", s.Story, s.Events, historyGroup(s.History), cmp.Or(s.Identity, "-"), by, strings.Join(mt, ", "))
	}
	fmt.Fprintf(w, "\n%-6s %8s %10s %10s %14s %14s\n", "SOURCE", "RECALL", "PRECISION", "FINDINGS", "FALSE ALERTS", "PER 1K BENIGN")
	for _, src := range []string{"rules", "ueba", "all"} {
		s := rep.BySource[src]
		fmt.Fprintf(w, "%-6s %4d/%-3d %10.3f %10d %14d %14.4f   MTTD median %s\n", src, s.Detected, s.Stories, s.Precision, s.TrueFindings+s.FalseAlerts, s.FalseAlerts, s.FAPer1000,
			time.Duration(s.MTTDMedian*float64(time.Second)).Round(time.Second))
	}
	groups := func(title string, gs []*groupStat, benign bool) {
		fmt.Fprintf(w, "\n%s\n%-22s %7s", title, strings.ToUpper(strings.Fields(title)[1]), "STORIES")
		if benign {
			fmt.Fprintf(w, " %8s %10s", "ACCOUNTS", "BENIGN")
		}
		for _, src := range []string{"ueba", "all"} {
			fmt.Fprintf(w, " %12s %8s", strings.ToUpper(src)+" RECALL", "MTTD")
			if benign {
				fmt.Fprintf(w, " %6s %9s", "FALSE", "PER 1K")
			}
		}
		fmt.Fprintln(w)
		for _, g := range gs {
			fmt.Fprintf(w, "%-22s %7d", g.Name, g.BySource["all"].Stories)
			if benign {
				fmt.Fprintf(w, " %8d %10d", g.Accounts, g.Benign)
			}
			for _, src := range []string{"ueba", "all"} {
				s := g.BySource[src]
				recall := "-"
				if s.Stories > 0 {
					recall = fmt.Sprintf("%d/%d %.2f", s.Detected, s.Stories, s.Recall)
				}
				fmt.Fprintf(w, " %12s %8s", recall, time.Duration(s.MTTDMedian*float64(time.Second)).Round(time.Second))
				if benign {
					fmt.Fprintf(w, " %6d %9.4f", s.FalseAlerts, s.FAPer1000)
				}
			}
			fmt.Fprintln(w)
		}
	}
	groups("By history (whole days of the account's history before the story; benign events and false alerts: the accounts whose stories have it):", rep.ByHistory, true)
	groups("By attacker identity:", rep.ByIdentity, false)
	groups("By kind:", rep.ByKind, false)
	fmt.Fprintf(w, "\nBy identity class (the UEBA finding's subject, the benign event's actor):\n%-14s %10s %10s %8s %10s\n", "CLASS", "BENIGN", "FINDINGS", "FALSE", "PER 1K")
	for _, c := range rep.ByClass {
		fmt.Fprintf(w, "%-14s %10d %10d %8d %10.4f\n", c.Class, c.Benign, c.Findings, c.FalseAlerts, c.FAPer1000)
	}
	if rep.MissingIDs > 0 {
		fmt.Fprintf(w, "\n%d labelled event ids were not among the decoded events\n", rep.MissingIDs)
	}
}
