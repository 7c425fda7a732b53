// Package event defines Parapet's normalized event: one shape for every
// source (CloudTrail, VPC Flow Logs, GuardDuty, …), aligned with OCSF 1.8,
// that keeps the native record so rules written against native field names
// (requestParameters.bucketName) still work.
//
// The package is a leaf: it imports only the standard library and the JSON
// scanner, so every stage can depend on it.
package event

import (
	"net/netip"
	"strings"
	"time"
)

// Class is an OCSF event class uid.
type Class uint16

// The OCSF classes Parapet produces.
const (
	ClassUnknown          Class = 0
	ClassAccountChange    Class = 3001
	ClassAuthentication   Class = 3002
	ClassNetworkActivity  Class = 4001
	ClassDetectionFinding Class = 2004
	ClassAPIActivity      Class = 6003
)

// Name is the OCSF caption of the class.
func (c Class) Name() string {
	switch c {
	case ClassAccountChange:
		return "Account Change"
	case ClassAuthentication:
		return "Authentication"
	case ClassNetworkActivity:
		return "Network Activity"
	case ClassDetectionFinding:
		return "Detection Finding"
	case ClassAPIActivity:
		return "API Activity"
	}
	return "Unknown"
}

// Category is the OCSF category uid of the class.
func (c Class) Category() int {
	return int(c) / 1000
}

// TypeUID is the OCSF type uid: class_uid * 100 + activity_id.
func (e *Event) TypeUID() int {
	return int(e.Class)*100 + int(e.Activity)
}

// Source names the telemetry an event came from, as Sigma's logsource
// does: product aws, service cloudtrail.
type Source uint8

// The sources Parapet decodes.
const (
	SourceUnknown Source = iota
	SourceCloudTrail
	SourceVPCFlow
	SourceGuardDuty
	SourceAzureActivity // Azure Activity Log
	SourceGCPAudit      // Google Cloud audit logs
	SourceSecurityHub   // AWS Security Hub findings (ASFF)
)

// Product is the Sigma logsource product of the source.
func (s Source) Product() string {
	switch s {
	case SourceUnknown:
		return ""
	case SourceAzureActivity:
		return "azure"
	case SourceGCPAudit:
		return "gcp"
	}
	return "aws"
}

// Service is the Sigma logsource service of the source.
func (s Source) Service() string {
	switch s {
	case SourceCloudTrail:
		return "cloudtrail"
	case SourceVPCFlow:
		return "vpcflow"
	case SourceGuardDuty:
		return "guardduty"
	case SourceAzureActivity:
		return "activitylogs"
	case SourceGCPAudit:
		return "gcp.audit"
	case SourceSecurityHub:
		return "securityhub"
	}
	return ""
}

// Sources lists every source Parapet decodes.
var Sources = []Source{SourceCloudTrail, SourceVPCFlow, SourceGuardDuty, SourceAzureActivity, SourceGCPAudit, SourceSecurityHub}

// Tri is a boolean that may be unknown.
type Tri int8

// Tri values.
const (
	Unknown Tri = iota
	True
	False
)

// TriOf converts b.
func TriOf(b bool) Tri {
	if b {
		return True
	}
	return False
}

// Outcome is whether the recorded action succeeded.
type Outcome uint8

// Outcomes, numbered as OCSF status_id.
const (
	OutcomeUnknown Outcome = 0
	OutcomeSuccess Outcome = 1
	OutcomeFailure Outcome = 2
)

func (o Outcome) String() string {
	switch o {
	case OutcomeSuccess:
		return "success"
	case OutcomeFailure:
		return "failure"
	}
	return "unknown"
}

// Event is one normalized record. Strings may share memory with Raw; an
// Event must be treated as read-only once decoded.
type Event struct {
	// ID is the native record id (CloudTrail eventID, GuardDuty finding id);
	// sources without one get a deterministic content hash.
	ID       string
	Time     time.Time
	Source   Source
	Class    Class
	Activity uint8 // OCSF activity_id of the class
	// Type is the native record type (CloudTrail eventType, flow log-status).
	Type      string
	Cloud     Cloud
	Actor     Actor
	Src       Endpoint
	Dst       Endpoint
	API       API
	Outcome   Outcome
	Resources []Resource
	Network   *Network // flow records
	Finding   *Finding // external findings (GuardDuty)
	// Facts are what enrichment derived from the request (a policy's
	// exposure, what a call shares, an ingress rule's reach); nil for
	// most events. Rules read them as parapet.* fields.
	Facts  *Facts
	Origin Origin
	Raw    Raw
}

// Facts are enrichment's reading of a request's parameters.
type Facts struct {
	// Policy: a policy document the request sets. PolicyPublic and
	// PolicyAllowsAll are "true" or "false" when there is one.
	PolicyPublic, PolicyAllowsAll string
	PolicyForeign                 []string // accounts the policy grants that are not the organization's
	// Share: what a share call (AMI, snapshot, key grant, Lambda
	// permission, resource share, document permission) grants to.
	ShareAccounts []string
	ShareForeign  []string // of those, the accounts not the organization's
	SharePublic   string   // "true" when shared with everyone
	// Ingress: an inbound rule a request adds or modifies.
	IngressInternet   string   // "true" when any rule opens to a /0 (IPv4 or IPv6)
	IngressPorts      []string // sensitive ports an internet-open rule covers ("22", "3389", …, "all")
	IngressAllTraffic string   // "true" when an internet-open rule covers every port or protocol
	// Items counts what a bulk request names (parameters, secrets, keys,
	// instances); 0 when not a bulk request.
	Items int
	// Names lists the secrets and parameters a read names (secret ids,
	// parameter names, a path read by path, a batch's filters), so that a
	// correlation counts distinct items, not calls.
	Names []string
}

