package hubsync

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/parapet-sec/parapet/internal/awstest"
	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	awstest.Stop()
	os.Exit(code)
}

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func finding(id string) *detect.Finding {
	return &detect.Finding{
		ID: id, Time: t0, RuleID: "aws.cloudtrail.stop_logging", Title: "CloudTrail logging stopped", Level: "high", Source: "sigma",
		Attack:    detect.Attack{Tactics: []string{"defense-evasion"}, Techniques: []string{"T1562.008"}},
		Cloud:     event.Cloud{Provider: "aws", Account: "123456789012", Region: "us-east-1"},
		Actor:     event.Actor{ARN: "arn:aws:iam::123456789012:user/mallory"},
		SrcIP:     "198.51.100.7",
		Resources: []event.Resource{{Type: "AWS::CloudTrail::Trail", UID: "arn:aws:cloudtrail:us-east-1:123456789012:trail/management", Name: "management"}},
		Summary:   "mallory StopLogging management from 198.51.100.7",
	}
}

func incident() *correlate.Incident {
	return &correlate.Incident{ID: "inc-1", Title: "mallory: defense evasion", Headline: "CloudTrail logging stopped", Level: "high", Status: "open",
		Key: "principal:arn:aws:iam::123456789012:user/mallory", Risk: 82.5, First: t0, Last: t0.Add(time.Minute), Account: "123456789012",
		Principal: "arn:aws:iam::123456789012:user/mallory", Tactics: []string{"defense-evasion", "impact"}, Count: 2, Findings: []string{"f-1", "f-2"}}
}

func exporter(t *testing.T) (*Exporter, *securityhub.Client) {
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	c := securityhub.NewFromConfig(cfg)
	if _, err := c.EnableSecurityHub(t.Context(), &securityhub.EnableSecurityHubInput{}); err != nil {
		t.Fatal(err)
	}
	clock := t0
	x := &Exporter{Client: c, Account: "123456789012", Region: "us-east-1", URL: "https://parapet.example.com/",
		Now: func() time.Time { clock = clock.Add(time.Second); return clock }}
	return x, c
}

func all(t *testing.T, c *securityhub.Client) []types.AwsSecurityFinding {
	var out []types.AwsSecurityFinding
	p := securityhub.NewGetFindingsPaginator(c, &securityhub.GetFindingsInput{MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Findings...)
	}
	return out
}

