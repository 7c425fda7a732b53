package enrich

import (
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
)

func decodeOne(t *testing.T, rec string) event.Event {
	t.Helper()
	var evs []event.Event
	ingest.DecodeJSON([]byte(rec), func(e *event.Event) { evs = append(evs, *e) }, func(err error) { t.Fatalf("decode: %v", err) })
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	return evs[0]
}

func ct(name, source, req string) string {
	return `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAIOSFODNN7EXAMPLE","userName":"alice"},` +
		`"eventTime":"2026-11-20T10:00:00Z","eventSource":"` + source + `","eventName":"` + name + `","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15.30",` +
		`"requestParameters":` + req + `,"responseElements":null,"requestID":"r","eventID":"e-` + name + `","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333"}`
}

func field(ev *event.Event, name string) string {
	var out []string
	ev.Each("parapet."+name, func(v event.Value) bool { out = append(out, v.String()); return true })
	return strings.Join(out, ",")
}

func TestRequestFacts(t *testing.T) {
	r := NewRequests(NewAccounts([]string{"111122223333", "222233334444"}, []string{"o-mine"}))
	tests := []struct {
		name   string
		rec    string
		fields map[string]string
	}{
		{"public bucket policy (object)", ct("PutBucketPolicy", "s3.amazonaws.com", `{"bucketName":"acme-web","bucketPolicy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-web/*"}]}}`),
			map[string]string{"policy.public": "true", "policy.allows_all_actions": "false", "policy.foreign": "false"}},
		{"wildcard with an org condition is not public", ct("PutBucketPolicy", "s3.amazonaws.com", `{"bucketName":"acme-web","bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-mine"}}}]}}`),
			map[string]string{"policy.public": "false"}},
		{"key policy (string) granting a foreign account", ct("PutKeyPolicy", "kms.amazonaws.com", `{"keyId":"k","policyName":"default","policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::999988887777:root\"},\"Action\":\"kms:Decrypt\",\"Resource\":\"*\"}]}"}`),
			map[string]string{"policy.public": "false", "policy.foreign": "true", "policy.foreign_accounts": "999988887777"}},
		{"inline policy allowing everything", ct("PutUserPolicy", "iam.amazonaws.com", `{"userName":"bob","policyName":"p","policyDocument":"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}`),
			map[string]string{"policy.allows_all_actions": "true"}},
		{"SNS policy only through SetTopicAttributes Policy", ct("SetTopicAttributes", "sns.amazonaws.com", `{"topicArn":"arn:aws:sns:us-east-1:111122223333:t","attributeName":"DisplayName","attributeValue":"x"}`),
			map[string]string{"policy.public": ""}},
		{"AMI shared with everyone", ct("ModifyImageAttribute", "ec2.amazonaws.com", `{"imageId":"ami-0123456789abcdef0","launchPermission":{"add":{"items":[{"group":"all"}]}},"attributeType":"launchPermission"}`),
			map[string]string{"share.public": "true", "share.foreign": "true"}},
		{"snapshot shared with a foreign and an own account", ct("ModifySnapshotAttribute", "ec2.amazonaws.com", `{"snapshotId":"snap-0123456789abcdef0","createVolumePermission":{"add":{"items":[{"userId":"999988887777"},{"userId":"222233334444"}]}},"attributeType":"CREATE_VOLUME_PERMISSION"}`),
			map[string]string{"share.public": "false", "share.foreign": "true", "share.accounts": "222233334444,999988887777", "share.foreign_accounts": "999988887777"}},
		{"an empty share list is not a share", ct("ModifySnapshotAttribute", "ec2.amazonaws.com", `{"snapshotId":"snap-0123456789abcdef0","createVolumePermission":{"remove":{"items":[{"userId":"999988887777"}]}},"attributeType":"CREATE_VOLUME_PERMISSION"}`),
			map[string]string{"share.public": "", "share.foreign": ""}},
		{"RDS snapshot restore to all", ct("ModifyDBSnapshotAttribute", "rds.amazonaws.com", `{"dBSnapshotIdentifier":"s","attributeName":"restore","valuesToAdd":["all"]}`),
			map[string]string{"share.public": "true"}},
		{"KMS grant to a known account", ct("CreateGrant", "kms.amazonaws.com", `{"keyId":"k","granteePrincipal":"arn:aws:iam::222233334444:role/app","operations":["Decrypt"]}`),
			map[string]string{"share.foreign": "false", "share.accounts": "222233334444"}},
		{"Lambda permission to a service is no account", ct("AddPermission", "lambda.amazonaws.com", `{"functionName":"f","statementId":"s","action":"lambda:InvokeFunction","principal":"s3.amazonaws.com"}`),
			map[string]string{"share.foreign": ""}},
		{"Lambda permission to everyone, versioned event name", ct("AddPermission20150331v2", "lambda.amazonaws.com", `{"functionName":"f","statementId":"s","action":"lambda:InvokeFunction","principal":"*"}`),
			map[string]string{"share.public": "true", "share.foreign": "true"}},
		{"Lambda permission to everyone from one source ARN is not public", ct("AddPermission20150331v2", "lambda.amazonaws.com", `{"functionName":"f","statementId":"s","action":"lambda:InvokeFunction","principal":"*","sourceArn":"arn:aws:execute-api:us-east-1:111122223333:abcdef1234/*"}`),
			map[string]string{"share.public": "false", "share.foreign": ""}},
		{"Lambda permission to a foreign account", ct("AddPermission20150331v2", "lambda.amazonaws.com", `{"functionName":"f","statementId":"s","action":"lambda:InvokeFunction","principal":"999988887777"}`),
			map[string]string{"share.public": "false", "share.foreign": "true", "share.foreign_accounts": "999988887777"}},
		{"SNS AddPermission is no Lambda share", ct("AddPermission", "sns.amazonaws.com", `{"topicArn":"arn:aws:sns:us-east-1:111122223333:t","label":"l","principal":"*"}`),
			map[string]string{"share.public": ""}},
		{"Object Lambda access point policy", ct("PutAccessPointPolicyForObjectLambda", "s3.amazonaws.com", `{"PutAccessPointPolicyForObjectLambdaRequest":{"Policy":"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3-object-lambda:GetObject\",\"Resource\":\"*\"}]}"},"name":"olap"}`),
			map[string]string{"policy.public": "true"}},
		{"SSH to the world, items form", ct("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", `{"groupId":"sg-0123456789abcdef0","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}`),
			map[string]string{"ingress.internet": "true", "ingress.ports": "22", "ingress.all_traffic": "false"}},
		{"a range covering RDP from ::/0", ct("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", `{"groupId":"sg-0123456789abcdef0","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":3000,"toPort":3400,"ipv6Ranges":{"items":[{"cidrIpv6":"::/0"}]}}]}}`),
			map[string]string{"ingress.internet": "true", "ingress.ports": "3306,3389"}},
		{"any /0 is the internet (older top-level form)", ct("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", `{"groupId":"sg-0123456789abcdef0","ipProtocol":"-1","cidrIp":"10.1.2.3/0"}`),
			map[string]string{"ingress.internet": "true", "ingress.all_traffic": "true"}},
		{"a private range is not the internet", ct("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", `{"groupId":"sg-0123456789abcdef0","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"10.0.0.0/8"}]}}]}}`),
			map[string]string{"ingress.internet": "false", "ingress.ports": ""}},
		{"ModifySecurityGroupRules to 0.0.0.0/0", ct("ModifySecurityGroupRules", "ec2.amazonaws.com", `{"ModifySecurityGroupRulesRequest":{"GroupId":"sg-0123456789abcdef0","SecurityGroupRule":{"SecurityGroupRuleId":"sgr-0123456789abcdef0","SecurityGroupRule":{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"CidrIpv4":"0.0.0.0/0"},"tag":1}}}`),
			map[string]string{"ingress.internet": "true", "ingress.ports": "22"}},
		{"GetParameters counts its names", ct("GetParameters", "ssm.amazonaws.com", `{"names":["/a","/b","/c"],"withDecryption":true}`),
			map[string]string{"request.items": "3", "request.names": "/a,/b,/c"}},
		{"GetSecretValue names its secret", ct("GetSecretValue", "secretsmanager.amazonaws.com", `{"secretId":"prod/db"}`),
			map[string]string{"request.names": "prod/db"}},
		{"BatchGetSecretValue names each secret once", ct("BatchGetSecretValue", "secretsmanager.amazonaws.com", `{"secretIdList":["a","b","a"]}`),
			map[string]string{"request.items": "3", "request.names": "a,b"}},
		{"BatchGetSecretValue by filters", ct("BatchGetSecretValue", "secretsmanager.amazonaws.com", `{"filters":[{"key":"name","values":["prod/"]}]}`),
			map[string]string{"request.names": `filters:[{"key":"name","values":["prod/"]}]`}},
		{"a parameter write names nothing read", ct("PutParameter", "ssm.amazonaws.com", `{"name":"/a","type":"SecureString","overwrite":true}`),
			map[string]string{"request.names": ""}},
		{"SQS AddPermission to a foreign account", ct("AddPermission", "sqs.amazonaws.com", `{"queueUrl":"https://sqs.us-east-1.amazonaws.com/111122223333/q","label":"l","aWSAccountIds":["999988887777","222233334444"],"actions":["SendMessage"]}`),
			map[string]string{"share.foreign": "true", "share.foreign_accounts": "999988887777", "share.public": "false"}},
		{"SNS AddPermission to a known account", ct("AddPermission", "sns.amazonaws.com", `{"topicArn":"arn:aws:sns:us-east-1:111122223333:t","label":"l","aWSAccountId":["222233334444"],"actionName":["Publish"]}`),
			map[string]string{"share.foreign": "false", "share.accounts": "222233334444"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := decodeOne(t, tc.rec)
			r.Enrich(&ev)
			for k, want := range tc.fields {
				if got := field(&ev, k); got != want {
					t.Errorf("parapet.%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// Without a configured list, the accounts records were delivered for are
// the known ones.
func TestAccountsLearned(t *testing.T) {
	r := NewRequests(nil)
	share := ct("ModifySnapshotAttribute", "ec2.amazonaws.com", `{"snapshotId":"snap-0123456789abcdef0","createVolumePermission":{"add":{"items":[{"userId":"444455556666"}]}}}`)
	ev := decodeOne(t, share)
	r.Enrich(&ev)
	if got := field(&ev, "share.foreign"); got != "true" {
		t.Fatalf("before 444455556666 was seen: share.foreign = %q", got)
	}
	other := decodeOne(t, strings.ReplaceAll(ct("ListBuckets", "s3.amazonaws.com", `{}`), `"recipientAccountId":"111122223333"`, `"recipientAccountId":"444455556666"`))
	r.Enrich(&other)
	ev = decodeOne(t, share)
	r.Enrich(&ev)
	if got := field(&ev, "share.foreign"); got != "false" {
		t.Errorf("after 444455556666 was seen: share.foreign = %q", got)
	}
}

func TestIdentityClass(t *testing.T) {
	for _, tc := range []struct {
		actor event.Actor
		want  string
	}{
		{event.Actor{Type: "IAMUser"}, "person"},
		{event.Actor{Type: "AssumedRole", SessionIssuerARN: "arn:aws:iam::111122223333:role/ci"}, "person"},
		{event.Actor{Type: "AssumedRole", SessionIssuerARN: "arn:aws:iam::111122223333:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"}, "service"},
		{event.Actor{Type: "AWSService", InvokedBy: "cloudtrail.amazonaws.com"}, "service"},
		{event.Actor{Type: "IAMUser", InvokedBy: "cloudformation.amazonaws.com"}, "aws_on_behalf"},
		{event.Actor{Type: "AssumedRole", InvokedBy: "AWS Internal"}, "aws_on_behalf"},
		{event.Actor{Type: "Root", InvokedBy: "signin.amazonaws.com"}, "root"},
		{event.Actor{Type: "Root"}, "root"},
	} {
		if got := tc.actor.Class(); got != tc.want {
			t.Errorf("Class(%+v) = %q, want %q", tc.actor, got, tc.want)
		}
	}
}
