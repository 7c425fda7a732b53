package sigma

import (
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/sharedtest"
)

func TestSigmaHQCloudRulesLoad(t *testing.T) {
	dir := sharedtest.Path(t, "sigma/rules/cloud")
	rules, errs := Load(os.DirFS(dir), ".", Options{})
	for _, e := range errs {
		t.Errorf("load: %v", e)
	}
	if len(rules) != 225 {
		t.Errorf("loaded %d rules, want all 225", len(rules))
	}
	aws := 0
	for _, r := range rules {
		if r.Applies(event.SourceCloudTrail) {
			aws++
		}
		if r.Applies(event.SourceVPCFlow) && r.Logsource.Service != "" {
			t.Errorf("%s: a %s/%s rule applies to flow logs", r.File, r.Logsource.Product, r.Logsource.Service)
		}
	}
	if aws != 57 {
		t.Errorf("%d rules apply to CloudTrail, want SigmaHQ's 57", aws)
	}
}

// ct decodes a CloudTrail record for tests.
func ct(t *testing.T, rec string) *event.Event {
	t.Helper()
	var ev event.Event
	if err := cloudtrail.Decode([]byte(rec), &ev); err != nil {
		t.Fatalf("decode %s: %v", rec, err)
	}
	return &ev
}

func rule(t *testing.T, detection string) *Rule {
	t.Helper()
	src := "title: t\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n" + detection
	rs, errs := Parse([]byte(src), "t.yml", Options{Placeholders: map[string][]string{"admins": {"root", "Admin*"}}})
	if len(errs) > 0 {
		t.Fatalf("parse %q: %v", detection, errs)
	}
	return rs[0]
}

const base = `{"eventVersion":"1.08","eventTime":"2026-11-02T09:00:00Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","awsRegion":"eu-west-1","sourceIPAddress":"10.1.2.3","userAgent":"aws-cli/2.15 Python/3.11","userIdentity":{"type":"IAMUser","userName":"alice","arn":"arn:aws:iam::1:user/alice"},"requestParameters":{"bucketName":"alice","policy":"","bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}]},"encoded":"SGVsbG8gcG93ZXJzaGVsbA==","port":"8443","count":12,"tags":["prod","pci"],"nothing":null,"path":"C:\\Temp\\*x"}}`

