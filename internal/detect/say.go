package detect

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/parapet-sec/parapet/internal/event"
)

// phrase is a finding's story in plain words ("frank created an access key
// for erin"), for one event and for an episode of n of them (see
// Aggregator): the rule's match details say why it fired, the phrase says
// what happened.
type phrase struct {
	one string
	// many is the text for n events that each tell one, with one %d for
	// n; "" repeats one with "(n times)".
	many string
	// mixed is the text for n events that tell different stories (an
	// episode of one rule over several calls), with one %d for n; ""
	// says one "and more: n calls".
	mixed string
}

// setSay makes p the finding's Summary.
func (f *Finding) setSay(p phrase) {
	f.say, f.sayMany, f.sayMixed, f.sayDiffers = p.one, p.many, p.mixed, false
	f.Summary = p.one
}

// retell is the summary of an episode of n events; differs says its
// events do not all tell the same story.
func (f *Finding) retell(n int, differs bool) string {
	p := phrase{f.say, f.sayMany, f.sayMixed}
	if differs {
		return p.textMixed(n)
	}
	return p.text(n)
}

// text is the phrase for n events that each tell p.one.
func (p *phrase) text(n int) string {
	switch {
	case n <= 1:
		return p.one
	case p.many != "":
		return fmt.Sprintf(p.many, n)
	}
	return p.one + " (" + strconv.Itoa(n) + " times)"
}

// textMixed is the phrase for n events, the first telling p.one.
func (p *phrase) textMixed(n int) string {
	switch {
	case n <= 1:
		return p.one
	case p.mixed != "":
		return fmt.Sprintf(p.mixed, n)
	}
	return p.one + " and more: " + strconv.Itoa(n) + " calls"
}

// Say says in plain words what the event shows: who did what to which
// resource ("frank created an access key for erin", "i-0abc (10.0.1.5)
// sent 4.2 KB to 203.0.113.9:3333"). It is a finding's Summary.
func Say(ev *event.Event) string {
	p := say(ev)
	return p.one
}

func say(ev *event.Event) phrase {
	if ev.Network != nil {
		return sayFlow(ev)
	}
	who := ActorName(&ev.Actor)
	str := func(path string) string {
		if v, ok := ev.Lookup(path); ok && v.Kind != event.KindNull {
			return v.String()
		}
		return ""
	}
	// The rest of the sentence: a verb phrase, and the plural form for an
	// episode of n calls when the call reads or changes one thing each.
	var what, many string
	op := ev.API.Operation
	switch op {
	case "CreateAccessKey":
		u := str("requestParameters.userName")
		switch {
		case u == "" || u == ev.Actor.UserName:
			what = "created an access key for themselves"
		default:
			what = "created an access key for " + u
		}
	case "AuthorizeSecurityGroupIngress":
		what = "opened " + orSome(firstOf(str("requestParameters.groupId"), str("requestParameters.groupName")), "a security group") + ingressReach(ev, str)
	case "RunInstances":
		n := 0
		ev.Each("responseElements.instancesSet.items.instanceId", func(event.Value) bool { n++; return true })
		if n == 0 {
			n, _ = strconv.Atoi(firstOf(str("requestParameters.instancesSet.items.maxCount"), str("requestParameters.instancesSet.items.minCount")))
		}
		typ := str("requestParameters.instanceType")
		switch {
		case n > 0 && typ != "":
			what = "launched " + plural(n, typ+" instance")
		case n > 0:
			what = "launched " + plural(n, "instance")
		case typ != "":
			what = "launched " + typ + " instances"
		default:
			what = "launched instances"
		}
	case "PutBucketPolicy":
		what = "changed the bucket policy of " + orSome(str("requestParameters.bucketName"), "a bucket")
	case "DeleteBucketPolicy":
		what = "deleted the bucket policy of " + orSome(str("requestParameters.bucketName"), "a bucket")
	case "GetObject":
		b := orSome(str("requestParameters.bucketName"), "a bucket")
		what = "read an object from " + b
		many = "read %d objects from " + b
	case "ConsoleLogin":
		from := ""
		if ev.Src.IP.IsValid() {
			from = " from " + ev.Src.IP.String()
		}
		if ev.Outcome == event.OutcomeFailure {
			what = "failed to sign in to the console" + from
			many = "failed to sign in to the console %d times" + from
		} else {
			what = "signed in to the console" + from
			many = "signed in to the console %d times" + from
		}
		return phrase{one: who + " " + what, many: who + " " + many}
	case "AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy":
		to := firstOf(str("requestParameters.userName"), str("requestParameters.roleName"), str("requestParameters.groupName"))
		what = "attached " + orSome(short(str("requestParameters.policyArn")), "a policy") + " to " + orSome(to, "an identity")
	case "AssumeRole":
		what = "assumed " + orSome(short(str("requestParameters.roleArn")), "a role")
	case "GetSecretValue":
		s := orSome(short(str("requestParameters.secretId")), "a secret")
		what = "read the secret " + s
		many = "read the secret " + s + " %d times"
	default:
		if t, ok := simple[op]; ok {
			what = t.verb + orSome(short(str(t.param)), t.some)
			break
		}
		what = "called " + service(ev.API.Service) + ":" + op
		if len(ev.Resources) > 0 {
			what += " on " + resourceNames(ev.Resources)
		}
	}
	if ev.API.ErrorCode != "" {
		what += " (failed: " + ev.API.ErrorCode + ")"
		if many != "" {
			many += " (failed: " + ev.API.ErrorCode + ")"
		}
	}
	// The source address is the finding's src_ip, shown beside it: the
	// sentence stays the story.
	p := phrase{one: who + " " + what}
	if many != "" {
		p.many = who + " " + many
	}
	return p
}

