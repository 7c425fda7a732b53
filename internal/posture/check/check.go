// Package check holds Parapet's posture checks: YAML, each a CEL condition
// over one resource type of the resource model, true when the resource
// complies; with severity, rationale, remediation, an IaC fix hint, the
// response action that fixes it live, and framework mappings.
package check

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"
	"go.yaml.in/yaml/v3"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// Check is one control.
type Check struct {
	ID    string `yaml:"id" json:"id"`
	Title string `yaml:"title" json:"title"`
	// Problem is the title of a failure, said as the problem ("RDS
	// instance is publicly accessible"; the title says what passes: "RDS
	// instance is not publicly accessible"). A check without one fails as
	// "Not met: <title>".
	Problem     string              `yaml:"problem" json:"problem,omitempty"`
	Severity    string              `yaml:"severity" json:"severity"` // low, medium, high, critical
	Resource    string              `yaml:"resource" json:"resource"` // a resource model type
	Condition   string              `yaml:"condition" json:"condition"`
	Rationale   string              `yaml:"rationale" json:"rationale,omitempty"`
	Remediation string              `yaml:"remediation" json:"remediation,omitempty"`
	IaCFix      string              `yaml:"iac_fix" json:"iac_fix,omitempty"`
	Action      *Action             `yaml:"action" json:"action,omitempty"`
	Frameworks  map[string][]string `yaml:"frameworks" json:"frameworks,omitempty"` // framework id → control ids
	File        string              `yaml:"-" json:"-"`
	prg         cel.Program
	partial     cel.Program
	reads       []string // in the order the condition names them

	// Secret names the kind of hard-coded secret the check reports
	// (internal/posture/secrets); such a check has no resource type and
	// no condition: the secret detector's findings are its failures.
	Secret string `yaml:"secret" json:"secret,omitempty"`
	// Path, "admin", makes a path check: each principal that can become
	// an administrator through privilege-escalation steps is a failure
	// (PathResults); no resource type, no condition.
	Path string `yaml:"path" json:"path,omitempty"`
	// parts are the condition's top-level conjuncts (a && b && c), each
	// with what it reads: the first that is false decides a failure.
	parts []part
}

type part struct {
	prg   cel.Program
	reads []string
}

// Action is the response action that fixes a failure live, with its
// parameters as CEL templates over the resource (${r.name}).
type Action struct {
	Name   string            `yaml:"name" json:"name"`
	Params map[string]string `yaml:"params" json:"params,omitempty"`
}

// Severities in ascending order.
var Severities = []string{"low", "medium", "high", "critical"}

// SeverityRank orders severities; unknown ones rank below low.
func SeverityRank(s string) int {
	for i, x := range Severities {
		if x == s {
			return i
		}
	}
	return -1
}

var env = func() *cel.Env {
	// The strings extension gives checks lowerAscii(), matches() and
	// friends: IAM action names are case-insensitive.
	// Macro call tracking keeps all() and exists() in the source info,
	// so that a conjunct using them can be printed back and compiled on
	// its own (Parse splits a && b).
	e, err := cel.NewEnv(cel.Variable("r", cel.MapType(cel.StringType, cel.DynType)), ext.Strings(), cel.EnableMacroCallTracking())
	if err != nil {
		panic(err)
	}
	return e
}()

// Parse reads one check file.
func Parse(data []byte, file string) (*Check, error) {
	var c Check
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	c.File = file
	if c.Problem == "" && c.Title != "" {
		c.Problem = "Not met: " + c.Title
	}
	if c.Secret != "" {
		return parseSecret(&c)
	}
	if c.Path != "" {
		return parsePath(&c)
	}
	switch {
	case c.ID == "" || c.Title == "" || c.Resource == "" || c.Condition == "":
		return nil, fmt.Errorf("%s: id, title, resource and condition are required", file)
	case SeverityRank(c.Severity) < 0:
		return nil, fmt.Errorf("%s: severity %q: want low, medium, high or critical", file, c.Severity)
	case !strings.HasPrefix(c.Resource, "aws_"):
		return nil, fmt.Errorf("%s: resource %q is no resource model type", file, c.Resource)
	}
	ast, iss := env.Compile(c.Condition)
	if iss.Err() != nil {
		return nil, fmt.Errorf("%s: condition: %v", file, iss.Err())
	}
	if ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
		return nil, fmt.Errorf("%s: condition is a %s, not a condition", file, ast.OutputType())
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	// A second program for resources with unknown values: partial
	// evaluation costs on every call, so only they pay for it.
	partial, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize, cel.OptPartialEval))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	c.prg, c.partial = prg, partial
	// The top-level attributes the condition reads (r.x): when one is
	// known only after apply, or not recorded by the source, the answer
	// is unknown, whatever the condition would make of the placeholder.
	native := ast.NativeRep()
	c.reads = reads(native, native.Expr())
	conj := conjuncts(native.Expr())
	if len(conj) == 1 {
		c.parts = []part{{prg: prg, reads: c.reads}}
		return &c, nil
	}
	for _, e := range conj {
		text, err := cel.ExprToString(e, native.SourceInfo())
		if err != nil {
			return nil, fmt.Errorf("%s: condition: %v", file, err)
		}
		a, iss := env.Compile(text)
		if iss.Err() != nil {
			return nil, fmt.Errorf("%s: condition part %s: %v", file, text, iss.Err())
		}
		p, err := env.Program(a, cel.EvalOptions(cel.OptOptimize))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", file, err)
		}
		c.parts = append(c.parts, part{prg: p, reads: reads(native, e)})
	}
	return &c, nil
}

