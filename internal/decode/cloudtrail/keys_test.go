package cloudtrail

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parapet-sec/parapet/internal/event"
)

// keyRecords are records whose keys test the filter: the typical record,
// AWS's samples, and shapes where the decoder cannot see every key.
func keyRecords(t *testing.T) [][]byte {
	records := [][]byte{typical(t)}
	files, _ := filepath.Glob("../../ingest/testdata/samples/ct-*.json")
	more, _ := filepath.Glob("../../../../shared/data/aws-formats/cloudtrail/*.json")
	for _, f := range append(files, more...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var wrapped struct{ Records []json.RawMessage }
		if json.Unmarshal(b, &wrapped) == nil && len(wrapped.Records) > 0 {
			for _, r := range wrapped.Records {
				records = append(records, r)
			}
		} else {
			records = append(records, bytes.TrimSpace(b))
		}
	}
	const head = `{"eventTime":"2026-01-01T00:00:00Z","eventName":"X",`
	for _, tail := range []string{
		`"userIdentity":[{"type":"IAMUser","invokedBy":"a"}]}`,
		`"userIdentity":{"type":"AssumedRole","invoked\u0042y":"a"}}`,
		`"userIdentity":{"sessionContext":[{"sessionIssuer":{"type":"Role"}}]}}`,
		`"userIdentity":{"sessionContext":{"sessionIssuer":[{"type":"Role"}]}}}`,
		`"userIdentity":{"sessionContext":{"session\u0049ssuer":{"type":"Role"}}}}`,
		`"userIdentity":{"sessionContext":{"sessionIssuer":{"typ\u0065":"Role"}}}}`,
		`"userIdentity":{"type":"IAMUser"},"userIdentity":{"invokedBy":"b"}}`,
		`"userIdentity":{"type":"AssumedRole","sessionContext":{"ec2RoleDelivery":"2.0","attributes":{"mfaAuthenticated":"false"}}}}`,
		`"userIdentity":{"type":"AssumedRole","sessionContext":{"ec2Role\u0044elivery":"2.0"}}}`,
		`"requestParameters":{"bucketName":"a"},"requestParameters":{"bucketName":"b","key":"k"}}`,
		`"request\u0050arameters":[{"bucketName":"a"},{"bucketName":"c"}],"requestParameters":null}`,
		`"requestParameters": "text", "responseElements":{"x":1}}`,
		`"userIdentity":"text","error\u0043ode":"Denied"}`,
		`"userIdentity":null,"errorCode":"Denied","errorCode":"Other"}`,
	} {
		records = append(records, []byte(head+tail))
	}
	return records
}

// paths lists every path to a value in the JSON value v, and the same
// paths with their last key changed.
func paths(prefix string, v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			*out = append(*out, p, p+"X", prefix+".x"+k)
			paths(p, x, out)
		}
	case []any:
		for _, x := range v {
			paths(prefix, x, out)
		}
	}
}

func values(ev *event.Event, path string) []string {
	var out []string
	ev.Each(path, func(v event.Value) bool {
		out = append(out, v.String())
		return true
	})
	return out
}

// TestKeyFilterAgreesWithWalk: a field the key filter calls absent is
// absent from the record, and a walk started at requestParameters finds
// what one from the top does, for every path in the records and next to
// them.
func TestKeyFilterAgreesWithWalk(t *testing.T) {
	fixed := []string{"requestParameters", "requestParameters.", "requestParametersX", "requestParameters.bucketName", "errorCode", "errorMessage", "userAgent", "eventType", "sessionCredentialFromConsole",
		"userIdentity.invokedBy", "userIdentity.type", "userIdentity.userName",
		"userIdentity.sessionContext.sessionIssuer.type", "userIdentity.sessionContext.sessionIssuer.userName",
		"userIdentity.sessionContext.attributes.mfaAuthenticated", "additionalEventData.MFAUsed", "", "."}
	for i, rec := range keyRecords(t) {
		var ev event.Event
		if err := Decode(rec, &ev); err != nil {
			continue
		}
		if ev.Raw.Keys == 0 {
			t.Errorf("record %d: no key filter", i)
		}
		var doc any
		if err := json.Unmarshal(rec, &doc); err != nil {
			t.Fatal(err)
		}
		ps := slices.Clone(fixed)
		paths("", doc, &ps)
		filtered := event.Event{Raw: ev.Raw}
		walk := event.Event{Raw: ev.Raw}
		walk.Raw.Keys, walk.Raw.ReqAt = 0, 0
		for _, p := range ps {
			if got, want := values(&filtered, p), values(&walk, p); !slices.Equal(got, want) {
				t.Errorf("record %d, %q: with the key filter %q, walking %q", i, p, got, want)
			}
		}
	}
}
