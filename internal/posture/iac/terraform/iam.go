package terraform

import (
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// docJSON is a policy attribute as JSON text (resource.AttrDocument).
func docJSON(v any) string {
	return resource.PolicyJSON(policyDoc(v))
}

func appendInline(r *resource.Resource, name, doc string, o resource.Origin) {
	r.AppendAttr(resource.AttrInlinePolicies, o, resource.InlinePolicy(name, doc))
}

// iamPrincipal sets what a user, role or group block says itself about
// its policies: managed_policy_arns (roles) and permissions_boundary.
func (m *mapper) iamPrincipal(r *resource.Resource, b *Block) {
	r.Set(resource.AttrInlinePolicies, []any{}, m.blockOrigin(b))
	r.Set(resource.AttrManagedPolicies, []any{}, m.blockOrigin(b))
	if r.Type == resource.IAMUser {
		r.Set(resource.AttrGroups, []any{}, m.blockOrigin(b))
	}
	if _, ok := b.Values["managed_policy_arns"]; ok {
		r.AppendAttr(resource.AttrManagedPolicies, m.attrOrigin(b, "managed_policy_arns"), m.policyRefs(b, "managed_policy_arns")...)
	}
	r.Set(resource.AttrBoundary, "", m.blockOrigin(b))
	if refs := m.policyRefs(b, "permissions_boundary"); len(refs) > 0 {
		r.Set(resource.AttrBoundary, refs[0], m.attrOrigin(b, "permissions_boundary"))
	}
}

// policyRefs names the policies an attribute refers to: the address of
// each aws_iam_policy it references, else the literal ARNs it holds.
func (m *mapper) policyRefs(b *Block, attr string) []any {
	return m.refsOf(b, attr, resource.IAMPolicy)
}

// groupRefs names the groups an attribute refers to: the resources it
// references, else the literal names.
func (m *mapper) groupRefs(b *Block, attr string) []any {
	return m.refsOf(b, attr, resource.IAMGroup)
}

// refsOf names what an attribute refers to: the id of each resource of
// type typ it references, else the literal values it holds.
func (m *mapper) refsOf(b *Block, attr, typ string) []any {
	var out []any
	for _, r := range m.targets(b, attr, typ) {
		out = append(out, r.ID())
	}
	if len(out) > 0 {
		return out
	}
	vals := list(b.Values[attr])
	if s := str(b.Values[attr]); s != "" {
		vals = []any{s}
	}
	for _, v := range vals {
		if s := str(v); s != "" && s != resource.Unknown {
			out = append(out, s)
		}
	}
	return out
}

// iamRefs names the IAM principals and policies an attribute references
// ("role/ops"), for ARNs known only after apply; nil when it references
// any other resource (whose values are unknown as well).
func (m *mapper) iamRefs(b *Block, attr string) []any {
	kinds := map[string]string{resource.IAMRole: "role", resource.IAMUser: "user", resource.IAMGroup: "group", resource.IAMPolicy: "policy"}
	var out []any
	for _, ref := range b.Refs[attr] {
		insts := m.byAddr[b.Module+ref]
		if len(insts) == 0 {
			return nil // a resource outside the model: what stands where is not known
		}
		for _, r := range insts {
			k := kinds[r.Type]
			if k == "" || r.Name == r.Address || (r.Type == resource.IAMPolicy && r.Attrs["inline"] == true) {
				return nil // another resource's value is unknown too
			}
			out = append(out, k+"/"+r.Name)
		}
	}
	return out
}

// iamLinks records attachments, inline policies and group membership
// on the principals they concern.
func (m *mapper) iamLinks(b *Block) {
	v := b.Values
	o := m.blockOrigin(b)
	switch b.Type {
	case "aws_iam_user_policy", "aws_iam_role_policy", "aws_iam_group_policy":
		attr, typ := "user", resource.IAMUser
		switch b.Type {
		case "aws_iam_role_policy":
			attr, typ = "role", resource.IAMRole
		case "aws_iam_group_policy":
			attr, typ = "group", resource.IAMGroup
		}
		if r := m.target(b, attr, typ); r != nil {
			name := str(v["name"])
			if name == "" || name == resource.Unknown {
				name = b.Address
			}
			r.AppendAttr(resource.AttrInlinePolicies, m.attrOrigin(b, "policy"), resource.InlinePolicy(name, docJSON(v["policy"]), m.iamRefs(b, "policy")...))
		}
	case "aws_iam_policy":
		for _, r := range m.byAddr[baseAddr(b)] {
			if r.Address == b.Address && r.Type == resource.IAMPolicy {
				r.Set(resource.AttrDocumentRefs, m.iamRefs(b, "policy"), m.attrOrigin(b, "policy"))
			}
		}
	case "aws_iam_user_policy_attachment", "aws_iam_role_policy_attachment", "aws_iam_group_policy_attachment":
		attr, typ := "user", resource.IAMUser
		switch b.Type {
		case "aws_iam_role_policy_attachment":
			attr, typ = "role", resource.IAMRole
		case "aws_iam_group_policy_attachment":
			attr, typ = "group", resource.IAMGroup
		}
		if r := m.target(b, attr, typ); r != nil {
			r.AppendAttr(resource.AttrManagedPolicies, o, m.policyRefs(b, "policy_arn")...)
		}
	case "aws_iam_policy_attachment":
		refs := m.policyRefs(b, "policy_arn")
		for _, k := range []struct{ attr, typ string }{{"users", resource.IAMUser}, {"roles", resource.IAMRole}, {"groups", resource.IAMGroup}} {
			for _, r := range m.targets(b, k.attr, k.typ) {
				r.AppendAttr(resource.AttrManagedPolicies, o, refs...)
			}
		}
	case "aws_iam_group_membership":
		groups := m.groupRefs(b, "group")
		for _, r := range m.targets(b, "users", resource.IAMUser) {
			r.AppendAttr(resource.AttrGroups, o, groups...)
		}
	case "aws_iam_user_group_membership":
		if r := m.target(b, "user", resource.IAMUser); r != nil {
			r.AppendAttr(resource.AttrGroups, o, m.groupRefs(b, "groups")...)
		}
	case "aws_lambda_function", "aws_instance":
		// The role a function or an instance runs as (an instance: its
		// instance profile's role), for the access graph.
		role, at := "", "role"
		if b.Type == "aws_lambda_function" {
			role = m.roleOf(b, "role")
		} else if p := m.profileOf(b); p != nil {
			role, at = m.roleOf(p, "role"), "iam_instance_profile"
		}
		if role == "" {
			return
		}
		typ := resource.LambdaFunction
		if b.Type == "aws_instance" {
			typ = resource.EC2Instance
		}
		for _, r := range m.byAddr[baseAddr(b)] {
			if r.Address == b.Address && r.Type == typ {
				r.Set(resource.AttrRole, role, m.attrOrigin(b, at))
			}
		}
	}
}

// roleOf names the role an attribute refers to: the name of the
// aws_iam_role it references, else the literal ARN or name it holds
// ("" when neither is known).
func (m *mapper) roleOf(b *Block, attr string) string {
	if r := m.target(b, attr, resource.IAMRole); r != nil {
		if r.Name == r.Address {
			return "" // a role whose name is known only after apply
		}
		return r.Name
	}
	if len(b.Refs[attr]) > 0 {
		return "" // another resource's value, unknown here
	}
	if s := str(b.Values[attr]); s != resource.Unknown {
		return s
	}
	return ""
}

// profileOf is the aws_iam_instance_profile block an instance names, by
// reference or by literal name (nil when it is not in the scan).
func (m *mapper) profileOf(b *Block) *Block {
	for _, ref := range b.Refs["iam_instance_profile"] {
		if p := m.profiles[b.Module+ref]; p != nil {
			return p
		}
	}
	if s := str(b.Values["iam_instance_profile"]); s != "" && s != resource.Unknown {
		return m.profiles["name/"+s]
	}
	return nil
}
