package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parapet-sec/parapet/internal/config"
	"github.com/parapet-sec/parapet/internal/posture/changes"
	"github.com/parapet-sec/parapet/internal/posture/check"
	"github.com/parapet-sec/parapet/internal/posture/framework"
	"github.com/parapet-sec/parapet/internal/store"
)

// postureScanner runs the configured posture scans (the same commands as
// parapet scan, in process) on a schedule or on demand, and stores each
// report for the API and UI.
type postureScanner struct {
	cfg     config.Posture
	org     config.Organization // with a role: the live scan covers the organization
	db      *store.DB
	dbPath  string // the live scans keep their snapshots there (what restores come from)
	log     *slog.Logger
	publish func(kind string, v any)
	mu      sync.Mutex // one scan at a time
	now     chan struct{}
	// changes (the pipeline's) links failing live and Config resources to
	// the calls that last changed them; nil: not linked.
	changes *changes.Index
}

// linkChanges adds to each failing result of a live or Config scan the
// calls that last changed its resource; it reports whether any was added.
func linkChanges(rep *scanReport, ix *changes.Index) bool {
	added := false
	for i := range rep.Results {
		r := &rep.Results[i]
		if r.Status != check.Fail || r.Resource.ARN == "" && r.Resource.Name == "" {
			continue
		}
		account := ""
		if parts := strings.SplitN(r.Resource.ARN, ":", 6); len(parts) == 6 {
			account = parts[4]
		}
		if r.Changes = ix.Lookup(r.Resource.ARN, account, r.Resource.Name); len(r.Changes) > 0 {
			added = true
		}
	}
	return added
}

func (p *postureScanner) targets() [][]string {
	var out [][]string
	for _, path := range p.cfg.IaC {
		out = append(out, []string{"scan", "iac", path})
	}
	if len(p.cfg.Config) > 0 {
		out = append(out, append([]string{"scan", "config"}, p.cfg.Config...))
	}
	if p.cfg.AWS.Enabled {
		args := []string{"scan", "aws"}
		if len(p.cfg.AWS.Regions) > 0 {
			args = append(args, "--regions", strings.Join(p.cfg.AWS.Regions, ","))
		}
		for _, r := range p.cfg.AWS.AssumeRoles {
			args = append(args, "--assume-role", r)
		}
		if p.org.Enabled() {
			// Each scan lists the accounts again: new ones are picked up.
			b, _ := json.Marshal(p.org)
			args = append(args, "--org", "--org-config", string(b), "--concurrency", strconv.Itoa(p.org.Concurrency))
		}
		if p.dbPath != "" {
			args = append(args, "--db", p.dbPath)
		}
		out = append(out, args)
	}
	if len(p.cfg.CheckScopes) > 0 {
		b, _ := json.Marshal(p.cfg.CheckScopes)
		for i := range out {
			out[i] = append(out[i], "--check-scopes", string(b))
		}
	}
	return out
}

func (p *postureScanner) run(ctx context.Context) {
	if len(p.targets()) == 0 {
		return
	}
	t := time.NewTicker(p.cfg.Interval.D())
	defer t.Stop()
	for {
		p.scanAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.now:
		}
	}
}

// Trigger asks for a scan now (without waiting for it).
func (p *postureScanner) Trigger() bool {
	select {
	case p.now <- struct{}{}:
		return true
	default:
		return false
	}
}

func (p *postureScanner) scanAll(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, args := range p.targets() {
		if ctx.Err() != nil {
			return
		}
		var out, errb strings.Builder
		root := New(IO{In: strings.NewReader(""), Out: &out, Err: &errb})
		root.SetArgs(append(args, "--format", "json"))
		_ = root.ExecuteContext(ctx)
		target := postureTarget(args)
		var rep scanReport
		if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
			p.log.Error("posture scan failed", "target", target, "err", strings.TrimSpace(errb.String()))
			continue
		}
		body := out.String()
		rewrite := false
		if p.changes != nil && args[1] != "iac" {
			rewrite = linkChanges(&rep, p.changes)
		}
		// Against the target's previous scan: new, fixed, still failing.
		prev, err := previousRun(ctx, p.db, target)
		if err != nil {
			p.log.Error("posture: previous scan", "target", target, "err", err)
		} else if prev != nil {
			rep.Lifecycle = compareFailures("previous scan", failureEntries(prev.Results), rep.Results, rep.Suppressed)
			rewrite = true
		}
		if rewrite {
			if b, err := json.Marshal(rep); err == nil {
				body = string(b)
			}
		}
		if _, err := p.db.ExecContext(ctx, `INSERT INTO posture_runs (at, target, body) VALUES (?, ?, ?)`,
			time.Now().UTC().Format(time.RFC3339Nano), target, body); err != nil {
			p.log.Error("posture: store", "err", err)
			continue
		}
		args := []any{"target", target, "passed", rep.Passed, "failed", rep.Failed}
		if lc := rep.Lifecycle; lc != nil {
			args = append(args, "new", lc.New, "fixed", lc.Fixed, "still_failing", lc.StillFailing)
		}
		p.log.Info("posture scanned", args...)
		if p.publish != nil {
			p.publish("posture", map[string]any{"target": target, "failed": rep.Failed})
		}
	}
}

