package demo_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/demo"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
	"github.com/parapet-sec/parapet/internal/ingest/file"
)

func digest(t *testing.T, dir string) string {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		fmt.Fprintf(h, "%s %d\n", strings.TrimPrefix(p, dir), len(b))
		h.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestDeterministic(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	for _, run := range []struct {
		dir  string
		seed uint64
	}{{a, 7}, {b, 7}, {c, 8}} {
		if _, err := demo.Generate(demo.Config{Dir: run.dir, Seed: run.seed, Days: 5}); err != nil {
			t.Fatal(err)
		}
	}
	if digest(t, a) != digest(t, b) {
		t.Error("the same seed gave different data")
	}
	if digest(t, a) == digest(t, c) {
		t.Error("different seeds gave the same data")
	}
}

func TestRefusesForeignFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Generate(demo.Config{Dir: dir, Seed: 1}); err == nil {
		t.Fatal("Generate wrote into a folder it did not make")
	}
	if _, err := os.Stat(filepath.Join(dir, "precious.txt")); err != nil {
		t.Fatalf("a file of the user's is gone: %v", err)
	}
}

// TestStories decodes the generated week and checks that every label names
// a decoded event, and that each story carries the signal detection will
// look for while the background does not.
func TestStories(t *testing.T) {
	dir := t.TempDir()
	res, err := demo.Generate(demo.Config{Dir: dir, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	story := map[string]string{}
	for _, l := range res.Labels {
		story[l.EventID] = l.Story
	}
	ins, err := file.Inputs([]string{filepath.Join(dir, "AWSLogs")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	byStory := map[string][]event.Event{}
	var background []event.Event
	st, err := ingest.Run(context.Background(), ins, ingest.Options{}, func(b *ingest.Batch) error {
		for _, e := range b.Events {
			if s, ok := story[e.ID]; ok {
				byStory[s] = append(byStory[s], e)
				delete(story, e.ID)
			} else {
				background = append(background, e)
			}
		}
		return nil
	})
	if err != nil || st.Bad() {
		t.Fatalf("ingest: %v, %d bad: %v", err, st.BadRecords, st.Errors)
	}
	if len(story) != 0 {
		t.Fatalf("%d labels name no decoded event", len(story))
	}
	if st.Events != int64(res.Records+res.Flows) {
		t.Errorf("decoded %d events, generated %d", st.Events, res.Records+res.Flows)
	}
	str := func(e *event.Event, path string) string {
		v, _ := e.Lookup(path)
		return v.String()
	}
	has := func(evs []event.Event, ok func(e *event.Event) bool) int {
		n := 0
		for i := range evs {
			if ok(&evs[i]) {
				n++
			}
		}
		return n
	}
	checks := []struct {
		story string
		sig   func(e *event.Event) bool
		min   int
	}{
		{"public-bucket", func(e *event.Event) bool {
			return e.API.Operation == "PutBucketPolicy" && e.Actor.UserName == "grace" && str(e, "requestParameters.bucketPolicy.Statement.Principal") == "*"
		}, 1},
		{"ssh-open", func(e *event.Event) bool {
			return e.API.Operation == "AuthorizeSecurityGroupIngress" && str(e, "requestParameters.ipPermissions.items.ipRanges.items.cidrIp") == "0.0.0.0/0" && str(e, "requestParameters.ipPermissions.items.fromPort") == "22"
		}, 1},
		{"ssh-open", func(e *event.Event) bool {
			return e.Network != nil && e.Dst.Port == 22 && e.Network.Action == "ACCEPT"
		}, 10},
		{"key-compromise", func(e *event.Event) bool {
			return e.API.Operation == "CreateAccessKey" && e.Actor.AccessKeyID == "AKIAEXAMPLEFRANK0006" && str(e, "requestParameters.userName") == "erin"
		}, 1},
		{"key-compromise", func(e *event.Event) bool {
			return e.Src.IP.String() == "45.137.21.9" && strings.HasPrefix(e.API.Operation, "List")
		}, 4},
		{"cryptomining", func(e *event.Event) bool {
			return e.API.Operation == "RunInstances" && (strings.HasPrefix(str(e, "requestParameters.instanceType"), "p3.") || strings.HasPrefix(str(e, "requestParameters.instanceType"), "g4dn."))
		}, 6},
		{"cryptomining", func(e *event.Event) bool {
			return e.Network != nil && (e.Dst.Port == 3333 || e.Dst.Port == 4444 || e.Dst.Port == 14444)
		}, 100},
		{"exfiltration", func(e *event.Event) bool {
			return e.API.Operation == "GetObject" && str(e, "requestParameters.bucketName") == "acme-customer-data"
		}, 500},
		{"exfiltration", func(e *event.Event) bool { return e.Network != nil && e.Network.Bytes > 100<<20 }, 5},
		{"instance-credentials", func(e *event.Event) bool {
			return e.Actor.SessionName == "i-0a1f2e3d4c5b60003" && !strings.HasPrefix(e.Src.IP.String(), "54.210.")
		}, 5},
		{"policy-version", func(e *event.Event) bool {
			return e.API.Operation == "CreatePolicyVersion" && e.Actor.SessionIssuerARN == "arn:aws:iam::111122223333:role/ci-deploy" &&
				str(e, "requestParameters.policyArn") == "arn:aws:iam::111122223333:policy/ci-deploy" && e.API.ErrorCode == ""
		}, 1},
	}
	for _, c := range checks {
		if n := has(byStory[c.story], c.sig); n < c.min {
			t.Errorf("story %s: %d events carry its signal, want at least %d", c.story, n, c.min)
		}
	}
	// What makes each story stand out must be absent from the background.
	quiet := map[string]func(e *event.Event) bool{
		"grace never uses S3": func(e *event.Event) bool { return e.Actor.UserName == "grace" && e.API.Service == "s3.amazonaws.com" },
		"the attacker IP is new": func(e *event.Event) bool {
			return e.Src.IP.String() == "45.137.21.9" || e.Src.IP.String() == "185.220.101.34"
		},
		"SSH is never accepted": func(e *event.Event) bool { return e.Network != nil && e.Dst.Port == 22 && e.Network.Action == "ACCEPT" },
		"no mining-pool ports":  func(e *event.Event) bool { return e.Network != nil && (e.Dst.Port == 3333 || e.Dst.Port == 4444) },
		"no GPU instances": func(e *event.Event) bool {
			return e.API.Operation == "RunInstances" && (bytes.Contains(e.Raw.Data, []byte(`"p3.`)) || bytes.Contains(e.Raw.Data, []byte(`"g4dn.`)))
		},
		"no transfer over 100 MB":        func(e *event.Event) bool { return e.Network != nil && e.Network.Bytes > 100<<20 },
		"nobody creates keys for others": func(e *event.Event) bool { return e.API.Operation == "CreateAccessKey" },
		"nobody writes policy versions":  func(e *event.Event) bool { return e.API.Operation == "CreatePolicyVersion" },
		"instance credentials stay in AWS": func(e *event.Event) bool {
			return strings.HasPrefix(e.Actor.SessionName, "i-") && !strings.HasPrefix(e.Src.IP.String(), "54.210.")
		},
	}
	for name, bad := range quiet {
		if n := has(background, bad); n > 0 {
			t.Errorf("background: %s, but %d events say otherwise", name, n)
		}
	}
	// Background must be substantial and varied.
	if len(background) < 15000 {
		t.Errorf("only %d background events", len(background))
	}
}

// Every log file carries its delivery time, the time in its name, as its
// modification time (S3's LastModified, which aws s3 sync keeps), so that
// a watched folder reads the week as it was delivered; a delivery time
// still to come is never written.
func TestDeliveryTimes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start time.Time
	}{{"past", time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}, {"future", time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := demo.Generate(demo.Config{Dir: dir, Seed: 1, Days: 5, Start: tc.start}); err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			n := 0
			err := filepath.WalkDir(filepath.Join(dir, "AWSLogs"), func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				info, err := d.Info()
				if err != nil {
					return err
				}
				delivered, err := time.Parse("20060102T1504Z", file.NameTime(p))
				if err != nil {
					t.Fatalf("%s: no delivery time in the name", p)
				}
				n++
				switch {
				case info.ModTime().After(now):
					t.Errorf("%s: modified %v, in the future", p, info.ModTime())
				case delivered.Before(now) && !info.ModTime().Equal(delivered):
					t.Errorf("%s: modified %v, delivered %v", p, info.ModTime(), delivered)
				}
				return nil
			})
			if err != nil || n == 0 {
				t.Fatalf("%d files: %v", n, err)
			}
		})
	}
}
