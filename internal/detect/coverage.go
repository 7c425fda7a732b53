package detect

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/parapet-sec/parapet/internal/detect/sigma"
)

// Technique is an ATT&CK technique or sub-technique.
type Technique struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Tactics  []string `json:"tactics"`
	Parent   string   `json:"parent,omitempty"`
	FullName string   `json:"full_name,omitempty"`
}

// LoadTechniques reads a list of techniques (content/attack/attack-iaas.json).
func LoadTechniques(data []byte) ([]Technique, error) {
	var ts []Technique
	if err := json.Unmarshal(data, &ts); err != nil {
		return nil, fmt.Errorf("attack techniques: %w", err)
	}
	return ts, nil
}

// CoverageRow is one technique and the rules that detect it, by cloud
// (the rules' logsource product). A technique's row counts the rules
// tagged with it or with one of its sub-techniques.
type CoverageRow struct {
	Technique Technique           `json:"technique"`
	Rules     map[string][]string `json:"rules"` // cloud → rule titles
}

// Coverage is a rule pack measured against a technique list.
type Coverage struct {
	Clouds []string      `json:"clouds"`
	Rows   []CoverageRow `json:"rows"`
	// Outside lists the techniques rules are tagged with that the list
	// does not hold (other platforms), with their rule counts.
	Outside map[string]int `json:"outside,omitempty"`
}

// MeasureCoverage maps every rule's ATT&CK technique tags onto the list.
func MeasureCoverage(rules []*sigma.Rule, techniques []Technique) Coverage {
	known := map[string]bool{}
	for _, t := range techniques {
		known[t.ID] = true
	}
	byTech := map[string]map[string][]string{}
	clouds := map[string]bool{}
	cov := Coverage{Outside: map[string]int{}}
	for _, r := range rules {
		cloud := ruleCloud(r)
		clouds[cloud] = true
		for _, id := range AttackFromTags(r.Tags).Techniques {
			ids := []string{id}
			if i := strings.IndexByte(id, '.'); i > 0 {
				ids = append(ids, id[:i]) // a sub-technique covers its parent too
			}
			inList := false
			for _, x := range ids {
				if !known[x] {
					continue
				}
				inList = true
				if byTech[x] == nil {
					byTech[x] = map[string][]string{}
				}
				byTech[x][cloud] = append(byTech[x][cloud], r.Title)
			}
			if !inList {
				cov.Outside[id]++
			}
		}
	}
	for c := range clouds {
		cov.Clouds = append(cov.Clouds, c)
	}
	sort.Strings(cov.Clouds)
	for _, t := range techniques {
		row := CoverageRow{Technique: t, Rules: map[string][]string{}}
		for c, titles := range byTech[t.ID] {
			row.Rules[c] = dedupe(titles)
		}
		cov.Rows = append(cov.Rows, row)
	}
	sort.SliceStable(cov.Rows, func(i, j int) bool {
		a, b := cov.Rows[i].Technique, cov.Rows[j].Technique
		ta, tb := "", ""
		if len(a.Tactics) > 0 {
			ta = a.Tactics[0]
		}
		if len(b.Tactics) > 0 {
			tb = b.Tactics[0]
		}
		if ta != tb {
			return tacticOrder(ta) < tacticOrder(tb)
		}
		return a.ID < b.ID
	})
	return cov
}

// ruleCloud is the cloud a rule watches: its logsource product, or for a
// correlation (which has none) the folder it lives in.
func ruleCloud(r *sigma.Rule) string {
	if r.Logsource.Product != "" {
		return r.Logsource.Product
	}
	for _, c := range []string{"aws", "azure", "gcp"} {
		if strings.Contains("/"+r.File, "/"+c+"/") {
			return c
		}
	}
	return "other"
}

func dedupe(xs []string) []string {
	sort.Strings(xs)
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}

var tactics = []string{"Reconnaissance", "Resource Development", "Initial Access", "Execution", "Persistence", "Privilege Escalation",
	"Defense Evasion", "Credential Access", "Discovery", "Lateral Movement", "Collection", "Command and Control", "Exfiltration", "Impact"}

func tacticOrder(t string) int {
	for i, x := range tactics {
		if strings.EqualFold(x, t) {
			return i
		}
	}
	return len(tactics)
}

// Covered counts the techniques with at least one rule, for one cloud
// ("" for any).
func (c Coverage) Covered(cloud string) int {
	n := 0
	for _, r := range c.Rows {
		if cloud == "" && len(r.Rules) > 0 || len(r.Rules[cloud]) > 0 {
			n++
		}
	}
	return n
}

// Navigator is an ATT&CK Navigator layer (format 4.5): each technique
// scored by its number of rules, commented with the count per cloud.
func (c Coverage) Navigator(name string) any {
	type tech struct {
		TechniqueID string `json:"techniqueID"`
		Score       int    `json:"score"`
		Comment     string `json:"comment,omitempty"`
		Enabled     bool   `json:"enabled"`
	}
	var techs []tech
	top := 1
	for _, r := range c.Rows {
		n := 0
		var parts []string
		for _, cl := range c.Clouds {
			if k := len(r.Rules[cl]); k > 0 {
				n += k
				parts = append(parts, fmt.Sprintf("%s: %d", cl, k))
			}
		}
		top = max(top, n)
		techs = append(techs, tech{TechniqueID: r.Technique.ID, Score: n, Comment: strings.Join(parts, ", "), Enabled: true})
	}
	return map[string]any{
		"name":        name,
		"versions":    map[string]string{"attack": "18", "navigator": "5.1.0", "layer": "4.5"},
		"domain":      "enterprise-attack",
		"description": "Parapet rule coverage of the ATT&CK IaaS techniques: the score is the number of rules.",
		"filters":     map[string]any{"platforms": []string{"IaaS"}},
		"gradient":    map[string]any{"colors": []string{"#ffffff", "#66b1ff"}, "minValue": 0, "maxValue": top},
		"techniques":  techs,
	}
}
