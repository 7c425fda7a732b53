package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/lake"
	"github.com/parapet-sec/parapet/internal/store"
)

// LakeFeed writes every event of the spool into the data lake, beside
// the processor: it reads the spooled bodies whose events are not in the
// lake (processed or not), decodes and enriches them as the processor
// does, and hands their events to the lake writer (in its Recent mode:
// nothing is written but by Flush). Every FlushEvery, or once
// FlushBuffered bytes of rows wait, it flushes: it marks the bodies read
// since the last flush as flushing, flushes the writer, then marks them
// written; the spool drops a body once the processor and the feed both
// have it (store.Processed, store.SetLake).
//
// Exactly once across kill -9: a body whose events may be missing from
// lake files stays spooled. A crash before a flush began leaves its bodies
// unread, read again on restart. A crash during a flush leaves them
// flushing: on restart the feed reads exactly those bodies again and
// flushes them alone, which writes the same rows per partition, hence the
// same file names (a file is named for its rows' keys), and the files the
// cut flush published replace themselves. Copies delivered again (the
// same record in two bodies) are passed over by the writer's memory of
// recent keys, and any older copy by compaction.
type LakeFeed struct {
	DB     *store.DB
	Writer *lake.Writer // opened with Options.Recent
	// Enrich, when set, enriches each event before it is written (the
	// processor's enrichment: geolocation, ASN, cloud ranges).
	Enrich func(*event.Event)
	Log    *slog.Logger
	// FlushEvery: how often buffered events are written as files and the
	// spool trimmed (default 5m). FlushBuffered: or once this many bytes of
	// rows wait (default 64 MiB).
	FlushEvery    time.Duration
	FlushBuffered int64
	// CompactEvery: how often the lake's small files are merged and its
	// retention applied (0: never; Retention 0: kept forever).
	CompactEvery time.Duration
	Retention    time.Duration
	// Bus is the bus worker this feed belongs to (-1: serve on its own
	// spool, the default of NewLakeFeed). On the bus, each worker keeps the
	// bodies it processed (for its partitions: its accounts, so workers
	// write disjoint lake partitions) with their findings, and its feed
	// reads only those (worker 0 also what was spooled before the bus).
	Bus int

	m    lakeMetrics
	wake chan struct{}
	read []int64 // bodies read since the last flush
	seen map[int64]bool
}

type lakeMetrics struct {
	events, bodies, files, errors prometheus.Counter
	behind                        prometheus.Gauge
	flush                         prometheus.Histogram
}

// NewLakeFeed makes a feed whose metrics (parapet_lake_*) are registered
// with reg (nil: not registered).
func NewLakeFeed(db *store.DB, w *lake.Writer, reg prometheus.Registerer) *LakeFeed {
	f := &LakeFeed{DB: db, Writer: w, wake: make(chan struct{}, 1), Bus: -1}
	f.m = lakeMetrics{
		events: prometheus.NewCounter(prometheus.CounterOpts{Name: "parapet_lake_events_total", Help: "Events written into the data lake (copies of events a lake file already holds not counted)."}),
		bodies: prometheus.NewCounter(prometheus.CounterOpts{Name: "parapet_lake_bodies_total", Help: "Spooled bodies whose events the lake feed read."}),
		files:  prometheus.NewCounter(prometheus.CounterOpts{Name: "parapet_lake_files_total", Help: "Parquet files written into the data lake."}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "parapet_lake_errors_total", Help: "Lake writes or flushes that failed (retried; the bodies stay spooled)."}),
		behind: prometheus.NewGauge(prometheus.GaugeOpts{Name: "parapet_lake_behind_bodies", Help: "Spooled bodies read by the lake feed whose events are not yet in lake files."}),
		flush: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "parapet_lake_flush_seconds", Help: "Time to write the lake's buffered events as files.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 9)}),
	}
	if reg != nil {
		reg.MustRegister(f.m.events, f.m.bodies, f.m.files, f.m.errors, f.m.behind, f.m.flush)
	}
	return f
}

