// Package ocsf maps normalized events to OCSF 1.8 classes (API Activity
// 6003, Authentication 3002, Account Change 3001, Network Activity 4001,
// Detection Finding 2004) and validates OCSF JSON against a compiled OCSF
// schema.
package ocsf

import (
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/event"
)

// Version is the OCSF version Parapet writes.
const Version = "1.8.0"

// obj is a JSON object under construction; set leaves out empty values.
type obj map[string]any

func (o obj) set(k string, v any) obj {
	switch x := v.(type) {
	case string:
		if x == "" {
			return o
		}
	case obj:
		if len(x) == 0 {
			return o
		}
	case []any:
		if len(x) == 0 {
			return o
		}
	case nil:
		return o
	}
	o[k] = v
	return o
}

func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

var activityNames = map[event.Class]map[uint8]string{
	event.ClassAPIActivity:      {0: "Unknown", 1: "Create", 2: "Read", 3: "Update", 4: "Delete", 99: "Other"},
	event.ClassAuthentication:   {0: "Unknown", 1: "Logon", 2: "Logoff", 3: "Authentication Ticket", 6: "Preauth", 99: "Other"},
	event.ClassAccountChange:    {0: "Unknown", 1: "Create", 2: "Enable", 3: "Password Change", 5: "Disable", 6: "Delete", 7: "Attach Policy", 8: "Detach Policy", 10: "MFA Factor Enable", 11: "MFA Factor Disable", 99: "Other"},
	event.ClassNetworkActivity:  {0: "Unknown", 6: "Traffic", 99: "Other"},
	event.ClassDetectionFinding: {0: "Unknown", 1: "Create", 2: "Update", 3: "Close", 99: "Other"},
}

var categoryNames = map[int]string{2: "Findings", 3: "Identity & Access Management", 4: "Network Activity", 6: "Application Activity"}

