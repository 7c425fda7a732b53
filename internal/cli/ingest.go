package cli

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/pflag"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/enrich"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/ingest/file"
	"github.com/parapet-sec/parapet/internal/ingest/s3list"
)

// ingestFlags are the flags every command that reads telemetry shares.
type ingestFlags struct {
	workers     int
	maxRecord   int
	progress    string
	maxErrors   int
	cloudRanges []string
	geoip, asn  string
	// timeOrder reads inputs in the order of the times in their names
	// (behavioural models learn in event time).
	timeOrder bool
	// sortMemory bounds the events detect holds to sort them by event
	// time before runs go to disk.
	sortMemory int64
	// recycle: emit keeps nothing of a batch's events (ingest.Options)
	recycle bool
	// requests reads what requests do (parapet.* fields for rules)
	// against the known accounts (--account, --org-id; default: learned
	// from recipientAccountId).
	requests bool
	accounts []string
	orgIDs   []string
	// s3 is how s3:// inputs are read (--role-arn, --external-id).
	s3 s3list.Access
}

// registerS3 adds the flags that read s3:// inputs through a role: a
// central log-archive account's.
func (f *ingestFlags) registerS3(fs *pflag.FlagSet, command string) {
	f.s3.Session = "parapet-" + command
	fs.StringVar(&f.s3.RoleARN, "role-arn", "", "read s3:// inputs as this role (assumed with the default credentials): a central log-archive account's reader role")
	fs.StringVar(&f.s3.ExternalID, "external-id", "", "the ExternalId the --role-arn role's trust policy requires")
}

func (f *ingestFlags) register(fs *pflag.FlagSet) {
	fs.IntVar(&f.workers, "workers", 0, "decoding goroutines (default: one per CPU)")
	fs.IntVar(&f.maxRecord, "max-record-size", 16<<20, "largest record accepted, in bytes; larger ones are reported and skipped")
	fs.StringVar(&f.progress, "progress", "auto", "progress bar on stderr: auto (when stderr is a terminal), always, never")
	fs.IntVar(&f.maxErrors, "max-errors", 20, "bad-input messages printed on stderr (all are counted)")
	fs.StringVar(&f.geoip, "geoip", "", "a MaxMind-format City or Country database (GeoLite2, GeoIP2, DB-IP): locate addresses")
	fs.StringVar(&f.asn, "asn", "", "a MaxMind-format ASN database: name the network of addresses")
	fs.StringArrayVar(&f.cloudRanges, "cloud-ranges", nil, "a cloud provider's published address ranges (AWS ip-ranges.json, Google Cloud cloud.json,\nAzure Service Tags), to tell which addresses belong to which cloud (repeatable)")
}

// registerOrder adds the flags of commands that detect in event-time
// order.
func (f *ingestFlags) registerOrder(fs *pflag.FlagSet) {
	f.requests = true
	fs.StringSliceVar(&f.accounts, "account", nil, "the organization's AWS accounts (repeatable or comma-separated): a share, grant or trust\nnaming any other account is foreign (default: the accounts the records were delivered for)")
	fs.StringSliceVar(&f.orgIDs, "org-id", nil, "the organization's id (o-…): a policy granting on aws:PrincipalOrgID of it stays inside")
	fs.Int64Var(&f.sortMemory, "sort-memory", detect.DefaultOrderMemory, "bytes of events held to sort them by event time; past this, sorted runs go to temporary files\n(in $TMPDIR) and are merged")
}

// run reads paths, shows progress, and prints the summary line and the
// bad-input messages on stderr. It returns ExitBadInput (through the
// caller) when some input was bad.
func (f *ingestFlags) run(ctx context.Context, io IO, paths []string, mapFn func(*ingest.Batch), emit func(*ingest.Batch) error) (ingest.Stats, error) {
	inputs, enrich, done, err := f.open(ctx, io, paths)
	if err != nil {
		return ingest.Stats{}, err
	}
	defer done()
	if enrich != nil {
		next := mapFn
		mapFn = func(b *ingest.Batch) {
			for i := range b.Events {
				enrich(&b.Events[i])
			}
			if next != nil {
				next(b)
			}
		}
	}
	start := time.Now()
	st, read, err := f.read(ctx, io, inputs, mapFn, emit)
	f.summary(io, st, read, time.Since(start), nil)
	return st, err
}

// open checks the flags, lists the inputs (files, folders, stdin and
// s3://bucket/prefix: an AWS Security Lake bucket, say) and loads the
// enrichment they ask for (nil: none); done releases it.
func (f *ingestFlags) open(ctx context.Context, io IO, paths []string) (inputs []ingest.Input, enrichFn func(*event.Event), done func(), err error) {
	switch f.progress {
	case "auto", "always", "never":
	default:
		return nil, nil, nil, usagef("--progress: want auto, always or never, got %q", f.progress)
	}
	inputs, err = importInputs(ctx, io, paths, f.s3)
	if err != nil {
		return nil, nil, nil, err
	}
	if f.timeOrder {
		file.SortByTime(inputs)
	}
	enrichFn, done, err = f.enrichment()
	if err != nil {
		return nil, nil, nil, err
	}
	return inputs, enrichFn, done, nil
}

