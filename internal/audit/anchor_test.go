package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Records cut off the end, or all of them, leave an intact chain that
// the latest anchor tells from the real one; records appended after the
// anchor are fine; a chain rewritten from the anchored record on is
// found too.
func TestAnchorFindsTruncation(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		sql  string
		bad  bool
	}{
		{"intact", ``, false},
		{"last records deleted", `DELETE FROM audit WHERE seq > 8`, true},
		{"every record deleted", `DELETE FROM audit`, true},
		{"anchored record replaced", `UPDATE audit SET hash = 'x' WHERE seq = 10`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, l := fill(t, 9)
			path := filepath.Join(t.TempDir(), AnchorFile)
			x := &Anchorer{Path: path}
			x.Bind(l)
			if ok, _ := x.Anchor(ctx); ok {
				t.Error("an anchor written with nothing appended since Bind")
			}
			if _, err := l.Append(ctx, Record{Kind: FindingReceived}); err != nil {
				t.Fatal(err)
			}
			if ok, err := x.Anchor(ctx); !ok || err != nil {
				t.Fatalf("anchor: %v %v", ok, err)
			}
			if ok, _ := x.Anchor(ctx); ok {
				t.Error("an anchor written with no new record")
			}
			if c.sql != "" {
				if _, err := db.ExecContext(ctx, c.sql); err != nil {
					t.Fatal(err)
				}
			}
			if c.name == "intact" {
				if _, err := l.Append(ctx, Record{Kind: FindingReceived}); err != nil {
					t.Fatal(err)
				}
			}
			a, err := LatestAnchor(path, nil)
			if err != nil || a.Seq != 10 {
				t.Fatalf("latest anchor: %+v %v", a, err)
			}
			err = CheckAnchor(ctx, db, a)
			if (err != nil) != c.bad {
				t.Errorf("CheckAnchor = %v, want a problem: %v", err, c.bad)
			}
		})
	}
	// Re-anchoring cannot hide a truncation: a process that opens the
	// truncated chain anchors nothing until it appends, and then refuses
	// to anchor a chain that no longer holds the last anchor.
	db, l := fill(t, 5)
	path := filepath.Join(t.TempDir(), AnchorFile)
	x := &Anchorer{Path: path}
	x.Bind(l)
	for range 3 {
		if _, err := l.Append(ctx, Record{Kind: FindingReceived}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := x.Anchor(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM audit WHERE seq > 6`); err != nil {
		t.Fatal(err)
	}
	l2, err := Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	x2 := &Anchorer{Path: path}
	x2.Bind(l2)
	if ok, err := x2.Anchor(ctx); ok || err != nil {
		t.Errorf("anchor with nothing appended: %v %v", ok, err)
	}
	for range 5 {
		if _, err := l2.Append(ctx, Record{Kind: FindingReceived}); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := x2.Anchor(ctx); ok || err == nil {
		t.Errorf("a truncated chain re-anchored past the old anchor: %v %v", ok, err)
	}
	if a, _ := LatestAnchor(path, nil); CheckAnchor(ctx, db, a) == nil {
		t.Error("the latest anchor still holds after the truncation")
	}
	if _, err := LatestAnchor(filepath.Join(t.TempDir(), "none"), nil); !errors.Is(err, ErrNoAnchor) {
		t.Errorf("no anchor file: %v", err)
	}
}

// Signed anchors: the public key verifies every line; a line whose
// signature, hash or sequence was changed, or an unsigned line, does not.
func TestAnchorSignature(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	p8, _ := x509.MarshalPKCS8PrivateKey(priv)
	pk, _ := x509.MarshalPKIXPublicKey(pub)
	if k, p, err := ParseKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})); err != nil || !k.Equal(priv) || !p.Equal(pub) {
		t.Fatalf("ParseKey(private): %v", err)
	}
	if k, p, err := ParseKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pk})); err != nil || k != nil || !p.Equal(pub) {
		t.Fatalf("ParseKey(public): %v", err)
	}
	write := func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), AnchorFile)
		for i := int64(1); i <= 3; i++ {
			if _, err := WriteAnchor(path, priv, i*10, strings.Repeat("ab", 32), time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		return path
	}
	path := write(t)
	if a, err := LatestAnchor(path, pub); err != nil || a.Seq != 30 {
		t.Fatalf("signed anchors: %+v %v", a, err)
	}
	if _, err := LatestAnchor(path, otherPub); err == nil {
		t.Error("another key verifies the anchors")
	}
	for name, edit := range map[string]func(string) string{
		"signature": func(l string) string {
			i := strings.Index(l, `"sig":"`) + 7
			c := "A"
			if l[i] == 'A' {
				c = "B"
			}
			return l[:i] + c + l[i+1:]
		},
		"sequence": func(l string) string { return strings.Replace(l, `"seq":30`, `"seq":31`, 1) },
		"hash":     func(l string) string { return strings.Replace(l, `"hash":"ab`, `"hash":"cd`, 1) },
		"unsigned": func(l string) string { return l[:strings.Index(l, `,"sig"`)] + "}" },
	} {
		t.Run(name, func(t *testing.T) {
			p := write(t)
			b, _ := os.ReadFile(p)
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			lines[2] = edit(lines[2])
			if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := LatestAnchor(p, pub); err == nil || !strings.Contains(err.Error(), "signature") {
				t.Errorf("tampered %s: %v", name, err)
			}
		})
	}
}