// TestExportEmulator exports findings and an incident to Security Hub on
// the AWS API emulator, reads them back, re-exports (an update, not a
// copy) and exports more than one batch.
func TestExportEmulator(t *testing.T) {
	awstest.Start(t)
	x, c := exporter(t)
	in := incident()
	fs := []types.AwsSecurityFinding{x.Finding(finding("f-1")), x.Finding(finding("f-2")), x.Incident(in)}
	if n, err := x.Export(t.Context(), fs); err != nil || n != 3 {
		t.Fatalf("Export = %d, %v, want 3", n, err)
	}
	got := all(t, c)
	if len(got) != 3 {
		t.Fatalf("GetFindings: %d findings, want 3", len(got))
	}
	byID := map[string]types.AwsSecurityFinding{}
	for _, f := range got {
		byID[aws.ToString(f.Id)] = f
	}
	f1 := byID["parapet/finding/f-1"]
	if aws.ToString(f1.ProductArn) != "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default" ||
		aws.ToString(f1.GeneratorId) != "aws.cloudtrail.stop_logging" || f1.Severity == nil || f1.Severity.Label != types.SeverityLabelHigh ||
		len(f1.Types) != 1 || f1.Types[0] != "TTPs/Defense Evasion" || len(f1.Resources) != 2 ||
		aws.ToString(f1.Resources[0].Type) != "AwsCloudTrailTrail" || aws.ToString(f1.Resources[1].Type) != "AwsIamUser" ||
		f1.Network == nil || aws.ToString(f1.Network.SourceIpV4) != "198.51.100.7" || f1.ProductFields["parapet/id"] != "f-1" {
		t.Errorf("exported finding = %+v", f1)
	}
	inc := byID["parapet/incident/inc-1"]
	if aws.ToString(inc.GeneratorId) != "parapet/incident" || inc.Severity == nil || aws.ToInt32(inc.Severity.Normalized) != 82 ||
		len(inc.Types) != 2 || inc.Types[1] != "TTPs/Impact" || aws.ToString(inc.SourceUrl) != "https://parapet.example.com/#/incident/inc-1" {
		t.Errorf("exported incident = %+v", inc)
	}

	// The incident grows: exported again, it is updated in place.
	in.Title, in.Risk = "mallory: defense evasion, impact", 95
	if _, err := x.Export(t.Context(), []types.AwsSecurityFinding{x.Incident(in)}); err != nil {
		t.Fatal(err)
	}
	got = all(t, c)
	if len(got) != 3 {
		t.Fatalf("after re-export: %d findings, want 3 (no copy)", len(got))
	}
	for _, f := range got {
		if aws.ToString(f.Id) == "parapet/incident/inc-1" && (aws.ToString(f.Title) != in.Title || aws.ToInt32(f.Severity.Normalized) != 95 ||
			aws.ToString(f.UpdatedAt) <= aws.ToString(inc.UpdatedAt)) {
			t.Errorf("re-exported incident = title %q risk %d updated %s, want the new title, 95 and a later UpdatedAt",
				aws.ToString(f.Title), aws.ToInt32(f.Severity.Normalized), aws.ToString(f.UpdatedAt))
		}
	}

	// More than a batch: two calls, every finding there.
	var many []types.AwsSecurityFinding
	for i := range 150 {
		many = append(many, x.Finding(finding(fmt.Sprintf("m-%d", i))))
	}
	if n, err := x.Export(t.Context(), many); err != nil || n != 150 {
		t.Fatalf("Export(150) = %d, %v", n, err)
	}
	if got := all(t, c); len(got) != 153 {
		t.Errorf("after 150 more: %d findings, want 153", len(got))
	}

	// Read back as a GetFindings page, Parapet's own findings are
	// skipped, not ingested again.
	page, err := json.Marshal(map[string]any{"Findings": got[:3]})
	if err != nil {
		t.Fatal(err)
	}
	emitted, skipped := 0, 0
	ingest.DecodeJSON(page, func(*event.Event) { emitted++ }, func(err error) {
		if !ingest.Skipped(err) {
			t.Errorf("read back: %v, want skipped", err)
		}
		skipped++
	})
	if emitted != 0 || skipped != 3 {
		t.Errorf("read back: %d events, %d skipped, want 0 and 3", emitted, skipped)
	}
}

// TestExportRefused: a finding Security Hub refuses is named in the error;
// the others are imported.
func TestExportRefused(t *testing.T) {
	awstest.Start(t)
	x, _ := exporter(t)
	bad := x.Finding(finding("bad"))
	bad.Resources = []types.Resource{} // ASFF requires at least one
	n, err := x.Export(t.Context(), []types.AwsSecurityFinding{x.Finding(finding("ok")), bad})
	if n != 1 || err == nil || !strings.Contains(err.Error(), "parapet/finding/bad") {
		t.Errorf("Export = %d, %v; want 1 and an error naming parapet/finding/bad", n, err)
	}
}

