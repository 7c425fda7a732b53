package audit

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/store"
)

func fill(t *testing.T, n int) (*store.DB, *Log) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l, err := Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := l.Append(ctx, Record{Kind: ActionExecuted, FindingID: "f", Action: "s3.put_public_access_block", Target: "bucket", Detail: map[string]any{"i": i}}); err != nil {
			t.Fatal(err)
		}
	}
	return db, l
}

func firstBad(t *testing.T, db *store.DB, head string) int64 {
	t.Helper()
	_, _, err := Verify(context.Background(), db, head)
	var p *Problem
	if err == nil {
		return 0
	}
	if !errors.As(err, &p) {
		t.Fatalf("verify: %v", err)
	}
	return p.Seq
}

func TestVerifyFindsEveryKindOfTampering(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		sql  string
		want int64
	}{
		{"intact", ``, 0},
		{"edited", `UPDATE audit SET body = replace(body, '"i":3', '"i":33') WHERE seq = 4`, 4},
		{"edited with its hash recomputed", `UPDATE audit SET body = replace(body, '"target":"bucket"', '"target":"other"'), hash = 'x' WHERE seq = 5`, 5},
		{"deleted", `DELETE FROM audit WHERE seq = 6`, 7},
		{"inserted", `UPDATE audit SET seq = seq + 1000 WHERE seq >= 5; UPDATE audit SET seq = seq - 999 WHERE seq > 1000; INSERT INTO audit (seq, body, hash) SELECT 5, body, hash FROM audit WHERE seq = 2`, 5},
		{"reordered", `UPDATE audit SET seq = 100 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = 100`, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, l := fill(t, 10)
			head := l.Head()
			if c.sql != "" {
				if _, err := db.ExecContext(ctx, c.sql); err != nil {
					t.Fatal(err)
				}
			}
			if got := firstBad(t, db, ""); got != c.want {
				t.Errorf("first bad record %d, want %d", got, c.want)
			}
			if c.sql == "" {
				if got := firstBad(t, db, head); got != 0 {
					t.Errorf("intact chain with its head: problem at %d", got)
				}
			}
		})
	}
	// Cutting records off the end leaves a valid, shorter chain: only the
	// head written down elsewhere tells.
	db, l := fill(t, 10)
	head := l.Head()
	if _, err := db.ExecContext(ctx, `DELETE FROM audit WHERE seq > 8`); err != nil {
		t.Fatal(err)
	}
	if firstBad(t, db, "") != 0 || firstBad(t, db, head) == 0 {
		t.Error("truncation: want a clean chain without the head and a problem with it")
	}
}

func TestAppendContinuesAcrossOpens(t *testing.T) {
	ctx := context.Background()
	db, l := fill(t, 3)
	l2, err := Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if l2.Head() != l.Head() {
		t.Fatal("reopened log lost the head")
	}
	r, err := l2.Append(ctx, Record{Kind: FindingReceived})
	if err != nil || r.Seq != 4 || r.Prev != l.Head() {
		t.Fatalf("appended %+v, %v", r, err)
	}
	if n, _, err := Verify(ctx, db, ""); err != nil || n != 4 {
		t.Fatalf("verify: %d, %v", n, err)
	}
	var out bytes.Buffer
	if n, err := Export(ctx, db, &out); err != nil || n != 4 || strings.Count(out.String(), `"hash":"`) != 4 {
		t.Fatalf("export: %d, %v\n%s", n, err, out.String())
	}
}

func TestSecretsNeverRecorded(t *testing.T) {
	ctx := context.Background()
	db, l := fill(t, 0)
	_, err := l.Append(ctx, Record{Kind: ActionExecuted, Detail: map[string]any{
		"url":           "https://hooks.slack.com/services/T000/B000/XXXXSECRET",
		"routing_key":   "R0UT1NGKEY",
		"request":       map[string]any{"Authorization": "Bearer abc.def", "body": "ok"},
		"note":          "creds at https://user:hunter2@example.com/x and key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"bucket":        "acme-finance-reports",
		"webhook_token": "t",
	}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := Export(ctx, db, &out); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"XXXXSECRET", "R0UT1NGKEY", "abc.def", "hunter2", "wJalrXUtnFEMI", `"t"`} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("%q reached the audit trail:\n%s", secret, out.String())
		}
	}
	if !strings.Contains(out.String(), "acme-finance-reports") {
		t.Error("redaction took what is not secret")
	}
}
