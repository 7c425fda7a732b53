package gcp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/jsonscan"
)

// auditLogType is the protoPayload @type of an audit log entry.
const auditLogType = "type.googleapis.com/google.cloud.audit.AuditLog"

// Export recognises the shapes that SIEMs and log pipelines write around
// Cloud Logging entries and calls fn with each record they carry:
//
//   - a Pub/Sub push request ({"message": {"data": base64, …},
//     "subscription": …}), a pull response ({"receivedMessages": [{"message":
//     …}]}) or a bare Pub/Sub message: fn gets the decoded data, whatever it
//     holds (a log sink writes one LogEntry per message);
//   - the Splunk Add-on for Google Cloud's google:gcp:pubsub:message events
//     and Dataflow's Pub/Sub to Splunk events, where "data" is the LogEntry
//     as an object: fn gets it as is;
//   - a row of a BigQuery log sink table (protopayload_auditlog, with
//     requestJson, responseJson, metadataJson and servicedata_v1_* columns,
//     BigQuery's timestamps) or of a Log Analytics view
//     (proto_payload.audit_log with snake_case names);
//   - an Elastic document of the Google Cloud integration's audit data
//     stream or Filebeat's gcp module (gcp.audit.*, event.action,
//     log.logger, …, nested or with dotted keys, or a search hit whose
//     _source is one): its event.original when kept, else the LogEntry
//     rebuilt from its fields, followed by the document's own fields.
//
// The rebuilt entries are LogEntry objects with protoPayload, so the rules'
// native paths answer whatever the shape was. ok is false when rec is none
// of these shapes (a LogEntry itself is not an export shape); err reports
// an envelope that is broken (data that is not base64 or not JSON), and
// then fn was not called for it.
func Export(rec []byte, fn func(entry []byte)) (ok bool, err error) {
	i := jsonscan.SkipSpace(rec, 0)
	if i >= len(rec) || rec[i] != '{' || jsonscan.Valid(rec) != nil {
		return false, nil
	}
	type span struct{ s, e int }
	var message, received, data, source, bqRow, laRow span
	var pubsub, protoPayload, elastic bool
	_, err = jsonscan.ObjectEach(rec, i, func(k []byte, _ bool, vs, ve int) error {
		sp := span{vs, ve}
		key := string(k)
		switch key {
		case "message":
			message = sp
		case "receivedMessages":
			received = sp
		case "data":
			data = sp
		case "attributes", "messageId", "message_id", "publishTime", "publish_time":
			pubsub = true
		case "_source":
			source = sp
		case "proto_payload":
			laRow = sp
		case "protoPayload":
			protoPayload = true
		case "gcp":
			_, _, elastic = jsonscan.Get(rec[vs:ve], 0, "audit")
		}
		if strings.EqualFold(key, "protopayload_auditlog") {
			bqRow = sp
		}
		if strings.HasPrefix(key, "gcp.audit.") {
			elastic = true
		}
		return nil
	})
	if err != nil || protoPayload {
		return false, nil
	}
	obj := func(s span) bool { return s.e > s.s && rec[s.s] == '{' }
	switch {
	case obj(message) && hasKey(rec[message.s:message.e], "data"):
		return true, pubsubData(rec[message.s:message.e], fn)
	case received.e > received.s && rec[received.s] == '[':
		var msgs [][]byte
		_, err := jsonscan.ArrayEach(rec[:received.e], received.s, func(vs, ve int) error {
			if ms, me, ok := jsonscan.Get(rec[vs:ve], 0, "message"); ok && rec[vs+ms] == '{' {
				msgs = append(msgs, rec[vs+ms:vs+me])
			}
			return nil
		})
		if err != nil {
			return true, err
		}
		var errs []error
		for _, m := range msgs {
			errs = append(errs, pubsubData(m, fn))
		}
		return true, errors.Join(errs...)
	case data.e > data.s && (pubsub || obj(data) && hasKey(rec[data.s:data.e], "protoPayload")):
		return true, pubsubData(rec, fn)
	case obj(bqRow):
		return true, emitJSON(bigQueryRow(rec, bqRow.s, bqRow.e, false), fn)
	case obj(laRow) && hasKey(rec[laRow.s:laRow.e], "audit_log"):
		return true, emitJSON(bigQueryRow(rec, laRow.s, laRow.e, true), fn)
	case obj(source):
		src := rec[source.s:source.e]
		doc, err := decodeObject(src)
		if err != nil || !isElastic(doc) {
			return false, nil
		}
		return true, elasticEntry(doc, fn)
	}
	doc, err := decodeObject(rec)
	if err != nil || !(elastic || isElastic(doc)) {
		return false, nil
	}
	return true, elasticEntry(doc, fn)
}

