// Package config is parapet serve's configuration: one YAML file, decoded
// strictly and checked, every problem reported in one pass with its line
// and its YAML keys (an unknown key with the closest valid one), with
// defaults that run with no file at all: SQLite under ./parapet-data, HTTP
// on 127.0.0.1:8080, no sources. Marshalled to JSON it uses the file's
// keys, and reads back as a file.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/parapet-sec/parapet/internal/redact"
)

// Config is the whole file. Durations are Go durations ("90s", "1h").
type Config struct {
	Listen    string    `yaml:"listen" json:"listen" doc:"address the HTTP API and UI listen on"`
	Data      string    `yaml:"data" json:"data" doc:"folder for the store, checkpoints and state"`
	DB        string    `yaml:"db" json:"db" doc:"the store: a SQLite file (default DATA/parapet.db)"`
	Auth      Auth      `yaml:"auth" json:"auth"`
	Detect    Detect    `yaml:"detect" json:"detect"`
	Correlate Correlate `yaml:"correlate" json:"correlate"`
	Respond   Respond   `yaml:"respond" json:"respond"`
	Intel     Intel     `yaml:"intel" json:"intel"`
	Posture   Posture   `yaml:"posture" json:"posture"`
	Sources   Sources   `yaml:"sources" json:"sources"`
	// SecurityHub exports incidents to AWS Security Hub.
	SecurityHub SecurityHub `yaml:"securityhub" json:"securityhub"`
	Bus         Bus         `yaml:"bus" json:"bus"`
	Audit       Audit       `yaml:"audit" json:"audit"`
	Metrics     Metrics     `yaml:"metrics" json:"metrics"`
	Lake        Lake        `yaml:"lake" json:"lake"`
	// Organization: the AWS accounts scans and responses reach (internal/org).
	Organization Organization `yaml:"organization" json:"organization"`
}

// Audit anchors the audit trail: its head is written to DATA/audit.anchor
// (and the log and metrics), so that records cut off the end are found.
type Audit struct {
	AnchorKey      string   `yaml:"anchor_key" json:"anchor_key" doc:"env:NAME or file:PATH holding an Ed25519 private key (PEM, PKCS #8) that signs each anchor"`
	AnchorInterval Duration `yaml:"anchor_interval" json:"anchor_interval" doc:"how often the head is anchored when it moved (default 1m)"`
	AnchorEvery    int      `yaml:"anchor_every" json:"anchor_every" doc:"also anchor after this many records (default 100)"`
}

// Metrics guards the Prometheus endpoint (open when neither is set).
type Metrics struct {
	Token string `yaml:"token" json:"token" doc:"a scrape token (env:NAME or file:PATH) that GET /metrics requires as Authorization: Bearer"`
	Role  string `yaml:"role" json:"role" doc:"or: any Parapet token of this role or above (viewer, analyst, approver, admin)"`
}

// Bus scales serve out over NATS JetStream: workers share the bus and a
// PostgreSQL store; each account's events go to one worker.
type Bus struct {
	NATS       string `yaml:"nats" json:"nats" doc:"a NATS server with JetStream (nats://host:4222); empty with no embedded server: no bus, one process"`
	Embedded   string `yaml:"embedded" json:"embedded" doc:"run a JetStream server in this process listening on host:port (an empty host: 127.0.0.1; other machines' addresses only with bus.token or bus.nkey_seed; its data in DATA/nats); workers connect to it"`
	Partitions int    `yaml:"partitions" json:"partitions" doc:"partitions of the event stream, by account (default 16; fixed once the stream exists)"`
	Worker     int    `yaml:"worker" json:"worker" doc:"this worker's index, 0 to workers-1 (worker 0 also runs the scheduled posture scans)"`
	Workers    int    `yaml:"workers" json:"workers" doc:"how many workers share the partitions (default 1)"`
	MaxPending int64  `yaml:"max_pending" json:"max_pending" doc:"bodies the intake stream holds before the intake answers 503 (default 100000)"`
	Token      string `yaml:"token" json:"token" doc:"env:NAME or file:PATH holding the token every worker presents and the embedded server requires (none on loopback: the embedded server makes one, in DATA/nats/token)"`
	NKeySeed   string `yaml:"nkey_seed" json:"nkey_seed" doc:"env:NAME or file:PATH holding an NKey user seed (SU…) the workers sign with; the embedded server accepts its public key"`
	TLS        BusTLS `yaml:"tls" json:"tls"`
}

// BusTLS encrypts the bus.
type BusTLS struct {
	Cert string `yaml:"cert" json:"cert" doc:"PEM certificate the embedded server serves (and workers present when a server asks for one)"`
	Key  string `yaml:"key" json:"key" doc:"its PEM private key"`
	CA   string `yaml:"ca" json:"ca" doc:"PEM certificates workers trust for the server (default: the system's)"`
}

