package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/parapet-sec/parapet/internal/attackpath"
	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/respond"
	"github.com/parapet-sec/parapet/internal/store"
)

// The bodies the handlers read and write. The OpenAPI document's schemas
// are reflected from these types (see shapes), so the document cannot say
// what the handlers do not do.
type (
	errorBody struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}
	ingestAccepted struct {
		Accepted int64 `json:"accepted"` // the spool's sequence number of the body
		Bytes    int   `json:"bytes"`
	}
	firehoseAnswer struct {
		RequestID    string `json:"requestId"`
		Timestamp    int64  `json:"timestamp"`
		ErrorMessage string `json:"errorMessage,omitempty"`
	}
	incidentList struct {
		Items []incidentItem `json:"items"`
	}
	// incidentItem is an incident as lists show it: with its account's OU
	// path when the organization's inventory knows it.
	incidentItem struct {
		correlate.Incident
		OU string `json:"ou,omitempty"`
	}
	incidentDetail struct {
		Incident *correlate.Incident `json:"incident"`
		Findings []json.RawMessage   `json:"findings"`
	}
	reasonBody struct {
		Reason string `json:"reason"`
	}
	incidentClosed struct {
		Incident *correlate.Incident `json:"incident"`
	}
	suppressionList struct {
		Items []*correlate.Suppression `json:"items"`
	}
	suppressionBody struct {
		Expr    string     `json:"expr"`
		Reason  string     `json:"reason"`
		Expires time.Time  `json:"expires"`
		Scope   *org.Scope `json:"scope,omitempty"` // only findings of these accounts, OUs, tags
	}
	suppressionCreated struct {
		Suppression *correlate.Suppression `json:"suppression"`
	}
	suppressionRemoved struct {
		Removed string `json:"removed"`
	}
	postureQueued struct {
		Queued bool `json:"queued"`
	}
	pathsAnswer struct {
		Source  string     `json:"source,omitempty"` // the file (detect.paths); empty: none configured
		Account string     `json:"account,omitempty"`
		Target  string     `json:"target,omitempty"`
		Paths   []pathItem `json:"paths"`
	}
	// pathItem is a path with its source's account and that account's OU.
	pathItem struct {
		attackpath.Path
		Account string `json:"account,omitempty"`
		OU      string `json:"ou,omitempty"`
	}
	orgInventory struct {
		Organization bool          `json:"organization"` // whether serve has an organization configured
		Listed       bool          `json:"listed"`       // whether serve has listed its accounts yet
		Items        []org.Account `json:"items"`
		OUs          []string      `json:"ous"` // every OU path an account is in, and their parents
	}
	tokenList struct {
		Items []store.Token `json:"items"`
	}
	tokenRevoked struct {
		Revoked       string `json:"revoked"`
		SessionsEnded int    `json:"sessions_ended"`
	}
	findingList struct {
		Items []json.RawMessage `json:"items"`
	}
	approvalList struct {
		Items []approvalView `json:"items"`
	}
	commentBody struct {
		Comment string `json:"comment"`
	}
	// runOutcome answers a decision or a run request: the run, and why
	// it failed when it did.
	runOutcome struct {
		Result respond.Result `json:"result"`
		Error  string         `json:"error,omitempty"`
	}
	runList struct {
		Items []respond.Result `json:"items"`
	}
	runBody struct {
		FindingID string `json:"finding_id"`
		Playbook  string `json:"playbook"`
		Comment   string `json:"comment"`
	}
	auditRecord struct {
		Seq    int64           `json:"seq"`
		Record json.RawMessage `json:"record"`
		Hash   string          `json:"hash"`
	}
	auditPage struct {
		Items []auditRecord `json:"items"`
		Chain audit.Status  `json:"chain"`
	}
	playbookInfo struct {
		Name          string                 `json:"name"`
		Description   string                 `json:"description"`
		Trigger       string                 `json:"trigger"`
		Mode          string                 `json:"mode"`
		Enabled       bool                   `json:"enabled"`
		NeedsApproval bool                   `json:"needs_approval"`
		Approval      respond.ApprovalPolicy `json:"approval"`
		Steps         []respond.Step         `json:"steps"`
	}
	playbookList struct {
		Items    []playbookInfo `json:"items"`
		FourEyes bool           `json:"four_eyes"`
	}
	whoamiAnswer struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Role string `json:"role"`
	}
)

// param is a query parameter a handler reads.
type param struct {
	name, typ, desc string
	enum            []string
	many            bool // may repeat
}

// shape is what one route reads and writes: Go values whose types the
// document's schemas are reflected from (nil resp: any JSON object).
type shape struct {
	query  []param
	body   any
	code   int // the success status
	resp   any
	stream string // a non-JSON success content type
}

