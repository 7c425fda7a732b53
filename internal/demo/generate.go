// Package demo synthesizes, deterministically from a seed, several days of
// a small organization's CloudTrail and VPC Flow Logs, laid out as AWS
// delivers them to S3, with attack stories embedded in the background and
// their ground truth written to a labels file.
package demo

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config says what to generate.
type Config struct {
	Dir   string    // output folder
	Seed  uint64    // same seed, same bytes
	Days  int       // default 7; the stories need at least 5
	Start time.Time // default Monday 2026-11-02 00:00 UTC
}

// Label ties one generated record to the story it belongs to.
// The evaluation set's labels say more about their story (the demo's
// leave these empty): its kind, how many whole days of its account's
// history came before its first event, the attacker's identity (see
// Identity*) and the account.
type Label struct {
	EventID     string `json:"event_id"`
	Story       string `json:"story"`
	Kind        string `json:"kind,omitempty"`
	HistoryDays int    `json:"history_days,omitempty"`
	Identity    string `json:"identity,omitempty"`
	Account     string `json:"account,omitempty"`
	// Attack names the attack a story is one stage of, when the story
	// continues another (empty: the story is an attack of its own).
	Attack string `json:"attack,omitempty"`
}

// label records a label, with the demo story's attack.
func (g *gen) label(l Label) {
	if !g.eval {
		for _, s := range Stories {
			if s.Name == l.Story {
				l.Attack = s.Attack
			}
		}
	}
	g.labels = append(g.labels, l)
}

// AttackOf is the attack a label's story belongs to.
func (l Label) AttackOf() string {
	if l.Attack != "" {
		return l.Attack
	}
	return l.Story
}

// Result describes what was written.
type Result struct {
	CloudTrailFiles int
	FlowFiles       int
	Records         int // CloudTrail records
	Flows           int // flow log records
	Duplicates      int // records delivered a second time (the evaluation set's)
	Labels          []Label
	LabelsPath      string
	// RangesPath is the demo's own address ranges, in AWS's ip-ranges.json
	// format: what parapet detect --cloud-ranges reads.
	RangesPath string
	// GeoPath is a MaxMind DB placing the demo's addresses (City and ASN
	// fields in one file): what --geoip and --asn read.
	GeoPath    string
	Start, End time.Time
}

// Stories are the attack stories, in the order they happen. Attack,
// when set, is the attack a story continues: the demo's cryptomining is
// done with the key the key compromise minted, from the same address, so
// the two stories are one attack (and should be one incident).
var Stories = []struct{ Name, Summary, Attack string }{
	{"ssh-open", "SSH opened to 0.0.0.0/0 on the web security group, then accepted SSH from internet scanners", ""},
	{"public-bucket", "finance user who never manages S3 signs in from a new IP and makes a bucket policy public", ""},
	{"key-compromise", "a developer's access key used from a new ASN after hours: IAM enumeration, then a new key for another user", ""},
	{"cryptomining", "with the key the compromise minted for erin, GPU instances launched in several regions; they talk to mining pools", "key-compromise"},
	{"instance-credentials", "the app instance's role credentials, taken through its metadata service, used from a server outside AWS", ""},
	{"exfiltration", "bulk GetObject from the customer-data bucket by an instance role, then a large outbound transfer", ""},
	{"policy-version", "the CI role, from an address it never used, writes a new default version of its own policy: step 1 of its path to admin", ""},
}

type instance struct {
	id, eni, ip, public, subnet, sg, name string
}

type record struct {
	t    time.Time
	id   string
	body []byte
}

type fileKey struct {
	account, region string
	hour            int64 // unix hour
}

type gen struct {
	cfg       Config
	rng       *rand.Rand
	personas  []*persona
	instances []instance
	trail     map[fileKey][]record
	flows     map[fileKey][]record
	labels    []Label
	noFlows   bool
	// eval marks the evaluation set: read-only KMS and STS calls, the
	// labels' story facts, duplicate and late deliveries.
	eval       bool
	storyInfo  map[string]Label     // story → its kind, history, identity, account
	firstSeen  map[string]time.Time // account → its first event's time
	storyFirst map[string]time.Time // story → its first event's time
}

