package demo

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// EvalConfig says what evaluation set to generate.
type EvalConfig struct {
	Dir      string
	Seed     uint64
	Days     int     // default 28
	Accounts int     // long-lived accounts; default 4
	Teams    int     // copies of the ten people per long-lived account; default 2
	Rate     float64 // calls per hour relative to the demo; default 2
	Start    time.Time
	// Histories are the days of history the short-lived accounts have
	// before their attack: each attack kind, with each of its attacker
	// identities, gets an account of each; default 1, 2, 3, 7. Such an
	// account exists for its history and one more day.
	Histories []int
}

// The attacker's identity, in the labels.
const (
	// IdentityExisting: an existing principal's credentials, stolen (or
	// the insider's own): a long-term key, a role session, a password.
	IdentityExisting = "existing_key"
	// IdentityNewKey: a new access key of an existing user, created by
	// a compromised admin.
	IdentityNewKey = "new_key"
	// IdentityNewPrincipal: an IAM user never seen before, either
	// created by a compromised admin or already there with no history.
	IdentityNewPrincipal = "new_principal"
)

// EvalStories are the kinds of attack the evaluation set injects, each
// several times, in different accounts and weeks, with the attacker
// identities each kind comes with.
var EvalStories = []struct {
	Name, Summary string
	Identities    []string
}{
	{"key-compromise", "a developer's long-term key used from a new country and network: enumeration, then a key for another user", []string{IdentityExisting, IdentityNewKey, IdentityNewPrincipal}},
	{"privilege-escalation", "a developer, from the usual office, rewrites a policy, attaches AdministratorAccess and gives another user a console password", []string{IdentityExisting, IdentityNewPrincipal}},
	{"data-exfiltration", "an instance role reads hundreds of customer objects within half an hour", []string{IdentityExisting, IdentityNewKey, IdentityNewPrincipal}},
	{"cryptomining", "a stolen key launches GPU instances in three regions from an address abroad", []string{IdentityExisting, IdentityNewKey, IdentityNewPrincipal}},
	{"insider-off-hours", "a user, from home at three in the morning, reads a bucket and the secrets in bulk", []string{IdentityExisting}},
	{"impossible-login", "a console sign-in from Lagos forty minutes after the same user signed in in London", []string{IdentityExisting}},
}

// GenerateEval writes an evaluation set: long-lived accounts with weeks of
// CloudTrail, short-lived ones (an account per attack kind, attacker
// identity and history length, living for its history and one more day),
// all with the noise real accounts make (new employees, a new CI role, a
// deploy day, people travelling; AWS services delivering logs, recording
// configuration and scaling, failing now and then; an owner signing in as
// root every day; bulk data reads; late and repeated deliveries), and
// attack stories injected, labelled in labels.jsonl with their kind, their
// account's history before them and the attacker's identity.
func GenerateEval(cfg EvalConfig) (Result, error) {
	if cfg.Days == 0 {
		cfg.Days = 28
	}
	if cfg.Accounts == 0 {
		cfg.Accounts = 4
	}
	if cfg.Teams == 0 {
		cfg.Teams = 2
	}
	if cfg.Rate == 0 {
		cfg.Rate = 2
	}
	if cfg.Histories == nil {
		cfg.Histories = []int{1, 2, 3, 7}
	}
	if cfg.Start.IsZero() {
		cfg.Start = defaultStart
	}
	if cfg.Days < 21 {
		return Result{}, fmt.Errorf("evaluation set: need at least 21 days (two weeks of warm-up, then the stories), got %d", cfg.Days)
	}
	for _, h := range cfg.Histories {
		if h < 1 || h > cfg.Days-3 {
			return Result{}, fmt.Errorf("evaluation set: a history of %d days does not fit in %d days", h, cfg.Days)
		}
	}
	g := &gen{
		cfg:        Config{Dir: cfg.Dir, Seed: cfg.Seed, Days: cfg.Days, Start: cfg.Start},
		rng:        rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5bd1e9955bd1e995)),
		trail:      map[fileKey][]record{},
		flows:      map[fileKey][]record{},
		noFlows:    true,
		eval:       true,
		storyInfo:  map[string]Label{},
		firstSeen:  map[string]time.Time{},
		storyFirst: map[string]time.Time{},
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
	accts := make([]*evalAccount, 0, cfg.Accounts)
	for a := range cfg.Accounts {
		// The second long-lived account's owner signs in as root every day.
		accts = append(accts, g.newEvalAccount(evalAccountID(a), 0, cfg.Days*24, a == 1))
	}
	stories := g.evalStories(cfg)
	short := g.shortAccounts(cfg)
	for _, s := range short {
		accts = append(accts, s.acct)
	}
	stories = append(stories, short...)
	g.accounts(accts, stories)
	res, err := g.write()
	if err != nil {
		return res, err
	}
	for _, s := range short {
		if got := g.storyInfo[s.label].HistoryDays; got != s.history {
			return res, fmt.Errorf("evaluation set: story %s has %d days of history, want %d", s.label, got, s.history)
		}
	}
	return res, nil
}

