package attackpath_test

import (
	"fmt"

	"github.com/parapet-sec/parapet/internal/attackpath"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// Build the graph from the resource model (here made by hand; the
// Terraform, CloudFormation and AWS Config loaders make the same) and
// list who can become an administrator.
func ExampleGraph_Shortest() {
	user := &resource.Resource{Type: resource.IAMUser, Name: "ci", Attrs: map[string]any{
		resource.AttrInlinePolicies: []any{resource.InlinePolicy("deploy", `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111122223333:role/ops"}]}`)},
	}}
	role := &resource.Resource{Type: resource.IAMRole, Name: "ops", Attrs: map[string]any{
		resource.AttrTrustDocument: `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`,
		resource.AttrManagedPolicies: []any{"arn:aws:iam::aws:policy/AdministratorAccess"},
	}}
	methods, err := attackpath.BuiltinMethods()
	if err != nil {
		fmt.Println(err)
		return
	}
	g := attackpath.Build([]*resource.Resource{user, role}, methods, attackpath.Options{})
	paths, _ := g.Shortest("admin")
	for _, p := range paths {
		fmt.Println(p.Text())
	}
	// Output:
	// ops is an administrator (policy AdministratorAccess, statement 1)
	// ci can assume role ops: sts:AssumeRole on arn:aws:iam::111122223333:role/ops via trust policy of ops, statement 1; sts:AssumeRole on arn:aws:iam::111122223333:role/ops via policy deploy, statement 1
	// => ops is an administrator (policy AdministratorAccess, statement 1)
}