// simple are the calls told as a verb and one request parameter.
var simple = map[string]struct{ verb, param, some string }{
	"StopLogging":                   {"stopped CloudTrail logging on ", "requestParameters.name", "a trail"},
	"DeleteTrail":                   {"deleted the CloudTrail trail ", "requestParameters.name", "a trail"},
	"PutEventSelectors":             {"changed what the CloudTrail trail records: ", "requestParameters.trailName", "a trail"},
	"CreateUser":                    {"created the IAM user ", "requestParameters.userName", "a user"},
	"DeleteUser":                    {"deleted the IAM user ", "requestParameters.userName", "a user"},
	"CreateLoginProfile":            {"gave a console password to ", "requestParameters.userName", "a user"},
	"UpdateLoginProfile":            {"changed the console password of ", "requestParameters.userName", "a user"},
	"PutUserPolicy":                 {"wrote an inline policy for ", "requestParameters.userName", "a user"},
	"PutRolePolicy":                 {"wrote an inline policy for the role ", "requestParameters.roleName", "a role"},
	"UpdateAssumeRolePolicy":        {"changed who can assume ", "requestParameters.roleName", "a role"},
	"DeactivateMFADevice":           {"removed the MFA device of ", "requestParameters.userName", "a user"},
	"PutBucketAcl":                  {"changed the ACL of ", "requestParameters.bucketName", "a bucket"},
	"PutBucketPublicAccessBlock":    {"changed the public access block of ", "requestParameters.bucketName", "a bucket"},
	"DeleteBucketPublicAccessBlock": {"removed the public access block of ", "requestParameters.bucketName", "a bucket"},
	"DeleteBucket":                  {"deleted the bucket ", "requestParameters.bucketName", "a bucket"},
	"ModifySnapshotAttribute":       {"changed who may use the snapshot ", "requestParameters.snapshotId", "a snapshot"},
	"ModifyImageAttribute":          {"changed who may use the image ", "requestParameters.imageId", "an image"},
	"ScheduleKeyDeletion":           {"scheduled the deletion of KMS key ", "requestParameters.keyId", "a key"},
	"DisableKey":                    {"disabled KMS key ", "requestParameters.keyId", "a key"},
	"DeleteDetector":                {"deleted the GuardDuty detector ", "requestParameters.detectorId", "a detector"},
	"DeleteFlowLogs":                {"deleted the VPC flow logs ", "requestParameters.DeleteFlowLogsRequest.FlowLogId.content", "of a VPC"},
	"DeleteLogGroup":                {"deleted the log group ", "requestParameters.logGroupName", "a log group"},
	"CreateKeyPair":                 {"created the EC2 key pair ", "requestParameters.keyName", "a key pair"},
	"ImportKeyPair":                 {"imported the EC2 key pair ", "requestParameters.keyName", "a key pair"},
}

// short is the end of an ARN (its name); other values as they are.
func short(s string) string {
	if !strings.HasPrefix(s, "arn:") {
		return s
	}
	if i := strings.LastIndexAny(s, "/:"); i >= 0 && i < len(s)-1 {
		return s[i+1:]
	}
	return s
}