// TestResolve checks the BatchUpdateFindings request against its
// documented shape (the emulator does not implement the call):
// PATCH /findings/batchupdate with FindingIdentifiers, Workflow and Note.
func TestResolve(t *testing.T) {
	var calls []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPatch || r.URL.Path != "/findings/batchupdate" {
			t.Errorf("request %s %s, want PATCH /findings/batchupdate", r.Method, r.URL.Path)
		}
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("body %s: %v", b, err)
		}
		// A request the SDK sends again (a connection reset under load)
		// is one call.
		if len(calls) == 0 || !reflect.DeepEqual(calls[len(calls)-1], body) {
			calls = append(calls, body)
		}
		ids := body["FindingIdentifiers"].([]any)
		_ = json.NewEncoder(w).Encode(map[string]any{"ProcessedFindings": ids, "UnprocessedFindings": []any{}})
	}))
	defer srv.Close()
	c := securityhub.New(securityhub.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.AnonymousCredentials{}})
	x := &Exporter{Client: c, Account: "123456789012", Region: "us-east-1"}
	var incs []*correlate.Incident
	for i := range 101 {
		in := incident()
		in.ID = fmt.Sprintf("inc-%d", i)
		in.ClosedBy, in.CloseReason = "alice", "false positive: red team"
		incs = append(incs, in)
	}
	if err := x.Resolve(t.Context(), incs); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2 (100, then 1)", len(calls))
	}
	ids := calls[0]["FindingIdentifiers"].([]any)
	first := ids[0].(map[string]any)
	if len(ids) != 100 || first["Id"] != "parapet/incident/inc-0" || first["ProductArn"] != x.ProductARN() {
		t.Errorf("FindingIdentifiers = %d, first %v", len(ids), first)
	}
	if wf := calls[0]["Workflow"].(map[string]any); wf["Status"] != "RESOLVED" {
		t.Errorf("Workflow = %v, want RESOLVED", wf)
	}
	if note := calls[0]["Note"].(map[string]any); note["Text"] != "Closed in Parapet by alice: false positive: red team" || note["UpdatedBy"] != "Parapet" {
		t.Errorf("Note = %v", note)
	}
}

// TestClosures: an exported incident resolved or suppressed in Security
// Hub is one for Parapet to close; anything else is not.
func TestClosures(t *testing.T) {
	x := &Exporter{Account: "123456789012", Region: "us-east-1"}
	mk := func(id, product string, status types.WorkflowStatus) types.AwsSecurityFinding {
		return types.AwsSecurityFinding{Id: aws.String(id), ProductArn: aws.String(product), Workflow: &types.Workflow{Status: status}}
	}
	own := x.ProductARN()
	got := x.Closures([]types.AwsSecurityFinding{
		mk("parapet/incident/a", own, types.WorkflowStatusResolved),
		mk("parapet/incident/b", own, types.WorkflowStatusSuppressed),
		mk("parapet/incident/c", own, types.WorkflowStatusNew),
		mk("parapet/incident/d", own, types.WorkflowStatusNotified),
		mk("parapet/finding/e", own, types.WorkflowStatusResolved),
		mk("parapet/incident/f", "arn:aws:securityhub:us-east-1:999999999999:product/999999999999/default", types.WorkflowStatusResolved),
	})
	if len(got) != 2 || got[0].Incident != "a" || got[0].Status != "RESOLVED" || got[1].Incident != "b" || got[1].Status != "SUPPRESSED" {
		t.Errorf("Closures = %+v, want a RESOLVED and b SUPPRESSED", got)
	}
}

// TestClosedEmulator reads exported incidents back with GetFindings (the
// emulator ignores filters: Closures picks).
func TestClosedEmulator(t *testing.T) {
	awstest.Start(t)
	x, _ := exporter(t)
	in := incident()
	if _, err := x.Export(t.Context(), []types.AwsSecurityFinding{x.Incident(in), x.Finding(finding("f-1"))}); err != nil {
		t.Fatal(err)
	}
	got, _, err := x.Closed(t.Context(), time.Time{})
	if err != nil || len(got) != 0 {
		t.Fatalf("Closed = %v, %v: want none (status NEW)", got, err)
	}
	// A Security Hub user resolves it; the emulator has no
	// BatchUpdateFindings, so the finding is re-imported with the status.
	f := x.Incident(in)
	f.Workflow = &types.Workflow{Status: types.WorkflowStatusResolved}
	if _, err := x.Export(t.Context(), []types.AwsSecurityFinding{f}); err != nil {
		t.Fatal(err)
	}
	got, latest, err := x.Closed(t.Context(), time.Time{})
	if err != nil || len(got) != 1 || got[0].Incident != "inc-1" || got[0].Status != "RESOLVED" || latest.IsZero() {
		t.Errorf("Closed = %+v, %s, %v: want inc-1 RESOLVED", got, latest, err)
	}
}

