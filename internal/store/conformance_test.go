package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/correlate"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/pgtest"
	"github.com/parapet-sec/parapet/internal/pipeline"
	"github.com/parapet-sec/parapet/internal/respond"
	"github.com/parapet-sec/parapet/internal/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// The same suite on SQLite and on PostgreSQL.
func TestConformance(t *testing.T) {
	backends := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "p.db") },
		"postgres": func(t *testing.T) string { return pgtest.URL(t) },
	}
	for name, path := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, path(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if (name == "postgres") != db.Postgres {
				t.Fatalf("opened the wrong backend")
			}
			// Reopening an existing store is fine (the schema is idempotent).
			again, err := store.Open(ctx, db.Path)
			if err == nil {
				again.Close()
			} else if name == "sqlite" {
				t.Fatal(err)
			}
			t.Run("tokens", func(t *testing.T) { tokens(t, db) })
			t.Run("spool", func(t *testing.T) { spool(t, db) })
			t.Run("checkpoints", func(t *testing.T) { checkpoints(t, db) })
			t.Run("audit", func(t *testing.T) { auditChain(t, db) })
			t.Run("history", func(t *testing.T) { history(t, db) })
			t.Run("pipeline", func(t *testing.T) { pipelineStore(t, db) })
		})
	}
}

