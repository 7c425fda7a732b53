package cloudtrail

import (
	"strings"

	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/jsonscan"
)

// paramResource says how a request parameter names a resource.
type paramResource struct {
	typ     string
	service string // only for this eventSource ("" for any)
	arn     func(part, region, account, name string) string
}

func arnFmt(service, prefix string, regional bool) func(part, region, account, name string) string {
	return func(part, region, account, name string) string {
		if strings.HasPrefix(name, "arn:") {
			return name
		}
		if !regional {
			region = ""
		}
		return "arn:" + part + ":" + service + ":" + region + ":" + account + ":" + prefix + name
	}
}

// params lists the requestParameters keys that name the resource a call
// acts on. Keys that mean different things in different services are tied
// to one service.
var params = map[string]paramResource{
	"bucketName":                {typ: "AWS::S3::Bucket", arn: func(part, _, _, name string) string { return "arn:" + part + ":s3:::" + name }},
	"instanceId":                {typ: "AWS::EC2::Instance", service: "ec2.amazonaws.com", arn: arnFmt("ec2", "instance/", true)},
	"groupId":                   {typ: "AWS::EC2::SecurityGroup", service: "ec2.amazonaws.com", arn: arnFmt("ec2", "security-group/", true)},
	"networkAclId":              {typ: "AWS::EC2::NetworkAcl", service: "ec2.amazonaws.com", arn: arnFmt("ec2", "network-acl/", true)},
	"snapshotId":                {typ: "AWS::EC2::Snapshot", service: "ec2.amazonaws.com", arn: arnFmt("ec2", "snapshot/", true)},
	"imageId":                   {typ: "AWS::EC2::Image", service: "ec2.amazonaws.com", arn: arnFmt("ec2", "image/", true)},
	"volumeId":                  {typ: "AWS::EC2::Volume", service: "ec2.amazonaws.com", arn: arnFmt("ec2", "volume/", true)},
	"userName":                  {typ: "AWS::IAM::User", service: "iam.amazonaws.com", arn: arnFmt("iam", "user/", false)},
	"roleName":                  {typ: "AWS::IAM::Role", service: "iam.amazonaws.com", arn: arnFmt("iam", "role/", false)},
	"groupName":                 {typ: "AWS::IAM::Group", service: "iam.amazonaws.com", arn: arnFmt("iam", "group/", false)},
	"policyArn":                 {typ: "AWS::IAM::ManagedPolicy", service: "iam.amazonaws.com", arn: arnFmt("iam", "policy/", false)},
	"accessKeyId":               {typ: "AWS::IAM::AccessKey", service: "iam.amazonaws.com"},
	"roleArn":                   {typ: "AWS::IAM::Role", service: "sts.amazonaws.com", arn: arnFmt("iam", "role/", false)},
	"name":                      {typ: "AWS::CloudTrail::Trail", service: "cloudtrail.amazonaws.com", arn: arnFmt("cloudtrail", "trail/", true)},
	"trailName":                 {typ: "AWS::CloudTrail::Trail", service: "cloudtrail.amazonaws.com", arn: arnFmt("cloudtrail", "trail/", true)},
	"detectorId":                {typ: "AWS::GuardDuty::Detector", service: "guardduty.amazonaws.com", arn: arnFmt("guardduty", "detector/", true)},
	"keyId":                     {typ: "AWS::KMS::Key", service: "kms.amazonaws.com", arn: arnFmt("kms", "key/", true)},
	"secretId":                  {typ: "AWS::SecretsManager::Secret", service: "secretsmanager.amazonaws.com", arn: arnFmt("secretsmanager", "secret:", true)},
	"functionName":              {typ: "AWS::Lambda::Function", service: "lambda.amazonaws.com", arn: arnFmt("lambda", "function:", true)},
	"dBInstanceIdentifier":      {typ: "AWS::RDS::DBInstance", service: "rds.amazonaws.com", arn: arnFmt("rds", "db:", true)},
	"dBSnapshotIdentifier":      {typ: "AWS::RDS::DBSnapshot", service: "rds.amazonaws.com", arn: arnFmt("rds", "snapshot:", true)},
	"configurationRecorderName": {typ: "AWS::Config::ConfigurationRecorder", service: "config.amazonaws.com"},
	"topicArn":                  {typ: "AWS::SNS::Topic", service: "sns.amazonaws.com"},
	"queueUrl":                  {typ: "AWS::SQS::Queue", service: "sqs.amazonaws.com"},
}

