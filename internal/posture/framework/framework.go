// Package framework maps checks to compliance frameworks' controls and
// scores them: a control passes when every result of every check mapped to
// it passes; manual controls are listed as manual.
package framework

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/parapet-sec/parapet/internal/posture/check"
)

// Framework is a set of controls.
type Framework struct {
	ID       string    `yaml:"id" json:"id"`
	Title    string    `yaml:"title" json:"title"`
	Source   string    `yaml:"source" json:"-"`
	Note     string    `yaml:"note" json:"note,omitempty"` // what the automated evidence covers, and what it cannot
	Controls []Control `yaml:"controls" json:"-"`
}

// Control is one control. Checks map checks to it from the framework's
// side; a check's own frameworks: map adds to them.
type Control struct {
	ID     string   `yaml:"id" json:"id"`
	Title  string   `yaml:"title" json:"title"`
	Manual bool     `yaml:"manual" json:"manual"`
	Checks []string `yaml:"checks" json:"checks,omitempty"`
	Note   string   `yaml:"note" json:"note,omitempty"`
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
	Note    string   `json:"note,omitempty"`
}

// Score is a framework's result.
type Score struct {
	ID        string         `json:"id"`
	Title     string         `json:"title"`
	Note      string         `json:"note,omitempty"`
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
	mapped := ControlChecks(f, checks)
	s := Score{ID: f.ID, Title: f.Title, Note: f.Note}
	for _, ctl := range f.Controls {
		cs := ControlScore{ID: ctl.ID, Title: ctl.Title, Checks: mapped[ctl.ID], Note: ctl.Note}
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

// ControlChecks is, for each control of f, the checks that evidence it:
// those the framework file lists under the control, then those whose own
// frameworks: map names it, each once. Framework-side ids of checks that
// are not loaded are left out (Validate reports them).
func ControlChecks(f *Framework, checks []*check.Check) map[string][]string {
	known := make(map[string]bool, len(checks))
	for _, c := range checks {
		known[c.ID] = true
	}
	out := map[string][]string{}
	seen := map[[2]string]bool{}
	add := func(ctl, cid string) {
		if k := [2]string{ctl, cid}; !seen[k] {
			seen[k] = true
			out[ctl] = append(out[ctl], cid)
		}
	}
	for _, ctl := range f.Controls {
		for _, cid := range ctl.Checks {
			if known[cid] {
				add(ctl.ID, cid)
			}
		}
	}
	for _, c := range checks {
		for _, id := range c.Frameworks[f.ID] {
			add(id, c.ID)
		}
	}
	return out
}

// Annotate adds the framework-side mappings to each check's Frameworks,
// so that wherever a check's controls are shown (results, SARIF tags,
// OCSF requirements, checks list) they are the merged set: the check's
// own control ids first, then those the framework files add, each once.
func Annotate(fws []*Framework, checks []*check.Check) {
	byID := make(map[string]*check.Check, len(checks))
	for _, c := range checks {
		byID[c.ID] = c
	}
	for _, f := range fws {
		for _, ctl := range f.Controls {
			for _, cid := range ctl.Checks {
				c := byID[cid]
				if c == nil || slices.Contains(c.Frameworks[f.ID], ctl.ID) {
					continue
				}
				if c.Frameworks == nil {
					c.Frameworks = map[string][]string{}
				}
				// A fresh slice: the check's own one may share its array.
				ids := make([]string, 0, len(c.Frameworks[f.ID])+1)
				c.Frameworks[f.ID] = append(append(ids, c.Frameworks[f.ID]...), ctl.ID)
			}
		}
	}
}

// Validate reports mappings that would silently not count: a framework id
// used twice, a control id listed twice in a framework, a framework-side
// check id that no check has, a manual control that lists checks (a
// manual control is never scored), a check that names a framework that
// does not exist or a control its framework does not list.
func Validate(fws []*Framework, checks []*check.Check) []error {
	var errs []error
	known := make(map[string]bool, len(checks))
	for _, c := range checks {
		known[c.ID] = true
	}
	controls := map[string]map[string]bool{}
	for _, f := range fws {
		if f.ID == "" || f.Title == "" {
			errs = append(errs, fmt.Errorf("framework %q: id and title are required", f.ID))
		}
		if controls[f.ID] != nil {
			errs = append(errs, fmt.Errorf("framework %s: defined twice", f.ID))
		}
		ids := map[string]bool{}
		controls[f.ID] = ids
		for _, ctl := range f.Controls {
			if ctl.ID == "" || ctl.Title == "" {
				errs = append(errs, fmt.Errorf("%s: control %q: id and title are required", f.ID, ctl.ID))
			}
			if ids[ctl.ID] {
				errs = append(errs, fmt.Errorf("%s: control %s listed twice", f.ID, ctl.ID))
			}
			ids[ctl.ID] = true
			if ctl.Manual && len(ctl.Checks) > 0 {
				errs = append(errs, fmt.Errorf("%s %s: a manual control lists checks %v (make it automated, or drop the checks)", f.ID, ctl.ID, ctl.Checks))
			}
			dup := map[string]bool{}
			for _, cid := range ctl.Checks {
				if !known[cid] {
					errs = append(errs, fmt.Errorf("%s %s: no check %s", f.ID, ctl.ID, cid))
				}
				if dup[cid] {
					errs = append(errs, fmt.Errorf("%s %s: check %s listed twice", f.ID, ctl.ID, cid))
				}
				dup[cid] = true
			}
		}
	}
	manual := map[[2]string]bool{}
	for _, f := range fws {
		for _, ctl := range f.Controls {
			if ctl.Manual {
				manual[[2]string{f.ID, ctl.ID}] = true
			}
		}
	}
	for _, c := range checks {
		fwIDs := make([]string, 0, len(c.Frameworks))
		for fw := range c.Frameworks {
			fwIDs = append(fwIDs, fw)
		}
		sort.Strings(fwIDs)
		for _, fw := range fwIDs {
			if controls[fw] == nil {
				errs = append(errs, fmt.Errorf("%s: unknown framework %s (known: %s)", c.ID, fw, strings.Join(IDs(fws), ", ")))
				continue
			}
			for _, id := range c.Frameworks[fw] {
				switch {
				case !controls[fw][id]:
					errs = append(errs, fmt.Errorf("%s: %s has no control %s", c.ID, fw, id))
				case manual[[2]string{fw, id}]:
					errs = append(errs, fmt.Errorf("%s: %s %s is manual, so the mapping would never count", c.ID, fw, id))
				}
			}
		}
	}
	return errs
}

// IDs are the frameworks' ids, sorted.
func IDs(fws []*Framework) []string {
	out := make([]string, 0, len(fws))
	for _, f := range fws {
		out = append(out, f.ID)
	}
	sort.Strings(out)
	return out
}
