package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/parapet-sec/parapet/internal/awstest"
)

// serve with Security Hub both ways, on the AWS API emulator: findings
// polled from the hub become incidents, the incidents are exported to
// the hub, and one resolved there is closed in Parapet.
func TestServeSecurityHub(t *testing.T) {
	awstest.Start(t)
	ctx := t.Context()
	hub := securityhub.NewFromConfig(awsConfig(t), func(o *securityhub.Options) { o.Region = "us-east-1" })
	if _, err := hub.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("..", "ingest", "testdata", "samples", "sh-eventbridge.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Detail struct{ Findings []types.AwsSecurityFinding } `json:"detail"`
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: ev.Detail.Findings}); err != nil {
		t.Fatal(err)
	}

	data := t.TempDir()
	conf := filepath.Join(t.TempDir(), "parapet.yaml")
	y := "respond:\n  dry_run: true\nsources:\n  securityhub:\n    - region: us-east-1\n      every: 1s\n" +
		"securityhub:\n  export: true\n  findings: true\n  region: us-east-1\n  account: \"123456789012\"\n  url: https://parapet.example.com\n  every: 1s\n"
	if err := os.WriteFile(conf, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	tok := token(t, data, "analyst")
	url, _ := startServe(t, "--data", data, "--config", conf)

	// The polled findings make an incident.
	var incident string
	for deadline := time.Now().Add(60 * time.Second); incident == ""; time.Sleep(100 * time.Millisecond) {
		_, v := call(t, "GET", url+"/v1/incidents?limit=100", tok, "", nil)
		s := mustJSON(v)
		if strings.Contains(s, "GuardDuty") && strings.Contains(s, "malicious IP") {
			t.Fatalf("GuardDuty's ASFF copy was ingested: %s", s)
		}
		var list struct {
			Incidents []struct {
				ID       string `json:"id"`
				Headline string `json:"headline"`
			} `json:"items"`
		}
		_ = json.Unmarshal([]byte(s), &list)
		for _, in := range list.Incidents {
			if in.Headline == "Instance credentials used from a Tor exit node" {
				incident = in.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no incident from the Security Hub findings: %s", s)
		}
	}

	// It is exported to the hub.
	var exported types.AwsSecurityFinding
	for deadline := time.Now().Add(60 * time.Second); exported.Id == nil; time.Sleep(100 * time.Millisecond) {
		out, err := hub.GetFindings(ctx, &securityhub.GetFindingsInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range out.Findings {
			if aws.ToString(f.Id) == "parapet/incident/"+incident {
				exported = f
			}
			if strings.HasPrefix(aws.ToString(f.Id), "parapet/finding/") {
				// With findings: true, but read from the hub: not sent back.
				t.Fatalf("a finding read from Security Hub was exported back: %s", aws.ToString(f.GeneratorId))
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("incident %s not exported", incident)
		}
	}
	if aws.ToString(exported.ProductName) != "Parapet" || aws.ToString(exported.SourceUrl) != "https://parapet.example.com/#/incident/"+incident ||
		exported.Severity == nil || exported.Severity.Label != types.SeverityLabelCritical {
		t.Errorf("exported incident: product %q url %q severity %+v", aws.ToString(exported.ProductName), aws.ToString(exported.SourceUrl), exported.Severity)
	}

	// Resolved in the hub (the emulator has no BatchUpdateFindings: the
	// finding is imported again with the status), it is closed here.
	exported.Workflow = &types.Workflow{Status: types.WorkflowStatusResolved}
	exported.UpdatedAt = aws.String(time.Now().UTC().Format(time.RFC3339Nano))
	if _, err := hub.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []types.AwsSecurityFinding{exported}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, v := call(t, "GET", url+"/v1/incidents/"+incident, tok, "", nil)
		s := mustJSON(v)
		if strings.Contains(s, `"status":"closed"`) {
			if !strings.Contains(s, `"closed_by":"securityhub"`) || !strings.Contains(s, "Security Hub workflow status RESOLVED") {
				t.Errorf("closed incident: %s", s)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("incident not closed: %s", s)
		}
	}
}
