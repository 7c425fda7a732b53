package lake

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// Column is one column of the lake's files, as a SQL engine declares it.
type Column struct {
	Name string
	// Type is the Hive type (Athena, Glue): timestamp, int, bigint,
	// string, binary, array<string>.
	Type string
}

// Columns are the columns of every lake file, in file order, read from
// Row's Parquet schema so that they follow it.
func Columns() []Column {
	var out []Column
	for _, f := range parquet.SchemaOf(Row{}).Fields() {
		out = append(out, Column{Name: f.Name(), Type: hiveType(f)})
	}
	return out
}

// PartitionKeys are the partition columns, as Athena and Glue name them
// (lower case), in path order.
var PartitionKeys = []string{"region", "accountid", "eventday"}

// hiveType is the Hive type of a Parquet field of Row.
func hiveType(f parquet.Field) string {
	if !f.Leaf() {
		if lt := f.Type().LogicalType(); lt != nil && isList(lt.Value) {
			// LIST: a group holding a repeated group holding the element.
			if g := f.Fields(); len(g) == 1 && len(g[0].Fields()) == 1 {
				return "array<" + hiveType(g[0].Fields()[0]) + ">"
			}
		}
		var fs []string
		for _, g := range f.Fields() {
			fs = append(fs, g.Name()+":"+hiveType(g))
		}
		return "struct<" + strings.Join(fs, ",") + ">"
	}
	t := f.Type()
	if lt := t.LogicalType(); lt != nil {
		switch v := lt.Value.(type) {
		case *format.TimestampType:
			return "timestamp"
		case *format.StringType, *format.JsonType, *format.EnumType:
			return "string"
		case *format.IntType:
			if v.BitWidth == 64 {
				return "bigint"
			}
			return "int"
		}
	}
	switch t.Kind() {
	case parquet.Boolean:
		return "boolean"
	case parquet.Int32:
		return "int"
	case parquet.Int64:
		return "bigint"
	case parquet.Float:
		return "float"
	case parquet.Double:
		return "double"
	}
	return "binary"
}

func isList(v format.LogicalTypeValue) bool {
	_, ok := v.(*format.ListType)
	return ok
}

// SchemaFormat is the engine Schema writes definitions for.
type SchemaFormat int

// Schema formats.
const (
	Athena SchemaFormat = iota // CREATE EXTERNAL TABLE statements
	Glue                       // Glue CreateTable TableInput documents (JSON)
	DuckDB                     // CREATE VIEW statements over read_parquet
)

// Holdings is what a lake holds, as far as table definitions care: the
// tables with files, and the regions, accounts and first day of its
// partitions.
type Holdings struct {
	Tables, Regions, Accounts []string
	FirstDay                  string // YYYYMMDD; "" when empty
}

// Holdings lists what the lake holds.
func (l *Lake) Holdings(ctx context.Context) (Holdings, error) {
	files, err := l.Files(ctx, Filter{})
	if err != nil {
		return Holdings{}, err
	}
	var h Holdings
	for _, f := range files {
		p := f.Partition
		if !slices.Contains(h.Tables, p.Table) {
			h.Tables = append(h.Tables, p.Table)
		}
		if !slices.Contains(h.Regions, p.Region) {
			h.Regions = append(h.Regions, p.Region)
		}
		if !slices.Contains(h.Accounts, p.Account) {
			h.Accounts = append(h.Accounts, p.Account)
		}
		if h.FirstDay == "" || p.Day < h.FirstDay {
			h.FirstDay = p.Day
		}
	}
	slices.Sort(h.Tables)
	slices.Sort(h.Regions)
	slices.Sort(h.Accounts)
	return h, nil
}

