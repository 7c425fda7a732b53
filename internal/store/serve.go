package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// What parapet serve keeps: API tokens (hashed), the intake spool
// (bodies acknowledged but not yet processed), findings, incidents and
// source checkpoints.
const serveSchema = `
CREATE TABLE IF NOT EXISTS tokens (
	id      TEXT PRIMARY KEY,
	hash    TEXT NOT NULL UNIQUE,
	role    TEXT NOT NULL,
	name    TEXT NOT NULL,
	created TEXT NOT NULL,
	last_used TEXT,
	revoked TEXT
);
CREATE TABLE IF NOT EXISTS intake (
	seq      INTEGER PRIMARY KEY AUTOINCREMENT,
	source   TEXT NOT NULL,
	received TEXT NOT NULL,
	body     BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS findings (
	id          TEXT PRIMARY KEY,
	incident_id TEXT NOT NULL,
	time        TEXT NOT NULL,
	level       TEXT NOT NULL,
	rule_id     TEXT NOT NULL,
	created     TEXT NOT NULL,
	body        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_incident ON findings (incident_id);
CREATE TABLE IF NOT EXISTS incidents (
	id       TEXT PRIMARY KEY,
	status   TEXT NOT NULL,
	risk     REAL NOT NULL,
	first    TEXT NOT NULL,
	last     TEXT NOT NULL,
	updated  TEXT NOT NULL,
	body     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_last ON incidents (last);
CREATE TABLE IF NOT EXISTS suppressions (
	id      TEXT PRIMARY KEY,
	expires TEXT NOT NULL,
	body    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS posture_runs (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	at     TEXT NOT NULL,
	target TEXT NOT NULL,
	body   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
	id   TEXT PRIMARY KEY,
	body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS resource_changes (
	key  TEXT PRIMARY KEY,
	at   TEXT NOT NULL,
	body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
	source TEXT NOT NULL,
	key    TEXT NOT NULL,
	value  TEXT NOT NULL,
	PRIMARY KEY (source, key)
);
`

// Roles, weakest first: each may do what the ones before it may.
var Roles = []string{"viewer", "analyst", "approver", "admin"}

// RoleIngest is outside that order: it may post telemetry and nothing
// else (a Firehose access key, a log shipper). Analysts and above may
// post telemetry too.
const RoleIngest = "ingest"

// RoleRank orders roles; -1 for an unknown one and for ingest.
func RoleRank(role string) int {
	for i, r := range Roles {
		if r == role {
			return i
		}
	}
	return -1
}

// ValidRole says whether a token may have the role.
func ValidRole(role string) bool { return role == RoleIngest || RoleRank(role) >= 0 }

// Allows says whether a token of role have may use what needs role need.
func Allows(have, need string) bool {
	if need == RoleIngest {
		return have == RoleIngest || RoleRank(have) >= RoleRank("analyst")
	}
	return RoleRank(have) >= 0 && RoleRank(have) >= RoleRank(need)
}

// Token is an API token's record (never the token itself, nor its hash).
type Token struct {
	ID       string     `json:"id"`
	Role     string     `json:"role"`
	Name     string     `json:"name"`
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"last_used"`
	Revoked  *time.Time `json:"revoked"`
}

// ErrNoToken is a token that is not (or no longer) known.
var ErrNoToken = errors.New("unknown token")

func tokenHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// CreateToken makes a token for a role and returns it: the only time it is
// seen, since only its hash is kept.
func (db *DB) CreateToken(ctx context.Context, role, name string) (string, Token, error) {
	if !ValidRole(role) {
		return "", Token{}, fmt.Errorf("role %q: want one of ingest, viewer, analyst, approver, admin", role)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Token{}, err
	}
	secret := "ppt_" + base64.RawURLEncoding.EncodeToString(b[:])
	h := tokenHash(secret)
	t := Token{ID: h[:12], Role: role, Name: name, Created: time.Now().UTC()}
	_, err := db.ExecContext(ctx, `INSERT INTO tokens (id, hash, role, name, created) VALUES (?, ?, ?, ?, ?)`,
		t.ID, h, role, name, t.Created.Format(time.RFC3339))
	return secret, t, err
}

// LookupToken finds the live (unrevoked) token a secret is, and notes
// that it was used (at most once a minute).
func (db *DB) LookupToken(ctx context.Context, secret string) (Token, error) {
	return db.token(ctx, `hash = ?`, tokenHash(secret))
}

// TokenByID finds a live token by its id (a session's re-check).
func (db *DB) TokenByID(ctx context.Context, id string) (Token, error) {
	return db.token(ctx, `id = ?`, id)
}

const tokenColumns = `id, role, name, created, last_used, revoked`

func (db *DB) token(ctx context.Context, where string, arg string) (Token, error) {
	t, err := scanToken(db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE revoked IS NULL AND `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNoToken
	}
	if err != nil {
		return t, err
	}
	now := time.Now().UTC()
	if t.LastUsed == nil || now.Sub(*t.LastUsed) >= time.Minute {
		if _, err := db.ExecContext(ctx, `UPDATE tokens SET last_used = ? WHERE id = ?`, now.Format(time.RFC3339), t.ID); err != nil {
			return t, fmt.Errorf("noting the token's use: %w", err)
		}
		t.LastUsed = &now
	}
	return t, nil
}