// Level ids of OCSF severity_id.
var severityIDs = map[string]int{"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

// FromEvent maps e to an OCSF event object. withRaw adds the native record
// as raw_data.
func FromEvent(e *event.Event, withRaw bool) map[string]any {
	act := activityNames[e.Class][e.Activity]
	o := obj{
		"class_uid":     int(e.Class),
		"class_name":    e.Class.Name(),
		"category_uid":  e.Class.Category(),
		"category_name": categoryNames[e.Class.Category()],
		"activity_id":   int(e.Activity),
		"type_uid":      e.TypeUID(),
		"time":          e.Time.UnixMilli(),
		"severity_id":   1,
		"severity":      "Informational",
	}
	o.set("activity_name", act)
	if act != "" {
		o["type_name"] = e.Class.Name() + ": " + act
	}
	profiles := []any{"cloud"}
	md := obj{"version": Version, "uid": e.ID}
	md.set("event_code", e.Type)
	switch e.Source {
	case event.SourceCloudTrail:
		md["product"] = obj{"name": "CloudTrail", "vendor_name": "AWS"}
		md.set("log_name", "CloudTrail")
	case event.SourceVPCFlow:
		md["product"] = obj{"name": "Amazon VPC", "vendor_name": "AWS", "feature": obj{"name": "Flow Logs"}}
		md.set("log_name", "VPC Flow Logs")
	case event.SourceGuardDuty:
		md["product"] = obj{"name": "Amazon GuardDuty", "vendor_name": "AWS"}
	case event.SourceSecurityHub:
		name := "AWS Security Hub"
		if e.Finding != nil && e.Finding.Product != "" {
			name = e.Finding.Product
		}
		md["product"] = obj{"name": name, "vendor_name": "AWS", "feature": obj{"name": "Security Hub"}}
	case event.SourceAzureActivity:
		md["product"] = obj{"name": "Azure Monitor", "vendor_name": "Microsoft"}
		md.set("log_name", "Activity Log")
	case event.SourceGCPAudit:
		md["product"] = obj{"name": "Cloud Audit Logs", "vendor_name": "Google"}
		md.set("log_name", "cloudaudit.googleapis.com/"+e.Type)
	default:
		md["product"] = obj{"name": "Parapet", "vendor_name": "Parapet"}
	}
	cloud := obj{"provider": Provider(e.Cloud.Provider)}
	cloud.set("region", e.Cloud.Region)
	cloud.set("zone", e.Cloud.Zone)
	cloud.set("cloud_partition", e.Cloud.Partition)
	if e.Cloud.Account != "" {
		cloud["account"] = Account(e.Cloud.Provider, e.Cloud.Account)
	}
	o["cloud"] = cloud
	if withRaw && len(e.Raw.Data) > 0 {
		o["raw_data"] = string(e.Raw.Data)
	}
	var enr []any
	for _, p := range []struct {
		name string
		ep   *event.Endpoint
	}{{"src_endpoint.ip", &e.Src}, {"dst_endpoint.ip", &e.Dst}} {
		if p.ep.Provider != "" && p.ep.IP.IsValid() {
			enr = append(enr, obj{"name": p.name, "value": p.ep.IP.String(), "type": "cloud_provider",
				"provider": "Parapet", "data": obj{"cloud_provider": p.ep.Provider}})
		}
	}
	if len(enr) > 0 {
		o["enrichments"] = enr
	}

	switch e.Class {
	case event.ClassNetworkActivity:
		profiles = append(profiles, "security_control")
		flow(o, e)
	case event.ClassDetectionFinding:
		profiles = append(profiles, "security_control")
		finding(o, e)
	default:
		apiCall(o, e)
	}
	md["profiles"] = profiles
	o["metadata"] = md
	return o
}

// Provider is OCSF's cloud.provider for Parapet's provider name.
func Provider(p string) string {
	switch p {
	case "azure":
		return "Azure"
	case "gcp":
		return "GCP"
	}
	return "AWS"
}

// Account is the OCSF account object of a provider's account: an AWS
// account, an Azure subscription, a GCP project.
func Account(provider, uid string) obj {
	switch provider {
	case "azure":
		return obj{"uid": uid, "type": "Azure Subscription", "type_id": 13}
	case "gcp":
		return obj{"uid": uid, "type": "GCP Project", "type_id": 11}
	}
	return obj{"uid": uid, "type": "AWS Account", "type_id": 10}
}

func user(a *event.Actor, provider string) obj {
	u := obj{}
	uid := a.ARN
	if uid == "" {
		uid = a.PrincipalID
	}
	u.set("uid", uid)
	if a.PrincipalID != uid {
		u.set("uid_alt", a.PrincipalID)
	}
	u.set("name", a.UserName)
	u.set("type", a.Type)
	switch a.Type {
	case "":
	case "IAMUser", "FederatedUser", "IdentityCenterUser", "SAMLUser", "WebIdentityUser":
		u["type_id"] = 1
	case "Root":
		u["type_id"] = 2
	case "AWSService":
		u["type_id"] = 4
	default:
		u["type_id"] = 99
	}
	u.set("credential_uid", a.AccessKeyID)
	if a.Account != "" {
		u["account"] = Account(provider, a.Account)
	}
	if a.MFA != event.Unknown {
		u["has_mfa"] = a.MFA == event.True
	}
	return u
}

func actor(e *event.Event) obj {
	a := &e.Actor
	o := obj{}
	o.set("user", user(a, e.Cloud.Provider))
	s := obj{}
	s.set("issuer", a.SessionIssuerARN)
	s.set("created_time", ms(a.SessionCreated))
	s.set("uid_alt", a.SessionName)
	s.set("credential_uid", a.AccessKeyID)
	if a.MFA != event.Unknown {
		s["is_mfa"] = a.MFA == event.True
	}
	if a.SessionIssuerARN != "" || !a.SessionCreated.IsZero() {
		o.set("session", s)
	}
	o.set("invoked_by", a.InvokedBy)
	return o
}

func endpoint(p *event.Endpoint) obj {
	o := obj{}
	if p.IP.IsValid() {
		o["ip"] = p.IP.String()
	}
	if p.Port != 0 {
		o["port"] = int(p.Port)
	}
	if p.Domain != "" {
		if strings.Contains(p.Domain, ".") && !strings.Contains(p.Domain, " ") {
			o["domain"] = p.Domain
		} else {
			o["name"] = p.Domain
		}
	}
	o.set("interface_uid", p.InterfaceID)
	o.set("instance_uid", p.InstanceID)
	o.set("vpc_uid", p.VPCID)
	o.set("subnet_uid", p.SubnetID)
	o.set("svc_name", p.AWSService)
	if g := p.Geo; g.Country != "" || g.Located {
		loc := obj{}
		loc.set("country", g.Country)
		loc.set("city", g.City)
		if g.Located {
			loc["coordinates"] = []any{float64(g.Lon), float64(g.Lat)} // GeoJSON order
		}
		o["location"] = loc
	}
	if p.Geo.ASN != 0 {
		as := obj{"number": int(p.Geo.ASN)}
		as.set("name", p.Geo.ASOrg)
		o["autonomous_system"] = as
	}
	return o
}

// resources maps resources to OCSF resource_details, placed in cloud.
func resources(rs []event.Resource, cloud event.Cloud) []any {
	var out []any
	for _, r := range rs {
		o := obj{}
		o.set("uid", r.UID)
		o.set("name", r.Name)
		o.set("type", r.Type)
		if len(o) == 0 {
			continue
		}
		o.set("region", cloud.Region)
		o.set("cloud_partition", cloud.Partition)
		out = append(out, o)
	}
	return out
}

func apiCall(o obj, e *event.Event) {
	act := actor(e)
	if len(act) == 0 {
		act = obj{"app_name": e.API.Service}
	}
	o["actor"] = act
	src := endpoint(&e.Src)
	if len(src) == 0 {
		// CloudTrail Insights and a few service events record no caller:
		// the record was made by the service itself.
		src = obj{"svc_name": e.API.Service}
	}
	o["src_endpoint"] = src
	if e.Src.UserAgent != "" {
		o["http_request"] = obj{"user_agent": e.Src.UserAgent}
	}
	status(o, e)
	res := resources(e.Resources, e.Cloud)
	switch e.Class {
	case event.ClassAuthentication:
		o["user"] = user(&e.Actor, e.Cloud.Provider)
		if e.Actor.MFA != event.Unknown {
			o["is_mfa"] = e.Actor.MFA == event.True
		}
		o.set("service", obj{}.set("name", e.API.Service))
		o.set("resources", res)
	case event.ClassAccountChange:
		// The account changed: the IAM user the call names, else the caller.
		u := user(&e.Actor, e.Cloud.Provider)
		for _, r := range e.Resources {
			if r.Type == "AWS::IAM::User" || r.Type == "AWS::IAM::Role" {
				u = obj{"name": r.Name, "type": strings.TrimPrefix(r.Type, "AWS::IAM::")}
				u.set("uid", r.UID)
				break
			}
		}
		o["user"] = u
		o.set("api", api(e))
	default:
		o["api"] = api(e)
		o.set("resources", res)
	}
}

func api(e *event.Event) obj {
	a := obj{"operation": e.API.Operation}
	a.set("version", e.API.Version)
	a.set("service", obj{}.set("name", e.API.Service))
	a.set("request", obj{}.set("uid", e.API.RequestID))
	resp := obj{}
	resp.set("error", e.API.ErrorCode)
	resp.set("error_message", e.API.ErrorMessage)
	a.set("response", resp)
	return a
}

func status(o obj, e *event.Event) {
	switch e.Outcome {
	case event.OutcomeSuccess:
		o["status_id"], o["status"] = 1, "Success"
	case event.OutcomeFailure:
		o["status_id"], o["status"] = 2, "Failure"
	default:
		o["status_id"], o["status"] = 0, "Unknown"
	}
	o.set("status_code", e.API.ErrorCode)
	o.set("status_detail", e.API.ErrorMessage)
}

func flow(o obj, e *event.Event) {
	n := e.Network
	o["src_endpoint"] = endpoint(&e.Src)
	o["dst_endpoint"] = endpoint(&e.Dst)
	if len(o["src_endpoint"].(obj)) == 0 {
		delete(o, "src_endpoint")
	}
	if len(o["dst_endpoint"].(obj)) == 0 {
		delete(o, "dst_endpoint")
	}
	if n == nil {
		return
	}
	o.set("start_time", ms(n.Start))
	o.set("end_time", ms(n.End))
	ci := obj{"direction_id": 0}
	switch n.Direction {
	case "ingress":
		ci["direction_id"], ci["direction"] = 1, "Inbound"
	case "egress":
		ci["direction_id"], ci["direction"] = 2, "Outbound"
	}
	if n.Protocol != 0 {
		ci["protocol_num"] = int(n.Protocol)
		ci.set("protocol_name", protocolName(n.Protocol))
	}
	if n.TCPFlags != 0 {
		ci["tcp_flags"] = n.TCPFlags
	}
	if n.AddrType == "IPv4" {
		ci["protocol_ver_id"] = 4
	} else if n.AddrType == "IPv6" {
		ci["protocol_ver_id"] = 6
	}
	o["connection_info"] = ci
	if n.LogStatus == "OK" || n.LogStatus == "" {
		o["traffic"] = obj{"bytes": n.Bytes, "packets": n.Packets}
	}
	switch n.Action {
	case "ACCEPT":
		o["action_id"], o["action"] = 1, "Allowed"
		o["disposition_id"], o["disposition"] = 1, "Allowed"
	case "REJECT":
		o["action_id"], o["action"] = 2, "Denied"
		o["disposition_id"], o["disposition"] = 2, "Blocked"
	}
	o.set("status_code", n.LogStatus)
}

func protocolName(p uint8) string {
	switch p {
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 58:
		return "ipv6-icmp"
	}
	return ""
}

func finding(o obj, e *event.Event) {
	f := e.Finding
	if f == nil {
		return
	}
	fi := obj{"uid": f.UID, "title": f.Title, "types": []any{f.Type}}
	fi.set("desc", f.Description)
	fi.set("first_seen_time", ms(f.FirstSeen))
	fi.set("last_seen_time", ms(f.LastSeen))
	fi.set("uid_alt", f.ARN)
	fi.set("product", obj{}.set("name", f.Product).set("vendor_name", "AWS"))
	if f.Title == "" {
		fi["title"] = f.Type
	}
	o["finding_info"] = fi
	if id, ok := severityIDs[f.Level]; ok {
		o["severity_id"] = id
		o["severity"] = strings.ToUpper(f.Level[:1]) + f.Level[1:]
	}
	o["is_alert"] = true
	if f.Count > 0 {
		o["count"] = f.Count
	}
	// Who and what the detector saw go into the finding's evidence.
	ev := obj{}
	ev.set("actor", actor(e))
	ev.set("src_endpoint", endpoint(&e.Src))
	ev.set("dst_endpoint", endpoint(&e.Dst))
	if e.API.Operation != "" {
		ev["api"] = api(e)
	}
	if len(ev) > 0 {
		o["evidences"] = []any{ev}
	}
	o.set("resources", resources(e.Resources, e.Cloud))
	o["status_id"], o["status"] = 1, "New"
	if f.Archived {
		o["status_id"], o["status"] = 4, "Archived"
	}
}

// AppendJSON appends the OCSF JSON of e.
func AppendJSON(dst []byte, e *event.Event, withRaw bool) ([]byte, error) {
	n := len(dst)
	out, err := appendValue(dst, FromEvent(e, withRaw))
	if err != nil {
		return dst[:n], err
	}
	return out, nil
}
