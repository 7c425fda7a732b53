package watch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type sink struct {
	cp     map[string]string
	bodies []string
}

func (s *sink) SubmitOnce(_ context.Context, source, key, version string, body []byte) (bool, error) {
	if s.cp[source+"|"+key] == version {
		return false, nil
	}
	s.cp[source+"|"+key] = version
	s.bodies = append(s.bodies, key)
	return true, nil
}

func (s *sink) Checkpoint(_ context.Context, source, key string) (string, error) {
	return s.cp[source+"|"+key], nil
}

// New and changed files are spooled once (empty ones too: the processor
// reports them as skipped); hidden files and files still being written are
// left alone.
func TestScan(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Minute)
	write := func(name, body string, mod time.Time) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mod, mod)
	}
	write("AWSLogs/1/CloudTrail/us-east-1/2026/11/24/a.json", `{"Records":[]}`, old)
	write("AWSLogs/1/CloudTrail/us-east-1/2026/11/24/b.json", `{"Records":[]}`, old)
	write(".hidden/c.json", `{}`, old)
	write("empty.json", ``, old)
	write("fresh.json", `{}`, time.Now())
	s := &sink{cp: map[string]string{}}
	f := &Folder{Path: dir, Sink: s}
	n, err := f.Scan(context.Background())
	if err != nil || n != 3 {
		t.Fatalf("first scan: %d %v (%v)", n, err, s.bodies)
	}
	if n, _ := f.Scan(context.Background()); n != 0 {
		t.Errorf("a second scan spooled %d again", n)
	}
	write("AWSLogs/1/CloudTrail/us-east-1/2026/11/24/a.json", `{"Records":[{}]}`, old.Add(time.Second))
	if n, _ := f.Scan(context.Background()); n != 1 {
		t.Errorf("a changed file: %d", n)
	}
	if fmt.Sprint(s.bodies) != "[AWSLogs/1/CloudTrail/us-east-1/2026/11/24/a.json AWSLogs/1/CloudTrail/us-east-1/2026/11/24/b.json empty.json AWSLogs/1/CloudTrail/us-east-1/2026/11/24/a.json]" {
		t.Errorf("spooled %v", s.bodies)
	}
}

// Files found in one scan are spooled in the order of the times AWS
// writes into their names, so that several accounts and regions
// interleave in event time (the behavioural models score only events in
// time); files without such a time go first, in lexical order.
func TestScanTimeOrder(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	names := []string{
		"AWSLogs/2/CloudTrail/eu-west-1/2026/11/24/2_CloudTrail_eu-west-1_20261124T0955Z_B.json.gz",
		"AWSLogs/1/CloudTrail/us-east-1/2026/11/24/1_CloudTrail_us-east-1_20261124T1055Z_C.json.gz",
		"AWSLogs/1/CloudTrail/eu-west-1/2026/11/24/1_CloudTrail_eu-west-1_20261124T1155Z_D.json.gz",
		"AWSLogs/1/vpcflowlogs/us-east-1/2026/11/24/1_vpcflowlogs_us-east-1_fl-1_20261124T1000Z_E.log.gz",
		"AWSLogs/1/CloudTrail/eu-west-1/2026/11/24/1_CloudTrail_eu-west-1_20261124T0855Z_A.json.gz",
		"notes/untimed.json",
	}
	for _, name := range names {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(`{"Records":[]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, old, old)
	}
	s := &sink{cp: map[string]string{}}
	if _, err := (&Folder{Path: dir, Sink: s}).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range s.bodies {
		got = append(got, filepath.Base(b))
	}
	want := "[untimed.json 1_CloudTrail_eu-west-1_20261124T0855Z_A.json.gz 2_CloudTrail_eu-west-1_20261124T0955Z_B.json.gz " +
		"1_vpcflowlogs_us-east-1_fl-1_20261124T1000Z_E.log.gz 1_CloudTrail_us-east-1_20261124T1055Z_C.json.gz 1_CloudTrail_eu-west-1_20261124T1155Z_D.json.gz]"
	if fmt.Sprint(got) != want {
		t.Errorf("spooled in the order\n%v\nwant\n%s", got, want)
	}
}