func hasKey(obj []byte, key string) bool {
	_, _, ok := jsonscan.Get(obj, 0, key)
	return ok
}

// pubsubData calls fn with the data of one Pub/Sub message: an object as
// it is, a string holding JSON as it is, else base64-decoded.
func pubsubData(msg []byte, fn func([]byte)) error {
	vs, ve, ok := jsonscan.Get(msg, 0, "data")
	if !ok {
		return errors.New("pub/sub message without data")
	}
	v := msg[vs:ve]
	switch v[0] {
	case '{':
		fn(v)
		return nil
	case '"':
	default:
		return fmt.Errorf("pub/sub message data is a JSON %s, not a string or an object", kind(v[0]))
	}
	s := jsonscan.Unquote(v)
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") && json.Valid([]byte(t)) {
		fn([]byte(t))
		return nil
	}
	var b []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("pub/sub message data is not base64: %w", err)
	}
	b = bytes.TrimSpace(b)
	if !json.Valid(b) {
		return errors.New("pub/sub message data is not JSON")
	}
	fn(b)
	return nil
}

func kind(c byte) string {
	switch c {
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func decodeObject(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

func emitJSON(entry map[string]any, fn func([]byte)) error {
	if entry == nil {
		return errors.New("export record is not a JSON object")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(entry); err != nil {
		return fmt.Errorf("encode the log entry: %w", err)
	}
	fn(bytes.TrimSpace(buf.Bytes()))
	return nil
}

// fieldNames maps a field name folded (lower case, no underscores) to its
// LogEntry or AuditLog name: BigQuery keeps the names but not always their
// case, Log Analytics writes them in snake_case.
var fieldNames = map[string]string{}

// freeForm are the fields whose content is the service's own JSON (or
// labels): kept as they are, parsed when a column holds them as a string.
var freeForm = map[string]bool{
	"request": true, "response": true, "metadata": true, "serviceData": true, "resourceOriginalState": true,
	"labels": true, "details": true, "thirdPartyPrincipal": true, "thirdPartyClaims": true, "serviceMetadata": true,
	"policyViolationInfo": true, "destinationAttributes": true, "headers": true, "jsonPayload": true, "httpRequest": true,
	"sourceLocation": true, "serviceDelegationHistory": true, "resourceAttributes": true,
}

func init() {
	for _, n := range []string{
		// LogEntry
		"logName", "resource", "protoPayload", "textPayload", "jsonPayload", "timestamp", "receiveTimestamp", "severity",
		"insertId", "httpRequest", "labels", "operation", "trace", "spanId", "traceSampled", "sourceLocation", "split",
		"type", "id", "producer", "first", "last",
		// AuditLog
		"serviceName", "methodName", "resourceName", "resourceLocation", "currentLocations", "originalLocations",
		"resourceOriginalState", "numResponseItems", "status", "code", "message", "details", "authenticationInfo",
		"principalEmail", "authoritySelector", "thirdPartyPrincipal", "serviceAccountKeyName",
		"serviceAccountDelegationInfo", "principalSubject", "firstPartyPrincipal", "serviceMetadata", "thirdPartyClaims",
		"oauthInfo", "oauthClientId", "serviceDelegationHistory", "authorizationInfo", "permission", "granted",
		"resourceAttributes", "permissionType", "policyViolationInfo", "requestMetadata", "callerIp",
		"callerSuppliedUserAgent", "callerNetwork", "requestAttributes", "destinationAttributes", "request", "response",
		"metadata", "serviceData", "time", "reason", "auth", "method", "path", "host", "scheme", "query", "size",
		"protocol", "headers",
	} {
		fieldNames[fold(n)] = n
	}
}

func fold(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }

// canonical renames the keys of a LogEntry or AuditLog object (and of the
// schema's objects inside it) to their LogEntry names; nulls go.
func canonical(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if v == nil {
			continue
		}
		f := fold(k)
		name, known := fieldNames[f]
		switch {
		case strings.HasPrefix(f, "servicedatav1"):
			name, known = "serviceData", true
		case !known && strings.HasSuffix(f, "json"):
			// BigQuery's requestJson, responseJson, metadataJson: the
			// free-form object as a string.
			if base, ok := fieldNames[strings.TrimSuffix(f, "json")]; ok && freeForm[base] {
				if s, ok := v.(string); ok {
					if parsed, ok := parseJSON(s); ok {
						out[base] = parsed
						continue
					}
				}
			}
		}
		if !known {
			out[k] = v
			continue
		}
		if freeForm[name] {
			if s, ok := v.(string); ok {
				if parsed, ok := parseJSON(s); ok {
					v = parsed
				}
			}
			out[name] = v
			continue
		}
		out[name] = canonicalValue(v)
	}
	return out
}

func canonicalValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return canonical(x)
	case []any:
		out := make([]any, 0, len(x))
		for _, el := range x {
			if el != nil {
				out = append(out, canonicalValue(el))
			}
		}
		return out
	}
	return v
}

func parseJSON(s string) (any, bool) {
	t := strings.TrimSpace(s)
	if t == "" || (t[0] != '{' && t[0] != '[') {
		return nil, false
	}
	d := json.NewDecoder(strings.NewReader(t))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || d.More() {
		return nil, false
	}
	return v, true
}

// bigQueryRow rebuilds the LogEntry of a BigQuery sink row (the AuditLog
// in protopayload_auditlog) or of a Log Analytics row (in
// proto_payload.audit_log), the payload at rec[s:e].
func bigQueryRow(rec []byte, s, e int, logAnalytics bool) map[string]any {
	row, err := decodeObject(rec)
	if err != nil {
		return nil
	}
	payload, err := decodeObject(rec[s:e])
	if err != nil {
		return nil
	}
	if logAnalytics {
		payload, _ = payload["audit_log"].(map[string]any)
	}
	for k := range row {
		if strings.EqualFold(k, "protopayload_auditlog") || k == "proto_payload" {
			delete(row, k)
		}
	}
	entry := canonical(row)
	pp := canonical(payload)
	if _, ok := pp["@type"]; !ok {
		pp["@type"] = auditLogType
	}
	entry["protoPayload"] = pp
	for _, k := range []string{"timestamp", "receiveTimestamp"} {
		if t, ok := timestamp(entry[k]); ok {
			entry[k] = t
		}
	}
	return entry
}

// timestamp renders BigQuery's forms of a TIMESTAMP ("2026-11-22
// 09:14:03.518204 UTC", epoch seconds as a number or a string) in RFC 3339.
func timestamp(v any) (string, bool) {
	var s string
	switch x := v.(type) {
	case string:
		s = strings.TrimSpace(x)
	case json.Number:
		s = x.String()
	default:
		return "", false
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
			return "", false
		}
		sec, frac := math.Modf(f)
		t := time.Unix(int64(sec), int64(math.Round(frac*1e6))*1000).UTC()
		return t.Format(time.RFC3339Nano), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999 MST", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339Nano), true
		}
	}
	return "", false
}

