package check

import (
	"fmt"
	"path"
	"slices"

	"github.com/parapet-sec/parapet/internal/posture/resource"
	"github.com/parapet-sec/parapet/internal/posture/secrets"
)

// AnyResource is the resource of a check that looks at every resource:
// a secret check.
const AnyResource = "*"

func parseSecret(c *Check) (*Check, error) {
	switch {
	case c.ID == "" || c.Title == "":
		return nil, fmt.Errorf("%s: id and title are required", c.File)
	case SeverityRank(c.Severity) < 0:
		return nil, fmt.Errorf("%s: severity %q: want low, medium, high or critical", c.File, c.Severity)
	case c.Condition != "":
		return nil, fmt.Errorf("%s: a secret check has no condition: the secret detector finds its failures", c.File)
	case c.Resource != "" && c.Resource != AnyResource:
		return nil, fmt.Errorf("%s: a secret check looks at every resource (resource: '*')", c.File)
	case !slices.Contains(secrets.Kinds, c.Secret):
		return nil, fmt.Errorf("%s: secret %q: want one of %v", c.File, c.Secret, secrets.Kinds)
	}
	c.Resource = AnyResource
	return c, nil
}

// SecretResults turns the secret detector's findings into failures of
// the checks that report their kinds, located at the secret's line; a
// parapet:ignore comment on the block suppresses them. The reason says
// which kind of secret, where, and its redacted form, never the value.
func SecretResults(checks []*Check, found []secrets.Finding) []Result {
	byKind := map[string][]*Check{}
	for _, c := range checks {
		if c.Secret != "" {
			byKind[c.Secret] = append(byKind[c.Secret], c)
		}
	}
	var out []Result
	for _, f := range found {
		for _, c := range byKind[f.Kind] {
			r := &resource.Resource{Type: f.Type, Name: f.Address, Address: f.Address, Source: f.Source,
				Location:   resource.Origin{File: f.File, StartLine: f.BlockLine, EndLine: f.BlockEnd},
				Suppressed: f.Ignores}
			res := Result{Check: c, CheckID: c.ID, Title: c.Problem, Severity: c.Severity, Status: Fail, Reason: f.Message(), Resource: r,
				Location: resource.Origin{File: f.File, StartLine: f.Line, EndLine: f.Line, Column: f.Column}, Attribute: f.Attribute}
			// Two secrets of one kind in one block differ by attribute
			// (never by value: the fingerprint must not carry it).
			res.Fingerprint = Fingerprint(c.ID, r, f.Attribute)
			if reason, ok := f.Ignores[c.ID]; ok {
				res.Status, res.Reason, res.SuppressedBy = Suppressed, reason, "inline"
			}
			out = append(out, res)
		}
	}
	return out
}

// secretExample runs the secret detector on an example: its findings of
// the check's kind fail it, and none passes it.
func secretExample(data []byte, file string, c *Check) ([]Result, error) {
	var found []secrets.Finding
	switch path.Ext(file) {
	case ".tf":
		found = secrets.TerraformFile(data, file, "")
	case ".yaml", ".yml", ".json":
		found = secrets.CloudFormationSource(data, file, "")
	default:
		return nil, fmt.Errorf("%s: secret check examples are .tf or CloudFormation .yaml/.json files", file)
	}
	out := SecretResults([]*Check{c}, found)
	if len(out) == 0 {
		out = append(out, Result{Check: c, CheckID: c.ID, Title: c.Title, Severity: c.Severity, Status: Pass,
			Resource: &resource.Resource{Type: AnyResource, Name: file}, Location: resource.Origin{File: file}})
	}
	return out, nil
}
