package detect_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io/fs"
	"path"
	"strings"
	"testing"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/enrich"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
)

// failedCallRules is the allow-list of builtin rules that name
// state-changing calls but are not state-change rules: they exist to match
// the failed attempts, so a failed call is what they detect, not a near
// miss. The other activity rules, where a failed call means something
// (console logins, denied calls and their bursts, enumeration, root use,
// instance credentials used outside AWS), name no state-changing call and
// need no entry.
var failedCallRules = map[string]string{
	"failed_attempt_to_impair_defenses":   "matches failed attempts to stop logging or security monitoring, by design",
	"failed_attempt_to_grant_admin":       "matches failed attempts to grant administrator rights, by design",
	"failed_attempt_to_expose_a_resource": "matches failed attempts to make a resource public, by design",
}

// awsVerbs begin the names of AWS calls that change a resource or a
// setting (after an optional Batch).
var awsVerbs = []string{"Put", "Create", "Delete", "Update", "Attach", "Detach", "Stop", "Start", "Modify",
	"Authorize", "Revoke", "Disable", "Enable", "Deactivate", "Schedule", "Set", "Replace", "Leave", "Add",
	"Remove", "Run", "Terminate", "Reset", "Restore", "Import", "Associate", "Disassociate", "Register",
	"Deregister", "Upload", "Change", "Cancel", "Suspend", "Apply"}

// gcpVerbs begin the last segment of a GCP method that changes something.
var gcpVerbs = []string{"create", "delete", "undelete", "update", "patch", "insert", "set", "add", "remove",
	"disable", "enable"}

// mutating reports whether a provider's operation name (as a rule writes
// it, perhaps a prefix or suffix of the name) changes state.
func mutating(product, op string) bool {
	switch product {
	case "aws":
		op = strings.TrimPrefix(op, "Batch")
		for _, v := range awsVerbs {
			if rest, ok := strings.CutPrefix(op, v); ok && (rest == "" || unicode.IsUpper(rune(rest[0]))) {
				return true
			}
		}
	case "azure":
		op = strings.ToUpper(op)
		return strings.HasSuffix(op, "/WRITE") || strings.HasSuffix(op, "/DELETE") || strings.HasSuffix(op, "/ACTION")
	case "gcp":
		last := strings.ToLower(op[strings.LastIndexByte(op, '.')+1:])
		for _, v := range gcpVerbs {
			if strings.HasPrefix(last, v) {
				return true
			}
		}
	}
	return false
}

// operationFields are the fields that name the call, per product.
var operationFields = map[string][]string{
	"aws":   {"eventName"},
	"azure": {"operationName", "OperationNameValue"},
	"gcp":   {"protoPayload.methodName", "gcp.audit.method_name"},
}

