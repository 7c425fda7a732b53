package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/hunt"
	"github.com/parapet-sec/parapet/internal/lake"
	"github.com/parapet-sec/parapet/internal/report"
)

// Hunts and timelines read the lake (Server.Lake) synchronously, bounded
// in results and time.
const (
	huntLimit       = 1000  // results of a hunt by default
	huntMaxLimit    = 10000 // results of a hunt at most
	timelineLimit   = 100   // items of a timeline page by default
	timelineMax     = 1000  // items of a timeline page at most
	defaultLookBack = 30 * 24 * time.Hour
)

// HuntTimeout bounds one hunt or timeline page (the server's HuntTimeout
// field, when set, overrides it).
const HuntTimeout = 2 * time.Minute

type (
	// huntBody is POST /v1/hunts: what to run over which part of the lake.
	huntBody struct {
		Since    string   `json:"since,omitempty"` // RFC 3339 or YYYY-MM-DD (UTC); default: 30 days before until
		Until    string   `json:"until,omitempty"` // excluded; default: now
		Accounts []string `json:"accounts,omitempty"`
		Regions  []string `json:"regions,omitempty"`
		// Rules is "builtin" (the loaded rule pack) or a list of rule ids
		// from it; absent: the pack when nothing else (sigma, cel, intel)
		// is named.
		Rules  json.RawMessage `json:"rules,omitempty"`
		Sigma  string          `json:"sigma,omitempty"`  // one Sigma rule (YAML), run as well
		CEL    string          `json:"cel,omitempty"`    // over the promoted columns: only events it accepts are hunted
		Intel  bool            `json:"intel,omitempty"`  // match the indicators serve uses now
		Limit  int             `json:"limit,omitempty"`  // results (1 to 10000, default 1000)
		Format string          `json:"format,omitempty"` // findings (default) or events
	}
	// lakeStats say what a hunt or a timeline page read.
	lakeStats struct {
		Partitions          int     `json:"partitions"` // selected by range, accounts and regions
		PartitionsAvailable int     `json:"partitions_available"`
		Files               int     `json:"files"` // read
		BytesRead           int64   `json:"bytes_read"`
		RowGroups           int     `json:"row_groups"`      // in the files read
		RowGroupsRead       int     `json:"row_groups_read"` // of those, not passed over by their time statistics
		Events              int64   `json:"events"`          // rows in the range
		Passed              int64   `json:"passed"`          // events passing the CEL filter or the entity (all in the range without one)
		PassedOver          int64   `json:"passed_over"`     // of those, not rebuilt: no rule nor indicator could match their columns
		Findings            int64   `json:"findings"`
		Seconds             float64 `json:"seconds"`
	}
	huntResult struct {
		Stats    lakeStats         `json:"stats"`
		Findings []json.RawMessage `json:"findings,omitempty"` // format findings: as GET /v1/findings lists them
		Events   []json.RawMessage `json:"events,omitempty"`   // format events: normalized events
		// Truncated: the limit was reached and the hunt stopped.
		Truncated bool `json:"truncated"`
	}
	// timelineItem is one thing an entity did.
	timelineItem struct {
		Time      time.Time `json:"time"`
		Source    string    `json:"source"`
		Class     string    `json:"class"`
		Account   string    `json:"account"`
		OU        string    `json:"ou,omitempty"` // the account's OU path, when the organization's inventory knows it
		Region    string    `json:"region"`
		Service   string    `json:"service"`
		Operation string    `json:"operation"`
		Actor     string    `json:"actor"`
		SrcIP     string    `json:"src_ip"`
		DstIP     string    `json:"dst_ip"`
		Outcome   string    `json:"outcome"`
		Error     string    `json:"error"`
		Resources []string  `json:"resources"`
		EventUID  string    `json:"event_uid"`
		Summary   string    `json:"summary"`
	}
	timelinePage struct {
		Items []timelineItem `json:"items"`
		// NextCursor, when not empty, gets the next (older) page.
		NextCursor string    `json:"next_cursor"`
		Stats      lakeStats `json:"stats"`
	}
)

