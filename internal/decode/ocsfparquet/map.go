package ocsfparquet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/decode/asff"
	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/decode/vpcflow"
	"github.com/parapet-sec/parapet/internal/event"
)

// ErrNoTime marks a record without a time.
var ErrNoTime = errors.New("OCSF record has no time")

// Map converts one assembled OCSF record. A CloudTrail call (an API
// Activity, Authentication or Account Change record with an API operation
// and service, or metadata.product.name CloudTrail) is rebuilt as the
// CloudTrail record Security Lake made it from and decoded as CloudTrail;
// a Network Activity record as a flow log line; a Security Hub finding as
// an ASFF finding. Other records become events of their class with the
// OCSF JSON as native record.
func Map(rec map[string]any, ev *event.Event) error {
	class, _ := num(rec, "class_uid")
	product := str(rec, "metadata.product.name")
	if _, ok := num(rec, "time"); !ok {
		return ErrNoTime
	}
	switch {
	case strings.Contains(product, "CloudTrail") ||
		(class == 3005 || class == 6003 || class == 3001 || class == 3002) && str(rec, "api.operation") != "" && strings.HasSuffix(str(rec, "api.service.name"), ".amazonaws.com"):
		js, err := json.Marshal(CloudTrail(rec))
		if err != nil {
			return err
		}
		if err := cloudtrail.Decode(js, ev); err != nil {
			return fmt.Errorf("OCSF %d record as CloudTrail: %w", class, err)
		}
		return nil
	case class == 4001 && (product == "" || strings.Contains(product, "VPC") || strings.Contains(product, "Flow")):
		names, values := FlowLine(rec)
		f, err := vpcflow.NewFormat(names)
		if err != nil {
			return err
		}
		if err := f.Decode(strings.Join(values, " "), ev); err != nil {
			return fmt.Errorf("OCSF network activity as a flow log record: %w", err)
		}
		return nil
	case class == 2001 || class == 2004 || strings.Contains(product, "Security Hub"):
		js, err := json.Marshal(ASFF(rec))
		if err != nil {
			return err
		}
		if err := asff.Decode(js, ev); err != nil {
			return fmt.Errorf("OCSF %d finding as ASFF: %w", class, err)
		}
		return nil
	}
	return generic(rec, ev)
}

// generic maps the fields every class may have.
func generic(rec map[string]any, ev *event.Event) error {
	js, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	class, _ := num(rec, "class_uid")
	act, _ := num(rec, "activity_id")
	status, _ := num(rec, "status_id")
	ms, _ := num(rec, "time")
	*ev = event.Event{
		ID:       str(rec, "metadata.uid"),
		Time:     time.UnixMilli(ms).UTC(),
		Class:    event.Class(class),
		Activity: uint8(act),
		Outcome:  event.Outcome(min(max(status, 0), 2)),
		Cloud:    event.Cloud{Provider: strings.ToLower(str(rec, "cloud.provider")), Account: account(rec), Region: first(str(rec, "cloud.region"), str(rec, "region"))},
		Actor: event.Actor{Type: str(rec, "actor.user.type"), ARN: userARN(rec), PrincipalID: principal(rec), AccessKeyID: str(rec, "actor.user.credential_uid"),
			SessionIssuerARN: str(rec, "actor.session.issuer"), InvokedBy: str(rec, "actor.invoked_by"), UserName: str(rec, "actor.user.name")},
		API: event.API{Service: str(rec, "api.service.name"), Operation: str(rec, "api.operation"), ErrorCode: str(rec, "api.response.error"),
			ErrorMessage: str(rec, "api.response.message")},
		Raw: event.Raw{Format: event.RawJSON, Data: js},
	}
	ev.Src.IP, _ = netip.ParseAddr(str(rec, "src_endpoint.ip"))
	ev.Dst.IP, _ = netip.ParseAddr(str(rec, "dst_endpoint.ip"))
	for _, r := range items(rec, "resources") {
		if uid := str(r, "uid"); uid != "" {
			ev.Resources = append(ev.Resources, event.Resource{UID: uid, Type: str(r, "type"), Name: str(r, "name")})
		}
	}
	return nil
}

