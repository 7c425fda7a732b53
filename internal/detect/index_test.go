package detect

import (
	"io/fs"
	"os"
	"slices"
	"testing"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/sharedtest"
)

// TestIndexAgreesWithEveryRule: on the examples of every builtin rule (of
// every source, with SigmaHQ's cloud rules beside them), the rules the
// indexed set matches are those that match when each is tested on its own.
func TestIndexAgreesWithEveryRule(t *testing.T) {
	rules, errs := sigma.Load(content.FS, "rules", sigma.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if more, errs := sigma.Load(os.DirFS(sharedtest.Path(t, "sigma/rules/cloud")), ".", sigma.Options{}); len(errs) == 0 {
		rules = append(rules, more...)
	}
	set := sigma.NewSet(rules)
	m := set.Matcher()
	seen := map[event.Source]int{}
	for _, r := range rules {
		data, err := fs.ReadFile(content.FS, ExamplesFile(r.File))
		if err != nil {
			continue
		}
		for _, ex := range readExamples(data) {
			evs, _ := ex.events()
			for i := range evs {
				ev := &evs[i]
				seen[ev.Source]++
				var got, want []string
				m.Match(ev, func(r *sigma.Rule) { got = append(got, r.File) })
				for _, r := range rules {
					if r.Applies(ev.Source) && r.Match(ev) {
						want = append(want, r.File)
					}
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("%s line %d: the index matches %q, every rule on its own %q", ExamplesFile(r.File), ex.line, got, want)
				}
			}
		}
	}
	for _, src := range []event.Source{event.SourceCloudTrail, event.SourceAzureActivity, event.SourceGCPAudit} {
		if seen[src] == 0 {
			t.Errorf("no example events of %s", src.Service())
		}
	}
}
