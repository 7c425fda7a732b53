package report

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
)

// A finding on a CloudTrail call says what happened in words in its JSON
// summary and in the table's WHAT column; the rule's match details stay
// in explanation.
func TestFindingSaysWhatHappened(t *testing.T) {
	rec := `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAFRANK","arn":"arn:aws:iam::111122223333:user/frank","accountId":"111122223333","accessKeyId":"AKIAFRANK","userName":"frank"},` +
		`"eventTime":"2026-11-02T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0",` +
		`"requestParameters":{"userName":"erin"},"responseElements":{"accessKey":{"userName":"erin","accessKeyId":"AKIAERIN","status":"Active"}},"requestID":"r-1","eventID":"e0000000-aaaa-4bbb-8ccc-000000000001",` +
		`"readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`
	var ev event.Event
	if err := cloudtrail.Decode([]byte(rec), &ev); err != nil {
		t.Fatal(err)
	}
	f := detect.FromEvent(&ev)
	f.ID, f.RuleID, f.Title, f.Level, f.Source = "f1", "r1", "Access Key Created For Another User", "high", "sigma"
	f.Explanation = []detect.Evidence{{Selection: "selection", Field: "requestParameters.userName", Value: "erin"}}
	const want = "frank created an access key for erin"

	var j struct {
		Summary     string `json:"summary"`
		Explanation []struct {
			Field string `json:"field"`
		} `json:"explanation"`
	}
	if err := json.Unmarshal(AppendFindingJSON(nil, &f), &j); err != nil {
		t.Fatal(err)
	}
	if j.Summary != want || len(j.Explanation) != 1 || j.Explanation[0].Field != "requestParameters.userName" {
		t.Errorf("JSON summary %q, explanation %v; want %q and the match detail", j.Summary, j.Explanation, want)
	}
	enc, _ := NewFindingEncoder("table")
	line, err := enc.Append(nil, &f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(strings.TrimSpace(string(line)), want) {
		t.Errorf("table line %q does not end with %q", line, want)
	}
}
