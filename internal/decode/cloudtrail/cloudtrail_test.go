package cloudtrail

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parapet-sec/parapet/internal/event"
)

func typical(t testing.TB) []byte {
	b, err := os.ReadFile("testdata/typical-record.json")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

func TestDecodeTypical(t *testing.T) {
	var ev event.Event
	if err := Decode(typical(t), &ev); err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"id", ev.ID, "4b6b2d1e-6f0c-4a55-9a3e-0d2f8e1c7a11"},
		{"time", ev.Time.Format("2006-01-02T15:04:05Z"), "2026-11-02T09:15:41Z"},
		{"actor type", ev.Actor.Type, "AssumedRole"},
		{"role", ev.Actor.UserName, "ci-deploy"},
		{"session", ev.Actor.SessionName, "ci-deploy-4711"},
		{"issuer", ev.Actor.SessionIssuerARN, "arn:aws:iam::111122223333:role/ci-deploy"},
		{"key", ev.Actor.AccessKeyID, "ASIAEXAMPLEKEY000001"},
		{"account", ev.Cloud.Account, "111122223333"},
		{"region", ev.Cloud.Region, "eu-west-1"},
		{"ip", ev.Src.IP.String(), "198.51.100.23"},
		{"operation", ev.API.Operation, "PutBucketPolicy"},
		{"service", ev.API.Service, "s3.amazonaws.com"},
		{"request", ev.API.RequestID, "EXAMPLE7Q3B9Z2KD"},
		{"class", ev.Class.Name(), "API Activity"},
		{"outcome", ev.Outcome.String(), "success"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if ev.Actor.MFA != event.False || ev.API.ReadOnly || ev.Activity != 3 {
		t.Errorf("mfa %v readOnly %v activity %d, want false, false, 3 (Update)", ev.Actor.MFA, ev.API.ReadOnly, ev.Activity)
	}
	if len(ev.Resources) != 1 || ev.Resources[0].UID != "arn:aws:s3:::acme-web-assets" || ev.Resources[0].Type != "AWS::S3::Bucket" {
		t.Errorf("resources = %+v, want the acme-web-assets bucket once", ev.Resources)
	}
	if v, ok := ev.Lookup("requestParameters.bucketPolicy.Statement.Principal.Service"); !ok || v.String() != "cloudfront.amazonaws.com" {
		t.Errorf("Lookup(principal service) = %q, %v", v.String(), ok)
	}
	if v, ok := ev.Lookup("userIdentity.sessionContext.sessionIssuer.arn"); !ok || v.String() != ev.Actor.SessionIssuerARN {
		t.Errorf("Lookup(session issuer) = %q, %v", v.String(), ok)
	}
	if v, ok := ev.Lookup("requestParameters.bucketPolicy"); !ok || v.Kind != event.KindObject || !json.Valid(v.JSON()) {
		t.Errorf("Lookup(object) = %v %v, want its JSON text", v.Kind, ok)
	}
	if _, ok := ev.Lookup("responseElements.x"); ok {
		t.Error("Lookup into null found a value")
	}
}

func TestDecodeDerived(t *testing.T) {
	cases := []struct {
		name, rec string
		class     event.Class
		activity  uint8
		outcome   event.Outcome
		readOnly  bool
		resources int
	}{
		{"read inferred", `{"eventTime":"2026-01-01T00:00:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers"}`, event.ClassAPIActivity, 2, event.OutcomeSuccess, true, 0},
		{"error is failure", `{"eventTime":"2026-01-01T00:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","errorCode":"Client.UnauthorizedOperation","responseElements":null}`, event.ClassAPIActivity, 1, event.OutcomeFailure, false, 0},
		{"console failure", `{"eventTime":"2026-01-01T00:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Failure"}}`, event.ClassAuthentication, 1, event.OutcomeFailure, false, 0},
		{"key disabled", `{"eventTime":"2026-01-01T00:00:00Z","eventSource":"iam.amazonaws.com","eventName":"UpdateAccessKey","requestParameters":{"accessKeyId":"AKIA1","status":"Inactive","userName":"bob"}}`, event.ClassAccountChange, 5, event.OutcomeSuccess, false, 2},
		{"policy attached", `{"eventTime":"2026-01-01T00:00:00Z","eventSource":"iam.amazonaws.com","eventName":"AttachUserPolicy","requestParameters":{"userName":"bob","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}}`, event.ClassAccountChange, 7, event.OutcomeSuccess, false, 2},
		{"assume role", `{"eventTime":"2026-01-01T00:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","requestParameters":{"roleArn":"arn:aws:iam::1:role/x"}}`, event.ClassAuthentication, 3, event.OutcomeSuccess, false, 1},
		{"instances", `{"eventTime":"2026-01-01T00:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"TerminateInstances","awsRegion":"us-east-1","recipientAccountId":"1","requestParameters":{"instancesSet":{"items":[{"instanceId":"i-1"},{"instanceId":"i-2"}]}}}`, event.ClassAPIActivity, 4, event.OutcomeSuccess, false, 2},
		{"explicit readOnly wins", `{"eventTime":"2026-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","readOnly":false}`, event.ClassAPIActivity, 2, event.OutcomeSuccess, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ev event.Event
			if err := Decode([]byte(tc.rec), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Class != tc.class || ev.Activity != tc.activity || ev.Outcome != tc.outcome || ev.API.ReadOnly != tc.readOnly || len(ev.Resources) != tc.resources {
				t.Errorf("Decode = class %d activity %d outcome %v readOnly %v resources %+v, want %d %d %v %v %d",
					ev.Class, ev.Activity, ev.Outcome, ev.API.ReadOnly, ev.Resources, tc.class, tc.activity, tc.outcome, tc.readOnly, tc.resources)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	cases := map[string]error{
		`{}`:                                   ErrNoEventTime,
		`{"eventTime":"2026-01-01T00:00:00Z"}`: ErrNoEventName,
		`{"eventVersion":"2.1","eventSource":"aws:s3","eventTime":"2026-01-01T00:00:00Z"}`:   ErrS3Notification,
		`{"eventVersion":"1.0","eventTime":"2026-01-01T00:00:00Z","eventName":"X"} trailing`: nil,
		`[1]`: nil,
		`{"eventTime":"yesterday","eventName":"X"}`: nil,
	}
	for rec, want := range cases {
		var ev event.Event
		err := Decode([]byte(rec), &ev)
		if err == nil || want != nil && !errors.Is(err, want) {
			t.Errorf("Decode(%s) = %v, want error %v", rec, err, want)
		}
	}
}

// FuzzDecode: any input either decodes or errors, never panics; whatever
// decodes is valid JSON by encoding/json's judgement, and its output line
// is valid JSON too.
func FuzzDecode(f *testing.F) {
	f.Add(typical(f))
	files, _ := filepath.Glob("../../ingest/testdata/samples/*.json*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"eventTime":"2026-01-01T00:00:00Z","eventName":"X","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s","sessionContext":{"attributes":{"mfaAuthenticated":"true"}}},"resources":[{"ARN":"arn:aws:s3:::b"}]}`))
	f.Fuzz(func(t *testing.T, rec []byte) {
		var ev event.Event
		if err := Decode(rec, &ev); err != nil {
			return
		}
		if !json.Valid(rec) {
			t.Fatalf("Decode accepted invalid JSON %q", rec)
		}
		if out := ev.AppendJSON(nil, true); !json.Valid(out) {
			t.Fatalf("output is not valid JSON: %s", out)
		}
		ev.Lookup("requestParameters.a.b")
		// The key filter never hides a value the record holds.
		filtered := event.Event{Raw: ev.Raw}
		walk := event.Event{Raw: ev.Raw}
		walk.Raw.Keys, walk.Raw.ReqAt = 0, 0
		for _, p := range []string{"requestParameters", "requestParameters.bucketName", "errorCode", "userAgent", "userIdentity.invokedBy", "userIdentity.type",
			"userIdentity.sessionContext.sessionIssuer.type", "requestParameters.a"} {
			if got, want := values(&filtered, p), values(&walk, p); !slices.Equal(got, want) {
				t.Fatalf("%q: with the key filter %q, walking %q", p, got, want)
			}
		}
	})
}

// TestFastPathAgreesWithRecord: every native field a rule can read from the
// decoded event (without walking the record) has the value the record
// holds, on the typical record and on AWS's published samples.
func TestFastPathAgreesWithRecord(t *testing.T) {
	records := [][]byte{typical(t)}
	if files, _ := filepath.Glob("../../../../shared/data/aws-formats/cloudtrail/*.json"); len(files) > 0 {
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var wrapped struct{ Records []json.RawMessage }
			if json.Unmarshal(b, &wrapped) == nil && len(wrapped.Records) > 0 {
				for _, r := range wrapped.Records {
					records = append(records, r)
				}
			} else if bytes.Contains(b, []byte(`"eventVersion"`)) {
				records = append(records, bytes.TrimSpace(b))
			}
		}
	}
	fields := []string{"eventName", "eventSource", "awsRegion", "userAgent", "errorCode", "eventType", "eventID",
		"userIdentity.type", "userIdentity.arn", "userIdentity.accountId", "userIdentity.accessKeyId",
		"userIdentity.principalId", "userIdentity.invokedBy", "userIdentity.sessionContext.sessionIssuer.arn",
		"userIdentity.sessionContext.sessionIssuer.type"}
	for i, rec := range records {
		var ev event.Event
		if err := Decode(rec, &ev); err != nil {
			continue // digest files and the like: not records
		}
		walk := event.Event{Raw: ev.Raw}
		for _, f := range fields {
			a, okA := ev.Lookup(f)
			b, okB := walk.Lookup(f)
			if okA != okB || a.String() != b.String() {
				t.Errorf("record %d, %s: decoded %q %v, record %q %v", i, f, a.String(), okA, b.String(), okB)
			}
		}
	}
}
