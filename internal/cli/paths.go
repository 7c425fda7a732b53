package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/parapet-sec/parapet/internal/attackpath"
	"github.com/parapet-sec/parapet/internal/posture/awsapi"
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
		live                            bool
		assumeRole                      string
		liveOpt                         awsapi.Options
	)
	cmd := &cobra.Command{
		Use:   "paths [PATH...|--live]",
		Short: "List the principals that can become administrator (or reach --to: a principal or a resource), with their paths",
		Long: `Build the access graph of an AWS account from Terraform folders, CloudFormation templates, Terraform
plans (read as 'parapet scan iac' reads them) and AWS Config snapshot or history files, and list every
principal that can become an administrator, or reach the principal given with --to, with its shortest
path step by step: the escalation method of each step (content/paths), every permission it uses and
the policy and statement that grants it. --all lists every path of at most --max-steps steps.

An administrator is a principal whose effective permissions (identity policies, groups, permissions
boundary, explicit denies) allow every action on every resource. Terraform and CloudFormation do not
say the account id: it is taken from the ARNs in the policies, or --account.

--live reads the account the AWS credentials name (or the one --assume-role reaches) with read-only
calls: its IAM (iam:GetAccountAuthorizationDetails), its Lambda functions and EC2 instances and the
roles they run as, the resource policies of functions, S3 buckets, KMS keys, SQS queues, SNS topics
and Secrets Manager secrets in --regions, and the service control policies that apply to it when
Organizations is readable (if not, a note on stderr: paths then ignore SCPs).

--to a bucket, KMS key, secret, SQS queue or SNS topic (its ARN or name) lists every principal that can
read, write or administer it (s3:GetObject / s3:PutObject / s3:PutBucketPolicy, kms:Decrypt / kms:Encrypt /
kms:PutKeyPolicy, and the like), the highest level each reaches, and its shortest path: the steps to a
principal with access, then the access itself and the policy statement (or the resource's own policy)
that grants it. The resource policy counts as AWS counts it: a same-account grant on its own, an explicit
Deny against everyone (administrators too), a key policy that must trust the account for IAM grants.

An SCP Deny cuts a step; a function's resource policy can grant a step by itself. Stacks, CodeBuild
projects, Glue dev endpoints and notebooks that run as a role are not read yet: their methods are
listed in content/paths but add no edge.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if live && len(args) > 0 {
				return usageError{fmt.Errorf("--live reads the account: give no PATH")}
			}
			if !live && len(args) == 0 {
				return usageError{fmt.Errorf("give a PATH, or --live")}
			}
			return nil
		},
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
			if live {
				if assumeRole != "" {
					liveOpt.AssumeRoles = []string{assumeRole}
				}
				more, notes, errs := awsapi.Authorization(cmd.Context(), liveOpt)
				for _, n := range notes {
					fmt.Fprintf(io.Err, "parapet: note: %s\n", n)
				}
				for _, e := range errs {
					fmt.Fprintf(io.Err, "parapet: %v\n", e)
				}
				if more == nil && len(errs) > 0 {
					return fmt.Errorf("read the account: %w", errs[0])
				}
				res = more
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
	f.StringVar(&to, "to", "admin", "the target: admin, a principal's ARN or name, or a bucket, KMS key, secret, queue or topic (ARN or name)")
	f.BoolVar(&all, "all", false, "list every path (up to --max-steps steps, --per-source per principal), not only the shortest")
	f.IntVar(&maxSteps, "max-steps", 6, "with --all: the longest path listed")
	f.IntVar(&perSource, "per-source", 20, "with --all: the most paths listed per principal")
	f.StringVar(&format, "format", "table", "table, json, dot, graphml, cypher or html (a self-contained page drawing each path)")
	f.StringVar(&account, "account", "", "the account id for ARNs the sources do not give (default: the one their policies name)")
	f.StringVar(&methodsDir, "methods", "", "a folder of escalation methods (*.yaml) to use instead of the built-in ones")
	f.StringArrayVar(&varFiles, "var-file", nil, "a Terraform .tfvars file (repeatable)")
	f.BoolVar(&live, "live", false, "read the live account through the AWS API instead of PATHs")
	f.StringVar(&assumeRole, "assume-role", "", "with --live: a role ARN to assume: reads that role's account")
	f.StringSliceVar(&liveOpt.Regions, "regions", nil, "with --live: regions of functions, instances and resource policies (comma-separated; default: the configured region)")
	f.IntVar(&liveOpt.Concurrency, "concurrency", 8, "with --live: API calls in flight")
	f.IntVar(&liveOpt.MaxAttempts, "max-attempts", 10, "with --live: attempts per throttled call")
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
