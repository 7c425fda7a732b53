package check

import (
	"fmt"
	"strings"

	"github.com/parapet-sec/parapet/internal/attackpath"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// A path check (path: admin) fails once for every principal that can
// become an administrator through privilege-escalation steps
// (internal/attackpath): its results come from the access graph of the
// scanned resources, not from a condition on one resource.

func parsePath(c *Check) (*Check, error) {
	switch {
	case c.ID == "" || c.Title == "":
		return nil, fmt.Errorf("%s: id and title are required", c.File)
	case SeverityRank(c.Severity) < 0:
		return nil, fmt.Errorf("%s: severity %q: want low, medium, high or critical", c.File, c.Severity)
	case c.Condition != "":
		return nil, fmt.Errorf("%s: a path check has no condition: the access graph finds its failures", c.File)
	case c.Resource != "" && c.Resource != AnyResource:
		return nil, fmt.Errorf("%s: a path check looks at every principal (resource: '*')", c.File)
	case c.Path != "admin":
		return nil, fmt.Errorf("%s: path %q: want admin", c.File, c.Path)
	}
	c.Resource = AnyResource
	return c, nil
}

// PathSeverity grades a path to admin by its length: one step is
// critical, two high, longer medium; never above the check's own.
func PathSeverity(checkSeverity string, steps int) string {
	s := "medium"
	switch steps {
	case 1:
		s = "critical"
	case 2:
		s = "high"
	}
	if SeverityRank(s) > SeverityRank(checkSeverity) {
		return checkSeverity
	}
	return s
}

// PathResults builds the access graph of the resources and fails each
// path check once per principal that can become an administrator (its
// shortest path), at the principal's block. The reason says the path in
// words and the minimal fix: the statement that grants the first step.
// Principals that are administrators already are for other checks
// (PARAPET-IAM-001). The fingerprint carries the path's methods, so a
// different way to admin is a new failure.
func PathResults(checks []*Check, res []*resource.Resource) []Result {
	var pcs []*Check
	for _, c := range checks {
		if c.Path != "" {
			pcs = append(pcs, c)
		}
	}
	if len(pcs) == 0 {
		return nil
	}
	methods, err := attackpath.BuiltinMethods()
	if err != nil {
		return nil
	}
	g := attackpath.Build(res, methods, attackpath.Options{})
	paths, err := g.Shortest("admin")
	if err != nil {
		return nil
	}
	var out []Result
	for _, p := range paths {
		if len(p.Steps) == 0 {
			continue
		}
		r := principalResource(res, p)
		var via []string
		for _, s := range p.Steps {
			via = append(via, s.Method)
		}
		for _, c := range pcs {
			res := Result{Check: c, CheckID: c.ID, Title: c.Problem, Severity: PathSeverity(c.Severity, len(p.Steps)), Status: Fail,
				Reason: PathReason(p), Resource: r, Location: r.Location, Attribute: "path:" + strings.Join(via, ">")}
			res.Fingerprint = Fingerprint(c.ID, r, res.Attribute)
			if reason, ok := r.Suppressed[c.ID]; ok {
				res.Status, res.Reason, res.SuppressedBy = Suppressed, reason, "inline"
			}
			out = append(out, res)
		}
	}
	return out
}

// PathReason says a path and its minimal fix in words.
func PathReason(p attackpath.Path) string {
	var b strings.Builder
	n := len(p.Steps)
	steps := "steps"
	if n == 1 {
		steps = "step"
	}
	as := ""
	if p.TargetName != "" && p.TargetName != "admin" {
		as = " (as " + p.TargetName + ")"
	}
	fmt.Fprintf(&b, "%s %s can become admin%s in %d %s: ", p.SourceKind, p.SourceName, as, n, steps)
	for i, s := range p.Steps {
		if i > 0 {
			b.WriteString("; then ")
		}
		b.WriteString(s.Text)
	}
	if first := p.Steps[0]; len(first.Grants) > 0 {
		var gs []string
		for _, g := range first.Grants {
			gs = append(gs, g.String())
		}
		fmt.Fprintf(&b, ". Minimal fix: remove or constrain %s", strings.Join(gs, "; "))
	}
	return b.String()
}

// principalResource is the block that defines the path's source, else a
// stand-in naming it.
func principalResource(res []*resource.Resource, p attackpath.Path) *resource.Resource {
	typ := map[string]string{attackpath.KindUser: "aws_iam_user", attackpath.KindRole: "aws_iam_role"}[p.SourceKind]
	for _, r := range res {
		if r.Type == typ && typ != "" && (r.Name == p.SourceName || (r.ARN != "" && r.ARN == p.Source)) {
			return r
		}
	}
	return &resource.Resource{Type: typ, Name: p.SourceName, ARN: p.Source}
}
