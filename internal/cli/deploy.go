package cli

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/respond"
	"github.com/parapet-sec/parapet/internal/respond/awsaction"
)

func newDeploy(io IO) *cobra.Command {
	cmd := &cobra.Command{Use: "deploy", Short: "Generate what Parapet needs deployed in the AWS accounts it covers"}
	var (
		format, principal, externalID, out string
		roles                              org.Roles
		dirs                               []string
		noBuiltin                          bool
	)
	rc := &cobra.Command{
		Use:   "roles",
		Short: "Print a CloudFormation StackSet template or a Terraform module with Parapet's member-account roles",
		Long: `Print, for every member account, a read-only scanner role (exactly the read calls scan aws makes) and a
responder role (exactly the policy iam-policy prints for the enabled playbooks, with its IAM writes denied
on Parapet's own roles, so that it cannot make itself an administrator), both trusted only by
--principal, and only with --external-id. Deploy the CloudFormation template as a StackSet over the
organization's OUs, or apply the Terraform module per account; then set organization.role (and
organization.external_id) to the scanner role name for scan aws --org and serve. Regenerate after
changing playbooks; never edit the output.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg := registry(&awsaction.Clients{})
			pbs, errs := loadPlaybooks(reg, dirs, noBuiltin)
			for _, e := range errs {
				fmt.Fprintf(io.Err, "parapet: playbook skipped: %v\n", e)
			}
			pol := respond.LeastPrivilege(pbs, reg)
			if len(pol.Statement) == 0 {
				return usagef("no enabled playbook needs an AWS permission: no responder role to make")
			}
			pol = notOnItself(pol, roles.Responder, roles.Scanner)
			roles.Principal, roles.ExternalID, roles.ResponderPolicy = principal, externalID, pol
			var b []byte
			var err error
			switch format {
			case "cloudformation":
				b, err = org.CloudFormation(roles)
			case "terraform":
				b, err = org.Terraform(roles)
			default:
				return usagef("--format: want cloudformation or terraform")
			}
			if err != nil {
				return usagef("%v", err)
			}
			if out != "" {
				return os.WriteFile(out, b, 0o644)
			}
			_, err = io.Out.Write(b)
			return err
		},
	}
	rc.Flags().StringVar(&format, "format", "cloudformation", "cloudformation (a StackSet template, JSON) or terraform (a module's main.tf)")
	rc.Flags().StringVar(&principal, "principal", "", "the central Parapet principal's ARN (the role or user serve runs as)")
	rc.Flags().StringVar(&externalID, "external-id", "", "the ExternalId Parapet presents (organization.external_id)")
	rc.Flags().StringVar(&roles.Scanner, "scanner-role", org.ScannerRole, "the scanner role's name")
	rc.Flags().StringVar(&roles.Responder, "responder-role", org.ResponderRole, "the responder role's name")
	rc.Flags().StringArrayVar(&dirs, "playbooks", nil, "a directory of playbooks to add (repeatable)")
	rc.Flags().BoolVar(&noBuiltin, "no-builtin-playbooks", false, "only the --playbooks given")
	rc.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of standard output")
	cmd.AddCommand(rc)
	return cmd
}

// notOnItself denies the responder role the IAM actions the playbooks
// give it on Parapet's own roles: a playbook changes other principals'
// IAM (it quarantines a user, revokes a role's sessions), never Parapet's
// roles — else the responder could write itself an administrator policy
// (a path to admin, which scan iac reports on the template).
func notOnItself(pol respond.Policy, roles ...string) respond.Policy {
	var iamActs []string
	for _, st := range pol.Statement {
		if st.Effect != "Allow" {
			continue
		}
		for _, a := range st.Action {
			op, ok := strings.CutPrefix(strings.ToLower(a), "iam:")
			if ok && !strings.HasPrefix(op, "get") && !strings.HasPrefix(op, "list") && !slices.Contains(iamActs, a) {
				iamActs = append(iamActs, a)
			}
		}
	}
	if len(iamActs) == 0 {
		return pol
	}
	slices.Sort(iamActs)
	for i, name := range roles {
		pol.Statement = append(pol.Statement, respond.Statement{Sid: fmt.Sprintf("ParapetNotOnItself%d", i+1), Effect: "Deny",
			Action: iamActs, Resource: "arn:aws:iam::*:role/" + name})
	}
	return pol
}
