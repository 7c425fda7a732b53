package lake

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// rowColumns derives the columns from Row's Go fields and tags, apart
// from Columns' reading of the Parquet schema.
func rowColumns(t *testing.T) []Column {
	t.Helper()
	var out []Column
	rt := reflect.TypeFor[Row]()
	for i := range rt.NumField() {
		f := rt.Field(i)
		tag := strings.Split(f.Tag.Get("parquet"), ",")
		if tag[0] == "-" {
			continue
		}
		var typ string
		switch {
		case f.Type.Kind() == reflect.Int64 && slices.ContainsFunc(tag, func(s string) bool { return strings.HasPrefix(s, "timestamp") }):
			typ = "timestamp"
		case f.Type.Kind() == reflect.Int64:
			typ = "bigint"
		case f.Type.Kind() == reflect.Int32:
			typ = "int"
		case f.Type.Kind() == reflect.String, f.Type == reflect.TypeFor[*string]():
			typ = "string"
		case f.Type.Kind() == reflect.Bool:
			typ = "boolean"
		case f.Type == reflect.TypeFor[[]byte]():
			typ = "binary"
		case f.Type == reflect.TypeFor[[]string]():
			typ = "array<string>"
		default:
			t.Fatalf("Row.%s: a Go type this test does not know: %s", f.Name, f.Type)
		}
		out = append(out, Column{Name: tag[0], Type: typ})
	}
	return out
}

