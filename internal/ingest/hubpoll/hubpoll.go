// Package hubpoll reads AWS Security Hub findings by polling GetFindings:
// the active findings updated since the last poll, page by page, each
// page spooled as a GetFindings body ({"Findings":[…]}) that the ASFF
// decoder reads, with the cursor (the latest UpdatedAt) checkpointed with
// the page so a restart resumes where it stopped.
package hubpoll

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/parapet-sec/parapet/internal/decode/asff"
)

// Permissions are the calls a Source makes.
var Permissions = []string{"securityhub:GetFindings"}

// Submitter spools a body once per key and version, and reads back the
// version checkpointed for a key (pipeline.Pipeline).
type Submitter interface {
	SubmitOnce(ctx context.Context, source, key, version string, body []byte) (bool, error)
	Checkpoint(ctx context.Context, source, key string) (string, error)
}

// Source polls one region's Security Hub.
type Source struct {
	Client securityhub.GetFindingsAPIClient
	Sink   Submitter
	Region string
	// Every is the time between polls (default 5m); Pace the least time
	// between two GetFindings calls (default 400ms: the API allows 3 a
	// second; the SDK's retryer backs off when throttled all the same).
	Every, Pace time.Duration
	// Since is how far back the first poll reads (default 24h).
	Since time.Duration
	Log   *slog.Logger
	Now   func() time.Time
}

// Name is the spool source name: its checkpoint's key space.
func (s *Source) Name() string { return "securityhub:" + s.Region }

const cursorKey = "cursor"

// Run polls until ctx ends; a failed poll is logged and retried at the
// next tick. The caller owns the goroutine.
func (s *Source) Run(ctx context.Context) error {
	every := s.Every
	if every <= 0 {
		every = 5 * time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.Poll(ctx)
		if err != nil && ctx.Err() == nil {
			s.log().Warn("securityhub_poll_failed", "region", s.Region, "err", err)
		} else if n > 0 {
			s.log().Info("securityhub_polled", "region", s.Region, "findings", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Poll reads the active findings updated since the cursor, oldest first,
// spools each page and moves the cursor with it. It returns how many
// findings it spooled.
func (s *Source) Poll(ctx context.Context) (int, error) {
	since, err := s.cursor(ctx)
	if err != nil {
		return 0, err
	}
	now := s.now()
	if since.IsZero() {
		d := s.Since
		if d <= 0 {
			d = 24 * time.Hour
		}
		since = now.Add(-d)
	}
	in := &securityhub.GetFindingsInput{
		Filters: &types.AwsSecurityFindingFilters{
			RecordState: []types.StringFilter{{Comparison: types.StringFilterComparisonEquals, Value: aws.String("ACTIVE")}},
			UpdatedAt:   []types.DateFilter{{Start: aws.String(since.Format(time.RFC3339Nano)), End: aws.String(now.Add(time.Hour).Format(time.RFC3339Nano))}},
			// Parapet's own exports would loop (the decoder skips them
			// too, should a filter be ignored).
			ProductName: []types.StringFilter{{Comparison: types.StringFilterComparisonNotEquals, Value: aws.String(asff.ProductName)}},
		},
		SortCriteria: []types.SortCriterion{{Field: aws.String("UpdatedAt"), SortOrder: types.SortOrderAscending}},
		MaxResults:   aws.Int32(100),
	}
	pace := s.Pace
	if pace <= 0 {
		pace = 400 * time.Millisecond
	}
	p := securityhub.NewGetFindingsPaginator(s.Client, in)
	total := 0
	for page := 0; p.HasMorePages(); page++ {
		if page > 0 {
			if err := sleep(ctx, pace); err != nil {
				return total, err
			}
		}
		out, err := p.NextPage(ctx)
		if err != nil {
			return total, fmt.Errorf("securityhub GetFindings (%s): %w", s.Region, err)
		}
		if len(out.Findings) == 0 {
			continue
		}
		latest := since
		for _, f := range out.Findings {
			if t, err := time.Parse(time.RFC3339Nano, aws.ToString(f.UpdatedAt)); err == nil && t.After(latest) {
				latest = t
			}
		}
		body, err := json.Marshal(struct {
			Findings []types.AwsSecurityFinding
		}{out.Findings})
		if err != nil {
			return total, err
		}
		// The version: the new cursor, and what the page holds, so the
		// same page read again (findings updated at the cursor's instant)
		// is not spooled twice.
		version := latest.UTC().Format(time.RFC3339Nano) + " " + aws.ToString(out.Findings[0].Id) + " " + strconv.Itoa(len(out.Findings))
		ok, err := s.Sink.SubmitOnce(ctx, s.Name(), cursorKey, version, body)
		if err != nil {
			return total, err
		}
		if ok {
			total += len(out.Findings)
		}
	}
	return total, nil
}

// cursor reads the checkpointed cursor: the latest UpdatedAt spooled.
func (s *Source) cursor(ctx context.Context) (time.Time, error) {
	v, err := s.Sink.Checkpoint(ctx, s.Name(), cursorKey)
	if err != nil || v == "" {
		return time.Time{}, err
	}
	ts, _, _ := strings.Cut(v, " ")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, fmt.Errorf("securityhub cursor %q: %w", v, err)
	}
	return t, nil
}

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Source) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
