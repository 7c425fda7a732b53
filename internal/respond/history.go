package respond

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parapet-sec/parapet/internal/store"
)

// History keeps the bucket policies Parapet observed in CloudTrail
// (PutBucketPolicy records), so that a bad change can be reverted to the
// policy before it.
type History struct{ DB *store.DB }

// ObservePolicy records a PutBucketPolicy: bucket, event time and id, and
// the policy it set.
func (h History) ObservePolicy(ctx context.Context, bucket string, at time.Time, eventID, policy string) error {
	if bucket == "" || policy == "" || eventID == "" {
		return nil
	}
	_, err := h.DB.ExecContext(ctx, `INSERT OR IGNORE INTO bucket_policies (bucket, at, event_id, policy) VALUES (?, ?, ?, ?)`,
		bucket, at.UTC().Format(time.RFC3339Nano), eventID, policy)
	return err
}

// PreviousBucketPolicy is the latest policy observed for bucket before the
// event beforeEventID (or the latest of all when it is not known).
func (h History) PreviousBucketPolicy(ctx context.Context, bucket, beforeEventID string) (string, bool, error) {
	var policy, at string
	var seq int64
	if beforeEventID != "" {
		_ = h.DB.QueryRowContext(ctx, `SELECT at, rowid FROM bucket_policies WHERE bucket = ? AND event_id = ?`, bucket, beforeEventID).Scan(&at, &seq)
	}
	var err error
	if at != "" {
		// Before it in event time; in the same second, observed before it.
		err = h.DB.QueryRowContext(ctx, `SELECT policy FROM bucket_policies WHERE bucket = ? AND (at < ? OR (at = ? AND rowid < ?)) ORDER BY at DESC, rowid DESC LIMIT 1`,
			bucket, at, at, seq).Scan(&policy)
	} else {
		err = h.DB.QueryRowContext(ctx, `SELECT policy FROM bucket_policies WHERE bucket = ? AND event_id != ? ORDER BY at DESC, rowid DESC LIMIT 1`, bucket, beforeEventID).Scan(&policy)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return policy, err == nil, err
}