// Generate writes the demo data set into cfg.Dir.
func Generate(cfg Config) (Result, error) {
	if cfg.Days == 0 {
		cfg.Days = 7
	}
	if cfg.Days < 5 {
		return Result{}, fmt.Errorf("demo: need at least 5 days for the stories, got %d", cfg.Days)
	}
	if cfg.Start.IsZero() {
		cfg.Start = defaultStart
	}
	g := &gen{
		cfg:   cfg,
		rng:   rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		trail: map[fileKey][]record{},
		flows: map[fileKey][]record{},
		instances: []instance{
			{id: "i-0a1f2e3d4c5b60001", eni: "eni-0a1f2e3d4c5b60001", ip: "10.20.1.11", public: "54.210.33.10", subnet: "subnet-0pub1", sg: "sg-0web0000000000001", name: "web-1"},
			{id: "i-0a1f2e3d4c5b60002", eni: "eni-0a1f2e3d4c5b60002", ip: "10.20.1.12", public: "54.210.33.11", subnet: "subnet-0pub1", sg: "sg-0web0000000000001", name: "web-2"},
			{id: "i-0a1f2e3d4c5b60003", eni: "eni-0a1f2e3d4c5b60003", ip: "10.20.2.21", subnet: "subnet-0app1", sg: "sg-0app0000000000002", name: "app-1"},
			{id: "i-0a1f2e3d4c5b60004", eni: "eni-0a1f2e3d4c5b60004", ip: "10.20.2.22", subnet: "subnet-0app1", sg: "sg-0app0000000000002", name: "app-2"},
		},
	}
	if err := prepare(cfg.Dir); err != nil {
		return Result{}, err
	}
	if _, err := WriteIAM(cfg.Dir); err != nil {
		return Result{}, err
	}
	g.personas = personas()
	g.background()
	g.stories()
	return g.write()
}

// marker names a folder the demo made, so that it may empty it again.
const marker = ".parapet-demo"

// prepare makes dir ready: created if missing, emptied of an earlier demo,
// and refused if it holds anything else.
func prepare(dir string) error {
	if dir == "" {
		return fmt.Errorf("demo: no output folder")
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, marker)); err != nil {
			return fmt.Errorf("demo: %s is not empty and was not made by parapet demo: choose another --dir", dir)
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, marker), []byte("made by parapet demo; the folder is emptied on the next run\n"), 0o644)
}

func itoa(n int) string { return strconv.Itoa(n) }