// reads lists the top-level attributes an expression reads (r.x), in the
// order they are written.
func reads(a *celast.AST, e celast.Expr) []string {
	type at struct {
		name string
		off  int32
	}
	var all []at
	for _, m := range celast.MatchDescendants(celast.NavigateExpr(a, e), celast.KindMatcher(celast.SelectKind)) {
		sel := m.AsSelect()
		if op := sel.Operand(); op.Kind() == celast.IdentKind && op.AsIdent() == "r" {
			o, _ := a.SourceInfo().GetOffsetRange(m.ID())
			all = append(all, at{sel.FieldName(), o.Start})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].off < all[j].off })
	var out []string
	for _, x := range all {
		if !slices.Contains(out, x.name) {
			out = append(out, x.name)
		}
	}
	return out
}

// conjuncts splits a && b && c into its parts, in order.
func conjuncts(e celast.Expr) []celast.Expr {
	if e.Kind() == celast.CallKind && e.AsCall().FunctionName() == operators.LogicalAnd {
		var out []celast.Expr
		for _, a := range e.AsCall().Args() {
			out = append(out, conjuncts(a)...)
		}
		return out
	}
	return []celast.Expr{e}
}

// Load reads every *.yaml and *.yml check under root (examples folders
// are not checks).
func Load(fsys fs.FS, root string) ([]*Check, []error) {
	var out []*Check
	var errs []error
	_ = fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if d.IsDir() {
			if strings.HasSuffix(p, ".examples") {
				return fs.SkipDir
			}
			return nil
		}
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		c, err := Parse(data, p)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		out = append(out, c)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	for i := 1; i < len(out); i++ {
		if out[i].ID == out[i-1].ID {
			errs = append(errs, fmt.Errorf("%s: check id %s is also used by %s", out[i].File, out[i].ID, out[i-1].File))
		}
	}
	return out, errs
}

// Statuses of a result.
const (
	Pass       = "pass"
	Fail       = "fail"
	Unknown    = "unknown"    // the condition read a value known only after apply
	Suppressed = "suppressed" // parapet:ignore, with its reason
)

// Result is one check on one resource.
type Result struct {
	Check   *Check `json:"-"`
	CheckID string `json:"check_id"`
	// Title is the check's title, or its problem title for a failure
	// (suppressed or not).
	Title    string `json:"title"`
	Severity string `json:"severity"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"` // why unknown, or the suppression's reason
	// SuppressedBy says where a suppression was written: "inline" (a
	// parapet:ignore comment) or a suppression file's file:line.
	SuppressedBy string             `json:"suppressed_by,omitempty"`
	Resource     *resource.Resource `json:"-"`
	// Location is where the problem is: the origin of the attribute that
	// decided a failure (or of the child resource that supplied it, an
	// aws_s3_bucket_public_access_block), the resource's block when the
	// attribute is missing, and the block for passes.
	Location resource.Origin `json:"location"`
	// Attribute names the attribute Location points at ("" for the block).
	Attribute string `json:"attribute,omitempty"`
	// Fingerprint identifies the result across runs: see Fingerprint.
	Fingerprint string `json:"fingerprint"`
}

// Run evaluates every check on every resource of its type.
func Run(checks []*Check, resources []*resource.Resource) []Result {
	byType := map[string][]*resource.Resource{}
	for _, r := range resources {
		byType[r.Type] = append(byType[r.Type], r)
	}
	n := 0
	for _, c := range checks {
		if c.prg != nil {
			n += len(byType[c.Resource])
		}
	}
	out := make([]Result, 0, n)
	for _, c := range checks {
		if c.prg == nil {
			continue // a secret check: its results come from the secret detector
		}
		for _, r := range byType[c.Resource] {
			res := c.eval(r)
			if reason, ok := r.Suppressed[c.ID]; ok {
				// Evaluated all the same: a suppressed failure keeps the
				// location and fingerprint it would have, so a baseline
				// does not take it for fixed.
				res.Status, res.Reason, res.SuppressedBy = Suppressed, reason, "inline"
			}
			out = append(out, res)
		}
	}
	return out
}

