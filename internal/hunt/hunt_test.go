package hunt

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
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
	if f, _ := Compile(`access_key_id == "A" || access_key_id == "B"`); len(f.equal) != 0 {
		t.Errorf("a disjunction pushed down as %v", f.equal)
	}
}

// TestRunPrunes: a CEL filter naming one access key finds what a filter
// the scan cannot prune by finds, reading fewer row groups.
func TestRunPrunes(t *testing.T) {
	ctx := context.Background()
	w, err := lake.Open(ctx, lake.Options{Path: t.TempDir(), RollSize: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
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
	if err := w.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	run := func(expr string) ([]string, Stats) {
		t.Helper()
		where, err := Compile(expr)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		st, err := Run(ctx, w.Lake, Query{Where: where}, func(ev *event.Event, _ []detect.Finding) error {
			ids = append(ids, ev.ID)
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
}
