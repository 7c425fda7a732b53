// Package natsjs scales parapet serve out over NATS JetStream: any number
// of serve processes share one JetStream (an external cluster, or a server
// embedded in one of them) and one store (PostgreSQL).
//
// Two streams carry the work:
//
//   - PARAPET_INTAKE (subject parapet.intake.SOURCE): the bodies the intake
//     acknowledged. Every worker pulls from one shared consumer, so each
//     body is split once, by whichever worker is free: its records are
//     grouped by account into partitions.
//   - PARAPET_EVENTS (subject parapet.events.N): each partition's records.
//     Partition N has its own consumer and exactly one owner (worker N mod
//     workers), so an account's behavioural baselines, correlation state
//     and incidents live on one worker.
//
// Both are work queues on disk: a message is removed once acknowledged,
// and acknowledged only after its work is committed (published onwards, or
// stored). A worker that dies leaves its messages to be redelivered; the
// ids of what is published onwards are derived from the message, so the
// stream's duplicate window drops what a redelivery publishes again, and
// finding ids are deterministic, so the store files nothing twice.
package natsjs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/redact"
)

// Stream and subject names.
const (
	IntakeStream  = "PARAPET_INTAKE"
	EventsStream  = "PARAPET_EVENTS"
	intakePrefix  = "parapet.intake."
	eventsPrefix  = "parapet.events."
	splitConsumer = "parapet-split"
)

// Options configures a worker.
type Options struct {
	URL        string // nats://…
	Partitions int    // fixed for the life of the streams (default 16)
	Worker     int    // this worker's index, 0 … Workers-1
	Workers    int    // default 1
	// MaxPending bounds the intake stream: past it the intake answers 503
	// (default 100,000 bodies).
	MaxPending int64
	// AckWait is how long a worker has to finish a message before it is
	// delivered again (default 2 minutes).
	AckWait time.Duration
	// Auth is what the worker presents to the server.
	Auth Auth
	Log  *slog.Logger
}

// Bus is a connection to JetStream with both streams in place.
type Bus struct {
	opt    Options
	nc     *nats.Conn
	js     jetstream.JetStream
	intake jetstream.Stream
	events jetstream.Stream
}

// Connect connects and creates (or updates) the streams.
func Connect(ctx context.Context, o Options) (*Bus, error) {
	if o.Partitions <= 0 {
		o.Partitions = 16
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.Worker < 0 || o.Worker >= o.Workers {
		return nil, fmt.Errorf("worker %d: want 0 to %d", o.Worker, o.Workers-1)
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 100_000
	}
	if o.AckWait <= 0 {
		o.AckWait = 2 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	auth, err := o.Auth.options()
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w", Redact(o.URL), err)
	}
	nc, err := nats.Connect(o.URL, append(auth, nats.Name("parapet worker "+strconv.Itoa(o.Worker)), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second))...)
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w", Redact(o.URL), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	b := &Bus{opt: o, nc: nc, js: js}
	if b.intake, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: IntakeStream, Subjects: []string{intakePrefix + ">"}, Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
		MaxMsgs: o.MaxPending, Discard: jetstream.DiscardNew, Duplicates: time.Hour,
	}); err != nil {
		nc.Close()
		return nil, fmt.Errorf("stream %s: %w", IntakeStream, err)
	}
	if b.events, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: EventsStream, Subjects: []string{eventsPrefix + "*"}, Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
		Duplicates: time.Hour,
	}); err != nil {
		nc.Close()
		return nil, fmt.Errorf("stream %s: %w", EventsStream, err)
	}
	return b, nil
}

// Close drops the connection.
func (b *Bus) Close() { b.nc.Close() }

// Owned lists the partitions this worker processes.
func (b *Bus) Owned() []int {
	var out []int
	for p := range b.opt.Partitions {
		if p%b.opt.Workers == b.opt.Worker {
			out = append(out, p)
		}
	}
	return out
}

func randomID() string {
	var r [12]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}

// PublishIntake stores an acknowledged body (pipeline.Bus).
func (b *Bus) PublishIntake(ctx context.Context, source string, body []byte, id string) error {
	if id == "" {
		id = randomID()
	}
	msg := &nats.Msg{Subject: intakePrefix + source, Data: body, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, id)
	msg.Header.Set("Parapet-Received", time.Now().UTC().Format(time.RFC3339Nano))
	_, err := b.js.PublishMsg(ctx, msg)
	// The stream discards new bodies past MaxPending: "maximum messages
	// exceeded".
	if err != nil && strings.Contains(err.Error(), "maximum messages") {
		return fmt.Errorf("%w (%v)", pipeline.ErrBusFull, err)
	}
	return err
}

