package pipeline

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/report"
	"github.com/parapet-sec/parapet/internal/respond"
)

// suppressedIDs names, for each finding, the suppression it matches (""
// for none). It takes no lock while it evaluates: the suppressions are a
// snapshot, and each one's cost is bounded (correlate.MaxRunCost).
func (p *Pipeline) suppressedIDs(findings []detect.Finding) []string {
	out := make([]string, len(findings))
	p.smu.Lock()
	sups := p.suppress
	p.smu.Unlock()
	if len(sups) == 0 {
		return out
	}
	now := time.Now()
	for i := range findings {
		if p.evalHook != nil {
			p.evalHook()
		}
		var doc map[string]any
		if json.Unmarshal(report.AppendFindingJSON(nil, &findings[i]), &doc) != nil {
			continue
		}
		for _, s := range sups {
			if s.Matches(doc, now, p.Accounts) {
				out[i] = s.ID
				break
			}
		}
	}
	return out
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
		// Stored ones are checked as new ones are: one made before a
		// suppression had to pin what it mutes, or before its cost was
		// bounded, mutes nothing now.
		if err := s.Compile(s.Created); err != nil {
			p.Log.Warn("a stored suppression no longer compiles: ignored", "id", s.ID, "err", err)
			continue
		}
		out = append(out, s)
	}
	p.smu.Lock()
	p.suppress = out
	p.smu.Unlock()
	return rows.Err()
}

// AddSuppression checks and stores a suppression, recorded in the audit
// trail (who: s.CreatedBy; why: s.Reason) before it applies; it applies
// to findings from now on.
func (p *Pipeline) AddSuppression(ctx context.Context, s *correlate.Suppression) error {
	now := time.Now().UTC()
	s.Created = now
	if err := s.Compile(now); err != nil {
		return err
	}
	sum := fmt.Sprintf("%x", now.UnixNano())
	s.ID = "sup-" + sum[len(sum)-10:]
	if _, err := p.Audit.Append(ctx, audit.Record{Kind: audit.SuppressionCreated, Actor: s.CreatedBy, Target: s.ID,
		Detail: map[string]any{"reason": s.Reason, "expr": s.Expr, "expires": s.Expires.UTC().Format(time.RFC3339)}}); err != nil {
		return err
	}
	b, _ := json.Marshal(s)
	if _, err := p.DB.ExecContext(ctx, `INSERT INTO suppressions (id, expires, body) VALUES (?, ?, ?)`, s.ID, s.Expires.UTC().Format(time.RFC3339Nano), string(b)); err != nil {
		return err
	}
	p.smu.Lock()
	p.suppress = append(slices.Clip(p.suppress), s)
	p.smu.Unlock()
	return nil
}

// Suppressions lists the active suppressions.
func (p *Pipeline) Suppressions() []*correlate.Suppression {
	p.smu.Lock()
	defer p.smu.Unlock()
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

// RemoveSuppression ends a suppression now, recorded in the audit trail
// with who ended it and why.
func (p *Pipeline) RemoveSuppression(ctx context.Context, id, by, reason string) error {
	var body string
	err := p.DB.QueryRowContext(ctx, `SELECT body FROM suppressions WHERE id = ?`, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	var s correlate.Suppression
	_ = json.Unmarshal([]byte(body), &s)
	if _, err := p.Audit.Append(ctx, audit.Record{Kind: audit.SuppressionDeleted, Actor: by, Target: id,
		Detail: map[string]any{"reason": reason, "expr": s.Expr, "created_by": s.CreatedBy}}); err != nil {
		return err
	}
	if _, err := p.DB.ExecContext(ctx, `DELETE FROM suppressions WHERE id = ?`, id); err != nil {
		return err
	}
	p.smu.Lock()
	defer p.smu.Unlock()
	// A new slice: suppressedIDs may be reading the old one.
	kept := make([]*correlate.Suppression, 0, len(p.suppress))
	for _, s := range p.suppress {
		if s.ID != id {
			kept = append(kept, s)
		}
	}
	p.suppress = kept
	return nil
}

// CloseIncident closes an incident, recorded in the audit trail with who
// closed it and why: its MTTR ends now, and later findings of its
// principal open a new one.
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
	id = in.ID // a merged incident's id closes the one that took it
	if _, err := p.Audit.Append(ctx, audit.Record{Kind: audit.IncidentClosed, Actor: by, Target: id,
		Detail: map[string]any{"reason": reason, "title": in.Title, "status": in.Status, "risk": in.Risk}}); err != nil {
		return nil, err
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
	if line, err = p.withIncident(ctx, line, id, nil); err != nil {
		return nil, err
	}
	if p.RespondRewrite != nil {
		line = p.RespondRewrite(line)
	}
	return respond.ParseFinding(line)
}
