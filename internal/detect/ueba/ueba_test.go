package ueba

import (
	"bytes"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
)

var t0 = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

// call makes a CloudTrail event by an IAM user.
func call(user, op string, at time.Time, ip string) event.Event {
	svc, name, _ := strings.Cut(op, ":")
	ev := event.Event{
		ID: fmt.Sprintf("%s-%s-%d", user, name, at.UnixNano()), Source: event.SourceCloudTrail, Time: at,
		Cloud: event.Cloud{Account: "111122223333", Region: "eu-west-1"},
		Actor: event.Actor{Type: "IAMUser", ARN: "arn:aws:iam::111122223333:user/" + user, UserName: user, Account: "111122223333", AccessKeyID: "AKIA" + strings.ToUpper(user)},
		API:   event.API{Service: svc + ".amazonaws.com", Operation: name},
		Src:   event.Endpoint{IP: netip.MustParseAddr(ip), UserAgent: "aws-cli/2.15.30 md/awscrt"},
	}
	return ev
}

// office simulates weeks of ordinary work: each user calls their usual
// APIs from the office in working hours. It returns the engine and the
// time after the last event.
func office(t *testing.T, e *Engine, users []string, days int) time.Time {
	t.Helper()
	ops := []string{"s3:ListBuckets", "logs:FilterLogEvents", "lambda:GetFunction", "dynamodb:DescribeTable", "sts:GetCallerIdentity"}
	var at time.Time
	for d := range days {
		for h := 9; h < 17; h++ {
			for i, u := range users {
				for k := range 6 {
					at = t0.Add(time.Duration(d*24+h)*time.Hour + time.Duration(k*9+i)*time.Minute)
					ev := call(u, ops[(k+i+d)%len(ops)], at, fmt.Sprintf("203.0.113.%d", 10+i%3))
					if f := e.Observe(&ev); f != nil {
						t.Fatalf("day %d: ordinary work alerted: %s (%s)", d, f.Title, f.Explanation[0].Detail)
					}
				}
			}
		}
	}
	return t0.Add(time.Duration(days) * 24 * time.Hour)
}

func TestNoveltyFromAnUnknownNetworkAlerts(t *testing.T) {
	e := New(Config{Warmup: 7 * 24 * time.Hour})
	users := []string{"alice", "bob", "carol", "dave", "erin", "frank"}
	end := office(t, e, users, 14)
	// alice's key, from a network nobody uses, at night, doing things she
	// never does.
	ids := map[string]bool{}
	var last *detect.Finding
	var anomalous []string
	for i, op := range []string{"sts:GetCallerIdentity", "iam:ListUsers", "iam:ListRoles", "iam:CreateAccessKey"} {
		ev := call("alice", op, end.Add(3*time.Hour+time.Duration(i*20)*time.Second), "198.51.100.66")
		ev.Src.UserAgent = "python-requests/2.31"
		if f := e.Observe(&ev); f != nil {
			ids[f.ID] = true
			last = f
			anomalous = append(anomalous, ev.ID)
			if f.Source != "ueba" || f.Score < 4 || len(f.Explanation) == 0 || f.Actor.UserName != "alice" {
				t.Errorf("finding: %+v", f)
			}
			text := ""
			for _, x := range f.Explanation {
				text += x.Detail + "\n"
			}
			if !strings.Contains(text, "198.51.100.0/24") || !strings.Contains(text, "alice") {
				t.Errorf("the explanation does not name the network and the user:\n%s", text)
			}
		}
	}
	// One session: its finding grows under one id, holding every
	// anomalous call.
	if len(ids) != 1 || len(anomalous) < 2 || !slices.Equal(last.EventIDs, anomalous) || last.Count != len(anomalous) {
		t.Fatalf("want one session finding growing over the anomalous calls %v; ids %v, last %v (count %d)", anomalous, ids, last.EventIDs, last.Count)
	}
	if st := e.Stats(); st.Merged != int64(len(anomalous)-1) || st.Findings != 1 || st.Principals != len(users) {
		t.Errorf("stats %+v: want the later anomalies merged into the session's finding", st)
	}
}

