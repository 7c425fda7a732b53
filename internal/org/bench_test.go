package org

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/org/orgtest"
	"github.com/parapet-sec/parapet/internal/posture/awsapi"
)

// BenchmarkScanOrg: scan aws --org's work (assume, inventory, merge) over
// the emulator's member accounts × 2 regions, one account at a time and 8,
// straight to the emulator and with a 30 ms round trip added to every
// call (as to AWS from another region). calls/s counts every API request
// the emulator answered.
func BenchmarkScanOrg(b *testing.B) { benchScanOrg(b, 6, []string{"us-east-1", "eu-west-1"}) }

// BenchmarkScanOrgLarge: the shape, 49 member accounts × 4 regions.
func BenchmarkScanOrgLarge(b *testing.B) {
	benchScanOrg(b, 25, []string{"us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"})
}

func benchScanOrg(b *testing.B, perOU int, regions []string) {
	f := orgtest.NewSized(b, perOU)
	ctx := context.Background()
	all, err := Discover(ctx, f.Cfg)
	if err != nil {
		b.Fatal(err)
	}
	accts := Select(all, Filter{OUs: []string{"Sandbox", "Production"}}, Filter{Accounts: []string{f.NoRole}})
	// The emulator builds each account's and region's backends on first
	// use: warm them so that neither run pays for it.
	Scan(ctx, ScanOptions{Assumer: &Assumer{Base: f.Cfg, Role: orgtest.Role}, Accounts: accts, Session: "parapet-warm", Concurrency: 8,
		Inventory: awsapi.Options{Regions: regions}})
	for _, tc := range []struct {
		rtt  time.Duration
		conc int
	}{{0, 1}, {0, 8}, {30 * time.Millisecond, 1}, {30 * time.Millisecond, 8}} {
		conc := tc.conc
		b.Run(fmt.Sprintf("accounts=%d/regions=%d/rtt=%s/concurrency=%d", len(accts), len(regions), tc.rtt, conc), func(b *testing.B) {
			orgtest.Latency.Store(int64(tc.rtt))
			defer orgtest.Latency.Store(0)
			as := &Assumer{Base: f.Cfg, Role: orgtest.Role}
			before := orgtest.Requests.Load()
			n := 0
			for b.Loop() {
				res, errs := Scan(ctx, ScanOptions{Assumer: as, Accounts: accts, Session: "parapet-scan-bench", Concurrency: conc,
					Inventory: awsapi.Options{Regions: regions}})
				for _, e := range errs {
					if _, ok := e.(*AccountError); ok {
						b.Fatal(e)
					}
				}
				n += len(res)
			}
			b.ReportMetric(float64(orgtest.Requests.Load()-before)/b.Elapsed().Seconds(), "calls/s")
			b.ReportMetric(float64(n)/float64(b.N), "resources/op")
		})
	}
}

// BenchmarkScanOrgThrottled: the shape (49 member accounts × 4
// regions) through the orgtest proxy throttling as AWS does: per account,
// region and service a burst of 4 requests, then 2 a second (above it
// Throttling, RequestLimitExceeded, SlowDown, …), and a 30 ms round trip
// on every request. Accounts at once 1, 4, 8 and 16, and one run without
// throttling at 16 for reference. Every run must return the resources of
// the unthrottled warm-up scan, and give up no call. calls/s counts the
// operations the scan made (retries not included), throttled/op the
// responses the proxy refused.
func BenchmarkScanOrgThrottled(b *testing.B) {
	f := orgtest.NewSized(b, 25)
	regions := []string{"us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"}
	ctx := context.Background()
	all, err := Discover(ctx, f.Cfg)
	if err != nil {
		b.Fatal(err)
	}
	accts := Select(all, Filter{OUs: []string{"Sandbox", "Production"}}, Filter{Accounts: []string{f.NoRole}})
	warm, _ := Scan(ctx, ScanOptions{Assumer: &Assumer{Base: f.Cfg, Role: orgtest.Role}, Accounts: accts, Session: "parapet-warm", Concurrency: 8,
		Inventory: awsapi.Options{Regions: regions}})
	want := len(warm)
	for _, tc := range []struct {
		throttle bool
		conc     int
	}{{false, 16}, {true, 1}, {true, 4}, {true, 8}, {true, 16}} {
		b.Run(fmt.Sprintf("accounts=%d/regions=%d/rtt=30ms/throttled=%v/concurrency=%d", len(accts), len(regions), tc.throttle, tc.conc), func(b *testing.B) {
			orgtest.Latency.Store(int64(30 * time.Millisecond))
			defer orgtest.Latency.Store(0)
			var total awsapi.CallStats
			before := orgtest.Throttled.Load()
			for b.Loop() {
				if tc.throttle {
					// A fresh bucket per run: each run meets the same limits.
					restore := orgtest.SetThrottle(orgtest.Throttle{Rate: 2, Burst: 4})
					defer restore()
				}
				var st ScanStats
				res, errs := Scan(ctx, ScanOptions{Assumer: &Assumer{Base: f.Cfg, Role: orgtest.Role}, Accounts: accts, Session: "parapet-scan-bench",
					Concurrency: tc.conc, Inventory: awsapi.Options{Regions: regions}, Stats: &st})
				for _, e := range errs {
					if _, ok := e.(*AccountError); ok {
						b.Fatal(e)
					}
				}
				if len(res) != want || st.Total.GaveUp != 0 {
					b.Fatalf("%d resources, %d calls given up; the unthrottled scan read %d", len(res), st.Total.GaveUp, want)
				}
				total.Add(st.Total)
			}
			n := float64(b.N)
			b.ReportMetric(float64(total.Calls)/b.Elapsed().Seconds(), "calls/s")
			b.ReportMetric(float64(total.Calls)/n, "calls/op")
			b.ReportMetric(float64(total.Throttled)/n, "throttled/op")
			b.ReportMetric(float64(orgtest.Throttled.Load()-before)/n, "proxy-throttled/op")
			b.ReportMetric(float64(total.Retries)/n, "retries/op")
			b.ReportMetric(float64(want), "resources/op")
		})
	}
}