func statsOf(st hunt.Stats, since time.Time) lakeStats {
	return lakeStats{Partitions: st.PartitionsSelected, PartitionsAvailable: st.PartitionsAvailable, Files: st.FilesRead,
		BytesRead: st.BytesRead, RowGroups: st.RowGroups, RowGroupsRead: st.RowGroups - st.Skipped, Events: st.Events,
		Passed: st.Passed, PassedOver: st.PassedOver, Findings: st.Findings, Seconds: time.Since(since).Seconds()}
}

// parseWhen reads RFC 3339 or YYYY-MM-DD (UTC); "" is zero.
func parseWhen(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want RFC 3339 or YYYY-MM-DD", s)
	}
	return t, nil
}

// huntRange reads a range; until defaults to now, since to 30 days
// before until.
func huntRange(since, until string) (time.Time, time.Time, error) {
	s, err := parseWhen(since)
	if err != nil {
		return s, s, fmt.Errorf("since: %w", err)
	}
	u, err := parseWhen(until)
	if err != nil {
		return s, u, fmt.Errorf("until: %w", err)
	}
	if u.IsZero() {
		u = time.Now().UTC()
	}
	if s.IsZero() {
		s = u.Add(-defaultLookBack)
	}
	if !s.Before(u) {
		return s, u, fmt.Errorf("since %s is not before until %s", s.Format(time.RFC3339), u.Format(time.RFC3339))
	}
	return s, u, nil
}

// lakeReady answers when the server has no lake, or too many hunts run.
func (s *Server) lakeReady(w http.ResponseWriter) (release func(), ok bool) {
	if s.Lake == nil {
		apiError(w, http.StatusConflict, "no lake configured: hunts and timelines read the lake (the configuration's lake section, else DATA/lake)")
		return nil, false
	}
	select {
	case s.hunting <- struct{}{}:
		return func() { <-s.hunting }, true
	default:
		w.Header().Set("Retry-After", "5")
		apiError(w, http.StatusTooManyRequests, "%d hunts are running: retry later", cap(s.hunting))
		return nil, false
	}
}

func (s *Server) huntContext(r *http.Request) (context.Context, context.CancelFunc) {
	d := s.HuntTimeout
	if d <= 0 {
		d = HuntTimeout
	}
	return context.WithTimeout(r.Context(), d)
}

func huntWorkers() int { return max(1, runtime.GOMAXPROCS(0)/2) }

var errEnough = errors.New("limit reached")

// huntQuery builds a hunt from a request's body; a message for a 400
// when the body is wrong.
func (s *Server) huntQuery(body *huntBody) (hunt.Query, string) {
	var q hunt.Query
	var err error
	if q.Since, q.Until, err = huntRange(body.Since, body.Until); err != nil {
		return q, err.Error()
	}
	q.Filter = lake.Filter{Accounts: body.Accounts, Regions: body.Regions}
	if body.CEL != "" {
		if q.Where, err = hunt.Compile(body.CEL); err != nil {
			return q, err.Error()
		}
	}
	var rules []*sigma.Rule
	raw := strings.TrimSpace(string(body.Rules))
	pack := func() []*sigma.Rule {
		if s.Pipeline == nil || s.Pipeline.Rules == nil {
			return nil
		}
		return s.Pipeline.Rules.Rules().Rules()
	}
	switch {
	case raw == "" || raw == "null":
		if body.Sigma == "" && body.CEL == "" && !body.Intel {
			rules = pack()
		}
	case raw == `"builtin"`:
		rules = pack()
	case strings.HasPrefix(raw, "["):
		var ids []string
		if err := json.Unmarshal(body.Rules, &ids); err != nil {
			return q, "rules: want \"builtin\" or a list of rule ids: " + err.Error()
		}
		byID := map[string]*sigma.Rule{}
		for _, r := range pack() {
			byID[r.ID] = r
		}
		for _, id := range ids {
			r := byID[id]
			if r == nil {
				return q, fmt.Sprintf("rules: no loaded rule has id %q", id)
			}
			rules = append(rules, r)
		}
	default:
		return q, "rules: want \"builtin\" or a list of rule ids"
	}
	if body.Sigma != "" {
		parsed, errs := sigma.Parse([]byte(body.Sigma), "sigma", sigma.Options{})
		if len(errs) > 0 {
			return q, "sigma: " + errors.Join(errs...).Error()
		}
		if len(parsed) != 1 {
			return q, fmt.Sprintf("sigma: want one rule, got %d", len(parsed))
		}
		if parsed[0].Correlation != nil {
			return q, "sigma: correlation rules are not run over the lake (rows come partition by partition, not in time order)"
		}
		rules = append(rules, parsed...)
	}
	if len(rules) > 0 {
		q.Engine = detect.NewEngine(rules)
	}
	if body.Intel {
		if s.Pipeline != nil {
			q.Intel = s.Pipeline.CurrentIntel()
		}
		if q.Intel == nil {
			return q, "intel: no threat intelligence is loaded (intel.files, intel.taxii)"
		}
	}
	if body.Format == "findings" && q.Engine == nil && q.Intel == nil {
		return q, "format findings needs rules, sigma or intel (a CEL filter alone finds events: format events)"
	}
	q.Workers = huntWorkers()
	return q, ""
}