// enrichment loads the enrichment the flags ask for (nil: none); done
// releases it.
func (f *ingestFlags) enrichment() (enrichFn func(*event.Event), done func(), err error) {
	done = func() {}
	var steps []func(*event.Event)
	if f.geoip != "" || f.asn != "" {
		geo, err := enrich.OpenGeo(f.geoip, f.asn)
		if err != nil {
			return nil, nil, usagef("--geoip/--asn: %v", err)
		}
		done = func() { geo.Close() }
		steps = append(steps, geo.Enrich)
	}
	if len(f.cloudRanges) > 0 {
		ranges, err := enrich.LoadRanges(f.cloudRanges...)
		if err != nil {
			done()
			return nil, nil, usagef("--cloud-ranges: %v", err)
		}
		steps = append(steps, ranges.Enrich)
	}
	if f.requests {
		for _, a := range f.accounts {
			if !awsAccountID.MatchString(a) {
				done()
				return nil, nil, usagef("--account %q: want a 12-digit AWS account id", a)
			}
		}
		for _, o := range f.orgIDs {
			if !awsOrgID.MatchString(o) {
				done()
				return nil, nil, usagef("--org-id %q: want an organization id (o-…)", o)
			}
		}
		steps = append(steps, enrich.NewRequests(enrich.NewAccounts(f.accounts, f.orgIDs)).Enrich)
	}
	if len(steps) > 0 {
		enrichFn = func(ev *event.Event) {
			for _, s := range steps {
				s(ev)
			}
		}
	}
	return enrichFn, done, nil
}

// read decodes the inputs with a progress bar and prints the bad-input
// messages; it returns the bytes read.
func (f *ingestFlags) read(ctx context.Context, io IO, inputs []ingest.Input, mapFn func(*ingest.Batch), emit func(*ingest.Batch) error) (ingest.Stats, int64, error) {
	var total int64
	for _, in := range inputs {
		if in.Size < 0 {
			total = -1
			break
		}
		total += in.Size
	}
	counters := &ingest.Counters{}
	opt := ingest.Options{Workers: f.workers, MaxRecord: f.maxRecord, Map: mapFn, Counters: counters, Recycle: f.recycle}

	stopBar := func() {}
	if f.progress == "always" || f.progress == "auto" && isTerminal(io.Err) {
		stopBar = progress(io.Err, total, len(inputs), counters)
	}
	st, err := ingest.Run(ctx, inputs, opt, emit)
	stopBar()

	shown := 0
	for _, e := range st.Errors {
		if shown >= f.maxErrors {
			break
		}
		fmt.Fprintf(io.Err, "parapet: bad input: %v\n", e)
		shown++
	}
	if st.BadRecords > int64(shown) {
		fmt.Fprintf(io.Err, "parapet: … and %d more bad records (--max-errors to see more)\n", st.BadRecords-int64(shown))
	}
	for i, e := range st.Notices {
		if i >= f.maxErrors {
			break
		}
		fmt.Fprintf(io.Err, "parapet: skipped: %v\n", e)
	}
	return st, counters.BytesRead.Load(), err
}

// summary prints the one-line summary of a run; with ord, the copies
// passed over and how the input was put in event-time order.
func (f *ingestFlags) summary(io IO, st ingest.Stats, read int64, elapsed time.Duration, ord *detect.OrderStats) {
	dups := ""
	if ord != nil {
		dups = fmt.Sprintf(", %d duplicate records", ord.Duplicates)
	}
	stray := ""
	if st.Stray > 0 {
		stray = fmt.Sprintf(" (%d stray: not part of a delivery)", st.Stray)
	}
	fmt.Fprintf(io.Err, "parapet: %d events from %d inputs (%s read) in %.2f s: %s events/s; %d bad records, %d skipped%s%s\n",
		st.Events, st.Inputs, bytesHuman(read), elapsed.Seconds(), rate(st.Events, elapsed), st.BadRecords, st.Skipped, stray, dups)
	if ord == nil || ord.OutOfOrder == 0 && ord.Runs == 0 {
		return
	}
	where := "in memory"
	if ord.Runs > 0 {
		where = fmt.Sprintf("in %d runs on disk (%s)", ord.Runs, bytesHuman(ord.RunBytes))
	}
	fmt.Fprintf(io.Err, "parapet: %d events came after a later one: sorted by event time %s\n", ord.OutOfOrder, where)
}

