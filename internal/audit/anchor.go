package audit

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parapet-sec/parapet/internal/store"
)

// An anchor is the chain's head written down outside the store: records
// cut off the end (or all of them) leave an intact, shorter chain that
// only a head kept elsewhere tells apart. Anchors are appended as JSON
// lines to a file (by default audit.anchor beside the store), and each one
// is also logged; with a key each line is signed (Ed25519), so that
// rewriting the file needs the key too.

// AnchorFile is the anchor file's name in the data folder.
const AnchorFile = "audit.anchor"

// Anchor is one line of the anchor file.
type Anchor struct {
	Seq  int64     `json:"seq"`
	Hash string    `json:"hash"`
	Time time.Time `json:"time"`
	Sig  string    `json:"sig,omitempty"` // base64 Ed25519 over message()
}

func (a Anchor) message() []byte {
	return []byte("parapet audit anchor v1\n" + strconv.FormatInt(a.Seq, 10) + "\n" + a.Hash + "\n" + a.Time.UTC().Format(time.RFC3339Nano))
}

// AnchorPath is where the anchor of a store is kept by default: beside a
// SQLite file ("" for a PostgreSQL URL: give the path).
func AnchorPath(db string) string {
	if strings.Contains(db, "://") {
		return ""
	}
	return filepath.Join(filepath.Dir(db), AnchorFile)
}

// ParseKey reads an Ed25519 key in PEM: a private key (PKCS #8, which
// signs and verifies) or a public key (PKIX, which verifies).
func ParseKey(b []byte) (ed25519.PrivateKey, ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, nil, errors.New("anchor key: not PEM")
	}
	switch blk.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("anchor key: %w", err)
		}
		priv, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, nil, errors.New("anchor key: not an Ed25519 key")
		}
		return priv, priv.Public().(ed25519.PublicKey), nil
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("anchor key: %w", err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, nil, errors.New("anchor key: not an Ed25519 key")
		}
		return nil, pub, nil
	}
	return nil, nil, fmt.Errorf("anchor key: a PEM %q block, want PRIVATE KEY or PUBLIC KEY", blk.Type)
}

// WriteAnchor appends an anchor for (seq, hash) to the file, signed when
// key is set, and syncs it.
func WriteAnchor(path string, key ed25519.PrivateKey, seq int64, hash string, now time.Time) (Anchor, error) {
	a := Anchor{Seq: seq, Hash: hash, Time: now.UTC().Truncate(time.Microsecond)}
	if key != nil {
		a.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(key, a.message()))
	}
	line, err := json.Marshal(a)
	if err != nil {
		return a, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return a, fmt.Errorf("audit anchor: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return a, fmt.Errorf("audit anchor: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return a, fmt.Errorf("audit anchor: %w", err)
	}
	return a, f.Close()
}

// ErrNoAnchor is an anchor file that does not exist or holds no anchor.
var ErrNoAnchor = errors.New("no audit anchor")

// LatestAnchor reads the anchor file's latest anchor: the one of the
// furthest record (the last line among equals). With pub, every line
// must carry a valid signature: one that does not was written or changed
// without the key.
func LatestAnchor(path string, pub ed25519.PublicKey) (Anchor, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return Anchor{}, ErrNoAnchor
	}
	if err != nil {
		return Anchor{}, err
	}
	defer f.Close()
	var last Anchor
	found := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var a Anchor
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil || a.Seq < 0 || a.Seq > 0 && a.Hash == "" {
			return Anchor{}, fmt.Errorf("audit anchor %s line %d: not an anchor", path, n)
		}
		if pub != nil {
			sig, err := base64.StdEncoding.DecodeString(a.Sig)
			if err != nil || a.Sig == "" || !ed25519.Verify(pub, a.message(), sig) {
				return Anchor{}, fmt.Errorf("audit anchor %s line %d (record %d): its signature does not verify: the anchor was written or changed without the key", path, n, a.Seq)
			}
		}
		// The furthest record anchored (several processes on one store
		// may append their anchors out of order).
		if !found || a.Seq >= last.Seq {
			last, found = a, true
		}
	}
	if err := sc.Err(); err != nil {
		return Anchor{}, err
	}
	if !found {
		return Anchor{}, ErrNoAnchor
	}
	return last, nil
}

