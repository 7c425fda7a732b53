package correlate

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
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
	prg       cel.Program
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

// Compile checks a suppression: the expression must compile to a
// condition, the reason must be given, the expiry must be in the future
// and within MaxSuppression.
func (s *Suppression) Compile(now time.Time) error {
	if strings.TrimSpace(s.Reason) == "" {
		return errors.New("a suppression needs a reason")
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
	prg, err := suppressEnv.Program(ast)
	if err != nil {
		return err
	}
	s.prg = prg
	return nil
}

// Matches says whether a finding (its JSON document) is suppressed at t.
// An expression that errors on a finding (a field it lacks) does not
// match it.
func (s *Suppression) Matches(doc map[string]any, t time.Time) bool {
	if s.prg == nil || !t.Before(s.Expires) {
		return false
	}
	v, _, err := s.prg.Eval(map[string]any{"finding": doc})
	return err == nil && v.Value() == true
}
