package ueba

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
)

// The cold-start account's records are written in the shapes AWS
// documents for CloudTrail (userIdentity of an IAM user, an assumed role
// with its session issuer, the root user, an AWS service), then decoded
// as parapet detect decodes them.
const coldAccount = "111122223333"

type trail struct {
	t    *testing.T
	seq  int
	evs  []event.Event
	hold [][]byte // the records the events point into
}

// identities, by kind.
func iamUser(name, key string) map[string]any {
	return map[string]any{"type": "IAMUser", "principalId": "AIDA" + strings.ToUpper(strings.ReplaceAll(name, "-", "")), "arn": "arn:aws:iam::" + coldAccount + ":user/" + name,
		"accountId": coldAccount, "accessKeyId": key, "userName": name}
}

func roleSession(role, session, key string) map[string]any {
	return map[string]any{"type": "AssumedRole", "principalId": "AROA" + strings.ToUpper(strings.ReplaceAll(role, "-", "")) + ":" + session,
		"arn": "arn:aws:sts::" + coldAccount + ":assumed-role/" + role + "/" + session, "accountId": coldAccount, "accessKeyId": key,
		"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "principalId": "AROA" + strings.ToUpper(strings.ReplaceAll(role, "-", "")),
			"arn": "arn:aws:iam::" + coldAccount + ":role/" + role, "accountId": coldAccount, "userName": role},
			"attributes": map[string]any{"creationDate": "2026-11-02T00:00:00Z", "mfaAuthenticated": "false"}}}
}

func rootConsole(key string) map[string]any {
	return map[string]any{"type": "Root", "principalId": coldAccount, "arn": "arn:aws:iam::" + coldAccount + ":root", "accountId": coldAccount,
		"accessKeyId": key, "sessionContext": map[string]any{"attributes": map[string]any{"creationDate": "2026-11-02T08:00:00Z", "mfaAuthenticated": "true"}}}
}

func awsService(service string) map[string]any {
	return map[string]any{"type": "AWSService", "invokedBy": service}
}

// add appends one record: who, when, which API (service:Operation), from
// where, with which client, and its error code ("" for success).
func (tr *trail) add(id map[string]any, at time.Time, api, ip, ua, errCode string) string {
	tr.t.Helper()
	svc, op, _ := strings.Cut(api, ":")
	tr.seq++
	eventID := fmt.Sprintf("cold-%05d-%s", tr.seq, op)
	rec := map[string]any{
		"eventVersion": "1.10", "userIdentity": id, "eventTime": at.UTC().Format(time.RFC3339), "eventSource": svc + ".amazonaws.com",
		"eventName": op, "awsRegion": "eu-west-1", "sourceIPAddress": ip, "userAgent": ua, "requestParameters": nil, "responseElements": nil,
		"requestID": fmt.Sprintf("req-%d", tr.seq), "eventID": eventID, "readOnly": strings.HasPrefix(op, "Describe") || strings.HasPrefix(op, "List") || strings.HasPrefix(op, "Get"),
		"eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": coldAccount, "eventCategory": "Management",
	}
	if errCode != "" {
		rec["errorCode"] = errCode
		rec["errorMessage"] = "User is not authorized to perform: " + svc + ":" + op
	}
	if t, ok := id["type"]; ok && t == "AWSService" {
		rec["sourceIPAddress"] = id["invokedBy"]
		rec["userAgent"] = id["invokedBy"]
	}
	b, err := json.Marshal(rec)
	if err != nil {
		tr.t.Fatal(err)
	}
	var ev event.Event
	if err := cloudtrail.Decode(b, &ev); err != nil {
		tr.t.Fatalf("decode %s: %v", b, err)
	}
	tr.hold = append(tr.hold, b)
	tr.evs = append(tr.evs, ev)
	return eventID
}

const (
	cli     = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off command/"
	browser = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
	ghActs  = "aws-sdk-js/3.540.0 ua/2.0 os/linux#6.5.0 lang/js md/nodejs#20.11.1 api/sts#3.540.0 exec-env/github-actions"
	lambdaU = "Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#5.10.209 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12"
)

