package enrich

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/sharedtest"
)

// The real lists in ../shared: Feodo Tracker's CSV, ipsum, and STIX 2.1
// bundles (address patterns used, others counted as skipped).
func TestLoadRealIntel(t *testing.T) {
	dir := sharedtest.Path(t, "intel")
	in, err := LoadIntel(filepath.Join(dir, "feodotracker-ipblocklist.csv"), filepath.Join(dir, "ipsum-level3.txt"),
		filepath.Join(dir, "stix", "indicator-for-c2-ip-address.json"), filepath.Join(dir, "stix", "indicators-for-C2-with-COA.json"),
		filepath.Join(dir, "stix", "malicious-email-indicator-with-attachment.json"))
	if err != nil {
		t.Fatal(err)
	}
	if in.Loaded["feodotracker-ipblocklist.csv"] != 28 || in.Loaded["ipsum-level3.txt"] < 14000 {
		t.Errorf("loaded %v", in.Loaded)
	}
	if in.Skipped["indicators-for-C2-with-COA.json"] != 1 || in.Skipped["malicious-email-indicator-with-attachment.json"] != 2 {
		t.Errorf("skipped %v (a file hash and two e-mail patterns are not addresses)", in.Skipped)
	}
	if ind := in.MatchIP(netip.MustParseAddr("192.9.135.73"), time.Time{}); ind == nil || ind.Name != "Pikabot" {
		t.Errorf("a Feodo C2: %+v", ind)
	}
	if ind := in.MatchIP(netip.MustParseAddr("10.0.0.0"), time.Time{}); ind == nil || ind.Name != "IP Address for known C2 channel" {
		t.Errorf("the STIX indicator: %+v", ind)
	}
	if in.MatchIP(netip.MustParseAddr("192.0.2.1"), time.Time{}) != nil {
		t.Error("an unlisted address matched")
	}
}

func TestIntelMatching(t *testing.T) {
	dir := t.TempDir()
	list := "# comment\n203.0.113.7\n198.51.100.0/24 # a network\nevil.example\n2001:db8::/32\nnot an indicator!\n"
	bundle := `{"type":"bundle","id":"bundle--1","objects":[
	 {"type":"indicator","spec_version":"2.1","id":"indicator--1","name":"C2","pattern_type":"stix",
	  "pattern":"[ipv4-addr:value = '192.0.2.9'] OR [domain-name:value = 'c2.example.net']","valid_from":"2020-01-01T00:00:00Z","valid_until":"2030-01-01T00:00:00Z"},
	 {"type":"indicator","spec_version":"2.1","id":"indicator--2","pattern_type":"stix",
	  "pattern":"[ipv4-addr:value ISSUBSET '192.0.2.128/25']","valid_from":"2020-01-01T00:00:00Z","valid_until":"2021-01-01T00:00:00Z"},
	 {"type":"indicator","spec_version":"2.1","id":"indicator--3","pattern_type":"stix",
	  "pattern":"[ipv4-addr:value = '192.0.2.10' AND network-traffic:dst_port = 443]","valid_from":"2020-01-01T00:00:00Z"}]}`
	for n, body := range map[string]string{"list.txt": list, "bundle.json": bundle} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in, err := LoadIntel(filepath.Join(dir, "list.txt"), filepath.Join(dir, "bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	for addr, want := range map[string]string{"203.0.113.7": "203.0.113.7", "198.51.100.200": "198.51.100.0/24", "2001:db8::1": "2001:db8::/32",
		"192.0.2.9": "192.0.2.9", "192.0.2.200": "", "192.0.2.10": "", "::ffff:203.0.113.7": "203.0.113.7"} {
		ind := in.MatchIP(netip.MustParseAddr(addr), now)
		got := ""
		if ind != nil {
			got = ind.Value
		}
		if got != want {
			t.Errorf("%s matched %q, want %q", addr, got, want)
		}
	}
	if in.MatchDomain("www.evil.example", now) == nil || in.MatchDomain("C2.Example.Net.", now) == nil || in.MatchDomain("example", now) != nil {
		t.Error("domain matching")
	}
	if in.Skipped["list.txt"] != 1 || in.Skipped["bundle.json"] != 1 {
		t.Errorf("skipped: %v", in.Skipped)
	}
	ev := &event.Event{Time: now, Src: event.Endpoint{IP: netip.MustParseAddr("203.0.113.7")}, Dst: event.Endpoint{Domain: "evil.example"}}
	if ms := in.Matches(ev); len(ms) != 2 || ms[0].Endpoint != "src" || ms[1].Endpoint != "dst" {
		t.Errorf("matches %+v", ms)
	}
}

func FuzzLoadIntel(f *testing.F) {
	f.Add([]byte("203.0.113.7\n198.51.100.0/24\nevil.example\n"))
	f.Add([]byte(`"first_seen_utc","dst_ip","malware"` + "\n" + `"2024-01-01","192.0.2.1","X"` + "\n"))
	f.Add([]byte(`{"type":"bundle","objects":[{"type":"indicator","pattern":"[ipv4-addr:value = '10.0.0.1']"}]}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "intel")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		in, err := LoadIntel(p)
		if err == nil {
			in.MatchIP(netip.MustParseAddr("192.0.2.1"), time.Time{})
			in.MatchDomain("a.b.example", time.Time{})
		}
	})
}
