package cli

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/parapet-sec/parapet/internal/config"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/report"
	"github.com/parapet-sec/parapet/internal/respond"
	"github.com/parapet-sec/parapet/internal/respond/awsaction"
	"github.com/parapet-sec/parapet/internal/respond/notify"
	"github.com/parapet-sec/parapet/internal/respond/ticket"
	"github.com/parapet-sec/parapet/internal/store"
)

// ExitActionFailed: a response action failed (or could not be planned):
// respond, detect --respond and approvals approve never exit 0 then.
const ExitActionFailed = 4

// responseFlags build the response engine.
type responseFlags struct {
	playbookDirs []string
	noBuiltin    bool
	db           string
	dryRun       bool
	protect      []string
	baselines    string
	// anchor is the audit anchor file ("": beside a SQLite db; serve: in
	// its data folder); anchorKey an env:/file: reference to the Ed25519
	// key that signs the anchors.
	anchor    string
	anchorKey string
	// anchorer, when set (serve), is the anchor to use.
	anchorer *audit.Anchorer
	// orgRole (and orgExternalID), when set, is assumed in a finding's
	// account when it is not the caller's (organization.role).
	orgRole, orgExternalID string
}

func (r *responseFlags) register(fs *pflag.FlagSet, dryRunName string) {
	fs.StringArrayVar(&r.playbookDirs, "playbooks", nil, "a directory of playbooks to add (repeatable)")
	fs.BoolVar(&r.noBuiltin, "no-builtin-playbooks", false, "run only the --playbooks given")
	fs.StringVar(&r.db, "db", store.DefaultPath, "the store (SQLite): audit trail, approvals, actions taken")
	fs.BoolVar(&r.dryRun, dryRunName, false, "plan every action and print the exact API calls; change nothing")
	fs.StringArrayVar(&r.protect, "protect", nil, "a resource no playbook may touch: name, id or ARN, * and ? allowed (repeatable;\nresources tagged parapet:protected=true are always protected)")
	fs.StringVar(&r.baselines, "baselines", "", "a folder of approved bucket policies (BUCKET.json) that s3.revert_bucket_policy restores first")
	fs.StringVar(&r.anchorKey, "audit-anchor-key", "", "env:NAME or file:PATH holding an Ed25519 private key (PEM, PKCS #8) that signs the audit anchors")
}

// registry is every action Parapet has.
func registry(clients *awsaction.Clients) *respond.Registry {
	reg := respond.NewRegistry()
	awsaction.Register(reg, clients)
	notify.Register(reg, nil)
	ticket.Register(reg, nil)
	return reg
}

func loadPlaybooks(reg *respond.Registry, dirs []string, noBuiltin bool) ([]*respond.Playbook, []error) {
	var all []*respond.Playbook
	var errs []error
	if !noBuiltin {
		sub, _ := fs.Sub(content.FS, "playbooks")
		p, e := respond.Load(sub, ".", reg)
		for _, x := range p {
			x.File = "builtin:" + x.File
		}
		all, errs = append(all, p...), append(errs, e...)
	}
	for _, d := range dirs {
		p, e := respond.Load(os.DirFS(d), ".", reg)
		for _, x := range p {
			x.File = d + "/" + x.File
		}
		all, errs = append(all, p...), append(errs, e...)
	}
	return all, errs
}

// engine opens the store and builds the engine; close releases it.
func (r *responseFlags) engine(ctx context.Context, io IO) (*respond.Engine, func(), error) {
	db, err := store.Open(ctx, r.db)
	if err != nil {
		return nil, nil, err
	}
	e, closeE, err := r.engineOn(ctx, io, db)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return e, func() { closeE(); db.Close() }, nil
}

