package pipeline

import (
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/enrich"
	"github.com/parapet-sec/parapet/internal/event"
)

// IntelRuleID is the rule id of threat-intelligence findings.
const IntelRuleID = detect.IntelRuleID

// intelFinding turns an indicator match into a finding (detect.IntelFinding,
// which hunts over the lake share).
func intelFinding(ev *event.Event, m enrich.Match) detect.Finding { return detect.IntelFinding(ev, m) }
