package lake

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

func TestZZFooter(t *testing.T) {
	dir := os.Getenv("PARAPET_LAKESIZE_DIR")
	if dir == "" {
		t.Skip()
	}
	ctx := context.Background()
	l, _ := OpenLake(ctx, dir, nil)
	files, _ := l.Files(ctx, Filter{})
	rows, err := l.ReadFile(ctx, files[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	data, err := coldFormat.encode(rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	pf, _ := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	md := pf.Metadata()
	var p thrift.CompactProtocol
	sz := func(v any) int { b, _ := thrift.Marshal(&p, v); return len(b) }
	fmt.Printf("rows %d file %d footer %d schema %d rowgroups %d kv %d\n", len(rows), len(data), sz(md), sz(md.Schema), sz(md.RowGroups), sz(md.KeyValueMetadata))
	for _, cc := range md.RowGroups[0].Columns {
		m := cc.MetaData
		st := sz(m.Statistics)
		m2 := m
		m2.Statistics = format.Statistics{}
		fmt.Printf("%-20s chunk %4d meta %4d stats %4d encstats %3d  ci %4d oi %4d\n", m.PathInSchema[0], sz(cc), sz(m), st, sz(m.EncodingStats), cc.ColumnIndexLength, cc.OffsetIndexLength)
	}
	fmt.Printf("%+v\n", md.RowGroups[0].Columns[7].MetaData)
	fmt.Printf("%+v\n", md.RowGroups[0].SortingColumns)
}
