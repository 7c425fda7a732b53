package azure

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/jsonscan"
)

// The shapes an Activity Log record arrives in.
type shape uint8

const (
	shapeDiagnostic shape = iota // diagnostic-setting export (storage, Event Hub): the canonical one
	shapeRows                    // Log Analytics / Microsoft Sentinel AzureActivity rows
	shapeREST                    // the REST API's EventData (az monitor activity-log list)
	shapeElastic                 // Elastic's azure.activitylogs documents
)

// canonical returns the record in the diagnostic-setting export's schema
// (time, resourceId, operationName, category, resultType, resultSignature,
// callerIpAddress, correlationId, identity.claims, identity.authorization,
// level, location, properties), which the rules read: a diagnostic export
// itself unchanged, without copying; the other shapes rewritten, following
// Microsoft's documented mapping between them. Columns or members without
// a counterpart are kept under their own names (ResourceProviderValue,
// Hierarchy, httpRequest, …); a Log Analytics dynamic column exported as a
// JSON string (Properties_d, Claims_d, Properties, …) becomes the object
// it holds. Rewriting a rewritten record returns it unchanged.
func canonical(rec []byte) ([]byte, error) {
	sh, hasCaller, err := shapeOf(rec)
	if err != nil {
		return nil, err
	}
	if sh == shapeDiagnostic {
		if hasCaller {
			return rec, nil
		}
		return withCaller(rec), nil
	}
	top := members(rec)
	var out []byte
	switch sh {
	case shapeRows:
		out = fromRows(rec, top)
	case shapeREST:
		out = fromREST(rec, top)
	case shapeElastic:
		out = fromElastic(rec, top)
	default:
		return rec, nil
	}
	// One record per line, as the pipeline forwards it: no space the
	// source's pretty printing left in the members kept.
	var c bytes.Buffer
	c.Grow(len(out))
	if err := json.Compact(&c, out); err != nil {
		return nil, err
	}
	if _, hasCaller, _ := shapeOf(c.Bytes()); hasCaller {
		return c.Bytes(), nil
	}
	return withCaller(c.Bytes()), nil
}

// withCaller adds the caller the REST API and Log Analytics name to a
// diagnostic export, which names it only in the token's claims under keys
// a field path cannot spell (they hold dots): for rules to read and
// correlations to group by. A record without claims is returned as it is.
func withCaller(rec []byte) []byte {
	c := principalOf(rec).caller()
	end := bytes.LastIndexByte(rec, '}')
	if c == "" || end <= 0 {
		return rec
	}
	out := make([]byte, 0, len(rec)+len(c)+16)
	out = append(out, rec[:end]...)
	out = append(out, `,"caller":`...)
	out = event.AppendString(out, c)
	return append(out, rec[end:]...)
}

// member is one top-level member of the record: its key and the bounds
// of its value.
type member struct {
	key    string
	vs, ve int
}

// shapeOf tells a record's shape from its top-level keys, and whether it
// names its caller.
func shapeOf(rec []byte) (sh shape, hasCaller bool, err error) {
	var diag bool
	_, err = jsonscan.ObjectEach(rec, jsonscan.SkipSpace(rec, 0), func(k []byte, _ bool, vs, _ int) error {
		switch string(k) {
		case "operationName":
			if rec[vs] == '"' {
				diag = true
			} else if rec[vs] == '{' {
				sh = shapeREST
			}
		case "OperationNameValue", "TimeGenerated":
			if sh == shapeDiagnostic {
				sh = shapeRows
			}
		case "azure":
			if rec[vs] == '{' && sh == shapeDiagnostic {
				sh = shapeElastic
			}
		case "caller", "Caller":
			hasCaller = true
		}
		return nil
	})
	if err != nil || diag {
		return shapeDiagnostic, hasCaller, err
	}
	return sh, hasCaller, nil
}

// members lists the top-level members of a valid object.
func members(rec []byte) []member {
	var top []member
	_, _ = jsonscan.ObjectEach(rec, jsonscan.SkipSpace(rec, 0), func(k []byte, esc bool, vs, ve int) error {
		top = append(top, member{key(k, esc), vs, ve})
		return nil
	})
	return top
}

// key returns an object key as ObjectEach gives it, unescaped.
func key(k []byte, esc bool) string {
	if !esc {
		return string(k)
	}
	return jsonscan.Unquote(append(append([]byte{'"'}, k...), '"'))
}

// builder writes one JSON object member by member.
type builder struct {
	b    []byte
	keys map[string]bool
}

func newBuilder(size int) *builder {
	return &builder{b: append(make([]byte, 0, size+64), '{'), keys: map[string]bool{}}
}

// raw adds a member whose value is JSON text already valid; an empty
// value, or a key already written, is left out.
func (w *builder) raw(key string, v []byte) {
	if len(v) == 0 || w.keys[key] {
		return
	}
	w.keys[key] = true
	if len(w.b) > 1 {
		w.b = append(w.b, ',')
	}
	w.b = event.AppendString(w.b, key)
	w.b = append(w.b, ':')
	w.b = append(w.b, v...)
}

