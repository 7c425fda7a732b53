package lake

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parapet-sec/parapet/internal/awstest"
)

// TestS3 writes, dedups, compacts and prunes a lake in a bucket on the
// AWS API emulator.
func TestS3(t *testing.T) {
	awstest.Start(t)
	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle, o.DisableLogOutputChecksumValidationSkipped = true, true })
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("sec-lake")}); err != nil {
		t.Fatal(err)
	}
	root := "s3://sec-lake/parapet"
	evs := sample()
	for round := range 2 { // the second round is a redelivery to a new writer
		w, err := Open(ctx, Options{Path: root, RollSize: 2 << 10}) // default client, from the environment
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if st := w.Stats(); round == 1 && (st.Written != 0 || st.Duplicates != int64(len(evs))) {
			t.Fatalf("redelivery: stats %+v, want every event passed over", st)
		}
	}
	out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("sec-lake"), Prefix: aws.String("parapet/ext/network_activity/1.0/region=eu-west-1/accountId=111122223333/eventDay=20261103/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 1 {
		t.Fatalf("network_activity partition holds %d objects, want 1", len(out.Contents))
	}
	l, err := OpenLake(ctx, root, client)
	if err != nil {
		t.Fatal(err)
	}
	if n, per := countRows(t, l); n != len(evs) || len(per) != len(evs) {
		t.Fatalf("lake holds %d rows (%d distinct), want %d", n, len(per), len(evs))
	}

	more := manyCalls(60, t0.Add(24*time.Hour))
	w, err := Open(ctx, Options{Path: root, S3: client, RollSize: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, more); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := l.Compact(ctx, CompactOptions{Target: 1 << 20, Retention: 24 * time.Hour, Now: func() time.Time { return t0.Add(48 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if st.FilesMerged < 2 || st.Pruned == 0 {
		t.Errorf("compact stats %+v, want files merged and the first day pruned", st)
	}
	files, err := l.Files(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Partition.Day != "20261104" {
			t.Errorf("file %s outlived retention", f.Key)
		}
	}
	if len(files) != 1 {
		t.Errorf("files after compaction = %v, want the one of 20261104", files)
	}
	// A pruned scan finds what a whole read finds (a small object is got
	// whole: one request).
	var all, some []string
	if _, err := l.Scan(ctx, Filter{}, time.Time{}, time.Time{}, func(rows []Row) error {
		for _, r := range rows {
			if r.AccessKeyID == "ASIAEXAMPLEKEY00007" {
				all = append(all, r.EventUID)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sst, err := l.Scan(ctx, Filter{Equal: map[string]string{"access_key_id": "ASIAEXAMPLEKEY00007"}}, time.Time{}, time.Time{}, func(rows []Row) error {
		some = append(some, uids(rows)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 || !slices.Equal(all, some) || sst.BytesRead != files[0].Size {
		t.Errorf("pruned scan on S3 found %v (%d bytes read of %d), the whole read %v", some, sst.BytesRead, files[0].Size, all)
	}
}
