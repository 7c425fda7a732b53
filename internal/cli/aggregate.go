package cli

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/parapet-sec/parapet/internal/detect"
)

// aggregateFlags choose how findings are merged into episodes.
type aggregateFlags struct {
	off    bool
	window time.Duration
}

func (a *aggregateFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&a.off, "no-aggregate", false, "print one finding per matching event, not one per episode")
	fs.DurationVar(&a.window, "aggregate-window", detect.DefaultAggregateWindow,
		"an episode (one rule, principal, source address and target) ends when quiet this long in event time")
}

// aggregator returns the aggregator, or nil when --no-aggregate; it
// makes the correlator fire once per episode.
func (a *aggregateFlags) aggregator(c *detect.Correlator, records bool) (*detect.Aggregator, error) {
	if a.off {
		return nil, nil
	}
	if a.window <= 0 {
		return nil, usagef("--aggregate-window: want a positive duration")
	}
	c.Episodes = true
	agg := detect.NewAggregator(a.window)
	agg.Records = records
	agg.Hold = true
	return agg, nil
}

// aggregate merges a batch's findings into their episodes. It returns
// the findings that opened an episode (the ones to respond to, with their
// records) and appends to out the findings done: closed episodes and the
// findings that are not aggregated, in the order of their first event.
func aggregate(agg *detect.Aggregator, fs []detect.Finding, out []detect.Finding) (opened, done []detect.Finding) {
	for i := range fs {
		if _, ok := agg.Add(&fs[i]); ok {
			opened = append(opened, fs[i])
		}
	}
	return opened, agg.Drain(out)
}