var limitParam = param{name: "limit", typ: "integer", desc: "at most this many (1 to 1000, default 100)"}

// scopeParams are the account and OU filters of the lists of
// account-bearing items.
var scopeParams = []param{
	{name: "account", typ: "string", many: true, desc: "only these accounts: ids, comma-separated or repeated (exact)"},
	{name: "ou", typ: "string", many: true, desc: "only the accounts of these OUs: a path from Root (sub-OUs included) or an OU name; needs an organization (400 without)"},
}

// shapes is keyed by "METHOD pattern", one for each route.
func shapes() map[string]shape {
	ingest := shape{code: http.StatusAccepted, resp: ingestAccepted{}}
	return map[string]shape{
		"POST /v1/ingest/cloudtrail":  ingest,
		"POST /v1/ingest/eventbridge": ingest,
		"POST /v1/ingest/firehose":    {code: http.StatusOK, resp: firehoseAnswer{}},
		"POST /v1/ingest/azure":       ingest,
		"POST /v1/ingest/gcp":         ingest,
		"POST /v1/ingest/vpcflow":     ingest,
		"GET /v1/incidents": {resp: incidentList{}, query: []param{
			{name: "status", typ: "string", enum: []string{"open", "closed"}},
			{name: "min_risk", typ: "number", desc: "at least this risk (0 to 100)"},
			{name: "q", typ: "string", desc: "text anywhere in the incident (at most 200 characters)"},
			{name: "sort", typ: "string", enum: []string{"last", "risk"}, desc: "last (the default): last seen first; risk: highest risk first, then last seen"},
			{name: "account", typ: "string", many: true, desc: "only these accounts: ids, comma-separated or repeated (exact)"},
			{name: "ou", typ: "string", many: true, desc: "only the accounts of these OUs: a path from Root (sub-OUs included) or an OU name; needs an organization (400 without)"},
			limitParam}},
		"GET /v1/incidents/{id}":        {resp: incidentDetail{}},
		"POST /v1/incidents/{id}/close": {body: reasonBody{}, resp: incidentClosed{}},
		"GET /v1/suppressions":          {resp: suppressionList{}},
		"POST /v1/suppressions":         {body: suppressionBody{}, code: http.StatusCreated, resp: suppressionCreated{}},
		"DELETE /v1/suppressions/{id}": {body: reasonBody{}, resp: suppressionRemoved{}, query: []param{
			{name: "reason", typ: "string", desc: "why (or in the body)"}}},
		"GET /v1/posture":       {query: scopeParams},
		"POST /v1/posture/scan": {code: http.StatusAccepted, resp: postureQueued{}},
		"GET /v1/paths":         {resp: pathsAnswer{}, query: scopeParams},
		"GET /v1/org":           {resp: orgAnswer{}, query: scopeParams},
		"GET /v1/events/{id}":   {},
		"POST /v1/hunts":        {body: huntBody{}, resp: huntResult{}},
		"GET /v1/timeline": {resp: timelinePage{}, query: []param{
			{name: "principal", typ: "string", desc: "an ARN, principal id or session issuer ARN (name one entity)"},
			{name: "access_key", typ: "string", desc: "an access key id"},
			{name: "ip", typ: "string", desc: "a source or destination address"},
			{name: "resource", typ: "string", desc: "a resource ARN the event names"},
			{name: "since", typ: "string", desc: "RFC 3339 or YYYY-MM-DD (default: 30 days before until)"},
			{name: "until", typ: "string", desc: "excluded; RFC 3339 or YYYY-MM-DD (default: now)"},
			{name: "cursor", typ: "string", desc: "the next_cursor of the previous page"},
			scopeParams[0], scopeParams[1],
			{name: "limit", typ: "integer", desc: "at most this many (1 to 1000, default 100)"}}},
		"GET /v1/config":         {},
		"GET /v1/tokens":         {resp: tokenList{}},
		"DELETE /v1/tokens/{id}": {resp: tokenRevoked{}},
		"GET /v1/findings": {resp: findingList{}, query: []param{
			{name: "level", typ: "string", enum: []string{"informational", "low", "medium", "high", "critical"}},
			{name: "account", typ: "string", many: true, desc: "only these accounts: ids, comma-separated or repeated (exact)"},
			{name: "ou", typ: "string", many: true, desc: "only the accounts of these OUs: a path from Root (sub-OUs included) or an OU name; needs an organization (400 without)"},
			limitParam}},
		"GET /v1/approvals": {resp: approvalList{}, query: []param{
			{name: "status", typ: "string", enum: []string{"pending", "approved", "denied", "expired"}},
			{name: "account", typ: "string", many: true, desc: "only these accounts: ids, comma-separated or repeated (exact)"},
			{name: "ou", typ: "string", many: true, desc: "only the accounts of these OUs: a path from Root (sub-OUs included) or an OU name; needs an organization (400 without)"},
		}},
		"GET /v1/org/accounts":            {resp: orgInventory{}},
		"POST /v1/approvals/{id}/approve": {body: commentBody{}, resp: runOutcome{}},
		"POST /v1/approvals/{id}/deny":    {body: commentBody{}, resp: runOutcome{}},
		"GET /v1/playbooks": {resp: playbookList{}, query: []param{
			{name: "finding_id", typ: "string", desc: "only the enabled playbooks whose trigger selects this finding"}}},
		"GET /v1/playbook-runs": {resp: runList{}, query: []param{
			{name: "finding_id", typ: "string", many: true},
			{name: "incident_id", typ: "string"},
			{name: "status", typ: "string", enum: []string{"executed", "planned", "pending-approval", "denied", "expired", "failed", "halted"}},
			limitParam, scopeParams[0], scopeParams[1]}},
		"POST /v1/playbook-runs":     {body: runBody{}, code: http.StatusCreated, resp: runOutcome{}},
		"GET /v1/playbook-runs/{id}": {resp: respond.Result{}},
		"GET /v1/audit": {resp: auditPage{}, query: []param{
			{name: "after", typ: "integer", desc: "records after this sequence number"}, limitParam}},
		"GET /v1/whoami":       {resp: whoamiAnswer{}},
		"GET /v1/stats":        {query: scopeParams},
		"GET /v1/stream":       {stream: "text/event-stream"},
		"GET /v1/openapi.json": {},
	}
}

