package awsapi

import "sort"

// Read is one API call Inventory makes and the IAM action that allows it.
type Read struct {
	Package   string // the SDK service package (s3, s3control, iam, …)
	Operation string // the SDK operation (its XxxInput type without Input)
	Action    string // the IAM action; "" when none is needed
}

// Reads are every call Inventory makes: the scanner role's policy
// (parapet deploy roles) is built from this table, and a test checks the
// table against the calls in this package's source, both ways.
var Reads = []Read{
	{"accessanalyzer", "ListAnalyzers", "access-analyzer:ListAnalyzers"},
	{"cloudtrail", "DescribeTrails", "cloudtrail:DescribeTrails"},
	{"cloudtrail", "GetEventSelectors", "cloudtrail:GetEventSelectors"},
	{"cloudtrail", "GetTrailStatus", "cloudtrail:GetTrailStatus"},
	{"cloudwatch", "DescribeAlarms", "cloudwatch:DescribeAlarms"},
	{"cloudwatchlogs", "DescribeMetricFilters", "logs:DescribeMetricFilters"},
	{"configservice", "BatchGetResourceConfig", "config:BatchGetResourceConfig"},
	{"configservice", "DescribeConfigurationRecorders", "config:DescribeConfigurationRecorders"},
	{"configservice", "DescribeConfigurationRecorderStatus", "config:DescribeConfigurationRecorderStatus"},
	{"configservice", "ListDiscoveredResources", "config:ListDiscoveredResources"},
	{"ec2", "DescribeFlowLogs", "ec2:DescribeFlowLogs"},
	{"ec2", "DescribeInstances", "ec2:DescribeInstances"},
	{"ec2", "DescribeNetworkAcls", "ec2:DescribeNetworkAcls"},
	{"ec2", "DescribeSecurityGroups", "ec2:DescribeSecurityGroups"},
	{"ec2", "DescribeVolumes", "ec2:DescribeVolumes"},
	{"ec2", "DescribeVpcs", "ec2:DescribeVpcs"},
	{"ec2", "GetEbsEncryptionByDefault", "ec2:GetEbsEncryptionByDefault"},
	{"efs", "DescribeFileSystems", "elasticfilesystem:DescribeFileSystems"},
	{"guardduty", "GetDetector", "guardduty:GetDetector"},
	{"guardduty", "ListDetectors", "guardduty:ListDetectors"},
	{"iam", "GenerateCredentialReport", "iam:GenerateCredentialReport"},
	{"iam", "GetAccessKeyLastUsed", "iam:GetAccessKeyLastUsed"},
	{"iam", "GetAccountAuthorizationDetails", "iam:GetAccountAuthorizationDetails"},
	{"iam", "GetAccountPasswordPolicy", "iam:GetAccountPasswordPolicy"},
	{"iam", "GetAccountSummary", "iam:GetAccountSummary"},
	{"iam", "GetCredentialReport", "iam:GetCredentialReport"},
	{"iam", "GetGroupPolicy", "iam:GetGroupPolicy"},
	{"iam", "GetLoginProfile", "iam:GetLoginProfile"},
	{"iam", "GetPolicyVersion", "iam:GetPolicyVersion"},
	{"iam", "GetRolePolicy", "iam:GetRolePolicy"},
	{"iam", "GetUserPolicy", "iam:GetUserPolicy"},
	{"iam", "ListAccessKeys", "iam:ListAccessKeys"},
	{"iam", "ListAttachedUserPolicies", "iam:ListAttachedUserPolicies"},
	{"iam", "ListEntitiesForPolicy", "iam:ListEntitiesForPolicy"},
	{"iam", "ListGroupPolicies", "iam:ListGroupPolicies"},
	{"iam", "ListGroups", "iam:ListGroups"},
	{"iam", "ListMFADevices", "iam:ListMFADevices"},
	{"iam", "ListPolicies", "iam:ListPolicies"},
	{"iam", "ListRolePolicies", "iam:ListRolePolicies"},
	{"iam", "ListRoles", "iam:ListRoles"},
	{"iam", "ListServerCertificates", "iam:ListServerCertificates"},
	{"iam", "ListUserPolicies", "iam:ListUserPolicies"},
	{"iam", "ListUsers", "iam:ListUsers"},
	{"iam", "ListVirtualMFADevices", "iam:ListVirtualMFADevices"},
	{"kms", "DescribeKey", "kms:DescribeKey"},
	{"kms", "GetKeyPolicy", "kms:GetKeyPolicy"},
	{"kms", "GetKeyRotationStatus", "kms:GetKeyRotationStatus"},
	{"kms", "ListKeys", "kms:ListKeys"},
	{"lambda", "GetFunctionUrlConfig", "lambda:GetFunctionUrlConfig"},
	{"lambda", "GetPolicy", "lambda:GetPolicy"},
	{"lambda", "ListFunctions", "lambda:ListFunctions"},
	{"lambda", "ListFunctionUrlConfigs", "lambda:ListFunctionUrlConfigs"},
	{"organizations", "DescribeOrganization", "organizations:DescribeOrganization"},
	{"organizations", "DescribePolicy", "organizations:DescribePolicy"},
	{"organizations", "ListParents", "organizations:ListParents"},
	{"organizations", "ListPoliciesForTarget", "organizations:ListPoliciesForTarget"},
	{"rds", "DescribeDBInstances", "rds:DescribeDBInstances"},
	{"s3", "GetBucketAcl", "s3:GetBucketAcl"},
	{"s3", "GetBucketEncryption", "s3:GetEncryptionConfiguration"},
	{"s3", "GetBucketLogging", "s3:GetBucketLogging"},
	{"s3", "GetBucketPolicy", "s3:GetBucketPolicy"},
	{"s3", "GetBucketVersioning", "s3:GetBucketVersioning"},
	{"s3", "GetObjectLockConfiguration", "s3:GetBucketObjectLockConfiguration"},
	{"s3", "GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"},
	{"s3", "ListBuckets", "s3:ListAllMyBuckets"},
	{"s3control", "GetPublicAccessBlock", "s3:GetAccountPublicAccessBlock"},
	{"secretsmanager", "GetResourcePolicy", "secretsmanager:GetResourcePolicy"},
	{"secretsmanager", "ListSecrets", "secretsmanager:ListSecrets"},
	{"securityhub", "DescribeHub", "securityhub:DescribeHub"},
	{"sns", "GetTopicAttributes", "sns:GetTopicAttributes"},
	{"sns", "ListTopics", "sns:ListTopics"},
	{"sqs", "GetQueueAttributes", "sqs:GetQueueAttributes"},
	{"sqs", "ListQueues", "sqs:ListQueues"},
	{"sts", "GetCallerIdentity", ""}, // allowed to every identity
}

// Permissions are the IAM actions Reads need, sorted, each once.
func Permissions() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range Reads {
		if r.Action != "" && !seen[r.Action] {
			seen[r.Action] = true
			out = append(out, r.Action)
		}
	}
	sort.Strings(out)
	return out
}
