package hunt

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/decode/vpcflow"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/lake"
)

func TestFilter(t *testing.T) {
	row := &lake.Row{Time: time.Date(2026, 11, 3, 9, 30, 0, 0, time.UTC).UnixMilli(), ClassUID: 6003, AccessKeyID: "AKIAEXAMPLE",
		APIOperation: "PutBucketPolicy", ErrorCode: "AccessDenied", ResourceARNs: []string{"arn:aws:s3:::reports"}, Account: "111122223333"}
	for expr, want := range map[string]bool{
		`access_key_id == "AKIAEXAMPLE" && api_operation.startsWith("Put")`:   true,
		`error_code != "" && class_uid == 6003`:                               true,
		`"arn:aws:s3:::reports" in resource_arns`:                             true,
		`time > timestamp("2026-11-03T09:00:00Z") && account_id == "1"`:       false,
		`time.getHours() == 9 && region == ""`:                                true,
		`resource_arns.exists(a, a.endsWith(":logs")) || src_ip == "1.2.3.4"`: false,
	} {
		f, err := Compile(expr)
		if err != nil {
			t.Errorf("Compile(%q): %v", expr, err)
			continue
		}
		if got, err := f.Match(row); err != nil || got != want {
			t.Errorf("Match(%q) = %v, %v; want %v", expr, got, err, want)
		}
	}
	for _, bad := range []string{`access_key_id`, `nope == 1`, `class_uid == "6003"`, `(`} {
		if _, err := Compile(bad); err == nil {
			t.Errorf("Compile(%q): no error", bad)
		}
	}
}

func TestFilterEqualities(t *testing.T) {
	f, err := Compile(`access_key_id == "AKIAEXAMPLE" && (api_operation == "X" || src_ip == "1.2.3.4") && "eu-west-1" == region && class_uid == 6003 && error_code != "x"`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"access_key_id": "AKIAEXAMPLE", "cloud_region": "eu-west-1"}
	if !maps.Equal(f.equal, want) {
		t.Errorf("equalities %v, want %v", f.equal, want)
	}
	wantCols := map[string]bool{"access_key_id": true, "api_operation": true, "src_ip": true, "cloud_region": true, "class_uid": true, "error_code": true}
	if !maps.Equal(f.columns, wantCols) {
		t.Errorf("columns %v, want %v", f.columns, wantCols)
	}
	if f, _ := Compile(`access_key_id == "A" || access_key_id == "B"`); len(f.equal) != 0 {
		t.Errorf("a disjunction pushed down as %v", f.equal)
	}
}