// changesSubject carries the UI's live updates between workers (core
// NATS: an update missed is only a page refreshed later).
const changesSubject = "parapet.changes"

// Broadcast sends a change (an incident, a run) to the other workers.
func (b *Bus) Broadcast(kind string, data []byte) {
	msg := &nats.Msg{Subject: changesSubject, Data: data, Header: nats.Header{}}
	msg.Header.Set("Parapet-Kind", kind)
	msg.Header.Set("Parapet-Worker", strconv.Itoa(b.opt.Worker))
	_ = b.nc.PublishMsg(msg)
}

// OnChange calls deliver for every change another worker broadcasts.
func (b *Bus) OnChange(deliver func(kind string, data []byte)) error {
	me := strconv.Itoa(b.opt.Worker)
	_, err := b.nc.Subscribe(changesSubject, func(m *nats.Msg) {
		if m.Header.Get("Parapet-Worker") != me {
			deliver(m.Header.Get("Parapet-Kind"), m.Data)
		}
	})
	return err
}

// Run splits intake bodies (with every other worker) and processes this
// worker's partitions until ctx ends.
func (b *Bus) Run(ctx context.Context, p *pipeline.Pipeline) error {
	split, err := b.intake.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: splitConsumer, AckPolicy: jetstream.AckExplicitPolicy, AckWait: b.opt.AckWait, MaxAckPending: 1000,
	})
	if err != nil {
		return fmt.Errorf("consumer %s: %w", splitConsumer, err)
	}
	errc := make(chan error, 1+len(b.Owned()))
	go func() { errc <- b.loop(ctx, split, func(m jetstream.Msg) error { return b.split(ctx, p, m) }) }()
	for _, part := range b.Owned() {
		name := "parapet-part-" + strconv.Itoa(part)
		c, err := b.events.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
			Durable: name, FilterSubject: eventsPrefix + strconv.Itoa(part), AckPolicy: jetstream.AckExplicitPolicy,
			AckWait: b.opt.AckWait, MaxAckPending: 1,
		})
		if err != nil {
			return fmt.Errorf("consumer %s: %w", name, err)
		}
		go func() { errc <- b.loop(ctx, c, func(m jetstream.Msg) error { return b.process(ctx, p, m) }) }()
	}
	b.opt.Log.Info("nats jetstream worker", "url", Redact(b.opt.URL), "worker", b.opt.Worker, "workers", b.opt.Workers, "partitions", b.Owned())
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

// loop fetches and handles messages one at a time, in order. A message
// whose handling fails is left unacknowledged (delivered again after
// AckWait) and the failure logged; fetches time out, so a stalled pull
// never hangs the worker.
func (b *Bus) loop(ctx context.Context, c jetstream.Consumer, handle func(jetstream.Msg) error) error {
	for ctx.Err() == nil {
		batch, err := c.Fetch(16, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			b.opt.Log.Warn("nats fetch failed; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for m := range batch.Messages() {
			if err := handle(m); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				b.opt.Log.Error("a bus message failed; it will be delivered again", "subject", m.Subject(), "err", err)
				_ = m.NakWithDelay(5 * time.Second)
				continue
			}
			if err := m.DoubleAck(ctx); err != nil && ctx.Err() == nil {
				b.opt.Log.Warn("ack failed; the message will be delivered again and de-duplicated", "subject", m.Subject(), "err", err)
			}
		}
	}
	return nil
}

// split publishes an intake body's records to their partitions under ids
// derived from the body's stream sequence.
func (b *Bus) split(ctx context.Context, p *pipeline.Pipeline, m jetstream.Msg) error {
	md, err := m.Metadata()
	if err != nil {
		return err
	}
	source := strings.TrimPrefix(m.Subject(), intakePrefix)
	name := fmt.Sprintf("%s#bus%d", source, md.Sequence.Stream)
	parts, _, err := p.Partition(ctx, name, m.Data(), b.opt.Partitions)
	if err != nil {
		return err
	}
	received := m.Headers().Get("Parapet-Received")
	for part, body := range parts {
		if len(body) == 0 {
			continue
		}
		out := &nats.Msg{Subject: eventsPrefix + strconv.Itoa(part), Data: body, Header: nats.Header{}}
		out.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("%d.%d", md.Sequence.Stream, part))
		out.Header.Set("Parapet-Source", source)
		out.Header.Set("Parapet-Received", received)
		if _, err := b.js.PublishMsg(ctx, out); err != nil {
			return err
		}
	}
	return nil
}

