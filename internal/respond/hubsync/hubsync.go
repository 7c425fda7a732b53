// Package hubsync keeps AWS Security Hub and Parapet in step: it exports
// Parapet's findings and incidents as ASFF findings (BatchImportFindings,
// re-exported under the same Id as they change, so Security Hub updates
// them rather than adding copies), resolves an incident's finding there
// when it is closed in Parapet (BatchUpdateFindings), and reads back the
// incidents a Security Hub user resolved or suppressed, for Parapet to
// close.
package hubsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/decode/asff"
	"github.com/parapet-sec/parapet/internal/detect"
)

// Permissions are the Security Hub calls the exporter makes.
var Permissions = []string{"securityhub:BatchImportFindings", "securityhub:BatchUpdateFindings", "securityhub:GetFindings"}

// Batch is the most findings one BatchImportFindings or
// BatchUpdateFindings call takes.
const Batch = 100

// Id prefixes of the findings Parapet exports.
const (
	findingPrefix  = "parapet/finding/"
	incidentPrefix = "parapet/incident/"
)

// Client is the part of the Security Hub API the exporter calls.
type Client interface {
	BatchImportFindings(ctx context.Context, in *securityhub.BatchImportFindingsInput, opt ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error)
	BatchUpdateFindings(ctx context.Context, in *securityhub.BatchUpdateFindingsInput, opt ...func(*securityhub.Options)) (*securityhub.BatchUpdateFindingsOutput, error)
	GetFindings(ctx context.Context, in *securityhub.GetFindingsInput, opt ...func(*securityhub.Options)) (*securityhub.GetFindingsOutput, error)
}

// Exporter writes Parapet's findings and incidents to one account's
// Security Hub in one region. Safe for concurrent use if the client is.
type Exporter struct {
	Client    Client
	Partition string // default aws
	Account   string // the account whose hub receives the findings (AwsAccountId)
	Region    string
	// URL, when set, is where Parapet's UI is: an exported incident
	// links back to <URL>/#/incident/<id> (SourceUrl). The UI has no page
	// of its own for a finding: findings carry no link.
	URL string
	// Now is the clock for UpdatedAt (default time.Now).
	Now func() time.Time
}

// ProductARN is the ARN of the account's own ("default") product, under
// which BatchImportFindings accepts the account's custom findings.
func (x *Exporter) ProductARN() string {
	return "arn:" + x.partition() + ":securityhub:" + x.Region + ":" + x.Account + ":product/" + x.Account + "/default"
}

func (x *Exporter) partition() string {
	if x.Partition == "" {
		return "aws"
	}
	return x.Partition
}

func (x *Exporter) now() time.Time {
	if x.Now != nil {
		return x.Now().UTC()
	}
	return time.Now().UTC()
}

// FindingID is the ASFF Id of an exported Parapet finding; IncidentID of
// an exported incident. Stable: a re-export updates the same finding.
func FindingID(id string) string  { return findingPrefix + id }
func IncidentID(id string) string { return incidentPrefix + id }

// Finding maps a Parapet finding to ASFF.
func (x *Exporter) Finding(f *detect.Finding) types.AwsSecurityFinding {
	desc := f.Description
	if desc == "" {
		desc = f.Summary
	}
	first, last := f.FirstSeen, f.LastSeen
	if first.IsZero() {
		first = f.Time
	}
	if last.IsZero() {
		last = f.Time
	}
	out := x.base(FindingID(f.ID), f.RuleID, f.Title, desc, f.Level, typesOf(f.Attack.Tactics, f.Source), first, last)
	out.ProductFields["parapet/rule"] = f.RuleID
	out.ProductFields["parapet/source"] = f.Source
	out.ProductFields[asff.ProductField] = f.ID
	if f.Cloud.Account != "" {
		out.ProductFields["parapet/account"] = f.Cloud.Account
	}
	if len(f.Attack.Techniques) > 0 {
		out.ProductFields["parapet/attack/techniques"] = strings.Join(f.Attack.Techniques, ",")
	}
	if f.Summary != "" {
		out.ProductFields["parapet/summary"] = f.Summary
	}
	for _, r := range f.Resources {
		if len(out.Resources) == maxResources-1 {
			break // room for the principal
		}
		id := r.UID
		if id == "" {
			id = r.Name
		}
		if id == "" {
			continue
		}
		out.Resources = append(out.Resources, types.Resource{Type: aws.String(asff.ASFFType(r.Type)), Id: aws.String(id),
			Partition: types.Partition(x.partition()), Region: aws.String(regionOf(id, f.Cloud.Region, x.Region))})
	}
	if f.Actor.ARN != "" {
		out.Resources = append(out.Resources, principal(f.Actor.ARN, x))
	}
	if f.SrcIP != "" {
		out.Network = &types.Network{Direction: types.NetworkDirectionIn, SourceIpV4: ipv4(f.SrcIP), SourceIpV6: ipv6(f.SrcIP)}
	}
	x.account(&out, f.Cloud.Account)
	clipFields(out.ProductFields)
	return out
}