// The API's checker walks the chain once, then only what was appended,
// and still finds edits at the end, deletions, truncation (with or without
// an anchor) and an anchor that no longer matches.
func TestCheckerIncremental(t *testing.T) {
	ctx := context.Background()
	db, l := fill(t, 5)
	path := filepath.Join(t.TempDir(), AnchorFile)
	c := &Checker{DB: db, AnchorPath: path}
	st, err := c.Check(ctx)
	if err != nil || !st.Intact || st.Records != 5 || st.Anchored != nil {
		t.Fatalf("first check: %+v %v", st, err)
	}
	first := st.Verified
	if _, err := WriteAnchor(path, nil, 5, l.Head(), time.Now()); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := l.Append(ctx, Record{Kind: FindingReceived}); err != nil {
			t.Fatal(err)
		}
	}
	st, err = c.Check(ctx)
	if err != nil || !st.Intact || st.Records != 8 || st.Head != l.Head() || !st.AnchorOK || st.Anchored.Seq != 5 || !st.Verified.Equal(first) {
		t.Fatalf("after appends: %+v %v (want 8 records, anchored at 5, no second full walk)", st, err)
	}
	// An edit to a record appended since.
	if _, err := l.Append(ctx, Record{Kind: FindingReceived}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE audit SET body = replace(body, 'finding.received', 'finding.receivex') WHERE seq = 9`); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.Check(ctx); st.Intact || !strings.Contains(st.Problem, "record 9") {
		t.Errorf("an edited new record: %+v", st)
	}
	// Records after the anchor cut off: no anchor tells (the anchor is
	// at 5), the checker remembers it verified more.
	if _, err := db.ExecContext(ctx, `DELETE FROM audit WHERE seq > 6`); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.Check(ctx); st.Intact || !strings.Contains(st.Problem, "cut off") {
		t.Errorf("truncated after the anchor: %+v", st)
	}
	// Everything cut off: the anchor tells, even to a new checker.
	if _, err := db.ExecContext(ctx, `DELETE FROM audit`); err != nil {
		t.Fatal(err)
	}
	if st, _ := (&Checker{DB: db, AnchorPath: path}).Check(ctx); st.Intact || st.AnchorOK || !strings.Contains(st.Problem, "anchor") {
		t.Errorf("every record deleted: %+v", st)
	}
}
