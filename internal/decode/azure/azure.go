// Package azure decodes Azure Activity Log records into normalized events,
// in every shape they are exported in:
//
//   - diagnostic-setting exports to a storage account or an Event Hub
//     ({"records":[…]}, or one record per line): the canonical schema
//     (time, resourceId, operationName, resultType, identity.claims,
//     properties.requestbody, …), which rules read;
//   - Log Analytics / Microsoft Sentinel AzureActivity rows (TimeGenerated,
//     OperationNameValue, ActivityStatusValue, Caller, Properties_d, …),
//     with dynamic columns as objects or as JSON strings, or only the
//     string columns (Properties, Claims, Authorization);
//   - the REST API's EventData (az monitor activity-log list: eventTimestamp,
//     operationName.value, status.value, claims, httpRequest, …);
//   - Elastic's azure.activitylogs documents (the Azure integration's data
//     stream), from event.original when kept, else from the azure.* and ECS
//     fields the integration writes;
//   - Splunk's Event Hub add-on events, whose "body" holds a record or a
//     batch: internal/ingest unwraps them.
//
// The other shapes are rewritten to the diagnostic schema (see canonical)
// and Alias answers their field names, so rules written for any of them
// (SigmaHQ's use both operationName and OperationNameValue) run
// unmodified on all. Not read: Elastic's flattened claims_initiated_by_user
// beyond what the claims hold, and the Azure AD (Entra ID) audit and
// sign-in logs, which are other sources.
package azure

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"

	"github.com/parapet-sec/parapet/internal/decode"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/jsonscan"
)

// ErrNotRecord: the object has neither an operation name nor a time.
var ErrNotRecord = errors.New("not an Azure Activity Log record: needs operationName (or OperationNameValue) and time (or TimeGenerated)")

// Is reports whether an object's top-level keys look like an Activity Log
// record: an operation name together with a resource id or category, or
// an Elastic document with azure.activitylogs.
func Is(rec []byte) bool {
	sh, _, err := shapeOf(rec)
	if err != nil {
		return false
	}
	if sh == shapeElastic {
		return value(rec, "azure.activitylogs") != nil
	}
	top := members(rec)
	var op, other bool
	for _, m := range top {
		switch m.key {
		case "operationName", "OperationNameValue", "OperationName":
			op = true
		case "resourceId", "ResourceId", "category", "CategoryValue", "_ResourceId":
			other = true
		}
	}
	return op && other
}

