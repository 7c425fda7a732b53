package azure

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/event"
)

var update = flag.Bool("update", false, "rewrite testdata/canonical.golden.jsonl")

// shapeFiles are the export shapes beside the diagnostic one, in the order
// of the golden file: the REST API's EventData (az monitor activity-log
// list prints a JSON array), Microsoft Sentinel / Log Analytics AzureActivity
// rows with dynamic columns as objects or as JSON strings, and Elastic's
// azure.activitylogs documents.
var shapeFiles = []string{"rest-eventdata.json", "sentinel-rows.jsonl", "elastic.jsonl"}

// shapeRecords reads the records of one shape file: a JSON array or JSON
// lines.
func shapeRecords(t *testing.T, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
		var arr []json.RawMessage
		if err := json.Unmarshal(b, &arr); err != nil {
			t.Fatal(err)
		}
		for _, r := range arr {
			out = append(out, []byte(r))
		}
		return out
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			out = append(out, append([]byte(nil), sc.Bytes()...))
		}
	}
	return out
}

// TestShapes: every export shape decodes to the same normalized event a
// diagnostic export of the record would give, and the rule fields of the
// diagnostic schema (operationName, resultType, properties.*,
// identity.claims.*, callerIpAddress) read the same values whatever the
// shape, as do the other schemas' names.
func TestShapes(t *testing.T) {
	const sub = "6a2c1b7e-0f3d-4c2a-9b8e-1d2f3a4b5c6d"
	type want struct {
		op, when, user, actorType, principal, account, ip, resource, id string
		outcome                                                         event.Outcome
		errorCode                                                       string
		fields                                                          map[string]string // rule field → value; "" = absent
	}
	cases := []struct {
		file string
		i    int
		want want
	}{
		{"rest-eventdata.json", 0, want{op: "Microsoft.KeyVault/vaults/write", when: "2026-11-20T09:31:07.2254861Z", user: "mallory@contoso.com", actorType: "User",
			principal: "11111111-2222-3333-4444-555555555555", account: sub, ip: "203.0.113.45",
			resource: "/subscriptions/" + sub + "/resourceGroups/sec-rg/providers/Microsoft.KeyVault/vaults/acme-kv", id: "a3c5e7f9-1b2d-4f6a-8c0e-2d4f6a8c0e1b",
			outcome: event.OutcomeSuccess, fields: map[string]string{
				"operationName":                 "Microsoft.KeyVault/vaults/write",
				"operationName.value":           "Microsoft.KeyVault/vaults/write",
				"OperationNameValue":            "Microsoft.KeyVault/vaults/write",
				"resultType":                    "Succeeded",
				"status.value":                  "Succeeded",
				"resultSignature":               "OK",
				"category":                      "Administrative",
				"callerIpAddress":               "203.0.113.45",
				"identity.claims.idtyp":         "user",
				"claims.idtyp":                  "user",
				"identity.authorization.action": "Microsoft.KeyVault/vaults/write",
				"properties.eventName":          "EndRequest",
				"properties.requestbody":        `{"location":"westeurope","properties":{"tenantId":"2f4a9c1d-7b3e-4e5f-8a6b-0c1d2e3f4a5b","sku":{"family":"A","name":"standard"},"enableSoftDelete":true,"enablePurgeProtection":true,"networkAcls":{"bypass":"AzureServices","defaultAction":"Allow","ipRules":[],"virtualNetworkRules":[]}}}`,
				"caller":                        "mallory@contoso.com",
				"Caller":                        "mallory@contoso.com",
				"time":                          "2026-11-20T09:31:07.2254861Z",
				"eventName":                     "",
			}}},
		{"rest-eventdata.json", 1, want{op: "Microsoft.Storage/storageAccounts/listKeys/action", when: "2026-11-20T09:40:00.5Z", user: "a0b1c2d3-e4f5-6789-abcd-ef0123456789", actorType: "ServicePrincipal",
			principal: "66666666-7777-8888-9999-000000000000", account: sub, ip: "198.51.100.9", id: "f0e1d2c3-b4a5-4968-8776-5a4b3c2d1e0f",
			resource: "/subscriptions/" + sub + "/resourceGroups/prod-rg/providers/Microsoft.Storage/storageAccounts/acmedata",
			outcome:  event.OutcomeFailure, errorCode: "Forbidden", fields: map[string]string{
				"resultType":            "Failed",
				"ActivityStatusValue":   "Failed",
				"identity.claims.appid": "a0b1c2d3-e4f5-6789-abcd-ef0123456789",
				"properties.statusCode": "Forbidden",
			}}},
		{"sentinel-rows.jsonl", 0, want{op: "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE", when: "2026-11-21T08:15:30.123Z", user: "mallory@contoso.com", actorType: "User",
			principal: "11111111-2222-3333-4444-555555555555", account: sub, ip: "203.0.113.45", id: "2b4d6f8a-0c1e-4a3b-9d5f-7e9a1b3c5d7f",
			resource: "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleAssignments/5c2e7a1f-9b3d-4e6a-8f0c-1d2e3f4a5b6c",
			outcome:  event.OutcomeSuccess, fields: map[string]string{
				"operationName":                 "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE",
				"OperationNameValue":            "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE",
				"resultType":                    "Success",
				"ActivityStatusValue":           "Success",
				"ActivityStatus":                "Succeeded",
				"identity.claims.idtyp":         "user",
				"Claims_d.idtyp":                "user",
				"identity.authorization.action": "Microsoft.Authorization/roleAssignments/write",
				"properties.message":            "Microsoft.Authorization/roleAssignments/write",
				"Properties_d.message":          "Microsoft.Authorization/roleAssignments/write",
				"ResourceProviderValue":         "MICROSOFT.AUTHORIZATION",
				"TimeGenerated":                 "2026-11-21T08:15:30.123Z",
			}}},
		{"sentinel-rows.jsonl", 1, want{op: "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION", when: "2026-11-21T08:20:00Z", user: "a0b1c2d3-e4f5-6789-abcd-ef0123456789", actorType: "ServicePrincipal",
			principal: "66666666-7777-8888-9999-000000000000", account: sub, ip: "198.51.100.9", id: "3c5e7a9b-1d2f-4b4c-8e6a-0b2c4d6e8f0a",
			resource: "/subscriptions/" + sub + "/resourceGroups/prod-rg/providers/Microsoft.Storage/storageAccounts/acmedata",
			outcome:  event.OutcomeFailure, errorCode: "Forbidden", fields: map[string]string{
				"resultType":              "Failure",
				"properties.statusCode":   "Forbidden",
				"identity.claims.appid":   "a0b1c2d3-e4f5-6789-abcd-ef0123456789",
				"Properties_d.statusCode": "Forbidden",
			}}},
		{"sentinel-rows.jsonl", 2, want{op: "Microsoft.Compute/virtualMachines/runCommand/action", when: "2026-11-21T08:25:00Z", user: "mallory@contoso.com", actorType: "User",
			account: sub, ip: "203.0.113.45", id: "4d6f8a0c-2e4a-4c6b-8d0f-1a3c5e7f9b1d",
			resource: "/subscriptions/" + sub + "/resourceGroups/prod-rg/providers/Microsoft.Compute/virtualMachines/web-01",
			outcome:  event.OutcomeSuccess, fields: map[string]string{
				"properties.message": "Microsoft.Compute/virtualMachines/runCommand/action",
				"resultType":         "Start",
			}}},
		{"elastic.jsonl", 0, want{op: "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE", when: "2026-11-22T14:03:11.482Z", user: "mallory@contoso.com", actorType: "User",
			principal: "11111111-2222-3333-4444-555555555555", account: strings.ToUpper(sub), ip: "203.0.113.45",
			resource: "/SUBSCRIPTIONS/" + strings.ToUpper(sub) + "/RESOURCEGROUPS/PROD-RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WEB-NSG/SECURITYRULES/ALLOW-SSH",
			outcome:  event.OutcomeSuccess, fields: map[string]string{
				"operationName":                     "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE",
				"azure.activitylogs.operation_name": "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE",
				"event.action":                      "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE",
				"resultType":                        "Success",
				"resultSignature":                   "Succeeded.Created",
				"location":                          "westeurope",
				"properties.statusCode":             "Created",
				"properties.requestbody":            `{"properties":{"protocol":"Tcp","sourcePortRange":"*","destinationPortRange":"22","sourceAddressPrefix":"*","destinationAddressPrefix":"*","access":"Allow","priority":110,"direction":"Inbound"}}`,
				"identity.authorization.evidence.principalType": "User",
				"identity.claims.idtyp":                         "user",
				"caller":                                        "mallory@contoso.com",
			}}},
		{"elastic.jsonl", 1, want{op: "MICROSOFT.KEYVAULT/VAULTS/DELETE", when: "2026-11-22T14:05:00Z", user: "mallory@contoso.com", actorType: "User",
			principal: "11111111-2222-3333-4444-555555555555", account: strings.ToUpper(sub), ip: "203.0.113.45",
			resource: "/SUBSCRIPTIONS/" + strings.ToUpper(sub) + "/RESOURCEGROUPS/PROD-RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/ACME-KV",
			outcome:  event.OutcomeSuccess, fields: map[string]string{
				"operationName":  "MICROSOFT.KEYVAULT/VAULTS/DELETE",
				"durationMs":     "812",
				"event.original": "",
			}}},
		{"elastic.jsonl", 2, want{op: "MICROSOFT.KEYVAULT/VAULTS/ACCESSPOLICIES/WRITE", when: "2026-11-22T14:07:30.25Z", user: "a0b1c2d3-e4f5-6789-abcd-ef0123456789", actorType: "ServicePrincipal",
			principal: "66666666-7777-8888-9999-000000000000", account: strings.ToUpper(sub), ip: "198.51.100.9",
			resource: "/SUBSCRIPTIONS/" + strings.ToUpper(sub) + "/RESOURCEGROUPS/SEC-RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/ACME-KV",
			outcome:  event.OutcomeFailure, errorCode: "Failed.Forbidden", fields: map[string]string{
				"resultType":               "Failure",
				"properties.statusMessage": `{"error":{"code":"AuthorizationFailed","message":"The client does not have authorization to perform action."}}`,
				"message":                  "",
				"level":                    "Error",
			}}},
	}
	recs := map[string][][]byte{}
	for _, f := range shapeFiles {
		recs[f] = shapeRecords(t, f)
	}
	for _, tc := range cases {
		t.Run(tc.file+"/"+tc.want.op, func(t *testing.T) {
			rec := recs[tc.file][tc.i]
			if !Is(rec) {
				t.Errorf("Is(%s #%d) = false", tc.file, tc.i)
			}
			var ev event.Event
			if err := Decode(rec, &ev); err != nil {
				t.Fatalf("Decode(%s #%d): %v", tc.file, tc.i, err)
			}
			w := tc.want
			got := []struct{ name, got, want string }{
				{"operation", ev.API.Operation, w.op},
				{"time", ev.Time.Format("2006-01-02T15:04:05.999999999Z07:00"), w.when},
				{"user", ev.Actor.UserName, w.user},
				{"actor type", ev.Actor.Type, w.actorType},
				{"principal id", ev.Actor.PrincipalID, w.principal},
				{"account", ev.Cloud.Account, w.account},
				{"source ip", ev.Src.IP.String(), w.ip},
				{"error code", ev.API.ErrorCode, w.errorCode},
			}
			if len(ev.Resources) == 1 {
				got = append(got, struct{ name, got, want string }{"resource", ev.Resources[0].UID, w.resource})
			} else {
				t.Errorf("resources: %+v, want one", ev.Resources)
			}
			if w.id != "" {
				got = append(got, struct{ name, got, want string }{"id", ev.ID, w.id})
			}
			for _, g := range got {
				if g.got != g.want {
					t.Errorf("%s = %q, want %q", g.name, g.got, g.want)
				}
			}
			if ev.Outcome != w.outcome {
				t.Errorf("outcome = %v, want %v", ev.Outcome, w.outcome)
			}
			for f, v := range w.fields {
				got, ok := ev.Lookup(f)
				switch {
				case v == "" && ok:
					t.Errorf("Lookup(%q) = %s, want absent", f, got.String())
				case v != "" && (!ok || got.String() != v):
					t.Errorf("Lookup(%q) = %q (found %v), want %q", f, got.String(), ok, v)
				}
			}
		})
	}
}

