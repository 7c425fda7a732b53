package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

const example = `listen: 0.0.0.0:9090
data: /var/lib/parapet
auth:
  four_eyes: true
detect:
  rules: [/etc/parapet/rules]
  ueba:
    warmup: 72h
correlate:
  window: 30m
respond:
  dry_run: true
  protect: ["arn:aws:s3:::prod-*"]
sources:
  folders:
    - path: /var/log/cloudtrail
  http:
    max_body: 16MiB
`

func TestDefaults(t *testing.T) {
	c := Default()
	if c.Listen != "127.0.0.1:8080" || c.DB != "parapet-data/parapet.db" || len(c.Sources.Folders) != 0 || !*c.Detect.UEBA.Enabled || c.Correlate.Window.D() != time.Hour {
		t.Errorf("defaults: %+v", c)
	}
}

func TestParse(t *testing.T) {
	c, err := Parse([]byte(example))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "0.0.0.0:9090" || c.DB != "/var/lib/parapet/parapet.db" || c.Detect.UEBA.Warmup.D() != 72*time.Hour ||
		c.Sources.HTTP.MaxBody != 16<<20 || c.Sources.Folders[0].Poll.D() != 10*time.Second || !c.Respond.DryRun {
		t.Errorf("%+v", c)
	}
}

// Every error names its line.
func TestErrors(t *testing.T) {
	for body, want := range map[string][]string{
		"listen: x\nlisen: y\n":                                                        {"line 2: lisen: unknown key; did you mean listen?"},
		"correlate:\n  window: soon\n":                                                 {"line 2:", `"soon" is not a duration`},
		"sources:\n  http:\n    access_key: hunter2\n":                                 {"line 3: sources.http.access_key: unknown key"},
		"listen: localhost\n":                                                          {"line 1: listen:"},
		"sources:\n  folders:\n    - poll: 5s\n":                                       {"line 3: sources.folders.0.path"},
		"sources:\n  http:\n    max_body: lots\n":                                      {"line 3:", "is not a size"},
		"detect:\n  rules: [a]\n  nope: 1\nrespond:\n  typo: true\n":                   {"line 3: detect.nope: unknown key", "line 5: respond.typo: unknown key"},
		"db: postgres://x/y\nbus:\n  nats: nats://n:4222\n  workers: 2\n  worker: 2\n": {"line 5: bus.worker: want 0 to workers-1"},
		"bus:\n  nats: nats://n:4222\n  workers: 2\n":                                  {"db: several workers share a PostgreSQL store"},
		"bus:\n  nats: http://n:4222\n":                                                {"line 2: bus.nats: want nats://host:port"},
		"detect:\n  accounts: ['111122223333', '1234']\n  org_ids: [org-1]\n":          {"detect.accounts.1: \"1234\": want a 12-digit", "detect.org_ids.0"},
		"bus:\n  embedded: 0.0.0.0:4222\n":                                             {"line 2: bus.embedded:", "needs credentials"},
		"bus:\n  embedded: 10.0.0.5:4222\n  tls: {cert: c.pem, key: k.pem}\n":          {"line 2: bus.embedded:", "needs credentials"},
		"bus:\n  nats: nats://nats.internal:4222\n":                                    {"line 2: bus.nats: a bus on another machine needs credentials"},
		"bus:\n  embedded: 127.0.0.1:4222\n  token: hunter2\n":                         {"line 3: bus.token: a secret is given as env:NAME or file:PATH"},
		"bus:\n  nats: nats://n:4222\n  token: env:T\n  nkey_seed: env:S\n":            {"bus.nkey_seed: give bus.token or bus.nkey_seed, not both"},
		"bus:\n  embedded: 127.0.0.1:4222\n  tls: {cert: c.pem}\n":                     {"bus.tls: cert and key go together"},
	} {
		_, err := Parse([]byte(body))
		if err == nil {
			t.Errorf("%q: no error", body)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: %v; want %q", body, err, w)
			}
		}
	}
}

// The bus listens beyond loopback, or reaches another machine, only with
// credentials.
func TestBusCredentials(t *testing.T) {
	for _, body := range []string{
		"bus:\n  embedded: 127.0.0.1:4222\n",
		"bus:\n  embedded: :4222\n",
		"bus:\n  embedded: localhost:4222\n",
		"bus:\n  embedded: 0.0.0.0:4222\n  token: file:/etc/parapet/bus-token\n",
		"bus:\n  embedded: 0.0.0.0:4222\n  nkey_seed: env:PARAPET_BUS_SEED\n  tls: {cert: /etc/parapet/bus.pem, key: /etc/parapet/bus.key}\n",
		"bus:\n  nats: nats://127.0.0.1:4222\n",
		"bus:\n  nats: tls://nats.internal:4222\n  token: env:PARAPET_BUS_TOKEN\n  tls: {ca: /etc/parapet/ca.pem}\n",
		"bus:\n  nats: nats://worker:pw@nats.internal:4222\n",
	} {
		if _, err := Parse([]byte(body)); err != nil {
			t.Errorf("%q: %v", body, err)
		}
	}
}

