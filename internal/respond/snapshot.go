package respond

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"github.com/parapet-sec/parapet/internal/store"
)

// Snapshot is the state of one aspect of a resource as Parapet itself read
// it from the cloud API: by a posture scan, or by an action re-reading the
// resource before it changed anything. Restores come only from snapshots
// (or from a baseline the operator configured), never from ingested
// records: a log record is a claim, not a fact.
type Snapshot struct {
	Kind     string    // what was read: SnapshotBucketPolicy, SnapshotBucketEncryption
	Resource string    // the resource: a bucket name
	State    string    // what was read ("" when the resource had none)
	Problem  bool      // the state showed the problem actions fix (a public policy)
	Source   string    // who read it: "posture scan", "before s3.revert_bucket_policy"
	At       time.Time // when it was read (Parapet's clock)
}

// Snapshot kinds.
const (
	SnapshotBucketPolicy     = "s3.bucket_policy"
	SnapshotBucketEncryption = "s3.bucket_encryption"
)

// Snapshots keeps snapshots in the store (table snapshots): one row per
// distinct state of a resource, dated when last read.
type Snapshots struct{ DB *store.DB }

// Record keeps a snapshot (the same state read again moves its date).
func (s Snapshots) Record(ctx context.Context, snap Snapshot) error {
	if s.DB == nil || snap.Kind == "" || snap.Resource == "" {
		return nil
	}
	if snap.At.IsZero() {
		snap.At = time.Now()
	}
	sum := sha256.Sum256([]byte(snap.State))
	problem := 0
	if snap.Problem {
		problem = 1
	}
	at := snap.At.UTC().Format(guardTime)
	_, err := s.DB.ExecContext(ctx, `INSERT INTO snapshots (kind, resource, hash, state, problem, source, first_at, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, resource, hash) DO UPDATE SET at = excluded.at, source = excluded.source, problem = excluded.problem`,
		snap.Kind, snap.Resource, hex.EncodeToString(sum[:16]), snap.State, problem, snap.Source, at, at)
	return err
}

// LatestGood is the newest snapshot of a resource's aspect that did not
// show the problem, if Parapet ever read one.
func (s Snapshots) LatestGood(ctx context.Context, kind, resource string) (Snapshot, bool, error) {
	return s.latest(ctx, kind, resource, `AND problem = 0`)
}

// Latest is the newest snapshot of a resource's aspect, good or not.
func (s Snapshots) Latest(ctx context.Context, kind, resource string) (Snapshot, bool, error) {
	return s.latest(ctx, kind, resource, ``)
}

func (s Snapshots) latest(ctx context.Context, kind, resource, cond string) (Snapshot, bool, error) {
	if s.DB == nil {
		return Snapshot{}, false, nil
	}
	snap := Snapshot{Kind: kind, Resource: resource}
	var at string
	var problem int
	err := s.DB.QueryRowContext(ctx, `SELECT state, problem, source, at FROM snapshots WHERE kind = ? AND resource = ? `+cond+` ORDER BY at DESC LIMIT 1`,
		kind, resource).Scan(&snap.State, &problem, &snap.Source, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Snapshot{}, false, nil
	}
	if err != nil {
		return Snapshot{}, false, err
	}
	snap.Problem = problem != 0
	snap.At, _ = time.Parse(guardTime, at)
	return snap, true, nil
}
