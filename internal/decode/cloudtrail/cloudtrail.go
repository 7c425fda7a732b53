// Package cloudtrail decodes AWS CloudTrail records into normalized events.
//
// Decode reads one record (a JSON object) in a single validating pass,
// without building a map: strings point into the record, which the event
// keeps as its raw form. Finding records in files, EventBridge envelopes and
// CloudWatch Logs exports is the framer's and the router's work
// (internal/decode, internal/ingest).
package cloudtrail

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/decode"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/jsonscan"
)

// Errors callers branch on.
var (
	// ErrNoEventTime: the object has no eventTime, so it is no CloudTrail record.
	ErrNoEventTime = errors.New("not a CloudTrail record: no eventTime")
	// ErrNoEventName: neither an API call nor an Insight.
	ErrNoEventName = errors.New("not a CloudTrail record: no eventName")
	// ErrS3Notification: an S3 event notification (eventSource "aws:s3")
	// looks like a record but only points at a new log file.
	ErrS3Notification = errors.New("an S3 event notification, not a CloudTrail record (it announces a log file: read the file, or use an S3/SQS source)")
)

type span struct{ s, e int }

func (p span) ok() bool { return p.e > p.s }

// record holds what the top-level pass saw and later steps still need.
type record struct {
	req, resp, addl, resources, insight span
	readOnly                            event.Tri
	eventCategory                       string
	// keys filters the keys seen (event.KeyFilter); idUnsure: some part
	// of userIdentity was not read key by key.
	keys     event.KeyFilter
	idUnsure bool
}

// Decode normalizes the CloudTrail record rec into ev. ev's strings share
// memory with rec, which must not change afterwards.
func Decode(rec []byte, ev *event.Event) error {
	*ev = event.Event{
		Source: event.SourceCloudTrail,
		Raw:    event.Raw{Format: event.RawJSON, Data: rec},
		Cloud:  event.Cloud{Provider: "aws"},
	}
	var r record
	if err := r.top(rec, ev); err != nil {
		return err
	}
	ev.Raw.Keys = r.keys
	if !r.idUnsure {
		ev.Raw.Keys |= event.KeyIdentity
	}
	if strings.HasPrefix(ev.API.Service, "aws:") {
		return ErrS3Notification
	}
	if ev.Time.IsZero() {
		return ErrNoEventTime
	}
	if ev.API.Operation == "" {
		if r.eventCategory != "Insight" || !r.insight.ok() {
			return ErrNoEventName
		}
		// An Insight names the API whose rate or errors were unusual.
		ev.API.Operation = lookupStr(rec, r.insight, "eventName")
		ev.API.Service = lookupStr(rec, r.insight, "eventSource")
	}
	normalize(rec, &r, ev)
	return nil
}