// resources collects what the record says it touched: the resources[] list
// first, then resources named by request parameters, then resources the
// call created (RunInstances, CreateAccessKey).
func resources(rec []byte, r *record, ev *event.Event) {
	if r.resources.ok() && rec[r.resources.s] == '[' {
		_, _ = jsonscan.ArrayEach(rec[:r.resources.e], r.resources.s, func(vs, ve int) error {
			if rec[vs] != '{' {
				return nil
			}
			var res event.Resource
			_, _ = jsonscan.ObjectEach(rec, vs, func(k []byte, _ bool, vs, ve int) error {
				switch string(k) {
				case "ARN", "arn":
					res.UID = str(rec, vs, ve)
				case "type":
					res.Type = str(rec, vs, ve)
				case "accountId":
					res.Account = str(rec, vs, ve)
				}
				return nil
			})
			if res.UID != "" {
				res.Name = arnName(res.UID)
				addResource(ev, res)
			}
			return nil
		})
	}
	part, region, account := ev.Cloud.Partition, ev.Cloud.Region, ev.Cloud.Account
	if r.req.ok() && rec[r.req.s] == '{' {
		_, _ = jsonscan.ObjectEach(rec[:r.req.e], r.req.s, func(k []byte, _ bool, vs, ve int) error {
			if string(k) == "instancesSet" {
				jsonscan.Each(rec[:ve], vs, "items.instanceId", func(vs, ve int) bool {
					addParam(ev, params["instanceId"], str(rec, vs, ve), part, region, account)
					return true
				})
				return nil
			}
			p, ok := params[string(k)]
			if !ok || p.service != "" && p.service != ev.API.Service {
				return nil
			}
			addParam(ev, p, str(rec, vs, ve), part, region, account)
			return nil
		})
	}
	switch ev.API.Operation {
	case "RunInstances":
		if r.resp.ok() {
			jsonscan.Each(rec[:r.resp.e], r.resp.s, "instancesSet.items.instanceId", func(vs, ve int) bool {
				addParam(ev, params["instanceId"], str(rec, vs, ve), part, region, account)
				return true
			})
		}
	case "CreateAccessKey":
		if id := lookupStr(rec, r.resp, "accessKey.accessKeyId"); id != "" {
			addResource(ev, event.Resource{Type: "AWS::IAM::AccessKey", Name: id, Account: account})
		}
	}
}

func addParam(ev *event.Event, p paramResource, name, part, region, account string) {
	if name == "" {
		return
	}
	res := event.Resource{Type: p.typ, Name: name, Account: account}
	if p.arn != nil {
		res.UID = p.arn(part, region, account, name)
		if strings.HasPrefix(name, "arn:") {
			res.Name = arnName(name)
		}
	} else if strings.HasPrefix(name, "arn:") {
		res.UID, res.Name = name, arnName(name)
	}
	if p.typ == "AWS::S3::Bucket" {
		res.Account = "" // bucket ARNs carry no account; the owner may be another
	}
	addResource(ev, res)
}

func addResource(ev *event.Event, res event.Resource) {
	for _, have := range ev.Resources {
		if res.UID != "" && have.UID == res.UID || res.UID == "" && have.Type == res.Type && have.Name == res.Name {
			return
		}
	}
	ev.Resources = append(ev.Resources, res)
}

// arnName is the last part of an ARN's resource: the bucket of
// arn:aws:s3:::bucket, the instance id of …:instance/i-123.
func arnName(arn string) string {
	if k := strings.LastIndexAny(arn, ":/"); k >= 0 && k+1 < len(arn) {
		return arn[k+1:]
	}
	return arn
}
