package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/iampolicy"
	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/ingest/file"
	"github.com/parapet-sec/parapet/internal/ocsf"
	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/org/orgposture"
	"github.com/parapet-sec/parapet/internal/posture/awsapi"
	"github.com/parapet-sec/parapet/internal/posture/awsconfig"
	"github.com/parapet-sec/parapet/internal/posture/changes"
	"github.com/parapet-sec/parapet/internal/posture/check"
	"github.com/parapet-sec/parapet/internal/posture/framework"
	"github.com/parapet-sec/parapet/internal/posture/iac/cloudformation"
	"github.com/parapet-sec/parapet/internal/posture/iac/terraform"
	"github.com/parapet-sec/parapet/internal/posture/resource"
	"github.com/parapet-sec/parapet/internal/posture/secrets"
	"github.com/parapet-sec/parapet/internal/respond"
	"github.com/parapet-sec/parapet/internal/store"
)

func loadChecks(io IO, dirs []string) ([]*check.Check, error) {
	sub, _ := fs.Sub(content.FS, "checks")
	checks, errs := check.Load(sub, ".")
	for _, d := range dirs {
		more, e := check.Load(os.DirFS(d), ".")
		checks, errs = append(checks, more...), append(errs, e...)
	}
	for _, e := range errs {
		fmt.Fprintf(io.Err, "parapet: check skipped: %v\n", e)
	}
	// The framework files' own mappings (a control's checks:) join each
	// check's frameworks: map, so results, SARIF, OCSF and the checks
	// list show the merged set.
	framework.Annotate(loadFrameworks(), checks)
	return checks, nil
}

// loadFrameworks parses the embedded frameworks once (some 20 ms);
// callers only read them.
var loadFrameworks = sync.OnceValue(func() []*framework.Framework {
	sub, _ := fs.Sub(content.FS, "frameworks")
	fws, _ := framework.Load(sub, ".")
	return fws
})

// frameworkIDs lists the embedded frameworks' ids, for errors.
func frameworkIDs() string {
	return strings.Join(framework.IDs(loadFrameworks()), ", ")
}

// frameworkFileIDs lists them from the file names (<id>.yaml), for flag
// help, which every command builds: without parsing the files.
func frameworkFileIDs() string {
	entries, _ := fs.ReadDir(content.FS, "frameworks")
	var ids []string
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".yaml"); ok && !e.IsDir() {
			ids = append(ids, id)
		}
	}
	return strings.Join(ids, ", ")
}

// scanReport is the JSON form of a scan.
type scanReport struct {
	Tool       string            `json:"tool"`
	Version    string            `json:"version"`
	Scanned    string            `json:"scanned"`
	Resources  int               `json:"resources"`
	Checks     int               `json:"checks"`
	Passed     int               `json:"passed"`
	Failed     int               `json:"failed"`
	Unknown    int               `json:"unknown"`
	Suppressed []scanResult      `json:"suppressed"`
	Results    []scanResult      `json:"results"`
	Frameworks []framework.Score `json:"frameworks,omitempty"`
	Notices    []scanNotice      `json:"notices,omitempty"`
	// Lifecycle compares the failures with a baseline (--baseline) or,
	// in serve, with the target's previous scan.
	Lifecycle *lifecycle `json:"lifecycle,omitempty"`
	Seconds   float64    `json:"seconds"`
	// Organization is the organization's posture (scan aws --org): SCPs,
	// delegated administrators and the security services' coverage.
	Organization *orgposture.Posture `json:"organization,omitempty"`
	// Rollup is the framework scores by account and OU (scan aws --org).
	Rollup *orgposture.Rollup `json:"rollup,omitempty"`
	// Stats is a live scan's API traffic: calls, throttled responses and
	// retries, in total and (--org) per account.
	Stats *org.ScanStats `json:"stats,omitempty"`
}

// scanNotice is a part of the input the scan could not read: a module
// Parapet could not expand ("module not scanned").
type scanNotice struct {
	Kind     string       `json:"kind"`
	Message  string       `json:"message"`
	Address  string       `json:"address,omitempty"`
	Source   string       `json:"source,omitempty"`
	Location scanLocation `json:"location"`
}

type scanResult struct {
	CheckID     string              `json:"check_id"`
	Title       string              `json:"title"`
	Status      string              `json:"status"`
	Severity    string              `json:"severity"`
	Reason      string              `json:"reason,omitempty"`
	Fingerprint string              `json:"fingerprint"`
	Baseline    string              `json:"baseline,omitempty"` // with a baseline, for failures: new or unchanged
	Resource    scanResource        `json:"resource"`
	Attribute   string              `json:"attribute,omitempty"` // the attribute location points at
	Location    scanLocation        `json:"location"`
	Block       *scanLocation       `json:"block,omitempty"` // the resource's block, when location is elsewhere
	Remediation string              `json:"remediation,omitempty"`
	IaCFix      string              `json:"iac_fix,omitempty"`
	Frameworks  map[string][]string `json:"frameworks,omitempty"`
	// Changes are the calls that last changed a failing live or Config
	// resource, newest first, from the events Parapet has seen (--events,
	// or in serve every event ingested): who, when, from where.
	Changes []changes.Change `json:"changes,omitempty"`
}

type scanResource struct {
	Type    string `json:"type"`
	Name    string `json:"name"`
	Address string `json:"address,omitempty"`
	ARN     string `json:"arn,omitempty"`
	Account string `json:"account,omitempty"`
	OU      string `json:"ou,omitempty"` // the account's, with scan aws --org
}

type scanLocation struct {
	File      string `json:"file,omitempty"`
	StartLine int    `json:"start_line,omitempty"`
	EndLine   int    `json:"end_line,omitempty"`
	Column    int    `json:"column,omitempty"`
	ARN       string `json:"arn,omitempty"`
}

// String is file:line:column, or the ARN.
func (l scanLocation) String() string {
	if l.File == "" {
		return l.ARN
	}
	if l.Column > 0 {
		return fmt.Sprintf("%s:%d:%d", l.File, l.StartLine, l.Column)
	}
	return fmt.Sprintf("%s:%d", l.File, l.StartLine)
}

func toScanLocation(o resource.Origin) scanLocation {
	return scanLocation{File: o.File, StartLine: o.StartLine, EndLine: o.EndLine, Column: o.Column, ARN: o.ARN}
}

