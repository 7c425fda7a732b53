package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/enrich"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/lake"
	"github.com/parapet-sec/parapet/internal/server/apiclient"
)

const (
	devARN   = "arn:aws:iam::111122223333:user/dev"
	roleARN  = "arn:aws:iam::111122223333:role/deploy"
	devKey   = "AKIAHUNTDEV0000001"
	roleKey  = "ASIAHUNTROLE000001"
	badIP    = "203.0.113.66"
	bucketID = "arn:aws:s3:::reports-111122223333"
)

// huntLake writes, over three days and two accounts, CloudTrail calls by
// a user (a key of its own) and by a role's sessions, and one flow to a
// listed address; it returns the lake and how many calls each did.
func huntLake(t *testing.T) (*lake.Lake, map[string]int) {
	t.Helper()
	var evs []event.Event
	counts := map[string]int{}
	start := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	for i := range 30 {
		at := start.Add(time.Duration(i) * 2 * time.Hour) // Nov 1 08:00 to Nov 3 18:00
		acct := "111122223333"
		if i%5 == 4 {
			acct = "444455556666"
		}
		src := fmt.Sprintf("192.0.2.%d", i%7+1)
		if i == 12 {
			src = badIP
		}
		var ident string
		if i%3 == 0 {
			ident = fmt.Sprintf(`{"type":"AssumedRole","principalId":"AROAHUNTROLE:s%d","arn":"arn:aws:sts::111122223333:assumed-role/deploy/s%d","accountId":"111122223333","accessKeyId":%q,"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAHUNTROLE","arn":%q,"accountId":"111122223333","userName":"deploy"}}}`, i, i, roleKey, roleARN)
			counts["role"]++
		} else {
			ident = fmt.Sprintf(`{"type":"IAMUser","principalId":"AIDAHUNTDEV","arn":%q,"accountId":"111122223333","accessKeyId":%q,"userName":"dev"}`, devARN, devKey)
			counts["dev"]++
		}
		op, params := "ListBuckets", `null`
		if i%4 == 1 {
			op, params = "GetBucketPolicy", `{"bucketName":"reports-111122223333"}`
			counts["bucket"]++
		}
		if i == 12 {
			counts["bad"]++
		}
		raw := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":%s,"eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":%q,"awsRegion":"eu-west-1","sourceIPAddress":%q,"userAgent":"aws-cli/2.15","requestParameters":%s,"responseElements":null,"requestID":"R%02d","eventID":"ev-%02d","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":%q,"eventCategory":"Management"}`,
			ident, at.Format(time.RFC3339), op, src, params, i, i, acct)
		var ev event.Event
		if err := cloudtrail.Decode([]byte(raw), &ev); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	flow := event.Event{ID: "flow-1", Time: time.Date(2026, 11, 2, 12, 30, 0, 0, time.UTC), Source: event.SourceVPCFlow,
		Class: event.ClassNetworkActivity, Activity: 6, Cloud: event.Cloud{Provider: "aws", Account: "111122223333", Region: "eu-west-1"}}
	flow.Src.IP = netip.MustParseAddr("10.0.1.5")
	flow.Dst.IP = netip.MustParseAddr(badIP)
	evs = append(evs, flow)
	counts["bad"]++
	ctx := context.Background()
	w, err := lake.Open(ctx, lake.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Lake, counts
}

const policyRule = `title: Bucket policy read
id: 0c1f7a40-2222-4000-8000-000000000001
status: test
level: low
logsource:
  product: aws
  service: cloudtrail
detection:
  sel:
    eventSource: s3.amazonaws.com
    eventName: GetBucketPolicy
  condition: sel
`

const listRule = `title: Buckets listed
id: 0c1f7a40-2222-4000-8000-000000000002
status: test
level: informational
logsource:
  product: aws
  service: cloudtrail
detection:
  sel:
    eventName: ListBuckets
  condition: sel
`

type huntAnswer struct {
	Stats     lakeStats
	Findings  []map[string]any
	Events    []map[string]any
	Truncated bool
}

func huntSetup(t *testing.T) (*Server, *live, map[string]int) {
	t.Helper()
	s, ts, toks := setup(t)
	l, counts := huntLake(t)
	s.Lake = l
	var rules []*sigma.Rule
	for _, y := range []string{policyRule, listRule} {
		r, errs := sigma.Parse([]byte(y), "test.yml", sigma.Options{})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		rules = append(rules, r...)
	}
	s.Pipeline.Rules = detect.NewEngine(rules)
	return s, &live{ts: ts, toks: toks}, counts
}

func TestHunts(t *testing.T) {
	s, l, counts := huntSetup(t)
	doc := loadDoc(t, l)
	doc.Servers = openapi3.Servers{{URL: l.ts.URL}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	post := func(body string, want int) (huntAnswer, string) {
		t.Helper()
		req, resp, b := l.do(t, "viewer", "POST", "/v1/hunts", body)
		if resp.StatusCode != want {
			t.Fatalf("POST /v1/hunts %s: %d %s", body, resp.StatusCode, b)
		}
		if err := validateWith(router, req, resp, b, true); err != nil {
			t.Errorf("POST /v1/hunts %s: %v\n%s", body, err, b)
		}
		var a huntAnswer
		if want == 200 {
			if err := json.Unmarshal(b, &a); err != nil {
				t.Fatal(err)
			}
		}
		return a, string(b)
	}
	rules := func(a huntAnswer) map[string]int {
		n := map[string]int{}
		for _, f := range a.Findings {
			n[f["rule_id"].(string)]++
		}
		return n
	}
	all := `"since":"2026-11-01","until":"2026-11-04"`
	// The loaded pack, named or by default.
	for _, body := range []string{`{` + all + `}`, `{` + all + `,"rules":"builtin"}`} {
		a, raw := post(body, 200)
		got := rules(a)
		if got["0c1f7a40-2222-4000-8000-000000000001"] != counts["bucket"] || got["0c1f7a40-2222-4000-8000-000000000002"] != 30-counts["bucket"] || a.Truncated {
			t.Errorf("%s: findings by rule %v, want %d and %d: %.300s", body, got, counts["bucket"], 30-counts["bucket"], raw)
		}
		if a.Stats.Events != 31 || a.Stats.Files == 0 || a.Stats.BytesRead == 0 || a.Stats.Findings != 30 || a.Stats.Partitions != a.Stats.PartitionsAvailable {
			t.Errorf("%s: stats %+v", body, a.Stats)
		}
	}
	// Rule ids of the pack, one account, findings in time order.
	a, _ := post(`{`+all+`,"rules":["0c1f7a40-2222-4000-8000-000000000001"],"accounts":["111122223333"]}`, 200)
	if len(a.Findings) == 0 || len(a.Findings) >= counts["bucket"] || a.Stats.Partitions >= a.Stats.PartitionsAvailable ||
		a.Stats.PassedOver == 0 || a.Stats.PassedOver > a.Stats.Passed-int64(len(a.Findings)) {
		t.Errorf("one rule, one account: %d findings (of %d), stats %+v", len(a.Findings), counts["bucket"], a.Stats)
	}
	for i := 1; i < len(a.Findings); i++ {
		if a.Findings[i]["time"].(string) < a.Findings[i-1]["time"].(string) {
			t.Errorf("findings out of time order: %v then %v", a.Findings[i-1]["time"], a.Findings[i]["time"])
		}
	}
	// A Sigma rule of the request's own, with a CEL filter.
	sig, _ := json.Marshal(strings.Replace(listRule, "0c1f7a40-2222-4000-8000-000000000002", "0c1f7a40-2222-4000-8000-0000000000aa", 1))
	a, _ = post(`{`+all+`,"sigma":`+string(sig)+`,"cel":"access_key_id == \"`+roleKey+`\""}`, 200)
	if got := rules(a); len(got) != 1 || got["0c1f7a40-2222-4000-8000-0000000000aa"] == 0 || got["0c1f7a40-2222-4000-8000-0000000000aa"] >= counts["role"] ||
		a.Stats.Passed != int64(counts["role"]) {
		t.Errorf("sigma and cel: %v, stats %+v", got, a.Stats)
	}
	// The limit.
	a, _ = post(`{`+all+`,"limit":4}`, 200)
	if len(a.Findings) != 4 || !a.Truncated {
		t.Errorf("limit 4: %d findings, truncated %v", len(a.Findings), a.Truncated)
	}
	// CEL alone finds events.
	a, _ = post(`{`+all+`,"cel":"src_ip == \"`+badIP+`\" || dst_ip == \"`+badIP+`\"","format":"events"}`, 200)
	if len(a.Events) != counts["bad"] || len(a.Findings) != 0 {
		t.Errorf("cel events: %d events, want %d: %+v", len(a.Events), counts["bad"], a)
	}
	// Intel: none loaded, then the pipeline's set.
	_, raw := post(`{`+all+`,"intel":true}`, 400)
	if !strings.Contains(raw, "no threat intelligence is loaded") {
		t.Errorf("intel without a set: %s", raw)
	}
	list := filepath.Join(t.TempDir(), "c2.txt")
	os.WriteFile(list, []byte(badIP+"\n"), 0o600)
	in, err := enrich.LoadIntel(list)
	if err != nil {
		t.Fatal(err)
	}
	s.Pipeline.SetIntel(in)
	a, _ = post(`{`+all+`,"intel":true}`, 200)
	if got := rules(a); len(a.Findings) != counts["bad"] || got[detect.IntelRuleID] != counts["bad"] {
		t.Errorf("intel hunt: %v", got)
	}
	// Wrong bodies: the compiler's message.
	for body, msg := range map[string]string{
		`{"cel":"access_key_id"}`:                         "cel:",
		`{"cel":"nope == 1"}`:                             "undeclared reference to 'nope'",
		`{"sigma":"title: x\ndetection: {}\n"}`:           "sigma:",
		`{"rules":["no-such-rule"]}`:                      `no loaded rule has id`,
		`{"rules":"all"}`:                                 "or a list of rule ids",
		`{"since":"yesterday"}`:                           "since:",
		`{"since":"2026-11-04","until":"2026-11-01"}`:     "is not before until",
		`{"limit":100000}`:                                "want 1 to 10000",
		`{"format":"csv"}`:                                "want findings or events",
		`{"cel":"class_uid == 6003","format":"findings"}`: "needs rules, sigma or intel",
	} {
		if _, raw := post(body, 400); !strings.Contains(raw, msg) {
			t.Errorf("%s: %s, want %q", body, raw, msg)
		}
	}
	// No lake: a clear 409.
	s.Lake = nil
	if _, raw := post(`{}`, 409); !strings.Contains(raw, "no lake configured") {
		t.Errorf("no lake: %s", raw)
	}
	if _, resp, b := l.get(t, "viewer", "/v1/timeline?ip="+badIP); resp.StatusCode != 409 {
		t.Errorf("timeline with no lake: %d %s", resp.StatusCode, b)
	}
}

type timelineAnswer struct {
	Items      []timelineItem
	NextCursor string `json:"next_cursor"`
	Stats      lakeStats
}

func TestTimeline(t *testing.T) {
	_, l, counts := huntSetup(t)
	doc := loadDoc(t, l)
	doc.Servers = openapi3.Servers{{URL: l.ts.URL}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	get := func(q string, want int) (timelineAnswer, string) {
		t.Helper()
		req, resp, b := l.get(t, "viewer", "/v1/timeline?"+q)
		if resp.StatusCode != want {
			t.Fatalf("timeline?%s: %d %s", q, resp.StatusCode, b)
		}
		if err := validateWith(router, req, resp, b, true); err != nil {
			t.Errorf("timeline?%s: %v\n%s", q, err, b)
		}
		var a timelineAnswer
		json.Unmarshal(b, &a)
		return a, string(b)
	}
	rng := "&since=2026-11-01&until=2026-11-04"
	// Every page of the role's timeline (by its ARN: the sessions it
	// issued), newest first, each item once.
	var seen []string
	var last time.Time
	cur, pages := "", 0
	for {
		a, _ := get("principal="+roleARN+rng+"&limit=3&cursor="+cur, 200)
		pages++
		for _, it := range a.Items {
			if !last.IsZero() && it.Time.After(last) {
				t.Errorf("page %d: %s after %s: not newest first", pages, it.Time, last)
			}
			last = it.Time
			if !strings.Contains(it.Actor, "assumed-role/deploy") || it.Operation == "" || it.Summary == "" || it.Source != "cloudtrail" || it.Outcome != "success" {
				t.Errorf("item %+v", it)
			}
			seen = append(seen, it.EventUID)
		}
		if a.NextCursor == "" {
			break
		}
		if pages > 20 {
			t.Fatal("the cursor does not advance")
		}
		cur = a.NextCursor
	}
	uniq := slices.Clone(seen)
	slices.Sort(uniq)
	if len(seen) != counts["role"] || len(slices.Compact(uniq)) != counts["role"] || pages != (counts["role"]+2)/3 {
		t.Errorf("role timeline: %d items in %d pages (%v), want %d", len(seen), pages, seen, counts["role"])
	}
	// A principal by its ARN, its access key, an address (as source or
	// destination), a resource.
	for q, want := range map[string]int{
		"principal=" + devARN:       counts["dev"],
		"principal=AIDAHUNTDEV":     counts["dev"],
		"access_key=" + devKey:      counts["dev"],
		"access_key=" + roleKey:     counts["role"],
		"ip=" + badIP:               counts["bad"],
		"resource=" + bucketID:      counts["bucket"],
		"ip=198.51.100.1":           0,
		"principal=" + devARN + "x": 0,
	} {
		a, raw := get(q+rng+"&limit=1000", 200)
		if len(a.Items) != want || a.NextCursor != "" {
			t.Errorf("%s: %d items, want %d: %.400s", q, len(a.Items), want, raw)
		}
		// An access key is pushed down to the scan: only its rows are
		// read; the other entities match one of several columns, and every
		// row in the range is checked.
		events := int64(31)
		if strings.HasPrefix(q, "access_key=") {
			events = int64(want)
		}
		if a.Stats.Events != events || a.Stats.Passed != int64(want) || a.Stats.BytesRead == 0 {
			t.Errorf("%s: stats %+v", q, a.Stats)
		}
	}
	// A short page is filled from the newest day: older days are not read.
	a, _ := get("access_key="+devKey+rng+"&limit=3", 200)
	if len(a.Items) != 3 || a.Items[0].Time.Day() != 3 || a.Stats.Partitions == 0 || a.Stats.Partitions >= a.Stats.PartitionsAvailable-2 || a.Stats.Events >= 31 {
		t.Errorf("a short page: %d items, stats %+v", len(a.Items), a.Stats)
	}
	// A range of one day reads that day's partitions only.
	a, _ = get("access_key="+devKey+"&since=2026-11-02&until=2026-11-03", 200)
	if len(a.Items) == 0 || len(a.Items) >= counts["dev"] || a.Stats.Partitions >= a.Stats.PartitionsAvailable {
		t.Errorf("one day: %d items, stats %+v", len(a.Items), a.Stats)
	}
	for _, it := range a.Items {
		if it.Time.Day() != 2 {
			t.Errorf("one day: item at %s", it.Time)
		}
	}
	// The generated client reads a page and runs a hunt.
	c, err := apiclient.NewClientWithResponses(l.ts.URL, apiclient.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+l.toks["viewer"])
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	key, since, until := devKey, "2026-11-01", "2026-11-04"
	tp, err := c.GetTimelineWithResponse(context.Background(), &apiclient.GetTimelineParams{AccessKey: &key, Since: &since, Until: &until})
	if err != nil || tp.JSON200 == nil || tp.JSON200.Items == nil || len(*tp.JSON200.Items) != counts["dev"] || (*tp.JSON200.Items)[0].Actor != devARN {
		t.Errorf("generated client timeline: %v %s", err, tp.Body)
	}
	cel := `access_key_id == "` + roleKey + `"`
	hp, err := c.PostHuntsWithResponse(context.Background(), apiclient.HuntBody{Since: &since, Until: &until, Cel: &cel})
	if err != nil || hp.JSON200 == nil || hp.JSON200.Events == nil || len(*hp.JSON200.Events) != counts["role"] || hp.JSON200.Stats.Passed != int64(counts["role"]) {
		t.Errorf("generated client hunt: %v %s", err, hp.Body)
	}
	for q, msg := range map[string]string{
		"":                               "name an entity",
		"ip=" + badIP + "&access_key=x":  "name one entity",
		"ip=nope":                        "not an address",
		"ip=" + badIP + "&cursor=%21%21": "not one a timeline page gave",
		"ip=" + badIP + "&limit=0":       "want 1 to 1000",
		"ip=" + badIP + "&since=then":    "since:",
	} {
		if _, raw := get(q, 400); !strings.Contains(raw, msg) {
			t.Errorf("timeline?%s: %s, want %q", q, raw, msg)
		}
	}
}