func tokens(t *testing.T, db *store.DB) {
	ctx := context.Background()
	secret, tok, err := db.CreateToken(ctx, "approver", "alice")
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.LookupToken(ctx, secret)
	if err != nil || got.ID != tok.ID || got.Role != "approver" || got.Name != "alice" {
		t.Errorf("lookup: %+v %v", got, err)
	}
	if _, err := db.LookupToken(ctx, secret+"x"); err != store.ErrNoToken {
		t.Errorf("a wrong token: %v", err)
	}
	if _, _, err := db.CreateToken(ctx, "root", "x"); err == nil {
		t.Error("an unknown role was accepted")
	}
	var hash string
	_ = db.QueryRowContext(ctx, `SELECT hash FROM tokens WHERE id = ?`, tok.ID).Scan(&hash)
	if hash == "" || strings.Contains(hash, secret) {
		t.Error("the token is not stored hashed")
	}

	// An ingest token; the list (no secret, no hash); revocation.
	ingSecret, ing, err := db.CreateToken(ctx, "ingest", "firehose")
	if err != nil || ing.Role != "ingest" {
		t.Fatalf("an ingest token: %+v %v", ing, err)
	}
	list, err := db.Tokens(ctx)
	byID := func() map[string]store.Token {
		m := map[string]store.Token{}
		for _, x := range list {
			m[x.ID] = x
		}
		return m
	}
	if m := byID(); err != nil || len(m) != 2 || m[tok.ID].LastUsed == nil || m[ing.ID].LastUsed != nil || m[tok.ID].Revoked != nil || m[ing.ID].Role != "ingest" {
		t.Fatalf("list: %+v %v", list, err)
	}
	js, _ := json.Marshal(list)
	if strings.Contains(string(js), hash) || strings.Contains(string(js), hash[12:]) || strings.Contains(string(js), ingSecret) {
		t.Errorf("the list shows a hash or a secret: %s", js)
	}
	if err := db.RevokeToken(ctx, ing.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.RevokeToken(ctx, ing.ID); err != store.ErrNoToken {
		t.Errorf("revoking twice: %v", err)
	}
	if _, err := db.LookupToken(ctx, ingSecret); err != store.ErrNoToken {
		t.Errorf("a revoked token: %v", err)
	}
	if _, err := db.TokenByID(ctx, ing.ID); err != store.ErrNoToken {
		t.Errorf("a revoked token by id: %v", err)
	}
	if got, err := db.TokenByID(ctx, tok.ID); err != nil || got.Name != "alice" {
		t.Errorf("a live token by id: %+v %v", got, err)
	}
	list, _ = db.Tokens(ctx)
	if m := byID(); len(m) != 2 || m[ing.ID].Revoked == nil || m[tok.ID].Revoked != nil {
		t.Errorf("the revoked token in the list: %+v", list)
	}
}

func spool(t *testing.T, db *store.DB) {
	ctx := context.Background()
	a, err := db.Spool(ctx, "http", []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := db.Spool(ctx, "http", []byte(`{"b":2}`))
	if b <= a {
		t.Errorf("sequence %d after %d", b, a)
	}
	ok, err := db.SpoolOnce(ctx, "s3:bucket", "k", "etag1", []byte("x"))
	if err != nil || !ok {
		t.Fatalf("spool once: %v %v", ok, err)
	}
	if ok, _ := db.SpoolOnce(ctx, "s3:bucket", "k", "etag1", []byte("x")); ok {
		t.Error("the same version spooled twice")
	}
	if ok, _ := db.SpoolOnce(ctx, "s3:bucket", "k", "etag2", []byte("y")); !ok {
		t.Error("a new version was not spooled")
	}
	ps, err := db.Pending(ctx, 0, 10)
	if err != nil || len(ps) != 4 || string(ps[0].Body) != `{"a":1}` || ps[0].Received.IsZero() {
		t.Fatalf("pending: %+v %v", ps, err)
	}
	processed := func(seq int64, lake bool) {
		t.Helper()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if err := db.Processed(ctx, tx, seq, lake); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	processed(a, false)
	if n, _ := db.PendingCount(ctx); n != 3 {
		t.Errorf("pending count %d", n)
	}
	// With a lake, a processed body stays for the lake feed until its
	// events are in lake files; one whose events are leaves at once.
	processed(b, true)
	if n, _ := db.PendingCount(ctx); n != 2 {
		t.Errorf("pending count %d after a body kept for the lake, want 2", n)
	}
	if ps, _ := db.Pending(ctx, 0, 10); len(ps) != 2 || ps[0].Seq == b {
		t.Errorf("a processed body is pending again: %+v", ps)
	}
	unread, err := db.LakeUnread(ctx, -1, 0, 10)
	if err != nil || len(unread) != 3 || unread[0].Seq != b {
		t.Fatalf("bodies for the lake: %+v %v", unread, err)
	}
	c, d := unread[1].Seq, unread[2].Seq
	if after, _ := db.LakeUnread(ctx, -1, b, 10); len(after) != 2 {
		t.Errorf("unread after %d: %d bodies, want 2", b, len(after))
	}
	if seqs, err := db.LakeUnreadBefore(ctx, -1, c); err != nil || len(seqs) != 2 || seqs[0] != b || seqs[1] != c {
		t.Errorf("unread up to %d: %v %v", c, seqs, err)
	}
	// A flush begins over b and c, and a crash cuts it: both are listed
	// for the replay, neither is unread nor removed.
	if _, err := db.SetLake(ctx, []int64{b, c}, store.LakeFlushing); err != nil {
		t.Fatal(err)
	}
	if fl, err := db.LakeInFlush(ctx, -1); err != nil || len(fl) != 2 {
		t.Errorf("in flush: %v %v", fl, err)
	}
	if rest, _ := db.LakeUnread(ctx, -1, 0, 10); len(rest) != 1 || rest[0].Seq != d {
		t.Errorf("unread during a flush: %+v", rest)
	}
	bodies, err := db.SpooledBodies(ctx, []int64{c, b})
	if err != nil || len(bodies) != 2 || bodies[0].Seq != b || len(bodies[1].Body) == 0 {
		t.Errorf("bodies of the flush: %+v %v", bodies, err)
	}
	// Written: the processed one (b) leaves; c waits for the processor.
	if n, err := db.SetLake(ctx, []int64{b, c}, store.LakeWritten); err != nil || n != 1 {
		t.Errorf("the flush removed %d bodies (%v), want the 1 processed", n, err)
	}
	processed(c, true) // in the lake already: leaves now
	if all, _ := db.LakeUnread(ctx, -1, 0, 10); len(all) != 1 || all[0].Seq != d {
		t.Errorf("after the lake had them, unread %+v, want only %d", all, d)
	}
	if n, _ := db.PendingCount(ctx); n != 1 {
		t.Errorf("pending count %d, want 1", n)
	}
}

func checkpoints(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if v, err := db.Checkpoint(ctx, "folder:/x", "a.json"); err != nil || v != "" {
		t.Errorf("empty: %q %v", v, err)
	}
	_ = db.SetCheckpoint(ctx, "folder:/x", "a.json", "1")
	_ = db.SetCheckpoint(ctx, "folder:/x", "a.json", "2")
	if v, _ := db.Checkpoint(ctx, "folder:/x", "a.json"); v != "2" {
		t.Errorf("checkpoint %q", v)
	}
}

func auditChain(t *testing.T, db *store.DB) {
	ctx := context.Background()
	l, err := audit.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := l.Append(ctx, audit.Record{Kind: audit.ActionExecuted, Action: "s3.put_public_access_block", Target: fmt.Sprintf("b%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	n, _, err := audit.Verify(ctx, db, "")
	if err != nil || n != 5 {
		t.Fatalf("verify: %d %v", n, err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE audit SET body = replace(body, 'b3', 'bX') WHERE seq = ?`, 4); err != nil {
		t.Fatal(err)
	}
	if _, _, err := audit.Verify(ctx, db, ""); err == nil {
		t.Error("an edited record passed verification")
	}
}

// snapshots: the newest good read wins; the same state read again moves
// its date; a problem state is never the good one.
func history(t *testing.T, db *store.DB) {
	ctx := context.Background()
	s := respond.Snapshots{DB: db}
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	rec := func(state string, problem bool, at time.Time) {
		t.Helper()
		if err := s.Record(ctx, respond.Snapshot{Kind: respond.SnapshotBucketPolicy, Resource: "b", State: state, Problem: problem, Source: "test", At: at}); err != nil {
			t.Fatal(err)
		}
	}
	rec(`{"v":1}`, false, t0)
	rec(`{"v":2}`, false, t0.Add(time.Minute))
	rec(`{"v":3}`, true, t0.Add(2*time.Minute))
	if got, ok, err := s.LatestGood(ctx, respond.SnapshotBucketPolicy, "b"); err != nil || !ok || got.State != `{"v":2}` || !got.At.Equal(t0.Add(time.Minute)) {
		t.Errorf("latest good: %+v %v %v", got, ok, err)
	}
	rec(`{"v":1}`, false, t0.Add(3*time.Minute)) // read again, later
	if got, _, _ := s.LatestGood(ctx, respond.SnapshotBucketPolicy, "b"); got.State != `{"v":1}` {
		t.Errorf("latest good after a re-read: %+v", got)
	}
	if got, _, _ := s.Latest(ctx, respond.SnapshotBucketPolicy, "b"); got.State != `{"v":1}` {
		t.Errorf("latest: %+v", got)
	}
	if _, ok, err := s.LatestGood(ctx, respond.SnapshotBucketPolicy, "other"); ok || err != nil {
		t.Errorf("a bucket never read: %v %v", ok, err)
	}
}

// The pipeline's transaction: findings, incidents and the spool together.
func pipelineStore(t *testing.T, db *store.DB) {
	ctx := context.Background()
	p := &pipeline.Pipeline{DB: db, Rules: detect.NewEngine(nil), Incidents: correlate.New(time.Hour)}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	seq, err := p.Submit(ctx, "test", []byte(`{"Records":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	if err := p.WaitFor(ctx, seq); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	sup := &correlate.Suppression{Expr: `finding.rule_id == "x"`, Reason: "test", Expires: time.Now().Add(time.Hour)}
	if err := p.AddSuppression(ctx, sup); err != nil {
		t.Fatal(err)
	}
	if len(p.Suppressions()) != 1 {
		t.Error("suppression not listed")
	}
	if err := p.RemoveSuppression(ctx, sup.ID, "alice", "test over"); err != nil {
		t.Error(err)
	}
	// An incident stored and read back.
	in := &correlate.Incident{ID: "inc-1", Status: "open", Key: "principal:x", Risk: 42, First: time.Now(), Last: time.Now(), Levels: map[string]int{"high": 1}, Findings: []string{"f1"}}
	b, _ := json.Marshal(in)
	if _, err := db.ExecContext(ctx, `INSERT INTO incidents (id, status, risk, first, last, updated, body) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		in.ID, in.Status, in.Risk, in.First.Format(time.RFC3339Nano), in.Last.Format(time.RFC3339Nano), in.Last.Format(time.RFC3339Nano), string(b)); err != nil {
		t.Fatal(err)
	}
	closed, err := p.CloseIncident(ctx, "inc-1", "alice", "benign")
	if err != nil || closed.Status != "closed" {
		t.Fatalf("close: %+v %v", closed, err)
	}
	incs, err := pipeline.LoadIncidents(ctx, db, 10)
	if err != nil || len(incs) != 1 || incs[0].ClosedBy != "alice" {
		t.Errorf("incidents: %+v %v", incs, err)
	}
	var closedAt string
	if err := db.QueryRowContext(ctx, `SELECT json_extract(body, '$.closed') FROM incidents WHERE id = ?`, "inc-1").Scan(&closedAt); err != nil || closedAt == "" {
		t.Errorf("json_extract: %q %v", closedAt, err)
	}
}

// The store's printed path (logs, GET /v1/config) carries no password,
// in the user info or in a query parameter.
func TestPostgresPathRedacted(t *testing.T) {
	u := pgtest.URL(t) + "&password=pg-s3cret&sslpassword=k3y-s3cret"
	db, err := store.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if strings.Contains(db.Path, "s3cret") || !strings.Contains(db.Path, "127.0.0.1") {
		t.Errorf("path %q", db.Path)
	}
}