// Wake tells the feed a body was spooled.
func (f *LakeFeed) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Run feeds the lake until ctx ends, then flushes what it read.
func (f *LakeFeed) Run(ctx context.Context) error {
	if f.Log == nil {
		f.Log = slog.New(slog.DiscardHandler)
	}
	if f.FlushEvery <= 0 {
		f.FlushEvery = 5 * time.Minute
	}
	if f.FlushBuffered <= 0 {
		f.FlushBuffered = 64 << 20
	}
	if f.wake == nil {
		f.wake = make(chan struct{}, 1)
	}
	f.seen = map[int64]bool{}
	backoff := time.Second
	pause := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
		return true
	}
	// A flush a crash cut: the same bodies, alone, as the same files.
	for {
		seqs, err := f.DB.LakeInFlush(ctx, f.Bus)
		if err == nil && len(seqs) > 0 {
			f.Log.Info("the lake's last flush was cut: writing its bodies again", "bodies", len(seqs))
			err = f.readSeqs(ctx, seqs)
			if err == nil {
				err = f.flush(ctx)
			}
		}
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		f.Log.Error("the lake's replay failed; retrying", "err", err)
		f.m.errors.Inc()
		if !pause() {
			return nil
		}
	}
	defer func() {
		// A clean stop leaves nothing for the next start to read again.
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := f.flush(sctx); err != nil {
			f.Log.Error("the lake's last flush failed; its bodies stay spooled and are written on the next start", "err", err)
		}
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var after int64
	lastFlush, lastCompact := time.Now(), time.Now()
	for {
		batch, err := f.DB.LakeUnread(ctx, f.Bus, after, 16)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, s := range batch {
			if err := f.feed(ctx, s); err != nil {
				return nil // ctx ended
			}
			after = s.Seq
		}
		if len(f.read) > 0 && (f.Writer.Buffered() >= f.FlushBuffered || time.Since(lastFlush) >= f.FlushEvery) {
			if err := f.flush(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				f.Log.Error("lake flush failed; retrying, its bodies stay spooled", "err", err)
				f.m.errors.Inc()
				if !pause() {
					return nil
				}
				continue
			}
			backoff, lastFlush = time.Second, time.Now()
		}
		if f.CompactEvery > 0 && time.Since(lastCompact) >= f.CompactEvery {
			lastCompact = time.Now()
			st, err := f.Writer.Compact(ctx, lake.CompactOptions{Retention: f.Retention})
			if err != nil && ctx.Err() == nil {
				f.Log.Error("lake compaction failed", "err", err)
			} else if st.FilesMerged > 0 || st.Pruned > 0 {
				f.Log.Info("lake compacted", "partitions", st.Partitions, "files_merged", st.FilesMerged, "files_written", st.FilesWritten, "pruned", st.Pruned)
			}
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-f.wake:
		case <-tick.C:
		}
	}
}

// readSeqs feeds the bodies of some sequences.
func (f *LakeFeed) readSeqs(ctx context.Context, seqs []int64) error {
	bodies, err := f.DB.SpooledBodies(ctx, seqs)
	if err != nil {
		return err
	}
	for _, s := range bodies {
		if err := f.feed(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// flush writes the buffered events of the bodies read since the last
// flush as files and marks those bodies written.
func (f *LakeFeed) flush(ctx context.Context) error {
	if len(f.read) == 0 {
		return nil
	}
	// Bodies whose insert committed after later ones (PostgreSQL hands out
	// sequences before commit) are read now, not skipped.
	last := slices.Max(f.read)
	unread, err := f.DB.LakeUnreadBefore(ctx, f.Bus, last)
	if err != nil {
		return err
	}
	unread = slices.DeleteFunc(unread, func(s int64) bool { return f.seen[s] })
	if len(unread) > 0 {
		if err := f.readSeqs(ctx, unread); err != nil {
			return err
		}
	}
	t := time.Now()
	if _, err := f.DB.SetLake(ctx, f.read, store.LakeFlushing); err != nil {
		return err
	}
	before := f.Writer.Stats()
	if err := f.Writer.Flush(ctx); err != nil {
		return fmt.Errorf("lake flush: %w", err)
	}
	trimmed, err := f.DB.SetLake(ctx, f.read, store.LakeWritten)
	if err != nil {
		return err
	}
	after := f.Writer.Stats()
	f.m.files.Add(float64(after.Files - before.Files))
	f.m.flush.Observe(time.Since(t).Seconds())
	f.m.behind.Set(0)
	f.Log.Debug("lake flushed", "bodies", len(f.read), "files", after.Files-before.Files, "spool_trimmed", trimmed)
	f.read, f.seen = f.read[:0], map[int64]bool{}
	return nil
}

// feed writes one body's events into the writer's buffer; it fails only
// when ctx ends. A body whose events cannot be converted is reported and
// counted as read (the processor reports its bad records).
func (f *LakeFeed) feed(ctx context.Context, s store.Spooled) error {
	in := ingest.Input{Name: fmt.Sprintf("%s#%d", s.Source, s.Seq), Size: int64(len(s.Body)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(s.Body)), nil }}
	dups := f.Writer.Stats().Duplicates
	var offered int64
	_, err := ingest.Run(ctx, []ingest.Input{in}, ingest.Options{}, func(b *ingest.Batch) error {
		if f.Enrich != nil {
			for i := range b.Events {
				f.Enrich(&b.Events[i])
			}
		}
		offered += int64(len(b.Events))
		return f.Writer.Write(ctx, b.Events)
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		f.Log.Error("events of an intake body could not be written to the lake", "seq", s.Seq, "source", s.Source, "err", err)
		f.m.errors.Inc()
	}
	f.m.events.Add(float64(offered - (f.Writer.Stats().Duplicates - dups)))
	f.m.bodies.Inc()
	f.read = append(f.read, s.Seq)
	f.seen[s.Seq] = true
	f.m.behind.Set(float64(len(f.read)))
	return nil
}