func (s *Server) hunt(w http.ResponseWriter, r *http.Request) {
	var body huntBody
	if !decodeBody(w, r, &body) {
		return
	}
	limit := huntLimit
	if body.Limit != 0 {
		if body.Limit < 0 || body.Limit > huntMaxLimit {
			apiError(w, http.StatusBadRequest, "limit %d: want 1 to %d", body.Limit, huntMaxLimit)
			return
		}
		limit = body.Limit
	}
	switch body.Format {
	case "", "findings", "events":
	default:
		apiError(w, http.StatusBadRequest, "format %q: want findings or events", body.Format)
		return
	}
	q, bad := s.huntQuery(&body)
	if bad != "" {
		apiError(w, http.StatusBadRequest, "%s", bad)
		return
	}
	release, ok := s.lakeReady(w)
	if !ok {
		return
	}
	defer release()
	ctx, cancel := s.huntContext(r)
	defer cancel()
	events := body.Format == "events" || q.Engine == nil && q.Intel == nil
	type result struct {
		at   time.Time
		body json.RawMessage
	}
	var out []result
	truncated := false
	start := time.Now()
	st, err := hunt.Run(ctx, s.Lake, q, func(ev *event.Event, found []detect.Finding) error {
		if events {
			if len(out) == limit {
				truncated = true
				return errEnough
			}
			out = append(out, result{ev.Time, ev.AppendJSON(nil, false)})
			return nil
		}
		for i := range found {
			if len(out) == limit {
				truncated = true
				return errEnough
			}
			out = append(out, result{found[i].Time, report.AppendFindingJSON(nil, &found[i])})
		}
		return nil
	})
	switch {
	case errors.Is(err, errEnough):
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		apiError(w, http.StatusGatewayTimeout, "the hunt took too long: narrow its range, accounts or regions")
		return
	case err != nil:
		apiError(w, http.StatusInternalServerError, "hunt: %v", err)
		return
	}
	slices.SortStableFunc(out, func(a, b result) int { return a.at.Compare(b.at) })
	res := huntResult{Stats: statsOf(st, start), Truncated: truncated}
	items := make([]json.RawMessage, len(out))
	for i := range out {
		items[i] = out[i].body
	}
	if events {
		res.Events = items
	} else {
		res.Findings = items
	}
	writeJSON(w, http.StatusOK, res)
}

// entity is what a timeline follows.
type entity struct {
	kind, value string
}

// match reports whether a row is the entity's doing (or, for an address
// or a resource, involves it). A principal is its ARN, its principal id,
// or the role whose session it is.
// equal is the scan predicate that prunes for e, where one column says
// (an access key: its Bloom filters and pages; the others match one of
// several columns, which the scan's AND of equalities cannot say).
func (e entity) equal() map[string]string {
	if e.kind == "access_key" {
		return map[string]string{"access_key_id": e.value}
	}
	return nil
}

func (e entity) match(r *lake.Row) bool {
	switch e.kind {
	case "principal":
		return r.ActorARN == e.value || r.PrincipalID == e.value || r.SessionIssuerARN == e.value
	case "access_key":
		return r.AccessKeyID == e.value
	case "ip":
		return r.SrcIP == e.value || r.DstIP == e.value
	case "resource":
		return slices.Contains(r.ResourceARNs, e.value)
	}
	return false
}