// ordinaryDay is a small company's day: four people at the office (the
// CLI and the console), CI deploying through a role every hour, a Lambda
// function's role around the clock, the owner browsing the console as
// root, and AWS's own services (Config, CloudTrail, log delivery).
func (tr *trail) ordinaryDay(day time.Time) {
	people := []struct{ name, key, ip string }{
		{"alice", "AKIAALICEALICEALICE1", "203.0.113.10"}, {"bob", "AKIABOBBOBBOBBOBBOB1", "203.0.113.11"},
		{"carol", "AKIACAROLCAROLCAROL1", "203.0.113.12"}, {"dave", "AKIADAVEDAVEDAVEDAV1", "203.0.113.13"},
	}
	work := []string{"sts:GetCallerIdentity", "s3:ListBuckets", "ec2:DescribeInstances", "logs:FilterLogEvents", "lambda:GetFunction",
		"dynamodb:DescribeTable", "cloudformation:DescribeStacks", "s3:ListObjectsV2", "ec2:DescribeSecurityGroups", "monitoring:GetMetricData"}
	for h := 9; h < 18; h++ {
		for i, p := range people {
			for k := range 8 {
				at := day.Add(time.Duration(h)*time.Hour + time.Duration(k*7+i)*time.Minute)
				tr.add(iamUser(p.name, p.key), at, work[(k+i+h)%len(work)], p.ip, cli+"s3.ls", "")
			}
		}
	}
	for h := range 24 {
		at := day.Add(time.Duration(h) * time.Hour)
		if h >= 8 && h < 20 {
			key := fmt.Sprintf("ASIACIDEPLOY%08d", h)
			ci := roleSession("ci-deployer", fmt.Sprintf("GitHubActions-%d", h), key)
			for k, api := range []string{"sts:GetCallerIdentity", "cloudformation:DescribeStacks", "s3:PutObject", "cloudformation:DescribeStackEvents", "ecr:GetAuthorizationToken"} {
				tr.add(ci, at.Add(time.Duration(k)*20*time.Second), api, "192.0.2.40", ghActs, "")
			}
		}
		fn := roleSession("orders-fn-role", "orders-fn", fmt.Sprintf("ASIAORDERSFN%08d", h))
		for k := range 6 {
			api := []string{"dynamodb:GetItem", "dynamodb:PutItem", "sqs:SendMessage"}[k%3]
			tr.add(fn, at.Add(time.Duration(k)*10*time.Minute), api, "3.248.10.20", lambdaU, "")
		}
		tr.add(awsService("config.amazonaws.com"), at.Add(5*time.Minute), "ec2:DescribeInstances", "", "", "")
		tr.add(awsService("cloudtrail.amazonaws.com"), at.Add(6*time.Minute), "s3:GetBucketAcl", "", "", "")
		tr.add(awsService("delivery.logs.amazonaws.com"), at.Add(7*time.Minute), "s3:PutObject", "", "", "")
	}
	tr.rootBrowsing(day.Add(8 * time.Hour))
}

// rootBrowsing: the owner signs in as root and looks around the console.
func (tr *trail) rootBrowsing(at time.Time) {
	root := rootConsole("ASIAROOTCONSOLE" + at.Format("0102"))
	for k, api := range []string{"ec2:DescribeInstances", "ce:GetCostAndUsage", "s3:ListBuckets", "health:DescribeEventAggregates", "iam:GetAccountSummary", "ec2:DescribeRegions"} {
		tr.add(root, at.Add(time.Duration(k)*90*time.Second), api, "198.18.7.20", browser, "")
	}
}

// logDeliveryFailing: a bucket policy change stops log delivery: AWS's
// delivery service is denied on every API it tries, in bursts.
func (tr *trail) logDeliveryFailing(at time.Time) {
	for i := range 40 {
		api := []string{"s3:PutObject", "s3:GetBucketAcl", "logs:CreateLogStream", "kms:GenerateDataKey", "firehose:PutRecordBatch"}[i%5]
		tr.add(awsService("delivery.logs.amazonaws.com"), at.Add(time.Duration(i)*15*time.Second), api, "", "", "AccessDenied")
		tr.add(awsService("cloudtrail.amazonaws.com"), at.Add(time.Duration(i)*15*time.Second+time.Second), "s3:PutObject", "", "", "AccessDenied")
	}
}

