package config

import (
	"encoding/json"
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
		"listen: x\nlisen: y\n":                                                                      {"line 2: field lisen not found"},
		"correlate:\n  window: soon\n":                                                               {"line 2:", `"soon" is not a duration`},
		"sources:\n  http:\n    access_key: hunter2\n":                                               {"line 3: field access_key not found"},
		"listen: localhost\n":                                                                        {"line 1: listen:"},
		"sources:\n  folders:\n    - poll: 5s\n":                                                     {"line 3: sources.folders.0.path"},
		"sources:\n  http:\n    max_body: lots\n":                                                    {"line 3:", "is not a size"},
		"detect:\n  rules: [a]\n  nope: 1\nrespond:\n  typo: true\n":                                 {"line 3: field nope not found", "line 5: field typo not found"},
		"db: postgres://x/y\nbus:\n  nats: nats://n:4222\n  workers: 2\n  worker: 2\n":               {"line 5: bus.worker: want 0 to workers-1"},
		"bus:\n  nats: nats://n:4222\n  workers: 2\n":                                                {"db: several workers share a PostgreSQL store"},
		"bus:\n  nats: http://n:4222\n":                                                              {"line 2: bus.nats: want nats://host:port"},
		"sources:\n  s3sqs:\n    - queue_url: https://sqs.us-east-1.amazonaws.com/111122223333/ct\n": {"line 3: sources.s3sqs.0: give the buckets"},
		"bus:\n  embedded: 0.0.0.0:4222\n":                                                           {"line 2: bus.embedded:", "needs credentials"},
		"bus:\n  embedded: 10.0.0.5:4222\n  tls: {cert: c.pem, key: k.pem}\n":                        {"line 2: bus.embedded:", "needs credentials"},
		"bus:\n  nats: nats://nats.internal:4222\n":                                                  {"line 2: bus.nats: a bus on another machine needs credentials"},
		"bus:\n  embedded: 127.0.0.1:4222\n  token: hunter2\n":                                       {"line 3: bus.token: a secret is given as env:NAME or file:PATH"},
		"bus:\n  nats: nats://n:4222\n  token: env:T\n  nkey_seed: env:S\n":                          {"bus.nkey_seed: give bus.token or bus.nkey_seed, not both"},
		"bus:\n  embedded: 127.0.0.1:4222\n  tls: {cert: c.pem}\n":                                   {"bus.tls: cert and key go together"},
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
