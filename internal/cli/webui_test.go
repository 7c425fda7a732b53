package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/lake"
	"github.com/parapet-sec/parapet/internal/org/orgposture"
	"github.com/parapet-sec/parapet/internal/org/orgtest"
	"github.com/parapet-sec/parapet/internal/posture/check"
	"github.com/parapet-sec/parapet/internal/store"
)

// The web UI in a real browser (Debian's chromium): sign in, open the
// incident, approve the pending action, and see it executed against the
// AWS API emulator. Every page is opened at desktop (1280 px) and narrow
// (390 px) width: no horizontal overflow, no "null", no console error.
// PARAPET_SCREENSHOTS=DIR keeps a screenshot of every page at both widths
// there (docs/ holds the committed ones: PARAPET_SCREENSHOTS=$PWD/docs).
func TestWebUI(t *testing.T) {
	chrome := chromium(t)
	// An organization on the emulator (which this also starts), scanned
	// with scan aws --org for the Organization page: GuardDuty on in one
	// account, an account whose role cannot be assumed.
	f := orgtest.New(t)
	ctx := context.Background()
	if _, err := guardduty.NewFromConfig(orgtest.InAccount(f.Cfg, f.Sandbox[0])).CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	orgScan, errOut, code := run(t, "", "scan", "aws", "--org", "--role", orgtest.Role, "--ou", "Sandbox", "--ou", "Production", "--format", "json")
	if code != ExitBadInput {
		t.Fatalf("scan aws --org: exit %d, want %d (one account not assumable): %s", code, ExitBadInput, errOut)
	}
	iamc := iam.NewFromConfig(awsConfig(t))
	keys := map[string]string{}
	for _, u := range []string{"frank", "erin", "gail", "hank", "ivan", "judy", "kate", "lena", "mike", "nina", "otto", "pete", "quin", "rose", "saul"} {
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
	approver, analyst, viewer := token(t, data, "approver"), token(t, data, "analyst"), token(t, data, "viewer")
	// The organization scan, stored as serve stores its scheduled ones.
	db, err := store.Open(ctx, filepath.Join(data, "parapet.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO posture_runs (at, target, body) VALUES (?, ?, ?)`, time.Now().UTC().Format(time.RFC3339Nano), "aws --org", orgScan); err != nil {
		t.Fatal(err)
	}
	db.Close()
	tf := filepath.Join(t.TempDir(), "terraform")
	if err := writeExampleProject(tf); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	// The paths serve knows (detect.paths): support → ci-deployer → admin.
	pathsJSON, errOut, code := run(t, "", "paths", "--format", "json", filepath.Join(pathsData, "tf"))
	if code != ExitOK {
		t.Fatalf("paths: exit %d, %s", code, errOut)
	}
	pathsFile := filepath.Join(t.TempDir(), "paths.json")
	if err := os.WriteFile(pathsFile, []byte(pathsJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("posture:\n  iac: ["+tf+"]\ndetect:\n  paths: "+pathsFile+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// frank's last half hour in the lake, for the timeline page: serve
	// reads the lake under its data folder.
	frankIDs := writeTimelineLake(t, filepath.Join(data, "lake"), keys["frank"])
	url, _ := startServe(t, "--data", data, "--config", cfg)
	rec := ctRecord("ev-ui-1", "frank", keys["frank"], "iam.amazonaws.com", "CreateAccessKey", map[string]any{"userName": "erin"},
		map[string]any{"accessKey": map[string]any{"accessKeyId": keys["erin"], "userName": "erin", "status": "Active"}})
	if code, v := call(t, "POST", url+"/v1/ingest/cloudtrail", analyst, "application/x-ndjson", []byte(rec+"\n")); code != 202 {
		t.Fatalf("ingest: %d %v", code, v)
	}
	waitIncident(t, url, approver)
	// The same request again (the playbook asked for on the same finding):
	// it folds into the pending approval. gail makes keys for four others:
	// one incident, one approval whose plan covers the four keys. Four more
	// people each make one key for someone else: four incidents, four
	// approvals, two to deny in bulk at each width.
	asked := waitApprovals(t, url, approver, 1)
	folded := asked[0]["id"].(string)
	again, _ := json.Marshal(map[string]any{"finding_id": asked[0]["finding_id"], "playbook": asked[0]["playbook"], "comment": "asking again"})
	if code, v := call(t, "POST", url+"/v1/playbook-runs", analyst, "application/json", again); code != 201 {
		t.Fatalf("asking again: %d %v", code, v)
	}
	// Each actor comes from an address of their own: two people from one
	// rare address within the hour are one story.
	record := func(id, user, target, ip string, age time.Duration) string {
		var rec map[string]any
		_ = json.Unmarshal([]byte(ctRecord(id, user, keys[user], "iam.amazonaws.com", "CreateAccessKey", map[string]any{"userName": target},
			map[string]any{"accessKey": map[string]any{"accessKeyId": keys[target], "userName": target, "status": "Active"}})), &rec)
		rec["eventTime"] = time.Now().Add(-age).UTC().Format(time.RFC3339)
		rec["sourceIPAddress"] = ip
		b, _ := json.Marshal(rec)
		return string(b)
	}
	// gail's events are ten minutes old: her incident has the higher risk
	// and frank's the later last-seen, so the two orders differ.
	var more []string
	for i, u := range []string{"hank", "ivan", "judy", "kate"} {
		more = append(more, record("ev-ui-g"+strconv.Itoa(i), "gail", u, "198.51.100.20", 10*time.Minute))
	}
	if code, v := call(t, "POST", url+"/v1/ingest/cloudtrail", analyst, "application/x-ndjson", []byte(strings.Join(more, "\n")+"\n")); code != 202 {
		t.Fatalf("ingest: %d %v", code, v)
	}
	// Her four requests fold in as the playbook runs on each finding.
	var gails string
	var repeats any
	var deactivated []string
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		for _, a := range waitApprovals(t, url, approver, 2) {
			if a["id"] == folded {
				continue
			}
			gails, repeats, deactivated = a["id"].(string), a["repeats"], nil
			steps, _ := a["steps"].([]any)
			for _, st := range steps {
				if m, _ := st.(map[string]any); m["action"] == "iam.deactivate_access_key" {
					deactivated = append(deactivated, m["target"].(string))
				}
			}
		}
		if repeats == 4.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gail's four keys: want one approval of 4 requests, got repeats %v", repeats)
		}
	}
	// Each request deactivates the new key and gail's own: five keys.
	if len(deactivated) != 5 {
		t.Errorf("gail's approval deactivates %v, want her key and the four she made", deactivated)
	}
	if code, v := call(t, "POST", url+"/v1/approvals/"+gails+"/deny", approver, "application/json", []byte(`{"comment":"test keys"}`)); code != 200 {
		t.Fatalf("denying gail's approval: %d %v", code, v)
	}
	more = more[:0]
	for i, u := range []string{"lena", "mike", "nina", "otto"} {
		more = append(more, record("ev-ui-b"+strconv.Itoa(i), u, []string{"pete", "quin", "rose", "saul"}[i], "198.51.100."+strconv.Itoa(30+i), 0))
	}
	if code, v := call(t, "POST", url+"/v1/ingest/cloudtrail", analyst, "application/x-ndjson", []byte(strings.Join(more, "\n")+"\n")); code != 202 {
		t.Fatalf("ingest: %d %v", code, v)
	}
	var others []string
	for _, a := range waitApprovals(t, url, approver, 5) { // gail's is decided
		switch a["id"] {
		case folded:
			if a["repeats"] != 2.0 {
				t.Fatalf("the approval asked for again: %v", a)
			}
		case gails:
		default:
			others = append(others, a["id"].(string))
		}
	}
	if len(others) != 4 {
		t.Fatalf("approvals besides the folded one and gail's: %v", others)
	}

	// The riskiest incident: the one the page tour opens.
	code, v := call(t, "GET", url+"/v1/incidents?sort=risk&limit=1", approver, "", nil)
	items, _ := v["items"].([]any)
	if code != 200 || len(items) == 0 {
		t.Fatalf("incidents: %d %v", code, v)
	}
	riskiest := items[0].(map[string]any)["id"].(string)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 150*time.Second)
	defer cancel()
	// Console errors and uncaught exceptions, on every page.
	var consoleMu sync.Mutex
	var consoleErrors []string
	chromedp.ListenTarget(bctx, func(ev any) {
		consoleMu.Lock()
		defer consoleMu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				consoleErrors = append(consoleErrors, "console.error: "+strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			consoleErrors = append(consoleErrors, "exception: "+e.ExceptionDetails.Error())
		}
	})
	shots := os.Getenv("PARAPET_SCREENSHOTS")
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			if shots == "" {
				return nil
			}
			var buf []byte
			if err := chromedp.Evaluate(`window.scrollTo(0, 0)`, nil).Do(ctx); err != nil {
				return err
			}
			if err := chromedp.FullScreenshot(&buf, 100).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644)
		})
	}
	var toast, chain, pendingAfter, posture, runs, trends, found, triage, viewerText string
	var pathsList, pathNodes, pathSteps string
	// At each width: the incident list by risk, an incident opened from
	// the keyboard without "null" anywhere, the folded approval with its
	// count, incident, steps and countdown, and two approvals denied in
	// bulk with one comment.
	type widthCheck struct {
		risks                          []float64
		sortBy, incidentText, approval string
		decisions, decided, approvals  string
	}
	checks := map[string]*widthCheck{"desktop": {}, "narrow": {}}
	// jsClick clicks the element sel names as it is now: live updates
	// redraw pages, and a click through the protocol may land on a node
	// just replaced.
	jsClick := func(sel string) chromedp.Action {
		return chromedp.Tasks{chromedp.WaitVisible(sel, chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelector(`+strconv.Quote(sel)+`).click()`, nil)}
	}
	atWidth := func(name string, w, h int64, deny []string) []chromedp.Action {
		c := checks[name]
		comment := "bulk: test keys, " + name
		acts := []chromedp.Action{
			chromedp.EmulateViewport(w, h),
			chromedp.Navigate(url + "/#/incidents"),
			chromedp.WaitVisible("#incidents tbody tr.row", chromedp.ByQuery),
			chromedp.Evaluate(`[...document.querySelectorAll("#incidents tbody tr.row .risk")].map(e => Number(e.textContent))`, &c.risks),
			chromedp.Value("#filter-sort", &c.sortBy, chromedp.ByQuery),
			chromedp.Focus("#incidents tbody tr.row", chromedp.ByQuery),
			chromedp.KeyEvent("\r"),
			chromedp.WaitVisible(".timeline .event", chromedp.ByQuery),
			chromedp.Text("#view", &c.incidentText, chromedp.ByQuery),
			chromedp.Navigate(url + "/#/approvals"),
			chromedp.WaitVisible(`li[data-approval="`+folded+`"] .countdown`, chromedp.ByQuery),
			chromedp.Text(`li[data-approval="`+folded+`"]`, &c.approval, chromedp.ByQuery),
			chromedp.Text("#view", &c.approvals, chromedp.ByQuery),
			chromedp.WaitVisible(`li[data-approval="`+folded+`"] a[data-incident]`, chromedp.ByQuery),
		}
		for _, id := range deny {
			acts = append(acts, jsClick(`input[data-pick="`+id+`"]`))
		}
		acts = append(acts,
			chromedp.SendKeys("#bulk-comment", comment, chromedp.ByQuery),
			jsClick("#bulk-deny"))
		for _, id := range deny {
			acts = append(acts, chromedp.WaitVisible(`#decisions li[data-decision="`+id+`"]`, chromedp.ByQuery),
				chromedp.WaitVisible(`#decided li[data-approval="`+id+`"]`, chromedp.ByQuery))
		}
		return append(acts, chromedp.Text("#decisions", &c.decisions, chromedp.ByQuery),
			chromedp.Text("#decided", &c.decided, chromedp.ByQuery),
			chromedp.EmulateViewport(1280, 900))
	}
	// The page tour: every page at both widths, measured and (with
	// PARAPET_SCREENSHOTS) photographed.
	type pageLook struct {
		Overflow float64  `json:"overflow"`
		Text     string   `json:"text"`
		Wide     []string `json:"wide"` // the innermost elements past the window's right edge
	}
	looks := map[string]*pageLook{}
	const measure = `(() => { const d = document.documentElement;
		const wide = [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 &&
			![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 1)).slice(0, 5)
			.map(e => e.tagName.toLowerCase() + (e.className && e.className.baseVal === undefined ? "." + e.className : "") + ": " + (e.textContent || "").slice(0, 60));
		if (!wide.length) for (const e of document.querySelectorAll("body *")) if (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === "visible" && wide.length < 8) wide.push("scroll " + e.tagName.toLowerCase() + "." + e.className + " " + e.scrollWidth + ">" + e.clientWidth + " " + (e.textContent || "").slice(0, 40));
		return { overflow: Math.max(d.scrollWidth, document.body.scrollWidth) - window.innerWidth, text: document.body.innerText, wide }; })()`
	pages := []struct{ name, hash, ready string }{
		{"incidents", "#/incidents", "#incidents tbody tr.row"},
		{"incident", "#/incident/" + riskiest, ".timeline .event"},
		{"approvals", "#/approvals", "#waiting li[data-approval]"},
		{"posture", "#/posture", "table.failures tbody tr.row"},
		{"paths", "#/paths", "svg.path-graph g.node"},
		{"org", "#/org", "#org-coverage td.cov-not_covered"},
		{"overview", "#/overview", "#trends svg rect"},
		{"audit", "#/audit", "#chain"},
		{"timeline", "#/timeline/access_key/" + keys["frank"], "#timeline tbody tr"},
	}
	widths := []struct {
		suffix string
		w, h   int64
	}{{"", 1280, 900}, {"-narrow", 390, 844}}
	look := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			l := &pageLook{}
			looks[name] = l
			if err := chromedp.Evaluate(measure, l).Do(ctx); err != nil {
				return err
			}
			return shot(name).Do(ctx)
		})
	}
	type step struct {
		name string
		act  chromedp.Action
	}
	var tour []step
	for _, wd := range widths {
		for _, pg := range pages {
			tour = append(tour, step{"tour " + pg.name + wd.suffix, chromedp.Tasks{chromedp.EmulateViewport(wd.w, wd.h),
				chromedp.Navigate(url + "/" + pg.hash), chromedp.WaitVisible(pg.ready, chromedp.ByQuery), look(pg.name + wd.suffix)}})
		}
	}
	tour = append(tour, step{"tour done", chromedp.EmulateViewport(1280, 900)})
	var sentence, postureRows, chartAxes, mttdNote string
	var postureOnly, approvalHash string
	// orgCells: each coverage cell's account, service and class.
	const orgCells = `JSON.stringify([...document.querySelectorAll("#org-coverage td.cov")].map(td => [td.closest("tr").dataset.account, td.dataset.service, td.className]))`
	var orgAll, orgProd string
	var matchedOpen bool
	var principalTimeline, timelineRead string
	var timelinePages [2][]string
	eventIDs := `[...document.querySelectorAll("#timeline tbody tr")].map(r => r.dataset.event)`
	steps := []step{
		{"open", chromedp.Navigate(url + "/")},
		{"login form", chromedp.WaitVisible("#login-form", chromedp.ByQuery)},
		{"look login", look("login")},
		{"narrow login", chromedp.Tasks{chromedp.EmulateViewport(390, 844), look("login-narrow"), chromedp.EmulateViewport(1280, 900)}},
		{"wrong token", chromedp.SendKeys("#token", "ppt_wrong", chromedp.ByQuery)},
		{"submit wrong", chromedp.Click("#login-form button", chromedp.ByQuery)},
		{"error shown", chromedp.WaitVisible("#login-error:not(:empty)", chromedp.ByQuery)},
		{"token", chromedp.SetValue("#token", approver, chromedp.ByQuery)},
		{"submit", chromedp.Click("#login-form button", chromedp.ByQuery)},
		{"incident list", chromedp.WaitVisible("#incidents tbody tr.row", chromedp.ByQuery)},
		// The timeline from its form: an access key, two pages.
		{"timeline nav", jsClick(`nav a[data-view="timeline"]`)},
		{"timeline form", chromedp.WaitVisible("#tl-form", chromedp.ByQuery)},
		{"timeline kind", chromedp.SetValue("#tl-kind", "access_key", chromedp.ByQuery)},
		{"timeline key", chromedp.SendKeys("#tl-value", keys["frank"], chromedp.ByQuery)},
		{"timeline show", chromedp.Click("#tl-form button", chromedp.ByQuery)},
		{"timeline rows", chromedp.WaitVisible("#timeline tbody tr", chromedp.ByQuery)},
		{"timeline page 1", chromedp.Evaluate(eventIDs, &timelinePages[0])},
		{"timeline read", chromedp.Text("#tl-read", &timelineRead, chromedp.ByQuery)},
		{"timeline older", jsClick("#tl-older")},
		{"timeline page 2", chromedp.Poll(`document.querySelector(".pager span") && document.querySelector(".pager span").textContent === "Page 2"`, nil)},
		{"timeline page 2 rows", chromedp.Evaluate(eventIDs, &timelinePages[1])},
	}
	steps = append(steps, tour...)
	steps = append(steps, []step{
		// A failed check's row opens from the keyboard: that check's failures.
		{"posture for the keyboard", chromedp.Navigate(url + "/#/posture")},
		{"posture rows", chromedp.WaitVisible("table.failures tbody tr.row", chromedp.ByQuery)},
		{"posture rows text", chromedp.Evaluate(`JSON.stringify([...document.querySelectorAll("table.failures tbody tr.row")].map(r => [r.dataset.check, r.querySelector("strong").textContent]))`, &postureRows)},
		{"focus a failed check", chromedp.Focus("table.failures tbody tr.row", chromedp.ByQuery)},
		{"enter on it", chromedp.KeyEvent("\r")},
		{"that check only", chromedp.WaitVisible("#posture-only", chromedp.ByQuery)},
		{"that check's text", chromedp.Text("#posture-only", &postureOnly, chromedp.ByQuery)},
		// The Organization page: the coverage matrix, then only the
		// Production OU.
		{"org", chromedp.Navigate(url + "/#/org")},
		{"org matrix", chromedp.WaitVisible("#org-coverage td.cov", chromedp.ByQuery)},
		{"org cells", chromedp.Evaluate(orgCells, &orgAll)},
		{"org by OU", chromedp.SetValue("#org-ou", "Root/Production", chromedp.ByQuery)},
		{"org filter", chromedp.Evaluate(`document.querySelector("#org-ou").dispatchEvent(new Event("change"))`, nil)},
		{"org filtered", chromedp.Poll(`document.querySelector("#org-ou") && document.querySelector("#org-ou").value === "Root/Production" && document.querySelectorAll("#org-accounts tbody tr").length === 3`, nil)},
		{"org filtered cells", chromedp.Evaluate(orgCells, &orgProd)},
		{"org unfiltered", chromedp.SetValue("#org-ou", "", chromedp.ByQuery)},
		{"org unfilter", chromedp.Evaluate(`document.querySelector("#org-ou").dispatchEvent(new Event("change"))`, nil)},
		{"org every account", chromedp.Poll(`document.querySelector("#org-ou").value === "" && document.querySelectorAll("#org-accounts tbody tr").length === 6`, nil)},
	}...)
	// One step per action at each width, so that a failure names it.
	for i, a := range atWidth("desktop", 1280, 900, others[:2]) {
		steps = append(steps, step{"desktop " + strconv.Itoa(i), a})
	}
	for i, a := range atWidth("narrow", 390, 844, others[2:]) {
		steps = append(steps, step{"narrow " + strconv.Itoa(i), a})
	}
	steps = append(steps, []step{
		// An approval takes focus and opens its incident on Enter; its
		// incident link opens frank's incident.
		{"approvals for the keyboard", chromedp.Navigate(url + "/#/approvals")},
		{"focus the approval", chromedp.Focus(`li[data-approval="`+folded+`"]`, chromedp.ByQuery)},
		{"enter on the approval", chromedp.KeyEvent("\r")},
		{"its incident", chromedp.WaitVisible(".timeline .event", chromedp.ByQuery)},
		{"its incident's address", chromedp.Evaluate(`location.hash`, &approvalHash)},
		// The incident's principal opens its timeline, from the lake.
		{"principal's timeline", jsClick(`a.entity[data-kind="principal"]`)},
		{"principal's events", chromedp.WaitVisible("#timeline tbody tr", chromedp.ByQuery)},
		{"principal's timeline text", chromedp.Text("#view", &principalTimeline, chromedp.ByQuery)},
		{"approvals for the link", chromedp.Navigate(url + "/#/approvals")},
		{"open incident", jsClick(`li[data-approval="` + folded + `"] a[data-incident]`)},
		{"approve button", chromedp.WaitVisible("button[data-approve]", chromedp.ByQuery)},
		{"triage guide", chromedp.WaitVisible(".timeline .triage ol li", chromedp.ByQuery)},
		{"triage text", chromedp.Text(".timeline .triage", &triage, chromedp.ByQuery)},
		{"the finding in words", chromedp.Text(".timeline .event .say", &sentence, chromedp.ByQuery)},
		// Enter on a finding opens what the rule matched.
		{"focus the finding", chromedp.Focus(".timeline .event", chromedp.ByQuery)},
		{"enter on the finding", chromedp.KeyEvent("\r")},
		{"match details open", chromedp.WaitVisible(".timeline .event details.matched[open] li", chromedp.ByQuery)},
		{"match details state", chromedp.Evaluate(`document.querySelector(".timeline .event details.matched").open`, &matchedOpen)},
		{"comment", chromedp.SendKeys("input[data-comment]", "confirmed with frank by phone", chromedp.ByQuery)},
		{"approve", chromedp.Click("button[data-approve]", chromedp.ByQuery)},
		{"toast", chromedp.WaitVisible("#toast", chromedp.ByQuery)},
		{"toast text", chromedp.Text("#toast", &toast, chromedp.ByQuery)},
		{"run executed", chromedp.WaitVisible("#runs li[data-run] .run-executed", chromedp.ByQuery)},
		// The card is drawn again as live updates arrive: read its text once
		// it holds the decision (a node read while replaced reads empty).
		{"runs text", chromedp.Poll(`(() => { const r = document.querySelector("#runs"); return r && r.innerText.includes("decided by") ? r.innerText : false })()`, &runs, chromedp.WithPollingInterval(50*time.Millisecond))},
		{"approvals", chromedp.Navigate(url + "/#/approvals")},
		{"approvals page", chromedp.WaitVisible("#approvals-title", chromedp.ByQuery)},
		{"approvals text", chromedp.Text("#view", &pendingAfter, chromedp.ByQuery)},
		{"audit", chromedp.Navigate(url + "/#/audit")},
		{"chain", chromedp.WaitVisible("#chain", chromedp.ByQuery)},
		{"chain text", chromedp.Text("#chain", &chain, chromedp.ByQuery)},
		{"overview", chromedp.Navigate(url + "/#/overview")},
		{"stats", chromedp.WaitVisible(".stats", chromedp.ByQuery)},
		{"charts", chromedp.WaitVisible("#trends svg rect", chromedp.ByQuery)},
		{"charts text", chromedp.Text("#trends", &trends, chromedp.ByQuery)},
		{"chart axes", chromedp.Evaluate(`JSON.stringify([...document.querySelectorAll("#trends svg")].map(s => [s.querySelector(".x-label") && s.querySelector(".x-label").textContent, s.querySelector(".y-label") && s.querySelector(".y-label").textContent]))`, &chartAxes)},
		{"mttd note", chromedp.Evaluate(`document.querySelector("#mttd-note").title`, &mttdNote)},
		{"posture", chromedp.Navigate(url + "/#/posture")},
		{"posture page", chromedp.WaitVisible("#posture-title", chromedp.ByQuery)},
		{"posture text", chromedp.Text("#view", &posture, chromedp.ByQuery)},
		// The Paths page: every source listed; support's path drawn once
		// its row is chosen.
		{"paths", chromedp.Navigate(url + "/#/paths")},
		{"paths page", chromedp.WaitVisible("#paths-title", chromedp.ByQuery)},
		{"paths list", chromedp.Text("table.paths", &pathsList, chromedp.ByQuery)},
		{"choose support", chromedp.Click(`table.paths tr[data-source="arn:aws:iam::111122223333:user/support"]`, chromedp.ByQuery)},
		{"support's path", chromedp.WaitVisible(`table.paths tr.selected[data-source="arn:aws:iam::111122223333:user/support"]`, chromedp.ByQuery)},
		{"support's drawing", chromedp.Evaluate(`JSON.stringify([...document.querySelectorAll("#path-detail svg.path-graph g.node text.name")].map(t => t.textContent))`, &pathNodes)},
		{"support's steps", chromedp.Text("#path-detail ol.path-steps", &pathSteps, chromedp.ByQuery)},
		// The incident list's filter: a search that matches, then one that
		// does not.
		{"incidents again", chromedp.Navigate(url + "/#/incidents")},
		{"filter box", chromedp.WaitVisible("#filter-q", chromedp.ByQuery)},
		{"search frank", chromedp.SendKeys("#filter-q", "user/frank", chromedp.ByQuery)},
		{"frank's incident", chromedp.WaitVisible("#incidents tbody tr.row", chromedp.ByQuery)},
		{"frank's text", chromedp.Text("#incidents", &found, chromedp.ByQuery)},
		{"search more", chromedp.SendKeys("#filter-q", "-nobody", chromedp.ByQuery)},
		{"nothing matches", chromedp.WaitVisible("#no-incidents", chromedp.ByQuery)},
		// A viewer sees an incident without the cards only others get, and
		// without "null" in their place.
		{"sign out", network.ClearBrowserCookies()},
		{"viewer login page", chromedp.Tasks{chromedp.Navigate(url + "/"), chromedp.Reload()}},
		{"viewer login form", chromedp.WaitVisible("#login-form", chromedp.ByQuery)},
		{"viewer token", chromedp.SetValue("#token", viewer, chromedp.ByQuery)},
		{"viewer submit", chromedp.Click("#login-form button", chromedp.ByQuery)},
		{"viewer incidents", chromedp.WaitVisible("#incidents tbody tr.row", chromedp.ByQuery)},
		{"viewer focus", chromedp.Focus("#incidents tbody tr.row", chromedp.ByQuery)},
		{"viewer enter", chromedp.KeyEvent("\r")},
		{"viewer incident", chromedp.WaitVisible(".timeline .event", chromedp.ByQuery)},
		{"viewer text", chromedp.Text("#view", &viewerText, chromedp.ByQuery)},
	}...)
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
	for name, c := range checks {
		if len(c.risks) < 2 || c.risks[0] <= c.risks[len(c.risks)-1] || !slices.IsSortedFunc(c.risks, func(a, b float64) int { return cmp.Compare(b, a) }) || c.sortBy != "risk" {
			t.Errorf("%s: the incident list's risks %v (sorted by %q), want highest first", name, c.risks, c.sortBy)
		}
		if i := strings.Index(c.incidentText, "null"); c.incidentText == "" || i >= 0 {
			t.Errorf("%s: the incident page opened with Enter shows null: …%q…", name, c.incidentText[max(0, i-200):min(len(c.incidentText), i+100)])
		}
		// gail's incident (the riskiest, opened first) lists eight resources: three and "+5 more".
		if !strings.Contains(c.incidentText, "+5 more") {
			t.Errorf("%s: the long resource list is not collapsed: %.600q", name, c.incidentText)
		}
		if i := strings.Index(c.approvals, "null"); i >= 0 {
			t.Errorf("%s: the approvals page shows null: …%q…", name, c.approvals[max(0, i-200):min(len(c.approvals), i+100)])
		}
		for _, want := range []string{"×2 requests", "Access Key Created For Another User", "iam.deactivate_access_key", keys["erin"], "UpdateAccessKey", "Asked by", "Expires in", "then it is denied",
			"Before: access key " + keys["erin"] + " of erin is active (read "} {
			if !strings.Contains(c.approval, want) {
				t.Errorf("%s: the folded approval lacks %q: %q", name, want, c.approval)
			}
		}
		comment := "bulk: test keys, " + name
		if strings.Count(c.decisions, "Denied: denied") != 2 || strings.Count(c.decided, comment) != 2 {
			t.Errorf("%s: after the bulk denial: results %q; decided %q", name, c.decisions, c.decided)
		}
	}
	if i := strings.Index(viewerText, "null"); viewerText == "" || i >= 0 || strings.Contains(viewerText, "Close incident") {
		t.Errorf("a viewer's incident page: …%q…", viewerText[max(0, i-200):min(len(viewerText), max(i, 0)+300)])
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
	if !strings.Contains(trends, "MTTR per day (median)") || !strings.Contains(trends, "Alert reduction") {
		t.Errorf("overview charts: %q", trends)
	}
	// Every chart labels both axes, the y axis with its unit.
	var axes [][2]string
	if err := json.Unmarshal([]byte(chartAxes), &axes); err != nil || len(axes) != 4 {
		t.Errorf("chart axes: %q (%v)", chartAxes, err)
	}
	for _, a := range axes {
		if a[0] != "day (UTC)" || a[1] == "" {
			t.Errorf("a chart's axes: x %q, y %q", a[0], a[1])
		}
	}
	if !strings.Contains(mttdNote, "Replayed") || !strings.Contains(mttdNote, "age") {
		t.Errorf("the MTTD note: %q", mttdNote)
	}
	// The finding says what happened in words; Enter opened its match details.
	if sentence != "frank created an access key for erin" || !matchedOpen {
		t.Errorf("the finding in words: %q (match details open: %v)", sentence, matchedOpen)
	}
	// The timeline: frank's key, newest first, in pages of 25 that do not
	// overlap and together hold every event of his in the lake; his
	// incident's principal opens his.
	if len(timelinePages[0]) != 25 || len(timelinePages[1]) == 0 {
		t.Errorf("timeline pages: %d and %d events", len(timelinePages[0]), len(timelinePages[1]))
	}
	shown := map[string]bool{}
	for _, p := range timelinePages {
		for _, id := range p {
			if shown[id] {
				t.Errorf("timeline: %s on two pages", id)
			}
			shown[id] = true
		}
	}
	for _, id := range frankIDs {
		if !shown[id] {
			t.Errorf("timeline: %s (in the lake) not shown: pages %v", id, timelinePages)
		}
	}
	var order []string // frank's lake events as shown: newest (the highest id) first
	for _, id := range append(slices.Clone(timelinePages[0]), timelinePages[1]...) {
		if slices.Contains(frankIDs, id) {
			order = append(order, id)
		}
	}
	if !slices.IsSortedFunc(order, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Errorf("timeline: not newest first: %v", order)
	}
	if !strings.HasPrefix(timelineRead, "Read ") || strings.HasPrefix(timelineRead, "Read 0 files") {
		t.Errorf("timeline: what was read: %q", timelineRead)
	}
	if !strings.Contains(principalTimeline, "arn:aws:iam::123456789012:user/frank") || !strings.Contains(principalTimeline, "ListUsers") {
		t.Errorf("frank's timeline from his incident: %.600q", principalTimeline)
	}
	// The Organization page shows the scan's coverage: GuardDuty covers
	// the one account that has it, the unassumable one is unknown, the
	// rest are gaps; the OU filter keeps the Production accounts only.
	var cells [][3]string
	if err := json.Unmarshal([]byte(orgAll), &cells); err != nil || len(cells) != 6*4 {
		t.Errorf("org coverage cells %q (%v): want 6 accounts × 4 services", orgAll, err)
	}
	for _, c := range cells {
		want := "cov cov-not_covered"
		switch {
		case c[0] == f.NoRole:
			want = "cov cov-unknown"
		case c[0] == f.Sandbox[0] && c[1] == "guardduty":
			want = "cov cov-covered"
		}
		if c[2] != want {
			t.Errorf("org page: %s %s is %q, want %q", c[0], c[1], c[2], want)
		}
	}
	var prod [][3]string
	_ = json.Unmarshal([]byte(orgProd), &prod)
	for _, c := range prod {
		if !slices.Contains(f.Production, c[0]) {
			t.Errorf("org page filtered to Root/Production shows account %s", c[0])
		}
	}
	if len(prod) != 3*4 {
		t.Errorf("org page filtered to Root/Production: %d cells, want 12", len(prod))
	}
	if !strings.HasPrefix(approvalHash, "#/incident/inc-") {
		t.Errorf("Enter on an approval went to %q, want its incident", approvalHash)
	}
	// Failed checks are titled as problems, and a row opens its check.
	loaded, errs := check.Load(content.FS, "checks")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	problem := map[string]string{}
	for _, c := range loaded {
		problem[c.ID] = c.Problem
	}
	for _, c := range orgposture.Checks {
		problem[c.ID] = c.Problem
	}
	var rows [][2]string
	if err := json.Unmarshal([]byte(postureRows), &rows); err != nil || len(rows) == 0 {
		t.Errorf("posture rows: %q (%v)", postureRows, err)
	}
	for _, r := range rows {
		if r[1] != problem[r[0]] {
			t.Errorf("posture: failed check %s titled %q, want %q", r[0], r[1], problem[r[0]])
		}
	}
	if len(rows) > 0 && !strings.Contains(postureOnly, rows[0][0]) {
		t.Errorf("Enter on the first failed check shows %q, want %s only", postureOnly, rows[0][0])
	}
	// Every page at both widths: no horizontal overflow, no "null".
	for _, name := range []string{"login", "login-narrow"} {
		if looks[name] == nil {
			t.Errorf("%s not measured", name)
		}
	}
	for _, wd := range widths {
		for _, pg := range pages {
			name := pg.name + wd.suffix
			l := looks[name]
			switch {
			case l == nil:
				t.Errorf("%s not measured", name)
			case l.Overflow > 0:
				t.Errorf("%s: %v px wider than the %d px window: %q", name, l.Overflow, wd.w, l.Wide)
			case strings.Contains(l.Text, "null"):
				i := strings.Index(l.Text, "null")
				t.Errorf("%s shows null: …%q…", name, l.Text[max(0, i-200):min(len(l.Text), i+100)])
			case strings.Contains(l.Text, "undefined") || strings.Contains(l.Text, "[object ") || strings.Contains(l.Text, "NaN"):
				t.Errorf("%s shows a JavaScript value as text: %.1500q", name, l.Text)
			case len(strings.TrimSpace(l.Text)) < 40:
				t.Errorf("%s: almost empty: %q", name, l.Text)
			}
		}
	}
	// Id lists read as lists: "a, b, c +5 more".
	if l := looks["incident"]; l != nil && !strings.Contains(l.Text, "Resources: arn:aws:iam::") {
		t.Errorf("the incident's resource list: %.800q", l.Text)
	}
	consoleMu.Lock()
	for _, e := range consoleErrors {
		t.Errorf("browser console: %s", e)
	}
	consoleMu.Unlock()
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
	if !strings.Contains(pathsList, "support") || !strings.Contains(pathsList, "ci-deployer") {
		t.Errorf("paths page lists %q, want support and ci-deployer", pathsList)
	}
	if pathNodes != `["support","ci-deployer","ops-admin"]` {
		t.Errorf("support's drawn path: %s, want support → ci-deployer → ops-admin", pathNodes)
	}
	if !strings.Contains(pathSteps, "support can create an access key for user ci-deployer") {
		t.Errorf("support's steps: %q", pathSteps)
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

// writeTimelineLake writes a user's last half hour (30 calls, a minute
// apart, oldest first) into the lake at dir and returns their event ids.
func writeTimelineLake(t *testing.T, dir, key string) []string {
	t.Helper()
	ops := []string{"ListUsers", "GetUser", "ListAccessKeys", "ListAttachedUserPolicies", "GetAccountSummary"}
	var evs []event.Event
	var ids []string
	for i := range 30 {
		var rec map[string]any
		id := fmt.Sprintf("ev-tl-%02d", i)
		_ = json.Unmarshal([]byte(ctRecord(id, "frank", key, "iam.amazonaws.com", ops[i%len(ops)], map[string]any{}, nil)), &rec)
		rec["eventTime"] = time.Now().Add(time.Duration(i-31) * time.Minute).UTC().Format(time.RFC3339)
		b, _ := json.Marshal(rec)
		var ev event.Event
		if err := cloudtrail.Decode(b, &ev); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
		ids = append(ids, id)
	}
	ctx := context.Background()
	w, err := lake.Open(ctx, lake.Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// waitApprovals waits until n approvals are pending and returns them.
func waitApprovals(t *testing.T, url, tok string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last map[string]any
	for time.Now().Before(deadline) {
		code, v := call(t, "GET", url+"/v1/approvals?status=pending", tok, "", nil)
		if code != 200 {
			t.Fatalf("approvals: %d %v", code, v)
		}
		last = v
		items, _ := v["items"].([]any)
		if len(items) == n {
			out := make([]map[string]any, 0, n)
			for _, it := range items {
				out = append(out, it.(map[string]any))
			}
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("approvals: %v", last)
	return nil
}

// chromium is the browser the UI tests drive (Debian's, which
// scripts/test-deps.sh installs); they skip under -short or without it,
// but fail without it in CI.
func chromium(t *testing.T) string {
	t.Helper()
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
	return chrome
}