func (g *gen) uuid() string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(g.rng.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (g *gen) upper(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// poisson draws a count with mean m.
func (g *gen) poisson(m float64) int {
	if m <= 0 {
		return 0
	}
	if m > 50 {
		return max(0, int(math.Round(m+math.Sqrt(m)*g.rng.NormFloat64())))
	}
	l, k, p := math.Exp(-m), 0, 1.0
	for {
		p *= g.rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func pick[T any](g *gen, xs []T) T { return xs[g.rng.IntN(len(xs))] }

// background simulates the ordinary weeks: people at work in their time
// zones, CI during the day, services around the clock.
func (g *gen) background() {
	for h := 0; h < g.cfg.Days*24; h++ {
		hour := g.cfg.Start.Add(time.Duration(h) * time.Hour)
		day := h / 24
		for _, p := range g.personas {
			if day < p.startDay || h < p.fromHour || (p.untilHour > 0 && h >= p.untilHour) {
				continue
			}
			local := hour.Add(time.Duration(p.tz) * time.Hour)
			lh := local.Hour()
			weekend := local.Weekday() == time.Saturday || local.Weekday() == time.Sunday
			var mean float64
			switch {
			case p.always:
				// busier in the (European and American) day
				mean = p.perHour * (0.6 + 0.5*math.Sin(float64(hour.Hour()-6)*math.Pi/12))
				if weekend {
					mean *= 0.5
				}
			case weekend && !p.weekends:
				continue
			case lh < p.start || lh >= p.end:
				continue
			default:
				mean = p.perHour
				if lh == 12 || lh == 13 {
					mean *= 0.5 // lunch
				}
			}
			if p.busyDay > 0 && day == p.busyDay-1 {
				mean *= 5
			}
			ips := p.ips
			if p.travelIPs != nil && day >= p.travelFrom && day < p.travelTo {
				ips = p.travelIPs
			}
			if p.console && lh == p.start {
				g.consoleLogin(p, hour.Add(time.Duration(g.rng.IntN(900))*time.Second), pick(g, ips), true, "")
			}
			if p.role == "ci-deploy" {
				g.assumeWebIdentity(p, hour.Add(time.Duration(g.rng.IntN(300))*time.Second))
			}
			for range g.poisson(mean) {
				t := hour.Add(time.Duration(g.rng.IntN(3600)) * time.Second)
				c := g.choose(p.calls)
				region := regions[p.region[0]]
				if len(p.region) > 1 && g.rng.IntN(5) == 0 {
					region = regions[pick(g, p.region[1:])]
				}
				var params map[string]any
				if c.params != nil {
					params = c.params(g, p)
				}
				ev := g.call(p, t, region, c.service, c.op, params)
				if p.travelIPs != nil && day >= p.travelFrom && day < p.travelTo {
					ev.ip = pick(g, ips)
				}
				ev.data = c.data
				if !p.always && p.kind == "IAMUser" && g.rng.IntN(120) == 0 {
					ev.errorCode, ev.errorMessage = "AccessDenied", "User: "+g.arn(p)+" is not authorized to perform: "+c.service+":"+c.op
				}
				g.emit(ev, "")
			}
		}
		if !g.noFlows {
			g.backgroundFlows(hour)
		}
	}
}

func (g *gen) choose(calls []call) call {
	total := 0
	for _, c := range calls {
		total += c.weight
	}
	n := g.rng.IntN(total)
	for _, c := range calls {
		if n < c.weight {
			return c
		}
		n -= c.weight
	}
	return calls[len(calls)-1]
}

// ctEvent is one CloudTrail record under construction.
type ctEvent struct {
	p                       *persona
	t                       time.Time
	region, service, op, ip string
	agent                   string
	params, response, addl  map[string]any
	errorCode, errorMessage string
	data                    bool
	keyID                   string // overrides the persona's key
	sessionName             string
	mfa                     bool
	resources               []map[string]any
	eventType               string
	invokedBy               string // an AWS service calling on the principal's behalf
	sessionCreated          time.Time
}

func (g *gen) arn(p *persona) string {
	switch p.kind {
	case "AssumedRole":
		return "arn:aws:sts::" + p.account + ":assumed-role/" + p.role + "/"
	case "AWSService":
		return ""
	case "Root":
		return "arn:aws:iam::" + p.account + ":root"
	}
	return "arn:aws:iam::" + p.account + ":user/" + p.name
}

func (g *gen) call(p *persona, t time.Time, region, service, op string, params map[string]any) *ctEvent {
	return &ctEvent{p: p, t: t, region: region, service: service, op: op, params: params, ip: pick(g, p.ips), agent: pick(g, p.agents)}
}

// principal ids are stable per persona.
func principalID(prefix, name string) string {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	return prefix + fmt.Sprintf("%016X", h)
}

var readPrefixes = []string{"Get", "List", "Describe", "Head", "Lookup", "Filter", "BatchGet", "Scan", "Query"}

// readOnlyToo are calls CloudTrail marks read-only whose names do not
// say so (the evaluation set's; the demo keeps its week as it was).
var readOnlyToo = map[string]bool{
	"kms:Decrypt": true, "kms:GenerateDataKey": true, "kms:GenerateDataKeyWithoutPlaintext": true,
	"sts:AssumeRole": true, "sts:AssumeRoleWithWebIdentity": true,
}

func readOnly(op string) bool {
	for _, p := range readPrefixes {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// emit renders ev as a CloudTrail record, files it by account, region and
// hour, and labels it with story when story is not empty.
func (g *gen) emit(ev *ctEvent, story string) string {
	p := ev.p
	source := ev.service + ".amazonaws.com"
	if ev.service == "sts" || ev.service == "iam" || ev.service == "signin" {
		if ev.service == "iam" {
			ev.region = "us-east-1" // IAM is global and logs in us-east-1
		}
	}
	id := g.uuid()
	ui := userIdentity{AccountID: p.account}
	switch p.kind {
	case "IAMUser":
		ui.Type = "IAMUser"
		ui.PrincipalID = principalID("AIDA", p.name)
		ui.ARN = g.arn(p)
		ui.UserName = p.name
		ui.AccessKeyID = p.keyID
		if ev.keyID != "" {
			ui.AccessKeyID = ev.keyID
		}
		if ev.agent == browser || ui.AccessKeyID == "" {
			// console session credentials
			ui.AccessKeyID = "ASIA" + g.upper(16)
			ui.SessionContext = &sessionContext{Attributes: sessionAttrs{CreationDate: ev.t.Add(-time.Duration(g.rng.IntN(3000)) * time.Second).Format(time.RFC3339), MFAAuthenticated: "true"}}
			ev.agent = browser
		}
	case "Root":
		ui.Type = "Root"
		ui.PrincipalID = p.account
		ui.ARN = g.arn(p)
		if ev.op != "ConsoleLogin" {
			// the console's session credentials, one set per sign-in
			created := ev.sessionCreated
			if created.IsZero() {
				created = ev.t.Add(-10 * time.Minute)
			}
			ui.AccessKeyID = "ASIA" + principalID("", p.account+created.String())
			ui.SessionContext = &sessionContext{Attributes: sessionAttrs{CreationDate: created.UTC().Format(time.RFC3339), MFAAuthenticated: "true"}}
		}
	case "AssumedRole":
		session := ev.sessionName
		if session == "" && p.session != "" {
			session = p.session
		}
		if session == "" {
			session = p.role + "-" + strconv.Itoa(int(ev.t.Unix()/3600)%9000+1000)
			if p.role == "ec2-app" {
				session = g.instances[2+int(ev.t.Unix()/3600)%2].id
			}
		}
		ui.Type = "AssumedRole"
		ui.PrincipalID = principalID("AROA", p.role) + ":" + session
		ui.ARN = g.arn(p) + session
		ui.AccessKeyID = "ASIA" + principalID("", p.role+session)
		ui.SessionContext = &sessionContext{
			SessionIssuer: &sessionIssuer{Type: "Role", PrincipalID: principalID("AROA", p.role), ARN: "arn:aws:iam::" + p.account + ":role/" + p.rolePath + p.role, AccountID: p.account, UserName: p.role},
			Attributes:    sessionAttrs{CreationDate: ev.t.Truncate(time.Hour).Format(time.RFC3339), MFAAuthenticated: "false"},
		}
		if p.role == "ec2-app" {
			ui.SessionContext.EC2RoleDelivery = "2.0" // from the instance metadata service (IMDSv2)
		}
	case "AWSService":
		ui = userIdentity{Type: "AWSService", InvokedBy: p.name}
	}
	if by := cmp.Or(ev.invokedBy, p.invokedBy); by != "" && p.kind != "AWSService" {
		ui.InvokedBy = by
	}
	r := ctRecord{
		EventVersion:       "1.09",
		UserIdentity:       ui,
		EventTime:          ev.t.UTC().Format("2006-01-02T15:04:05Z"),
		EventSource:        source,
		EventName:          ev.op,
		AWSRegion:          ev.region,
		SourceIPAddress:    ev.ip,
		UserAgent:          ev.agent,
		ErrorCode:          ev.errorCode,
		ErrorMessage:       ev.errorMessage,
		RequestParameters:  ev.params,
		ResponseElements:   ev.response,
		AdditionalData:     ev.addl,
		RequestID:          strings.ToUpper(g.uuid()[:18]),
		EventID:            id,
		ReadOnly:           readOnly(ev.op) || g.eval && readOnlyToo[ev.service+":"+ev.op],
		Resources:          ev.resources,
		EventType:          "AwsApiCall",
		ManagementEvent:    !ev.data,
		RecipientAccountID: p.account,
		EventCategory:      "Management",
	}
	if ev.eventType != "" {
		r.EventType = ev.eventType
	}
	if ev.data {
		r.EventCategory = "Data"
		if b, ok := ev.params["bucketName"].(string); ok {
			objARN := "arn:aws:s3:::" + b
			if k, ok := ev.params["key"].(string); ok {
				r.Resources = append(r.Resources, map[string]any{"type": "AWS::S3::Object", "ARN": objARN + "/" + k})
			}
			r.Resources = append(r.Resources, map[string]any{"accountId": p.account, "type": "AWS::S3::Bucket", "ARN": objARN})
		}
	}
	if ev.agent != consoleAgent && !strings.HasSuffix(ev.ip, ".amazonaws.com") {
		r.TLSDetails = map[string]any{"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": ev.service + "." + ev.region + ".amazonaws.com"}
	}
	body, err := json.Marshal(r)
	if err != nil {
		panic(err) // only our own maps of strings and numbers reach here
	}
	k := fileKey{account: p.account, region: ev.region, hour: ev.t.Unix() / 3600}
	g.trail[k] = append(g.trail[k], record{t: ev.t, id: id, body: body})
	if g.firstSeen != nil {
		if f, ok := g.firstSeen[p.account]; !ok || ev.t.Before(f) {
			g.firstSeen[p.account] = ev.t
		}
	}
	if story != "" {
		if f, ok := g.storyFirst[story]; g.storyFirst != nil && (!ok || ev.t.Before(f)) {
			g.storyFirst[story] = ev.t
		}
		l := g.storyInfo[story]
		l.EventID, l.Story = id, story
		g.label(l)
	}
	return id
}

type ctRecord struct {
	EventVersion       string           `json:"eventVersion"`
	UserIdentity       userIdentity     `json:"userIdentity"`
	EventTime          string           `json:"eventTime"`
	EventSource        string           `json:"eventSource"`
	EventName          string           `json:"eventName"`
	AWSRegion          string           `json:"awsRegion"`
	SourceIPAddress    string           `json:"sourceIPAddress"`
	UserAgent          string           `json:"userAgent"`
	ErrorCode          string           `json:"errorCode,omitempty"`
	ErrorMessage       string           `json:"errorMessage,omitempty"`
	RequestParameters  map[string]any   `json:"requestParameters"`
	ResponseElements   map[string]any   `json:"responseElements"`
	AdditionalData     map[string]any   `json:"additionalEventData,omitempty"`
	RequestID          string           `json:"requestID"`
	EventID            string           `json:"eventID"`
	ReadOnly           bool             `json:"readOnly"`
	Resources          []map[string]any `json:"resources,omitempty"`
	EventType          string           `json:"eventType"`
	ManagementEvent    bool             `json:"managementEvent"`
	RecipientAccountID string           `json:"recipientAccountId"`
	EventCategory      string           `json:"eventCategory"`
	TLSDetails         map[string]any   `json:"tlsDetails,omitempty"`
}

type userIdentity struct {
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId,omitempty"`
	ARN            string          `json:"arn,omitempty"`
	AccountID      string          `json:"accountId,omitempty"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	UserName       string          `json:"userName,omitempty"`
	SessionContext *sessionContext `json:"sessionContext,omitempty"`
	InvokedBy      string          `json:"invokedBy,omitempty"`
}

type sessionContext struct {
	SessionIssuer   *sessionIssuer `json:"sessionIssuer,omitempty"`
	Attributes      sessionAttrs   `json:"attributes"`
	EC2RoleDelivery string         `json:"ec2RoleDelivery,omitempty"`
}

type sessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

type sessionAttrs struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

func (g *gen) consoleLogin(p *persona, t time.Time, ip string, mfa bool, story string) string {
	used := "Yes"
	if !mfa {
		used = "No"
	}
	ev := &ctEvent{p: p, t: t, region: "us-east-1", service: "signin", op: "ConsoleLogin", ip: ip, agent: browser,
		response:  map[string]any{"ConsoleLogin": "Success"},
		addl:      map[string]any{"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": used},
		eventType: "AwsConsoleSignIn"}
	return g.emitConsole(ev, story)
}

// emitConsole writes a sign-in: the identity carries no access key.
func (g *gen) emitConsole(ev *ctEvent, story string) string {
	saved := ev.p.keyID
	ev.p.keyID = ""
	defer func() { ev.p.keyID = saved }()
	return g.emit(ev, story)
}

func (g *gen) assumeWebIdentity(p *persona, t time.Time) {
	svc := &persona{name: "sts.amazonaws.com", kind: "AWSService", account: p.account}
	ev := &ctEvent{p: svc, t: t, region: "us-east-1", service: "sts", op: "AssumeRoleWithWebIdentity", ip: pick(g, p.ips), agent: ghAgent,
		params:    map[string]any{"roleArn": "arn:aws:iam::" + p.account + ":role/" + p.role, "roleSessionName": "GitHubActions", "durationSeconds": 3600},
		resources: []map[string]any{{"accountId": p.account, "type": "AWS::IAM::Role", "ARN": "arn:aws:iam::" + p.account + ":role/" + p.role}}}
	ev.eventType = "AwsApiCall"
	g.emit(ev, "")
}

// logFile is one file to write: its path, delivery time and records.
type logFile struct {
	path      string
	delivered time.Time
	header    string // flow logs' header line; empty for CloudTrail
	recs      []record
}

// write lays the records out as S3 delivery does and writes the labels.
// In the evaluation set, as in real buckets, a few files arrive hours late
// (a file named later holds older records than the files before it) and a
// few are delivered twice (the same records in two files).
func (g *gen) write() (Result, error) {
	res := Result{Start: g.cfg.Start, End: g.cfg.Start.Add(time.Duration(g.cfg.Days) * 24 * time.Hour)}
	var files []logFile
	trailPath := func(k fileKey, t time.Time) string {
		return filepath.Join(g.cfg.Dir, "AWSLogs", k.account, "CloudTrail", k.region, t.Format("2006/01/02"),
			fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", k.account, k.region, t.Format("20060102T1504Z"), g.upper(16)))
	}
	for _, k := range sortedKeys(g.trail) {
		recs := g.trail[k]
		slices.SortStableFunc(recs, func(a, b record) int { return a.t.Compare(b.t) })
		t := time.Unix(k.hour*3600, 0).UTC().Add(55 * time.Minute)
		if g.eval && g.rng.IntN(100) == 0 {
			// delivered late, after the next hours' files
			t = t.Add(time.Duration(2+g.rng.IntN(4))*time.Hour + time.Duration(g.rng.IntN(50))*time.Minute)
		}
		files = append(files, logFile{path: trailPath(k, t), delivered: t, recs: recs})
		res.CloudTrailFiles++
		res.Records += len(recs)
		if g.eval && g.rng.IntN(200) == 0 {
			// delivered again
			t2 := t.Add(time.Duration(5+g.rng.IntN(40)) * time.Minute)
			files = append(files, logFile{path: trailPath(k, t2), delivered: t2, recs: recs})
			res.CloudTrailFiles++
			res.Duplicates += len(recs)
		}
	}
	for _, k := range sortedKeys(g.flows) {
		recs := g.flows[k]
		slices.SortStableFunc(recs, func(a, b record) int { return a.t.Compare(b.t) })
		t := time.Unix(k.hour*3600, 0).UTC().Add(time.Hour)
		path := filepath.Join(g.cfg.Dir, "AWSLogs", k.account, "vpcflowlogs", k.region, t.Format("2006/01/02"),
			fmt.Sprintf("%s_vpcflowlogs_%s_fl-0d3m0f10wl0g5_%s_%s.log.gz", k.account, k.region, t.Format("20060102T1504Z"), strings.ToLower(g.upper(8))))
		files = append(files, logFile{path: path, delivered: t, header: flowHeader, recs: recs})
		res.FlowFiles++
		res.Flows += len(recs)
	}
	if err := writeFiles(files); err != nil {
		return res, err
	}
	if g.eval {
		g.storyHistory()
	}
	var lb bytes.Buffer
	for _, l := range g.labels {
		b, _ := json.Marshal(l)
		lb.Write(b)
		lb.WriteByte('\n')
	}
	geo, err := geoDB()
	if err != nil {
		return res, err
	}
	res.GeoPath = filepath.Join(g.cfg.Dir, "geo.mmdb")
	if err := os.WriteFile(res.GeoPath, geo, 0o644); err != nil {
		return res, err
	}
	res.RangesPath = filepath.Join(g.cfg.Dir, "ip-ranges.json")
	if err := os.WriteFile(res.RangesPath, ipRanges(), 0o644); err != nil {
		return res, err
	}
	res.LabelsPath = filepath.Join(g.cfg.Dir, "labels.jsonl")
	res.Labels = g.labels
	return res, os.WriteFile(res.LabelsPath, lb.Bytes(), 0o644)
}

// writeFiles writes the log files, gzipped, on a few goroutines (each
// file's bytes depend only on its records), each with its delivery time
// (the time in its name) as its modification time, as S3's LastModified
// (which aws s3 sync keeps): a watched folder then reads the days in the
// order they were delivered. A delivery still to come keeps the time of
// writing.
func writeFiles(files []logFile) error {
	now := time.Now()
	workers := min(4, max(1, runtime.GOMAXPROCS(0)))
	next := make(chan int)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body, out bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed)
			for i := range next {
				if errs[w] != nil {
					continue
				}
				f := &files[i]
				body.Reset()
				if f.header == "" {
					body.WriteString(`{"Records":[`)
					for i, r := range f.recs {
						if i > 0 {
							body.WriteByte(',')
						}
						body.Write(r.body)
					}
					body.WriteString("]}")
				} else {
					body.WriteString(f.header + "\n")
					for _, r := range f.recs {
						body.Write(r.body)
						body.WriteByte('\n')
					}
				}
				out.Reset()
				zw.Reset(&out)
				zw.Write(body.Bytes())
				if err := zw.Close(); err != nil {
					errs[w] = err
					continue
				}
				errs[w] = writeFile(f.path, f.delivered, now, out.Bytes())
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

func writeFile(path string, delivered, now time.Time, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	if delivered.After(now) {
		return nil
	}
	return os.Chtimes(path, delivered, delivered)
}

func sortedKeys(m map[fileKey][]record) []fileKey {
	keys := make([]fileKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b fileKey) int {
		if c := strings.Compare(a.account, b.account); c != 0 {
			return c
		}
		if c := strings.Compare(a.region, b.region); c != 0 {
			return c
		}
		return int(a.hour - b.hour)
	})
	return keys
}

// awsPrefixes are the addresses the demo's AWS workloads use (EC2 in
// us-east-1, Lambda), as AWS would publish them.
var awsPrefixes = []struct{ prefix, service string }{
	{"54.210.0.0/15", "EC2"},
	{"3.80.0.0/12", "EC2"},
	{"34.224.0.0/12", "EC2"},
	{"52.0.0.0/15", "AMAZON"},
	{"52.216.0.0/15", "S3"},
}

// ipRanges renders awsPrefixes in the format of AWS's ip-ranges.json.
func ipRanges() []byte {
	type prefix struct {
		IPPrefix string `json:"ip_prefix"`
		Region   string `json:"region"`
		Service  string `json:"service"`
		Border   string `json:"network_border_group"`
	}
	doc := struct {
		SyncToken    string   `json:"syncToken"`
		CreateDate   string   `json:"createDate"`
		Prefixes     []prefix `json:"prefixes"`
		IPv6Prefixes []any    `json:"ipv6_prefixes"`
	}{SyncToken: "1", CreateDate: "2026-11-01-00-00-00", IPv6Prefixes: []any{}}
	for _, p := range awsPrefixes {
		doc.Prefixes = append(doc.Prefixes, prefix{p.prefix, "us-east-1", p.service, "us-east-1"})
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return append(b, '\n')
}