// Cloud locates the event.
type Cloud struct {
	Provider  string // "aws"
	Partition string // "aws", "aws-cn", "aws-us-gov"
	Account   string
	Region    string
	Zone      string
}

// Actor is who did it.
type Actor struct {
	// Type is the native identity type: IAMUser, AssumedRole, Root,
	// FederatedUser, AWSService, AWSAccount, IdentityCenterUser, Unknown.
	Type        string
	ARN         string
	PrincipalID string
	Account     string
	// UserName is the IAM user name, or the role name for assumed roles.
	UserName    string
	AccessKeyID string
	// SessionIssuerARN is the role (or user) that issued temporary
	// credentials; SessionIssuerType its type.
	SessionIssuerARN  string
	SessionIssuerType string
	SessionName       string
	SessionCreated    time.Time
	MFA               Tri
	// InvokedBy is the AWS service that made the call on the actor's behalf.
	InvokedBy string
}

// Identity classes (parapet.identity.class): whose call it is.
const (
	ClassPerson     = "person"        // a customer principal: user, role session, federated identity
	ClassRoot       = "root"          // the account root user
	ClassService    = "service"       // an AWS service acting as itself (log delivery, Config, a service-linked role)
	ClassOnBehalf   = "aws_on_behalf" // an AWS service calling for a principal (invokedBy), not the principal at the keyboard
	ClassUnknownWho = "unknown"
)

// Class says whose call it is: AWS service principals and calls AWS makes
// on a principal's behalf are not people.
func (a *Actor) Class() string {
	switch a.Type {
	case "":
		return ""
	case "AWSService":
		return ClassService
	case "Root":
		if a.InvokedBy != "" && !consoleInvoker(a.InvokedBy) {
			return ClassOnBehalf
		}
		return ClassRoot
	case "Unknown", "AWSAccount":
		return ClassUnknownWho
	}
	if strings.Contains(a.SessionIssuerARN, ":role/aws-service-role/") || strings.Contains(a.ARN, ":assumed-role/AWSServiceRole") {
		return ClassService
	}
	if a.InvokedBy != "" && !consoleInvoker(a.InvokedBy) {
		return ClassOnBehalf
	}
	return ClassPerson
}

// consoleInvoker: the console and sign-in carry the person's own actions.
func consoleInvoker(by string) bool {
	return by == "signin.amazonaws.com" || by == "console.amazonaws.com"
}

// Endpoint is one end of a call or flow.
type Endpoint struct {
	IP        netip.Addr
	Port      uint16
	Domain    string // a host or service name where no IP was recorded
	UserAgent string
	// For flow records: the interface, instance, VPC and subnet.
	InterfaceID string
	InstanceID  string
	VPCID       string
	SubnetID    string
	// AWSService is the AWS service the address belongs to (flow logs
	// pkt-src-aws-service / pkt-dst-aws-service).
	AWSService string
	// Provider is set by enrichment: the cloud provider whose published
	// address ranges hold IP (aws, gcp, azure), or "none" when ranges were
	// loaded and none holds this public address; empty when not looked up.
	// Rules read it as parapet.src_provider and parapet.dst_provider.
	Provider string
	// Geo is set by enrichment from MaxMind-format databases.
	Geo Geo
}

// Geo is where an address is, as a geolocation database says.
type Geo struct {
	Country  string // ISO 3166-1 alpha-2
	City     string
	Lat, Lon float32
	Located  bool   // Lat and Lon are known
	RadiusKm uint16 // the database's accuracy radius
	ASN      uint32
	ASOrg    string
}

// API is the call made.
type API struct {
	Service      string // eventSource, e.g. s3.amazonaws.com
	Operation    string // eventName
	Version      string
	RequestID    string
	ReadOnly     bool
	ErrorCode    string
	ErrorMessage string
}

// Resource is something the event touched.
type Resource struct {
	Type    string // CloudFormation-style type: AWS::S3::Bucket
	UID     string // the ARN where known
	Name    string
	Account string
}

// Network holds what a flow record says about the traffic.
type Network struct {
	Protocol    uint8 // IANA protocol number
	Bytes       int64
	Packets     int64
	Start, End  time.Time
	Action      string // ACCEPT or REJECT
	LogStatus   string // OK, NODATA, SKIPDATA
	Direction   string // ingress or egress, when recorded
	TCPFlags    int
	TrafficPath int
	AddrType    string // IPv4, IPv6, EFA
	// PktSrc and PktDst are the packet-level addresses when they differ
	// from the interface-level srcaddr and dstaddr.
	PktSrc, PktDst  netip.Addr
	SublocationType string
	SublocationID   string
	Version         int
}

// Finding is an external detector's verdict carried by the event.
type Finding struct {
	UID         string
	ARN         string
	Type        string // e.g. Recon:IAMUser/MaliciousIPCaller
	Title       string
	Description string
	Severity    float64 // the detector's own scale (GuardDuty 1–10)
	// Level is the severity on Parapet's scale: informational, low,
	// medium, high, critical.
	Level     string
	Count     int64
	FirstSeen time.Time
	LastSeen  time.Time
	Archived  bool
	Product   string
	// Types are the finding's type paths in ASFF's taxonomy
	// (namespace/category/classifier, e.g. TTPs/Initial Access/…); empty
	// for GuardDuty's own findings, whose Type says it.
	Types []string
	// Workflow is the reviewer's status of a Security Hub finding: NEW,
	// NOTIFIED, RESOLVED or SUPPRESSED.
	Workflow string
}

// Origin is where the record was read from.
type Origin struct {
	File   string
	Offset int64 // byte offset of the record in the (uncompressed) input
}
