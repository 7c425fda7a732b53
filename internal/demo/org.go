package demo

import "time"

// The simulated organization: Acme, two AWS accounts, ten people and the
// roles their software runs as. Everything here is invented; IP addresses
// come from documentation ranges where a real owner would matter.

const (
	prodAccount = "111122223333"
	devAccount  = "444455556666"
)

var regions = []string{"us-east-1", "eu-west-1", "us-west-2"}

// call is one API a persona makes, with a relative weight.
type call struct {
	service string // eventSource prefix, e.g. "s3"
	op      string
	weight  int
	params  func(g *gen, p *persona) map[string]any // request parameters
	data    bool                                    // an S3 data event
}

// persona is an identity and its habits.
type persona struct {
	name     string
	kind     string // IAMUser, AssumedRole, AWSService
	account  string
	role     string // for AssumedRole: the role name
	keyID    string // long-term key for IAM users
	tz       int    // hours from UTC
	start    int    // working hours, local
	end      int
	weekends bool // works on weekends too
	always   bool // a service: active around the clock
	perHour  float64
	ips      []string
	agents   []string
	region   []int // indexes into regions, first is home
	calls    []call
	console  bool // signs in to the console each working day
	// The evaluation set's noise: a principal that appears on startDay
	// (a new employee, a new CI role), travels (its addresses are
	// travelIPs from travelFrom to travelTo, days), or is busy one day
	// (busyDay, from 1; a deploy day: five times the calls).
	startDay             int
	travelFrom, travelTo int
	travelIPs            []string
	busyDay              int
	// The evaluation set's short-lived accounts: the persona acts only
	// from hour fromHour to untilHour (hours from the start; untilHour 0:
	// to the end).
	fromHour, untilHour int
	// AWS's service-linked roles: the role's path, the fixed session name
	// and the service that makes the calls (invokedBy).
	rolePath, session, invokedBy string
}

var (
	cliAgent     = "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/macos#23.4.0 md/arch#arm64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe"
	cliLinux     = "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0-1016 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard"
	consoleAgent = "AWS Internal"
	browser      = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
	boto3Agent   = "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#5.10.219-208.866.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.84"
	goSDKAgent   = "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/s3#1.58.2"
	tfAgent      = "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.62.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5"
	ghAgent      = "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.5.0-1025-azure md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython exec-env/GitHub-Actions cfg/retry-mode#standard"
)

var officeIPs = []string{"203.0.113.10", "203.0.113.11", "203.0.113.12", "203.0.113.14"}

func bucketParam(buckets ...string) func(g *gen, p *persona) map[string]any {
	return func(g *gen, _ *persona) map[string]any {
		b := buckets[g.rng.IntN(len(buckets))]
		return map[string]any{"bucketName": b, "Host": b + ".s3.amazonaws.com"}
	}
}

func objectParam(bucket, prefix string, n int) func(g *gen, p *persona) map[string]any {
	return func(g *gen, _ *persona) map[string]any {
		return map[string]any{"bucketName": bucket, "Host": bucket + ".s3.amazonaws.com", "key": prefix + itoa(g.rng.IntN(n)) + ".parquet"}
	}
}

func instanceParam(g *gen, _ *persona) map[string]any {
	id := g.instances[g.rng.IntN(len(g.instances))].id
	return map[string]any{"instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": id}}}}
}

func noParams(*gen, *persona) map[string]any { return nil }

func userParam(g *gen, _ *persona) map[string]any {
	return map[string]any{"userName": g.personas[g.rng.IntN(10)].name}
}

func roleParam(names ...string) func(g *gen, p *persona) map[string]any {
	return func(g *gen, _ *persona) map[string]any {
		return map[string]any{"roleName": names[g.rng.IntN(len(names))]}
	}
}

func fnParam(g *gen, _ *persona) map[string]any {
	return map[string]any{"functionName": []string{"orders-api", "invoice-render", "thumbnailer"}[g.rng.IntN(3)]}
}