func TestModifiersAndConditions(t *testing.T) {
	ev := ct(t, base)
	b64 := base64.StdEncoding.EncodeToString([]byte("Hello powershell"))
	cases := []struct {
		name      string
		detection string
		want      bool
	}{
		{"equals is case-insensitive", "  s:\n    eventName: putbucketpolicy\n  condition: s", true},
		{"cased equals", "  s:\n    eventName|cased: putbucketpolicy\n  condition: s", false},
		{"list is or", "  s:\n    eventName:\n      - GetObject\n      - PutBucketPolicy\n  condition: s", true},
		{"map is and", "  s:\n    eventName: PutBucketPolicy\n    awsRegion: us-east-1\n  condition: s", false},
		{"list of maps is or", "  s:\n    - eventName: Nope\n    - awsRegion: eu-west-1\n  condition: s", true},
		{"contains", "  s:\n    userAgent|contains: CLI/2\n  condition: s", true},
		{"startswith", "  s:\n    userAgent|startswith: aws-cli\n  condition: s", true},
		{"endswith", "  s:\n    userAgent|endswith: python/3.11\n  condition: s", true},
		{"contains all", "  s:\n    userAgent|contains|all:\n      - aws-cli\n      - Python\n  condition: s", true},
		{"contains all fails on one", "  s:\n    userAgent|contains|all:\n      - aws-cli\n      - Ruby\n  condition: s", false},
		{"wildcards", "  s:\n    userAgent: 'aws-?li/*python*'\n  condition: s", true},
		{"escaped star is literal", "  s:\n    requestParameters.path: 'C:\\Temp\\\\\\*x'\n  condition: s", true},
		{"escaped star does not glob", "  s:\n    requestParameters.path: 'C:\\Temp\\\\\\*'\n  condition: s", false},
		{"backslash then wildcard", "  s:\n    requestParameters.path: 'C:\\Temp\\\\*'\n  condition: s", true},
		{"re is case-sensitive", "  s:\n    userAgent|re: '^AWS-cli'\n  condition: s", false},
		{"re with i", "  s:\n    userAgent|re|i: '^AWS-cli/\\d+'\n  condition: s", true},
		{"cidr", "  s:\n    sourceIPAddress|cidr: 10.0.0.0/8\n  condition: s", true},
		{"cidr miss", "  s:\n    sourceIPAddress|cidr: 192.168.0.0/16\n  condition: s", false},
		{"base64", "  s:\n    requestParameters.encoded|base64: Hello powershell\n  condition: s", true},
		{"base64offset contains", "  s:\n    requestParameters.encoded|base64offset|contains: powershell\n  condition: s", true},
		{"exists", "  s:\n    requestParameters.bucketName|exists: true\n  condition: s", true},
		{"exists false", "  s:\n    requestParameters.missing|exists: false\n  condition: s", true},
		{"null means absent", "  s:\n    errorCode: null\n  condition: s", true},
		{"null means null", "  s:\n    requestParameters.nothing: null\n  condition: s", true},
		{"null fails when present", "  s:\n    eventName: null\n  condition: s", false},
		{"fieldref", "  s:\n    userIdentity.userName|fieldref: requestParameters.bucketName\n  condition: s", true},
		{"fieldref differs", "  s:\n    userIdentity.userName|fieldref: awsRegion\n  condition: s", false},
		{"gt on number", "  s:\n    requestParameters.count|gt: 10\n  condition: s", true},
		{"lte on string number", "  s:\n    requestParameters.port|lte: 8000\n  condition: s", false},
		{"array element", "  s:\n    requestParameters.tags: pci\n  condition: s", true},
		{"object contains its JSON", "  s:\n    requestParameters.bucketPolicy|contains: '\"Principal\":\"*\"'\n  condition: s", true},
		{"deep path through arrays", "  s:\n    requestParameters.bucketPolicy.Statement.Principal: '\\*'\n  condition: s", true},
		{"keywords", "  k:\n    - 'nothing here'\n    - GetObject\n  condition: k", true},
		{"keywords miss", "  k:\n    - 'not in the record'\n  condition: k", false},
		{"expand placeholder", "  s:\n    userIdentity.userName|expand: '%admins%'\n  condition: s", false},
		{"and not", "  a:\n    eventName: PutBucketPolicy\n  f:\n    userIdentity.userName: alice\n  condition: a and not f", false},
		{"or with parentheses", "  a:\n    eventName: X\n  b:\n    awsRegion: eu-west-1\n  c:\n    eventSource: s3.amazonaws.com\n  condition: (a or b) and c", true},
		{"1 of pattern", "  sel_a:\n    eventName: X\n  sel_b:\n    eventName: PutBucketPolicy\n  condition: 1 of sel_*", true},
		{"all of pattern", "  sel_a:\n    eventName: X\n  sel_b:\n    eventName: PutBucketPolicy\n  condition: all of sel_*", false},
		{"1 of them", "  a:\n    eventName: X\n  b:\n    awsRegion: eu-west-1\n  condition: 1 of them", true},
		{"all of them", "  a:\n    eventName: X\n  b:\n    awsRegion: eu-west-1\n  condition: all of them", false},
		{"not not", "  a:\n    eventName: X\n  condition: not not a", false},
		{"condition list", "  a:\n    eventName: X\n  b:\n    awsRegion: eu-west-1\n  condition:\n    - a\n    - b", true},
	}
	_ = b64
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rule(t, tc.detection)
			if got := r.Match(ev); got != tc.want {
				t.Errorf("Match(%s) = %v, want %v", strings.ReplaceAll(tc.detection, "\n", " "), got, tc.want)
			}
			if r.Match(ev) && len(r.Explain(ev)) == 0 {
				t.Errorf("a match with no explanation")
			}
		})
	}
}

func TestExpand(t *testing.T) {
	ev := ct(t, strings.Replace(base, `"userName":"alice"`, `"userName":"AdminBob"`, 1))
	r := rule(t, "  s:\n    userIdentity.userName|expand: '%admins%'\n  condition: s")
	if !r.Match(ev) {
		t.Error("%admins% expanded to Admin* should match AdminBob")
	}
}