// The schema accepts what Load accepts and rejects unknown keys.
func TestSchema(t *testing.T) {
	b, _ := json.Marshal(Schema())
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("config.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("config.json")
	if err != nil {
		t.Fatal(err)
	}
	check := func(src string) error {
		var v any
		if err := yaml.Unmarshal([]byte(src), &v); err != nil {
			t.Fatal(err)
		}
		j, _ := json.Marshal(v)
		inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(string(j)))
		return sch.Validate(inst)
	}
	if err := check(example); err != nil {
		t.Errorf("the example does not validate: %v", err)
	}
	if err := check("listen: x\nlisen: y\n"); err == nil {
		t.Error("an unknown key validates")
	}
	if err := check("correlate:\n  window: soon\n"); err == nil {
		t.Error("a bad duration validates")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(example))
	f.Add([]byte("sources:\n  folders:\n    - {path: a, poll: 1s}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Parse(data)
	})
}

// One pass names every problem in the file: unknown keys with the closest
// valid key at their level, values of the wrong kind, and the checks,
// each with its line and its YAML path, never a Go type or field.
func TestEveryErrorAtOnce(t *testing.T) {
	const body = `listen: localhost
lisen: 127.0.0.1:8080
detect:
  ueba:
    treshold: 3
    warmup: soon
  cloud_range: [a.json]
  geoip: [a, b]
correlate:
  window: 1h
bus:
  partitions: many
  embeded: 127.0.0.1:4222
sources:
  folders:
    - path: /x
      pol: 5s
  http:
    max_body: lots
    zzz: 1
respond: 7
`
	_, err := Parse([]byte(body))
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		`line 1: listen: "localhost" is not host:port`,
		`line 2: lisen: unknown key; did you mean listen?`,
		`line 5: detect.ueba.treshold: unknown key; did you mean threshold?`,
		`line 6: detect.ueba.warmup: "soon" is not a duration`,
		`line 7: detect.cloud_range: unknown key; did you mean cloud_ranges?`,
		`line 8: detect.geoip: want a string, not a list`,
		`line 12: bus.partitions: "many" is not an integer`,
		`line 13: bus.embeded: unknown key; did you mean embedded?`,
		`line 17: sources.folders.0.pol: unknown key; did you mean poll?`,
		`line 19: sources.http.max_body: "lots" is not a size`,
		`line 20: sources.http.zzz: unknown key (valid: max_body, max_inflated, max_spooled`,
		`line 21: respond: want a mapping (keys: playbooks, builtin_playbooks, dry_run, protect`,
	}
	lines := strings.Split(err.Error(), "\n")
	for _, w := range want {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, w)
		}
		if !found {
			t.Errorf("no %q among the errors:\n%v", w, err)
		}
	}
	if len(lines) != len(want) {
		t.Errorf("%d errors, want %d:\n%v", len(lines), len(want), err)
	}
	for _, goName := range []string{"config.", "in type", "Treshold", "unmarshal", "!!"} {
		if strings.Contains(err.Error(), goName) {
			t.Errorf("an error speaks Go (%q):\n%v", goName, err)
		}
	}
	// Load names the file on every line.
	path := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if err == nil || !strings.Contains(err.Error(), path+":5: detect.ueba.treshold: unknown key; did you mean threshold?") ||
		strings.Count(err.Error(), path+":") != len(want) {
		t.Errorf("Load: %v", err)
	}
}

// Did-you-mean suggests only keys that are close.
func TestSuggest(t *testing.T) {
	keys := []string{"max_body", "max_inflated", "max_spooled"}
	for in, want := range map[string]string{"max-body": "max_body", "maxBody": "max_body", "max_spool": "max_spooled", "MAX_BODY": "max_body", "zzz": "", "inflate": ""} {
		if got := suggest(in, keys); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

// The effective configuration is written with the file's keys, and reads
// back as the same configuration.
func TestEffectiveConfigKeys(t *testing.T) {
	c, err := Parse([]byte(example))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any, schema map[string]any)
	walk = func(path string, v any, schema map[string]any) {
		switch v := v.(type) {
		case map[string]any:
			props, _ := schema["properties"].(map[string]any)
			for k, x := range v {
				sub, ok := props[k].(map[string]any)
				if !ok {
					t.Errorf("%s%s: not a key of the file", path, k)
					continue
				}
				walk(path+k+".", x, sub)
			}
		case []any:
			items, _ := schema["items"].(map[string]any)
			for _, x := range v {
				walk(path, x, items)
			}
		}
	}
	walk("", doc, Schema())
	back, err := Parse(b)
	if err != nil {
		t.Fatalf("the effective configuration does not read back: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("read back:\n%+v\nwant\n%+v", back, c)
	}
}
