package pipeline_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/detect/ueba"
	"github.com/parapet-sec/parapet/internal/ingest/watch"
	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/store"
)

// logBuffer is a slog handler's writer safe for the pipeline's goroutine
// and the test's.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// record is a CloudTrail record by an IAM user at t.
func record(id, user, source, name string, t time.Time) string {
	rec := map[string]any{
		"eventVersion": "1.09", "eventID": id, "eventTime": t.UTC().Format(time.RFC3339),
		"eventSource": source, "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9",
		"userAgent": "aws-cli/2.15.30", "requestParameters": map[string]any{"configurationRecorderName": "default"}, "eventType": "AwsApiCall",
		"recipientAccountId": "123456789012", "readOnly": false, "managementEvent": true,
		"userIdentity": map[string]any{"type": "IAMUser", "principalId": "AIDA" + strings.ToUpper(user), "arn": "arn:aws:iam::123456789012:user/" + user,
			"accountId": "123456789012", "accessKeyId": "AKIA" + strings.ToUpper(user), "userName": user},
	}
	b, _ := json.Marshal(rec)
	return string(b)
}

// testPipeline is serve's processing on a SQLite store in a temporary
// folder, with the builtin rules and the behavioural models, running
// until the test ends.
func testPipeline(t *testing.T, log *slog.Logger) *pipeline.Pipeline {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "parapet.db"))
	if err != nil {
		t.Fatal(err)
	}
	rules, errs := sigma.Load(content.FS, "rules", sigma.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	p := &pipeline.Pipeline{DB: db, Rules: detect.NewEngine(rules), UEBA: ueba.New(ueba.Config{}), Incidents: correlate.New(time.Hour), Log: log}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		db.Close()
	})
	return p
}

// drain waits (polling, with a deadline) until the spool is empty.
func drain(t *testing.T, p *pipeline.Pipeline) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := p.DB.PendingCount(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d bodies still spooled", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// findingEvents counts the stored findings per event id.
func findingEvents(t *testing.T, db *store.DB) map[string]int {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT body FROM findings`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			t.Fatal(err)
		}
		var f struct {
			EventIDs []string `json:"event_ids"`
		}
		if err := json.Unmarshal([]byte(body), &f); err != nil {
			t.Fatal(err)
		}
		for _, id := range f.EventIDs {
			out[id]++
		}
	}
	return out
}

// The serve folder watcher, given a folder of good logs with one stray
// file beside them, reports the stray file in the log, naming it, and
// processes every good file. A watched folder that does not exist is
// reported too, and the other folders are still read.
func TestFolderStrayInput(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	trail := func(first, second string) string {
		return `{"Records":[` + record(first, "mallory", "config.amazonaws.com", "StopConfigurationRecorder", now) + `,` +
			record(second, "alice", "ec2.amazonaws.com", "DescribeInstances", now) + `]}`
	}
	digest, err := os.ReadFile("../ingest/testdata/samples/ct-digest.json")
	if err != nil {
		t.Fatal(err)
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(trail("ev-cut-1", "ev-cut-2") + "\n" + trail("ev-cut-3", "ev-cut-4")))
	zw.Close()
	zipped := zb.Bytes()
	cases := []struct {
		name  string
		file  string // "" for a missing folder
		body  []byte
		parts []string // in the log
	}{
		{"empty file", "empty.json", nil, []string{"empty.json", "empty"}},
		{"binary", "blob.bin", []byte("\x7fELF\x02\x01\x01\x00\x00\x00garbage\x00\xff"), []string{"bad input", "blob.bin", "binary data"}},
		{"text", "README.txt", []byte("These are our CloudTrail logs.\n"), []string{"bad input", "README.txt", "neither JSON nor a VPC flow log"}},
		{"non-CloudTrail JSON", "package.json", []byte(`{"name":"x","version":"1.0.0"}`), []string{"bad input", "package.json", "not a CloudTrail"}},
		{"S3 notification", "s3event.json", []byte(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-11-24T10:00:00.000Z","eventName":"ObjectCreated:Put"}]}`), []string{"bad input", "s3event.json", "S3 event notification"}},
		{"digest file", "digest.json", digest, []string{"skipped", "digest.json", "digest file"}},
		{"truncated gzip", "cut.json.gz", zipped[:len(zipped)-10], []string{"bad input", "cut.json.gz"}},
		{"missing folder", "", nil, []string{"missing-folder"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			p := testPipeline(t, slog.New(slog.NewTextHandler(&logs, nil)))
			dir := t.TempDir()
			past := time.Now().Add(-time.Minute)
			write := func(name string, body []byte) {
				path := filepath.Join(dir, name)
				if err := os.WriteFile(path, body, 0o644); err != nil {
					t.Fatal(err)
				}
				os.Chtimes(path, past, past)
			}
			write("a-trail.json", []byte(trail("ev-good-1", "ev-good-2")))
			write("z-trail.json", []byte(trail("ev-good-3", "ev-good-4")))
			folders := []*watch.Folder{{Path: dir, Sink: p, Log: p.Log}}
			if tc.file != "" {
				write(tc.file, tc.body)
			} else {
				folders = append([]*watch.Folder{{Path: filepath.Join(t.TempDir(), "missing-folder"), Sink: p, Log: p.Log}}, folders...)
			}
			for _, f := range folders {
				if _, err := f.Scan(context.Background()); err != nil {
					t.Fatalf("scan %s: %v", f.Path, err)
				}
			}
			drain(t, p)
			got := findingEvents(t, p.DB)
			if got["ev-good-1"] != 1 || got["ev-good-3"] != 1 {
				t.Errorf("findings per event %v, want one on ev-good-1 and one on ev-good-3", got)
			}
			all := logs.String()
			for _, part := range tc.parts {
				if !strings.Contains(all, part) {
					t.Errorf("the log does not say %q:\n%s", part, all)
				}
			}
			if strings.Contains(all, "panic") {
				t.Errorf("panic in the log:\n%s", all)
			}
		})
	}
}