// Schema writes the definitions of the lake's tables for an engine: one
// per entry of Tables, located under root (the lake's location: a folder
// or s3://bucket/prefix). Athena and Glue tables are partitioned by
// region, accountid and eventday with partition projection: the regions
// and accounts of h are enumerated (none: the values must be named in each
// query), days from h's first day to now. DuckDB views read the files of
// the tables h holds files of; the others are empty views of the same
// columns (read_parquet fails on a glob matching nothing).
func Schema(f SchemaFormat, root string, h Holdings) ([]byte, error) {
	s3 := strings.HasPrefix(root, "s3://")
	if !s3 {
		if abs, err := filepath.Abs(root); err == nil {
			root = abs
		}
		root = filepath.ToSlash(root)
	}
	root = strings.TrimSuffix(root, "/")
	loc := func(table string) string { return root + "/" + path.Join("ext", table, Version) + "/" }
	cols := Columns()
	var b strings.Builder
	switch f {
	case Athena:
		if !s3 {
			fmt.Fprintf(&b, "-- %s is a local folder: Athena reads S3 only. Copy the lake to S3\n-- (aws s3 sync) and point LOCATION and storage.location.template there.\n", root)
		}
		for _, t := range Tables {
			fmt.Fprintf(&b, "CREATE EXTERNAL TABLE IF NOT EXISTS `%s` (\n", t)
			for i, c := range cols {
				sep := ","
				if i == len(cols)-1 {
					sep = ""
				}
				fmt.Fprintf(&b, "  `%s` %s%s\n", c.Name, c.Type, sep)
			}
			b.WriteString(")\nPARTITIONED BY (`region` string, `accountid` string, `eventday` string)\nSTORED AS PARQUET\n")
			fmt.Fprintf(&b, "LOCATION '%s'\nTBLPROPERTIES (\n", loc(t))
			props := projection(loc(t), h)
			for i, kv := range props {
				sep := ","
				if i == len(props)-1 {
					sep = ""
				}
				fmt.Fprintf(&b, "  '%s' = '%s'%s\n", kv[0], kv[1], sep)
			}
			b.WriteString(");\n\n")
		}
	case Glue:
		type column struct{ Name, Type string }
		type serde struct {
			SerializationLibrary string
			Parameters           map[string]string
		}
		type storage struct {
			Columns                   []column
			Location                  string
			InputFormat, OutputFormat string
			Compressed                bool
			SerdeInfo                 serde
		}
		type tableInput struct {
			Name              string
			Description       string
			TableType         string
			Parameters        map[string]string
			PartitionKeys     []column
			StorageDescriptor storage
		}
		var out []tableInput
		for _, t := range Tables {
			ti := tableInput{
				Name: t, TableType: "EXTERNAL_TABLE",
				Description: "Parapet lake: OCSF " + t + " events (one row per event, the OCSF record as JSON in ocsf)",
				Parameters:  map[string]string{"classification": "parquet", "EXTERNAL": "TRUE"},
				StorageDescriptor: storage{
					Location:     loc(t),
					InputFormat:  "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
					OutputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
					Compressed:   true,
					SerdeInfo: serde{SerializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
						Parameters: map[string]string{"serialization.format": "1"}},
				},
			}
			for _, c := range cols {
				ti.StorageDescriptor.Columns = append(ti.StorageDescriptor.Columns, column(c))
			}
			for _, k := range PartitionKeys {
				ti.PartitionKeys = append(ti.PartitionKeys, column{k, "string"})
			}
			for _, kv := range projection(loc(t), h) {
				ti.Parameters[kv[0]] = kv[1]
			}
			out = append(out, ti)
		}
		js, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return nil, err
		}
		b.Write(js)
		b.WriteByte('\n')
	case DuckDB:
		if s3 {
			b.WriteString("INSTALL httpfs; LOAD httpfs; INSTALL aws; LOAD aws;\n-- AWS credentials from the environment, a profile or the instance role:\nCREATE OR REPLACE SECRET parapet_lake (TYPE s3, PROVIDER credential_chain);\n")
		}
		for _, t := range Tables {
			if !slices.Contains(h.Tables, t) {
				// read_parquet fails on a glob matching nothing: an empty
				// view of the same columns, so that queries over every
				// table work. Run schema again once it has files.
				fmt.Fprintf(&b, "-- %s: no files yet\nCREATE OR REPLACE VIEW %s AS SELECT ", t, t)
				for _, c := range cols {
					fmt.Fprintf(&b, "CAST(NULL AS %s) AS \"%s\", ", duckType(c.Type), c.Name)
				}
				b.WriteString("CAST(NULL AS VARCHAR) AS region, CAST(NULL AS VARCHAR) AS accountId, CAST(NULL AS VARCHAR) AS eventDay WHERE false;\n")
				continue
			}
			// hive_types_autocast = false: an account id is text (leading
			// zeros), a day is YYYYMMDD text, as in Athena.
			fmt.Fprintf(&b, "CREATE OR REPLACE VIEW %s AS SELECT * FROM read_parquet('%s*/*/*/*.parquet', hive_partitioning = true, hive_types_autocast = false, union_by_name = true);\n",
				t, strings.ReplaceAll(loc(t), "'", "''"))
		}
	default:
		return nil, fmt.Errorf("lake: unknown schema format %d", f)
	}
	return []byte(b.String()), nil
}

// duckType is the DuckDB type of a Hive type of Columns.
func duckType(hive string) string {
	switch hive {
	case "timestamp":
		return "TIMESTAMPTZ" // Parquet's UTC-adjusted timestamps read as such
	case "int":
		return "INTEGER"
	case "bigint":
		return "BIGINT"
	case "string":
		return "VARCHAR"
	case "boolean":
		return "BOOLEAN"
	case "float":
		return "FLOAT"
	case "double":
		return "DOUBLE"
	}
	if e, ok := strings.CutPrefix(hive, "array<"); ok {
		return duckType(strings.TrimSuffix(e, ">")) + "[]"
	}
	return "BLOB"
}

// projection is the partition projection table properties of a table at
// loc: the lake's paths are region=…/accountId=…/eventDay=…, whose
// camel-case names Athena's lower-case keys need a template for.
func projection(loc string, h Holdings) [][2]string {
	props := [][2]string{{"projection.enabled", "true"}}
	enum := func(key string, vals []string) {
		if len(vals) == 0 {
			props = append(props, [2]string{"projection." + key + ".type", "injected"})
			return
		}
		props = append(props, [2]string{"projection." + key + ".type", "enum"}, [2]string{"projection." + key + ".values", strings.Join(vals, ",")})
	}
	enum("region", h.Regions)
	enum("accountid", h.Accounts)
	first := h.FirstDay
	if first == "" {
		first = "NOW-1YEARS"
	}
	props = append(props,
		[2]string{"projection.eventday.type", "date"},
		[2]string{"projection.eventday.format", "yyyyMMdd"},
		[2]string{"projection.eventday.range", first + ",NOW"},
		[2]string{"projection.eventday.interval", "1"},
		[2]string{"projection.eventday.interval.unit", "DAYS"},
		[2]string{"storage.location.template", loc + "region=${region}/accountId=${accountid}/eventDay=${eventday}/"},
		[2]string{"parquet.compression", "ZSTD"},
	)
	return props
}