// A value rare for the user but common among peers scores lower than one
// nobody uses.
func TestPeerSmoothing(t *testing.T) {
	user := level{c: 0, n: 500, d: 3}
	commonForPeers := level{c: 4000, n: 10000, d: 10}
	unknown := level{c: 0, n: 10000, d: 10}
	acct := level{c: 4000, n: 20000, d: 20}
	a := surprise(mix(user, commonForPeers, acct))
	b := surprise(mix(user, unknown, level{c: 0, n: 20000, d: 20}))
	if a >= 1 || b < 2 || a >= b {
		t.Errorf("new to the user but common for peers: %.2f; new to everyone: %.2f", a, b)
	}
	// A new principal is judged by its peers from its first event.
	if s := surprise(mix(level{}, unknown, level{c: 0, n: 20000, d: 20})); s < 2 {
		t.Errorf("a new principal doing what no peer does scores %.2f", s)
	}
}

func TestWarmupHoldsBackThenAFreshIdentityIsScored(t *testing.T) {
	e := New(Config{Warmup: 7 * 24 * time.Hour})
	// Inside the warm-up, an odd but harmless call waits in its session;
	// a first high-risk one in the same session makes the session's
	// finding, holding both, at low severity, marked immature.
	office(t, e, []string{"alice", "bob", "carol", "dave"}, 3)
	oddCall := func(user string, at time.Time) event.Event {
		ev := call(user, "ec2:DescribeRegions", at, "198.51.100.66")
		ev.Src.UserAgent = "python-requests/2.31"
		return ev
	}
	odd := oddCall("alice", t0.Add(3*24*time.Hour+11*time.Hour))
	if f := e.Observe(&odd); f != nil {
		t.Fatalf("alerted during warm-up: %s", f.Title)
	}
	if e.Open() != 1 {
		t.Fatalf("the odd call is not an anomaly waiting in its session (%d open)", e.Open())
	}
	ev := call("alice", "iam:CreateAccessKey", odd.Time.Add(time.Minute), "198.51.100.66")
	ev.Src.UserAgent = "python-requests/2.31"
	f := e.Observe(&ev)
	if f == nil || f.Level != "low" || f.Explanation[len(f.Explanation)-1].Value != "immature" || !slices.Equal(f.EventIDs, []string{odd.ID, ev.ID}) {
		t.Fatalf("a first CreateAccessKey from a new network during warm-up: %+v", f)
	}
	// bob's odd call alone: held back when his session ends.
	odd = oddCall("bob", t0.Add(3*24*time.Hour+13*time.Hour))
	if f := e.Observe(&odd); f != nil {
		t.Fatalf("alerted during warm-up: %s", f.Title)
	}
	if st := e.Stats(); st.Held != 0 || st.Findings != 1 {
		t.Fatalf("stats %+v: bob's session is still open", st)
	}
	if fs := e.Flush(nil); len(fs) != 0 {
		t.Errorf("Flush without Config.Final returned %d findings", len(fs))
	}
	if st := e.Stats(); st.Held != 1 || e.Open() != 0 {
		t.Errorf("stats %+v, %d open: bob's odd call was not held back", st, e.Open())
	}
	// Far rarer than the threshold asks, an anomaly needs no high-risk
	// action: carol at three in the morning, from a new network, with a
	// new client, is reported, low and immature.
	strong := oddCall("carol", t0.Add(4*24*time.Hour+3*time.Hour))
	if f := e.Observe(&strong); f == nil || f.Level != "low" || f.Explanation[len(f.Explanation)-1].Value != "immature" {
		t.Errorf("a strong anomaly during warm-up: %+v", f)
	}
	e2 := New(Config{Warmup: 7 * 24 * time.Hour})
	end := office(t, e2, []string{"alice", "bob", "carol", "dave"}, 10)
	// mallory has no history: her first events are scored against her
	// peers, and her peers never do this.
	var got int
	for i, op := range []string{"iam:ListUsers", "iam:CreateUser", "iam:AttachUserPolicy", "iam:CreateAccessKey"} {
		ev := call("mallory", op, end.Add(2*time.Hour+time.Duration(i)*time.Minute), "198.51.100.66")
		ev.Src.UserAgent = "python-requests/2.31"
		if f := e2.Observe(&ev); f != nil {
			got++
		}
	}
	if got == 0 {
		t.Error("a fresh identity doing what no peer does got a free pass")
	}
}

