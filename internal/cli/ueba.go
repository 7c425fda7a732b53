package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/ueba"
	"github.com/parapet-sec/parapet/internal/event"
)

// uebaFlags are the behavioural models' flags.
type uebaFlags struct {
	off       bool
	warmup    time.Duration
	lateness  time.Duration
	threshold float64
	minRaw    float64
	state     string
	trace     *bufio.Writer
	traceFile *os.File
}

func (u *uebaFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&u.off, "no-ueba", false, "do not run the behavioural models")
	fs.DurationVar(&u.warmup, "ueba-warmup", 7*24*time.Hour, "event time an account's baseline needs to be mature (with 1,000 events); before, only anomalies with a first high-risk action are reported, at low severity")
	fs.DurationVar(&u.lateness, "ueba-lateness", time.Hour, "how far behind the newest event time an event may arrive and still be scored")
	fs.Float64Var(&u.threshold, "ueba-threshold", 4, "alert when an event's score is this rare among the account's: 4 is one event in 10,000")
	fs.Float64Var(&u.minRaw, "ueba-min-raw", 5, "alert only when the event's raw score (the sum of its factors' -log10 probabilities) reaches this too")
	fs.StringVar(&u.state, "state", "", "load the learned baselines from FILE when it exists, and save them there at the end")
}

// engine builds the UEBA engine, or nil when it is off.
func (u *uebaFlags) engine() (*ueba.Engine, error) {
	if u.off {
		return nil, nil
	}
	if u.warmup < 0 || u.lateness < 0 || u.threshold <= 0 || u.minRaw <= 0 {
		return nil, usagef("--ueba-warmup must not be negative, --ueba-threshold and --ueba-min-raw must be positive")
	}
	// Final: each session's finding is written once, when the session
	// ends (observe) or the input does (flush).
	cfg := ueba.Config{Warmup: u.warmup, Lateness: u.lateness, Threshold: u.threshold, MinRaw: u.minRaw, Final: true}
	if path := os.Getenv("PARAPET_UEBA_TRACE"); path != "" {
		// Every scored event's scores, for evaluation and tuning.
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		u.trace = bufio.NewWriter(f)
		u.traceFile = f
		cfg.Trace = u.trace
	}
	if cfg.Warmup == 0 {
		cfg.Warmup = time.Nanosecond // "no warm-up" (0 means the default)
		cfg.MatureEvents = -1
	}
	if u.state == "" {
		return ueba.New(cfg), nil
	}
	f, err := os.Open(u.state)
	if errors.Is(err, fs.ErrNotExist) {
		return ueba.New(cfg), nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	e, err := ueba.Load(f, cfg)
	if err != nil {
		return nil, fmt.Errorf("--state %s: %w", u.state, err)
	}
	return e, nil
}

// observe runs the models over a batch in order, adding the findings of
// the sessions that ended, in their final state.
func (u *uebaFlags) observe(e *ueba.Engine, events []event.Event, b *detect.Batch) {
	if e == nil {
		return
	}
	for i := range events {
		e.Observe(&events[i])
	}
	b.Findings = e.Closed(b.Findings)
}

// flush ends the sessions still open at the end of the input and returns
// their findings.
func (u *uebaFlags) flush(e *ueba.Engine) []detect.Finding {
	if e == nil {
		return nil
	}
	return e.Flush(nil)
}

// finish saves the state and prints the models' summary.
func (u *uebaFlags) finish(io IO, e *ueba.Engine) error {
	if e == nil {
		return nil
	}
	if u.trace != nil {
		u.trace.Flush()
		u.traceFile.Close()
	}
	st := e.Stats()
	fmt.Fprintf(io.Err, "parapet: ueba: %d principals, %d access keys, %d addresses in %d accounts; %d events scored (%d late, %d without a principal); %d session findings (%d at low severity: immature baseline) holding %d more anomalies, %d held back (an account's first day, or an immature baseline and no high-risk action in the session); %d events of AWS services or made by AWS on a principal's behalf (%d anomalous: health, not threats)\n",
		st.Principals, st.Keys, st.Addresses, st.Accounts, st.Events-st.Skipped-st.Late, st.Late, st.Skipped, st.Findings, st.Immature, st.Merged, st.Held, st.Services, st.ServiceAnomalies)
	if n := st.Events - st.Skipped; n > 0 && st.Late*100 > n {
		// The input is sorted by event time, so late events are older
		// than what --state learned before.
		fmt.Fprintf(io.Err, "parapet: warning: %d of %d events (%.0f%%) arrived late, more than --ueba-lateness (%s) behind their account's newest event: learned, not scored (was --state last saved after a run over later events?)\n",
			st.Late, n, 100*float64(st.Late)/float64(n), e.Config().Lateness)
	}
	if u.state == "" {
		return nil
	}
	tmp := u.state + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := e.Save(f); err != nil {
		f.Close()
		return fmt.Errorf("--state: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, u.state)
}