// personas builds the cast. Access key ids are invented and follow AWS's
// shape (AKIA + 16 characters) so that they look right in tables.
func personas() []*persona {
	readS3 := []call{
		{service: "s3", op: "ListBuckets", weight: 2, params: noParams},
		{service: "s3", op: "GetBucketLocation", weight: 1, params: bucketParam("acme-app-artifacts", "acme-web-assets")},
	}
	dev := append([]call{
		{service: "lambda", op: "ListFunctions20150331", weight: 4, params: noParams},
		{service: "lambda", op: "GetFunction20150331v2", weight: 3, params: fnParam},
		{service: "lambda", op: "UpdateFunctionConfiguration20150331v2", weight: 1, params: fnParam},
		{service: "logs", op: "FilterLogEvents", weight: 6, params: func(g *gen, _ *persona) map[string]any {
			return map[string]any{"logGroupName": "/aws/lambda/orders-api"}
		}},
		{service: "logs", op: "DescribeLogGroups", weight: 2, params: noParams},
		{service: "dynamodb", op: "DescribeTable", weight: 2, params: func(*gen, *persona) map[string]any { return map[string]any{"tableName": "orders"} }},
		{service: "sts", op: "GetCallerIdentity", weight: 1, params: noParams},
		{service: "cloudformation", op: "DescribeStacks", weight: 2, params: noParams},
	}, readS3...)
	return []*persona{
		{name: "alice", kind: "IAMUser", account: prodAccount, keyID: "AKIAEXAMPLEALICE0001", tz: 1, start: 9, end: 18, perHour: 14, ips: []string{"203.0.113.10", "203.0.113.11", "198.51.100.41"}, agents: []string{cliAgent, browser}, region: []int{1, 0}, calls: dev, console: true},
		{name: "bob", kind: "IAMUser", account: prodAccount, keyID: "AKIAEXAMPLEBOB000002", tz: -5, start: 8, end: 17, perHour: 16, ips: []string{"198.51.100.52", "198.51.100.53"}, agents: []string{cliLinux, tfAgent}, region: []int{0, 2}, calls: []call{
			{service: "ec2", op: "DescribeInstances", weight: 8, params: noParams},
			{service: "ec2", op: "DescribeSecurityGroups", weight: 4, params: noParams},
			{service: "ec2", op: "DescribeVpcs", weight: 2, params: noParams},
			{service: "ec2", op: "DescribeSubnets", weight: 2, params: noParams},
			{service: "ec2", op: "RebootInstances", weight: 1, params: instanceParam},
			{service: "elasticloadbalancing", op: "DescribeTargetHealth", weight: 3, params: noParams},
			{service: "autoscaling", op: "DescribeAutoScalingGroups", weight: 2, params: noParams},
			{service: "ec2", op: "AuthorizeSecurityGroupIngress", weight: 1, params: func(g *gen, _ *persona) map[string]any {
				return sgIngress("sg-0a1b2c3d4e5f60718", 5432, "10.20.0.0/16")
			}},
		}, console: true},
		{name: "carol", kind: "IAMUser", account: prodAccount, keyID: "AKIAEXAMPLECAROL0003", tz: 1, start: 9, end: 17, perHour: 12, ips: []string{"203.0.113.12", "203.0.113.10"}, agents: []string{cliAgent, browser}, region: []int{1, 0, 2}, calls: []call{
			{service: "iam", op: "ListUsers", weight: 3, params: noParams},
			{service: "iam", op: "ListRoles", weight: 3, params: noParams},
			{service: "iam", op: "GetAccountPasswordPolicy", weight: 1, params: noParams},
			{service: "iam", op: "ListAttachedRolePolicies", weight: 2, params: roleParam("ci-deploy", "app-lambda", "ec2-app")},
			{service: "guardduty", op: "ListFindings", weight: 4, params: noParams},
			{service: "guardduty", op: "GetFindings", weight: 3, params: noParams},
			{service: "cloudtrail", op: "DescribeTrails", weight: 2, params: noParams},
			{service: "cloudtrail", op: "GetTrailStatus", weight: 2, params: func(*gen, *persona) map[string]any { return map[string]any{"name": "org-trail"} }},
			{service: "config", op: "DescribeComplianceByConfigRule", weight: 2, params: noParams},
			{service: "securityhub", op: "GetFindings", weight: 3, params: noParams},
		}, console: true},
		{name: "dave", kind: "IAMUser", account: prodAccount, keyID: "AKIAEXAMPLEDAVE00004", tz: 1, start: 10, end: 19, perHour: 18, ips: []string{"203.0.113.14", "198.51.100.77"}, agents: []string{cliAgent, goSDKAgent}, region: []int{1}, calls: []call{
			{service: "athena", op: "StartQueryExecution", weight: 4, params: func(*gen, *persona) map[string]any { return map[string]any{"workGroup": "analytics"} }},
			{service: "athena", op: "GetQueryExecution", weight: 8, params: noParams},
			{service: "athena", op: "GetQueryResults", weight: 4, params: noParams},
			{service: "glue", op: "GetTable", weight: 3, params: noParams},
			{service: "s3", op: "GetObject", weight: 6, params: objectParam("acme-datalake", "curated/sales/part-", 400), data: true},
			{service: "s3", op: "ListObjects", weight: 2, params: bucketParam("acme-datalake"), data: true},
		}},
		{name: "erin", kind: "IAMUser", account: prodAccount, keyID: "AKIAEXAMPLEERIN00005", tz: -5, start: 8, end: 16, perHour: 8, ips: []string{"198.51.100.60"}, agents: []string{cliLinux, browser}, region: []int{0}, calls: []call{
			{service: "iam", op: "GetRole", weight: 4, params: roleParam("ci-deploy", "app-lambda", "ec2-app", "terraform")},
			{service: "iam", op: "ListPolicies", weight: 2, params: noParams},
			{service: "iam", op: "GetPolicyVersion", weight: 2, params: noParams},
			{service: "iam", op: "UpdateAssumeRolePolicy", weight: 1, params: roleParam("ci-deploy")},
			{service: "organizations", op: "DescribeOrganization", weight: 1, params: noParams},
			{service: "organizations", op: "ListAccounts", weight: 1, params: noParams},
			{service: "sts", op: "AssumeRole", weight: 2, params: func(*gen, *persona) map[string]any {
				return map[string]any{"roleArn": "arn:aws:iam::" + prodAccount + ":role/terraform", "roleSessionName": "erin-terraform"}
			}},
		}, console: true},
		{name: "frank", kind: "IAMUser", account: prodAccount, keyID: "AKIAEXAMPLEFRANK0006", tz: -8, start: 9, end: 18, perHour: 14, ips: []string{"198.51.100.88", "198.51.100.89"}, agents: []string{cliAgent}, region: []int{2, 0}, calls: []call{
			{service: "ecr", op: "GetAuthorizationToken", weight: 3, params: noParams},
			{service: "ecr", op: "DescribeImages", weight: 3, params: noParams},
			{service: "ecs", op: "DescribeServices", weight: 4, params: noParams},
			{service: "ecs", op: "ListTasks", weight: 3, params: noParams},
			{service: "codebuild", op: "BatchGetBuilds", weight: 2, params: noParams},
			{service: "logs", op: "GetLogEvents", weight: 4, params: noParams},
			{service: "s3", op: "ListBuckets", weight: 1, params: noParams},
		}},
		{name: "grace", kind: "IAMUser", account: prodAccount, keyID: "", tz: 1, start: 9, end: 17, perHour: 5, ips: []string{"203.0.113.11"}, agents: []string{browser}, region: []int{0}, calls: []call{
			{service: "ce", op: "GetCostAndUsage", weight: 6, params: noParams},
			{service: "ce", op: "GetCostForecast", weight: 2, params: noParams},
			{service: "budgets", op: "DescribeBudgets", weight: 2, params: noParams},
			{service: "billingconsole", op: "GetBillingPreferences", weight: 1, params: noParams},
		}, console: true},
		{name: "heidi", kind: "IAMUser", account: devAccount, keyID: "AKIAEXAMPLEHEIDI0008", tz: 1, start: 9, end: 17, perHour: 12, ips: []string{"203.0.113.10", "203.0.113.12"}, agents: []string{cliAgent}, region: []int{1}, calls: []call{
			{service: "lambda", op: "Invoke", weight: 5, params: fnParam},
			{service: "logs", op: "FilterLogEvents", weight: 5, params: noParams},
			{service: "s3", op: "GetObject", weight: 3, params: objectParam("acme-dev-fixtures", "fixtures/case-", 60), data: true},
			{service: "dynamodb", op: "Scan", weight: 2, params: func(*gen, *persona) map[string]any { return map[string]any{"tableName": "orders-dev"} }},
		}},
		{name: "ivan", kind: "IAMUser", account: prodAccount, keyID: "AKIAEXAMPLEIVAN00009", tz: 1, start: 0, end: 24, weekends: true, perHour: 2.5, ips: []string{"198.51.100.120", "203.0.113.12"}, agents: []string{cliLinux}, region: []int{1, 0}, calls: []call{
			{service: "ec2", op: "DescribeInstances", weight: 5, params: noParams},
			{service: "cloudwatch", op: "DescribeAlarms", weight: 5, params: noParams},
			{service: "cloudwatch", op: "GetMetricData", weight: 6, params: noParams},
			{service: "rds", op: "DescribeDBInstances", weight: 3, params: noParams},
			{service: "ec2", op: "DescribeSecurityGroups", weight: 2, params: noParams},
			{service: "ssm", op: "StartSession", weight: 1, params: func(g *gen, _ *persona) map[string]any {
				return map[string]any{"target": g.instances[g.rng.IntN(len(g.instances))].id}
			}},
		}},
		{name: "judy", kind: "IAMUser", account: prodAccount, keyID: "", tz: -5, start: 9, end: 17, perHour: 3, ips: []string{"198.51.100.61"}, agents: []string{browser}, region: []int{0}, calls: []call{
			{service: "cloudwatch", op: "GetDashboard", weight: 4, params: noParams},
			{service: "cloudwatch", op: "ListDashboards", weight: 2, params: noParams},
			{service: "quicksight", op: "DescribeDashboard", weight: 3, params: noParams},
		}, console: true},

		// Roles and services: around the clock, from AWS addresses.
		{name: "app-lambda", kind: "AssumedRole", account: prodAccount, role: "app-lambda", always: true, weekends: true, perHour: 40, ips: []string{"3.90.12.44", "34.229.80.11", "52.7.19.200"}, agents: []string{boto3Agent}, region: []int{0}, calls: []call{
			{service: "dynamodb", op: "GetItem", weight: 8, params: func(*gen, *persona) map[string]any { return map[string]any{"tableName": "orders"} }},
			{service: "dynamodb", op: "PutItem", weight: 4, params: func(*gen, *persona) map[string]any { return map[string]any{"tableName": "orders"} }},
			{service: "s3", op: "GetObject", weight: 3, params: objectParam("acme-app-artifacts", "templates/invoice-", 12), data: true},
			{service: "s3", op: "PutObject", weight: 3, params: objectParam("acme-invoices", "2026/11/invoice-", 100000), data: true},
			{service: "kms", op: "Decrypt", weight: 3, params: noParams},
			{service: "secretsmanager", op: "GetSecretValue", weight: 1, params: func(*gen, *persona) map[string]any { return map[string]any{"secretId": "prod/orders/db"} }},
		}},
		{name: "ec2-app", kind: "AssumedRole", account: prodAccount, role: "ec2-app", always: true, weekends: true, perHour: 30, ips: []string{"54.210.33.10", "54.210.33.11"}, agents: []string{goSDKAgent}, region: []int{0}, calls: []call{
			{service: "s3", op: "GetObject", weight: 5, params: objectParam("acme-customer-data", "exports/customer-", 5000), data: true},
			{service: "ssm", op: "UpdateInstanceInformation", weight: 4, params: noParams},
			{service: "ssm", op: "GetParameter", weight: 2, params: func(*gen, *persona) map[string]any { return map[string]any{"name": "/prod/app/feature-flags"} }},
			{service: "monitoring", op: "PutMetricData", weight: 6, params: noParams},
			{service: "kms", op: "Decrypt", weight: 2, params: noParams},
		}},
		{name: "ci-deploy", kind: "AssumedRole", account: prodAccount, role: "ci-deploy", tz: 1, start: 8, end: 20, perHour: 10, ips: []string{"4.175.114.51", "20.57.79.10", "172.176.82.9"}, agents: []string{ghAgent}, region: []int{0, 1}, calls: []call{
			{service: "cloudformation", op: "DescribeStacks", weight: 4, params: noParams},
			{service: "cloudformation", op: "UpdateStack", weight: 1, params: func(*gen, *persona) map[string]any { return map[string]any{"stackName": "orders-api"} }},
			{service: "s3", op: "PutObject", weight: 3, params: objectParam("acme-app-artifacts", "builds/orders-api-", 100000), data: true},
			{service: "lambda", op: "UpdateFunctionCode20150331v2", weight: 2, params: fnParam},
			{service: "ecr", op: "PutImage", weight: 1, params: noParams},
		}},
		{name: "config.amazonaws.com", kind: "AWSService", account: prodAccount, always: true, weekends: true, perHour: 12, ips: []string{"config.amazonaws.com"}, agents: []string{"config.amazonaws.com"}, region: []int{0, 1}, calls: []call{
			{service: "ec2", op: "DescribeSecurityGroups", weight: 3, params: noParams},
			{service: "s3", op: "GetBucketPolicy", weight: 2, params: bucketParam("acme-app-artifacts", "acme-web-assets", "acme-finance-reports", "acme-customer-data")},
			{service: "iam", op: "GetAccountAuthorizationDetails", weight: 1, params: noParams},
			{service: "kms", op: "DescribeKey", weight: 1, params: noParams},
		}},
	}
}

func sgIngress(group string, port int, cidr string) map[string]any {
	return map[string]any{
		"groupId": group,
		"ipPermissions": map[string]any{"items": []any{map[string]any{
			"ipProtocol": "tcp", "fromPort": port, "toPort": port,
			"groups": map[string]any{}, "ipv6Ranges": map[string]any{},
			"ipRanges":      map[string]any{"items": []any{map[string]any{"cidrIp": cidr}}},
			"prefixListIds": map[string]any{},
		}}},
	}
}

// the demo week starts on a Monday.
var defaultStart = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
