// Package duckdbtest reads what Parapet writes into its lake with DuckDB,
// an engine analysts bring: it is a module of its own so that DuckDB's cgo
// stays out of Parapet's build.
package duckdbtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/lake"
)

var t0 = time.Date(2026, 11, 3, 9, 30, 0, 0, time.UTC)

// call is an API call written for this test.
func call(i int, account, key, op string, at time.Time) event.Event {
	return event.Event{
		ID: fmt.Sprintf("evt-%05d", i), Time: at, Source: event.SourceCloudTrail, Class: event.ClassAPIActivity, Activity: 2,
		Cloud:     event.Cloud{Provider: "aws", Partition: "aws", Account: account, Region: "eu-west-1"},
		Actor:     event.Actor{Type: "IAMUser", ARN: "arn:aws:iam::" + account + ":user/ops", PrincipalID: "AIDAEXAMPLEOPS00001", AccessKeyID: key, Account: account},
		Src:       event.Endpoint{IP: netip.AddrFrom4([4]byte{198, 51, 100, byte(i % 250)})},
		API:       event.API{Service: "s3.amazonaws.com", Operation: op},
		Resources: []event.Resource{{Type: "AWS::S3::Bucket", UID: "arn:aws:s3:::data-" + account}},
		Raw:       event.Raw{Format: event.RawJSON, Data: fmt.Appendf(nil, `{"eventTime":%q,"eventID":"evt-%05d","eventName":%q}`, at.UTC().Format(time.RFC3339), i, op)},
	}
}