func TestVolumeSpike(t *testing.T) {
	// The spike grows the session's finding that its first novel call
	// opened.
	e := New(Config{Warmup: 24 * time.Hour})
	end := office(t, e, []string{"alice", "bob", "carol"}, 10)
	var f0 *struct{ title, detail string }
	for i := range 300 {
		ev := call("bob", "s3:GetObject", end.Add(10*time.Hour+time.Duration(i)*5*time.Second), "203.0.113.11")
		ev.Resources = []event.Resource{{Type: "AWS::S3::Bucket", Name: "finance"}}
		if f := e.Observe(&ev); f != nil && f0 == nil {
			for _, x := range f.Explanation {
				if x.Selection == "volume" {
					f0 = &struct{ title, detail string }{f.Title, x.Detail}
				}
			}
		}
	}
	if f0 == nil || !strings.Contains(f0.detail, "data reads") {
		t.Fatalf("300 reads in 25 minutes by someone who never reads: no volume finding (%v)", f0)
	}
}

func TestPoissonTail(t *testing.T) {
	for _, c := range []struct{ x, l, want float64 }{{10, 2, 4.65e-5}, {3, 1, 0.0803}, {50, 10, 1.85e-19}} {
		if got := poissonTail(c.x, c.l); math.Abs(math.Log10(got)-math.Log10(c.want)) > 0.05 {
			t.Errorf("P(X>=%v | %v) = %.3g, want %.3g", c.x, c.l, got, c.want)
		}
	}
	if poissonTail(1, 5) != 1 {
		t.Error("below the mean the tail is 1")
	}
}

func TestImpossibleTravel(t *testing.T) {
	e := New(Config{Warmup: time.Hour, MatureEvents: -1})
	end := office(t, e, []string{"alice", "bob"}, 3)
	london := call("alice", "signin:ConsoleLogin", end.Add(8*time.Hour), "203.0.113.10")
	london.Src.Geo = event.Geo{Country: "GB", Lat: 51.5, Lon: -0.12, Located: true, RadiusKm: 20}
	e.Observe(&london)
	lagos := call("alice", "signin:ConsoleLogin", end.Add(8*time.Hour+30*time.Minute), "41.203.70.20")
	lagos.Src.Geo = event.Geo{Country: "NG", Lat: 6.52, Lon: 3.38, Located: true, RadiusKm: 20}
	f := e.Observe(&lagos)
	if f == nil || f.RuleID != "ueba.geography" || !strings.Contains(f.Explanation[0].Detail, "GB → NG") {
		t.Fatalf("London then Lagos in 30 minutes: %+v", f)
	}
}

func TestLateEventsAreCountedNotScored(t *testing.T) {
	e := New(Config{Lateness: time.Hour})
	a := call("alice", "s3:ListBuckets", t0.Add(10*time.Hour), "203.0.113.10")
	b := call("alice", "s3:ListBuckets", t0.Add(8*time.Hour), "203.0.113.10")
	e.Observe(&a)
	e.Observe(&b)
	if st := e.Stats(); st.Late != 1 || st.Events != 2 {
		t.Errorf("stats %+v", st)
	}
	flow := event.Event{Source: event.SourceVPCFlow, Time: t0}
	e.Observe(&flow)
	if e.Stats().Skipped != 1 {
		t.Error("an event without a principal is not counted as skipped")
	}
}

