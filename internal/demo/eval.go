package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// EvalConfig says what evaluation set to generate.
type EvalConfig struct {
	Dir      string
	Seed     uint64
	Days     int     // default 28
	Accounts int     // default 4
	Teams    int     // copies of the ten people per account; default 6
	Rate     float64 // calls per hour relative to the demo; default 2
	Start    time.Time
}

// EvalStories are the kinds of attack the evaluation set injects, each
// several times, in different accounts and weeks.
var EvalStories = []struct{ Name, Summary string }{
	{"key-compromise", "a developer's long-term key used from a new country and network: enumeration, then a key for another user"},
	{"privilege-escalation", "a developer, from the usual office, rewrites a policy, attaches AdministratorAccess and gives another user a console password"},
	{"data-exfiltration", "an instance role reads hundreds of customer objects within half an hour"},
	{"cryptomining", "a stolen key launches GPU instances in three regions from an address abroad"},
	{"insider-off-hours", "a user, from home at three in the morning, reads a bucket and the secrets in bulk"},
	{"impossible-login", "a console sign-in from Lagos forty minutes after the same user signed in in London"},
}

// GenerateEval writes an evaluation set: several accounts, weeks of
// CloudTrail with the noise real organizations make (new employees, a new
// CI role, a deploy day, people travelling), and attack stories injected
// several times each, labelled in labels.jsonl as "<kind>#<n>".
func GenerateEval(cfg EvalConfig) (Result, error) {
	if cfg.Days == 0 {
		cfg.Days = 28
	}
	if cfg.Accounts == 0 {
		cfg.Accounts = 4
	}
	if cfg.Teams == 0 {
		cfg.Teams = 6
	}
	if cfg.Rate == 0 {
		cfg.Rate = 2
	}
	if cfg.Start.IsZero() {
		cfg.Start = defaultStart
	}
	if cfg.Days < 21 {
		return Result{}, fmt.Errorf("evaluation set: need at least 21 days (two weeks of warm-up, then the stories), got %d", cfg.Days)
	}
	g := &gen{
		cfg:     Config{Dir: cfg.Dir, Seed: cfg.Seed, Days: cfg.Days, Start: cfg.Start},
		rng:     rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5bd1e9955bd1e995)),
		trail:   map[fileKey][]record{},
		flows:   map[fileKey][]record{},
		noFlows: true,
	}
	g.instances = []instance{
		{id: "i-0e7a1c0000000a001", ip: "10.30.2.21", name: "app-1"},
		{id: "i-0e7a1c0000000a002", ip: "10.30.2.22", name: "app-2"},
		{id: "i-0e7a1c0000000a003", ip: "10.30.2.23", name: "app-3"},
		{id: "i-0e7a1c0000000a004", ip: "10.30.2.24", name: "app-4"},
	}
	if err := prepare(cfg.Dir); err != nil {
		return Result{}, err
	}
	g.personas = evalOrg(cfg)
	g.background()
	g.evalStories(cfg)
	return g.write()
}

func evalAccount(a int) string { return fmt.Sprintf("%012d", 210000000000+int64(a)*101010101) }

// evalOrg copies the demo's cast into every account, Teams times for the
// people, and adds the noise.
func evalOrg(cfg EvalConfig) []*persona {
	var out []*persona
	for a := range cfg.Accounts {
		acct := evalAccount(a)
		var users, roles []*persona
		for _, tmpl := range personas() {
			switch tmpl.kind {
			case "IAMUser":
				for t := range cfg.Teams {
					p := *tmpl
					p.name = fmt.Sprintf("%s.%d%d", tmpl.name, a, t)
					if tmpl.keyID != "" {
						p.keyID = "AKIA" + strings.ToUpper(fmt.Sprintf("%016x", hashString(p.name)))[:16]
					}
					users = append(users, &p)
				}
			default:
				p := *tmpl
				roles = append(roles, &p)
			}
		}
		for _, p := range append(users, roles...) {
			p.account = acct
			p.perHour *= cfg.Rate
			out = append(out, p)
		}
		// Noise. New employees join in the second and third weeks.
		for i, p := range users {
			if i%13 == 5 {
				p.startDay = 8 + (i*3)%10
			}
		}
		// Two people travel to Tokyo for four days.
		for i, j := range []int{2 + a, 17 + a} {
			p := users[j%len(users)]
			p.travelFrom, p.travelTo = 10+4*i+a, 14+4*i+a
			p.travelIPs = []string{"60.32.14.9", "60.32.77.120"}
		}
		// A release day, and a new CI role from the third week.
		for _, r := range roles {
			if r.role == "ci-deploy" {
				r.busyDay = 16 + a
				ci := *r
				ci.name, ci.role, ci.startDay, ci.busyDay = "ci-release", "ci-release", 15+a, 0
				out = append(out, &ci)
			}
		}
	}
	return out
}

func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// evalStories injects each kind three times: accounts in turn, after the
// two weeks of warm-up, at different hours.
func (g *gen) evalStories(cfg EvalConfig) {
	n := 0
	for round := range 3 {
		for k, s := range EvalStories {
			a := (round + k) % cfg.Accounts
			day := 15 + (round*5+k)%(cfg.Days-16)
			name := fmt.Sprintf("%s#%d", s.Name, round+1)
			g.evalStory(s.Name, name, evalAccount(a), day, round)
			n++
		}
	}
}

