package lake

import "testing"

// FuzzParseKey: a key the lake accepts as one of its files names its
// partition and file exactly (the partition's prefix and the name give
// the key back).
func FuzzParseKey(f *testing.F) {
	f.Add("ext/api_activity/1.0/region=eu-west-1/accountId=111122223333/eventDay=20261103/p-20261103T093000Z-0a1b.parquet")
	f.Add("ext/x/1.0/region=/accountId=/eventDay=2026110/a.parquet")
	f.Add("ext/api_activity/2.0/region=a/accountId=b/eventDay=20261103/p.parquet")
	f.Fuzz(func(t *testing.T, key string) {
		p, name, ok := parseKey(key)
		if !ok {
			return
		}
		if got := p.Prefix() + name; got != key {
			t.Fatalf("parseKey(%q) = %+v %q: gives back %q", key, p, name, got)
		}
	})
}

// FuzzPartValue: a partition value is never empty, holds no character
// that would change the layout, and reads back from the key it makes.
func FuzzPartValue(f *testing.F) {
	f.Add("eu-west-1")
	f.Add("../../etc")
	f.Add("a/b=c\x00")
	f.Fuzz(func(t *testing.T, s string) {
		v := partValue(s)
		if v == "" {
			t.Fatalf("partValue(%q) is empty", s)
		}
		for i := 0; i < len(v); i++ {
			if !partChar(v[i]) {
				t.Fatalf("partValue(%q) = %q holds %q", s, v, v[i])
			}
		}
		p := Partition{Table: "api_activity", Region: v, Account: v, Day: "20261103"}
		if back, name, ok := parseKey(p.Prefix() + "f.parquet"); !ok || back != p || name != "f.parquet" {
			t.Fatalf("partition %+v reads back as %+v %q %v", p, back, name, ok)
		}
	})
}