// TestColdStart: an account with one day of ordinary history (its
// baseline immature under the default seven days and 1,000 events), then
// a never-seen identity (or a known user's key, stolen) that checks who
// it is, is denied on several services within minutes, enumerates IAM,
// grants itself administrator rights and creates credentials. The models
// raise exactly one finding for it: its session's, holding those calls,
// at low severity and saying why in words; the same morning's root
// console browsing and log-delivery failures raise none.
func TestColdStart(t *testing.T) {
	variants := []struct {
		name string
		who  map[string]any
		ip   string
	}{
		{"new IAM user", iamUser("svc-backup2", "AKIAZZBACKUP2ZZZZZZZ"), "198.51.100.66"},
		{"assumed role session", roleSession("break-glass", "x", "ASIAZZBREAKGLASSZZZZ"), "198.51.100.66"},
		{"stolen key of an existing user from a new network", iamUser("carol", "AKIACAROLCAROLCAROL1"), "198.51.100.66"},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			tr := &trail{t: t}
			tr.ordinaryDay(t0)
			next := t0.Add(24 * time.Hour)
			tr.rootBrowsing(next.Add(8 * time.Hour))
			tr.logDeliveryFailing(next.Add(9 * time.Hour))
			// The intruder, at 10:00 the next morning.
			at := next.Add(10 * time.Hour)
			step := func(api, errCode string) string {
				id := tr.add(v.who, at, api, v.ip, "python-requests/2.31.0", errCode)
				at = at.Add(35 * time.Second)
				return id
			}
			whoami := step("sts:GetCallerIdentity", "")
			var denied []string
			for _, c := range []struct{ api, code string }{
				{"s3:ListBuckets", "AccessDenied"}, {"ec2:DescribeInstances", "Client.UnauthorizedOperation"},
				{"lambda:ListFunctions", "AccessDeniedException"}, {"secretsmanager:ListSecrets", "AccessDeniedException"},
			} {
				denied = append(denied, step(c.api, c.code))
			}
			var enum []string
			for _, api := range []string{"iam:ListUsers", "iam:ListRoles", "iam:ListAttachedUserPolicies", "iam:GetAccountAuthorizationDetails"} {
				enum = append(enum, step(api, ""))
			}
			grant := []string{step("iam:AttachUserPolicy", ""), step("iam:PutUserPolicy", "")}
			cred := []string{step("iam:CreateAccessKey", ""), step("iam:CreateLoginProfile", "")}
			attack := slices.Concat([]string{whoami}, denied, enum, grant, cred)
			// The rest of the morning: the office at work.
			for i := range 30 {
				tr.add(iamUser("alice", "AKIAALICEALICEALICE1"), at.Add(time.Duration(i)*2*time.Minute), "s3:ListBuckets", "203.0.113.10", cli+"s3.ls", "")
			}

			e := New(Config{Final: true})
			var found []detect.Finding
			for i := range tr.evs {
				if f := e.Observe(&tr.evs[i]); f != nil {
					t.Fatalf("Observe returned a finding with Config.Final: %s", f.Title)
				}
				if i%500 == 0 {
					found = e.Closed(found)
				}
			}
			found = e.Flush(e.Closed(found))
			if e.Open() != 0 {
				t.Errorf("%d sessions open after Flush", e.Open())
			}
			if len(found) != 1 {
				var titles []string
				for _, f := range found {
					titles = append(titles, fmt.Sprintf("%s (%s: %v)", f.Title, f.Actor.Type, f.EventIDs))
				}
				t.Fatalf("want one session finding, got %d: %v (stats %+v)", len(found), titles, e.Stats())
			}
			f := found[0]
			// Every call it holds is the intruder's, in time order; it
			// holds the escalation and the credentials, the recon, and
			// says how many it holds.
			for _, id := range f.EventIDs {
				if !slices.Contains(attack, id) {
					t.Errorf("the finding holds %s, not one of the intruder's calls", id)
				}
			}
			if !slices.IsSorted(f.EventIDs) || f.Count != len(f.EventIDs) {
				t.Errorf("event ids %v (count %d): want them in time order, all counted", f.EventIDs, f.Count)
			}
			for _, id := range slices.Concat(grant, cred) {
				if !slices.Contains(f.EventIDs, id) {
					t.Errorf("the finding does not hold %s: %v", id, f.EventIDs)
				}
			}
			recon := 0
			for _, id := range slices.Concat(denied, enum) {
				if slices.Contains(f.EventIDs, id) {
					recon++
				}
			}
			if recon < 3 {
				t.Errorf("the finding holds %d of the denied and enumeration calls: %v", recon, f.EventIDs)
			}
			if f.ID != detect.FindingID("ueba.session", f.EventIDs[:1]) || f.Level != "low" || f.Source != "ueba" {
				t.Errorf("finding id %s, level %s, source %s: want the session's first anomaly's id, low (a day of history)", f.ID, f.Level, f.Source)
			}
			// Explained in words: the high-risk actions, the session, the
			// principal's baseline and the account's maturity, once each.
			var text strings.Builder
			once := map[string]int{}
			for _, x := range f.Explanation {
				text.WriteString(x.Detail + "\n")
				if x.Selection == "baseline" || x.Selection == "session" {
					once[x.Selection+"/"+x.Field]++
				}
			}
			for _, want := range []string{"credential creation", "IAM or policy change", "anomalous calls in one session", "baseline is immature"} {
				if !strings.Contains(text.String(), want) {
					t.Errorf("the explanation does not say %q:\n%s", want, text.String())
				}
			}
			for _, k := range []string{"baseline/principal", "baseline/maturity", "session/calls"} {
				if once[k] != 1 {
					t.Errorf("%s explained %d times, want once", k, once[k])
				}
			}
			if !strings.Contains(f.Title, fmt.Sprintf("(%d anomalous calls in one session)", f.Count)) {
				t.Errorf("title %q does not say the session's size", f.Title)
			}
			t.Logf("%s [%s] %v\n%s", f.Title, f.Level, f.EventIDs, text.String())
		})
	}
}
