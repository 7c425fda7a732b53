package detect_test

import (
	"context"
	"github.com/parapet-sec/parapet/internal/enrich"
	"os"
	"path/filepath"
	"testing"

	"github.com/parapet-sec/parapet/internal/demo"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/detect/ueba"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/ingest/file"
	"github.com/parapet-sec/parapet/internal/sharedtest"
)

// BenchmarkDetect: the whole detect path (read, gunzip, decode, normalize,
// the builtin pack and SigmaHQ's 57 AWS CloudTrail rules, findings) over
// the demo week.
func BenchmarkDetect(b *testing.B) {
	rules, engine, inputs := demoWeek(b)
	var events, findings int64
	b.ReportAllocs()
	for b.Loop() {
		events, findings = 0, 0
		correlator := engine.NewCorrelator()
		st, err := ingest.Run(context.Background(), inputs, ingest.Options{Map: func(bt *ingest.Batch) {
			bt.Data = engine.DetectBatch(bt.Events)
		}}, func(bt *ingest.Batch) error {
			res := bt.Data.(*detect.Batch)
			correlator.Correlate(bt.Events, res)
			findings += int64(len(res.Findings))
			return nil
		})
		if err != nil || st.Bad() {
			b.Fatal(err, st.Errors)
		}
		events = st.Events
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(findings), "findings")
	b.ReportMetric(float64(len(rules)), "rules")
}

// BenchmarkDetectOrdered: the path parapet detect takes since it detects
// in event-time order (detect.Order): the same work as BenchmarkDetect
// plus request enrichment, holding the events, sorting them by event time, passing over
// copies of records, and running the rules on every core after the sort.
func BenchmarkDetectOrdered(b *testing.B) {
	benchOrdered(b, true, false, false)
}

// BenchmarkDetectOrderedBuiltin: BenchmarkDetectOrdered with the builtin
// pack alone (no SigmaHQ rules: their AWS STS AssumeRole Misuse fires on
// most assumed-role calls of the demo, 7,535 of its 8,075 findings).
func BenchmarkDetectOrderedBuiltin(b *testing.B) {
	benchOrdered(b, false, false, false)
}

// BenchmarkDetectSparse: BenchmarkDetectOrdered as parapet detect runs
// without behavioural models or playbooks: events are marked as they are
// read (Engine.MayFind, after enrichment) and only those a rule matches
// are held for ordering (Order.AddSparse).
func BenchmarkDetectSparse(b *testing.B) {
	benchOrdered(b, true, true, false)
}

// BenchmarkDetectSparseBuiltin: BenchmarkDetectSparse with the builtin
// pack alone.
func BenchmarkDetectSparseBuiltin(b *testing.B) {
	benchOrdered(b, false, true, false)
}

// BenchmarkDetectUEBABuiltin: the builtin pack and the behavioural models,
// as parapet detect runs by default (every event held for ordering, the
// models observing each in order, each session's finding once).
func BenchmarkDetectUEBABuiltin(b *testing.B) {
	benchOrdered(b, false, false, true)
}

