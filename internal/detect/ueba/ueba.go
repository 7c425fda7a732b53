// Package ueba learns, from the event stream, how each identity behaves and
// scores what departs from it, with every score explained.
//
// Entities are principals (an IAM user; a role, keyed by role ARN, its
// sessions folded in; root; a federated user; an AWS service), long-term
// access keys, source addresses and accounts. A principal's peers are the
// principals of the same identity type in its account.
//
// Each event is scored before it is learned. Categorical features (API,
// service, network, country, client, region, resource, API transition)
// are scored by how rare the value is under the principal's history,
// smoothed towards its peers' and its account's (novelty is the case of a
// value never seen); hour of day by the same measure over a smoothed
// 24-hour profile; volume (events, errors, data reads, resource creations
// in the current hour) by the tail probability of an over-dispersed
// Poisson against the principal's hour-of-day baseline; geography by the
// speed between consecutive located sightings. Each factor is -log10 of a
// probability (capped at 4); their sum is the raw score, and the finding's
// score is -log10 of how rare that raw score is among the account's recent
// events, so that a threshold of 4 alerts on about one event in 10,000.
package ueba

import (
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
)

// Config tunes the engine. The zero value takes the defaults.
type Config struct {
	// Warmup is the history, in event time from an account's first
	// event, its baseline needs to be mature (default 7 days); it also
	// needs MatureEvents events. Anomalies in an account whose baseline
	// is immature still make findings, at low severity and marked
	// "baseline: immature" (a short history is no reason to stay silent
	// about a stranger creating keys), and are counted (Stats.Immature).
	Warmup time.Duration
	// MinHistory is the history an account needs before even its
	// immature baseline speaks (default 1 day): in its first hours every
	// principal's every call is new.
	MinHistory time.Duration
	// MatureEvents is the number of events an account's baseline needs
	// besides Warmup to be mature (default 1,000; negative: none).
	MatureEvents int
	// Lateness is how far behind its account's newest event time an
	// event may arrive and still be scored (default 1 hour); later ones
	// are learned and counted, not scored.
	Lateness time.Duration
	// Threshold is the calibrated score at which an event alerts
	// (default 4: about one event in 10,000 of the account's).
	Threshold float64
	// MinRaw is the raw score an event must also reach (default 5): the
	// joint improbability of its factors, so that the quietest account's
	// top events do not alert for being merely its top.
	MinRaw float64
	// SessionGap is the idle time, in its account's event time, that
	// ends a session: one access key's calls (or one assumed-role
	// session's, else one principal's). A session's anomalous calls make
	// one finding, which grows while the session lasts (default 1 hour).
	SessionGap time.Duration
	// Final: the caller writes each finding once, in its final state
	// (parapet detect and eval): Observe returns no finding, and a
	// session's finding is handed out by Closed once the session ends,
	// or by Flush at the end of the input. Otherwise (serve) Observe
	// returns a session's finding each time it opens or grows, under the
	// same id (the caller replaces the one it stored), and ended
	// sessions are forgotten.
	Final bool
	// Trace, when set, receives every scored event's id, raw score,
	// calibrated score and strongest factor, tab-separated: for
	// evaluation and tuning.
	Trace io.Writer
}

func (c *Config) defaults() {
	if c.Warmup == 0 {
		c.Warmup = 7 * 24 * time.Hour
	}
	if c.Lateness == 0 {
		c.Lateness = time.Hour
	}
	if c.MinHistory == 0 {
		c.MinHistory = 24 * time.Hour
	}
	if c.MinHistory > c.Warmup {
		c.MinHistory = c.Warmup
	}
	if c.MatureEvents == 0 {
		c.MatureEvents = 1000
	}
	if c.Threshold == 0 {
		c.Threshold = 4
	}
	if c.MinRaw == 0 {
		c.MinRaw = 5
	}
	if c.SessionGap <= 0 {
		c.SessionGap = sessionGap
	}
}

// Stats counts what the engine did.
type Stats struct {
	Events   int64 // events observed
	Skipped  int64 // events without a principal (flows, findings)
	Late     int64 // events older than the lateness allows: learned, not scored
	Immature int64 // findings downgraded: their account's baseline was immature
	Held     int64 // anomalies held back: an account's first day, or a session with an immature baseline and no high-risk action
	Findings int64 // session findings
	Merged   int64 // anomalies that grew a session's finding after its first
	// Services counts events of AWS service principals and of calls AWS
	// made on a principal's behalf: learned in identity classes of their
	// own, never findings; ServiceAnomalies, those that scored as
	// anomalous (a health signal: a service failing, not a threat).
	Services, ServiceAnomalies                    int64
	Principals, Keys, Addresses, Groups, Accounts int
}

// Engine is the online model. It is not safe for concurrent use: feed it
// events in (about) event-time order from one goroutine.
type Engine struct {
	cfg        Config
	principals map[string]*entity
	keys       map[string]*keyEntity
	ips        map[netip.Addr]*ipEntity
	groups     map[string]*group
	accounts   map[string]*account
	maxT       int64
	stats      Stats
	factors    []factor // scratch
	riskTable  *riskTable
	priors     *priorTable
	priorCache map[uint64]float32 // API hash → global prior share
	gap        int64              // SessionGap in seconds
	open       []*session         // open sessions with an anomaly
	closed     []detect.Finding   // findings of ended sessions, for Closed (Final)
	swept      int64              // the event time of the last sweep of open sessions
}

// New returns an engine with no history.
func New(cfg Config) *Engine {
	cfg.defaults()
	e := &Engine{cfg: cfg, principals: map[string]*entity{}, keys: map[string]*keyEntity{}, ips: map[netip.Addr]*ipEntity{},
		groups: map[string]*group{}, accounts: map[string]*account{}}
	// The shipped table is checked by its tests (TestBuiltinRisk); were it
	// unreadable, the models would run without action risk.
	e.riskTable, _ = builtinRisk()
	// Likewise the priors (TestBuiltinPriors): without them a young
	// account judges alone.
	e.priors, _ = builtinPriors()
	e.priorCache = map[uint64]float32{}
	e.gap = int64(cfg.SessionGap / time.Second)
	return e
}

