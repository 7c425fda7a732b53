package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"

	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/ingest/file"
	"github.com/parapet-sec/parapet/internal/ingest/s3list"
	"github.com/parapet-sec/parapet/internal/lake"
)

// lakeFlags are the flags every lake command shares: where the lake is.
type lakeFlags struct {
	lake, data, file string
}

func (f *lakeFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.lake, "lake", "", "the lake: a folder or s3://bucket/prefix (default: the configuration's lake, else DATA/lake)")
	c.Flags().StringVar(&f.data, "data", "parapet-data", "the serve data folder")
	c.Flags().StringVar(&f.file, "config", "", "the serve configuration file (for its lake section)")
}

// load reads the configuration and names the lake.
func (f *lakeFlags) load(cmd *cobra.Command) (*config.Config, string, error) {
	cfg, err := serveConfig(cmd, f.file, "", f.data)
	if err != nil {
		return nil, "", err
	}
	loc := cfg.Lake.Location(cfg.Data)
	if f.lake != "" {
		loc = f.lake
	}
	return cfg, loc, nil
}

func newLake(io IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lake",
		Short: "The security data lake: every event as OCSF Parquet in the AWS Security Lake layout",
		Long: `The lake keeps events as OCSF 1.8 in Parquet, one table per OCSF class, laid out as AWS Security Lake
lays out custom sources:

  LAKE/ext/<table>/1.0/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/<file>.parquet

readable by Athena, DuckDB or Spark. An event is written once however often it is offered.`,
	}
	cmd.AddCommand(newLakeImport(io), newLakeCompact(io), newLakePrune(io), newLakeSchema(io))
	return cmd
}

