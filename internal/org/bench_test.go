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

// BenchmarkReadPosture: the organization's posture (SCPs, delegated
// administrators, the four services' coverage) over the member accounts ×
// 2 regions, at 1 and 8 accounts at once, straight to the emulator and
// with a 30 ms round trip added to every call.
func BenchmarkReadPosture(b *testing.B) {
	f := orgtest.NewSized(b, 3)
	ctx := context.Background()
	all, err := Discover(ctx, f.Cfg)
	if err != nil {
		b.Fatal(err)
	}
	accts := Select(all, Filter{OUs: []string{"Sandbox", "Production"}}, Filter{Accounts: []string{f.NoRole}})
	regions := []string{"us-east-1", "eu-west-1"}
	ReadPosture(ctx, PostureOptions{Base: f.Cfg, Assumer: &Assumer{Base: f.Cfg, Role: orgtest.Role}, Accounts: accts, Regions: regions, Session: "parapet-warm", Concurrency: 8})
	for _, tc := range []struct {
		rtt  time.Duration
		conc int
	}{{0, 1}, {0, 8}, {30 * time.Millisecond, 1}, {30 * time.Millisecond, 8}} {
		b.Run(fmt.Sprintf("accounts=%d/regions=%d/rtt=%s/concurrency=%d", len(accts), len(regions), tc.rtt, tc.conc), func(b *testing.B) {
			orgtest.Latency.Store(int64(tc.rtt))
			defer orgtest.Latency.Store(0)
			as := &Assumer{Base: f.Cfg, Role: orgtest.Role}
			before := orgtest.Requests.Load()
			for b.Loop() {
				p := ReadPosture(ctx, PostureOptions{Base: f.Cfg, Assumer: as, Accounts: accts, Regions: regions, Session: "parapet-posture-bench", Concurrency: tc.conc})
				for _, c := range p.Coverage {
					if c.Status == Unknown {
						b.Fatal(c.Error)
					}
				}
			}
			b.ReportMetric(float64(orgtest.Requests.Load()-before)/b.Elapsed().Seconds(), "calls/s")
			b.ReportMetric(float64(orgtest.Requests.Load()-before)/float64(b.N), "calls/op")
		})
	}
}