// Config returns the engine's configuration with defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	s := e.stats
	s.Principals, s.Keys, s.Addresses, s.Groups = len(e.principals), len(e.keys), len(e.ips), len(e.groups)
	for id := range e.accounts {
		if !strings.HasSuffix(id, awsSuffix) {
			s.Accounts++
		}
	}
	return s
}

// Features.
const (
	fAPI = iota
	fService
	fNet
	fCountry
	fClient
	fRegion
	fResource
	fSeq
	nFeat
)

var featNames = [nFeat]string{"API", "service", "network", "country", "client", "region", "resource", "API sequence"}

// Volume metrics.
const (
	mEvents = iota
	mErrors
	mReads
	mCreates
	nMetric
)

var metricNames = [nMetric]string{"calls", "access errors", "data reads", "resource creations"}

type entity struct {
	key, name, kind, group, account string
	first, last                     int64
	n                               uint32
	feats                           [nFeat]sketch
	hours                           [24]uint32
	vol                             [nMetric]volume
	prevOp                          string // the last API, for sequences (copied: never a view of a record)
	prevT                           int64
	loc                             sighting
	sess                            *session // open sessions with an anomaly (not saved)
	burst                           float64  // decayed sum of recent unusual factors
	burstT                          int64
	burstN                          uint32
	// burstA, burstB name the role session (sessionKey) whose calls make
	// the burst: a role's sessions are one principal, and one instance's
	// unusual calls are not another's (empty: a user's, or after a
	// restore, not saved: the burst counts for any session).
	burstA, burstB string
	recent         *recentRing // the last calls since its first denial, for their shape (not saved)
}

// burstOf says which role session a burst's calls were of.
func burstOf(a, b string) string {
	switch {
	case b != "":
		return " in session " + b
	case a != "":
		return " with access key " + a
	}
	return ""
}

// recentRing holds a principal's last calls, from its first denied call
// on (most principals are never denied: they carry no ring).
type recentRing struct {
	calls [nRecent]recentCall
	n     uint32
}

// recentCall is one of a principal's last calls: when, which service and
// API (hashes), and whether it was denied.
type recentCall struct {
	dt       int32 // seconds after the principal's first call
	svc, api uint32
	denied   bool
}

const (
	nRecent      = 16  // calls kept for the shape of denials
	reconWindow  = 600 // seconds
	reconMinDeny = 3   // denied calls in the window before their shape is scored
)

const (
	newIdentityHistory = 1000 // calls an account (a twentieth: a principal) needs for a new principal (key) to be a factor
	newIdentityFactor  = 1.5
	minRisk            = 1.5    // action risk from which a first call is a factor
	burstFactor        = 1.5    // a factor this strong (p ≤ 3%) counts towards a session
	burstTau           = 1200.0 // seconds: a session's sum fades by half in about 14 minutes
)

type sighting struct {
	lat, lon float32
	radius   uint16
	country  string
	t        int64
	ok       bool
}

type volume struct {
	slot         [24]float32 // counts in closed hours, by hour of day
	dow          [7]float32  // and by day of the week (UTC)
	total, sumsq float64     // over closed hours
	bucket       int64       // the open hour (unix hours)
	cur          uint32      // its count
}

type keyEntity struct {
	feats [2]sketch // network, client
}

type ipEntity struct {
	principals sketch
}

type group struct {
	key     string
	list    []*entity // the principals (not saved: rebuilt on load)
	members uint32
	first   int64
	feats   [nFeat]table
	hours   [24]uint32
	n       uint32
	vol     [nMetric]float64
}

type account struct {
	id    string
	first int64
	maxT  int64 // the newest event time seen (not saved: the newest of its principals' on load)
	all   group
	calib calibration
}

// factor is one reason an event scored.
type factor struct {
	model   string // novelty, rarity, volume, time, geography, sequence, session
	feature int    // for categorical factors, -1 otherwise
	score   float64
	text    string // for categorical factors, filled in only for findings
	value   string
	attack  []string
	lv      [3]level // categorical: the principal's, peers' and account's counts
	h       uint64   // categorical: the value's hash
	// For the API: the global prior share, and how much it weighed
	// against the account's short history (0: not at all).
	prior, priorWeight float64
}