// lookup returns the value at a dotted path of an Elastic document, whose
// keys may be nested objects, dotted names or a mix of both.
func lookup(m map[string]any, path string) any {
	if v, ok := m[path]; ok {
		return v
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '.' {
			continue
		}
		if sub, ok := m[path[:i]].(map[string]any); ok {
			if v := lookup(sub, path[i+1:]); v != nil {
				return v
			}
		}
	}
	return nil
}

func lookupString(m map[string]any, paths ...string) string {
	for _, p := range paths {
		switch v := lookup(m, p).(type) {
		case string:
			if v != "" {
				return v
			}
		case json.Number:
			return v.String()
		}
	}
	return ""
}

// isElastic reports whether an Elastic document holds a GCP audit log.
func isElastic(doc map[string]any) bool {
	if lookup(doc, "gcp.audit") != nil {
		return true
	}
	for k := range doc {
		if strings.HasPrefix(k, "gcp.audit.") {
			return true
		}
	}
	return lookupString(doc, "event.dataset", "data_stream.dataset") == "gcp.audit"
}

// elasticEntry calls fn with the LogEntry of an Elastic document: its
// event.original when the pipeline kept it, else the entry rebuilt from
// the document's fields, with the document's own fields beside it.
func elasticEntry(doc map[string]any, fn func([]byte)) error {
	if orig := lookupString(doc, "event.original"); orig != "" {
		b := []byte(strings.TrimSpace(orig))
		if json.Valid(b) && hasKey(b, "protoPayload") {
			fn(b)
			return nil
		}
	}
	pp := map[string]any{}
	set := func(m map[string]any, k string, v any) {
		if v == nil || v == "" {
			return
		}
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	str := func(paths ...string) any {
		if s := lookupString(doc, paths...); s != "" {
			return s
		}
		return nil
	}
	set(pp, "@type", str("gcp.audit.type"))
	set(pp, "@type", auditLogType)
	set(pp, "methodName", str("gcp.audit.method_name", "event.action"))
	set(pp, "serviceName", str("gcp.audit.service_name", "service.name"))
	set(pp, "resourceName", str("gcp.audit.resource_name"))
	authn := map[string]any{}
	set(authn, "principalEmail", str("gcp.audit.authentication_info.principal_email", "client.user.email", "user.email"))
	set(authn, "principalSubject", str("gcp.audit.authentication_info.principal_subject", "client.user.id"))
	set(authn, "authoritySelector", str("gcp.audit.authentication_info.authority_selector"))
	set(authn, "serviceAccountKeyName", str("gcp.audit.authentication_info.service_account_key_name"))
	set(authn, "serviceAccountDelegationInfo", canonicalValue(lookup(doc, "gcp.audit.authentication_info.service_account_delegation_info")))
	set(authn, "thirdPartyPrincipal", lookup(doc, "gcp.audit.authentication_info.third_party_principal"))
	if len(authn) > 0 {
		pp["authenticationInfo"] = authn
	}
	meta := map[string]any{}
	set(meta, "callerIp", str("gcp.audit.request_metadata.caller_ip", "gcp.audit.request_metadata.raw.caller_ip", "source.ip"))
	set(meta, "callerSuppliedUserAgent", str("gcp.audit.request_metadata.caller_supplied_user_agent", "user_agent.original"))
	if len(meta) > 0 {
		pp["requestMetadata"] = meta
	}
	authz := canonicalValue(lookup(doc, "gcp.audit.authorization_info"))
	set(pp, "authorizationInfo", authz)
	status := map[string]any{}
	set(status, "code", lookup(doc, "gcp.audit.status.code"))
	set(status, "message", str("gcp.audit.status.message"))
	if _, ok := status["code"]; !ok && lookupString(doc, "event.outcome") == "failure" {
		// The integration drops a zero code and marks a call failed from
		// its one authorization check: keep the failure visible to rules
		// as the denial it is (PERMISSION_DENIED), or as UNKNOWN.
		status["code"] = json.Number("2")
		if denied(authz) {
			status["code"] = json.Number("7")
		}
	}
	pp["status"] = status
	set(pp, "request", lookup(doc, "gcp.audit.request"))
	set(pp, "response", lookup(doc, "gcp.audit.response"))
	set(pp, "numResponseItems", lookup(doc, "gcp.audit.num_response_items"))
	if locs := lookup(doc, "gcp.audit.resource_location.current_locations"); locs != nil {
		pp["resourceLocation"] = map[string]any{"currentLocations": locs}
	}
	entry := map[string]any{}
	flat, _ := lookup(doc, "gcp.audit.flattened").(map[string]any)
	if fp, ok := flat["protoPayload"].(map[string]any); ok {
		for k, v := range canonical(fp) {
			set(pp, k, v)
		}
	}
	entry["protoPayload"] = pp
	set(entry, "insertId", str("event.id"))
	if t, ok := timestamp(lookup(doc, "@timestamp")); ok {
		entry["timestamp"] = t
	}
	set(entry, "logName", str("log.logger"))
	set(entry, "severity", str("log.level"))
	set(entry, "labels", lookup(doc, "gcp.audit.labels"))
	if op, ok := lookup(doc, "gcp.audit.logentry_operation").(map[string]any); ok {
		entry["operation"] = op
	}
	for k, v := range flat {
		if k != "protoPayload" && v != nil {
			set(entry, fieldNameOr(k), v)
		}
	}
	res, _ := entry["resource"].(map[string]any)
	if res == nil {
		res = map[string]any{}
		entry["resource"] = res
	}
	if project := lookupString(doc, "cloud.project.id"); project != "" {
		labels, _ := res["labels"].(map[string]any)
		if labels == nil {
			labels = map[string]any{}
			res["labels"] = labels
		}
		set(labels, "project_id", project)
	}
	// The document's own fields, for rules written against them.
	for k, v := range doc {
		set(entry, k, v)
	}
	return emitJSON(entry, fn)
}

func fieldNameOr(k string) string {
	if n, ok := fieldNames[fold(k)]; ok {
		return n
	}
	return k
}

// denied reports whether an authorizationInfo list has a check that was
// not granted.
func denied(authz any) bool {
	list, _ := authz.([]any)
	for _, a := range list {
		if m, ok := a.(map[string]any); ok && m["granted"] == false {
			return true
		}
	}
	return false
}
