package org

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/org/orgtest"
	"github.com/parapet-sec/parapet/internal/posture/awsapi"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// throttleOrg: the fixture's five assumable member accounts.
func throttleOrg(t *testing.T) (*orgtest.Fixture, []Account) {
	t.Helper()
	f := orgtest.New(t)
	all, err := Discover(context.Background(), f.Cfg)
	if err != nil {
		t.Fatal(err)
	}
	accts := Select(all, Filter{OUs: []string{"Sandbox", "Production"}}, Filter{Accounts: []string{f.NoRole}})
	if len(accts) != 5 {
		t.Fatalf("%d accounts selected, want 5", len(accts))
	}
	return f, accts
}

func resourcesJSON(t *testing.T, res []*resource.Resource) []string {
	t.Helper()
	out := make([]string, len(res))
	for i, r := range res {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}

// Through a proxy that throttles every account's services far below what
// the scan asks for (2 requests at once, then 4 a second, per account,
// region and service), the scan backs off, retries and returns exactly
// the resources of the unthrottled scan; its counts agree with the
// proxy's.
func TestScanThrottledReturnsTheSameResources(t *testing.T) {
	if testing.Short() {
		t.Skip("three scans of an organization through the throttling proxy (TestScanBoundsCallsInFlight keeps the limits under -short)")
	}
	f, accts := throttleOrg(t)
	ctx := context.Background()
	as := &Assumer{Base: f.Cfg, Role: orgtest.Role}
	inv := awsapi.Options{Regions: []string{"us-east-1", "eu-west-1"}, Now: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), MaxAttempts: 15, MaxBackoff: 2 * time.Second}
	scan := func(session string) ([]*resource.Resource, ScanStats) {
		var st ScanStats
		res, errs := Scan(ctx, ScanOptions{Assumer: as, Accounts: accts, Session: session, Concurrency: 5, Inventory: inv, Stats: &st})
		for _, e := range errs {
			var u *awsapi.Unsupported
			if !errors.As(e, &u) {
				t.Errorf("%s: %v", session, e)
			}
		}
		return res, st
	}
	// The first scan of an account makes one more call (IAM's credential
	// report is generated then): warm the accounts first.
	scan("parapet-warm")
	plain, pst := scan("parapet-plain")
	if pst.Total.Calls == 0 || pst.Total.Throttled != 0 || pst.Total.Retries != 0 {
		t.Fatalf("unthrottled scan: stats %+v, want calls and no throttling", pst.Total)
	}

	restore := orgtest.SetThrottle(orgtest.Throttle{Rate: 4, Burst: 2})
	before := orgtest.Throttled.Load()
	got, st := scan("parapet-throttled")
	restore()
	proxy := orgtest.Throttled.Load() - before

	if proxy == 0 {
		t.Fatal("the proxy throttled nothing: the test proves nothing")
	}
	if st.Total.Throttled != proxy {
		t.Errorf("throttled responses counted %d, the proxy sent %d", st.Total.Throttled, proxy)
	}
	if st.Total.GaveUp != 0 || st.Total.Retries < st.Total.Throttled {
		t.Errorf("stats %+v: want every throttled attempt retried and no call given up", st.Total)
	}
	if st.Total.Calls != pst.Total.Calls {
		t.Errorf("calls: %d throttled, %d not: want the same operations", st.Total.Calls, pst.Total.Calls)
	}
	if len(st.Accounts) != len(accts) {
		t.Errorf("stats for %d accounts, want %d", len(st.Accounts), len(accts))
	}
	var sum awsapi.CallStats
	for _, a := range accts {
		s := st.Accounts[a.ID]
		if s.Calls == 0 {
			t.Errorf("account %s: no calls counted", a.ID)
		}
		sum.Add(s)
	}
	if sum != st.Total {
		t.Errorf("accounts sum to %+v, total %+v", sum, st.Total)
	}
	pj, gj := resourcesJSON(t, plain), resourcesJSON(t, got)
	if len(gj) != len(pj) {
		t.Fatalf("%d resources throttled, %d not", len(gj), len(pj))
	}
	for i := range pj {
		if gj[i] != pj[i] {
			t.Errorf("resource %d differs:\nthrottled   %s\nunthrottled %s", i, gj[i], pj[i])
		}
	}
	t.Logf("unthrottled %+v; throttled %+v (proxy: %d)", pst.Total, st.Total, proxy)
}

