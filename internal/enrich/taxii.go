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
	after      string
}

// Poll fetches what was added since the last poll and returns it as a
// STIX bundle's objects.
func (x *TAXII) Poll(ctx context.Context) ([]json.RawMessage, error) {
	c := x.Client
	if c == nil {
		c = &http.Client{Timeout: time.Minute}
	}
	base := strings.TrimSuffix(x.Collection, "/") + "/objects/"
	var all []json.RawMessage
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
			return nil, err
		}
		req.Header.Set("Accept", "application/taxii+json;version=2.1")
		if x.User != "" {
			req.SetBasicAuth(x.User, x.Password)
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("taxii %s: %s", x.Collection, resp.Status)
		}
		var env struct {
			More    bool              `json:"more"`
			Next    string            `json:"next"`
			Objects []json.RawMessage `json:"objects"`
		}
		if len(body) > 0 {
			if err := json.Unmarshal(body, &env); err != nil {
				return nil, fmt.Errorf("taxii %s: not a TAXII envelope: %w", x.Collection, err)
			}
		}
		all = append(all, env.Objects...)
		if last := resp.Header.Get("X-TAXII-Date-Added-Last"); last != "" {
			x.after = last
		}
		if !env.More || env.Next == "" {
			return all, nil
		}
		next = env.Next
	}
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
