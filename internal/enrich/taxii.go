package enrich

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// TAXII polls a TAXII 2.1 collection for STIX objects: GET
// {collection}/objects/ with added_after set from the last poll's
// X-TAXII-Date-Added-Last, following "more"/"next" pages.
type TAXII struct {
	Collection string // https://host/api-root/collections/ID/
	User       string
	Password   string
	Client     *http.Client
	// Bounds on memory (0: the defaults): objects and bytes one poll
	// reads, and objects and bytes all polls add up to.
	MaxObjects      int   // per poll (default 100,000)
	MaxBytes        int64 // per poll (default 64 MiB)
	MaxTotalObjects int   // default 1,000,000
	MaxTotalBytes   int64 // default 512 MiB
	after           string
	objects, bytes  int64 // what the polls kept so far
}

// Default bounds of a TAXII collection's polls.
const (
	DefaultTAXIIObjects      = 100_000
	DefaultTAXIIBytes        = 64 << 20
	DefaultTAXIITotalObjects = 1_000_000
	DefaultTAXIITotalBytes   = 512 << 20
)

// LimitError is a poll stopped at a bound: the objects of the pages read
// before it are returned with it, and the next poll goes on from there.
type LimitError struct {
	Collection string
	Limit      string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("taxii %s: stopped at the limit on %s", e.Collection, e.Limit)
}

// Poll fetches what was added since the last poll and returns it as a
// STIX bundle's objects. It reads whole pages within the bounds
// (MaxObjects and MaxBytes per poll, MaxTotalObjects and MaxTotalBytes
// over all polls): at a bound it returns the pages read so far with a
// *LimitError, and the next poll asks for what was added after the last
// page kept. A page is never read further than the bytes left.
func (x *TAXII) Poll(ctx context.Context) ([]json.RawMessage, error) {
	c := x.Client
	if c == nil {
		c = &http.Client{Timeout: time.Minute}
	}
	orDefault := func(v, d int64) int64 {
		if v <= 0 {
			return d
		}
		return v
	}
	maxObjects := min(orDefault(int64(x.MaxObjects), DefaultTAXIIObjects), orDefault(int64(x.MaxTotalObjects), DefaultTAXIITotalObjects)-x.objects)
	maxBytes := min(orDefault(x.MaxBytes, DefaultTAXIIBytes), orDefault(x.MaxTotalBytes, DefaultTAXIITotalBytes)-x.bytes)
	if maxObjects <= 0 || maxBytes <= 0 {
		return nil, &LimitError{Collection: x.Collection, Limit: "objects and bytes in total"}
	}
	base := strings.TrimSuffix(x.Collection, "/") + "/objects/"
	var all []json.RawMessage
	var used int64
	keep := func() { x.objects, x.bytes = x.objects+int64(len(all)), x.bytes+used }
	next := ""
	for page := 0; page < 1000; page++ {
		q := url.Values{}
		if x.after != "" {
			q.Set("added_after", x.after)
		}
		if next != "" {
			q.Set("next", next)
		}
		u := base
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
		if err != nil {
			keep()
			return all, err
		}
		req.Header.Set("Accept", "application/taxii+json;version=2.1")
		if x.User != "" {
			req.SetBasicAuth(x.User, x.Password)
		}
		resp, err := c.Do(req)
		if err != nil {
			keep()
			return all, err
		}
		left := maxBytes - used
		body, err := io.ReadAll(io.LimitReader(resp.Body, left+1))
		resp.Body.Close()
		if err != nil {
			keep()
			return all, err
		}
		if resp.StatusCode != http.StatusOK {
			keep()
			return all, fmt.Errorf("taxii %s: %s", x.Collection, resp.Status)
		}
		if int64(len(body)) > left {
			keep()
			return all, &LimitError{Collection: x.Collection, Limit: fmt.Sprintf("bytes (%d)", maxBytes)}
		}
		var env struct {
			More    bool              `json:"more"`
			Next    string            `json:"next"`
			Objects []json.RawMessage `json:"objects"`
		}
		if len(body) > 0 {
			if err := json.Unmarshal(body, &env); err != nil {
				keep()
				return all, fmt.Errorf("taxii %s: not a TAXII envelope: %w", x.Collection, err)
			}
		}
		if int64(len(all)+len(env.Objects)) > maxObjects {
			keep()
			return all, &LimitError{Collection: x.Collection, Limit: fmt.Sprintf("objects (%d)", maxObjects)}
		}
		all, used = append(all, env.Objects...), used+int64(len(body))
		if last := resp.Header.Get("X-TAXII-Date-Added-Last"); last != "" {
			x.after = last
		}
		if !env.More || env.Next == "" {
			keep()
			return all, nil
		}
		next = env.Next
	}
	keep()
	return all, fmt.Errorf("taxii %s: too many pages", x.Collection)
}

// Clone copies the indicators (a poller builds the next set while
// readers use the current one).
func (in *Intel) Clone() *Intel {
	out := NewIntel()
	for k, v := range in.ips {
		out.ips[k] = v
	}
	for l, m := range in.nets {
		out.nets[l] = map[netip.Prefix]*Indicator{}
		for k, v := range m {
			out.nets[l][k] = v
		}
	}
	out.lens = append(out.lens, in.lens...)
	for k, v := range in.domains {
		out.domains[k] = v
	}
	for k, v := range in.Loaded {
		out.Loaded[k] = v
	}
	for k, v := range in.Skipped {
		out.Skipped[k] = v
	}
	return out
}

// AddSTIX adds the indicators among STIX objects, under a source name.
func (in *Intel) AddSTIX(source string, objects []json.RawMessage) error {
	b, err := json.Marshal(map[string]any{"type": "bundle", "objects": objects})
	if err != nil {
		return err
	}
	return in.loadSTIX(source, b)
}
