package correlate

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
)

const acct = "111122223333"

func user(name, key string) event.Actor {
	return event.Actor{Type: "IAMUser", ARN: "arn:aws:iam::" + acct + ":user/" + name, PrincipalID: "AIDA" + name, Account: acct, UserName: name, AccessKeyID: key}
}

// call is a CloudTrail management event as AWS documents its shape, with
// the record kept as the decoder keeps it.
func call(id string, at time.Time, a event.Actor, ip, op, resp string, res ...event.Resource) *event.Event {
	return callWith(id, at, a, ip, op, `null`, resp, res...)
}

func callWith(id string, at time.Time, a event.Actor, ip, op, req, resp string, res ...event.Resource) *event.Event {
	rec := fmt.Sprintf(`{"eventVersion":"1.09","eventID":%q,"eventTime":%q,"eventName":%q,"awsRegion":"us-east-1","sourceIPAddress":%q,"recipientAccountId":%q,"requestParameters":%s,"responseElements":%s}`,
		id, at.Format(time.RFC3339), op, ip, acct, req, resp)
	return &event.Event{ID: id, Time: at, Actor: a, Src: event.Endpoint{IP: netip.MustParseAddr(ip)}, API: event.API{Operation: op},
		Cloud: event.Cloud{Provider: "aws", Account: acct, Region: "us-east-1"}, Resources: res, Raw: event.Raw{Format: event.RawJSON, Data: []byte(rec)}}
}

func findingOf(e *event.Event, id, title, level string) *detect.Finding {
	f := detect.FromEvent(e)
	f.ID, f.Title, f.Level = id, title, level
	return &f
}

// flowFinding is a finding on a flow record: the instance (flow logs v3+)
// or only the interface (v2) it was seen on.
func flowFinding(id string, at time.Time, res event.Resource, src string) *detect.Finding {
	return &detect.Finding{ID: id, Time: at, Title: "Traffic To A Mining Pool Port", Level: "high", SrcIP: src,
		Cloud: event.Cloud{Account: acct, Region: "us-east-1"}, Resources: []event.Resource{res}}
}

func instanceRes(id string) event.Resource {
	return event.Resource{Type: "AWS::EC2::Instance", UID: "arn:aws:ec2:us-east-1:" + acct + ":instance/" + id, Name: id}
}

const runResponse = `{"instancesSet":{"items":[
 {"instanceId":"i-0aaa0000000000001","privateIpAddress":"10.0.1.5","networkInterfaceSet":{"items":[{"networkInterfaceId":"eni-0aaa0000000000001","privateIpAddress":"10.0.1.5"}]},"groupSet":{"items":[{"groupId":"sg-0web","groupName":"web"}]}},
 {"instanceId":"i-0bbb0000000000002","privateIpAddress":"10.0.1.6","networkInterfaceSet":{"items":[{"networkInterfaceId":"eni-0bbb0000000000002","privateIpAddress":"10.0.1.6"}]},"groupSet":{"items":[{"groupId":"sg-0web","groupName":"web"}]}}]},
 "ownerId":"111122223333"}`