// Credentials says whether the bus has configured credentials: a token,
// an NKey, or a user and password in bus.nats.
func (b Bus) Credentials() bool {
	if b.Token != "" || b.NKeySeed != "" {
		return true
	}
	u, err := url.Parse(b.NATS)
	return err == nil && u.User != nil
}

// Enabled says whether serve runs on the bus.
func (b Bus) Enabled() bool { return b.NATS != "" || b.Embedded != "" }

// Auth tunes access to the API.
type Auth struct {
	FourEyes        bool     `yaml:"four_eyes" json:"four_eyes" doc:"nobody approves an action they requested"`
	LoginFailures   int      `yaml:"login_failures" json:"login_failures" doc:"failed attempts with one token before that token is throttled (default 10)"`
	AddressFailures int      `yaml:"address_failures" json:"address_failures" doc:"failed or unauthenticated requests from one client address before its requests without a valid token are throttled (default 1000); a valid token is never throttled"`
	LoginWindow     Duration `yaml:"login_window" json:"login_window" doc:"the window failed attempts are counted in, and the throttle's length"`
	TrustedProxies  []string `yaml:"trusted_proxies" json:"trusted_proxies" doc:"reverse proxies (CIDR or address) whose X-Forwarded-For names the client; from any other peer the header is ignored"`
	TokenCache      Duration `yaml:"token_cache" json:"token_cache" doc:"how long a token check is trusted before the store is asked again (default 5s): a revoked token, and its sessions, stop working within this on every worker"`
	InsecureCookies bool     `yaml:"insecure_cookies" json:"insecure_cookies" doc:"session cookies without Secure, for plain-HTTP development on a host other than localhost"`
	MaxSessions     int      `yaml:"max_sessions" json:"max_sessions" doc:"browser sessions at once (default 1000); beyond, sign-in answers 503"`
	// MaxSessionsPerToken: a token's oldest session ends when it opens one
	// more.
	MaxSessionsPerToken int `yaml:"max_sessions_per_token" json:"max_sessions_per_token" doc:"browser sessions of one token at once (default 10); its oldest ends when it opens one more"`
	MaxStreams          int `yaml:"max_streams" json:"max_streams" doc:"live-update (server-sent event) subscribers at once (default 100); beyond: 503"`
	MaxStreamsPerToken  int `yaml:"max_streams_per_token" json:"max_streams_per_token" doc:"live-update subscribers of one token at once (default 10); beyond: 503"`
}

// Detect configures rules and behavioural models.
type Detect struct {
	Rules        []string `yaml:"rules" json:"rules" doc:"folders of Sigma rules to add"`
	BuiltinRules *bool    `yaml:"builtin_rules" json:"builtin_rules" doc:"run the builtin rule pack (default true)"`
	UEBA         UEBA     `yaml:"ueba" json:"ueba"`
	CloudRanges  []string `yaml:"cloud_ranges" json:"cloud_ranges" doc:"published cloud address ranges (AWS ip-ranges.json, GCP cloud.json, Azure Service Tags)"`
	GeoIP        string   `yaml:"geoip" json:"geoip" doc:"a MaxMind-format City or Country database"`
	ASN          string   `yaml:"asn" json:"asn" doc:"a MaxMind-format ASN database"`
	Accounts     []string `yaml:"accounts" json:"accounts" doc:"the organization's AWS account ids: a share, grant or trust naming another account is foreign (default: the accounts records are delivered for)"`
	OrgIDs       []string `yaml:"org_ids" json:"org_ids" doc:"the organization's ids (o-…): a policy conditioned on aws:PrincipalOrgID of one stays inside"`
	Paths        string   `yaml:"paths" json:"paths" doc:"the JSON of 'parapet paths --format json': a call that takes a step of one of its privilege-escalation paths is a finding, and the UI's Paths page shows them"`
	// Aggregate merges a rule's repeats into one finding per episode.
	Aggregate       *bool    `yaml:"aggregate" json:"aggregate" doc:"merge findings of one rule for the same principal, source address and target into one finding per episode (default true)"`
	AggregateWindow Duration `yaml:"aggregate_window" json:"aggregate_window" doc:"an episode ends when quiet this long in event time (default 1h)"`
}

// UEBA configures the behavioural models.
type UEBA struct {
	Enabled   *bool    `yaml:"enabled" json:"enabled" doc:"run the behavioural models (default true)"`
	Warmup    Duration `yaml:"warmup" json:"warmup" doc:"event time an account's baseline needs to be mature (with 1,000 events; default 168h): before, only anomalies with a first high-risk action are reported, at level low"`
	Threshold float64  `yaml:"threshold" json:"threshold" doc:"alert when a score is this rare among the account's (-log10; default 4)"`
	MinRaw    float64  `yaml:"min_raw" json:"min_raw" doc:"and its raw score reaches this (default 5)"`
}

// Correlate groups findings into incidents.
type Correlate struct {
	Window Duration `yaml:"window" json:"window" doc:"findings that share an entity (principal, key, session, address, instance, group) this close in time join one incident (default 1h)"`
	Hubs   []string `yaml:"hubs" json:"hubs" doc:"entities that never join findings into one incident: a shared CI role session (ARN, a trailing * matches a prefix), a NAT gateway's address"`
}

