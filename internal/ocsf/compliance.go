package ocsf

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// ComplianceResult is one posture check on one resource, as the OCSF
// mapping needs it (the posture packages stay free of OCSF).
type ComplianceResult struct {
	CheckID, Title, Rationale string
	Severity                  string // low … critical
	Status                    string // pass, fail, unknown, suppressed
	Reason                    string // why unknown, or the suppression's reason
	Remediation, IaCFix       string
	Standards                 []string // framework titles: "CIS Amazon Web Services Foundations Benchmark v3.0.0"
	Requirements              []string // "cis-aws-3.0 2.1.1"
	ResourceUID               string   // ARN, or Terraform address / CloudFormation logical id
	ResourceName              string
	ResourceType              string
	Source                    string // terraform, cloudformation, config, aws
	Account, Region           string
	File                      string
	StartLine, EndLine        int
	Time                      time.Time
}

var complianceStatus = map[string][2]any{
	"pass": {1, "Pass"}, "fail": {3, "Fail"}, "unknown": {0, "Unknown"}, "suppressed": {3, "Fail"},
}

// FromCompliance maps a posture result to an OCSF Compliance Finding
// (2003). The finding's uid is stable for a check on a resource, so a
// consumer can de-duplicate scans; a suppressed failure keeps its
// compliance status Fail and takes the finding status Suppressed.
func FromCompliance(r ComplianceResult) map[string]any {
	sum := sha256.Sum256([]byte(r.CheckID + "\x00" + r.ResourceUID + "\x00" + r.File))
	uid := "parapet-posture-" + hex.EncodeToString(sum[:12])
	o := obj{
		"class_uid": 2003, "class_name": "Compliance Finding", "category_uid": 2, "category_name": "Findings",
		"activity_id": 1, "activity_name": "Create", "type_uid": 200301, "type_name": "Compliance Finding: Create",
		"time": r.Time.UnixMilli(), "status_id": 1, "status": "New",
	}
	if r.Status == "suppressed" {
		o["status_id"], o["status"] = 3, "Suppressed"
	}
	o["severity_id"], o["severity"] = 0, "Unknown"
	if id, ok := severityIDs[r.Severity]; ok {
		o["severity_id"], o["severity"] = id, strings.ToUpper(r.Severity[:1])+r.Severity[1:]
	}
	st := complianceStatus[r.Status]
	if st[1] == nil {
		st = [2]any{99, "Other"}
	}
	check := obj{"uid": r.CheckID, "name": r.Title, "status_id": st[0], "status": st[1]}
	check.set("severity", o["severity"])
	check["severity_id"] = o["severity_id"]
	comp := obj{"control": r.CheckID, "status_id": st[0], "status": st[1], "checks": []any{check}}
	if len(r.Standards) > 0 {
		comp["standards"] = strs(r.Standards)
		check["standards"] = strs(r.Standards)
	}
	if len(r.Requirements) > 0 {
		comp["requirements"] = strs(r.Requirements)
	}
	comp.set("status_detail", r.Reason)
	o["compliance"] = comp
	fi := obj{"uid": uid, "title": r.Title, "analytic": obj{"uid": r.CheckID, "name": r.Title, "type_id": 1, "type": "Rule"}}
	fi.set("desc", r.Rationale)
	fi["types"] = []any{"Posture/" + r.Source}
	o["finding_info"] = fi
	if r.Remediation != "" || r.IaCFix != "" {
		desc := r.Remediation
		if r.IaCFix != "" {
			desc = strings.TrimSpace(desc + " Fix in code: " + r.IaCFix)
		}
		o["remediation"] = obj{"desc": desc}
	}
	cloud := obj{"provider": "AWS"}
	cloud.set("region", r.Region)
	if r.Account != "" {
		cloud["account"] = obj{"uid": r.Account, "type": "AWS Account", "type_id": 10}
	}
	o["cloud"] = cloud
	res := obj{"uid": r.ResourceUID, "type": r.ResourceType}
	res.set("name", r.ResourceName)
	res.set("region", r.Region)
	if r.File != "" {
		res["data"] = map[string]any{"file": r.File, "start_line": r.StartLine, "end_line": r.EndLine, "source": r.Source}
	}
	o["resources"] = []any{res}
	o["metadata"] = obj{"version": Version, "uid": uid, "product": obj{"name": "Parapet", "vendor_name": "Parapet"}, "profiles": []any{"cloud"}}
	msg := r.Title + ": " + r.Status
	if r.Reason != "" {
		msg += " (" + r.Reason + ")"
	}
	o["message"] = msg
	return o
}

func strs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