func evalAccountID(a int) string { return fmt.Sprintf("%012d", 210000000000+int64(a)*101010101) }

// storyHistory sets each story's history in its labels: the whole days
// from its account's first event to the story's first event.
func (g *gen) storyHistory() {
	for i := range g.labels {
		l := &g.labels[i]
		info := g.storyInfo[l.Story]
		l.HistoryDays = int(g.storyFirst[l.Story].Sub(g.firstSeen[info.Account]) / (24 * time.Hour))
		info.HistoryDays = l.HistoryDays
		g.storyInfo[l.Story] = info
	}
}

// evalOrg copies the demo's cast into every account, Teams times for the
// people, and adds the noise.
func evalOrg(cfg EvalConfig) []*persona {
	var out []*persona
	for a := range cfg.Accounts {
		users, roles := cast(evalAccountID(a), a, cfg.Teams, cfg.Rate)
		out = append(out, users...)
		out = append(out, roles...)
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

// cast copies the demo's people (teams times) and roles into an account.
func cast(acct string, a, teams int, rate float64) (users, roles []*persona) {
	for _, tmpl := range personas() {
		switch tmpl.kind {
		case "IAMUser":
			for t := range teams {
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
	for _, p := range append(slices.Clip(users), roles...) {
		p.account = acct
		p.perHour *= rate
	}
	return users, roles
}

// storySpec is one story instance to inject.
type storySpec struct {
	kind, label, identity string
	acct                  *evalAccount
	day, round            int
	history               int // the short-lived account's history, in days; 0 for the long-lived
}

// storyHours are when each kind starts, in UTC on its day.
var storyHours = map[string][2]int{
	"key-compromise": {20, 40}, "privilege-escalation": {11, 20}, "data-exfiltration": {2, 5},
	"cryptomining": {9, 12}, "insider-off-hours": {2, 10}, "impossible-login": {8, 55},
}

// shortAccounts makes an account per attack kind, attacker identity and
// history length: one team of the ten people at the demo's rate, the
// roles at half of it, the services and an owner who signs in as root. Each lives for
// its history and one more day (with a history of one day, two days), and
// starts three to six hours before its story's time of day, so that the
// story comes after exactly that many whole days.
func (g *gen) shortAccounts(cfg EvalConfig) []storySpec {
	var out []storySpec
	n := 0
	for _, s := range EvalStories {
		for _, identity := range s.Identities {
			for hi, h := range cfg.Histories {
				a := cfg.Accounts + n
				acct := evalAccountID(a)
				day := h + 1 + (n*7+hi*5)%(cfg.Days-2-h)
				hm := storyHours[s.Name]
				if identity != IdentityExisting {
					hm[0] -= 2 // the new key or user is made first
				}
				from := day*24 + hm[0] - h*24 - 3 - g.rng.IntN(4)
				until := from + (h+1)*24
				users, roles := cast(acct, a, 1, cfg.Rate/2)
				for _, p := range append(users, roles...) {
					if p.kind == "AWSService" {
						continue // Config reads through its service-linked role here
					}
					if p.kind == "AssumedRole" {
						p.perHour /= 2 // a small application
					}
					p.fromHour, p.untilHour = from, until
					g.personas = append(g.personas, p)
				}
				out = append(out, storySpec{kind: s.Name, label: fmt.Sprintf("%s#%dd-%s", s.Name, h, identity), identity: identity,
					acct: g.newEvalAccount(acct, from, until, true), day: day, round: n, history: h})
				n++
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

// evalStories are each kind three times in the long-lived accounts:
// accounts in turn, after the two weeks of warm-up, at different hours,
// each time with another of the kind's attacker identities.
func (g *gen) evalStories(cfg EvalConfig) []storySpec {
	var out []storySpec
	for round := range 3 {
		for k, s := range EvalStories {
			a := (round + k) % cfg.Accounts
			day := 15 + (round*5+k)%(cfg.Days-16)
			out = append(out, storySpec{kind: s.Name, label: fmt.Sprintf("%s#%d", s.Name, round+1), identity: s.Identities[round%len(s.Identities)],
				acct: &evalAccount{id: evalAccountID(a)}, day: day, round: round})
		}
	}
	return out
}

// accounts generates each account's days, noise and stories, the accounts
// side by side: each has a generator of its own, seeded from the set's
// seed and its place, and their records and labels are gathered here in
// the accounts' order.
func (g *gen) accounts(accts []*evalAccount, stories []storySpec) {
	subs := make([]*gen, len(accts))
	for i, a := range accts {
		sub := &gen{cfg: g.cfg, rng: rand.New(rand.NewPCG(g.rng.Uint64(), uint64(i))), instances: g.instances,
			trail: map[fileKey][]record{}, noFlows: true, eval: true,
			storyInfo: map[string]Label{}, firstSeen: map[string]time.Time{}, storyFirst: map[string]time.Time{}}
		for _, p := range g.personas {
			if p.account == a.id {
				sub.personas = append(sub.personas, p)
			}
		}
		subs[i] = sub
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				sub, a := subs[i], accts[i]
				sub.background()
				sub.evalNoise([]*evalAccount{a})
				for _, s := range stories {
					if s.acct.id == a.id {
						sub.evalStory(s)
					}
				}
			}
		}()
	}
	for i := range subs {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, sub := range subs {
		maps.Copy(g.trail, sub.trail)
		g.labels = append(g.labels, sub.labels...)
		maps.Copy(g.storyInfo, sub.storyInfo)
		maps.Copy(g.firstSeen, sub.firstSeen)
		maps.Copy(g.storyFirst, sub.storyFirst)
	}
}

// user picks a person of the account by template name and team: one who
// neither joined late nor travels when there is one, else one who did not
// join late, else anyone (a late joiner has joined before the stories,
// which come after two weeks).
func (g *gen) user(acct, tmpl string, team int) *persona {
	var fallback, last, anyone *persona
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
		if last == nil && p.startDay == 0 {
			last = p
		}
		if anyone == nil {
			anyone = p
		}
	}
	return cmp.Or(fallback, last, anyone)
}

func (g *gen) role(acct, role string) *persona {
	for _, p := range g.personas {
		if p.account == acct && p.role == role {
			return p
		}
	}
	return nil
}

// newKey makes a new access key for user: a compromised admin (an IAM
// administrator of the account, other than user) creates it from the
// attacker's address. The call is part of the story.
func (g *gen) newKey(s storySpec, user *persona, t time.Time, ip, agent string) string {
	admin := g.admin(s.acct.id, user)
	key := "AKIA" + g.upper(16)
	ev := g.call(admin, t, "us-east-1", "iam", "CreateAccessKey", map[string]any{"userName": user.name})
	ev.ip, ev.agent = ip, agent
	ev.response = map[string]any{"accessKey": map[string]any{"accessKeyId": key, "status": "Active", "userName": user.name, "createDate": t.Format("Jan 2, 2006 3:04:05 PM")}}
	g.emit(ev, s.label)
	return key
}

// admin is an IAM administrator of the account other than not.
func (g *gen) admin(acct string, not *persona) *persona {
	if p := g.user(acct, "erin", 0); p != not {
		return p
	}
	return g.user(acct, "carol", 0)
}

var newUserNames = []string{"svc-backup", "deploy-bot", "support-tmp", "ops-automation", "s3-sync", "monitoring-svc"}

// newUser is an IAM user the account's trail has never seen. Half the
// time a compromised admin creates it from the attacker's address (the
// calls are part of the story), with policy attached unless the user is
// to escalate itself; otherwise it was made before the trail began.
func (g *gen) newUser(s storySpec, t time.Time, ip, agent string, policy bool) *persona {
	name := newUserNames[g.rng.IntN(len(newUserNames))] + "-" + strings.ToLower(g.upper(4))
	p := &persona{name: name, kind: "IAMUser", account: s.acct.id, keyID: "AKIA" + g.upper(16), ips: []string{ip}, agents: []string{agent}}
	if s.round%2 == 1 {
		return p // made before the trail began
	}
	admin := g.admin(s.acct.id, nil)
	steps := []struct {
		op     string
		params map[string]any
	}{
		{"CreateUser", map[string]any{"userName": name}},
		{"AttachUserPolicy", map[string]any{"userName": name, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}},
		{"CreateAccessKey", map[string]any{"userName": name}},
	}
	if !policy {
		steps[1].op, steps[1].params = "AddUserToGroup", map[string]any{"userName": name, "groupName": "developers"}
	}
	for i, st := range steps {
		at := t.Add(time.Duration(i*37) * time.Second)
		ev := g.call(admin, at, "us-east-1", "iam", st.op, st.params)
		ev.ip, ev.agent = ip, agent
		switch st.op {
		case "CreateUser":
			ev.response = map[string]any{"user": map[string]any{"path": "/", "userName": name, "userId": principalID("AIDA", name), "arn": "arn:aws:iam::" + s.acct.id + ":user/" + name, "createDate": at.Format("Jan 2, 2006 3:04:05 PM")}}
		case "CreateAccessKey":
			ev.response = map[string]any{"accessKey": map[string]any{"accessKeyId": p.keyID, "status": "Active", "userName": name, "createDate": at.Format("Jan 2, 2006 3:04:05 PM")}}
		}
		g.emit(ev, s.label)
	}
	return p
}

// evalStory injects one story. Its attacker is an existing principal, a
// new key of an existing user or a new user (s.identity); the new ones
// are made two hours before the story's time.
func (g *gen) evalStory(s storySpec) {
	g.storyInfo[s.label] = Label{Kind: s.kind, Identity: s.identity, Account: s.acct.id}
	hm := func(h, m int) time.Time { return g.day(s.day, h, m) }
	acct, label, round := s.acct.id, s.label, s.round
	start := storyHours[s.kind]
	setup := hm(start[0]-2, start[1])
	// attacker says who acts: the victim with its own key, with a new
	// key, or a new user; key is "" for the victim's own.
	attacker := func(victim *persona, ip, agent string, policy bool) (p *persona, key string) {
		switch s.identity {
		case IdentityNewKey:
			return victim, g.newKey(s, victim, setup, ip, agent)
		case IdentityNewPrincipal:
			return g.newUser(s, setup, ip, agent, policy), ""
		}
		return victim, ""
	}
	switch s.kind {
	case "key-compromise":
		ip := fmt.Sprintf("5.188.206.%d", 10+round%200)
		agent := "python-requests/2.31.0"
		p, key := attacker(g.user(acct, "dave", round+1), ip, agent, true)
		target := g.user(acct, "erin", 0)
		if s.identity != IdentityExisting {
			target = g.user(acct, "judy", 0)
		}
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
				params = map[string]any{"userName": target.name}
			}
			ev := g.call(p, hm(20, 40).Add(time.Duration(i*19)*time.Second), "us-east-1", svc, op, params)
			ev.ip, ev.agent, ev.keyID = ip, agent, key
			g.emit(ev, label)
		}
	case "privilege-escalation":
		victim := g.user(acct, "carol", round+2)
		ip, agent := victim.ips[0], cliAgent
		if s.identity != IdentityExisting {
			ip, agent = fmt.Sprintf("193.142.147.%d", 10+round%200), attackerAgent
		}
		p, key := attacker(victim, ip, agent, false)
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
		for i, st := range steps {
			ev := g.call(p, hm(11, 20).Add(time.Duration(i*47)*time.Second), "us-east-1", "iam", st.op, st.params)
			if s.identity != IdentityExisting {
				ev.ip, ev.agent = ip, agent
			}
			ev.keyID = key
			g.emit(ev, label)
		}
	case "data-exfiltration":
		if s.identity == IdentityExisting {
			p := g.role(acct, "ec2-app")
			for i := range 400 {
				ev := g.call(p, hm(2, 5).Add(time.Duration(i*4)*time.Second), "us-east-1", "s3", "GetObject",
					map[string]any{"bucketName": "acme-customer-data", "Host": "acme-customer-data.s3.amazonaws.com", "key": fmt.Sprintf("exports/customer-%05d.csv.gz", 10000+i)})
				ev.data, ev.sessionName = true, g.instances[round%4].id
				g.emit(ev, label)
			}
			break
		}
		// a new key of the analyst's, or a new user, from a rented server
		ip, agent := fmt.Sprintf("45.137.21.%d", 100+round%150), "aws-cli/2.13.5 Python/3.11.4 Linux/5.15.0-86-generic exe/x86_64.ubuntu.22 prompt/off command/s3.cp"
		p, key := attacker(g.user(acct, "dave", round+1), ip, agent, true)
		for i := range 400 {
			ev := g.call(p, hm(2, 5).Add(time.Duration(i*4)*time.Second), "us-east-1", "s3", "GetObject",
				map[string]any{"bucketName": "acme-customer-data", "Host": "acme-customer-data.s3.amazonaws.com", "key": fmt.Sprintf("exports/customer-%05d.csv.gz", 10000+i)})
			ev.data, ev.ip, ev.agent, ev.keyID = true, ip, agent, key
			g.emit(ev, label)
		}
	case "cryptomining":
		ip := fmt.Sprintf("103.152.220.%d", 40+round%200)
		p, key := attacker(g.user(acct, "frank", round+1), ip, boto3Agent, true)
		ev := g.call(p, hm(9, 12), "us-east-1", "ec2", "DescribeRegions", nil)
		ev.ip, ev.agent, ev.keyID = ip, boto3Agent, key
		g.emit(ev, label)
		for i, region := range []string{"ap-southeast-1", "sa-east-1", "eu-north-1", "ap-southeast-1", "sa-east-1", "eu-north-1"} {
			ev := g.call(p, hm(9, 14).Add(time.Duration(i*31)*time.Second), region, "ec2", "RunInstances",
				map[string]any{"instanceType": "p3.16xlarge", "instancesSet": map[string]any{"items": []any{map[string]any{"imageId": "ami-0b5eea76982371e91", "minCount": 8, "maxCount": 8}}}})
			ev.ip, ev.agent, ev.keyID = ip, boto3Agent, key
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
