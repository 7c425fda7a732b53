package demo

import (
	"fmt"
	"strings"
	"time"
)

const (
	attackerIP    = "45.137.21.9"
	attackerAgent = "Boto3/1.26.0 Python/3.10.12 Linux/6.5.0-kali3-amd64 Botocore/1.29.0"
	stolenKey     = "AKIAEXAMPLEFRANK0006"
	newKey        = "AKIAEXAMPLENEWKEY010"
)

func (g *gen) persona(name string) *persona {
	for _, p := range g.personas {
		if p.name == name {
			return p
		}
	}
	panic("demo: no persona " + name)
}

func (g *gen) day(d, h, m int) time.Time {
	return g.cfg.Start.Add(time.Duration(d*24+h)*time.Hour + time.Duration(m)*time.Minute)
}

// stories embeds the attacks. Every record they add is labelled.
func (g *gen) stories() {
	g.sshOpen(g.day(1, 21, 40))
	g.publicBucket(g.day(2, 14, 12))
	g.keyCompromise(g.day(3, 10, 5))
	g.cryptomining(g.day(3, 10, 31))
	g.instanceCredentials(g.day(4, 3, 12))
	g.exfiltration(g.day(4, 23, 10))
	g.policyVersion(g.day(2, 20, 35))
	g.deployTiers(g.day(0, 7, 50))
}

// deployTiers: Monday morning's deploy (background, not a story): the CI
// role relaunches the web and app tiers. The launch records say which
// interface, address and security group each instance has, as
// RunInstances responses do.
func (g *gen) deployTiers(t time.Time) {
	ci := g.persona("ci-deploy")
	for k, tier := range [][]instance{g.instances[:2], g.instances[2:]} {
		var items []any
		for _, in := range tier {
			items = append(items, map[string]any{
				"instanceId": in.id, "instanceType": "m6i.large", "imageId": "ami-0a1b2c3d4e5f60718", "privateIpAddress": in.ip, "subnetId": in.subnet,
				"currentState": map[string]any{"code": 0, "name": "pending"},
				"networkInterfaceSet": map[string]any{"items": []any{map[string]any{"networkInterfaceId": in.eni, "subnetId": in.subnet, "privateIpAddress": in.ip,
					"groupSet": map[string]any{"items": []any{map[string]any{"groupId": in.sg}}}}}},
				"groupSet": map[string]any{"items": []any{map[string]any{"groupId": in.sg, "groupName": strings.TrimSuffix(in.name, "-1")}}},
			})
		}
		ev := g.call(ci, t.Add(time.Duration(k)*time.Minute), "us-east-1", "ec2", "RunInstances",
			map[string]any{"instancesSet": map[string]any{"items": []any{map[string]any{"imageId": "ami-0a1b2c3d4e5f60718", "minCount": 2, "maxCount": 2}}},
				"instanceType": "m6i.large", "groupSet": map[string]any{"items": []any{map[string]any{"groupId": tier[0].sg}}}})
		ev.response = map[string]any{"instancesSet": map[string]any{"items": items}, "ownerId": prodAccount, "requestId": g.uuid()}
		g.emit(ev, "")
	}
}

// instanceCredentials: the app instance's role credentials, read from its
// metadata service through a server-side request forgery, are used from a
// rented server outside AWS to look around.
func (g *gen) instanceCredentials(t time.Time) {
	const story = "instance-credentials"
	const ip = "193.142.147.209"
	role := g.persona("ec2-app")
	app := g.instances[2]
	steps := []struct {
		service, op string
		params      map[string]any
		denied      bool
	}{
		{"sts", "GetCallerIdentity", nil, false},
		{"s3", "ListBuckets", nil, false},
		{"iam", "ListRoles", nil, true},
		{"ec2", "DescribeInstances", nil, false},
		{"secretsmanager", "ListSecrets", nil, true},
		{"s3", "ListObjects", map[string]any{"bucketName": "acme-customer-data", "Host": "acme-customer-data.s3.amazonaws.com"}, false},
	}
	for i, s := range steps {
		ev := g.call(role, t.Add(time.Duration(i*23)*time.Second), "us-east-1", s.service, s.op, s.params)
		ev.sessionName, ev.ip, ev.agent = app.id, ip, "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.8"
		if s.denied {
			ev.errorCode = "AccessDenied"
			ev.errorMessage = "User: arn:aws:sts::" + prodAccount + ":assumed-role/ec2-app/" + app.id + " is not authorized to perform: " + s.service + ":" + s.op
		}
		g.emit(ev, story)
	}
}

