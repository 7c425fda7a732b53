package cli

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/parapet-sec/parapet/internal/awstest"
)

// parapet paths --live on the emulator: a user that may replace the code
// of a function whose role is admin has a one-step path; --live with a
// PATH is a usage error.
func TestPathsLive(t *testing.T) {
	if testing.Short() {
		t.Skip("an organization on the emulator: slow under the race detector; the full suite runs it (TestScanAWSOrg keeps the organization scan's concurrency in the race pass)")
	}
	awstest.Start(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	c := iam.NewFromConfig(cfg)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	role, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("nightly"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	must("create role", err)
	_, err = c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("nightly"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")})
	must("attach", err)
	var zipped bytes.Buffer
	z := zip.NewWriter(&zipped)
	f, err := z.Create("index.py")
	must("zip", err)
	_, err = f.Write([]byte("def handler(e, c):\n    return None\n"))
	must("zip", err)
	must("zip", z.Close())
	fn, err := lambda.NewFromConfig(cfg).CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("nightly"), Role: role.Role.Arn,
		Runtime: lambdatypes.RuntimePython312, Handler: aws.String("index.handler"), Code: &lambdatypes.FunctionCode{ZipFile: zipped.Bytes()}})
	must("create function", err)
	_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("oncall")})
	must("create user", err)
	_, err = c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("oncall"), PolicyName: aws.String("deploy"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Sid":"Deploy","Effect":"Allow","Action":"lambda:UpdateFunctionCode","Resource":"` + aws.ToString(fn.FunctionArn) + `"}]}`)})
	must("put user policy", err)

	out, errOut, code := run(t, "", "paths", "--live", "--regions", "us-east-1", "--max-attempts", "2")
	if code != ExitOK {
		t.Fatalf("paths --live: exit %d, stderr %s", code, errOut)
	}
	want := "oncall can replace the code of function nightly and run as its role: lambda:UpdateFunctionCode on " + aws.ToString(fn.FunctionArn) + " via policy deploy, statement 1 (Deploy)"
	if !strings.Contains(out, want) {
		t.Errorf("paths --live lacks %q:\nstdout %s\nstderr %s", want, out, errOut)
	}
	// detect --paths-live: oncall replacing the function's code is the
	// path's step; the same call on another function is not.
	dir := t.TempDir()
	step := ctRecord("step-1", "oncall", "AKIAONCALL", "lambda.amazonaws.com", "UpdateFunctionCode20150331v2", map[string]any{"functionName": "nightly"}, nil)
	other := ctRecord("other-1", "oncall", "AKIAONCALL", "lambda.amazonaws.com", "UpdateFunctionCode20150331v2", map[string]any{"functionName": "reports"}, nil)
	trail := filepath.Join(dir, "trail.json")
	if err := os.WriteFile(trail, []byte(`{"Records":[`+step+`,`+other+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = run(t, "", "detect", "--paths-live", trail)
	if code != ExitOK && code != ExitFailure {
		t.Fatalf("detect --paths-live: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, `"step-1"`) || !strings.Contains(out, "step 1 of 1 of a path from oncall to admin") {
		t.Errorf("detect --paths-live found no step in %s (stderr %s)", out, errOut)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, `"source":"attackpath"`) && strings.Contains(line, `"other-1"`) {
			t.Errorf("a call on another function is a step: %s", line)
		}
	}
	if _, _, code := run(t, "", "detect", "--paths-live", "--paths", trail, trail); code != ExitUsage {
		t.Errorf("--paths with --paths-live: exit %d, want %d", code, ExitUsage)
	}
	if _, _, code := run(t, "", "paths", "--live", "somewhere"); code != ExitUsage {
		t.Errorf("--live with a PATH: exit %d, want %d", code, ExitUsage)
	}
	if _, _, code := run(t, "", "paths"); code != ExitUsage {
		t.Errorf("no PATH, no --live: exit %d, want %d", code, ExitUsage)
	}
}
