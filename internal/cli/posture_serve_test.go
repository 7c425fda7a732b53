package cli

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/posture/changes"
	"github.com/parapet-sec/parapet/internal/posture/check"
	"github.com/parapet-sec/parapet/internal/store"
)

// serve compares each posture scan with the target's previous one: the
// second scan, after a fix and a new failure, stores 1 new, 1 fixed and
// the rest still failing, and the summary the posture page reads has both
// scans as trend points with a score per framework.
func TestPostureLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := writeLocationTree(t)
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "parapet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := &postureScanner{cfg: config.Posture{IaC: []string{dir}}, db: db, log: slog.New(slog.DiscardHandler), now: make(chan struct{}, 1)}
	p.scanAll(ctx)
	first, err := postureSummary(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tg := first["targets"].([]any); len(tg) != 1 || tg[0].(map[string]any)["lifecycle"].(*lifecycle) != nil {
		t.Fatalf("first scan: %+v", tg)
	}
	tf := strings.Replace(strings.Replace(locationTF, "storage_encrypted = false", "storage_encrypted = true", 1),
		"identifier = \"bare\"", "identifier = \"bare\"\n  auto_minor_version_upgrade = false", 1)
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte("\n\n"+tf), 0o644); err != nil {
		t.Fatal(err)
	}
	p.scanAll(ctx)

	// Through the API's JSON, as the page reads it.
	sum, err := postureSummary(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(sum)
	var got struct {
		Targets []struct {
			Target    string
			Failed    int
			Failures  []scanResult
			Passing   []passingCheck
			Lifecycle *lifecycle
		}
		Trend []struct {
			Target       string
			Scores       map[string]float64
			New          *int `json:"new"`
			Fixed        *int `json:"fixed"`
			StillFailing *int `json:"still_failing"`
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Targets) != 1 || got.Targets[0].Lifecycle == nil {
		t.Fatalf("targets: %s", b)
	}
	tg := got.Targets[0]
	lc := tg.Lifecycle
	if lc.New != 1 || lc.Fixed != 1 || lc.StillFailing != tg.Failed-1 || len(lc.FixedResults) != 1 || lc.FixedResults[0].CheckID != "PARAPET-RDS-002" {
		t.Errorf("lifecycle: %+v (failed %d)", lc, tg.Failed)
	}
	news := 0
	for _, f := range tg.Failures {
		if f.Baseline == baselineNew {
			news++
			if f.CheckID != "PARAPET-RDS-005" {
				t.Errorf("new failure %s %s", f.CheckID, f.Resource.Address)
			}
		}
	}
	if news != 1 {
		t.Errorf("%d failures marked new", news)
	}
	// Failures come worst first, each with its fix; the passing checks
	// follow, once each, titled as passes.
	for i, f := range tg.Failures {
		if f.Remediation == "" {
			t.Errorf("failure %s without its fix", f.CheckID)
		}
		if i > 0 && check.SeverityRank(f.Severity) > check.SeverityRank(tg.Failures[i-1].Severity) {
			t.Errorf("failure %d (%s) is worse than the one before it (%s)", i, f.Severity, tg.Failures[i-1].Severity)
		}
	}
	seen := map[string]bool{}
	for _, pc := range tg.Passing {
		if seen[pc.CheckID] || pc.Resources < 1 || pc.Title == "" {
			t.Errorf("passing check %+v (listed before: %v)", pc, seen[pc.CheckID])
		}
		seen[pc.CheckID] = true
	}
	if len(tg.Passing) == 0 {
		t.Errorf("no passing check listed: %s", b)
	}
	if len(got.Trend) != 2 {
		t.Fatalf("trend: %s", b)
	}
	if got.Trend[0].New != nil || got.Trend[1].New == nil || *got.Trend[1].New != 1 || *got.Trend[1].Fixed != 1 || *got.Trend[1].StillFailing != lc.StillFailing {
		t.Errorf("trend points: %s", b)
	}
	for _, pt := range got.Trend {
		if _, ok := pt.Scores["cis-aws-3.0"]; !ok || len(pt.Scores) < 5 {
			t.Errorf("trend point without a score per framework: %+v", pt)
		}
	}
}

// In serve, every ingested write call is remembered per resource (and
// survives a restart); a Config scan's failing resources carry the calls
// that last changed them, in the stored report.
func TestPostureChangesServe(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "parapet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	newPipeline := func() *pipeline.Pipeline {
		p := &pipeline.Pipeline{DB: db, Rules: detect.NewEngine(nil), Incidents: correlate.New(time.Hour), Log: slog.New(slog.DiscardHandler),
			Changes: &changes.Index{}}
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := newPipeline()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(rctx) }()
	body := `{"Records":[` + s3Record("e-1", "2026-11-19T08:00:00Z", "PutBucketVersioning", "alice", "198.51.100.7", "payroll-data", false, "") + `,` +
		s3Record("e-2", "2026-11-19T09:00:00Z", "PutBucketVersioning", "mallory", "192.0.2.66", "payroll-data", false, "AccessDenied") + `]}`
	seq, err := p.Submit(ctx, "cloudtrail", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if err := p.WaitFor(wctx, seq); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done

	// A restarted serve still knows the change.
	p2 := newPipeline()
	snap := filepath.Join(dir, "snapshot.json")
	os.WriteFile(snap, []byte(`{"configurationItems":[{"version":"1.3","accountId":"111122223333","configurationItemCaptureTime":"2026-11-20T10:00:00.000Z",`+
		`"configurationItemStatus":"OK","resourceType":"AWS::S3::Bucket","resourceId":"payroll-data","resourceName":"payroll-data","awsRegion":"us-east-1",`+
		`"arn":"arn:aws:s3:::payroll-data","configuration":{},"supplementaryConfiguration":{"BucketVersioningConfiguration":"{\"status\": \"Off\"}"}}]}`), 0o644)
	ps := &postureScanner{cfg: config.Posture{Config: []string{snap}}, db: db, log: slog.New(slog.DiscardHandler), now: make(chan struct{}, 1), changes: p2.Changes}
	ps.scanAll(ctx)
	var stored string
	if err := db.QueryRowContext(ctx, `SELECT body FROM posture_runs ORDER BY id DESC LIMIT 1`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	var rep scanReport
	if err := json.Unmarshal([]byte(stored), &rep); err != nil {
		t.Fatal(err)
	}
	linked := 0
	for _, r := range rep.Results {
		if r.Status != "fail" {
			continue
		}
		if len(r.Changes) != 1 || r.Changes[0].Actor != "arn:aws:iam::111122223333:user/alice" || r.Changes[0].SourceIP != "198.51.100.7" {
			t.Errorf("%s: changes %+v, want alice's call only (mallory's failed)", r.CheckID, r.Changes)
			continue
		}
		linked++
	}
	if linked == 0 {
		t.Fatalf("no failing result linked to its change: %s", stored)
	}
}

// The posture summary of some accounts: only their results, the counts
// recomputed from them; an account by its result's account or, without
// one, its resource ARN's (never a prefix of another).
func TestPostureSummaryAccounts(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "parapet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res := func(check, status, account, arn string) scanResult {
		return scanResult{CheckID: check, Title: check, Status: status, Severity: "high", Resource: scanResource{Type: "aws_s3_bucket", Name: check + account, ARN: arn, Account: account}}
	}
	rep := scanReport{Passed: 3, Failed: 3, Results: []scanResult{
		res("S3-1", "fail", "111122223333", ""),
		res("S3-2", "fail", "", "arn:aws:s3:us-east-1:444455556666:bucket/b"),
		res("S3-3", "fail", "1111222233334", ""),
		res("S3-1", "pass", "444455556666", ""),
		res("S3-2", "pass", "111122223333", ""),
		res("S3-3", "pass", "111122223333", ""),
	}}
	b, _ := json.Marshal(rep)
	if _, err := db.ExecContext(ctx, `INSERT INTO posture_runs (at, target, body) VALUES (?, ?, ?)`, time.Now().UTC().Format(time.RFC3339), "scan aws --org", string(b)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		accounts       []string
		failed, passed int
		failures       string
	}{
		{nil, 3, 3, "S3-1 S3-2 S3-3"},
		{[]string{"111122223333"}, 1, 2, "S3-1"},
		{[]string{"444455556666"}, 1, 1, "S3-2"},
		{[]string{"11112222333"}, 0, 0, ""},
		{[]string{}, 0, 0, ""},
	} {
		sum, err := postureSummary(ctx, db, tc.accounts)
		if err != nil {
			t.Fatal(err)
		}
		tg := sum["targets"].([]any)[0].(map[string]any)
		var ids []string
		for _, f := range tg["failures"].([]scanResult) {
			ids = append(ids, f.CheckID)
		}
		if tg["failed"] != tc.failed || tg["passed"] != tc.passed || strings.Join(ids, " ") != tc.failures {
			t.Errorf("postureSummary(%v): failed %v passed %v failures %v", tc.accounts, tg["failed"], tg["passed"], ids)
		}
	}
}
