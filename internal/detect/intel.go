package detect

import (
	"fmt"
	"strings"

	"github.com/parapet-sec/parapet/internal/enrich"
	"github.com/parapet-sec/parapet/internal/event"
)

// IntelRuleID is the rule id of threat-intelligence findings.
const IntelRuleID = "parapet-intel"

// IntelFinding turns an indicator match into a finding: an API call made
// from a listed address is a credential in someone else's hands (initial
// access, valid accounts); traffic with a listed peer is command and
// control or exfiltration until shown otherwise. The live pipeline and a
// hunt over the lake both file intel matches through it, so a retro-hunt
// finds what the pipeline would have found.
func IntelFinding(ev *event.Event, m enrich.Match) Finding {
	f := FromEvent(ev)
	f.RuleID = IntelRuleID
	f.Source = "intel"
	f.Level = "high"
	name := m.Indicator.Name
	if name == "" && len(m.Indicator.Labels) > 0 {
		name = strings.Join(m.Indicator.Labels, ", ")
	}
	on := m.Indicator.Source
	if name != "" {
		on += " (" + name + ")"
	}
	switch {
	case ev.Class == event.ClassNetworkActivity:
		f.Title = "Traffic with an address on a threat-intelligence list"
		f.Attack = Attack{Techniques: []string{"T1071"}, Tactics: []string{"command-and-control"}}
	case m.Endpoint == "src":
		f.Title = "API call from an address on a threat-intelligence list"
		f.Attack = Attack{Techniques: []string{"T1078.004"}, Tactics: []string{"initial-access"}}
	default:
		f.Title = "Activity towards an address on a threat-intelligence list"
		f.Attack = Attack{Techniques: []string{"T1071"}, Tactics: []string{"command-and-control"}}
	}
	f.Description = fmt.Sprintf("%s %s is listed in %s.", m.Endpoint, m.Value, on)
	f.Explanation = []Evidence{{Selection: "intel", Field: m.Endpoint + ".ip", Value: m.Value,
		Detail: fmt.Sprintf("%s %s is on %s as %s %s", m.Endpoint, m.Value, on, m.Indicator.Kind, m.Indicator.Value)}}
	f.ID = FindingID(IntelRuleID+":"+m.Indicator.Source+":"+m.Endpoint, f.EventIDs)
	return f
}