func TestColumnsFollowRow(t *testing.T) {
	want := rowColumns(t)
	got := Columns()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Columns() =\n%v\nwant (from Row's fields)\n%v", got, want)
	}
	// And the files written have exactly these columns, in this order.
	dir := t.TempDir()
	w := openTest(t, dir, Options{})
	if err := w.Write(context.Background(), sample()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := OpenLake(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := l.Files(context.Background(), Filter{})
	if err != nil || len(files) == 0 {
		t.Fatalf("files %v, %v", files, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, files[0].Key))
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(strings.NewReader(string(data)), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range pf.Schema().Fields() {
		names = append(names, f.Name())
	}
	var colNames []string
	for _, c := range got {
		colNames = append(colNames, c.Name)
	}
	if !slices.Equal(names, colNames) {
		t.Errorf("file columns %v, Columns() %v", names, colNames)
	}
}

func TestHoldings(t *testing.T) {
	dir := t.TempDir()
	w := openTest(t, dir, Options{})
	if err := w.Write(context.Background(), sample()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := OpenLake(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := l.Holdings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Holdings{
		Tables:   []string{"api_activity", "authentication", "detection_finding", "network_activity"},
		Regions:  []string{"eu-west-1"},
		Accounts: []string{"111122223333", "444455556666"},
		FirstDay: "20261103",
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("holdings %+v, want %+v", h, want)
	}
}

var held = Holdings{Tables: []string{"api_activity", "network_activity"}, Regions: []string{"eu-west-1", "us-east-1"},
	Accounts: []string{"044455556666", "111122223333"}, FirstDay: "20261103"}

func TestSchemaAthena(t *testing.T) {
	out, err := Schema(Athena, "s3://sec-lake/parapet/", held)
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	stmts := regexp.MustCompile("(?s)CREATE EXTERNAL TABLE IF NOT EXISTS `([a-z_]+)` \\(\n(.*?)\n\\)\nPARTITIONED BY \\(`region` string, `accountid` string, `eventday` string\\)\nSTORED AS PARQUET\nLOCATION '([^']+)'\nTBLPROPERTIES \\(\n(.*?)\n\\);").FindAllStringSubmatch(text, -1)
	if len(stmts) != len(Tables) {
		t.Fatalf("%d statements, want %d:\n%s", len(stmts), len(Tables), text)
	}
	col := regexp.MustCompile("^  `([a-z_]+)` ([a-z<>]+),?$")
	for i, m := range stmts {
		if m[1] != Tables[i] {
			t.Errorf("statement %d is for %s, want %s", i, m[1], Tables[i])
		}
		var cols []Column
		for _, line := range strings.Split(m[2], "\n") {
			c := col.FindStringSubmatch(line)
			if c == nil {
				t.Fatalf("column line %q", line)
			}
			cols = append(cols, Column{c[1], c[2]})
		}
		if want := rowColumns(t); !reflect.DeepEqual(cols, want) {
			t.Errorf("%s columns\n%v\nwant\n%v", m[1], cols, want)
		}
		if want := "s3://sec-lake/parapet/ext/" + m[1] + "/1.0/"; m[3] != want {
			t.Errorf("location %s, want %s", m[3], want)
		}
		for _, p := range []string{
			"'projection.enabled' = 'true'",
			"'projection.region.type' = 'enum'", "'projection.region.values' = 'eu-west-1,us-east-1'",
			"'projection.accountid.values' = '044455556666,111122223333'",
			"'projection.eventday.format' = 'yyyyMMdd'", "'projection.eventday.range' = '20261103,NOW'",
			"'storage.location.template' = 's3://sec-lake/parapet/ext/" + m[1] + "/1.0/region=${region}/accountId=${accountid}/eventDay=${eventday}/'",
		} {
			if !strings.Contains(m[4], p) {
				t.Errorf("%s properties lack %s:\n%s", m[1], p, m[4])
			}
		}
	}
	if strings.Contains(text, "local folder") {
		t.Error("an S3 lake noted as a local folder")
	}
	// A local lake is named as such; an empty one leaves values to queries.
	out, err = Schema(Athena, "some/lake", Holdings{})
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("some/lake")
	if !strings.HasPrefix(string(out), "-- "+filepath.ToSlash(abs)+" is a local folder") ||
		!strings.Contains(string(out), "'projection.accountid.type' = 'injected'") ||
		!strings.Contains(string(out), "LOCATION '"+filepath.ToSlash(abs)+"/ext/api_activity/1.0/'") {
		t.Errorf("local, empty lake:\n%s", out)
	}
}

func TestSchemaGlue(t *testing.T) {
	out, err := Schema(Glue, "s3://sec-lake/parapet", held)
	if err != nil {
		t.Fatal(err)
	}
	type column struct{ Name, Type string }
	var tables []struct {
		Name              string
		TableType         string
		Parameters        map[string]string
		PartitionKeys     []column
		StorageDescriptor struct {
			Columns                   []Column
			Location                  string
			InputFormat, OutputFormat string
			SerdeInfo                 struct{ SerializationLibrary string }
		}
	}
	if err := json.Unmarshal(out, &tables); err != nil {
		t.Fatal(err)
	}
	if len(tables) != len(Tables) {
		t.Fatalf("%d tables, want %d", len(tables), len(Tables))
	}
	for i, ti := range tables {
		if ti.Name != Tables[i] || ti.TableType != "EXTERNAL_TABLE" {
			t.Errorf("table %d: %s %s", i, ti.Name, ti.TableType)
		}
		if want := rowColumns(t); !reflect.DeepEqual(ti.StorageDescriptor.Columns, want) {
			t.Errorf("%s columns %v, want %v", ti.Name, ti.StorageDescriptor.Columns, want)
		}
		if want := []column{{"region", "string"}, {"accountid", "string"}, {"eventday", "string"}}; !reflect.DeepEqual(ti.PartitionKeys, want) {
			t.Errorf("%s partition keys %v", ti.Name, ti.PartitionKeys)
		}
		sd := ti.StorageDescriptor
		if sd.Location != "s3://sec-lake/parapet/ext/"+ti.Name+"/1.0/" ||
			sd.SerdeInfo.SerializationLibrary != "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" ||
			sd.InputFormat != "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat" {
			t.Errorf("%s storage %+v", ti.Name, sd)
		}
		if ti.Parameters["classification"] != "parquet" || ti.Parameters["projection.enabled"] != "true" ||
			ti.Parameters["projection.accountid.values"] != "044455556666,111122223333" {
			t.Errorf("%s parameters %v", ti.Name, ti.Parameters)
		}
	}
}

func TestSchemaDuckDB(t *testing.T) {
	out, err := Schema(DuckDB, "/srv/lake", held)
	if err != nil {
		t.Fatal(err)
	}
	want := "-- authentication: no files yet\n-- account_change: no files yet\n-- detection_finding: no files yet\n-- base_event: no files yet\n"
	var views []string
	var rest strings.Builder
	for _, line := range strings.SplitAfter(string(out), "\n") {
		if strings.HasPrefix(line, "CREATE OR REPLACE VIEW ") {
			views = append(views, line)
		} else {
			rest.WriteString(line)
		}
	}
	if rest.String() != want {
		t.Errorf("comments:\n%s\nwant\n%s", rest.String(), want)
	}
	if len(views) != len(Tables) ||
		views[0] != "CREATE OR REPLACE VIEW api_activity AS SELECT * FROM read_parquet('/srv/lake/ext/api_activity/1.0/*/*/*/*.parquet', hive_partitioning = true, hive_types_autocast = false, union_by_name = true);\n" ||
		!strings.HasPrefix(views[3], "CREATE OR REPLACE VIEW network_activity AS SELECT * FROM read_parquet('/srv/lake/ext/network_activity/1.0/*/*/*/*.parquet'") {
		t.Fatalf("views:\n%s", strings.Join(views, ""))
	}
	// A table without files: an empty view of every column, typed.
	empty := views[1]
	if !strings.HasPrefix(empty, "CREATE OR REPLACE VIEW authentication AS SELECT CAST(NULL AS TIMESTAMPTZ) AS \"time\", CAST(NULL AS INTEGER) AS \"class_uid\", ") ||
		!strings.Contains(empty, "CAST(NULL AS VARCHAR[]) AS \"resource_arns\"") || !strings.Contains(empty, "CAST(NULL AS BLOB) AS \"raw\"") ||
		!strings.HasSuffix(empty, "CAST(NULL AS VARCHAR) AS eventDay WHERE false;\n") || strings.Count(empty, "CAST(") != len(Columns())+3 {
		t.Errorf("empty view:\n%s", empty)
	}
	out, err = Schema(DuckDB, "s3://sec-lake/p", held)
	if err != nil || !strings.HasPrefix(string(out), "INSTALL httpfs; LOAD httpfs; INSTALL aws; LOAD aws;\n") || !strings.Contains(string(out), "read_parquet('s3://sec-lake/p/ext/api_activity/1.0/*/*/*/*.parquet'") {
		t.Errorf("s3 lake (%v):\n%s", err, out)
	}
}
