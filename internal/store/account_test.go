package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/pgtest"
	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/store"
)

// A store made before findings and incidents had an account column gains
// it, filled from the rows' bodies, with its index, on SQLite and on
// PostgreSQL; the filters then read it. An incident is listed for the
// account it opened in and for the accounts of its findings.
func TestAccountColumnMigration(t *testing.T) {
	backends := map[string]struct {
		driver string
		path   func(t *testing.T) string
	}{
		"sqlite":   {"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "old.db") }},
		"postgres": {"pgx", func(t *testing.T) string { return pgtest.URL(t) }},
	}
	for name, b := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			path := b.path(t)
			raw, err := sql.Open(b.driver, path)
			if err != nil {
				t.Fatal(err)
			}
			// The tables as an earlier version made them, with its rows.
			for _, q := range []string{
				`CREATE TABLE findings (id TEXT PRIMARY KEY, incident_id TEXT NOT NULL, time TEXT NOT NULL, level TEXT NOT NULL, rule_id TEXT NOT NULL, created TEXT NOT NULL, body TEXT NOT NULL)`,
				`CREATE TABLE incidents (id TEXT PRIMARY KEY, status TEXT NOT NULL, risk REAL NOT NULL, first TEXT NOT NULL, last TEXT NOT NULL, updated TEXT NOT NULL, body TEXT NOT NULL)`,
				`INSERT INTO findings VALUES ('f-a', 'inc-a', '2026-12-01T10:00:00Z', 'high', 'r', '2026-12-01T10:00:00Z', '{"id":"f-a","cloud":{"provider":"aws","account":"111122223333"}}')`,
				`INSERT INTO findings VALUES ('f-b', 'inc-a', '2026-12-01T10:01:00Z', 'high', 'r', '2026-12-01T10:01:00Z', '{"id":"f-b","cloud":{"provider":"aws","account":"444455556666"}}')`,
				`INSERT INTO findings VALUES ('f-c', 'inc-c', '2026-12-01T10:02:00Z', 'low', 'r', '2026-12-01T10:02:00Z', '{"id":"f-c","cloud":{"provider":"aws","account":"1111222233334"}}')`,
				`INSERT INTO findings VALUES ('f-none', '', '2026-12-01T10:03:00Z', 'low', 'r', '2026-12-01T10:03:00Z', '{"id":"f-none"}')`,
				`INSERT INTO findings VALUES ('f-torn', '', '2026-12-01T10:04:00Z', 'low', 'r', '2026-12-01T10:04:00Z', '{"id":"f-torn","cloud":{"acc')`,
				`INSERT INTO findings VALUES ('f-odd', '', '2026-12-01T10:05:00Z', 'low', 'r', '2026-12-01T10:05:00Z', '{"id":"f-odd","cloud":{"account":12}}')`,
				`INSERT INTO incidents VALUES ('inc-a', 'open', 50, '2026-12-01T10:00:00Z', '2026-12-01T10:01:00Z', '2026-12-01T10:01:00Z', '{"id":"inc-a","status":"open","account":"111122223333"}')`,
				`INSERT INTO incidents VALUES ('inc-c', 'open', 20, '2026-12-01T10:02:00Z', '2026-12-01T10:02:00Z', '2026-12-01T10:02:00Z', '{"id":"inc-c","status":"open","account":"1111222233334"}')`,
			} {
				if _, err := raw.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			raw.Close()
			db, err := store.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			accounts := func(table string) string {
				rows, err := db.QueryContext(ctx, `SELECT id, account FROM `+table+` ORDER BY id`)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var out []string
				for rows.Next() {
					var id, a string
					if err := rows.Scan(&id, &a); err != nil {
						t.Fatal(err)
					}
					out = append(out, id+"="+a)
				}
				return strings.Join(out, " ")
			}
			// A body that is not JSON (torn) or holds no string there (odd)
			// is left without an account, and the store opens.
			if got := accounts("findings"); got != "f-a=111122223333 f-b=444455556666 f-c=1111222233334 f-none= f-odd= f-torn=" {
				t.Errorf("findings' accounts: %s", got)
			}
			if got := accounts("incidents"); got != "inc-a=111122223333 inc-c=1111222233334" {
				t.Errorf("incidents' accounts: %s", got)
			}
			// Opened again: nothing to add, nothing refilled.
			if _, err := db.ExecContext(ctx, `UPDATE findings SET account = 'kept' WHERE id = 'f-none'`); err != nil {
				t.Fatal(err)
			}
			again, err := store.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			again.Close()
			if got := accounts("findings"); !strings.Contains(got, "f-none=kept") {
				t.Errorf("reopened: %s", got)
			}
			// The index the filters use.
			var n int
			q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN ('findings_account', 'incidents_account')`
			if db.Postgres {
				q = `SELECT COUNT(*) FROM pg_indexes WHERE indexname IN ('findings_account', 'incidents_account')`
			}
			if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil || n != 2 {
				t.Errorf("account indexes: %d %v", n, err)
			}
			for _, tc := range []struct {
				accounts  []string
				incidents string
				findings  string
			}{
				{[]string{"111122223333"}, "inc-a", "f-a"},
				{[]string{"444455556666"}, "inc-a", "f-b"}, // a finding of inc-a is there
				{[]string{"1111222233334"}, "inc-c", "f-c"},
				{[]string{"11112222333"}, "", ""},  // a prefix: nothing
				{[]string{""}, "", "f-odd f-torn"}, // f-none is "kept" by now
				{[]string{"111122223333", "1111222233334"}, "inc-a inc-c", "f-a f-c"},
			} {
				incs, err := pipeline.FindIncidents(ctx, db, pipeline.IncidentFilter{Accounts: tc.accounts})
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, in := range incs {
					ids = append(ids, in.ID)
				}
				if got := strings.Join(sorted(ids), " "); got != tc.incidents {
					t.Errorf("FindIncidents(%v) = %s, want %s", tc.accounts, got, tc.incidents)
				}
				fs, err := pipeline.FindFindings(ctx, db, pipeline.FindingFilter{Accounts: tc.accounts})
				if err != nil {
					t.Fatal(err)
				}
				ids = ids[:0]
				for _, f := range fs {
					if !strings.Contains(string(f.Body), f.Account) {
						t.Errorf("finding %s: account %s", f.Body, f.Account)
					}
					ids = append(ids, strings.SplitN(strings.TrimPrefix(string(f.Body), `{"id":"`), `"`, 2)[0])
				}
				if got := strings.Join(sorted(ids), " "); got != tc.findings {
					t.Errorf("FindFindings(%v) = %s, want %s", tc.accounts, got, tc.findings)
				}
			}
		})
	}
}

func sorted(s []string) []string { slices.Sort(s); return s }
