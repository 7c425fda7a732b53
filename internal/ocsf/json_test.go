package ocsf

import (
	"encoding/json"
	"math"
	"testing"
)

// FuzzAppendValue: the fast encoder writes what encoding/json writes.
func FuzzAppendValue(f *testing.F) {
	f.Add("plain", "key", 1.5, int64(42), true)
	f.Add("<a&b>\u2028\x00\x7f\"\\\t\n\r\b\f", "\xff\xfe", 1e-7, int64(-1), false)
	f.Add("é日本\U0001F600", "", 1e21, int64(math.MaxInt64), true)
	f.Fuzz(func(t *testing.T, s, k string, fl float64, n int64, b bool) {
		if math.IsNaN(fl) || math.IsInf(fl, 0) {
			return
		}
		v := obj{
			"s": s, k: obj{"n": n, "i": int(n % 1000), "f": fl, "b": b, "l": []any{s, fl, nil, obj{}}},
			"m": map[string]any{s: k}, "u": uint8(7),
		}
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendValue(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("appendValue = %s\nencoding/json = %s", got, want)
		}
	})
}
