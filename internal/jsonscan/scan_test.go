package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{`{}`, true},
		{` {"a":[1,2.5e-3,-0,true,false,null,"x\u00e9\n"]} `, true},
		{`[]`, true},
		{`"\ud83d\ude00"`, true},
		{`{"a":1,}`, false},
		{`{"a" 1}`, false},
		{`[1 2]`, false},
		{`01`, false},
		{`1.`, false},
		{`-`, false},
		{`"abc`, false},
		{`"a\qb"`, false},
		{"\"a\tb\"", false},
		{`tru`, false},
		{`{"a":1}}`, false},
		{`[}`, false},
		{`{]`, false},
		{``, false},
		{strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth), true},
		{strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), false},
	}
	for _, tc := range cases {
		t.Run(tc.in[:min(len(tc.in), 20)], func(t *testing.T) {
			err := Valid([]byte(tc.in))
			if got := err == nil; got != tc.want {
				t.Errorf("Valid(%q) = %v, want ok=%v", tc.in, err, tc.want)
			}
		})
	}
}

func TestValueEndsAtValue(t *testing.T) {
	for _, in := range []string{"\"s\" \n", "12 ", "{\"a\":1}\n ", "[1] ", "true\t"} {
		end, err := Value([]byte(in), 0)
		if err != nil || end != len(strings.TrimRight(in, " \t\n")) {
			t.Errorf("Value(%q) = %d, %v, want %d", in, end, err, len(strings.TrimRight(in, " \t\n")))
		}
	}
	b := []byte("{\n \"a\": \"x\",\n \"last\": \"y\"\n }")
	vs, ve, ok := Get(b, 0, "last")
	if !ok || Unquote(b[vs:ve]) != "y" {
		t.Errorf("Get(last) = %q, want \"y\"", b[vs:ve])
	}
}

func TestStr(t *testing.T) {
	cases := map[string]string{
		`"plain"`:                 "plain",
		`"a\"b\\c\/d\b\f\n\r\t"`:  "a\"b\\c/d\b\f\n\r\t",
		`"\u00e9\u4e2d"`:          "é中",
		`"\ud83d\ude00"`:          "😀",
		`"lone \ud83d surrogate"`: "lone \uFFFD surrogate",
	}
	for in, want := range cases {
		if got := Unquote([]byte(in)); got != want {
			t.Errorf("Unquote(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestEachPath(t *testing.T) {
	doc := []byte(`{"requestParameters":{"bucketName":"b1","instancesSet":{"items":[{"instanceId":"i-1"},{"instanceId":"i-2"}]},
	"esc\u0061ped":"yes","n":null},"list":[[1,2],[3]]}`)
	var got []string
	Each(doc, 0, "requestParameters.instancesSet.items.instanceId", func(vs, ve int) bool {
		got = append(got, Unquote(doc[vs:ve]))
		return true
	})
	if strings.Join(got, ",") != "i-1,i-2" {
		t.Errorf("instanceIds = %v, want [i-1 i-2]", got)
	}
	checks := map[string]string{
		"requestParameters.bucketName":                      `"b1"`,
		"requestParameters.escaped":                         `"yes"`,
		"requestParameters.n":                               `null`,
		"requestParameters.instancesSet.items.1.instanceId": `"i-2"`,
		"list.1.0": `3`,
	}
	for path, want := range checks {
		vs, ve, ok := Get(doc, 0, path)
		if !ok || string(doc[vs:ve]) != want {
			t.Errorf("Get(%q) = %q, %v, want %q", path, doc[vs:ve], ok, want)
		}
	}
	for _, missing := range []string{"nope", "requestParameters.bucketName.x", "list.5", "requestParameters.instancesSet.items.9"} {
		if _, _, ok := Get(doc, 0, missing); ok {
			t.Errorf("Get(%q) found a value, want none", missing)
		}
	}
}

// FuzzValid checks the scanner against encoding/json: both must agree on
// validity, and on the decoded value of every string.
func FuzzValid(f *testing.F) {
	for _, s := range []string{`{"a":[1,"b",{"c":null}]}`, `"\u00e9"`, `[1e5,-0.5]`, `{"a":"\ud800"}`, "\"\x00\"", `{"a"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Valid(b)
		if (err == nil) != json.Valid(b) {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", b, err, json.Valid(b))
		}
		if err != nil || len(b) == 0 {
			return
		}
		i := SkipSpace(b, 0)
		if b[i] == '"' {
			var want string
			if json.Unmarshal(b, &want) != nil {
				t.Fatalf("encoding/json could not decode valid string %q", b)
			}
			end, esc, _ := String(b, i)
			if got := Str(b[i:end], esc); got != want && !strings.ContainsRune(want, '\uFFFD') {
				t.Fatalf("Str(%q) = %q, encoding/json = %q", b, got, want)
			}
		}
		Each(b, 0, "a.0.b", func(vs, ve int) bool { return vs <= ve })
	})
}
