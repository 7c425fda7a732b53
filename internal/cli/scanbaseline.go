package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/parapet-sec/parapet/internal/posture/check"
)

// baselineFile is what --write-baseline writes and --baseline reads: the
// failures of a scan, by fingerprint, with enough beside each to list it
// as fixed later.
type baselineFile struct {
	Tool     string          `json:"tool"`
	Version  string          `json:"version"`
	Scanned  string          `json:"scanned"`
	Written  string          `json:"written"`
	Failures []baselineEntry `json:"failures"`
}

type baselineEntry struct {
	Fingerprint string       `json:"fingerprint"`
	CheckID     string       `json:"check_id"`
	Title       string       `json:"title,omitempty"`
	Severity    string       `json:"severity,omitempty"`
	Resource    scanResource `json:"resource"`
	Attribute   string       `json:"attribute,omitempty"`
	Location    scanLocation `json:"location"`
}

// lifecycle compares a scan's failures with earlier ones: new (not
// failing before), still failing, and fixed (failing before, not now).
type lifecycle struct {
	Against      string          `json:"against"` // the baseline file, or "previous scan"
	New          int             `json:"new"`
	StillFailing int             `json:"still_failing"`
	Fixed        int             `json:"fixed"`
	FixedResults []baselineEntry `json:"fixed_results"`
	before       map[string]bool // the fingerprints compared with
}

// state is a fingerprint's SARIF baselineState: new or unchanged.
func (lc *lifecycle) state(fingerprint string) string {
	if lc.before[fingerprint] {
		return baselineUnchanged
	}
	return baselineNew
}

// Baseline states of a failure.
const (
	baselineNew       = "new"
	baselineUnchanged = "unchanged"
)

// failureEntries are a report's failures as baseline entries.
func failureEntries(results []scanResult) []baselineEntry {
	out := []baselineEntry{}
	seen := map[string]bool{}
	for _, r := range results {
		if r.Status != check.Fail || r.Fingerprint == "" || seen[r.Fingerprint] {
			continue
		}
		seen[r.Fingerprint] = true
		out = append(out, baselineEntry{Fingerprint: r.Fingerprint, CheckID: r.CheckID, Title: r.Title, Severity: r.Severity,
			Resource: r.Resource, Attribute: r.Attribute, Location: r.Location})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Fingerprint < out[j].Fingerprint })
	return out
}

// compareFailures marks each failure in results new or unchanged against
// before, and lists what before holds that no longer fails. A failure now
// suppressed is neither new nor fixed.
func compareFailures(against string, before []baselineEntry, results, suppressed []scanResult) *lifecycle {
	was := map[string]bool{}
	lc := &lifecycle{Against: against, FixedResults: []baselineEntry{}, before: was}
	for _, b := range before {
		was[b.Fingerprint] = true
	}
	now := map[string]bool{}
	for i := range results {
		r := &results[i]
		if r.Status != check.Fail {
			continue
		}
		if was[r.Fingerprint] {
			r.Baseline = baselineUnchanged
		} else {
			r.Baseline = baselineNew
		}
		if !now[r.Fingerprint] {
			if was[r.Fingerprint] {
				lc.StillFailing++
			} else {
				lc.New++
			}
		}
		now[r.Fingerprint] = true
	}
	for _, s := range suppressed {
		now[s.Fingerprint] = true
	}
	for _, b := range before {
		if !now[b.Fingerprint] {
			lc.FixedResults = append(lc.FixedResults, b)
			now[b.Fingerprint] = true // once
		}
	}
	lc.Fixed = len(lc.FixedResults)
	return lc
}

func readBaseline(path string) ([]baselineEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var b baselineFile
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("baseline %s: %w", path, err)
	}
	if b.Tool != "parapet" {
		return nil, fmt.Errorf("baseline %s: not a Parapet baseline (write one with --write-baseline)", path)
	}
	return b.Failures, nil
}

func writeBaseline(path string, rep scanReport, at time.Time) error {
	b := baselineFile{Tool: "parapet", Version: version, Scanned: rep.Scanned, Written: at.UTC().Format(time.RFC3339), Failures: failureEntries(rep.Results)}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
