package pipeline

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/report"
	"github.com/parapet-sec/parapet/internal/respond"
)

// suppressed names the suppression a finding matches ("" for none).
// Called with cmu held.
func (p *Pipeline) suppressed(f *detect.Finding) string {
	if len(p.suppress) == 0 {
		return ""
	}
	var doc map[string]any
	if json.Unmarshal(report.AppendFindingJSON(nil, f), &doc) != nil {
		return ""
	}
	now := time.Now()
	for _, s := range p.suppress {
		if s.Matches(doc, now) {
			return s.ID
		}
	}
	return ""
}

func (p *Pipeline) loadSuppressions(ctx context.Context) error {
	rows, err := p.DB.QueryContext(ctx, `SELECT body FROM suppressions WHERE expires > ?`, time.Now().UTC().Format(time.RFC3339Nano))
	if err != nil {
		return err
	}
	defer rows.Close()
	var out []*correlate.Suppression
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			return err
		}
		s := &correlate.Suppression{}
		if err := json.Unmarshal([]byte(b), s); err != nil {
			return err
		}
		if err := s.Compile(s.Created); err != nil {
			p.Log.Warn("a stored suppression no longer compiles: ignored", "id", s.ID, "err", err)
			continue
		}
		out = append(out, s)
	}
	p.cmu.Lock()
	p.suppress = out
	p.cmu.Unlock()
	return rows.Err()
}

// AddSuppression checks and stores a suppression; it applies to findings
// from now on.
func (p *Pipeline) AddSuppression(ctx context.Context, s *correlate.Suppression) error {
	now := time.Now().UTC()
	s.Created = now
	if err := s.Compile(now); err != nil {
		return err
	}
	sum := fmt.Sprintf("%x", now.UnixNano())
	s.ID = "sup-" + sum[len(sum)-10:]
	b, _ := json.Marshal(s)
	if _, err := p.DB.ExecContext(ctx, `INSERT INTO suppressions (id, expires, body) VALUES (?, ?, ?)`, s.ID, s.Expires.UTC().Format(time.RFC3339Nano), string(b)); err != nil {
		return err
	}
	p.cmu.Lock()
	p.suppress = append(p.suppress, s)
	p.cmu.Unlock()
	return nil
}

// Suppressions lists the active suppressions.
func (p *Pipeline) Suppressions() []*correlate.Suppression {
	p.cmu.Lock()
	defer p.cmu.Unlock()
	now := time.Now()
	out := []*correlate.Suppression{}
	for _, s := range p.suppress {
		if now.Before(s.Expires) {
			out = append(out, s)
		}
	}
	return out
}

// ErrNotFound is an id that names nothing.
var ErrNotFound = errors.New("not found")

// RemoveSuppression ends a suppression now.
func (p *Pipeline) RemoveSuppression(ctx context.Context, id string) error {
	res, err := p.DB.ExecContext(ctx, `DELETE FROM suppressions WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	p.cmu.Lock()
	defer p.cmu.Unlock()
	kept := p.suppress[:0]
	for _, s := range p.suppress {
		if s.ID != id {
			kept = append(kept, s)
		}
	}
	p.suppress = kept
	return nil
}

// CloseIncident closes an incident: its MTTR ends now, and later findings
// of its principal open a new one.
func (p *Pipeline) CloseIncident(ctx context.Context, id, by, reason string) (*correlate.Incident, error) {
	p.cmu.Lock()
	defer p.cmu.Unlock()
	in, _, err := Incident(ctx, p.DB, id)
	if err != nil {
		return nil, err
	}
	if in == nil {
		return nil, ErrNotFound
	}
	if live := p.Incidents.Close(id); live != nil {
		in = live
	}
	in.Status, in.Closed, in.ClosedBy, in.CloseReason = "closed", time.Now().UTC(), by, reason
	b, _ := json.Marshal(in)
	if _, err := p.DB.ExecContext(ctx, `UPDATE incidents SET status = 'closed', updated = ?, body = ? WHERE id = ?`, time.Now().UTC().Format(time.RFC3339Nano), string(b), id); err != nil {
		return nil, err
	}
	if p.OnChange != nil {
		p.OnChange("incident", in)
	}
	return in, nil
}

// Finding loads a stored finding as the playbooks see it: its body and the
// native record behind it (nil, ErrNotFound when there is none).
func (p *Pipeline) Finding(ctx context.Context, id string) (*respond.Finding, error) {
	var body string
	err := p.DB.QueryRowContext(ctx, `SELECT body FROM findings WHERE id = ?`, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var doc struct {
		EventIDs []string `json:"event_ids"`
	}
	_ = json.Unmarshal([]byte(body), &doc)
	line := []byte(body)
	if len(doc.EventIDs) > 0 {
		var rec string
		if err := p.DB.QueryRowContext(ctx, `SELECT body FROM events WHERE id = ?`, doc.EventIDs[0]).Scan(&rec); err == nil && strings.HasSuffix(body, "}") {
			line = []byte(body[:len(body)-1] + `,"record":` + rec + "}")
		}
	}
	if p.RespondRewrite != nil {
		line = p.RespondRewrite(line)
	}
	return respond.ParseFinding(line)
}