// process runs one partition body through the pipeline.
func (b *Bus) process(ctx context.Context, p *pipeline.Pipeline, m jetstream.Msg) error {
	received, err := time.Parse(time.RFC3339Nano, m.Headers().Get("Parapet-Received"))
	if err != nil {
		received = time.Now()
	}
	source := m.Headers().Get("Parapet-Source")
	if source == "" {
		source = "bus"
	}
	return p.ProcessBody(ctx, source, m.Data(), received)
}

// Redact hides the credentials in a NATS URL (nats://user:password@host,
// or a token) before it is printed: redact.URL, the one redaction.
func Redact(u string) string { return redact.URL(u) }

// EmbeddedOptions configures a server run inside this process.
type EmbeddedOptions struct {
	// Listen is HOST:PORT; an empty host is loopback (127.0.0.1), port 0
	// any free port; "" is 127.0.0.1 on any free port.
	Listen string
	// Dir holds the streams' data (and the generated token).
	Dir string
	// Auth is what clients must present. With no token and no NKey the
	// server still requires a token: one it makes and keeps in Dir/token
	// (mode 0600), which is allowed only on a loopback address.
	Auth Auth
}

// Server is an embedded JetStream server.
type Server struct {
	*server.Server
	// URL is what workers connect to, and Auth what they present (the
	// generated token when none was configured).
	URL  string
	Auth Auth
}

// Embedded runs a JetStream server inside this process (single node; its
// data under o.Dir), for one machine that wants the bus, and for tests.
// Every client must present the credentials; an address beyond this
// machine without configured credentials is refused.
func Embedded(o EmbeddedOptions) (*Server, error) {
	host, port := "127.0.0.1", -1
	if o.Listen != "" {
		h, ps, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return nil, fmt.Errorf("listen %q: want HOST:PORT", o.Listen)
		}
		n, err := strconv.Atoi(ps)
		if err != nil {
			return nil, fmt.Errorf("listen %q: %v", o.Listen, err)
		}
		if h != "" {
			host = h
		}
		port = n
		if n == 0 {
			port = -1 // any free port
		}
	}
	auth := o.Auth
	if !auth.Credentials() {
		if !Loopback(host) {
			return nil, fmt.Errorf("listen %q: a bus reachable from other machines needs credentials (a token or an nkey seed)", o.Listen)
		}
		tok, err := localToken(o.Dir)
		if err != nil {
			return nil, fmt.Errorf("the bus token: %w", err)
		}
		auth.Token = tok
	}
	opts := &server.Options{Host: host, Port: port, JetStream: true, StoreDir: o.Dir, NoSigs: true, NoLog: true,
		JetStreamMaxMemory: 64 << 20}
	switch {
	case auth.Token != "" && auth.NKeySeed != "":
		return nil, errors.New("give a token or an nkey seed, not both")
	case auth.NKeySeed != "":
		kp, err := nkeys.FromSeed([]byte(auth.NKeySeed))
		if err != nil {
			return nil, errors.New("the nkey seed is not a valid seed")
		}
		pub, err := kp.PublicKey()
		if err != nil || !nkeys.IsValidPublicUserKey(pub) {
			return nil, errors.New("the nkey seed is not a user seed (SU…)")
		}
		opts.Nkeys = []*server.NkeyUser{{Nkey: pub}}
	default:
		opts.Authorization = auth.Token
	}
	tc, err := auth.serverTLS()
	if err != nil {
		return nil, err
	}
	if tc != nil {
		opts.TLSConfig, opts.TLS, opts.TLSTimeout = tc, true, 5
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, err
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, errors.New("the embedded NATS server did not start within 30 s")
	}
	// This process's workers connect over loopback when the server
	// listens on every address.
	u, _ := url.Parse(s.ClientURL())
	if h, p, err := net.SplitHostPort(u.Host); err == nil {
		if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
			u.Host = net.JoinHostPort("127.0.0.1", p)
		}
	}
	return &Server{Server: s, URL: u.String(), Auth: auth}, nil
}
