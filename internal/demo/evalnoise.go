package demo

import (
	"fmt"
	"math"
	"time"
)

// What real accounts do besides their people and roles, for the
// evaluation set: AWS's own services delivering logs, recording
// configuration and scaling (now and then failing, in bursts of
// AccessDenied), an owner who signs in as root every day and syncs a
// bucket every evening, and AWS services reading data on people's behalf.
// The records follow the shapes AWS documents for CloudTrail: a service
// acting as itself is userIdentity type AWSService with invokedBy and its
// DNS name as source address and user agent; a service-linked role's
// session is an AssumedRole whose issuer lives under
// role/aws-service-role/ and whose calls carry invokedBy; a call a service
// makes for a principal carries the principal's identity with invokedBy;
// data events have managementEvent false.

// evalAccount is one account of the evaluation set and its noise.
type evalAccount struct {
	id          string
	from, until int // hours from the start; until is exclusive
	root        bool
	owner       *persona // the owner's IAM user, for the CLI: nil for none
	ownerIP     string
	// the services' principals
	logs, trail, config, autoscaling *persona // AWSService
	configSLR, autoscalingSLR        *persona // service-linked role sessions
	athena, s3                       string
}

func servicePersona(acct, name string) *persona {
	return &persona{name: name, kind: "AWSService", account: acct, ips: []string{name}, agents: []string{name}}
}

func linkedRole(acct, service, role, session string) *persona {
	return &persona{name: role, kind: "AssumedRole", account: acct, role: role, rolePath: "aws-service-role/" + service + "/",
		session: session, invokedBy: service, ips: []string{service}, agents: []string{service}}
}

// newEvalAccount describes an account living from hour from to until;
// with root, its owner signs in as root every day and has an IAM user of
// their own for the command line.
func (g *gen) newEvalAccount(acct string, from, until int, root bool) *evalAccount {
	a := &evalAccount{id: acct, from: from, until: until, root: root,
		logs:           servicePersona(acct, "delivery.logs.amazonaws.com"),
		trail:          servicePersona(acct, "cloudtrail.amazonaws.com"),
		config:         servicePersona(acct, "config.amazonaws.com"),
		autoscaling:    servicePersona(acct, "autoscaling.amazonaws.com"),
		configSLR:      linkedRole(acct, "config.amazonaws.com", "AWSServiceRoleForConfig", "AWSConfig-Describe"),
		autoscalingSLR: linkedRole(acct, "autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling", "AutoScaling"),
	}
	if root {
		// the owner lives in Sweden and works from home
		a.ownerIP = fmt.Sprintf("89.160.20.%d", 10+g.rng.IntN(200))
		a.owner = &persona{name: "owner", kind: "IAMUser", account: acct, keyID: "AKIA" + g.upper(16), tz: 1,
			ips: []string{a.ownerIP}, agents: []string{cliAgent}}
	}
	return a
}

func (a *evalAccount) bucket(name string) string { return "acme-" + name + "-" + a.id }

// evalNoise adds the accounts' services, owners and data readers, hour by
// hour of each account's life.
func (g *gen) evalNoise(accts []*evalAccount) {
	for _, a := range accts {
		failures := g.failures(a)
		for h := a.from; h < a.until; h++ {
			hour := g.cfg.Start.Add(time.Duration(h) * time.Hour)
			g.trailDelivery(a, hour, failures)
			g.logDelivery(a, hour, failures)
			g.configRecorder(a, hour, failures)
			g.scaling(a, hour, failures)
			if a.root {
				g.ownerDay(a, hour)
			}
		}
		g.athenaReads(a)
	}
}

// failure is a stretch of time in which one service's deliveries are
// denied (a bucket or key policy changed under it).
type failure struct {
	service    string
	from, till time.Time
}

