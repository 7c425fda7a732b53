package cli

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/posture/check"
)

//go:embed scanreport.html.tmpl
var scanHTMLTemplate string

var scanHTML = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":   func(f float64) string { return fmt.Sprintf("%.0f", f) },
	"lower": strings.ToLower,
	"where": func(r scanResult) string {
		// file:line:column of the attribute (or the block), or the ARN.
		if r.Attribute != "" {
			return r.Location.String() + " (" + r.Attribute + ")"
		}
		return r.Location.String()
	},
	"resource": func(r scanResult) string {
		for _, s := range []string{r.Resource.Address, r.Resource.ARN, r.Resource.Name} {
			if s != "" {
				return s
			}
		}
		return r.Resource.Type
	},
	"controls": func(m map[string][]string) string {
		var parts []string
		for fw, ids := range m {
			parts = append(parts, fw+" "+strings.Join(ids, ", "))
		}
		sort.Strings(parts)
		return strings.Join(parts, " · ")
	},
	"grade": func(p float64) string {
		switch {
		case p >= 90:
			return "good"
		case p >= 60:
			return "fair"
		}
		return "poor"
	},
}).Parse(scanHTMLTemplate))

// htmlReport is what the template sees.
type htmlReport struct {
	scanReport
	Generated  string
	BySeverity []severityGroup
	Unknowns   []scanResult
	PassedBy   []checkCount
}

type severityGroup struct {
	Severity string
	Results  []scanResult
}

type checkCount struct {
	CheckID, Title string
	N              int
}

// writeScanHTML writes a self-contained report: no scripts, no fonts, no
// requests, so it can be mailed, archived as a CI artefact or opened
// offline.
func writeScanHTML(w io.Writer, rep scanReport, now time.Time) error {
	h := htmlReport{scanReport: rep, Generated: now.UTC().Format("2006-01-02 15:04 MST")}
	groups := map[string][]scanResult{}
	passed := map[string]*checkCount{}
	for _, r := range rep.Results {
		switch r.Status {
		case check.Fail:
			groups[r.Severity] = append(groups[r.Severity], r)
		case check.Unknown:
			h.Unknowns = append(h.Unknowns, r)
		case check.Pass:
			if passed[r.CheckID] == nil {
				passed[r.CheckID] = &checkCount{CheckID: r.CheckID, Title: r.Title}
			}
			passed[r.CheckID].N++
		}
	}
	for i := len(check.Severities) - 1; i >= 0; i-- {
		s := check.Severities[i]
		if rs := groups[s]; len(rs) > 0 {
			sort.SliceStable(rs, func(a, b int) bool { return rs[a].CheckID < rs[b].CheckID })
			h.BySeverity = append(h.BySeverity, severityGroup{Severity: s, Results: rs})
		}
	}
	for _, c := range passed {
		h.PassedBy = append(h.PassedBy, *c)
	}
	sort.Slice(h.PassedBy, func(i, j int) bool { return h.PassedBy[i].CheckID < h.PassedBy[j].CheckID })
	return scanHTML.Execute(w, h)
}