// eval runs the check on one resource.
func (c *Check) eval(r *resource.Resource) Result {
	res := Result{Check: c, CheckID: c.ID, Title: c.Title, Severity: c.Severity, Resource: r, Location: r.Location}
	vars := map[string]any{"r": r.Doc()}
	var act any = vars
	prg := c.prg
	unknown := c.unknownReads(r)
	if len(unknown) > 0 {
		// Partial evaluation: the condition may not need the unknown
		// value (false || …); if it does, the answer is unknown.
		pats := make([]*cel.AttributePatternType, len(unknown))
		for i, k := range unknown {
			pats[i] = cel.AttributePattern("r").QualString(k)
		}
		act, _ = cel.PartialVars(act, pats...)
		prg = c.partial
	}
	v, _, err := prg.Eval(act)
	switch {
	case err == nil && types.IsUnknown(v):
		res.Status, res.Reason = Unknown, fmt.Sprintf("it reads %s, not known (after apply, or not recorded by the source)", strings.Join(unknown, ", "))
		if len(unknown) > 0 {
			res.pointAt(unknown[0])
		}
	case err != nil:
		res.Status, res.Reason = Unknown, err.Error()
		if strings.Contains(fmt.Sprint(r.Attrs), resource.Unknown) {
			res.Reason = "a value it reads is known only after apply"
		}
	case v.Value() == true:
		res.Status = Pass
	case v.Value() == false:
		res.Status, res.Title = Fail, c.Problem
		res.pointAt(c.decidedBy(vars))
	default:
		res.Status, res.Reason = Unknown, fmt.Sprintf("the condition gave %v", v.Value())
	}
	if res.Fingerprint == "" {
		res.Fingerprint = Fingerprint(c.ID, r, res.Attribute)
	}
	return res
}

// pointAt points the result at an attribute: its origin when the source
// recorded one, else the resource's block; and fingerprints it.
func (res *Result) pointAt(attr string) {
	if attr == "" {
		return
	}
	res.Attribute = attr
	if o, ok := res.Resource.Origins[attr]; ok {
		res.Location = o
	}
	res.Fingerprint = Fingerprint(res.CheckID, res.Resource, attr)
}

// decidedBy names the attribute that decided a failure: the first
// attribute read by the first top-level conjunct that is false (the
// first the condition reads when that cannot be told).
func (c *Check) decidedBy(vars map[string]any) string {
	reads := c.reads
	if len(c.parts) > 1 {
		for _, p := range c.parts {
			if v, _, err := p.prg.Eval(vars); err == nil && v.Value() == false {
				reads = p.reads
				break
			}
		}
	}
	for _, k := range reads {
		if !strings.HasPrefix(k, "_") {
			return k
		}
	}
	return ""
}

// Fingerprint identifies a result across runs, whatever the lines:
// the first 16 bytes, in hex, of SHA-256 over the check id, the
// resource's type, its scope (a Terraform module's folder, a
// CloudFormation template's file; nothing for an ARN), its ID (ARN, else
// Terraform address or CloudFormation logical id, else name) and the
// attribute the result is about. Moving a block within its file or to
// another file of the module keeps it; renaming the resource, or another
// attribute deciding the failure, makes a new one.
func Fingerprint(checkID string, r *resource.Resource, attr string) string {
	scope := ""
	if r.ARN == "" && r.Location.File != "" {
		scope = filepath.ToSlash(r.Location.File)
		if r.Source == "terraform" {
			scope = path.Dir(scope)
		}
	}
	h := sha256.Sum256([]byte(checkID + "\x00" + r.Type + "\x00" + scope + "\x00" + r.ID() + "\x00" + attr))
	return hex.EncodeToString(h[:16])
}

// unknownReads names the attributes the check reads whose value is
// resource.Unknown.
func (c *Check) unknownReads(r *resource.Resource) []string {
	var out []string
	for _, k := range c.reads {
		if r.Attrs[k] == resource.Unknown {
			out = append(out, k)
		}
	}
	return out
}

var paramRe = regexp.MustCompile(`\$\{([^}]*)\}`)

// ActionParams renders the check's action parameters for a resource:
// ${…} are CEL expressions over r.
func (c *Check) ActionParams(r *resource.Resource) (map[string]string, error) {
	if c.Action == nil {
		return nil, nil
	}
	vars := map[string]any{"r": r.Doc()}
	out := map[string]string{}
	for k, tmpl := range c.Action.Params {
		var err error
		out[k] = paramRe.ReplaceAllStringFunc(tmpl, func(m string) string {
			ast, iss := env.Compile(m[2 : len(m)-1])
			if iss.Err() != nil {
				err = iss.Err()
				return ""
			}
			prg, perr := env.Program(ast)
			if perr != nil {
				err = perr
				return ""
			}
			v, _, eerr := prg.Eval(vars)
			if eerr != nil {
				err = eerr
				return ""
			}
			return fmt.Sprint(v.Value())
		})
		if err != nil {
			return nil, fmt.Errorf("%s: action parameter %s: %v", c.ID, k, err)
		}
	}
	return out, nil
}
