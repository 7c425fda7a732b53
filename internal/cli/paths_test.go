package cli

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const pathsData = "testdata/paths"

// parapet paths over Terraform: the two-step path in words and as JSON,
// the graph formats; over an AWS Config snapshot.
func TestPathsCommand(t *testing.T) {
	tf := filepath.Join(pathsData, "tf")
	out, errOut, code := run(t, "", "paths", tf)
	if code != ExitOK {
		t.Fatalf("paths: exit %d, stderr %s", code, errOut)
	}
	for _, want := range []string{
		"ci-deployer can pass role ops-admin to a new Lambda function and invoke it: iam:PassRole on arn:aws:iam::111122223333:role/ops-admin via policy deploy, statement 2",
		"1. support can create an access key for user ci-deployer: iam:CreateAccessKey on arn:aws:iam::111122223333:user/ci-deployer via policy helpdesk, statement 1 (Keys)",
		"2. ci-deployer can pass role ops-admin",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q:\n%s", want, out)
		}
	}
	out, errOut, code = run(t, "", "paths", "--format", "json", tf)
	if code != ExitOK {
		t.Fatalf("json: exit %d, stderr %s", code, errOut)
	}
	var rep struct {
		Account string
		Paths   []struct {
			Source string
			Steps  []struct{ Method string }
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	steps := map[string]int{}
	for _, p := range rep.Paths {
		steps[p.Source] = len(p.Steps)
	}
	if rep.Account != "111122223333" || steps["arn:aws:iam::111122223333:user/support"] != 2 || steps["arn:aws:iam::111122223333:user/ci-deployer"] != 1 {
		t.Errorf("json: account %s, steps %v", rep.Account, steps)
	}
	for format, want := range map[string]string{
		"dot":     `"arn:aws:iam::111122223333:user/support" -> "arn:aws:iam::111122223333:user/ci-deployer"`,
		"graphml": `<edge source="arn:aws:iam::111122223333:user/support" target="arn:aws:iam::111122223333:user/ci-deployer">`,
		"cypher":  `MERGE (a)-[:CAN_ACT_AS {method: 'iam-create-access-key'`,
	} {
		out, _, code := run(t, "", "paths", "--format", format, tf)
		if code != ExitOK || !strings.Contains(out, want) {
			t.Errorf("--format %s (exit %d) lacks %q:\n%s", format, code, want, out)
		}
	}
	out, _, code = run(t, "", "paths", "--to", "ci-deployer", tf)
	if code != ExitOK || !strings.Contains(out, "1 principals can reach ci-deployer") {
		t.Errorf("--to ci-deployer (exit %d):\n%s", code, out)
	}
	if _, _, code := run(t, "", "paths", "--format", "pdf", tf); code != ExitUsage {
		t.Errorf("--format pdf: exit %d, want %d", code, ExitUsage)
	}

	out, errOut, code = run(t, "", "paths", filepath.Join(pathsData, "config-snapshot.json"))
	if code != ExitOK || !strings.Contains(out, "analyst can pass role glue-admin to a new Glue development endpoint and log in") ||
		!strings.Contains(out, "account 444455556666") {
		t.Errorf("config snapshot (exit %d, stderr %s):\n%s", code, errOut, out)
	}
}

// --format html: a self-contained page with one well-formed drawing per
// path that has steps, naming each principal on it.
func TestPathsHTML(t *testing.T) {
	out, errOut, code := run(t, "", "paths", "--format", "html", filepath.Join(pathsData, "tf"))
	if code != ExitOK {
		t.Fatalf("html: exit %d, stderr %s", code, errOut)
	}
	if strings.Contains(out, "<script") || strings.Contains(out, "src=") || strings.Contains(out, "href=") {
		t.Errorf("html page loads or runs something:\n%s", out)
	}
	svgs, support := 0, false
	for rest := out; ; {
		i := strings.Index(rest, "<svg")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i:], "</svg>")
		if j < 0 {
			t.Fatalf("unterminated svg")
		}
		svg := rest[i : i+j+len("</svg>")]
		var doc struct {
			XMLName xml.Name
			Texts   []string `xml:"g>text"`
		}
		if err := xml.Unmarshal([]byte(svg), &doc); err != nil || doc.XMLName.Local != "svg" {
			t.Fatalf("svg not well formed: %v\n%s", err, svg)
		}
		if slices.Contains(doc.Texts, "support") {
			if !slices.Contains(doc.Texts, "ci-deployer") || !slices.Contains(doc.Texts, "ops-admin") {
				t.Errorf("support's drawing lacks support → ci-deployer → ops-admin: %v", doc.Texts)
			}
			support = true
		}
		svgs++
		rest = rest[i+j:]
	}
	if svgs != 2 || !support || !strings.Contains(out, `data-source="arn:aws:iam::111122223333:user/support"`) {
		t.Errorf("want 2 drawings (support, ci-deployer), got %d:\n%s", svgs, out)
	}
}