// Respond configures playbooks.
type Respond struct {
	Playbooks        []string  `yaml:"playbooks" json:"playbooks" doc:"folders of playbooks to add"`
	BuiltinPlaybooks *bool     `yaml:"builtin_playbooks" json:"builtin_playbooks" doc:"enable the builtin playbooks (default true)"`
	DryRun           bool      `yaml:"dry_run" json:"dry_run" doc:"plan actions, never make them"`
	Protect          []string  `yaml:"protect" json:"protect" doc:"resources no playbook touches (names, ids or ARNs, * and ? allowed)"`
	ProtectAccounts  OrgFilter `yaml:"protect_accounts" json:"protect_accounts" doc:"accounts no playbook changes a resource in (ids, OUs, tags: any entry; OUs and tags through the organization's inventory)"`
	Baselines        string    `yaml:"baselines" json:"baselines" doc:"a folder of approved bucket policies (BUCKET.json) that s3.revert_bucket_policy restores first"`
}

// Intel lists threat-intelligence indicator files.
type Intel struct {
	Files []string `yaml:"files" json:"files" doc:"STIX 2.1 bundles or plain IP / CIDR / domain lists"`
	TAXII []TAXII  `yaml:"taxii" json:"taxii"`
}

// TAXII is a TAXII 2.1 collection polled for STIX indicators.
type TAXII struct {
	Collection string   `yaml:"collection" json:"collection" doc:"the collection's URL: https://HOST/API-ROOT/collections/ID/"`
	User       string   `yaml:"user" json:"user" doc:"basic-auth user"`
	Password   string   `yaml:"password" json:"password" doc:"env:NAME or file:PATH holding the password"`
	Interval   Duration `yaml:"interval" json:"interval" doc:"how often to poll (default 1h)"`
	// Bounds on what the collection may make Parapet hold.
	MaxObjects      int      `yaml:"max_objects" json:"max_objects" doc:"objects one poll reads (default 100000)"`
	MaxBytes        ByteSize `yaml:"max_bytes" json:"max_bytes" doc:"bytes one poll reads (default 64MiB)"`
	MaxTotalObjects int      `yaml:"max_total_objects" json:"max_total_objects" doc:"objects all polls add up to (default 1000000)"`
	MaxTotalBytes   ByteSize `yaml:"max_total_bytes" json:"max_total_bytes" doc:"bytes all polls add up to (default 512MiB)"`
}

// Posture schedules compliance scans whose results the API and UI show.
type Posture struct {
	Interval Duration   `yaml:"interval" json:"interval" doc:"how often to scan (default 6h)"`
	IaC      []string   `yaml:"iac" json:"iac" doc:"Terraform / CloudFormation folders or plan files to scan"`
	Config   []string   `yaml:"config" json:"config" doc:"AWS Config snapshot files to scan"`
	AWS      PostureAWS `yaml:"aws" json:"aws"`
	// CheckScopes turn checks off (or limit them) per account scope.
	CheckScopes []CheckScope `yaml:"check_scopes" json:"check_scopes,omitempty"`
}

// CheckScope turns checks off, or limits them, in the accounts of a scope.
type CheckScope struct {
	Scope   Scope    `yaml:"scope" json:"scope"`
	Disable []string `yaml:"disable" json:"disable,omitempty" doc:"check ids (globs: PARAPET-S3-00*) or framework ids not run in the scope's accounts"`
	Only    []string `yaml:"only" json:"only,omitempty" doc:"or: only these checks (ids, globs, framework ids) run there"`
}

// Scope selects accounts: any entry of accounts, ous or tags (all
// accounts when the three are empty), and no entry of exclude.
type Scope struct {
	Accounts []string  `yaml:"accounts" json:"accounts,omitempty" doc:"account ids"`
	OUs      []string  `yaml:"ous" json:"ous,omitempty" doc:"OU paths (Root/Workloads/Sandbox, sub-OUs included) or OU names (Sandbox)"`
	Tags     []string  `yaml:"tags" json:"tags,omitempty" doc:"account tags as key=value (key=*: any value)"`
	Exclude  OrgFilter `yaml:"exclude" json:"exclude" doc:"never accounts matching any entry"`
}

// PostureAWS scans the live account.
type PostureAWS struct {
	Enabled     bool     `yaml:"enabled" json:"enabled" doc:"scan the live account (read-only calls, the standard credential chain)"`
	Regions     []string `yaml:"regions" json:"regions" doc:"regions to scan (default: the configured one)"`
	AssumeRoles []string `yaml:"assume_roles" json:"assume_roles" doc:"role ARNs, one per account to scan"`
}