// OpenAPI is the API as an OpenAPI 3.0 document, built from Routes and
// shapes (3.0 rather than 3.1: it is what client generators read).
func (s *Server) OpenAPI() map[string]any {
	g := &schemas{defs: map[string]any{}, names: map[reflect.Type]string{}}
	errRef := g.of(reflect.TypeOf(errorBody{}))
	all := shapes()
	paths := map[string]any{}
	for _, r := range s.Routes() {
		sh, ok := all[r.Method+" "+r.Pattern]
		if !ok {
			panic("openapi: no shape for " + r.Method + " " + r.Pattern)
		}
		op := map[string]any{
			"summary":        r.Summary,
			"description":    "Needs a token with role " + r.Role + " or above.",
			"operationId":    strings.ToLower(r.Method) + strings.NewReplacer("/v1/", "_", "/", "_", "{", "", "}", "", ".", "_", "-", "_").Replace(r.Pattern),
			"security":       []any{map[string]any{"bearer": []any{}}},
			"x-parapet-role": r.Role,
			"responses": map[string]any{
				"401":     map[string]any{"$ref": "#/components/responses/Unauthorized"},
				"403":     map[string]any{"$ref": "#/components/responses/Forbidden"},
				"429":     map[string]any{"$ref": "#/components/responses/Throttled"},
				"default": map[string]any{"$ref": "#/components/responses/Error"},
			},
		}
		resp := op["responses"].(map[string]any)
		code := sh.code
		if code == 0 {
			code = http.StatusOK
		}
		var out map[string]any
		switch {
		case sh.stream != "":
			out = map[string]any{sh.stream: map[string]any{"schema": map[string]any{"type": "string"}}}
		case sh.resp != nil:
			out = jsonContent(g.of(reflect.TypeOf(sh.resp)))
		default:
			out = jsonContent(map[string]any{"type": "object", "additionalProperties": true})
		}
		resp[fmt.Sprint(code)] = map[string]any{"description": http.StatusText(code), "content": out}
		if strings.HasPrefix(r.Pattern, "/v1/ingest/") {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{}, "application/x-ndjson": map[string]any{}, "application/gzip": map[string]any{}, "text/plain": map[string]any{}}}
			if code == http.StatusAccepted {
				resp["202"].(map[string]any)["description"] = "spooled: it will be processed even if the server stops now"
			}
			for _, c := range []string{"400", "413", "415"} {
				resp[c] = map[string]any{"$ref": "#/components/responses/Error"}
			}
			resp["503"] = map[string]any{"$ref": "#/components/responses/Busy"}
		} else if sh.body != nil {
			// Optional where the handler takes an empty body (a
			// comment, or the reason in the query).
			required := r.Method == "POST" && !strings.HasSuffix(r.Pattern, "/approve") && !strings.HasSuffix(r.Pattern, "/deny")
			op["requestBody"] = map[string]any{"required": required, "content": jsonContent(g.of(reflect.TypeOf(sh.body)))}
			resp["400"] = map[string]any{"$ref": "#/components/responses/Error"}
		}
		params := []any{}
		for _, seg := range strings.Split(r.Pattern, "/") {
			if strings.HasPrefix(seg, "{") {
				params = append(params, map[string]any{"name": strings.Trim(seg, "{}"), "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
				resp["404"] = map[string]any{"$ref": "#/components/responses/Error"}
			}
		}
		for _, q := range sh.query {
			sc := map[string]any{"type": q.typ}
			if q.enum != nil {
				sc["enum"] = q.enum
			}
			if q.many {
				sc = map[string]any{"type": "array", "items": sc}
			}
			p := map[string]any{"name": q.name, "in": "query", "schema": sc}
			if q.desc != "" {
				p["description"] = q.desc
			}
			params = append(params, p)
			resp["400"] = map[string]any{"$ref": "#/components/responses/Error"}
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		item, _ := paths[r.Pattern].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[r.Pattern] = item
		}
		item[strings.ToLower(r.Method)] = op
	}
	errSchema := jsonContent(errRef)
	return map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "Parapet API", "version": "1", "description": "Every /v1 route needs Authorization: Bearer TOKEN (parapet tokens create --role ROLE). Roles: viewer < analyst < approver < admin, each allowed what the ones before it are; ingest only posts telemetry (/v1/ingest/*), which analysts and above may do too. Each operation names its least role in x-parapet-role."},
		"paths":   paths,
		"components": map[string]any{
			"schemas":         g.defs,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"responses": map[string]any{
				"Error":        map[string]any{"description": "a clear error", "content": errSchema},
				"Unauthorized": map[string]any{"description": "no token, or an unknown one", "content": errSchema},
				"Forbidden":    map[string]any{"description": "the token's role does not allow the route", "content": errSchema},
				"Throttled":    map[string]any{"description": "too many failed attempts with this credential, or without a valid token from this address; Retry-After says when to retry (a valid token is never throttled)", "content": errSchema},
				"Busy":         map[string]any{"description": "the pipeline is behind (sources.http.max_spooled) or too many intake requests are being read (sources.http.max_concurrent); Retry-After says when to retry", "content": errSchema},
			},
		},
	}
}

