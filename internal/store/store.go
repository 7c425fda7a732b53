// Package store keeps what Parapet must remember between runs: the audit
// trail, approvals, the actions already taken (idempotency), the playbooks
// each finding triggered, and the snapshots of resources Parapet read
// itself (what restores come from). SQLite (modernc.org/sqlite, pure Go)
// in WAL mode.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver "pgx"
	_ "modernc.org/sqlite"             // the database/sql driver "sqlite"

	"github.com/parapet-sec/parapet/internal/redact"
)

// DB is an open store: SQLite by default, PostgreSQL for a postgres://
// URL. The same SQL serves both: written for SQLite with ? placeholders,
// rewritten for PostgreSQL by the methods below (placeholders, INSERT OR
// IGNORE, rowid, json_extract).
type DB struct {
	*sql.DB
	Path     string
	Postgres bool
}

// DefaultPath is where the store lives when no --db is given.
const DefaultPath = "parapet-data/parapet.db"

const schema = `
CREATE TABLE IF NOT EXISTS audit (
	seq  INTEGER PRIMARY KEY,
	body TEXT NOT NULL,
	hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS approvals (
	id         TEXT PRIMARY KEY,
	finding_id TEXT NOT NULL,
	playbook   TEXT NOT NULL,
	created    TEXT NOT NULL,
	expires    TEXT NOT NULL,
	on_timeout TEXT NOT NULL,
	approvers  TEXT NOT NULL,
	status     TEXT NOT NULL,
	decided_by TEXT,
	decided_at TEXT,
	comment    TEXT,
	finding    TEXT NOT NULL,
	plan       TEXT NOT NULL,
	requested_by TEXT,
	run_id     TEXT
);
CREATE TABLE IF NOT EXISTS guard_events (
	kind   TEXT NOT NULL,
	scope  TEXT NOT NULL,
	target TEXT NOT NULL,
	at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS guard_events_scope ON guard_events (kind, scope, at);
CREATE INDEX IF NOT EXISTS guard_events_at ON guard_events (at);
CREATE TABLE IF NOT EXISTS playbook_runs (
	id           TEXT PRIMARY KEY,
	finding_id   TEXT NOT NULL,
	playbook     TEXT NOT NULL,
	status       TEXT NOT NULL,
	requested_by TEXT NOT NULL,
	started      TEXT NOT NULL,
	updated      TEXT NOT NULL,
	body         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS playbook_runs_finding ON playbook_runs (finding_id);
CREATE INDEX IF NOT EXISTS playbook_runs_started ON playbook_runs (started);
CREATE TABLE IF NOT EXISTS executions (
	key      TEXT PRIMARY KEY,
	at       TEXT NOT NULL,
	outcome  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
	kind     TEXT NOT NULL,
	resource TEXT NOT NULL,
	hash     TEXT NOT NULL,
	state    TEXT NOT NULL,
	problem  INTEGER NOT NULL,
	source   TEXT NOT NULL,
	first_at TEXT NOT NULL,
	at       TEXT NOT NULL,
	PRIMARY KEY (kind, resource, hash)
);
CREATE TABLE IF NOT EXISTS triggers (
	finding_id TEXT NOT NULL,
	playbook   TEXT NOT NULL,
	run_id     TEXT NOT NULL,
	at         TEXT NOT NULL,
	PRIMARY KEY (finding_id, playbook)
);
`

// IsPostgres says whether a --db value names PostgreSQL.
func IsPostgres(path string) bool {
	return strings.HasPrefix(path, "postgres://") || strings.HasPrefix(path, "postgresql://")
}

