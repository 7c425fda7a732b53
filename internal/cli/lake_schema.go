package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/parapet-sec/parapet/internal/ingest/s3list"
	"github.com/parapet-sec/parapet/internal/lake"
)

func newLakeSchema(io IO) *cobra.Command {
	var (
		lf                   lakeFlags
		athena, glue, duckdb bool
	)
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Print the lake's table definitions for Athena, Glue or DuckDB",
		Long: `Print the definitions of the lake's tables (one per OCSF class: ` + fmt.Sprint(lake.Tables) + `) for an
engine, made from the schema Parapet writes its files with:

  --athena  CREATE EXTERNAL TABLE statements, partitioned by region, accountid and eventday with partition
            projection (the regions and accounts the lake holds now are enumerated: run it again when
            new ones appear)
  --glue    a JSON array of Glue TableInput documents (aws glue create-table --table-input)
  --duckdb  CREATE VIEW statements over read_parquet (an empty view for a table without files yet)

The lake is listed (not read) to learn its tables, regions, accounts and first day.`,
		Example: `  parapet lake schema --lake /srv/lake --duckdb | duckdb lake.db
  parapet lake schema --lake s3://sec-lake/parapet --athena > tables.sql
  parapet lake schema --lake s3://sec-lake/parapet --glue | jq -c '.[]' |
    while read -r t; do aws glue create-table --database-name parapet --table-input "$t"; done`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var f lake.SchemaFormat
			switch {
			case athena && !glue && !duckdb:
				f = lake.Athena
			case glue && !athena && !duckdb:
				f = lake.Glue
			case duckdb && !athena && !glue:
				f = lake.DuckDB
			default:
				return usagef("lake schema needs exactly one of --athena, --glue, --duckdb")
			}
			_, loc, err := lf.load(cmd)
			if err != nil {
				return err
			}
			var h lake.Holdings
			if _, serr := os.Stat(loc); s3list.Is(loc) || serr == nil {
				l, err := lake.OpenLake(cmd.Context(), loc, nil)
				if err != nil {
					return err
				}
				if h, err = l.Holdings(cmd.Context()); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(io.Err, "parapet: lake %s does not exist yet: tables defined for an empty lake\n", loc)
			}
			out, err := lake.Schema(f, loc, h)
			if err != nil {
				return err
			}
			_, err = io.Out.Write(out)
			return err
		},
	}
	lf.register(cmd)
	cmd.Flags().BoolVar(&athena, "athena", false, "Athena CREATE EXTERNAL TABLE statements")
	cmd.Flags().BoolVar(&glue, "glue", false, "Glue CreateTable TableInput documents (JSON)")
	cmd.Flags().BoolVar(&duckdb, "duckdb", false, "DuckDB CREATE VIEW statements")
	return cmd
}