// Saving and loading keeps everything: the reloaded engine saves the same
// bytes and goes on scoring exactly as the original.
func TestStateRoundTrip(t *testing.T) {
	e := New(Config{Warmup: 24 * time.Hour})
	end := office(t, e, []string{"alice", "bob", "carol"}, 4)
	var buf bytes.Buffer
	if err := e.Save(&buf); err != nil {
		t.Fatal(err)
	}
	saved := buf.Bytes()
	e2, err := Load(bytes.NewReader(saved), e.Config())
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := e2.Save(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(saved, again.Bytes()) {
		t.Fatal("a loaded state does not save to the same bytes")
	}
	for i, op := range []string{"iam:ListUsers", "iam:CreateAccessKey", "s3:ListBuckets"} {
		ev := call("carol", op, end.Add(time.Duration(i)*time.Minute+4*time.Hour), "198.51.100.9")
		f1, f2 := e.Observe(&ev), e2.Observe(&ev)
		if (f1 == nil) != (f2 == nil) || f1 != nil && (f1.ID != f2.ID || f1.Score != f2.Score) {
			t.Fatalf("event %d: original %+v, reloaded %+v", i, f1, f2)
		}
	}
	for _, bad := range [][]byte{nil, []byte("not a state"), saved[:len(saved)/2]} {
		if _, err := Load(bytes.NewReader(bad), Config{}); err == nil {
			t.Errorf("a damaged state (%d bytes) loaded", len(bad))
		}
	}
}

func TestClientFamily(t *testing.T) {
	for ua, want := range map[string]string{
		"aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/macos": "aws-cli",
		"Boto3/1.34.84 md/Botocore#1.34.84":                 "boto3",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)":   "console",
		"APN/1.0 HashiCorp/1.0 Terraform/1.9.5":             "terraform",
		"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5":      "aws-sdk-go",
		"python-requests/2.31.0":                            "python-requests",
		"":                                                  "",
	} {
		if got := clientFamily(ua); got != want {
			t.Errorf("%q: %q, want %q", ua, got, want)
		}
	}
}

func FuzzLoad(f *testing.F) {
	e := New(Config{})
	ev := call("alice", "s3:ListBuckets", t0, "203.0.113.10")
	e.Observe(&ev)
	var buf bytes.Buffer
	_ = e.Save(&buf)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Load(bytes.NewReader(data), Config{})
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := e.Save(&out); err != nil {
			t.Fatal(err)
		}
	})
}

// The state layout of a sketch is its little-endian encoding, field by
// field, with no padding.
func TestSketchLayout(t *testing.T) {
	var s sketch
	s.add(hash64("a"))
	s.add(hash64("b"))
	w := &writer{}
	w.buf = w.buf[:0]
	saved := littleEndian
	littleEndian = false
	w.sketch(&s)
	littleEndian = saved
	if !littleEndian {
		t.Skip("a big-endian machine writes field by field")
	}
	if !bytes.Equal(w.buf, sketchBytes(&s)) || len(w.buf) != 8*bloomWords+8*topK+8 {
		t.Fatalf("the sketch's memory (%d bytes) is not its encoding (%d bytes)", len(sketchBytes(&s)), len(w.buf))
	}
}

func TestWeekdays(t *testing.T) {
	monday := t0.Unix() / 86400 // 2026-11-02
	if dayOfWeek(monday) != 1 || dayOfWeek(monday+6) != 0 {
		t.Fatalf("2026-11-02 is weekday %d, want 1 (Monday)", dayOfWeek(monday))
	}
	for _, c := range []struct {
		from, to int64
		d        int
		want     int64
	}{{0, 7, 1, 1}, {0, 14, 6, 2}, {0, 3, 6, 0}, {5, 6, 6, 1}, {0, 10, 1, 2}, {3, 3, 1, 0}} {
		if got := weekdays(monday+c.from, monday+c.to, c.d); got != c.want {
			t.Errorf("weekday %d in days [%d, %d) after a Monday: %d, want %d", c.d, c.from, c.to, got, c.want)
		}
	}
}