func scanToken(row interface{ Scan(...any) error }) (Token, error) {
	var t Token
	var created string
	var used, revoked sql.NullString
	if err := row.Scan(&t.ID, &t.Role, &t.Name, &created, &used, &revoked); err != nil {
		return t, err
	}
	t.Created, _ = time.Parse(time.RFC3339, created)
	for _, x := range []struct {
		s  sql.NullString
		to **time.Time
	}{{used, &t.LastUsed}, {revoked, &t.Revoked}} {
		if v, err := time.Parse(time.RFC3339, x.s.String); x.s.Valid && err == nil {
			*x.to = &v
		}
	}
	return t, nil
}

// Tokens lists every token, revoked ones included, oldest first.
func (db *DB) Tokens(ctx context.Context) ([]Token, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY created, name, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken ends a token for good (its row stays, for the record);
// ErrNoToken when no live token has the id.
func (db *DB) RevokeToken(ctx context.Context, id string) error {
	res, err := db.ExecContext(ctx, `UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL`, time.Now().UTC().Format(time.RFC3339), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNoToken
	}
	return nil
}

// Spool keeps an intake body until it is processed: once Spool returns,
// the body survives a crash.
func (db *DB) Spool(ctx context.Context, source string, body []byte) (int64, error) {
	q := `INSERT INTO intake (source, received, body) VALUES (?, ?, ?) RETURNING seq`
	var seq int64
	err := db.QueryRowContext(ctx, q, source, time.Now().UTC().Format(time.RFC3339Nano), body).Scan(&seq)
	return seq, err
}

// SpoolOnce spools a body and records the checkpoint that says so, in one
// transaction: a source that read an object (a file, an S3 object) and
// crashed before or after this either spooled it with its checkpoint or
// neither. It reports false, spooling nothing, when the checkpoint already
// holds value. The body is spooled as from source/key, so that what is
// reported about it names the object.
func (db *DB) SpoolOnce(ctx context.Context, source, key, value string, body []byte) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var have string
	err = tx.QueryRowContext(ctx, `SELECT value FROM checkpoints WHERE source = ? AND key = ?`, source, key).Scan(&have)
	if err == nil && have == value {
		return false, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO intake (source, received, body) VALUES (?, ?, ?)`, source+"/"+key, time.Now().UTC().Format(time.RFC3339Nano), body); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO checkpoints (source, key, value) VALUES (?, ?, ?) ON CONFLICT (source, key) DO UPDATE SET value = excluded.value`, source, key, value); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// Spooled is one body waiting in the spool.
type Spooled struct {
	Seq      int64
	Source   string
	Body     []byte
	Received time.Time
}

// Pending lists spooled bodies not yet processed, oldest first, after
// seq.
func (db *DB) Pending(ctx context.Context, after int64, limit int) ([]Spooled, error) {
	return db.spooled(ctx, `SELECT seq, source, body, received FROM intake WHERE seq > ? AND done = 0 ORDER BY seq LIMIT ?`, after, limit)
}

// Lake states of a spooled body (intake.laked): its events are not in
// the lake; they are in a flush that has begun (a crash during it leaves
// some in lake files, some not); they are in lake files.
const (
	LakePending  = 0
	LakeFlushing = 2
	LakeWritten  = 1
)

// LakeUnread lists spooled bodies, processed or not, whose events are not
// in the lake, oldest first, after seq: what the lake feed of worker (-1:
// serve on its own spool; see lakeOwner) reads.
func (db *DB) LakeUnread(ctx context.Context, worker int, after int64, limit int) ([]Spooled, error) {
	return db.spooled(ctx, `SELECT seq, source, body, received FROM intake WHERE seq > ? AND laked = 0`+lakeOwner(worker)+` ORDER BY seq LIMIT ?`, after, limit)
}

// busPrefix starts the source of a body a bus worker keeps for its lake
// feed (SpoolForLake).
func busPrefix(worker int) string { return "bus:w" + strconv.Itoa(worker) + "/" }

// lakeOwner restricts a lake feed's queries to its bodies: all (worker
// -1, serve on its own spool); on the bus, a worker's, and for worker 0
// also those spooled before the bus (which it drains).
func lakeOwner(worker int) string {
	switch {
	case worker < 0:
		return ""
	case worker == 0:
		return ` AND (source LIKE '` + busPrefix(0) + `%' OR source NOT LIKE 'bus:w%')`
	}
	return ` AND source LIKE '` + busPrefix(worker) + `%'`
}

// SpoolForLake keeps, within tx, a body a bus worker processed, for its
// lake feed (worker): spooled as processed already.
func (db *DB) SpoolForLake(ctx context.Context, tx *Tx, worker int, source string, body []byte) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO intake (source, received, body, done) VALUES (?, ?, ?, 1)`, busPrefix(worker)+source, time.Now().UTC().Format(time.RFC3339Nano), body)
	return err
}

// LakeUnreadBefore lists the sequences of bodies not in the lake at or
// below seq: bodies whose insert committed after later ones (PostgreSQL
// hands out sequences before commit).
func (db *DB) LakeUnreadBefore(ctx context.Context, worker int, seq int64) ([]int64, error) {
	return db.seqs(ctx, `SELECT seq FROM intake WHERE seq <= ? AND laked = 0`+lakeOwner(worker)+` ORDER BY seq`, seq)
}

// seqs runs a query of spool sequences.
func (db *DB) seqs(ctx context.Context, q string, args ...any) ([]int64, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// SpooledBodies reads the bodies of some sequences, oldest first.
func (db *DB) SpooledBodies(ctx context.Context, seqs []int64) ([]Spooled, error) {
	var out []Spooled
	for c := range slices.Chunk(seqs, 500) {
		ss, err := db.spooled(ctx, `SELECT seq, source, body, received FROM intake WHERE seq IN (`+inList(c)+`) ORDER BY seq`)
		if err != nil {
			return nil, err
		}
		out = append(out, ss...)
	}
	return out, nil
}

// LakeInFlush lists the bodies of a flush a crash cut (state
// LakeFlushing), for the feed to write again as the same files.
func (db *DB) LakeInFlush(ctx context.Context, worker int) ([]int64, error) {
	return db.seqs(ctx, `SELECT seq FROM intake WHERE laked = ?`+lakeOwner(worker)+` ORDER BY seq`, LakeFlushing)
}

// SetLake sets the lake state of some bodies, in one transaction; with
// LakeWritten it also removes every body both processed and written (a
// body processed while this ran is removed by the next call).
func (db *DB) SetLake(ctx context.Context, seqs []int64, state int) (int64, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	for c := range slices.Chunk(seqs, 500) {
		if _, err := tx.ExecContext(ctx, `UPDATE intake SET laked = ? WHERE seq IN (`+inList(c)+`)`, state); err != nil {
			return 0, err
		}
	}
	var n int64
	if state == LakeWritten {
		res, err := tx.ExecContext(ctx, `DELETE FROM intake WHERE done = 1 AND laked = ?`, LakeWritten)
		if err != nil {
			return 0, err
		}
		n, _ = res.RowsAffected()
	}
	return n, tx.Commit()
}

// inList is a list of integers for IN (…).
func inList(xs []int64) string {
	var b strings.Builder
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(x, 10))
	}
	return b.String()
}

func (db *DB) spooled(ctx context.Context, q string, args ...any) ([]Spooled, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Spooled
	for rows.Next() {
		var s Spooled
		var received string
		if err := rows.Scan(&s.Seq, &s.Source, &s.Body, &received); err != nil {
			return nil, err
		}
		s.Received, _ = time.Parse(time.RFC3339Nano, received)
		out = append(out, s)
	}
	return out, rows.Err()
}

// PendingCount is how many bodies wait in the spool to be processed.
func (db *DB) PendingCount(ctx context.Context) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM intake WHERE done = 0`).Scan(&n)
	return n, err
}

// Processed ends a spooled body's processing, within tx: with lake false
// the body leaves the spool; with lake true it leaves only if its events
// are in lake files, else it stays, marked done, for the lake feed (which
// removes it once they are: SetLake).
func (db *DB) Processed(ctx context.Context, tx *Tx, seq int64, lake bool) error {
	if !lake {
		_, err := tx.ExecContext(ctx, `DELETE FROM intake WHERE seq = ?`, seq)
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM intake WHERE seq = ? AND laked = ?`, seq, LakeWritten); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE intake SET done = 1 WHERE seq = ?`, seq)
	return err
}

// Checkpoint reads a source's checkpoint ("" when none).
func (db *DB) Checkpoint(ctx context.Context, source, key string) (string, error) {
	var v string
	err := db.QueryRowContext(ctx, `SELECT value FROM checkpoints WHERE source = ? AND key = ?`, source, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// SetCheckpoint records a source's checkpoint.
func (db *DB) SetCheckpoint(ctx context.Context, source, key, value string) error {
	_, err := db.ExecContext(ctx, `INSERT INTO checkpoints (source, key, value) VALUES (?, ?, ?) ON CONFLICT (source, key) DO UPDATE SET value = excluded.value`, source, key, value)
	return err
}
