package ocsftest

import "time"

// The account, region and day of the samples.
const (
	Acct   = "111122223333"
	Region = "eu-west-1"
	Day    = "20261103"
)

// T0 is the time of the first sample.
var T0 = time.Date(2026, 11, 3, 9, 30, 0, 0, time.UTC)

func i32(n int32) *int32 { return &n }
func i64(n int64) *int64 { return &n }
func b(v bool) *bool     { return &v }

func ctMeta(id, eventType string) *Metadata {
	return &Metadata{UID: S(id), Version: S("1.1.0"), EventCode: S(eventType), Profiles: []string{"cloud", "datetime"},
		Product: &Product{Name: S("CloudTrail"), VendorName: S("AWS"), Version: S("1.09"), Feature: &Feature{Name: S("Management")}}}
}

// call is an IAM user's API call.
func call(id string, at time.Time, service, op, request, errCode string) APIActivity {
	status, statusID := "Success", int32(1)
	var resp *Response
	if errCode != "" {
		status, statusID = "Failure", 2
		resp = &Response{Error: S(errCode), Message: S("User is not authorized to perform this operation")}
	}
	a := APIActivity{
		Metadata: ctMeta(id, "AwsApiCall"),
		Time:     at.UnixMilli(),
		Cloud:    &Cloud{Region: S(Region), Provider: S("AWS"), Account: &Account{UID: S(Acct)}},
		API: &API{Operation: S(op), Service: &Service{Name: S(service)}, Response: resp,
			Request: &Request{UID: S("req-" + id)}},
		Actor: &Actor{User: &User{Type: S("IAMUser"), Name: S("alice"), UID: S("arn:aws:iam::" + Acct + ":user/alice"),
			UIDAlt: S("AIDAEXAMPLEALICE0001"), Account: &Account{UID: S(Acct)}, CredentialUID: S("AKIAEXAMPLEALICE0001")}},
		HTTPRequest:  &HTTPRequest{UserAgent: S("aws-cli/2.17.0")},
		SrcEndpoint:  &Endpoint{IP: S("203.0.113.10")},
		ClassName:    S("API Activity"),
		ClassUID:     6003,
		CategoryName: S("Application Activity"),
		CategoryUID:  i32(6),
		SeverityID:   i32(1),
		Severity:     S("Informational"),
		Status:       S(status),
		StatusID:     i32(statusID),
		ActivityName: S("Update"),
		ActivityID:   i32(3),
		TypeUID:      i64(600303),
		Observables:  []Observable{{Name: S("src_endpoint.ip"), Value: S("203.0.113.10"), Type: S("IP Address"), TypeID: i32(2)}},
		Unmapped:     map[string]string{"readOnly": "false", "managementEvent": "true", "recipientAccountId": Acct, "tlsDetails": `{"tlsVersion":"TLSv1.3","clientProvidedHostHeader":"iam.amazonaws.com"}`},
		AccountID:    S(Acct),
		Region:       S(Region),
	}
	if request != "" {
		a.API.Request.Data = S(request)
	}
	return a
}

// CloudTrail are CloudTrail management events as Security Lake stores
// them: an AdministratorAccess policy attached to a user (what the
// builtin rule "AdministratorAccess Policy Attached" is for), two near
// misses (another policy; the same call denied), a role session's call and
// a console sign-in without MFA.
func CloudTrail() []APIActivity {
	admin := call("ct-attach-admin", T0, "iam.amazonaws.com", "AttachUserPolicy",
		`{"userName":"temp-admin","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`, "")
	admin.Resources = []Resource{{UID: S("arn:aws:iam::" + Acct + ":user/temp-admin"), Type: S("AWS::IAM::User"), Owner: &Owner{Account: &Account{UID: S(Acct)}}}}
	readOnly := call("ct-attach-readonly", T0.Add(time.Minute), "iam.amazonaws.com", "AttachUserPolicy",
		`{"userName":"auditor","policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}`, "")
	denied := call("ct-attach-denied", T0.Add(2*time.Minute), "iam.amazonaws.com", "AttachUserPolicy",
		`{"userName":"temp-admin","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`, "AccessDenied")

	role := call("ct-role-call", T0.Add(3*time.Minute), "ec2.amazonaws.com", "DescribeInstances", `{"maxResults":50}`, "")
	role.ActivityName, role.ActivityID = S("Read"), i32(2)
	role.Unmapped["readOnly"] = "true"
	created := T0.Add(-time.Hour).UnixMilli()
	role.Actor = &Actor{
		User: &User{Type: S("AssumedRole"), Name: S("deploy"), UID: S("arn:aws:sts::" + Acct + ":assumed-role/deploy/ci-run"),
			UIDAlt: S("AROAEXAMPLEDEPLOY0001:ci-run"), Account: &Account{UID: S(Acct)}, CredentialUID: S("ASIAEXAMPLEDEPLOY001")},
		Session: &Session{CreatedTime: &created, IsMFA: b(false), Issuer: S("arn:aws:iam::" + Acct + ":role/deploy")},
	}

	login := call("ct-console-login", T0.Add(4*time.Minute), "signin.amazonaws.com", "ConsoleLogin", "", "")
	login.Metadata.EventCode = S("AwsConsoleSignIn")
	login.ClassName, login.ClassUID, login.CategoryName, login.CategoryUID = S("Authentication"), 3002, S("Identity & Access Management"), i32(3)
	login.ActivityName, login.ActivityID, login.TypeUID = S("Logon"), i32(1), i64(300201)
	login.API.Response = &Response{Data: S(`{"ConsoleLogin":"Success"}`)}
	login.Actor.User.CredentialUID = nil
	login.IsMFA = b(false)
	login.Unmapped = map[string]string{"additionalEventData.LoginTo": "https://console.aws.amazon.com/console/home", "additionalEventData.MobileVersion": "No"}
	return []APIActivity{admin, readOnly, denied, role, login}
}