// detect reads paths and hands their events on in event-time order,
// copies of a record passed over (detect.Order): stateless runs on every
// core after the enrichment the flags ask for, emit in order on the
// caller's goroutine. With mayFind (Engine.MayFind), emit needs only the
// events something is found in: they are marked as they are read, on
// every core, and only they are held for ordering (Order.AddSparse), so
// a run holds little more than its findings. It prints the summary line
// and the bad-input messages on stderr.
func (f *ingestFlags) detect(ctx context.Context, io IO, paths []string, stateless func([]event.Event) *detect.Batch, mayFind func([]event.Event, []bool) []bool, emit func([]event.Event, *detect.Batch) error) (ingest.Stats, detect.OrderStats, error) {
	inputs, enrich, done, err := f.openOrdered(ctx, io, paths)
	if err != nil {
		return ingest.Stats{}, detect.OrderStats{}, err
	}
	defer done()
	enrichAll := func(evs []event.Event) {
		if enrich != nil {
			for i := range evs {
				enrich(&evs[i])
			}
		}
	}
	ord := &detect.Order{Dedup: detect.NewDedup(0, 0), Memory: f.sortMemory, Workers: f.workers,
		Map: func(evs []event.Event) *detect.Batch {
			enrichAll(evs)
			return stateless(evs)
		}}
	defer ord.Close()
	var mapFn func(*ingest.Batch)
	add := func(b *ingest.Batch) error { return ord.Add(b.Events) }
	if mayFind != nil {
		mapFn = func(b *ingest.Batch) {
			enrichAll(b.Events)
			b.Data = mayFind(b.Events, nil)
		}
		f.recycle = true // AddSparse keeps the events in binary form
		add = func(b *ingest.Batch) error {
			keep, _ := b.Data.([]bool)
			if len(keep) != len(b.Events) {
				keep = nil // not marked: all kept
			}
			return ord.AddSparse(b.Events, keep)
		}
	}
	start := time.Now()
	st, read, err := f.read(ctx, io, inputs, mapFn, add)
	if err != nil {
		return st, detect.OrderStats{}, err
	}
	ost, err := ord.Run(ctx, emit)
	f.summary(io, st, read, time.Since(start), &ost)
	return st, ost, err
}

// openOrdered is open for a run sorted by event time: inputs in the
// order of the times in their names (under the S3 key layout nearly
// event-time order, which is cheapest to sort), and --sort-memory checked.
func (f *ingestFlags) openOrdered(ctx context.Context, io IO, paths []string) ([]ingest.Input, func(*event.Event), func(), error) {
	if f.sortMemory == 0 {
		return nil, nil, nil, usagef("--sort-memory: want a positive number of bytes")
	}
	f.timeOrder = true
	return f.open(ctx, io, paths)
}

// detectEncoded is detect for a run in which nothing keeps state across
// events: encode makes and encodes each event's findings as it is read,
// on every core (after the enrichment the flags ask for), and only those
// bytes are held, to be handed to emit in event-time order (copies of a
// record passed over). encode writes the payloads into buf, grown as it
// needs, and returns it: the order copies what it holds, so the memory
// serves a later batch.
func (f *ingestFlags) detectEncoded(ctx context.Context, io IO, paths []string, encode func(evs []event.Event, buf []byte) ([][]byte, []byte, error), emit func(payload []byte) error) (ingest.Stats, detect.OrderStats, error) {
	inputs, enrich, done, err := f.openOrdered(ctx, io, paths)
	if err != nil {
		return ingest.Stats{}, detect.OrderStats{}, err
	}
	defer done()
	type encoded struct {
		payloads [][]byte
		buf      *[]byte // what payloads lie in, back to bufs once held
		err      error
	}
	var bufs sync.Pool // of *[]byte: the order copies what it holds
	ord := &detect.Order{Dedup: detect.NewDedup(0, 0), Memory: f.sortMemory}
	defer ord.Close()
	f.recycle = true // only the payloads are kept
	mapFn := func(b *ingest.Batch) {
		if enrich != nil {
			for i := range b.Events {
				enrich(&b.Events[i])
			}
		}
		buf, _ := bufs.Get().(*[]byte)
		if buf == nil {
			buf = new([]byte)
		}
		p, grown, err := encode(b.Events, *buf)
		*buf = grown
		b.Data = encoded{p, buf, err}
	}
	start := time.Now()
	st, read, err := f.read(ctx, io, inputs, mapFn, func(b *ingest.Batch) error {
		e, _ := b.Data.(encoded)
		if e.err != nil {
			return e.err
		}
		err := ord.AddPayloads(b.Events, e.payloads)
		if e.buf != nil {
			bufs.Put(e.buf)
		}
		return err
	})
	if err != nil {
		return st, detect.OrderStats{}, err
	}
	ost, err := ord.RunPayloads(ctx, emit)
	f.summary(io, st, read, time.Since(start), &ost)
	return st, ost, err
}

func rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	r := float64(n) / d.Seconds()
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1fk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

func bytesHuman(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// progress draws a bar of bytes read (or a spinner when the total is
// unknown) with files and events, until the returned stop is called.
func progress(w io.Writer, total int64, inputs int, c *ingest.Counters) (stop func()) {
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(true),
	)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(150 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				bar.Describe(fmt.Sprintf("%d/%d files, %d events", c.InputsDone.Load(), inputs, c.Events.Load()))
				_ = bar.Set64(c.BytesRead.Load())
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		_ = bar.Finish()
		_ = bar.Clear()
	}
}

var (
	awsAccountID = regexp.MustCompile(`^[0-9]{12}$`)
	awsOrgID     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
)
