package azure

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/parapet-sec/parapet/internal/event"
)

func records(t *testing.T) [][]byte {
	t.Helper()
	b, err := os.ReadFile("testdata/activity.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Records []json.RawMessage }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, r := range doc.Records {
		out = append(out, r)
	}
	f, err := os.Open("testdata/azureactivity-rows.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

func TestDecode(t *testing.T) {
	recs := records(t)
	var evs []event.Event
	for i, r := range recs {
		if !Is(r) {
			t.Errorf("record %d not recognised", i)
		}
		var ev event.Event
		if err := Decode(r, &ev); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		evs = append(evs, ev)
	}
	a := evs[0]
	if a.Source != event.SourceAzureActivity || a.Cloud.Provider != "azure" || a.Cloud.Account != "6A2C1B7E-0F3D-4C2A-9B8E-1D2F3A4B5C6D" ||
		a.Actor.UserName != "mallory@contoso.com" || a.Actor.ARN != "mallory@contoso.com" || a.Actor.PrincipalID != "11111111-2222-3333-4444-555555555555" ||
		a.API.Operation != "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE" || a.API.Service != "MICROSOFT.AUTHORIZATION" ||
		a.Outcome != event.OutcomeSuccess || a.Src.IP.String() != "203.0.113.45" || a.Type != "Administrative" ||
		a.Time.Format("2006-01-02T15:04:05") != "2026-11-20T09:14:02" || len(a.Resources) != 1 || a.Resources[0].Type != "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS" || a.ID == "" {
		t.Errorf("role assignment: %+v", a)
	}
	b := evs[1]
	if b.Outcome != event.OutcomeFailure || b.API.ErrorCode != "Failed.Forbidden" || b.Actor.Type != "ServicePrincipal" ||
		b.Actor.UserName != "a0b1c2d3-e4f5-6789-abcd-ef0123456789" || b.Cloud.Region != "westeurope" || b.Activity != 4 {
		t.Errorf("failed delete: %+v", b)
	}
	c := evs[2]
	if c.ID != "e1e2e3e4-f5f6-a7a8-b9b0-c1c2c3c4c5c6" || c.Actor.UserName != "attacker@contoso.com" || c.Cloud.Account != "6a2c1b7e-0f3d-4c2a-9b8e-1d2f3a4b5c6d" ||
		c.API.Service != "Microsoft.ADHybridHealthService" || c.Outcome != event.OutcomeSuccess {
		t.Errorf("Log Analytics row: %+v", c)
	}
	// Rules written for the other schema read these records.
	if v, ok := a.Lookup("OperationNameValue"); !ok || v.String() != "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE" {
		t.Errorf("alias OperationNameValue: %v %v", v, ok)
	}
	if v, ok := c.Lookup("operationName"); !ok || v.String() != "Microsoft.ADHybridHealthService/services/servicemembers/action" {
		t.Errorf("alias operationName: %v %v", v, ok)
	}
	if _, ok := a.Lookup("NoSuchField"); ok {
		t.Error("an absent field was found")
	}
	// The same record twice has the same id.
	var again event.Event
	_ = Decode(recs[1], &again)
	if again.ID != b.ID {
		t.Error("content ids differ")
	}
}

func TestNotRecord(t *testing.T) {
	var ev event.Event
	for _, bad := range []string{`{"operationName":"x/y/write"}`, `{"time":"2026-01-01T00:00:00Z"}`, `{"operationName":"x","time":"yesterday"}`, `{`} {
		if err := Decode([]byte(bad), &ev); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// FuzzDecode: no input panics; a decoded record has an operation and a
// time; its Raw record is valid JSON and decodes again to the same event
// (what the pipeline does when it forwards records), unchanged.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"operationName":"A/B/WRITE","time":"2026-01-01T00:00:00Z","resourceId":"/subscriptions/s/x","identity":{"claims":{"upn":"u"}}}`))
	f.Add([]byte(`{"TimeGenerated":"2026-01-01T00:00:00Z","OperationNameValue":"A/B/WRITE","Properties_d":"{\"requestbody\":\"{}\"}","Claims_d":{"appid":"x","idtyp":"app"}}`))
	f.Add([]byte(`{"eventTimestamp":"2026-01-01T00:00:00Z","operationName":{"value":"A/B/DELETE"},"status":{"value":"Failed"},"eventName":{"value":"EndRequest"},"claims":{"upn":"u"}}`))
	f.Add([]byte(`{"@timestamp":"2026-01-01T00:00:00Z","azure":{"activitylogs":{"operation_name":"A/B/WRITE","properties":{"requestbody":{"a":[1, 2]}},"identity":{"claims":{"http://schemas_microsoft_com/x":"y"}}}},"message":"m"}`))
	f.Add([]byte(`{"@timestamp":"x","azure":{"activitylogs":{}},"event":{"original":"{\"operationName\":\"A/B/WRITE\",\"time\":\"2026-01-01T00:00:00Z\"}"}}`))
	for _, name := range []string{"testdata/rest-eventdata.json", "testdata/sentinel-rows.jsonl", "testdata/elastic.jsonl", "testdata/azureactivity-rows.jsonl"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if bytes.HasPrefix(b, []byte("[")) {
			var arr []json.RawMessage
			if err := json.Unmarshal(b, &arr); err != nil {
				f.Fatal(err)
			}
			for _, r := range arr {
				f.Add([]byte(r))
			}
			continue
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			if len(line) > 0 {
				f.Add(line)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		Is(b)
		var ev event.Event
		if Decode(b, &ev) != nil {
			return
		}
		if ev.API.Operation == "" || ev.Time.IsZero() {
			t.Fatalf("decoded without an operation or a time: %q", b)
		}
		if !json.Valid(ev.Raw.Data) {
			t.Fatalf("raw record is not valid JSON: %q from %q", ev.Raw.Data, b)
		}
		raw := append([]byte(nil), ev.Raw.Data...)
		var again event.Event
		if err := Decode(raw, &again); err != nil {
			t.Fatalf("raw record %q does not decode again: %v", raw, err)
		}
		if again.ID != ev.ID || again.API != ev.API || again.Actor != ev.Actor || !bytes.Equal(again.Raw.Data, raw) {
			t.Fatalf("raw record %q decodes to another event: id %s op %q actor %+v, then id %s op %q actor %+v",
				raw, ev.ID, ev.API.Operation, ev.Actor, again.ID, again.API.Operation, again.Actor)
		}
	})
}

// BenchmarkDecode: one diagnostic export record (the Event Hub and storage
// shape), and one Sentinel row that is rewritten.
func BenchmarkDecode(b *testing.B) {
	raw, err := os.ReadFile("testdata/activity.json")
	if err != nil {
		b.Fatal(err)
	}
	var doc struct{ Records []json.RawMessage }
	if err := json.Unmarshal(raw, &doc); err != nil {
		b.Fatal(err)
	}
	rows, err := os.ReadFile("testdata/sentinel-rows.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		rec  []byte
	}{{"diagnostic", doc.Records[0]}, {"sentinel", bytes.SplitN(rows, []byte("\n"), 2)[0]}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.rec)))
			var ev event.Event
			for b.Loop() {
				if err := Decode(c.rec, &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