// Incident maps a Parapet incident to ASFF: its risk is the normalized
// severity, its tactics the types.
func (x *Exporter) Incident(in *correlate.Incident) types.AwsSecurityFinding {
	desc := in.Headline
	if in.Summary != "" {
		desc = in.Summary
	}
	if len(in.Why) > 0 {
		desc += ". " + strings.Join(in.Why, "; ")
	}
	if desc == "" {
		desc = in.Title
	}
	if in.Status == "merged" {
		desc = "Merged into Parapet incident " + in.MergedInto + ". " + desc
	}
	out := x.base(IncidentID(in.ID), "parapet/incident", in.Title, desc, in.Level, typesOf(in.Tactics, "incident"), in.First, in.Last)
	if in.Status == "merged" {
		// Its findings belong to another incident now: the hub's copy is
		// archived, not resolved (nobody decided it).
		out.RecordState = types.RecordStateArchived
		out.ProductFields["parapet/merged_into"] = in.MergedInto
	}
	risk := int32(in.Risk)
	if risk < 0 {
		risk = 0
	}
	if risk > 100 {
		risk = 100
	}
	out.Severity.Normalized = aws.Int32(risk)
	out.Severity.Original = aws.String(strconv.FormatFloat(in.Risk, 'f', -1, 64))
	out.ProductFields[asff.ProductField] = in.ID
	out.ProductFields["parapet/kind"] = "incident"
	out.ProductFields["parapet/key"] = in.Key
	out.ProductFields["parapet/findings"] = strconv.Itoa(in.Count)
	if in.Account != "" {
		out.ProductFields["parapet/account"] = in.Account
	}
	if len(in.Techniques) > 0 {
		out.ProductFields["parapet/attack/techniques"] = strings.Join(in.Techniques, ",")
	}
	if in.Principal != "" {
		out.Resources = append(out.Resources, principal(in.Principal, x))
	}
	for _, r := range in.Resources {
		if len(out.Resources) == maxResources {
			break
		}
		out.Resources = append(out.Resources, types.Resource{Type: aws.String("Other"), Id: aws.String(r),
			Partition: types.Partition(x.partition()), Region: aws.String(regionOf(r, "", x.Region))})
	}
	x.account(&out, in.Account)
	clipFields(out.ProductFields)
	if x.URL != "" {
		out.SourceUrl = aws.String(strings.TrimRight(x.URL, "/") + "/#/incident/" + in.ID)
	}
	return out
}

func (x *Exporter) base(id, generator, title, desc, level string, typs []string, first, last time.Time) types.AwsSecurityFinding {
	now := x.now()
	created := first
	if created.IsZero() || created.After(now) {
		created = now
	}
	if title == "" {
		title = generator
	}
	if desc == "" {
		desc = title
	}
	out := types.AwsSecurityFinding{
		SchemaVersion: aws.String("2018-10-08"),
		Id:            aws.String(id),
		ProductArn:    aws.String(x.ProductARN()),
		ProductName:   aws.String(asff.ProductName),
		CompanyName:   aws.String(asff.ProductName),
		GeneratorId:   aws.String(generator),
		AwsAccountId:  aws.String(x.Account),
		Region:        aws.String(x.Region),
		Types:         typs,
		CreatedAt:     aws.String(created.Format(time.RFC3339Nano)),
		UpdatedAt:     aws.String(now.Format(time.RFC3339Nano)),
		Severity:      &types.Severity{Label: label(level)},
		Title:         aws.String(clip(title, 256)),
		Description:   aws.String(clip(desc, 1024)),
		ProductFields: map[string]string{},
		RecordState:   types.RecordStateActive,
	}
	if !first.IsZero() {
		out.FirstObservedAt = aws.String(first.UTC().Format(time.RFC3339Nano))
	}
	if !last.IsZero() {
		out.LastObservedAt = aws.String(last.UTC().Format(time.RFC3339Nano))
	}
	return out
}

