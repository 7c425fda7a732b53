package awsapi

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"
)

// CallStats counts one scan's (or one account's) API traffic.
type CallStats struct {
	Calls     int64 `json:"calls"`     // API operations; a retried operation is one call
	Throttled int64 `json:"throttled"` // responses that were throttling errors (ThrottlingException, RequestLimitExceeded, SlowDown, …, or HTTP 429 or 503)
	Retries   int64 `json:"retries"`   // attempts after an operation's first
	// GaveUp are the operations that still failed after every attempt
	// they were allowed (their part of the inventory is missing).
	GaveUp int64 `json:"gave_up"`
}

// Add adds o to s.
func (s *CallStats) Add(o CallStats) {
	s.Calls += o.Calls
	s.Throttled += o.Throttled
	s.Retries += o.Retries
	s.GaveUp += o.GaveUp
}

// Stats accumulates CallStats while calls run (Options.Stats); safe for
// concurrent use.
type Stats struct{ calls, throttled, retries, gaveUp atomic.Int64 }

// Snapshot is what s has counted so far.
func (s *Stats) Snapshot() CallStats {
	return CallStats{Calls: s.calls.Load(), Throttled: s.throttled.Load(), Retries: s.retries.Load(), GaveUp: s.gaveUp.Load()}
}

// throttled: the attempt's error is AWS saying "slow down": a throttling
// error code of any protocol, or an HTTP 429 or 503 (S3's SlowDown and
// EC2's RequestLimitExceeded come as 503s, and a 503 whose body cannot be
// read says the same).
func throttled(err error) bool {
	if err == nil {
		return false
	}
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary {
		return true
	}
	var st interface{ HTTPStatusCode() int }
	if !errors.As(err, &st) {
		return false
	}
	return st.HTTPStatusCode() == http.StatusTooManyRequests || st.HTTPStatusCode() == http.StatusServiceUnavailable
}

// retryer is the SDK's adaptive retry mode: jittered exponential backoff
// (throttling errors from a 1 s base, at most maxBackoff apart) and a
// client-side attempt rate that drops when the service throttles and
// recovers when it stops, one rate per client (so per account, region and
// service). The standard retryer's retry quota is off: it fails a call
// after about a hundred throttled retries on one client even with attempts
// left, and the adaptive rate already slows the client down.
func retryer(maxAttempts int, maxBackoff time.Duration, custom bool) func() aws.Retryer {
	return func() aws.Retryer {
		return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
			o.StandardOptions = append(o.StandardOptions, func(o *retry.StandardOptions) {
				o.MaxAttempts = maxAttempts
				if maxBackoff > 0 {
					o.MaxBackoff = maxBackoff
				}
				o.RateLimiter = ratelimit.None
				if custom {
					// An emulator or proxy that lacks a service answers with a
					// page, not an AWS error: retrying will not help.
					o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
						if unsupported(err) {
							return aws.FalseTernary
						}
						return aws.UnknownTernary
					})}, o.Retryables...)
				}
			})
		})
	}
}

type attemptsKey struct{}

// limiter bounds one account's calls in flight, in all (calls) and per
// service (perAPI), and counts them into st.
type limiter struct {
	perAPI int
	calls  chan struct{}
	st     *Stats
	mu     sync.Mutex
	sems   map[string]chan struct{}
}

// newLimiter: calls and perAPI default to Inventory's (8, 4); st to a
// count nobody reads.
func newLimiter(calls, perAPI int, st *Stats) *limiter {
	if calls <= 0 {
		calls = 8
	}
	if perAPI <= 0 {
		perAPI = 4
	}
	if st == nil {
		st = &Stats{}
	}
	return &limiter{perAPI: perAPI, calls: make(chan struct{}, calls), st: st, sems: map[string]chan struct{}{}}
}

func acquire(ctx context.Context, sem chan struct{}) error {
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *limiter) sem(service string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.sems[service]
	if !ok {
		s = make(chan struct{}, l.perAPI)
		l.sems[service] = s
	}
	return s
}

// apiOption adds the limiter to a client's stack: around the whole
// operation (retries included: a throttled call keeps its slots while it
// backs off) the bounds, the service's first (a call waiting for a busy
// service holds no account slot), and the call count; around each attempt
// (after the retry middleware) the attempt and throttle counts.
func (l *limiter) apiOption(s *middleware.Stack) error {
	err := s.Initialize.Add(middleware.InitializeMiddlewareFunc("parapetLimits", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		sem := l.sem(awsmiddleware.GetServiceID(ctx))
		if err := acquire(ctx, sem); err != nil {
			return middleware.InitializeOutput{}, middleware.Metadata{}, err
		}
		defer func() { <-sem }()
		if err := acquire(ctx, l.calls); err != nil {
			return middleware.InitializeOutput{}, middleware.Metadata{}, err
		}
		defer func() { <-l.calls }()
		l.st.calls.Add(1)
		var attempts atomic.Int64
		out, md, err := next.HandleInitialize(context.WithValue(ctx, attemptsKey{}, &attempts), in)
		if n := attempts.Load(); n > 1 {
			l.st.retries.Add(n - 1)
		}
		var me *retry.MaxAttemptsError
		if err != nil && (errors.As(err, &me) || throttled(err)) {
			l.st.gaveUp.Add(1)
		}
		return out, md, err
	}), middleware.After)
	if err != nil {
		return err
	}
	return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("parapetAttempts", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		if a, ok := ctx.Value(attemptsKey{}).(*atomic.Int64); ok {
			a.Add(1)
		}
		out, md, err := next.HandleFinalize(ctx, in)
		if throttled(err) {
			l.st.throttled.Add(1)
		}
		return out, md, err
	}), middleware.After)
}
