package hubpoll

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/parapet-sec/parapet/internal/awstest"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ingest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	awstest.Stop()
	os.Exit(code)
}

// spool keeps bodies and checkpoints in memory with SubmitOnce's
// semantics: a version already checkpointed for the key is not spooled.
type spool struct {
	bodies [][]byte
	ck     map[string]string
}

func (s *spool) SubmitOnce(_ context.Context, source, key, version string, body []byte) (bool, error) {
	if s.ck[source+"/"+key] == version {
		return false, nil
	}
	s.ck[source+"/"+key] = version
	s.bodies = append(s.bodies, body)
	return true, nil
}

func (s *spool) Checkpoint(_ context.Context, source, key string) (string, error) {
	return s.ck[source+"/"+key], nil
}

// sample reads the findings of the EventBridge sample (Inspector, a
// custom product, GuardDuty) as the SDK types them.
func sample(t *testing.T) []types.AwsSecurityFinding {
	b, err := os.ReadFile("../testdata/samples/sh-eventbridge.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Detail struct{ Findings []types.AwsSecurityFinding } `json:"detail"`
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev.Detail.Findings
}

// TestPollEmulator imports findings into Security Hub on the AWS API
// emulator, polls them and decodes the spooled pages; a second poll
// spools nothing new; more than a page is read page by page.
func TestPollEmulator(t *testing.T) {
	awstest.Start(t)
	cfg, err := config.LoadDefaultConfig(t.Context(), config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	c := securityhub.NewFromConfig(cfg)
	if _, err := c.EnableSecurityHub(t.Context(), &securityhub.EnableSecurityHubInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BatchImportFindings(t.Context(), &securityhub.BatchImportFindingsInput{Findings: sample(t)}); err != nil {
		t.Fatal(err)
	}
	sp := &spool{ck: map[string]string{}}
	src := &Source{Client: c, Sink: sp, Region: "us-east-1", Pace: time.Millisecond,
		Now: func() time.Time { return time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC) }}
	n, err := src.Poll(t.Context())
	if err != nil || n != 3 || len(sp.bodies) != 1 {
		t.Fatalf("Poll = %d, %v (%d bodies), want 3 findings in 1 body", n, err, len(sp.bodies))
	}
	var titles []string
	skipped := 0
	ingest.DecodeJSON(sp.bodies[0], func(ev *event.Event) {
		if ev.Source != event.SourceSecurityHub || ev.Finding == nil {
			t.Errorf("event %+v, want a Security Hub finding", ev)
			return
		}
		titles = append(titles, ev.Finding.Title)
	}, func(err error) {
		if !ingest.Skipped(err) {
			t.Errorf("decode: %v", err)
		}
		skipped++
	})
	if len(titles) != 2 || skipped != 1 {
		t.Errorf("decoded %q and %d skipped, want Inspector's and the IDS's, GuardDuty's skipped", titles, skipped)
	}
	if v, _ := sp.Checkpoint(t.Context(), src.Name(), cursorKey); v[:20] != "2026-11-20T14:05:30Z" {
		t.Errorf("cursor %q, want the latest UpdatedAt", v)
	}

	// Polled again: the same page, not spooled twice.
	if n, err := src.Poll(t.Context()); err != nil || n != 0 || len(sp.bodies) != 1 {
		t.Errorf("second Poll = %d, %v (%d bodies), want nothing new", n, err, len(sp.bodies))
	}

	// 120 more: two pages.
	var more []types.AwsSecurityFinding
	for i := range 120 {
		f := sample(t)[0]
		f.Id = aws.String(fmt.Sprintf("arn:aws:inspector2:us-east-1:111122223333:finding/more-%d", i))
		f.UpdatedAt = aws.String(fmt.Sprintf("2026-11-20T15:%02d:%02dZ", i/60, i%60))
		more = append(more, f)
	}
	for len(more) > 0 {
		k := min(100, len(more))
		if _, err := c.BatchImportFindings(t.Context(), &securityhub.BatchImportFindingsInput{Findings: more[:k]}); err != nil {
			t.Fatal(err)
		}
		more = more[k:]
	}
	n, err = src.Poll(t.Context())
	if err != nil || len(sp.bodies) != 3 {
		t.Fatalf("third Poll = %d, %v (%d bodies), want two more pages", n, err, len(sp.bodies))
	}
	events := 0
	for _, b := range sp.bodies[1:] {
		ingest.DecodeJSON(b, func(*event.Event) { events++ }, func(error) {})
	}
	// The emulator ignores filters: the pages hold the three old findings
	// too (two of them decoded), a real hub only what changed.
	if events != 122 {
		t.Errorf("%d events from the new pages, want 122", events)
	}
}

// TestPollThrottled: a throttled GetFindings (429 TooManyRequestsException,
// as Security Hub answers past its rate) is retried, and the page read.
func TestPollThrottled(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/findings" {
			t.Errorf("request %s %s, want POST /findings", r.Method, r.URL.Path)
		}
		var in struct {
			Filters struct {
				RecordState []struct{ Comparison, Value string }
				UpdatedAt   []struct{ Start, End string }
			}
			SortCriteria []struct{ Field, SortOrder string }
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.Filters.RecordState) != 1 || in.Filters.RecordState[0].Value != "ACTIVE" ||
			len(in.Filters.UpdatedAt) != 1 || in.Filters.UpdatedAt[0].Start != "2026-11-20T00:00:00Z" || len(in.SortCriteria) != 1 || in.SortCriteria[0].SortOrder != "asc" {
			t.Errorf("GetFindings request %+v, %v", in, err)
		}
		calls++
		if calls == 1 {
			w.Header().Set("X-Amzn-Errortype", "TooManyRequestsException")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"message":"Rate exceeded"}`))
			return
		}
		f, _ := json.Marshal(sample(t)[:1])
		_, _ = w.Write([]byte(`{"Findings":` + string(f) + `}`))
	}))
	defer srv.Close()
	c := securityhub.New(securityhub.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}})
	sp := &spool{ck: map[string]string{}}
	src := &Source{Client: c, Sink: sp, Region: "us-east-1", Since: 24 * time.Hour,
		Now: func() time.Time { return time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC) }}
	if n, err := src.Poll(t.Context()); err != nil || n != 1 || calls != 2 {
		t.Errorf("Poll = %d, %v after %d calls; want 1 finding after a retry", n, err, calls)
	}
}
