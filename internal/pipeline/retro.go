package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/enrich"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/hunt"
	"github.com/parapet-sec/parapet/internal/lake"
)

// RetroStats sum up a retroactive run.
type RetroStats struct {
	Hunt     hunt.Stats
	Findings int // findings filed (new to the store or not)
	Seconds  float64
}

// retroChunk is how many findings a retroactive run files at once.
const retroChunk = 1000

// Retro runs a hunt over the lake and files what it finds as the
// processor files a body's findings — stored, aggregated into episodes,
// filed into incidents, handed to the playbooks — each marked retro
// (detect.Finding.Retro: playbooks wait for approval on it unless they say
// otherwise). Finding ids are those live detection would have given, so
// a finding already stored is not stored or acted on twice.
func (p *Pipeline) Retro(ctx context.Context, l *lake.Lake, q hunt.Query, why string) (RetroStats, error) {
	start := time.Now()
	var st RetroStats
	var batch []detect.Finding
	file := func() error {
		if len(batch) == 0 {
			return nil
		}
		slices.SortStableFunc(batch, func(a, b detect.Finding) int { return a.Time.Compare(b.Time) })
		if err := p.fileRetro(ctx, batch); err != nil {
			return err
		}
		st.Findings += len(batch)
		batch = batch[:0]
		return nil
	}
	hs, err := hunt.Run(ctx, l, q, func(_ *event.Event, found []detect.Finding) error {
		for i := range found {
			f := found[i]
			f.Record = slices.Clone(f.Record)
			f.Retro = true
			batch = append(batch, f)
		}
		if len(batch) >= retroChunk {
			return file()
		}
		return nil
	})
	st.Hunt = hs
	if err == nil {
		err = file()
	}
	st.Seconds = time.Since(start).Seconds()
	if err != nil {
		return st, err
	}
	p.Log.Info("retroactive detection", "why", why, "since", q.Since.Format(time.RFC3339), "events", hs.Events, "files_read", hs.FilesRead,
		"findings", st.Findings, "seconds", fmt.Sprintf("%.1f", st.Seconds))
	return st, nil
}

// fileRetro files findings from history, one body's worth, in the
// processor's order (one body at a time).
func (p *Pipeline) fileRetro(ctx context.Context, findings []detect.Finding) error {
	p.pmu.Lock()
	defer p.pmu.Unlock()
	var grown []detect.Finding
	if p.Aggregate != nil {
		findings, grown = p.aggregate(findings)
	}
	kept, filed, err := p.store(ctx, nil, findings, grown)
	if err != nil {
		return err
	}
	return p.respond(ctx, kept, filed)
}

// RetroRules runs over the lake's last lookback the rules that are new
// or changed (by sigma.Rule.Digest) since the digests the store keeps
// (checkpoint retro/rules), then keeps the new digests. With no digests
// kept (the first start) it only keeps them. Correlation rules are not
// run over history. It returns the ids of the rules it ran.
func (p *Pipeline) RetroRules(ctx context.Context, l *lake.Lake, rules []*sigma.Rule, lookback time.Duration, now time.Time) ([]string, RetroStats, error) {
	digests := map[string]string{}
	for _, r := range rules {
		digests[r.ID] = r.Digest
	}
	var st RetroStats
	saved, err := p.DB.Checkpoint(ctx, "retro", "rules")
	if err != nil {
		return nil, st, err
	}
	var ran []string
	if saved != "" {
		var before map[string]string
		if err := json.Unmarshal([]byte(saved), &before); err != nil {
			return nil, st, fmt.Errorf("the stored rule digests: %w", err)
		}
		var run []*sigma.Rule
		for _, r := range rules {
			if r.Correlation == nil && before[r.ID] != r.Digest {
				run = append(run, r)
				ran = append(ran, r.ID)
			}
		}
		if len(run) > 0 {
			eng := detect.NewEngine(run)
			q := hunt.Query{Engine: eng, Since: now.Add(-lookback), Until: now}
			st, err = p.Retro(ctx, l, q, fmt.Sprintf("%d new or changed rules", len(run)))
			if err != nil {
				return ran, st, err
			}
		}
	}
	b, _ := json.Marshal(digests)
	if err := p.DB.SetCheckpoint(ctx, "retro", "rules", string(b)); err != nil {
		return ran, st, err
	}
	return ran, st, nil
}

// RetroIntel runs, over the lake's last lookback, the indicators of in
// that the store does not list as run (checkpoint retro/intel), then lists
// in's. With none listed (the first start) it only lists them. It returns
// how many indicators were new.
func (p *Pipeline) RetroIntel(ctx context.Context, l *lake.Lake, in *enrich.Intel, lookback time.Duration, now time.Time) (int, RetroStats, error) {
	p.retroMu.Lock()
	defer p.retroMu.Unlock()
	var st RetroStats
	if in == nil {
		return 0, st, nil
	}
	saved, err := p.DB.Checkpoint(ctx, "retro", "intel")
	if err != nil {
		return 0, st, err
	}
	fresh := 0
	if saved != "" {
		var keys []string
		if err := json.Unmarshal([]byte(saved), &keys); err != nil {
			return 0, st, fmt.Errorf("the stored indicator list: %w", err)
		}
		known := make(map[string]bool, len(keys))
		for _, k := range keys {
			known[k] = true
		}
		n := in.Without(known)
		if fresh = n.Len(); fresh > 0 {
			q := hunt.Query{Intel: n, Since: now.Add(-lookback), Until: now}
			if st, err = p.Retro(ctx, l, q, fmt.Sprintf("%d new indicators", fresh)); err != nil {
				return fresh, st, err
			}
		}
	}
	b, _ := json.Marshal(in.Keys())
	return fresh, st, p.DB.SetCheckpoint(ctx, "retro", "intel", string(b))
}

// RetroIntelLoop runs RetroIntel with the current indicators at start
// and whenever they change (SetIntel), until ctx ends.
func (p *Pipeline) RetroIntelLoop(ctx context.Context, l *lake.Lake, lookback time.Duration) {
	for {
		fresh, st, err := p.RetroIntel(ctx, l, p.CurrentIntel(), lookback, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			p.Log.Error("retroactive detection of new indicators failed; it runs again when the indicators next change", "err", err)
		case fresh > 0:
			p.Log.Info("new indicators ran over the lake", "indicators", fresh, "look_back", lookback, "events", st.Hunt.Events, "findings", st.Findings)
		}
		select {
		case <-ctx.Done():
			return
		case <-p.intelChanged:
		}
	}
}