// previousRun is the target's latest stored scan, nil when there is none
// or when it predates fingerprints (nothing to compare with).
func previousRun(ctx context.Context, db *store.DB, target string) (*scanReport, error) {
	var body string
	err := db.QueryRowContext(ctx, `SELECT body FROM posture_runs WHERE target = ? ORDER BY id DESC LIMIT 1`, target).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rep scanReport
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		return nil, nil
	}
	if rep.Failed > 0 && len(failureEntries(rep.Results)) == 0 {
		return nil, nil
	}
	return &rep, nil
}

// passingCheck is one check that passes on a target, and on how many
// resources.
type passingCheck struct {
	CheckID   string `json:"check_id"`
	Title     string `json:"title"`
	Severity  string `json:"severity"`
	Resources int    `json:"resources"`
}

// postureSummary: the latest report per target, and each framework's
// score over the recent runs (the trend).
//
// accounts, when not nil, keeps only the results whose resource is in one
// of those accounts (by its account, else its ARN's): the failures and
// passing checks listed and the passed and failed counts; framework
// scores and the trend stay the whole target's.
func postureSummary(ctx context.Context, db *store.DB, accounts []string) (map[string]any, error) {
	var want map[string]bool
	if accounts != nil {
		want = make(map[string]bool, len(accounts))
		for _, a := range accounts {
			want[a] = true
		}
	}
	rows, err := db.QueryContext(ctx, `SELECT id, at, target, body FROM posture_runs ORDER BY id DESC LIMIT 200`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	latest := map[string]any{}
	var order []string
	trend := []any{}
	for rows.Next() {
		var id int64
		var at, target, body string
		if err := rows.Scan(&id, &at, &target, &body); err != nil {
			return nil, err
		}
		var rep scanReport
		if err := json.Unmarshal([]byte(body), &rep); err != nil {
			continue
		}
		scores := map[string]float64{}
		for _, f := range rep.Frameworks {
			scores[f.ID] = f.Percent
		}
		point := map[string]any{"at": at, "target": target, "scores": scores, "failed": rep.Failed, "passed": rep.Passed}
		if lc := rep.Lifecycle; lc != nil {
			point["new"], point["fixed"], point["still_failing"] = lc.New, lc.Fixed, lc.StillFailing
		}
		trend = append(trend, point)
		if _, ok := latest[target]; !ok {
			// The page lists failures first, the worst first, with their
			// fixes; then the checks that pass, one row per check.
			failed := []scanResult{}
			passing := []passingCheck{}
			index := map[string]int{}
			passed, failedN := rep.Passed, rep.Failed
			if want != nil {
				passed, failedN = 0, 0
			}
			for _, r := range rep.Results {
				if want != nil {
					if !want[resultAccount(r)] {
						continue
					}
					switch r.Status {
					case "pass":
						passed++
					case "fail":
						failedN++
					}
				}
				switch r.Status {
				case "fail":
					failed = append(failed, r)
				case "pass":
					i, ok := index[r.CheckID]
					if !ok {
						i = len(passing)
						index[r.CheckID] = i
						passing = append(passing, passingCheck{CheckID: r.CheckID, Title: r.Title, Severity: r.Severity})
					}
					passing[i].Resources++
				}
			}
			sort.SliceStable(failed, func(i, j int) bool {
				return check.SeverityRank(failed[i].Severity) > check.SeverityRank(failed[j].Severity)
			})
			sort.Slice(passing, func(i, j int) bool {
				if a, b := check.SeverityRank(passing[i].Severity), check.SeverityRank(passing[j].Severity); a != b {
					return a > b
				}
				return passing[i].CheckID < passing[j].CheckID
			})
			frameworks := rep.Frameworks
			if frameworks == nil {
				frameworks = []framework.Score{}
			}
			latest[target] = map[string]any{"at": at, "run": id, "passed": passed, "failed": failedN, "unknown": rep.Unknown,
				"resources": rep.Resources, "frameworks": frameworks, "failures": failed, "passing": passing, "suppressed": len(rep.Suppressed),
				"lifecycle": rep.Lifecycle} // null on a target's first scan
			order = append(order, target)
		}
	}
	// Oldest first, for charts.
	for i, j := 0, len(trend)-1; i < j; i, j = i+1, j-1 {
		trend[i], trend[j] = trend[j], trend[i]
	}
	targets := make([]any, 0, len(order))
	for _, t := range order {
		m := latest[t].(map[string]any)
		m["target"] = t
		targets = append(targets, m)
	}
	out := map[string]any{"targets": targets, "trend": trend}
	if want != nil {
		out["accounts"] = accounts
	}
	return out, rows.Err()
}

// resultAccount is the account of a result's resource: its own, else its
// ARN's ("" for one in no account, an IaC resource).
func resultAccount(r scanResult) string {
	if r.Resource.Account != "" {
		return r.Resource.Account
	}
	if parts := strings.SplitN(r.Resource.ARN, ":", 6); len(parts) == 6 {
		return parts[4]
	}
	return ""
}
