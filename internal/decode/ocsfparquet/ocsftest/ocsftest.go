// Package ocsftest writes Parquet files shaped as AWS Security Lake writes
// its OCSF sources, for tests: Go structs mirroring the nested OCSF 1.1
// schema of Security Lake's source version 2 (CloudTrail management events
// as API Activity, Authentication and Account Change; VPC Flow Logs as
// Network Activity; Security Hub findings as Security Finding), and the
// folder layout aws/<SOURCE>/2.0/region=…/accountId=…/eventDay=…/. The
// records are written by the tests from the documented shapes, not copied
// from any deployment.
package ocsftest

import (
	"bytes"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// S is an optional string.
func S(s string) *string { return &s }

// Metadata is OCSF metadata.
type Metadata struct {
	Product   *Product `parquet:"product,optional"`
	UID       *string  `parquet:"uid,optional"`
	Profiles  []string `parquet:"profiles,list,optional"`
	Version   *string  `parquet:"version,optional"`
	EventCode *string  `parquet:"event_code,optional"`
}

// Product names what logged the event.
type Product struct {
	Version    *string  `parquet:"version,optional"`
	Name       *string  `parquet:"name,optional"`
	VendorName *string  `parquet:"vendor_name,optional"`
	UID        *string  `parquet:"uid,optional"`
	Feature    *Feature `parquet:"feature,optional"`
}

// Feature is the product's feature.
type Feature struct {
	UID  *string `parquet:"uid,optional"`
	Name *string `parquet:"name,optional"`
}

// Account is an OCSF account.
type Account struct {
	UID *string `parquet:"uid,optional"`
}

// Cloud is where the event happened.
type Cloud struct {
	Region   *string  `parquet:"region,optional"`
	Provider *string  `parquet:"provider,optional"`
	Zone     *string  `parquet:"zone,optional"`
	Account  *Account `parquet:"account,optional"`
}

// API is the call.
type API struct {
	Response  *Response `parquet:"response,optional"`
	Operation *string   `parquet:"operation,optional"`
	Version   *string   `parquet:"version,optional"`
	Service   *Service  `parquet:"service,optional"`
	Request   *Request  `parquet:"request,optional"`
}

// Response is a call's response.
type Response struct {
	Error   *string `parquet:"error,optional"`
	Message *string `parquet:"message,optional"`
	Data    *string `parquet:"data,optional"` // JSON text
}

// Request is a call's request.
type Request struct {
	Data *string `parquet:"data,optional"` // JSON text
	UID  *string `parquet:"uid,optional"`
}

// Service names the API's service.
type Service struct {
	Name *string `parquet:"name,optional"`
}

// Owner is a resource's owner.
type Owner struct {
	Account *Account `parquet:"account,optional"`
}

// Resource is a resource of a call.
type Resource struct {
	UID   *string `parquet:"uid,optional"`
	Owner *Owner  `parquet:"owner,optional"`
	Type  *string `parquet:"type,optional"`
}

// User is the actor's user.
type User struct {
	Type          *string  `parquet:"type,optional"`
	Name          *string  `parquet:"name,optional"`
	UID           *string  `parquet:"uid,optional"`     // the ARN
	UIDAlt        *string  `parquet:"uid_alt,optional"` // the principal id
	Account       *Account `parquet:"account,optional"`
	CredentialUID *string  `parquet:"credential_uid,optional"`
}

// Session is the actor's session.
type Session struct {
	CreatedTime *int64  `parquet:"created_time,optional,timestamp(millisecond)"`
	IsMFA       *bool   `parquet:"is_mfa,optional"`
	Issuer      *string `parquet:"issuer,optional"`
}

// IdP is an identity provider.
type IdP struct {
	Name *string `parquet:"name,optional"`
}

// Actor is who acted.
type Actor struct {
	User      *User    `parquet:"user,optional"`
	Session   *Session `parquet:"session,optional"`
	InvokedBy *string  `parquet:"invoked_by,optional"`
	IdP       *IdP     `parquet:"idp,optional"`
}

// HTTPRequest holds the user agent.
type HTTPRequest struct {
	UserAgent *string `parquet:"user_agent,optional"`
}

// Endpoint is a network endpoint.
type Endpoint struct {
	UID          *string `parquet:"uid,optional"`
	IP           *string `parquet:"ip,optional"`
	Domain       *string `parquet:"domain,optional"`
	Port         *int32  `parquet:"port,optional"`
	InterfaceUID *string `parquet:"interface_uid,optional"`
	VPCUID       *string `parquet:"vpc_uid,optional"`
	SubnetUID    *string `parquet:"subnet_uid,optional"`
	InstanceUID  *string `parquet:"instance_uid,optional"`
}

// Observable is an OCSF observable.
type Observable struct {
	Name   *string `parquet:"name,optional"`
	Value  *string `parquet:"value,optional"`
	Type   *string `parquet:"type,optional"`
	TypeID *int32  `parquet:"type_id,optional"`
}

// APIActivity is a CloudTrail management event as Security Lake stores it
// (API Activity 6003, and with another class_uid Authentication 3002 or
// Account Change 3001, which share these columns).
type APIActivity struct {
	Metadata     *Metadata         `parquet:"metadata,optional"`
	Time         int64             `parquet:"time"` // ms since the epoch
	Cloud        *Cloud            `parquet:"cloud,optional"`
	API          *API              `parquet:"api,optional"`
	Resources    []Resource        `parquet:"resources,list,optional"`
	Actor        *Actor            `parquet:"actor,optional"`
	HTTPRequest  *HTTPRequest      `parquet:"http_request,optional"`
	SrcEndpoint  *Endpoint         `parquet:"src_endpoint,optional"`
	ClassName    *string           `parquet:"class_name,optional"`
	ClassUID     int32             `parquet:"class_uid"`
	CategoryName *string           `parquet:"category_name,optional"`
	CategoryUID  *int32            `parquet:"category_uid,optional"`
	SeverityID   *int32            `parquet:"severity_id,optional"`
	Severity     *string           `parquet:"severity,optional"`
	Status       *string           `parquet:"status,optional"`
	StatusID     *int32            `parquet:"status_id,optional"`
	IsMFA        *bool             `parquet:"is_mfa,optional"`
	ActivityName *string           `parquet:"activity_name,optional"`
	ActivityID   *int32            `parquet:"activity_id,optional"`
	TypeUID      *int64            `parquet:"type_uid,optional"`
	Observables  []Observable      `parquet:"observables,list,optional"`
	Unmapped     map[string]string `parquet:"unmapped,optional"`
	AccountID    *string           `parquet:"accountid,optional"`
	Region       *string           `parquet:"region,optional"`
}

// ConnectionInfo is a flow's connection.
type ConnectionInfo struct {
	ProtocolNum *int32  `parquet:"protocol_num,optional"`
	TCPFlags    *int32  `parquet:"tcp_flags,optional"`
	ProtocolVer *string `parquet:"protocol_ver,optional"`
	Direction   *string `parquet:"direction,optional"`
	DirectionID *int32  `parquet:"direction_id,optional"`
}

// Traffic counts a flow's bytes and packets.
type Traffic struct {
	Bytes   *int64 `parquet:"bytes,optional"`
	Packets *int64 `parquet:"packets,optional"`
}

// NetworkActivity is a VPC flow log record as Security Lake stores it
// (4001).
type NetworkActivity struct {
	Metadata       *Metadata       `parquet:"metadata,optional"`
	Cloud          *Cloud          `parquet:"cloud,optional"`
	SrcEndpoint    *Endpoint       `parquet:"src_endpoint,optional"`
	DstEndpoint    *Endpoint       `parquet:"dst_endpoint,optional"`
	ConnectionInfo *ConnectionInfo `parquet:"connection_info,optional"`
	Traffic        *Traffic        `parquet:"traffic,optional"`
	Time           int64           `parquet:"time,timestamp(millisecond)"`
	StartTime      *int64          `parquet:"start_time,optional,timestamp(millisecond)"`
	EndTime        *int64          `parquet:"end_time,optional,timestamp(millisecond)"`
	StatusCode     *string         `parquet:"status_code,optional"`
	Action         *string         `parquet:"action,optional"`
	ActionID       *int32          `parquet:"action_id,optional"`
	Disposition    *string         `parquet:"disposition,optional"`
	ClassUID       int32           `parquet:"class_uid"`
	ActivityID     *int32          `parquet:"activity_id,optional"`
	SeverityID     *int32          `parquet:"severity_id,optional"`
	AccountID      *string         `parquet:"accountid,optional"`
	Region         *string         `parquet:"region,optional"`
}

// FindingInfo describes a finding.
type FindingInfo struct {
	UID           *string  `parquet:"uid,optional"`
	Title         *string  `parquet:"title,optional"`
	Desc          *string  `parquet:"desc,optional"`
	Types         []string `parquet:"types,list,optional"`
	CreatedTime   *int64   `parquet:"created_time,optional,timestamp(millisecond)"`
	ModifiedTime  *int64   `parquet:"modified_time,optional,timestamp(millisecond)"`
	FirstSeenTime *int64   `parquet:"first_seen_time,optional,timestamp(millisecond)"`
	LastSeenTime  *int64   `parquet:"last_seen_time,optional,timestamp(millisecond)"`
}

// FindingResource is a resource a finding is about.
type FindingResource struct {
	UID    *string `parquet:"uid,optional"`
	Type   *string `parquet:"type,optional"`
	Region *string `parquet:"region,optional"`
}

// SecurityFinding is a Security Hub finding as Security Lake stores it
// (Security Finding 2001).
type SecurityFinding struct {
	Metadata    *Metadata         `parquet:"metadata,optional"`
	Time        int64             `parquet:"time,timestamp(millisecond)"`
	Cloud       *Cloud            `parquet:"cloud,optional"`
	FindingInfo *FindingInfo      `parquet:"finding_info,optional"`
	Resources   []FindingResource `parquet:"resources,list,optional"`
	Severity    *string           `parquet:"severity,optional"`
	SeverityID  *int32            `parquet:"severity_id,optional"`
	Status      *string           `parquet:"status,optional"`
	State       *string           `parquet:"state,optional"`
	ClassUID    int32             `parquet:"class_uid"`
	ActivityID  *int32            `parquet:"activity_id,optional"`
	Unmapped    map[string]string `parquet:"unmapped,optional"`
	AccountID   *string           `parquet:"accountid,optional"`
	Region      *string           `parquet:"region,optional"`
}

// Encode writes rows as a Parquet file, zstd-compressed, in row groups of
// groupRows rows (0: one).
func Encode[T any](rows []T, groupRows int) ([]byte, error) {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf, parquet.Compression(&zstd.Codec{}))
	if groupRows <= 0 {
		groupRows = len(rows)
	}
	for len(rows) > 0 {
		n := min(groupRows, len(rows))
		if _, err := w.Write(rows[:n]); err != nil {
			return nil, err
		}
		if err := w.Flush(); err != nil {
			return nil, err
		}
		rows = rows[n:]
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Key is where Security Lake puts a source's file: relative to the bucket
// (or folder), e.g. aws/CLOUD_TRAIL_MGMT/2.0/region=eu-west-1/accountId=…/eventDay=20261103/name.
func Key(source, region, account, day, name string) string {
	return "aws/" + source + "/2.0/region=" + region + "/accountId=" + account + "/eventDay=" + day + "/" + name
}

// WriteFile writes data at root/key.
func WriteFile(root, key string, data []byte) error {
	p := filepath.Join(root, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}