// Observe scores ev against what was learned and learns it. When ev is
// anomalous enough it joins its session's finding; unless Config.Final,
// Observe then returns a copy of that finding as it stands (the caller
// owns it), under the id it had when the session's first anomaly opened it.
func (e *Engine) Observe(ev *event.Event) *detect.Finding {
	e.stats.Events++
	key, kind := principalKey(ev)
	if ev.Source != event.SourceCloudTrail || key == "" || ev.Time.IsZero() {
		e.stats.Skipped++
		return nil
	}
	t := ev.Time.Unix()
	e.maxT = max(e.maxT, t)
	acctID := ev.Cloud.Account
	if acctID == "" {
		acctID = ev.Actor.Account
	}
	// AWS service principals and calls AWS makes on a principal's behalf
	// are not people: they learn in classes of their own, under an
	// account record of their own (their own account-wide baseline and
	// calibration), so that a service's million Decrypts neither make a
	// person's first one look common nor inflate the person's profile.
	class := ev.Actor.Class()
	aws := class == event.ClassService || class == event.ClassOnBehalf
	if aws {
		e.stats.Services++
		acctID += awsSuffix
		if class == event.ClassOnBehalf {
			key += " via " + ev.Actor.InvokedBy
			kind += " via AWS"
		} else {
			kind = "AWSService"
		}
	}
	acct := e.accounts[acctID]
	if acct == nil {
		acct = &account{id: strings.Clone(acctID), first: t, maxT: t, all: group{key: "account " + acctID, first: t}}
		e.accounts[acct.id] = acct
	}
	// Lateness is per account: accounts' logs arrive on their own
	// schedules, and one's newer events do not make another's late.
	late := t < acct.maxT-int64(e.cfg.Lateness/time.Second)
	acct.maxT = max(acct.maxT, t)
	acct.first = min(acct.first, t)
	gkey := acctID + "/" + kind
	grp := e.groups[gkey]
	if grp == nil {
		grp = &group{key: strings.Clone(gkey), first: t}
		e.groups[grp.key] = grp
	}
	ent := e.principals[key]
	if ent == nil {
		ent = &entity{key: strings.Clone(key), name: strings.Clone(displayName(ev)), kind: strings.Clone(kind), group: grp.key, account: acct.id, first: t}
		e.principals[ent.key] = ent
		grp.members++
		grp.list = append(grp.list, ent)
		acct.all.members++
	}

	var hs [nFeat]uint64
	var has [nFeat]bool
	e.featureHashes(ev, ent, t, &hs, &has)

	var score float64
	factors := e.factors[:0]
	if !late {
		factors = e.score(ev, ent, grp, acct, t, &hs, &has, factors)
		var unusual float64
		for _, f := range factors {
			score += f.score
			if f.score >= burstFactor && (f.model == "novelty" || f.model == "rarity" || f.model == "sequence" || f.model == "risk" || f.model == "recon" || f.model == "identity") {
				unusual += f.score
			}
		}
		// A session: unusual calls in quick succession are jointly rarer
		// than each alone, so the decayed sum of the session's recent
		// unusual factors joins the score. A role's burst is one session's
		// (one access key, else one role session): the sessions of a role
		// are one principal, and one instance's unusual calls say nothing
		// of another's; a user's is the user's, whose console and access
		// keys are one person's hands. A call of another session takes the
		// burst over only when its own unusual factors outweigh what is
		// left of it.
		if ent.burst > 0 && t >= ent.burstT {
			ent.burst *= math.Exp(-float64(t-ent.burstT) / burstTau)
		}
		var sa, sb string
		if ev.Actor.Type == "AssumedRole" {
			sa, sb = sessionKey(ev)
		}
		mine := ent.burstA == sa && ent.burstB == sb || ent.burstA == "" && ent.burstB == ""
		if mine && ent.burst >= burstFactor {
			factors = append(factors, factor{model: "session", feature: -1, score: ent.burst, value: fmt.Sprintf("%d unusual calls", ent.burstN),
				text: fmt.Sprintf("%s made %d other unusual calls in the last minutes%s (their factors sum to %.1f, fading by half every %.0f minutes)", ent.name, ent.burstN, burstOf(sa, sb), ent.burst, burstTau*math.Ln2/60)})
			score += ent.burst
		}
		if unusual > 0 && (mine || unusual > ent.burst) {
			switch {
			case !mine:
				ent.burst, ent.burstN = 0, 0
			case ent.burst < burstFactor:
				ent.burstN = 0
			}
			if ent.burstA != sa || ent.burstB != sb {
				ent.burstA, ent.burstB = strings.Clone(sa), strings.Clone(sb)
			}
			ent.burst += unusual
			ent.burstN++
			ent.burstT = t
		}
	} else {
		e.stats.Late++
	}
	// Most events score below MinRaw and are never calibrated (a sum over
	// the account's histogram): only the trace wants every one.
	calibrated := 0.0
	if e.cfg.Trace != nil || score >= e.cfg.MinRaw {
		calibrated = acct.calib.score(score)
	}
	if e.cfg.Trace != nil && !late {
		top := ""
		best := 0.0
		for _, f := range factors {
			if f.score > best {
				if f.feature >= 0 && f.value == "" {
					f.value = featureValue(ev, ent, f.feature)
				}
				best, top = f.score, headline(f)
			}
		}
		fmt.Fprintf(e.cfg.Trace, "%s\t%.2f\t%.2f\t%s\t%s\t%s\n", ev.ID, score, calibrated, ent.name, top, ev.Time.UTC().Format(time.RFC3339))
	}
	e.learn(ev, ent, grp, acct, t, &hs, &has)
	e.factors = factors
	// Until an account has seen enough events to tell one in 10^T, the
	// threshold is as high as its history supports.
	threshold := min(e.cfg.Threshold, math.Log10(acct.calib.total+1)-0.6)
	anomalous := !late && score >= e.cfg.MinRaw && calibrated >= threshold
	if !late && !anomalous {
		// Anomalies stay out of the calibration: an attack's events
		// would otherwise make the next attack look common.
		acct.calib.add(score, t)
	}
	if ent.sess != nil {
		e.touch(ev, ent, t)
	}
	if e.maxT-e.swept >= e.gap/8 {
		e.swept = e.maxT
		e.sweep()
	}
	if !anomalous {
		return nil
	}
	if aws {
		e.stats.ServiceAnomalies++
		return nil
	}
	immature := t < acct.first+int64(e.cfg.Warmup/time.Second) || e.cfg.MatureEvents > 0 && int64(acct.all.n) < int64(e.cfg.MatureEvents)
	if immature && t < acct.first+int64(e.cfg.MinHistory/time.Second) {
		// In an account's first day every principal's every call is new.
		e.stats.Held++
		return nil
	}
	// A young baseline finds most things new: a session's anomalies
	// wait in it until a first high-risk action makes it reportable
	// (then they are all in its finding), or the session ends (then they
	// were held back).
	s := e.sessionOf(ev, ent, acct, t)
	e.add(s, ev, ent, factors, score, calibrated, immature)
	switch {
	case s.reported:
		e.stats.Merged++
	case !immature || risky(factors) || calibrated >= threshold+immatureBar && score >= 1.5*e.cfg.MinRaw:
		s.reported = true
		e.stats.Findings++
		if !s.mature {
			e.stats.Immature++
		}
	default:
		return nil
	}
	if e.cfg.Final {
		return nil
	}
	return snapshot(&s.f)
}

