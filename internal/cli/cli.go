// Package cli is Parapet's command line: one file per command, all wired
// here. main only runs New and maps its error to an exit status.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit statuses (documented in the README).
const (
	ExitOK       = 0
	ExitFailure  = 1 // an error stopped the command
	ExitUsage    = 2 // bad flags or arguments
	ExitBadInput = 3 // the command finished, but some input could not be decoded
)

// ExitError carries an exit status; a nil Err means the message was
// already printed.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// usageError marks mistakes in flags and arguments.
type usageError struct{ error }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// Exit prints err (if it has a message) to stderr and returns the exit
// status for it.
func Exit(stderr io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(stderr, "parapet: %v\n", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintf(stderr, "parapet: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	return ExitFailure
}

// IO is where commands read and write.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
}

// New builds the command tree.
func New(io IO) *cobra.Command {
	root := &cobra.Command{
		Use:   "parapet",
		Short: "Parapet watches a cloud estate: ingest, detect, respond, comply",
		Long: `Parapet ingests cloud telemetry (AWS CloudTrail, VPC Flow Logs, GuardDuty; Azure Activity Log; Google
Cloud audit logs), normalizes it to one OCSF-aligned event model, and detects, responds to and reports on
threats and posture, in one-shot commands or continuously (parapet serve).`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see %s --help)", err, c.CommandPath())}
	})
	root.AddCommand(
		newVersion(io),
		newEvents(io),
		newDemo(io),
		newDetect(io),
		newEval(io),
		newRespond(io),
		newApprovals(io),
		newAudit(io),
		newIAMPolicy(io),
		newPlaybooks(io),
		newScan(io),
		newChecks(io),
		newRules(io),
		newConfig(io),
		newServe(io),
		newTokens(io),
		newLake(io),
		newHunt(io),
		newPaths(io),
		newDeploy(io),
		newOrg(io),
	)
	guardGroups(root)
	return root
}

// guardGroups makes every command that only holds others (parapet,
// rules, approvals, …) treat a word it does not know as a usage error
// (exit 2) with cobra's suggestion, where cobra would print help and exit
// 0 (a group) or fail with exit 1 (the root). Alone, a group prints its
// help.
func guardGroups(c *cobra.Command) {
	for _, sub := range c.Commands() {
		guardGroups(sub)
	}
	if !c.HasSubCommands() || c.Runnable() {
		return
	}
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
		}
		return usageError{errors.New(msg)}
	}
	c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// noArgs rejects positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}
