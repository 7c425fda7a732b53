package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/store"
)

// Bus carries acknowledged bodies between serve processes when Parapet is
// scaled out (internal/bus/natsjs): the intake publishes a body instead of
// spooling it, and returns once the bus has it stored.
type Bus interface {
	// PublishIntake stores a body durably; id de-duplicates a body
	// published twice (a source that retries after a crash).
	PublishIntake(ctx context.Context, source string, body []byte, id string) error
}

// ErrBusFull: the bus refuses more bodies until the workers catch up (the
// intake answers 503).
var ErrBusFull = errors.New("the bus is full: the workers are behind")

// PartitionOf is the partition an account's events belong to: every event
// of an account goes to one worker, so its behavioural baselines, its
// incidents and its correlation state live in one place.
func PartitionOf(account string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	io.WriteString(h, account)
	return int(h.Sum32() % uint32(n))
}

// Partition decodes a body only as far as its records' accounts and
// returns, for each of n partitions, the body of its records (nil for
// none): JSON records as JSON lines, flow-log records as a flow log with
// its header. Bad records are reported and counted here, as the
// processor would; the rest are split.
func (p *Pipeline) Partition(ctx context.Context, name string, body []byte, n int) ([][]byte, int, error) {
	if n < 1 {
		n = 1
	}
	parts := make([]*bytes.Buffer, n)
	headers := make([]string, n)
	in := ingest.Input{Name: name, Size: int64(len(body)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }}
	events := 0
	st, err := ingest.Run(ctx, []ingest.Input{in}, ingest.Options{Workers: 1, Readers: 1}, func(b *ingest.Batch) error {
		for _, e := range b.Errors {
			p.Log.Warn("bad input in an intake body", "err", e.Error())
		}
		for i := range b.Events {
			ev := &b.Events[i]
			k := PartitionOf(ev.Cloud.Account, n)
			if parts[k] == nil {
				parts[k] = &bytes.Buffer{}
			}
			switch ev.Raw.Format {
			case event.RawJSON:
				parts[k].Write(ev.Raw.Data)
				parts[k].WriteByte('\n')
			case event.RawFields:
				h := strings.Join(ev.Raw.Names, " ")
				if headers[k] != h {
					if headers[k] != "" {
						return fmt.Errorf("%s: flow records of two formats in one body", name)
					}
					headers[k] = h
					parts[k].WriteString(h + "\n")
				}
				parts[k].WriteString(strings.Join(ev.Raw.Values, " ") + "\n")
			default:
				return fmt.Errorf("%s: an event without its native record cannot be forwarded", name)
			}
			events++
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	p.Metrics.BadRecords.Add(float64(st.BadRecords))
	out := make([][]byte, n)
	for i, b := range parts {
		if b != nil {
			out[i] = b.Bytes()
		}
	}
	return out, events, nil
}

// ProcessBody runs one partition's body through every stage: detect,
// correlate, store, respond. Finding ids are deterministic and the store
// de-duplicates, so a body delivered twice files nothing twice.
func (p *Pipeline) ProcessBody(ctx context.Context, source string, body []byte, received time.Time) error {
	return p.process(ctx, store.Spooled{Source: source, Body: body, Received: received})
}
