package cli

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
)

// ruleSource is a tree of rules: the embedded pack or a directory.
type ruleSource struct {
	fsys fs.FS
	root string
	dir  string // shown in file names; "" for the embedded pack
}

func builtinRules() ruleSource { return ruleSource{fsys: content.FS, root: "rules"} }

func dirRules(dir string) (ruleSource, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return ruleSource{}, err
	}
	if !info.IsDir() {
		return ruleSource{fsys: os.DirFS(filepath.Dir(dir)), root: filepath.Base(dir), dir: filepath.Dir(dir)}, nil
	}
	return ruleSource{fsys: os.DirFS(dir), root: ".", dir: dir}, nil
}

// load reads the rules; file names in rules and errors carry the
// directory, or "builtin:" for the embedded pack.
func (s ruleSource) load() ([]*sigma.Rule, []error) {
	rules, errs := sigma.Load(s.fsys, s.root, sigma.Options{})
	name := func(f string) string {
		if s.dir == "" {
			return "builtin:" + f
		}
		return filepath.Join(s.dir, f)
	}
	for _, r := range rules {
		r.File = name(r.File)
	}
	for _, e := range errs {
		if le, ok := e.(*sigma.Error); ok {
			le.File = name(le.File)
		}
	}
	return rules, errs
}

// loadRules gathers the builtin pack (unless noBuiltin) and the given
// directories. Rules that fail are reported on stderr and skipped.
func loadRules(io IO, dirs []string, noBuiltin bool) ([]*sigma.Rule, int, error) {
	var sources []ruleSource
	if !noBuiltin {
		sources = append(sources, builtinRules())
	}
	for _, d := range dirs {
		s, err := dirRules(d)
		if err != nil {
			return nil, 0, usagef("--rules: %v", err)
		}
		sources = append(sources, s)
	}
	var all []*sigma.Rule
	bad := 0
	for _, s := range sources {
		rules, errs := s.load()
		for _, e := range errs {
			fmt.Fprintf(io.Err, "parapet: rule skipped: %v\n", e)
			bad++
		}
		all = append(all, rules...)
	}
	if len(all) == 0 {
		return nil, bad, usagef("no rules to run")
	}
	return all, bad, nil
}

func newRules(io IO) *cobra.Command {
	cmd := &cobra.Command{Use: "rules", Short: "Test and lint detection rules, and show their ATT&CK coverage"}
	cmd.AddCommand(newRulesCoverage(io))
	cmd.AddCommand(&cobra.Command{
		Use:   "test [DIR...]",
		Short: "Run rules on the examples beside them (NAME.examples.jsonl); the builtin pack without DIR",
		RunE: func(cmd *cobra.Command, args []string) error {
			sources := []ruleSource{builtinRules()}
			if len(args) > 0 {
				sources = nil
				for _, a := range args {
					s, err := dirRules(a)
					if err != nil {
						return err
					}
					sources = append(sources, s)
				}
			}
			// A rule passes when it loads, has both kinds of example,
			// and every example behaves as it says.
			var rules, rulesFailed, examples, examplesFailed int
			for _, s := range sources {
				loaded, errs := sigma.Load(s.fsys, s.root, sigma.Options{})
				for _, e := range errs {
					fmt.Fprintf(io.Out, "FAIL %v\n", e)
				}
				rules += len(loaded) + len(errs)
				rulesFailed += len(errs)
				failed := map[*sigma.Rule]bool{}
				results, problems := detect.RunExamples(s.fsys, loaded)
				for _, p := range problems {
					fmt.Fprintf(io.Out, "FAIL %v\n", p)
					if ep, ok := p.(*detect.ExampleProblem); ok {
						failed[ep.Rule] = true
					}
				}
				examples += len(results)
				for _, r := range results {
					if r.OK() {
						continue
					}
					examplesFailed++
					failed[r.Rule] = true
					why := fmt.Sprintf("want match=%v, got %v", r.Want, r.Got)
					if r.Err != nil {
						why = r.Err.Error()
					}
					fmt.Fprintf(io.Out, "FAIL %s:%d: %s: %s\n", r.File, r.Line, r.Rule.Title, why)
				}
				rulesFailed += len(failed)
			}
			fmt.Fprintf(io.Out, "rules: %d rules, %d passed, %d failed; %d examples, %d passed, %d failed\n",
				rules, rules-rulesFailed, rulesFailed, examples, examples-examplesFailed, examplesFailed)
			if rulesFailed > 0 {
				return &ExitError{Code: ExitFailure}
			}
			return nil
		},
	})
	var strict bool
	lint := &cobra.Command{
		Use:   "lint DIR...",
		Short: "Report rules that cannot be parsed, and missing id, level, ATT&CK tags or false positives",
		Long: `Report rules that cannot be parsed, duplicate ids, and rules missing an id, a level, an ATT&CK technique
tag or false positives. --strict holds them to what every builtin rule has: a triage guide too (rules test
checks that each has matching and near-miss examples).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("rules lint needs a DIR")
			}
			problems := 0
			ids := map[string]string{}
			for _, a := range args {
				s, err := dirRules(a)
				if err != nil {
					return err
				}
				rules, errs := s.load()
				for _, e := range errs {
					fmt.Fprintln(io.Out, e)
					problems++
				}
				for _, r := range rules {
					var miss []string
					if r.ID == "" {
						miss = append(miss, "id")
					}
					if r.Level == "" {
						miss = append(miss, "level")
					}
					if len(detect.AttackFromTags(r.Tags).Techniques) == 0 {
						miss = append(miss, "an ATT&CK technique tag")
					}
					if len(r.FalsePositives) == 0 {
						miss = append(miss, "falsepositives")
					}
					if strict && len(r.Triage) == 0 {
						miss = append(miss, "a triage guide")
					}
					if len(miss) > 0 {
						fmt.Fprintf(io.Out, "%s:%d: %q lacks %v\n", r.File, r.Line, r.Title, miss)
						problems++
					}
					if other, dup := ids[r.ID]; dup && r.ID != "" {
						fmt.Fprintf(io.Out, "%s:%d: id %s is also used by %s\n", r.File, r.Line, r.ID, other)
						problems++
					}
					ids[r.ID] = r.File
				}
				fmt.Fprintf(io.Err, "parapet: %s: %d rules\n", a, len(rules))
			}
			if problems > 0 {
				return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d problems", problems)}
			}
			return nil
		},
	}
	lint.Flags().BoolVar(&strict, "strict", false, "also require a triage guide, as builtin rules have")
	cmd.AddCommand(lint)
	return cmd
}