func toScanResult(r check.Result) scanResult {
	sr := scanResult{CheckID: r.CheckID, Title: r.Title, Status: r.Status, Severity: r.Severity, Reason: r.Reason, Fingerprint: r.Fingerprint,
		Resource:  scanResource{Type: r.Resource.Type, Name: r.Resource.Name, Address: r.Resource.Address, ARN: r.Resource.ARN, Account: r.Resource.Account},
		Attribute: r.Attribute, Location: toScanLocation(r.Location),
		Remediation: r.Check.Remediation, IaCFix: r.Check.IaCFix, Frameworks: r.Check.Frameworks}
	sr.Resource.OU, _ = r.Resource.Attrs[org.AttrOU].(string)
	if r.Location != r.Resource.Location {
		b := toScanLocation(r.Resource.Location)
		sr.Block = &b
	}
	return sr
}

// iacTree is what findIaC found under a path: Terraform root modules
// (folders other folders call are read as part of their callers),
// CloudFormation templates and Terraform plans.
type iacTree struct {
	base                            string
	dirs, allDirs, templates, plans []string
	files                           *terraform.Files
}

// findIaC walks root for Terraform folders, CloudFormation templates and
// plans (scan iac and paths read the same inputs).
func findIaC(root string) (*iacTree, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	var dirs, templates, plans []string
	isPlan := func(p string) bool {
		if strings.ToLower(filepath.Ext(p)) != ".json" {
			return false
		}
		b, err := os.ReadFile(p)
		return err == nil && terraform.IsPlan(b)
	}
	isTemplate := func(p string) bool {
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json", ".template":
			b, err := os.ReadFile(p)
			return err == nil && cloudformation.IsTemplate(b)
		}
		return false
	}
	if !info.IsDir() {
		if isPlan(root) {
			plans = []string{root}
		} else if isTemplate(root) {
			templates = []string{root}
		} else {
			dirs = []string{filepath.Dir(root)}
		}
	} else {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && p != root) {
				return filepath.SkipDir
			}
			if d.IsDir() {
				if m, _ := filepath.Glob(filepath.Join(p, "*.tf")); len(m) > 0 {
					dirs = append(dirs, p)
				}
			} else if isPlan(p) {
				plans = append(plans, p)
			} else if isTemplate(p) {
				templates = append(templates, p)
			}
			return nil
		})
	}
	t := &iacTree{templates: templates, plans: plans, files: terraform.NewFiles()}
	t.allDirs = append([]string(nil), dirs...) // secrets are looked for in every folder, called or not
	called := map[string]bool{}
	for _, d := range dirs {
		for _, c := range terraform.CalledModules(d, t.files) {
			called[c] = true
		}
	}
	for _, d := range dirs {
		if abs, err := filepath.Abs(d); err == nil && called[filepath.Clean(abs)] {
			continue
		}
		t.dirs = append(t.dirs, d)
	}
	t.base = root
	if !info.IsDir() {
		t.base = filepath.Dir(root)
	}
	return t, nil
}

// resources loads the model of every input; errf hears each problem.
func (t *iacTree) resources(varFiles []string, errf func(error)) []*resource.Resource {
	var res []*resource.Resource
	for _, d := range t.dirs {
		blocks, errs := terraform.Load(d, terraform.Options{VarFiles: varFiles, Files: t.files})
		for _, e := range errs {
			errf(e)
		}
		res = append(res, terraform.Resources(blocks, t.base)...)
	}
	for _, pl := range t.plans {
		more, err := terraform.LoadPlan(pl, t.base)
		if err != nil {
			errf(err)
			continue
		}
		res = append(res, more...)
	}
	for _, tpl := range t.templates {
		more, err := cloudformation.Load(tpl, t.base)
		if err != nil {
			errf(err)
			continue
		}
		res = append(res, more...)
	}
	return res
}

func newScan(io IO) *cobra.Command {
	var (
		sf       scanFlags
		varFiles []string
	)
	cmd := &cobra.Command{Use: "scan", Short: "Check configuration against the posture checks and compliance frameworks"}
	iac := &cobra.Command{
		Use:   "iac PATH",
		Short: "Scan Terraform (HCL) and CloudFormation (YAML, JSON) under PATH",
		Long: `Scan Terraform configurations statically (no plan, no provider): each folder of .tf files under PATH
is a module; variables take their defaults, terraform.tfvars, *.auto.tfvars and --var-file; locals,
count, for_each, the common functions, aws_iam_policy_document data sources and modules are evaluated
(local folders, what terraform init installed under .terraform/modules, and the public
terraform-aws-modules read from their inputs; any other module is reported as not scanned, with its
source, in every format); values known only after apply
make the checks that read them "unknown", not failed. Suppress a check on a resource with a comment
inside or just above it: # parapet:ignore CHECK-ID reason (the reason is required and reported).
CloudFormation templates (YAML with the short intrinsic forms, or JSON) under PATH are read too:
Parameters take their defaults, static Conditions decide which resources exist, and Ref, Sub,
GetAtt, If, Join, Select and FindInMap resolve as far as they can. A Terraform plan in JSON
(terraform show -json plan.out > plan.json) is read as planned: every value the plan knows, in
every module, with what is known only after apply marked unknown.

Exit status: 1 when a failure reaches --fail-on, else 0.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			checks, _ := loadChecks(io, sf.checkDirs)
			root := args[0]
			tree, err := findIaC(root)
			if err != nil {
				return err
			}
			base, allDirs, templates, plans, files := tree.base, tree.allDirs, tree.templates, tree.plans, tree.files
			res := tree.resources(varFiles, func(e error) {
				var mns *terraform.ModuleNotScanned
				if errors.As(e, &mns) {
					file := mns.File
					if rel, err := filepath.Rel(base, file); err == nil {
						file = rel
					}
					sf.notices = append(sf.notices, scanNotice{Kind: "module not scanned", Address: mns.Address, Source: mns.Source,
						Message:  fmt.Sprintf("module not scanned: %s (source %s): its resources are not in the scan", mns.Address, mns.Source),
						Location: scanLocation{File: file, StartLine: mns.Line, EndLine: mns.Line}})
				}
				fmt.Fprintf(io.Err, "parapet: %v\n", e)
			})
			var found []secrets.Finding
			for _, d := range allDirs {
				found = append(found, secrets.Terraform(d, base, func(p string) ([]byte, *hcl.File, error) {
					src, file, _, err := files.Parse(p)
					return src, file, err
				})...)
			}
			for _, tpl := range templates {
				found = append(found, secrets.CloudFormation(tpl, base)...)
			}
			for _, pl := range plans {
				found = append(found, secrets.Plan(pl, base)...)
			}
			sf.secrets = check.SecretResults(checks, found)
			return sf.report(io, root, checks, res, start)
		},
	}
	sf.register(iac.Flags())
	iac.PreRunE = sf.checkFramework
	iac.Flags().StringArrayVar(&varFiles, "var-file", nil, "a .tfvars file (repeatable)")
	var cf scanFlags
	cfg := &cobra.Command{
		Use:   "config FILE...",
		Short: "Scan AWS Config configuration items: snapshots, history files, notifications, select results",
		Long: `Scan AWS Config configuration items: a snapshot or history file as Config delivers it to S3
({"configurationItems": […]}), single items or lists, change notifications, and select-resource-config
results. Locations are the resources' ARNs. Exit status: 1 when a failure reaches --fail-on, else 0.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			checks, _ := loadChecks(io, cf.checkDirs)
			if err := cf.loadEvents(cmd.Context(), io); err != nil {
				return err
			}
			var res []*resource.Resource
			bad := cf.badEvents
			for _, f := range args {
				more, err := awsconfig.Load(f)
				if err != nil {
					fmt.Fprintf(io.Err, "parapet: bad input: %v\n", err)
					bad++
					continue
				}
				res = append(res, more...)
			}
			if err := cf.report(io, strings.Join(args, " "), checks, res, start); err != nil {
				return err
			}
			if bad > 0 {
				return &ExitError{Code: ExitBadInput}
			}
			return nil
		},
	}
	cf.register(cfg.Flags())
	cfg.PreRunE = cf.checkFramework
	cf.registerEvents(cfg.Flags())
	cmd.AddCommand(iac, cfg, newScanAWS(io))
	return cmd
}