// TestSyncEmulator: incidents changed in Parapet reach Security Hub, the
// latest state of each once; an incident resolved there is closed in
// Parapet once.
func TestSyncEmulator(t *testing.T) {
	awstest.Start(t)
	x, c := exporter(t)
	closed := map[string]string{}
	s := &Sync{Exporter: x, Close: func(_ context.Context, id, by, reason string) (bool, error) {
		if _, ok := closed[id]; ok {
			return false, nil
		}
		closed[id] = by + ": " + reason
		return true, nil
	}}
	s.Start()
	in := incident()
	s.Changed(in)
	in.Title = "grown"
	s.Changed(in)
	if len(s.queue) != 2 {
		t.Fatalf("%d queued, want 2", len(s.queue))
	}
	a, b := <-s.queue, <-s.queue
	if a.Title == b.Title {
		t.Fatal("Changed queued the incident itself, not a copy")
	}
	if err := s.Export(t.Context(), []*correlate.Incident{a, b}); err != nil {
		t.Fatal(err)
	}
	got := all(t, c)
	if len(got) != 1 || aws.ToString(got[0].Title) != "grown" {
		t.Fatalf("GetFindings = %d findings, want the grown incident once", len(got))
	}

	if n, err := s.CloseResolved(t.Context()); err != nil || n != 0 {
		t.Fatalf("CloseResolved = %d, %v, want 0 (NEW in Security Hub)", n, err)
	}
	f := x.Incident(b)
	f.Workflow = &types.Workflow{Status: types.WorkflowStatusSuppressed}
	f.Note = &types.Note{Text: aws.String("accepted risk"), UpdatedBy: aws.String("bob"), UpdatedAt: f.UpdatedAt}
	if _, err := x.Export(t.Context(), []types.AwsSecurityFinding{f}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CloseResolved(t.Context()); err != nil || n != 1 || closed["inc-1"] != "securityhub: Security Hub workflow status SUPPRESSED: accepted risk" {
		t.Fatalf("CloseResolved = %d, %v, closed %v", n, err, closed)
	}
	if n, err := s.CloseResolved(t.Context()); err != nil || n != 0 {
		t.Errorf("CloseResolved again = %d, %v, want 0", n, err)
	}
}

// TestChangedBounded: past QueueSize, changes are dropped and counted,
// never blocking the pipeline.
func TestChangedBounded(t *testing.T) {
	s := &Sync{}
	s.Changed(incident()) // not started: ignored
	s.Start()
	for range QueueSize + 3 {
		s.Changed(incident())
	}
	if len(s.queue) != QueueSize || s.dropped.Load() != 3 {
		t.Errorf("queued %d, dropped %d; want %d and 3", len(s.queue), s.dropped.Load(), QueueSize)
	}
}

// TestSyncFindingsEmulator: with Findings set, an incident's findings go
// with it, each again only when it has grown.
func TestSyncFindingsEmulator(t *testing.T) {
	awstest.Start(t)
	x, c := exporter(t)
	f1, f2 := finding("f-1"), finding("f-2")
	reads := 0
	s := &Sync{Exporter: x, Findings: func(_ context.Context, id string) ([]detect.Finding, error) {
		if id != "inc-1" {
			t.Errorf("Findings(%q), want inc-1", id)
		}
		reads++
		return []detect.Finding{*f1, *f2}, nil
	}}
	in := incident()
	if err := s.Export(t.Context(), []*correlate.Incident{in}); err != nil {
		t.Fatal(err)
	}
	if got := all(t, c); len(got) != 3 {
		t.Fatalf("%d findings in the hub, want the incident and its 2 findings", len(got))
	}
	before := map[string]string{}
	for _, f := range all(t, c) {
		before[aws.ToString(f.Id)] = aws.ToString(f.UpdatedAt)
	}
	// f-2 grows; f-1 does not: only f-2 and the incident are sent again.
	f2.Count, f2.LastSeen = 5, t0.Add(time.Hour)
	if err := s.Export(t.Context(), []*correlate.Incident{in}); err != nil {
		t.Fatal(err)
	}
	got := all(t, c)
	if len(got) != 3 || reads != 2 {
		t.Fatalf("%d findings, %d reads; want 3 and 2", len(got), reads)
	}
	for _, f := range got {
		id, changed := aws.ToString(f.Id), aws.ToString(f.UpdatedAt) != before[aws.ToString(f.Id)]
		if want := id != "parapet/finding/f-1"; changed != want {
			t.Errorf("%s updated: %v, want %v", id, changed, want)
		}
	}
}

// TestSyncSkipsHubFindings: a finding read from Security Hub is not
// exported back with its incident.
func TestSyncSkipsHubFindings(t *testing.T) {
	awstest.Start(t)
	x, c := exporter(t)
	f := finding("from-hub")
	f.Source = "securityhub"
	s := &Sync{Exporter: x, Findings: func(context.Context, string) ([]detect.Finding, error) { return []detect.Finding{*f}, nil }}
	if err := s.Export(t.Context(), []*correlate.Incident{incident()}); err != nil {
		t.Fatal(err)
	}
	if got := all(t, c); len(got) != 1 || aws.ToString(got[0].Id) != "parapet/incident/inc-1" {
		t.Errorf("hub holds %d findings, want the incident alone", len(got))
	}
}

// TestFindingLimits: ASFF's limits hold for a finding that exceeds them.
func TestFindingLimits(t *testing.T) {
	x := &Exporter{Account: "123456789012", Region: "us-east-1", Now: func() time.Time { return t0 }}
	f := finding("big")
	f.Title, f.Description, f.Summary = strings.Repeat("t", 300), strings.Repeat("d", 2000), strings.Repeat("é", 3000)
	for i := range 40 {
		f.Resources = append(f.Resources, event.Resource{Type: "AWS::S3::Bucket", UID: fmt.Sprintf("arn:aws:s3:::b-%d", i)})
	}
	a := x.Finding(f)
	if len(aws.ToString(a.Title)) != 256 || len(aws.ToString(a.Description)) != 1024 || len(a.ProductFields["parapet/summary"]) > 2048 ||
		len(a.Resources) != 32 || aws.ToString(a.Resources[31].Type) != "AwsIamUser" {
		t.Errorf("title %d, description %d, summary %d bytes, %d resources (last %s)", len(aws.ToString(a.Title)), len(aws.ToString(a.Description)),
			len(a.ProductFields["parapet/summary"]), len(a.Resources), aws.ToString(a.Resources[len(a.Resources)-1].Type))
	}
	if s := a.ProductFields["parapet/summary"]; !utf8.ValidString(s) {
		t.Error("summary cut inside a character")
	}
}

// TestMergedIncidentArchived: an incident merged into another is archived
// in Security Hub (its findings belong to the other now), and says which.
func TestMergedIncidentArchived(t *testing.T) {
	x := &Exporter{Account: "123456789012", Region: "us-east-1"}
	in := &correlate.Incident{ID: "inc-b", Title: "bob: SSH Or RDP Accepted From The Internet", Level: "high", Risk: 70, Status: "open", Count: 2}
	if got := x.Incident(in); got.RecordState != types.RecordStateActive {
		t.Fatalf("open incident exported %s", got.RecordState)
	}
	in.Status, in.MergedInto = "merged", "inc-a"
	got := x.Incident(in)
	if got.RecordState != types.RecordStateArchived || got.ProductFields["parapet/merged_into"] != "inc-a" || !strings.Contains(*got.Description, "inc-a") {
		t.Errorf("merged incident exported as %s %v %q", got.RecordState, got.ProductFields, *got.Description)
	}
}
