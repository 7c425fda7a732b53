package lake

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/parapet-sec/parapet/internal/event"
)

// TestEventTimeText: the text is what time.Format writes, for every
// millisecond from 1970 to 9999; nothing outside.
func TestEventTimeText(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const end = 253402300800000 // 10000-01-01
	ms := []int64{0, 999, 1000, 951782400000 - 1, 951782400000, 4107542400000, end - 1}
	for range 200000 {
		ms = append(ms, rng.Int64N(end))
	}
	for _, m := range ms {
		want := time.UnixMilli(m).UTC().Format("2006-01-02T15:04:05Z")
		if got := string(eventTimeText(nil, m)); got != want {
			t.Fatalf("eventTimeText(%d) = %q, want %q", m, got, want)
		}
	}
	for _, m := range []int64{-1, end, 1 << 62} {
		if got := eventTimeText(nil, m); len(got) != 0 {
			t.Errorf("eventTimeText(%d) = %q, want nothing", m, got)
		}
	}
}

var tElide = time.Date(2026, 11, 3, 9, 30, 5, 0, time.UTC).UnixMilli()

// TestElide: what elide cuts out of a record, and that restore gives it
// back byte for byte.
func TestElide(t *testing.T) {
	const ts = "2026-11-03T09:30:05Z"
	for _, tc := range []struct {
		name, rec, uid string
		ms             int64
		bits           int32
		cut            string // the record stored, when bits != 0
	}{
		{"both", `{"eventTime":"` + ts + `","eventID":"e-1","x":1}`, "e-1", tElide, 3, `{"eventTime":"","eventID":"","x":1}`},
		{"id first", `{"eventID":"e-1","eventTime":"` + ts + `"}`, "e-1", tElide, 3, `{"eventID":"","eventTime":""}`},
		{"id only: time differs", `{"eventTime":"2026-11-03T09:30:06Z","eventID":"e-1"}`, "e-1", tElide, 1, `{"eventTime":"2026-11-03T09:30:06Z","eventID":""}`},
		{"time only: id differs", `{"eventTime":"` + ts + `","eventID":"e-2"}`, "e-1", tElide, 2, `{"eventTime":"","eventID":"e-2"}`},
		{"time with milliseconds", `{"eventTime":"2026-11-03T09:30:05.120Z","eventID":"e-1"}`, "e-1", tElide + 120, 1, `{"eventTime":"2026-11-03T09:30:05.120Z","eventID":""}`},
		{"no keys", `{"id":"e-1","time":"` + ts + `"}`, "e-1", tElide, 0, ""},
		{"escaped id", `{"eventID":"e\u002d1"}`, "e-1", tElide, 0, ""},
		{"escaped id equal to the column", `{"eventID":"e\"1"}`, `e\"1`, tElide, 0, ""},
		{"id with a quote", `{"eventID":"e"1"}`, `e"1`, tElide, 0, ""},
		{"duplicate keys", `{"eventID":"e-1","eventID":"e-1"}`, "e-1", tElide, 0, ""},
		{"nested key", `{"requestParameters":{"eventID":"e-9"},"eventID":"e-1"}`, "e-1", tElide, 0, ""},
		{"key inside a string", `{"note":"\"eventID\":\"e-1\"","eventID":"e-1"}`, "e-1", tElide, 1, `{"note":"\"eventID\":\"e-1\"","eventID":""}`},
		{"key and colon inside a string, unescaped (not JSON)", `{"a":"b"eventID":"e-1","eventID":"e-1"}`, "e-1", tElide, 0, ""},
		{"id that makes the key again", `{"eventID":"eventID":"x"}`, "eventID", tElide, 0, ""},
		{"id that makes the time key", `{"eventID":"eventTime":"` + ts + `"}`, "eventTime", tElide, 0, ""},
		{"forged empty id", `{"eventID":"","eventTime":"` + ts + `"}`, "", tElide, 2, `{"eventID":"","eventTime":""}`},
		{"empty id column", `{"eventID":"e-1"}`, "", tElide, 0, ""},
		{"not JSON", `"eventID":"e-1`, "e-1", tElide, 0, ""},
		{"not JSON, closed", `xx"eventID":"e-1"yy`, "e-1", tElide, 1, `xx"eventID":""yy`},
		{"key at the end", `{"eventID":"`, "e-1", tElide, 0, ""},
		{"time before 1970", `{"eventTime":"1969-12-31T23:59:59Z"}`, "e-1", -1000, 0, ""},
		{"flow log line", `2 111122223333 eni-1 10.0.0.9 203.0.113.5 22 50000 6 1 100 0 60 REJECT OK`, "flow-1", tElide, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, bits := elide([]byte("prefix"), []byte(tc.rec), tc.uid, tc.ms, elidedAll)
			if bits != tc.bits {
				t.Fatalf("elide(%s, %q) bits = %d, want %d", tc.rec, tc.uid, bits, tc.bits)
			}
			if bits == 0 {
				if string(got) != "prefix" {
					t.Fatalf("elide(%s) = %q, want nothing appended", tc.rec, got)
				}
				return
			}
			if string(got) != "prefix"+tc.cut {
				t.Fatalf("elide(%s) = %q, want %q", tc.rec, got[6:], tc.cut)
			}
			back, err := restore([]byte("p"), got[6:], bits, tc.uid, tc.ms)
			if err != nil || string(back) != "p"+tc.rec {
				t.Fatalf("restore(%s) = %q, %v; want %q", got[6:], back, err, tc.rec)
			}
		})
	}
}