// Weekend work by someone who never works weekends scores higher than the
// same hour's work on a weekday.
func TestHourOfWeek(t *testing.T) {
	e := New(Config{})
	// Three weeks of weekdays only, 9 to 17.
	for d := range 21 {
		day := t0.Add(time.Duration(d) * 24 * time.Hour)
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for h := 9; h < 17; h++ {
			for k := range 10 {
				ev := call("alice", "s3:ListBuckets", day.Add(time.Duration(h)*time.Hour+time.Duration(k)*time.Minute), "203.0.113.10")
				e.Observe(&ev)
			}
		}
	}
	ent := e.principals["arn:aws:iam::111122223333:user/alice"]
	grp := e.groups[ent.group]
	weekday := t0.Add(21*24*time.Hour+10*time.Hour).Unix() / 3600 // a Monday, 10:00
	weekend := t0.Add(26*24*time.Hour+10*time.Hour).Unix() / 3600 // a Saturday, 10:00
	lw, _ := e.expected(ent, grp, mEvents, weekday)
	le, _ := e.expected(ent, grp, mEvents, weekend)
	if !(lw > 5*le) {
		t.Errorf("expected calls at 10:00: %.2f on a Monday, %.2f on a Saturday", lw, le)
	}
}

// TestAWSServicesAreNotPeople: AWS service principals and calls AWS makes
// on a person's behalf learn in classes of their own: a log-delivery
// service failing on every API it touches raises no finding, and a
// person's profile does not grow with what CloudFormation did for them.
func TestAWSServicesAreNotPeople(t *testing.T) {
	e := New(Config{Warmup: time.Nanosecond})
	end := office(t, e, []string{"alice", "bob", "carol", "dave"}, 10)
	alice := e.principals["arn:aws:iam::111122223333:user/alice"]
	if alice == nil {
		t.Fatal("no profile for alice")
	}
	before := alice.n
	ops := []string{"s3:PutObject", "logs:CreateLogStream", "kms:GenerateDataKey", "sns:Publish", "sqs:SendMessage", "firehose:PutRecord", "config:PutEvaluations", "iam:GetRole"}
	for i := range 120 {
		op := ops[i%len(ops)]
		svc, name, _ := strings.Cut(op, ":")
		at := end.Add(2*time.Hour + time.Duration(i)*10*time.Second)
		ev := event.Event{ID: fmt.Sprintf("svc-%d", i), Source: event.SourceCloudTrail, Time: at,
			Cloud: event.Cloud{Account: "111122223333", Region: "ap-southeast-2"},
			Actor: event.Actor{Type: "AWSService", InvokedBy: "delivery.logs.amazonaws.com"},
			API:   event.API{Service: svc + ".amazonaws.com", Operation: name, ErrorCode: "AccessDenied"},
			Src:   event.Endpoint{Domain: "delivery.logs.amazonaws.com", UserAgent: "delivery.logs.amazonaws.com"}}
		if f := e.Observe(&ev); f != nil {
			t.Fatalf("a service principal's failures made a finding: %s", f.Title)
		}
		// CloudFormation creating a stack's resources for alice, from
		// its own address, in a region she never uses.
		ev2 := call("alice", "iam:CreateRole", at.Add(time.Second), "198.51.100.7")
		ev2.Actor.InvokedBy = "cloudformation.amazonaws.com"
		ev2.Cloud.Region = "ap-southeast-2"
		ev2.Src = event.Endpoint{Domain: "cloudformation.amazonaws.com", UserAgent: "cloudformation.amazonaws.com"}
		if f := e.Observe(&ev2); f != nil {
			t.Fatalf("a call AWS made on alice's behalf made a finding: %s", f.Title)
		}
	}
	if alice.n != before {
		t.Errorf("alice's profile grew from %d to %d calls with what AWS did for her", before, alice.n)
	}
	st := e.Stats()
	if st.Services != 240 || st.Accounts != 1 {
		t.Errorf("services %d (want 240), accounts %d (want 1)", st.Services, st.Accounts)
	}
	if st.ServiceAnomalies == 0 {
		t.Error("a service failing on eight APIs at once is not even an anomaly of its class")
	}
	// Alice herself doing the same stays judged as a person.
	ev := call("alice", "iam:CreateRole", end.Add(3*time.Hour), "198.51.100.66")
	ev.Src.UserAgent = "python-requests/2.31"
	ev.Cloud.Region = "ap-southeast-2"
	if f := e.Observe(&ev); f == nil {
		t.Error("alice creating a role from a new network, client and region did not alert")
	}
}

