package lake

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/parapet-sec/parapet/internal/awstest"
	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/event"
)

func TestMain(m *testing.M) {
	code := m.Run()
	awstest.Stop()
	os.Exit(code)
}

var t0 = time.Date(2026, 11, 3, 9, 30, 0, 0, time.UTC)

// apiCall is a CloudTrail-like API call written for these tests.
func apiCall(id string, at time.Time, account, key, op string) event.Event {
	raw := fmt.Sprintf(`{"eventVersion":"1.09","eventID":%q,"eventName":%q,"recipientAccountId":%q}`, id, op, account)
	return event.Event{
		ID: id, Time: at, Source: event.SourceCloudTrail, Class: event.ClassAPIActivity, Activity: 2,
		Type:  "AwsApiCall",
		Cloud: event.Cloud{Provider: "aws", Partition: "aws", Account: account, Region: "eu-west-1"},
		Actor: event.Actor{Type: "AssumedRole", ARN: "arn:aws:sts::" + account + ":assumed-role/deploy/ci-run",
			PrincipalID: "AROAEXAMPLEROLEID:ci-run", AccessKeyID: key, SessionName: "ci-run",
			SessionIssuerARN: "arn:aws:iam::" + account + ":role/deploy", Account: account},
		Src:       event.Endpoint{IP: netip.MustParseAddr("198.51.100.7"), UserAgent: "aws-cli/2.15"},
		API:       event.API{Service: "s3.amazonaws.com", Operation: op},
		Outcome:   event.OutcomeSuccess,
		Resources: []event.Resource{{Type: "AWS::S3::Bucket", UID: "arn:aws:s3:::reports-" + account, Name: "reports-" + account}},
		Raw:       event.Raw{Format: event.RawJSON, Data: []byte(raw)},
	}
}

func sample() []event.Event {
	evs := []event.Event{
		apiCall("ct-2", t0.Add(2*time.Minute), "111122223333", "ASIAEXAMPLEKEY00001", "GetObject"),
		apiCall("ct-1", t0, "111122223333", "ASIAEXAMPLEKEY00001", "ListBuckets"),
		apiCall("ct-3", t0.Add(26*time.Hour), "111122223333", "AKIAEXAMPLEKEY00002", "PutBucketPolicy"),
		apiCall("ct-4", t0.Add(time.Minute), "444455556666", "AKIAEXAMPLEKEY00003", "DeleteBucket"),
	}
	fail := apiCall("ct-5", t0.Add(3*time.Minute), "111122223333", "ASIAEXAMPLEKEY00001", "GetBucketAcl")
	fail.Outcome, fail.API.ErrorCode = event.OutcomeFailure, "AccessDenied"
	evs = append(evs, fail)
	login := apiCall("ct-6", t0.Add(4*time.Minute), "111122223333", "", "ConsoleLogin")
	login.Class, login.Activity, login.API.Service = event.ClassAuthentication, 1, "signin.amazonaws.com"
	evs = append(evs, login)
	evs = append(evs, event.Event{
		ID: "flow-1", Time: t0.Add(5 * time.Minute), Source: event.SourceVPCFlow, Class: event.ClassNetworkActivity, Activity: 6,
		Cloud:   event.Cloud{Provider: "aws", Account: "111122223333", Region: "eu-west-1"},
		Src:     event.Endpoint{IP: netip.MustParseAddr("10.0.1.5"), Port: 443, InterfaceID: "eni-0a1b2c3d"},
		Dst:     event.Endpoint{IP: netip.MustParseAddr("203.0.113.9"), Port: 51234},
		Network: &event.Network{Protocol: 6, Bytes: 840, Packets: 4, Action: "ACCEPT", LogStatus: "OK"},
		Raw: event.Raw{Format: event.RawFields, Data: []byte("2 111122223333 eni-0a1b2c3d 10.0.1.5 203.0.113.9 443 51234 6 4 840 1762162200 1762162260 ACCEPT OK"),
			Names: []string{"version"}, Values: []string{"2"}},
	})
	evs = append(evs, event.Event{
		ID: "gd-1", Time: t0.Add(6 * time.Minute), Source: event.SourceGuardDuty, Class: event.ClassDetectionFinding, Activity: 1,
		Cloud:   event.Cloud{Provider: "aws", Account: "111122223333", Region: "eu-west-1"},
		Actor:   event.Actor{AccessKeyID: "ASIAEXAMPLEKEY00001"},
		Finding: &event.Finding{UID: "gd-1", Type: "Recon:IAMUser/MaliciousIPCaller", Title: "API called from a known malicious address", Severity: 5, Level: "medium"},
		Raw:     event.Raw{Format: event.RawJSON, Data: []byte(`{"id":"gd-1","type":"Recon:IAMUser/MaliciousIPCaller"}`)},
	})
	return evs
}