// immatureBar: before an account's baseline matures, an anomaly without
// a first high-risk action speaks only when it is this many orders of
// magnitude rarer than the threshold asks and half as strong again as
// --ueba-min-raw (a young account's calibration has seen little, so the
// raw score bounds it too). On the evaluation set this finds the attacks
// that use a known key in accounts with one to three days of history
// (cryptomining, exfiltration, impossible travel, an insider at night),
// which held back they all missed.
const immatureBar = 3.0

// risky says whether factors hold a first high-risk action.
func risky(factors []factor) bool {
	for i := range factors {
		if factors[i].model == "risk" {
			return true
		}
	}
	return false
}

// awsSuffix marks the account record that holds an account's AWS service
// principals and the calls AWS made on its principals' behalf.
const awsSuffix = "#aws"

// principalKey names the principal of ev and its identity type.
func principalKey(ev *event.Event) (key, kind string) {
	a := &ev.Actor
	kind = a.Type
	switch a.Type {
	case "AssumedRole":
		if a.SessionIssuerARN != "" {
			return a.SessionIssuerARN, kind
		}
	case "Root":
		return "root:" + a.Account, kind
	case "AWSService":
		if a.InvokedBy != "" {
			return "service:" + a.InvokedBy, kind
		}
	case "":
		return "", ""
	}
	if a.ARN != "" {
		return a.ARN, kind
	}
	if a.PrincipalID != "" {
		return a.Type + ":" + a.PrincipalID, kind
	}
	return "", ""
}

func displayName(ev *event.Event) string {
	a := &ev.Actor
	switch {
	case a.Type == "Root":
		return "root (" + a.Account + ")"
	case a.Type == "AssumedRole" && a.UserName != "":
		return "role/" + a.UserName
	case a.UserName != "":
		return a.UserName
	case a.InvokedBy != "":
		return a.InvokedBy
	}
	return a.ARN
}

func serviceShort(s string) string { return strings.TrimSuffix(s, ".amazonaws.com") }

// featureValue is the value of feature f for ev, as words.
func featureValue(ev *event.Event, ent *entity, f int) string {
	switch f {
	case fAPI:
		return serviceShort(ev.API.Service) + ":" + ev.API.Operation
	case fService:
		return serviceShort(ev.API.Service)
	case fNet:
		if g := ev.Src.Geo; g.ASN != 0 {
			s := fmt.Sprintf("AS%d", g.ASN)
			if g.ASOrg != "" {
				s += " (" + g.ASOrg + ")"
			}
			return s
		}
		if ev.Src.IP.IsValid() {
			bits := 24
			if ev.Src.IP.Is6() && !ev.Src.IP.Is4In6() {
				bits = 48
			}
			p, _ := ev.Src.IP.Unmap().Prefix(bits)
			return p.String()
		}
		return ev.Src.Domain
	case fCountry:
		return ev.Src.Geo.Country
	case fClient:
		return clientFamily(ev.Src.UserAgent)
	case fRegion:
		return ev.Cloud.Region
	case fResource:
		if r := sensitiveResource(ev); r != nil {
			return r.Name
		}
	case fSeq:
		return ent.prevOp + " → " + ev.API.Operation
	}
	return ""
}

func (e *Engine) featureHashes(ev *event.Event, ent *entity, t int64, hs *[nFeat]uint64, has *[nFeat]bool) {
	set := func(f int, parts ...string) {
		for _, p := range parts {
			if p == "" {
				return
			}
		}
		hs[f], has[f] = hash64(parts...), true
	}
	set(fAPI, ev.API.Service, ev.API.Operation)
	set(fService, ev.API.Service)
	switch g := ev.Src.Geo; {
	case g.ASN != 0:
		hs[fNet], has[fNet] = hash64("AS", fmt.Sprint(g.ASN)), true
	case ev.Src.IP.IsValid():
		hs[fNet], has[fNet] = hash64(featureValue(ev, ent, fNet)), true
	case ev.Src.Domain != "":
		set(fNet, ev.Src.Domain)
	}
	set(fCountry, ev.Src.Geo.Country)
	set(fClient, clientFamily(ev.Src.UserAgent))
	set(fRegion, ev.Cloud.Region)
	if r := sensitiveResource(ev); r != nil {
		set(fResource, r.Type, r.Name)
	}
	if ent.prevOp != "" && t-ent.prevT < 3600 && t >= ent.prevT {
		set(fSeq, ent.prevOp, ev.API.Operation)
	}
}

// sensitiveResource is the first resource of a kind whose first touch by
// a principal matters: a bucket, a KMS key, a secret, a parameter.
func sensitiveResource(ev *event.Event) *event.Resource {
	for i := range ev.Resources {
		switch ev.Resources[i].Type {
		case "AWS::S3::Bucket", "AWS::KMS::Key", "AWS::SecretsManager::Secret", "AWS::SSM::Parameter":
			return &ev.Resources[i]
		}
	}
	return nil
}

// clientFamily reduces a user agent to the tool that sent it.
func clientFamily(ua string) string {
	l := strings.ToLower(ua)
	switch {
	case ua == "":
		return ""
	case strings.HasPrefix(l, "mozilla/") || ua == "AWS Internal" || strings.Contains(l, "console.amazonaws.com"):
		return "console"
	case strings.Contains(l, "terraform"):
		return "terraform"
	case strings.Contains(l, "exec-env/github-actions"):
		return "aws-cli (github actions)"
	case strings.HasPrefix(l, "aws-cli/"):
		return "aws-cli"
	case strings.HasPrefix(l, "boto3/") || strings.HasPrefix(l, "botocore/"):
		return "boto3"
	case strings.HasPrefix(l, "aws-sdk-go"):
		return "aws-sdk-go"
	case strings.HasPrefix(l, "aws-sdk-java") || strings.HasPrefix(l, "aws-sdk-js") || strings.HasPrefix(l, "aws-sdk-"):
		f, _, _ := strings.Cut(l, "/")
		return f
	case strings.HasSuffix(l, ".amazonaws.com"):
		return l
	}
	f, _, _ := strings.Cut(l, "/")
	f, _, _ = strings.Cut(f, " ")
	if len(f) > 40 {
		f = f[:40]
	}
	return f
}

