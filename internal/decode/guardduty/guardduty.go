// Package guardduty decodes Amazon GuardDuty findings (the JSON that
// GuardDuty exports and that EventBridge carries as "detail") into events
// that later stages treat as external findings: type, severity, resource,
// actor.
package guardduty

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/parapet-sec/parapet/internal/decode"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/jsonscan"
)

// ErrNotFinding: the object lacks a finding's id, type or severity.
var ErrNotFinding = errors.New("not a GuardDuty finding: needs id, type and severity")

// Decode normalizes one GuardDuty finding object.
func Decode(rec []byte, ev *event.Event) error {
	if err := jsonscan.Valid(rec); err != nil {
		return err
	}
	get := func(path string) string { return jsonscan.GetString(rec, path) }
	num := func(path string) (float64, bool) { return jsonscan.GetNumber(rec, path) }
	id, typ := get("id"), get("type")
	sev, hasSev := num("severity")
	if id == "" || typ == "" || !hasSev {
		return ErrNotFinding
	}
	f := &event.Finding{
		UID:         id,
		ARN:         get("arn"),
		Type:        typ,
		Title:       get("title"),
		Description: get("description"),
		Severity:    sev,
		Level:       Level(sev),
		Product:     "Amazon GuardDuty",
	}
	if n, ok := num("service.count"); ok {
		f.Count = int64(n)
	}
	f.FirstSeen = parseTime(get("service.eventFirstSeen"))
	f.LastSeen = parseTime(get("service.eventLastSeen"))
	if vs, ve, ok := jsonscan.Get(rec, 0, "service.archived"); ok && string(rec[vs:ve]) == "true" {
		f.Archived = true
	}

	*ev = event.Event{
		ID:       id,
		Source:   event.SourceGuardDuty,
		Class:    event.ClassDetectionFinding,
		Activity: 1, // Create
		Type:     typ,
		Finding:  f,
		Raw:      event.Raw{Format: event.RawJSON, Data: rec},
		Outcome:  event.OutcomeUnknown,
		Cloud: event.Cloud{
			Provider:  "aws",
			Partition: get("partition"),
			Account:   get("accountId"),
			Region:    get("region"),
		},
	}
	created, updated := parseTime(get("createdAt")), parseTime(get("updatedAt"))
	ev.Time = updated
	if ev.Time.IsZero() {
		ev.Time = created
	}
	if ev.Time.IsZero() {
		ev.Time = f.LastSeen
	}
	if ev.Time.IsZero() {
		return fmt.Errorf("guardduty finding %s: no createdAt, updatedAt or eventLastSeen", id)
	}
	if !created.IsZero() && updated.After(created) {
		ev.Activity = 2 // Update
	}
	if ev.Cloud.Partition == "" {
		ev.Cloud.Partition = "aws"
	}

	// The actor: the access key a finding is about.
	ev.Actor = event.Actor{
		Type:        get("resource.accessKeyDetails.userType"),
		UserName:    get("resource.accessKeyDetails.userName"),
		AccessKeyID: get("resource.accessKeyDetails.accessKeyId"),
		PrincipalID: get("resource.accessKeyDetails.principalId"),
		Account:     ev.Cloud.Account,
	}
	if ev.Actor.AccessKeyID == "" && ev.Actor.UserName == "" {
		ev.Actor.Account = ""
	}

	// The remote side, from whichever action the finding describes.
	for _, p := range []string{
		"service.action.awsApiCallAction.remoteIpDetails",
		"service.action.networkConnectionAction.remoteIpDetails",
		"service.action.kubernetesApiCallAction.remoteIpDetails",
		"service.action.rdsLoginAttemptAction.remoteIpDetails",
		"service.action.portProbeAction.portProbeDetails.remoteIpDetails",
	} {
		ip := get(p + ".ipAddressV4")
		if ip == "" {
			ip = get(p + ".ipAddressV6")
		}
		if addr, err := netip.ParseAddr(ip); err == nil {
			ev.Src.IP = addr
			break
		}
	}
	if port, ok := num("service.action.networkConnectionAction.remotePortDetails.port"); ok && port > 0 && port < 65536 {
		ev.Src.Port = uint16(port)
	}
	if port, ok := num("service.action.networkConnectionAction.localPortDetails.port"); ok && port > 0 && port < 65536 {
		ev.Dst.Port = uint16(port)
	}
	if d := get("service.action.dnsRequestAction.domain"); d != "" {
		ev.Dst.Domain = d
	}
	ev.API.Service = get("service.action.awsApiCallAction.serviceName")
	ev.API.Operation = get("service.action.awsApiCallAction.api")

	// The resources it is about.
	account, region, part := ev.Cloud.Account, ev.Cloud.Region, ev.Cloud.Partition
	if id := get("resource.instanceDetails.instanceId"); id != "" {
		ev.Dst.InstanceID = id
		ev.Resources = append(ev.Resources, event.Resource{Type: "AWS::EC2::Instance", Name: id, Account: account,
			UID: "arn:" + part + ":ec2:" + region + ":" + account + ":instance/" + id})
	}
	if k := ev.Actor.AccessKeyID; k != "" {
		ev.Resources = append(ev.Resources, event.Resource{Type: "AWS::IAM::AccessKey", Name: k, Account: account})
	}
	if vs, ve, ok := jsonscan.Get(rec, 0, "resource.s3BucketDetails"); ok && rec[vs] == '[' {
		_, _ = jsonscan.ArrayEach(rec[:ve], vs, func(es, ee int) error {
			bucket(rec[es:ee], part, ev)
			return nil
		})
	}
	return nil
}

func bucket(b []byte, part string, ev *event.Event) {
	name, arn := "", ""
	if s, e, ok := jsonscan.Get(b, 0, "name"); ok {
		name = jsonscan.Unquote(b[s:e])
	}
	if s, e, ok := jsonscan.Get(b, 0, "arn"); ok {
		arn = jsonscan.Unquote(b[s:e])
	}
	if name != "" || arn != "" {
		if arn == "" {
			arn = "arn:" + part + ":s3:::" + name
		}
		ev.Resources = append(ev.Resources, event.Resource{Type: "AWS::S3::Bucket", Name: name, UID: arn})
	}
}

// Level maps GuardDuty's 1–10 severity to Parapet's levels as GuardDuty
// labels them: low below 4, medium below 7, high below 9, critical above.
func Level(sev float64) string {
	switch {
	case sev >= 9:
		return "critical"
	case sev >= 7:
		return "high"
	case sev >= 4:
		return "medium"
	case sev > 0:
		return "low"
	}
	return "informational"
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := decode.ParseTime(s)
	if err != nil {
		return time.Time{}
	}
	return t
}