// Sources are where telemetry comes from.
type Sources struct {
	Folders []Folder `yaml:"folders" json:"folders"`
	S3SQS   []S3SQS  `yaml:"s3sqs" json:"s3sqs"`
	// SecurityHub polls AWS Security Hub for findings (GetFindings).
	SecurityHub []SecurityHubSource `yaml:"securityhub" json:"securityhub"`
	HTTP        HTTP                `yaml:"http" json:"http"`
}

// SecurityHubSource polls one region's Security Hub for the active
// findings updated since the last poll (the cursor is checkpointed).
// Credentials: the standard chain.
type SecurityHubSource struct {
	Region string   `yaml:"region" json:"region" doc:"the hub's region (default: the configured one)"`
	Every  Duration `yaml:"every" json:"every" doc:"time between polls (default 5m)"`
	Since  Duration `yaml:"since" json:"since" doc:"how far back the first poll reads (default 24h)"`
}

// SecurityHub exports Parapet's incidents to AWS Security Hub as ASFF
// findings and keeps their workflow status in step both ways.
type SecurityHub struct {
	Export   bool     `yaml:"export" json:"export" doc:"export every incident as it changes (BatchImportFindings); one closed in Parapet is RESOLVED there, one resolved or suppressed there is closed in Parapet"`
	Region   string   `yaml:"region" json:"region" doc:"the hub's region (default: the configured one)"`
	Account  string   `yaml:"account" json:"account" doc:"the hub's account, which the credentials belong to (the product ARN is arn:aws:securityhub:REGION:ACCOUNT:product/ACCOUNT/default)"`
	URL      string   `yaml:"url" json:"url" doc:"Parapet's external URL, linked from each exported incident (SourceUrl)"`
	Findings bool     `yaml:"findings" json:"findings" doc:"export each incident's findings too, when new or grown (GeneratorId the rule id)"`
	Every    Duration `yaml:"every" json:"every" doc:"how often incidents resolved or suppressed in Security Hub are read back (default 5m)"`
}

// S3SQS is a queue announcing objects delivered to S3 (CloudTrail, flow
// logs): S3 notifications direct or through SNS, EventBridge, or
// CloudTrail's SNS notifications; a queue announcing a Security Lake
// bucket's objects too (OCSF Parquet). Credentials: the standard chain, or
// a role assumed from it where the queue and buckets live in another
// account (a central log-archive account).
type S3SQS struct {
	QueueURL string   `yaml:"queue_url" json:"queue_url" doc:"the SQS queue URL"`
	Region   string   `yaml:"region" json:"region" doc:"the queue's and buckets' region (default: the configured one)"`
	Wait     Duration `yaml:"wait" json:"wait" doc:"long-poll time (default 20s)"`
	Buckets  []string `yaml:"buckets" json:"buckets" doc:"the only buckets read (with those of trails): an object a message names elsewhere is reported, not read; with neither buckets nor trails, the buckets of every trail CloudTrail reports"`
	Trails   []string `yaml:"trails" json:"trails" doc:"CloudTrail trails (names or ARNs) whose buckets are read too (cloudtrail:DescribeTrails at start)"`
	// A central logging account.
	RoleARN    string `yaml:"role_arn" json:"role_arn" doc:"a role assumed (STS AssumeRole, refreshed before expiry) to read the queue, the buckets and the trails: the reader role of a central log-archive account; empty: the standard chain's own credentials"`
	Account    string `yaml:"account" json:"account" doc:"or: the log-archive account whose organization.role is assumed (organization.external_id too, unless external_id is given)"`
	ExternalID string `yaml:"external_id" json:"external_id" doc:"the ExternalId the role's trust policy requires"`
}

// Role is the ARN of the role the source assumes and its ExternalId
// ("" for none): role_arn, or organization.role in account.
func (q S3SQS) Role(o Organization) (arn, externalID string) {
	arn, externalID = q.RoleARN, q.ExternalID
	if arn == "" && q.Account != "" && o.Role != "" {
		if strings.HasPrefix(o.Role, "arn:") {
			arn = strings.ReplaceAll(o.Role, "{account}", q.Account)
		} else {
			arn = "arn:aws:iam::" + q.Account + ":role/" + strings.TrimPrefix(o.Role, "/")
		}
		if externalID == "" {
			externalID = o.ExternalID
		}
	}
	return arn, externalID
}

// Folder is a folder watched for new files.
type Folder struct {
	Path string   `yaml:"path" json:"path" doc:"the folder (walked recursively)"`
	Poll Duration `yaml:"poll" json:"poll" doc:"how often to look for new files (default 10s)"`
}

// HTTP is the intake.
type HTTP struct {
	MaxBody ByteSize `yaml:"max_body" json:"max_body" doc:"largest request body accepted (default 64MiB); Firehose's access key is a Parapet token"`
	// MaxInflated bounds what a gzip body inflates to (a small body can
	// inflate to gigabytes).
	MaxInflated ByteSize `yaml:"max_inflated" json:"max_inflated" doc:"largest size a gzip body or Firehose record may inflate to (default 512MiB)"`
	// MaxSpooled is backpressure: past this many bodies waiting, the
	// intake answers 503 with Retry-After instead of accepting more.
	MaxSpooled int `yaml:"max_spooled" json:"max_spooled" doc:"bodies waiting in the spool before the intake answers 503 (default 10000)"`
	// MaxConcurrent bounds the intake's memory: each request holds its
	// body as received (compressed if it came so), at most max_body.
	MaxConcurrent int `yaml:"max_concurrent" json:"max_concurrent" doc:"intake requests read at once (default 8); beyond, 503 with Retry-After"`
}