func TestLevelWithout(t *testing.T) {
	own := level{c: 3, n: 10, d: 4}
	if got := own.without(level{c: 5, n: 100, d: 9}); got != (level{c: 2, n: 90, d: 9}) {
		t.Errorf("got %+v", got)
	}
	// A group of one: what is left of it is empty, so the account judges.
	if got := own.without(level{c: 3, n: 10, d: 4}); got.n != 0 || got.tail() != 1 {
		t.Errorf("got %+v, tail %v", got, got.tail())
	}
}

// TestReconShapeOfDenials: denials spread over several services in
// minutes are scored by their shape, below any hourly count; the same
// API retried after a denial is not recon.
func TestReconShapeOfDenials(t *testing.T) {
	recon := func(ops []string) (found bool, title string) {
		// The session's finding as it grows.
		e := New(Config{Warmup: time.Nanosecond, MatureEvents: -1})
		end := office(t, e, []string{"alice", "bob", "carol", "dave"}, 10)
		for i, op := range ops {
			ev := call("bob", op, end.Add(10*time.Hour+time.Duration(i)*50*time.Second), "203.0.113.11")
			ev.API.ErrorCode = "AccessDenied"
			if f := e.Observe(&ev); f != nil {
				for _, x := range f.Explanation {
					if x.Selection == "recon" {
						return true, f.Title
					}
				}
			}
		}
		return false, ""
	}
	if ok, _ := recon([]string{"s3:ListBuckets", "ec2:DescribeInstances", "lambda:ListFunctions", "iam:ListRoles", "secretsmanager:ListSecrets"}); !ok {
		t.Error("denied on five services in four minutes: no recon factor in a finding")
	}
	if ok, title := recon([]string{"logs:FilterLogEvents", "logs:FilterLogEvents", "logs:FilterLogEvents", "logs:FilterLogEvents"}); ok {
		t.Errorf("one API retried after denials scored as recon: %s", title)
	}
}

// TestIdentityFactors: a principal the account never saw, a long-term key
// new to its user, and a first GetCallerIdentity from a new network are
// factors of their own once the account has a history to judge by; a
// known principal with its known key from its office is none of them.
func TestIdentityFactors(t *testing.T) {
	e := New(Config{Warmup: time.Nanosecond, MatureEvents: -1})
	end := office(t, e, []string{"alice", "bob", "carol", "dave"}, 10)
	identity := func(ev event.Event) []string {
		t.Helper()
		key, kind := principalKey(&ev)
		ent := e.principals[key]
		if ent == nil {
			ent = &entity{key: key, name: displayName(&ev), kind: kind}
		}
		acct := e.accounts[ev.Cloud.Account]
		grp := e.groups[ev.Cloud.Account+"/"+kind]
		var hs [nFeat]uint64
		var has [nFeat]bool
		ts := ev.Time.Unix()
		e.featureHashes(&ev, ent, ts, &hs, &has)
		var got []string
		for _, f := range e.score(&ev, ent, grp, acct, ts, &hs, &has, nil) {
			if f.model == "identity" {
				got = append(got, f.value)
			}
		}
		e.Observe(&ev)
		return got
	}
	at := end.Add(10 * time.Hour)
	if got := identity(call("mallory", "s3:ListBuckets", at, "203.0.113.10")); !slices.Equal(got, []string{"new principal"}) {
		t.Errorf("a never-seen principal: %v", got)
	}
	stolen := call("bob", "s3:ListBuckets", at.Add(time.Minute), "203.0.113.11")
	stolen.Actor.AccessKeyID = "AKIANEWKEYFORBOB0000"
	if got := identity(stolen); !slices.Equal(got, []string{"new access key"}) {
		t.Errorf("bob with a key he never used: %v", got)
	}
	whoami := call("carol", "sts:GetCallerIdentity", at.Add(2*time.Minute), "198.51.100.66")
	if got := identity(whoami); !slices.Equal(got, []string{"who-am-I from a new network"}) {
		t.Errorf("carol checking who she is from a new network: %v", got)
	}
	if got := identity(call("dave", "sts:GetCallerIdentity", at.Add(3*time.Minute), "203.0.113.13")); len(got) != 0 {
		t.Errorf("dave, his key, his office: %v", got)
	}
}

