package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// broker fans events out to server-sent-event subscribers; a slow
// subscriber misses events rather than slowing the pipeline.
type broker struct {
	mu   sync.Mutex
	subs map[chan []byte]struct{}
}

// Publish sends an event to every subscriber (the pipeline calls it when
// an incident or approval changes).
func (s *Server) Publish(kind string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	msg := []byte(fmt.Sprintf("event: %s\ndata: %s\n\n", kind, b))
	s.stream.mu.Lock()
	defer s.stream.mu.Unlock()
	for c := range s.stream.subs {
		select {
		case c <- msg:
		default:
		}
	}
}

func (s *Server) streamHandler(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		apiError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	c := make(chan []byte, 64)
	s.stream.mu.Lock()
	if s.stream.subs == nil {
		s.stream.subs = map[chan []byte]struct{}{}
	}
	s.stream.subs[c] = struct{}{}
	s.stream.mu.Unlock()
	defer func() {
		s.stream.mu.Lock()
		delete(s.stream.subs, c)
		s.stream.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": parapet\n\n")
	fl.Flush()
	beat := time.NewTicker(15 * time.Second)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case m := <-c:
			w.Write(m)
			fl.Flush()
		case <-beat.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		}
	}
}

// mttrQuery pairs when a finding was stored with when it was remediated:
// its first playbook run that executed (automatically or once approved),
// or, for an incident closed by hand, its first finding with its closing.
const mttrQuery = `SELECT MIN(f.created), MIN(r.updated) FROM playbook_runs r JOIN findings f ON f.id = r.finding_id
		WHERE r.status = 'executed' GROUP BY f.id
	UNION ALL SELECT MIN(f.created), json_extract(i.body, '$.closed') FROM incidents i JOIN findings f ON f.incident_id = i.id
		WHERE i.status = 'closed' GROUP BY i.id LIMIT 5000`

// stats: alert reduction (findings → incidents), MTTD (event time →
// finding stored) and MTTR (finding stored → remediated: a playbook run
// executed, or the incident closed), medians over the most recent.
func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var findings, incidents, pending int
	_ = s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM findings`).Scan(&findings)
	_ = s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM incidents`).Scan(&incidents)
	_ = s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM approvals WHERE status = 'pending'`).Scan(&pending)
	byLevel := map[string]int{}
	if rows, err := s.DB.QueryContext(ctx, `SELECT level, COUNT(*) FROM findings GROUP BY level`); err == nil {
		for rows.Next() {
			var l string
			var n int
			if rows.Scan(&l, &n) == nil {
				byLevel[l] = n
			}
		}
		rows.Close()
	}
	median := func(q string) (float64, int) {
		rows, err := s.DB.QueryContext(ctx, q)
		if err != nil {
			return 0, 0
		}
		defer rows.Close()
		var ds []float64
		for rows.Next() {
			var a, b string
			if rows.Scan(&a, &b) != nil {
				continue
			}
			ta, e1 := time.Parse(time.RFC3339Nano, a)
			tb, e2 := time.Parse(time.RFC3339Nano, b)
			if e1 == nil && e2 == nil && !tb.Before(ta) {
				ds = append(ds, tb.Sub(ta).Seconds())
			}
		}
		if len(ds) == 0 {
			return 0, 0
		}
		sort.Float64s(ds)
		return ds[len(ds)/2], len(ds)
	}
	mttd, nd := median(`SELECT time, created FROM findings ORDER BY created DESC LIMIT 5000`)
	mttr, nr := median(mttrQuery)
	reduction := 0.0
	if findings > 0 {
		reduction = 1 - float64(incidents)/float64(findings)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"findings": findings, "incidents": incidents, "alert_reduction": reduction, "pending_approvals": pending,
		"findings_by_level": byLevel,
		"mttd_seconds":      mttd, "mttd_samples": nd,
		"mttr_seconds": mttr, "mttr_samples": nr,
	})
}