func jsonContent(schema map[string]any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.OpenAPI())
}

// schemas reflects JSON schemas from Go types as encoding/json encodes
// them: named structs become components, referenced by $ref.
type schemas struct {
	defs  map[string]any
	names map[reflect.Type]string
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage{})
)

// name is a component's name: the type's, capitalised, or qualified by
// its package when two packages use it.
func (g *schemas) name(t reflect.Type) string {
	if n, ok := g.names[t]; ok {
		return n
	}
	n := t.Name()
	switch t {
	case reflect.TypeOf(audit.Status{}):
		n = "AuditChain"
	case reflect.TypeOf(respond.Result{}):
		n = "PlaybookRun"
	}
	n = string(unicode.ToUpper(rune(n[0]))) + n[1:]
	for other, taken := range g.names {
		if taken == n && other != t {
			pkg := t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:]
			n = string(unicode.ToUpper(rune(pkg[0]))) + pkg[1:] + n
		}
	}
	g.names[t] = n
	return n
}

func (g *schemas) of(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{} // any JSON value
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.of(t.Elem())
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return map[string]any{"type": "integer"}
	case reflect.Int64, reflect.Uint64:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Float32:
		return map[string]any{"type": "number", "format": "float"}
	case reflect.Float64:
		return map[string]any{"type": "number", "format": "double"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.of(t.Elem())}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": g.of(t.Elem())}
	case reflect.Struct:
		if t.Name() == "" {
			return g.object(t)
		}
		n := g.name(t)
		if _, done := g.defs[n]; !done {
			g.defs[n] = map[string]any{} // a placeholder against recursion
			g.defs[n] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + n}
	}
	panic("openapi: no schema for " + t.String())
}

// object lists a struct's JSON fields: required unless omitempty or
// omitzero, nullable where encoding/json writes null (a nil pointer,
// slice or map that is not omitted).
func (g *schemas) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			ft := f.Type
			if f.Anonymous && name == "" {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			omit := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
			sc := g.of(ft)
			switch ft.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Map:
				if !omit && ft != rawType {
					if _, ref := sc["$ref"]; ref {
						sc = map[string]any{"allOf": []any{sc}}
					}
					sc["nullable"] = true
				}
			}
			props[name] = sc
			if !omit {
				required = append(required, name)
			}
		}
	}
	walk(t)
	o := map[string]any{"type": "object", "properties": props}
	if required != nil {
		o["required"] = required
	}
	return o
}