// TestRestoreBad: a mark the record does not fit is an error, not a
// record made up.
func TestRestoreBad(t *testing.T) {
	for _, tc := range []struct {
		rec  string
		bits int32
		uid  string
	}{
		{`{"eventID":"e-1"}`, 1, "e-1"},
		{`{"x":""}`, 1, "e-1"},
		{`{"eventID":""}`, 1, ""},
		{`{"eventID":`, 1, "e-1"},
		{`{"eventID":"`, 1, "e-1"},
		{`{"eventTime":"x"}`, 2, "e-1"},
		{`{"eventID":""}`, 4, "e-1"},
	} {
		if got, err := restore(nil, []byte(tc.rec), tc.bits, tc.uid, tElide); err == nil {
			t.Errorf("restore(%s, %d, %q) = %q, want an error", tc.rec, tc.bits, tc.uid, got)
		}
	}
	if _, err := restore(nil, []byte(`{"eventTime":""}`), 2, "x", -5); err == nil {
		t.Errorf("restore of a time before 1970: no error")
	}
}

// FuzzElide: every record elide cuts, restore gives back byte for byte,
// shorter by the values cut; a record it does not cut it appends nothing
// of.
func FuzzElide(f *testing.F) {
	ts := "2026-11-03T09:30:05Z"
	f.Add([]byte(`{"eventTime":"`+ts+`","eventID":"e-1"}`), "e-1", tElide)
	f.Add([]byte(`{"eventID":"e-1","a":{"eventID":"e-1"}}`), "e-1", tElide)
	f.Add([]byte(`{"eventID":"e\"-1","eventTime":"`+ts+`"}`), `e\"-1`, tElide)
	f.Add([]byte(`{"eventID":"eventID":"eventTime":"`+ts+`"`), "eventID", tElide)
	f.Add([]byte(`{"eventID":"eventTime":"`+ts+`"}`), "eventTime", tElide)
	f.Add([]byte(`{"eventID":"x","eventID":"x","eventTime":"`+ts+`","eventTime":"`+ts+`"}`), "x", tElide)
	f.Add([]byte(`{"eventID":"x"`), "x", tElide)
	f.Add([]byte(`"eventTime":""eventID":"x"`), "x", int64(0))
	f.Add([]byte("2 111122223333 eni-1 10.0.0.9"), "flow-1", tElide)
	f.Fuzz(func(t *testing.T, rec []byte, uid string, ms int64) {
		cut, bits := elide(nil, rec, uid, ms, elidedAll)
		if bits == 0 {
			if len(cut) != 0 {
				t.Fatalf("elide(%q, %q) cut nothing but appended %q", rec, uid, cut)
			}
			return
		}
		want := len(rec)
		if bits&elidedEventID != 0 {
			want -= len(uid)
		}
		if bits&elidedEventTime != 0 {
			want -= len(eventTimeText(nil, ms))
		}
		if len(cut) != want {
			t.Fatalf("elide(%q, %q, %d) = %q (bits %d): %d bytes, want %d", rec, uid, ms, cut, bits, len(cut), want)
		}
		back, err := restore(nil, cut, bits, uid, ms)
		if err != nil || !bytes.Equal(back, rec) {
			t.Fatalf("restore(elide(%q, %q, %d) = %q, bits %d) = %q, %v", rec, uid, ms, cut, bits, back, err)
		}
	})
}

