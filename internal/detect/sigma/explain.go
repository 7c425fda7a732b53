package sigma

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parapet-sec/parapet/internal/event"
)

// Match is one piece of evidence: a selection that held, and the field
// value that satisfied it.
type Match struct {
	Search  string   // the search identifier, e.g. selection
	Field   string   // "" for keywords
	Key     string   // the field with its modifiers, as written
	Value   string   // the event's value
	Pattern []string // the rule's values
}

// Explain lists what made ev match: every search the condition uses
// positively (not under a not) that holds, with its matching field values.
// Call it only for events that matched; it re-evaluates.
func (r *Rule) Explain(ev *event.Event) []Match {
	var d doc
	d.reset(ev)
	return r.explain(&d)
}

func (r *Rule) explain(d *doc) []Match {
	return r.appendExplain(nil, d)
}

// appendExplain appends to out the matches of the searches that hold.
func (r *Rule) appendExplain(out []Match, d *doc) []Match {
	for _, s := range r.positive {
		for _, conj := range s.alts {
			n := len(out)
			ok := true
			for _, fm := range conj {
				v, m := fm.eval(d)
				if !m {
					ok = false
					break
				}
				out = append(out, Match{Search: s.name, Field: fm.field, Key: fm.key, Value: v, Pattern: fm.pattern})
			}
			if ok {
				break
			}
			out = out[:n]
		}
	}
	return out
}

// Load reads every .yml and .yaml file under root in fsys (recursively,
// in lexical order). Files that fail are reported and skipped; the other
// rules load.
func Load(fsys fs.FS, root string, opt Options) ([]*Rule, []error) {
	var rules []*Rule
	var errs []error
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, &Error{File: p, Msg: err.Error()})
			return nil
		}
		ext := strings.ToLower(filepath.Ext(p))
		if d.IsDir() || ext != ".yml" && ext != ".yaml" {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, &Error{File: p, Msg: err.Error()})
			return nil
		}
		rs, es := Parse(data, p, opt)
		rules = append(rules, rs...)
		errs = append(errs, es...)
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	slices.SortStableFunc(rules, func(a, b *Rule) int { return strings.Compare(a.File, b.File) })
	return rules, errs
}