// Duration is a time.Duration written as "90s".
type Duration time.Duration

// UnmarshalYAML reads a Go duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration (like 90s, 10m, 1h)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes "90s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

// D is the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// ByteSize is a size written as 1048576, "64KiB", "64MiB" or "1GiB".
type ByteSize int64

// UnmarshalYAML reads a size.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSuffix(s, suffix), m
		}
	}
	var v int64
	if _, err := fmt.Sscanf(s, "%d", &v); err != nil || v <= 0 || fmt.Sprint(v) != s {
		return fmt.Errorf("line %d: %q is not a size (like 1048576, 64KiB, 64MiB, 1GiB)", n.Line, n.Value)
	}
	*b = ByteSize(v * mult)
	return nil
}

// Default is the configuration with no file.
func Default() *Config {
	c := &Config{}
	c.fill()
	return c
}

func (c *Config) fill() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.Data == "" {
		c.Data = "parapet-data"
	}
	if c.DB == "" {
		c.DB = filepath.Join(c.Data, "parapet.db")
	}
	if c.Auth.LoginFailures == 0 {
		c.Auth.LoginFailures = 10
	}
	if c.Auth.LoginWindow == 0 {
		c.Auth.LoginWindow = Duration(time.Minute)
	}
	if c.Auth.AddressFailures == 0 {
		c.Auth.AddressFailures = 1000
	}
	if c.Auth.TokenCache == 0 {
		c.Auth.TokenCache = Duration(5 * time.Second)
	}
	if c.Auth.MaxSessions == 0 {
		c.Auth.MaxSessions = 1000
	}
	if c.Auth.MaxSessionsPerToken == 0 {
		c.Auth.MaxSessionsPerToken = 10
	}
	if c.Auth.MaxStreams == 0 {
		c.Auth.MaxStreams = 100
	}
	if c.Auth.MaxStreamsPerToken == 0 {
		c.Auth.MaxStreamsPerToken = 10
	}
	t := true
	if c.Detect.BuiltinRules == nil {
		c.Detect.BuiltinRules = &t
	}
	if c.Detect.Aggregate == nil {
		c.Detect.Aggregate = &t
	}
	if c.Detect.AggregateWindow == 0 {
		c.Detect.AggregateWindow = Duration(time.Hour)
	}
	if c.Detect.UEBA.Enabled == nil {
		c.Detect.UEBA.Enabled = &t
	}
	if c.Detect.UEBA.Warmup == 0 {
		c.Detect.UEBA.Warmup = Duration(7 * 24 * time.Hour)
	}
	if c.Detect.UEBA.Threshold == 0 {
		c.Detect.UEBA.Threshold = 4
	}
	if c.Detect.UEBA.MinRaw == 0 {
		c.Detect.UEBA.MinRaw = 5
	}
	for i := range c.Intel.TAXII {
		if c.Intel.TAXII[i].Interval == 0 {
			c.Intel.TAXII[i].Interval = Duration(time.Hour)
		}
	}
	if c.Posture.Interval == 0 {
		c.Posture.Interval = Duration(6 * time.Hour)
	}
	if c.Correlate.Window == 0 {
		c.Correlate.Window = Duration(time.Hour)
	}
	if c.Respond.BuiltinPlaybooks == nil {
		c.Respond.BuiltinPlaybooks = &t
	}
	for i := range c.Sources.Folders {
		if c.Sources.Folders[i].Poll == 0 {
			c.Sources.Folders[i].Poll = Duration(10 * time.Second)
		}
	}
	for i := range c.Sources.SecurityHub {
		if c.Sources.SecurityHub[i].Every == 0 {
			c.Sources.SecurityHub[i].Every = Duration(5 * time.Minute)
		}
		if c.Sources.SecurityHub[i].Since == 0 {
			c.Sources.SecurityHub[i].Since = Duration(24 * time.Hour)
		}
	}
	if c.SecurityHub.Every == 0 {
		c.SecurityHub.Every = Duration(5 * time.Minute)
	}
	for i := range c.Sources.S3SQS {
		if c.Sources.S3SQS[i].Wait == 0 {
			c.Sources.S3SQS[i].Wait = Duration(20 * time.Second)
		}
	}
	if c.Sources.HTTP.MaxSpooled == 0 {
		c.Sources.HTTP.MaxSpooled = 10000
	}
	if c.Sources.HTTP.MaxConcurrent == 0 {
		c.Sources.HTTP.MaxConcurrent = 8
	}
	if c.Sources.HTTP.MaxBody == 0 {
		c.Sources.HTTP.MaxBody = 64 << 20
	}
	if c.Sources.HTTP.MaxInflated == 0 {
		c.Sources.HTTP.MaxInflated = 512 << 20
	}
	if c.Bus.Partitions == 0 {
		c.Bus.Partitions = 16
	}
	if c.Bus.Workers == 0 {
		c.Bus.Workers = 1
	}
	if c.Bus.MaxPending == 0 {
		c.Bus.MaxPending = 100000
	}
	if c.Audit.AnchorInterval == 0 {
		c.Audit.AnchorInterval = Duration(time.Minute)
	}
	if c.Audit.AnchorEvery == 0 {
		c.Audit.AnchorEvery = 100
	}
	c.Lake.fill()
	c.Organization.fill()
}

