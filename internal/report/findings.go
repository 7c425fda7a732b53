package report

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ocsf"
)

// FindingFormats lists the formats FindingEncoder knows.
var FindingFormats = []string{"jsonl", "ocsf", "table"}

// FindingEncoder appends findings in one output format.
type FindingEncoder struct {
	format string
	// Records adds each finding's native record ("record") to JSON lines:
	// what parapet respond templates playbook parameters from.
	Records bool
}

// NewFindingEncoder returns the encoder for format.
func NewFindingEncoder(format string) (*FindingEncoder, error) {
	for _, f := range FindingFormats {
		if f == format {
			return &FindingEncoder{format: format}, nil
		}
	}
	return nil, fmt.Errorf("unknown format %q (want %s)", format, strings.Join(FindingFormats, ", "))
}

// findingJSON is the JSON lines form of a finding (documented in the
// README).
type findingJSON struct {
	ID          string           `json:"id"`
	Time        string           `json:"time"`
	RuleID      string           `json:"rule_id"`
	Title       string           `json:"title"`
	Level       string           `json:"level"`
	Source      string           `json:"source"`
	Summary     string           `json:"summary,omitempty"`
	Attack      *attackJSON      `json:"attack,omitempty"`
	EventIDs    []string         `json:"event_ids"`
	Cloud       map[string]any   `json:"cloud,omitempty"`
	Actor       map[string]any   `json:"actor,omitempty"`
	SrcIP       string           `json:"src_ip,omitempty"`
	Resources   []map[string]any `json:"resources,omitempty"`
	Explanation []evidenceJSON   `json:"explanation"`
	Score       float64          `json:"score,omitempty"`
	Triage      []string         `json:"triage,omitempty"`
	Count       int              `json:"count,omitempty"`
	FirstSeen   string           `json:"first_seen,omitempty"`
	LastSeen    string           `json:"last_seen,omitempty"`
	Truncated   bool             `json:"event_ids_truncated,omitempty"`
	Retro       bool             `json:"retro,omitempty"`
}

const timeFormat = "2006-01-02T15:04:05.999Z07:00"

type attackJSON struct {
	Techniques []string `json:"techniques,omitempty"`
	Tactics    []string `json:"tactics,omitempty"`
}

type evidenceJSON struct {
	Selection string   `json:"selection"`
	Field     string   `json:"field,omitempty"`
	Value     string   `json:"value"`
	Pattern   []string `json:"pattern,omitempty"`
	Detail    string   `json:"detail,omitempty"`
	Score     float64  `json:"score,omitempty"`
}

func nonEmpty(kv ...string) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			m[kv[i]] = kv[i+1]
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// FindingJSON returns the JSON lines object of f.
func FindingJSON(f *detect.Finding) any {
	j := findingJSON{
		ID: f.ID, Time: f.Time.UTC().Format("2006-01-02T15:04:05.999Z07:00"), RuleID: f.RuleID, Title: f.Title,
		Level: f.Level, Source: f.Source, Summary: f.Summary, EventIDs: f.EventIDs, SrcIP: f.SrcIP,
		Cloud: nonEmpty("provider", f.Cloud.Provider, "account", f.Cloud.Account, "region", f.Cloud.Region),
		Actor: nonEmpty("type", f.Actor.Type, "arn", f.Actor.ARN, "user_name", f.Actor.UserName,
			"access_key_id", f.Actor.AccessKeyID, "session_name", f.Actor.SessionName, "principal_id", f.Actor.PrincipalID),
		Explanation: []evidenceJSON{}, Score: round2(f.Score), Triage: f.Triage,
	}
	if len(f.Attack.Techniques)+len(f.Attack.Tactics) > 0 {
		j.Attack = &attackJSON{Techniques: f.Attack.Techniques, Tactics: f.Attack.Tactics}
	}
	for _, r := range f.Resources {
		j.Resources = append(j.Resources, nonEmpty("type", r.Type, "uid", r.UID, "name", r.Name))
	}
	j.Retro = f.Retro
	if f.Count > 0 {
		j.Count, j.Truncated = f.Count, f.Truncated()
		j.FirstSeen, j.LastSeen = f.FirstSeen.UTC().Format(timeFormat), f.LastSeen.UTC().Format(timeFormat)
	}
	for _, e := range f.Explanation {
		j.Explanation = append(j.Explanation, evidenceJSON{Selection: e.Selection, Field: e.Field, Value: e.Value, Pattern: e.Pattern, Detail: e.Detail, Score: round2(e.Score)})
	}
	return j
}

