package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parapet-sec/parapet/internal/store"
)

// Status is the chain's state as the API reports it.
type Status struct {
	Records  int64   `json:"records"`
	Head     string  `json:"head"`
	Intact   bool    `json:"intact"`
	Problem  string  `json:"problem,omitempty"`
	Anchored *Anchor `json:"anchor,omitempty"` // the latest anchor, when there is one
	// AnchorOK: the chain still holds the anchored record (false with no
	// anchor).
	AnchorOK bool `json:"anchor_ok"`
	// Verified is when the whole chain was last walked from the first
	// record.
	Verified time.Time `json:"verified"`
}

// Checker verifies the chain incrementally for the API: the first call
// walks it all; later calls walk only the records appended since, after
// checking that the last record verified is still there unchanged and
// that no record before it is missing; the whole chain is walked again
// every Full. A problem found is kept until a full walk no longer finds
// it. Safe for concurrent use.
type Checker struct {
	DB         *store.DB
	AnchorPath string            // "": no anchor
	AnchorKey  ed25519.PublicKey // nil: signatures not checked
	Full       time.Duration     // default 1h

	mu      sync.Mutex
	n       int64 // records verified (they are 1 … n)
	most    int64 // the most records ever verified
	head    string
	problem error
	full    time.Time
}

// Check returns the chain's status.
func (c *Checker) Check(ctx context.Context) (Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	full := c.Full
	if full <= 0 {
		full = time.Hour
	}
	if c.full.IsZero() || time.Since(c.full) > full || c.problem != nil || !c.stillThere(ctx) {
		n, head, err := Verify(ctx, c.DB, "")
		var p *Problem
		if err != nil && !errors.As(err, &p) {
			return Status{}, err
		}
		c.n, c.head, c.problem, c.full = n, head, err, time.Now()
		if err == nil && n < c.most {
			c.problem = &Problem{Seq: n, Reason: fmt.Sprintf("the chain ends at record %d, but %d records were verified before: records were cut off the end", n, c.most)}
		}
	} else if err := c.extend(ctx); err != nil {
		var p *Problem
		if !errors.As(err, &p) {
			return Status{}, err
		}
		c.problem = err
	}
	c.most = max(c.most, c.n)
	st := Status{Records: c.n, Head: c.head, Intact: c.problem == nil, Verified: c.full}
	if c.problem != nil {
		st.Problem = c.problem.Error()
	}
	if c.AnchorPath != "" {
		a, err := LatestAnchor(c.AnchorPath, c.AnchorKey)
		switch {
		case errors.Is(err, ErrNoAnchor):
		case err != nil:
			st.Intact, st.Problem = false, err.Error()
		default:
			st.Anchored = &a
			if err := CheckAnchor(ctx, c.DB, a); err != nil {
				st.Intact, st.Problem = false, err.Error()
			} else {
				st.AnchorOK = true
			}
		}
	}
	return st, nil
}

// stillThere checks that records 1 … n are all there (their count) and
// that record n still has the hash verified.
func (c *Checker) stillThere(ctx context.Context) bool {
	if c.n == 0 {
		return true
	}
	var count int64
	var hash string
	if err := c.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit WHERE seq <= ?`, c.n).Scan(&count); err != nil || count != c.n {
		return false
	}
	if err := c.DB.QueryRowContext(ctx, `SELECT hash FROM audit WHERE seq = ?`, c.n).Scan(&hash); err != nil || hash != c.head {
		return false
	}
	return true
}

// extend verifies the records after n.
func (c *Checker) extend(ctx context.Context) error {
	rows, err := c.DB.QueryContext(ctx, `SELECT seq, body, hash FROM audit WHERE seq > ? ORDER BY seq`, c.n)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var body, hash string
		if err := rows.Scan(&seq, &body, &hash); err != nil {
			return err
		}
		if err := link(seq, c.n+1, c.head, body, hash); err != nil {
			return err
		}
		c.n, c.head = seq, hash
	}
	return rows.Err()
}

// link checks one record against the one before it (what Verify does
// for each).
func link(seq, want int64, prev, body, hash string) error {
	if seq != want {
		return &Problem{Seq: seq, Reason: fmt.Sprintf("expected record %d here: records were deleted or inserted", want)}
	}
	if hashOf([]byte(body)) != hash {
		return &Problem{Seq: seq, Reason: "its content does not match its hash: it was edited"}
	}
	var r Record
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return &Problem{Seq: seq, Reason: "not a record: " + err.Error()}
	}
	if r.Seq != seq {
		return &Problem{Seq: seq, Reason: fmt.Sprintf("its content says record %d: records were moved", r.Seq)}
	}
	if r.Prev != prev {
		return &Problem{Seq: seq, Reason: "it does not link to the record before it: records were inserted, deleted or reordered"}
	}
	return nil
}