func (r *record) top(rec []byte, ev *event.Event) error {
	i := jsonscan.SkipSpace(rec, 0)
	if i >= len(rec) || rec[i] != '{' {
		return errors.New("record is not a JSON object")
	}
	i = jsonscan.SkipSpace(rec, i+1)
	if i < len(rec) && rec[i] == '}' {
		return ErrNoEventTime
	}
	var recipient string
	for {
		ke, kesc, err := jsonscan.String(rec, i)
		if err != nil {
			return err
		}
		key := rec[i+1 : ke-1]
		if kesc {
			key = []byte(jsonscan.Str(rec[i:ke], true))
		}
		r.keys.Add(event.KeyTop, key)
		i = jsonscan.SkipSpace(rec, ke)
		if i >= len(rec) || rec[i] != ':' {
			return &jsonscan.SyntaxError{Offset: i, Msg: "want ':' after object key"}
		}
		vs := jsonscan.SkipSpace(rec, i+1)
		var ve int
		var s string
		isStr := vs < len(rec) && rec[vs] == '"'
		if isStr {
			var esc bool
			if ve, esc, err = jsonscan.String(rec, vs); err != nil {
				return err
			}
			s = jsonscan.Str(rec[vs:ve], esc)
		} else if string(key) == "userIdentity" && vs < len(rec) && rec[vs] == '{' {
			if ve, err = r.identity(rec, vs, &ev.Actor); err != nil {
				return fmt.Errorf("userIdentity: %w", err)
			}
		} else if ve, err = jsonscan.Value(rec, vs); err != nil {
			return err
		}
		if !isStr && string(key) == "userIdentity" && rec[vs] != '{' {
			r.idUnsure = true
		}
		switch string(key) {
		case "eventTime":
			if !isStr {
				return fmt.Errorf("eventTime is not a string")
			}
			if ev.Time, err = parseTime(s); err != nil {
				return fmt.Errorf("eventTime: %w", err)
			}
		case "eventName":
			if !isStr {
				return fmt.Errorf("eventName is not a string")
			}
			ev.API.Operation = s
		case "eventSource":
			ev.API.Service = s
		case "awsRegion":
			ev.Cloud.Region = s
		case "sourceIPAddress":
			if ip, err := netip.ParseAddr(s); err == nil {
				ev.Src.IP = ip
			} else {
				ev.Src.Domain = s
			}
		case "userAgent":
			ev.Src.UserAgent = s
		case "errorCode":
			ev.API.ErrorCode = s
		case "errorMessage":
			ev.API.ErrorMessage = s
		case "requestID":
			ev.API.RequestID = s
		case "apiVersion":
			ev.API.Version = s
		case "eventID":
			ev.ID = s
		case "eventType":
			ev.Type = s
		case "eventCategory":
			r.eventCategory = s
		case "recipientAccountId":
			recipient = s
		case "readOnly":
			switch {
			case string(rec[vs:ve]) == "true" || s == "true":
				r.readOnly = event.True
			case string(rec[vs:ve]) == "false" || s == "false":
				r.readOnly = event.False
			}
		case "requestParameters":
			r.req = span{vs, ve}
			if ev.Raw.ReqAt == 0 && vs < math.MaxUint32 {
				ev.Raw.ReqAt = uint32(vs) + 1 // the first, as a walk finds it
			}
		case "responseElements":
			r.resp = span{vs, ve}
		case "additionalEventData":
			r.addl = span{vs, ve}
		case "resources":
			r.resources = span{vs, ve}
		case "insightDetails":
			r.insight = span{vs, ve}
		}
		i = jsonscan.SkipSpace(rec, ve)
		if i >= len(rec) {
			return &jsonscan.SyntaxError{Offset: i, Msg: "unexpected end of record"}
		}
		if rec[i] == '}' {
			if j := jsonscan.SkipSpace(rec, i+1); j != len(rec) {
				return &jsonscan.SyntaxError{Offset: j, Msg: "data after the record"}
			}
			break
		}
		if rec[i] != ',' {
			return &jsonscan.SyntaxError{Offset: i, Msg: "want ',' or '}'"}
		}
		i = jsonscan.SkipSpace(rec, i+1)
	}
	if recipient != "" {
		ev.Cloud.Account = recipient
	} else {
		ev.Cloud.Account = ev.Actor.Account
	}
	return nil
}