// Errors are every problem in a file, each naming its line.
type Errors []error

func (e Errors) Error() string {
	var b strings.Builder
	for i, err := range e {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

// Load reads and checks a file; "" gives the defaults.
func Load(path string) (*Config, error) {
	if path == "" {
		return Default(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data)
	if err != nil {
		var errs Errors
		if errors.As(err, &errs) {
			for i, e := range errs {
				if rest, ok := strings.CutPrefix(e.Error(), "line "); ok {
					errs[i] = fmt.Errorf("%s:%s", path, rest)
				} else {
					errs[i] = fmt.Errorf("%s: %w", path, e)
				}
			}
			return nil, errs
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes and checks a file's content. Every problem is reported
// at once (Errors), each with its line and its path of YAML keys.
func Parse(data []byte) (*Config, error) {
	var c Config
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		// Not YAML at all: nothing further can be read.
		return nil, Errors{errors.New(strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	errs := validate(&root)
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		if err := root.Decode(&c); err != nil {
			// validate removed what does not fit; anything left is
			// reported as the decoder puts it.
			var te *yaml.TypeError
			if !errors.As(err, &te) {
				return nil, append(errs, errors.New(strings.TrimPrefix(err.Error(), "yaml: ")))
			}
			for _, m := range te.Errors {
				errs = append(errs, errors.New(strings.TrimPrefix(m, "yaml: ")))
			}
		}
	}
	errs = append(errs, c.check(&root)...)
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b error) int { return errLine(a) - errLine(b) })
		return nil, errs
	}
	c.fill()
	return &c, nil
}

// errLine is the line an error names ("line N: …"), 0 for none.
func errLine(err error) int {
	var n int
	if _, e := fmt.Sscanf(err.Error(), "line %d:", &n); e != nil {
		return 0
	}
	return n
}

// check finds what decoding cannot: bad addresses, secrets written in
// clear, missing paths.
func (c *Config) check(root *yaml.Node) Errors {
	var errs Errors
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("line %d: %s: %s", line(root, path), path, fmt.Sprintf(format, args...)))
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			bad("listen", "%q is not host:port", c.Listen)
		}
	}
	if c.DB != "" && strings.Contains(c.DB, "://") && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		bad("db", "want a SQLite file path or postgres://…")
	}
	if c.Bus.NATS != "" && !strings.HasPrefix(c.Bus.NATS, "nats://") && !strings.HasPrefix(c.Bus.NATS, "tls://") {
		bad("bus.nats", "want nats://host:port")
	}
	if c.Bus.Embedded != "" {
		if h, _, err := net.SplitHostPort(c.Bus.Embedded); err != nil {
			bad("bus.embedded", "%q is not host:port", c.Bus.Embedded)
		} else if !loopback(h) && c.Bus.Token == "" && c.Bus.NKeySeed == "" {
			bad("bus.embedded", "%q is reachable from other machines: a bus there needs credentials (bus.token or bus.nkey_seed); or listen on 127.0.0.1", c.Bus.Embedded)
		}
	}
	if c.Bus.NATS != "" {
		if u, err := url.Parse(c.Bus.NATS); err == nil && !loopback(u.Hostname()) && !c.Bus.Credentials() {
			bad("bus.nats", "a bus on another machine needs credentials (bus.token or bus.nkey_seed)")
		}
	}
	for _, kv := range [][2]string{{"bus.token", c.Bus.Token}, {"bus.nkey_seed", c.Bus.NKeySeed}} {
		if kv[1] != "" && !strings.HasPrefix(kv[1], "env:") && !strings.HasPrefix(kv[1], "file:") {
			bad(kv[0], "a secret is given as env:NAME or file:PATH, never in the file")
		}
	}
	if c.Bus.Token != "" && c.Bus.NKeySeed != "" {
		bad("bus.nkey_seed", "give bus.token or bus.nkey_seed, not both")
	}
	if (c.Bus.TLS.Cert == "") != (c.Bus.TLS.Key == "") {
		bad("bus.tls", "cert and key go together")
	}
	for i, a := range c.Detect.Accounts {
		if !accountID.MatchString(a) {
			bad(fmt.Sprintf("detect.accounts.%d", i), "%q: want a 12-digit AWS account id", a)
		}
	}
	for i, o := range c.Detect.OrgIDs {
		if !orgID.MatchString(o) {
			bad(fmt.Sprintf("detect.org_ids.%d", i), "%q: want an organization id (o-…)", o)
		}
	}
	if c.Bus.Partitions < 0 || c.Bus.Partitions > 4096 {
		bad("bus.partitions", "want 1 to 4096")
	}
	if c.Bus.Workers < 0 || c.Bus.Workers > 4096 {
		bad("bus.workers", "want 1 to 4096")
	}
	if c.Bus.Worker < 0 || c.Bus.Workers > 0 && c.Bus.Worker >= c.Bus.Workers || c.Bus.Workers == 0 && c.Bus.Worker > 0 {
		bad("bus.worker", "want 0 to workers-1")
	}
	if c.Bus.Workers > 1 && c.Bus.Enabled() && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		bad("db", "several workers share a PostgreSQL store (postgres://…), not a SQLite file")
	}
	for i, f := range c.Sources.Folders {
		if f.Path == "" {
			bad(fmt.Sprintf("sources.folders.%d.path", i), "a folder needs a path")
		}
	}
	for i, x := range c.Intel.TAXII {
		if !strings.HasPrefix(x.Collection, "https://") && !strings.HasPrefix(x.Collection, "http://") {
			bad(fmt.Sprintf("intel.taxii.%d.collection", i), "want the collection's URL")
		}
		if x.Password != "" && !strings.HasPrefix(x.Password, "env:") && !strings.HasPrefix(x.Password, "file:") {
			bad(fmt.Sprintf("intel.taxii.%d.password", i), "a secret is given as env:NAME or file:PATH, never in the file")
		}
		if x.MaxObjects < 0 || x.MaxTotalObjects < 0 {
			bad(fmt.Sprintf("intel.taxii.%d", i), "max_objects and max_total_objects must be positive")
		}
	}
	if c.SecurityHub.Export && !accountID.MatchString(c.SecurityHub.Account) {
		bad("securityhub.account", "exporting needs the hub's 12-digit account id")
	}
	if c.SecurityHub.URL != "" && !strings.HasPrefix(c.SecurityHub.URL, "https://") && !strings.HasPrefix(c.SecurityHub.URL, "http://") {
		bad("securityhub.url", "want Parapet's URL (https://…)")
	}
	for i, q := range c.Sources.S3SQS {
		if !strings.HasPrefix(q.QueueURL, "https://") && !strings.HasPrefix(q.QueueURL, "http://") {
			bad(fmt.Sprintf("sources.s3sqs.%d.queue_url", i), "want the queue's URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)")
		}
		if q.RoleARN != "" && !roleARN.MatchString(q.RoleARN) {
			bad(fmt.Sprintf("sources.s3sqs.%d.role_arn", i), "%q: want a role ARN (arn:aws:iam::ACCOUNT:role/NAME)", q.RoleARN)
		}
		if q.Account != "" {
			switch {
			case !accountID.MatchString(q.Account):
				bad(fmt.Sprintf("sources.s3sqs.%d.account", i), "%q is not a 12-digit account id", q.Account)
			case q.RoleARN != "":
				bad(fmt.Sprintf("sources.s3sqs.%d", i), "a role_arn or an account, not both")
			case !c.Organization.Enabled():
				bad(fmt.Sprintf("sources.s3sqs.%d.account", i), "an account names the role assumed in it through organization.role, which is not set: give role_arn")
			}
		}
		if q.ExternalID != "" {
			if q.RoleARN == "" && q.Account == "" {
				bad(fmt.Sprintf("sources.s3sqs.%d.external_id", i), "an ExternalId without a role to assume (role_arn)")
			}
			if len(q.ExternalID) < 2 || len(q.ExternalID) > 1224 {
				bad(fmt.Sprintf("sources.s3sqs.%d.external_id", i), "want 2 to 1224 characters")
			}
		}
	}
	if c.Audit.AnchorKey != "" && !strings.HasPrefix(c.Audit.AnchorKey, "env:") && !strings.HasPrefix(c.Audit.AnchorKey, "file:") {
		bad("audit.anchor_key", "a secret is given as env:NAME or file:PATH, never in the file")
	}
	if c.Audit.AnchorEvery < 0 {
		bad("audit.anchor_every", "must be positive")
	}
	if c.Detect.AggregateWindow < 0 {
		bad("detect.aggregate_window", "must be positive")
	}
	if c.Detect.UEBA.Threshold < 0 || c.Detect.UEBA.MinRaw < 0 {
		bad("detect.ueba", "threshold and min_raw must be positive")
	}
	if c.Auth.LoginFailures < 0 {
		bad("auth.login_failures", "must be positive")
	}
	for i, p := range c.Auth.TrustedProxies {
		if _, err := ParsePrefix(p); err != nil {
			bad(fmt.Sprintf("auth.trusted_proxies.%d", i), "%q is not a CIDR (10.0.0.0/8) or an address", p)
		}
	}
	if c.Metrics.Token != "" && !strings.HasPrefix(c.Metrics.Token, "env:") && !strings.HasPrefix(c.Metrics.Token, "file:") {
		bad("metrics.token", "a secret is given as env:NAME or file:PATH, never in the file")
	}
	switch c.Metrics.Role {
	case "", "viewer", "analyst", "approver", "admin":
	default:
		bad("metrics.role", "%q: want viewer, analyst, approver or admin", c.Metrics.Role)
	}
	if c.Metrics.Token != "" && c.Metrics.Role != "" {
		bad("metrics", "a scrape token or a role, not both")
	}
	c.Lake.check(bad)
	c.Organization.check(bad)
	checkFilter("respond.protect_accounts", c.Respond.ProtectAccounts, bad)
	for i, cs := range c.Posture.CheckScopes {
		at := fmt.Sprintf("posture.check_scopes.%d", i)
		checkFilter(at+".scope", OrgFilter{Accounts: cs.Scope.Accounts, OUs: cs.Scope.OUs, Tags: cs.Scope.Tags}, bad)
		checkFilter(at+".scope.exclude", cs.Scope.Exclude, bad)
		if len(cs.Disable)+len(cs.Only) == 0 {
			bad(at, "want disable or only")
		}
	}
	return errs
}

