package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/parapet-sec/parapet/internal/config"
)

func newConfig(io IO) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "parapet serve's configuration: its schema, and checking a file"}
	cmd.AddCommand(&cobra.Command{
		Use: "schema", Short: "Print the configuration file's JSON Schema", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := json.MarshalIndent(config.Schema(), "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(io.Out, "%s\n", b)
			return err
		},
	}, &cobra.Command{
		Use: "validate FILE", Short: "Check a configuration file: every problem with its line; the effective configuration on success",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := config.Load(args[0])
			if err != nil {
				fmt.Fprintln(io.Err, err)
				return &ExitError{Code: ExitFailure}
			}
			b, _ := json.MarshalIndent(c.Redacted(), "", "  ") // shown, pasted: no credentials
			fmt.Fprintf(io.Out, "%s\n", b)
			fmt.Fprintf(io.Err, "parapet: %s is valid\n", args[0])
			return nil
		},
	})
	return cmd
}
