package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/parapet-sec/parapet/internal/org/orgtest"
)

// The header's account / OU selector in a real browser, over serve with an
// organization on the AWS API emulator (two OUs) and incidents in three of
// its accounts: one account shows only its incidents, an OU its accounts',
// the choice survives a reload and moving between pages (it is in the
// address), and "All accounts" shows every one again. PARAPET_SCREENSHOTS=DIR
// keeps the list of one OU as DIR/incidents-ou.png.
func TestWebUIOrgFilter(t *testing.T) {
	chrome := chromium(t)
	f := orgtest.New(t) // Root/Sandbox and Root/Production, three accounts each
	data := t.TempDir()
	viewer, analyst := token(t, data, "viewer"), token(t, data, "analyst")
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("organization:\n  role: "+orgtest.Role+"\nrespond:\n  dry_run: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	url, _ := startServe(t, "--data", data, "--config", cfg)
	// One person per account makes a key for someone else: one incident
	// in each of two sandbox accounts and one production account.
	actors := []struct{ user, target, account, ip string }{
		{"sam", "tess", f.Sandbox[0], "198.51.100.61"},
		{"sue", "ted", f.Sandbox[1], "198.51.100.62"},
		{"pat", "paul", f.Production[0], "198.51.100.63"},
	}
	var lines []string
	for i, a := range actors {
		var rec map[string]any
		_ = json.Unmarshal([]byte(ctRecord("ev-org-"+a.user, a.user, "AKIAORGTEST00000000"+string(rune('1'+i)), "iam.amazonaws.com", "CreateAccessKey",
			map[string]any{"userName": a.target}, map[string]any{"accessKey": map[string]any{"accessKeyId": "AKIAORGNEW000000000" + string(rune('1'+i)), "userName": a.target, "status": "Active"}})), &rec)
		rec["recipientAccountId"], rec["sourceIPAddress"] = a.account, a.ip
		id := rec["userIdentity"].(map[string]any)
		id["accountId"], id["arn"] = a.account, "arn:aws:iam::"+a.account+":user/"+a.user
		b, _ := json.Marshal(rec)
		lines = append(lines, string(b))
	}
	if code, v := call(t, "POST", url+"/v1/ingest/cloudtrail", analyst, "application/x-ndjson", []byte(strings.Join(lines, "\n")+"\n")); code != 202 {
		t.Fatalf("ingest: %d %v", code, v)
	}
	// Serve's inventory lists the organization's accounts (its management
	// account too); the three incidents are in.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		_, inv := call(t, "GET", url+"/v1/org/accounts", viewer, "", nil)
		_, incs := call(t, "GET", url+"/v1/incidents", viewer, "", nil)
		items, _ := inv["items"].([]any)
		got, _ := incs["items"].([]any)
		listed := 0
		for _, it := range items {
			if id, _ := it.(map[string]any)["id"].(string); slices.Contains(f.Sandbox, id) || slices.Contains(f.Production, id) {
				listed++
			}
		}
		if listed == 6 && len(got) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("inventory %v; incidents %v", inv, incs)
		}
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 120*time.Second)
	defer cancel()
	var consoleMu sync.Mutex
	var consoleErrors []string
	chromedp.ListenTarget(bctx, func(ev any) {
		consoleMu.Lock()
		defer consoleMu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				consoleErrors = append(consoleErrors, "console.error")
			}
		case *runtime.EventExceptionThrown:
			consoleErrors = append(consoleErrors, "exception: "+e.ExceptionDetails.Error())
		}
	})
	// choose picks a value in the selector as a person does (a change event).
	choose := func(value string) chromedp.Action {
		return chromedp.Evaluate(`(() => { const s = document.querySelector("#scope"); s.value = `+jsString(value)+`; s.dispatchEvent(new Event("change")); return s.value; })()`, nil)
	}
	rowAccounts := `[...document.querySelectorAll("#incidents tbody tr.row")].map(r => r.dataset.account).sort().join(",")`
	// showing waits until the incident list holds exactly these accounts'.
	showing := func(accounts ...string) chromedp.Action {
		want := slices.Clone(accounts)
		slices.Sort(want)
		return chromedp.Poll(rowAccounts+` === `+jsString(strings.Join(want, ",")), nil, chromedp.WithPollingInterval(50*time.Millisecond))
	}
	var options []string
	var search, afterReload, onApprovals, chosen, rowText, overviewNote, overviewIncidents string
	var overflow float64
	steps := []struct {
		name string
		act  chromedp.Action
	}{
		{"open", chromedp.Navigate(url + "/")},
		{"token", chromedp.SetValue("#token", viewer, chromedp.ByQuery)},
		{"submit", chromedp.Click("#login-form button", chromedp.ByQuery)},
		{"every account's incidents", showing(f.Sandbox[0], f.Sandbox[1], f.Production[0])},
		{"the selector", chromedp.Tasks{chromedp.WaitVisible("#scope", chromedp.ByQuery), chromedp.WaitReady("#scope optgroup[label=Accounts] option", chromedp.ByQuery)}},
		{"its options", chromedp.Evaluate(`[...document.querySelectorAll("#scope option")].map(o => o.value)`, &options)},
		{"one account", choose("account:" + f.Sandbox[0])},
		{"its incidents only", showing(f.Sandbox[0])},
		{"the row's OU", chromedp.Text("#incidents tbody tr.row", &rowText, chromedp.ByQuery)},
		{"the address", chromedp.Evaluate(`location.search`, &search)},
		{"reload", chromedp.Reload()},
		{"still one account", showing(f.Sandbox[0])},
		{"the selector after reload", chromedp.Evaluate(`document.querySelector("#scope").value`, &afterReload)},
		{"an OU", choose("ou:Root/Sandbox")},
		{"its accounts' incidents", showing(f.Sandbox[0], f.Sandbox[1])},
		{"approvals", chromedp.Evaluate(`document.querySelector('nav a[data-view="approvals"]').click()`, nil)},
		{"approvals page", chromedp.WaitVisible("#approvals-title", chromedp.ByQuery)},
		{"approvals address", chromedp.Evaluate(`location.search + location.hash`, &onApprovals)},
		{"back to incidents", chromedp.Evaluate(`document.querySelector('nav a[data-view="incidents"]').click()`, nil)},
		{"still the OU", showing(f.Sandbox[0], f.Sandbox[1])},
		{"screenshot", chromedp.ActionFunc(func(ctx context.Context) error {
			// PARAPET_SCREENSHOTS=DIR: the incident list of one OU.
			dir := os.Getenv("PARAPET_SCREENSHOTS")
			if dir == "" {
				return nil
			}
			var buf []byte
			if err := chromedp.FullScreenshot(&buf, 100).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "incidents-ou.png"), buf, 0o644)
		})},
		{"overview", chromedp.Evaluate(`document.querySelector('nav a[data-view="overview"]').click()`, nil)},
		{"overview's note", chromedp.WaitVisible(".scope-note", chromedp.ByQuery)},
		{"overview's note text", chromedp.Text(".scope-note", &overviewNote, chromedp.ByQuery)},
		{"overview's incidents", chromedp.Text(".stats .stat .n", &overviewIncidents, chromedp.ByQuery)},
		{"incidents again", chromedp.Evaluate(`document.querySelector('nav a[data-view="incidents"]').click()`, nil)},
		{"the OU again", showing(f.Sandbox[0], f.Sandbox[1])},
		{"narrow", chromedp.EmulateViewport(390, 844)},
		{"narrow overflow", chromedp.Evaluate(`Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth`, &overflow)},
		{"wide again", chromedp.EmulateViewport(1280, 900)},
		{"production", choose("ou:Root/Production")},
		{"production's incident", showing(f.Production[0])},
		{"all accounts", choose("")},
		{"every account's again", showing(f.Sandbox[0], f.Sandbox[1], f.Production[0])},
		{"the address cleared", chromedp.Evaluate(`location.search + "|" + document.querySelector("#scope").value`, &chosen)},
	}
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
			t.Fatalf("step %q: %v\npage: %.3000s", st.name, err, html)
		}
	}
	for _, want := range []string{"", "ou:Root", "ou:Root/Sandbox", "ou:Root/Production", "account:" + f.Sandbox[0], "account:" + f.NoRole} {
		if !slices.Contains(options, want) {
			t.Errorf("the selector lacks %q: %v", want, options)
		}
	}
	if !strings.Contains(rowText, "arn:aws:iam::"+f.Sandbox[0]+":user/sam · Root/Sandbox") {
		t.Errorf("the incident row does not name its principal and OU: %q", rowText)
	}
	if search != "?account="+f.Sandbox[0] || afterReload != "account:"+f.Sandbox[0] {
		t.Errorf("the choice in the address %q, after a reload %q", search, afterReload)
	}
	if onApprovals != "?ou=Root%2FSandbox#/approvals" {
		t.Errorf("moving to approvals: %q", onApprovals)
	}
	if overviewNote != "OU Root/Sandbox: these figures cover its findings, their incidents, approvals and runs; suppressions are every account's." {
		t.Errorf("the overview's note: %q", overviewNote)
	}
	// The Sandbox's two accounts have an incident each; Production's is
	// not counted.
	if overviewIncidents != "2" {
		t.Errorf("the overview counts %q incidents in Root/Sandbox, want 2", overviewIncidents)
	}
	if chosen != "|" {
		t.Errorf("all accounts again: %q", chosen)
	}
	if overflow > 0 {
		t.Errorf("the header with the selector overflows a narrow window by %vpx", overflow)
	}
	consoleMu.Lock()
	defer consoleMu.Unlock()
	if len(consoleErrors) > 0 {
		t.Errorf("console: %v", consoleErrors)
	}
}

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }
