package orgposture

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/org/orgtest"
)

// BenchmarkReadPosture: the organization's posture (SCPs, delegated
// administrators, the four services' coverage) over the member accounts ×
// 2 regions, at 1 and 8 accounts at once, straight to the emulator and
// with a 30 ms round trip added to every call.
func BenchmarkReadPosture(b *testing.B) {
	f := orgtest.NewSized(b, 3)
	ctx := context.Background()
	all, err := org.Discover(ctx, f.Cfg)
	if err != nil {
		b.Fatal(err)
	}
	accts := org.Select(all, org.Filter{OUs: []string{"Sandbox", "Production"}}, org.Filter{Accounts: []string{f.NoRole}})
	regions := []string{"us-east-1", "eu-west-1"}
	ReadPosture(ctx, PostureOptions{Base: f.Cfg, Assumer: &org.Assumer{Base: f.Cfg, Role: orgtest.Role}, Accounts: accts, Regions: regions, Session: "parapet-warm", Concurrency: 8})
	for _, tc := range []struct {
		rtt  time.Duration
		conc int
	}{{0, 1}, {0, 8}, {30 * time.Millisecond, 1}, {30 * time.Millisecond, 8}} {
		b.Run(fmt.Sprintf("accounts=%d/regions=%d/rtt=%s/concurrency=%d", len(accts), len(regions), tc.rtt, tc.conc), func(b *testing.B) {
			orgtest.Latency.Store(int64(tc.rtt))
			defer orgtest.Latency.Store(0)
			as := &org.Assumer{Base: f.Cfg, Role: orgtest.Role}
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