func benchOrdered(b *testing.B, sigmaHQ, sparse, withUEBA bool) {
	rules, engine, inputs := demoWeekWith(b, sigmaHQ)
	var events, findings int64
	b.ReportAllocs()
	for b.Loop() {
		events, findings = 0, 0
		correlator := engine.NewCorrelator()
		var ue *ueba.Engine
		if withUEBA {
			ue = ueba.New(ueba.Config{Final: true})
		}
		mapFn := enriched(engine)
		ord := &detect.Order{Map: mapFn, Dedup: detect.NewDedup(0, 0)}
		opt := ingest.Options{}
		if sparse {
			mark := enrichedMarks(engine)
			opt.Map = func(bt *ingest.Batch) { bt.Data = mark(bt.Events) }
			opt.Recycle = true
		}
		st, err := ingest.Run(context.Background(), inputs, opt, func(bt *ingest.Batch) error {
			if sparse {
				keep, _ := bt.Data.([]bool)
				return ord.AddSparse(bt.Events, keep)
			}
			return ord.Add(bt.Events)
		})
		if err != nil || st.Bad() {
			b.Fatal(err, st.Errors)
		}
		ost, err := ord.Run(context.Background(), func(evs []event.Event, res *detect.Batch) error {
			correlator.Correlate(evs, res)
			if ue != nil {
				for i := range evs {
					ue.Observe(&evs[i])
				}
				res.Findings = ue.Closed(res.Findings)
			}
			findings += int64(len(res.Findings))
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if ue != nil {
			findings += int64(len(ue.Flush(nil)))
		}
		events = ost.Events
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(findings), "findings")
	b.ReportMetric(float64(len(rules)), "rules")
}

// BenchmarkDetectAggregated: BenchmarkDetectOrdered's path with findings
// merged into episodes (detect.Aggregator, correlations once per
// episode), as parapet detect runs by default.
func BenchmarkDetectAggregated(b *testing.B) {
	rules, engine, inputs := demoWeek(b)
	var events, findings int64
	b.ReportAllocs()
	for b.Loop() {
		events, findings = 0, 0
		correlator := engine.NewCorrelator()
		correlator.Episodes = true
		agg := detect.NewAggregator(0)
		agg.Hold = true
		var done []detect.Finding
		ord := &detect.Order{Map: enriched(engine), Dedup: detect.NewDedup(0, 0)}
		st, err := ingest.Run(context.Background(), inputs, ingest.Options{}, func(bt *ingest.Batch) error {
			return ord.Add(bt.Events)
		})
		if err != nil || st.Bad() {
			b.Fatal(err, st.Errors)
		}
		ost, err := ord.Run(context.Background(), func(evs []event.Event, res *detect.Batch) error {
			correlator.Correlate(evs, res)
			for i := range res.Findings {
				agg.Add(&res.Findings[i])
			}
			done = agg.Drain(done[:0])
			findings += int64(len(done))
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		findings += int64(len(agg.Flush(done[:0])))
		events = ost.Events
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(findings), "findings")
	b.ReportMetric(float64(len(rules)), "rules")
}

// demoWeek is the benchmarks' workload: the builtin pack and SigmaHQ's AWS
// CloudTrail rules over the demo week's files.
func demoWeek(b *testing.B) ([]*sigma.Rule, *detect.Engine, []ingest.Input) {
	return demoWeekWith(b, true)
}

// demoWeekWith is demoWeek with or without SigmaHQ's rules.
func demoWeekWith(b *testing.B, sigmaHQ bool) ([]*sigma.Rule, *detect.Engine, []ingest.Input) {
	rules := builtin(&testing.T{})
	if sigmaHQ {
		more, errs := sigma.Load(os.DirFS(sharedtest.Path(b, "sigma/rules/cloud/aws")), ".", sigma.Options{})
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		rules = append(rules, more...)
	}
	dir := filepath.Join(b.TempDir(), "demo")
	if _, err := demo.Generate(demo.Config{Dir: dir, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	inputs, err := file.Inputs([]string{filepath.Join(dir, "AWSLogs")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return rules, detect.NewEngine(rules), inputs
}

// enriched is what parapet detect runs on a batch: request enrichment
// (parapet.* fields), then the rules.
func enriched(engine *detect.Engine) func([]event.Event) *detect.Batch {
	req := enrich.NewRequests(nil)
	return func(evs []event.Event) *detect.Batch {
		for i := range evs {
			req.Enrich(&evs[i])
		}
		return engine.DetectBatch(evs)
	}
}

// enrichedMarks is enriched's first pass in a sparse run: enrichment,
// then which events the rules may find something in.
func enrichedMarks(engine *detect.Engine) func([]event.Event) []bool {
	req := enrich.NewRequests(nil)
	return func(evs []event.Event) []bool {
		for i := range evs {
			req.Enrich(&evs[i])
		}
		return engine.MayFind(evs, nil)
	}
}
