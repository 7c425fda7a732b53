// Package gcp decodes Google Cloud audit log entries (Cloud Logging
// LogEntry objects whose protoPayload is an AuditLog: Admin Activity, Data
// Access, System Event and Policy Denied logs, as a log sink exports them
// to Cloud Storage or Pub/Sub) into normalized events.
package gcp

import (
	"errors"
	"net/netip"
	"strings"

	"github.com/parapet-sec/parapet/internal/decode"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/jsonscan"
)

// ErrNotAuditLog: the entry has no AuditLog protoPayload with a method.
var ErrNotAuditLog = errors.New("not a GCP audit log entry: needs protoPayload.methodName and timestamp")

// Is reports whether an object's top-level keys look like a LogEntry with
// a protoPayload.
func Is(rec []byte) bool {
	var proto, entry bool
	_, err := jsonscan.ObjectEach(rec, jsonscan.SkipSpace(rec, 0), func(k []byte, _ bool, _, _ int) error {
		switch string(k) {
		case "protoPayload":
			proto = true
		case "logName", "insertId", "timestamp":
			entry = true
		}
		return nil
	})
	return err == nil && proto && entry
}

// Decode normalizes one LogEntry. ev's strings may share memory with rec.
func Decode(rec []byte, ev *event.Event) error {
	if err := jsonscan.Valid(rec); err != nil {
		return err
	}
	get := func(path string) string { return jsonscan.GetString(rec, path) }
	method, when := get("protoPayload.methodName"), get("timestamp")
	if method == "" || when == "" {
		return ErrNotAuditLog
	}
	t, err := decode.ParseTime(when)
	if err != nil {
		return errors.New("GCP audit log entry: timestamp " + when + " is not an ISO 8601 timestamp")
	}
	logName := get("logName")
	project := get("resource.labels.project_id")
	if project == "" && strings.HasPrefix(logName, "projects/") {
		project, _, _ = strings.Cut(logName[len("projects/"):], "/")
	}
	*ev = event.Event{
		ID:       get("insertId"),
		Source:   event.SourceGCPAudit,
		Class:    event.ClassAPIActivity,
		Activity: activity(method),
		Time:     t.UTC(),
		Type:     logType(logName),
		Raw:      event.Raw{Format: event.RawJSON, Data: rec},
		Cloud: event.Cloud{Provider: "gcp", Account: project,
			Region: firstNonEmpty(get("resource.labels.location"), get("resource.labels.region"), get("resource.labels.zone")),
			Zone:   get("resource.labels.zone")},
	}
	if ev.ID == "" {
		return errors.New("GCP audit log entry: no insertId")
	}
	ev.ID = project + "/" + ev.ID // insertId is unique within a log, per project
	email := get("protoPayload.authenticationInfo.principalEmail")
	ev.Actor = event.Actor{UserName: email, ARN: email, Account: project,
		PrincipalID: get("protoPayload.authenticationInfo.principalSubject"), Type: principalType(email)}
	if d := get("protoPayload.authenticationInfo.serviceAccountDelegationInfo.0.firstPartyPrincipal.principalEmail"); d != "" {
		ev.Actor.SessionIssuerARN = d
	}
	ev.API = event.API{Service: get("protoPayload.serviceName"), Operation: method, ReadOnly: isRead(method, logName)}
	code := ""
	if vs, ve, ok := jsonscan.Get(rec, 0, "protoPayload.status.code"); ok {
		code = strings.Trim(string(rec[vs:ve]), `"`)
	}
	if code == "" || code == "0" {
		ev.Outcome = event.OutcomeSuccess
	} else {
		ev.Outcome = event.OutcomeFailure
		ev.API.ErrorCode = code
		ev.API.ErrorMessage = get("protoPayload.status.message")
	}
	if ip, err := netip.ParseAddr(get("protoPayload.requestMetadata.callerIp")); err == nil {
		ev.Src.IP = ip
	}
	ev.Src.UserAgent = get("protoPayload.requestMetadata.callerSuppliedUserAgent")
	if name := get("protoPayload.resourceName"); name != "" {
		ev.Resources = []event.Resource{{UID: name, Name: name[strings.LastIndexByte(name, '/')+1:], Type: get("resource.type"), Account: project}}
	}
	return nil
}

func activity(method string) uint8 {
	m := strings.ToLower(method[strings.LastIndexByte(method, '.')+1:])
	switch {
	case strings.HasPrefix(m, "get"), strings.HasPrefix(m, "list"), strings.HasPrefix(m, "search"):
		return 2 // Read
	case strings.HasPrefix(m, "create"), strings.HasPrefix(m, "insert"):
		return 1 // Create
	case strings.HasPrefix(m, "delete"), strings.HasPrefix(m, "remove"):
		return 4 // Delete
	case strings.HasPrefix(m, "update"), strings.HasPrefix(m, "patch"), strings.HasPrefix(m, "set"):
		return 3 // Update
	}
	return 99
}

func isRead(method, logName string) bool {
	return activity(method) == 2 || strings.HasSuffix(logName, "%2Fdata_access") || strings.HasSuffix(logName, "/data_access")
}

// logType is the audit log's kind: activity, data_access, system_event,
// policy.
func logType(logName string) string {
	i := strings.LastIndex(logName, "cloudaudit.googleapis.com")
	if i < 0 {
		return ""
	}
	t := logName[i+len("cloudaudit.googleapis.com"):]
	t = strings.TrimPrefix(strings.TrimPrefix(t, "%2F"), "/")
	return t
}

func principalType(email string) string {
	switch {
	case email == "":
		return "Unknown"
	case strings.HasSuffix(email, ".gserviceaccount.com"):
		return "ServiceAccount"
	}
	return "User"
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func init() { event.RegisterAliases(event.SourceGCPAudit, Alias) }

// Alias maps the field names of other schemas for GCP audit logs that
// SigmaHQ's rules use onto the LogEntry's: Elastic's gcp.audit.* fields
// (the Filebeat module), and the Pub/Sub export's "data." prefix. ok is
// false when the name has no alias.
func Alias(field string) (string, bool) {
	if a, ok := ecs[field]; ok {
		return a, true
	}
	if rest, ok := strings.CutPrefix(field, "data."); ok {
		return rest, true
	}
	return "", false
}

var ecs = map[string]string{
	"gcp.audit.method_name":                                 "protoPayload.methodName",
	"gcp.audit.service_name":                                "protoPayload.serviceName",
	"gcp.audit.resource_name":                               "protoPayload.resourceName",
	"gcp.audit.authentication_info.principal_email":         "protoPayload.authenticationInfo.principalEmail",
	"gcp.audit.request_metadata.caller_ip":                  "protoPayload.requestMetadata.callerIp",
	"gcp.audit.request_metadata.caller_supplied_user_agent": "protoPayload.requestMetadata.callerSuppliedUserAgent",
	"gcp.audit.status.code":                                 "protoPayload.status.code",
	"gcp.audit.status.message":                              "protoPayload.status.message",
	"gcp.audit.type":                                        "protoPayload.@type",
	"gcp.audit.authorization_info.permission":               "protoPayload.authorizationInfo.permission",
	"gcp.audit.authorization_info.granted":                  "protoPayload.authorizationInfo.granted",
	"gcp.audit.authorization_info.resource":                 "protoPayload.authorizationInfo.resource",
	"gcp.audit.resource_location.current_locations":         "protoPayload.resourceLocation.currentLocations",
	"gcp.audit.request":                                     "protoPayload.request",
	"gcp.audit.response":                                    "protoPayload.response",
}