func (g *gen) failures(a *evalAccount) []failure {
	days := float64(a.until-a.from) / 24
	n := g.poisson(days / 5)
	if days < 9 && g.rng.IntN(2) == 0 {
		n = max(n, 1)
	}
	var out []failure
	for range n {
		from := g.cfg.Start.Add(time.Duration(a.from)*time.Hour + time.Duration(g.rng.IntN((a.until-a.from)*60))*time.Minute)
		till := from.Add(time.Duration(40+g.rng.IntN(200)) * time.Minute)
		svc := pick(g, []string{"delivery.logs.amazonaws.com", "cloudtrail.amazonaws.com", "config.amazonaws.com", "autoscaling.amazonaws.com"})
		out = append(out, failure{svc, from, till})
	}
	return out
}

func failing(fs []failure, service string, t time.Time) bool {
	for _, f := range fs {
		if f.service == service && !t.Before(f.from) && t.Before(f.till) {
			return true
		}
	}
	return false
}

func denied(ev *ctEvent, message string) {
	ev.errorCode, ev.errorMessage = "AccessDenied", message
	ev.response = nil
}

// trailDelivery: CloudTrail checks its bucket and encrypts each log file
// with the trail's KMS key.
func (g *gen) trailDelivery(a *evalAccount, hour time.Time, fs []failure) {
	p := a.trail
	b := a.bucket("cloudtrail")
	keyARN := "arn:aws:kms:us-east-1:" + a.id + ":key/" + principalID("", a.id+"trail")[:8] + "-7a1c-4e2b-9d3f-" + principalID("", a.id)[:12]
	for range g.poisson(1) {
		ev := g.call(p, g.at(hour), "us-east-1", "s3", "GetBucketAcl", map[string]any{"bucketName": b, "Host": b + ".s3.amazonaws.com", "acl": ""})
		ev.resources = []map[string]any{{"accountId": a.id, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::" + b}}
		g.emit(ev, "")
	}
	n := g.poisson(5)
	if failing(fs, p.name, hour.Add(30*time.Minute)) {
		n = 12 + g.rng.IntN(12) // retried
	}
	for range n {
		t := g.at(hour)
		ev := g.call(p, t, "us-east-1", "kms", "GenerateDataKey", map[string]any{"keyId": keyARN, "keySpec": "AES_256",
			"encryptionContext": map[string]any{"aws:cloudtrail:arn": "arn:aws:cloudtrail:us-east-1:" + a.id + ":trail/org-trail", "aws:s3:arn": "arn:aws:s3:::" + b + "/AWSLogs/" + a.id + "/CloudTrail/us-east-1/" + t.Format("2006/01/02")}})
		ev.resources = []map[string]any{{"accountId": a.id, "type": "AWS::KMS::Key", "ARN": keyARN}}
		if failing(fs, p.name, t) {
			denied(ev, "User: cloudtrail.amazonaws.com is not authorized to perform: kms:GenerateDataKey on resource: "+keyARN+" because no resource-based policy allows the kms:GenerateDataKey action")
		}
		g.emit(ev, "")
	}
}

// logDelivery: VPC flow logs delivered to a bucket by the log delivery
// service, whose object writes are data events.
func (g *gen) logDelivery(a *evalAccount, hour time.Time, fs []failure) {
	p := a.logs
	b := a.bucket("flow-logs")
	down := failing(fs, p.name, hour) || failing(fs, p.name, hour.Add(59*time.Minute))
	n := g.poisson(6)
	if down {
		n = 20 + g.rng.IntN(20) // every few minutes, each retried
	}
	for range n {
		t := g.at(hour)
		fail := failing(fs, p.name, t)
		if g.rng.IntN(4) == 0 || fail {
			ev := g.call(p, t.Add(-2*time.Second), "us-east-1", "s3", "GetBucketAcl", map[string]any{"bucketName": b, "Host": b + ".s3.amazonaws.com", "acl": ""})
			ev.resources = []map[string]any{{"accountId": a.id, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::" + b}}
			if fail {
				denied(ev, "Access Denied")
			}
			g.emit(ev, "")
		}
		key := fmt.Sprintf("AWSLogs/%s/vpcflowlogs/us-east-1/%s/%s_vpcflowlogs_us-east-1_fl-0e1d2c3b4a5968778_%s_%s.log.gz", a.id, t.Format("2006/01/02"), a.id, t.Format("20060102T1504Z"), g.upper(8))
		ev := g.call(p, t, "us-east-1", "s3", "PutObject", map[string]any{"bucketName": b, "Host": b + ".s3.amazonaws.com", "key": key, "x-amz-acl": "bucket-owner-full-control"})
		ev.data = true
		if fail {
			denied(ev, "Access Denied")
		}
		g.emit(ev, "")
	}
}

var configReads = []struct{ service, op string }{
	{"ec2", "DescribeInstances"}, {"ec2", "DescribeSecurityGroups"}, {"ec2", "DescribeVpcs"}, {"ec2", "DescribeSubnets"},
	{"ec2", "DescribeVolumes"}, {"ec2", "DescribeNetworkInterfaces"}, {"iam", "GetRole"}, {"iam", "ListAttachedRolePolicies"},
	{"iam", "GetUser"}, {"iam", "ListUserPolicies"}, {"iam", "GetPolicy"}, {"s3", "GetBucketPolicy"}, {"s3", "GetBucketEncryption"},
	{"s3", "GetBucketVersioning"}, {"s3", "GetBucketPublicAccessBlock"}, {"lambda", "ListFunctions20150331"},
	{"kms", "ListKeys"}, {"kms", "DescribeKey"}, {"rds", "DescribeDBInstances"}, {"cloudtrail", "DescribeTrails"},
	{"autoscaling", "DescribeAutoScalingGroups"}, {"elasticloadbalancing", "DescribeLoadBalancers"},
}

// configRecorder: AWS Config assumes its service-linked role and reads the
// account's resources, with a full snapshot every six hours, and delivers
// snapshots and history to its bucket.
func (g *gen) configRecorder(a *evalAccount, hour time.Time, fs []failure) {
	region := regions[hour.Hour()%2]
	ev := g.call(a.config, hour.Add(time.Duration(g.rng.IntN(120))*time.Second), region, "sts", "AssumeRole",
		map[string]any{"roleArn": "arn:aws:iam::" + a.id + ":role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig", "roleSessionName": "AWSConfig-Describe"})
	ev.resources = []map[string]any{{"accountId": a.id, "type": "AWS::IAM::Role", "ARN": "arn:aws:iam::" + a.id + ":role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"}}
	g.emit(ev, "")
	n := g.poisson(8)
	snapshot := hour.Hour()%6 == 3
	for i := range n + map[bool]int{true: 30}[snapshot] {
		c := pick(g, configReads)
		t := g.at(hour)
		if i >= n {
			t = hour.Add(time.Duration(300+i*3) * time.Second)
		}
		var params map[string]any
		if c.service == "s3" {
			b := pick(g, []string{"acme-app-artifacts", "acme-web-assets", "acme-customer-data", a.bucket("flow-logs"), a.bucket("cloudtrail")})
			params = map[string]any{"bucketName": b, "Host": b + ".s3.amazonaws.com"}
		}
		svcRegion := region
		if c.service == "iam" {
			svcRegion = "us-east-1"
		}
		g.emit(g.call(a.configSLR, t, svcRegion, c.service, c.op, params), "")
	}
	b := a.bucket("config")
	for range g.poisson(0.7) {
		t := g.at(hour)
		fail := failing(fs, a.config.name, t)
		for k, op := range []string{"GetBucketAcl", "PutObject"} {
			params := map[string]any{"bucketName": b, "Host": b + ".s3.amazonaws.com"}
			if op == "PutObject" {
				params["key"] = fmt.Sprintf("AWSLogs/%s/Config/%s/%s/ConfigHistory/%s_Config_%s_ConfigHistory_%s.json.gz", a.id, region, t.Format("2006/1/2"), a.id, region, g.upper(10))
			}
			ev := g.call(a.config, t.Add(time.Duration(k)*time.Second), region, "s3", op, params)
			ev.data = op == "PutObject"
			if fail {
				denied(ev, "Access Denied")
			}
			g.emit(ev, "")
		}
	}
	if failing(fs, a.config.name, hour.Add(30*time.Minute)) {
		// the recorder retries delivery every few minutes
		for i := range 10 + g.rng.IntN(10) {
			t := hour.Add(time.Duration(i*3+g.rng.IntN(3)) * time.Minute)
			if !failing(fs, a.config.name, t) {
				continue
			}
			ev := g.call(a.config, t, region, "s3", "PutObject", map[string]any{"bucketName": b, "Host": b + ".s3.amazonaws.com",
				"key": fmt.Sprintf("AWSLogs/%s/Config/%s/%s/ConfigSnapshot/%s_Config_%s_ConfigSnapshot_%s.json.gz", a.id, region, t.Format("2006/1/2"), a.id, region, g.upper(10))})
			ev.data = true
			denied(ev, "Access Denied")
			g.emit(ev, "")
		}
	}
}

// scaling: the app's Auto Scaling group grows in the morning and shrinks
// in the evening (US East business hours), and replaces an unhealthy
// instance now and then, through its service-linked role; launching an
// instance with encrypted volumes makes it create a KMS grant.
func (g *gen) scaling(a *evalAccount, hour time.Time, fs []failure) {
	var ops []string
	switch {
	case hour.Hour() == 12 && hour.Weekday() != time.Saturday && hour.Weekday() != time.Sunday:
		ops = []string{"RunInstances", "RunInstances"}
	case hour.Hour() == 23 && hour.Weekday() != time.Saturday && hour.Weekday() != time.Sunday:
		ops = []string{"TerminateInstances", "TerminateInstances"}
	case g.rng.IntN(30) == 0:
		ops = []string{"TerminateInstances", "RunInstances"}
	case failing(fs, a.autoscaling.name, hour.Add(30*time.Minute)):
		ops = []string{"RunInstances"}
	default:
		return
	}
	t := g.at(hour)
	role := "arn:aws:iam::" + a.id + ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
	ev := g.call(a.autoscaling, t, "us-east-1", "sts", "AssumeRole", map[string]any{"roleArn": role, "roleSessionName": "AutoScaling"})
	ev.resources = []map[string]any{{"accountId": a.id, "type": "AWS::IAM::Role", "ARN": role}}
	g.emit(ev, "")
	key := "arn:aws:kms:us-east-1:" + a.id + ":key/" + principalID("", a.id+"ebs")[:8] + "-3b7e-4f0a-8c21-" + principalID("", a.id+"e")[:12]
	for i, op := range ops {
		t := t.Add(time.Duration(5+i*20) * time.Second)
		id := fmt.Sprintf("i-0%s", principalID("", a.id+t.String())[:16])
		switch op {
		case "RunInstances":
			retries := 1
			if failing(fs, a.autoscaling.name, t) {
				retries = 6 + g.rng.IntN(6) // every few minutes until someone fixes the key policy
			}
			for r := range retries {
				t := t.Add(time.Duration(r*(4+g.rng.IntN(4))) * time.Minute)
				fail := failing(fs, a.autoscaling.name, t)
				grant := g.call(a.autoscalingSLR, t, "us-east-1", "kms", "CreateGrant", map[string]any{"keyId": key, "granteePrincipal": "arn:aws:iam::" + a.id + ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
					"operations": []any{"Decrypt", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo", "CreateGrant"}})
				if fail {
					denied(grant, "User: arn:aws:sts::"+a.id+":assumed-role/AWSServiceRoleForAutoScaling/AutoScaling is not authorized to perform: kms:CreateGrant on resource: "+key)
				}
				g.emit(grant, "")
				run := g.call(a.autoscalingSLR, t.Add(2*time.Second), "us-east-1", "ec2", "RunInstances", map[string]any{
					"instancesSet":   map[string]any{"items": []any{map[string]any{"minCount": 1, "maxCount": 1}}},
					"launchTemplate": map[string]any{"launchTemplateId": "lt-0a1b2c3d4e5f60789", "version": "7"},
					"instanceType":   "t3.large", "clientToken": g.uuid()})
				if fail {
					run.errorCode, run.errorMessage = "Client.InvalidKMSKey.InvalidState", "The KMS key provided is in an incorrect state"
					g.emit(run, "")
					continue
				}
				run.response = map[string]any{"instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": id, "instanceType": "t3.large"}}}}
				g.emit(run, "")
				g.emit(g.call(a.autoscalingSLR, t.Add(4*time.Second), "us-east-1", "ec2", "CreateTags", map[string]any{"resourcesSet": map[string]any{"items": []any{map[string]any{"resourceId": id}}},
					"tagSet": map[string]any{"items": []any{map[string]any{"key": "aws:autoscaling:groupName", "value": "app-asg"}}}}), "")
				g.emit(g.call(a.autoscalingSLR, t.Add(95*time.Second), "us-east-1", "elasticloadbalancing", "RegisterTargets", map[string]any{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:" + a.id + ":targetgroup/app/6d0ecf831eec9f09", "targets": []any{map[string]any{"id": id}}}), "")
				break
			}
		case "TerminateInstances":
			g.emit(g.call(a.autoscalingSLR, t, "us-east-1", "elasticloadbalancing", "DeregisterTargets", map[string]any{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:" + a.id + ":targetgroup/app/6d0ecf831eec9f09", "targets": []any{map[string]any{"id": id}}}), "")
			g.emit(g.call(a.autoscalingSLR, t.Add(5*time.Minute), "us-east-1", "ec2", "TerminateInstances", map[string]any{"instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": id}}}}), "")
		}
	}
}

var consoleReads = []struct{ service, op string }{
	{"ec2", "DescribeInstances"}, {"ec2", "DescribeRegions"}, {"ec2", "DescribeVpcs"}, {"ec2", "DescribeSecurityGroups"},
	{"ec2", "DescribeInstanceStatus"}, {"ec2", "DescribeVolumes"}, {"ec2", "DescribeAddresses"}, {"s3", "ListBuckets"},
	{"s3", "GetBucketLocation"}, {"s3", "GetBucketPolicyStatus"}, {"s3", "GetBucketAcl"}, {"iam", "GetAccountSummary"},
	{"iam", "ListUsers"}, {"iam", "ListRoles"}, {"iam", "ListAccountAliases"}, {"iam", "GetAccountPasswordPolicy"},
	{"ce", "GetCostAndUsage"}, {"ce", "GetCostForecast"}, {"cloudtrail", "DescribeTrails"}, {"cloudtrail", "LookupEvents"},
	{"health", "DescribeEventAggregates"}, {"lambda", "ListFunctions20150331"}, {"cloudwatch", "DescribeAlarms"},
	{"cloudwatch", "GetMetricData"}, {"organizations", "DescribeOrganization"}, {"rds", "DescribeDBInstances"},
	{"logs", "DescribeLogGroups"}, {"guardduty", "ListDetectors"}, {"securityhub", "GetFindings"}, {"kms", "ListAliases"},
}

// ownerDay: the owner signs in as root in the morning (Stockholm time) on
// most days and browses the console; in the evening their script syncs the
// backups bucket (hundreds of GetObject in minutes, each SSE-KMS object
// decrypted by S3 on their behalf) and, now and then, they use the CLI.
func (g *gen) ownerDay(a *evalAccount, hour time.Time) {
	local := hour.Add(time.Hour)
	root := &persona{name: "root", kind: "Root", account: a.id, ips: []string{a.ownerIP}, agents: []string{browser}}
	if local.Hour() == 8 && g.rng.IntN(7) != 0 || local.Hour() == 19 && g.rng.IntN(4) == 0 {
		t := g.at(hour)
		g.consoleLogin(root, t, a.ownerIP, true, "")
		at := t.Add(time.Duration(10+g.rng.IntN(50)) * time.Second)
		for range 10 + g.rng.IntN(50) {
			c := pick(g, consoleReads)
			region := "eu-north-1"
			if c.service == "iam" || c.service == "ce" || c.service == "organizations" || g.rng.IntN(3) == 0 {
				region = "us-east-1"
			}
			var params map[string]any
			if c.service == "s3" && c.op != "ListBuckets" {
				b := pick(g, []string{a.bucket("backups"), a.bucket("flow-logs"), "acme-web-assets"})
				params = map[string]any{"bucketName": b, "Host": b + ".s3.amazonaws.com"}
			}
			ev := g.call(root, at, region, c.service, c.op, params)
			ev.ip, ev.agent, ev.sessionCreated = a.ownerIP, browser, t
			g.emit(ev, "")
			at = at.Add(time.Duration(5+g.rng.IntN(150)) * time.Second)
		}
	}
	if local.Hour() == 21 && g.rng.IntN(5) != 0 {
		p := a.owner
		agent := cliAgent + " md/command#s3.sync"
		t := g.at(hour)
		b := a.bucket("backups")
		n := 100 + g.rng.IntN(300)
		for i := range n {
			if i%100 == 0 {
				ev := g.call(p, t, "eu-north-1", "s3", "ListObjects", map[string]any{"bucketName": b, "Host": b + ".s3.eu-north-1.amazonaws.com", "list-type": 2, "prefix": "nightly/"})
				ev.data, ev.agent = true, agent
				g.emit(ev, "")
			}
			t = t.Add(time.Duration(100+g.rng.IntN(1500)) * time.Millisecond)
			key := fmt.Sprintf("nightly/%s/db-%04d.tar.zst", t.Format("2006-01-02"), i)
			ev := g.call(p, t, "eu-north-1", "s3", "GetObject", map[string]any{"bucketName": b, "Host": b + ".s3.eu-north-1.amazonaws.com", "key": key})
			ev.data, ev.agent = true, agent
			g.emit(ev, "")
			if g.rng.IntN(4) == 0 {
				dec := g.call(p, t, "eu-north-1", "kms", "Decrypt", map[string]any{"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
					"encryptionContext": map[string]any{"aws:s3:arn": "arn:aws:s3:::" + b + "/" + key}})
				dec.ip, dec.agent, dec.invokedBy = "s3.amazonaws.com", "s3.amazonaws.com", "s3.amazonaws.com"
				g.emit(dec, "")
			}
		}
		for range g.poisson(3) {
			c := pick(g, []struct{ service, op string }{{"sts", "GetCallerIdentity"}, {"ec2", "DescribeInstances"}, {"s3", "ListBuckets"}, {"logs", "DescribeLogGroups"}})
			ev := g.call(p, g.at(hour), "eu-north-1", c.service, c.op, nil)
			g.emit(ev, "")
		}
	}
}

// athenaReads: the analysts' Athena queries read the data lake through
// Athena, on their behalf, tens of objects in a minute or two.
func (g *gen) athenaReads(a *evalAccount) {
	for _, p := range g.personas {
		if p.account != a.id || p.kind != "IAMUser" || len(p.name) < 5 || p.name[:5] != "dave." {
			continue
		}
		for h := max(a.from, p.fromHour, p.startDay*24); h < a.until; h++ {
			hour := g.cfg.Start.Add(time.Duration(h) * time.Hour)
			local := hour.Add(time.Duration(p.tz) * time.Hour)
			if local.Weekday() == time.Saturday || local.Weekday() == time.Sunday || local.Hour() < p.start || local.Hour() >= p.end || g.rng.IntN(5) != 0 {
				continue
			}
			t := g.at(hour)
			n := 20 + g.rng.IntN(60)
			for i := range n {
				at := t.Add(time.Duration(float64(i)*math.Max(0.2, g.rng.Float64()*2)*1000) * time.Millisecond)
				ev := g.call(p, at, "eu-west-1", "s3", "GetObject", map[string]any{"bucketName": "acme-datalake", "Host": "acme-datalake.s3.eu-west-1.amazonaws.com", "key": "curated/sales/part-" + itoa(g.rng.IntN(400)) + ".parquet"})
				ev.data, ev.ip, ev.agent, ev.invokedBy = true, "athena.amazonaws.com", "athena.amazonaws.com", "athena.amazonaws.com"
				g.emit(ev, "")
			}
		}
	}
}