// TestCanonicalGolden: the diagnostic-schema record each shape is
// rewritten to, as testdata/canonical.golden.jsonl holds it (go test
// -update rewrites it). A diagnostic export is kept as it is.
func TestCanonicalGolden(t *testing.T) {
	var out bytes.Buffer
	for _, f := range shapeFiles {
		for i, rec := range shapeRecords(t, f) {
			c, err := canonical(rec)
			if err != nil {
				t.Fatalf("canonical(%s #%d): %v", f, i, err)
			}
			if !json.Valid(c) {
				t.Fatalf("canonical(%s #%d) is not valid JSON: %s", f, i, c)
			}
			out.Write(c)
			out.WriteByte('\n')
		}
	}
	const golden = "testdata/canonical.golden.jsonl"
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	gotLines, wantLines := strings.Split(out.String(), "\n"), strings.Split(string(want), "\n")
	if len(gotLines) != len(wantLines) {
		t.Fatalf("%d canonical records, golden has %d", len(gotLines), len(wantLines))
	}
	for i := range gotLines {
		if gotLines[i] != wantLines[i] {
			t.Errorf("record %d:\n got %s\nwant %s", i, gotLines[i], wantLines[i])
		}
	}
	// A diagnostic export is kept, with the caller added that its claims
	// name.
	for i, r := range records(t)[:2] {
		c, err := canonical(r)
		end := bytes.LastIndexByte(r, '}')
		want := []string{`,"caller":"mallory@contoso.com"}`, `,"caller":"66666666-7777-8888-9999-000000000000"}`}[i]
		if err != nil || !bytes.HasPrefix(c, r[:end]) || string(c[end:]) != want {
			t.Errorf("canonical(diagnostic export record %d) = %s, %v; want it with %s", i, c, err, want)
		}
		if again, _ := canonical(c); !bytes.Equal(again, c) {
			t.Errorf("canonical(canonical(record %d)) = %s, want %s", i, again, c)
		}
	}
}

// TestRedecode: an event's Raw record is what the pipeline forwards and
// decodes again (Partition, then ProcessBody): it decodes to the same
// event, id included, and is not rewritten a second time.
func TestRedecode(t *testing.T) {
	all := records(t)
	for _, f := range shapeFiles {
		all = append(all, shapeRecords(t, f)...)
	}
	for i, rec := range all {
		var a, b event.Event
		if err := Decode(rec, &a); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		raw := append([]byte(nil), a.Raw.Data...)
		if err := Decode(raw, &b); err != nil {
			t.Fatalf("record %d decoded again: %v", i, err)
		}
		if a.ID != b.ID || a.API != b.API || a.Actor != b.Actor || a.Time != b.Time || a.Outcome != b.Outcome || !bytes.Equal(b.Raw.Data, raw) {
			t.Errorf("record %d decodes differently the second time:\n%+v\n%+v", i, a, b)
		}
	}
}
