package enrich

import (
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/sharedtest"
)

func TestRangesInline(t *testing.T) {
	r, err := NewRanges(map[string][]string{
		"aws":   {"3.0.0.0/9", "3.4.12.4/32", "3.128.0.0/9", "52.94.0.0/22", "2600:1f00::/24"},
		"gcp":   {"34.1.208.0/20", "3.200.0.0/16"}, // the second overlaps aws: the first claim holds
		"azure": {"20.33.0.0/16"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"3.0.0.0": "aws", "3.127.255.255": "aws", "3.128.0.0": "aws", "3.255.255.255": "aws", "4.0.0.0": NoProvider,
		"52.94.3.255": "aws", "52.94.4.0": NoProvider, "2600:1f00::1": "aws", "2600:1e00::1": NoProvider,
		"34.1.210.9": "gcp", "34.1.224.0": NoProvider, "3.200.1.1": "aws", "20.33.255.255": "azure",
		"::ffff:3.1.2.3": "aws", "198.51.100.7": NoProvider,
	}
	for ip, want := range cases {
		if got := r.Provider(netip.MustParseAddr(ip)); got != want {
			t.Errorf("%s: %q, want %q", ip, got, want)
		}
	}
	if r.Provider(netip.Addr{}) != "" {
		t.Error("an absent address has no provider")
	}
}

// The merged spans answer as a scan over every prefix would.
func TestRangesAgreeWithScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	by := map[string][]string{}
	var all []struct {
		p    netip.Prefix
		prov string
	}
	provs := []string{"aws", "gcp", "azure"}
	for range 400 {
		a := netip.AddrFrom4([4]byte{byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		p := netip.PrefixFrom(a, 8+rng.IntN(25)).Masked()
		prov := provs[rng.IntN(3)]
		by[prov] = append(by[prov], p.String())
		all = append(all, struct {
			p    netip.Prefix
			prov string
		}{p, prov})
	}
	r, err := NewRanges(by)
	if err != nil {
		t.Fatal(err)
	}
	for range 20000 {
		a := netip.AddrFrom4([4]byte{byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		held := map[string]bool{}
		for _, x := range all {
			if x.p.Contains(a) {
				held[x.prov] = true
			}
		}
		got := r.Provider(a)
		if len(held) == 0 && got != NoProvider || len(held) > 0 && !held[got] {
			t.Fatalf("%s: %q, but the prefixes holding it belong to %v", a, got, held)
		}
	}
}

func TestLoadPublishedRanges(t *testing.T) {
	aws := sharedtest.Path(t, "intel/aws-ip-ranges.json")
	gcp := sharedtest.Path(t, "intel/gcp-cloud-ip-ranges.json")
	r, err := LoadRanges(aws, gcp)
	if err != nil {
		t.Fatal(err)
	}
	if r.Prefixes() < 16000 {
		t.Errorf("%d prefixes, want the 16,826 of AWS and 782 of Google", r.Prefixes())
	}
	for ip, want := range map[string]string{"3.5.140.1": "aws", "15.230.15.29": "aws", "34.35.1.1": "gcp", "198.51.100.7": NoProvider} {
		if got := r.Provider(netip.MustParseAddr(ip)); got != want {
			t.Errorf("%s: %q, want %q", ip, got, want)
		}
	}
}

func TestLoadRangesErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"notjson.json":   "ranges",
		"empty.json":     `{"prefixes":[]}`,
		"badprefix.json": `{"prefixes":[{"ip_prefix":"3.0.0.0/33"}]}`,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadRanges(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	p := filepath.Join(dir, "azure.json")
	if err := os.WriteFile(p, []byte(`{"changeNumber":1,"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["20.33.0.0/16","2603:1000::/40"]}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := LoadRanges(p)
	if err != nil || r.Provider(netip.MustParseAddr("2603:1000::9")) != "azure" {
		t.Errorf("azure service tags: %v", err)
	}
}

func TestEnrichLeavesPrivateAddressesAlone(t *testing.T) {
	r, _ := NewRanges(map[string][]string{"aws": {"54.210.0.0/15"}})
	for ip, want := range map[string]string{"54.210.33.10": "aws", "203.0.113.9": NoProvider, "10.20.1.11": "", "100.64.3.2": "", "127.0.0.1": ""} {
		ev := event.Event{Src: event.Endpoint{IP: netip.MustParseAddr(ip)}}
		r.Enrich(&ev)
		if ev.Src.Provider != want {
			t.Errorf("%s: %q, want %q", ip, ev.Src.Provider, want)
		}
		if v, _ := ev.Lookup("parapet.src_provider"); v.String() != want {
			t.Errorf("%s: parapet.src_provider %q, want %q", ip, v.String(), want)
		}
	}
}

func FuzzParseRanges(f *testing.F) {
	f.Add([]byte(`{"prefixes":[{"ip_prefix":"3.0.0.0/8"}],"ipv6_prefixes":[{"ipv6_prefix":"2600::/16"}]}`))
	f.Add([]byte(`{"prefixes":[{"ipv4Prefix":"34.1.208.0/20"},{"ipv6Prefix":"2600:1900::/28"}]}`))
	f.Add([]byte(`{"values":[{"properties":{"addressPrefixes":["20.33.0.0/16"]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var b builder
		if b.parse(data) != nil {
			return
		}
		r := b.build("fuzz")
		for _, sp := range r.spans {
			if sp.lo.Compare(sp.hi) > 0 {
				t.Fatalf("span %v-%v ends before it starts", sp.lo, sp.hi)
			}
			if r.Provider(sp.lo) != sp.provider || r.Provider(sp.hi) != sp.provider {
				t.Fatalf("span %v-%v of %s does not answer for its ends", sp.lo, sp.hi, sp.provider)
			}
		}
	})
}

func TestGeo(t *testing.T) {
	dir := sharedtest.Path(t, "intel/geo-test-mmdb")
	g, err := OpenGeo(filepath.Join(dir, "GeoLite2-City-Test.mmdb"), filepath.Join(dir, "GeoLite2-ASN-Test.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	loc, ok := g.Locate(netip.MustParseAddr("81.2.69.142"))
	if !ok || loc.Country != "GB" || !loc.Located || loc.Lat < 51 || loc.Lat > 52 || loc.RadiusKm == 0 {
		t.Errorf("81.2.69.142: %+v", loc)
	}
	loc, ok = g.Locate(netip.MustParseAddr("1.0.0.1"))
	if !ok || loc.ASN != 15169 || loc.ASOrg != "Google Inc." {
		t.Errorf("1.0.0.1: %+v", loc)
	}
	ev := event.Event{Src: event.Endpoint{IP: netip.MustParseAddr("89.160.20.115")}, Dst: event.Endpoint{IP: netip.MustParseAddr("10.0.0.1")}}
	g.Enrich(&ev)
	if ev.Src.Geo.Country != "SE" || ev.Dst.Geo.Located {
		t.Errorf("enrich: src %+v dst %+v", ev.Src.Geo, ev.Dst.Geo)
	}
	if v, _ := ev.Lookup("parapet.src_country"); v.String() != "SE" {
		t.Errorf("parapet.src_country = %q", v.String())
	}
	if _, err := OpenGeo(filepath.Join(dir, "LICENSE-MIT"), ""); err == nil {
		t.Error("a file that is no database opened")
	}
}
