package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/demo"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/event"
)

const samples = "../ingest/testdata/samples"

// run executes the CLI in-process and returns stdout, stderr and the exit
// status main would use.
func run(t testing.TB, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := New(IO{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	code := Exit(&errb, err)
	return out.String(), errb.String(), code
}

func TestVersion(t *testing.T) {
	out, _, code := run(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "parapet ") || !strings.Contains(out, "commit: ") || !strings.Contains(out, "built: ") {
		t.Errorf("version = %q (exit %d)", out, code)
	}
}

func TestEventsFormats(t *testing.T) {
	good := filepath.Join(samples, "ct-jsonlines.jsonl")
	out, errOut, code := run(t, "", "events", good)
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("jsonl: %d lines, want 2", len(lines))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("jsonl line is not JSON: %v", err)
		}
		for _, k := range []string{"id", "time", "class_uid", "actor", "src_endpoint", "api", "cloud"} {
			if _, ok := m[k]; !ok {
				t.Errorf("jsonl line lacks %q: %s", k, l)
			}
		}
	}
	if !strings.Contains(errOut, "parapet: 2 events from 1 inputs") || !strings.Contains(errOut, "0 bad records") {
		t.Errorf("summary missing: %q", errOut)
	}

	out, _, code = run(t, "", "events", "--format", "ocsf", "--raw", good)
	if code != ExitOK {
		t.Fatalf("ocsf exit %d", code)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["metadata"] == nil || m["raw_data"] == nil {
			t.Errorf("ocsf line %q: %v", l, err)
		}
	}

	out, _, _ = run(t, "", "events", "-f", "table", good)
	if !strings.HasPrefix(out, "TIME") || strings.Count(out, "\n") != 3 || !strings.Contains(out, "CreateUser") {
		t.Errorf("table = %q", out)
	}
}

