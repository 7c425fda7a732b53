package cli

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/org/orgtest"
	"github.com/parapet-sec/parapet/internal/store"
)

func TestScanAWSOrg(t *testing.T) {
	f := orgtest.New(t)
	args := []string{"scan", "aws", "--org", "--role", orgtest.Role, "--external-id", "ext-1", "--ou", "Sandbox", "--ou", "Root/Production",
		"--exclude-accounts", f.Sandbox[2], "--concurrency", "3", "--format", "json"}
	out, errOut, code := run(t, "", args...)
	if code != ExitBadInput {
		t.Fatalf("scan aws --org: exit %d, want %d (one account cannot be assumed): %s", code, ExitBadInput, errOut)
	}
	if !strings.Contains(errOut, "account "+f.NoRole) {
		t.Errorf("stderr does not name the unassumable account %s: %s", f.NoRole, errOut)
	}
	var rep scanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var notice bool
	for _, n := range rep.Notices {
		if n.Kind == "account not scanned" && strings.Contains(n.Message, f.NoRole) {
			notice = true
		}
	}
	if !notice {
		t.Errorf("report notices %+v: want account %s not scanned", rep.Notices, f.NoRole)
	}
	accounts := map[string]string{}
	var public []scanResult
	for _, r := range rep.Results {
		accounts[r.Resource.Account] = r.Resource.OU
		if r.CheckID == "PARAPET-S3-003" && r.Status == "fail" {
			public = append(public, r)
		}
	}
	if len(public) != 1 || public[0].Resource.Name != f.PublicBucket || public[0].Resource.Account != f.Sandbox[0] || public[0].Resource.OU != "Root/Sandbox" {
		t.Errorf("public bucket failures %+v: want one, on %s in account %s, Root/Sandbox", public, f.PublicBucket, f.Sandbox[0])
	}
	for _, id := range []string{f.Sandbox[0], f.Sandbox[1], f.Production[0], f.Production[1]} {
		if _, ok := accounts[id]; !ok {
			t.Errorf("no result in account %s", id)
		}
	}
	for _, id := range []string{f.Sandbox[2], f.NoRole, "123456789012"} {
		if _, ok := accounts[id]; ok {
			t.Errorf("results in account %s, which is excluded or not assumable", id)
		}
	}

	// A failure at --fail-on outranks the partial scan.
	if _, errOut, code := run(t, "", append(args, "--fail-on", "critical")...); code != ExitFailure {
		t.Errorf("--fail-on critical: exit %d, want %d: %s", code, ExitFailure, errOut)
	}
	if _, errOut, code := run(t, "", "scan", "aws", "--org"); code != ExitUsage || !strings.Contains(errOut, "--role") {
		t.Errorf("--org without --role: exit %d (%s), want a usage error", code, errOut)
	}
}

// serve's scheduled live scan honours the organization section.
func TestPostureServeOrg(t *testing.T) {
	f := orgtest.New(t)
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "parapet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	oc := config.Organization{Role: orgtest.Role, Concurrency: 2, Include: config.OrgFilter{OUs: []string{"Root/Sandbox"}}}
	p := &postureScanner{cfg: config.Posture{AWS: config.PostureAWS{Enabled: true}}, org: oc, db: db, log: slog.New(slog.DiscardHandler), now: make(chan struct{}, 1)}
	p.scanAll(ctx)
	var stored string
	if err := db.QueryRowContext(ctx, `SELECT body FROM posture_runs ORDER BY id DESC LIMIT 1`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	var rep scanReport
	if err := json.Unmarshal([]byte(stored), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rep.Results {
		got[r.Resource.Account] = r.Resource.OU
	}
	want := map[string]string{f.Sandbox[0]: "Root/Sandbox", f.Sandbox[1]: "Root/Sandbox", f.Sandbox[2]: "Root/Sandbox"}
	if !maps.Equal(got, want) {
		t.Errorf("serve's org scan: accounts and OUs %v, want %v", got, want)
	}
}
