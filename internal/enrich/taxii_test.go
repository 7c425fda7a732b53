package enrich

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A TAXII 2.1 collection served as the specification says (envelopes,
// more/next paging, added_after, X-TAXII-Date-Added-Last, basic auth): the
// client reads every page, asks only for what is new on the next poll, and
// the indicators become matchable.
func TestTAXII(t *testing.T) {
	ind := func(id, ip string) map[string]any {
		return map[string]any{"type": "indicator", "spec_version": "2.1", "id": "indicator--" + id, "name": "C2 " + ip,
			"pattern_type": "stix", "pattern": "[ipv4-addr:value = '" + ip + "']", "valid_from": "2026-01-01T00:00:00Z"}
	}
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.RawQuery)
		mu.Unlock()
		if u, p, ok := r.BasicAuth(); !ok || u != "reader" || p != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if !strings.HasPrefix(r.Header.Get("Accept"), "application/taxii+json") || r.URL.Path != "/api1/collections/c1/objects/" {
			w.WriteHeader(http.StatusNotAcceptable)
			return
		}
		w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
		q := r.URL.Query()
		var env map[string]any
		switch {
		case q.Get("added_after") == "" && q.Get("next") == "":
			env = map[string]any{"more": true, "next": "p2", "objects": []any{ind("1", "203.0.113.10")}}
		case q.Get("next") == "p2":
			w.Header().Set("X-TAXII-Date-Added-Last", "2026-11-24T10:00:00.000Z")
			env = map[string]any{"more": false, "objects": []any{ind("2", "203.0.113.11"), map[string]any{"type": "malware", "id": "malware--1"}}}
		case q.Get("added_after") == "2026-11-24T10:00:00.000Z":
			env = map[string]any{"more": false, "objects": []any{ind("3", "203.0.113.12")}}
		}
		json.NewEncoder(w).Encode(env)
	}))
	defer srv.Close()
	x := &TAXII{Collection: srv.URL + "/api1/collections/c1/", User: "reader", Password: "s3cret"}
	objs, err := x.Poll(context.Background())
	if err != nil || len(objs) != 3 {
		t.Fatalf("first poll: %d objects, %v", len(objs), err)
	}
	in := NewIntel()
	if err := in.AddSTIX("taxii:c1", objs); err != nil {
		t.Fatal(err)
	}
	objs, err = x.Poll(context.Background())
	if err != nil || len(objs) != 1 {
		t.Fatalf("second poll: %d objects, %v (queries %v)", len(objs), err, seen)
	}
	next := in.Clone()
	if err := next.AddSTIX("taxii:c1", objs); err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{"203.0.113.10", "203.0.113.11", "203.0.113.12"} {
		if next.MatchIP(netip.MustParseAddr(ip), time.Time{}) == nil {
			t.Errorf("%s not matched", ip)
		}
	}
	if in.MatchIP(netip.MustParseAddr("203.0.113.12"), time.Time{}) != nil {
		t.Error("the clone shares its maps with the original")
	}
	bad := &TAXII{Collection: srv.URL + "/api1/collections/c1/", User: "reader", Password: "wrong"}
	if _, err := bad.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("bad credentials: %v", err)
	}
}

// countingBody counts the bytes a client reads from response bodies.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type countingTransport struct{ n *atomic.Int64 }

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = countingBody{resp.Body, c.n}
	}
	return resp, err
}

// A collection that never ends (every page says more), or that serves one
// enormous page, is read within bounds: a poll stops at its objects and
// bytes (what it read is kept, and the next poll goes on from the last
// page it kept), all polls together stop at the total, and an oversized
// page is read no further than the bytes left.
func TestTAXIIBounded(t *testing.T) {
	const perPage = 100
	var pages atomic.Int64
	ind := func(n int64) map[string]any {
		ip := fmt.Sprintf("198.51.%d.%d", n/250%250, n%250)
		return map[string]any{"type": "indicator", "spec_version": "2.1", "id": fmt.Sprintf("indicator--%08d", n), "name": "C2 " + ip,
			"pattern_type": "stix", "pattern": "[ipv4-addr:value = '" + ip + "']", "valid_from": "2026-01-01T00:00:00Z"}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
		if r.URL.Path == "/api1/collections/huge/objects/" {
			// One page of 8 MiB.
			objs := make([]any, 0, 40000)
			for i := range int64(40000) {
				objs = append(objs, ind(i))
			}
			json.NewEncoder(w).Encode(map[string]any{"more": false, "objects": objs})
			return
		}
		// Page p starts after the object added last on page p-1: its
		// number is in added_after (or in next).
		q := r.URL.Query()
		start := int64(0)
		if v := q.Get("next"); v != "" {
			start, _ = strconv.ParseInt(v, 10, 64)
		} else if v := q.Get("added_after"); v != "" {
			tm, _ := time.Parse(time.RFC3339Nano, v)
			start = tm.Unix() - 1_700_000_000
		}
		pages.Add(1)
		objs := make([]any, 0, perPage)
		for i := start; i < start+perPage; i++ {
			objs = append(objs, ind(i))
		}
		w.Header().Set("X-TAXII-Date-Added-Last", time.Unix(1_700_000_000+start+perPage, 0).UTC().Format(time.RFC3339Nano))
		json.NewEncoder(w).Encode(map[string]any{"more": true, "next": strconv.FormatInt(start+perPage, 10), "objects": objs})
	}))
	defer srv.Close()

	x := &TAXII{Collection: srv.URL + "/api1/collections/endless/", MaxObjects: 250, MaxTotalObjects: 500}
	var got []json.RawMessage
	for poll := 1; poll <= 3; poll++ {
		before := pages.Load()
		objs, err := x.Poll(context.Background())
		got = append(got, objs...)
		switch {
		case pages.Load()-before > 3:
			t.Fatalf("poll %d read %d pages of an endless collection, want at most 3 (250 objects, 100 a page)", poll, pages.Load()-before)
		case poll < 3 && (len(objs) != 200 || err == nil):
			t.Errorf("poll %d: %d objects, %v; want the 200 of two whole pages and a limit error", poll, len(objs), err)
		case poll == 3 && (len(objs) != 100 || err == nil):
			t.Errorf("poll 3: %d objects, %v; want the 100 left under the total of 500, and a limit error", len(objs), err)
		}
	}
	if objs, err := x.Poll(context.Background()); len(objs) != 0 || err == nil {
		t.Errorf("past the total: %d objects, %v", len(objs), err)
	}
	// No object twice, none skipped: the next poll went on from the last
	// page kept.
	seen := map[string]bool{}
	for _, o := range got {
		var v struct{ ID string }
		json.Unmarshal(o, &v)
		if seen[v.ID] {
			t.Errorf("%s twice", v.ID)
		}
		seen[v.ID] = true
	}
	if len(seen) != 500 || !seen["indicator--00000499"] {
		t.Errorf("%d distinct objects, want 0 … 499", len(seen))
	}

	var read atomic.Int64
	big := &TAXII{Collection: srv.URL + "/api1/collections/huge/", MaxBytes: 1 << 20, Client: &http.Client{Transport: countingTransport{&read}}}
	objs, err := big.Poll(context.Background())
	if err == nil || len(objs) != 0 {
		t.Errorf("an 8 MiB page with a 1 MiB bound: %d objects, %v", len(objs), err)
	}
	if read.Load() > 1<<20+64<<10 {
		t.Errorf("read %d bytes of an 8 MiB page with a 1 MiB bound", read.Load())
	}
}
