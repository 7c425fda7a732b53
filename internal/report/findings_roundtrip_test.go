package report

import (
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
)

// TestParseFindingJSONRoundTrip: a stored finding read back writes the
// same body (serve rewrites the bodies of episodes it reopens).
func TestParseFindingJSONRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 2, 10, 0, 0, 123_000_000, time.UTC)
	f := detect.Finding{ID: "abc", Time: at, RuleID: "r", Title: "T \"q\"", Level: "high", Source: "sigma", Summary: "alice did x",
		Attack:   detect.Attack{Techniques: []string{"T1078.004"}, Tactics: []string{"initial-access"}},
		EventIDs: []string{"e1", "e2"}, Cloud: event.Cloud{Provider: "aws", Account: "111122223333", Region: "us-east-1"},
		Actor: event.Actor{Type: "IAMUser", ARN: "arn:aws:iam::111122223333:user/alice", UserName: "alice", AccessKeyID: "AKIAEXAMPLE", PrincipalID: "AIDA"},
		SrcIP: "198.51.100.7", Resources: []event.Resource{{Type: "AWS::S3::Bucket", UID: "arn:aws:s3:::b", Name: "b"}},
		Explanation: []detect.Evidence{{Selection: "correlation", Field: "event_count", Value: "3 matching events", Pattern: []string{"userIdentity.arn=x"}}, {Selection: "ueba", Value: "v", Detail: "rare", Score: 2.5}},
		Score:       3.25, Triage: []string{"check who"}, Count: 7, FirstSeen: at.Add(-time.Hour), LastSeen: at}
	want := string(AppendFindingJSON(nil, &f))
	g, err := ParseFindingJSON([]byte(want))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(AppendFindingJSON(nil, &g)); got != want {
		t.Errorf("round trip:\n got %s\nwant %s", got, want)
	}
	if _, err := ParseFindingJSON([]byte("{")); err == nil {
		t.Error("a broken body parsed")
	}
}