// sshOpen: an admin opens SSH to the world on the web tier; within minutes
// scanners get in.
func (g *gen) sshOpen(t time.Time) {
	const story = "ssh-open"
	bob := g.persona("bob")
	ev := g.call(bob, t, "us-east-1", "ec2", "AuthorizeSecurityGroupIngress", sgIngress("sg-0web0000000000001", 22, "0.0.0.0/0"))
	ev.agent = cliLinux
	ev.response = map[string]any{"_return": true, "securityGroupRuleSet": map[string]any{"items": []any{map[string]any{
		"groupId": "sg-0web0000000000001", "groupOwnerId": prodAccount, "isEgress": false, "ipProtocol": "tcp",
		"fromPort": 22, "toPort": 22, "cidrIpv4": "0.0.0.0/0", "securityGroupRuleId": "sgr-0ssh00000000000001"}}}}
	g.emit(ev, story)
	for i := range 14 {
		w := g.instances[i%2]
		g.addFlow(flow{t: t.Add(time.Duration(4+i*11) * time.Minute), inst: w, dir: "ingress", src: g.publicIP(), dst: w.ip,
			sport: 40000 + g.rng.IntN(20000), dport: 22, proto: 6, packets: int64(12 + g.rng.IntN(40)), bytes: int64(2000 + g.rng.IntN(6000)), action: "ACCEPT", flags: 19}, story)
	}
}

// publicBucket: the finance user, who never touches S3, signs in from an
// address never seen and opens the finance bucket to everyone.
func (g *gen) publicBucket(t time.Time) {
	const story = "public-bucket"
	const ip, bucket = "185.220.101.34", "acme-finance-reports"
	grace := g.persona("grace")
	g.consoleLogin(grace, t, ip, true, story)
	step := func(d time.Duration, op string, params map[string]any) {
		ev := g.call(grace, t.Add(d), "us-east-1", "s3", op, params)
		ev.ip, ev.agent = ip, "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.750 Linux/5.10.223 OpenJDK_64-Bit_Server_VM/25.412-b09 java/1.8.0_412 vendor/Oracle_Corporation cfg/retry-mode/standard]"
		g.emit(ev, story)
	}
	b := map[string]any{"bucketName": bucket, "Host": bucket + ".s3.amazonaws.com"}
	step(40*time.Second, "ListBuckets", nil)
	step(75*time.Second, "GetBucketPolicy", map[string]any{"bucketName": bucket, "Host": bucket + ".s3.amazonaws.com", "policy": ""})
	step(2*time.Minute, "GetBucketAcl", map[string]any{"bucketName": bucket, "Host": bucket + ".s3.amazonaws.com", "acl": ""})
	step(3*time.Minute, "PutBucketPolicy", map[string]any{
		"bucketName": bucket, "Host": bucket + ".s3.amazonaws.com", "policy": "",
		"bucketPolicy": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + bucket + "/*"}}},
	})
	step(4*time.Minute, "GetBucketPolicyStatus", b)
}

