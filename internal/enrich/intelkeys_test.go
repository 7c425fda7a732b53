package enrich

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestIntelWithout(t *testing.T) {
	in := NewIntel()
	for _, v := range []string{"203.0.113.7", "198.51.100.0/24", "10.9.0.0/16", "Evil.Example."} {
		if !in.add(&Indicator{Value: v, Source: "test"}) {
			t.Fatalf("%s not added", v)
		}
	}
	keys := in.Keys()
	want := []string{"cidr:10.9.0.0/16", "cidr:198.51.100.0/24", "domain:evil.example", "ip:203.0.113.7"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	known := map[string]bool{"ip:203.0.113.7": true, "cidr:10.9.0.0/16": true}
	fresh := in.Without(known)
	if got := fresh.Keys(); !slices.Equal(got, []string{"cidr:198.51.100.0/24", "domain:evil.example"}) {
		t.Errorf("new indicators %v", got)
	}
	now := time.Now()
	if fresh.MatchIP(netip.MustParseAddr("203.0.113.7"), now) != nil {
		t.Error("a known indicator matches in the new set")
	}
	if fresh.MatchIP(netip.MustParseAddr("198.51.100.20"), now) == nil || fresh.MatchDomain("c2.evil.example", now) == nil {
		t.Error("a new indicator does not match in the new set")
	}
	if in.Without(map[string]bool{}).Len() != in.Len() || in.Without(map[string]bool{"ip:203.0.113.7": true, "cidr:10.9.0.0/16": true, "cidr:198.51.100.0/24": true, "domain:evil.example": true}).Len() != 0 {
		t.Error("Without of nothing or everything")
	}
}
