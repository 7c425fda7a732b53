package respond

import (
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Kind says what an action parameter holds. Values come from templates
// over ingested records, which anyone with an ingest token can write: each
// is checked against AWS's naming rules for its kind before any call is
// made, so that a record cannot smuggle a path, a header or markup into an
// API call.
type Kind string

// Parameter kinds.
const (
	KindBucket      Kind = "s3_bucket"
	KindGroupID     Kind = "security_group_id"
	KindInstanceID  Kind = "instance_id"
	KindAccessKeyID Kind = "access_key_id"
	KindUser        Kind = "iam_user"
	KindRole        Kind = "iam_role"
	KindPolicyARN   Kind = "iam_policy_arn"
	KindTrail       Kind = "cloudtrail_trail"
	KindDetectorID  Kind = "guardduty_detector_id"
	KindKMSKey      Kind = "kms_key"
	KindCIDR        Kind = "cidr"
	KindProtocol    Kind = "ip_protocol"
	KindPort        Kind = "port"
	KindFindingID   Kind = "finding_id"
	KindText        Kind = "text" // free text (JSON-encoded where it goes)
	// Notification text: the values templates put into it are escaped for
	// the channel's markup, so that a record cannot mention @channel,
	// forge a link or break a header; the playbook's own text is kept.
	KindSlackText Kind = "slack_text" // Slack mrkdwn: & < > escaped
	KindMarkdown  Kind = "markdown"   // Teams Adaptive Card markdown: \ * _ ` [ ] ( ) escaped
	KindLine      Kind = "line"       // one line (a subject, a summary): line breaks become spaces
	KindEmails    Kind = "emails"     // comma-separated email addresses
	KindHostPort  Kind = "host_port"  // an SMTP server
	KindURL       Kind = "url"        // an https or http URL
)

// Escape is what a template's values pass through for a parameter kind.
func Escape(kind Kind) func(string) string {
	switch kind {
	case KindSlackText:
		return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
	case KindMarkdown:
		return strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "(", `\(`, ")", `\)`).Replace
	case KindLine:
		return strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace
	}
	return nil
}

var (
	// Bucket names: 3–63 characters of lower-case letters, digits, dots
	// and hyphens, starting and ending with a letter or digit (buckets made
	// in us-east-1 before March 2018 may also hold capitals and
	// underscores, up to 255 characters).
	bucketRE   = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{1,253}[a-zA-Z0-9]$`)
	groupRE    = regexp.MustCompile(`^sg-[0-9a-f]{8}([0-9a-f]{9})?$`)
	instanceRE = regexp.MustCompile(`^i-[0-9a-f]{8}([0-9a-f]{9})?$`)
	keyIDRE    = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	// IAM user and role names: alphanumerics and +=,.@_- , up to 64.
	iamNameRE   = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	policyARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/([\w+=,.@-]+/)*[\w+=,.@-]{1,128}$`)
	trailRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$`)
	trailARNRE  = regexp.MustCompile(`^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:trail/[A-Za-z0-9][A-Za-z0-9._-]{2,127}$`)
	detectorRE  = regexp.MustCompile(`^[a-z0-9]{1,300}$`)
	kmsKeyRE    = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|alias/[A-Za-z0-9/_-]{1,250}|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key/[0-9a-f-]{36}|key/mrk-[0-9a-f]{32}|alias/[A-Za-z0-9/_-]{1,250}))$`)
	findingRE   = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
)

// Validate checks a parameter value against the naming rules of its kind.
func Validate(kind Kind, v string) error {
	bad := func(what string) error { return fmt.Errorf("%q is not %s", clip(v), what) }
	switch kind {
	case KindBucket:
		if !bucketRE.MatchString(v) || strings.Contains(v, "..") || strings.Contains(v, ".-") || strings.Contains(v, "-.") {
			return bad("a valid S3 bucket name")
		}
		if _, err := netip.ParseAddr(v); err == nil {
			return bad("a valid S3 bucket name (it is formatted as an IP address)")
		}
	case KindGroupID:
		if !groupRE.MatchString(v) {
			return bad("a security group id (sg- and 8 or 17 hex digits)")
		}
	case KindInstanceID:
		if !instanceRE.MatchString(v) {
			return bad("an EC2 instance id (i- and 8 or 17 hex digits)")
		}
	case KindAccessKeyID:
		if !keyIDRE.MatchString(v) {
			return bad("an access key id")
		}
	case KindUser:
		if !iamNameRE.MatchString(v) {
			return bad("an IAM user name")
		}
	case KindRole:
		if !iamNameRE.MatchString(v) {
			return bad("an IAM role name")
		}
	case KindPolicyARN:
		if !policyARNRE.MatchString(v) {
			return bad("an IAM managed policy ARN")
		}
	case KindTrail:
		if !trailRE.MatchString(v) && !trailARNRE.MatchString(v) {
			return bad("a CloudTrail trail name or ARN")
		}
	case KindDetectorID:
		if !detectorRE.MatchString(v) {
			return bad("a GuardDuty detector id")
		}
	case KindKMSKey:
		if v != "" && !kmsKeyRE.MatchString(v) {
			return bad("a KMS key id, alias or ARN")
		}
	case KindCIDR:
		if _, err := netip.ParsePrefix(v); err != nil {
			return bad("a CIDR block")
		}
	case KindProtocol:
		switch strings.ToLower(v) {
		case "", "tcp", "udp", "icmp", "icmpv6", "-1", "all":
			return nil
		}
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 255 {
			return bad("an IP protocol (tcp, udp, icmp, icmpv6, -1 or a number 0-255)")
		}
	case KindPort:
		if v == "" {
			return nil
		}
		if n, err := strconv.Atoi(v); err != nil || n < -1 || n > 65535 {
			return bad("a port (-1 to 65535)")
		}
	case KindFindingID:
		if v != "" && !findingRE.MatchString(v) {
			return bad("a finding id")
		}
	case KindText, KindSlackText, KindMarkdown, "":
		if strings.ContainsRune(v, 0) {
			return bad("text (it holds a NUL byte)")
		}
	case KindLine:
		if strings.ContainsAny(v, "\x00\r\n") {
			return bad("one line of text")
		}
	case KindEmails:
		for _, a := range strings.Split(v, ",") {
			if _, err := mail.ParseAddress(strings.TrimSpace(a)); err != nil || strings.ContainsAny(a, "\r\n") {
				return bad("a list of email addresses")
			}
		}
	case KindHostPort:
		if h, port, err := net.SplitHostPort(v); err != nil || h == "" || port == "" || strings.ContainsAny(v, "/\r\n ") {
			return bad("a host:port")
		}
	case KindURL:
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(v, "\r\n ") {
			return bad("an http(s) URL")
		}
	default:
		return fmt.Errorf("unknown parameter kind %q", kind)
	}
	return nil
}

// clip keeps an invalid value printable and short in messages.
func clip(v string) string {
	if len(v) > 80 {
		v = v[:80] + "…"
	}
	return v
}
