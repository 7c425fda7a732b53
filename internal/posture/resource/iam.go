package resource

import "encoding/json"

// Attributes of IAM principals (aws_iam_user, aws_iam_role,
// aws_iam_group) and policies (aws_iam_policy) that the access graph
// (internal/attackpath) reads. Every loader that knows them sets them;
// a loader that cannot tell leaves them out.
//
// A policy reference is what the source wrote: an ARN
// (arn:aws:iam::aws:policy/AdministratorAccess) or the ID of a policy
// resource in the same scan (its Terraform address, CloudFormation
// logical id or ARN). A group reference is a group's name or ID.
const (
	// AttrDocument: a policy's document, as JSON text (Unknown when it is
	// known only after apply).
	AttrDocument = "document"
	// AttrTrustDocument: a role's trust policy, as JSON text.
	AttrTrustDocument = "trust_document"
	// AttrInlinePolicies: a principal's inline policies, a list of
	// {"name": …, "document": JSON text}.
	AttrInlinePolicies = "inline_policies"
	// AttrManagedPolicies: the managed policies attached to a principal,
	// a list of policy references.
	AttrManagedPolicies = "managed_policies"
	// AttrGroups: the groups a user belongs to, a list of group
	// references.
	AttrGroups = "groups"
	// AttrBoundary: a principal's permissions boundary, a policy
	// reference ("" = none).
	AttrBoundary = "permissions_boundary"
	// AttrDocumentRefs: the IAM principals and policies a policy document
	// references by expression, whose ARNs are known only after apply
	// ("role/ops", "policy/deploy"): a list, on a policy and on an entry
	// of AttrInlinePolicies ("refs").
	AttrDocumentRefs = "document_refs"
	// AttrRole: the role a function or an instance runs as (an instance:
	// its instance profile's role), a role ARN or name.
	AttrRole = "role"
	// AttrResourcePolicy: the resource policy of a function, bucket, key,
	// queue, topic or secret, as JSON text.
	AttrResourcePolicy = "resource_policy"
	// AttrSCPTarget: on a service control policy, the organization root,
	// OU or account it is attached to; the SCPs of one target form one
	// level, and every level must allow a request.
	AttrSCPTarget = "scp_target"
)

// Types the access graph reads beside IAM principals and policies.
const (
	LambdaFunction   = "aws_lambda_function"
	SQSQueue         = "aws_sqs_queue"
	SNSTopic         = "aws_sns_topic"
	SecretsSecret    = "aws_secretsmanager_secret"
	OrganizationsSCP = "aws_organizations_policy" // a service control policy (AttrDocument, AttrSCPTarget)
)

// PolicyJSON renders a policy document (JSON text or a decoded object)
// as JSON text; Unknown stays Unknown, anything else is "".
func PolicyJSON(doc any) string {
	switch x := doc.(type) {
	case string:
		return x
	case map[string]any:
		b, err := json.Marshal(x)
		if err != nil {
			return ""
		}
		return string(b)
	}
	return ""
}

// AppendAttr appends values to a list attribute, skipping "" and values
// already there.
func (r *Resource) AppendAttr(attr string, o Origin, vals ...any) {
	l, _ := r.Attrs[attr].([]any)
	for _, v := range vals {
		if s, ok := v.(string); ok && s == "" {
			continue
		}
		dup := false
		if s, ok := v.(string); ok {
			for _, e := range l {
				if e == s {
					dup = true
				}
			}
		}
		if !dup {
			l = append(l, v)
		}
	}
	r.Set(attr, l, o)
}

// InlinePolicy is one entry of AttrInlinePolicies; refs are its
// AttrDocumentRefs.
func InlinePolicy(name, doc string, refs ...any) map[string]any {
	m := map[string]any{"name": name, "document": doc}
	if len(refs) > 0 {
		m["refs"] = refs
	}
	return m
}