// cursor is where a timeline page ended: the last item's key, in the
// page's order (newest first).
type cursor struct {
	T int64  `json:"t"`
	S string `json:"s"`
	U string `json:"u"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.T == 0 && c.U == "" {
		return c, fmt.Errorf("cursor %q: not one a timeline page gave", s)
	}
	return c, nil
}

// newer orders rows newest first (then by source and event id, so that
// a page boundary between rows of one millisecond is exact).
func newer(a, b *lake.Row) int {
	if a.Time != b.Time {
		return -cmpInt(a.Time, b.Time)
	}
	if a.Source != b.Source {
		return -strings.Compare(a.Source, b.Source)
	}
	return -strings.Compare(a.EventUID, b.EventUID)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// timeline lists what an entity did, newest first, a page at a time.
func (s *Server) timeline(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	var ent entity
	for _, k := range []string{"principal", "access_key", "ip", "resource"} {
		v := strings.TrimSpace(qv.Get(k))
		if v == "" {
			continue
		}
		if ent.kind != "" {
			apiError(w, http.StatusBadRequest, "name one entity: %s and %s given", ent.kind, k)
			return
		}
		ent = entity{k, v}
	}
	if ent.kind == "" {
		apiError(w, http.StatusBadRequest, "name an entity: principal, access_key, ip or resource")
		return
	}
	if ent.kind == "ip" {
		a, err := netip.ParseAddr(ent.value)
		if err != nil {
			apiError(w, http.StatusBadRequest, "ip %q: not an address", ent.value)
			return
		}
		ent.value = a.Unmap().String()
	}
	since, until, err := huntRange(qv.Get("since"), qv.Get("until"))
	if err != nil {
		apiError(w, http.StatusBadRequest, "%v", err)
		return
	}
	limit := timelineLimit
	if v := qv.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > timelineMax {
			apiError(w, http.StatusBadRequest, "limit %q: want 1 to %d", v, timelineMax)
			return
		}
		limit = n
	}
	sc, ok := s.scopeOf(w, r)
	if !ok {
		return
	}
	var after *lake.Row // the previous page's last row
	if v := qv.Get("cursor"); v != "" {
		c, err := decodeCursor(v)
		if err != nil {
			apiError(w, http.StatusBadRequest, "%v", err)
			return
		}
		after = &lake.Row{Time: c.T, Source: c.S, EventUID: c.U}
		// Nothing newer than the cursor is read.
		if u := time.UnixMilli(c.T + 1); u.Before(until) {
			until = u
		}
	}
	release, ok := s.lakeReady(w)
	if !ok {
		return
	}
	defer release()
	if sc.none() {
		writeJSON(w, http.StatusOK, timelinePage{Items: []timelineItem{}})
		return
	}
	ctx, cancel := s.huntContext(r)
	defer cancel()
	// The page's rows, bounded: kept sorted and cut to limit+1 whenever
	// they grow past a few pages.
	var rows []lake.Row
	trim := func() {
		slices.SortFunc(rows, func(a, b lake.Row) int { return newer(&a, &b) })
		if len(rows) > limit+1 {
			rows = slices.Delete(rows, limit+1, len(rows))
		}
	}
	start := time.Now()
	var st hunt.Stats
	var mu sync.Mutex
	match := func(batch []lake.Row) error {
		var keep []lake.Row
		for i := range batch {
			if ent.match(&batch[i]) && sc.has(batch[i].Account) && (after == nil || newer(after, &batch[i]) < 0) {
				keep = append(keep, cloneRow(&batch[i]))
			}
		}
		mu.Lock()
		defer mu.Unlock()
		st.Events += int64(len(batch))
		st.Passed += int64(len(keep))
		rows = append(rows, keep...)
		if len(rows) > 4*(limit+1) {
			trim()
		}
		return nil
	}
	// Newest days first, in batches of 1, 2, 4… days, until a page is
	// full: every row of a day is newer than every row of the days before
	// it, so the rows of the days read hold the page.
	days, parts, err := lakeDays(ctx, s.Lake, since, until, sc.list())
	for i, n := 0, 1; err == nil && i < len(days) && len(rows) <= limit; i, n = i+n, n*2 {
		batch := days[i:min(i+n, len(days))]
		var scan lake.ScanStats
		scan, err = s.Lake.ScanParallel(ctx, lake.Filter{From: batch[len(batch)-1], To: batch[0], Accounts: sc.list(), Equal: ent.equal()}, since, until, huntWorkers(), match)
		st.FilesRead += scan.FilesRead
		st.BytesRead += scan.BytesRead
		st.RowGroups += scan.RowGroups
		st.Skipped += scan.Skipped
		st.PartitionsSelected += scan.PartitionsSelected
	}
	st.PartitionsAvailable = parts
	switch {
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		apiError(w, http.StatusGatewayTimeout, "the timeline took too long: narrow its range")
		return
	case err != nil:
		apiError(w, http.StatusInternalServerError, "timeline: %v", err)
		return
	}
	trim()
	page := timelinePage{Items: []timelineItem{}}
	if len(rows) > limit {
		last := rows[limit-1]
		page.NextCursor = cursor{T: last.Time, S: last.Source, U: last.EventUID}.encode()
		rows = rows[:limit]
	}
	ous := s.ouIndex()
	for i := range rows {
		it := timelineItemOf(&rows[i])
		it.OU = ous[it.Account]
		page.Items = append(page.Items, it)
	}
	page.Stats = statsOf(st, start)
	writeJSON(w, http.StatusOK, page)
}

// lakeDays lists the days of the lake's partitions in [since, until)
// (of accounts only, when given), newest first, and how many partitions
// the lake has.
func lakeDays(ctx context.Context, l *lake.Lake, since, until time.Time, accounts []string) ([]string, int, error) {
	files, err := l.Files(ctx, lake.Filter{})
	if err != nil {
		return nil, 0, err
	}
	from, to := since.UTC().Format("20060102"), until.Add(-time.Millisecond).UTC().Format("20060102")
	parts := map[lake.Partition]bool{}
	var days []string
	for _, f := range files {
		parts[f.Partition] = true
		if d := f.Partition.Day; d >= from && d <= to && (len(accounts) == 0 || slices.Contains(accounts, f.Partition.Account)) {
			days = append(days, d)
		}
	}
	slices.Sort(days)
	days = slices.Compact(days)
	slices.Reverse(days)
	return days, len(parts), nil
}

func timelineItemOf(r *lake.Row) timelineItem {
	it := timelineItem{Time: time.UnixMilli(r.Time).UTC(), Source: r.Source, Class: r.ClassName, Account: r.Account, Region: r.Region,
		Service: r.APIService, Operation: r.APIOperation, Actor: r.ActorARN, SrcIP: r.SrcIP, DstIP: r.DstIP,
		Outcome: event.Outcome(r.StatusID).String(), Error: r.ErrorCode, Resources: r.ResourceARNs, EventUID: r.EventUID}
	if it.Actor == "" {
		it.Actor = r.PrincipalID
	}
	if it.Resources == nil {
		it.Resources = []string{}
	}
	if ev, err := r.Event(); err == nil {
		it.Summary = detect.Say(&ev)
		if it.Class == "" {
			it.Class = ev.Class.Name()
		}
	}
	return it
}

// cloneRow copies what a timeline keeps of a row past the scan's call.
func cloneRow(r *lake.Row) lake.Row {
	c := *r
	for _, p := range []*string{&c.ClassName, &c.EventUID, &c.Source, &c.Account, &c.Region, &c.ActorARN, &c.ActorType, &c.PrincipalID,
		&c.AccessKeyID, &c.SessionName, &c.SessionIssuerARN, &c.SrcIP, &c.DstIP, &c.APIService, &c.APIOperation, &c.ErrorCode} {
		*p = strings.Clone(*p)
	}
	c.ResourceARNs = nil
	for _, a := range r.ResourceARNs {
		c.ResourceARNs = append(c.ResourceARNs, strings.Clone(a))
	}
	c.Raw = slices.Clone(r.Raw)
	c.OCSF = nil
	return c
}