// elideEvents are events whose native records elide cuts or must not
// cut, of every source the lake stores.
func elideEvents() []event.Event {
	var evs []event.Event
	add := func(id string, at time.Time, raw string) {
		e := apiCall(id, at, "111122223333", "ASIAEXAMPLEKEY00001", "GetObject")
		e.Raw.Data = []byte(raw)
		evs = append(evs, e)
	}
	for i := range 40 {
		at := t0.Add(time.Duration(i) * 7 * time.Second)
		id := fmt.Sprintf("0f%06x-1c2d-4e5f-8a9b-%012x", i, i*7919)
		add(id, at, fmt.Sprintf(`{"eventVersion":"1.09","eventTime":%q,"eventName":"GetObject","requestID":"R%d","eventID":%q,"readOnly":true}`,
			at.Format(time.RFC3339), i, id))
	}
	at := t0.Add(time.Hour)
	ts := at.Format(time.RFC3339)
	add("nested", at, `{"eventTime":"`+ts+`","requestParameters":{"eventID":"nested"},"eventID":"nested"}`)
	add("dup", at, `{"eventID":"dup","eventTime":"`+ts+`","eventID":"dup"}`)
	add(`esc\"aped`, at, `{"eventID":"esc\"aped","eventTime":"`+ts+`"}`)
	add("forged", at, `{"eventID":"","eventTime":""}`) // holds empty values itself: stored as it is
	add("ms", at.Add(250*time.Millisecond), `{"eventID":"ms","eventTime":"`+at.Add(250*time.Millisecond).Format(time.RFC3339Nano)+`"}`)
	add("other-id", at, `{"eventID":"not-the-column","eventTime":"`+ts+`"}`)
	add("overlap", at, `{"eventID":"eventTime":"`+ts+`"}`)
	add("ws", at, `{ "eventID" : "ws", "eventTime" : "`+ts+`" }`)
	add("bad-json", at, `{"eventID":"bad-json","eventTime":"`+ts+`"`)
	flow := sample()[6]
	finding := sample()[7]
	finding.Raw.Data = []byte(`{"id":"gd-1","eventID":"gd-1","eventTime":"` + finding.Time.Format(time.RFC3339) + `"}`)
	return append(evs, flow, finding)
}

// rawByID is each event's native record, by event id.
func rawByID(evs []event.Event) map[string]string {
	out := map[string]string{}
	for _, e := range evs {
		out[eventUID(&e)] = string(e.Raw.Data)
	}
	return out
}

// storedRaw is what a lake's files hold: each row's raw column and
// raw_elided, by event id, read with parquet-go's generic reader.
func storedRaw(t *testing.T, l *Lake) map[string]storedRow {
	t.Helper()
	ctx := context.Background()
	files, err := l.Files(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]storedRow{}
	for _, f := range files {
		rows, err := readAll[storedRow](ctx, l, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out[r.EventUID] = r
		}
	}
	return out
}

type storedRow struct {
	EventUID  string `parquet:"event_uid"`
	Raw       []byte `parquet:"raw"`
	RawElided int32  `parquet:"raw_elided"`
}