// operations returns the values a rule's detection gives the fields that
// name the call, whatever the modifiers.
func operations(t *testing.T, r *sigma.Rule) []string {
	t.Helper()
	data, err := fs.ReadFile(content.FS, r.File)
	if err != nil {
		t.Fatalf("read %s: %v", r.File, err)
	}
	var doc struct {
		Detection yaml.Node `yaml:"detection"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", r.File, err)
	}
	var ops []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				field, _, _ := strings.Cut(n.Content[i].Value, "|")
				val := n.Content[i+1]
				for _, f := range operationFields[r.Logsource.Product] {
					if field != f {
						continue
					}
					if val.Kind == yaml.ScalarNode {
						ops = append(ops, val.Value)
					}
					for _, c := range val.Content {
						if c.Kind == yaml.ScalarNode {
							ops = append(ops, c.Value)
						}
					}
				}
				walk(val)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c)
			}
		}
	}
	walk(&doc.Detection)
	return ops
}

// inner returns the CloudTrail record of an example: the record itself or
// the detail of an EventBridge event.
func inner(rec map[string]any) map[string]any {
	if d, ok := rec["detail"].(map[string]any); ok {
		return d
	}
	return rec
}

// failedCall reports whether a record is a failed call of its provider,
// and removes what says so (making it the same call, succeeded) when
// strip is set.
func failedCall(product string, rec map[string]any, strip bool) bool {
	switch product {
	case "aws":
		ct := inner(rec)
		if s, _ := ct["errorCode"].(string); s != "" {
			if strip {
				delete(ct, "errorCode")
				delete(ct, "errorMessage")
			}
			return true
		}
	case "azure":
		for _, k := range []string{"resultType", "ActivityStatusValue"} {
			if s, _ := rec[k].(string); strings.EqualFold(s, "Failure") || strings.EqualFold(s, "Failed") {
				if strip {
					rec[k] = "Success"
				}
				return true
			}
		}
	case "gcp":
		pp, _ := rec["protoPayload"].(map[string]any)
		st, _ := pp["status"].(map[string]any)
		if c, ok := st["code"].(json.Number); ok && c.String() != "0" {
			if strip {
				delete(pp, "status")
			}
			return true
		}
	}
	return false
}

func decodeRecord(t *testing.T, rec any) []event.Event {
	t.Helper()
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	ingest.DecodeJSON(b, func(e *event.Event) { evs = append(evs, *e) }, func(err error) { t.Errorf("decode %s: %v", b, err) })
	// what the request does (parapet.policy.*, share.*, ingress.*), as
	// detect and the rule examples read it
	req := enrich.NewRequests(nil)
	for i := range evs {
		req.Enrich(&evs[i])
	}
	return evs
}

// TestStateChangeRulesHaveFailedCallNearMiss: every builtin rule that
// names a state-changing call has an example of that call failing, marked
// match:false, which differs from a matching record only by the failure
// (without it, the rule matches). A failed call changed nothing; it must
// not raise the finding (nor run the playbook) of the change. Such a
// record raises at most one finding, below high: a rule for failed
// attempts.
func TestStateChangeRulesHaveFailedCallNearMiss(t *testing.T) {
	rules := builtin(t)
	engine := detect.NewEngine(rules)
	checked := 0
	for _, r := range rules {
		if r.Correlation != nil {
			continue
		}
		name := strings.TrimSuffix(path.Base(r.File), path.Ext(r.File))
		var changes []string
		for _, op := range operations(t, r) {
			if mutating(r.Logsource.Product, op) {
				changes = append(changes, op)
			}
		}
		if len(changes) == 0 {
			continue
		}
		if _, ok := failedCallRules[name]; ok {
			continue
		}
		checked++
		file := detect.ExamplesFile(r.File)
		data, err := fs.ReadFile(content.FS, file)
		if err != nil {
			t.Errorf("%s: %v", r.File, err)
			continue
		}
		nearMiss := 0
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for line := 1; sc.Scan(); line++ {
			var ex struct {
				Match  bool           `json:"match"`
				Record map[string]any `json:"record"`
			}
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.UseNumber()
			if err := dec.Decode(&ex); err != nil || ex.Record == nil || ex.Match {
				continue
			}
			if !failedCall(r.Logsource.Product, ex.Record, false) {
				continue
			}
			findings := engine.DetectBatch(decodeRecord(t, ex.Record)).Findings
			for _, f := range findings {
				if detect.LevelRank(f.Level) >= detect.LevelRank("high") {
					t.Errorf("%s:%d: the failed call raises %q at level %s", file, line, f.Title, f.Level)
				}
			}
			if len(findings) > 1 {
				t.Errorf("%s:%d: the failed call raises %d findings, want at most one", file, line, len(findings))
			}
			failedCall(r.Logsource.Product, ex.Record, true)
			matched := false
			for _, ev := range decodeRecord(t, ex.Record) {
				matched = matched || (r.Applies(ev.Source) && r.Match(&ev))
			}
			if !matched {
				t.Errorf("%s:%d: rule %q does not match this failed call once it succeeds: no near miss", file, line, r.Title)
				continue
			}
			nearMiss++
		}
		if nearMiss == 0 {
			t.Errorf("%s: rule %q matches state changes (%s) but has no example of one that failed, with match:false", r.File, r.Title, strings.Join(changes, ", "))
		}
	}
	if checked < 50 {
		t.Errorf("checked %d state-change rules, want the whole pack's", checked)
	}
}

// TestMutating pins what counts as a state change.
func TestMutating(t *testing.T) {
	for _, tc := range []struct {
		product, op string
		want        bool
	}{
		{"aws", "PutBucketPolicy", true},
		{"aws", "BatchDisableStandards", true},
		{"aws", "AddPermission", true},
		{"aws", "StopLogging", true},
		{"aws", "GetObject", false},
		{"aws", "ListUsers", false},
		{"aws", "ConsoleLogin", false},
		{"aws", "Settings", false},
		{"azure", "MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE", true},
		{"azure", "Microsoft.Storage/storageAccounts/read", false},
		{"gcp", "storage.setIamPermissions", true},
		{"gcp", ".compute.firewalls.insert", true},
		{"gcp", "google.iam.admin.v1.ListServiceAccountKeys", false},
	} {
		if got := mutating(tc.product, tc.op); got != tc.want {
			t.Errorf("mutating(%q, %q) = %v, want %v", tc.product, tc.op, got, tc.want)
		}
	}
}