func metricsOf(ev *event.Event) [nMetric]bool {
	var m [nMetric]bool
	m[mEvents] = true
	m[mErrors] = denied(ev)
	switch op := ev.API.Operation; {
	case op == "GetObject" || op == "GetSecretValue" || op == "BatchGetSecretValue" || strings.HasPrefix(op, "GetParameter"):
		m[mReads] = true
	case strings.HasPrefix(op, "Create") || strings.HasPrefix(op, "Run") || strings.HasPrefix(op, "Launch") || strings.HasPrefix(op, "Allocate") || strings.HasPrefix(op, "Import"):
		m[mCreates] = true
	}
	return m
}

func (e *Engine) score(ev *event.Event, ent *entity, grp *group, acct *account, t int64, hs *[nFeat]uint64, has *[nFeat]bool, out []factor) []factor {
	// Categorical features.
	for f := range nFeat {
		if !has[f] {
			continue
		}
		h := hs[f]
		le := level{ent.feats[f].count(h), ent.feats[f].n, ent.feats[f].d}
		// Peers and account without the principal's own counts: a new
		// principal's tenth odd call is not made ordinary by its nine
		// before.
		lg := le.without(level{grp.feats[f].count(h), grp.feats[f].n, grp.feats[f].d})
		la := le.without(level{acct.all.feats[f].count(h), acct.all.feats[f].n, acct.all.feats[f].d})
		pa := la.tail()
		var prior, pw float64
		if f == fAPI {
			// A young account (or one where the principal is nearly all
			// of it) says little about an API: what is rare across
			// accounts in general weighs in, fading as its history grows.
			if w := priorWeight(la.n); w >= minPriorWeight {
				if share, ok := e.apiPrior(ev.API.Service, ev.API.Operation, h); ok {
					prior, pw = share, w
					pa = (1-w)*pa + w*share
				}
			}
		}
		s := surprise(mixTail(le, lg, pa))
		if s < 0.5 {
			continue
		}
		model := "rarity"
		if le.c == 0 {
			model = "novelty"
		}
		if f == fSeq {
			model = "sequence"
		}
		// Words are for findings: most events never need them.
		out = append(out, factor{model: model, feature: f, score: s, lv: [3]level{le, lg, la}, h: h, attack: attackFor(f, ev), prior: prior, priorWeight: pw})
	}
	// Action risk: a principal's first successful call of an API that
	// creates credentials, changes IAM, logging or security services,
	// exposes data or runs code weighs by what it can do, however much the
	// principal explored elsewhere (content/ueba/action-risk.yaml).
	// Only a first call is looked up: most calls are not.
	if has[fAPI] && ev.API.ErrorCode == "" && ent.feats[fAPI].count(hs[fAPI]) == 0 {
		if c, w := e.risk(serviceShort(ev.API.Service), ev.API.Operation); w >= minRisk {
			api := featureValue(ev, ent, fAPI)
			out = append(out, factor{model: "risk", feature: -1, score: w, value: api,
				text:   fmt.Sprintf("first call of %s by %s in %d calls of history: %s, an action weighed %.1f", api, ent.name, ent.n, e.riskTable.classes[c].Name, w),
				attack: attackFor(fAPI, ev)})
		}
	}
	// Identity: a principal, or a long-term key, the account never saw
	// although it has a history to have seen it in; a first check of who
	// one is from a network the principal never used.
	acctDays := float64(t-acct.first) / 86400
	if ent.n == 0 && acctDays >= 1 && acct.all.n >= newIdentityHistory {
		out = append(out, factor{model: "identity", feature: -1, score: newIdentityFactor, value: "new principal",
			text:   fmt.Sprintf("%s is a principal the account never saw in %d calls over %.0f days", ent.name, acct.all.n, acctDays),
			attack: tValidCloud})
	}
	key := e.keys[ev.Actor.AccessKeyID]
	if id := ev.Actor.AccessKeyID; key == nil && strings.HasPrefix(id, "AKIA") && ent.n >= newIdentityHistory/20 {
		out = append(out, factor{model: "identity", feature: -1, score: newIdentityFactor, value: "new access key",
			text:   fmt.Sprintf("long-term access key %s is new: %s made %d calls before without it", id, ent.name, ent.n),
			attack: []string{"T1098.001", "T1078.004"}})
	}
	if ev.API.Operation == "GetCallerIdentity" && has[fNet] && ent.n > 0 && ent.feats[fNet].count(hs[fNet]) == 0 {
		out = append(out, factor{model: "identity", feature: -1, score: 1, value: "who-am-I from a new network",
			text:   fmt.Sprintf("%s checked who it is (GetCallerIdentity) from %s, a network it never used in %d calls", ent.name, featureValue(ev, ent, fNet), ent.n),
			attack: []string{"T1087.004"}})
	}
	// Recon: denials across several services or APIs in minutes, scored
	// by their spread and the share of calls denied, not by any hourly
	// count (a careful intruder stays below those).
	if fc, ok := reconFactor(ev, ent, t, hs, has); ok {
		out = append(out, fc)
	}
	// A long-term key used from a network or client new to the key but
	// not to its principal (a key shared or leaked among colleagues).
	if k := key; k != nil {
		for i, f := range []int{fNet, fClient} {
			if !has[f] || ent.feats[f].count(hs[f]) == 0 {
				continue // the principal-level factor covers it
			}
			l := level{k.feats[i].count(hs[f]), k.feats[i].n, k.feats[i].d}
			if l.c == 0 && l.n > 0 {
				s := surprise(l.tail())
				if s >= 0.5 {
					out = append(out, factor{model: "novelty", feature: f, score: s, value: featureValue(ev, ent, f),
						text:   fmt.Sprintf("access key %s was never used from %s %s before (%d uses), though %s was", ev.Actor.AccessKeyID, featNames[f], featureValue(ev, ent, f), l.n, ent.name),
						attack: []string{"T1078.004"}})
				}
			}
		}
	}
	// An address serving a principal it never served.
	if ip := e.ips[ev.Src.IP]; ip != nil && ip.principals.n >= 20 {
		l := level{ip.principals.count(hash64(ent.key)), ip.principals.n, ip.principals.d}
		if l.c == 0 {
			if s := surprise(l.tail()); s >= 0.5 {
				out = append(out, factor{model: "novelty", feature: -1, score: s, value: ev.Src.IP.String(),
					text: fmt.Sprintf("address %s served %d other principals in %d calls, never %s", ev.Src.IP, l.d, l.n, ent.name), attack: []string{"T1078.004"}})
			}
		}
	}
	// Hour of day.
	hod := int(t/3600) % 24
	pe, pg, pa := hourShare(&ent.hours, ent.n, hod), hourShare(&grp.hours, grp.n, hod), hourShare(&acct.all.hours, acct.all.n, hod)
	if ent.n >= 20 {
		// The same weights as mix, over hour shares (24 shares make a
		// uniform profile score 0).
		we := float64(ent.n) / (float64(ent.n) + 30)
		lg := pa
		if grp.n > 0 {
			lg = 0.8*pg + 0.2*pa
		}
		tail := math.Min(1, 24*(we*(0.75*pe+0.25*lg)+(1-we)*lg))
		if s := surprise(tail); s >= 0.5 {
			out = append(out, factor{model: "time", feature: -1, score: s, value: fmt.Sprintf("%02d:00 UTC", hod),
				text:   fmt.Sprintf("%s is active at %02d:%02d UTC; %.1f%% of their %d calls fall within an hour of it (peers %.1f%%)", ent.name, hod, (t/60)%60, 100*pe*3/2, ent.n, 100*pg*3/2),
				attack: []string{"T1078.004"}})
		}
	}
	// Volume in the current hour.
	ms := metricsOf(ev)
	hour := t / 3600
	for m := range nMetric {
		if !ms[m] {
			continue
		}
		v := &ent.vol[m]
		x := float64(1)
		if v.bucket == hour {
			x += float64(v.cur)
		}
		if x < 5 {
			continue
		}
		lambda, phi := e.expected(ent, grp, m, hour)
		if x <= 3*lambda {
			continue
		}
		p := poissonTail(x/phi, lambda/phi)
		if s := surprise(p); s >= 0.5 {
			out = append(out, factor{model: "volume", feature: -1, score: s, value: fmt.Sprintf("%.0f %s", x, metricNames[m]),
				text:   fmt.Sprintf("%s made %.0f %s in the hour from %02d:00 UTC; %.1f expected at this hour (chance %.0e)", ent.name, x, metricNames[m], hod, lambda, p),
				attack: volumeAttack[m]})
		}
	}
	// Geography: impossible travel between consecutive located sightings,
	// unless the principal is at home in both places (offices on two
	// continents, a VPN's exits): a network it used three times or more is
	// not a journey.
	if g := ev.Src.Geo; g.Located && ent.loc.ok && t >= ent.loc.t && (!has[fNet] || ent.feats[fNet].count(hs[fNet]) < 3) {
		km := haversineKm(float64(ent.loc.lat), float64(ent.loc.lon), float64(g.Lat), float64(g.Lon)) - float64(ent.loc.radius) - float64(g.RadiusKm)
		if km > 500 {
			hours := math.Max(float64(t-ent.loc.t)/3600, 1.0/60)
			speed := km / hours
			if speed > 900 {
				s := math.Min(6, 2.5+2*math.Log10(speed/900))
				out = append(out, factor{model: "geography", feature: -1, score: s, value: ent.loc.country + " → " + g.Country,
					text:   fmt.Sprintf("%s appeared %.0f km away (%s → %s) %s after the last sighting: %.0f km/h", ent.name, km, orUnknown(ent.loc.country), orUnknown(g.Country), (time.Duration(t-ent.loc.t) * time.Second).String(), speed),
					attack: []string{"T1078.004"}})
			}
		}
	}
	return out
}

