package server

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/parapet-sec/parapet/internal/store"
)

// broker fans events out to server-sent-event subscribers; a slow
// subscriber misses events rather than slowing the pipeline. Subscribers
// are bounded in all (auth.max_streams) and per token
// (auth.max_streams_per_token).
type broker struct {
	mu      sync.Mutex
	subs    map[chan []byte]struct{}
	byToken map[string]int
	closed  chan struct{} // closed when the server shuts down
	once    sync.Once
}

func (b *broker) done() chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed == nil {
		b.closed = make(chan struct{})
	}
	return b.closed
}

// CloseStreams ends every server-sent event stream (http.Server.Shutdown
// waits for open requests, and a stream never ends by itself).
func (s *Server) CloseStreams() {
	c := s.stream.done()
	s.stream.once.Do(func() { close(c) })
}

// Publish sends an event to every subscriber (the pipeline calls it when
// an incident or approval changes), and through Relay to the other
// workers when serve is scaled out.
func (s *Server) Publish(kind string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	if s.Relay != nil {
		s.Relay(kind, b)
	}
	s.Deliver(kind, b)
}

// Deliver sends an event that is already JSON to this server's
// subscribers only (an event relayed from another worker).
func (s *Server) Deliver(kind string, b []byte) {
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
	tok, _ := r.Context().Value(ctxKey{}).(store.Token)
	c := make(chan []byte, 64)
	s.stream.mu.Lock()
	if s.stream.subs == nil {
		s.stream.subs = map[chan []byte]struct{}{}
		s.stream.byToken = map[string]int{}
	}
	if len(s.stream.subs) >= s.Config.Auth.MaxStreams || s.stream.byToken[tok.ID] >= s.Config.Auth.MaxStreamsPerToken {
		s.stream.mu.Unlock()
		w.Header().Set("Retry-After", "30")
		apiError(w, http.StatusServiceUnavailable, "too many live-update streams open (auth.max_streams, auth.max_streams_per_token): retry later")
		return
	}
	s.stream.subs[c] = struct{}{}
	s.stream.byToken[tok.ID]++
	s.stream.mu.Unlock()
	defer func() {
		s.stream.mu.Lock()
		delete(s.stream.subs, c)
		if s.stream.byToken[tok.ID]--; s.stream.byToken[tok.ID] <= 0 {
			delete(s.stream.byToken, tok.ID)
		}
		s.stream.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": parapet\n\n")
	fl.Flush()
	beat := time.NewTicker(15 * time.Second)
	defer beat.Stop()
	closed := s.stream.done()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-closed:
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
// cond (with its arguments, given for each part) narrows both parts'
// findings f.
func mttrQuery(cond string) string {
	return `SELECT MIN(f.created), MIN(r.updated) FROM playbook_runs r JOIN findings f ON f.id = r.finding_id
		WHERE r.status = 'executed'` + cond + ` GROUP BY f.id
	UNION ALL SELECT MIN(f.created), json_extract(i.body, '$.closed') FROM incidents i JOIN findings f ON f.incident_id = i.id
		WHERE i.status = 'closed'` + cond + ` GROUP BY i.id LIMIT 5000`
}

// accountIn is the condition " AND col IN (accounts…)" and its
// arguments; "" and none when sc selects every account.
func accountIn(col string, sc *scope) (string, []any) {
	if sc == nil {
		return "", nil
	}
	if len(sc.accounts) == 0 {
		return " AND 1 = 0", nil
	}
	c, args := store.In(col, sc.accounts)
	return " AND " + c, args
}

// stats: alert reduction (findings → incidents), MTTD (event time →
// finding stored) and MTTR (finding stored → remediated: a playbook run
// executed, or the incident closed), medians over the most recent.
//
// account= and ou= narrow every figure to those accounts' findings, the
// incidents that opened in them or hold one of their findings, and the
// approvals and runs of their findings.
func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sc, ok := s.scopeOf(w, r)
	if !ok {
		return
	}
	fc, fa := accountIn("account", sc)     // findings
	ffc, ffa := accountIn("f.account", sc) // findings f of the MTTR pairs
	ic, ia := "", []any(nil)               // incidents
	if sc != nil {
		own, oa := accountIn("account", sc)
		theirs, ta := accountIn("account", sc)
		ic = ` AND id IN (SELECT id FROM incidents WHERE 1 = 1` + own + ` UNION SELECT incident_id FROM findings WHERE 1 = 1` + theirs + `)`
		ia = append(oa, ta...)
	}
	ofFindings := ""
	if sc != nil {
		ofFindings = ` AND finding_id IN (SELECT id FROM findings WHERE 1 = 1` + fc + `)`
	}
	var findings, incidents, pending int
	_ = s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM findings WHERE 1 = 1`+fc, fa...).Scan(&findings)
	_ = s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM incidents WHERE 1 = 1`+ic, ia...).Scan(&incidents)
	_ = s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM approvals WHERE status = 'pending'`+ofFindings, fa...).Scan(&pending)
	byLevel := map[string]int{}
	if rows, err := s.DB.QueryContext(ctx, `SELECT level, COUNT(*) FROM findings WHERE 1 = 1`+fc+` GROUP BY level`, fa...); err == nil {
		for rows.Next() {
			var l string
			var n int
			if rows.Scan(&l, &n) == nil {
				byLevel[l] = n
			}
		}
		rows.Close()
	}
	pairs := func(q string, args ...any) [][2]time.Time {
		rows, err := s.DB.QueryContext(ctx, q, args...)
		if err != nil {
			return nil
		}
		defer rows.Close()
		var out [][2]time.Time
		for rows.Next() {
			var a, b sql.NullString
			if rows.Scan(&a, &b) != nil {
				continue
			}
			ta, e1 := time.Parse(time.RFC3339Nano, a.String)
			tb, e2 := time.Parse(time.RFC3339Nano, b.String)
			if e1 == nil && e2 == nil && !tb.Before(ta) {
				out = append(out, [2]time.Time{ta, tb})
			}
		}
		return out
	}
	detect, remedy := pairs(`SELECT time, created FROM findings WHERE 1 = 1`+fc+` ORDER BY created DESC LIMIT 5000`, fa...), pairs(mttrQuery(ffc), append(slices.Clone(ffa), ffa...)...)
	mttd, nd := medianOf(detect)
	mttr, nr := medianOf(remedy)
	reduction := 0.0
	if findings > 0 {
		reduction = 1 - float64(incidents)/float64(findings)
	}
	// The last 14 days, day by day (UTC), for the charts: findings and
	// the incidents they were filed into, MTTD by the day a finding was
	// stored, MTTR by the day it was remediated.
	const days = 14
	today := time.Now().UTC().Truncate(24 * time.Hour)
	since := today.AddDate(0, 0, -(days - 1))
	type daily struct {
		Day            string  `json:"day"`
		Findings       int     `json:"findings"`
		Incidents      int     `json:"incidents"`
		AlertReduction float64 `json:"alert_reduction"`
		MTTDSeconds    float64 `json:"mttd_seconds"`
		MTTDSamples    int     `json:"mttd_samples"`
		MTTRSeconds    float64 `json:"mttr_seconds"`
		MTTRSamples    int     `json:"mttr_samples"`
	}
	series := make([]daily, days)
	for i := range series {
		series[i].Day = since.AddDate(0, 0, i).Format("2006-01-02")
	}
	slot := func(t time.Time) int {
		i := int(t.UTC().Sub(since) / (24 * time.Hour))
		if t.Before(since) || i >= days {
			return -1
		}
		return i
	}
	incs := make([]map[string]bool, days)
	if rows, err := s.DB.QueryContext(ctx, `SELECT created, incident_id FROM findings WHERE created >= ?`+fc+` ORDER BY created DESC LIMIT 200000`, append([]any{since.Format(time.RFC3339Nano)}, fa...)...); err == nil {
		for rows.Next() {
			var c, inc string
			if rows.Scan(&c, &inc) != nil {
				continue
			}
			t, err := time.Parse(time.RFC3339Nano, c)
			if i := slot(t); err == nil && i >= 0 {
				series[i].Findings++
				if inc != "" && !strings.HasPrefix(inc, "suppressed:") { // "": a signal no incident took
					if incs[i] == nil {
						incs[i] = map[string]bool{}
					}
					incs[i][inc] = true
				}
			}
		}
		rows.Close()
	}
	byDay := func(ps [][2]time.Time) [][][2]time.Time {
		out := make([][][2]time.Time, days)
		for _, p := range ps {
			if i := slot(p[1]); i >= 0 {
				out[i] = append(out[i], p)
			}
		}
		return out
	}
	dd, rd := byDay(detect), byDay(remedy)
	for i := range series {
		series[i].Incidents = len(incs[i])
		if series[i].Findings > 0 {
			series[i].AlertReduction = 1 - float64(series[i].Incidents)/float64(series[i].Findings)
		}
		series[i].MTTDSeconds, series[i].MTTDSamples = medianOf(dd[i])
		series[i].MTTRSeconds, series[i].MTTRSamples = medianOf(rd[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"findings": findings, "incidents": incidents, "alert_reduction": reduction, "pending_approvals": pending,
		"findings_by_level": byLevel,
		"mttd_seconds":      mttd, "mttd_samples": nd,
		"mttr_seconds": mttr, "mttr_samples": nr,
		"daily": series,
	})
}

// medianOf is the median of the pairs' durations in seconds, and how many
// there were.
func medianOf(ps [][2]time.Time) (float64, int) {
	if len(ps) == 0 {
		return 0, 0
	}
	ds := make([]float64, len(ps))
	for i, p := range ps {
		ds[i] = p[1].Sub(p[0]).Seconds()
	}
	sort.Float64s(ds)
	return ds[len(ds)/2], len(ds)
}
