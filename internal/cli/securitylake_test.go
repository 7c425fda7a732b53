package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parapet-sec/parapet/internal/awstest"
	"github.com/parapet-sec/parapet/internal/decode/ocsfparquet/ocsftest"
	"github.com/parapet-sec/parapet/internal/ingest/s3list"
)

// TestSecurityLakeCommands runs detect, lake import and hunt on a folder
// laid out as AWS Security Lake lays out its OCSF Parquet.
func TestSecurityLakeCommands(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "security-lake")
	if _, err := ocsftest.WriteLake(src); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "detect", "--no-ueba", filepath.Join(src, "aws"))
	if code != ExitOK {
		t.Fatalf("detect: exit %d: %s", code, errOut)
	}
	for title, n := range map[string]int{"AdministratorAccess Policy Attached": 1, "SSH Or RDP Accepted From The Internet": 1, "Console Login Without MFA": 1} {
		if got := strings.Count(out, `"title":"`+title+`"`); got != n {
			t.Errorf("detect: %d findings %q, want %d\n%s", got, title, n, out)
		}
	}

	lakeDir := filepath.Join(dir, "lake")
	if _, errOut, code := run(t, "", "lake", "import", "--lake", lakeDir, "--progress", "never", filepath.Join(src, "aws")); code != ExitOK {
		t.Fatalf("lake import: exit %d: %s", code, errOut)
	}
	out, errOut, code = run(t, "", "hunt", "--lake", lakeDir, "--cel", `access_key_id == "AKIAEXAMPLEALICE0001"`)
	if code != ExitOK || strings.Count(out, "\n") != 3 || !strings.Contains(out, "ct-attach-denied") {
		t.Errorf("hunt --cel: exit %d: %s\n%s", code, errOut, out)
	}
	out, errOut, code = run(t, "", "hunt", "--lake", lakeDir)
	if code != ExitOK || strings.Count(out, `"title":"AdministratorAccess Policy Attached"`) != 1 {
		t.Errorf("hunt: exit %d: %s\n%s", code, errOut, out)
	}
}

// TestSecurityLakeS3Events: events and detect read a Security Lake bucket
// (on the AWS API emulator) by its s3:// prefix.
func TestSecurityLakeS3Events(t *testing.T) {
	awstest.Start(t)
	ctx := context.Background()
	src := t.TempDir()
	keys, err := ocsftest.WriteLake(src)
	if err != nil {
		t.Fatal(err)
	}
	client, err := s3list.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bucket := "aws-security-data-lake-eu-west-1-example"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		data, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(k)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader(data)}); err != nil {
			t.Fatal(err)
		}
	}
	out, errOut, code := run(t, "", "events", "s3://"+bucket+"/aws/")
	if code != ExitOK || strings.Count(out, "\n") != 8 || !strings.Contains(out, "ct-attach-admin") {
		t.Errorf("events: exit %d: %s\n%s", code, errOut, out)
	}
	out, errOut, code = run(t, "", "detect", "--no-ueba", "s3://"+bucket+"/aws/CLOUD_TRAIL_MGMT/")
	if code != ExitOK || strings.Count(out, `"title":"AdministratorAccess Policy Attached"`) != 1 {
		t.Errorf("detect: exit %d: %s\n%s", code, errOut, out)
	}
}
