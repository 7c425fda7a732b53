package ingest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/awstest"
	"github.com/parapet-sec/parapet/internal/decode/ocsfparquet"
	"github.com/parapet-sec/parapet/internal/decode/ocsfparquet/ocsftest"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/ingest/file"
	"github.com/parapet-sec/parapet/internal/ingest/s3list"
)

func TestMain(m *testing.M) {
	code := m.Run()
	awstest.Stop()
	os.Exit(code)
}

// writeSecurityLake lays out the samples as Security Lake does, with a
// Parquet file of another schema and one cut short beside them; it returns
// the keys of the two bad files.
func writeSecurityLake(t *testing.T, root string) (foreign, cut string) {
	t.Helper()
	if _, err := ocsftest.WriteLake(root); err != nil {
		t.Fatal(err)
	}
	type other struct {
		Name  string `parquet:"name"`
		Count int64  `parquet:"count"`
	}
	data, err := ocsftest.Encode([]other{{"a", 1}, {"b", 2}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	foreign = ocsftest.Key("CLOUD_TRAIL_MGMT", ocsftest.Region, ocsftest.Acct, ocsftest.Day, "0-not-ocsf.parquet")
	if err := ocsftest.WriteFile(root, foreign, data); err != nil {
		t.Fatal(err)
	}
	good, err := ocsftest.Encode(ocsftest.CloudTrail(), 0)
	if err != nil {
		t.Fatal(err)
	}
	cut = ocsftest.Key("CLOUD_TRAIL_MGMT", ocsftest.Region, ocsftest.Acct, ocsftest.Day, "1-cut.gz.parquet")
	if err := ocsftest.WriteFile(root, cut, good[:len(good)*2/3]); err != nil {
		t.Fatal(err)
	}
	return foreign, cut
}

// checkSecurityLake checks what ingesting the laid-out samples gave:
// every record an event, the two bad files reported and skipped, and the
// builtin rules firing on the attack-shaped records and not on the near
// misses.
func checkSecurityLake(t *testing.T, evs []event.Event, st ingest.Stats, foreign, cut string) {
	t.Helper()
	var ids []string
	for _, e := range evs {
		ids = append(ids, e.ID)
	}
	sort.Strings(ids)
	want := []string{"arn:aws:securityhub:eu-west-1:111122223333:security-control/S3.8/finding/0b1e2c3d-0000-4000-8000-000000000001",
		"ct-attach-admin", "ct-attach-denied", "ct-attach-readonly", "ct-console-login", "ct-role-call"}
	var flows int
	for _, e := range evs {
		if e.Source == event.SourceVPCFlow {
			flows++
		}
	}
	ids = slices.DeleteFunc(ids, func(id string) bool { return !strings.HasPrefix(id, "ct-") && !strings.HasPrefix(id, "arn:") })
	if !slices.Equal(ids, want) || flows != 2 || len(evs) != 8 {
		t.Errorf("events %v and %d flows (%d in all), want %v and 2 flows", ids, flows, len(evs), want)
	}
	if st.BadRecords != 2 || len(st.Errors) != 2 {
		t.Fatalf("bad %d, errors %v: want the foreign and the cut file", st.BadRecords, st.Errors)
	}
	var named []string
	for _, e := range st.Errors {
		named = append(named, e.Error())
	}
	joined := strings.Join(named, "\n")
	if !strings.Contains(joined, foreign) || !strings.Contains(joined, "not OCSF") || !strings.Contains(joined, cut) || !strings.Contains(joined, "offset") {
		t.Errorf("errors do not name the files and what is wrong:\n%s", joined)
	}

	rules, errs := sigma.Load(content.FS, "rules", sigma.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	found := detect.NewEngine(rules).DetectBatch(evs).Findings
	fired := map[string][]string{}
	for _, f := range found {
		fired[f.Title] = append(fired[f.Title], f.EventIDs...)
	}
	if got := fired["AdministratorAccess Policy Attached"]; !slices.Equal(got, []string{"ct-attach-admin"}) {
		t.Errorf("AdministratorAccess Policy Attached fired on %v, want ct-attach-admin only (all: %v)", got, fired)
	}
	ssh := fired["SSH Or RDP Accepted From The Internet"]
	if len(ssh) != 1 {
		t.Fatalf("SSH Or RDP Accepted From The Internet fired on %v, want the internet flow only (all: %v)", ssh, fired)
	}
	for _, e := range evs {
		if e.ID == ssh[0] && e.Src.IP.String() != "198.51.100.20" {
			t.Errorf("SSH rule fired on the flow from %s", e.Src.IP)
		}
	}
	var sh bool
	for _, f := range found {
		if f.Source == "securityhub" && f.Title == "S3 general purpose buckets should block public access" {
			sh = true
		}
	}
	if !sh {
		t.Errorf("the Security Hub finding did not pass through: %v", fired)
	}
}

func TestSecurityLakeFolder(t *testing.T) {
	root := t.TempDir()
	foreign, cut := writeSecurityLake(t, root)
	ins, err := file.Inputs([]string{filepath.Join(root, "aws")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	evs, st := decodeAll(t, ins, ingest.Options{})
	checkSecurityLake(t, evs, st, foreign, cut)
	for _, e := range evs {
		if !strings.HasPrefix(e.Origin.File, root) || !strings.HasSuffix(e.Origin.File, ".parquet") {
			t.Errorf("origin %+v", e.Origin)
		}
	}
}

// TestSecurityLakeS3 reads the same layout from a bucket on the AWS API
// emulator: objects come as streams.
func TestSecurityLakeS3(t *testing.T) {
	awstest.Start(t)
	ctx := context.Background()
	root := t.TempDir()
	foreign, cut := writeSecurityLake(t, root)
	client, err := s3list.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bucket := "aws-security-data-lake-eu-west-1-example"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(filepath.ToSlash(rel)), Body: f})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ins, err := s3list.Inputs(ctx, client, "s3://"+bucket+"/aws/")
	if err != nil {
		t.Fatal(err)
	}
	evs, st := decodeAll(t, ins, ingest.Options{})
	checkSecurityLake(t, evs, st, foreign, cut)
}

// TestParquetNotFromSecurityLake: a Parquet file that is not OCSF is bad
// input, however it arrives; a non-Parquet file starting PAR1 too.
func TestParquetNotFromSecurityLake(t *testing.T) {
	type row struct {
		ClassUID int32 `parquet:"class_uid"` // class_uid alone is not OCSF
	}
	data, err := ocsftest.Encode([]row{{6003}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parquet.OpenFile(strings.NewReader(string(data)), int64(len(data))); err != nil {
		t.Fatal(err) // a valid Parquet file
	}
	evs, st := decodeAll(t, []ingest.Input{bytesInput("a.parquet", data), bytesInput("b", []byte("PAR1 and then some text"))}, ingest.Options{})
	if len(evs) != 0 || st.BadRecords != 2 || !errors.Is(st.Errors[0], ocsfparquet.ErrNotOCSF) ||
		!strings.HasPrefix(st.Errors[0].Error(), "a.parquet: offset") || !strings.HasPrefix(st.Errors[1].Error(), "b: offset") {
		t.Errorf("events %d, stats %+v", len(evs), st)
	}
}