// Redacted is a copy of the configuration safe to show (GET /v1/config,
// config validate): every URL that can carry credentials (the store, the
// bus, TAXII collections) goes through redact.URL; secrets themselves are
// only ever env:/file: references.
func (c *Config) Redacted() Config {
	out := *c
	out.DB = redact.URL(c.DB)
	out.Bus.NATS = redact.URL(c.Bus.NATS)
	out.Intel.TAXII = append([]TAXII(nil), c.Intel.TAXII...)
	for i := range out.Intel.TAXII {
		out.Intel.TAXII[i].Collection = redact.URL(out.Intel.TAXII[i].Collection)
	}
	return out
}

// ParsePrefix reads a CIDR, or one address as the prefix of just it.
func ParsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// ReadSecret reads a secret reference: env:NAME or file:PATH ("" stays
// ""). The value is never logged.
func ReadSecret(ref string) (string, error) {
	switch {
	case ref == "":
		return "", nil
	case strings.HasPrefix(ref, "env:"):
		v := os.Getenv(strings.TrimPrefix(ref, "env:"))
		if v == "" {
			return "", fmt.Errorf("%s is not set", ref)
		}
		return v, nil
	case strings.HasPrefix(ref, "file:"):
		b, err := os.ReadFile(strings.TrimPrefix(ref, "file:"))
		if err != nil {
			return "", err
		}
		if v := strings.TrimSpace(string(b)); v != "" {
			return v, nil
		}
		return "", fmt.Errorf("%s is empty", ref)
	}
	return "", errors.New("want env:NAME or file:PATH")
}