// user picks a person of the account by template name and team.
func (g *gen) user(acct, tmpl string, team int) *persona {
	var fallback *persona
	for _, p := range g.personas {
		if p.account != acct || p.kind != "IAMUser" || !strings.HasPrefix(p.name, tmpl+".") {
			continue
		}
		if strings.HasSuffix(p.name, fmt.Sprint(team)) && p.startDay == 0 && p.travelIPs == nil {
			return p
		}
		if fallback == nil && p.startDay == 0 && p.travelIPs == nil {
			fallback = p
		}
	}
	return fallback
}

func (g *gen) role(acct, role string) *persona {
	for _, p := range g.personas {
		if p.account == acct && p.role == role {
			return p
		}
	}
	return nil
}

func (g *gen) evalStory(kind, label, acct string, day, round int) {
	hm := func(h, m int) time.Time { return g.day(day, h, m) }
	switch kind {
	case "key-compromise":
		p := g.user(acct, "dave", round+1)
		ip := fmt.Sprintf("5.188.206.%d", 10+round)
		steps := []string{"GetCallerIdentity", "ListUsers", "ListRoles", "ListGroups", "ListPolicies", "ListBuckets", "ListAccessKeys", "CreateAccessKey"}
		for i, op := range steps {
			svc := "iam"
			switch op {
			case "GetCallerIdentity":
				svc = "sts"
			case "ListBuckets":
				svc = "s3"
			}
			var params map[string]any
			if op == "ListAccessKeys" || op == "CreateAccessKey" {
				params = map[string]any{"userName": g.user(acct, "erin", 0).name}
			}
			ev := g.call(p, hm(20, 40).Add(time.Duration(i*19)*time.Second), "us-east-1", svc, op, params)
			ev.ip, ev.agent = ip, "python-requests/2.31.0"
			g.emit(ev, label)
		}
	case "privilege-escalation":
		p := g.user(acct, "carol", round+2)
		target := g.user(acct, "judy", 0)
		steps := []struct {
			op     string
			params map[string]any
		}{
			{"GetUser", nil},
			{"ListAttachedUserPolicies", map[string]any{"userName": p.name}},
			{"CreatePolicyVersion", map[string]any{"policyArn": "arn:aws:iam::" + acct + ":policy/developers", "setAsDefault": true, "policyDocument": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`}},
			{"AttachUserPolicy", map[string]any{"userName": p.name, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}},
			{"CreateLoginProfile", map[string]any{"userName": target.name, "passwordResetRequired": false}},
			{"UpdateAssumeRolePolicy", map[string]any{"roleName": "ci-deploy"}},
		}
		for i, s := range steps {
			ev := g.call(p, hm(11, 20).Add(time.Duration(i*47)*time.Second), "us-east-1", "iam", s.op, s.params)
			g.emit(ev, label)
		}
	case "data-exfiltration":
		p := g.role(acct, "ec2-app")
		for i := range 400 {
			ev := g.call(p, hm(2, 5).Add(time.Duration(i*4)*time.Second), "us-east-1", "s3", "GetObject",
				map[string]any{"bucketName": "acme-customer-data", "Host": "acme-customer-data.s3.amazonaws.com", "key": fmt.Sprintf("exports/customer-%05d.csv.gz", 10000+i)})
			ev.data, ev.sessionName = true, g.instances[round%4].id
			g.emit(ev, label)
		}
	case "cryptomining":
		p := g.user(acct, "frank", round+1)
		ip := fmt.Sprintf("103.152.220.%d", 40+round)
		ev := g.call(p, hm(9, 12), "us-east-1", "ec2", "DescribeRegions", nil)
		ev.ip, ev.agent = ip, boto3Agent
		g.emit(ev, label)
		for i, region := range []string{"ap-southeast-1", "sa-east-1", "eu-north-1", "ap-southeast-1", "sa-east-1", "eu-north-1"} {
			ev := g.call(p, hm(9, 14).Add(time.Duration(i*31)*time.Second), region, "ec2", "RunInstances",
				map[string]any{"instanceType": "p3.16xlarge", "instancesSet": map[string]any{"items": []any{map[string]any{"imageId": "ami-0b5eea76982371e91", "minCount": 8, "maxCount": 8}}}})
			ev.ip, ev.agent = ip, boto3Agent
			g.emit(ev, label)
		}
	case "insider-off-hours":
		p := g.user(acct, "alice", round+3)
		ip := p.ips[0]
		for i := range 150 {
			ev := g.call(p, hm(2, 10).Add(time.Duration(i*9)*time.Second), "us-east-1", "s3", "GetObject",
				map[string]any{"bucketName": "acme-finance-reports", "Host": "acme-finance-reports.s3.amazonaws.com", "key": fmt.Sprintf("2026/q3/ledger-%03d.xlsx", i)})
			ev.data, ev.ip = true, ip
			g.emit(ev, label)
		}
		for i := range 15 {
			ev := g.call(p, hm(2, 40).Add(time.Duration(i*11)*time.Second), "us-east-1", "secretsmanager", "GetSecretValue",
				map[string]any{"secretId": fmt.Sprintf("prod/service-%02d/db", i)})
			ev.ip = ip
			g.emit(ev, label)
		}
	case "impossible-login":
		p := g.user(acct, "grace", round)
		g.consoleLogin(p, hm(8, 55), "203.0.113.11", true, label)
		ip := fmt.Sprintf("41.203.70.%d", 20+round)
		g.consoleLogin(p, hm(9, 35), ip, true, label)
		for i, op := range []string{"ListUsers", "GetAccountSummary", "ListBuckets"} {
			svc := "iam"
			if op == "ListBuckets" {
				svc = "s3"
			}
			ev := g.call(p, hm(9, 37).Add(time.Duration(i*40)*time.Second), "us-east-1", svc, op, nil)
			ev.ip, ev.agent = ip, browser
			g.emit(ev, label)
		}
	}
}
