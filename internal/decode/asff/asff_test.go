package asff

import (
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/jsonscan"
)

// findings reads the ASFF findings of a GetFindings page or an
// EventBridge event sample.
func findings(t testing.TB, path, list string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vs, ve, ok := jsonscan.Get(b, 0, list)
	if !ok {
		t.Fatalf("%s: no %s", path, list)
	}
	var out [][]byte
	if _, err := jsonscan.ArrayEach(b[:ve], vs, func(s, e int) error {
		out = append(out, b[s:e])
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDecode(t *testing.T) {
	fs := findings(t, "../../ingest/testdata/samples/sh-eventbridge.json", "detail.findings")
	var ev event.Event
	if err := Decode(fs[1], &ev); err != nil {
		t.Fatal(err)
	}
	f := ev.Finding
	if ev.Source != event.SourceSecurityHub || ev.Class != event.ClassDetectionFinding || f == nil {
		t.Fatalf("Decode = %+v", ev)
	}
	if f.Type != "example-ids/credential-use-from-tor" || f.Level != "critical" || f.Workflow != "NOTIFIED" || len(f.Types) != 3 || f.Product != "Example IDS" {
		t.Errorf("finding %+v", f)
	}
	if ev.Cloud.Account != "111122223333" || ev.Cloud.Region != "us-east-1" || ev.Cloud.Partition != "aws" {
		t.Errorf("cloud %+v", ev.Cloud)
	}
	if ev.Actor.AccessKeyID != "ASIAEXAMPLEKEY123456" || ev.Actor.UserName != "web-role" || ev.Src.IP.String() != "198.51.100.7" || ev.API.Operation != "ListBuckets" {
		t.Errorf("actor %+v src %v api %+v", ev.Actor, ev.Src, ev.API)
	}
	if len(ev.Resources) != 2 || ev.Resources[1].Type != "AWS::S3::Bucket" || ev.Resources[1].Name != "example-logs" {
		t.Errorf("resources %+v", ev.Resources)
	}
	if string(ev.Raw.Data) != string(fs[1]) {
		t.Error("the native record is not kept")
	}
	tac, tech := Tactics(f.Types)
	if !slices.Equal(tac, []string{"credential-access", "initial-access"}) || !slices.Equal(tech, []string{"T1552.005"}) {
		t.Errorf("Tactics(%q) = %v, %v", f.Types, tac, tech)
	}
}

func TestSkip(t *testing.T) {
	eb := findings(t, "../../ingest/testdata/samples/sh-eventbridge.json", "detail.findings")
	page := findings(t, "../../ingest/testdata/samples/sh-getfindings.json", "Findings")
	for _, tc := range []struct {
		name string
		rec  []byte
		skip bool
	}{
		{"inspector", eb[0], false},
		{"custom product", eb[1], false},
		{"guardduty", eb[2], true},
		{"security control", page[0], false},
		{"parapet's own", page[1], true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ev event.Event
			err := Decode(tc.rec, &ev)
			if got := errors.Is(err, ErrSkipped); got != tc.skip {
				t.Errorf("Decode = %v, want skipped %v", err, tc.skip)
			}
			if !tc.skip && err != nil {
				t.Errorf("Decode = %v", err)
			}
		})
	}
}

func TestDecodeBad(t *testing.T) {
	for _, in := range []string{
		`{}`,
		`{"Id":"x","ProductArn":"arn:aws:securityhub:us-east-1::product/a/b"}`,
		`{"Id":"x","ProductArn":"p","GeneratorId":"g"}`, // no time
		`{"Id":"x","ProductArn":"p","GeneratorId":"g","UpdatedAt":"yesterday"}`,
		`{"Id":`,
	} {
		var ev event.Event
		if err := Decode([]byte(in), &ev); err == nil || errors.Is(err, ErrSkipped) {
			t.Errorf("Decode(%q) = %v, want an error", in, err)
		}
	}
}

func TestLevel(t *testing.T) {
	for _, tc := range []struct {
		label string
		n     float64
		want  string
	}{
		{"HIGH", 0, "high"}, {"", 95, "critical"}, {"", 70, "high"}, {"", 40, "medium"}, {"", 1, "low"}, {"", 0, "informational"}, {"INFORMATIONAL", 80, "informational"},
	} {
		if got := Level(tc.label, tc.n); got != tc.want {
			t.Errorf("Level(%q, %v) = %s, want %s", tc.label, tc.n, got, tc.want)
		}
	}
}

func TestTacticNames(t *testing.T) {
	for slug, want := range map[string]string{"command-and-control": "Command and Control", "credential-access": "Credential Access", "nope": ""} {
		if got := Tactic(slug); got != want {
			t.Errorf("Tactic(%q) = %q, want %q", slug, got, want)
		}
	}
	if got := techniqueID("T10789"); got != "" {
		t.Errorf("techniqueID(T10789) = %q, want none", got)
	}
}

func TestResourceTypes(t *testing.T) {
	for a, c := range resourceTypes {
		if ASFFType(c) != a {
			t.Errorf("ASFFType(%s) = %s, want %s", c, ASFFType(c), a)
		}
	}
}

// FuzzDecode: no input panics, and an event decoded is a finding with an
// id and a time.
func FuzzDecode(f *testing.F) {
	for _, p := range []string{"../../ingest/testdata/samples/sh-eventbridge.json", "../../ingest/testdata/samples/sh-getfindings.json"} {
		for _, l := range []string{"detail.findings", "Findings"} {
			b, _ := os.ReadFile(p)
			if vs, ve, ok := jsonscan.Get(b, 0, l); ok {
				_, _ = jsonscan.ArrayEach(b[:ve], vs, func(s, e int) error {
					f.Add(b[s:e])
					return nil
				})
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev event.Event
		if err := Decode(b, &ev); err != nil {
			return
		}
		if ev.Finding == nil || ev.ID == "" || ev.Time.IsZero() {
			t.Fatalf("Decode(%q) = %+v without error", b, ev)
		}
	})
}