func openTest(t testing.TB, dir string, opt Options) *Writer {
	t.Helper()
	opt.Path = dir
	w, err := Open(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func readLake(t testing.TB, l *Lake) map[string][]Row {
	t.Helper()
	ctx := context.Background()
	files, err := l.Files(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]Row{}
	for _, f := range files {
		rows, err := l.ReadFile(ctx, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		out[f.Partition.Prefix()] = append(out[f.Partition.Prefix()], rows...)
	}
	return out
}

// ocsfOf is r's ocsf column, "" when null.
func ocsfOf(r Row) string {
	if r.OCSF == nil {
		return ""
	}
	return *r.OCSF
}

func uids(rows []Row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.EventUID)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w := openTest(t, dir, Options{})
	if err := w.Write(ctx, sample()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := readLake(t, w.Lake)
	want := map[string][]string{
		"ext/api_activity/1.0/region=eu-west-1/accountId=111122223333/eventDay=20261103/":      {"ct-1", "ct-2", "ct-5"},
		"ext/api_activity/1.0/region=eu-west-1/accountId=111122223333/eventDay=20261104/":      {"ct-3"},
		"ext/api_activity/1.0/region=eu-west-1/accountId=444455556666/eventDay=20261103/":      {"ct-4"},
		"ext/authentication/1.0/region=eu-west-1/accountId=111122223333/eventDay=20261103/":    {"ct-6"},
		"ext/network_activity/1.0/region=eu-west-1/accountId=111122223333/eventDay=20261103/":  {"flow-1"},
		"ext/detection_finding/1.0/region=eu-west-1/accountId=111122223333/eventDay=20261103/": {"gd-1"},
	}
	gotIDs := map[string][]string{}
	for p, rows := range got {
		gotIDs[p] = uids(rows) // in file order: sorted by time
	}
	if d := cmp.Diff(want, gotIDs); d != "" {
		t.Fatalf("partitions and rows (-want +got):\n%s", d)
	}

	api := got["ext/api_activity/1.0/region=eu-west-1/accountId=111122223333/eventDay=20261103/"]
	r := api[2]
	wantRow := Row{
		Time: t0.Add(3 * time.Minute).UnixMilli(), ClassUID: 6003, ClassName: "API Activity", ActivityID: 2,
		SeverityID: 1, Severity: "Informational", StatusID: 2, EventUID: "ct-5", Source: "cloudtrail",
		Account: "111122223333", Region: "eu-west-1",
		ActorARN: "arn:aws:sts::111122223333:assumed-role/deploy/ci-run", ActorType: "AssumedRole",
		PrincipalID: "AROAEXAMPLEROLEID:ci-run", AccessKeyID: "ASIAEXAMPLEKEY00001", SessionName: "ci-run",
		SessionIssuerARN: "arn:aws:iam::111122223333:role/deploy", SrcIP: "198.51.100.7",
		APIService: "s3.amazonaws.com", APIOperation: "GetBucketAcl", ResourceARNs: []string{"arn:aws:s3:::reports-111122223333"},
		ErrorCode: "AccessDenied",
	}
	// A CloudTrail call's OCSF is made again from its native record, not
	// stored; a flow record's (no native JSON to make it from) is stored.
	if r.OCSF != nil {
		t.Errorf("ocsf column = %s, want null for a CloudTrail call", *r.OCSF)
	}
	if js, err := r.OCSFJSON(); err != nil || !strings.Contains(string(js), `"operation":"GetBucketAcl"`) || !strings.Contains(string(js), `"class_uid":6003`) {
		t.Errorf("OCSFJSON = %s, %v, want the OCSF record of the call", js, err)
	}
	if !strings.Contains(string(r.Raw), `"eventID":"ct-5"`) {
		t.Errorf("raw column = %s, want the native record", r.Raw)
	}
	r.Raw = nil
	if d := cmp.Diff(wantRow, r); d != "" {
		t.Errorf("row (-want +got):\n%s", d)
	}
	fl := got["ext/network_activity/1.0/region=eu-west-1/accountId=111122223333/eventDay=20261103/"][0]
	if fl.SrcIP != "10.0.1.5" || fl.DstIP != "203.0.113.9" || !strings.HasPrefix(string(fl.Raw), "2 111122223333 eni-") {
		t.Errorf("flow row = %+v", fl)
	}
	if !strings.Contains(ocsfOf(fl), `"class_uid":4001`) {
		t.Errorf("flow row ocsf column = %s, want its OCSF record", ocsfOf(fl))
	}
	if js, err := fl.OCSFJSON(); err != nil || string(js) != ocsfOf(fl) {
		t.Errorf("flow row OCSFJSON = %s, %v, want its ocsf column", js, err)
	}
	gd := got["ext/detection_finding/1.0/region=eu-west-1/accountId=111122223333/eventDay=20261103/"][0]
	if gd.SeverityID != 3 || gd.Severity != "Medium" || gd.Source != "guardduty" {
		t.Errorf("finding row severity %d %q source %q, want 3 Medium guardduty", gd.SeverityID, gd.Severity, gd.Source)
	}

	// The file: zstd, sorted by time, statistics, page index and Bloom
	// filters on the lookup columns.
	files, _ := w.Files(ctx, Filter{Tables: []string{"api_activity"}, Accounts: []string{"111122223333"}, From: "20261103", To: "20261103"})
	if len(files) != 1 {
		t.Fatalf("filtered files = %v, want one", files)
	}
	f, err := os.Open(filepath.Join(dir, files[0].Key))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, _ := f.Stat()
	pf, err := parquet.OpenFile(f, info.Size())
	if err != nil {
		t.Fatal(err)
	}
	md := pf.Metadata()
	if len(md.RowGroups) != 1 || len(md.RowGroups[0].SortingColumns) != 1 {
		t.Fatalf("row groups %d, sorting columns %v", len(md.RowGroups), md.RowGroups)
	}
	for _, c := range md.RowGroups[0].Columns {
		name := strings.Join(c.MetaData.PathInSchema, ".")
		if c.MetaData.Codec.String() != "ZSTD" {
			t.Errorf("column %s codec %v, want ZSTD", name, c.MetaData.Codec)
		}
		if name == "time" && (string(c.MetaData.Statistics.MinValue) == "" || c.ColumnIndexOffset == 0) {
			t.Errorf("column time: no statistics or column index: %+v", c.MetaData.Statistics)
		}
	}
	rg := pf.RowGroups()[0]
	for _, col := range []string{"access_key_id", "actor_arn", "src_ip", "api_operation"} {
		leaf, ok := pf.Schema().Lookup(col)
		if !ok {
			t.Fatalf("no column %s", col)
		}
		bf := rg.ColumnChunks()[leaf.ColumnIndex].BloomFilter()
		if bf == nil {
			t.Errorf("column %s: no Bloom filter", col)
			continue
		}
		if ok, _ := bf.Check(parquet.ValueOf("ASIAEXAMPLEKEY00001")); col == "access_key_id" && !ok {
			t.Errorf("Bloom filter of access_key_id misses a key the file holds")
		}
	}
}

func countRows(t testing.TB, l *Lake) (int, map[string]int) {
	t.Helper()
	n := 0
	per := map[string]int{}
	for _, rows := range readLake(t, l) {
		for _, r := range rows {
			n++
			per[r.key()]++
		}
	}
	return n, per
}

func TestDedup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	evs := sample()

	// Offered twice to one writer, within a batch and across batches.
	w := openTest(t, dir, Options{})
	if err := w.Write(ctx, append(slices.Clone(evs), evs[0], evs[6])); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Written != int64(len(evs)) || st.Duplicates != int64(len(evs)+2) {
		t.Fatalf("stats %+v, want %d written and %d duplicates", st, len(evs), len(evs)+2)
	}

	// A crash: a second writer publishes part of a redelivery and dies
	// (its buffer is lost); a third gets all of it again, plus news.
	w2 := openTest(t, dir, Options{})
	more := apiCall("ct-new", t0.Add(10*time.Minute), "111122223333", "ASIAEXAMPLEKEY00001", "GetObject")
	later := apiCall("ct-later", t0.Add(11*time.Minute), "111122223333", "ASIAEXAMPLEKEY00001", "GetObject")
	if err := w2.Write(ctx, append(slices.Clone(evs[:3]), more)); err != nil {
		t.Fatal(err)
	}
	if err := w2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w2.Write(ctx, []event.Event{later}); err != nil { // never flushed: lost with the process
		t.Fatal(err)
	}
	if st := w2.Stats(); st.Written != 1 || st.Duplicates != 3 {
		t.Fatalf("second writer stats %+v, want 1 written (ct-new), 3 duplicates", st)
	}
	w3 := openTest(t, dir, Options{})
	if err := w3.Write(ctx, append(slices.Clone(evs), more, later)); err != nil {
		t.Fatal(err)
	}
	if err := w3.Close(); err != nil {
		t.Fatal(err)
	}
	n, per := countRows(t, w3.Lake)
	if n != len(evs)+2 {
		t.Errorf("lake holds %d rows, want %d", n, len(evs)+2)
	}
	for k, c := range per {
		if c != 1 {
			t.Errorf("row %q written %d times", k, c)
		}
	}

	// A finding updated in place (same id, later time) is a new record.
	upd := evs[7]
	upd.Time = upd.Time.Add(time.Hour)
	w4 := openTest(t, dir, Options{})
	if err := w4.Write(ctx, []event.Event{upd}); err != nil {
		t.Fatal(err)
	}
	if err := w4.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w4.Stats(); st.Written != 1 {
		t.Errorf("updated finding: stats %+v, want it written", st)
	}
}

// TestForget: a partition forgotten to bound memory is read back from
// its files when written again, so copies are still caught.
func TestForget(t *testing.T) {
	ctx := context.Background()
	w := openTest(t, t.TempDir(), Options{MaxPartitions: 1})
	evs := sample()
	for range 2 {
		for i := range evs {
			if err := w.Write(ctx, evs[i:i+1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n, _ := countRows(t, w.Lake); n != len(evs) {
		t.Errorf("lake holds %d rows, want %d", n, len(evs))
	}
	if st := w.Stats(); st.Duplicates != int64(len(evs)) {
		t.Errorf("stats %+v, want %d duplicates", st, len(evs))
	}
}

// TestForgetByKeys: an import in time order holds the id sets of the days
// it is writing, not of every day it wrote (MaxKeys), and still catches
// every copy of a forgotten day's rows.
func TestForgetByKeys(t *testing.T) {
	ctx := context.Background()
	w := openTest(t, t.TempDir(), Options{MaxKeys: 60})
	var evs []event.Event
	for d := range 10 {
		for i := range 50 {
			evs = append(evs, apiCall(fmt.Sprintf("d%d-%d", d, i), t0.Add(time.Duration(d)*24*time.Hour+time.Duration(i)*time.Second),
				"111122223333", "ASIAEXAMPLEKEY00001", "GetObject"))
		}
	}
	for pass := range 2 {
		for i := 0; i < len(evs); i += 25 {
			if err := w.Write(ctx, evs[i:i+25]); err != nil {
				t.Fatal(err)
			}
			if len(w.parts) > 2 || w.keys > 60+50 {
				t.Fatalf("pass %d, after %d events: %d partitions, %d keys held (MaxKeys 60)", pass, i+25, len(w.parts), w.keys)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n, _ := countRows(t, w.Lake); n != len(evs) {
		t.Errorf("lake holds %d rows, want %d", n, len(evs))
	}
	if st := w.Stats(); st.Duplicates != int64(len(evs)) {
		t.Errorf("stats %+v, want %d duplicates", st, len(evs))
	}
}

func manyCalls(n int, from time.Time) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = apiCall(fmt.Sprintf("call-%06d", i), from.Add(time.Duration(i)*time.Second), "111122223333",
			fmt.Sprintf("ASIAEXAMPLEKEY%05d", i%50), []string{"GetObject", "PutObject", "ListBuckets"}[i%3])
	}
	return evs
}

func TestRoll(t *testing.T) {
	ctx := context.Background()
	t.Run("size", func(t *testing.T) {
		w := openTest(t, t.TempDir(), Options{RollSize: 16 << 10})
		evs := manyCalls(300, t0)
		if err := w.Write(ctx, evs); err != nil {
			t.Fatal(err)
		}
		st := w.Stats()
		if st.Files < 3 {
			t.Errorf("%d files before Flush, want the rows rolled by size into several", st.Files)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		files, _ := w.Files(ctx, Filter{})
		if n, _ := countRows(t, w.Lake); n != 300 || int64(len(files)) != w.Stats().Files {
			t.Errorf("%d rows in %d files (stats %+v), want 300", n, len(files), w.Stats())
		}
	})
	t.Run("age", func(t *testing.T) {
		now := t0
		w := openTest(t, t.TempDir(), Options{RollAge: time.Minute, Now: func() time.Time { return now }})
		evs := manyCalls(3, t0)
		if err := w.Write(ctx, evs[:1]); err != nil {
			t.Fatal(err)
		}
		now = now.Add(30 * time.Second)
		if err := w.Write(ctx, evs[1:2]); err != nil {
			t.Fatal(err)
		}
		if st := w.Stats(); st.Files != 0 {
			t.Fatalf("stats %+v: a file written before RollAge", st)
		}
		now = now.Add(31 * time.Second)
		if err := w.FlushOld(ctx); err != nil {
			t.Fatal(err)
		}
		if st := w.Stats(); st.Files != 1 || st.Written != 2 {
			t.Fatalf("stats %+v after RollAge, want one file of 2 rows", st)
		}
		if err := w.Write(ctx, evs[2:]); err != nil {
			t.Fatal(err)
		}
		if st := w.Stats(); st.Files != 1 {
			t.Fatalf("stats %+v: the new row rolled at once", st)
		}
	})
}

func TestCompact(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	evs := manyCalls(200, t0)
	// Copies across files, as two writers on one lake would make them:
	// the second read the partition before the first wrote to it.
	rogue := openTest(t, dir, Options{})
	if err := rogue.Write(ctx, evs[:10]); err != nil {
		t.Fatal(err)
	}
	w := openTest(t, dir, Options{RollSize: 8 << 10})
	if err := w.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rogue.Close(); err != nil {
		t.Fatal(err)
	}
	before, _ := w.Files(ctx, Filter{})
	if n, _ := countRows(t, w.Lake); n != 210 || len(before) < 5 {
		t.Fatalf("before: %d rows in %d files, want 210 in many", n, len(before))
	}

	oldData, err := os.ReadFile(filepath.Join(dir, before[0].Key))
	if err != nil {
		t.Fatal(err)
	}
	st, err := w.Compact(ctx, CompactOptions{Target: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := w.Files(ctx, Filter{})
	if len(after) != 1 || st.FilesMerged != len(before) || st.Duplicates != 10 {
		t.Fatalf("after: %d files, stats %+v; want 1 file merging %d, 10 duplicates", len(after), st, len(before))
	}
	rows := readLake(t, w.Lake)[after[0].Partition.Prefix()]
	if len(rows) != 200 || !slices.IsSortedFunc(rows, func(a, b Row) int { return int(a.Time - b.Time) }) {
		t.Fatalf("merged file: %d rows, sorted %v", len(rows), slices.IsSortedFunc(rows, func(a, b Row) int { return int(a.Time - b.Time) }))
	}

	// A compaction killed after writing the merged file: the old files are
	// back beside it. Files leaves them out; Compact removes them.
	old := filepath.Join(dir, before[0].Key)
	if err := os.WriteFile(old, oldData, 0o600); err != nil {
		t.Fatal(err)
	}
	if files, _ := w.Files(ctx, Filter{}); len(files) != 1 {
		t.Errorf("files with a replaced leftover = %v, want the merged file only", files)
	}
	if _, err := w.Compact(ctx, CompactOptions{Target: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("replaced leftover still there after Compact: %v", err)
	}
}

func TestRetention(t *testing.T) {
	ctx := context.Background()
	w := openTest(t, t.TempDir(), Options{})
	old := manyCalls(2, t0.Add(-100*24*time.Hour))
	recent := manyCalls(2, t0.Add(-89*24*time.Hour))
	recent[0].ID, recent[1].ID = "r0", "r1"
	if err := w.Write(ctx, append(old, recent...)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := w.Compact(ctx, CompactOptions{Retention: 90 * 24 * time.Hour, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := w.Files(ctx, Filter{})
	if st.Pruned != 1 || len(files) != 1 || files[0].Partition.Day != t0.Add(-89*24*time.Hour).Format("20060102") {
		t.Fatalf("pruned %d, left %v; want the 100-day-old partition gone, the 89-day-old kept", st.Pruned, files)
	}
	if entries, _ := os.ReadDir(filepath.Join(w.String(), "ext/api_activity/1.0/region=eu-west-1/accountId=111122223333")); len(entries) != 1 {
		t.Errorf("partition folders left: %v, want the empty one removed", entries)
	}
}

func TestCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "import.checkpoint")
	c, err := OpenCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Mark("a.json.gz", "s3://b/k.json.gz", "a.json.gz"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	// A crash cut the next line short.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("half-writ")
	f.Close()
	c, err = OpenCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Done("a.json.gz") || !c.Done("s3://b/k.json.gz") || c.Done("half-writ") || c.Len() != 2 {
		t.Fatalf("reopened checkpoint: %v", c.done)
	}
	if err := c.Mark("c.json"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	data, _ := os.ReadFile(path)
	if string(data) != "a.json.gz\ns3://b/k.json.gz\nc.json\n" {
		t.Errorf("checkpoint file = %q", data)
	}
}

func TestScan(t *testing.T) {
	ctx := context.Background()
	w := openTest(t, t.TempDir(), Options{RollSize: 1 << 30})
	evs := manyCalls(40_000, t0) // one a second: 11 hours of one day, three row groups in one file
	if err := w.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, sample()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	since := t0.Add(39_000 * time.Second)
	var got []string
	st, err := w.Scan(ctx, Filter{Tables: []string{"api_activity"}, Accounts: []string{"111122223333"}}, since, since.Add(10*time.Second), func(rows []Row) error {
		got = append(got, uids(rows)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := uids(mustRows(t, evs[39_000:39_010]))
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	if st.PartitionsSelected != 1 || st.PartitionsAvailable != 6 || st.FilesRead != 1 || st.RowGroups != 3 || st.Skipped != 2 {
		t.Errorf("scan stats %+v: want 1 of 6 partitions, one file, 2 of 3 row groups passed over", st)
	}
}

func mustRows(t *testing.T, evs []event.Event) []Row {
	t.Helper()
	rows, err := NewRows(evs)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestRowEvent(t *testing.T) {
	// A CloudTrail row is decoded again from its native record.
	raw := `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/ops","accountId":"111122223333","accessKeyId":"AKIAEXAMPLEOPS","userName":"ops"},"eventTime":"2026-11-03T09:30:00Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15","requestParameters":{"bucketName":"reports"},"responseElements":null,"requestID":"R1","eventID":"e-1","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`
	r := Row{Source: "cloudtrail", EventUID: "e-1", Raw: []byte(raw)}
	ev, err := r.Event()
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "e-1" || ev.API.Operation != "PutBucketPolicy" || ev.Actor.AccessKeyID != "AKIAEXAMPLEOPS" || !ev.Time.Equal(t0) {
		t.Errorf("decoded event: %+v", ev)
	}
	if v, ok := ev.Lookup("requestParameters.bucketName"); !ok || v.String() != "reports" {
		t.Errorf("native field: %q %v", v, ok)
	}
	// Other rows are rebuilt from their columns.
	rows := mustRows(t, sample()[6:7]) // the flow
	fl, err := rows[0].Event()
	if err != nil {
		t.Fatal(err)
	}
	if fl.Source != event.SourceVPCFlow || fl.Class != event.ClassNetworkActivity || fl.Src.IP.String() != "10.0.1.5" || fl.Cloud.Account != "111122223333" || !fl.Time.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("flow event: %+v", fl)
	}
}

func TestFromConfig(t *testing.T) {
	c, err := config.Parse([]byte("lake:\n  s3: s3://sec-lake/p\n  roll_size: 1MiB\n  roll_age: 2m\n"))
	if err != nil {
		t.Fatal(err)
	}
	if o := FromConfig(c.Lake, c.Data); o.Path != "s3://sec-lake/p" || o.RollSize != 1<<20 || o.RollAge != 2*time.Minute {
		t.Errorf("options = %+v", o)
	}
}

// TestScanColumns: Scan reads row groups column by column; what it reads
// is what parquet-go's row reader (ReadFile) reads, but the ocsf column,
// over every column, with lists empty, of one and of two values, and
// several pages and row groups.
func TestScanColumns(t *testing.T) {
	ctx := context.Background()
	w := openTest(t, t.TempDir(), Options{RollSize: 1 << 30})
	evs := append(manyCalls(40_000, t0), sample()...)
	evs[7].Resources = nil // no resource: an empty list between full ones
	evs[8].Resources = append(evs[8].Resources, event.Resource{UID: "arn:aws:s3:::second"})
	if err := w.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := map[string]Row{}
	for _, rows := range readLake(t, w.Lake) {
		for _, r := range rows {
			r.OCSF = nil
			if len(r.ResourceARNs) == 0 {
				r.ResourceARNs = nil
			}
			want[r.EventUID] = r
		}
	}
	got := map[string]Row{}
	var mu sync.Mutex
	st, err := w.ScanParallel(ctx, Filter{}, time.Time{}, time.Time{}, 2, func(rows []Row) error {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rows {
			got[r.EventUID] = r
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != len(evs) || st.RowGroups < 3 {
		t.Fatalf("%d rows in files, %d row groups scanned: want %d rows, several row groups", len(want), st.RowGroups, len(evs))
	}
	if len(got[evs[8].ID].ResourceARNs) != 2 || len(got[evs[7].ID].ResourceARNs) != 0 {
		t.Errorf("resource lists %v, %v: want two ARNs, none", got[evs[8].ID].ResourceARNs, got[evs[7].ID].ResourceARNs)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("scanned rows (-file rows +scanned):\n%s", d)
	}
	// With Filter.Equal, the rows are read page by page where they are
	// (a third of them here, in every page).
	for _, op := range []string{"PutObject", "GetBucketAcl"} {
		wantOp := map[string]Row{}
		for id, r := range want {
			if r.APIOperation == op {
				wantOp[id] = r
			}
		}
		gotOp := map[string]Row{}
		if _, err := w.Scan(ctx, Filter{Equal: map[string]string{"api_operation": op}}, time.Time{}, time.Time{}, func(rows []Row) error {
			for _, r := range rows {
				gotOp[r.EventUID] = r
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(wantOp) == 0 {
			t.Fatalf("no %s row", op)
		}
		if d := cmp.Diff(wantOp, gotOp); d != "" {
			t.Errorf("%s rows (-file rows +scanned):\n%s", op, d)
		}
	}
}

// TestWriteCopies: rows hold copies of what Write was given (strings too:
// a decoder's may alias a buffer it reuses), which the caller may reuse
// once Write returns.
func TestWriteCopies(t *testing.T) {
	ctx := context.Background()
	w := openTest(t, t.TempDir(), Options{})
	evs := manyCalls(10, t0)
	want := mustRows(t, evs)
	for i := range want {
		want[i].Raw = slices.Clone(evs[i].Raw.Data) // want's may lack the id and time (RawElided)
		want[i].ActorARN = strings.Clone(want[i].ActorARN)
	}
	var bufs [][]byte
	for i := range evs {
		b := []byte(evs[i].Actor.ARN)
		bufs = append(bufs, b)
		evs[i].Actor.ARN = unsafe.String(&b[0], len(b))
	}
	if err := w.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		clear(evs[i].Raw.Data)
		clear(bufs[i])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := map[string]Row{}
	for _, rows := range readLake(t, w.Lake) {
		for _, r := range rows {
			got[r.EventUID] = r
		}
	}
	for _, r := range want {
		g := got[r.EventUID]
		if !bytes.Equal(g.Raw, r.Raw) || g.ActorARN != r.ActorARN {
			t.Fatalf("row %s: raw %q, actor %q; want the record and actor as written", r.EventUID, g.Raw, g.ActorARN)
		}
	}
}

// TestScanEqual: Filter.Equal keeps the rows of one access key; the row
// groups whose Bloom filter rules the key out are not read, nor the
// pages of the others when no row holds it.
func TestScanEqual(t *testing.T) {
	ctx := context.Background()
	w := openTest(t, t.TempDir(), Options{RollSize: 1 << 30})
	evs := manyCalls(40_000, t0) // three row groups in one file
	for _, i := range []int{20_000, 20_001, 20_500} {
		evs[i].Actor.AccessKeyID = "AKIAEXAMPLEONLYHERE"
	}
	if err := w.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := w.Files(ctx, Filter{})
	var size int64
	for _, f := range files {
		size += f.Size
	}
	scan := func(eq map[string]string) ([]string, ScanStats) {
		t.Helper()
		var got []string
		st, err := w.Scan(ctx, Filter{Equal: eq}, time.Time{}, time.Time{}, func(rows []Row) error {
			got = append(got, uids(rows)...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got, st
	}
	got, st := scan(map[string]string{"access_key_id": "AKIAEXAMPLEONLYHERE"})
	if d := cmp.Diff([]string{"call-020000", "call-020001", "call-020500"}, got); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	if st.RowGroups != 3 || st.Pruned != 2 || st.BytesRead*2 > size {
		t.Errorf("stats %+v (files of %d bytes): want 2 of 3 row groups pruned, less than half the bytes read", st, size)
	}
	got, _ = scan(map[string]string{"access_key_id": "ASIAEXAMPLEKEY00007", "api_operation": "PutObject"})
	var want []string
	for _, e := range evs {
		if e.Actor.AccessKeyID == "ASIAEXAMPLEKEY00007" && e.API.Operation == "PutObject" {
			want = append(want, e.ID)
		}
	}
	if len(want) == 0 || len(got) != len(want) {
		t.Errorf("two columns: %d rows, want %d (> 0)", len(got), len(want))
	}
	if got, st = scan(map[string]string{"access_key_id": "AKIAEXAMPLENOWHERE0"}); len(got) != 0 || st.Pruned != 3 || st.Rows != 0 {
		t.Errorf("a key in no row: %d rows, stats %+v, want none read", len(got), st)
	}
	if _, err := w.Scan(ctx, Filter{Equal: map[string]string{"raw": "x"}}, time.Time{}, time.Time{}, func([]Row) error { return nil }); err == nil {
		t.Errorf("Equal on raw: no error")
	}
}

// TestScanForeignFile: a file in the lake that Parapet did not write,
// whose time column is text, is an error naming the file and the column,
// not values read as what they are not.
func TestScanForeignFile(t *testing.T) {
	dir := t.TempDir()
	type foreign struct {
		Time   string `parquet:"time"`
		Source string `parquet:"source"`
		Raw    []byte `parquet:"raw"`
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, []foreign{{Time: "yesterday", Source: "x", Raw: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	key := "ext/api_activity/1.0/region=eu-west-1/accountId=111122223333/eventDay=20261103/p-foreign.parquet"
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, key)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, key), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := OpenLake(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, eq := range []map[string]string{nil, {"source": "x"}} {
		_, err = l.Scan(context.Background(), Filter{Equal: eq}, time.Time{}, time.Time{}, func([]Row) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "p-foreign.parquet") || !strings.Contains(err.Error(), "column time") {
			t.Errorf("scan (Equal %v) of a foreign file: %v, want an error naming the file and the time column", eq, err)
		}
	}
}

// TestCompactDropsOCSF: compaction leaves out the OCSF JSON that files
// written before it was made from the native record hold for CloudTrail
// calls; a flow record keeps its own.
func TestCompactDropsOCSF(t *testing.T) {
	ctx := context.Background()
	w := openTest(t, t.TempDir(), Options{})
	evs := append(manyCalls(5, t0), sample()[6]) // five calls, a flow
	rows := mustRows(t, evs)
	var old []*Row
	for i := range rows {
		if rows[i].Source == "cloudtrail" {
			o := `{"class_uid":6003}` // as the writer stored it before
			rows[i].OCSF = &o
			old = append(old, &rows[i])
		}
	}
	if _, _, err := w.writeFile(ctx, rowPartition(old[0]), old, nil, &hotFormat); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, manyCalls(10, t0.Add(time.Hour))[5:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, evs[5:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err := w.Compact(ctx, CompactOptions{Target: 1 << 30}); err != nil || st.FilesMerged < 2 {
		t.Fatalf("compact: %+v, %v; want the two files of calls merged", st, err)
	}
	n := 0
	for _, rows := range readLake(t, w.Lake) {
		for _, r := range rows {
			n++
			if r.Source == "cloudtrail" && r.OCSF != nil {
				t.Errorf("call %s keeps its ocsf column after compaction: %s", r.EventUID, *r.OCSF)
			}
			if r.Source == "vpcflow" && !strings.Contains(ocsfOf(r), `"class_uid":4001`) {
				t.Errorf("flow %s: ocsf column %q, want its OCSF record", r.EventUID, ocsfOf(r))
			}
		}
	}
	if n != 11 {
		t.Errorf("%d rows after compaction, want 11", n)
	}
}

// TestWriteMixedBatchFrees: a batch over several partitions is converted
// partition by partition, so once a partition's rows are in a file their
// memory can go, even while another partition of the same batch is still
// buffered (one slice and arena for the batch kept all of it).
func TestWriteMixedBatchFrees(t *testing.T) {
	ctx := context.Background()
	// Three partitions (accounts), interleaved; the third is small. Each
	// record carries 8 KiB of parameters: 48 MiB for the two large ones.
	pad := strings.Repeat("x", 8<<10)
	var evs []event.Event
	for i := range 6000 {
		acct := []string{"111111111111", "222222222222"}[i%2]
		if i%20 == 0 {
			acct = "333333333333"
		}
		ev := apiCall(fmt.Sprintf("m-%d", i), t0.Add(time.Duration(i)*time.Millisecond), acct, "ASIAEXAMPLEKEY00001", "GetObject")
		ev.Raw.Data = fmt.Appendf(nil, `{"eventVersion":"1.09","eventID":"m-%d","requestParameters":{"pad":%q}}`, i, pad)
		evs = append(evs, ev)
	}
	w := openTest(t, t.TempDir(), Options{RollSize: 1 << 30, MaxBuffered: 1 << 30})
	if err := w.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	evs = nil
	heap := func() uint64 {
		runtime.GC()
		runtime.GC() // and what pools held over the first
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	// Write the two large partitions, leave the small one buffered.
	w.mu.Lock()
	var big []*part
	for _, pt := range w.parts {
		if pt.p.Account != "333333333333" {
			big = append(big, pt)
		}
	}
	err := w.rollAll(ctx, big)
	w.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	after := heap()
	if len(big) != 2 || before < after || before-after < 32<<20 {
		t.Errorf("%d partitions written: heap %d MiB before, %d MiB after (want at least 32 MiB freed)", len(big), before>>20, after>>20)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n, _ := countRows(t, w.Lake); n != 6000 {
		t.Errorf("lake holds %d rows, want 6000", n)
	}
}

// TestCompactWorkers: partitions compacted at once make the same files,
// the same rows and the same counts as one at a time.
func TestCompactWorkers(t *testing.T) {
	ctx := context.Background()
	var evs []event.Event
	for d := range 6 {
		day := manyCalls(60, t0.Add(time.Duration(d)*24*time.Hour))
		for i := range day {
			day[i].ID = fmt.Sprintf("d%d-%s", d, day[i].ID)
		}
		evs = append(evs, day...)
	}
	build := func(workers int) (CompactStats, map[string][]Row, []string) {
		dir := t.TempDir()
		// Copies across files, as two writers on one lake make them.
		rogue := openTest(t, dir, Options{})
		if err := rogue.Write(ctx, evs[50:200]); err != nil {
			t.Fatal(err)
		}
		w := openTest(t, dir, Options{RollSize: 8 << 10})
		if err := w.Write(ctx, evs[:len(evs)/2]); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, evs[len(evs)/2:]); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := rogue.Close(); err != nil {
			t.Fatal(err)
		}
		st, err := w.Compact(ctx, CompactOptions{Target: 1 << 20, Workers: workers, Level: zstd.SpeedFastest})
		if err != nil {
			t.Fatal(err)
		}
		files, _ := w.Files(ctx, Filter{})
		var names []string
		for _, f := range files {
			names = append(names, f.Key)
		}
		return st, readLake(t, w.Lake), names
	}
	st1, rows1, files1 := build(1)
	st3, rows3, files3 := build(3)
	if st1.Partitions != 6 || st1.Duplicates != 150 || len(files1) != 6 {
		t.Fatalf("one at a time: %+v, files %v; want 6 partitions each compacted into one file, copies dropped", st1, files1)
	}
	if st3 != st1 || !slices.Equal(files3, files1) {
		t.Errorf("three at once: %+v, files %v; one at a time: %+v, %v", st3, files3, st1, files1)
	}
	for p, rs := range rows1 {
		if len(rs) == 0 || !reflect.DeepEqual(rs, rows3[p]) {
			t.Errorf("partition %s: rows differ between one and three workers", p)
		}
	}
}

// TestCompactMaxRows: compaction merges a partition's small files into
// files of at most MaxRows rows (it holds a merge's rows in memory), every
// row once, and a second run leaves those files as they are.
func TestCompactMaxRows(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	evs := manyCalls(600, t0)
	w := openTest(t, dir, Options{RollSize: 8 << 10})
	for i := 0; i < len(evs); i += 50 {
		if err := w.Write(ctx, evs[i:i+50]); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := w.Files(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var biggest int64
	for _, f := range before {
		n, err := w.numRows(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		biggest = max(biggest, n)
	}
	if len(before) < 12 || biggest > 50 {
		t.Fatalf("%d files written, the largest %d rows: want at least 12 of at most 50", len(before), biggest)
	}
	const maxRows = 120
	check := func(run string) []string {
		files, err := w.Files(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		seen := map[string]int{}
		for _, f := range files {
			keys = append(keys, f.Key)
			rows, err := w.ReadFile(ctx, f.Key)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) > maxRows {
				t.Errorf("%s: %s holds %d rows, over MaxRows %d", run, f.Name, len(rows), maxRows)
			}
			for _, r := range rows {
				seen[r.EventUID]++
			}
		}
		if len(seen) != len(evs) {
			t.Errorf("%s: %d events in the lake, want %d", run, len(seen), len(evs))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s: event %s %d times", run, id, n)
			}
		}
		if len(files) < len(evs)/maxRows {
			t.Errorf("%s: %d files, want at least %d", run, len(files), len(evs)/maxRows)
		}
		return keys
	}
	opt := CompactOptions{Target: 1 << 30, MaxRows: maxRows, Level: zstd.SpeedFastest}
	if _, err := w.Compact(ctx, opt); err != nil {
		t.Fatal(err)
	}
	first := check("first run")
	st, err := w.Compact(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if again := check("second run"); st.FilesWritten != 0 || !slices.Equal(again, first) {
		t.Errorf("the second run rewrote files: %+v; files %v, were %v", st, again, first)
	}
}

// TestByPartition: byPartition groups events as PartitionOf names their
// partitions, in order of first appearance, including values that make
// one partition ("" and "unknown", "eu/west" and "eu_west") and days
// before 1970.
func TestByPartition(t *testing.T) {
	regions := []string{"eu-west-1", "", "unknown", "eu/west", "eu_west", "us-east-1"}
	accounts := []string{"111122223333", "444455556666", ""}
	times := []time.Time{t0, t0.Add(20 * time.Hour), time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), time.Date(1970, 1, 1, 1, 0, 0, 0, time.UTC)}
	classes := []event.Class{event.ClassAPIActivity, event.ClassNetworkActivity, 0, 99}
	rng := rand.New(rand.NewPCG(3, 4))
	evs := make([]event.Event, 3000)
	for i := range evs {
		e := &evs[i]
		if i > 0 && rng.IntN(3) == 0 { // runs of one partition
			*e = evs[i-1]
			continue
		}
		e.Class = classes[rng.IntN(len(classes))]
		e.Cloud.Region = regions[rng.IntN(len(regions))]
		e.Cloud.Account = accounts[rng.IntN(len(accounts))]
		e.Time = times[rng.IntN(len(times))].Add(time.Duration(rng.IntN(3600)) * time.Second)
	}
	var want [][]int32
	at := map[Partition]int{}
	for i := range evs {
		p := PartitionOf(&evs[i])
		g, ok := at[p]
		if !ok {
			g = len(want)
			at[p] = g
			want = append(want, nil)
		}
		want[g] = append(want[g], int32(i))
	}
	got := byPartition(evs)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%d groups, want %d", len(got), len(want))
	}
	if len(want) < 20 {
		t.Fatalf("only %d partitions: the test does not mix them", len(want))
	}
	if got := byPartition(evs[:1]); got != nil {
		t.Errorf("one partition: %v", got)
	}
}

// TestWriteRowsPartitions: rows of many partitions, interleaved (as
// WriteRows may get them from another caller than Write), each land in
// their own partition, across midnight, accounts, regions and tables,
// and a copy in another batch is still dropped.
func TestWriteRowsPartitions(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	evs := make([]event.Event, 600)
	for i := range evs {
		e := &evs[i]
		e.ID = fmt.Sprintf("ev-%03d", i)
		e.Source = event.SourceCloudTrail
		e.Class = []event.Class{event.ClassAPIActivity, event.ClassAccountChange}[rng.IntN(2)]
		e.Cloud = event.Cloud{Provider: "aws", Account: []string{"111122223333", "444455556666"}[rng.IntN(2)], Region: []string{"eu-west-1", "us-east-1"}[rng.IntN(2)]}
		// Around midnight: the day changes from one row to the next.
		e.Time = time.Date(2026, 11, 3, 23, 59, 59, 0, time.UTC).Add(time.Duration(rng.IntN(2000)) * time.Millisecond)
		e.Raw = event.Raw{Format: event.RawJSON, Data: []byte(fmt.Sprintf(`{"eventID":%q}`, e.ID))}
	}
	rows, err := NewRows(evs)
	if err != nil {
		t.Fatal(err)
	}
	w := openTest(t, t.TempDir(), Options{})
	if err := w.WriteRows(ctx, rows[:400]); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRows(ctx, rows[300:]); err != nil { // 100 copies
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if d := w.Stats().Duplicates; d != 100 {
		t.Errorf("%d copies dropped, want 100", d)
	}
	want := map[string][]string{}
	for i := range evs {
		p := PartitionOf(&evs[i]).Prefix()
		want[p] = append(want[p], evs[i].ID)
	}
	got := map[string][]string{}
	for p, rs := range readLake(t, w.Lake) {
		got[p] = uids(rs)
		slices.Sort(got[p])
	}
	for p := range want {
		slices.Sort(want[p])
	}
	if len(want) != 16 {
		t.Fatalf("the events make %d partitions, want 16", len(want))
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("partitions (-want +got):\n%s", d)
	}
}

// TestOCSFNull: a row without an OCSF record holds null in the ocsf
// column, whatever its neighbours hold, in the writer's files and in
// compaction's (parquet-go writes an empty string of an optional column
// as null or as "" depending on the rows around it), and the files'
// schema is Row's.
func TestOCSFNull(t *testing.T) {
	for _, ff := range []*fileFormat{&hotFormat, &coldFormat} {
		for _, pat := range [][]string{{"", "{}", "", "", ""}, {"{}", "", ""}, {"", "", "{}"}, {"{}", "{}", "", "{}", "", ""}} {
			rows := make([]Row, len(pat))
			for i, o := range pat {
				rows[i] = Row{Time: int64(i), EventUID: fmt.Sprint(i), Source: "cloudtrail", Raw: []byte("r")}
				if o != "" {
					rows[i].OCSF = &o
				}
			}
			data, err := ff.encode(rows, nil)
			if err != nil {
				t.Fatal(err)
			}
			pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := pf.Schema().String(), parquet.SchemaOf(Row{}).String(); got != want {
				t.Fatalf("schema:\n%s\nwant Row's:\n%s", got, want)
			}
			leaf, _ := pf.Schema().Lookup("ocsf")
			pages := pf.RowGroups()[0].ColumnChunks()[leaf.ColumnIndex].Pages()
			var got []string
			for {
				p, err := pages.ReadPage()
				if err != nil {
					break
				}
				vals := make([]parquet.Value, p.NumValues())
				n, _ := p.Values().ReadValues(vals)
				for _, v := range vals[:n] {
					if v.IsNull() {
						got = append(got, "null")
					} else {
						got = append(got, string(v.ByteArray()))
					}
				}
			}
			var want []string
			for _, o := range pat {
				if o == "" {
					o = "null"
				}
				want = append(want, o)
			}
			if !slices.Equal(got, want) {
				t.Errorf("cluster=%v %q: the column holds %q", ff.cluster, pat, got)
			}
		}
	}
}