func dedupe(in []check.Result) []check.Result {
	// The key's strings share the results' memory: nothing is built per result.
	type key struct {
		check, typ, file   string
		line               int
		address, arn, name string
	}
	seen := make(map[key]struct{}, len(in))
	out := in[:0]
	for _, r := range in {
		k := key{r.CheckID, r.Resource.Type, r.Location.File, r.Location.StartLine, r.Resource.Address, r.Resource.ARN, r.Resource.Name}
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		out = append(out, r)
	}
	return out
}

// describeChange says a change in one line: "last changed 2026-11-20
// 10:00:00 UTC by arn:… (PutBucketPolicy from 198.51.100.7)".
func describeChange(c changes.Change, n int) string {
	from := c.SourceIP
	if from == "" {
		from = c.Source
	}
	s := fmt.Sprintf("last changed %s by %s (%s", c.Time.Format("2006-01-02 15:04:05 UTC"), c.Actor, c.Operation)
	if from != "" {
		s += " from " + from
	}
	s += ")"
	if n > 1 {
		s += fmt.Sprintf("; %d recent changes in the JSON report", n)
	}
	return s
}

func writeScanTable(w *bufio.Writer, rep scanReport) {
	sort.SliceStable(rep.Results, func(i, j int) bool {
		a, b := rep.Results[i], rep.Results[j]
		if a.Status != b.Status {
			return a.Status == check.Fail
		}
		if ra, rb := check.SeverityRank(a.Severity), check.SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		return a.Location.File+fmt.Sprint(a.Location.StartLine) < b.Location.File+fmt.Sprint(b.Location.StartLine)
	})
	status := func(r scanResult) string {
		if r.Baseline == baselineNew {
			return "NEW" // a failure the baseline does not hold
		}
		return strings.ToUpper(r.Status)
	}
	fmt.Fprintf(w, "%-8s %-9s %-17s %-44s %s\n", "STATUS", "SEVERITY", "CHECK", "RESOURCE", "WHERE")
	for _, r := range rep.Results {
		if r.Status == check.Pass {
			continue
		}
		name := r.Resource.Address
		if name == "" {
			name = r.Resource.Name
		}
		if len(name) > 44 {
			name = name[:43] + "…"
		}
		where := r.Location.String()
		if r.Attribute != "" {
			where += " (" + r.Attribute + ")"
		}
		fmt.Fprintf(w, "%-8s %-9s %-17s %-44s %s", status(r), r.Severity, r.CheckID, name, where)
		if r.Status == check.Fail && r.Reason != "" {
			fmt.Fprintf(w, "  %s", r.Reason) // a secret's kind and redacted form
		}
		fmt.Fprintln(w)
		// What is wrong, in words: a failure's problem title.
		fmt.Fprintf(w, "%-8s %s\n", "", r.Title)
		if len(r.Changes) > 0 {
			fmt.Fprintf(w, "%-8s %s\n", "", describeChange(r.Changes[0], len(r.Changes)))
		}
	}
	for _, s := range rep.Suppressed {
		fmt.Fprintf(w, "%-8s %-9s %-17s %-44s %s  reason: %s\n", "IGNORED", s.Severity, s.CheckID, s.Resource.Address, s.Location, s.Reason)
	}
	if lc := rep.Lifecycle; lc != nil {
		for _, f := range lc.FixedResults {
			name := f.Resource.Address
			if name == "" {
				name = f.Resource.ARN
			}
			fmt.Fprintf(w, "%-8s %-9s %-17s %-44s %s\n", "FIXED", f.Severity, f.CheckID, name, f.Location)
		}
	}
	for _, n := range rep.Notices {
		fmt.Fprintf(w, "%-8s %-9s %-17s %-44s %s:%d  source: %s\n", "NOTICE", "", n.Kind, n.Address, n.Location.File, n.Location.StartLine, n.Source)
	}
	fmt.Fprintf(w, "\n%d passed, %d failed, %d unknown, %d suppressed\n", rep.Passed, rep.Failed, rep.Unknown, len(rep.Suppressed))
	if lc := rep.Lifecycle; lc != nil {
		fmt.Fprintf(w, "against %s: %d new, %d still failing, %d fixed\n", lc.Against, lc.New, lc.StillFailing, lc.Fixed)
	}
	for _, f := range rep.Frameworks {
		fmt.Fprintf(w, "%-16s %3.0f%%  %d of %d evaluated controls pass (%d manual)\n", f.ID, f.Percent, f.Passed, f.Evaluated, f.Manual)
	}
	// One framework (--framework): its controls, with the notes on what
	// the evidence covers.
	if len(rep.Frameworks) == 1 {
		f := rep.Frameworks[0]
		if f.Note != "" {
			fmt.Fprintf(w, "  note: %s\n", f.Note)
		}
		for _, c := range f.Controls {
			fmt.Fprintf(w, "  %-14s %-13s %s\n", c.ID, strings.ToUpper(c.Status), c.Title)
			if len(c.Checks) > 0 {
				fmt.Fprintf(w, "  %-14s %-13s checks: %s (%d passed, %d failed)\n", "", "", strings.Join(c.Checks, ", "), c.Passed, c.Failed)
			}
			if c.Note != "" {
				fmt.Fprintf(w, "  %-14s %-13s note: %s\n", "", "", c.Note)
			}
		}
	}
	if rep.Organization != nil {
		writeOrgTable(w, rep.Organization, rep.Rollup)
	}
}