// detect --paths: a CloudTrail call that takes the first step of a known
// path is a finding naming the step; the same call refused is a low one;
// by another principal, none.
func TestDetectPaths(t *testing.T) {
	dir := t.TempDir()
	pj, errOut, code := run(t, "", "paths", "--format", "json", filepath.Join(pathsData, "tf"))
	if code != ExitOK {
		t.Fatalf("paths: exit %d, %s", code, errOut)
	}
	pathsFile := filepath.Join(dir, "paths.json")
	if err := os.WriteFile(pathsFile, []byte(pj), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := func(id, who, errorCode string) string {
		e := ""
		if errorCode != "" {
			e = `,"errorCode":"` + errorCode + `"`
		}
		return `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/` + who +
			`","accountId":"111122223333","userName":"` + who + `"},"eventTime":"2026-12-01T10:00:0` + id + `Z","eventSource":"iam.amazonaws.com",` +
			`"eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.9","requestParameters":{"userName":"ci-deployer"}` +
			e + `,"eventID":"ev-` + id + `","eventType":"AwsApiCall","recipientAccountId":"111122223333"}`
	}
	trailFile := filepath.Join(dir, "trail.json")
	if err := os.WriteFile(trailFile, []byte(`{"Records":[`+rec("1", "support", "")+`,`+rec("2", "support", "AccessDenied")+`,`+rec("3", "intern", "")+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "detect", "--no-ueba", "--no-aggregate", "--paths", pathsFile, "--fail-on", "high", trailFile)
	if code != 1 {
		t.Fatalf("detect: exit %d (want 1: --fail-on high), stderr %s\n%s", code, errOut, out)
	}
	var walked []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var f map[string]any
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if f["source"] == "attackpath" {
			walked = append(walked, f)
		}
	}
	if len(walked) != 2 {
		t.Fatalf("want 2 path findings (the step, the refused attempt), got %d:\n%s", len(walked), out)
	}
	for i, want := range []struct{ level, summary string }{{"high", "step 1 of 2 of a path from support to admin"}, {"low", "refused: step 1 of 2 of a path from support to admin"}} {
		if f := walked[i]; f["level"] != want.level || !strings.HasPrefix(fmt.Sprint(f["summary"]), want.summary) {
			t.Errorf("finding %d: %v %v, want %s %q", i, f["level"], f["summary"], want.level, want.summary)
		}
	}
	// With no rule at all (the stateless path: findings encoded as events
	// are read), the same two.
	rules := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rules, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rules, "other.yml"), []byte("title: Something else\nid: 9b7c2a10-0000-4000-8000-000000000018\n"+
		"logsource: {product: aws, service: cloudtrail}\ndetection:\n  selection: {eventName: DeleteTrail}\n  condition: selection\nlevel: high\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = run(t, "", "detect", "--no-builtin", "--rules", rules, "--no-ueba", "--no-aggregate", "--paths", pathsFile, trailFile)
	if code != ExitOK || strings.Count(out, `"source":"attackpath"`) != 2 || !strings.Contains(out, "step 1 of 2 of a path from support to admin") {
		t.Errorf("--no-builtin --paths: exit %d, %s\n%s", code, errOut, out)
	}
	// Without --paths the same trail raises no path finding.
	out, _, _ = run(t, "", "detect", "--no-ueba", "--no-aggregate", trailFile)
	if strings.Contains(out, `"attackpath"`) {
		t.Errorf("path finding without --paths:\n%s", out)
	}
	if _, errOut, code := run(t, "", "detect", "--paths", trailFile+".missing", trailFile); code == ExitOK || !strings.Contains(errOut, "--paths") {
		t.Errorf("missing --paths file: exit %d, %s", code, errOut)
	}
}

// parapet paths --to a bucket: every principal that can reach it, with
// the final access step and its grant, in every format; an unknown
// target is a usage error naming it.
func TestPathsToBucket(t *testing.T) {
	tf := filepath.Join(pathsData, "data")
	out, errOut, code := run(t, "", "paths", "--to", "payroll", tf)
	if code != ExitOK {
		t.Fatalf("paths --to payroll: exit %d, stderr %s", code, errOut)
	}
	for _, want := range []string{
		"3 principals can reach payroll",
		"analyst can read bucket payroll: s3:GetObject on arn:aws:s3:::payroll/* via policy reports, statement 1",
		"1. batch can assume role etl",
		"2. etl can write to bucket payroll: s3:GetObject on arn:aws:s3:::payroll/* via resource policy of bucket payroll, statement 1 (EtlWrites)",
		"=> batch has write access to bucket payroll",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "intern") {
		t.Errorf("intern reaches payroll despite the bucket policy's Deny:\n%s", out)
	}
	out, errOut, code = run(t, "", "paths", "--to", "arn:aws:s3:::payroll", "--format", "json", tf)
	if code != ExitOK {
		t.Fatalf("json: exit %d, stderr %s", code, errOut)
	}
	var rep struct {
		Target string
		Paths  []struct {
			Source, Target, Access string
			Steps                  []struct{ To string }
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, p := range rep.Paths {
		got[p.Source] = fmt.Sprintf("%d %s %s", len(p.Steps), p.Access, p.Target)
	}
	want := map[string]string{
		"arn:aws:iam::111122223333:user/analyst": "1 read arn:aws:s3:::payroll",
		"arn:aws:iam::111122223333:user/batch":   "2 write arn:aws:s3:::payroll",
		"arn:aws:iam::111122223333:role/etl":     "1 write arn:aws:s3:::payroll",
	}
	if rep.Target != "arn:aws:s3:::payroll" || len(got) != len(want) {
		t.Errorf("json: target %s, paths %v, want %v", rep.Target, got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("json: %s: %q, want %q", k, got[k], v)
		}
	}
	for format, want := range map[string]string{
		"dot":     `"arn:aws:iam::111122223333:role/etl" -> "arn:aws:s3:::payroll"`,
		"graphml": `<edge source="arn:aws:iam::111122223333:user/analyst" target="arn:aws:s3:::payroll">`,
		"cypher":  `MERGE (a)-[:CAN_ACT_AS {method: 'access-write'`,
		"html":    `etl can write to bucket payroll`,
	} {
		out, _, code := run(t, "", "paths", "--to", "payroll", "--format", format, tf)
		if code != ExitOK || !strings.Contains(out, want) {
			t.Errorf("--format %s (exit %d) lacks %q:\n%s", format, code, want, out)
		}
	}
	_, errOut, code = run(t, "", "paths", "--to", "arn:aws:s3:::nope", tf)
	if code != ExitUsage || !strings.Contains(errOut, "arn:aws:s3:::nope") {
		t.Errorf("--to unknown: exit %d, stderr %s", code, errOut)
	}
}