// engineOn builds the response engine on an open store (the caller
// closes it).
func (r *responseFlags) engineOn(ctx context.Context, io IO, db *store.DB) (*respond.Engine, func(), error) {
	clients := &awsaction.Clients{}
	if r.orgRole != "" {
		clients.Org = &org.Assumer{Role: r.orgRole, ExternalID: r.orgExternalID}
	}
	reg := registry(clients)
	pbs, errs := loadPlaybooks(reg, r.playbookDirs, r.noBuiltin)
	for _, e := range errs {
		fmt.Fprintf(io.Err, "parapet: playbook skipped: %v\n", e)
	}
	// What actions restore comes only from Parapet's own reads (and the
	// operator's baselines), never from ingested records.
	clients.Snapshots = respond.Snapshots{DB: db}
	clients.Baselines = r.baselines
	log, err := audit.Open(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	e := &respond.Engine{Playbooks: pbs, Registry: reg, DB: db, Audit: log, DryRun: r.dryRun, Protect: r.protect, Out: io.Out}
	x, err := r.newAnchorer(log)
	if err != nil {
		return nil, nil, err
	}
	// The head is anchored when the command ends (serve: also on a
	// schedule).
	return e, func() {
		if _, err := x.Anchor(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintf(io.Err, "parapet: %v\n", err)
		}
	}, nil
}

// anchorer writes the audit log's head to the anchor file.
func (r *responseFlags) newAnchorer(log *audit.Log) (*audit.Anchorer, error) {
	if r.anchorer != nil {
		r.anchorer.Bind(log)
		return r.anchorer, nil
	}
	x := &audit.Anchorer{Path: r.anchor}
	defer x.Bind(log)
	if x.Path == "" {
		x.Path = audit.AnchorPath(r.db)
	}
	if r.anchorKey != "" {
		b, err := config.ReadSecret(r.anchorKey)
		if err != nil {
			return nil, fmt.Errorf("audit anchor key: %w", err)
		}
		priv, _, err := audit.ParseKey([]byte(b))
		if err != nil {
			return nil, err
		}
		if priv == nil {
			return nil, errors.New("audit anchor key: a public key cannot sign: give the private key")
		}
		x.Key = priv
	}
	return x, nil
}

// printResults prints what became of each run and counts the runs in
// which something failed.
func printResults(io IO, rs []respond.Result) (failed int) {
	for _, r := range rs {
		fmt.Fprintf(io.Err, "parapet: %s on %s: %s", r.Playbook, r.FindingID, r.Status)
		if r.ApprovalID != "" {
			fmt.Fprintf(io.Err, " (approval %s)", r.ApprovalID)
		}
		if r.Error != "" {
			fmt.Fprintf(io.Err, ": %s", r.Error)
		}
		fmt.Fprintln(io.Err)
		if runFailed(r) {
			failed++
		}
		for _, s := range r.Steps {
			line := s.Outcome.Summary
			if s.Reason != "" {
				line = s.Reason
			}
			fmt.Fprintf(io.Err, "parapet:   %-8s %-36s %s\n", s.Status, s.Action, line)
		}
	}
	return failed
}

// runFailed: the run could not be planned, or one of its steps failed.
func runFailed(r respond.Result) bool {
	if r.Status == "failed" {
		return true
	}
	for _, s := range r.Steps {
		if s.Status == "failed" {
			return true
		}
	}
	return false
}

// actionsFailed is the error a command returns when response actions
// failed: exit status 4, whatever else went well.
func actionsFailed(n int) error {
	if n == 0 {
		return nil
	}
	return &ExitError{Code: ExitActionFailed, Err: fmt.Errorf("%d playbook run(s) failed: see the lines above and the audit trail", n)}
}

func newRespond(io IO) *cobra.Command {
	var (
		rf         responseFlags
		findings   string
		approveAll bool
		approveIDs []string
	)
	cmd := &cobra.Command{
		Use:   "respond --findings FILE|-",
		Short: "Run the response playbooks on findings",
		Long: `Read findings (JSON lines, as parapet detect --records writes them) and run every enabled playbook
whose trigger matches: auto playbooks act at once, approve playbooks wait in the approval queue
(parapet approvals), and --dry-run prints the exact API calls instead of making them. Every
decision and action goes to the audit trail in --db. Actions reach AWS through the standard
credential chain; AWS_ENDPOINT_URL points them elsewhere (an emulator).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if findings == "" && len(approveIDs) == 0 {
				return usagef("respond needs --findings FILE (or - for stdin), or --approve ID")
			}
			ctx := cmd.Context()
			e, closeFn, err := rf.engine(ctx, io)
			if err != nil {
				return err
			}
			defer closeFn()
			failed := 0
			for _, id := range approveIDs {
				r, err := e.Decide(ctx, id, "cli --approve", "approved by parapet respond --approve", true)
				if errors.Is(err, respond.ErrNotPending) {
					return usagef("--approve %s: %v", id, err)
				}
				if err != nil {
					return err
				}
				failed += printResults(io, []respond.Result{r})
			}
			if findings == "" {
				return actionsFailed(failed)
			}
			in := io.In
			if findings != "-" {
				f, err := os.Open(findings)
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			sc := bufio.NewScanner(in)
			sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
			n, bad := 0, 0
			for line := 1; sc.Scan(); line++ {
				text := strings.TrimSpace(sc.Text())
				if text == "" {
					continue
				}
				f, err := respond.ParseFinding([]byte(text))
				if err != nil {
					fmt.Fprintf(io.Err, "parapet: bad input: %s:%d: %v\n", findings, line, err)
					bad++
					continue
				}
				n++
				rs, err := e.Handle(ctx, f)
				if err != nil {
					return err
				}
				if approveAll {
					for i, r := range rs {
						if r.ApprovalID != "" {
							if rs[i], err = e.Decide(ctx, r.ApprovalID, "cli --approve-all", "approved by --approve-all", true); err != nil {
								return err
							}
						}
					}
				}
				failed += printResults(io, rs)
			}
			if err := sc.Err(); err != nil {
				return err
			}
			fmt.Fprintf(io.Err, "parapet: %d findings read; audit head %s\n", n, e.Audit.Head())
			if err := actionsFailed(failed); err != nil {
				return err
			}
			if bad > 0 {
				return &ExitError{Code: ExitBadInput}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&findings, "findings", "", "the findings: a JSON lines file, or - for stdin")
	cmd.Flags().BoolVar(&approveAll, "approve-all", false, "approve every plan that waits for approval (recorded as such in the audit trail)")
	cmd.Flags().StringArrayVar(&approveIDs, "approve", nil, "approve the pending plan ID and run it (repeatable; see parapet approvals list)")
	rf.register(cmd.Flags(), "dry-run")
	return cmd
}

func newApprovals(io IO) *cobra.Command {
	var rf responseFlags
	cmd := &cobra.Command{Use: "approvals", Short: "List and decide the plans waiting for approval"}
	rf.register(cmd.PersistentFlags(), "dry-run")
	list := &cobra.Command{
		Use: "list", Short: "List approvals (pending ones first expire as their playbooks say)", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := storeExists(rf.db); err != nil {
				return err
			}
			e, closeFn, err := rf.engine(cmd.Context(), io)
			if err != nil {
				return err
			}
			defer closeFn()
			if _, err := e.Expire(cmd.Context()); err != nil {
				return err
			}
			all, err := e.Approvals(cmd.Context(), "")
			if err != nil {
				return err
			}
			w := bufio.NewWriter(io.Out)
			defer w.Flush()
			fmt.Fprintf(w, "%-16s %-9s %-26s %-34s %-20s %s\n", "ID", "STATUS", "PLAYBOOK", "FINDING", "EXPIRES", "STEPS")
			for _, a := range all {
				var steps []string
				for _, s := range a.Steps {
					steps = append(steps, s.Action+" "+s.Target)
				}
				fmt.Fprintf(w, "%-16s %-9s %-26s %-34s %-20s %s\n", a.ID, a.Status, a.Playbook, a.FindingID, a.Expires.Format("2006-01-02 15:04Z"), strings.Join(steps, "; "))
			}
			return nil
		},
	}
	decide := func(approve bool) *cobra.Command {
		var by, role, comment string
		verb := "deny"
		if approve {
			verb = "approve"
		}
		c := &cobra.Command{
			Use: verb + " ID --by NAME", Short: strings.ToUpper(verb[:1]) + verb[1:] + " a pending plan" + map[bool]string{true: " and run it", false: ""}[approve], Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if by == "" {
					return usagef("--by NAME is required: every decision is recorded with who made it")
				}
				if err := storeExists(rf.db); err != nil {
					return err
				}
				e, closeFn, err := rf.engine(cmd.Context(), io)
				if err != nil {
					return err
				}
				defer closeFn()
				who := by
				if role != "" {
					who = by + " (" + role + ")"
				}
				r, err := e.DecideAs(cmd.Context(), args[0], who, []string{by, role}, comment, approve)
				if errors.Is(err, respond.ErrNotPending) {
					return usagef("%s: %v", args[0], err)
				}
				failed := printResults(io, []respond.Result{r})
				if err != nil {
					return err
				}
				return actionsFailed(failed)
			},
		}
		c.Flags().StringVar(&by, "by", "", "who decides (recorded in the audit trail)")
		c.Flags().StringVar(&role, "role", "", "the approver role the person decides in (playbooks' approvers name people or roles)")
		c.Flags().StringVar(&comment, "comment", "", "why")
		return c
	}
	cmd.AddCommand(list, decide(true), decide(false))
	return cmd
}

func newAudit(io IO) *cobra.Command {
	var db, head, anchor, anchorKey string
	cmd := &cobra.Command{Use: "audit", Short: "Verify or export the tamper-evident audit trail"}
	cmd.PersistentFlags().StringVar(&db, "db", store.DefaultPath, "the store")
	verify := &cobra.Command{
		Use: "verify", Short: "Check the hash chain and its latest anchor: names the first edited, deleted, inserted or reordered record, or records cut off the end", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := storeExists(db); err != nil {
				return err
			}
			var pub ed25519.PublicKey
			if anchorKey != "" {
				b, err := config.ReadSecret(anchorKey)
				if err != nil {
					return usagef("--anchor-key: %v", err)
				}
				if _, pub, err = audit.ParseKey([]byte(b)); err != nil {
					return usagef("--anchor-key: %v", err)
				}
			}
			if anchor == "" {
				anchor = audit.AnchorPath(db)
			}
			s, err := store.Open(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer s.Close()
			n, h, err := audit.Verify(cmd.Context(), s, head)
			if err != nil {
				fmt.Fprintf(io.Out, "audit trail BROKEN after %d good records: %v\n", n, err)
				return &ExitError{Code: ExitFailure, Err: err}
			}
			note := ""
			if anchor == "" {
				fmt.Fprintln(io.Err, "parapet: no anchor file (--anchor FILE): records cut off the end are found only with --head")
			} else {
				a, err := audit.LatestAnchor(anchor, pub)
				switch {
				case errors.Is(err, audit.ErrNoAnchor):
					fmt.Fprintf(io.Err, "parapet: no anchor in %s: records cut off the end are found only with --head\n", anchor)
				case err != nil:
					fmt.Fprintf(io.Out, "audit trail BROKEN: %v\n", err)
					return &ExitError{Code: ExitFailure, Err: err}
				default:
					if err := audit.CheckAnchor(cmd.Context(), s, a); err != nil {
						fmt.Fprintf(io.Out, "audit trail BROKEN against its anchor (%s): %v\n", anchor, err)
						return &ExitError{Code: ExitFailure, Err: err}
					}
					switch {
					case pub != nil:
						note = ", signed, signature verified"
					case a.Sig != "":
						note = ", signed (not checked: no --anchor-key)"
					}
					note = fmt.Sprintf("; anchored at record %d (%s)%s", a.Seq, a.Time.Format(time.RFC3339), note)
				}
			}
			fmt.Fprintf(io.Out, "audit trail intact: %d records, head %s%s\n", n, h, note)
			return nil
		},
	}
	verify.Flags().StringVar(&head, "head", "", "the head hash written down earlier: records cut off the end are found too")
	verify.Flags().StringVar(&anchor, "anchor", "", "the anchor file (default: audit.anchor beside a SQLite --db; serve's: DATA/audit.anchor)")
	verify.Flags().StringVar(&anchorKey, "anchor-key", "", "env:NAME or file:PATH holding the Ed25519 public (or private) key (PEM) that signed the anchors: every line must verify")
	export := &cobra.Command{
		Use: "export", Short: "Write the audit trail as JSON lines, each record with its hash", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := storeExists(db); err != nil {
				return err
			}
			s, err := store.Open(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer s.Close()
			w := bufio.NewWriter(io.Out)
			defer w.Flush()
			_, err = audit.Export(cmd.Context(), s, w)
			return err
		},
	}
	cmd.AddCommand(verify, export)
	return cmd
}

func newIAMPolicy(io IO) *cobra.Command {
	var dirs []string
	var noBuiltin bool
	cmd := &cobra.Command{
		Use: "iam-policy", Short: "Print the least-privilege IAM policy the enabled playbooks need", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg := registry(&awsaction.Clients{})
			pbs, errs := loadPlaybooks(reg, dirs, noBuiltin)
			for _, e := range errs {
				fmt.Fprintf(io.Err, "parapet: playbook skipped: %v\n", e)
			}
			b, _ := json.MarshalIndent(respond.LeastPrivilege(pbs, reg), "", "  ")
			fmt.Fprintln(io.Out, string(b))
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&dirs, "playbooks", nil, "a directory of playbooks to add (repeatable)")
	cmd.Flags().BoolVar(&noBuiltin, "no-builtin-playbooks", false, "only the --playbooks given")
	return cmd
}

func newPlaybooks(io IO) *cobra.Command {
	var ruleDirs []string
	var cfgFile string
	cmd := &cobra.Command{Use: "playbooks", Short: "Lint playbooks, list actions, print the playbook schema"}
	lint := &cobra.Command{
		Use: "lint [DIR...]", Short: "Validate playbooks (the builtin ones when no DIR is given) and prove them on the rules' examples",
		Long: `Validate playbooks (schema, CEL, actions, parameters, secret references), then prove each one
on the findings the rules' matching examples produce (the builtin pack, and --rules): for every
example finding a playbook's trigger selects, every step's templates must render and every parameter
must be valid. A builtin playbook that no example finding triggers is a problem too.

Each playbook's scope (the accounts whose findings trigger it) and approval by scope is printed;
with --config naming serve's configuration with an organization: section, the scope is resolved
to the accounts it covers (listed through Organizations, else organization.accounts), each marked
auto, approval or protected (respond.protect_accounts).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			reg := registry(&awsaction.Clients{})
			pbs, errs := loadPlaybooks(reg, args, len(args) > 0)
			for _, e := range errs {
				fmt.Fprintln(io.Out, e)
			}
			problems := len(errs)
			sources := []ruleSource{builtinRules()}
			for _, d := range ruleDirs {
				s, err := dirRules(d)
				if err != nil {
					return usagef("--rules: %v", err)
				}
				sources = append(sources, s)
			}
			var findings []detect.ExampleFinding
			for _, s := range sources {
				rs, _ := sigma.Load(s.fsys, s.root, sigma.Options{})
				findings = append(findings, detect.ExampleFindings(s.fsys, rs)...)
			}
			e := &respond.Engine{Registry: reg}
			proven := 0
			for _, p := range pbs {
				n := 0
				for _, ex := range findings {
					line := report.AppendFindingJSON(nil, &ex.Finding)
					if len(ex.Finding.Record) > 0 {
						line = append(append(append(line[:len(line)-1], `,"record":`...), ex.Finding.Record...), '}')
					}
					f, err := respond.ParseFinding(line)
					if err != nil || !p.Triggers(f) {
						continue
					}
					n++
					if _, err := e.Prove(p, f); err != nil {
						fmt.Fprintf(io.Out, "%s: on %s:%d (%s): %v\n", p.File, ex.File, ex.Line, ex.Rule.Title, err)
						problems++
					}
				}
				switch {
				case n > 0:
					proven++
				case strings.HasPrefix(p.File, "builtin:"):
					fmt.Fprintf(io.Out, "%s: no rule example produces a finding its trigger selects: it is not proven\n", p.File)
					problems++
				default:
					fmt.Fprintf(io.Out, "%s: not proven (no rule example produces a finding its trigger selects; add its rules with --rules)\n", p.File)
				}
			}
			c, err := config.Load(cfgFile)
			if err != nil {
				return usagef("--config: %v", err)
			}
			accounts, err := lintAccounts(cmd.Context(), c)
			if err != nil {
				fmt.Fprintf(io.Out, "organization: accounts not listed, scopes not resolved: %v\n", err)
			}
			writeScopes(io.Out, pbs, accounts, protectScope(c))
			fmt.Fprintf(io.Out, "playbooks: %d valid, %d proven on %d example findings, %d problems\n", len(pbs), proven, len(findings), problems)
			if problems > 0 {
				return &ExitError{Code: ExitFailure}
			}
			return nil
		},
	}
	lint.Flags().StringVar(&cfgFile, "config", "", "serve's configuration: its organization and respond.protect_accounts resolve the playbooks' scopes to accounts")
	lint.Flags().StringArrayVar(&ruleDirs, "rules", nil, "a directory of rules (with examples) whose findings the playbooks are proven on, besides the builtin pack")
	actions := &cobra.Command{
		Use: "actions", Short: "List the actions playbooks can use, with their parameters and IAM permissions", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg := registry(&awsaction.Clients{})
			w := bufio.NewWriter(io.Out)
			defer w.Flush()
			for _, n := range reg.Names() {
				a := reg.Get(n)
				kind := ""
				if a.Destructive {
					kind = " (destructive: approve by default)"
				}
				fmt.Fprintf(w, "%s%s\n  %s\n  params: %s", n, kind, a.Description, strings.Join(a.Required, ", "))
				if len(a.Optional) > 0 {
					fmt.Fprintf(w, " [%s]", strings.Join(a.Optional, ", "))
				}
				if len(a.Secrets) > 0 {
					fmt.Fprintf(w, "; secrets (env:NAME or file:PATH): %s", strings.Join(a.Secrets, ", "))
				}
				fmt.Fprintf(w, "\n  rollback: %v\n", a.Rollback != nil)
				if len(a.Permissions) > 0 {
					fmt.Fprintf(w, "  permissions: %s\n", strings.Join(a.Permissions, ", "))
				}
			}
			return nil
		},
	}
	schema := &cobra.Command{
		Use: "schema", Short: "Print the playbooks' JSON Schema", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := io.Out.Write(append(respond.Schema(), '\n'))
			return err
		},
	}
	cmd.AddCommand(lint, actions, schema)
	return cmd
}

// respondBatch runs the playbooks on a batch's findings, in order, and
// counts the runs that failed.
func respondBatch(ctx context.Context, io IO, e *respond.Engine, b *ingest.Batch, res *detect.Batch) (int, error) {
	failed := 0
	for i := range res.Findings {
		line := report.AppendFindingJSON(nil, &res.Findings[i])
		if rec := res.Findings[i].Record; len(rec) > 0 {
			line = append(append(append(line[:len(line)-1], `,"record":`...), rec...), '}')
		}
		f, err := respond.ParseFinding(line)
		if err != nil {
			return failed, err
		}
		rs, err := e.Handle(ctx, f)
		if err != nil {
			return failed, err
		}
		failed += printResults(io, rs)
	}
	return failed, nil
}
