package attackpath

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parapet-sec/parapet/internal/awstest"
)

// paths --to a bucket on the emulator, as `paths --live` reads it: a
// user granted s3:GetObject reads it; a role the bucket policy grants
// writes to it, and a user who may assume that role reaches it in two
// steps; a user with s3:* is cut by the bucket policy's Deny.
func TestLivePathsToBucket(t *testing.T) {
	if testing.Short() {
		t.Skip("an account on the emulator: slow under the race detector; the full suite runs it")
	}
	awstest.Start(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(liveRegion))
	if err != nil {
		t.Fatal(err)
	}
	c := iam.NewFromConfig(cfg)
	userWith := func(name, action, res string) {
		t.Helper()
		if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(name + "-policy"),
			PolicyDocument: aws.String(policyDoc([]statement{{Effect: "Allow", Action: action, Resource: res}}))}); err != nil {
			t.Fatal(err)
		}
	}
	userWith("reader", "s3:GetObject", "arn:aws:s3:::payroll/*")
	userWith("intern", "s3:*", "*")
	userWith("batch", "sts:AssumeRole", liveARN(liveAcct, "role", "etl"))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + liveARN(liveAcct, "user", "batch") + `"},"Action":"sts:AssumeRole"}]}`
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("etl"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("payroll")}); err != nil {
		t.Fatal(err)
	}
	pol := `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Principal":{"AWS":"` + liveARN(liveAcct, "role", "etl") + `"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::payroll/*"},` +
		`{"Effect":"Deny","Principal":{"AWS":"` + liveARN(liveAcct, "user", "intern") + `"},"Action":"s3:*","Resource":["arn:aws:s3:::payroll","arn:aws:s3:::payroll/*"]}]}`
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("payroll"), Policy: aws.String(pol)}); err != nil {
		t.Fatal(err)
	}
	ms, err := BuiltinMethods()
	if err != nil {
		t.Fatal(err)
	}
	g := liveGraph(t, ctx, ms)
	got := reach(t, g, "payroll")
	want := map[string]string{"reader": "1 read", "etl": "1 write", "batch": "2 write"}
	for name, w := range want {
		p, ok := got[name]
		if !ok || fmt.Sprintf("%d %s", p.Len(), p.Access) != w {
			t.Errorf("%s: %d steps, access %q; want %s", name, p.Len(), p.Access, w)
		}
	}
	if _, ok := got["intern"]; ok || len(got) != len(want) {
		t.Errorf("sources %v, want exactly %v", keys(got), want)
	}
}
