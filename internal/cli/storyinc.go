package cli

import (
	"bufio"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
)

// storyIncidents files findings into incidents as serve does (episodes,
// then the entity graph and the correlator) and measures the incidents
// against labelled attacks (a story, or the attack a story is a stage
// of): how many incidents each attack became (split), how many attacks an
// incident holds (merged), and background findings in an attack's
// incident (unrelated).
type storyIncidents struct {
	corr   *correlate.Correlator
	agg    *detect.Aggregator
	labels map[string]string         // event id → story
	byInc  map[string]map[string]int // incident id → story ("" background) → findings
	titles map[string]*correlate.Incident
	signal map[string]string // waiting signal id → its story
	stats  incidentStats
}

// incidentStats is what storyIncidents measured.
type incidentStats struct {
	Findings   int            `json:"findings"`  // findings filed (after episodes)
	Incidents  int            `json:"incidents"` // incidents they became
	Reduction  float64        `json:"reduction"` // 1 - incidents/findings
	Stories    int            `json:"stories"`
	PerStory   map[string]int `json:"per_story"`            // story → incidents holding its findings
	Split      []string       `json:"split"`                // stories in more than one incident
	Merged     [][]string     `json:"merged"`               // incidents holding more than one story: their stories
	Unrelated  int            `json:"unrelated"`            // background findings inside story incidents
	Background int            `json:"background_incidents"` // incidents of background findings only
}

func newStoryIncidents(window time.Duration, labels map[string]string) *storyIncidents {
	c := correlate.New(window)
	c.Graph = correlate.NewGraph(0)
	return &storyIncidents{corr: c, agg: detect.NewAggregator(0), labels: labels, byInc: map[string]map[string]int{},
		titles: map[string]*correlate.Incident{}, signal: map[string]string{}}
}

// observe teaches the graph a batch's events (before its findings).
func (s *storyIncidents) observe(evs []event.Event) {
	for i := range evs {
		s.corr.Graph.Observe(&evs[i])
	}
}

func (s *storyIncidents) storyOf(f *detect.Finding) string {
	for _, id := range f.EventIDs {
		if n, ok := s.labels[id]; ok {
			return n
		}
	}
	return ""
}

// file files findings in event order: the first of each episode, as
// serve does.
func (s *storyIncidents) file(fs []detect.Finding) {
	for i := range fs {
		if _, opened := s.agg.Add(&fs[i]); !opened {
			continue
		}
		f := &fs[i]
		s.stats.Findings++
		story := s.storyOf(f)
		in, fresh := s.corr.Add(f)
		if !fresh {
			continue
		}
		if in == nil {
			s.signal[f.ID] = story
			continue
		}
		for _, m := range s.corr.Merged() {
			dst := s.inc(m.Into)
			for k, n := range s.byInc[m.From] {
				dst[k] += n
			}
			delete(s.byInc, m.From)
			delete(s.titles, m.From)
		}
		dst := s.inc(in.ID)
		for _, id := range s.corr.Attached() {
			dst[s.signal[id]]++
			delete(s.signal, id)
		}
		dst[story]++
		s.titles[in.ID] = in
	}
	s.agg.Drain(nil)
}

func (s *storyIncidents) inc(id string) map[string]int {
	m := s.byInc[id]
	if m == nil {
		m = map[string]int{}
		s.byInc[id] = m
	}
	return m
}

func (s *storyIncidents) result() incidentStats {
	st := s.stats
	st.Incidents = len(s.byInc)
	if st.Findings > 0 {
		st.Reduction = 1 - float64(st.Incidents)/float64(st.Findings)
	}
	st.PerStory = map[string]int{}
	for _, n := range s.labels {
		st.PerStory[n] += 0
	}
	st.Stories = len(st.PerStory)
	for _, id := range slices.Sorted(maps.Keys(s.byInc)) {
		m := s.byInc[id]
		var names []string
		for n := range m {
			if n != "" {
				names = append(names, n)
				st.PerStory[n]++
			}
		}
		slices.Sort(names)
		switch {
		case len(names) == 0:
			st.Background++
		case len(names) > 1:
			st.Merged = append(st.Merged, names)
		}
		if len(names) > 0 {
			st.Unrelated += m[""]
		}
	}
	for _, n := range slices.Sorted(maps.Keys(st.PerStory)) {
		if st.PerStory[n] > 1 {
			st.Split = append(st.Split, n)
		}
	}
	return st
}

// print says it, with each incident's one-line story (riskiest first, at
// most max).
func (s *storyIncidents) print(w *bufio.Writer, max int) {
	st := s.result()
	fmt.Fprintf(w, "\nIncidents: %d findings (one per episode) became %d incidents (alert reduction %.1f%%)\n", st.Findings, st.Incidents, 100*st.Reduction)
	fmt.Fprintf(w, "  attacks: %d; split (one attack, several incidents): %d%s; merged (several attacks, one incident): %d%s\n",
		st.Stories, len(st.Split), prefixed(strings.Join(st.Split, " ")), len(st.Merged), prefixed(fmtMerged(st.Merged)))
	fmt.Fprintf(w, "  background findings inside story incidents: %d; incidents of background findings only: %d\n", st.Unrelated, st.Background)
	for i, name := range st.Split {
		if i == 5 {
			fmt.Fprintf(w, "  … and %d more split\n", len(st.Split)-5)
			break
		}
		fmt.Fprintf(w, "  split %s:\n", name)
		for _, id := range slices.Sorted(maps.Keys(s.byInc)) {
			if s.byInc[id][name] > 0 {
				in := s.titles[id]
				fmt.Fprintf(w, "    %s %s  %d findings  %s\n", in.First.Format(time.RFC3339), id, in.Count, in.Title)
			}
		}
	}
	shown := 0
	for _, id := range slices.Sorted(maps.Keys(s.byInc)) {
		m := s.byInc[id]
		n := 0
		for k := range m {
			if k != "" {
				n++
			}
		}
		if n < 2 || shown == 5 {
			continue
		}
		shown++
		in := s.titles[id]
		fmt.Fprintf(w, "  merged in %s (%s to %s, entities %s):\n    %s\n    %s\n", id, in.First.Format(time.RFC3339), in.Last.Format(time.RFC3339),
			strings.Join(in.Entities[:min(12, len(in.Entities))], " "), in.Title, in.Summary)
	}
	ins := slices.Collect(maps.Values(s.titles))
	slices.SortFunc(ins, func(a, b *correlate.Incident) int {
		if a.Risk != b.Risk {
			if a.Risk > b.Risk {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	for i, in := range ins {
		if i == max {
			fmt.Fprintf(w, "  … and %d more\n", len(ins)-max)
			break
		}
		var names []string
		for n := range s.byInc[in.ID] {
			names = append(names, cmpOr(n, "background"))
		}
		slices.Sort(names)
		fmt.Fprintf(w, "  %-8s risk %4.1f  %4d findings  [%s]  %s\n", in.Level, in.Risk, in.Count, strings.Join(names, ", "), in.Title)
		if in.Summary != "" {
			fmt.Fprintf(w, "           %s\n", in.Summary)
		}
	}
}

func prefixed(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func fmtMerged(m [][]string) string {
	var parts []string
	for _, names := range m {
		parts = append(parts, "("+strings.Join(names, "+")+")")
	}
	return strings.Join(parts, " ")
}
