package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/store"
)

// The lists of one account out of 50, in a SQLite store of 100,000
// findings and 10,000 incidents: with the account column's index, and
// without it (every row read).
func BenchmarkAccountFilter(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "p.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	const findings, incidents, accounts = 100_000, 10_000, 50
	account := func(i int) string { return fmt.Sprintf("%012d", 100000000000+i%accounts) }
	for i := range incidents {
		at := fmt.Sprintf("2026-11-%02dT%02d:%02d:00Z", 1+i%28, i%24, i%60)
		if _, err := tx.ExecContext(ctx, `INSERT INTO incidents (id, status, risk, first, last, updated, body, account) VALUES (?, 'open', ?, ?, ?, ?, ?, ?)`,
			fmt.Sprintf("inc-%d", i), float64(i%100), at, at, at, fmt.Sprintf(`{"id":"inc-%d","status":"open","account":%q,"title":"an incident of some length to make the body realistic"}`, i, account(i)), account(i)); err != nil {
			b.Fatal(err)
		}
	}
	for i := range findings {
		at := fmt.Sprintf("2026-11-%02dT%02d:%02d:%02dZ", 1+i%28, i%24, i%60, i%59)
		if _, err := tx.ExecContext(ctx, `INSERT INTO findings (id, incident_id, time, level, rule_id, created, body, account) VALUES (?, ?, ?, 'high', 'r', ?, ?, ?)`,
			fmt.Sprintf("f-%d", i), fmt.Sprintf("inc-%d", i%incidents), at, at,
			fmt.Sprintf(`{"id":"f-%d","title":"a finding with a body of a realistic size, its rule, its actor and its resources","cloud":{"provider":"aws","account":%q}}`, i, account(i)), account(i%incidents)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	one := []string{account(7)}
	run := func(b *testing.B) {
		b.Run("findings", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				fs, err := pipeline.FindFindings(ctx, db, pipeline.FindingFilter{Accounts: one, Limit: 100})
				if err != nil || len(fs) != 100 {
					b.Fatal(len(fs), err)
				}
			}
		})
		b.Run("incidents", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				incs, err := pipeline.FindIncidents(ctx, db, pipeline.IncidentFilter{Accounts: one, Limit: 100})
				if err != nil || len(incs) != 100 {
					b.Fatal(len(incs), err)
				}
			}
		})
	}
	b.Run("indexed", run)
	for _, q := range []string{`DROP INDEX findings_account`, `DROP INDEX incidents_account`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("unindexed", run)
}
