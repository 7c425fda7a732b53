// Package audit is Parapet's tamper-evident record of every decision and
// action: an append-only log in the store, each record hash-chained to the
// one before it (SHA-256 over a canonical JSON encoding), so that editing,
// deleting, inserting or reordering a record breaks the chain where it
// happened.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/parapet-sec/parapet/internal/store"
)

// Record kinds.
const (
	FindingReceived   = "finding.received"
	PlaybookMatched   = "playbook.matched"
	PlaybookRequested = "playbook.requested"
	ApprovalRequested = "approval.requested"
	ApprovalGranted   = "approval.granted"
	ApprovalDenied    = "approval.denied"
	ApprovalExpired   = "approval.expired"
	ActionPlanned     = "action.planned"
	ActionExecuted    = "action.executed"
	ActionFailed      = "action.failed"
	ActionSkipped     = "action.skipped"
	ActionRolledBack  = "action.rolled_back"
	// What people change about what Parapet reports: who, and why (the
	// reason in Detail), recorded before the change takes effect.
	SuppressionCreated = "suppression.created"
	SuppressionDeleted = "suppression.deleted"
	IncidentClosed     = "incident.closed"
)

// Record is one entry. Seq, Prev and Hash are set by the log.
type Record struct {
	Seq       int64          `json:"seq"`
	Time      time.Time      `json:"time"`
	Kind      string         `json:"kind"`
	Actor     string         `json:"actor"` // parapet, or the person who decided
	FindingID string         `json:"finding_id,omitempty"`
	Playbook  string         `json:"playbook,omitempty"`
	Action    string         `json:"action,omitempty"`
	Target    string         `json:"target,omitempty"`
	Detail    map[string]any `json:"detail,omitempty"`
	Prev      string         `json:"prev"`
	Hash      string         `json:"-"`
}

// Log appends records to the store. Safe for concurrent use.
type Log struct {
	db   *store.DB
	mu   sync.Mutex
	seq  int64
	head string
	now  func() time.Time
}

// Open reads the chain's head from the store.
func Open(ctx context.Context, db *store.DB) (*Log, error) {
	l := &Log{db: db, now: func() time.Time { return time.Now().UTC() }}
	err := db.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&l.seq, &l.head)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	return l, nil
}

// Head is the hash of the newest record ("" for an empty log): write it
// down elsewhere, and verify can tell whether records were cut off the end.
func (l *Log) Head() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.head
}

// Append redacts, chains and stores r, and returns it as stored. The head
// is read again in the transaction that appends, so that several
// processes on one store (the workers of a scaled-out serve) extend one
// chain; on PostgreSQL an advisory lock makes them take turns.
func (l *Log) Append(ctx context.Context, r Record) (Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return r, fmt.Errorf("audit: %w", err)
	}
	defer tx.Rollback()
	if l.db.Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7061727062)`); err != nil {
			return r, fmt.Errorf("audit: %w", err)
		}
	}
	var seq int64
	var head string
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&seq, &head); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("audit: %w", err)
	}
	l.seq, l.head = seq, head
	r.Seq = l.seq + 1
	if r.Time.IsZero() {
		r.Time = l.now()
	}
	r.Time = r.Time.UTC().Truncate(time.Microsecond)
	if r.Actor == "" {
		r.Actor = "parapet"
	}
	r.Detail = Redact(r.Detail)
	r.Prev = l.head
	body, err := canonical(r)
	if err != nil {
		return r, err
	}
	r.Hash = hashOf(body)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit (seq, body, hash) VALUES (?, ?, ?)`, r.Seq, string(body), r.Hash); err != nil {
		return r, fmt.Errorf("audit: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return r, fmt.Errorf("audit: %w", err)
	}
	l.seq, l.head = r.Seq, r.Hash
	return r, nil
}

// canonical is the record's JSON with keys in a fixed order: struct fields
// in declaration order, map keys sorted (encoding/json sorts them), no
// HTML escaping, no insignificant space.
func canonical(r Record) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}

func hashOf(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// Problem is the first thing wrong with a chain.
type Problem struct {
	Seq    int64
	Reason string
}

func (p *Problem) Error() string { return fmt.Sprintf("audit record %d: %s", p.Seq, p.Reason) }

// Verify walks the chain from the first record and returns how many
// records hold, the head hash, and the first problem: a record whose hash
// does not match its content (edited), whose sequence skips (deleted or
// inserted), or whose link does not name the record before it (inserted,
// deleted or reordered). expectHead, when given, must be the head: records
// cut off the end leave an intact but shorter chain.
func Verify(ctx context.Context, db *store.DB, expectHead string) (n int64, head string, err error) {
	rows, err := db.QueryContext(ctx, `SELECT seq, body, hash FROM audit ORDER BY seq`)
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	prev, want := "", int64(1)
	for rows.Next() {
		var seq int64
		var body, hash string
		if err := rows.Scan(&seq, &body, &hash); err != nil {
			return n, prev, err
		}
		if err := link(seq, want, prev, body, hash); err != nil {
			return n, prev, err
		}
		prev, want = hash, want+1
		n++
	}
	if err := rows.Err(); err != nil {
		return n, prev, err
	}
	if expectHead != "" && expectHead != prev {
		return n, prev, &Problem{Seq: n, Reason: fmt.Sprintf("the chain ends at %s, not at the expected head %s: records were cut off the end", short(prev), short(expectHead))}
	}
	return n, prev, nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	if h == "" {
		return "(empty)"
	}
	return h
}

// Export writes every record as a JSON line, with its hash.
func Export(ctx context.Context, db *store.DB, w io.Writer) (int, error) {
	rows, err := db.QueryContext(ctx, `SELECT body, hash FROM audit ORDER BY seq`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var body, hash string
		if err := rows.Scan(&body, &hash); err != nil {
			return n, err
		}
		line := strings.TrimSuffix(body, "}") + `,"hash":"` + hash + "\"}\n"
		if _, err := io.WriteString(w, line); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// secretKey names detail keys whose values are never recorded.
var secretKey = regexp.MustCompile(`(?i)(secret|token|password|passwd|authorization|api[_-]?key|routing[_-]?key|webhook|signature|credential|private)`)

// secretValue finds secrets inside values: URLs with credentials or
// webhook paths, bearer tokens, AWS secret keys.
var secretValue = regexp.MustCompile(`(?i)(https://hooks\.slack\.com/\S+|https://[^\s"]*webhook[^\s"]*|bearer\s+\S+|://[^/\s:@]+:[^/\s@]+@|aws_secret_access_key\S*|(?:^|[^A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?:$|[^A-Za-z0-9/+]))`)

// Redact returns detail with secrets replaced by "[redacted]": values under
// secret-sounding keys, and secret-looking text anywhere.
func Redact(detail map[string]any) map[string]any {
	if detail == nil {
		return nil
	}
	out := make(map[string]any, len(detail))
	for k, v := range detail {
		if secretKey.MatchString(k) {
			out[k] = "[redacted]"
			continue
		}
		out[k] = redactValue(v)
	}
	return out
}

func redactValue(v any) any {
	switch x := v.(type) {
	case string:
		return secretValue.ReplaceAllString(x, "[redacted]")
	case map[string]any:
		return Redact(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactValue(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactValue(e)
		}
		return out
	}
	return v
}