// loopback says whether a listen host is reachable only from this
// machine (an empty host is loopback: the embedded server listens on
// 127.0.0.1 then).
func loopback(host string) bool {
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// line finds the line of a dotted path in the document (the closest
// ancestor that exists; 1 when none).
func line(root *yaml.Node, path string) int {
	n := root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	best := 1
	for _, part := range strings.Split(path, ".") {
		if n == nil {
			break
		}
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == part {
					best = n.Content[i].Line
					next = n.Content[i+1]
				}
			}
		case yaml.SequenceNode:
			var idx int
			if _, err := fmt.Sscanf(part, "%d", &idx); err == nil && idx < len(n.Content) {
				next = n.Content[idx]
				best = next.Line
			}
		}
		n = next
	}
	return best
}

// Schema is the file's JSON Schema (draft 2020-12), derived from the
// types, so that it never drifts from what Load accepts.
func Schema() map[string]any {
	s := schemaOf(reflect.TypeOf(Config{}))
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = "https://github.com/parapet-sec/parapet/config.schema.json"
	s["title"] = "parapet serve configuration"
	return s
}

var (
	durationType = reflect.TypeOf(Duration(0))
	sizeType     = reflect.TypeOf(ByteSize(0))
)

func schemaOf(t reflect.Type) map[string]any {
	switch {
	case t == durationType:
		return map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`}
	case t == sizeType:
		return map[string]any{"type": []any{"integer", "string"}, "pattern": `^[0-9]+(KiB|MiB|GiB)?$`, "minimum": 1}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float64:
		return map[string]any{"type": "number", "minimum": 0}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		for i := range t.NumField() {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if name == "" || name == "-" {
				continue
			}
			p := schemaOf(f.Type)
			if d := f.Tag.Get("doc"); d != "" {
				p["description"] = d
			}
			props[name] = p
		}
		return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	}
	return map[string]any{}
}

var (
	accountID = regexp.MustCompile(`^[0-9]{12}$`)
	orgID     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	roleARN   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
)
