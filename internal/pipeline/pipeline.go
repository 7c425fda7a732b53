// Package pipeline is parapet serve's processing: spooled intake bodies
// are decoded, enriched, detected (rules, correlation rules, behavioural
// models), filed into incidents, stored and handed to the response
// engine, in order, by one processor goroutine (decoding inside a body
// runs on every core).
//
// Crash safety: a body is acknowledged only once it is in the store's
// spool; it leaves the spool only after its findings and incidents are
// stored. A crash in between replays the body on restart: finding ids are
// deterministic, the store keeps each once, the incident correlator is
// restored from the store (a finding already filed is not counted again),
// and the response engine's idempotency keys keep an action from running
// twice.
package pipeline

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/parapet-sec/parapet/internal/org"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parapet-sec/parapet/internal/attackpath"
	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/ueba"
	"github.com/parapet-sec/parapet/internal/enrich"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/posture/changes"
	"github.com/parapet-sec/parapet/internal/report"
	"github.com/parapet-sec/parapet/internal/respond"
	"github.com/parapet-sec/parapet/internal/store"
)

// Pipeline processes the spool.
type Pipeline struct {
	DB      *store.DB
	Rules   *detect.Engine
	UEBA    *ueba.Engine       // nil: off
	Enrich  func(*event.Event) // nil: none
	Intel   *enrich.Intel      // nil: none; replace it while running with SetIntel
	Paths   *attackpath.Walker // nil: none; steps of known privilege-escalation paths are findings
	Respond *respond.Engine    // nil: off
	// Accounts resolves a finding's account to its OU and tags for
	// suppressions' scopes (serve: the organization's inventory; nil: only
	// scopes naming accounts by id match).
	Accounts  org.Resolver
	Incidents *correlate.Correlator
	Metrics   *Metrics
	Log       *slog.Logger
	// OnChange, when set, hears of incidents stored (the UI's live
	// updates).
	OnChange func(kind string, v any)
	// RespondRewrite, when set, rewrites each finding (its JSON line with
	// the native record) before the playbooks see it: the demo maps its
	// resource ids to the emulator's.
	RespondRewrite func([]byte) []byte
	// Bus, when set, takes acknowledged bodies instead of the spool (serve
	// scaled out); Run is then not used.
	Bus Bus
	// Audit records suppressions made and ended and incidents closed (nil:
	// the response engine's, else one opened on DB by Start).
	Audit *audit.Log
	// Aggregate, when set, merges a rule's repeats into one finding per
	// episode (detect.Aggregator): the finding that opens an episode is
	// stored, filed, counted and handed to the playbooks; later events of
	// the episode, in this body or later ones, update the stored finding
	// (count, last_seen, event ids) and nothing else.
	Aggregate *detect.Aggregator
	// Lake, when set, writes every event of the spool into the data lake:
	// a processed body stays spooled until its events are in lake files.
	Lake *LakeFeed
	// Changes, when set, remembers the successful write calls of every
	// event per resource (persisted): posture scans link each failing live
	// or Config resource to the calls that last changed it.
	Changes *changes.Index

	corr     *detect.Correlator
	dedup    *detect.Dedup // records seen, bounded; used under pmu
	wake     chan struct{}
	cmu      sync.Mutex // guards Incidents
	backlog  atomic.Int64
	intel    atomic.Pointer[enrich.Intel]
	smu      sync.Mutex // guards suppress (the slice; a suppression is immutable)
	suppress []*correlate.Suppression
	mu       sync.Mutex
	last     int64 // the last spool sequence processed
	// pmu makes processing one body at a time: the detection state
	// (correlation rules, UEBA) is sequential. Decoding and matching
	// within a body run on every core.
	pmu sync.Mutex
	// evalHook, when set (by tests), runs as each finding is checked
	// against the suppressions.
	evalHook func()
	// graphSaved: when the entity graph was last written to the store.
	graphSaved time.Time
	// retroMu makes retroactive runs of indicators one at a time;
	// intelChanged wakes RetroIntelLoop.
	retroMu      sync.Mutex
	intelChanged chan struct{}
}

