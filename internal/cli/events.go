package cli

import (
	"bufio"

	"github.com/spf13/cobra"

	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/report"
)

func newEvents(io IO) *cobra.Command {
	var (
		format string
		raw    bool
		flags  ingestFlags
	)
	cmd := &cobra.Command{
		Use:   "events PATH...",
		Short: "Decode telemetry and print normalized events",
		Long: `Decode CloudTrail (S3 log files, JSON lines, arrays, EventBridge events, CloudWatch Logs exports),
VPC Flow Logs and GuardDuty findings, plain or gzip, and AWS Security Lake's OCSF Parquet files
(CloudTrail, VPC flow and Security Hub sources: aws/<SOURCE>/…/eventDay=…/*.parquet), from files,
folders (walked recursively), s3://bucket/prefix or stdin (-), and print one normalized event per
line. The format is detected from the content.

Exit status: 0 when all input decoded, 3 when some input was bad (reported on stderr and
skipped; the rest is still printed), 1 on other errors, 2 on usage errors.`,
		Example: `  parapet events AWSLogs/ > events.jsonl
  parapet events --format ocsf trail.json.gz
  zcat flows.log.gz | parapet events --format table -
  parapet events s3://aws-security-data-lake-eu-west-1-abc/aws/CLOUD_TRAIL_MGMT/2.0/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("events needs at least one PATH (or - for stdin)")
			}
			enc, err := report.NewEventEncoder(format, raw)
			if err != nil {
				return usageError{err}
			}
			w := bufio.NewWriterSize(io.Out, 256<<10)
			if _, err := w.Write(enc.Header()); err != nil {
				return err
			}
			encode := func(b *ingest.Batch) {
				for i := range b.Events {
					var err error
					if b.Out, err = enc.Append(b.Out, &b.Events[i]); err != nil {
						b.Out = append(b.Out, err.Error()...)
					}
				}
			}
			st, err := flags.run(cmd.Context(), io, args, encode, func(b *ingest.Batch) error {
				_, err := w.Write(b.Out)
				return err
			})
			if ferr := w.Flush(); err == nil {
				err = ferr
			}
			if err != nil {
				return err
			}
			if st.Bad() {
				return &ExitError{Code: ExitBadInput}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "jsonl", "output format: jsonl, ocsf or table")
	cmd.Flags().BoolVar(&raw, "raw", false, "include the native record (jsonl: raw, ocsf: raw_data)")
	flags.register(cmd.Flags())
	flags.registerS3(cmd.Flags(), "events")
	return cmd
}
