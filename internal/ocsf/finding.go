package ocsf

import (
	"strings"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
)

// FromFinding maps a finding to an OCSF Detection Finding (2004).
func FromFinding(f *detect.Finding) map[string]any {
	o := obj{
		"class_uid": 2004, "class_name": "Detection Finding", "category_uid": 2, "category_name": "Findings",
		"activity_id": 1, "activity_name": "Create", "type_uid": 200401, "type_name": "Detection Finding: Create",
		"time": f.Time.UnixMilli(), "is_alert": true, "status_id": 1, "status": "New",
	}
	o["severity_id"], o["severity"] = 0, "Unknown"
	if id, ok := severityIDs[f.Level]; ok {
		o["severity_id"] = id
		o["severity"] = strings.ToUpper(f.Level[:1]) + f.Level[1:]
	}
	fi := obj{"uid": f.ID, "title": f.Title}
	fi.set("desc", f.Description)
	fi["analytic"] = obj{"uid": f.RuleID, "name": f.Title, "type_id": 1, "type": "Rule"}
	switch f.Source {
	case "sigma":
	case "ueba":
		fi["analytic"] = obj{"uid": f.RuleID, "name": f.Title, "type_id": 2, "type": "Behavioral"}
	default:
		fi["analytic"] = obj{"uid": f.RuleID, "name": f.Title, "type_id": 99, "type": "Other"}
	}
	var attacks []any
	for _, t := range f.Attack.Techniques {
		attacks = append(attacks, obj{"technique": obj{"uid": t}})
	}
	for _, t := range f.Attack.Tactics {
		attacks = append(attacks, obj{"tactic": obj{"name": t}})
	}
	fi.set("attacks", attacks)
	var related []any
	for _, id := range f.EventIDs {
		related = append(related, obj{"uid": id})
	}
	fi.set("related_events", related)
	if f.Count > 0 {
		// An episode of repeats (detect.Aggregator).
		o["count"] = f.Count
		o["start_time"], o["end_time"] = f.FirstSeen.UnixMilli(), f.LastSeen.UnixMilli()
		fi["first_seen_time"], fi["last_seen_time"] = f.FirstSeen.UnixMilli(), f.LastSeen.UnixMilli()
		fi["related_events_count"] = f.Count
	}
	o["finding_info"] = fi
	cloud := obj{"provider": Provider(f.Cloud.Provider)}
	cloud.set("region", f.Cloud.Region)
	if f.Cloud.Account != "" {
		cloud["account"] = Account(f.Cloud.Provider, f.Cloud.Account)
	}
	o["cloud"] = cloud
	o["metadata"] = obj{"version": Version, "uid": f.ID, "product": obj{"name": "Parapet", "vendor_name": "Parapet"}, "profiles": []any{"cloud", "security_control"}}
	ev := obj{}
	ev.set("actor", actor(&event.Event{Actor: f.Actor, Cloud: event.Cloud{Provider: f.Cloud.Provider}}))
	if f.SrcIP != "" {
		ev["src_endpoint"] = obj{"ip": f.SrcIP}
	}
	if len(ev) > 0 {
		o["evidences"] = []any{ev}
	}
	o.set("resources", resources(f.Resources, f.Cloud))
	o.set("message", f.Summary)
	return o
}