// Start restores the incidents and readies the pipeline.
func (p *Pipeline) Start(ctx context.Context) error {
	p.corr = p.Rules.NewCorrelator()
	p.corr.Episodes = p.Aggregate != nil
	p.wake = make(chan struct{}, 1)
	p.intelChanged = make(chan struct{}, 1)
	if p.Log == nil {
		p.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if p.Metrics == nil {
		p.Metrics = NewMetrics(nil)
	}
	incs, err := LoadIncidents(ctx, p.DB, 10000)
	if err != nil {
		return err
	}
	p.Incidents.Restore(incs)
	if g := p.Incidents.Graph; g != nil {
		var snap string
		err := p.DB.QueryRowContext(ctx, `SELECT value FROM checkpoints WHERE source = 'correlate' AND key = 'graph'`).Scan(&snap)
		switch {
		case err == nil:
			if err := g.Load([]byte(snap)); err != nil {
				p.Log.Warn("the stored entity graph is unreadable; starting empty", "err", err)
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
	}
	signals, err := loadSignals(ctx, p.DB, correlate.MaxSeen/2)
	if err != nil {
		return err
	}
	p.Incidents.RestoreSignals(signals)
	if p.Aggregate != nil {
		if err := p.reopenEpisodes(ctx); err != nil {
			return err
		}
	}
	if p.Intel != nil {
		p.intel.Store(p.Intel)
	}
	if p.Audit == nil && p.Respond != nil {
		p.Audit = p.Respond.Audit
	}
	if p.Audit == nil {
		if p.Audit, err = audit.Open(ctx, p.DB); err != nil {
			return err
		}
	}
	if err := p.loadSuppressions(ctx); err != nil {
		return err
	}
	if p.Changes != nil {
		if err := p.loadChanges(ctx); err != nil {
			return err
		}
	}
	n, err := p.DB.PendingCount(ctx)
	if err != nil {
		return err
	}
	p.Metrics.Spooled.Set(float64(n))
	p.backlog.Store(int64(n))
	if n > 0 {
		p.Log.Info("replaying the spool: bodies acknowledged before the last stop and not yet processed", "bodies", n)
	}
	return nil
}

// Submit spools a body; once it returns without error the body is
// acknowledged: it will be processed even if the process dies now.
func (p *Pipeline) Submit(ctx context.Context, source string, body []byte) (int64, error) {
	if p.Bus != nil {
		return 0, p.Bus.PublishIntake(ctx, source, body, "")
	}
	seq, err := p.DB.Spool(ctx, source, body)
	if err != nil {
		return 0, err
	}
	p.Metrics.Spooled.Inc()
	p.backlog.Add(1)
	select {
	case p.wake <- struct{}{}:
	default:
	}
	if p.Lake != nil {
		p.Lake.Wake()
	}
	return seq, nil
}

// SubmitOnce spools a source's object unless its checkpoint says it was
// (see store.SpoolOnce), and wakes the processor.
func (p *Pipeline) SubmitOnce(ctx context.Context, source, key, version string, body []byte) (bool, error) {
	if p.Bus != nil {
		// Published under an id made of the checkpoint, then
		// checkpointed: a crash in between publishes it again, and the
		// bus drops the copy.
		if have, err := p.DB.Checkpoint(ctx, source, key); err != nil || have == version {
			return false, err
		}
		if err := p.Bus.PublishIntake(ctx, source, body, source+"\x00"+key+"\x00"+version); err != nil {
			return false, err
		}
		return true, p.DB.SetCheckpoint(ctx, source, key, version)
	}
	ok, err := p.DB.SpoolOnce(ctx, source, key, version, body)
	if err != nil || !ok {
		return ok, err
	}
	p.Metrics.Spooled.Inc()
	p.backlog.Add(1)
	select {
	case p.wake <- struct{}{}:
	default:
	}
	if p.Lake != nil {
		p.Lake.Wake()
	}
	return true, nil
}

// Checkpoint reads a source's checkpoint.
func (p *Pipeline) Checkpoint(ctx context.Context, source, key string) (string, error) {
	return p.DB.Checkpoint(ctx, source, key)
}

// Run processes the spool until ctx ends.
func (p *Pipeline) Run(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		for {
			batch, err := p.DB.Pending(ctx, 0, 16)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if len(batch) == 0 {
				break
			}
			for _, s := range batch {
				if err := p.process(ctx, s); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					p.Log.Error("processing failed; the body stays spooled", "seq", s.Seq, "source", s.Source, "err", err)
					return err
				}
				p.mu.Lock()
				p.last = s.Seq
				p.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
		case <-tick.C:
		}
	}
}

// CurrentIntel is the indicator set in use (nil: none).
func (p *Pipeline) CurrentIntel() *enrich.Intel { return p.intel.Load() }

// SetIntel swaps in a new indicator set (a TAXII poll's); events decoded
// from then on are matched against it, and RetroIntelLoop runs its new
// indicators over the lake.
func (p *Pipeline) SetIntel(in *enrich.Intel) {
	p.intel.Store(in)
	select {
	case p.intelChanged <- struct{}{}:
	default:
	}
}

// Backlog is how many bodies wait in the spool (from the gauge, without
// a query).
func (p *Pipeline) Backlog() int { return int(p.backlog.Load()) }

// Processed is the last spool sequence fully processed.
func (p *Pipeline) Processed() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// WaitFor waits until every body up to seq is processed, or ctx ends.
func (p *Pipeline) WaitFor(ctx context.Context, seq int64) error {
	for p.Processed() < seq {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

func (p *Pipeline) process(ctx context.Context, s store.Spooled) error {
	p.pmu.Lock()
	defer p.pmu.Unlock()
	start := time.Now()
	in := ingest.Input{Name: fmt.Sprintf("%s#%d", s.Source, s.Seq), Size: int64(len(s.Body)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(s.Body)), nil }}
	if p.dedup == nil {
		p.dedup = detect.NewDedup(0, 0)
	}
	// The body's events are put in event-time order and records seen
	// before (at-least-once sources, overlapping exports) passed over,
	// before the rules; a body is bounded by the intake's limit, so it is
	// sorted in memory.
	ord := &detect.Order{Dedup: p.dedup, Memory: -1, Map: func(events []event.Event) *detect.Batch {
		if p.Enrich != nil {
			for i := range events {
				p.Enrich(&events[i])
			}
		}
		res := p.Rules.DetectBatch(events)
		if intel := p.intel.Load(); intel != nil {
			for i := range events {
				for _, m := range intel.Matches(&events[i]) {
					res.Findings = append(res.Findings, intelFinding(&events[i], m))
				}
			}
		}
		res.Findings = append(res.Findings, p.Paths.Findings(events)...)
		return res
	}}
	defer ord.Close()
	var findings []detect.Finding
	var events int
	st, err := ingest.Run(ctx, []ingest.Input{in}, ingest.Options{}, func(b *ingest.Batch) error {
		for _, e := range b.Errors {
			// Bad input is reported and counted, never silently dropped;
			// the rest of the body still counts.
			p.Log.Warn("bad input in an intake body", "err", e.Error())
		}
		for _, e := range b.Skipped {
			// Passed over on purpose (an empty body, a digest file).
			p.Log.Info("input skipped in an intake body", "notice", e.Error())
		}
		return ord.Add(b.Events)
	})
	if err != nil {
		return err
	}
	ost, err := ord.Run(ctx, func(evs []event.Event, res *detect.Batch) error {
		p.corr.Correlate(evs, res)
		if g := p.Incidents.Graph; g != nil {
			// The entity graph learns from every event before the body's
			// findings are filed.
			for i := range evs {
				g.Observe(&evs[i])
			}
		}
		if p.Changes != nil {
			for i := range evs {
				p.Changes.Observe(&evs[i])
			}
		}
		if p.UEBA != nil {
			for i := range evs {
				if f := p.UEBA.Observe(&evs[i]); f != nil {
					res.Findings = append(res.Findings, p.Paths.Annotate(*f))
				}
			}
		}
		events += len(evs)
		for i := range res.Findings {
			f := res.Findings[i]
			f.Record = append([]byte(nil), f.Record...) // the chunk is reused
			findings = append(findings, f)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if ost.Duplicates > 0 {
		p.Log.Info("duplicate records passed over", "source", s.Source, "duplicates", ost.Duplicates)
	}
	p.Metrics.Events.Add(float64(events))
	p.Metrics.Duplicates.Add(float64(ost.Duplicates))
	p.Metrics.BadRecords.Add(float64(st.BadRecords))
	p.Metrics.Stage.WithLabelValues("detect").Observe(time.Since(start).Seconds())
	var grown []detect.Finding
	if p.Aggregate != nil {
		findings, grown = p.aggregate(findings)
	}
	t := time.Now()
	findings, filed, err := p.store(ctx, &s, findings, grown)
	if err != nil {
		return err
	}
	if p.Changes != nil {
		if err := p.saveChanges(ctx); err != nil {
			return err
		}
	}
	p.Metrics.Latency.Observe(time.Since(s.Received).Seconds())
	p.Metrics.Stage.WithLabelValues("store").Observe(time.Since(t).Seconds())
	t = time.Now()
	if err := p.respond(ctx, findings, filed); err != nil {
		return err
	}
	p.Metrics.Stage.WithLabelValues("respond").Observe(time.Since(t).Seconds())
	return nil
}

// respond hands stored findings, with the incident each was filed into,
// to the playbooks.
func (p *Pipeline) respond(ctx context.Context, findings []detect.Finding, filed map[string]string) error {
	if p.Respond != nil {
		for i := range findings {
			line := report.AppendFindingJSON(nil, &findings[i])
			if rec := findings[i].Record; len(rec) > 0 {
				line = append(append(append(line[:len(line)-1], `,"record":`...), rec...), '}')
			}
			var err error
			if line, err = p.withIncident(ctx, line, findings[i].ID, filed); err != nil {
				return err
			}
			if p.RespondRewrite != nil {
				line = p.RespondRewrite(line)
			}
			f, err := respond.ParseFinding(line)
			if err != nil {
				return err
			}
			if _, err := p.Respond.Handle(ctx, f); err != nil {
				p.Log.Error("response failed", "finding", findings[i].ID, "err", err)
			}
		}
	}
	return nil
}

// aggregate merges a body's findings into their episodes. It returns the
// findings that opened an episode (with what the episode counts by the
// end of the body) and those not aggregated, in order, and the episodes
// opened in earlier bodies that grew.
func (p *Pipeline) aggregate(findings []detect.Finding) (opened, grown []detect.Finding) {
	type touched struct {
		ep  *detect.Finding
		new int // index in opened; -1: opened before this body
	}
	seen := map[string]touched{}
	var order []string
	for i := range findings {
		f := &findings[i]
		ep, isNew := p.Aggregate.Add(f)
		if !detect.Aggregated(f) {
			opened = append(opened, *f)
			continue
		}
		if _, ok := seen[ep.ID]; ok && !isNew {
			continue
		}
		at := -1
		if isNew {
			at = len(opened)
			opened = append(opened, *f) // the opening finding keeps its record
		}
		seen[ep.ID] = touched{ep: ep, new: at}
		order = append(order, ep.ID)
	}
	for _, id := range order {
		tc := seen[id]
		ep := tc.ep
		if tc.new < 0 {
			g := *ep
			g.EventIDs = slices.Clone(ep.EventIDs)
			grown = append(grown, g)
			continue
		}
		o := &opened[tc.new]
		o.Count, o.FirstSeen, o.LastSeen, o.EventIDs = ep.Count, ep.FirstSeen, ep.LastSeen, slices.Clone(ep.EventIDs)
	}
	// Closed episodes are stored already: nothing to write.
	p.Aggregate.Drain(nil)
	return opened, grown
}

// updateGrown replaces the stored finding of a behavioural session by
// its grown state (the same id: its level, rule, event ids, factors and
// title); res, when given, is the insert that tried first (nothing to do
// when it inserted). Other findings keep what was stored first.
func updateGrown(ctx context.Context, tx *store.Tx, f *detect.Finding, res sql.Result) error {
	if f.Source != "ueba" {
		return nil
	}
	if res != nil {
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
	}
	_, err := tx.ExecContext(ctx, `UPDATE findings SET level = ?, rule_id = ?, body = ? WHERE id = ?`,
		f.Level, f.RuleID, string(report.AppendFindingJSON(nil, f)), f.ID)
	return err
}

// store files the findings into incidents and writes both, updates the
// episodes that grew, then drops the body from the spool, in one
// transaction.
func (p *Pipeline) store(ctx context.Context, body *store.Spooled, findings, grown []detect.Finding) ([]detect.Finding, map[string]string, error) {
	var seq int64 // the spooled body's, 0: none (a bus body, findings from history)
	if body != nil {
		seq = body.Seq
	}
	// Matched before any lock is taken: an expensive suppression holds
	// up this body, never the API.
	sids := p.suppressedIDs(findings)
	// The incidents' lock before the store's connection, as CloseIncident
	// takes them: the other order deadlocks on SQLite's one connection.
	p.cmu.Lock()
	defer p.cmu.Unlock()
	tx, err := p.DB.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	changed := map[string]*correlate.Incident{}
	var mergedAway []*correlate.Incident // incidents merged into others, for OnChange
	// filed: the incident each finding this body opened was filed into
	// (what the playbooks see as incident_id).
	filed := map[string]string{}
	kept := findings[:0]
	for i := range findings {
		f := &findings[i]
		if sid := sids[i]; sid != "" {
			// Stored, counted, but neither filed into an incident nor
			// handed to the playbooks.
			body := report.AppendFindingJSON(nil, f)
			res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO findings (id, incident_id, time, level, rule_id, created, body, account) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				f.ID, "suppressed:"+sid, f.Time.UTC().Format(time.RFC3339Nano), f.Level, f.RuleID, now, string(body), f.Cloud.Account)
			if err != nil {
				return nil, nil, err
			}
			if err := updateGrown(ctx, tx, f, res); err != nil {
				return nil, nil, err
			}
			if n, _ := res.RowsAffected(); n > 0 { // a replayed body's are stored already
				p.Metrics.Suppressed.Inc()
			}
			continue
		}
		kept = append(kept, *f)
		in, fresh := p.Incidents.Add(f)
		if !fresh {
			// Filed already: a replayed body's, or a behavioural session's
			// finding that grew, which replaces the stored one.
			if err := updateGrown(ctx, tx, f, nil); err != nil {
				return nil, nil, err
			}
			continue
		}
		// A signal no incident takes yet is stored without one (""); an
		// incident this finding opens takes the signals that waited.
		incidentID := ""
		if in != nil {
			changed[in.ID] = in
			incidentID = in.ID
			filed[f.ID] = in.ID
			for _, id := range p.Incidents.Attached() {
				if _, err := tx.ExecContext(ctx, `UPDATE findings SET incident_id = ? WHERE id = ? AND incident_id = ''`, in.ID, id); err != nil {
					return nil, nil, err
				}
			}
			// Incidents this finding joined: their findings move to the one
			// that took them; the merged row stays as a pointer.
			for _, m := range p.Incidents.Merged() {
				if _, err := tx.ExecContext(ctx, `UPDATE findings SET incident_id = ? WHERE incident_id = ?`, m.Into, m.From); err != nil {
					return nil, nil, err
				}
				if err := mergeStored(ctx, tx, m, now); err != nil {
					return nil, nil, err
				}
				delete(changed, m.From)
				if m.Merged != nil {
					mergedAway = append(mergedAway, m.Merged)
				}
				for id, inc := range filed {
					if inc == m.From {
						filed[id] = m.Into
					}
				}
			}
		}
		body := report.AppendFindingJSON(nil, f)
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO findings (id, incident_id, time, level, rule_id, created, body, account) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			f.ID, incidentID, f.Time.UTC().Format(time.RFC3339Nano), f.Level, f.RuleID, now, string(body), f.Cloud.Account)
		if err != nil {
			return nil, nil, err
		}
		if len(f.Record) > 0 && len(f.EventIDs) > 0 && json.Valid(f.Record) {
			// The native record behind the finding, for the analyst.
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO events (id, body) VALUES (?, ?)`, f.EventIDs[0], string(f.Record)); err != nil {
				return nil, nil, err
			}
		}
		if n, _ := res.RowsAffected(); n > 0 {
			p.Metrics.Findings.WithLabelValues(f.Level).Inc()
			p.Metrics.MTTD.Observe(time.Since(f.Time).Seconds())
		}
	}
	for i := range grown {
		// The stored finding of an episode that opened in an earlier body:
		// its count, last_seen and event ids change, nothing else (it was
		// filed, counted and acted on when it opened).
		f := &grown[i]
		if _, err := tx.ExecContext(ctx, `UPDATE findings SET body = ? WHERE id = ?`, string(report.AppendFindingJSON(nil, f)), f.ID); err != nil {
			return nil, nil, err
		}
	}
	opened := 0
	for _, in := range changed {
		// Counted when its row is new, whatever its findings so far.
		var stored int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM incidents WHERE id = ?`, in.ID).Scan(&stored); err != nil {
			return nil, nil, err
		}
		if stored == 0 {
			opened++
		}
		body, _ := json.Marshal(in)
		_, err := tx.ExecContext(ctx, `INSERT INTO incidents (id, status, risk, first, last, updated, body, account) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET status = excluded.status, risk = excluded.risk, first = excluded.first, last = excluded.last, updated = excluded.updated, body = excluded.body, account = excluded.account`,
			in.ID, in.Status, in.Risk, in.First.UTC().Format(time.RFC3339Nano), in.Last.UTC().Format(time.RFC3339Nano), now, string(body), in.Account)
		if err != nil {
			return nil, nil, err
		}
	}
	if g := p.Incidents.Graph; g != nil && g.Changed() && time.Since(p.graphSaved) > GraphSaveEvery {
		// The graph is kept with what it learnt from: a restart resumes
		// from it (what it learnt since the last save, at most
		// GraphSaveEvery, is lost: launch records and key creations of that
		// minute no longer join later findings).
		snap, err := g.Snapshot()
		if err != nil {
			return nil, nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO checkpoints (source, key, value) VALUES ('correlate', 'graph', ?) ON CONFLICT (source, key) DO UPDATE SET value = excluded.value`, string(snap)); err != nil {
			return nil, nil, err
		}
		p.graphSaved = time.Now()
	}
	switch {
	case seq > 0:
		if err := p.DB.Processed(ctx, tx, seq, p.Lake != nil); err != nil {
			return nil, nil, err
		}
	case body != nil && p.Lake != nil && p.Lake.Bus >= 0:
		// A bus body: kept for this worker's lake feed, with its findings
		// (the bus message is acknowledged once this commits).
		if err := p.DB.SpoolForLake(ctx, tx, p.Lake.Bus, body.Source, body.Body); err != nil {
			return nil, nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, err
	}
	p.Metrics.Incidents.Add(float64(opened))
	if seq > 0 {
		p.Metrics.Spooled.Dec()
		p.backlog.Add(-1)
	}
	// Incidents that can take no more findings leave memory (they stay
	// in the store).
	var latest time.Time
	for i := range kept {
		if kept[i].Time.After(latest) {
			latest = kept[i].Time
		}
	}
	if !latest.IsZero() {
		p.Incidents.Evict(latest)
	}
	if p.OnChange != nil {
		for _, in := range changed {
			p.OnChange("incident", in)
		}
		for _, in := range mergedAway {
			p.OnChange("incident", in)
		}
	}
	return kept, filed, nil
}

// loadSignals reads the most recent signals no incident took yet (stored
// with an empty incident id), oldest first, for the correlator to file
// into an incident opened after a restart.
func loadSignals(ctx context.Context, db *store.DB, limit int) ([]*detect.Finding, error) {
	rows, err := db.QueryContext(ctx, `SELECT body FROM findings WHERE incident_id = '' ORDER BY time DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*detect.Finding
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		f, err := report.ParseFindingJSON([]byte(body))
		if err != nil {
			return nil, fmt.Errorf("stored signal: %w", err)
		}
		out = append(out, &f)
	}
	slices.Reverse(out)
	return out, rows.Err()
}

// maxReopen bounds the stored findings read back at start to reopen their
// episodes.
const maxReopen = 20_000

// reopenEpisodes reads back the most recent stored findings and reopens
// the episodes among them still open as of the newest (within the
// aggregation window of the latest last_seen): after a restart their
// further events grow the stored finding (no new finding, no second run
// of its playbooks).
func (p *Pipeline) reopenEpisodes(ctx context.Context) error {
	rows, err := p.DB.QueryContext(ctx, `SELECT body FROM findings ORDER BY time DESC LIMIT ?`, maxReopen)
	if err != nil {
		return err
	}
	defer rows.Close()
	var fs []detect.Finding
	var newest time.Time
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return err
		}
		f, err := report.ParseFindingJSON([]byte(body))
		if err != nil {
			return err
		}
		if !detect.Aggregated(&f) {
			continue
		}
		if f.LastSeen.IsZero() {
			f.LastSeen = f.Time
		}
		if f.LastSeen.After(newest) {
			newest = f.LastSeen
		}
		fs = append(fs, f)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	window := p.Aggregate.Window
	if window <= 0 {
		window = detect.DefaultAggregateWindow
	}
	n := 0
	for i := len(fs) - 1; i >= 0; i-- { // oldest first
		if newest.Sub(fs[i].LastSeen) <= window {
			p.Aggregate.Reopen(fs[i])
			n++
		}
	}
	if n > 0 {
		p.Log.Info("episodes reopened from the store", "episodes", n)
	}
	return nil
}

// LoadIncidents reads the most recent incidents (by last finding).
func LoadIncidents(ctx context.Context, db *store.DB, limit int) ([]*correlate.Incident, error) {
	return FindIncidents(ctx, db, IncidentFilter{Limit: limit, Merged: true})
}

// GraphSaveEvery is how often, at most, the entity graph is written to
// the store.
var GraphSaveEvery = time.Minute

// mergeStored marks a stored incident as merged into another.
func mergeStored(ctx context.Context, tx *store.Tx, m correlate.Merge, now string) error {
	var body string
	err := tx.QueryRowContext(ctx, `SELECT body FROM incidents WHERE id = ?`, m.From).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	var in correlate.Incident
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		return err
	}
	in.Status, in.MergedInto = "merged", m.Into
	b, _ := json.Marshal(&in)
	_, err = tx.ExecContext(ctx, `UPDATE incidents SET status = 'merged', updated = ?, body = ? WHERE id = ?`, now, string(b), m.From)
	return err
}

// IncidentFilter selects incidents; zero fields select all.
type IncidentFilter struct {
	Status  string  // open or closed
	MinRisk float64 // at least this risk
	Query   string  // case-insensitive text anywhere in the incident (title, principal, account, resources, tactics)
	Limit   int     // default 100
	ByRisk  bool    // highest risk first (then most recent) instead of most recent first
	// Merged includes incidents merged into others (status "merged"),
	// which are left out unless Status asks for them.
	Merged bool
	// Accounts, when not empty, keeps the incidents opened in one of these
	// accounts or holding a finding from one (exact ids).
	Accounts []string
}

// FindIncidents lists the incidents a filter selects, most recent first
// (or by risk).
func FindIncidents(ctx context.Context, db *store.DB, f IncidentFilter) ([]*correlate.Incident, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q := `SELECT body FROM incidents WHERE (? = '' OR status = ?) AND risk >= ?`
	args := []any{f.Status, f.Status, f.MinRisk}
	if f.Status == "" && !f.Merged {
		q += ` AND status <> 'merged'`
	}
	if len(f.Accounts) > 0 {
		own, args1 := store.In("account", f.Accounts)
		theirs, args2 := store.In("account", f.Accounts)
		q += ` AND id IN (SELECT id FROM incidents WHERE ` + own + ` UNION SELECT incident_id FROM findings WHERE ` + theirs + `)`
		args = append(append(args, args1...), args2...)
	}
	if f.Query != "" {
		q += ` AND LOWER(body) LIKE ? ESCAPE '\'`
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(f.Query))
		args = append(args, "%"+esc+"%")
	}
	if f.ByRisk {
		q += ` ORDER BY risk DESC, last DESC LIMIT ?`
	} else {
		q += ` ORDER BY last DESC LIMIT ?`
	}
	args = append(args, f.Limit)
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*correlate.Incident{}
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		var in correlate.Incident
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			return nil, err
		}
		out = append(out, &in)
	}
	return out, rows.Err()
}

