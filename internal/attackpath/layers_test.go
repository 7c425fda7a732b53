package attackpath

import (
	"slices"
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// The layers beside identity policies, in the resource model as the live
// reader fills it: SCPs, a function's resource policy, functions and
// instances that run as an admin role.
func TestLayers(t *testing.T) {
	const a = "111122223333"
	mkr := func(typ, name, arn string, attrs map[string]any) *resource.Resource {
		return &resource.Resource{Type: typ, Name: name, ARN: arn, Account: a, Source: "aws", Attrs: attrs}
	}
	fn := "arn:aws:lambda:us-east-1:" + a + ":function:nightly"
	inst := "arn:aws:ec2:us-east-1:" + a + ":instance/i-0abc"
	world := func(devPolicy string, extra ...*resource.Resource) []*resource.Resource {
		res := []*resource.Resource{
			mkr(resource.IAMRole, "nightly", arn("role", "nightly"), map[string]any{
				resource.AttrTrustDocument:   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
				resource.AttrManagedPolicies: []any{adminARN}}),
			mkr(resource.IAMRole, "bastion", arn("role", "bastion"), map[string]any{
				resource.AttrTrustDocument:   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
				resource.AttrManagedPolicies: []any{adminARN}}),
			mkr(resource.LambdaFunction, "nightly", fn, map[string]any{resource.AttrRole: arn("role", "nightly")}),
			mkr(resource.EC2Instance, "i-0abc", inst, map[string]any{resource.AttrRole: arn("role", "bastion")}),
			mkr(resource.IAMUser, "dev", arn("user", "dev"), map[string]any{
				resource.AttrInlinePolicies: []any{resource.InlinePolicy("p", `{"Version":"2012-10-17","Statement":[`+devPolicy+`]}`)}}),
		}
		return append(res, extra...)
	}
	scp := func(target, doc string) *resource.Resource {
		return mkr(resource.OrganizationsSCP, "scp", "arn:aws:organizations::999999999999:policy/o-x/service_control_policy/p-"+target, map[string]any{
			resource.AttrDocument: doc, resource.AttrSCPTarget: target})
	}
	allowAll := `{"Effect":"Allow","Action":"*","Resource":"*"}`
	updateCode := `{"Effect":"Allow","Action":"lambda:UpdateFunctionCode","Resource":"` + fn + `"}`
	sendCommand := `{"Effect":"Allow","Action":"ssm:SendCommand","Resource":"*"}`
	tests := []struct {
		name  string
		res   []*resource.Resource
		steps []string // dev's steps
		admin bool     // role nightly is an administrator
	}{
		{"update function code", world(updateCode), []string{"lambda-update-function-code → nightly"}, true},
		{"send command to instance", world(sendCommand), []string{"ssm-send-command → bastion"}, true},
		{"SCP denies UpdateFunctionCode", world(updateCode, scp("r-root", `{"Version":"2012-10-17","Statement":[`+allowAll+`,{"Effect":"Deny","Action":"lambda:UpdateFunctionCode","Resource":"*"}]}`)), nil, true},
		{"SCP at the root allows, the account's level does not name the action", world(updateCode,
			scp("r-root", `{"Version":"2012-10-17","Statement":[`+allowAll+`]}`),
			scp(a, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)), nil, true}, // admin of what the SCPs leave
		{"SCP denying LeaveOrganization keeps admins", world(updateCode, scp("r-root", `{"Version":"2012-10-17","Statement":[`+allowAll+`,{"Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}`)),
			[]string{"lambda-update-function-code → nightly"}, true},
		{"function policy grants dev", func() []*resource.Resource {
			r := world(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`)
			r[2].Attrs[resource.AttrResourcePolicy] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + arn("user", "dev") + `"},"Action":"lambda:UpdateFunctionCode","Resource":"` + fn + `"}]}`
			return r
		}(), []string{"lambda-update-function-code → nightly"}, true},
		{"function policy grants dev, dev's own Deny wins", func() []*resource.Resource {
			r := world(`{"Effect":"Deny","Action":"lambda:*","Resource":"*"}`)
			r[2].Attrs[resource.AttrResourcePolicy] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + arn("user", "dev") + `"},"Action":"lambda:UpdateFunctionCode","Resource":"` + fn + `"}]}`
			return r
		}(), nil, true},
	}
	ms, err := BuiltinMethods()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := Build(tc.res, ms, Options{})
			if len(g.Problems) > 0 {
				t.Fatalf("problems: %v", g.Problems)
			}
			var got []string
			dev := g.byID[arn("user", "dev")]
			for _, e := range g.Out(dev) {
				got = append(got, e.Method.ID+" → "+g.Nodes[e.To].Name)
			}
			if !slices.Equal(got, tc.steps) {
				t.Errorf("dev's steps = %v, want %v", got, tc.steps)
			}
			if n := g.Node(arn("role", "nightly")); n.Admin != tc.admin {
				t.Errorf("nightly admin = %v, want %v", n.Admin, tc.admin)
			}
		})
	}
}