// Decode normalizes one record of any shape canonical reads. ev.Raw holds
// the record in the diagnostic export's schema, which rules read (the
// other schemas' field names are answered through Alias), and which
// decodes again to the same event. ev's strings may share memory with rec.
func Decode(rec []byte, ev *event.Event) error {
	if err := jsonscan.Valid(rec); err != nil {
		return err
	}
	rec, err := canonical(rec)
	if err != nil {
		return err
	}
	get := func(paths ...string) string {
		for _, p := range paths {
			vs, ve, ok := jsonscan.Get(rec, 0, p)
			if ok && rec[vs] == '"' {
				if s := jsonscan.Unquote(rec[vs:ve]); s != "" {
					return s
				}
			}
		}
		return ""
	}
	op := get("operationName")
	when := get("time")
	if op == "" || when == "" {
		return ErrNotRecord
	}
	t, err := decode.ParseTime(when)
	if err != nil {
		return errors.New("Azure Activity Log record: time " + when + " is not an ISO 8601 timestamp")
	}
	resourceID := get("resourceId", "ResourceId", "_ResourceId")
	*ev = event.Event{
		Source:   event.SourceAzureActivity,
		Class:    event.ClassAPIActivity,
		Activity: activity(op),
		Time:     t.UTC(),
		Type:     get("category", "CategoryValue", "category.value"),
		Raw:      event.Raw{Format: event.RawJSON, Data: rec},
		Cloud: event.Cloud{Provider: "azure", Account: firstNonEmpty(get("SubscriptionId", "subscriptionId"), subscription(resourceID)),
			Region: get("location", "Location")},
	}
	ev.ID = get("properties.eventDataId", "EventDataId", "eventDataId")
	if ev.ID == "" {
		sum := sha256.Sum256(rec)
		ev.ID = hex.EncodeToString(sum[:16])
	}
	ev.API = event.API{Operation: op, Service: Provider(op, resourceID), RequestID: get("correlationId", "CorrelationId"),
		ReadOnly: strings.HasSuffix(strings.ToLower(op), "/read")}
	switch strings.ToLower(get("resultType", "ActivityStatusValue", "ActivityStatus", "status.value")) {
	case "success", "succeeded", "accept", "accepted", "start", "started":
		ev.Outcome = event.OutcomeSuccess
	case "failure", "failed":
		ev.Outcome = event.OutcomeFailure
		ev.API.ErrorCode = get("resultSignature", "ActivitySubstatusValue")
		ev.API.ErrorMessage = get("properties.statusMessage")
	}
	// Who: the caller's UPN (or application id) and object id from the
	// token's claims.
	p := principalOf(rec)
	upn := firstNonEmpty(p.upn, get("caller", "Caller"))
	ev.Actor = event.Actor{UserName: upn, PrincipalID: p.oid, Account: ev.Cloud.Account, Type: "User"}
	// The principal incidents group by: the UPN an analyst reads, else
	// the object or application id.
	ev.Actor.ARN = firstNonEmpty(upn, firstNonEmpty(p.oid, p.appid))
	// An application's token: a service principal or managed identity,
	// named by its application id whatever the caller column holds.
	if p.app {
		ev.Actor.Type = "ServicePrincipal"
		ev.Actor.UserName = firstNonEmpty(p.appid, upn)
		ev.Actor.ARN = firstNonEmpty(p.oid, ev.Actor.UserName)
	}
	if ip, err := netip.ParseAddr(get("callerIpAddress", "CallerIpAddress")); err == nil {
		ev.Src.IP = ip
	}
	if resourceID != "" {
		ev.Resources = []event.Resource{{UID: resourceID, Name: lastSegment(resourceID), Type: resourceType(resourceID), Account: ev.Cloud.Account}}
	}
	return nil
}

// principal is who made a call, from the claims of the token.
type principal struct {
	upn, oid, appid string
	app             bool // an application's token (idtyp app, or an appid without a user)
}

// caller is the name the REST API and Log Analytics give the principal:
// the user's UPN, else the object or application id.
func (p principal) caller() string {
	if p.app || p.upn == "" {
		return firstNonEmpty(p.oid, p.appid)
	}
	return p.upn
}

func principalOf(rec []byte) principal {
	var p principal
	var idtyp string
	vs, _, ok := jsonscan.Get(rec, 0, "identity.claims")
	if !ok || rec[vs] != '{' {
		return p
	}
	var upn, name, uniqueName string
	_, _ = jsonscan.ObjectEach(rec, vs, func(k []byte, esc bool, cs, ce int) error {
		if rec[cs] != '"' {
			return nil
		}
		v := func() string { return jsonscan.Unquote(rec[cs:ce]) }
		switch key(k, esc) {
		case "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "upn":
			upn = firstNonEmpty(upn, v())
		case "unique_name":
			uniqueName = v()
		case "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name":
			name = v()
		case "http://schemas.microsoft.com/identity/claims/objectidentifier", "oid":
			p.oid = firstNonEmpty(p.oid, v())
		case "appid":
			p.appid = v()
		case "idtyp":
			idtyp = v()
		}
		return nil
	})
	p.upn = firstNonEmpty(upn, firstNonEmpty(uniqueName, name))
	p.app = idtyp == "app" || p.upn == "" && p.appid != ""
	return p
}

// Provider is the resource provider an operation belongs to
// ("MICROSOFT.COMPUTE" from "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE"),
// else the one in the resource id.
func Provider(op, resourceID string) string {
	if i := strings.IndexByte(op, '/'); i > 0 {
		return op[:i]
	}
	if i := strings.Index(strings.ToLower(resourceID), "/providers/"); i >= 0 {
		rest := resourceID[i+len("/providers/"):]
		if j := strings.IndexByte(rest, '/'); j > 0 {
			return rest[:j]
		}
		return rest
	}
	return ""
}

func activity(op string) uint8 {
	switch l := strings.ToLower(op); {
	case strings.HasSuffix(l, "/read"):
		return 2 // Read
	case strings.HasSuffix(l, "/write"):
		return 3 // Update
	case strings.HasSuffix(l, "/delete"):
		return 4 // Delete
	}
	return 99 // Other (actions)
}