// TestStoryAcrossSources: a stolen key mints a key for another user, whose
// new key launches instances that then talk to mining pools; one of them
// is seen only by its interface (flow logs v2). One incident, whose story
// names both users and the instances.
func TestStoryAcrossSources(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	g := NewGraph(0)
	c := New(time.Hour)
	c.Graph = g
	frank, erin := user("frank", "AKIAFRANK00000000001"), user("erin", "AKIANEWKEY0000000002")
	mint := callWith("e1", t0, frank, "45.137.21.9", "CreateAccessKey", `{"userName":"erin"}`, `{"accessKey":{"accessKeyId":"AKIANEWKEY0000000002","status":"Active","userName":"erin"}}`,
		event.Resource{Type: "AWS::IAM::User", UID: "arn:aws:iam::" + acct + ":user/erin", Name: "erin"})
	run := call("e2", t0.Add(20*time.Minute), erin, "203.0.113.77", "RunInstances", runResponse)
	for _, e := range []*event.Event{mint, run} {
		g.Observe(e)
	}
	// A flow record that names the second instance teaches its interface.
	g.Observe(&event.Event{Time: t0.Add(25 * time.Minute), Network: &event.Network{}, Cloud: event.Cloud{Account: acct}, Src: event.Endpoint{InterfaceID: "eni-0bbb0000000000002", InstanceID: "i-0bbb0000000000002"}})

	in1, _ := c.Add(findingOf(mint, "f1", "Access Key Created For Another User", "medium"))
	in2, _ := c.Add(flowFinding("f2", t0.Add(30*time.Minute), instanceRes("i-0aaa0000000000001"), "10.0.1.5"))
	in3, _ := c.Add(flowFinding("f3", t0.Add(31*time.Minute), event.Resource{Type: "AWS::EC2::NetworkInterface", UID: "eni-0bbb0000000000002", Name: "eni-0bbb0000000000002"}, "10.0.1.6"))
	if in1.ID != in2.ID || in2.ID != in3.ID {
		t.Fatalf("one story, three incidents: %s %s %s (entities %v / %v / %v)", in1.ID, in2.ID, in3.ID, in1.Entities, in2.Entities, in3.Entities)
	}
	if in1.Count != 3 || in1.Level != "high" || in1.Title != "frank, i-0aaa0000000000001, eni-0bbb0000000000002: Access Key Created For Another User → Traffic To A Mining Pool Port" {
		t.Errorf("incident %q level %s count %d", in1.Title, in1.Level, in1.Count)
	}
	if in1.Summary != "frank created an access key for erin; then i-0aaa0000000000001, eni-0bbb0000000000002: Traffic To A Mining Pool Port ×2" {
		t.Errorf("summary %q", in1.Summary)
	}
	for _, want := range []string{"p:arn:aws:iam::" + acct + ":user/erin", "k:" + acct + "/AKIANEWKEY0000000002", "i:" + acct + "/i-0bbb0000000000002"} {
		if !slices.Contains(in1.Entities, want) {
			t.Errorf("entities %v lack %s", in1.Entities, want)
		}
	}

	// The same traffic a day and more later is another incident (outside
	// the window), and the instance no longer leads to erin (the launch is
	// not recent), nor to the other instance of its group.
	late := t0.Add(30 * time.Hour)
	es := g.Entities(flowFinding("f4", late, instanceRes("i-0aaa0000000000001"), "10.0.1.5"))
	if fmt.Sprint(es) != "[i:"+acct+"/i-0aaa0000000000001]" {
		t.Errorf("a day later: entities %v", es)
	}
	if in4, _ := c.Add(flowFinding("f4", late, instanceRes("i-0aaa0000000000001"), "10.0.1.5")); in4.ID == in1.ID {
		t.Error("a finding outside the window joined the old incident")
	}
}