// account makes sure a finding names at least one resource, as ASFF
// requires: the account it is about.
func (x *Exporter) account(f *types.AwsSecurityFinding, account string) {
	if len(f.Resources) > 0 {
		return
	}
	if account == "" {
		account = x.Account
	}
	f.Resources = []types.Resource{{Type: aws.String("AwsAccount"), Id: aws.String("AWS::::Account:" + account),
		Partition: types.Partition(x.partition()), Region: aws.String(x.Region)}}
}

// Export imports findings, Batch at a time (the SDK's retryer backs off
// on throttling). It returns the number imported and an error naming the
// findings Security Hub refused.
func (x *Exporter) Export(ctx context.Context, fs []types.AwsSecurityFinding) (int, error) {
	done := 0
	var errs []error
	for len(fs) > 0 {
		n := min(len(fs), Batch)
		out, err := x.Client.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: fs[:n]})
		if err != nil {
			return done, fmt.Errorf("securityhub BatchImportFindings: %w", err)
		}
		done += int(aws.ToInt32(out.SuccessCount))
		for _, f := range out.FailedFindings {
			errs = append(errs, fmt.Errorf("finding %s: %s: %s", aws.ToString(f.Id), aws.ToString(f.ErrorCode), aws.ToString(f.ErrorMessage)))
		}
		fs = fs[n:]
	}
	if len(errs) > 0 {
		return done, fmt.Errorf("securityhub BatchImportFindings refused %d findings: %w", len(errs), errors.Join(errs...))
	}
	return done, nil
}

// Resolve sets the workflow status of exported incidents to RESOLVED,
// with a note saying who closed them in Parapet and why.
func (x *Exporter) Resolve(ctx context.Context, incidents []*correlate.Incident) error {
	for len(incidents) > 0 {
		n := min(len(incidents), Batch)
		ids := make([]types.AwsSecurityFindingIdentifier, 0, n)
		note := ""
		for _, in := range incidents[:n] {
			ids = append(ids, types.AwsSecurityFindingIdentifier{Id: aws.String(IncidentID(in.ID)), ProductArn: aws.String(x.ProductARN())})
			if note == "" {
				note = "Closed in Parapet"
				if in.ClosedBy != "" {
					note += " by " + in.ClosedBy
				}
				if in.CloseReason != "" {
					note += ": " + in.CloseReason
				}
			}
		}
		out, err := x.Client.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
			FindingIdentifiers: ids,
			Workflow:           &types.WorkflowUpdate{Status: types.WorkflowStatusResolved},
			Note:               &types.NoteUpdate{Text: aws.String(clip(note, 512)), UpdatedBy: aws.String(asff.ProductName)},
		})
		if err != nil {
			return fmt.Errorf("securityhub BatchUpdateFindings: %w", err)
		}
		if len(out.UnprocessedFindings) > 0 {
			u := out.UnprocessedFindings[0]
			return fmt.Errorf("securityhub BatchUpdateFindings: %d findings not updated, first %s: %s: %s", len(out.UnprocessedFindings),
				aws.ToString(u.FindingIdentifier.Id), aws.ToString(u.ErrorCode), aws.ToString(u.ErrorMessage))
		}
		incidents = incidents[n:]
	}
	return nil
}

// Closure is an exported incident a Security Hub user resolved or
// suppressed.
type Closure struct {
	Incident string // the Parapet incident id
	Status   string // RESOLVED or SUPPRESSED
	Note     string // the note left on it, if any
}

// Closures picks, among Security Hub findings, Parapet's exported
// incidents whose workflow status is RESOLVED or SUPPRESSED: the
// incidents Parapet should close.
func (x *Exporter) Closures(fs []types.AwsSecurityFinding) []Closure {
	var out []Closure
	for _, f := range fs {
		id, ok := strings.CutPrefix(aws.ToString(f.Id), incidentPrefix)
		if !ok || aws.ToString(f.ProductArn) != x.ProductARN() || f.Workflow == nil {
			continue
		}
		switch f.Workflow.Status {
		case types.WorkflowStatusResolved, types.WorkflowStatusSuppressed:
			c := Closure{Incident: id, Status: string(f.Workflow.Status)}
			if f.Note != nil {
				c.Note = aws.ToString(f.Note.Text)
			}
			out = append(out, c)
		}
	}
	return out
}