func newLakeImport(io IO) *cobra.Command {
	var (
		lf         lakeFlags
		flags      ingestFlags
		checkpoint string
		fresh      bool
	)
	cmd := &cobra.Command{
		Use:   "import PATH...",
		Short: "Backfill the lake from historical logs: files, folders and s3://bucket/prefix",
		Long: `Decode every input the events command reads (CloudTrail, VPC Flow Logs, GuardDuty, Security Hub,
Azure and Google Cloud logs; AWS Security Lake's OCSF Parquet; plain or gzip; files, folders walked
recursively, s3://bucket/prefix) on all
cores and write its events into the lake. Events already there are passed over, so an import can be run
again. Inputs done are listed in a checkpoint file once their events are in the lake: an interrupted
import run again resumes where it stopped.

Exit status: 0 when all input decoded, 3 when some input was bad (reported and skipped), 1 on other
errors, 2 on usage errors.`,
		Example: `  parapet lake import --lake /srv/lake AWSLogs/
  parapet lake import --lake s3://sec-lake/parapet s3://org-trail/AWSLogs/o-abc123/
  parapet lake import --lake /srv/lake s3://aws-security-data-lake-eu-west-1-abc/aws/CLOUD_TRAIL_MGMT/2.0/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("lake import needs at least one PATH")
			}
			ctx := cmd.Context()
			cfg, loc, err := lf.load(cmd)
			if err != nil {
				return err
			}
			if checkpoint == "" {
				checkpoint = filepath.Join(cfg.Data, "lake-import.checkpoint")
				if !s3list.Is(loc) {
					checkpoint = filepath.Join(loc, ".import-checkpoint")
				}
			}
			switch flags.progress {
			case "auto", "always", "never":
			default:
				return usagef("--progress: want auto, always or never, got %q", flags.progress)
			}
			inputs, err := importInputs(ctx, io, args, flags.s3)
			if err != nil {
				return err
			}
			enrich, release, err := flags.enrichment()
			if err != nil {
				return err
			}
			defer release()

			opt := lake.FromConfig(cfg.Lake, cfg.Data)
			opt.Path, opt.RollAge = loc, 24*time.Hour // a backfill rolls by size
			w, err := lake.Open(ctx, opt)
			if err != nil {
				return err
			}
			if fresh {
				if err := removeFile(checkpoint); err != nil {
					return err
				}
			}
			cp, err := lake.OpenCheckpoint(checkpoint)
			if err != nil {
				return fmt.Errorf("checkpoint: %w", err)
			}
			defer cp.Close()
			todo := inputs[:0]
			for _, in := range inputs {
				if !cp.Done(in.Name) {
					todo = append(todo, in)
				}
			}
			if skipped := len(inputs) - len(todo); skipped > 0 {
				fmt.Fprintf(io.Err, "parapet: %d inputs already imported (checkpoint %s; --fresh to read them again)\n", skipped, checkpoint)
			}
			if len(todo) == 0 {
				return nil
			}

			st, err := importRun(ctx, io, &flags, w, cp, todo, enrich)
			ws := w.Stats()
			fmt.Fprintf(io.Err, "parapet: lake %s: %s written in %s (%s), %s passed over\n",
				w, count(ws.Written, "event", "events"), count(ws.Files, "file", "files"), bytesHuman(ws.Bytes), count(ws.Duplicates, "copy", "copies"))
			if err != nil {
				return err
			}
			if st.Bad() {
				return &ExitError{Code: ExitBadInput}
			}
			return nil
		},
	}
	lf.register(cmd)
	flags.register(cmd.Flags())
	flags.registerS3(cmd.Flags(), "lake-import")
	cmd.Flags().StringVar(&checkpoint, "checkpoint", "", "the file listing the inputs done (default: LAKE/.import-checkpoint, or DATA/lake-import.checkpoint for an S3 lake)")
	cmd.Flags().BoolVar(&fresh, "fresh", false, "forget the checkpoint: read every input again (events already in the lake are still passed over)")
	return cmd
}

// importInputs lists the inputs of paths: files, folders and S3 prefixes.
func importInputs(ctx context.Context, io IO, paths []string, access s3list.Access) ([]ingest.Input, error) {
	var local, remote []string
	for _, p := range paths {
		if s3list.Is(p) {
			remote = append(remote, p)
		} else {
			local = append(local, p)
		}
	}
	var inputs []ingest.Input
	if len(local) > 0 {
		in, err := file.Inputs(local, io.In)
		if err != nil {
			return nil, err
		}
		inputs = in
	}
	if len(remote) > 0 {
		client, err := s3list.ClientAs(ctx, access)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", strings.Join(remote, ", "), err)
		}
		for _, r := range remote {
			in, err := s3list.Inputs(ctx, client, r)
			if ae := smithy.APIError(nil); err != nil && access.RoleARN == "" && errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied" {
				return nil, fmt.Errorf("%w (a bucket of another account, such as a central log-archive account, is read through a role there: --role-arn)", err)
			}
			if err != nil {
				return nil, err
			}
			inputs = append(inputs, in...)
		}
	}
	return inputs, nil
}

// checkpointEvery is how often an import flushes the lake and lists the
// inputs done.
const checkpointEvery = 10 * time.Second

// importRun reads inputs into w. Rows are made on every core (ingest's
// Map); the writer runs on this goroutine. Inputs are emitted in order,
// so an input is done once a batch of a later one arrives; done inputs
// are checkpointed after a Flush, never before their events are in files.
func importRun(ctx context.Context, io IO, flags *ingestFlags, w *lake.Writer, cp *lake.Checkpoint, inputs []ingest.Input, enrich func(*event.Event)) (ingest.Stats, error) {
	flags.recycle = true // rows copy what they keep
	mapFn := func(b *ingest.Batch) {
		if enrich != nil {
			for i := range b.Events {
				enrich(&b.Events[i])
			}
		}
		rows, err := lake.NewRows(b.Events)
		if err != nil {
			b.Data = err
			return
		}
		b.Data = rows
	}
	next := 0 // the first input not yet known done
	var pending []string
	last := time.Now()
	checkpointed := func() error {
		if err := w.Flush(ctx); err != nil {
			return err
		}
		if err := cp.Mark(pending...); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		pending, last = pending[:0], time.Now()
		return nil
	}
	emit := func(b *ingest.Batch) error {
		switch d := b.Data.(type) {
		case error:
			return d
		case []lake.Row:
			if err := w.WriteRows(ctx, d); err != nil {
				return err
			}
		}
		for ; next < b.Input; next++ {
			pending = append(pending, inputs[next].Name)
		}
		if len(pending) > 0 && time.Since(last) >= checkpointEvery {
			return checkpointed()
		}
		return nil
	}
	start := time.Now()
	st, read, err := flags.read(ctx, io, inputs, mapFn, emit)
	flags.summary(io, st, read, time.Since(start), nil)
	if err == nil {
		for ; next < len(inputs); next++ {
			pending = append(pending, inputs[next].Name)
		}
	}
	// What was written is made durable either way; only inputs wholly
	// read are listed.
	if cerr := checkpointed(); err == nil {
		err = cerr
	}
	return st, err
}

func newLakeCompact(io IO) *cobra.Command {
	var (
		lf        lakeFlags
		target    string
		retention string
		level     string
		workers   int
		maxRows   int64
	)
	cmd := &cobra.Command{
		Use:   "compact",
		Short: "Merge each partition's small files (dropping copies of an event) and apply retention",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			size, err := parseSize(target)
			if err != nil {
				return usagef("--target: %v", err)
			}
			lvl, err := lake.CompactLevel(level)
			if err != nil {
				return usagef("--level: %v", err)
			}
			if workers < 1 {
				return usagef("--workers: %d is not a count of partitions", workers)
			}
			if maxRows < 1 {
				return usagef("--max-rows: %d is not a count of rows", maxRows)
			}
			l, keep, err := lf.openWithRetention(cmd, retention)
			if err != nil {
				return err
			}
			st, err := l.Compact(cmd.Context(), lake.CompactOptions{Target: size, Retention: keep, Level: lvl, Workers: workers, MaxRows: maxRows})
			fmt.Fprintf(io.Err, "parapet: lake %s: %s merged or rewritten into %d in %s, %s dropped, %s past retention removed\n",
				l, count(st.FilesMerged, "file", "files"), st.FilesWritten, count(st.Partitions, "partition", "partitions"), count(st.Duplicates, "copy", "copies"), count(st.Pruned, "file", "files"))
			return err
		},
	}
	lf.register(cmd)
	cmd.Flags().StringVar(&target, "target", "128MiB", "the file size compaction aims for: smaller files are merged up to it")
	cmd.Flags().StringVar(&retention, "retention", "", "remove days older than this (90d, 12w, 36h; default: lake.retention; none: keep all)")
	cmd.Flags().StringVar(&level, "level", "best", "zstd level of the files written: best (smallest), better (about 3× faster, 4% larger), default or fastest")
	cmd.Flags().IntVar(&workers, "workers", 1, "partitions compacted at once (each on a core, holding the rows of one merge in memory)")
	cmd.Flags().Int64Var(&maxRows, "max-rows", 500_000, "the most rows merged into one file (a merge holds them in memory: 500,000 CloudTrail calls peak at about 2.4 GB)")
	return cmd
}

func newLakePrune(io IO) *cobra.Command {
	var (
		lf        lakeFlags
		retention string
	)
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove the days older than the retention (lake.retention or --retention)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, keep, err := lf.openWithRetention(cmd, retention)
			if err != nil {
				return err
			}
			if keep == 0 {
				return usagef("lake prune needs a retention: --retention AGE or lake.retention in the configuration")
			}
			n, err := l.Prune(cmd.Context(), time.Now().Add(-keep))
			fmt.Fprintf(io.Err, "parapet: lake %s: %d files older than %s removed\n", l, n, keep)
			return err
		},
	}
	lf.register(cmd)
	cmd.Flags().StringVar(&retention, "retention", "", "remove days older than this (90d, 12w, 36h; default: lake.retention)")
	return cmd
}

// openWithRetention opens the lake the flags name, with the retention
// --retention (flag) or the configuration gives.
func (f *lakeFlags) openWithRetention(cmd *cobra.Command, flag string) (*lake.Lake, time.Duration, error) {
	cfg, loc, err := f.load(cmd)
	if err != nil {
		return nil, 0, err
	}
	keep, err := retentionOf(cfg, flag)
	if err != nil {
		return nil, 0, err
	}
	l, err := lake.OpenLake(cmd.Context(), loc, nil)
	return l, keep, err
}

// retentionOf is the flag's age, else the configuration's; 0: none
// (also when the flag says "none", whatever the configuration says).
func retentionOf(cfg *config.Config, flag string) (time.Duration, error) {
	s := cfg.Lake.Retention
	if flag != "" {
		s = flag
	}
	if s == "" || flag == "none" {
		return 0, nil
	}
	d, err := config.ParseAge(s)
	if err != nil {
		return 0, usagef("--retention: %v", err)
	}
	return d, nil
}

// count is n and the noun, singular for 1.
func count[N int | int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// parseSize reads 1048576, 64KiB, 64MiB or 1GiB.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if v, ok := strings.CutSuffix(s, suffix); ok {
			s, mult = v, m
		}
	}
	var v int64
	if _, err := fmt.Sscanf(s, "%d", &v); err != nil || v <= 0 || fmt.Sprint(v) != s {
		return 0, fmt.Errorf("%q is not a size (like 64MiB)", s)
	}
	return v * mult, nil
}

func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