// identity parses userIdentity, adding its keys, its sessionContext's
// and their sessionIssuer's to the key filter.
func (r *record) identity(rec []byte, i int, a *event.Actor) (int, error) {
	return jsonscan.ObjectEach(rec, i, func(key []byte, kesc bool, vs, ve int) error {
		if kesc {
			r.idUnsure = true
			return nil
		}
		r.keys.Add(event.KeyUserIdentity, key)
		switch string(key) {
		case "type":
			a.Type = str(rec, vs, ve)
		case "principalId":
			a.PrincipalID = str(rec, vs, ve)
		case "arn":
			a.ARN = str(rec, vs, ve)
		case "accountId":
			a.Account = str(rec, vs, ve)
		case "accessKeyId":
			a.AccessKeyID = str(rec, vs, ve)
		case "userName":
			a.UserName = str(rec, vs, ve)
		case "invokedBy":
			a.InvokedBy = str(rec, vs, ve)
		case "sessionContext":
			if rec[vs] != '{' {
				r.idUnsure = true
				return nil
			}
			_, err := jsonscan.ObjectEach(rec, vs, func(k []byte, kesc bool, vs, ve int) error {
				if kesc {
					r.idUnsure = true
					return nil
				}
				r.keys.Add(event.KeySessionContext, k)
				if rec[vs] != '{' {
					if string(k) == "sessionIssuer" {
						r.idUnsure = true
					}
					return nil
				}
				switch string(k) {
				case "attributes":
					_, err := jsonscan.ObjectEach(rec, vs, func(k []byte, _ bool, vs, ve int) error {
						switch string(k) {
						case "mfaAuthenticated":
							switch str(rec, vs, ve) {
							case "true":
								a.MFA = event.True
							case "false":
								a.MFA = event.False
							}
						case "creationDate":
							if t, err := parseTime(str(rec, vs, ve)); err == nil {
								a.SessionCreated = t
							}
						}
						return nil
					})
					return err
				case "sessionIssuer":
					_, err := jsonscan.ObjectEach(rec, vs, func(k []byte, kesc bool, vs, ve int) error {
						if kesc {
							r.idUnsure = true
							return nil
						}
						r.keys.Add(event.KeySessionIssuer, k)
						switch string(k) {
						case "arn":
							a.SessionIssuerARN = str(rec, vs, ve)
						case "type":
							a.SessionIssuerType = str(rec, vs, ve)
						case "userName":
							if a.UserName == "" {
								a.UserName = str(rec, vs, ve)
							}
						}
						return nil
					})
					return err
				}
				return nil
			})
			return err
		}
		return nil
	})
}

// str returns the string at rec[vs:ve], or "" when the value is no string.
func str(rec []byte, vs, ve int) string {
	if rec[vs] != '"' {
		return ""
	}
	return jsonscan.Unquote(rec[vs:ve])
}

func lookupStr(rec []byte, in span, path string) string {
	if !in.ok() {
		return ""
	}
	vs, ve, ok := jsonscan.Get(rec[:in.e], in.s, path)
	if !ok {
		return ""
	}
	return str(rec, vs, ve)
}