func TestEventsStdin(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(samples, "ct-jsonlines.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	out, _, code := run(t, string(data), "events", "-")
	if code != ExitOK || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"file":"(stdin)"`) {
		t.Errorf("stdin: exit %d out %q", code, out)
	}
}

func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "mixed.jsonl")
	good, _ := os.ReadFile(filepath.Join(samples, "ct-jsonlines.jsonl"))
	if err := os.WriteFile(bad, append(append([]byte("{oops\n"), good...), "not json\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "events", bad)
	if code != ExitBadInput {
		t.Errorf("bad input: exit %d, want %d", code, ExitBadInput)
	}
	if strings.Count(out, "\n") != 2 {
		t.Errorf("the good records were not printed: %q", out)
	}
	if !strings.Contains(errOut, "mixed.jsonl: offset 0 (line 1)") || !strings.Contains(errOut, "2 bad records") {
		t.Errorf("stderr does not locate the bad input: %q", errOut)
	}

	for _, args := range [][]string{{"events"}, {"events", "--format", "xml", bad}, {"events", "--nope", bad}, {"version", "extra"}} {
		if _, _, code := run(t, "", args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
	if _, _, code := run(t, "", "events", filepath.Join(dir, "missing.json")); code != ExitFailure {
		t.Errorf("missing file: exit %d, want %d", code, ExitFailure)
	}
}

func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a week of data")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	out, errOut, code := run(t, "", "demo", "--dir", dir, "--days", "5", "--progress", "never")
	if code != ExitOK {
		t.Fatalf("demo exit %d: %s", code, errOut)
	}
	for _, s := range []string{"ssh-open", "public-bucket", "key-compromise", "cryptomining", "exfiltration", "instance-credentials", "policy-version", "What Parapet saw"} {
		if !strings.Contains(out, s) {
			t.Errorf("demo output lacks %q", s)
		}
	}
	// One attack, one incident: the stories' findings become one incident
	// per attack (the cryptomining continues the key compromise), with no
	// background finding in them.
	for _, s := range []string{"attacks: 6; split (one attack, several incidents): 0; merged (several attacks, one incident): 0\n",
		"background findings inside story incidents: 0;"} {
		if !strings.Contains(out, s) {
			t.Errorf("demo incidents: output lacks %q", s)
		}
	}
	// The posture part: the example project's scan, scores and report.
	for _, s := range []string{"Posture: the example Terraform project", "cis-aws-3.0", "1 suppressed with a reason"} {
		if !strings.Contains(out, s) {
			t.Errorf("demo output lacks %q", s)
		}
	}
	if page, err := os.ReadFile(filepath.Join(dir, "posture.html")); err != nil || !strings.Contains(string(page), "CIS Amazon Web Services Foundations Benchmark") {
		t.Errorf("no posture report beside the demo: %v", err)
	}
	// The commands to run it again name the folder given, not the default.
	want := fmt.Sprintf("--cloud-ranges %s \\\n    --geoip %s --asn %s %s\n", filepath.Join(dir, "ip-ranges.json"),
		filepath.Join(dir, "geo.mmdb"), filepath.Join(dir, "geo.mmdb"), filepath.Join(dir, "AWSLogs"))
	if !strings.Contains(out, want) || strings.Contains(out, "parapet-demo/") {
		t.Errorf("demo --dir %s: the run-it-yourself commands do not name it (want %q):\n%s", dir, want, out)
	}
	if n := strings.Count(out, "DETECTED"); n < 6 {
		t.Errorf("only %d story detections in the demo output", n)
	}
	if strings.Contains(out, "NOT FOUND") {
		t.Errorf("a story was not found in the decoded events:\n%s", out)
	}
	// The response: on the emulator when moto_server is there, else
	// dry-run, and the output says which.
	switch {
	case strings.Contains(out, "act on an AWS API emulator"):
		for _, s := range []string{"public policy gone; public access blocked: true", "SSH from the internet revoked", "Inactive; quarantined (deny-all): true", "24 of 24 stopped", "hash chain intact"} {
			if !strings.Contains(out, s) {
				t.Errorf("demo response output lacks %q:\n%s", s, out)
			}
		}
	case strings.Contains(out, "Response: DRY-RUN"):
		if os.Getenv("CI") == "true" {
			t.Error("the demo ran its response in dry-run under CI: no emulator")
		}
	default:
		t.Errorf("the demo says nothing of its response:\n%s", out)
	}
}

// writeRule writes a Sigma rule and its examples into dir.
func writeRule(t *testing.T, dir, name, rule, examples string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name+".yml"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	if examples != "" {
		if err := os.WriteFile(filepath.Join(dir, name+".examples.jsonl"), []byte(examples), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const createUserRule = `title: IAM User Created
id: 00000000-0000-4000-8000-000000000001
level: low
tags: [attack.persistence, attack.t1136.003]
falsepositives: [onboarding]
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventSource: iam.amazonaws.com
    eventName: CreateUser
  condition: selection
`

func TestDetect(t *testing.T) {
	dir := t.TempDir()
	writeRule(t, dir, "create_user", createUserRule, "")
	good := filepath.Join(samples, "ct-jsonlines.jsonl")

	out, errOut, code := run(t, "", "detect", "--no-builtin", "--rules", dir, good)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("findings %q, want one", out)
	}
	var f map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &f); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "time", "rule_id", "title", "level", "attack", "event_ids", "actor", "resources", "explanation"} {
		if _, ok := f[k]; !ok {
			t.Errorf("finding lacks %q: %s", k, lines[0])
		}
	}
	if f["rule_id"] != "00000000-0000-4000-8000-000000000001" || !strings.Contains(lines[0], `"value":"CreateUser"`) {
		t.Errorf("finding = %s", lines[0])
	}
	again, _, _ := run(t, "", "detect", "--no-builtin", "--rules", dir, good)
	if again != out {
		t.Error("a rerun gave different findings (ids must be deterministic)")
	}
	if !strings.Contains(errOut, "1 rules, 1 findings (1 low)") {
		t.Errorf("summary %q", errOut)
	}

	if _, _, code := run(t, "", "detect", "--no-builtin", "--rules", dir, "--fail-on", "low", good); code != ExitFailure {
		t.Errorf("--fail-on low: exit %d, want %d", code, ExitFailure)
	}
	if _, _, code := run(t, "", "detect", "--no-builtin", "--rules", dir, "--fail-on", "high", good); code != ExitOK {
		t.Errorf("--fail-on high: exit %d, want 0", code)
	}
	if out, _, _ := run(t, "", "detect", "--no-builtin", "--rules", dir, "--min-level", "medium", good); out != "" {
		t.Errorf("--min-level medium printed %q", out)
	}
	if out, _, _ := run(t, "", "detect", "--no-builtin", "--rules", dir, "--format", "ocsf", good); !strings.Contains(out, `"class_uid":2004`) {
		t.Errorf("ocsf = %q", out)
	}
	for _, args := range [][]string{{"detect", "--min-level", "severe", good}, {"detect", "--no-builtin", good}, {"detect", "--rules", filepath.Join(dir, "nope"), good}} {
		if _, _, code := run(t, "", args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
	// A broken rule is reported and skipped; the others still run.
	writeRule(t, dir, "broken", "title: broken\ndetection:\n  condition: nothing\n", "")
	out, errOut, _ = run(t, "", "detect", "--no-builtin", "--rules", dir, good)
	if strings.Count(out, "\n") != 1 || !strings.Contains(errOut, "broken.yml") {
		t.Errorf("broken rule: out %q err %q", out, errOut)
	}
}

func TestDetectGuardDuty(t *testing.T) {
	out, _, code := run(t, "", "detect", filepath.Join(samples, "gd-finding-iam.json"))
	if code != ExitOK || !strings.Contains(out, `"source":"guardduty"`) || !strings.Contains(out, `"level":"medium"`) {
		t.Errorf("GuardDuty pass-through: exit %d out %q", code, out)
	}
}

func TestRulesTest(t *testing.T) {
	out, _, code := run(t, "", "rules", "test")
	if code != ExitOK || !strings.Contains(out, " 0 failed") {
		t.Errorf("builtin rules test: exit %d\n%s", code, out)
	}
	// The summary counts rules and examples apart.
	builtin, errs := sigma.Load(builtinRules().fsys, builtinRules().root, sigma.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	examples, _ := detect.RunExamples(builtinRules().fsys, builtin)
	if want := fmt.Sprintf("rules: %d rules, %d passed, %d failed; %d examples, %d passed, %d failed\n", len(builtin), len(builtin), 0, len(examples), len(examples), 0); !strings.HasSuffix(out, want) {
		t.Errorf("builtin rules test: the summary is not %q:\n%s", want, out)
	}
	dir := t.TempDir()
	rec := func(name string) string {
		return `{"eventVersion":"1.08","eventTime":"2026-01-01T00:00:00Z","eventSource":"iam.amazonaws.com","eventName":"` + name + `"}`
	}
	writeRule(t, dir, "create_user", createUserRule, `{"match":true,"record":`+rec("CreateUser")+"}\n"+`{"match":true,"record":`+rec("DeleteUser")+"}\n")
	out, _, code = run(t, "", "rules", "test", dir)
	if code != ExitFailure || !strings.Contains(out, "create_user.examples.jsonl:2") || !strings.Contains(out, "needs at least one matching and one non-matching") {
		t.Errorf("failing example: exit %d\n%s", code, out)
	}
	// One rule, failed: an example fails and it lacks a non-matching one;
	// a second rule passes; a third cannot be parsed.
	writeRule(t, dir, "delete_user", strings.NewReplacer("CreateUser", "DeleteUser", "Created", "Deleted", "000000000001", "000000000002").Replace(createUserRule),
		`{"match":true,"record":`+rec("DeleteUser")+"}\n"+`{"match":false,"record":`+rec("CreateUser")+"}\n")
	writeRule(t, dir, "broken", "title: Broken\nlogsource: {product: aws}\ndetection:\n  s:\n    eventName|nope: X\n  condition: s\n", "")
	out, _, _ = run(t, "", "rules", "test", dir)
	if want := "rules: 3 rules, 1 passed, 2 failed; 4 examples, 3 passed, 1 failed\n"; !strings.HasSuffix(out, want) {
		t.Errorf("the summary is not %q:\n%s", want, out)
	}
}

func TestRulesLint(t *testing.T) {
	dir := t.TempDir()
	writeRule(t, dir, "ok", createUserRule, "")
	writeRule(t, dir, "bare", "title: Bare\nlogsource: {product: aws}\ndetection:\n  s:\n    eventName: X\n  condition: s\n", "")
	writeRule(t, dir, "bad", "title: Bad\nlogsource: {product: aws}\ndetection:\n  s:\n    eventName|nope: X\n  condition: s\n", "")
	out, _, code := run(t, "", "rules", "lint", dir)
	if code != ExitFailure || !strings.Contains(out, "bare.yml:1") || !strings.Contains(out, "bad.yml:5") || strings.Contains(out, "ok.yml") {
		t.Errorf("lint: exit %d\n%s", code, out)
	}
	// --strict: a rule complete but for a triage guide is a problem.
	strict := t.TempDir()
	writeRule(t, strict, "ok", createUserRule, "")
	if out, _, code := run(t, "", "rules", "lint", strict); code != 0 {
		t.Errorf("lint without --strict: exit %d\n%s", code, out)
	}
	out, _, code = run(t, "", "rules", "lint", "--strict", strict)
	if code != ExitFailure || !strings.Contains(out, "a triage guide") {
		t.Errorf("lint --strict on a rule without a triage guide: exit %d\n%s", code, out)
	}
}

// TestDetectCloudRanges: instance credentials used from an address outside
// the AWS ranges given are found; without ranges nothing is claimed, and a
// bad ranges file is a usage error.
func TestDetectCloudRanges(t *testing.T) {
	dir := t.TempDir()
	rec := `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:i-0a1f2e3d4c5b60003","arn":"arn:aws:sts::111122223333:assumed-role/ec2-app/i-0a1f2e3d4c5b60003","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/ec2-app"},"attributes":{"mfaAuthenticated":"false"},"ec2RoleDelivery":"2.0"}},"eventTime":"2026-11-02T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"%s","eventID":"%s","eventType":"AwsApiCall","recipientAccountId":"111122223333"}`
	trail := filepath.Join(dir, "trail.jsonl")
	body := fmt.Sprintf(rec, "193.142.147.209", "e-outside") + "\n" + fmt.Sprintf(rec, "54.210.33.10", "e-inside") + "\n"
	if err := os.WriteFile(trail, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	ranges := filepath.Join(dir, "ip-ranges.json")
	if err := os.WriteFile(ranges, []byte(`{"prefixes":[{"ip_prefix":"54.210.0.0/15","region":"us-east-1","service":"EC2"}],"ipv6_prefixes":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	const title = "EC2 Instance Credentials Used From Outside AWS"
	out, errOut, code := run(t, "", "detect", "--progress", "never", "--cloud-ranges", ranges, trail)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Count(out, title) != 1 || !strings.Contains(out, `"e-outside"`) || strings.Contains(out, `"e-inside"`) {
		t.Errorf("want one finding, on e-outside:\n%s", out)
	}
	out, _, _ = run(t, "", "detect", "--progress", "never", trail)
	if strings.Contains(out, title) {
		t.Errorf("without ranges no address has a known provider, yet:\n%s", out)
	}
	out, _, _ = run(t, "", "events", "--progress", "never", "--cloud-ranges", ranges, trail)
	if !strings.Contains(out, `"provider":"none"`) || !strings.Contains(out, `"provider":"aws"`) {
		t.Errorf("events do not carry the provider:\n%s", out)
	}
	if _, errOut, code := run(t, "", "detect", "--cloud-ranges", trail, trail); code != ExitUsage || !strings.Contains(errOut, "--cloud-ranges") {
		t.Errorf("a bad ranges file: exit %d, %s", code, errOut)
	}
}

// TestEvaluationSet generates the evaluation set (about 1.3 million
// CloudTrail events: four long-lived accounts over four weeks and 52
// short-lived ones, with AWS services, a root-using owner, bulk data reads,
// late and repeated deliveries; 70 attack stories, each kind after 1, 2,
// 3, 7 and more days of history, by existing, new-key and new-user
// attackers) and holds the behavioural models to issue 14's targets:
// recall of at least 0.9 at every history length, at most 0.3 false
// alerts per 1,000 benign events, and no finding whose subject is an AWS
// service; and their state to at most 10 KB per entity.
func TestEvaluationSet(t *testing.T) {
	if testing.Short() {
		t.Skip("over a million events")
	}
	dir := filepath.Join(t.TempDir(), "eval")
	if out, errOut, code := run(t, "", "demo", "--eval", "--dir", dir); code != ExitOK {
		t.Fatalf("demo --eval exit %d: %s %s", code, out, errOut)
	}
	state := filepath.Join(t.TempDir(), "ueba.state")
	out, errOut, code := run(t, "", "eval", "--json", "--progress", "never", "--labels", filepath.Join(dir, "labels.jsonl"),
		"--geoip", filepath.Join(dir, "geo.mmdb"), "--asn", filepath.Join(dir, "geo.mmdb"), "--cloud-ranges", filepath.Join(dir, "ip-ranges.json"),
		"--state", state, filepath.Join(dir, "AWSLogs"))
	if code != ExitOK {
		t.Fatalf("eval exit %d: %s", code, errOut)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Events < 1_000_000 || len(rep.Stories) != 70 || rep.MissingIDs != 0 {
		t.Fatalf("%d events, %d stories, %d labels not decoded", rep.Events, len(rep.Stories), rep.MissingIDs)
	}
	u := rep.BySource["ueba"]
	t.Logf("ueba: recall %.3f, %d false alerts (%.4f per 1,000 benign), precision %.3f, MTTD median %.0f s", u.Recall, u.FalseAlerts, u.FAPer1000, u.Precision, u.MTTDMedian)
	// Every history length the set has, each with every attack kind.
	kinds := map[string]map[string]bool{}
	for _, s := range rep.Stories {
		h := historyGroup(s.History)
		if kinds[h] == nil {
			kinds[h] = map[string]bool{}
		}
		kinds[h][s.Kind] = true
	}
	for _, h := range []string{"1d", "2d", "3d", "7d", ">7d"} {
		if len(kinds[h]) != len(demo.EvalStories) {
			t.Errorf("history %s: %d attack kinds, want %d", h, len(kinds[h]), len(demo.EvalStories))
		}
	}
	for _, g := range rep.ByHistory {
		s := g.BySource["ueba"]
		t.Logf("history %s: ueba recall %d/%d, %d false alerts on %d benign events (%.4f per 1,000)", g.Name, s.Detected, s.Stories, s.FalseAlerts, g.Benign, s.FAPer1000)
		if s.Stories > 0 && s.Recall < 0.9 {
			var missed []string
			for _, st := range rep.Stories {
				if historyGroup(st.History) == g.Name && !slices.Contains(st.DetectedBy, "ueba") {
					missed = append(missed, st.Story)
				}
			}
			t.Errorf("history %s: ueba recall %.3f < 0.9; missed %v", g.Name, s.Recall, missed)
		}
	}
	if u.FAPer1000 > 0.3 {
		t.Errorf("ueba: %.4f false alerts per 1,000 benign events, more than 0.3", u.FAPer1000)
	}
	if n := rep.UEBAByClass[event.ClassService]; n > 0 {
		t.Errorf("ueba: %d findings whose subject is an AWS service", n)
	}
	info, err := os.Stat(state)
	if err != nil {
		t.Fatal(err)
	}
	var entities int
	if _, err := fmt.Sscanf(errOut[strings.Index(errOut, "parapet: ueba: ")+len("parapet: ueba: "):], "%d principals", &entities); err != nil || entities == 0 {
		t.Fatalf("no principal count in %q", errOut)
	}
	if per := info.Size() / int64(entities); per > 10<<10 {
		t.Errorf("state: %d bytes for %d principals, %d per principal", info.Size(), entities, per)
	}
}

func TestIAMPolicyAndPlaybookLint(t *testing.T) {
	out, errOut, code := run(t, "", "iam-policy")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var pol struct {
		Version   string
		Statement []struct {
			Effect   string
			Action   []string
			Resource string
		}
	}
	if err := json.Unmarshal([]byte(out), &pol); err != nil || pol.Version != "2012-10-17" || len(pol.Statement) < 4 {
		t.Fatalf("not an IAM policy: %v\n%s", err, out)
	}
	var all []string
	for _, s := range pol.Statement {
		if s.Effect != "Allow" || s.Resource != "*" || len(s.Action) == 0 {
			t.Errorf("statement %+v", s)
		}
		all = append(all, s.Action...)
	}
	for _, want := range []string{"s3:PutBucketPublicAccessBlock", "iam:UpdateAccessKey", "ec2:RevokeSecurityGroupIngress", "cloudtrail:StartLogging"} {
		if !slices.Contains(all, want) {
			t.Errorf("the policy lacks %s", want)
		}
	}
	for _, a := range all {
		if strings.Contains(a, "*") {
			t.Errorf("a wildcard action in a least-privilege policy: %s", a)
		}
	}
	if out, _, code := run(t, "", "playbooks", "lint"); code != ExitOK || !strings.Contains(out, "0 problems") {
		t.Errorf("builtin playbooks: exit %d\n%s", code, out)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.yml"), []byte("name: bad\ntrigger: \"true\"\nsteps: [{action: notify.slack, params: {webhook: \"https://hooks.slack.com/x\", text: hi}}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _, code := run(t, "", "playbooks", "lint", dir); code != ExitFailure || !strings.Contains(out, "bad.yml") || !strings.Contains(out, "env:NAME or file:PATH") {
		t.Errorf("a literal secret: exit %d\n%s", code, out)
	}
}

// TestDetectSignals: informational findings (signals) are left out of
// detect's output unless --min-level informational asks for them, and the
// correlation rules see them all the same.
func TestDetectSignals(t *testing.T) {
	dir := t.TempDir()
	writeRule(t, dir, "create_user_signal", strings.Replace(strings.Replace(createUserRule, "level: low", "level: informational\nname: create_user_signal", 1),
		"000000000001", "000000000002", 1), "")
	writeRule(t, dir, "create_user_seen", `title: IAM User Created (Correlated)
id: 00000000-0000-4000-8000-000000000003
level: medium
tags: [attack.persistence, attack.t1136.003]
falsepositives: [onboarding]
correlation:
  type: event_count
  rules: [create_user_signal]
  group-by: [userIdentity.arn]
  timespan: 1h
  generate: true
  condition: {gte: 1}
`, "")
	good := filepath.Join(samples, "ct-jsonlines.jsonl")
	out, errOut, code := run(t, "", "detect", "--no-builtin", "--rules", dir, good)
	if code != ExitOK || strings.Contains(out, "000000000002") || !strings.Contains(out, "000000000003") {
		t.Errorf("default output (exit %d) %q: want the correlation's finding and not the signal's", code, out)
	}
	if !strings.Contains(errOut, "1 findings below --min-level low not shown") {
		t.Errorf("summary %q does not count the signal left out", errOut)
	}
	if out, _, _ := run(t, "", "detect", "--no-builtin", "--rules", dir, "--min-level", "informational", good); !strings.Contains(out, "000000000002") {
		t.Errorf("--min-level informational left out the signal: %q", out)
	}
}