// Open opens (creating it and its folder if needed) the store at path: a
// SQLite file, or a postgres:// URL.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		path = DefaultPath
	}
	if IsPostgres(path) {
		db, err := sql.Open("pgx", path)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(8)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("postgres: %w", err)
		}
		if _, err := db.ExecContext(ctx, pgSchema(schema+serveSchema)); err != nil {
			db.Close()
			return nil, fmt.Errorf("postgres: %w", err)
		}
		d := &DB{DB: db, Path: redact.URL(path), Postgres: true}
		if err := d.migrate(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("postgres: %w", err)
		}
		return d, nil
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one writer: SQLite's model, and the audit chain's order
	if _, err := db.ExecContext(ctx, schema+serveSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	d := &DB{DB: db, Path: path}
	if err := d.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// columns added since a table was first created: a store made by an
// earlier version gains them when it is opened.
var columns = []struct{ table, column, def string }{
	{"findings", "account", "TEXT NOT NULL DEFAULT ''"},
	{"incidents", "account", "TEXT NOT NULL DEFAULT ''"},
	{"approvals", "requested_by", "TEXT"},
	{"approvals", "run_id", "TEXT"},
	{"approvals", "fold_key", "TEXT"},
	{"approvals", "repeats", "INTEGER NOT NULL DEFAULT 1"},
	{"approvals", "folded", "TEXT"},
	{"tokens", "last_used", "TEXT"},
	{"tokens", "revoked", "TEXT"},
	{"intake", "done", "INTEGER NOT NULL DEFAULT 0"},
	{"intake", "laked", "INTEGER NOT NULL DEFAULT 0"},
}

func (db *DB) migrate(ctx context.Context) error {
	for _, c := range columns {
		// A column that is there answers a query that names it.
		rows, err := db.DB.QueryContext(ctx, "SELECT "+c.column+" FROM "+c.table+" WHERE 1 = 0")
		if err == nil {
			rows.Close()
			continue
		}
		if _, err := db.DB.ExecContext(ctx, "ALTER TABLE "+c.table+" ADD COLUMN "+c.column+" "+c.def); err != nil {
			return fmt.Errorf("adding %s.%s: %w", c.table, c.column, err)
		}
		if fill, ok := backfill[c.table+"."+c.column]; ok {
			if err := db.fill(ctx, c.table, c.column, fill); err != nil {
				return fmt.Errorf("filling %s.%s: %w", c.table, c.column, err)
			}
		}
	}
	// Indexes on added columns: after the columns exist.
	for _, ix := range indexes {
		if _, err := db.DB.ExecContext(ctx, ix); err != nil {
			return fmt.Errorf("index: %w", err)
		}
	}
	return nil
}

// backfill fills a column added to a store made by an earlier version
// from each row's body: the value of a JSON path.
var backfill = map[string][]string{
	"findings.account":  {"cloud", "account"},
	"incidents.account": {"account"},
}

// fill sets column to the string at path in each row's JSON body, in one
// transaction; a body that is not JSON, or has no string there, leaves
// the column's default.
func (db *DB) fill(ctx context.Context, table, column string, path []string) error {
	rows, err := db.QueryContext(ctx, `SELECT id, body FROM `+table)
	if err != nil {
		return err
	}
	type set struct{ id, value string }
	var sets []set
	for rows.Next() {
		var id, body string
		if err := rows.Scan(&id, &body); err != nil {
			rows.Close()
			return err
		}
		var v any
		if json.Unmarshal([]byte(body), &v) != nil {
			continue
		}
		for _, k := range path {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		if s, ok := v.(string); ok && s != "" {
			sets = append(sets, set{id, s})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, s := range sets {
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET `+column+` = ? WHERE id = ?`, s.value, s.id); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// indexes made once every column exists.
var indexes = []string{
	`CREATE INDEX IF NOT EXISTS findings_account ON findings (account, time, incident_id)`,
	`CREATE INDEX IF NOT EXISTS incidents_account ON incidents (account, last)`,
}

// pgSchema turns the SQLite schema into PostgreSQL's.
func pgSchema(s string) string {
	r := strings.NewReplacer(
		"INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY",
		"seq  INTEGER PRIMARY KEY", "seq  BIGINT PRIMARY KEY",
		"BLOB", "BYTEA",
		"REAL", "DOUBLE PRECISION",
	)
	return r.Replace(s)
}

var (
	jsonExtract = regexp.MustCompile(`json_extract\(([a-z_.]+), '\$\.([a-z_]+)'\)`)
	rowid       = regexp.MustCompile(`\browid\b`)
)

// Rebind rewrites a query for the store's database.
func (db *DB) Rebind(q string) string {
	if !db.Postgres {
		return q
	}
	if strings.Contains(q, "INSERT OR IGNORE INTO") {
		q = strings.Replace(q, "INSERT OR IGNORE INTO", "INSERT INTO", 1) + " ON CONFLICT DO NOTHING"
	}
	q = jsonExtract.ReplaceAllString(q, "($1::jsonb->>'$2')")
	q = rowid.ReplaceAllString(q, "seq")
	var b strings.Builder
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// ExecContext runs a statement written for SQLite on either database.
func (db *DB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.DB.ExecContext(ctx, db.Rebind(q), args...)
}

// QueryContext runs a query written for SQLite on either database.
func (db *DB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.DB.QueryContext(ctx, db.Rebind(q), args...)
}

// QueryRowContext runs a one-row query written for SQLite on either
// database.
func (db *DB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return db.DB.QueryRowContext(ctx, db.Rebind(q), args...)
}

// Tx is a transaction whose statements are rewritten as DB's are.
type Tx struct {
	*sql.Tx
	db *DB
}

// BeginTx starts a transaction.
func (db *DB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	tx, err := db.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Tx{Tx: tx, db: db}, nil
}

// ExecContext runs a statement in the transaction.
func (tx *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.Tx.ExecContext(ctx, tx.db.Rebind(q), args...)
}

// QueryContext runs a query in the transaction.
func (tx *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.Tx.QueryContext(ctx, tx.db.Rebind(q), args...)
}

// QueryRowContext runs a one-row query in the transaction.
func (tx *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.Tx.QueryRowContext(ctx, tx.db.Rebind(q), args...)
}

// In is the condition "col IN (?, ?, …)" for values, with its arguments
// (values must not be empty: "IN ()" is no SQL).
func In(col string, values []string) (string, []any) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ") + ")", args
}