// Closed reads, page by page, the exported incidents updated since
// since whose workflow status is RESOLVED or SUPPRESSED, and returns
// them and the latest UpdatedAt seen (the next call's since).
func (x *Exporter) Closed(ctx context.Context, since time.Time) ([]Closure, time.Time, error) {
	filters := &types.AwsSecurityFindingFilters{
		ProductArn:     []types.StringFilter{{Comparison: types.StringFilterComparisonEquals, Value: aws.String(x.ProductARN())}},
		GeneratorId:    []types.StringFilter{{Comparison: types.StringFilterComparisonEquals, Value: aws.String("parapet/incident")}},
		WorkflowStatus: []types.StringFilter{{Comparison: types.StringFilterComparisonEquals, Value: aws.String("RESOLVED")}, {Comparison: types.StringFilterComparisonEquals, Value: aws.String("SUPPRESSED")}},
	}
	if !since.IsZero() {
		filters.UpdatedAt = []types.DateFilter{{Start: aws.String(since.UTC().Format(time.RFC3339Nano)), End: aws.String(x.now().Add(time.Hour).Format(time.RFC3339Nano))}}
	}
	latest := since
	var out []Closure
	p := securityhub.NewGetFindingsPaginator(x.Client, &securityhub.GetFindingsInput{Filters: filters, MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, latest, fmt.Errorf("securityhub GetFindings: %w", err)
		}
		for _, f := range page.Findings {
			if t, err := time.Parse(time.RFC3339Nano, aws.ToString(f.UpdatedAt)); err == nil && t.After(latest) {
				latest = t
			}
		}
		out = append(out, x.Closures(page.Findings)...)
	}
	return out, latest, nil
}

// typesOf gives ASFF types for ATT&CK tactics: TTPs/<Tactic>; a finding
// with none is an unusual behaviour.
func typesOf(tactics []string, source string) []string {
	var out []string
	for _, t := range tactics {
		if name := asff.Tactic(t); name != "" {
			out = append(out, "TTPs/"+name)
		}
	}
	if len(out) == 0 {
		if source == "ueba" {
			return []string{"Unusual Behaviors/User"}
		}
		return []string{"Unusual Behaviors"}
	}
	if len(out) > 50 {
		out = out[:50]
	}
	return out
}

// label gives the ASFF severity label of a Parapet level.
func label(level string) types.SeverityLabel {
	switch strings.ToLower(level) {
	case "critical":
		return types.SeverityLabelCritical
	case "high":
		return types.SeverityLabelHigh
	case "medium":
		return types.SeverityLabelMedium
	case "low":
		return types.SeverityLabelLow
	}
	return types.SeverityLabelInformational
}

// principal is the resource for an IAM principal ARN.
func principal(arn string, x *Exporter) types.Resource {
	typ := "Other"
	switch {
	case strings.Contains(arn, ":user/"):
		typ = "AwsIamUser"
	case strings.Contains(arn, ":role/"):
		typ = "AwsIamRole"
	}
	return types.Resource{Type: aws.String(typ), Id: aws.String(arn), Partition: types.Partition(x.partition()), Region: aws.String(x.Region)}
}

// regionOf is the region an ARN names, else def, else fallback.
func regionOf(arn, def, fallback string) string {
	if fs := strings.SplitN(arn, ":", 6); len(fs) == 6 && fs[0] == "arn" && fs[3] != "" {
		return fs[3]
	}
	if def != "" {
		return def
	}
	return fallback
}

func ipv4(s string) *string {
	if strings.Contains(s, ".") && !strings.Contains(s, ":") {
		return aws.String(s)
	}
	return nil
}

func ipv6(s string) *string {
	if strings.Contains(s, ":") {
		return aws.String(s)
	}
	return nil
}

// ASFF's limits: resources per finding, product field value length.
const (
	maxResources  = 32
	maxFieldValue = 2048
)