// parseTime reads CloudTrail's timestamps: 2006-01-02T15:04:05Z as
// CloudTrail writes them, and the other ISO 8601 forms SIEM and data lake
// exports write (decode.ParseTime).
func parseTime(s string) (time.Time, error) {
	return decode.ParseTime(s)
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// normalize derives what the record implies: class and activity, outcome,
// read-only, session name, partition, resources, and an id when the record
// has none.
func normalize(rec []byte, r *record, ev *event.Event) {
	a := &ev.Actor
	if a.Type == "AssumedRole" && a.ARN != "" {
		// arn:aws:sts::123456789012:assumed-role/RoleName/SessionName
		if k := strings.LastIndexByte(a.ARN, '/'); k > 0 && strings.Contains(a.ARN, ":assumed-role/") {
			a.SessionName = a.ARN[k+1:]
		}
	}
	ev.Cloud.Partition = partition(a.ARN)

	op := ev.API.Operation
	switch r.readOnly {
	case event.True:
		ev.API.ReadOnly = true
	case event.False:
		ev.API.ReadOnly = false
	default:
		ev.API.ReadOnly = readOnlyName(op)
	}

	ev.Outcome = event.OutcomeSuccess
	if ev.API.ErrorCode != "" {
		ev.Outcome = event.OutcomeFailure
	}
	if op == "ConsoleLogin" {
		if lookupStr(rec, r.resp, "ConsoleLogin") == "Failure" {
			ev.Outcome = event.OutcomeFailure
		}
		if a.MFA == event.Unknown {
			switch lookupStr(rec, r.addl, "MFAUsed") {
			case "Yes":
				a.MFA = event.True
			case "No":
				a.MFA = event.False
			}
		}
	}

	ev.Class = classOf[op]
	switch ev.Class {
	case event.ClassAuthentication:
		ev.Activity = authActivity(op)
	case event.ClassAccountChange:
		ev.Activity = accountActivity(op, lookupStr(rec, r.req, "status"))
	default:
		ev.Class = event.ClassAPIActivity
		ev.Activity = apiActivity(op, ev.API.ReadOnly)
	}

	resources(rec, r, ev)

	if ev.ID == "" {
		sum := sha256.Sum256(rec)
		ev.ID = "sha256:" + hex.EncodeToString(sum[:16])
	}
}

func partition(arn string) string {
	if strings.HasPrefix(arn, "arn:") {
		if k := strings.IndexByte(arn[4:], ':'); k > 0 {
			return arn[4 : 4+k]
		}
	}
	return "aws"
}

// readOnlyName infers readOnly for records older than the field.
func readOnlyName(op string) bool {
	for _, p := range readPrefixes {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

var readPrefixes = []string{"Get", "List", "Describe", "Head", "Lookup", "Search", "Select", "BatchGet", "Scan", "Query", "View", "Check", "Preview", "Estimate", "Filter", "Download", "Validate", "Test", "Simulate", "Generate"}

// apiActivity maps an API call to OCSF API Activity's Create, Read, Update,
// Delete or Other by its verb.
func apiActivity(op string, readOnly bool) uint8 {
	if readOnly {
		return 2
	}
	verb := op
	for k := 1; k < len(op); k++ {
		if op[k] >= 'A' && op[k] <= 'Z' {
			verb = op[:k]
			break
		}
	}
	switch verb {
	case "Create", "Run", "Add", "Allocate", "Import", "Register", "Copy", "Issue", "Request", "Launch", "Upload", "Publish", "Send", "Invoke", "Generate", "Initiate", "Purchase", "Clone", "Provision":
		return 1
	case "Get", "List", "Describe", "Head", "Lookup", "Search", "Select", "Scan", "Query", "Download", "Decrypt", "Retrieve", "Batch", "Poll", "Receive", "Consume":
		return 2
	case "Update", "Put", "Modify", "Set", "Attach", "Associate", "Enable", "Disable", "Start", "Stop", "Reboot", "Tag", "Untag", "Change", "Replace", "Reset", "Restore", "Authorize", "Apply", "Accept", "Reject", "Encrypt", "Assign", "Rotate", "Move", "Upgrade", "Edit", "Switch", "Resume", "Pause", "Subscribe", "Unsubscribe", "Promote", "Rename", "Enter", "Exit", "Complete", "Confirm", "Merge", "Schedule":
		return 3
	case "Delete", "Remove", "Terminate", "Deregister", "Release", "Revoke", "Detach", "Disassociate", "Purge", "Cancel", "Deactivate", "Destroy", "Unassign", "Leave", "Abort":
		return 4
	}
	return 99
}

// authActivity maps Authentication eventNames to OCSF activities.
func authActivity(op string) uint8 {
	switch op {
	case "ConsoleLogin", "UserAuthentication", "ExternalIdPDirectoryLogin":
		return 1 // Logon
	case "AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity":
		return 3 // Authentication Ticket
	case "CheckMfa", "CredentialChallenge", "CredentialVerification":
		return 6 // Preauth
	}
	return 99
}

// accountActivity maps Account Change eventNames to OCSF activities.
func accountActivity(op, status string) uint8 {
	switch {
	case op == "EnableMFADevice" || op == "ResyncMFADevice":
		return 10 // MFA Factor Enable
	case op == "DeactivateMFADevice" || op == "DeleteVirtualMFADevice":
		return 11 // MFA Factor Disable
	case op == "ChangePassword" || op == "UpdateLoginProfile" || op == "PasswordUpdated":
		return 3 // Password Change
	case op == "UpdateAccessKey" && status == "Active":
		return 2 // Enable
	case op == "UpdateAccessKey" && status == "Inactive":
		return 5 // Disable
	case strings.HasPrefix(op, "Attach") || op == "AddUserToGroup" || op == "AddRoleToInstanceProfile" || strings.HasPrefix(op, "Put") && strings.HasSuffix(op, "Policy"):
		return 7 // Attach Policy
	case strings.HasPrefix(op, "Detach") || op == "RemoveUserFromGroup" || op == "RemoveRoleFromInstanceProfile" || strings.HasPrefix(op, "Delete") && strings.HasSuffix(op, "Policy"):
		return 8 // Detach Policy
	case strings.HasPrefix(op, "Create"):
		return 1 // Create
	case strings.HasPrefix(op, "Delete"):
		return 6 // Delete
	}
	return 99
}