// sayFlow tells a flow record from the local interface's side: what it
// sent or received, how much, to or from where.
func sayFlow(ev *event.Event) phrase {
	n := ev.Network
	size := bytesText(n.Bytes)
	rejected := ""
	if n.Action == "REJECT" {
		rejected = " (rejected)"
	}
	var one string
	switch {
	case ev.Dst.InterfaceID != "" || ev.Dst.InstanceID != "":
		// ingress: the local side is the destination
		one = endpointName(ev.Dst) + " received " + size + " from " + ipText(ev.Src.IP) + portText(ev.Dst.Port, " on port ")
	default:
		one = endpointName(ev.Src) + " sent " + size + " to " + ipText(ev.Dst.IP) + portText(ev.Dst.Port, ":")
	}
	one += rejected
	return phrase{one: one, many: one + "; %d flow records in all", mixed: one + "; %d flow records in all"}
}

// ActorName is the short name of who acted: the IAM user or role name,
// "the root user", the AWS service, else the end of the ARN.
func ActorName(a *event.Actor) string {
	switch {
	case a.Type == "Root":
		return "the root user"
	case a.Type == "AWSService" && a.InvokedBy != "":
		return a.InvokedBy
	case a.UserName != "":
		return a.UserName
	case a.ARN != "":
		arn := a.ARN
		if i := strings.LastIndexAny(arn, "/:"); i >= 0 && i < len(arn)-1 {
			arn = arn[i+1:]
		}
		return arn
	case a.PrincipalID != "":
		return a.PrincipalID
	}
	return "someone"
}

// ingressReach says to whom and on which ports an ingress request opens
// its security group: " to 0.0.0.0/0 on port 22".
func ingressReach(ev *event.Event, str func(string) string) string {
	var cidrs []string
	for _, p := range []string{"requestParameters.ipPermissions.items.ipRanges.items.cidrIp", "requestParameters.ipPermissions.items.ipv6Ranges.items.cidrIpv6", "requestParameters.cidrIp"} {
		ev.Each(p, func(v event.Value) bool {
			if s := v.String(); s != "" && len(cidrs) < 3 {
				cidrs = append(cidrs, s)
			}
			return true
		})
	}
	out := ""
	if len(cidrs) > 0 {
		out = " to " + strings.Join(cidrs, ", ")
	}
	proto := firstOf(str("requestParameters.ipPermissions.items.ipProtocol"), str("requestParameters.ipProtocol"))
	from := firstOf(str("requestParameters.ipPermissions.items.fromPort"), str("requestParameters.fromPort"))
	to := firstOf(str("requestParameters.ipPermissions.items.toPort"), str("requestParameters.toPort"))
	switch {
	case proto == "-1" || proto == "all":
		out += " on all ports"
	case from == "" && to == "":
	case from == "-1" || (from == "0" && to == "65535"):
		out += " on all ports"
	case to == "" || from == to:
		out += " on port " + from
	default:
		out += " on ports " + from + "–" + to
	}
	return out
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func orSome(s, some string) string {
	if s == "" {
		return some
	}
	return s
}

// plural: "1 instance", "5 instances".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// service is an API's service name without its domain (iam, s3, ec2).
func service(s string) string {
	if i := strings.IndexByte(s, '.'); i > 0 {
		return s[:i]
	}
	if s == "" {
		return "?"
	}
	return s
}

func resourceNames(rs []event.Resource) string {
	var names []string
	for _, r := range rs {
		n := firstOf(r.Name, r.UID)
		if n == "" {
			continue
		}
		if len(names) == 2 {
			names = append(names, "…")
			break
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

func endpointName(e event.Endpoint) string {
	id := firstOf(e.InstanceID, e.InterfaceID)
	switch {
	case id != "" && e.IP.IsValid():
		return id + " (" + e.IP.String() + ")"
	case id != "":
		return id
	}
	return ipText(e.IP)
}

func ipText(ip interface {
	IsValid() bool
	String() string
}) string {
	if !ip.IsValid() {
		return "an unknown address"
	}
	return ip.String()
}

func portText(p uint16, sep string) string {
	if p == 0 {
		return ""
	}
	return sep + strconv.Itoa(int(p))
}

// bytesText: "512 bytes", "4.2 KB", "1.3 GB".
func bytesText(n int64) string {
	switch {
	case n == 1:
		return "1 byte"
	case n < 1024:
		return strconv.FormatInt(n, 10) + " bytes"
	}
	v, units := float64(n)/1024, []string{"KB", "MB", "GB", "TB"}
	u := 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[u]
}
