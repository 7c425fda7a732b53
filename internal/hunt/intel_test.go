package hunt

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/enrich"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/lake"
)

// call is a CloudTrail record written for these tests.
func call(t *testing.T, id, at, src, op, params string) event.Event {
	t.Helper()
	raw := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAHUNTEXAMPLE","arn":"arn:aws:iam::111122223333:user/dev","accountId":"111122223333","accessKeyId":"AKIAHUNTEXAMPLE","userName":"dev"},"eventTime":%q,"eventSource":"ec2.amazonaws.com","eventName":%q,"awsRegion":"eu-west-1","sourceIPAddress":%q,"userAgent":"aws-cli/2.15","requestParameters":%s,"responseElements":null,"requestID":"R-%s","eventID":%q,"readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`,
		at, op, src, params, id, id)
	var ev event.Event
	if err := cloudtrail.Decode([]byte(raw), &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// intelLake holds API calls and one flow: some from or to listed
// addresses, some naming them only where a match does not count.
func intelLake(t *testing.T) (*lake.Lake, []event.Event) {
	t.Helper()
	evs := []event.Event{
		call(t, "hit-src", "2026-11-03T10:00:00Z", "203.0.113.66", "DescribeInstances", `{}`),
		// The listed address in the request, not as the caller: no match.
		call(t, "miss-param", "2026-11-03T10:05:00Z", "192.0.2.10", "AuthorizeSecurityGroupIngress", `{"cidrIp":"203.0.113.66/32","groupId":"sg-0abc"}`),
		// In the listed network while its indicator was valid, then after.
		call(t, "hit-cidr", "2026-11-01T08:00:00Z", "198.51.100.10", "RunInstances", `{}`),
		call(t, "miss-expired", "2026-11-03T08:00:00Z", "198.51.100.11", "RunInstances", `{}`),
		// A revoked indicator's address: no match.
		call(t, "miss-revoked", "2026-11-03T09:00:00Z", "192.0.2.99", "StopInstances", `{}`),
		// A service name as the source, on a domain indicator.
		call(t, "hit-domain", "2026-11-04T09:00:00Z", "updates.badservice.example", "DescribeRegions", `{}`),
		call(t, "miss-clean", "2026-11-04T09:30:00Z", "192.0.2.20", "DescribeRegions", `{}`),
	}
	flow := event.Event{ID: "flow-1", Time: time.Date(2026, 11, 3, 11, 0, 0, 0, time.UTC), Source: event.SourceVPCFlow,
		Class: event.ClassNetworkActivity, Activity: 6, Cloud: event.Cloud{Provider: "aws", Account: "111122223333", Region: "eu-west-1"}}
	flow.Src.IP = netip.MustParseAddr("10.0.1.5")
	flow.Dst.IP = netip.MustParseAddr("203.0.113.66")
	evs = append(evs, flow)
	w := writeLake(t, evs)
	return w.Lake, evs
}

const bundle = `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
 {"type":"indicator","spec_version":"2.1","id":"indicator--1","name":"c2 node","pattern":"[ipv4-addr:value = '203.0.113.66']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","indicator_types":["malicious-activity"]},
 {"type":"indicator","spec_version":"2.1","id":"indicator--2","name":"scanner range","pattern":"[ipv4-addr:value ISSUBSET '198.51.100.0/24']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","valid_until":"2026-11-02T00:00:00Z"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--3","name":"withdrawn","pattern":"[ipv4-addr:value = '192.0.2.99']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","revoked":true}
]}`

func loadIntel(t *testing.T, files map[string]string) *enrich.Intel {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	in, err := enrich.LoadIntel(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

type hit struct{ event, rule, title string }

func huntIntel(t *testing.T, l *lake.Lake, q Query) ([]hit, Stats) {
	t.Helper()
	var got []hit
	st, err := Run(context.Background(), l, q, func(ev *event.Event, found []detect.Finding) error {
		for _, f := range found {
			if ev == nil || !slices.Contains(f.EventIDs, ev.ID) {
				t.Errorf("finding %s does not name its event", f.ID)
			}
			got = append(got, hit{ev.ID, f.RuleID, f.Title})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b hit) int { return cmpString(a.event, b.event) })
	return got, st
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestHuntIntel(t *testing.T) {
	l, evs := intelLake(t)
	stix := loadIntel(t, map[string]string{"feed.json": bundle})
	want := []hit{
		{"flow-1", detect.IntelRuleID, "Traffic with an address on a threat-intelligence list"},
		{"hit-cidr", detect.IntelRuleID, "API call from an address on a threat-intelligence list"},
		{"hit-src", detect.IntelRuleID, "API call from an address on a threat-intelligence list"},
	}
	// Addresses only: rows are tested on their columns first.
	got, st := huntIntel(t, l, Query{Intel: stix})
	if !slices.Equal(got, want) {
		t.Errorf("intel hunt = %v, want %v", got, want)
	}
	if st.Findings != int64(len(want)) || st.Events != int64(len(evs)) || st.Passed != int64(len(want)) {
		t.Errorf("stats = %+v: want %d findings, %d events, %d rebuilt", st, len(want), len(evs), len(want))
	}
	// With an engine (no rules) every row is rebuilt: the same findings.
	got, st = huntIntel(t, l, Query{Intel: stix, Engine: detect.NewEngine(nil)})
	if !slices.Equal(got, want) || st.Passed != int64(len(evs)) {
		t.Errorf("intel hunt with an engine = %v (%d rebuilt), want %v", got, st.Passed, want)
	}
	// A range that leaves the network's hit out, and a CEL filter.
	got, _ = huntIntel(t, l, Query{Intel: stix, Since: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)})
	if !slices.Equal(got, []hit{want[0], want[2]}) {
		t.Errorf("intel hunt since Nov 2 = %v", got)
	}
	where, err := Compile(`class_uid == 6003`)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = huntIntel(t, l, Query{Intel: stix, Where: where})
	if !slices.Equal(got, want[1:]) {
		t.Errorf("intel hunt of API calls = %v", got)
	}
	// A plain list with a domain: the domain indicator matches a service
	// name given as the source; its parent domain is listed.
	list := loadIntel(t, map[string]string{"feed.json": bundle, "list.txt": "# test list\nbadservice.example\n192.0.2.20 # noted\n"})
	got, _ = huntIntel(t, l, Query{Intel: list})
	var ids []string
	for _, h := range got {
		ids = append(ids, h.event)
	}
	if want := []string{"flow-1", "hit-cidr", "hit-domain", "hit-src", "miss-clean"}; !slices.Equal(ids, want) {
		t.Errorf("intel hunt with a list = %v, want %v", ids, want)
	}
}

// An intel finding from the lake is the one the live pipeline files for
// the same event.
func TestHuntIntelFindingShape(t *testing.T) {
	l, evs := intelLake(t)
	stix := loadIntel(t, map[string]string{"feed.json": bundle})
	var got detect.Finding
	if _, err := Run(context.Background(), l, Query{Intel: stix, Where: mustCompile(t, `event_uid == "hit-src"`)}, func(_ *event.Event, found []detect.Finding) error {
		got = found[0]
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	live := stix.Matches(&evs[0])
	if len(live) != 1 {
		t.Fatalf("live matches = %v", live)
	}
	want := detect.IntelFinding(&evs[0], live[0])
	if got.ID != want.ID || got.Title != want.Title || got.Description != want.Description || got.Level != "high" ||
		!slices.Equal(got.Attack.Techniques, []string{"T1078.004"}) || got.SrcIP != "203.0.113.66" || got.Actor.AccessKeyID != "AKIAHUNTEXAMPLE" {
		t.Errorf("hunt finding = %+v\nwant %+v", got, want)
	}
}

func mustCompile(t *testing.T, expr string) *Filter {
	t.Helper()
	f, err := Compile(expr)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// writeLake writes evs into a new lake (in a temporary folder) with opt
// (its Path set) and closes the writer.
func writeLake(t *testing.T, evs []event.Event, opt ...lake.Options) *lake.Writer {
	t.Helper()
	o := lake.Options{}
	if len(opt) > 0 {
		o = opt[0]
	}
	o.Path = t.TempDir()
	ctx := context.Background()
	w, err := lake.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w
}
