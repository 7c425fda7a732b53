package duckdbtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/lake"
)

// TestDuckDBReadsALargeFile: a written file of several row groups whose
// columns span several pages (records of 1.5 KB, pages of 1 MiB), with
// flow records (an ocsf column) and calls with 0 to 3 resources, reads
// in DuckDB as written.
func TestDuckDBReadsALargeFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := lake.Open(ctx, lake.Options{Path: dir, RollSize: 1 << 30, RollAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	const n = 40_000
	var evs []event.Event
	resources, flows, marked := 0, 0, 0
	for i := range n {
		at := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		if i%97 == 0 {
			flows++
			evs = append(evs, event.Event{
				ID: fmt.Sprintf("flow-%05d", i), Time: at, Source: event.SourceVPCFlow, Class: event.ClassNetworkActivity, Activity: 6,
				Cloud: event.Cloud{Provider: "aws", Account: "111122223333", Region: "eu-west-1"},
				Src:   event.Endpoint{IP: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), Port: 22}, Dst: event.Endpoint{IP: netip.MustParseAddr("203.0.113.5"), Port: 50000},
				Network: &event.Network{Protocol: 6, Bytes: 100, Packets: 1, Action: "REJECT"},
				Raw:     event.Raw{Format: event.RawFields, Data: fmt.Appendf(nil, "2 111122223333 eni-%d 10.0.0.9 203.0.113.5 22 50000 6 1 100 0 60 REJECT OK", i)},
			})
			continue
		}
		e := call(i, "111122223333", fmt.Sprintf("AKIAEXAMPLE%09d", i%500), []string{"GetObject", "PutObject", "DeleteObject", "Ünïcode\"Op"}[i%4], at)
		e.ID = fmt.Sprintf("evt-%06d", i)
		e.Resources = nil
		for j := range i % 4 {
			e.Resources = append(e.Resources, event.Resource{Type: "AWS::S3::Object", UID: fmt.Sprintf("arn:aws:s3:::b-%d/k-%d-%d", i%7, i, j)})
		}
		resources += i % 4
		pad := strings.Repeat(fmt.Sprintf("%x", i*7919), 1500/8)
		mark := ""
		if i%1000 == 3 {
			mark = "needle"
			marked++
		}
		e.Raw.Data = fmt.Appendf(nil, `{"eventTime":%q,"eventID":%q,"eventName":"x","pad":%q,"m":%q}`, at.UTC().Format(time.RFC3339), e.ID, pad, mark)
		evs = append(evs, e)
	}
	if err := w.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Files != 2 {
		t.Fatalf("stats %+v: want two files (the calls', the flows')", st)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	src := fmt.Sprintf("read_parquet('%s')", filepath.Join(dir, "**", "*.parquet"))
	meta := fmt.Sprintf("parquet_metadata('%s')", filepath.Join(dir, "**", "*.parquet"))
	one := func(q string) any {
		t.Helper()
		var v any
		if err := db.QueryRowContext(ctx, strings.ReplaceAll(strings.ReplaceAll(q, "$src", src), "$meta", meta)).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return v
	}
	if g := one("select count(distinct row_group_id) from $meta"); g.(int64) < 2 {
		t.Fatalf("row groups = %v, want several", g)
	}
	if s := one("select max(total_uncompressed_size) from $meta where path_in_schema = 'raw'"); s.(int64) < 2<<20 {
		t.Fatalf("raw chunks of %v bytes at most, want several pages", s)
	}
	for q, want := range map[string]any{
		"select count(*) from $src":                                                    int64(n),
		"select count(distinct event_uid) from $src":                                   int64(n),
		"select count(ocsf) from $src":                                                 int64(flows),
		"select count(*) from $src where source = 'vpcflow'":                           int64(flows),
		"select sum(len(resource_arns)) from $src":                                     float64(resources),
		"select count(*) from $src where len(resource_arns) = 0":                       int64(flows + (n-flows)/4),
		"select count(*) from $src where api_operation = 'Ünïcode\"Op'":                int64(countOp(evs, "Ünïcode\"Op")),
		"select count(*) from $src where access_key_id = 'AKIAEXAMPLE000000007'":       int64(countKey(evs, "AKIAEXAMPLE000000007")),
		"select count(*) from $src where contains(decode(raw), '\"m\":\"needle\"')":    int64(marked),
		"select epoch_ms(max(time)) - epoch_ms(min(time)) from $src":                   int64((n - 1) * 100),
		"select count(*) from $src where resource_arns[1] = 'arn:aws:s3:::b-3/k-10-0'": int64(1),
	} {
		if got := one(q); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", q, got, want)
		}
	}
}

func countOp(evs []event.Event, op string) int {
	n := 0
	for _, e := range evs {
		if e.API.Operation == op {
			n++
		}
	}
	return n
}

func countKey(evs []event.Event, key string) int {
	n := 0
	for _, e := range evs {
		if e.Actor.AccessKeyID == key {
			n++
		}
	}
	return n
}
