package pipeline

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parapet-sec/parapet/internal/posture/changes"
)

// loadChanges restores the index of resource changes from the store (the
// most recently changed first, up to the index's bound).
func (p *Pipeline) loadChanges(ctx context.Context) error {
	limit := p.Changes.Max
	if limit <= 0 {
		limit = 100_000
	}
	rows, err := p.DB.QueryContext(ctx, `SELECT key, body FROM resource_changes ORDER BY at DESC LIMIT ?`, limit)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var key, body string
		if err := rows.Scan(&key, &body); err != nil {
			return err
		}
		var list []changes.Change
		if json.Unmarshal([]byte(body), &list) == nil && len(list) > 0 {
			p.Changes.Put(key, list)
		}
	}
	return rows.Err()
}

// saveChanges stores the resources whose changes a body added to.
func (p *Pipeline) saveChanges(ctx context.Context) error {
	dirty := p.Changes.Dirty()
	if len(dirty) == 0 {
		return nil
	}
	tx, err := p.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for key, list := range dirty {
		if len(list) == 0 {
			continue
		}
		body, err := json.Marshal(list)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO resource_changes (key, at, body) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET at = excluded.at, body = excluded.body`,
			key, list[0].Time.UTC().Format(time.RFC3339Nano), string(body)); err != nil {
			return err
		}
	}
	return tx.Commit()
}