// CheckAnchor says whether the chain in the store still holds the
// anchored record: a chain that ends before it was cut; a record there
// with another hash was replaced.
func CheckAnchor(ctx context.Context, db *store.DB, a Anchor) error {
	if a.Seq == 0 {
		return nil
	}
	var hash string
	err := db.QueryRowContext(ctx, `SELECT hash FROM audit WHERE seq = ?`, a.Seq).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		var last int64
		_ = db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit`).Scan(&last)
		return &Problem{Seq: last, Reason: fmt.Sprintf("the chain ends at record %d, but the anchor of %s names record %d (%s): records were cut off the end",
			last, a.Time.Format(time.RFC3339), a.Seq, short(a.Hash))}
	}
	if err != nil {
		return err
	}
	if hash != a.Hash {
		return &Problem{Seq: a.Seq, Reason: fmt.Sprintf("its hash %s is not the anchored %s: the chain was rewritten", short(hash), short(a.Hash))}
	}
	return nil
}

// Anchorer writes the log's head to the anchor file when the log has
// appended since it was bound (Anchor), and tells OnAnchor (the log and
// metrics). It never anchors a chain that no longer holds the previous
// anchor: re-anchoring a truncated chain would hide the truncation. Safe
// for concurrent use.
type Anchorer struct {
	Path     string
	Key      ed25519.PrivateKey // nil: unsigned
	OnAnchor func(Anchor)       // nil: none

	mu     sync.Mutex
	log    *Log
	last   string // the head last anchored, or the head when bound
	prev   Anchor // the anchor the next one follows
	loaded bool
}

// Bind sets the log whose head is anchored; only what it appends from now
// on is anchored.
func (x *Anchorer) Bind(l *Log) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.log, x.last = l, l.Head()
}

// Anchor writes the head if the log appended since the last anchor this
// Anchorer wrote (or since Bind); it returns whether it wrote one.
func (x *Anchorer) Anchor(ctx context.Context) (bool, error) {
	if x == nil || x.Path == "" {
		return false, nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.log == nil {
		return false, nil
	}
	x.log.mu.Lock()
	seq, head := x.log.seq, x.log.head
	x.log.mu.Unlock()
	if seq == 0 || head == x.last {
		return false, nil
	}
	if !x.loaded {
		a, err := LatestAnchor(x.Path, nil)
		if err != nil && !errors.Is(err, ErrNoAnchor) {
			return false, err
		}
		x.prev, x.loaded = a, true
	}
	if err := CheckAnchor(ctx, x.log.db, x.prev); err != nil {
		return false, fmt.Errorf("audit anchor not written: the chain no longer holds the last anchor: %w", err)
	}
	a, err := WriteAnchor(x.Path, x.Key, seq, head, time.Now())
	if err != nil {
		return false, err
	}
	x.last, x.prev = head, a
	if x.OnAnchor != nil {
		x.OnAnchor(a)
	}
	return true, nil
}

// Run anchors every interval, and after every `every` records appended,
// until ctx ends, then a last time.
func (x *Anchorer) Run(ctx context.Context, interval time.Duration, every int64, onErr func(error)) {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(min(interval, time.Second))
	defer t.Stop()
	last := time.Now()
	anchor := func(ctx context.Context) {
		if _, err := x.Anchor(ctx); err != nil && onErr != nil {
			onErr(err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			anchor(context.WithoutCancel(ctx))
			return
		case now := <-t.C:
			if now.Sub(last) < interval && (every <= 0 || x.pending() < every) {
				continue
			}
			last = now
			anchor(ctx)
		}
	}
}

// pending is how many records the log appended since the last anchor.
func (x *Anchorer) pending() int64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.log == nil {
		return 0
	}
	x.log.mu.Lock()
	seq := x.log.seq
	x.log.mu.Unlock()
	return seq - x.prev.Seq
}
