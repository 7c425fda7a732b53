package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/chromedp/chromedp"

	"github.com/parapet-sec/parapet/internal/awstest"
)

// The web UI in a real browser (Debian's chromium): sign in, open the
// incident, approve the pending action, and see it executed against the
// AWS API emulator. PARAPET_SCREENSHOTS=DIR keeps screenshots of the main
// pages there (docs/ holds the committed ones).
func TestWebUI(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is required in CI (scripts/test-deps.sh installs it)")
		}
		t.Skip("no chromium: scripts/test-deps.sh installs it")
	}
	awstest.Start(t)
	ctx := context.Background()
	iamc := iam.NewFromConfig(awsConfig(t))
	keys := map[string]string{}
	for _, u := range []string{"frank", "erin"} {
		if _, err := iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(u)}); err != nil {
			t.Fatal(err)
		}
		k, err := iamc.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(u)})
		if err != nil {
			t.Fatal(err)
		}
		keys[u] = aws.ToString(k.AccessKey.AccessKeyId)
	}
	data := t.TempDir()
	approver, analyst := token(t, data, "approver"), token(t, data, "analyst")
	tf := filepath.Join(t.TempDir(), "terraform")
	if err := writeExampleProject(tf); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("posture:\n  iac: ["+tf+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	url, _ := startServe(t, "--data", data, "--config", cfg)
	rec := ctRecord("ev-ui-1", "frank", keys["frank"], "iam.amazonaws.com", "CreateAccessKey", map[string]any{"userName": "erin"},
		map[string]any{"accessKey": map[string]any{"accessKeyId": keys["erin"], "userName": "erin", "status": "Active"}})
	if code, v := call(t, "POST", url+"/v1/ingest/cloudtrail", analyst, "application/x-ndjson", []byte(rec+"\n")); code != 202 {
		t.Fatalf("ingest: %d %v", code, v)
	}
	waitIncident(t, url, approver)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 90*time.Second)
	defer cancel()
	shots := os.Getenv("PARAPET_SCREENSHOTS")
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			if shots == "" {
				return nil
			}
			var buf []byte
			if err := chromedp.FullScreenshot(&buf, 100).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644)
		})
	}
	var toast, chain, pendingAfter, posture, runs, trends, found, triage string
	steps := []struct {
		name string
		act  chromedp.Action
	}{
		{"open", chromedp.Navigate(url + "/")},
		{"login form", chromedp.WaitVisible("#login-form", chromedp.ByQuery)},
		{"shot login", shot("login")},
		{"wrong token", chromedp.SendKeys("#token", "ppt_wrong", chromedp.ByQuery)},
		{"submit wrong", chromedp.Click("#login-form button", chromedp.ByQuery)},
		{"error shown", chromedp.WaitVisible("#login-error:not(:empty)", chromedp.ByQuery)},
		{"token", chromedp.SetValue("#token", approver, chromedp.ByQuery)},
		{"submit", chromedp.Click("#login-form button", chromedp.ByQuery)},
		{"incident list", chromedp.WaitVisible("#incidents tbody tr.row", chromedp.ByQuery)},
		{"shot incidents", shot("incidents")},
		{"open incident", chromedp.Click("#incidents tbody tr.row", chromedp.ByQuery)},
		{"approve button", chromedp.WaitVisible("button[data-approve]", chromedp.ByQuery)},
		{"triage guide", chromedp.WaitVisible(".timeline .triage ol li", chromedp.ByQuery)},
		{"triage text", chromedp.Text(".timeline .triage", &triage, chromedp.ByQuery)},
		{"comment", chromedp.SendKeys("input[data-comment]", "confirmed with frank by phone", chromedp.ByQuery)},
		{"shot incident", shot("incident")},
		{"approve", chromedp.Click("button[data-approve]", chromedp.ByQuery)},
		{"toast", chromedp.WaitVisible("#toast", chromedp.ByQuery)},
		{"toast text", chromedp.Text("#toast", &toast, chromedp.ByQuery)},
		{"run executed", chromedp.WaitVisible("#runs li[data-run] .run-executed", chromedp.ByQuery)},
		{"runs text", chromedp.Text("#runs", &runs, chromedp.ByQuery)},
		{"approvals", chromedp.Navigate(url + "/#/approvals")},
		{"approvals page", chromedp.WaitVisible("#approvals-title", chromedp.ByQuery)},
		{"approvals text", chromedp.Text("#view", &pendingAfter, chromedp.ByQuery)},
		{"shot approvals", shot("approvals")},
		{"audit", chromedp.Navigate(url + "/#/audit")},
		{"chain", chromedp.WaitVisible("#chain", chromedp.ByQuery)},
		{"chain text", chromedp.Text("#chain", &chain, chromedp.ByQuery)},
		{"shot audit", shot("audit")},
		{"overview", chromedp.Navigate(url + "/#/overview")},
		{"stats", chromedp.WaitVisible(".stats", chromedp.ByQuery)},
		{"charts", chromedp.WaitVisible("#trends svg rect", chromedp.ByQuery)},
		{"charts text", chromedp.Text("#trends", &trends, chromedp.ByQuery)},
		{"shot overview", shot("overview")},
		{"posture", chromedp.Navigate(url + "/#/posture")},
		{"posture page", chromedp.WaitVisible("#posture-title", chromedp.ByQuery)},
		{"posture text", chromedp.Text("#view", &posture, chromedp.ByQuery)},
		{"shot posture", shot("posture")},
		// The incident list's filter: a search that matches, then one that
		// does not.
		{"incidents again", chromedp.Navigate(url + "/#/incidents")},
		{"filter box", chromedp.WaitVisible("#filter-q", chromedp.ByQuery)},
		{"search frank", chromedp.SendKeys("#filter-q", "user/frank", chromedp.ByQuery)},
		{"frank's incident", chromedp.WaitVisible("#incidents tbody tr.row", chromedp.ByQuery)},
		{"frank's text", chromedp.Text("#incidents", &found, chromedp.ByQuery)},
		{"search more", chromedp.SendKeys("#filter-q", "-nobody", chromedp.ByQuery)},
		{"nothing matches", chromedp.WaitVisible("#no-incidents", chromedp.ByQuery)},
	}
	// The first Run starts the browser on bctx; per-step deadlines then
	// derive from it without owning the tab.
	if err := chromedp.Run(bctx); err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		sctx, scancel := context.WithTimeout(bctx, 20*time.Second)
		err := chromedp.Run(sctx, st.act)
		scancel()
		if err != nil {
			var html string
			_ = chromedp.Run(bctx, chromedp.OuterHTML("body", &html, chromedp.ByQuery))
			t.Fatalf("step %q: %v\npage: %s", st.name, err, html)
		}
	}
	// The finding shows its rule's triage guide, its steps in order.
	first, last := strings.Index(triage, "Who: userIdentity.arn"), strings.Index(triage, "Contain: deactivate the new key")
	if first < 0 || last < first {
		t.Errorf("the finding's triage guide: %q", triage)
	}
	if !strings.Contains(toast, "Approved: executed") {
		t.Errorf("after approving: %q", toast)
	}
	if !strings.Contains(runs, "decided by test-approver") || !strings.Contains(runs, "iam.deactivate_access_key") {
		t.Errorf("the incident's playbook runs: %q", runs)
	}
	if !strings.Contains(trends, "MTTR (median)") || !strings.Contains(trends, "Alert reduction") {
		t.Errorf("overview charts: %q", trends)
	}
	if !strings.Contains(found, "Access Key Created For Another User") {
		t.Errorf("searching user/frank: %q", found)
	}
	if !strings.Contains(pendingAfter, "Nothing waits for a decision") {
		t.Errorf("the approval still waits: %q", pendingAfter)
	}
	if !strings.Contains(posture, "cis-aws-3.0") || !strings.Contains(posture, "PARAPET-S3-003") ||
		!(strings.Contains(posture, "First scan of this target") || strings.Contains(posture, "Since the previous scan:")) {
		t.Errorf("posture page: %.500q", posture)
	}
	if !strings.Contains(chain, "Hash chain intact") {
		t.Errorf("audit page: %q", chain)
	}
	ks, err := iamc.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("erin")})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ks.AccessKeyMetadata {
		if aws.ToString(m.AccessKeyId) == keys["erin"] && m.Status != "Inactive" {
			t.Errorf("erin's key is %s after the approval in the UI", m.Status)
		}
	}
}
