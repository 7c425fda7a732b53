// Package framework maps checks to compliance frameworks' controls and
// scores them: a control passes when every result of every check mapped to
// it passes; manual controls are listed as manual.
package framework

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/parapet-sec/parapet/internal/posture/check"
)

// Framework is a set of controls.
type Framework struct {
	ID       string    `yaml:"id" json:"id"`
	Title    string    `yaml:"title" json:"title"`
	Source   string    `yaml:"source" json:"-"`
	Controls []Control `yaml:"controls" json:"-"`
}

// Control is one control.
type Control struct {
	ID     string `yaml:"id" json:"id"`
	Title  string `yaml:"title" json:"title"`
	Manual bool   `yaml:"manual" json:"manual"`
}

// Load reads every framework file under root.
func Load(fsys fs.FS, root string) ([]*Framework, error) {
	var out []*Framework
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (path.Ext(p) != ".yaml" && path.Ext(p) != ".yml") {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		var f Framework
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
		out = append(out, &f)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, err
}

// ControlScore is how one control fared.
type ControlScore struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Status  string   `json:"status"` // pass, fail, not-evaluated, manual
	Checks  []string `json:"checks,omitempty"`
	Passed  int      `json:"passed"`
	Failed  int      `json:"failed"`
	Unknown int      `json:"unknown,omitempty"`
}

// Score is a framework's result.
type Score struct {
	ID        string         `json:"id"`
	Title     string         `json:"title"`
	Passed    int            `json:"controls_passed"`
	Evaluated int            `json:"controls_evaluated"`
	Manual    int            `json:"controls_manual"`
	Percent   float64        `json:"score_percent"`
	Controls  []ControlScore `json:"controls"`
}

// Evaluate scores f from the results.
func Evaluate(f *Framework, checks []*check.Check, results []check.Result) Score {
	byCheck := map[string][]check.Result{}
	for _, r := range results {
		byCheck[r.CheckID] = append(byCheck[r.CheckID], r)
	}
	mapped := map[string][]string{} // control → checks
	for _, c := range checks {
		for _, id := range c.Frameworks[f.ID] {
			mapped[id] = append(mapped[id], c.ID)
		}
	}
	s := Score{ID: f.ID, Title: f.Title}
	for _, ctl := range f.Controls {
		cs := ControlScore{ID: ctl.ID, Title: ctl.Title, Checks: mapped[ctl.ID]}
		for _, cid := range cs.Checks {
			for _, r := range byCheck[cid] {
				switch r.Status {
				case check.Pass, check.Suppressed:
					cs.Passed++
				case check.Fail:
					cs.Failed++
				default:
					cs.Unknown++
				}
			}
		}
		switch {
		case ctl.Manual:
			cs.Status = "manual"
			s.Manual++
		case cs.Failed > 0:
			cs.Status = "fail"
			s.Evaluated++
		case cs.Passed > 0:
			cs.Status = "pass"
			s.Evaluated++
			s.Passed++
		default:
			cs.Status = "not-evaluated"
		}
		s.Controls = append(s.Controls, cs)
	}
	if s.Evaluated > 0 {
		s.Percent = 100 * float64(s.Passed) / float64(s.Evaluated)
	}
	return s
}
