package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/parapet-sec/parapet/internal/attackpath"
	"github.com/parapet-sec/parapet/internal/posture/awsconfig"
	"github.com/parapet-sec/parapet/internal/posture/iac/cloudformation"
	"github.com/parapet-sec/parapet/internal/posture/iac/terraform"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

func newPaths(io IO) *cobra.Command {
	var (
		to, format, account, methodsDir string
		all                             bool
		maxSteps, perSource             int
		varFiles                        []string
	)
	cmd := &cobra.Command{
		Use:   "paths PATH...",
		Short: "List the principals that can become administrator (or reach --to), with their paths",
		Long: `Build the access graph of an AWS account from Terraform folders, CloudFormation templates, Terraform
plans (read as 'parapet scan iac' reads them) and AWS Config snapshot or history files, and list every
principal that can become an administrator, or reach the principal given with --to, with its shortest
path step by step: the escalation method of each step (content/paths), every permission it uses and
the policy and statement that grants it. --all lists every path of at most --max-steps steps.

An administrator is a principal whose effective permissions (identity policies, groups, permissions
boundary, explicit denies) allow every action on every resource. Terraform and CloudFormation do not
say the account id: it is taken from the ARNs in the policies, or --account.

Not yet read: the live account, service control policies, resource policies other than trust
policies, and resources that already run as a role (functions, instances, stacks): their methods are
listed in content/paths but add no edge yet.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case "table", "json", "dot", "graphml", "cypher", "html":
			default:
				return usageError{fmt.Errorf("unknown --format %q (table, json, dot, graphml, cypher, html)", format)}
			}
			methods, err := attackpath.BuiltinMethods()
			if methodsDir != "" {
				methods, err = attackpath.LoadMethods(os.DirFS(methodsDir), ".")
			}
			if err != nil {
				return err
			}
			var res []*resource.Resource
			bad := 0
			for _, p := range args {
				more, err := pathsInput(p, varFiles, func(e error) { fmt.Fprintf(io.Err, "parapet: %v\n", e) })
				if err != nil {
					fmt.Fprintf(io.Err, "parapet: bad input: %v\n", err)
					bad++
					continue
				}
				res = append(res, more...)
			}
			g := attackpath.Build(res, methods, attackpath.Options{Account: account})
			var found []attackpath.Path
			if all {
				found, err = g.All(to, maxSteps, perSource)
			} else {
				found, err = g.Shortest(to)
			}
			if err != nil {
				return usageError{err}
			}
			if err := g.NewReport(to, found).Write(io.Out, format); err != nil {
				return err
			}
			if bad > 0 {
				return &ExitError{Code: ExitBadInput}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&to, "to", "admin", "the target: admin, or a principal's ARN or name")
	f.BoolVar(&all, "all", false, "list every path (up to --max-steps steps, --per-source per principal), not only the shortest")
	f.IntVar(&maxSteps, "max-steps", 6, "with --all: the longest path listed")
	f.IntVar(&perSource, "per-source", 20, "with --all: the most paths listed per principal")
	f.StringVar(&format, "format", "table", "table, json, dot, graphml, cypher or html (a self-contained page drawing each path)")
	f.StringVar(&account, "account", "", "the account id for ARNs the sources do not give (default: the one their policies name)")
	f.StringVar(&methodsDir, "methods", "", "a folder of escalation methods (*.yaml) to use instead of the built-in ones")
	f.StringArrayVar(&varFiles, "var-file", nil, "a Terraform .tfvars file (repeatable)")
	return cmd
}

// pathsInput reads one argument: a folder or file of Terraform,
// CloudFormation or a plan (as scan iac reads them), else an AWS Config
// file.
func pathsInput(p string, varFiles []string, errf func(error)) ([]*resource.Resource, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() && strings.EqualFold(filepath.Ext(p), ".json") {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if !terraform.IsPlan(b) && !cloudformation.IsTemplate(b) {
			return awsconfig.Load(p)
		}
	}
	tree, err := findIaC(p)
	if err != nil {
		return nil, err
	}
	return tree.resources(varFiles, errf), nil
}