// Header is written once before the first finding.
func (c *FindingEncoder) Header() []byte {
	if c.format != "table" {
		return nil
	}
	return []byte(fmt.Sprintf("%-20s %-9s %6s %-48s %s\n", "TIME", "LEVEL", "COUNT", "TITLE", "WHAT"))
}

// Append appends one finding, newline-terminated.
func (c *FindingEncoder) Append(dst []byte, f *detect.Finding) ([]byte, error) {
	switch c.format {
	case "table":
		title := f.Title
		if r := []rune(title); len(r) > 48 {
			title = string(r[:47]) + "…"
		}
		return fmt.Appendf(dst, "%-20s %-9s %6d %-48s %s\n", f.Time.UTC().Format("2006-01-02T15:04:05Z"), f.Level, max(f.Count, 1), title, f.Summary), nil
	case "ocsf":
		b, err := json.Marshal(ocsf.FromFinding(f))
		if err != nil {
			return dst, err
		}
		return append(append(dst, b...), '\n'), nil
	}
	dst = AppendFindingJSON(dst, f)
	if c.Records && len(f.Record) > 0 {
		dst = append(dst[:len(dst)-1], `,"record":`...)
		dst = append(dst, f.Record...)
		dst = append(dst, '}')
	}
	return append(dst, '\n'), nil
}

