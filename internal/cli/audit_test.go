package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/awstest"
	"github.com/parapet-sec/parapet/internal/store"
)

// Records cut off the end of the audit trail, or all of them, are found
// by parapet audit verify without --head: the commands that append write
// the head to an anchor file beside the store, and verify checks the
// chain against the latest anchor. A signed anchor whose signature was
// tampered with is found with the public key.
func TestAuditVerifyFindsTruncation(t *testing.T) {
	awstest.Start(t)
	rec := ctRecord("ev-anchor-1", "grace", "ASIAGRACE", "s3.amazonaws.com", "DeleteBucketPublicAccessBlock", map[string]any{"bucketName": "bucket-anchor"}, nil)
	cut := func(t *testing.T, db, where string) {
		t.Helper()
		s, err := store.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.ExecContext(context.Background(), `DELETE FROM audit WHERE `+where); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ name, where string }{
		{"last records deleted", `seq > (SELECT MAX(seq) FROM audit) - 2`},
		{"every record deleted", `1 = 1`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, db := detectAndRespond(t, []string{rec}, "--dry-run")
			cut(t, db, c.where)
			out, errOut, code := run(t, "", "audit", "verify", "--db", db)
			if code == ExitOK || !strings.Contains(out+errOut, "anchor") {
				t.Errorf("verify after %s: exit %d\n%s%s", c.name, code, out, errOut)
			}
		})
	}

	// Signed anchors: a private key signs, the public key verifies.
	dir := t.TempDir()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p8, _ := x509.MarshalPKCS8PrivateKey(priv)
	pk, _ := x509.MarshalPKIXPublicKey(pub)
	keyFile, pubFile := filepath.Join(dir, "anchor.key"), filepath.Join(dir, "anchor.pub")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pk}), 0o644); err != nil {
		t.Fatal(err)
	}
	_, db := detectAndRespond(t, []string{rec}, "--dry-run", "--audit-anchor-key", "file:"+keyFile)
	if out, errOut, code := run(t, "", "audit", "verify", "--db", db, "--anchor-key", "file:"+pubFile); code != ExitOK || !strings.Contains(out, "signed") {
		t.Fatalf("signed anchor: exit %d\n%s%s", code, out, errOut)
	}
	anchor := filepath.Join(filepath.Dir(db), "audit.anchor")
	b, err := os.ReadFile(anchor)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	last := lines[len(lines)-1]
	i := strings.Index(last, `"sig":"`) + len(`"sig":"`)
	flip := "A"
	if last[i] == 'A' {
		flip = "B"
	}
	lines[len(lines)-1] = last[:i] + flip + last[i+1:]
	if err := os.WriteFile(anchor, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := run(t, "", "audit", "verify", "--db", db, "--anchor-key", "file:"+pubFile); code == ExitOK || !strings.Contains(out+errOut, "signature") {
		t.Errorf("a tampered anchor signature: exit %d\n%s%s", code, out, errOut)
	}
}

// serve anchors the chain on its schedule: GET /v1/audit and the metrics
// show the anchor; records cut off the end after serve stops are found by
// audit verify.
func TestServeAnchorsTheAuditTrail(t *testing.T) {
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("respond:\n  dry_run: true\naudit:\n  anchor_interval: 1s\n  anchor_every: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok := token(t, data, "analyst")
	url, stop := startServe(t, "--data", data, "--config", cfg)
	pub := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}}}
	rec := ctRecord("ev-anchor-serve", "mallory", "AKIAMALLORY", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "b-anchor", "bucketPolicy": pub}, nil)
	if code, v := call(t, "POST", url+"/v1/ingest/cloudtrail", tok, "application/x-ndjson", []byte(rec+"\n")); code != 202 {
		t.Fatalf("ingest: %d %v", code, v)
	}
	var chain map[string]any
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, v := call(t, "GET", url+"/v1/audit", tok, "", nil)
		chain, _ = v["chain"].(map[string]any)
		a, _ := chain["anchor"].(map[string]any)
		if chain["intact"] == true && chain["anchor_ok"] == true && a != nil && a["seq"] == chain["records"] && chain["records"].(float64) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no anchor of the head: %v", chain)
		}
	}
	if _, m := call(t, "GET", url+"/metrics", "", "", nil); !strings.Contains(m["raw"].(string), "parapet_audit_anchor_seq ") {
		t.Error("the anchor is not in the metrics")
	}
	stop()
	db := filepath.Join(data, "parapet.db")
	if out, errOut, code := run(t, "", "audit", "verify", "--db", db); code != ExitOK || !strings.Contains(out, "anchored at record") {
		t.Fatalf("verify: exit %d %s%s", code, out, errOut)
	}
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ExecContext(context.Background(), `DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if out, errOut, code := run(t, "", "audit", "verify", "--db", db); code == ExitOK || !strings.Contains(out, "cut off the end") {
		t.Errorf("verify after the last record was deleted: exit %d %s%s", code, out, errOut)
	}
}