// denied says whether ev failed for want of permission.
func denied(ev *event.Event) bool {
	c := ev.API.ErrorCode
	return c != "" && (strings.Contains(c, "AccessDenied") || strings.Contains(c, "Unauthorized") || strings.Contains(c, "Forbidden") || strings.Contains(c, "NotAuthorized"))
}

// reconFactor scores a denied call by the shape of the principal's
// denials in the last ten minutes, this one included: how many distinct
// services and APIs were denied, times the share of calls denied.
func reconFactor(ev *event.Event, ent *entity, t int64, hs *[nFeat]uint64, has *[nFeat]bool) (factor, bool) {
	if !denied(ev) || !has[fAPI] || !has[fService] {
		return factor{}, false
	}
	calls, deny := 1, 1
	svcs := [nRecent + 1]uint32{uint32(hs[fService])}
	apis := [nRecent + 1]uint32{uint32(hs[fAPI])}
	ns, na := 1, 1
	var ring []recentCall
	if r := ent.recent; r != nil {
		ring = r.calls[:min(int(r.n), nRecent)]
	}
	for i := range ring {
		c := &ring[i]
		if ct := ent.first + int64(c.dt); ct > t || t-ct > reconWindow {
			continue
		}
		calls++
		if !c.denied {
			continue
		}
		deny++
		if !slices.Contains(svcs[:ns], c.svc) {
			svcs[ns] = c.svc
			ns++
		}
		if !slices.Contains(apis[:na], c.api) {
			apis[na] = c.api
			na++
		}
	}
	if deny < reconMinDeny || ns < 2 && na < 3 {
		return factor{}, false
	}
	share := float64(deny) / float64(calls)
	s := math.Min(maxFactor, (0.9*float64(ns-1)+0.4*float64(na-1))*share)
	if s < 0.5 {
		return factor{}, false
	}
	return factor{model: "recon", feature: -1, score: s, value: fmt.Sprintf("%d services, %d APIs denied", ns, na),
		text:   fmt.Sprintf("%s was denied %d times in the last 10 minutes, on %d distinct services and %d distinct APIs: %.0f%% of its %d calls then", ent.name, deny, ns, na, 100*share, calls),
		attack: []string{"T1580", "T1087.004"}}, true
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

var volumeAttack = [nMetric][]string{
	mEvents:  {"T1078.004"},
	mErrors:  {"T1580", "T1087.004"},
	mReads:   {"T1530"},
	mCreates: {"T1496", "T1578"},
}

var (
	tValidCloud  = []string{"T1078.004"}
	tAcctDisc    = []string{"T1087.004"}
	tInfraDisc   = []string{"T1580"}
	tAcctManip   = []string{"T1098"}
	tCloudData   = []string{"T1530"}
	tUnusedRegio = []string{"T1535"}
)

func attackFor(f int, ev *event.Event) []string {
	switch f {
	case fNet, fCountry, fClient:
		return tValidCloud
	case fAPI, fSeq, fService:
		op := ev.API.Operation
		switch {
		case strings.HasPrefix(op, "List") || strings.HasPrefix(op, "Describe") || strings.HasPrefix(op, "Get"):
			if serviceShort(ev.API.Service) == "iam" {
				return tAcctDisc
			}
			return tInfraDisc
		case strings.HasPrefix(op, "Create") || strings.HasPrefix(op, "Attach") || strings.HasPrefix(op, "Put") || strings.HasPrefix(op, "Update"):
			if serviceShort(ev.API.Service) == "iam" {
				return tAcctManip
			}
		}
	case fResource:
		return tCloudData
	case fRegion:
		return tUnusedRegio
	}
	return nil
}

// hourShare is the smoothed share of activity at hour h (neighbours count
// half).
func hourShare(hours *[24]uint32, n uint32, h int) float64 {
	if n == 0 {
		return 1.0 / 24
	}
	c := float64(hours[h]) + 0.5*float64(hours[(h+23)%24]) + 0.5*float64(hours[(h+1)%24])
	return (c + 0.05) / (2*float64(n) + 1.2)
}

// expected is the principal's expected count of metric m in this hour,
// and the over-dispersion of its hourly counts.
func (e *Engine) expected(ent *entity, grp *group, m int, hour int64) (lambda, phi float64) {
	v := &ent.vol[m]
	firstHour := ent.first / 3600
	hoursSeen := float64(hour - firstHour)
	if hoursSeen < 24 {
		// Too little history: what a peer does in an hour.
		gh := math.Max(1, float64(hour-grp.first/3600)) * math.Max(1, float64(grp.members))
		return math.Max(grp.vol[m]/gh, 0.5), 3
	}
	mean := v.total / hoursSeen
	days := hoursSeen / 24
	lambda = (float64(v.slot[hour%24]) + 2*mean) / (days + 2)
	// Hour of the week: the hour of day's rate times the day of the
	// week's share (weekends are quiet for people, not for services),
	// each smoothed towards the mean while it has few weeks behind it.
	if meanDay := v.total / days; days >= 7 && meanDay > 0 {
		day := hour / 24
		occ := weekdays(firstHour/24, day, int(dayOfWeek(day)))
		rate := (float64(v.dow[dayOfWeek(day)]) + meanDay) / (float64(occ) + 1)
		lambda *= math.Min(10, math.Max(0.1, rate/meanDay))
	}
	lambda = math.Max(lambda, 0.5)
	variance := v.sumsq/hoursSeen - mean*mean
	phi = 1
	if mean > 0 {
		phi = math.Min(30, math.Max(1, variance/mean))
	}
	return lambda, phi
}

// dayOfWeek of a unix day: 0 is Sunday (day 0, 1970-01-01, was a Thursday).
func dayOfWeek(day int64) int64 { return (day + 4) % 7 }

// weekdays counts the days in [from, to) that fall on weekday d.
func weekdays(from, to int64, d int) int64 {
	if to <= from {
		return 0
	}
	n := (to - from) / 7
	for k := from + n*7; k < to; k++ {
		if dayOfWeek(k) == int64(d) {
			n++
		}
	}
	return n
}

// words explains a categorical factor: what the principal, its peers (how
// many of them ever did it) and its account have seen.
func (e *Engine) words(ent *entity, fc *factor) string {
	f, value := fc.feature, fc.value
	le, lg, la := fc.lv[0], fc.lv[1], fc.lv[2]
	feature := featNames[f]
	days := float64(ent.last-ent.first) / 86400
	var own string
	switch {
	case le.n == 0:
		own = fmt.Sprintf("%s is new, so its peers and account judge %s %s", ent.name, feature, value)
	case le.c == 0 && f == fSeq:
		own = fmt.Sprintf("%s never went %s in %.0f days of history (%d calls)", ent.name, value, days, le.n)
	case le.c == 0:
		own = fmt.Sprintf("first time %s used %s %s in %.0f days of history (%d calls)", ent.name, feature, value, days, le.n)
	default:
		own = fmt.Sprintf("%s rarely uses %s %s: %d of %d calls", ent.name, feature, value, le.c, le.n)
	}
	// How many peers ever did it: their filters, asked one by one (only
	// for findings, so the cost is fine).
	grp := e.groups[ent.group]
	peers, did := 0, 0
	if grp != nil {
		for _, p := range grp.list {
			if p == ent {
				continue
			}
			peers++
			if p.feats[f].seen(fc.h) {
				did++
			}
		}
	}
	acct, kind, _ := strings.Cut(ent.group, "/")
	prior := ""
	if fc.priorWeight >= 0.2 {
		prior = fmt.Sprintf("; the account's history being short, the global prior weighs %.0f%%: about %s of principals in a typical account ever call it",
			100*fc.priorWeight, percent(fc.prior))
	}
	if peers == 0 {
		// A principal alone of its type: no peer group to speak of.
		if la.n == 0 && prior != "" {
			return fmt.Sprintf("%s; no other %s in %s to compare with and no other calls in the account yet, so the global prior judges: about %s of principals in a typical account ever call it",
				own, kind, acct, percent(fc.prior))
		}
		judge := "the account's history judges"
		if prior != "" {
			judge = "the account's history and the global prior judge"
		}
		return fmt.Sprintf("%s; no other %s in %s to compare with, so %s: %d times in its other %d calls%s",
			own, kind, acct, judge, la.c, la.n, prior)
	}
	// lg and la already leave out the principal's own counts.
	return fmt.Sprintf("%s; %d of %d peers (%s in %s) ever did, %d times in their %d calls; %d times in the account's other %d calls%s",
		own, did, peers, kind, acct, lg.c, lg.n, la.c, la.n, prior)
}

// percent writes a share as a percentage, to one significant figure
// below 1%.
func percent(x float64) string {
	if x < 0.01 {
		return fmt.Sprintf("%.1f%%", 100*x)
	}
	return fmt.Sprintf("%.0f%%", 100*x)
}

func (e *Engine) learn(ev *event.Event, ent *entity, grp *group, acct *account, t int64, hs *[nFeat]uint64, has *[nFeat]bool) {
	for f := range nFeat {
		if has[f] {
			ent.feats[f].add(hs[f])
			grp.feats[f].add(hs[f])
			acct.all.feats[f].add(hs[f])
		}
	}
	hod := int(t/3600) % 24
	ent.hours[hod]++
	grp.hours[hod]++
	acct.all.hours[hod]++
	ent.n++
	grp.n++
	acct.all.n++
	ent.last = max(ent.last, t)
	ms := metricsOf(ev)
	hour := t / 3600
	for m := range nMetric {
		if !ms[m] {
			continue
		}
		grp.vol[m]++
		v := &ent.vol[m]
		switch {
		case v.bucket == hour:
			v.cur++
		case hour > v.bucket:
			if v.cur > 0 {
				c := float64(v.cur)
				v.slot[v.bucket%24] += float32(c)
				v.dow[dayOfWeek(v.bucket/24)] += float32(c)
				v.total += c
				v.sumsq += c * c
			}
			v.bucket, v.cur = hour, 1
		default: // late: straight into its hour's slot
			v.slot[hour%24]++
			v.dow[dayOfWeek(hour/24)]++
			v.total++
			v.sumsq++
		}
	}
	if ev.API.Operation != ent.prevOp {
		ent.prevOp = strings.Clone(ev.API.Operation)
	}
	ent.prevT = t
	if has[fAPI] && has[fService] {
		d := denied(ev)
		if d && ent.recent == nil {
			ent.recent = &recentRing{}
		}
		if r := ent.recent; r != nil {
			dt := min(max(t-ent.first, 0), math.MaxInt32)
			r.calls[r.n%nRecent] = recentCall{dt: int32(dt), svc: uint32(hs[fService]), api: uint32(hs[fAPI]), denied: d}
			r.n++
		}
	}
	if g := ev.Src.Geo; g.Located && t >= ent.loc.t {
		ent.loc = sighting{lat: g.Lat, lon: g.Lon, radius: g.RadiusKm, country: strings.Clone(g.Country), t: t, ok: true}
	}
	if strings.HasSuffix(ent.account, awsSuffix) {
		return // keys and addresses profile the people who use them
	}
	if id := ev.Actor.AccessKeyID; strings.HasPrefix(id, "AKIA") {
		k := e.keys[id]
		if k == nil {
			k = &keyEntity{}
			e.keys[strings.Clone(id)] = k
		}
		if has[fNet] {
			k.feats[0].add(hs[fNet])
		}
		if has[fClient] {
			k.feats[1].add(hs[fClient])
		}
	}
	if ip := ev.Src.IP; ip.IsValid() {
		x := e.ips[ip]
		if x == nil {
			x = &ipEntity{}
			e.ips[ip] = x
		}
		x.principals.add(hash64(ent.key))
	}
}

// Principal maturity: a principal's own history weighs as it grows (half
// at 30 calls); before matureCalls over a day, its peers and account
// judge it mostly.
const matureCalls = 50

// principalBaseline says which baseline judged the principal and how
// mature its own history is.
func (e *Engine) principalBaseline(ent *entity) detect.Evidence {
	days := float64(ent.last-ent.first) / 86400
	if ent.n >= matureCalls && days >= 1 {
		return detect.Evidence{Selection: "baseline", Field: "principal", Value: "own",
			Detail: fmt.Sprintf("%s's own history is mature (%d calls over %.0f days): it weighs most, its peers' a quarter", ent.name, ent.n, days)}
	}
	return detect.Evidence{Selection: "baseline", Field: "principal", Value: "peers and account",
		Detail: fmt.Sprintf("%s's own history is immature (%d calls over %.1f days; mature from %d calls over a day): its peers and account judge it mostly", ent.name, ent.n, days, matureCalls)}
}

func headline(f factor) string {
	switch f.model {
	case "novelty":
		if f.feature >= 0 {
			return "new " + featNames[f.feature] + " " + f.value
		}
		return "new " + f.value
	case "rarity":
		return "rare " + featNames[f.feature] + " " + f.value
	case "sequence":
		return "unusual API sequence " + f.value
	case "volume":
		return f.value + " in an hour"
	case "time":
		return "active at " + f.value
	case "geography":
		return "impossible travel " + f.value
	case "session":
		return f.value + " in quick succession"
	case "risk":
		return "first " + f.value
	case "recon":
		return f.value + " in minutes"
	case "identity":
		return f.value
	}
	return f.model
}

var tacticOf = map[string][]string{
	"T1078.004": {"initial-access", "persistence"},
	"T1087.004": {"discovery"},
	"T1580":     {"discovery"},
	"T1530":     {"collection"},
	"T1496":     {"impact"},
	"T1578":     {"defense-evasion"},
	"T1098":     {"persistence", "privilege-escalation"},
	"T1535":     {"defense-evasion"},
}

func tacticsFor(techniques []string) []string {
	var out []string
	for _, t := range techniques {
		for _, tac := range tacticOf[t] {
			dup := false
			for _, o := range out {
				dup = dup || o == tac
			}
			if !dup {
				out = append(out, tac)
			}
		}
	}
	return out
}