// str adds a string member; an empty string is left out.
func (w *builder) str(key, s string) {
	if s == "" {
		return
	}
	w.raw(key, event.AppendString(nil, s))
}

func (w *builder) bytes() []byte { return append(w.b, '}') }

// value returns the JSON text at path in rec, or nil.
func value(rec []byte, path string) []byte {
	vs, ve, ok := jsonscan.Get(rec, 0, path)
	if !ok || rec[vs] == 'n' {
		return nil
	}
	return rec[vs:ve]
}

// text returns the string at path in rec, or "".
func text(rec []byte, path string) string {
	v := value(rec, path)
	if len(v) == 0 || v[0] != '"' {
		return ""
	}
	return jsonscan.Unquote(v)
}

// object returns the object at path: the object itself, or the object a
// JSON string there holds (a Log Analytics dynamic column exported as
// text). nil when there is neither.
func object(rec []byte, path string) []byte {
	v := value(rec, path)
	if len(v) == 0 {
		return nil
	}
	if v[0] == '"' {
		inner := []byte(strings.TrimSpace(jsonscan.Unquote(v)))
		if len(inner) == 0 || inner[0] != '{' || jsonscan.Valid(inner) != nil {
			return nil
		}
		return inner
	}
	if v[0] != '{' {
		return nil
	}
	return v
}

// keep copies the members the rewrite did not consume, under their own
// names, leaving out those that would make the record look like another
// source's (an eventName or protoPayload).
func keep(w *builder, rec []byte, top []member, consumed map[string]bool) {
	for _, m := range top {
		if consumed[m.key] || m.key == "eventName" || m.key == "eventSource" || m.key == "protoPayload" {
			continue
		}
		w.raw(m.key, rec[m.vs:m.ve])
	}
}

// identity builds the identity object from claims and authorization.
func identity(claims, authz []byte) []byte {
	if claims == nil && authz == nil {
		return nil
	}
	w := newBuilder(len(claims) + len(authz))
	w.raw("authorization", authz)
	w.raw("claims", claims)
	return w.bytes()
}

var rowColumns = map[string]bool{
	"TimeGenerated": true, "ResourceId": true, "_ResourceId": true, "OperationNameValue": true, "CategoryValue": true,
	"ActivityStatusValue": true, "CallerIpAddress": true, "CorrelationId": true, "Level": true, "Caller": true,
	"SubscriptionId": true, "TenantId": true, "EventDataId": true,
}

// fromRows rewrites a Log Analytics AzureActivity row.
func fromRows(rec []byte, top []member) []byte {
	w := newBuilder(len(rec))
	consumed := map[string]bool{}
	for k := range rowColumns {
		consumed[k] = true
	}
	pick := func(dynamic, plain string) []byte {
		if o := object(rec, dynamic); o != nil {
			consumed[dynamic], consumed[plain] = true, true
			return o
		}
		if o := object(rec, plain); o != nil {
			consumed[dynamic], consumed[plain] = true, true
			return o
		}
		return nil
	}
	w.str("time", text(rec, "TimeGenerated"))
	w.str("resourceId", firstNonEmpty(text(rec, "ResourceId"), text(rec, "_ResourceId")))
	op := text(rec, "OperationNameValue")
	if op == "" {
		op = text(rec, "OperationName")
		consumed["OperationName"] = true
	}
	w.str("operationName", op)
	w.str("category", text(rec, "CategoryValue"))
	w.str("resultType", text(rec, "ActivityStatusValue"))
	w.str("callerIpAddress", text(rec, "CallerIpAddress"))
	w.str("correlationId", text(rec, "CorrelationId"))
	claims, authz := pick("Claims_d", "Claims"), pick("Authorization_d", "Authorization")
	w.raw("identity", identity(claims, authz))
	w.str("level", text(rec, "Level"))
	w.raw("properties", pick("Properties_d", "Properties"))
	w.str("caller", text(rec, "Caller"))
	w.str("subscriptionId", text(rec, "SubscriptionId"))
	w.str("tenantId", text(rec, "TenantId"))
	w.str("eventDataId", text(rec, "EventDataId"))
	keep(w, rec, top, consumed)
	return w.bytes()
}

var restMembers = map[string]bool{
	"eventTimestamp": true, "resourceId": true, "operationName": true, "category": true, "status": true,
	"subStatus": true, "description": true, "correlationId": true, "claims": true, "authorization": true,
	"level": true, "properties": true, "eventName": true, "operationId": true,
}

