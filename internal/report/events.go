// Package report holds the output encoders: JSON lines, OCSF and tables
// for events (findings, SARIF and HTML come with the stages that make them).
package report

import (
	"fmt"
	"strings"

	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ocsf"
)

// EventFormats lists the formats EventEncoder knows.
var EventFormats = []string{"jsonl", "ocsf", "table"}

// EventEncoder appends events in one output format. Append is safe for
// concurrent use, so workers can encode batches in parallel.
type EventEncoder struct {
	format string
	raw    bool
}

// NewEventEncoder returns the encoder for format; withRaw adds the native
// record (jsonl: "raw", ocsf: raw_data).
func NewEventEncoder(format string, withRaw bool) (*EventEncoder, error) {
	for _, f := range EventFormats {
		if f == format {
			return &EventEncoder{format: format, raw: withRaw}, nil
		}
	}
	return nil, fmt.Errorf("unknown format %q (want %s)", format, strings.Join(EventFormats, ", "))
}

// Header is written once before the first event.
func (c *EventEncoder) Header() []byte {
	if c.format != "table" {
		return nil
	}
	return tableRow(nil, "TIME", "SOURCE", "CLASS", "ACCOUNT", "REGION", "ACTOR", "ACTION", "SOURCE ADDRESS", "OUTCOME")
}

// Append appends one event, newline-terminated.
func (c *EventEncoder) Append(dst []byte, e *event.Event) ([]byte, error) {
	switch c.format {
	case "jsonl":
		dst = e.AppendJSON(dst, c.raw)
	case "ocsf":
		var err error
		if dst, err = ocsf.AppendJSON(dst, e, c.raw); err != nil {
			return dst, fmt.Errorf("encode event %s as ocsf: %w", e.ID, err)
		}
	case "table":
		return appendTable(dst, e), nil
	}
	return append(dst, '\n'), nil
}

var widths = []int{20, 14, 17, 12, 14, 28, 34, 22, 7}

func tableRow(dst []byte, cols ...string) []byte {
	for i, s := range cols {
		w := widths[i]
		if i == len(cols)-1 {
			dst = append(dst, s...)
			break
		}
		if r := []rune(s); len(r) > w {
			s = string(r[:w-1]) + "…"
		}
		dst = append(dst, s...)
		for n := len([]rune(s)); n < w+1; n++ {
			dst = append(dst, ' ')
		}
	}
	return append(dst, '\n')
}

func appendTable(dst []byte, e *event.Event) []byte {
	actor := e.Actor.UserName
	if actor == "" {
		actor = e.Actor.ARN
	}
	if actor == "" {
		actor = e.Actor.PrincipalID
	}
	if e.Actor.SessionName != "" {
		actor += "/" + e.Actor.SessionName
	}
	action := e.API.Operation
	src := e.Src.IP.String()
	if !e.Src.IP.IsValid() {
		src = e.Src.Domain
	}
	outcome := e.Outcome.String()
	switch {
	case e.Network != nil:
		n := e.Network
		action = fmt.Sprintf("%s %s:%d p%d %dB", n.Action, addr(e.Dst), e.Dst.Port, n.Protocol, n.Bytes)
		if n.LogStatus != "OK" {
			action = n.LogStatus
		}
		if e.Src.Port != 0 {
			src = fmt.Sprintf("%s:%d", addr(e.Src), e.Src.Port)
		}
		outcome = strings.ToLower(n.Action)
	case e.Finding != nil:
		action = e.Finding.Type
		outcome = e.Finding.Level
	case e.API.ErrorCode != "":
		outcome = e.API.ErrorCode
	}
	return tableRow(dst, e.Time.UTC().Format("2006-01-02T15:04:05Z"), e.Source.Service(), e.Class.Name(),
		e.Cloud.Account, e.Cloud.Region, actor, action, src, outcome)
}

func addr(p event.Endpoint) string {
	if p.IP.IsValid() {
		return p.IP.String()
	}
	return "-"
}