// A service that throttles every request: its calls give up after their
// attempts and each account's scan is partial (an error naming the
// account and the service), never fatal; the other services' resources
// are all there.
func TestScanGivesUpPerAccount(t *testing.T) {
	if testing.Short() {
		t.Skip("an organization scanned with IAM throttled past its attempts")
	}
	f, accts := throttleOrg(t)
	ctx := context.Background()
	as := &Assumer{Base: f.Cfg, Role: orgtest.Role}
	restore := orgtest.SetThrottle(orgtest.Throttle{Services: []string{"iam"}})
	defer restore()
	before := orgtest.Throttled.Load()
	var st ScanStats
	res, errs := Scan(ctx, ScanOptions{Assumer: as, Accounts: accts, Session: "parapet-choked", Concurrency: 5, Stats: &st,
		Inventory: awsapi.Options{Regions: []string{"us-east-1"}, MaxAttempts: 3, MaxBackoff: 50 * time.Millisecond}})
	proxy := orgtest.Throttled.Load() - before

	partial := map[string]bool{}
	for _, e := range errs {
		var ae *AccountError
		if errors.As(e, &ae) {
			t.Fatalf("account not scanned: %v", e)
		}
		var se *accountScanError
		if errors.As(e, &se) && strings.HasPrefix(se.Error(), "account "+se.account+": iam") {
			partial[se.account] = true
		}
	}
	for _, a := range accts {
		if !partial[a.ID] {
			t.Errorf("account %s: no IAM error among %v", a.ID, errs)
		}
		if s := st.Accounts[a.ID]; s.GaveUp == 0 {
			t.Errorf("account %s: stats %+v, want calls given up", a.ID, s)
		}
	}
	if st.Total.Throttled != proxy || proxy != 3*st.Total.GaveUp {
		t.Errorf("throttled %d, proxy %d, gave up %d: want every IAM call throttled 3 times", st.Total.Throttled, proxy, st.Total.GaveUp)
	}
	types := map[string]int{}
	for _, r := range res {
		types[r.Type]++
		if r.Name == f.PublicBucket && r.Account != f.Sandbox[0] {
			t.Errorf("bucket %s in account %s", r.Name, r.Account)
		}
	}
	if types[resource.IAMRole] != 0 || types[resource.IAMUser] != 0 {
		t.Errorf("IAM resources read through a proxy that refuses IAM: %v", types)
	}
	if types[resource.S3Bucket] != 2 {
		t.Errorf("%d buckets, want the fixture's 2 (S3 is not throttled)", types[resource.S3Bucket])
	}
}

// Each account's calls in flight stay within Inventory.Concurrency, and
// within Inventory.PerAPI per service, as the proxy in front of the
// emulator sees them (each account signs with its own role session).
func TestScanBoundsCallsInFlight(t *testing.T) {
	f, accts := throttleOrg(t)
	ctx := context.Background()
	base, err := f.Cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	orgtest.Latency.Store(int64(20 * time.Millisecond))
	defer orgtest.Latency.Store(0)
	orgtest.ResetInFlight()
	_, errs := Scan(ctx, ScanOptions{Assumer: &Assumer{Base: f.Cfg, Role: orgtest.Role}, Accounts: accts, Session: "parapet-bounded", Concurrency: 5,
		Inventory: awsapi.Options{Regions: []string{"us-east-1", "eu-west-1", "ap-southeast-2"}, Concurrency: 3, PerAPI: 2}})
	for _, e := range errs {
		var u *awsapi.Unsupported
		if !errors.As(e, &u) {
			t.Error(e)
		}
	}
	var accounts, services, atAccount, atService int
	for k, n := range orgtest.MaxInFlight() {
		if strings.HasPrefix(k, base.AccessKeyID) { // the Assumer's own STS calls
			continue
		}
		if strings.Contains(k, "/") {
			services++
			if n > 2 {
				t.Errorf("%s: %d calls in flight at once, want at most 2", k, n)
			}
			if n == 2 {
				atService++
			}
			continue
		}
		accounts++
		if n > 3 {
			t.Errorf("credential %s: %d calls in flight at once, want at most 3", k, n)
		}
		if n == 3 {
			atAccount++
		}
	}
	if accounts != len(accts) || atAccount == 0 || atService == 0 {
		t.Errorf("%d credentials (want %d), %d reached 3 calls at once, %d services reached 2: the bounds were not exercised", accounts, len(accts), atAccount, atService)
	}
}