// fromREST rewrites an EventData object as Microsoft's mapping between
// the REST and the export schemas says: resultType from status,
// resultSignature from subStatus, callerIpAddress from
// httpRequest.clientIpAddress, identity from claims and authorization,
// and eventCategory, eventName and operationId into properties.
func fromREST(rec []byte, top []member) []byte {
	w := newBuilder(len(rec))
	w.str("time", text(rec, "eventTimestamp"))
	w.str("resourceId", text(rec, "resourceId"))
	w.str("operationName", text(rec, "operationName.value"))
	w.str("category", text(rec, "category.value"))
	w.str("resultType", text(rec, "status.value"))
	w.str("resultSignature", text(rec, "subStatus.value"))
	w.str("resultDescription", text(rec, "description"))
	w.str("callerIpAddress", text(rec, "httpRequest.clientIpAddress"))
	w.str("correlationId", text(rec, "correlationId"))
	w.raw("identity", identity(object(rec, "claims"), object(rec, "authorization")))
	w.raw("level", value(rec, "level"))
	props := newBuilder(0)
	if p := object(rec, "properties"); p != nil {
		_, _ = jsonscan.ObjectEach(p, 0, func(k []byte, esc bool, vs, ve int) error {
			props.raw(key(k, esc), p[vs:ve])
			return nil
		})
	}
	props.str("eventCategory", text(rec, "category.value"))
	props.str("eventName", text(rec, "eventName.value"))
	props.str("operationId", text(rec, "operationId"))
	if len(props.b) > 1 {
		w.raw("properties", props.bytes())
	}
	keep(w, rec, top, restMembers)
	return w.bytes()
}

// fromElastic rewrites an Elastic azure.activitylogs document. When the
// document kept the record it was made from (event.original), that record
// is the answer; otherwise the fields Elastic's ingest pipeline renamed
// are put back: claims keys get their dots again, evidence and properties
// keys their camel case, properties.statusMessage (which the pipeline
// moved to message) returns, and a requestbody or responseBody the
// pipeline parsed into an object is a compact JSON string again, as Azure
// writes it.
func fromElastic(rec []byte, top []member) []byte {
	if o := object(rec, "event.original"); o != nil {
		if sh, _, err := shapeOf(o); err == nil && sh != shapeElastic {
			c, err := canonical(o)
			if err == nil && text(c, "operationName") != "" {
				return c
			}
		}
	}
	const al = "azure.activitylogs."
	w := newBuilder(len(rec))
	w.str("time", text(rec, "@timestamp"))
	w.str("resourceId", firstNonEmpty(text(rec, "azure.resource.id"), text(rec, "azure.resource_id")))
	w.str("operationName", firstNonEmpty(text(rec, al+"operation_name"), text(rec, "event.action")))
	w.str("category", firstNonEmpty(text(rec, al+"category"), text(rec, al+"event_category")))
	w.str("resultType", text(rec, al+"result_type"))
	w.str("resultSignature", text(rec, al+"result_signature"))
	w.str("callerIpAddress", firstNonEmpty(text(rec, "source.ip"), text(rec, "source.address")))
	w.str("correlationId", text(rec, "azure.correlation_id"))
	if id := object(rec, al+"identity"); id != nil {
		w.raw("identity", renameKeys(id, elasticIdentity))
	}
	w.str("level", text(rec, "log.level"))
	w.str("location", text(rec, "geo.name"))
	props := newBuilder(0)
	if p := object(rec, al+"properties"); p != nil {
		_, _ = jsonscan.ObjectEach(p, 0, func(k []byte, esc bool, vs, ve int) error {
			name := key(k, esc)
			if n, ok := elasticProperties[name]; ok {
				name = n
			}
			v := p[vs:ve]
			if (name == "requestbody" || name == "responseBody") && (v[0] == '{' || v[0] == '[') {
				var c bytes.Buffer
				if json.Compact(&c, v) == nil {
					v = event.AppendString(nil, c.String())
				}
			}
			props.raw(name, v)
			return nil
		})
	}
	if m := text(rec, "message"); m != "" {
		props.str("statusMessage", m)
	}
	if len(props.b) > 1 {
		w.raw("properties", props.bytes())
	}
	w.str("subscriptionId", text(rec, "azure.subscription_id"))
	w.str("tenantId", firstNonEmpty(text(rec, al+"tenant_id"), text(rec, "azure.tenant_id")))
	return w.bytes()
}

// elasticIdentity puts back the identity keys Elastic's pipeline renamed.
var elasticIdentity = strings.NewReplacer(
	"schemas_xmlsoap_org", "schemas.xmlsoap.org",
	"schemas_microsoft_com", "schemas.microsoft.com",
	"role_assignment_scope", "roleAssignmentScope",
	"role_definition_id", "roleDefinitionId",
	"role_assignment_id", "roleAssignmentId",
	"principal_id", "principalId",
	"principal_type", "principalType",
)

// elasticProperties are the properties keys Elastic's pipeline renamed.
var elasticProperties = map[string]string{
	"service_request_id": "serviceRequestId",
	"status_code":        "statusCode",
	"request_body":       "requestbody",
	"response_body":      "responseBody",
}

// renameKeys rewrites the keys of an object and of the objects in it
// with r, keeping the values.
func renameKeys(obj []byte, r *strings.Replacer) []byte {
	w := newBuilder(len(obj))
	_, _ = jsonscan.ObjectEach(obj, 0, func(k []byte, esc bool, vs, ve int) error {
		v := obj[vs:ve]
		if v[0] == '{' {
			v = renameKeys(v, r)
		}
		w.raw(r.Replace(key(k, esc)), v)
		return nil
	})
	return w.bytes()
}