// AppendFindingJSON appends the JSON lines form of f (the same document
// as FindingJSON, written directly: findings can be as many as events).
func AppendFindingJSON(b []byte, f *detect.Finding) []byte {
	str := func(k, v string, first bool) {
		if !first {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
		b = event.AppendString(b, v)
	}
	opt := func(k, v string) {
		if v != "" {
			str(k, v, false)
		}
	}
	strs := func(k string, vs []string) {
		b = append(b, ',', '"')
		b = append(b, k...)
		b = append(b, '"', ':', '[')
		for i, v := range vs {
			if i > 0 {
				b = append(b, ',')
			}
			b = event.AppendString(b, v)
		}
		b = append(b, ']')
	}
	obj := func(k string, kv ...string) {
		n := 0
		for i := 1; i < len(kv); i += 2 {
			if kv[i] != "" {
				n++
			}
		}
		if n == 0 {
			return
		}
		b = append(b, ',', '"')
		b = append(b, k...)
		b = append(b, '"', ':', '{')
		first := true
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				str(kv[i], kv[i+1], first)
				first = false
			}
		}
		b = append(b, '}')
	}
	b = append(b, '{')
	str("id", f.ID, true)
	b = append(b, `,"time":"`...)
	b = append(f.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05.999Z07:00"), '"') // no character to escape
	str("rule_id", f.RuleID, false)
	str("title", f.Title, false)
	str("level", f.Level, false)
	str("source", f.Source, false)
	opt("summary", f.Summary)
	if len(f.Attack.Techniques)+len(f.Attack.Tactics) > 0 {
		b = append(b, `,"attack":{`...)
		mark := len(b)
		if len(f.Attack.Techniques) > 0 {
			strs("techniques", f.Attack.Techniques)
		}
		if len(f.Attack.Tactics) > 0 {
			strs("tactics", f.Attack.Tactics)
		}
		if len(b) > mark && b[mark] == ',' {
			b = append(b[:mark], b[mark+1:]...)
		}
		b = append(b, '}')
	}
	strs("event_ids", f.EventIDs)
	obj("cloud", "provider", f.Cloud.Provider, "account", f.Cloud.Account, "region", f.Cloud.Region)
	a := &f.Actor
	obj("actor", "type", a.Type, "arn", a.ARN, "user_name", a.UserName, "access_key_id", a.AccessKeyID, "session_name", a.SessionName, "principal_id", a.PrincipalID)
	opt("src_ip", f.SrcIP)
	if len(f.Resources) > 0 {
		b = append(b, `,"resources":[`...)
		for i, r := range f.Resources {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			first := true
			for _, kv := range [][2]string{{"type", r.Type}, {"uid", r.UID}, {"name", r.Name}} {
				if kv[1] != "" {
					str(kv[0], kv[1], first)
					first = false
				}
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"explanation":[`...)
	for i, e := range f.Explanation {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		str("selection", e.Selection, true)
		opt("field", e.Field)
		str("value", e.Value, false)
		if len(e.Pattern) > 0 {
			strs("pattern", e.Pattern)
		}
		opt("detail", e.Detail)
		if e.Score != 0 {
			b = append(b, `,"score":`...)
			b = strconv.AppendFloat(b, round2(e.Score), 'f', -1, 64)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if f.Score != 0 {
		b = append(b, `,"score":`...)
		b = strconv.AppendFloat(b, round2(f.Score), 'f', -1, 64)
	}
	if len(f.Triage) > 0 {
		strs("triage", f.Triage)
	}
	if f.Count > 0 {
		// An episode (detect.Aggregator): how many events, over what span.
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(f.Count), 10)
		b = append(b, `,"first_seen":"`...)
		b = append(f.FirstSeen.UTC().AppendFormat(b, timeFormat), '"')
		b = append(b, `,"last_seen":"`...)
		b = append(f.LastSeen.UTC().AppendFormat(b, timeFormat), '"')
		if f.Truncated() {
			b = append(b, `,"event_ids_truncated":true`...)
		}
	}
	if f.Retro {
		// Found by running a new or changed rule, or new indicators, over
		// the lake's history (not as the events arrived).
		b = append(b, `,"retro":true`...)
	}
	return append(b, '}')
}

// round2 keeps two decimals: scores are estimates, not measurements.
func round2(x float64) float64 { return math.Round(x*100) / 100 }

// ParseFindingJSON reads back what AppendFindingJSON wrote (a stored
// finding), so that AppendFindingJSON of the result writes it again.
func ParseFindingJSON(body []byte) (detect.Finding, error) {
	var j struct {
		ID      string    `json:"id"`
		Time    time.Time `json:"time"`
		RuleID  string    `json:"rule_id"`
		Title   string    `json:"title"`
		Level   string    `json:"level"`
		Source  string    `json:"source"`
		Summary string    `json:"summary"`
		Attack  struct {
			Techniques []string `json:"techniques"`
			Tactics    []string `json:"tactics"`
		} `json:"attack"`
		EventIDs []string `json:"event_ids"`
		Cloud    struct {
			Provider string `json:"provider"`
			Account  string `json:"account"`
			Region   string `json:"region"`
		} `json:"cloud"`
		Actor struct {
			Type        string `json:"type"`
			ARN         string `json:"arn"`
			UserName    string `json:"user_name"`
			AccessKeyID string `json:"access_key_id"`
			SessionName string `json:"session_name"`
			PrincipalID string `json:"principal_id"`
		} `json:"actor"`
		SrcIP     string `json:"src_ip"`
		Resources []struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
			Name string `json:"name"`
		} `json:"resources"`
		Explanation []struct {
			Selection string   `json:"selection"`
			Field     string   `json:"field"`
			Value     string   `json:"value"`
			Pattern   []string `json:"pattern"`
			Detail    string   `json:"detail"`
			Score     float64  `json:"score"`
		} `json:"explanation"`
		Score     float64   `json:"score"`
		Triage    []string  `json:"triage"`
		Count     int       `json:"count"`
		FirstSeen time.Time `json:"first_seen"`
		LastSeen  time.Time `json:"last_seen"`
		Retro     bool      `json:"retro"`
	}
	if err := json.Unmarshal(body, &j); err != nil {
		return detect.Finding{}, fmt.Errorf("stored finding: %w", err)
	}
	f := detect.Finding{ID: j.ID, Time: j.Time, RuleID: j.RuleID, Title: j.Title, Level: j.Level, Source: j.Source, Summary: j.Summary,
		Attack:   detect.Attack{Techniques: j.Attack.Techniques, Tactics: j.Attack.Tactics},
		EventIDs: j.EventIDs, Cloud: event.Cloud{Provider: j.Cloud.Provider, Account: j.Cloud.Account, Region: j.Cloud.Region},
		Actor: event.Actor{Type: j.Actor.Type, ARN: j.Actor.ARN, UserName: j.Actor.UserName, AccessKeyID: j.Actor.AccessKeyID,
			SessionName: j.Actor.SessionName, PrincipalID: j.Actor.PrincipalID},
		SrcIP: j.SrcIP, Score: j.Score, Triage: j.Triage, Count: j.Count, FirstSeen: j.FirstSeen, LastSeen: j.LastSeen, Retro: j.Retro}
	for _, r := range j.Resources {
		f.Resources = append(f.Resources, event.Resource{Type: r.Type, UID: r.UID, Name: r.Name})
	}
	for _, e := range j.Explanation {
		f.Explanation = append(f.Explanation, detect.Evidence{Selection: e.Selection, Field: e.Field, Value: e.Value, Pattern: e.Pattern, Detail: e.Detail, Score: e.Score})
	}
	return f, nil
}