// TestRunPrunes: a CEL filter naming one access key finds what a filter
// the scan cannot prune by finds, reading fewer row groups.
func TestRunPrunes(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	var evs []event.Event
	for i := range 40_000 {
		key := fmt.Sprintf("AKIAEXAMPLE%08d", i%97)
		if i >= 30_000 && i%1000 == 0 {
			key = "AKIAEXAMPLERARE0001"
		}
		raw := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","accessKeyId":%q,"accountId":"111122223333"},"eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","eventID":"e-%d","recipientAccountId":"111122223333"}`,
			key, at.Add(time.Duration(i)*time.Second).Format(time.RFC3339), i)
		var ev event.Event
		if err := cloudtrail.Decode([]byte(raw), &ev); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	w := writeLake(t, evs, lake.Options{RollSize: 1 << 30})
	every := false // read every column of a row (no partial reads)
	run := func(expr string) ([]string, Stats) {
		t.Helper()
		where, err := Compile(expr)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		st, err := Run(ctx, w.Lake, Query{Where: where, noPrefilter: every}, func(ev *event.Event, _ []detect.Finding) error {
			ids = append(ids, ev.ID+" "+ev.Actor.AccessKeyID+" "+ev.Time.String()+" "+string(ev.Raw.Data))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return ids, st
	}
	pruned, st := run(`access_key_id == "AKIAEXAMPLERARE0001"`)
	all, stAll := run(`access_key_id.startsWith("AKIAEXAMPLERARE0001")`)
	if len(pruned) != 10 || !slices.Equal(pruned, all) {
		t.Errorf("pruned scan found %v, the full scan %v: want the same 10", pruned, all)
	}
	if st.Pruned == 0 || stAll.Pruned != 0 || st.Rows >= stAll.Rows {
		t.Errorf("stats %+v, full scan %+v: want row groups pruned", st.ScanStats, stAll.ScanStats)
	}
	// The columns the filter reads and what rebuilds an event, then the
	// rest only where needed: the same events as reading every column,
	// and fewer bytes; on a compacted lake too (rows stored by actor).
	every = true
	whole, stWhole := run(`access_key_id == "AKIAEXAMPLERARE0001"`)
	every = false
	if !slices.Equal(pruned, whole) || st.BytesRead >= stWhole.BytesRead {
		t.Errorf("partial reads found %d events reading %d bytes, every column %d reading %d", len(pruned), st.BytesRead, len(whole), stWhole.BytesRead)
	}
	if _, err := w.Compact(ctx, lake.CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	compacted, _ := run(`access_key_id == "AKIAEXAMPLERARE0001"`)
	slices.Sort(compacted)
	slices.Sort(whole)
	if !slices.Equal(compacted, whole) {
		t.Errorf("on the compacted lake: %d events, want the same %d", len(compacted), len(whole))
	}
}

// TestRunPartialRows: a CEL hunt reads the columns it tests and the
// native record first, and every column only for the rows whose event the
// record cannot rebuild (flow log records, a CloudTrail row whose record
// does not decode): the same events as reading every column of every
// row, on the lake as written and compacted (a row group's rows stored
// by actor, handed out in time order).
func TestRunPartialRows(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	var evs []event.Event
	for i := range 3000 {
		raw := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u%d","accessKeyId":"AKIAEXAMPLE%08d","accountId":"111122223333"},"eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.%d","eventID":"e-%d","recipientAccountId":"111122223333"}`,
			i%37, i%37, at.Add(time.Duration(i)*time.Second).Format(time.RFC3339), i%20, i)
		var ev event.Event
		if err := cloudtrail.Decode([]byte(raw), &ev); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	for i := range 10 {
		t0 := at.Add(time.Duration(i*250) * time.Second).Unix()
		line := fmt.Sprintf("2 111122223333 eni-0a1b2c3d 198.51.100.7 10.0.0.5 44321 %d 6 10 840 %d %d ACCEPT OK", 440+i, t0, t0+60)
		var ev event.Event
		if err := vpcflow.Default.Decode(line, &ev); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	broken := event.Event{ID: "broken-1", Source: event.SourceCloudTrail, Time: at.Add(77 * time.Second), Class: event.ClassAPIActivity,
		Cloud: event.Cloud{Provider: "aws", Account: "111122223333", Region: "eu-west-1"},
		API:   event.API{Service: "s3.amazonaws.com", Operation: "GetObject"},
		Raw:   event.Raw{Format: event.RawJSON, Data: []byte(`{"eventName":"GetObject","sourceIPAddress":"198.51.100.7"}`)}}
	broken.Src.IP = netip.MustParseAddr("198.51.100.7")
	evs = append(evs, broken)
	w := writeLake(t, evs)
	where, err := Compile(`src_ip == "198.51.100.7" && class_uid != 0`)
	if err != nil {
		t.Fatal(err)
	}
	run := func(every bool) []string {
		t.Helper()
		var out []string
		if _, err := Run(ctx, w.Lake, Query{Where: where, noPrefilter: every}, func(ev *event.Event, _ []detect.Finding) error {
			out = append(out, fmt.Sprintf("%s %s %s %s %s %s", ev.ID, ev.Source.Service(), ev.Time, ev.Src.IP, ev.Actor.AccessKeyID, ev.Raw.Data))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return out
	}
	want := run(true)
	if len(want) != 3000/20+10+1 {
		t.Fatalf("%d events from reading every column, want %d", len(want), 3000/20+10+1)
	}
	if got := run(false); !slices.Equal(got, want) {
		t.Errorf("partial reads: %d events, want the same %d", len(got), len(want))
	}
	if _, err := w.Compact(ctx, lake.CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := run(false); !slices.Equal(got, want) {
		t.Errorf("compacted, partial reads: %d events, want the same %d", len(got), len(want))
	}
}
