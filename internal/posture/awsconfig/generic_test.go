package awsconfig

import (
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// TestGeneric: an item of a type content/resources maps becomes a
// resource with the mapped attributes (JSON in strings decoded), each
// pointing at the item's ARN, and what the form cannot say is unknown.
func TestGeneric(t *testing.T) {
	it := map[string]any{
		"resourceType":  "AWS::Lambda::Function",
		"resourceName":  "orders",
		"arn":           "arn:aws:lambda:us-east-1:111122223333:function:orders",
		"configuration": `{"functionName":"orders","runtime":"python3.8","tracingConfig":{"mode":"Active"},"vpcConfig":{"subnetIds":[]}}`,
	}
	r := Model(it)
	if r == nil || r.Type != "aws_lambda_function" || r.Name != "orders" {
		t.Fatalf("Model() = %+v, want the function orders", r)
	}
	for attr, want := range map[string]any{"runtime": "python3.8", "tracing_active": true, "in_vpc": false, "reserved_concurrency": resource.Unknown} {
		if got := r.Attrs[attr]; got != want {
			t.Errorf("%s = %v, want %v", attr, got, want)
		}
		if got := r.Origins[attr].ARN; got != r.ARN {
			t.Errorf("origin of %s = %q, want the ARN", attr, got)
		}
	}
}
