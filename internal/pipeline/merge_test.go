package pipeline_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/store"
)

// createUser is a CloudTrail CreateUser record (AWS's documented shape)
// by user from ip at minute past ten.
func createUser(user, id, ip string, minute int) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","eventTime":"2026-11-24T10:%02d:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser",`+
		`"awsRegion":"us-east-1","sourceIPAddress":%q,"userAgent":"aws-cli/2.17.20","eventID":%q,"eventType":"AwsApiCall","recipientAccountId":"111122223333",`+
		`"userIdentity":{"type":"IAMUser","principalId":"AIDA%s","arn":"arn:aws:iam::111122223333:user/%s","accountId":"111122223333","userName":%q},`+
		`"requestParameters":{"userName":"new-%s"},"responseElements":{"user":{"userName":"new-%s","arn":"arn:aws:iam::111122223333:user/new-%s"}}}`,
		minute, ip, id, strings.ToUpper(user), user, user, id, id, id)
}

func bodyOf(recs ...string) []byte { return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`) }

// TestIncidentsMergeInTheStore: alice's and bob's findings are two
// incidents until bob acts from alice's address: then one, in the store
// too (findings moved, the other kept as a pointer that reads the one
// that took it); the graph and the incidents survive a restart.
func TestIncidentsMergeInTheStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parapet.db")
	rules, errs := sigma.Load(metricRules, ".", sigma.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	saved := pipeline.GraphSaveEvery
	pipeline.GraphSaveEvery = 0
	defer func() { pipeline.GraphSaveEvery = saved }()
	run := func(bodies ...[]byte) *store.DB {
		t.Helper()
		db, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		c := correlate.New(time.Hour)
		c.Graph = correlate.NewGraph(0)
		p := &pipeline.Pipeline{DB: db, Rules: detect.NewEngine(rules), Incidents: c, Metrics: pipeline.NewMetrics(prometheus.NewRegistry())}
		if err := p.Start(rctx); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- p.Run(rctx) }()
		var last int64
		for _, b := range bodies {
			if last, err = p.Submit(rctx, "cloudtrail", b); err != nil {
				t.Fatal(err)
			}
		}
		wctx, wcancel := context.WithTimeout(rctx, time.Minute)
		defer wcancel()
		if err := p.WaitFor(wctx, last); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := run(bodyOf(createUser("alice", "a1", "198.51.100.1", 0), createUser("bob", "b1", "198.51.100.2", 1)))
	incs, err := pipeline.FindIncidents(ctx, db, pipeline.IncidentFilter{})
	if err != nil || len(incs) != 2 {
		t.Fatalf("before: %d incidents (%v), want 2", len(incs), err)
	}
	db.Close()
	// After a restart (the graph and the incidents come back from the
	// store), bob acts from alice's address.
	db = run(bodyOf(createUser("bob", "b2", "198.51.100.1", 5)))
	defer db.Close()
	incs, err = pipeline.FindIncidents(ctx, db, pipeline.IncidentFilter{})
	if err != nil || len(incs) != 1 || incs[0].Count != 6 {
		t.Fatalf("after: %d incidents (%v), want one of 6 findings", len(incs), err)
	}
	into := incs[0].ID
	var from string
	if err := db.QueryRowContext(ctx, `SELECT id FROM incidents WHERE status = 'merged'`).Scan(&from); err != nil {
		t.Fatalf("no merged incident kept: %v", err)
	}
	var elsewhere int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM findings WHERE incident_id <> ?`, into).Scan(&elsewhere); err != nil || elsewhere != 0 {
		t.Errorf("%d findings not moved to %s (%v)", elsewhere, into, err)
	}
	got, fs, err := pipeline.Incident(ctx, db, from)
	if err != nil || got == nil || got.ID != into || len(fs) != 6 {
		t.Errorf("reading the merged incident %s: %+v, %d findings, %v", from, got, len(fs), err)
	}
	var snap string
	if err := db.QueryRowContext(ctx, `SELECT value FROM checkpoints WHERE source = 'correlate' AND key = 'graph'`).Scan(&snap); err != nil || !strings.Contains(snap, "198.51.100.1") {
		t.Errorf("the graph was not stored: %v %.200s", err, snap)
	}
}