// TestElideFiles: the writer's and compaction's files hold CloudTrail
// records without the id and time their columns hold, marked so, and
// every other record as it is; ReadFile, Scan, ScanColumns (raw alone, as
// hunts read it first; and the rows it reads whole after) and a scan
// with Filter.Equal hand back every record byte for byte.
func TestElideFiles(t *testing.T) {
	ctx := context.Background()
	evs := elideEvents()
	want := rawByID(evs)
	w := openTest(t, t.TempDir(), Options{})
	if err := w.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	check := func(stage string) {
		t.Helper()
		stored := storedRaw(t, w.Lake)
		if len(stored) != len(want) {
			t.Fatalf("%s: %d rows stored, want %d", stage, len(stored), len(want))
		}
		cutIDs := 0
		for id, s := range stored {
			rec := want[id]
			wantBits := map[string]int32{"nested": 2, "dup": 2, `esc\"aped`: 2, "other-id": 2, "overlap": 2, "ms": 1, "bad-json": 3}[id]
			if strings.HasPrefix(id, "0f") {
				wantBits = elidedEventID | elidedEventTime
			}
			if s.RawElided != wantBits {
				t.Errorf("%s: %s stored with raw_elided %d, want %d (raw %s)", stage, id, s.RawElided, wantBits, s.Raw)
			}
			if wantBits == 0 && string(s.Raw) != rec {
				t.Errorf("%s: %s stored as %s, want it whole: %s", stage, id, s.Raw, rec)
			}
			if wantBits&elidedEventID != 0 {
				cutIDs++
				if bytes.Contains(s.Raw, []byte(id)) || !bytes.Contains(s.Raw, []byte(`"eventID":""`)) {
					t.Errorf("%s: %s stored as %s, want its id cut", stage, id, s.Raw)
				}
			}
		}
		if cutIDs != 42 {
			t.Errorf("%s: %d records stored without their id, want 42", stage, cutIDs)
		}
		// ReadFile.
		n := 0
		for _, rows := range readLake(t, w.Lake) {
			for _, r := range rows {
				n++
				if string(r.Raw) != want[r.EventUID] || r.RawElided != 0 {
					t.Errorf("%s: ReadFile: %s raw %s (raw_elided %d), want %s", stage, r.EventUID, r.Raw, r.RawElided, want[r.EventUID])
				}
			}
		}
		if n != len(want) {
			t.Errorf("%s: ReadFile: %d rows, want %d", stage, n, len(want))
		}
		// Scan, ScanColumns (raw alone, then whole), and Filter.Equal.
		scans := map[string]func(fn func(r *Row)) error{
			"Scan": func(fn func(r *Row)) error {
				_, err := w.Scan(ctx, Filter{}, time.Time{}, time.Time{}, func(rows []Row) error {
					for i := range rows {
						fn(&rows[i])
					}
					return nil
				})
				return err
			},
			"ScanColumns raw": func(fn func(r *Row)) error {
				_, err := w.ScanColumns(ctx, Filter{}, time.Time{}, time.Time{}, 1, map[string]bool{"raw": true},
					func(rows []Row, full func([]int) ([]Row, error)) error {
						at := make([]int, len(rows))
						for i := range rows {
							fn(&rows[i])
							at[i] = i
						}
						whole, err := full(at)
						for i := range whole {
							fn(&whole[i])
						}
						return err
					})
				return err
			},
			"Filter.Equal": func(fn func(r *Row)) error {
				_, err := w.ScanColumns(ctx, Filter{Equal: map[string]string{"access_key_id": "ASIAEXAMPLEKEY00001"}}, time.Time{}, time.Time{}, 1,
					map[string]bool{"raw": true, "source": true}, func(rows []Row, full func([]int) ([]Row, error)) error {
						for i := range rows {
							fn(&rows[i])
						}
						whole, err := full([]int{0})
						for i := range whole {
							fn(&whole[i])
						}
						return err
					})
				return err
			},
		}
		for name, scan := range scans {
			seen := 0
			err := scan(func(r *Row) {
				seen++
				if string(r.Raw) != want[r.EventUID] || r.RawElided != 0 {
					t.Errorf("%s: %s: %q raw %s (raw_elided %d), want %s", stage, name, r.EventUID, r.Raw, r.RawElided, want[r.EventUID])
				}
			})
			if err != nil || seen == 0 {
				t.Errorf("%s: %s: %d rows, %v", stage, name, seen, err)
			}
		}
	}
	check("written")
	if _, err := w.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	files, _ := w.Files(ctx, Filter{})
	for _, f := range files {
		if !strings.HasPrefix(f.Name, mergedPrefix) {
			t.Fatalf("%s not compacted", f.Key)
		}
	}
	check("compacted")
}