// TestHubs: an office address many people use, an AWS service and the
// root user do not join unrelated findings; a failed call creates nothing.
func TestHubs(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	g := NewGraph(0)
	c := New(time.Hour)
	c.Graph = g
	office := "198.51.100.7"
	for i, name := range []string{"alice", "bob", "carol", "dave"} {
		g.Observe(call(fmt.Sprint("o", i), t0, user(name, ""), office, "DescribeInstances", `null`))
	}
	a, _ := c.Add(findingOf(call("a1", t0, user("alice", ""), office, "PutBucketPolicy", `null`), "a1", "Bucket Policy Made Public", "high"))
	b, _ := c.Add(findingOf(call("b1", t0.Add(time.Minute), user("bob", ""), office, "DeleteTrail", `null`), "b1", "Trail Deleted", "high"))
	if a.ID == b.ID {
		t.Errorf("the office address (%d users) joined alice's and bob's findings", 4)
	}
	// Two people from one rare address are one story.
	x, _ := c.Add(findingOf(call("x1", t0, user("frank", ""), "45.137.21.9", "ListUsers", `null`), "x1", "IAM Enumeration", "medium"))
	y, _ := c.Add(findingOf(call("y1", t0.Add(2*time.Minute), user("erin", ""), "45.137.21.9", "RunInstances", `null`), "y1", "GPU Instances", "high"))
	if x.ID != y.ID {
		t.Error("two principals from one attacker address were not joined")
	}
	svc := event.Actor{Type: "AWSService", PrincipalID: "config.amazonaws.com", InvokedBy: "config.amazonaws.com"}
	root := event.Actor{Type: "Root", ARN: "arn:aws:iam::" + acct + ":root", Account: acct}
	s1, _ := c.Add(findingOf(call("s1", t0, svc, "54.239.1.1", "PutEvaluations", `null`), "s1", "one", "high"))
	s2, _ := c.Add(findingOf(call("s2", t0, svc, "54.239.1.2", "PutEvaluations", `null`), "s2", "two", "high"))
	r1, _ := c.Add(findingOf(call("r1", t0, root, "203.0.113.5", "ConsoleLogin", `null`), "r1", "root 1", "high"))
	r2, _ := c.Add(findingOf(call("r2", t0, root, "203.0.113.6", "CreateAccessKey", `null`), "r2", "root 2", "high"))
	if s1.ID == s2.ID || r1.ID == r2.ID {
		t.Errorf("a service principal or the root joined unrelated findings: %v %v", s1.Entities, r1.Entities)
	}
	// A configured hub (a shared CI role's session) joins nothing.
	g.Hubs = []string{"arn:aws:sts::" + acct + ":assumed-role/ci/*"}
	ci := event.Actor{Type: "AssumedRole", ARN: "arn:aws:sts::" + acct + ":assumed-role/ci/GitHubActions", UserName: "ci", SessionName: "GitHubActions", Account: acct}
	c1, _ := c.Add(findingOf(call("c1", t0, ci, "4.175.114.51", "PutRolePolicy", `null`), "c1", "one", "high"))
	c2, _ := c.Add(findingOf(call("c2", t0, ci, "20.57.79.10", "DeleteFlowLogs", `null`), "c2", "two", "high"))
	if c1.ID == c2.ID {
		t.Errorf("a configured hub joined findings: %v", c1.Entities)
	}
	// A role session calling from a pool of addresses (CI runners) is
	// shared: two of its findings an hour apart from different runners
	// are not one story by the session alone.
	runner := event.Actor{Type: "AssumedRole", ARN: "arn:aws:sts::" + acct + ":assumed-role/deploy/GitHubActions", UserName: "deploy", SessionName: "GitHubActions", Account: acct}
	for i := range 12 {
		g.Observe(call(fmt.Sprint("r", i), t0, runner, fmt.Sprintf("4.175.114.%d", 10+i), "DescribeStacks", `null`))
	}
	d1, _ := c.Add(findingOf(call("d1", t0, runner, "4.175.114.10", "PutRolePolicy", `null`), "d1", "one", "high"))
	d2, _ := c.Add(findingOf(call("d2", t0.Add(5*time.Minute), runner, "4.175.114.21", "DeleteFlowLogs", `null`), "d2", "two", "high"))
	if d1.ID == d2.ID || !g.Hub("p:"+runner.ARN) {
		t.Errorf("a session calling from 12 addresses joined findings: %v", d1.Entities)
	}
	// A failed RunInstances created nothing.
	failed := call("e9", t0, user("mallory", ""), "203.0.113.9", "RunInstances", runResponse)
	failed.API.ErrorCode = "UnauthorizedOperation"
	g2 := NewGraph(0)
	g2.Observe(failed)
	if g2.Size() != 0 {
		t.Errorf("a failed call taught the graph %d entries", g2.Size())
	}
}

// TestMergeAndPersist: a finding that touches two open incidents joins
// them into the older; the graph survives a restart through its snapshot.
func TestMergeAndPersist(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	g := NewGraph(0)
	c := New(time.Hour)
	c.Graph = g
	bob := user("bob", "")
	open := call("s1", t0, bob, "198.51.100.52", "AuthorizeSecurityGroupIngress", `{"_return":true}`,
		event.Resource{Type: "AWS::EC2::SecurityGroup", UID: "arn:aws:ec2:us-east-1:" + acct + ":security-group/sg-0web", Name: "sg-0web"})
	ssh1 := flowFinding("n1", t0.Add(5*time.Minute), instanceRes("i-0aaa0000000000001"), "192.0.2.50")
	ssh2 := flowFinding("n2", t0.Add(6*time.Minute), instanceRes("i-0bbb0000000000002"), "192.0.2.51")
	a, _ := c.Add(ssh1)
	b, _ := c.Add(ssh2)
	if a.ID == b.ID {
		t.Fatal("two instances with nothing known between them were joined")
	}
	// Only now does the graph learn that both instances are in sg-0web
	// (a late-delivered launch record).
	g.Observe(call("l1", t0.Add(-48*time.Hour), user("ci", ""), "198.51.100.99", "RunInstances", runResponse))
	snap, err := g.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	g2 := NewGraph(0)
	if err := g2.Load(snap); err != nil {
		t.Fatal(err)
	}
	c.Graph = g2
	in, _ := c.Add(findingOf(open, "s1", "Security Group Opened To The Internet", "high"))
	if ms := c.Merged(); in.ID != a.ID || in.Count != 3 || len(ms) != 1 || ms[0].From != b.ID || ms[0].Into != a.ID || ms[0].Merged != b {
		t.Fatalf("merge: incident %s count %d merged %v (a %s, b %s)", in.ID, in.Count, c.Merged(), a.ID, b.ID)
	}
	if b.Status != "merged" || b.MergedInto != a.ID {
		t.Errorf("merged incident %+v", b)
	}
	// A replay of the merged incident's finding finds the incident that
	// holds it now.
	if got, fresh := c.Add(ssh2); fresh || got.ID != a.ID {
		t.Errorf("replayed finding of a merged incident: %s fresh %v", got.ID, fresh)
	}
	// A restored correlator follows the merge too.
	c2 := New(time.Hour)
	c2.Restore([]*Incident{a, b})
	if got, fresh := c2.Add(ssh2); fresh || got.ID != a.ID {
		t.Errorf("restored: replayed finding went to %s (fresh %v)", got.ID, fresh)
	}
	// Bounded: a small graph forgets its oldest half.
	small := NewGraph(4)
	for i := range 20 {
		small.Observe(call(fmt.Sprint("k", i), t0, user(fmt.Sprint("u", i), ""), fmt.Sprintf("203.0.113.%d", i+1), "CreateAccessKey",
			fmt.Sprintf(`{"accessKey":{"accessKeyId":"AKIA%016d"}}`, i)))
	}
	if n := small.Size(); n > 4*2*2 {
		t.Errorf("bounded graph holds %d entries", n)
	}
}

