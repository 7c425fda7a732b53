package attackpath

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
)

// walkTF: dev may write new versions of its own managed policy (one step
// to admin); ci may assume role deployer, which may attach any policy to
// itself (two steps).
var walkTF = user("dev", "") + `
resource "aws_iam_policy" "devtools" {
  name   = "dev-tools"
  policy = jsonencode({ Version = "2012-10-17", Statement = [` + allow("iam:CreatePolicyVersion", "arn:aws:iam::"+acct+":policy/dev-tools") + `] })
}
resource "aws_iam_user_policy_attachment" "dev" {
  user       = aws_iam_user.dev.name
  policy_arn = aws_iam_policy.devtools.arn
}
` + user("ci", allow("sts:AssumeRole", "arn:aws:iam::"+acct+":role/deployer")) +
	role("deployer", `{ Effect = "Allow", Principal = { AWS = "arn:aws:iam::`+acct+`:user/ci" }, Action = "sts:AssumeRole" }`, "") + `
resource "aws_iam_role_policy" "deployer" {
  name   = "attach"
  role   = aws_iam_role.deployer.name
  policy = jsonencode({ Version = "2012-10-17", Statement = [` + allow("iam:AttachRolePolicy", "arn:aws:iam::"+acct+":role/deployer") + `] })
}
`

// trail writes one CloudTrail record: who (an IAM user's name, or
// "role/NAME" for an assumed-role session), the call, its request
// parameters and an optional error code.
func trail(t testing.TB, id, who, source, name, params, errorCode string) event.Event {
	t.Helper()
	ident := `{"type":"IAMUser","arn":"arn:aws:iam::` + acct + `:user/` + who + `","accountId":"` + acct + `","userName":"` + who + `"}`
	if r, ok := strings.CutPrefix(who, "role/"); ok {
		ident = `{"type":"AssumedRole","arn":"arn:aws:sts::` + acct + `:assumed-role/` + r + `/s1","accountId":"` + acct + `",` +
			`"sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::` + acct + `:role/` + r + `","userName":"` + r + `"}}}`
	}
	if who == "service" {
		ident = `{"type":"AWSService","invokedBy":"cloudformation.amazonaws.com"}`
	}
	errs := ""
	if errorCode != "" {
		errs = `,"errorCode":"` + errorCode + `","errorMessage":"denied"`
	}
	rec := `{"eventVersion":"1.08","userIdentity":` + ident + `,"eventTime":"2026-12-01T10:00:00Z","eventSource":"` + source +
		`","eventName":"` + name + `","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","requestParameters":` + params +
		errs + `,"eventID":"` + id + `","eventType":"AwsApiCall","recipientAccountId":"` + acct + `"}`
	var ev event.Event
	if err := cloudtrail.Decode([]byte(rec), &ev); err != nil {
		t.Fatalf("decode %s: %v", rec, err)
	}
	return ev
}

func walkerOf(t *testing.T) *Walker {
	t.Helper()
	g := graphOf(t, walkTF)
	paths, err := g.Shortest("admin")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := g.NewReport("admin", paths).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "paths.json")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := LoadWalker(file)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWalkerMatchesSteps(t *testing.T) {
	w := walkerOf(t)
	if w.Paths() != 3 {
		t.Fatalf("paths = %d, want 3 (dev, ci, deployer)", w.Paths())
	}
	if n, ok := w.SourceSteps("arn:aws:iam::" + acct + ":user/ci"); !ok || n != 2 {
		t.Fatalf("ci source steps = %d %v, want 2", n, ok)
	}
	policy := `{"policyArn":"arn:aws:iam::` + acct + `:policy/dev-tools","policyDocument":"{}","setAsDefault":true}`
	cases := []struct {
		name  string
		ev    event.Event
		level string // "" = no finding
		say   string
	}{
		{"dev writes its policy", trail(t, "e1", "dev", "iam.amazonaws.com", "CreatePolicyVersion", policy, ""),
			"critical", "step 1 of 1 of a path from dev to admin"},
		{"refused call", trail(t, "e2", "dev", "iam.amazonaws.com", "CreatePolicyVersion", policy, "AccessDenied"),
			"low", "refused: step 1 of 1 of a path from dev to admin"},
		{"another principal", trail(t, "e3", "ci", "iam.amazonaws.com", "CreatePolicyVersion", policy, ""), "", ""},
		{"another policy", trail(t, "e4", "dev", "iam.amazonaws.com", "CreatePolicyVersion",
			`{"policyArn":"arn:aws:iam::`+acct+`:policy/other"}`, ""), "", ""},
		{"another API", trail(t, "e5", "dev", "iam.amazonaws.com", "GetPolicyVersion", policy, ""), "", ""},
		{"a service", trail(t, "e6", "service", "iam.amazonaws.com", "CreatePolicyVersion", policy, ""), "", ""},
		{"ci assumes deployer", trail(t, "e7", "ci", "sts.amazonaws.com", "AssumeRole",
			`{"roleArn":"arn:aws:iam::`+acct+`:role/deployer","roleSessionName":"s1"}`, ""),
			"high", "step 1 of 2 of a path from ci to admin"},
		{"deployer attaches a policy to itself", trail(t, "e8", "role/deployer", "iam.amazonaws.com", "AttachRolePolicy",
			`{"roleName":"deployer","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`, ""),
			"critical", "step 1 of 1 of a path from deployer to admin"},
		{"deployer attaches to another role", trail(t, "e9", "role/deployer", "iam.amazonaws.com", "AttachRolePolicy",
			`{"roleName":"other","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`, ""), "", ""},
	}
	for _, c := range cases {
		fs := w.Findings([]event.Event{c.ev})
		if c.level == "" {
			if len(fs) != 0 {
				t.Errorf("%s: got %d findings (%s), want none", c.name, len(fs), fs[0].Summary)
			}
			continue
		}
		if len(fs) != 1 {
			t.Errorf("%s: got %d findings, want 1", c.name, len(fs))
			continue
		}
		f := fs[0]
		if f.Level != c.level || !strings.HasPrefix(f.Summary, c.say) || f.Source != "attackpath" || !strings.HasPrefix(f.RuleID, WalkRuleID) {
			t.Errorf("%s: got %s %q (%s, %s), want %s %q", c.name, f.Level, f.Summary, f.Source, f.RuleID, c.level, c.say)
		}
		steps, marked := 0, 0
		for _, e := range f.Explanation {
			if e.Selection == "path" {
				steps++
				if strings.HasSuffix(e.Detail, "← this event") {
					marked++
				}
			}
		}
		if want := strings.TrimPrefix(c.say, "refused: ")[len("step 1 of "):][:1]; fmt.Sprint(steps) != want || marked != 1 {
			t.Errorf("%s: explanation has %d path steps (%d marked), want %s and 1: %+v", c.name, steps, marked, want, f.Explanation)
		}
		if len(f.EventIDs) != 1 || f.EventIDs[0] != c.ev.ID {
			t.Errorf("%s: event ids %v", c.name, f.EventIDs)
		}
	}
}