// keyCompromise: frank's key, at two in the morning his time, from a
// hosting provider's network, enumerates IAM and mints a key for erin.
func (g *gen) keyCompromise(t time.Time) {
	const story = "key-compromise"
	frank := g.persona("frank")
	steps := []struct {
		service, op string
		params      map[string]any
		denied      bool
	}{
		{"sts", "GetCallerIdentity", nil, false},
		{"iam", "ListUsers", nil, false},
		{"iam", "ListRoles", nil, false},
		{"iam", "ListGroups", nil, false},
		{"iam", "ListAttachedUserPolicies", map[string]any{"userName": "frank"}, false},
		{"iam", "GetAccountAuthorizationDetails", nil, true},
		{"iam", "ListPolicies", map[string]any{"onlyAttached": true}, false},
		{"s3", "ListBuckets", nil, false},
		{"iam", "ListAccessKeys", map[string]any{"userName": "erin"}, false},
		{"iam", "CreateAccessKey", map[string]any{"userName": "erin"}, false},
	}
	for i, s := range steps {
		ev := g.call(frank, t.Add(time.Duration(i*17)*time.Second), "us-east-1", s.service, s.op, s.params)
		ev.ip, ev.agent, ev.keyID = attackerIP, attackerAgent, stolenKey
		if s.denied {
			ev.errorCode = "AccessDenied"
			ev.errorMessage = "User: arn:aws:iam::" + prodAccount + ":user/frank is not authorized to perform: iam:GetAccountAuthorizationDetails on resource: *"
		}
		if s.op == "CreateAccessKey" {
			ev.response = map[string]any{"accessKey": map[string]any{"accessKeyId": newKey, "status": "Active", "userName": "erin", "createDate": ev.t.Format("Jan 2, 2006 3:04:05 PM")}}
		}
		g.emit(ev, story)
	}
}

// cryptomining: with erin's new key the attacker launches GPU instances in
// three regions; those in the logged VPC connect to mining pools for hours.
func (g *gen) cryptomining(t time.Time) {
	const story = "cryptomining"
	erin := g.persona("erin")
	act := func(d time.Duration, region, service, op string, params, resp map[string]any) {
		ev := g.call(erin, t.Add(d), region, service, op, params)
		ev.ip, ev.agent, ev.keyID, ev.response = attackerIP, attackerAgent, newKey, resp
		g.emit(ev, story)
	}
	act(0, "us-east-1", "ec2", "DescribeRegions", nil, nil)
	var miners []instance
	for ri, region := range []string{"us-east-1", "us-west-2", "eu-west-1"} {
		for batch := range 2 {
			typ := []string{"p3.2xlarge", "g4dn.12xlarge"}[batch]
			var items []any
			for k := range 4 {
				id := fmt.Sprintf("i-0c0ffee%02d%02d%06d", ri, batch, k)
				item := map[string]any{"instanceId": id, "instanceType": typ, "imageId": "ami-0b5eea76982371e91", "currentState": map[string]any{"code": 0, "name": "pending"}}
				if region == "us-east-1" {
					m := instance{id: id, eni: "eni-0c0ffee" + id[8:], ip: fmt.Sprintf("10.20.1.%d", 100+len(miners)), subnet: "subnet-0pub1"}
					miners = append(miners, m)
					item["privateIpAddress"], item["subnetId"] = m.ip, m.subnet
					item["networkInterfaceSet"] = map[string]any{"items": []any{map[string]any{"networkInterfaceId": m.eni, "subnetId": m.subnet, "privateIpAddress": m.ip}}}
				}
				items = append(items, item)
			}
			act(time.Duration(60+ri*90+batch*30)*time.Second, region, "ec2", "RunInstances",
				map[string]any{"instancesSet": map[string]any{"items": []any{map[string]any{"imageId": "ami-0b5eea76982371e91", "minCount": 4, "maxCount": 4}}}, "instanceType": typ, "blockDeviceMapping": map[string]any{}, "monitoring": map[string]any{"enabled": false}, "disableApiTermination": false},
				map[string]any{"instancesSet": map[string]any{"items": items}, "ownerId": prodAccount, "requestId": g.uuid()})
		}
	}
	pools := []struct {
		ip   string
		port int
	}{{"192.0.2.10", 3333}, {"192.0.2.11", 4444}, {"192.0.2.12", 14444}}
	for _, m := range miners {
		pool := pick(g, pools)
		for k := range 48 { // every ten minutes for eight hours
			pk := int64(150 + g.rng.IntN(300))
			g.addFlow(flow{t: t.Add(time.Duration(8+k*10)*time.Minute + time.Duration(g.rng.IntN(60))*time.Second), inst: m, dir: "egress", src: m.ip, dst: pool.ip,
				sport: 50000 + g.rng.IntN(10000), dport: pool.port, proto: 6, packets: pk, bytes: pk * 180, action: "ACCEPT", flags: 3}, story)
		}
	}
}