// A record delivered more than once (at-least-once sources, overlapping
// exports, an EventBridge copy) yields no second finding, is observed once
// by the behavioural models and counts once in correlation rules: four
// failed sign-ins delivered three times are neither the ten of a brute
// force nor the six of password guessing.
func TestDuplicateDeliveries(t *testing.T) {
	p := testPipeline(t, nil)
	now := time.Now().UTC().Truncate(time.Second)
	var recs []string
	for i := range 4 {
		rec := map[string]any{
			"eventVersion": "1.09", "eventID": fmt.Sprintf("ev-login-%d", i), "eventTime": now.Add(time.Duration(i) * time.Second).Format(time.RFC3339),
			"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
			"userAgent": "Mozilla/5.0", "responseElements": map[string]any{"ConsoleLogin": "Failure"}, "eventType": "AwsConsoleSignIn",
			"recipientAccountId": "123456789012", "errorMessage": "Failed authentication",
			"userIdentity": map[string]any{"type": "IAMUser", "principalId": "AIDAALICE", "arn": "arn:aws:iam::123456789012:user/alice", "accountId": "123456789012", "userName": "alice"},
		}
		b, _ := json.Marshal(rec)
		recs = append(recs, string(b))
	}
	recs = append(recs, record("ev-recorder", "mallory", "config.amazonaws.com", "StopConfigurationRecorder", now))
	bodies := []string{
		`{"Records":[` + strings.Join(recs, ",") + `]}`,
		strings.Join(recs, "\n"),
		`{"version":"0","id":"e1","detail-type":"AWS API Call via CloudTrail","source":"aws.config","account":"123456789012","time":"` + now.Format(time.RFC3339) + `","region":"us-east-1","resources":[],"detail":` + recs[4] + `}`,
		`{"Records":[` + strings.Join(recs[:4], ",") + `]}`,
	}
	for _, b := range bodies {
		if _, err := p.Submit(context.Background(), "test", []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, p)
	got := findingEvents(t, p.DB)
	for id, n := range got {
		if strings.HasPrefix(id, "ev-login-") {
			t.Errorf("a correlation finding on %s: the copies were counted (%v)", id, got)
			break
		}
		if n != 1 {
			t.Errorf("%d findings on %s", n, id)
		}
	}
	if got["ev-recorder"] != 1 {
		t.Errorf("findings per event %v, want one on ev-recorder", got)
	}
	if st := p.UEBA.Stats(); st.Events != 5 {
		t.Errorf("the behavioural models observed %d events, want the 5 distinct records once", st.Events)
	}
}