// TestNoPeersSaysSo: a principal alone of its type is judged by its
// account, and its explanation says so rather than "0 of 0 peers".
func TestNoPeersSaysSo(t *testing.T) {
	e := New(Config{Warmup: time.Nanosecond, MatureEvents: -1})
	end := office(t, e, []string{"alice", "bob", "carol", "dave"}, 10)
	var details []string
	for i, op := range []string{"iam:ListUsers", "iam:CreateUser", "iam:AttachUserPolicy"} {
		ev := call("x", op, end.Add(10*time.Hour+time.Duration(i)*time.Minute), "198.51.100.66")
		ev.Actor = event.Actor{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/ops/s", UserName: "ops", Account: "111122223333",
			AccessKeyID: "ASIAOPS", SessionIssuerARN: "arn:aws:iam::111122223333:role/ops", SessionName: "s"}
		if f := e.Observe(&ev); f != nil {
			for _, x := range f.Explanation {
				details = append(details, x.Detail)
			}
		}
	}
	joined := strings.Join(details, "\n")
	if !strings.Contains(joined, "no other AssumedRole in 111122223333 to compare with") || strings.Contains(joined, "of 0 peers") {
		t.Errorf("explanations:\n%s", joined)
	}
}

// TestPrincipalBaselineIsExplained: a finding says whether the
// principal's own history judged it or, too short yet, its peers and
// account did.
func TestPrincipalBaselineIsExplained(t *testing.T) {
	e := New(Config{Warmup: time.Nanosecond, MatureEvents: -1})
	end := office(t, e, []string{"alice", "bob", "carol", "dave"}, 10)
	baseline := func(user string, at time.Time) string {
		ev := call(user, "iam:CreateAccessKey", at, "198.51.100.66")
		ev.Src.UserAgent = "python-requests/2.31"
		f := e.Observe(&ev)
		if f == nil {
			t.Fatalf("%s: no finding", user)
		}
		for _, x := range f.Explanation {
			if x.Selection == "baseline" && x.Field == "principal" {
				return x.Value
			}
		}
		return ""
	}
	if got := baseline("alice", end.Add(10*time.Hour)); got != "own" {
		t.Errorf("alice, 10 days of history: %q", got)
	}
	if got := baseline("mallory", end.Add(11*time.Hour)); got != "peers and account" {
		t.Errorf("mallory, no history: %q", got)
	}
}

// TestSessions: a console sign-in's temporary keys, which change from
// call to call, are one session of the user's; two role sessions (two
// ASIA keys) are two; a session ends after the idle gap.
func TestSessions(t *testing.T) {
	e := New(Config{Warmup: time.Nanosecond, MatureEvents: -1, Final: true})
	end := office(t, e, []string{"alice", "bob", "carol", "dave"}, 10)
	at := end.Add(3 * time.Hour)
	var sent []string
	for i, op := range []string{"iam:ListUsers", "iam:ListRoles", "iam:CreateUser", "iam:AttachUserPolicy", "iam:CreateAccessKey"} {
		ev := call("alice", op, at.Add(time.Duration(i)*time.Minute), "198.51.100.66")
		ev.Actor.AccessKeyID = fmt.Sprintf("ASIACONSOLE%09d", i)
		ev.Src.UserAgent = "Mozilla/5.0 (X11; Linux x86_64)"
		e.Observe(&ev)
		sent = append(sent, ev.ID)
	}
	role := func(key string, op string, at time.Time) {
		ev := call("x", op, at, "198.51.100.77")
		ev.Actor = event.Actor{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/ops/" + key, UserName: "ops", Account: "111122223333",
			AccessKeyID: key, SessionIssuerARN: "arn:aws:iam::111122223333:role/ops", SessionName: key}
		ev.Src.UserAgent = "python-requests/2.31"
		e.Observe(&ev)
	}
	role("ASIAOPSONE", "iam:CreateAccessKey", at.Add(10*time.Minute))
	role("ASIAOPSTWO", "iam:CreateAccessKey", at.Add(11*time.Minute))
	// bob, twice, two hours apart: the gap ends his first session.
	for _, d := range []time.Duration{20 * time.Minute, 140 * time.Minute} {
		ev := call("bob", "iam:CreateLoginProfile", at.Add(d), "198.51.100.88")
		ev.Src.UserAgent = "python-requests/2.31"
		e.Observe(&ev)
	}
	found := e.Flush(nil)
	per := map[string]int{}
	for _, f := range found {
		per[f.Actor.UserName]++
		if f.Actor.UserName == "alice" && !slices.Equal(f.EventIDs, sent[len(sent)-len(f.EventIDs):]) {
			t.Errorf("alice's session holds %v, want the last of %v", f.EventIDs, sent)
		}
	}
	if per["alice"] != 1 || per["ops"] != 2 || per["bob"] != 2 || len(found) != 5 {
		t.Errorf("session findings per principal %v, want alice 1 (one console sign-in), ops 2 (two role sessions), bob 2 (a gap of two hours)", per)
	}
}