var sarifLevel = map[string]string{"low": "note", "medium": "warning", "high": "error", "critical": "error"}
var securitySeverity = map[string]string{"low": "3.0", "medium": "5.5", "high": "8.0", "critical": "9.5"}

// writeSARIF writes SARIF 2.1.0 as GitHub code scanning reads it: rules
// with help and security-severity, results with physical locations (the
// attribute's line and column; the resource's block as a related
// location) and partial fingerprints. Passing and unknown results are left
// out. With a baseline, each result has its baselineState (new,
// unchanged), and each fixed failure is a result whose state is absent.
// What could not be read (notices) goes in the invocation's notifications.
func writeSARIF(w *bufio.Writer, checks []*check.Check, results []check.Result, lc *lifecycle, notices []scanNotice) error {
	type msg struct {
		Text     string `json:"text"`
		Markdown string `json:"markdown,omitempty"`
	}
	type rule struct {
		ID                   string            `json:"id"`
		Name                 string            `json:"name"`
		ShortDescription     msg               `json:"shortDescription"`
		FullDescription      msg               `json:"fullDescription"`
		Help                 msg               `json:"help"`
		DefaultConfiguration map[string]string `json:"defaultConfiguration"`
		Properties           map[string]any    `json:"properties"`
	}
	var rules []rule
	index := map[string]int{}
	for _, c := range checks {
		index[c.ID] = len(rules)
		var tags []string
		for f := range c.Frameworks {
			tags = append(tags, f)
		}
		sort.Strings(tags)
		tags = append([]string{"security", "iac"}, tags...)
		rules = append(rules, rule{ID: c.ID, Name: strings.ReplaceAll(strings.Title(strings.ToLower(c.Title)), " ", ""),
			ShortDescription: msg{Text: c.Problem}, FullDescription: msg{Text: strings.TrimSpace(c.Rationale + " " + c.Remediation)},
			Help:                 msg{Text: c.Remediation + "\nFix: " + c.IaCFix, Markdown: "**" + c.Problem + "**\n\n" + c.Rationale + "\n\n" + c.Remediation + "\n\n```hcl\n" + c.IaCFix + "\n```"},
			DefaultConfiguration: map[string]string{"level": sarifLevel[c.Severity]},
			Properties:           map[string]any{"security-severity": securitySeverity[c.Severity], "tags": tags, "precision": "high"}})
	}
	physical := func(o resource.Origin) map[string]any {
		region := map[string]int{"startLine": max(o.StartLine, 1), "endLine": max(o.EndLine, o.StartLine, 1)}
		if o.Column > 0 {
			region["startColumn"] = o.Column
		}
		return map[string]any{"physicalLocation": map[string]any{
			"artifactLocation": map[string]string{"uri": filepath.ToSlash(o.File), "uriBaseId": "%SRCROOT%"},
			"region":           region,
		}}
	}
	logical := func(id string) map[string]any {
		// A live or Config resource: a logical location, its ARN.
		return map[string]any{"logicalLocations": []any{map[string]string{"fullyQualifiedName": id, "kind": "resource"}}}
	}
	out := []map[string]any{}
	for _, r := range results {
		if r.Status != check.Fail && r.Status != check.Suppressed {
			continue
		}
		text := fmt.Sprintf("%s: %s", r.Resource.ID(), r.Title)
		if r.Attribute != "" {
			text = fmt.Sprintf("%s (%s): %s", r.Resource.ID(), r.Attribute, r.Title)
		}
		if r.Status == check.Fail && r.Reason != "" {
			text += ": " + r.Reason // a secret's kind and redacted form
		}
		res := map[string]any{
			"ruleId": r.CheckID, "ruleIndex": index[r.CheckID], "level": sarifLevel[r.Severity],
			"message":             map[string]string{"text": text},
			"partialFingerprints": map[string]string{"parapet/v2": r.Fingerprint},
		}
		if r.Location.File != "" {
			res["locations"] = []any{physical(r.Location)}
			if b := r.Resource.Location; b.File != "" && b != r.Location {
				rel := physical(b)
				rel["id"] = 1
				rel["message"] = map[string]string{"text": "the resource " + r.Resource.ID()}
				res["relatedLocations"] = []any{rel}
			}
		} else {
			res["locations"] = []any{logical(r.Resource.ID())}
		}
		if lc != nil {
			res["baselineState"] = lc.state(r.Fingerprint)
		}
		if r.Status == check.Suppressed {
			kind := "external" // a suppression file
			if r.SuppressedBy == "inline" {
				kind = "inSource" // a parapet:ignore comment
			}
			res["suppressions"] = []any{map[string]string{"kind": kind, "justification": r.Reason}}
		}
		out = append(out, res)
	}
	if lc != nil {
		for _, f := range lc.FixedResults {
			res := map[string]any{
				"ruleId": f.CheckID, "level": sarifLevel[f.Severity], "baselineState": "absent",
				"message":             map[string]string{"text": fmt.Sprintf("fixed: %s", f.Title)},
				"partialFingerprints": map[string]string{"parapet/v2": f.Fingerprint},
			}
			if i, ok := index[f.CheckID]; ok {
				res["ruleIndex"] = i
			}
			if f.Location.File != "" {
				res["locations"] = []any{physical(resource.Origin{File: f.Location.File, StartLine: f.Location.StartLine, EndLine: f.Location.EndLine, Column: f.Location.Column})}
			} else {
				id := f.Resource.ARN
				if id == "" {
					id = f.Resource.Address
				}
				res["locations"] = []any{logical(id)}
			}
			out = append(out, res)
		}
	}
	run := map[string]any{
		"tool":    map[string]any{"driver": map[string]any{"name": "Parapet", "informationUri": "https://github.com/parapet-sec/parapet", "semanticVersion": strings.TrimPrefix(version, "v"), "rules": rules}},
		"results": out,
	}
	if len(notices) > 0 {
		// What could not be read: tool execution notifications.
		var ns []any
		for _, n := range notices {
			note := map[string]any{"level": "warning", "message": map[string]string{"text": n.Message}, "descriptor": map[string]string{"id": strings.ReplaceAll(n.Kind, " ", "-")}}
			if n.Location.File != "" {
				note["locations"] = []any{map[string]any{"physicalLocation": map[string]any{
					"artifactLocation": map[string]string{"uri": filepath.ToSlash(n.Location.File), "uriBaseId": "%SRCROOT%"},
					"region":           map[string]int{"startLine": max(n.Location.StartLine, 1)},
				}}}
			}
			ns = append(ns, note)
		}
		run["invocations"] = []any{map[string]any{"executionSuccessful": true, "toolExecutionNotifications": ns}}
	}
	doc := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
		"runs": []any{run},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func newChecks(io IO) *cobra.Command {
	cmd := &cobra.Command{Use: "checks", Short: "Test and list the posture checks"}
	test := &cobra.Command{
		Use: "test [DIR...]", Short: "Run each check on the examples beside it (the builtin checks when no DIR is given)",
		RunE: func(cmd *cobra.Command, args []string) error {
			var fsyss []fs.FS
			if len(args) == 0 {
				sub, _ := fs.Sub(content.FS, "checks")
				fsyss = append(fsyss, sub)
			}
			for _, a := range args {
				fsyss = append(fsyss, os.DirFS(a))
			}
			passed, failed := 0, 0
			for _, fsys := range fsyss {
				checks, errs := check.Load(fsys, ".")
				for _, e := range errs {
					fmt.Fprintf(io.Out, "PROBLEM %v\n", e)
					failed++
				}
				results, problems := check.RunExamples(fsys, checks)
				for _, p := range problems {
					fmt.Fprintf(io.Out, "PROBLEM %v\n", p)
					failed++
				}
				for _, r := range results {
					if r.OK() {
						passed++
						continue
					}
					failed++
					var got []string
					for _, g := range r.Got {
						got = append(got, g.Status)
					}
					fmt.Fprintf(io.Out, "FAIL %s %s: want %s, got %v %v\n", r.Check.ID, r.File, r.Want, got, r.Err)
				}
			}
			fmt.Fprintf(io.Out, "checks: %d examples passed, %d failed\n", passed, failed)
			if failed > 0 {
				return &ExitError{Code: ExitFailure}
			}
			return nil
		},
	}
	list := &cobra.Command{
		Use: "list", Short: "List the checks (with the organization's, which scan aws --org runs)", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			checks, _ := loadChecks(io, nil)
			// The organization's own checks (scan aws --org), written in Go.
			checks = append(slices.Clone(checks), orgposture.Checks...)
			w := bufio.NewWriter(io.Out)
			defer w.Flush()
			for _, c := range checks {
				var fws []string
				for f, ids := range c.Frameworks {
					fws = append(fws, f+" "+strings.Join(ids, ","))
				}
				sort.Strings(fws)
				fmt.Fprintf(w, "%-17s %-9s %-34s %s\n  %s\n", c.ID, c.Severity, c.Resource, c.Title, strings.Join(fws, "; "))
			}
			return nil
		},
	}
	cmd.AddCommand(test, list)
	return cmd
}

