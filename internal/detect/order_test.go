package detect_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/decode/vpcflow"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/ingest/file"
)

// samples decodes every sample input (CloudTrail in all its shapes,
// EventBridge, CloudWatch Logs, GuardDuty, Azure, Google Cloud, flow
// logs) and returns the events.
func samples(t *testing.T) []event.Event {
	t.Helper()
	inputs, err := file.Inputs([]string{"../ingest/testdata/samples", "../decode/azure/testdata", "../decode/gcp/testdata"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	if _, err := ingest.Run(context.Background(), inputs, ingest.Options{}, func(b *ingest.Batch) error {
		evs = append(evs, b.Events...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	flow, _ := vpcflow.ParseHeader("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status")
	for i := range 3 {
		var ev event.Event
		line := fmt.Sprintf("2 123456789010 eni-1 10.0.0.%d 10.0.0.2 443 4915%d 6 10 840 1418530010 1418530070 ACCEPT OK", i, i)
		if err := flow.Decode(line, &ev); err != nil {
			t.Fatal(err)
		}
		ev.Origin = event.Origin{File: "flow.log", Offset: int64(100 * i)}
		evs = append(evs, ev)
	}
	return evs
}

// runOrder adds events in slices of n and returns what Run hands on.
func runOrder(t *testing.T, o *detect.Order, evs []event.Event, n int) ([]event.Event, []string, detect.OrderStats) {
	t.Helper()
	for i := 0; i < len(evs); i += n {
		chunk := append([]event.Event(nil), evs[i:min(i+n, len(evs))]...)
		if err := o.Add(chunk); err != nil {
			t.Fatal(err)
		}
	}
	var out []event.Event
	var ids []string
	st, err := o.Run(context.Background(), func(evs []event.Event, b *detect.Batch) error {
		out = append(out, evs...)
		for _, f := range b.Findings {
			ids = append(ids, f.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, ids, st
}

// Events come out in event-time order (ties in arrival order) whatever
// order they went in, the same whether they were held in memory or went
// to disk in runs (cut inside what one Add gave; more than the merge's
// fan-in of them) and were read back: every field of every event, the
// native record and origin included.
func TestOrderSortsInMemoryAndOnDisk(t *testing.T) {
	evs := samples(t)
	if len(evs) < 30 {
		t.Fatalf("only %d sample events", len(evs))
	}
	for i := range evs { // twice over (as from another file): more runs than the fan-in
		ev := evs[i]
		ev.Origin.File += ".copy"
		evs = append(evs, ev)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	engine := detect.NewEngine(builtin(t))
	inMem, memIDs, st := runOrder(t, &detect.Order{Map: engine.DetectBatch, Memory: -1}, evs, 7)
	if len(inMem) != len(evs) || st.Events != int64(len(evs)) || st.Runs != 0 || st.OutOfOrder == 0 {
		t.Fatalf("in memory: %d events handed on of %d, stats %+v", len(inMem), len(evs), st)
	}
	for i := 1; i < len(inMem); i++ {
		if inMem[i].Time.Before(inMem[i-1].Time) {
			t.Fatalf("event %d (%v) before event %d (%v)", i, inMem[i].Time, i-1, inMem[i-1].Time)
		}
	}
	mixed, mixedIDs, st := runOrder(t, &detect.Order{Map: engine.DetectBatch, Memory: 4000, Dir: t.TempDir()}, evs, 7)
	if st.Runs < 2 || !reflect.DeepEqual(mixed, inMem) || !reflect.DeepEqual(mixedIDs, memIDs) {
		t.Errorf("runs cut inside what one Add gave, partly held (%+v): not the same events and findings as all held", st)
	}
	dir := t.TempDir()
	onDisk, diskIDs, st := runOrder(t, &detect.Order{Map: engine.DetectBatch, Memory: 1, Dir: dir, Workers: 3}, evs, 1)
	if st.Runs != len(evs) || st.Runs <= 64 {
		t.Errorf("stats %+v: want a run per event, more than the fan-in", st)
	}
	if len(onDisk) != len(inMem) {
		t.Fatalf("%d events from disk, %d in memory", len(onDisk), len(inMem))
	}
	for i := range inMem {
		if !reflect.DeepEqual(onDisk[i], inMem[i]) {
			t.Errorf("event %d read back from disk:\n%+v\nheld in memory:\n%+v", i, onDisk[i], inMem[i])
		}
	}
	if !reflect.DeepEqual(diskIDs, memIDs) || len(memIDs) == 0 {
		t.Errorf("findings from disk %v, in memory %v", diskIDs, memIDs)
	}
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Errorf("runs left on disk: %v", left)
	}
}

// Copies of a record are handed on once and counted, in memory and on
// disk: here the samples' own (the same records in several shapes) and
// twenty more.
func TestOrderPassesOverDuplicates(t *testing.T) {
	evs := samples(t)
	distinct := map[string]bool{}
	for _, ev := range evs {
		distinct[fmt.Sprint(ev.Source, ev.ID, ev.Time.UnixNano())] = true
	}
	with := append(append(append([]event.Event(nil), evs...), evs[:10]...), evs[5:15]...)
	for _, mem := range []int64{-1, 1} {
		o := &detect.Order{Map: func(e []event.Event) *detect.Batch { return &detect.Batch{} }, Memory: mem, Dir: t.TempDir(), Dedup: detect.NewDedup(0, 0)}
		out, _, st := runOrder(t, o, with, 5)
		if len(out) != len(distinct) || st.Duplicates != int64(len(with)-len(distinct)) {
			t.Errorf("memory %d: %d handed on, %d duplicates; want %d and %d", mem, len(out), st.Duplicates, len(distinct), len(with)-len(distinct))
		}
		seen := map[string]bool{}
		for _, ev := range out {
			k := fmt.Sprint(ev.Source, ev.ID, ev.Time.UnixNano())
			if seen[k] {
				t.Errorf("memory %d: %s handed on twice", mem, ev.ID)
			}
			seen[k] = true
		}
	}
}

// The set of records seen is bounded by time and by count.
func TestDedupBounds(t *testing.T) {
	d := detect.NewDedup(time.Hour, 100)
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	ev := func(id string, at time.Time) *event.Event {
		return &event.Event{ID: id, Time: at, Source: event.SourceCloudTrail}
	}
	if d.Seen(ev("a", t0)) || !d.Seen(ev("a", t0)) {
		t.Fatal("a copy was not recognised")
	}
	if d.Seen(ev("a", t0.Add(time.Second))) {
		t.Error("the same id at another time is another record")
	}
	d.Seen(ev("b", t0.Add(2*time.Hour))) // "a" is now more than an hour behind
	if d.Seen(ev("a", t0)) {
		t.Error("a record older than the window was still remembered")
	}
	for i := range 1000 {
		d.Seen(ev(fmt.Sprint("x", i), t0.Add(2*time.Hour)))
	}
	if d.Len() > 100 {
		t.Errorf("%d records remembered, bound 100", d.Len())
	}
	if !d.Seen(ev("x999", t0.Add(2*time.Hour))) {
		t.Error("the newest record was forgotten")
	}
}

// A sparse run (AddSparse, marked by Engine.MayFind) hands on only the
// events a rule finds something in (a finding, or a match a correlation
// counts), in event-time order, with the same
// findings as a run that holds every event, in memory and in runs on
// disk; it still counts every event and passes over copies.
func TestOrderSparse(t *testing.T) {
	evs := samples(t)         // the same records in several shapes among them
	for i := range evs[:10] { // and copies of ten, as from another file
		ev := evs[i]
		ev.Origin.File += ".copy"
		evs = append(evs, ev)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	engine := detect.NewEngine(builtin(t))
	all, allIDs, st := runOrder(t, &detect.Order{Map: engine.DetectBatch, Memory: -1, Dedup: detect.NewDedup(0, 0)}, evs, 7)
	n, dups := len(all), st.Duplicates
	if dups < 10 || st.Events != int64(n) {
		t.Fatalf("holding all: stats %+v", st)
	}
	var want []string // the events with findings, in order
	found := map[string]bool{}
	for _, f := range engine.DetectBatch(all).Findings {
		found[f.EventIDs[0]] = true
	}
	for _, ev := range all {
		if found[ev.ID] {
			want = append(want, ev.ID)
		}
	}
	if len(want) == 0 || len(want) == len(all) {
		t.Fatalf("%d of %d events have findings: the test needs some with and some without", len(want), len(all))
	}
	for _, memory := range []int64{-1, 1} {
		o := &detect.Order{Map: engine.DetectBatch, Memory: memory, Dir: t.TempDir(), Dedup: detect.NewDedup(0, 0)}
		for i := 0; i < len(evs); i += 7 {
			chunk := evs[i:min(i+7, len(evs))]
			if err := o.AddSparse(chunk, engine.MayFind(chunk, nil)); err != nil {
				t.Fatal(err)
			}
		}
		var got, ids []string
		st, err := o.Run(context.Background(), func(evs []event.Event, b *detect.Batch) error {
			for _, ev := range evs {
				got = append(got, ev.ID)
			}
			for _, f := range b.Findings {
				ids = append(ids, f.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var withFindings []string
		for _, id := range got {
			if found[id] {
				withFindings = append(withFindings, id)
			}
		}
		if !reflect.DeepEqual(withFindings, want) || len(got) >= len(all) {
			t.Errorf("memory %d: handed on %d of %d events, %v; want among them, in order, the events with findings %v", memory, len(got), len(all), got, want)
		}
		if !reflect.DeepEqual(ids, allIDs) {
			t.Errorf("memory %d: findings %v, holding all %v", memory, ids, allIDs)
		}
		if st.Events != int64(n) || st.Duplicates != dups || memory == 1 && st.Runs < 2 {
			t.Errorf("memory %d: stats %+v, want %d events, %d duplicates (and runs on disk)", memory, st, n, dups)
		}
	}
}

// AddPayloads and RunPayloads: what the caller made of each event comes
// back in the events' time order, once per record (copies passed over),
// held in memory (over several blocks) or in runs on disk, and copied:
// the caller's memory is its own again once AddPayloads returns; events
// without a payload are counted.
func TestOrderPayloads(t *testing.T) {
	pay := func(k string) string { return k + "|" + strings.Repeat(k, 100<<10/len(k)) } // ~100 KiB
	evs := samples(t)
	for i := range evs[:10] {
		ev := evs[i]
		ev.Origin.File += ".copy"
		evs = append(evs, ev)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	all, _, st := runOrder(t, &detect.Order{Map: func([]event.Event) *detect.Batch { return &detect.Batch{} }, Memory: -1, Dedup: detect.NewDedup(0, 0)}, evs, 7)
	var want []string
	for i, ev := range all {
		if i%3 == 0 {
			want = append(want, pay(ev.ID+"@"+ev.Time.String()))
		}
	}
	if len(want)*100<<10 < 1<<20 {
		t.Fatalf("%d payloads: too few to fill more than one block", len(want))
	}
	chosen := map[string]bool{}
	for _, w := range want {
		chosen[w[:strings.IndexByte(w, '|')]] = true
	}
	for _, memory := range []int64{-1, 1} {
		o := &detect.Order{Memory: memory, Dir: t.TempDir(), Dedup: detect.NewDedup(0, 0)}
		for i := 0; i < len(evs); i += 7 {
			chunk := evs[i:min(i+7, len(evs))]
			var payloads [][]byte
			for j, ev := range chunk {
				if k := ev.ID + "@" + ev.Time.String(); chosen[k] {
					for len(payloads) <= j {
						payloads = append(payloads, nil)
					}
					payloads[j] = []byte(pay(k))
				}
			}
			if err := o.AddPayloads(chunk, payloads); err != nil {
				t.Fatal(err)
			}
			for _, p := range payloads {
				for k := range p {
					p[k] = 'x' // the caller's memory serves its next batch
				}
			}
		}
		var got []string
		ost, err := o.RunPayloads(context.Background(), func(p []byte) error {
			got = append(got, string(p))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("memory %d: %d payloads, want %d, or different", memory, len(got), len(want))
		}
		if ost.Events != st.Events || ost.Duplicates != st.Duplicates || memory == 1 && ost.Runs < 2 {
			t.Errorf("memory %d: stats %+v, holding all %+v", memory, ost, st)
		}
	}
}