// TestWhatAStoryMadeIsUsedLater: a key minted for another user, used two
// hours later (past the window), continues the story that minted it; a
// bucket of the same name in another account is another resource.
func TestWhatAStoryMadeIsUsedLater(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 7, 12, 0, 0, time.UTC)
	g := NewGraph(0)
	c := New(time.Hour)
	c.Graph = g
	erin, frank := user("erin", "AKIAERIN000000000001"), user("frank", "AKIAMINTED0000000002")
	mint := call("m1", t0, erin, "45.137.21.9", "CreateAccessKey", `{"accessKey":{"accessKeyId":"AKIAMINTED0000000002","userName":"frank"}}`,
		event.Resource{Type: "AWS::IAM::User", UID: "arn:aws:iam::" + acct + ":user/frank", Name: "frank"})
	g.Observe(mint)
	a, _ := c.Add(findingOf(mint, "m1", "Access Key Created For Another User", "medium"))
	c.Evict(t0.Add(2 * time.Hour)) // the minting incident stays: what it made may be used
	use := call("u1", t0.Add(2*time.Hour), frank, "198.18.7.7", "RunInstances", `null`)
	b, _ := c.Add(findingOf(use, "u1", "GPU Instances Launched", "high"))
	if a.ID != b.ID {
		t.Errorf("the minted key used 2h later opened another incident (made %v)", a.Made)
	}
	// Ordinary co-occurrence does not reach that far: erin again, 3h later.
	later, _ := c.Add(findingOf(call("e2", t0.Add(5*time.Hour), erin, "198.18.9.9", "ListUsers", `null`), "e2", "IAM Enumeration", "medium"))
	if later.ID == a.ID {
		t.Error("a finding 3h after the last joined on the principal alone")
	}

	bucket := event.Resource{Type: "AWS::S3::Bucket", UID: "arn:aws:s3:::exports", Name: "exports"}
	x := findingOf(call("x1", t0, user("dave", ""), "198.18.1.1", "GetObject", `null`, bucket), "x1", "Bulk Reads", "high")
	y := findingOf(call("y1", t0, user("ops", ""), "198.18.2.2", "GetObject", `null`, bucket), "y1", "Bulk Reads", "high")
	y.Cloud.Account = "444455556666"
	ix, _ := c.Add(x)
	iy, _ := c.Add(y)
	if ix.ID == iy.ID {
		t.Errorf("one bucket name in two accounts joined two stories: %v / %v", ix.Entities, iy.Entities)
	}
	// So is an instance id seen in two accounts' flow logs.
	f1 := flowFinding("n1", t0, event.Resource{Type: "AWS::EC2::Instance", Name: "i-0ccc0000000000003"}, "10.0.0.9")
	f2 := flowFinding("n2", t0, event.Resource{Type: "AWS::EC2::Instance", Name: "i-0ccc0000000000003"}, "10.0.0.9")
	f2.Cloud.Account = "444455556666"
	i1, _ := c.Add(f1)
	i2, _ := c.Add(f2)
	if i1.ID == i2.ID {
		t.Errorf("one instance id in two accounts joined two stories: %v", i1.Entities)
	}
}