// TestBurstIsOneSessions: the unusual calls of one role session (one
// instance's credentials) join the score of that session's next calls,
// not of another session of the role: one instance's burst says nothing
// of another's calls. A user's burst is the user's, whichever key or
// console session makes the calls.
func TestBurstIsOneSessions(t *testing.T) {
	e := New(Config{Warmup: time.Nanosecond, MatureEvents: -1, Final: true})
	role := func(key, op string, at time.Time) event.Event {
		ev := call("x", op, at, "203.0.113.20")
		ev.Actor = event.Actor{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/app/" + key, UserName: "app", Account: "111122223333",
			AccessKeyID: key, SessionIssuerARN: "arn:aws:iam::111122223333:role/app", SessionName: key}
		ev.Src.UserAgent = "aws-sdk-go-v2/1.30.3"
		e.Observe(&ev)
		return ev
	}
	// The role's instances read their usual things for ten days, one
	// session a day; the users work beside them.
	ops := []string{"s3:GetObject", "sqs:ReceiveMessage", "dynamodb:GetItem", "kms:Decrypt"}
	for d := range 10 {
		for h := 9; h < 17; h++ {
			for k := range 6 {
				role(fmt.Sprintf("ASIAAPPDAY%02d", d), ops[(k+d)%len(ops)], t0.Add(time.Duration(d*24+h)*time.Hour+time.Duration(k*9)*time.Minute))
			}
		}
	}
	end := office(t, e, []string{"alice", "bob", "carol", "dave"}, 10)
	at := end.Add(3 * time.Hour)
	hasSession := func() bool {
		return slices.ContainsFunc(e.factors, func(f factor) bool { return f.model == "session" })
	}
	recon := []string{"iam:ListUsers", "iam:ListRoles", "iam:ListPolicies", "iam:GetAccountAuthorizationDetails"}
	for i, op := range recon {
		role("ASIAAPPONE", op, at.Add(time.Duration(i)*time.Minute))
	}
	if !hasSession() {
		t.Fatalf("the fourth unusual call of one role session carries no session factor: %+v", e.factors)
	}
	role("ASIAAPPTWO", "s3:GetObject", at.Add(4*time.Minute))
	if hasSession() {
		t.Errorf("another session's ordinary call carries the first session's burst: %+v", e.factors)
	}
	role("ASIAAPPONE", "iam:CreateUser", at.Add(5*time.Minute))
	if !hasSession() {
		t.Errorf("the burst's own session lost it to another session's call: %+v", e.factors)
	}
	// alice's long-term key, then her console session: one person's burst.
	for i, op := range recon {
		ev := call("alice", op, at.Add(time.Duration(10+i)*time.Minute), "203.0.113.10")
		if i == len(recon)-1 {
			ev.Actor.AccessKeyID = "ASIACONSOLEALICE"
			ev.Src.UserAgent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"
		}
		e.Observe(&ev)
	}
	if !hasSession() {
		t.Errorf("alice's console call does not carry her key's burst: %+v", e.factors)
	}
}