func TestExplain(t *testing.T) {
	ev := ct(t, base)
	r := rule(t, "  selection:\n    eventName: PutBucketPolicy\n    requestParameters.bucketPolicy.Statement.Principal: '\\*'\n  filter:\n    userIdentity.userName: bob\n  condition: selection and not filter")
	ms := r.Explain(ev)
	if len(ms) != 2 || ms[0].Search != "selection" || ms[0].Value != "PutBucketPolicy" || ms[1].Value != "*" {
		t.Errorf("Explain = %+v, want the two selection fields with their values and no filter", ms)
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		"unknown modifier":    "title: t\nlogsource: {product: aws}\ndetection:\n  s:\n    a|nope: 1\n  condition: s\n",
		"unknown identifier":  "title: t\nlogsource: {product: aws}\ndetection:\n  s:\n    a: 1\n  condition: s and x\n",
		"no condition":        "title: t\nlogsource: {product: aws}\ndetection:\n  s:\n    a: 1\n",
		"bad level":           "title: t\nlevel: severe\nlogsource: {product: aws}\ndetection:\n  s:\n    a: 1\n  condition: s\n",
		"bad regexp":          "title: t\nlogsource: {product: aws}\ndetection:\n  s:\n    a|re: '('\n  condition: s\n",
		"bad cidr":            "title: t\nlogsource: {product: aws}\ndetection:\n  s:\n    a|cidr: 10.0.0.0/99\n  condition: s\n",
		"aggregation":         "title: t\nlogsource: {product: aws}\ndetection:\n  s:\n    a: 1\n  condition: s | count() > 5\n",
		"unbalanced":          "title: t\nlogsource: {product: aws}\ndetection:\n  s:\n    a: 1\n  condition: (s\n",
		"missing placeholder": "title: t\nlogsource: {product: aws}\ndetection:\n  s:\n    a|expand: '%nobody%'\n  condition: s\n",
		"yaml":                "title: [\n",
	}
	for name, src := range cases {
		_, errs := Parse([]byte(src), "bad.yml", Options{})
		if len(errs) == 0 {
			t.Errorf("%s: parsed without error", name)
			continue
		}
		if !strings.HasPrefix(errs[0].Error(), "bad.yml") {
			t.Errorf("%s: error %q does not name the file", name, errs[0])
		}
	}
	_, errs := Parse([]byte(cases["unknown modifier"]), "bad.yml", Options{})
	if !strings.HasPrefix(errs[0].Error(), "bad.yml:5:") {
		t.Errorf("error %q does not give the line", errs[0])
	}
}

func TestBase64Offsets(t *testing.T) {
	// Each variant must be found inside the encoding of the value at any
	// position, as Sigma's base64offset promises.
	for _, prefix := range []string{"", "x", "xy", "xyz"} {
		enc := base64.StdEncoding.EncodeToString([]byte(prefix + "powershell -enc" + "tail"))
		found := false
		for _, v := range base64Offsets("powershell -enc") {
			if strings.Contains(enc, v) {
				found = true
			}
		}
		if !found {
			t.Errorf("prefix %q: no base64offset variant occurs in %s", prefix, enc)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("title: t\nlogsource: {product: aws}\ndetection:\n  s:\n    a|contains|all: [x, y]\n  condition: 1 of s* and not (s)\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		rs, _ := Parse(src, "fuzz.yml", Options{})
		ev := event.Event{Raw: event.Raw{Format: event.RawJSON, Data: []byte(`{"a":"x y","b":[1,{"c":null}]}`)}}
		for _, r := range rs {
			if r.Match(&ev) {
				r.Explain(&ev)
			}
		}
	})
}

func TestGlobMatcherAgainstRegexp(t *testing.T) {
	patterns := []string{"a*b", "*a*b*", "a*b*c", "ab*", "*ab", "a*", "*", "a**b", "*a*", "abc", "a*bc*bc", "x*y*z*"}
	inputs := []string{"", "a", "ab", "aXb", "abab", "aXbXc", "abcbc", "abc", "ba", "xyz", "xxyyzz", "zyx", "aBc", "AXB"}
	for _, p := range patterns {
		for _, cased := range []bool{false, true} {
			fast := globMatcher(p, "equals", cased, false)
			expr := "^" + strings.ReplaceAll(regexpQuote(p), `\*`, ".*") + "$"
			if !cased {
				expr = "(?i)" + expr
			}
			re := mustRegexp(t, expr)
			for _, in := range inputs {
				if got, want := fast(in), re.MatchString(in); got != want {
					t.Errorf("glob %q cased=%v on %q = %v, want %v", p, cased, in, got, want)
				}
			}
		}
	}
}

// Parapet's triage guide is read from the rule (other tools ignore it).
func TestTriage(t *testing.T) {
	rules, errs := Parse([]byte(`title: T
logsource: {product: aws, service: cloudtrail}
detection:
    selection: {eventName: StopLogging}
    condition: selection
triage:
    - 'Who: userIdentity.arn'
    - 'Which trail: requestParameters.name'
`), "t.yml", Options{})
	if len(errs) > 0 || len(rules) != 1 {
		t.Fatalf("parse: %v", errs)
	}
	if got := rules[0].Triage; len(got) != 2 || got[1] != "Which trail: requestParameters.name" {
		t.Errorf("Triage = %q", got)
	}
}
