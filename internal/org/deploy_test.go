package org

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/parapet-sec/parapet/internal/org/orgtest"
	"github.com/parapet-sec/parapet/internal/posture/awsapi"
)

// The roles the CloudFormation template describes, created in the
// account that had none with the IAM calls CloudFormation would make,
// can be assumed and scanned through.
func TestDeployedRolesOnEmulator(t *testing.T) {
	f := orgtest.New(t)
	ctx := context.Background()
	responder := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Sid": "ParapetIam", "Effect": "Allow",
		"Action": []string{"iam:ListAccessKeys", "iam:UpdateAccessKey"}, "Resource": "*"}}}
	b, err := CloudFormation(Roles{Principal: "arn:aws:iam::123456789012:role/parapet", ExternalID: "ext-42",
		Scanner: "GenScanner", Responder: "GenResponder", ResponderPolicy: responder})
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Parameters map[string]struct{ Default string }
		Resources  map[string]struct {
			Type       string
			Properties struct {
				RoleName                 string
				AssumeRolePolicyDocument json.RawMessage
				Policies                 []struct {
					PolicyName     string
					PolicyDocument json.RawMessage
				}
			}
		}
	}
	if err := json.Unmarshal(b, &tpl); err != nil {
		t.Fatalf("template: %v\n%s", err, b)
	}
	// Resolve the parameters as CloudFormation does with their defaults.
	resolve := func(raw json.RawMessage) string {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		var walk func(any) any
		walk = func(x any) any {
			switch x := x.(type) {
			case map[string]any:
				if ref, ok := x["Ref"].(string); ok && len(x) == 1 {
					return tpl.Parameters[ref].Default
				}
				for k, v := range x {
					x[k] = walk(v)
				}
			case []any:
				for i, v := range x {
					x[i] = walk(v)
				}
			}
			return x
		}
		out, _ := json.Marshal(walk(v))
		return string(out)
	}
	c := iam.NewFromConfig(orgtest.InAccount(f.Cfg, f.NoRole))
	for _, name := range []string{"ScannerRole", "ResponderRole"} {
		r, ok := tpl.Resources[name]
		if !ok || r.Type != "AWS::IAM::Role" || len(r.Properties.Policies) != 1 {
			t.Fatalf("template resource %s = %+v", name, r)
		}
		trust := resolve(r.Properties.AssumeRolePolicyDocument)
		var tr struct {
			Statement []struct {
				Principal struct{ AWS string }
				Condition map[string]map[string]string
			}
		}
		if err := json.Unmarshal([]byte(trust), &tr); err != nil || len(tr.Statement) != 1 || tr.Statement[0].Principal.AWS != "arn:aws:iam::123456789012:role/parapet" ||
			tr.Statement[0].Condition["StringEquals"]["sts:ExternalId"] != "ext-42" {
			t.Errorf("%s trust = %s: want only the principal, with the external id", name, trust)
		}
		if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(r.Properties.RoleName), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		p := r.Properties.Policies[0]
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(r.Properties.RoleName), PolicyName: aws.String(p.PolicyName),
			PolicyDocument: aws.String(resolve(p.PolicyDocument))}); err != nil {
			t.Fatalf("policy of %s: %v", name, err)
		}
	}
	// The scanner's policy is awsapi's reads, as IAM keeps it.
	got, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("GenScanner"), PolicyName: aws.String("parapet-scanner")})
	if err != nil {
		t.Fatal(err)
	}
	var pol struct{ Statement []struct{ Action []string } }
	if err := json.Unmarshal([]byte(urlDecode(t, aws.ToString(got.PolicyDocument))), &pol); err != nil || len(pol.Statement) != 1 || !slices.Equal(pol.Statement[0].Action, awsapi.Permissions()) {
		t.Errorf("scanner policy actions = %+v, want awsapi.Permissions()", pol)
	}

	acct := Account{ID: f.NoRole, OU: "Root/Production"}
	scanner := &Assumer{Base: f.Cfg, Role: "GenScanner", ExternalID: "ext-42"}
	res, errs := Scan(ctx, ScanOptions{Assumer: scanner, Accounts: []Account{acct}, Session: "parapet-scan-deploy",
		Inventory: awsapi.Options{Regions: []string{"us-east-1"}}})
	for _, e := range errs {
		if _, ok := e.(*AccountError); ok {
			t.Fatalf("the deployed scanner role could not be assumed: %v", e)
		}
	}
	if len(res) == 0 || res[0].Account != f.NoRole {
		t.Errorf("scan through the deployed role: %d resources (first %+v), want the account's own", len(res), res)
	}
	if err := (&Assumer{Base: f.Cfg, Role: "GenResponder", ExternalID: "ext-42"}).Check(ctx, acct, "parapet-test"); err != nil {
		t.Errorf("the deployed responder role: %v", err)
	}
}

// urlDecode: IAM returns policy documents URL-encoded.
func urlDecode(t *testing.T, s string) string {
	t.Helper()
	d, err := url.QueryUnescape(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
