package duckdbtest

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/hunt"
	"github.com/parapet-sec/parapet/internal/lake"
)

// TestSchemaViewsAnswerAsHunt runs the DuckDB statements lake.Schema
// prints over a lake written here and checks that SQL over the views
// returns the events a CEL hunt returns.
func TestSchemaViewsAnswerAsHunt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := lake.Open(ctx, lake.Options{Path: dir, RollSize: 32 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	ops := []string{"GetObject", "PutBucketPolicy", "ListBuckets", "DeleteObject"}
	for i := range 2000 {
		account := []string{"111122223333", "044455556666"}[i%2]
		e := call(i, account, fmt.Sprintf("AKIAEXAMPLE%09d", i%7), ops[i%4], t0.Add(time.Duration(i)*7*time.Minute))
		if i%5 == 0 {
			e.Outcome, e.API.ErrorCode = event.OutcomeFailure, "AccessDenied"
		}
		if i%50 == 0 {
			e.Class, e.Activity, e.API.Service, e.API.Operation = event.ClassAuthentication, 1, "signin.amazonaws.com", "ConsoleLogin"
		}
		evs = append(evs, e)
	}
	if err := w.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	l, db := duckdbViews(t, ctx, dir)
	defer db.Close()

	cases := []struct{ name, table, sql, cel string }{
		{"one key's denied calls", "api_activity",
			`select event_uid from api_activity where access_key_id = 'AKIAEXAMPLE000000003' and error_code <> ''`,
			`access_key_id == "AKIAEXAMPLE000000003" && error_code != ""`},
		{"one account, one day, partition keys", "api_activity",
			`select event_uid from api_activity where accountid = '044455556666' and eventday = '20261104' and api_operation = 'PutBucketPolicy'`,
			`account_id == "044455556666" && string(time).startsWith("2026-11-04") && api_operation == "PutBucketPolicy"`},
		{"console logins, another table", "authentication",
			`select event_uid from authentication where region = 'eu-west-1' and list_contains(resource_arns, 'arn:aws:s3:::data-111122223333')`,
			`class_uid == 3002 && "arn:aws:s3:::data-111122223333" in resource_arns`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, err := db.QueryContext(ctx, c.sql)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				got = append(got, id)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			where, err := hunt.Compile(c.cel)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			if _, err := hunt.Run(ctx, l, hunt.Query{Where: where, Filter: lake.Filter{Tables: []string{c.table}}}, func(ev *event.Event, _ []detect.Finding) error {
				want = append(want, ev.ID)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			slices.Sort(want)
			if len(want) == 0 || !slices.Equal(got, want) {
				t.Errorf("SQL returned %d events, hunt %d (want the same, > 0)\nsql  %s\nhunt %s",
					len(got), len(want), strings.Join(got, ","), strings.Join(want, ","))
			}
		})
	}
	// The hunt over every table finds the console logins the api_activity
	// view leaves out.
	var all int
	where, _ := hunt.Compile(`access_key_id == "AKIAEXAMPLE000000003" && error_code != ""`)
	if _, err := hunt.Run(ctx, l, hunt.Query{Where: where}, func(*event.Event, []detect.Finding) error { all++; return nil }); err != nil {
		t.Fatal(err)
	}
	var inViews int
	if err := db.QueryRowContext(ctx, `select count(*) from (select event_uid from api_activity where access_key_id = 'AKIAEXAMPLE000000003' and error_code <> ''
		union all select event_uid from authentication where access_key_id = 'AKIAEXAMPLE000000003' and error_code <> '')`).Scan(&inViews); err != nil {
		t.Fatal(err)
	}
	if inViews != all || all == 0 {
		t.Errorf("both views: %d events, hunt over the lake: %d", inViews, all)
	}
	// A table without files is an empty view of the same columns: a
	// query over every table works.
	var n int
	if err := db.QueryRowContext(ctx, `select count(*) from (select * from api_activity union all select * from account_change
		union all select * from authentication union all select * from detection_finding) where access_key_id = 'AKIAEXAMPLE000000003'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	h, err := l.Holdings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || slices.Contains(h.Tables, "account_change") {
		t.Errorf("union over every table: %d rows (holdings %v)", n, h.Tables)
	}
}

// duckdbViews opens the lake at dir and a DuckDB database holding the
// views parapet lake schema --duckdb prints for it.
func duckdbViews(t *testing.T, ctx context.Context, dir string) (*lake.Lake, *sql.DB) {
	t.Helper()
	l, err := lake.OpenLake(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := l.Holdings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ddl, err := lake.Schema(lake.DuckDB, dir, h)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, string(ddl)); err != nil {
		db.Close()
		t.Fatalf("%v:\n%s", err, ddl)
	}
	return l, db
}
