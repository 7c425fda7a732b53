package correlate

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/checker"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"

	"github.com/parapet-sec/parapet/internal/org"
)

// Suppression is a pattern of findings declared false positives: a CEL
// expression over the finding (the JSON lines document, as playbooks see
// it: finding.rule_id, finding.actor.arn, finding.src_ip, …), with who
// created it, why, and until when.
type Suppression struct {
	ID        string    `json:"id"`
	Expr      string    `json:"expr"`
	Reason    string    `json:"reason"`
	CreatedBy string    `json:"created_by"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
	// Scope, when set, narrows the suppression to findings of these
	// accounts (finding.cloud.account), OUs and tags, resolved through the
	// resolver Matches is given; without one only account ids match (see
	// org.Scope).
	Scope *org.Scope `json:"scope,omitempty"`
	prg   cel.Program
}

var suppressEnv = func() *cel.Env {
	e, err := cel.NewEnv(cel.Variable("finding", cel.MapType(cel.StringType, cel.DynType)))
	if err != nil {
		panic(err)
	}
	return e
}()

// MaxSuppression bounds how long a suppression may last: patterns of
// false positives are reviewed, not forgotten.
const MaxSuppression = 180 * 24 * time.Hour

// MaxCost bounds a suppression's estimated cost on one finding, in CEL
// cost units (about one per comparison or loop step), checked when the
// suppression is made; the estimate assumes sizeHint elements in a
// finding's lists and characters in its strings. MaxRunCost stops an
// evaluation that a finding's data makes costlier (no match: the finding
// is filed), so that no finding holds up the pipeline.
const (
	MaxCost    = 10_000
	MaxRunCost = 100_000
	sizeHint   = 100
)

// Compile checks a suppression: the expression must compile to a
// condition that pins the rule, the principal, a resource or the account
// (see Pinned), cost at most MaxCost by CEL's estimate, the reason must be
// given, the expiry must be in the future and within MaxSuppression.
func (s *Suppression) Compile(now time.Time) error {
	if strings.TrimSpace(s.Reason) == "" {
		return errors.New("a suppression needs a reason")
	}
	if s.Scope != nil {
		if errs := s.Scope.Validate(); len(errs) > 0 {
			return fmt.Errorf("scope: %w", errors.Join(errs...))
		}
	}
	if !s.Expires.After(now) {
		return errors.New("a suppression needs an expiry in the future")
	}
	if s.Expires.Sub(now) > MaxSuppression {
		return fmt.Errorf("a suppression lasts at most %d days", int(MaxSuppression.Hours()/24))
	}
	ast, iss := suppressEnv.Compile(s.Expr)
	if iss.Err() != nil {
		return fmt.Errorf("expr: %v", iss.Err())
	}
	if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
		return fmt.Errorf("expr is a %s, not a condition", t)
	}
	if !pins(ast.NativeRep().Expr()) {
		return errors.New(`expr must pin the rule, the principal, a resource or the account to a constant, joined to the rest with &&: finding.rule_id == "…", finding.actor.arn (user_name, access_key_id, principal_id) == "…", finding.resources.exists(r, r.uid == "…") (or r.name), finding.cloud.account == "…" (or in a list of constants)`)
	}
	est, err := suppressEnv.EstimateCost(ast, hint{})
	if err != nil {
		return fmt.Errorf("expr: cost: %w", err)
	}
	if est.Max > MaxCost {
		return fmt.Errorf("expr: its estimated cost (%d) is above the limit of %d: loops within loops over a finding are too costly", est.Max, MaxCost)
	}
	prg, err := suppressEnv.Program(ast, cel.CostLimit(MaxRunCost))
	if err != nil {
		return err
	}
	s.prg = prg
	return nil
}

// Matches says whether a finding (its JSON document) is suppressed at t;
// accounts (nil: none) resolves the scope's OUs and tags. An expression that errors on a finding (a field it lacks, the cost
// limit reached) does not match it.
func (s *Suppression) Matches(doc map[string]any, t time.Time, accounts org.Resolver) bool {
	if s.prg == nil || !t.Before(s.Expires) {
		return false
	}
	if s.Scope != nil {
		c, _ := doc["cloud"].(map[string]any)
		account, _ := c["account"].(string)
		if !s.Scope.Matches(account, accounts) {
			return false
		}
	}
	v, _, err := s.prg.Eval(map[string]any{"finding": doc})
	return err == nil && v.Value() == true
}

// hint sizes what the cost estimate cannot know: a finding's lists and
// strings.
type hint struct{}

func (hint) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	if n.ComputedSize() != nil {
		return nil
	}
	return &checker.SizeEstimate{Min: 0, Max: sizeHint}
}

func (hint) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// pinnedFields are the paths a suppression may pin: the rule, the
// principal, the account.
var pinnedFields = map[string]bool{
	"rule_id": true, "actor.arn": true, "actor.user_name": true, "actor.access_key_id": true, "actor.principal_id": true,
	"cloud.account": true,
}

// pins says whether e, when it is true, proves that one of the pinned
// fields has a constant value, or that a resource has a constant uid or
// name: a term that pins, alone or joined with && to anything. A || or a
// negation proves nothing.
func pins(e celast.Expr) bool {
	switch e.Kind() {
	case celast.CallKind:
		c := e.AsCall()
		args := c.Args()
		switch c.FunctionName() {
		case operators.LogicalAnd:
			for _, a := range args {
				if pins(a) {
					return true
				}
			}
		case operators.Equals:
			return len(args) == 2 && (pinnedFields[path(args[0], "finding")] && constant(args[1]) || pinnedFields[path(args[1], "finding")] && constant(args[0]))
		case operators.In:
			return len(args) == 2 && pinnedFields[path(args[0], "finding")] && constants(args[1])
		}
	case celast.ComprehensionKind:
		// finding.resources.exists(r, …): the exists macro's expansion.
		c := e.AsComprehension()
		if path(c.IterRange(), "finding") != "resources" || c.HasIterVar2() {
			return false
		}
		init, step, res := c.AccuInit(), c.LoopStep(), c.Result()
		if init.Kind() != celast.LiteralKind || init.AsLiteral().Value() != false || res.Kind() != celast.IdentKind || res.AsIdent() != c.AccuVar() ||
			step.Kind() != celast.CallKind || step.AsCall().FunctionName() != operators.LogicalOr || len(step.AsCall().Args()) != 2 {
			return false
		}
		a := step.AsCall().Args()
		if a[0].Kind() != celast.IdentKind || a[0].AsIdent() != c.AccuVar() {
			return false
		}
		return pinsResource(a[1], c.IterVar())
	}
	return false
}

// pinsResource is pins for the body of an exists over resources: the
// element's uid or name equal to a constant.
func pinsResource(e celast.Expr, v string) bool {
	if e.Kind() != celast.CallKind {
		return false
	}
	c := e.AsCall()
	args := c.Args()
	switch c.FunctionName() {
	case operators.LogicalAnd:
		for _, a := range args {
			if pinsResource(a, v) {
				return true
			}
		}
	case operators.Equals:
		f := func(x celast.Expr) bool { p := path(x, v); return p == "uid" || p == "name" }
		return len(args) == 2 && (f(args[0]) && constant(args[1]) || f(args[1]) && constant(args[0]))
	case operators.In:
		p := path(args[0], v)
		return len(args) == 2 && (p == "uid" || p == "name") && constants(args[1])
	}
	return false
}

// path is the dotted path of fields selected from the variable root
// ("" when e is not such a selection): finding.actor.arn → "actor.arn",
// finding["rule_id"] → "rule_id".
func path(e celast.Expr, root string) string {
	var parts []string
	for {
		switch e.Kind() {
		case celast.SelectKind:
			sel := e.AsSelect()
			if sel.IsTestOnly() {
				return ""
			}
			parts = append(parts, sel.FieldName())
			e = sel.Operand()
			continue
		case celast.CallKind:
			c := e.AsCall()
			if c.FunctionName() != operators.Index || len(c.Args()) != 2 || c.Args()[1].Kind() != celast.LiteralKind {
				return ""
			}
			k, ok := c.Args()[1].AsLiteral().Value().(string)
			if !ok {
				return ""
			}
			parts = append(parts, k)
			e = c.Args()[0]
			continue
		case celast.IdentKind:
			if e.AsIdent() != root || len(parts) == 0 {
				return ""
			}
			slices.Reverse(parts)
			return strings.Join(parts, ".")
		}
		return ""
	}
}

// constant says whether e is a string literal with something in it.
func constant(e celast.Expr) bool {
	if e.Kind() != celast.LiteralKind {
		return false
	}
	s, ok := e.AsLiteral().Value().(string)
	return ok && strings.TrimSpace(s) != ""
}

// constants says whether e is a list literal of such strings.
func constants(e celast.Expr) bool {
	if e.Kind() != celast.ListKind || len(e.AsList().Elements()) == 0 {
		return false
	}
	for _, x := range e.AsList().Elements() {
		if !constant(x) {
			return false
		}
	}
	return true
}