// exfiltration: late on Friday, the app instance's role reads 900 customer
// exports in twelve minutes, and the instance then sends gigabytes out.
func (g *gen) exfiltration(t time.Time) {
	const story = "exfiltration"
	role := g.persona("ec2-app")
	app := g.instances[2]
	for i := range 900 {
		key := fmt.Sprintf("exports/customer-%04d.csv.gz", i)
		ev := g.call(role, t.Add(time.Duration(i*800)*time.Millisecond), "us-east-1", "s3", "GetObject",
			map[string]any{"bucketName": "acme-customer-data", "Host": "acme-customer-data.s3.amazonaws.com", "key": key})
		ev.data, ev.sessionName, ev.ip = true, app.id, "54.210.33.10"
		ev.addl = map[string]any{"bytesTransferredOut": 4_200_000 + g.rng.IntN(2_000_000), "bytesTransferredIn": 0}
		g.emit(ev, story)
	}
	for k := range 12 {
		pk := int64(350_000 + g.rng.IntN(120_000))
		g.addFlow(flow{t: t.Add(time.Duration(14+k*2) * time.Minute), inst: app, dir: "egress", src: app.ip, dst: "192.0.2.77",
			sport: 51514, dport: 443, proto: 6, packets: pk, bytes: pk * 1400, action: "ACCEPT", flags: 3}, story)
	}
}

// policyVersion: the CI role's session, from an address it never used,
// reads its own policy and writes a new default version of it that
// allows everything: the first (and only) step of the path from
// ci-deploy to administrator that parapet paths finds in Acme's IAM
// (iam.go).
func (g *gen) policyVersion(t time.Time) {
	const story = "policy-version"
	const ip = "146.70.88.21"
	ci := g.persona("ci-deploy")
	policy := "arn:aws:iam::" + prodAccount + ":policy/ci-deploy"
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	steps := []struct {
		service, op string
		params      map[string]any
	}{
		{"sts", "GetCallerIdentity", nil},
		{"iam", "ListAttachedRolePolicies", map[string]any{"roleName": "ci-deploy"}},
		{"iam", "GetPolicyVersion", map[string]any{"policyArn": policy, "versionId": "v3"}},
		{"iam", "CreatePolicyVersion", map[string]any{"policyArn": policy, "policyDocument": doc, "setAsDefault": true}},
	}
	for i, s := range steps {
		ev := g.call(ci, t.Add(time.Duration(i*41)*time.Second), "us-east-1", s.service, s.op, s.params)
		ev.ip, ev.agent, ev.sessionName = ip, "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.11.8", "GitHubActions"
		if s.op == "ListAttachedRolePolicies" {
			// ci-deploy may not list its own policies: the attacker guesses.
			ev.errorCode = "AccessDenied"
			ev.errorMessage = "User: arn:aws:sts::" + prodAccount + ":assumed-role/ci-deploy/GitHubActions is not authorized to perform: iam:ListAttachedRolePolicies"
		}
		if s.op == "CreatePolicyVersion" {
			ev.response = map[string]any{"policyVersion": map[string]any{"versionId": "v4", "isDefaultVersion": true}}
		}
		g.emit(ev, story)
	}
}