// FindingFilter selects findings; zero fields select all.
type FindingFilter struct {
	Level    string   // exactly this level
	Accounts []string // when not empty: findings in one of these accounts (exact ids)
	Limit    int      // default 100
}

// StoredFinding is a finding as stored: its JSON and its account.
type StoredFinding struct {
	Body    json.RawMessage
	Account string
}

// FindFindings lists the findings a filter selects, newest first.
func FindFindings(ctx context.Context, db *store.DB, f FindingFilter) ([]StoredFinding, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q := `SELECT body, account FROM findings WHERE (? = '' OR level = ?)`
	args := []any{f.Level, f.Level}
	if len(f.Accounts) > 0 {
		c, a := store.In("account", f.Accounts)
		q += ` AND ` + c
		args = append(args, a...)
	}
	q += ` ORDER BY time DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []StoredFinding{}
	for rows.Next() {
		var b, account string
		if err := rows.Scan(&b, &account); err != nil {
			return nil, err
		}
		out = append(out, StoredFinding{Body: json.RawMessage(b), Account: account})
	}
	return out, rows.Err()
}

// Incident reads one incident and its findings (JSON objects). The id of
// an incident merged into another reads the one that took its findings.
func Incident(ctx context.Context, db *store.DB, id string) (*correlate.Incident, []json.RawMessage, error) {
	var in correlate.Incident
	for hop := 0; ; hop++ {
		var body string
		err := db.QueryRowContext(ctx, `SELECT body FROM incidents WHERE id = ?`, id).Scan(&body)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
		in = correlate.Incident{}
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			return nil, nil, err
		}
		// A merged incident answers with the one that took its findings.
		if in.Status != "merged" || in.MergedInto == "" || hop == 8 {
			break
		}
		id = in.MergedInto
	}
	rows, err := db.QueryContext(ctx, `SELECT body FROM findings WHERE incident_id = ? ORDER BY time`, id)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var fs []json.RawMessage
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			return nil, nil, err
		}
		fs = append(fs, json.RawMessage(b))
	}
	return &in, fs, rows.Err()
}

// withIncident adds to a finding's JSON line the id of the incident it was
// filed into (incident_id: what ticket actions key their tickets by and
// link back to), when it was filed into one: from filed, what this body's
// store just filed, else (a replayed or stored finding) from the store.
func (p *Pipeline) withIncident(ctx context.Context, line []byte, findingID string, filed map[string]string) ([]byte, error) {
	id, ok := filed[findingID]
	var err error
	if !ok {
		err = p.DB.QueryRowContext(ctx, `SELECT incident_id FROM findings WHERE id = ?`, findingID).Scan(&id)
	}
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (id == "" || strings.HasPrefix(id, "suppressed:"))) {
		return line, nil
	}
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[len(line)-1] != '}' {
		return line, nil
	}
	q, _ := json.Marshal(id)
	return append(append(append(line[:len(line)-1:len(line)-1], `,"incident_id":`...), q...), '}'), nil
}