func subscription(id string) string {
	l := strings.ToLower(id)
	if !strings.HasPrefix(l, "/subscriptions/") {
		return ""
	}
	rest := id[len("/subscriptions/"):]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i]
	}
	return rest
}

func resourceType(id string) string {
	l := strings.ToLower(id)
	i := strings.LastIndex(l, "/providers/")
	if i < 0 {
		return ""
	}
	parts := strings.Split(id[i+len("/providers/"):], "/")
	if len(parts) < 2 {
		return parts[0]
	}
	t := parts[0]
	for k := 1; k < len(parts); k += 2 {
		t += "/" + parts[k]
	}
	return t
}

func lastSegment(id string) string {
	return id[strings.LastIndexByte(id, '/')+1:]
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func init() { event.RegisterAliases(event.SourceAzureActivity, Alias) }

// Alias answers a field name of another Activity Log schema with the
// diagnostic export's name for it, which every decoded record has (see
// canonical): Log Analytics' AzureActivity columns (OperationNameValue,
// Properties_d.requestbody, Claims_d.appid, …), the REST API's EventData
// (operationName.value, status.value, claims.*, …) and Elastic's fields
// (azure.activitylogs.operation_name, event.outcome, source.ip, …), so
// that rules written for any of them run unmodified. It also answers the
// other way round for the plain columns (operationName for a rule's
// OperationNameValue and the reverse), for records decoded before this
// rewrite. ok is false when the name has no alias.
func Alias(field string) (string, bool) {
	if a, ok := aliases[field]; ok {
		return a, true
	}
	for _, p := range prefixAliases {
		if rest, ok := strings.CutPrefix(field, p[0]); ok {
			return p[1] + rest, true
		}
	}
	return "", false
}

var aliases = map[string]string{
	"OperationNameValue": "operationName", "operationName": "OperationNameValue",
	"CategoryValue": "category", "category": "CategoryValue",
	"ResourceId": "resourceId", "resourceId": "ResourceId", "_ResourceId": "resourceId",
	"Caller": "caller", "caller": "Caller",
	"CallerIpAddress": "callerIpAddress", "callerIpAddress": "CallerIpAddress",
	"ActivityStatusValue": "resultType", "resultType": "ActivityStatusValue",
	"ActivitySubstatusValue": "resultSignature",
	"CorrelationId":          "correlationId", "correlationId": "CorrelationId",
	"SubscriptionId": "subscriptionId", "TenantId": "tenantId", "EventDataId": "eventDataId",
	"TimeGenerated": "time", "Level": "level",
	"Properties_d": "properties", "Properties": "properties",
	"Claims_d": "identity.claims", "Claims": "identity.claims",
	"Authorization_d": "identity.authorization", "Authorization": "identity.authorization",
	// REST EventData.
	"operationName.value": "operationName", "category.value": "category", "status.value": "resultType",
	"subStatus.value": "resultSignature", "eventTimestamp": "time", "description": "resultDescription",
	"httpRequest.clientIpAddress": "callerIpAddress", "eventName.value": "properties.eventName",
	"claims": "identity.claims", "authorization": "identity.authorization",
	// Elastic.
	"@timestamp": "time", "event.action": "operationName", "event.outcome": "resultType",
	"source.ip": "callerIpAddress", "log.level": "level", "geo.name": "location",
	"azure.resource.id": "resourceId", "azure.correlation_id": "correlationId",
	"azure.subscription_id": "subscriptionId", "azure.tenant_id": "tenantId",
	"azure.activitylogs.operation_name": "operationName", "azure.activitylogs.result_type": "resultType",
	"azure.activitylogs.result_signature": "resultSignature", "azure.activitylogs.category": "category",
	"azure.activitylogs.tenant_id": "tenantId",
}

// prefixAliases map a parent of other fields: Properties_d.requestbody is
// properties.requestbody.
var prefixAliases = [][2]string{
	{"Properties_d.", "properties."}, {"Properties.", "properties."},
	{"Claims_d.", "identity.claims."}, {"Authorization_d.", "identity.authorization."},
	{"claims.", "identity.claims."}, {"authorization.", "identity.authorization."},
	{"azure.activitylogs.properties.", "properties."}, {"azure.activitylogs.identity.", "identity."},
}