func clipFields(m map[string]string) {
	for k, v := range m {
		m[k] = clip(v, maxFieldValue)
	}
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// Sync runs the exchange for serve: incidents handed to Changed are
// exported (closed ones resolved too), and every Every the incidents
// resolved or suppressed in Security Hub are closed in Parapet through
// Close.
type Sync struct {
	Exporter *Exporter
	// Close closes a Parapet incident unless it is closed already (and
	// says whether it closed it).
	Close func(ctx context.Context, id, by, reason string) (bool, error)
	Every time.Duration // default 5m
	Log   *slog.Logger
	// Findings, when set, reads an incident's findings: they are exported
	// with it, each when it is new or has grown (its count or last event),
	// except those read from Security Hub (they are there already).
	Findings func(ctx context.Context, incident string) ([]detect.Finding, error)

	sent map[string]string // finding id → the state exported, bounded by MaxSent

	queue   chan *correlate.Incident
	dropped atomic.Int64
	since   time.Time
}

// MaxSent bounds the findings Sync remembers exporting; past it, it
// forgets them all (and exports them again when their incident changes).
const MaxSent = 100_000

// ClosedBy is who an incident closed from Security Hub was closed by.
const ClosedBy = "securityhub"

// QueueSize bounds the incidents waiting for export; past it changes are
// dropped (and counted): the incident's next change exports it again.
const QueueSize = 4096

// Changed queues a copy of an incident for export; it never blocks.
func (s *Sync) Changed(in *correlate.Incident) {
	if s.queue == nil || in == nil {
		return
	}
	c := *in
	c.Tactics, c.Techniques = slices.Clone(in.Tactics), slices.Clone(in.Techniques)
	c.Resources, c.Why, c.Findings = slices.Clone(in.Resources), slices.Clone(in.Why), nil
	c.Levels = nil
	select {
	case s.queue <- &c:
	default:
		s.dropped.Add(1)
	}
}

// Start readies the queue; call it before Changed is first called and Run.
func (s *Sync) Start() { s.queue = make(chan *correlate.Incident, QueueSize) }

// Run exports queued incidents and reads back closures until ctx ends.
// The caller owns the goroutine; Run owns none.
func (s *Sync) Run(ctx context.Context) error {
	every := s.Every
	if every <= 0 {
		every = 5 * time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case in := <-s.queue:
			batch := []*correlate.Incident{in}
		more:
			for len(batch) < Batch {
				select {
				case in := <-s.queue:
					batch = append(batch, in)
				default:
					break more
				}
			}
			if err := s.Export(ctx, batch); err != nil && ctx.Err() == nil {
				s.log().Warn("securityhub_export_failed", "incidents", len(batch), "err", err)
			}
			if n := s.dropped.Swap(0); n > 0 {
				s.log().Warn("securityhub_export_dropped", "changes", n)
			}
		case <-t.C:
			if n, err := s.CloseResolved(ctx); err != nil && ctx.Err() == nil {
				s.log().Warn("securityhub_sync_failed", "err", err)
			} else if n > 0 {
				s.log().Info("securityhub_closed_incidents", "incidents", n)
			}
		}
	}
}

// Export exports incidents (the latest state of each), with their new or
// grown findings when Findings is set, and resolves the closed ones. Not
// safe for concurrent use (Run is its one caller in serve).
func (s *Sync) Export(ctx context.Context, incidents []*correlate.Incident) error {
	latest := map[string]int{}
	var uniq []*correlate.Incident
	for _, in := range incidents {
		if i, ok := latest[in.ID]; ok {
			uniq[i] = in
			continue
		}
		latest[in.ID] = len(uniq)
		uniq = append(uniq, in)
	}
	fs := make([]types.AwsSecurityFinding, 0, len(uniq))
	pending := map[string]string{}
	var closed []*correlate.Incident
	for _, in := range uniq {
		if s.Findings != nil && in.Status != "closed" {
			found, err := s.Findings(ctx, in.ID)
			if err != nil {
				return fmt.Errorf("incident %s findings: %w", in.ID, err)
			}
			for i := range found {
				f := &found[i]
				if f.Source == "securityhub" {
					continue // read from the hub: it is there already
				}
				state := strconv.Itoa(f.Count) + " " + f.LastSeen.String() + " " + f.Time.String()
				if s.sent[f.ID] == state || pending[f.ID] == state {
					continue
				}
				pending[f.ID] = state
				fs = append(fs, s.Exporter.Finding(f))
			}
		}
		fs = append(fs, s.Exporter.Incident(in))
		// One closed because Security Hub resolved or suppressed it keeps
		// the status given there.
		if in.Status == "closed" && in.ClosedBy != ClosedBy {
			closed = append(closed, in)
		}
	}
	if _, err := s.Exporter.Export(ctx, fs); err != nil {
		return err
	}
	if s.sent == nil || len(s.sent)+len(pending) > MaxSent {
		s.sent = make(map[string]string, len(pending))
	}
	for id, st := range pending {
		s.sent[id] = st
	}
	if len(closed) > 0 {
		return s.Exporter.Resolve(ctx, closed)
	}
	return nil
}

// CloseResolved closes in Parapet the incidents resolved or suppressed
// in Security Hub since the last call, and returns how many it closed.
func (s *Sync) CloseResolved(ctx context.Context) (int, error) {
	cs, latest, err := s.Exporter.Closed(ctx, s.since)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range cs {
		reason := "Security Hub workflow status " + c.Status
		if c.Note != "" {
			reason += ": " + c.Note
		}
		ok, err := s.Close(ctx, c.Incident, ClosedBy, reason)
		if err != nil {
			return n, fmt.Errorf("close incident %s: %w", c.Incident, err)
		}
		if ok {
			n++
		}
	}
	s.since = latest
	return n, nil
}

func (s *Sync) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}
