package enrich

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
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
