package ocsfparquet_test

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/decode"
	"github.com/parapet-sec/parapet/internal/decode/asff"
	"github.com/parapet-sec/parapet/internal/decode/ocsfparquet"
	"github.com/parapet-sec/parapet/internal/decode/ocsfparquet/ocsftest"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/jsonscan"
)

func decodeAll(t *testing.T, data []byte) ([]event.Event, []*decode.Error) {
	t.Helper()
	if !ocsfparquet.Is(data) {
		t.Fatal("not told a Parquet file")
	}
	f, err := ocsfparquet.Open(bytes.NewReader(data), int64(len(data)), "test.parquet")
	if err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	var bad []*decode.Error
	err = f.Each(func(ev *event.Event) error {
		evs = append(evs, *ev)
		return nil
	}, func(e *decode.Error) { bad = append(bad, e) })
	if err != nil {
		t.Fatal(err)
	}
	return evs, bad
}

func encode[T any](t *testing.T, rows []T, group int) []byte {
	t.Helper()
	data, err := ocsftest.Encode(rows, group)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestCloudTrail(t *testing.T) {
	evs, bad := decodeAll(t, encode(t, ocsftest.CloudTrail(), 2))
	if len(bad) > 0 || len(evs) != 5 {
		t.Fatalf("%d events, bad %v", len(evs), bad)
	}
	// Classes are Parapet's CloudTrail decoder's (AttachUserPolicy is an
	// Account Change), as for the CloudTrail the record was made from.
	admin := evs[0]
	if admin.Source != event.SourceCloudTrail || admin.ID != "ct-attach-admin" || !admin.Time.Equal(ocsftest.T0) ||
		admin.Class != event.ClassAccountChange || admin.Outcome != event.OutcomeSuccess {
		t.Errorf("admin: %+v", admin)
	}
	if a := admin.Actor; a.Type != "IAMUser" || a.ARN != "arn:aws:iam::111122223333:user/alice" || a.PrincipalID != "AIDAEXAMPLEALICE0001" ||
		a.AccessKeyID != "AKIAEXAMPLEALICE0001" || a.Account != "111122223333" || a.UserName != "alice" {
		t.Errorf("actor %+v", a)
	}
	if admin.API.Service != "iam.amazonaws.com" || admin.API.Operation != "AttachUserPolicy" || admin.Cloud.Account != "111122223333" ||
		admin.Cloud.Region != "eu-west-1" || admin.Src.IP != netip.MustParseAddr("203.0.113.10") || admin.Src.UserAgent != "aws-cli/2.17.0" {
		t.Errorf("call %+v", admin)
	}
	if len(admin.Resources) == 0 || admin.Resources[0].UID != "arn:aws:iam::111122223333:user/temp-admin" {
		t.Errorf("resources %+v", admin.Resources)
	}
	// The native record is CloudTrail's: rules read its names.
	raw := admin.Raw.Data
	for path, want := range map[string]string{
		"eventName": "AttachUserPolicy", "eventSource": "iam.amazonaws.com", "userIdentity.accessKeyId": "AKIAEXAMPLEALICE0001",
		"userIdentity.arn": "arn:aws:iam::111122223333:user/alice", "sourceIPAddress": "203.0.113.10",
		"requestParameters.policyArn": "arn:aws:iam::aws:policy/AdministratorAccess", "eventType": "AwsApiCall",
		"tlsDetails.tlsVersion": "TLSv1.3", "recipientAccountId": "111122223333", "eventCategory": "Management",
	} {
		if got := jsonscan.GetString(raw, path); got != want {
			t.Errorf("raw %s = %q, want %q\n%s", path, got, want, raw)
		}
	}
	if v, _, ok := jsonscan.Get(raw, 0, "readOnly"); !ok || string(raw[v:v+5]) != "false" {
		t.Errorf("readOnly not the boolean false: %s", raw)
	}
	if _, _, ok := jsonscan.Get(raw, 0, "errorCode"); ok {
		t.Errorf("a successful call has an errorCode: %s", raw)
	}
	denied := evs[2]
	if denied.Outcome != event.OutcomeFailure || denied.API.ErrorCode != "AccessDenied" || jsonscan.GetString(denied.Raw.Data, "errorCode") != "AccessDenied" {
		t.Errorf("denied: %+v %s", denied.API, denied.Raw.Data)
	}
	role := evs[3]
	if a := role.Actor; a.Type != "AssumedRole" || a.SessionIssuerARN != "arn:aws:iam::111122223333:role/deploy" || a.AccessKeyID != "ASIAEXAMPLEDEPLOY001" ||
		a.PrincipalID != "AROAEXAMPLEDEPLOY0001:ci-run" || a.MFA != event.False || !a.SessionCreated.Equal(ocsftest.T0.Add(-time.Hour)) {
		t.Errorf("role actor %+v", a)
	}
	if !role.API.ReadOnly {
		t.Errorf("DescribeInstances not read-only")
	}
	login := evs[4]
	if login.Class != event.ClassAuthentication || login.API.Operation != "ConsoleLogin" || login.Outcome != event.OutcomeSuccess {
		t.Errorf("login %+v", login)
	}
	for path, want := range map[string]string{"responseElements.ConsoleLogin": "Success", "additionalEventData.MFAUsed": "No",
		"additionalEventData.LoginTo": "https://console.aws.amazon.com/console/home"} {
		if got := jsonscan.GetString(login.Raw.Data, path); got != want {
			t.Errorf("login raw %s = %q, want %q\n%s", path, got, want, login.Raw.Data)
		}
	}
}

func TestFlows(t *testing.T) {
	evs, bad := decodeAll(t, encode(t, ocsftest.Flows(), 0))
	if len(bad) > 0 || len(evs) != 2 {
		t.Fatalf("%d events, bad %v", len(evs), bad)
	}
	e := evs[0]
	if e.Source != event.SourceVPCFlow || e.Class != event.ClassNetworkActivity || e.Src.IP != netip.MustParseAddr("198.51.100.20") ||
		e.Src.Port != 51000 || e.Dst.IP != netip.MustParseAddr("10.0.1.5") || e.Dst.Port != 22 || e.Cloud.Account != "111122223333" {
		t.Errorf("flow %+v", e)
	}
	if n := e.Network; n == nil || n.Protocol != 6 || n.Bytes != 4200 || n.Packets != 12 || n.Action != "ACCEPT" || n.Direction != "ingress" ||
		!n.Start.Equal(ocsftest.T0.Add(4*time.Minute)) || !n.End.Equal(ocsftest.T0.Add(5*time.Minute)) {
		t.Errorf("network %+v", e.Network)
	}
	// Ingress: the interface is the destination's, as vpcflow has it.
	if e.Dst.InterfaceID != "eni-0a1b2c3d4e5f60718" || e.Dst.VPCID != "vpc-0example" || e.Raw.Format != event.RawFields {
		t.Errorf("interface %q, raw format %v", e.Dst.InterfaceID, e.Raw.Format)
	}
}

func TestFindings(t *testing.T) {
	evs, bad := decodeAll(t, encode(t, ocsftest.Findings(), 0))
	if len(bad) > 0 || len(evs) != 1 {
		t.Fatalf("%d events, bad %v", len(evs), bad)
	}
	e := evs[0]
	f := e.Finding
	if e.Source != event.SourceSecurityHub || e.Class != event.ClassDetectionFinding || f == nil ||
		f.Title != "S3 general purpose buckets should block public access" || f.Level != "high" || f.Type != "security-control/S3.8" ||
		f.Workflow != "NEW" || len(f.Types) != 1 || e.Cloud.Account != "111122223333" || e.Cloud.Region != "eu-west-1" ||
		!e.Time.Equal(ocsftest.T0.Add(7*time.Minute)) || e.Activity != 2 {
		t.Errorf("finding event %+v, finding %+v", e, f)
	}
	if len(e.Resources) != 1 || e.Resources[0].UID != "arn:aws:s3:::reports-111122223333" {
		t.Errorf("resources %+v", e.Resources)
	}
}

// TestGeneric: a class Parapet has no native shape for keeps its OCSF JSON.
func TestGeneric(t *testing.T) {
	type dns struct {
		Metadata    *ocsftest.Metadata `parquet:"metadata,optional"`
		Time        int64              `parquet:"time,timestamp(microsecond)"`
		ClassUID    int32              `parquet:"class_uid"`
		ActivityID  int32              `parquet:"activity_id"`
		Cloud       *ocsftest.Cloud    `parquet:"cloud,optional"`
		SrcEndpoint *ocsftest.Endpoint `parquet:"src_endpoint,optional"`
		Answers     []string           `parquet:"answers,list"`
	}
	data := encode(t, []dns{{Metadata: &ocsftest.Metadata{UID: ocsftest.S("dns-1"), Product: &ocsftest.Product{Name: ocsftest.S("Route 53")}},
		Time: ocsftest.T0.UnixMicro(), ClassUID: 4003, ActivityID: 1,
		Cloud:       &ocsftest.Cloud{Region: ocsftest.S("eu-west-1"), Account: &ocsftest.Account{UID: ocsftest.S("111122223333")}},
		SrcEndpoint: &ocsftest.Endpoint{IP: ocsftest.S("10.0.0.7")}, Answers: []string{"a", "b"}}}, 0)
	evs, bad := decodeAll(t, data)
	if len(bad) > 0 || len(evs) != 1 {
		t.Fatalf("%d events, bad %v", len(evs), bad)
	}
	e := evs[0]
	if e.ID != "dns-1" || e.Class != 4003 || !e.Time.Equal(ocsftest.T0) || e.Cloud.Account != "111122223333" || e.Src.IP != netip.MustParseAddr("10.0.0.7") {
		t.Errorf("event %+v", e)
	}
	if !strings.Contains(string(e.Raw.Data), `"answers":["a","b"]`) || jsonscan.GetString(e.Raw.Data, "metadata.product.name") != "Route 53" {
		t.Errorf("raw %s", e.Raw.Data)
	}
}

func TestNotOCSF(t *testing.T) {
	type other struct {
		Name  string `parquet:"name"`
		Count int64  `parquet:"count"`
	}
	data := encode(t, []other{{"a", 1}}, 0)
	_, err := ocsfparquet.Open(bytes.NewReader(data), int64(len(data)), "other.parquet")
	var de *decode.Error
	if !errors.As(err, &de) || !errors.Is(err, ocsfparquet.ErrNotOCSF) || de.File != "other.parquet" {
		t.Errorf("foreign Parquet: %v", err)
	}
	// Cut short: the footer is gone.
	good := encode(t, ocsftest.CloudTrail(), 0)
	_, err = ocsfparquet.Open(bytes.NewReader(good[:len(good)/2]), int64(len(good)/2), "cut.parquet")
	if !errors.As(err, &de) || de.File != "cut.parquet" || de.Offset != int64(len(good)/2-8) {
		t.Errorf("cut file: %v", err)
	}
}

// TestCorruptRowGroup: a row group whose pages are garbage is reported
// with its offset; the other row groups are still read.
func TestCorruptRowGroup(t *testing.T) {
	data := encode(t, ocsftest.CloudTrail(), 2) // row groups of 2, 2 and 1 rows
	f, err := ocsfparquet.Open(bytes.NewReader(data), int64(len(data)), "x")
	if err != nil {
		t.Fatal(err)
	}
	_ = f
	// Overwrite the middle of the first row group's data.
	bad := bytes.Clone(data)
	for i := 8; i < 200 && i < len(bad); i++ {
		bad[i] ^= 0x5a
	}
	f, err = ocsfparquet.Open(bytes.NewReader(bad), int64(len(bad)), "bad.parquet")
	if err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	var errs []*decode.Error
	if err := f.Each(func(ev *event.Event) error { evs = append(evs, *ev); return nil }, func(e *decode.Error) { errs = append(errs, e) }); err != nil {
		t.Fatal(err)
	}
	if len(errs) == 0 || errs[0].File != "bad.parquet" || len(evs) == 0 || len(evs) >= 5 {
		t.Errorf("%d events, errors %v", len(evs), errs)
	}
}

// TestSourceVersion1: Security Lake's first source version (OCSF
// 1.0.0-rc.2) names the actor differently: uid is the principal id, uuid
// the ARN, account_uid flat, session.mfa; CloudTrail calls are class 3005.
func TestSourceVersion1(t *testing.T) {
	type user struct {
		Type          *string `parquet:"type,optional"`
		UID           *string `parquet:"uid,optional"`
		UUID          *string `parquet:"uuid,optional"`
		AccountUID    *string `parquet:"account_uid,optional"`
		CredentialUID *string `parquet:"credential_uid,optional"`
	}
	type session struct {
		MFA    *bool   `parquet:"mfa,optional"`
		Issuer *string `parquet:"issuer,optional"`
	}
	type actor struct {
		User    *user    `parquet:"user,optional"`
		Session *session `parquet:"session,optional"`
	}
	type cloud struct {
		Region     *string `parquet:"region,optional"`
		AccountUID *string `parquet:"account_uid,optional"`
	}
	type rec struct {
		Metadata    *ocsftest.Metadata `parquet:"metadata,optional"`
		Time        int64              `parquet:"time"`
		Cloud       *cloud             `parquet:"cloud,optional"`
		API         *ocsftest.API      `parquet:"api,optional"`
		Actor       *actor             `parquet:"actor,optional"`
		SrcEndpoint *ocsftest.Endpoint `parquet:"src_endpoint,optional"`
		ClassUID    int32              `parquet:"class_uid"`
		Unmapped    *string            `parquet:"unmapped,optional"` // JSON text here
	}
	S := ocsftest.S
	mfa := true
	data := encode(t, []rec{{
		Metadata: &ocsftest.Metadata{UID: S("v1-1"), Product: &ocsftest.Product{Name: S("CloudTrail"), Version: S("1.08")}},
		Time:     ocsftest.T0.UnixMilli(), ClassUID: 3005,
		Cloud: &cloud{Region: S("us-east-1"), AccountUID: S("444455556666")},
		API: &ocsftest.API{Operation: S("StopLogging"), Service: &ocsftest.Service{Name: S("cloudtrail.amazonaws.com")},
			Request: &ocsftest.Request{Data: S(`{"name":"org-trail"}`)}},
		Actor: &actor{User: &user{Type: S("AssumedRole"), UID: S("AROAEXAMPLEV1:ops"), UUID: S("arn:aws:sts::444455556666:assumed-role/ops/ops"),
			AccountUID: S("444455556666"), CredentialUID: S("ASIAEXAMPLEV1000001")},
			Session: &session{MFA: &mfa, Issuer: S("arn:aws:iam::444455556666:role/ops")}},
		SrcEndpoint: &ocsftest.Endpoint{IP: S("192.0.2.44")},
		Unmapped:    S(`{"eventType":"AwsApiCall","recipientAccountId":"444455556666","additionalEventData":{"SignatureVersion":"SigV4"}}`),
	}}, 0)
	evs, bad := decodeAll(t, data)
	if len(bad) > 0 || len(evs) != 1 {
		t.Fatalf("%d events, bad %v", len(evs), bad)
	}
	e := evs[0]
	if a := e.Actor; a.ARN != "arn:aws:sts::444455556666:assumed-role/ops/ops" || a.PrincipalID != "AROAEXAMPLEV1:ops" || a.Account != "444455556666" ||
		a.AccessKeyID != "ASIAEXAMPLEV1000001" || a.MFA != event.True || a.SessionIssuerARN != "arn:aws:iam::444455556666:role/ops" {
		t.Errorf("actor %+v", a)
	}
	if e.Source != event.SourceCloudTrail || e.API.Operation != "StopLogging" || e.Cloud.Account != "444455556666" || e.Cloud.Region != "us-east-1" ||
		jsonscan.GetString(e.Raw.Data, "requestParameters.name") != "org-trail" || jsonscan.GetString(e.Raw.Data, "eventType") != "AwsApiCall" ||
		jsonscan.GetString(e.Raw.Data, "additionalEventData.SignatureVersion") != "SigV4" {
		t.Errorf("event %+v\n%s", e, e.Raw.Data)
	}
}

// TestGuardDutyThroughSecurityHub: a GuardDuty finding Security Hub
// passed on is skipped as its ASFF copy is (Parapet reads GuardDuty
// natively), reported as skipped, not as bad input.
func TestGuardDutyThroughSecurityHub(t *testing.T) {
	f := ocsftest.Findings()[0]
	f.Unmapped = map[string]string{"ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/guardduty", "GeneratorId": "arn:aws:guardduty:eu-west-1:111122223333:detector/example"}
	evs, bad := decodeAll(t, encode(t, []ocsftest.SecurityFinding{f}, 0))
	if len(evs) != 0 || len(bad) != 1 || !errors.Is(bad[0], asff.ErrSkipped) || !strings.Contains(bad[0].Error(), "row 0") {
		t.Errorf("events %d, errors %v", len(evs), bad)
	}
}