// CloudTrail rebuilds the CloudTrail record an OCSF API Activity,
// Authentication or Account Change record was made from, following the
// mapping AWS documents for Security Lake (source versions 1 and 2): the
// members it maps back, and those kept in unmapped.
func CloudTrail(rec map[string]any) map[string]any {
	ct := map[string]any{}
	// Unmapped members first: the mapped ones below win.
	if um, ok := unmapped(rec); ok {
		for k, v := range um {
			s, isStr := v.(string)
			var val any = v
			if isStr {
				val = jsonValue(s)
			}
			setPath(ct, k, val)
		}
	}
	set := func(k string, v any) {
		if s, ok := v.(string); ok && s == "" {
			return
		}
		if v != nil {
			ct[k] = v
		}
	}
	set("eventVersion", first(str(rec, "metadata.product.version"), str(ct, "eventVersion"), "1.08"))
	ms, _ := num(rec, "time")
	set("eventTime", time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05Z"))
	if ms%1000 != 0 {
		ct["eventTime"] = time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
	}
	set("eventSource", str(rec, "api.service.name"))
	set("eventName", str(rec, "api.operation"))
	set("awsRegion", first(str(rec, "cloud.region"), str(rec, "region")))
	set("sourceIPAddress", first(str(rec, "src_endpoint.ip"), str(rec, "src_endpoint.domain")))
	set("userAgent", str(rec, "http_request.user_agent"))
	set("errorCode", str(rec, "api.response.error"))
	set("errorMessage", str(rec, "api.response.message"))
	set("requestID", str(rec, "api.request.uid"))
	set("eventID", str(rec, "metadata.uid"))
	set("eventType", str(rec, "metadata.event_code"))
	set("eventCategory", str(rec, "metadata.product.feature.name"))
	set("apiVersion", str(rec, "api.version"))
	set("vpcEndpointId", str(rec, "src_endpoint.uid"))
	set("recipientAccountId", account(rec))
	if v := get(rec, "api.request.data"); v != nil {
		ct["requestParameters"] = dataValue(v)
	}
	if v := get(rec, "api.response.data"); v != nil {
		ct["responseElements"] = dataValue(v)
	}
	for _, k := range []string{"readOnly", "managementEvent"} {
		if s, ok := ct[k].(string); ok {
			ct[k] = s == "true"
		}
	}

	id := object(ct["userIdentity"])
	if id == nil {
		id = map[string]any{}
	}
	setID := func(k, v string) {
		if v != "" {
			id[k] = v
		}
	}
	setID("type", str(rec, "actor.user.type"))
	setID("arn", userARN(rec))
	setID("principalId", principal(rec))
	setID("accountId", first(str(rec, "actor.user.account.uid"), str(rec, "actor.user.account_uid")))
	setID("accessKeyId", str(rec, "actor.user.credential_uid"))
	setID("userName", str(rec, "actor.user.name"))
	setID("invokedBy", str(rec, "actor.invoked_by"))
	setID("identityProvider", str(rec, "actor.idp.name"))
	issuer := str(rec, "actor.session.issuer")
	created := sessionTime(rec)
	mfa := first(str(rec, "actor.session.is_mfa"), str(rec, "actor.session.mfa"))
	if issuer != "" || created != "" || mfa != "" {
		sc := object(id["sessionContext"])
		if sc == nil {
			sc = map[string]any{}
		}
		if issuer != "" {
			si := map[string]any{"arn": issuer, "type": "Role"}
			if strings.Contains(issuer, ":user/") || strings.HasSuffix(issuer, ":root") {
				si["type"] = "IAMUser"
			}
			if i := strings.LastIndexByte(issuer, '/'); i >= 0 {
				si["userName"] = issuer[i+1:]
			}
			if acct := arnAccount(issuer); acct != "" {
				si["accountId"] = acct
			}
			sc["sessionIssuer"] = si
		}
		attrs := object(sc["attributes"])
		if attrs == nil {
			attrs = map[string]any{}
		}
		if created != "" {
			attrs["creationDate"] = created
		}
		if mfa != "" {
			attrs["mfaAuthenticated"] = mfa
		}
		sc["attributes"] = attrs
		id["sessionContext"] = sc
	}
	if len(id) > 0 {
		ct["userIdentity"] = id
	}

	var res []any
	for _, r := range items(rec, "resources") {
		m := map[string]any{}
		if v := str(r, "uid"); v != "" {
			m["ARN"] = v
		}
		if v := first(str(r, "owner.account.uid"), str(r, "account_uid"), str(r, "account.uid")); v != "" {
			m["accountId"] = v
		}
		if v := str(r, "type"); v != "" {
			m["type"] = v
		}
		if len(m) > 0 {
			res = append(res, m)
		}
	}
	if len(res) > 0 {
		ct["resources"] = res
	}

	// A console sign-in's outcome and MFA, where the record keeps them
	// outside unmapped.
	if ct["eventName"] == "ConsoleLogin" {
		re := object(ct["responseElements"])
		if re == nil {
			re = map[string]any{}
		}
		if re["ConsoleLogin"] == nil {
			switch st, _ := num(rec, "status_id"); st {
			case 1:
				re["ConsoleLogin"] = "Success"
			case 2:
				re["ConsoleLogin"] = "Failure"
			}
			if len(re) > 0 {
				ct["responseElements"] = re
			}
		}
		if v := first(str(rec, "is_mfa"), str(rec, "mfa")); v != "" {
			ad := object(ct["additionalEventData"])
			if ad == nil {
				ad = map[string]any{}
			}
			if ad["MFAUsed"] == nil {
				ad["MFAUsed"] = map[string]any{"true": "Yes", "false": "No"}[v]
			}
			ct["additionalEventData"] = ad
		}
	}
	return ct
}

// FlowLine rebuilds the flow log record of an OCSF Network Activity
// record: the field names (a custom format) and values ("-" when absent).
func FlowLine(rec map[string]any) (names, values []string) {
	add := func(name, v string) {
		if v == "" {
			v = "-"
		}
		names = append(names, name)
		values = append(values, v)
	}
	version := str(rec, "metadata.product.version")
	if _, err := strconv.Atoi(version); err != nil {
		version = "5"
	}
	secs := func(path string) string {
		if ms, ok := num(rec, path); ok {
			return strconv.FormatInt(ms/1000, 10)
		}
		return ""
	}
	start, end := secs("start_time"), secs("end_time")
	if start == "" {
		start = secs("time")
	}
	if end == "" {
		end = start
	}
	action := strings.ToLower(first(str(rec, "action"), str(rec, "disposition")))
	switch {
	case strings.Contains(action, "allow") || strings.Contains(action, "accept"):
		action = "ACCEPT"
	case strings.Contains(action, "den") || strings.Contains(action, "block") || strings.Contains(action, "reject"):
		action = "REJECT"
	default:
		switch id, _ := num(rec, "action_id"); id {
		case 1:
			action = "ACCEPT"
		case 2:
			action = "REJECT"
		default:
			action = ""
		}
	}
	dir := strings.ToLower(str(rec, "connection_info.direction"))
	switch {
	case strings.HasPrefix(dir, "in"):
		dir = "ingress"
	case strings.HasPrefix(dir, "out"):
		dir = "egress"
	default:
		switch id, _ := num(rec, "connection_info.direction_id"); id {
		case 1:
			dir = "ingress"
		case 2:
			dir = "egress"
		default:
			dir = ""
		}
	}
	status := str(rec, "status_code")
	if status == "" && action != "" {
		status = "OK"
	}
	add("version", version)
	add("account-id", account(rec))
	add("interface-id", first(str(rec, "src_endpoint.interface_uid"), str(rec, "dst_endpoint.interface_uid")))
	add("srcaddr", str(rec, "src_endpoint.ip"))
	add("dstaddr", str(rec, "dst_endpoint.ip"))
	add("srcport", str(rec, "src_endpoint.port"))
	add("dstport", str(rec, "dst_endpoint.port"))
	add("protocol", str(rec, "connection_info.protocol_num"))
	add("packets", str(rec, "traffic.packets"))
	add("bytes", str(rec, "traffic.bytes"))
	add("start", start)
	add("end", end)
	add("action", action)
	add("log-status", status)
	add("vpc-id", first(str(rec, "src_endpoint.vpc_uid"), str(rec, "dst_endpoint.vpc_uid")))
	add("subnet-id", first(str(rec, "src_endpoint.subnet_uid"), str(rec, "dst_endpoint.subnet_uid")))
	add("instance-id", first(str(rec, "src_endpoint.instance_uid"), str(rec, "dst_endpoint.instance_uid")))
	add("tcp-flags", str(rec, "connection_info.tcp_flags"))
	add("type", str(rec, "connection_info.protocol_ver"))
	add("region", first(str(rec, "cloud.region"), str(rec, "region")))
	add("az-id", str(rec, "cloud.zone"))
	add("flow-direction", dir)
	for i, v := range values {
		// A value with a space would shift the fields after it.
		values[i] = strings.ReplaceAll(v, " ", "_")
	}
	return names, values
}

// ASFF rebuilds the Security Hub finding (ASFF) of an OCSF Security
// Finding (2001) or Detection Finding (2004) record.
func ASFF(rec map[string]any) map[string]any {
	fi := "finding_info"
	if get(rec, fi) == nil {
		fi = "finding" // OCSF 1.0.0-rc.2
	}
	um, _ := unmapped(rec)
	fromUnmapped := func(k string) string {
		if s, ok := um[k].(string); ok {
			return s
		}
		return ""
	}
	region := first(str(rec, "cloud.region"), str(rec, "region"))
	acct := account(rec)
	productARN := first(fromUnmapped("ProductArn"), str(rec, "metadata.product.uid"))
	if !strings.HasPrefix(productARN, "arn:") {
		productARN = "arn:aws:securityhub:" + region + "::product/aws/securityhub"
	}
	iso := func(path string) string {
		if ms, ok := num(rec, path); ok && ms > 0 {
			return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
		}
		return ""
	}
	label := strings.ToUpper(str(rec, "severity"))
	if label == "" || label == "UNKNOWN" || label == "OTHER" {
		sev, _ := num(rec, "severity_id")
		label = map[int64]string{1: "INFORMATIONAL", 2: "LOW", 3: "MEDIUM", 4: "HIGH", 5: "CRITICAL", 6: "CRITICAL"}[sev]
	}
	f := map[string]any{
		"SchemaVersion": "2018-10-08",
		"Id":            first(str(rec, fi+".uid"), str(rec, "metadata.uid")),
		"ProductArn":    productARN,
		"GeneratorId":   first(fromUnmapped("GeneratorId"), str(rec, "metadata.product.feature.uid"), str(rec, fi+".analytic.uid"), str(rec, fi+".product_uid"), "ocsf:"+str(rec, "class_uid")),
		"AwsAccountId":  acct,
		"Region":        region,
		"Title":         str(rec, fi+".title"),
		"Description":   first(str(rec, fi+".desc"), str(rec, "message")),
		"ProductName":   first(str(rec, "metadata.product.feature.name"), str(rec, "metadata.product.name")),
		"CreatedAt":     first(iso(fi+".created_time"), iso("time")),
		"UpdatedAt":     first(iso(fi+".modified_time"), iso("time")),
	}
	if label != "" {
		f["Severity"] = map[string]any{"Label": label}
	}
	if v := iso(fi + ".first_seen_time"); v != "" {
		f["FirstObservedAt"] = v
	}
	if v := iso(fi + ".last_seen_time"); v != "" {
		f["LastObservedAt"] = v
	}
	if ts, ok := get(rec, fi+".types").([]any); ok {
		f["Types"] = ts
	}
	if st := strings.ToUpper(first(fromUnmapped("Workflow.Status"), str(rec, "status"))); st != "" {
		switch st {
		case "NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED":
			f["Workflow"] = map[string]any{"Status": st}
		}
	}
	if st := strings.ToUpper(first(fromUnmapped("RecordState"), str(rec, "state"))); st == "ARCHIVED" {
		f["RecordState"] = st
	} else {
		f["RecordState"] = "ACTIVE"
	}
	var res []any
	for _, r := range items(rec, "resources") {
		if uid := str(r, "uid"); uid != "" {
			res = append(res, map[string]any{"Id": uid, "Type": first(str(r, "type"), "Other"), "Region": first(str(r, "region"), str(r, "cloud_region"), region)})
		}
	}
	if len(res) > 0 {
		f["Resources"] = res
	}
	return f
}

// unmapped is the record's unmapped object: a MAP column (source
// version 2), or JSON text.
func unmapped(rec map[string]any) (map[string]any, bool) {
	switch v := get(rec, "unmapped").(type) {
	case map[string]any:
		return v, true
	case string:
		m := object(jsonValue(v))
		return m, m != nil
	}
	return nil, false
}

// get follows a dotted path through objects.
func get(m map[string]any, path string) any {
	var cur any = m
	for path != "" {
		k, rest, _ := strings.Cut(path, ".")
		o, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur, path = o[k], rest
	}
	return cur
}

// str is the value at path as text: strings, numbers and booleans.
func str(m map[string]any, path string) string {
	switch v := get(m, path).(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return v.String()
	}
	return ""
}

// num is the integer at path (also from text).
func num(m map[string]any, path string) (int64, bool) {
	switch v := get(m, path).(type) {
	case int64:
		return v, true
	case float64:
		return int64(v), true
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	}
	return 0, false
}

// items are the objects of the list at path.
func items(m map[string]any, path string) []map[string]any {
	l, _ := get(m, path).([]any)
	var out []map[string]any
	for _, e := range l {
		if o, ok := e.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}

func first(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// account is the record's cloud account.
func account(rec map[string]any) string {
	return first(str(rec, "cloud.account.uid"), str(rec, "cloud.account_uid"), str(rec, "accountid"), str(rec, "actor.user.account.uid"))
}

// userARN is the actor's ARN: actor.user.uid in OCSF 1.1, uuid (or
// uid_alt) in 1.0.0-rc.2, where uid is the principal id.
func userARN(rec map[string]any) string {
	if uid := str(rec, "actor.user.uid"); strings.HasPrefix(uid, "arn:") {
		return uid
	}
	for _, p := range []string{"actor.user.uuid", "actor.user.uid_alt"} {
		if v := str(rec, p); strings.HasPrefix(v, "arn:") {
			return v
		}
	}
	return ""
}

// principal is the actor's principal id.
func principal(rec map[string]any) string {
	if uid := str(rec, "actor.user.uid"); uid != "" && !strings.HasPrefix(uid, "arn:") {
		return uid
	}
	if v := str(rec, "actor.user.uid_alt"); !strings.HasPrefix(v, "arn:") {
		return v
	}
	return ""
}

// sessionTime is the session's creation time as CloudTrail writes it.
func sessionTime(rec map[string]any) string {
	if s := str(rec, "actor.session.created_time_dt"); s != "" && get(rec, "actor.session.created_time_dt") != nil {
		if _, isNum := get(rec, "actor.session.created_time_dt").(int64); !isNum {
			return s
		}
	}
	for _, p := range []string{"actor.session.created_time_dt", "actor.session.created_time"} {
		if ms, ok := num(rec, p); ok && ms > 0 {
			return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05Z")
		}
	}
	return ""
}

func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 {
		return parts[4]
	}
	return ""
}

// jsonValue reads text that holds JSON (an object or a list) as that
// value, kept as its text (object parses it where it is to be changed);
// other text stays text.
func jsonValue(s string) any {
	t := strings.TrimSpace(s)
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	return s
}

// object is v as an object to change: a map, or JSON text of an object
// parsed; nil otherwise.
func object(v any) map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return x
	case json.RawMessage:
		dec := json.NewDecoder(bytes.NewReader(x))
		dec.UseNumber()
		var m map[string]any
		if dec.Decode(&m) == nil {
			return m
		}
	}
	return nil
}

// dataValue is api.request.data or api.response.data as CloudTrail's
// requestParameters or responseElements: JSON text becomes its value.
func dataValue(v any) any {
	if s, ok := v.(string); ok {
		if t := strings.TrimSpace(s); t == "null" {
			return nil
		}
		return jsonValue(s)
	}
	return v
}

// setPath sets a dotted key ("additionalEventData.MFAUsed", as flattened
// unmapped members are named) as nested objects.
func setPath(m map[string]any, key string, v any) {
	for {
		k, rest, ok := strings.Cut(key, ".")
		if !ok || k == "" || rest == "" {
			m[key] = v
			return
		}
		next, isObj := m[k].(map[string]any)
		if !isObj {
			if m[k] != nil {
				m[key] = v // a value already there: keep the flat key
				return
			}
			next = map[string]any{}
			m[k] = next
		}
		m, key = next, rest
	}
}