func TestWalkerOtherPaths(t *testing.T) {
	w := walkerOf(t)
	ev := trail(t, "e8", "role/deployer", "iam.amazonaws.com", "AttachRolePolicy",
		`{"roleName":"deployer","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`, "")
	if ms := w.Match(&ev); len(ms) != 2 {
		t.Fatalf("matches = %d, want 2 (deployer's own path, ci's second step)", len(ms))
	}
	fs := w.Findings([]event.Event{ev})
	also := ""
	for _, e := range fs[0].Explanation {
		if e.Selection == "also" {
			also = e.Detail
		}
	}
	if also != "also step 2 of 2 of the path from ci" {
		t.Fatalf("also = %q", also)
	}
}

func TestLoadWalkerBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"paths": [ {"source": `), 0o600)
	if _, err := LoadWalker(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "offset") {
		t.Fatalf("err = %v, want the file and an offset", err)
	}
	other := filepath.Join(dir, "other.json")
	os.WriteFile(other, []byte(`{"findings": []}`), 0o600)
	if _, err := LoadWalker(other); err == nil || !strings.Contains(err.Error(), "parapet paths") {
		t.Fatalf("err = %v", err)
	}
}

// A behavioural finding about a path's source says so; others are left
// as they are.
func TestWalkerAnnotate(t *testing.T) {
	w := walkerOf(t)
	ev := trail(t, "u1", "role/deployer", "s3.amazonaws.com", "ListBuckets", `{}`, "")
	f := detect.FromEvent(&ev)
	f.Source = "ueba"
	got := w.Annotate(f)
	if n := len(got.Explanation) - len(f.Explanation); n != 1 || got.Explanation[len(got.Explanation)-1].Detail != "principal is the source of a path to admin (1 step)" {
		t.Fatalf("deployer's behavioural finding: %+v", got.Explanation)
	}
	f.Source = "sigma"
	if got := w.Annotate(f); len(got.Explanation) != len(f.Explanation) {
		t.Errorf("a rule finding was annotated")
	}
	other := trail(t, "u2", "nobody", "s3.amazonaws.com", "ListBuckets", `{}`, "")
	g := detect.FromEvent(&other)
	g.Source = "ueba"
	if got := w.Annotate(g); len(got.Explanation) != len(g.Explanation) {
		t.Errorf("a principal with no path was annotated")
	}
}

// Lambda's event names carry API versions, with or without a v-suffix.
func TestIAMActionLambdaVersions(t *testing.T) {
	for name, want := range map[string]string{
		"UpdateFunctionCode20150331v2":          "lambda:updatefunctioncode",
		"CreateFunction20150331":                "lambda:createfunction",
		"UpdateFunctionConfiguration20150331v2": "lambda:updatefunctionconfiguration",
		"Invoke":                                "lambda:invoke",
	} {
		ev := &event.Event{API: event.API{Service: "lambda.amazonaws.com", Operation: name}}
		if got := iamAction(ev); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}
