package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/parapet-sec/parapet/internal/attackpath"
	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/bus/natsjs"
	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/demo"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/ueba"
	"github.com/parapet-sec/parapet/internal/emulator"
	"github.com/parapet-sec/parapet/internal/enrich"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest/hubpoll"
	"github.com/parapet-sec/parapet/internal/ingest/s3sqs"
	"github.com/parapet-sec/parapet/internal/ingest/watch"
	"github.com/parapet-sec/parapet/internal/lake"
	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/posture/changes"
	"github.com/parapet-sec/parapet/internal/redact"
	"github.com/parapet-sec/parapet/internal/report"
	"github.com/parapet-sec/parapet/internal/respond/hubsync"
	"github.com/parapet-sec/parapet/internal/server"
	"github.com/parapet-sec/parapet/internal/store"
)

// serveConfig loads the configuration and applies the flags over it.
func serveConfig(cmd *cobra.Command, file, listen, data string) (*config.Config, error) {
	c, err := config.Load(file)
	if err != nil {
		return nil, err
	}
	if f := cmd.Flags().Lookup("db"); f != nil && f.Changed {
		defer func() { c.DB = f.Value.String() }()
	}
	if cmd.Flags().Changed("data") {
		if c.DB == filepath.Join(c.Data, "parapet.db") {
			c.DB = filepath.Join(data, "parapet.db")
		}
		c.Data = data
	}
	if cmd.Flags().Changed("listen") {
		c.Listen = listen
	}
	return c, nil
}

