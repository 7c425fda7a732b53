// Package store keeps what Parapet must remember between runs: the audit
// trail, approvals, the actions already taken (idempotency), and observed
// resource history (bucket policies). SQLite (modernc.org/sqlite, pure Go)
// in WAL mode.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// DB is an open store.
type DB struct {
	*sql.DB
	Path string
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
	plan       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS executions (
	key      TEXT PRIMARY KEY,
	at       TEXT NOT NULL,
	outcome  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bucket_policies (
	bucket   TEXT NOT NULL,
	at       TEXT NOT NULL,
	event_id TEXT NOT NULL,
	policy   TEXT NOT NULL,
	PRIMARY KEY (bucket, event_id)
);
`

// Open opens (creating it and its folder if needed) the store at path.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		path = DefaultPath
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one writer: SQLite's model, and the audit chain's order
	if _, err := db.ExecContext(ctx, schema+serveSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &DB{DB: db, Path: path}, nil
}