// scanFlags are what every scan shares.
type scanFlags struct {
	format, fw, failOn string
	checkDirs          []string
	suppressions       []string
	notices            []scanNotice // what the loaders could not read, for the report
	baseline, write    string
	secrets            []check.Result      // the secret detector's results (scan iac)
	events             []string            // CloudTrail logs whose write calls explain failing resources (scan config, scan aws)
	changes            *changes.Index      // built from events
	badEvents          int                 // event inputs that could not be read
	checkScopes        string              // --check-scopes: check selections by account scope
	accounts           org.Resolver        // the organization's accounts (scan aws --org), for scopes
	org                *orgposture.Posture // scan aws --org: the organization's posture, its results added to the report's
	orgAccounts        []org.Account       // and the included accounts, for the rollup
	apiStats           *org.ScanStats      // scan aws: the inventory's API traffic
}

// registerEvents adds --events (scan config, scan aws).
func (sf *scanFlags) registerEvents(fs interface {
	StringArrayVar(*[]string, string, []string, string)
}) {
	fs.StringArrayVar(&sf.events, "events", nil, "CloudTrail logs (files, folders) to link each failing resource to the calls that last changed it: who, when, from where (repeatable)")
}

// loadEvents reads --events into the index of changes: every successful
// write call, per resource. Unreadable inputs are reported and counted.
func (sf *scanFlags) loadEvents(ctx context.Context, io IO) error {
	if len(sf.events) == 0 {
		return nil
	}
	inputs, err := file.Inputs(sf.events, nil)
	if err != nil {
		return usagef("--events: %v", err)
	}
	ix := &changes.Index{}
	st, err := ingest.Run(ctx, inputs, ingest.Options{}, func(b *ingest.Batch) error {
		for i := range b.Events {
			ix.Observe(&b.Events[i])
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range st.Errors {
		fmt.Fprintf(io.Err, "parapet: --events: bad input: %v\n", e)
	}
	if st.Bad() {
		sf.badEvents = int(st.BadRecords + st.Stray)
	}
	sf.changes = ix
	fmt.Fprintf(io.Err, "parapet: --events: %d events read, recent changes of %d resources\n", st.Events, ix.Len())
	return nil
}

func (sf *scanFlags) register(fs interface {
	StringVarP(*string, string, string, string, string)
	StringVar(*string, string, string, string)
	StringArrayVar(*[]string, string, []string, string)
}) {
	fs.StringVarP(&sf.format, "format", "f", "table", "output: table, json, sarif, ocsf (Compliance Findings, one JSON object per line) or html")
	fs.StringVar(&sf.fw, "framework", "", "score only this framework ("+frameworkFileIDs()+")")
	fs.StringVar(&sf.failOn, "fail-on", "", "exit 1 when a failed check has this severity or higher (low, medium, high, critical)")
	fs.StringArrayVar(&sf.checkDirs, "checks", nil, "a directory of checks to add (repeatable)")
	fs.StringArrayVar(&sf.suppressions, "suppressions", nil, "a suppression file (YAML: check, resource glob, reason, expires; repeatable)")
	fs.StringVar(&sf.baseline, "baseline", "", "a baseline (--write-baseline): report each failure as new or still failing, list what was fixed; --fail-on counts only new failures")
	fs.StringVar(&sf.write, "write-baseline", "", "write this scan's failures (their fingerprints) to FILE, for --baseline")
	fs.StringVar(&sf.checkScopes, "check-scopes", "", "checks turned off per account scope: a YAML file (or inline JSON) listing {scope: {accounts, ous, tags, exclude}, disable: [check ids, globs, framework ids], only: […]}, as posture.check_scopes")
}

// selections reads --check-scopes.
func (sf *scanFlags) selections() ([]check.Selection, error) {
	if sf.checkScopes == "" {
		return nil, nil
	}
	data, where := []byte(sf.checkScopes), "--check-scopes"
	if !strings.HasPrefix(strings.TrimSpace(sf.checkScopes), "[") {
		b, err := os.ReadFile(sf.checkScopes)
		if err != nil {
			return nil, usagef("--check-scopes: %v", err)
		}
		data, where = b, sf.checkScopes
	}
	var sels []check.Selection
	if err := yaml.Unmarshal(data, &sels); err != nil {
		return nil, usagef("%s: %v", where, err)
	}
	for i, s := range sels {
		if err := s.Validate(); err != nil {
			return nil, usagef("%s: entry %d: %v", where, i+1, err)
		}
	}
	return sels, nil
}

// checkFramework rejects an unknown --framework (and bad --check-scopes)
// before anything is read or called.
func (sf *scanFlags) checkFramework(*cobra.Command, []string) error {
	if _, err := sf.selections(); err != nil {
		return err
	}
	if sf.fw == "" || slices.Contains(framework.IDs(loadFrameworks()), sf.fw) {
		return nil
	}
	return usagef("--framework %s: unknown framework; known: %s", sf.fw, frameworkIDs())
}

// report runs the checks on the resources and writes the report.
func (sf *scanFlags) report(io IO, root string, checks []*check.Check, res []*resource.Resource, start time.Time) error {
	format, fw, failOn := sf.format, sf.fw, sf.failOn
	failRank := len(check.Severities)
	if failOn != "" {
		if failRank = check.SeverityRank(failOn); failRank < 0 {
			return usagef("--fail-on: want one of %s", strings.Join(check.Severities, ", "))
		}
	}
	switch format {
	case "table", "json", "sarif", "ocsf", "html":
	default:
		return usagef("--format: want table, json, sarif, ocsf or html")
	}
	sels, err := sf.selections()
	if err != nil {
		return err
	}
	var sups []*check.Suppression
	for _, f := range sf.suppressions {
		s, errs := check.LoadSuppressions(f)
		if len(errs) > 0 {
			for _, e := range errs {
				fmt.Fprintf(io.Err, "parapet: %v\n", e)
			}
			return usagef("%s: %d bad suppressions", f, len(errs))
		}
		sups = append(sups, s...)
	}
	results := append(check.Run(checks, res), sf.secrets...)
	// Path checks: each principal that can become admin (the access graph
	// of the same resources).
	results = append(results, check.PathResults(checks, res)...)
	// Modules called by other modules were also scanned as roots:
	// keep one result per check, resource type and location.
	results = dedupe(results)
	if sf.org != nil {
		// The organization checks: their results come from the coverage
		// matrix, SCPs and delegated administrators.
		checks = append(slices.Clone(checks), orgposture.Checks...)
		results = append(results, sf.org.Results...)
	}
	results = check.Select(results, sels, sf.accounts)
	for _, w := range check.ApplySuppressionsIn(results, sups, start, sf.accounts) {
		fmt.Fprintf(io.Err, "parapet: %s\n", w)
	}
	for i := range results {
		if r := &results[i]; r.Status == check.Suppressed && strings.TrimSpace(r.Reason) == "" {
			r.Status, r.Reason = check.Fail, "parapet:ignore without a reason is not honoured"
		}
	}
	rep := scanReport{Tool: "parapet", Version: version, Scanned: root, Resources: len(res), Checks: len(checks), Notices: sf.notices,
		Suppressed: []scanResult{}, Results: make([]scanResult, 0, len(results))}
	for _, r := range results {
		sr := toScanResult(r)
		if sf.changes != nil && r.Status == check.Fail && (r.Resource.Source == "aws" || r.Resource.Source == "config") {
			sr.Changes = sf.changes.Lookup(r.Resource.ARN, r.Resource.Account, r.Resource.Name)
		}
		switch r.Status {
		case check.Pass:
			rep.Passed++
		case check.Fail:
			rep.Failed++
		case check.Unknown:
			rep.Unknown++
		case check.Suppressed:
			rep.Suppressed = append(rep.Suppressed, sr)
			continue
		}
		rep.Results = append(rep.Results, sr)
	}
	if sf.baseline != "" {
		before, err := readBaseline(sf.baseline)
		if err != nil {
			return err
		}
		rep.Lifecycle = compareFailures(sf.baseline, before, rep.Results, rep.Suppressed)
	}
	// With a baseline, only new failures fail the run.
	failed := false
	for _, r := range rep.Results {
		if r.Status == check.Fail && r.Baseline != baselineUnchanged && check.SeverityRank(r.Severity) >= failRank {
			failed = true
		}
	}
	for _, f := range loadFrameworks() {
		if fw != "" && f.ID != fw {
			continue
		}
		rep.Frameworks = append(rep.Frameworks, framework.Evaluate(f, checks, results))
	}
	if fw != "" && len(rep.Frameworks) == 0 {
		return usagef("--framework %s: unknown framework; known: %s", fw, frameworkIDs())
	}
	if sf.org != nil {
		rep.Organization = sf.org
		var fws []*framework.Framework
		for _, f := range loadFrameworks() {
			if fw == "" || f.ID == fw {
				fws = append(fws, f)
			}
		}
		r := orgposture.RollUp(fws, checks, results, sf.orgAccounts)
		rep.Rollup = &r
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.Stats = sf.apiStats
	w := bufio.NewWriter(io.Out)
	defer w.Flush()
	switch format {
	case "json":
		if err := writeScanJSON(w, rep); err != nil {
			return err
		}
	case "sarif":
		if err := writeSARIF(w, checks, results, rep.Lifecycle, rep.Notices); err != nil {
			return err
		}
	case "table":
		writeScanTable(w, rep)
	case "ocsf":
		if err := writeScanOCSF(w, results, rep.Notices, start); err != nil {
			return err
		}
	case "html":
		if err := writeScanHTML(w, rep, start); err != nil {
			return err
		}
	}
	w.Flush()
	fmt.Fprintf(io.Err, "parapet: %d resources, %d checks: %d passed, %d failed, %d unknown, %d suppressed in %.2f s\n",
		rep.Resources, len(checks), rep.Passed, rep.Failed, rep.Unknown, len(rep.Suppressed), rep.Seconds)
	writeAPIStats(io.Err, rep.Stats)
	if lc := rep.Lifecycle; lc != nil {
		fmt.Fprintf(io.Err, "parapet: against %s: %d new, %d still failing, %d fixed\n", lc.Against, lc.New, lc.StillFailing, lc.Fixed)
	}
	if sf.write != "" {
		if err := writeBaseline(sf.write, rep, start); err != nil {
			return err
		}
		fmt.Fprintf(io.Err, "parapet: baseline of %d failures written to %s\n", len(failureEntries(rep.Results)), sf.write)
	}
	if failed {
		if rep.Lifecycle != nil {
			return &ExitError{Code: ExitFailure, Err: fmt.Errorf("new failures at or above %s", failOn)}
		}
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("failures at or above %s", failOn)}
	}
	return nil
}

func newScanAWS(io IO) *cobra.Command {
	var (
		sf         scanFlags
		rf         responseFlags
		opt        awsapi.Options
		of         orgFlags
		remediate  bool
		approveAll bool
	)
	cmd := &cobra.Command{
		Use:   "aws",
		Short: "Scan the live AWS account (read-only calls), and with --remediate fix what fails",
		Long: `Inventory the account through read-only AWS API calls (the standard credential chain;
AWS_ENDPOINT_URL points elsewhere): S3 buckets, IAM users, roles, customer policies and the password
policy, and per region security groups, VPCs and flow logs, EBS volumes and default encryption, EC2
instances, CloudTrail trails, GuardDuty detectors, KMS keys and RDS instances. --assume-role scans
one more account per role; throttled calls are retried (--max-attempts, jittered exponential backoff
and an adaptive request rate per service client), at most --concurrency calls are in flight (4 per
service), and the summary (and the JSON report's stats) counts the API calls, throttled responses and
retries, with --org per account.

--remediate hands each failed check that names a response action to the response engine: approvals
(destructive actions wait unless --approve-all), guardrails and the audit trail apply as for
playbooks, and --dry-run prints the calls instead.

Exit status: 1 when a failure reaches --fail-on, else 3 when some part of the account could not be
read (each reported on stderr), else 0.

--org scans every included account of the AWS Organization (discovered through Organizations from the
management or a delegated-administrator account, or organization.accounts) through the role --role names
in each (--external-id when its trust policy asks), --concurrency accounts at once; results carry each
resource's account and OU, and an account whose role cannot be assumed is reported as "account not
scanned" (exit 3). parapet deploy roles generates the roles.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start := time.Now()
			ctx := cmd.Context()
			checks, _ := loadChecks(io, sf.checkDirs)
			if err := sf.loadEvents(ctx, io); err != nil {
				return err
			}
			res, all, notices, err := of.inventory(ctx, opt, start)
			if of.listed != nil {
				sf.accounts = org.Static(of.listed)
			}
			if err != nil {
				return err
			}
			sf.notices = append(sf.notices, notices...)
			sf.org, sf.orgAccounts = of.posture, of.accounts
			sf.apiStats = of.stats
			var errs []error
			for _, e := range all {
				fmt.Fprintf(io.Err, "parapet: %v\n", e)
				var u *awsapi.Unsupported
				if !errors.As(e, &u) {
					errs = append(errs, e)
				}
			}
			if len(res) == 0 && len(errs) > 0 {
				return fmt.Errorf("nothing could be read from the account")
			}
			if remediate || cmd.Flags().Changed("db") {
				if err := snapshotInventory(ctx, rf.db, res, start); err != nil {
					return err
				}
			}
			rerr := sf.report(io, "aws", checks, res, start)
			var exit *ExitError
			if rerr != nil && !errors.As(rerr, &exit) {
				return rerr
			}
			if remediate {
				rf.orgRole, rf.orgExternalID = of.roleFor()
				if err := remediateFailures(ctx, io, rf, checks, res, approveAll, start); err != nil {
					return err
				}
			}
			if rerr == nil && len(errs) > 0 {
				// What could not be read is not known to pass.
				fmt.Fprintf(io.Err, "parapet: %d parts of the account could not be read (above); their checks did not run\n", len(errs))
				return &ExitError{Code: ExitBadInput}
			}
			if rerr == nil && sf.badEvents > 0 {
				return &ExitError{Code: ExitBadInput}
			}
			return rerr
		},
	}
	sf.register(cmd.Flags())
	sf.registerEvents(cmd.Flags())
	cmd.PreRunE = sf.checkFramework
	cmd.Flags().StringSliceVar(&opt.Regions, "regions", nil, "regions to scan (comma-separated; default: the configured region)")
	cmd.Flags().StringArrayVar(&opt.AssumeRoles, "assume-role", nil, "a role ARN to assume: scans that account (repeatable)")
	cmd.Flags().IntVar(&opt.Concurrency, "concurrency", 8, "API calls in flight")
	cmd.Flags().IntVar(&opt.MaxAttempts, "max-attempts", 10, "attempts per call when AWS throttles")
	cmd.Flags().DurationVar(&opt.MaxBackoff, "max-backoff", 0, "longest wait between attempts of a throttled call (default 20s, the SDK's)")
	of.register(cmd.Flags(), &opt.Concurrency)
	cmd.Flags().BoolVar(&remediate, "remediate", false, "hand each failed check with a response action to the response engine")
	cmd.Flags().BoolVar(&approveAll, "approve-all", false, "with --remediate: approve what would wait for approval (recorded as such)")
	rf.register(cmd.Flags(), "dry-run")
	return cmd
}

// remediateFailures turns each failed check that has an action into a
// one-step playbook and a finding, and lets the response engine decide.
func remediateFailures(ctx context.Context, io IO, rf responseFlags, checks []*check.Check, res []*resource.Resource, approveAll bool, scanned time.Time) error {
	results := check.Run(checks, res)
	rf.noBuiltin = true
	e, closeFn, err := rf.engine(ctx, io)
	if err != nil {
		return err
	}
	defer closeFn()
	n, failed := 0, 0
	for _, r := range results {
		if r.Status != check.Fail || r.Check.Action == nil {
			continue
		}
		params, err := r.Check.ActionParams(r.Resource)
		if err != nil {
			fmt.Fprintf(io.Err, "parapet: %v\n", err)
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "name: posture-%s\ntrigger: \"true\"\nsteps:\n  - action: %s\n    params:\n", strings.ToLower(r.CheckID), r.Check.Action.Name)
		keys := make([]string, 0, len(params))
		for k := range params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, _ := json.Marshal(params[k])
			fmt.Fprintf(&b, "      %s: %s\n", k, v)
		}
		pb, err := respond.Parse([]byte(b.String()), "check "+r.CheckID, e.Registry)
		if err != nil {
			fmt.Fprintf(io.Err, "parapet: %v\n", err)
			continue
		}
		e.Playbooks = []*respond.Playbook{pb}
		f := &respond.Finding{Doc: map[string]any{
			"id": "posture:" + r.CheckID + ":" + r.Resource.ID() + ":" + scanned.UTC().Format(time.RFC3339), "rule_id": r.CheckID, "title": r.Title, "level": r.Severity, "source": "posture",
			"cloud":     map[string]any{"provider": "aws", "account": r.Resource.Account, "region": r.Resource.Region},
			"resources": []any{map[string]any{"type": r.Resource.Type, "uid": r.Resource.ID(), "name": r.Resource.Name}},
		}, Record: map[string]any{}}
		rs, err := e.Handle(ctx, f)
		if err != nil {
			return err
		}
		for i, x := range rs {
			if x.ApprovalID != "" && approveAll {
				if rs[i], err = e.Decide(ctx, x.ApprovalID, "cli --approve-all", "approved by scan aws --remediate --approve-all", true); err != nil {
					return err
				}
			}
		}
		failed += printResults(io, rs)
		n++
	}
	fmt.Fprintf(io.Err, "parapet: %d failed checks handed to the response engine; audit head %s\n", n, e.Audit.Head())
	return actionsFailed(failed)
}

// writeScanOCSF writes one OCSF Compliance Finding (2003) per result,
// suppressed ones included (with the finding status Suppressed).
func writeScanOCSF(w io.Writer, results []check.Result, notices []scanNotice, now time.Time) error {
	titles := map[string]string{}
	for _, f := range loadFrameworks() {
		titles[f.ID] = f.Title
	}
	enc := json.NewEncoder(w)
	// What could not be read: a finding whose compliance is unknown.
	for _, n := range notices {
		c := ocsf.ComplianceResult{CheckID: "PARAPET-MODULE-NOT-SCANNED", Title: "Module not scanned", Severity: "low", Status: check.Unknown,
			Reason: n.Message, ResourceUID: n.Address, ResourceName: n.Address, ResourceType: "terraform_module", Source: "terraform",
			File: n.Location.File, StartLine: n.Location.StartLine, EndLine: n.Location.EndLine, Time: now}
		if n.Kind == "account not scanned" {
			c.CheckID, c.Title, c.ResourceType, c.Source, c.Account = "PARAPET-ACCOUNT-NOT-SCANNED", "Account not scanned", "aws_account", "aws", n.Address
		}
		if err := enc.Encode(ocsf.FromCompliance(c)); err != nil {
			return err
		}
	}
	for _, r := range results {
		c := ocsf.ComplianceResult{CheckID: r.CheckID, Title: r.Title, Rationale: r.Check.Rationale, Severity: r.Severity,
			Status: r.Status, Reason: r.Reason, Remediation: r.Check.Remediation, IaCFix: r.Check.IaCFix,
			ResourceUID: r.Resource.ID(), ResourceName: r.Resource.Name, ResourceType: r.Resource.Type, Source: r.Resource.Source,
			Account: r.Resource.Account, Region: r.Resource.Region, File: r.Location.File, StartLine: r.Location.StartLine,
			EndLine: r.Location.EndLine, Time: now}
		fws := make([]string, 0, len(r.Check.Frameworks))
		for fw := range r.Check.Frameworks {
			fws = append(fws, fw)
		}
		sort.Strings(fws)
		for _, fw := range fws {
			if t := titles[fw]; t != "" {
				c.Standards = append(c.Standards, t)
			}
			for _, id := range r.Check.Frameworks[fw] {
				c.Requirements = append(c.Requirements, fw+" "+id)
			}
		}
		if err := enc.Encode(ocsf.FromCompliance(c)); err != nil {
			return err
		}
	}
	return nil
}

// snapshotInventory keeps, in the store's snapshots, what the inventory
// read of each bucket's policy and default encryption: Parapet's own reads
// of the live account, which is all s3.revert_bucket_policy and
// s3.enable_default_encryption ever restore from.
func snapshotInventory(ctx context.Context, path string, res []*resource.Resource, at time.Time) error {
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	snaps := respond.Snapshots{DB: db}
	for _, r := range res {
		if r.Type != resource.S3Bucket {
			continue
		}
		if r.Policy != "" {
			doc, err := iampolicy.Parse([]byte(r.Policy))
			if err == nil {
				if err := snaps.Record(ctx, respond.Snapshot{Kind: respond.SnapshotBucketPolicy, Resource: r.Name, State: r.Policy, Problem: doc.Public(), Source: "posture scan", At: at}); err != nil {
					return err
				}
			}
		}
		if enc, ok := r.Attrs["encryption"].(map[string]any); ok && enc["algorithm"] != "" {
			state, _ := json.Marshal(map[string]any{"algorithm": enc["algorithm"], "kms_key": enc["kms_key"]})
			if k, _ := enc["kms_key"].(string); k == "" {
				state, _ = json.Marshal(map[string]any{"algorithm": enc["algorithm"]})
			}
			if err := snaps.Record(ctx, respond.Snapshot{Kind: respond.SnapshotBucketEncryption, Resource: r.Name, State: string(state), Source: "posture scan", At: at}); err != nil {
				return err
			}
		}
	}
	return nil
}