// Flows are VPC flow log records as Security Lake stores them: SSH
// accepted from an internet address (what the builtin rule "SSH Or RDP
// Accepted From The Internet" is for) and, as a near miss, from a private
// one.
func Flows() []NetworkActivity {
	flow := func(src string, at time.Time) NetworkActivity {
		start, end := at.Add(-time.Minute).UnixMilli(), at.UnixMilli()
		return NetworkActivity{
			Metadata:       &Metadata{Version: S("1.1.0"), Product: &Product{Name: S("Amazon VPC"), VendorName: S("AWS"), Version: S("5"), Feature: &Feature{Name: S("Flowlogs")}}},
			Cloud:          &Cloud{Region: S(Region), Provider: S("AWS"), Zone: S("euw1-az1"), Account: &Account{UID: S(Acct)}},
			SrcEndpoint:    &Endpoint{IP: S(src), Port: i32(51000), InterfaceUID: S("eni-0a1b2c3d4e5f60718"), VPCUID: S("vpc-0example"), SubnetUID: S("subnet-0example"), InstanceUID: S("i-0example")},
			DstEndpoint:    &Endpoint{IP: S("10.0.1.5"), Port: i32(22)},
			ConnectionInfo: &ConnectionInfo{ProtocolNum: i32(6), TCPFlags: i32(2), ProtocolVer: S("IPv4"), Direction: S("Inbound"), DirectionID: i32(1)},
			Traffic:        &Traffic{Bytes: i64(4200), Packets: i64(12)},
			Time:           end,
			StartTime:      &start,
			EndTime:        &end,
			StatusCode:     S("OK"),
			Action:         S("Allowed"),
			ActionID:       i32(1),
			Disposition:    S("Allowed"),
			ClassUID:       4001,
			ActivityID:     i32(6),
			SeverityID:     i32(1),
			AccountID:      S(Acct),
			Region:         S(Region),
		}
	}
	return []NetworkActivity{flow("198.51.100.20", T0.Add(5*time.Minute)), flow("10.9.0.4", T0.Add(6*time.Minute))}
}

// Findings are Security Hub findings as Security Lake stores them.
func Findings() []SecurityFinding {
	created, updated := T0.Add(-24*time.Hour).UnixMilli(), T0.Add(7*time.Minute).UnixMilli()
	id := "arn:aws:securityhub:" + Region + ":" + Acct + ":security-control/S3.8/finding/0b1e2c3d-0000-4000-8000-000000000001"
	return []SecurityFinding{{
		Metadata: &Metadata{UID: S(id), Version: S("1.1.0"), Product: &Product{Name: S("Security Hub"), VendorName: S("AWS"),
			UID: S("arn:aws:securityhub:" + Region + "::product/aws/securityhub"), Feature: &Feature{UID: S("security-control/S3.8"), Name: S("Security Hub")}}},
		Time:  updated,
		Cloud: &Cloud{Region: S(Region), Provider: S("AWS"), Account: &Account{UID: S(Acct)}},
		FindingInfo: &FindingInfo{UID: S(id), Title: S("S3 general purpose buckets should block public access"),
			Desc:  S("This control checks whether an S3 bucket has bucket-level Block Public Access settings."),
			Types: []string{"Software and Configuration Checks/Industry and Regulatory Standards"}, CreatedTime: &created, ModifiedTime: &updated},
		Resources:  []FindingResource{{UID: S("arn:aws:s3:::reports-" + Acct), Type: S("AwsS3Bucket"), Region: S(Region)}},
		Severity:   S("High"),
		SeverityID: i32(4),
		Status:     S("New"),
		ClassUID:   2001,
		ActivityID: i32(1),
		Unmapped:   map[string]string{"GeneratorId": "security-control/S3.8", "Compliance.Status": "FAILED"},
		AccountID:  S(Acct),
		Region:     S(Region),
	}}
}

// WriteLake writes the samples under root as Security Lake lays them out,
// and returns the keys written.
func WriteLake(root string) ([]string, error) {
	ct, err := Encode(CloudTrail(), 2)
	if err != nil {
		return nil, err
	}
	fl, err := Encode(Flows(), 0)
	if err != nil {
		return nil, err
	}
	sh, err := Encode(Findings(), 0)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		Key("CLOUD_TRAIL_MGMT", Region, Acct, Day, "5c1c3a7e-ct.gz.parquet"): ct,
		Key("VPC_FLOW", Region, Acct, Day, "9d2e4b1f-flow.gz.parquet"):       fl,
		Key("SH_FINDINGS", Region, Acct, Day, "1a7f0c3d-sh.gz.parquet"):      sh,
	}
	var keys []string
	for k, data := range files {
		if err := WriteFile(root, k, data); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}
