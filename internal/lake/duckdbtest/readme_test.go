package duckdbtest

import (
	"context"
	"fmt"
	"testing"

	"github.com/parapet-sec/parapet/internal/decode/ocsfparquet/ocsftest"
	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/ingest/file"
	"github.com/parapet-sec/parapet/internal/lake"
)

// The README's three hunting queries (data lake section), in DuckDB's
// dialect.
const q1 = `SELECT time, class_name, api_service, api_operation, error_code, src_ip, resource_arns
FROM (SELECT * FROM api_activity UNION ALL SELECT * FROM account_change UNION ALL SELECT * FROM authentication)
WHERE access_key_id = 'AKIAEXAMPLEALICE0001' AND eventday >= '20260805'
ORDER BY time`

const q2 = `SELECT actor_arn, count(*) AS logins, min(time) AS first_seen, max(time) AS last_seen
FROM authentication
WHERE api_operation = 'ConsoleLogin' AND status_id = 1
  AND json_extract_string(decode(raw), '$.additionalEventData.MFAUsed') = 'No'
GROUP BY actor_arn
ORDER BY logins DESC`

const q3 = `SELECT src_ip, api_service, api_operation, count(*) AS denied
FROM (SELECT * FROM api_activity UNION ALL SELECT * FROM account_change)
WHERE error_code LIKE '%AccessDenied%' OR error_code LIKE '%UnauthorizedOperation%'
GROUP BY 1, 2, 3
ORDER BY denied DESC
LIMIT 20`

// nativeRecord is the README's expression (data lake section) of a row's
// native record as its source wrote it: raw, with the CloudTrail event id
// and time raw_elided says were cut put back from event_uid and time.
const nativeRecord = `CASE WHEN raw_elided IS NULL OR raw_elided = 0 THEN decode(raw) ELSE
  replace(replace(decode(raw),
    '"eventID":""', '"eventID":"' || CASE WHEN raw_elided & 1 = 1 THEN event_uid ELSE '' END || '"'),
    '"eventTime":""', '"eventTime":"' || CASE WHEN raw_elided & 2 = 2 THEN strftime(time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ') ELSE '' END || '"')
END`

// TestReadmeQueries: Security Lake's OCSF Parquet, imported into the
// lake, answers the README's three hunting queries through the views
// lake.Schema prints.
func TestReadmeQueries(t *testing.T) {
	ctx := context.Background()
	src, dir := t.TempDir(), t.TempDir()
	if _, err := ocsftest.WriteLake(src); err != nil {
		t.Fatal(err)
	}
	ins, err := file.Inputs([]string{src}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := lake.Open(ctx, lake.Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	st, err := ingest.Run(ctx, ins, ingest.Options{}, func(b *ingest.Batch) error { return w.Write(ctx, b.Events) })
	if err != nil || st.Events != 8 || st.Bad() {
		t.Fatalf("import: %v, %+v", err, st)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, db := duckdbViews(t, ctx, dir)
	defer db.Close()
	for _, c := range []struct {
		q    string
		want [][]string // the first columns of each row
	}{
		{q1, [][]string{{"2026-11-03 09:30:00 +0000 UTC", "Account Change", "iam.amazonaws.com", "AttachUserPolicy", ""},
			{"2026-11-03 09:31:00 +0000 UTC", "Account Change", "iam.amazonaws.com", "AttachUserPolicy", ""},
			{"2026-11-03 09:32:00 +0000 UTC", "Account Change", "iam.amazonaws.com", "AttachUserPolicy", "AccessDenied"}}},
		{q2, [][]string{{"arn:aws:iam::111122223333:user/alice", "1"}}},
		{q3, [][]string{{"203.0.113.10", "iam.amazonaws.com", "AttachUserPolicy", "1"}}},
	} {
		rows, err := db.QueryContext(ctx, c.q)
		if err != nil {
			t.Fatalf("%v\n%s", err, c.q)
		}
		cols, _ := rows.Columns()
		var got [][]string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var row []string
			for _, v := range vals[:len(c.want[0])] {
				row = append(row, fmt.Sprint(v))
			}
			got = append(got, row)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s\ngot  %v\nwant %v", c.q, got, c.want)
		}
	}
}