func TestDuckDBReadsTheLake(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := lake.Open(ctx, lake.Options{Path: dir, RollSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	ops := []string{"GetObject", "PutObject", "DeleteObject"}
	for i := range 3000 {
		account := []string{"111122223333", "044455556666"}[i%2] // a leading zero, kept as text
		key := fmt.Sprintf("AKIAEXAMPLE%09d", i%20)
		evs = append(evs, call(i, account, key, ops[i%3], t0.Add(time.Duration(i)*time.Minute)))
	}
	evs = append(evs, event.Event{
		ID: "flow-1", Time: t0, Source: event.SourceVPCFlow, Class: event.ClassNetworkActivity, Activity: 6,
		Cloud: event.Cloud{Provider: "aws", Account: "111122223333", Region: "eu-west-1"},
		Src:   event.Endpoint{IP: netip.MustParseAddr("10.0.0.9"), Port: 22}, Dst: event.Endpoint{IP: netip.MustParseAddr("203.0.113.5"), Port: 50000},
		Network: &event.Network{Protocol: 6, Bytes: 100, Packets: 1, Action: "REJECT"},
		Raw:     event.Raw{Format: event.RawFields, Data: []byte("2 111122223333 eni-1 10.0.0.9 203.0.113.5 22 50000 6 1 100 0 60 REJECT OK")},
	})
	wantRaw := map[string]string{}
	for _, e := range evs {
		wantRaw[e.ID] = string(e.Raw.Data)
	}
	if err := w.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, evs[:500]); err != nil { // offered again: no copies
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Files < 4 {
		t.Fatalf("stats %+v: want several files", st)
	}

	// The files the writer wrote, then the files compaction writes in
	// their place (dictionaries, rows by actor in each row group, zstd's
	// best level), read alike.
	check := func(stage string) {
		t.Helper()
		db, err := sql.Open("duckdb", "")
		if err != nil {
			t.Fatal(stage, err)
		}
		defer db.Close()
		src := fmt.Sprintf("read_parquet('%s', hive_partitioning = true, hive_types_autocast = false, union_by_name = true)", filepath.Join(dir, "**", "*.parquet"))
		one := func(q string, args ...any) any {
			t.Helper()
			var v any
			if err := db.QueryRowContext(ctx, fmt.Sprintf(q, src), args...).Scan(&v); err != nil {
				t.Fatalf("%s: %s: %v", stage, q, err)
			}
			return v
		}
		if n := one("select count(*) from %s"); n != int64(len(evs)) {
			t.Errorf(stage+": rows = %v, want %d", n, len(evs))
		}
		if n := one("select count(distinct event_uid) from %s"); n != int64(len(evs)) {
			t.Errorf(stage+": distinct ids = %v, want %d", n, len(evs))
		}
		// Promoted columns and partition keys filter as a hunter writes it.
		want := 0
		for i, e := range evs {
			if i < 3000 && e.Actor.AccessKeyID == "AKIAEXAMPLE000000007" && e.Cloud.Account == "044455556666" && e.API.Operation == "GetObject" && e.Time.UTC().Format("20060102") == "20261104" {
				want++
			}
		}
		got := one(`select count(*) from %s where access_key_id = 'AKIAEXAMPLE000000007' and accountId = '044455556666'
			and api_operation = 'GetObject' and eventDay = '20261104' and region = 'eu-west-1'`)
		if want == 0 || got != int64(want) {
			t.Errorf(stage+": filtered count = %v, want %d (> 0)", got, want)
		}
		if n := one("select count(*) from %s where list_contains(resource_arns, 'arn:aws:s3:::data-044455556666') and class_uid = 6003"); n != int64(1500) {
			t.Errorf(stage+": resource_arns filter = %v, want 1500", n)
		}
		// A CloudTrail call keeps its native record, from which Parapet makes
		// its OCSF again: its ocsf column is null; a flow record's is its
		// OCSF JSON.
		if op := one("select json_extract_string(decode(raw), '$.eventName') from %s where event_uid = 'evt-00004'"); op != "PutObject" {
			t.Errorf(stage+": raw JSON eventName = %v, want PutObject", op)
		}
		// The event id and time are stored once, in event_uid and time:
		// raw holds them empty, as raw_elided says, and the README's
		// expression gives the native record back byte for byte.
		if id := one("select json_extract_string(decode(raw), '$.eventID') from %s where event_uid = 'evt-00004'"); id != "" {
			t.Errorf(stage+": raw JSON eventID = %q, want it empty (in event_uid)", id)
		}
		if bits := one("select raw_elided from %s where event_uid = 'evt-00004'"); bits != int32(3) {
			t.Errorf(stage+": raw_elided = %v (%T), want 3", bits, bits)
		}
		rows, err := db.QueryContext(ctx, "select event_uid, "+nativeRecord+" from "+src)
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		n := 0
		for rows.Next() {
			var id, rec string
			if err := rows.Scan(&id, &rec); err != nil {
				t.Fatal(stage, err)
			}
			if n++; rec != wantRaw[id] {
				t.Errorf(stage+": the native record of %s = %s, want %s", id, rec, wantRaw[id])
			}
		}
		if err := rows.Err(); err != nil || n != len(evs) {
			t.Errorf("%s: %d native records, %v; want %d", stage, n, err, len(evs))
		}
		rows.Close()
		if n := one("select count(*) from %s where ocsf is not null and source = 'cloudtrail'"); n != int64(0) {
			t.Errorf(stage+": CloudTrail rows with an ocsf column = %v, want 0", n)
		}
		if c := one("select json_extract_string(ocsf, '$.class_uid') from %s where event_uid = 'flow-1'"); c != "4001" {
			t.Errorf(stage+": flow ocsf JSON class_uid = %v, want 4001", c)
		}
		if raw := one("select decode(raw) from %s where event_uid = 'flow-1'"); raw != "2 111122223333 eni-1 10.0.0.9 203.0.113.5 22 50000 6 1 100 0 60 REJECT OK" {
			t.Errorf(stage+": raw = %v", raw)
		}
		if ts, ok := one("select min(time) from %s").(time.Time); !ok || !ts.Equal(t0) {
			t.Errorf(stage+": min(time) = %v, want the TIMESTAMP %v", ts, t0)
		}
		if n := one("select count(*) from %s where class_uid = 4001 and src_ip = '10.0.0.9' and eventDay = '20261103'"); n != int64(1) {
			t.Errorf(stage+": network activity rows = %v, want 1", n)
		}
	}
	check("written")
	st, err := w.Compact(ctx, lake.CompactOptions{})
	if err != nil || st.FilesWritten == 0 {
		t.Fatalf("compact: %+v, %v", st, err)
	}
	check("compacted")
}
