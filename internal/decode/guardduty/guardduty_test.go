package guardduty

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/parapet-sec/parapet/internal/event"
)

func TestLevel(t *testing.T) {
	for sev, want := range map[float64]string{0: "informational", 1: "low", 3.9: "low", 4: "medium", 6.9: "medium", 7: "high", 8.9: "high", 9: "critical", 10: "critical"} {
		if got := Level(sev); got != want {
			t.Errorf("Level(%v) = %s, want %s", sev, got, want)
		}
	}
}

func TestDecodeS3Finding(t *testing.T) {
	b, err := os.ReadFile("../../ingest/testdata/samples/gd-finding-s3.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev event.Event
	if err := Decode(b, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Class != event.ClassDetectionFinding || ev.Finding == nil || ev.Finding.Type != "PenTest:S3/ParrotLinux" {
		t.Fatalf("Decode = %+v", ev)
	}
	buckets := 0
	for _, r := range ev.Resources {
		if r.Type == "AWS::S3::Bucket" && r.Name != "" {
			buckets++
		}
	}
	if buckets == 0 || ev.Actor.AccessKeyID == "" || !ev.Src.IP.IsValid() {
		t.Errorf("resources %+v actor %+v src %v: want a bucket, the key and the remote IP", ev.Resources, ev.Actor, ev.Src.IP)
	}
}

func TestRejects(t *testing.T) {
	for _, in := range []string{`{}`, `{"id":"x","type":"y"}`, `{"id":"x","type":"y","severity":5}`, `{"id":`} {
		var ev event.Event
		if err := Decode([]byte(in), &ev); err == nil {
			t.Errorf("Decode(%s) accepted it", in)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, p := range []string{"../../ingest/testdata/samples/gd-finding-iam.json", "../../ingest/testdata/samples/gd-finding-s3.json"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"id":"a","type":"t","severity":"5","updatedAt":"2026-01-01T00:00:00Z","resource":{"s3BucketDetails":[{"name":"b"},1]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev event.Event
		if err := Decode(b, &ev); err != nil {
			return
		}
		if out := ev.AppendJSON(nil, true); !json.Valid(out) {
			t.Fatalf("output is not valid JSON: %s", out)
		}
	})
}