// legacyRow is Row as files written before raw_elided were.
type legacyRow struct {
	Time      int64  `parquet:"time,timestamp(millisecond),delta"`
	ClassUID  int32  `parquet:"class_uid"`
	EventUID  string `parquet:"event_uid,zstd"`
	Source    string `parquet:"source,dict"`
	Account   string `parquet:"account_id,dict"`
	Region    string `parquet:"cloud_region,dict"`
	AccessKey string `parquet:"access_key_id"`
	OCSF      string `parquet:"ocsf,json,optional"`
	Raw       []byte `parquet:"raw"`
}

// TestElideOldFiles: a file written before raw_elided (no such column)
// reads back whole, its records as they are, and compacts into a file
// that cuts them; a file whose mark does not fit its record is an error
// naming the file.
func TestElideOldFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	evs := elideEvents()[:10]
	want := rawByID(evs)
	var rows []legacyRow
	for _, e := range evs {
		rows = append(rows, legacyRow{Time: e.Time.UnixMilli(), ClassUID: int32(e.Class), EventUID: e.ID, Source: "cloudtrail",
			Account: "111122223333", Region: "eu-west-1", AccessKey: e.Actor.AccessKeyID, Raw: e.Raw.Data})
	}
	part := "ext/api_activity/1.0/region=eu-west-1/accountId=111122223333/eventDay=20261103/"
	put := func(name string, v any) {
		t.Helper()
		var buf bytes.Buffer
		var err error
		switch rs := v.(type) {
		case []legacyRow:
			err = parquet.Write(&buf, rs)
		case []Row:
			err = parquet.Write(&buf, rs)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, part), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, part, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put("p-20261103T093000Z-old.parquet", rows)
	l, err := OpenLake(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, rs := range readLake(t, l) {
		for _, r := range rs {
			got++
			if string(r.Raw) != want[r.EventUID] {
				t.Errorf("old file: %s raw %s, want %s", r.EventUID, r.Raw, want[r.EventUID])
			}
		}
	}
	_, err = l.Scan(ctx, Filter{}, time.Time{}, time.Time{}, func(rs []Row) error {
		for _, r := range rs {
			got++
			if string(r.Raw) != want[r.EventUID] {
				t.Errorf("old file, Scan: %s raw %s, want %s", r.EventUID, r.Raw, want[r.EventUID])
			}
		}
		return nil
	})
	if err != nil || got != 2*len(evs) {
		t.Fatalf("old file: %d rows read, %v; want %d", got, err, 2*len(evs))
	}
	if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	stored := storedRaw(t, l)
	for id, s := range stored {
		if s.RawElided != elidedEventID|elidedEventTime || string(s.Raw) == want[id] {
			t.Errorf("compacted old file: %s stored as %s, raw_elided %d; want its id and time cut", id, s.Raw, s.RawElided)
		}
	}
	for _, rs := range readLake(t, l) {
		for _, r := range rs {
			if string(r.Raw) != want[r.EventUID] {
				t.Errorf("compacted old file: %s raw %s, want %s", r.EventUID, r.Raw, want[r.EventUID])
			}
		}
	}

	// A mark that does not fit: an error naming the file, on every read.
	bad := mustRows(t, evs[:1])
	bad[0].Raw = slices.Clone(evs[0].Raw.Data) // whole, yet marked cut
	bad[0].RawElided = elidedEventID
	put("p-20261103T093000Z-bad.parquet", bad)
	if _, err := l.ReadFile(ctx, part+"p-20261103T093000Z-bad.parquet"); err == nil || !strings.Contains(err.Error(), "p-20261103T093000Z-bad.parquet") {
		t.Errorf("ReadFile of a file marking a whole record cut: %v, want an error naming the file", err)
	}
	_, err = l.Scan(ctx, Filter{}, time.Time{}, time.Time{}, func([]Row) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "p-20261103T093000Z-bad.parquet") {
		t.Errorf("Scan of a file marking a whole record cut: %v, want an error naming the file", err)
	}
}