func newServe(io IO) *cobra.Command {
	var file, listen, data string
	var demoMode bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run continuously: intake, detection, incidents, response, API and metrics",
		Long: `Run Parapet as a service. Telemetry posted to the intake (POST /v1/ingest/cloudtrail, /eventbridge,
/vpcflow) is spooled in the store before it is acknowledged (202), then decoded, enriched, detected (rules,
correlation rules, behavioural models), filed into incidents, stored, and handed to the response playbooks.
A restart replays what was acknowledged and not yet processed; nothing is counted or acted on twice.

Every /v1 route needs a token (parapet tokens create --role ROLE; ingest tokens only post telemetry).
/healthz and /readyz are open, /metrics (Prometheus) too unless metrics.token or metrics.role says otherwise. With no --config: SQLite in ./parapet-data, HTTP on 127.0.0.1:8080, no sources.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := serveConfig(cmd, file, listen, data)
			if err != nil {
				fmt.Fprintln(io.Err, err)
				return &ExitError{Code: ExitUsage}
			}
			var demoDir string
			var demoAcct *demoAccount
			demoNote := "actions in dry-run: no AWS API emulator (moto_server) on PATH"
			if demoMode {
				// A week of Acme's telemetry, replayed through the live
				// pipeline from a watched folder; the baselines warm up on
				// the first days. The playbooks act on an AWS API emulator
				// seeded with Acme's resources when moto_server is there,
				// and plan in dry-run when it is not: never a real account.
				demoDir = filepath.Join(c.Data, "demo-telemetry")
				if _, err := os.Stat(filepath.Join(demoDir, "labels.jsonl")); err != nil {
					// Last week, Monday to Sunday: recent, and all past.
					today := time.Now().UTC().Truncate(24 * time.Hour)
					monday := today.AddDate(0, 0, -((int(today.Weekday())+6)%7)-7)
					if _, err := demo.Generate(demo.Config{Dir: demoDir, Seed: 1, Start: monday}); err != nil {
						return err
					}
				}
				c.Respond.DryRun = true
				if moto, err := emulator.Start(); err == nil {
					defer moto.Stop()
					defer setEnv(moto.Env())()
					fmt.Fprintf(io.Err, "demo: seeding the AWS API emulator (moto_server at %s) with Acme's resources…\n", moto.URL)
					if demoAcct, err = seedDemoAccount(cmd.Context()); err != nil {
						return fmt.Errorf("seeding the emulator: %w", err)
					}
					c.Respond.DryRun = false
					demoNote = "actions run on the AWS API emulator at " + moto.URL + ", never a real account"
				}
				if loopback(c.Listen) {
					// The demo is plain HTTP on this machine: browsers
					// other than Chromium and Firefox refuse Secure
					// cookies there, and on loopback there is no wire
					// for the flag to protect.
					c.Auth.InsecureCookies = true
				}
				c.Detect.UEBA.Warmup = config.Duration(3 * 24 * time.Hour)
				// The week reaches the lake (and the timeline) as it
				// replays, not five minutes later.
				c.Lake.FlushEvery = config.Duration(15 * time.Second)
				// The demo's own address ranges and geo database, as a
				// user's file would name them (detect.cloud_ranges,
				// detect.geoip, detect.asn): without them no address is
				// known to be outside AWS, and nobody travels.
				c.Detect.CloudRanges = append(c.Detect.CloudRanges, filepath.Join(demoDir, "ip-ranges.json"))
				if c.Detect.GeoIP == "" && c.Detect.ASN == "" {
					c.Detect.GeoIP = filepath.Join(demoDir, "geo.mmdb")
					c.Detect.ASN = c.Detect.GeoIP
				}
				c.Sources.Folders = append(c.Sources.Folders, config.Folder{Path: filepath.Join(demoDir, "AWSLogs"), Poll: config.Duration(time.Second)})
				tf := filepath.Join(c.Data, "demo-terraform")
				if err := writeExampleProject(tf); err != nil {
					return err
				}
				c.Posture.IaC = append(c.Posture.IaC, tf)
				// Acme's IAM: its paths to admin on the Paths page and
				// watched by the pipeline.
				pathsFile, _, err := demoPaths(demoDir)
				if err != nil {
					return err
				}
				if c.Detect.Paths == "" {
					c.Detect.Paths = pathsFile
				}
			}
			if _, err := config.ReadSecret(c.Metrics.Token); err != nil {
				return fmt.Errorf("metrics.token: %w", err)
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			log := slog.New(slog.NewTextHandler(io.Err, &slog.HandlerOptions{Level: slog.LevelInfo}))
			db, err := store.Open(ctx, c.DB)
			if err != nil {
				return err
			}
			defer db.Close()
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			anchor, anchorPub, err := serveAnchor(c, reg, log)
			if err != nil {
				return err
			}
			p, inv, closeFn, err := buildPipeline(ctx, io, c, db, reg, log, anchor)
			if err != nil {
				return err
			}
			defer closeFn()
			if demoAcct != nil {
				p.RespondRewrite = demoAcct.translate
			}
			var bus *natsjs.Bus
			if c.Bus.Enabled() {
				url := c.Bus.NATS
				auth, err := busAuth(c.Bus)
				if err != nil {
					return err
				}
				if c.Bus.Embedded != "" {
					ns, err := natsjs.Embedded(natsjs.EmbeddedOptions{Listen: c.Bus.Embedded, Dir: filepath.Join(c.Data, "nats"), Auth: auth})
					if err != nil {
						return fmt.Errorf("bus.embedded: %w", err)
					}
					defer ns.Shutdown()
					log.Info("embedded NATS JetStream server", "url", ns.URL, "auth", ns.Auth)
					if url == "" {
						url, auth = ns.URL, ns.Auth
					}
				}
				bus, err = natsjs.Connect(ctx, natsjs.Options{URL: url, Partitions: c.Bus.Partitions, Worker: c.Bus.Worker, Workers: c.Bus.Workers,
					MaxPending: c.Bus.MaxPending, Auth: auth, Log: log})
				if err != nil {
					return fmt.Errorf("bus: %w", err)
				}
				defer bus.Close()
				p.Bus = bus
			}
			var lakeR *lake.Lake
			lakeDone := make(chan struct{})
			close(lakeDone)
			if !c.Lake.Off {
				feed, err := openLakeFeed(ctx, c, db, p, reg, log)
				if err != nil {
					return err
				}
				if bus != nil {
					// Each worker writes its partitions' events (its
					// accounts); worker 0 compacts.
					feed.Bus = c.Bus.Worker
					if c.Bus.Worker != 0 {
						feed.CompactEvery = 0
					}
				}
				p.Lake = feed
				lakeR = feed.Writer.Lake
				lakeDone = make(chan struct{})
				go func() {
					defer close(lakeDone)
					if err := feed.Run(ctx); err != nil {
						log.Error("the lake feed stopped", "err", err)
					}
				}()
				if !c.Lake.RetroOff && (bus == nil || c.Bus.Worker == 0) {
					// New indicators (intel files, TAXII polls) likewise.
					go p.RetroIntelLoop(ctx, feed.Writer.Lake, c.Lake.RetroLookback.D())
					// Rules added or changed since the last start run over
					// the lake's history, beside the live pipeline (on the
					// bus, by worker 0).
					go func() {
						ran, st, err := p.RetroRules(ctx, feed.Writer.Lake, p.Rules.Rules().Rules(), c.Lake.RetroLookback.D(), time.Now())
						switch {
						case err != nil && ctx.Err() == nil:
							log.Error("retroactive detection of new or changed rules failed; it runs again on the next start", "err", err)
						case len(ran) > 0:
							log.Info("new or changed rules ran over the lake", "rules", len(ran), "look_back", c.Lake.RetroLookback.D(), "events", st.Hunt.Events, "findings", st.Findings)
						}
					}()
				}
			}
			// The feed's last flush runs before the store closes.
			defer func() { cancel(); <-lakeDone }()
			var running atomic.Bool
			srv := server.New(c, db, p, reg, log, running.Load)
			if c.Detect.Paths != "" {
				// The paths the pipeline watches (buildPipeline read the
				// same file): the UI's Paths page.
				if srv.Paths, err = attackpath.LoadReport(c.Detect.Paths); err != nil {
					return fmt.Errorf("detect.paths: %w", err)
				}
				srv.PathsSource = c.Detect.Paths
			}
			srv.AuditCheck = &audit.Checker{DB: db, AnchorPath: anchor.Path, AnchorKey: anchorPub}
			srv.Lake = lakeR // hunts and timelines (nil: lake.off)
			anchorDone := make(chan struct{})
			go func() { defer close(anchorDone); runAnchor(ctx, anchor, c, log) }()
			defer func() { cancel(); <-anchorDone }()
			p.OnChange = srv.Publish
			if c.SecurityHub.Export {
				hs, err := newHubSync(ctx, c.SecurityHub, p, db, log)
				if err != nil {
					return err
				}
				pub := p.OnChange
				p.OnChange = func(kind string, v any) {
					pub(kind, v)
					if in, ok := v.(*correlate.Incident); ok && kind == "incident" {
						hs.Changed(in)
					}
				}
				go func() { _ = hs.Run(ctx) }()
				log.Info("exporting incidents to Security Hub", "product", hs.Exporter.ProductARN())
			}
			if bus != nil {
				srv.Relay = bus.Broadcast
				if err := bus.OnChange(srv.Deliver); err != nil {
					return fmt.Errorf("bus: %w", err)
				}
			}
			ps := &postureScanner{cfg: c.Posture, org: c.Organization, db: db, dbPath: c.DB, log: log, publish: srv.Publish, now: make(chan struct{}, 1), changes: p.Changes}
			srv.PostureSummary = func(ctx context.Context, accounts []string) (map[string]any, error) {
				return postureSummary(ctx, db, accounts)
			}
			if len(ps.targets()) > 0 {
				srv.PostureScan = ps.Trigger
			}
			if c.Organization.Enabled() {
				// The organization's inventory, listed again every
				// organization.refresh: the API's account and OU filters,
				// and a live scan when the accounts change (where this
				// worker runs the scans).
				scans := c.Posture.AWS.Enabled && (bus == nil || c.Bus.Worker == 0)
				w, runInv, err := runOrgInventory(ctx, c.Organization, inv, log, func() {
					if scans {
						ps.Trigger()
					}
				})
				if err != nil {
					return fmt.Errorf("organization: %w", err)
				}
				srv.OrgAccounts = w.Latest
				invDone := make(chan struct{})
				go func() { defer close(invDone); runInv() }()
				defer func() { cancel(); <-invDone }()
			}
			srv.Org = func(ctx context.Context) (*server.OrgView, error) { return orgSummary(ctx, db) }
			ln, err := net.Listen("tcp", c.Listen)
			if err != nil {
				return err
			}
			hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
			hs.RegisterOnShutdown(srv.CloseStreams)
			errc := make(chan error, 3)
			go func() { errc <- hs.Serve(ln) }()
			go func() {
				running.Store(true)
				// On the bus the spool only drains what was spooled
				// before (on worker 0).
				if bus == nil || c.Bus.Worker == 0 {
					errc <- p.Run(ctx)
				}
			}()
			if bus != nil {
				go func() { errc <- bus.Run(ctx, p) }()
			}
			if bus == nil || c.Bus.Worker == 0 {
				go ps.run(ctx)
			}
			for _, x := range c.Intel.TAXII {
				pw, err := config.ReadSecret(x.Password)
				if err != nil {
					return fmt.Errorf("intel.taxii %s: %w", x.Collection, err)
				}
				go pollTAXII(ctx, p, &enrich.TAXII{Collection: x.Collection, User: x.User, Password: pw, MaxObjects: x.MaxObjects, MaxBytes: int64(x.MaxBytes),
					MaxTotalObjects: x.MaxTotalObjects, MaxTotalBytes: int64(x.MaxTotalBytes)}, x.Interval.D(), log)
			}
			for _, f := range c.Sources.Folders {
				w := &watch.Folder{Path: f.Path, Poll: f.Poll.D(), MaxSize: int64(c.Sources.HTTP.MaxBody), Sink: p, Log: log}
				go func() { _ = w.Run(ctx) }()
				log.Info("watching", "folder", f.Path, "every", f.Poll.D())
			}
			for _, h := range c.Sources.SecurityHub {
				src, err := newHubPoll(ctx, h, p, log)
				if err != nil {
					return err
				}
				go func() { _ = src.Run(ctx) }()
				log.Info("polling Security Hub", "region", src.Region, "every", h.Every.D())
			}
			for _, q := range c.Sources.S3SQS {
				src, err := newS3SQS(ctx, q, c.Organization, p, log, int64(c.Sources.HTTP.MaxBody))
				if err != nil {
					return err
				}
				go func() { _ = src.Run(ctx) }()
				log.Info("reading", "queue", q.QueueURL, "buckets", src.Buckets, "role", src.Role)
			}
			addr := "http://" + ln.Addr().String()
			log.Info("parapet serve", "listen", addr, "store", db.Path, "secure_cookies", !c.Auth.InsecureCookies)
			if !c.Auth.InsecureCookies && !loopback(c.Listen) {
				log.Info("session cookies are Secure: serve the UI over HTTPS (a TLS proxy; auth.trusted_proxies), or set auth.insecure_cookies for plain-HTTP development")
			}
			if demoMode {
				secret, _, err := db.CreateToken(ctx, "admin", "demo")
				if err != nil {
					return err
				}
				fmt.Fprintf(io.Out, "Parapet is serving the demo at %s (%s).\nThe week of telemetry replays through the live pipeline for a minute or two; incidents, approvals and posture fill in as it does.\nMTTD counts from each event's own time, so for last week's replayed records it shows their age, not Parapet's delay. Ctrl-C stops.\nSign in with this admin token:\n%s\n", addr, demoNote, secret)
			}
			if serveListening != nil {
				serveListening(addr)
			}
			select {
			case <-ctx.Done():
			case err = <-errc:
			}
			cancel()
			sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer scancel()
			_ = hs.Shutdown(sctx)
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			return err
		},
	}
	cmd.Flags().StringVar(&file, "config", "", "the configuration file (parapet config schema); none: the defaults")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address to listen on (overrides the file's listen)")
	cmd.Flags().StringVar(&data, "data", "parapet-data", "folder for the store and state (overrides the file's data)")
	cmd.Flags().String("db", "", "the store: a SQLite file or postgres://USER@HOST/DB (overrides the file's db)")
	cmd.Flags().BoolVar(&demoMode, "demo", false, "replay a generated week of demo telemetry through the pipeline, actions on an AWS API emulator (moto_server, when on PATH; dry-run otherwise), and print an admin token")
	return cmd
}

// loopback says whether a listen address is on this machine only.
func loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// serveListening, when set (by tests), learns the address serve listens on.
var serveListening func(addr string)

// buildPipeline assembles detection, incidents and response from the
// configuration.
func buildPipeline(ctx context.Context, io IO, c *config.Config, db *store.DB, reg prometheus.Registerer, log *slog.Logger, anchor *audit.Anchorer) (*pipeline.Pipeline, *org.Inventory, func(), error) {
	rules, _, err := loadRules(io, c.Detect.Rules, !*c.Detect.BuiltinRules)
	if err != nil {
		return nil, nil, nil, err
	}
	engine := detect.NewEngine(rules)
	incidents := correlate.New(c.Correlate.Window.D())
	incidents.Graph = correlate.NewGraph(0)
	incidents.Graph.Hubs = c.Correlate.Hubs
	p := &pipeline.Pipeline{DB: db, Rules: engine, Incidents: incidents, Metrics: pipeline.NewMetrics(reg), Log: log,
		Changes: &changes.Index{}}
	if *c.Detect.Aggregate {
		p.Aggregate = detect.NewAggregator(c.Detect.AggregateWindow.D())
	}
	if *c.Detect.UEBA.Enabled {
		p.UEBA = ueba.New(ueba.Config{Warmup: c.Detect.UEBA.Warmup.D(), Lateness: time.Hour, Threshold: c.Detect.UEBA.Threshold, MinRaw: c.Detect.UEBA.MinRaw})
	}
	closers := []func(){}
	var enrichers []func(*event.Event)
	if c.Detect.GeoIP != "" || c.Detect.ASN != "" {
		geo, err := enrich.OpenGeo(c.Detect.GeoIP, c.Detect.ASN)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("detect.geoip/asn: %w", err)
		}
		closers = append(closers, func() { geo.Close() })
		enrichers = append(enrichers, geo.Enrich)
	}
	if len(c.Detect.CloudRanges) > 0 {
		ranges, err := enrich.LoadRanges(c.Detect.CloudRanges...)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("detect.cloud_ranges: %w", err)
		}
		enrichers = append(enrichers, ranges.Enrich)
	}
	if c.Detect.Paths != "" {
		w, err := attackpath.LoadWalker(c.Detect.Paths)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("detect.paths: %w", err)
		}
		p.Paths = w
		log.Info("privilege-escalation paths loaded", "file", c.Detect.Paths, "paths", w.Paths())
	}
	if len(c.Intel.Files) > 0 {
		intel, err := enrich.LoadIntel(c.Intel.Files...)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("intel.files: %w", err)
		}
		p.Intel = intel
		for f, n := range intel.Loaded {
			log.Info("threat intelligence loaded", "file", f, "indicators", n, "skipped", intel.Skipped[f])
		}
	}
	// What requests do (parapet.* fields for rules), against the
	// organization's accounts (default: learned from the records).
	enrichers = append(enrichers, enrich.NewRequests(enrich.NewAccounts(c.Detect.Accounts, c.Detect.OrgIDs)).Enrich)
	if len(enrichers) > 0 {
		p.Enrich = func(e *event.Event) {
			for _, f := range enrichers {
				f(e)
			}
		}
	}
	rf := responseFlags{playbookDirs: c.Respond.Playbooks, noBuiltin: !*c.Respond.BuiltinPlaybooks, db: c.DB, dryRun: c.Respond.DryRun, protect: c.Respond.Protect, baselines: c.Respond.Baselines, anchorer: anchor,
		orgRole: cmp.Or(c.Organization.ResponderRole, c.Organization.Role), orgExternalID: c.Organization.ExternalID}
	resp, closeResp, err := rf.engineOn(ctx, IO{In: io.In, Out: io.Err, Err: io.Err}, db)
	if err != nil {
		return nil, nil, nil, err
	}
	resp.FourEyes = c.Auth.FourEyes
	resp.ProtectAccounts = protectScope(c)
	inv := newInventory(c.Organization)
	if inv != nil {
		resp.Accounts = inv.Resolve
		p.Accounts = inv.Resolve
	}
	// A dry run's calls are kept in its playbook run and the audit trail;
	// printed for every finding they would only flood the log.
	resp.Out = nil
	p.Respond = resp
	closers = append(closers, closeResp)
	if err := p.Start(ctx); err != nil {
		return nil, nil, nil, err
	}
	return p, inv, func() {
		for _, f := range closers {
			f()
		}
	}, nil
}

func newTokens(io IO) *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "API tokens for parapet serve: create, list, revoke"}
	// Every subcommand opens the store serve uses.
	var data, file string
	storeFlags := func(c *cobra.Command) {
		c.Flags().StringVar(&data, "data", "parapet-data", "the serve data folder")
		c.Flags().StringVar(&file, "config", "", "the serve configuration file (for its data and db)")
		c.Flags().String("db", "", "the store: a SQLite file or postgres://… (overrides the file's db)")
	}
	open := func(c *cobra.Command) (*store.DB, error) {
		cfg, err := serveConfig(c, file, "", data)
		if err != nil {
			return nil, err
		}
		return store.Open(c.Context(), cfg.DB)
	}
	var role, name string
	create := &cobra.Command{
		Use:   "create --role ROLE",
		Short: "Create a token (ingest, viewer, analyst, approver, admin); the token is printed once, on the last line",
		Long: `Create a token. Roles: viewer < analyst < approver < admin, each allowed what the ones before it are;
ingest is apart: it may only post telemetry (/v1/ingest/*, a Firehose access key), which analysts and above may
do too. The token is printed once, on the last line; only its hash is stored.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := open(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			secret, t, err := db.CreateToken(cmd.Context(), role, name)
			if err != nil {
				return usageError{err}
			}
			fmt.Fprintf(io.Err, "parapet: token %s (%s, role %s) created in %s; only its hash is stored, so copy it now:\n", t.ID, name, t.Role, db.Path)
			fmt.Fprintln(io.Out, secret)
			return nil
		},
	}
	create.Flags().StringVar(&role, "role", "", "ingest, viewer, analyst, approver or admin")
	create.Flags().StringVar(&name, "name", "", "who or what the token is for")
	storeFlags(create)
	_ = create.MarkFlagRequired("role")

	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the tokens: id, name, role, created, last used, revoked (never a secret or a hash)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := open(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			toks, err := db.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				b, _ := json.MarshalIndent(toks, "", "  ")
				fmt.Fprintf(io.Out, "%s\n", b)
				return nil
			}
			when := func(t *time.Time) string {
				if t == nil {
					return "-"
				}
				return t.UTC().Format(time.RFC3339)
			}
			tw := tabwriter.NewWriter(io.Out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tLAST USED\tREVOKED")
			for _, t := range toks {
				n := t.Name
				if n == "" {
					n = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, n, t.Role, t.Created.UTC().Format(time.RFC3339), when(t.LastUsed), when(t.Revoked))
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	storeFlags(list)

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token: it and its browser sessions stop working (within auth.token_cache on a running serve)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("%s takes one token id (parapet tokens list)", cmd.CommandPath())
			}
			db, err := open(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := db.RevokeToken(cmd.Context(), args[0]); errors.Is(err, store.ErrNoToken) {
				return fmt.Errorf("no live token %s in %s", args[0], db.Path)
			} else if err != nil {
				return err
			}
			fmt.Fprintf(io.Err, "parapet: token %s revoked in %s\n", args[0], db.Path)
			return nil
		},
	}
	storeFlags(revoke)
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// newHubPoll builds a Security Hub polling source.
func newHubPoll(ctx context.Context, h config.SecurityHubSource, p *pipeline.Pipeline, log *slog.Logger) (*hubpoll.Source, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if h.Region != "" {
		opts = append(opts, awsconfig.WithRegion(h.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("sources.securityhub %s: %w", h.Region, err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("sources.securityhub: no region (set region, or AWS_REGION)")
	}
	return &hubpoll.Source{Client: securityhub.NewFromConfig(cfg), Sink: p, Region: cfg.Region, Every: h.Every.D(), Since: h.Since.D(), Log: log}, nil
}

// newHubSync builds the Security Hub export: incidents out, closures
// back in.
func newHubSync(ctx context.Context, h config.SecurityHub, p *pipeline.Pipeline, db *store.DB, log *slog.Logger) (*hubsync.Sync, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if h.Region != "" {
		opts = append(opts, awsconfig.WithRegion(h.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("securityhub: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("securityhub: no region (set securityhub.region, or AWS_REGION)")
	}
	s := &hubsync.Sync{
		Exporter: &hubsync.Exporter{Client: securityhub.NewFromConfig(cfg), Account: h.Account, Region: cfg.Region, URL: h.URL},
		Every:    h.Every.D(),
		Log:      log,
		Close: func(ctx context.Context, id, by, reason string) (bool, error) {
			in, _, err := pipeline.Incident(ctx, db, id)
			if err != nil || in == nil || in.Status == "closed" {
				return false, err
			}
			_, err = p.CloseIncident(ctx, id, by, reason)
			return err == nil, err
		},
	}
	if h.Findings {
		s.Findings = func(ctx context.Context, id string) ([]detect.Finding, error) {
			_, bodies, err := pipeline.Incident(ctx, db, id)
			if err != nil {
				return nil, err
			}
			out := make([]detect.Finding, 0, len(bodies))
			for _, b := range bodies {
				f, err := report.ParseFindingJSON(b)
				if err != nil {
					return nil, fmt.Errorf("stored finding: %w", err)
				}
				out = append(out, f)
			}
			return out, nil
		}
	}
	s.Start()
	return s, nil
}

func newS3SQS(ctx context.Context, q config.S3SQS, o config.Organization, p *pipeline.Pipeline, log *slog.Logger, max int64) (*s3sqs.Source, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if q.Region != "" {
		opts = append(opts, awsconfig.WithRegion(q.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("sources.s3sqs %s: %w", q.QueueURL, err)
	}
	custom := os.Getenv("AWS_ENDPOINT_URL") != ""
	src := &s3sqs.Source{QueueURL: q.QueueURL, Sink: p, Log: log, Wait: q.Wait.D(), MaxSize: max}
	// Trails are described as serve's own identity (an organization
	// trail lives in the management account, its bucket in the log
	// archive), then, failing that, as the role.
	cts := []*cloudtrail.Client{cloudtrail.NewFromConfig(cfg)}
	if role, ext := q.Role(o); role != "" {
		// A central log-archive account: the queue and the buckets are
		// read as its reader role, in a session that names Parapet and
		// the queue in that account's CloudTrail.
		name := q.QueueURL[strings.LastIndexByte(q.QueueURL, '/')+1:]
		as := &org.Assumer{Base: cfg, Role: role, ExternalID: ext}
		cfg = as.Config("", "", org.SessionName("parapet-s3sqs", name))
		src.Role, src.Credentials = role, cfg.Credentials
		cts = append(cts, cloudtrail.NewFromConfig(cfg))
	}
	src.SQS = sqs.NewFromConfig(cfg)
	src.S3 = s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = custom })
	resolve := func(ctx context.Context) ([]string, error) {
		var errs []error
		for _, ct := range cts {
			b, err := trailBuckets(ctx, ct, q)
			if err == nil {
				return b, nil
			}
			errs = append(errs, err)
		}
		return nil, errors.Join(errs...)
	}
	buckets, err := resolve(ctx)
	switch {
	case err == nil:
		src.Buckets = buckets
	case src.Role != "":
		// The role may be assumable later (its trust policy being
		// fixed): the source reports it and tries again; serve runs on.
		log.Error("s3sqs: the buckets to read are not known yet; tried again at each poll", "queue", q.QueueURL, "role", src.Role, "err", err)
		src.Resolve = resolve
	default:
		return nil, fmt.Errorf("sources.s3sqs %s: %w", q.QueueURL, err)
	}
	return src, nil
}

// trailBuckets is an S3→SQS source's allow-list: its buckets, and the
// buckets its trails write to (as CloudTrail says now). With neither
// given, the buckets of every trail CloudTrail reports in the queue's
// region (shadow trails of other regions and organization trails
// included); none is an error, never "read anything".
func trailBuckets(ctx context.Context, ct *cloudtrail.Client, q config.S3SQS) ([]string, error) {
	buckets := slices.Clone(q.Buckets)
	if len(q.Trails) == 0 && len(buckets) > 0 {
		return buckets, nil
	}
	in := &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)}
	if len(q.Trails) > 0 {
		in.TrailNameList = q.Trails
	}
	out, err := ct.DescribeTrails(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("trails: %w", err)
	}
	add := func(tr cttypes.Trail) {
		if b := aws.ToString(tr.S3BucketName); b != "" && !slices.Contains(buckets, b) {
			buckets = append(buckets, b)
		}
	}
	if len(q.Trails) == 0 {
		for _, tr := range out.TrailList {
			add(tr)
		}
		if len(buckets) == 0 {
			return nil, errors.New("no buckets to read: CloudTrail reports no trail here; give the buckets the queue announces (buckets)")
		}
		return buckets, nil
	}
	for _, name := range q.Trails {
		found := false
		for _, tr := range out.TrailList {
			if aws.ToString(tr.Name) == name || aws.ToString(tr.TrailARN) == name {
				found = true
				add(tr)
			}
		}
		if !found {
			return nil, fmt.Errorf("trail %s: not found", name)
		}
	}
	return buckets, nil
}

// pollTAXII adds a collection's new indicators to the pipeline's set on
// every poll (copy, add, swap: matching never waits).
func pollTAXII(ctx context.Context, p *pipeline.Pipeline, x *enrich.TAXII, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		// At a bound the pages read before it come with the error: kept,
		// and the next poll goes on from there.
		objs, err := x.Poll(ctx)
		if err != nil {
			log.Error("taxii poll failed", "collection", redact.URL(x.Collection), "err", err)
		}
		if len(objs) > 0 {
			next := enrich.NewIntel()
			if cur := p.CurrentIntel(); cur != nil {
				next = cur.Clone()
			}
			if err := next.AddSTIX("taxii:"+x.Collection, objs); err != nil {
				log.Error("taxii objects", "collection", redact.URL(x.Collection), "err", err)
			} else {
				p.SetIntel(next)
				log.Info("taxii indicators", "collection", redact.URL(x.Collection), "objects", len(objs), "indicators", next.Len())
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// busAuth reads the bus's credentials from their references.
func busAuth(b config.Bus) (natsjs.Auth, error) {
	a := natsjs.Auth{TLSCert: b.TLS.Cert, TLSKey: b.TLS.Key, TLSCA: b.TLS.CA}
	var err error
	if a.Token, err = config.ReadSecret(b.Token); err != nil {
		return a, fmt.Errorf("bus.token: %w", err)
	}
	if a.NKeySeed, err = config.ReadSecret(b.NKeySeed); err != nil {
		return a, fmt.Errorf("bus.nkey_seed: %w", err)
	}
	return a, nil
}

// openLakeFeed opens serve's lake (lake section; DATA/lake by default)
// and the feed that writes every spooled event into it.
func openLakeFeed(ctx context.Context, c *config.Config, db *store.DB, p *pipeline.Pipeline, reg prometheus.Registerer, log *slog.Logger) (*pipeline.LakeFeed, error) {
	opt := lake.FromConfig(c.Lake, c.Data)
	opt.Log = log
	// The feed flushes: the writer remembers the last half million keys
	// (about 25 MiB), never the whole lake's.
	opt.Recent = 1 << 19
	w, err := lake.Open(ctx, opt)
	if err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	retention, err := retentionOf(c, "")
	if err != nil {
		return nil, err
	}
	feed := pipeline.NewLakeFeed(db, w, reg)
	feed.Enrich, feed.Log = p.Enrich, log
	feed.FlushEvery, feed.CompactEvery, feed.Retention = c.Lake.FlushEvery.D(), c.Lake.CompactEvery.D(), retention
	feed.FlushBuffered = int64(c.Lake.RollSize)
	log.Info("keeping every event in the lake", "lake", w.String(), "flush_every", feed.FlushEvery, "retention", retention)
	return feed, nil
}
