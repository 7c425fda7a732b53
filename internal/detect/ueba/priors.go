package ueba

import (
	"bytes"
	"fmt"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/parapet-sec/parapet/content"
)

// priorTable says how rare an API is across accounts in general
// (content/ueba/priors.yaml): the share of a typical account's principals
// that ever call it. It speaks when an account is too young to.
type priorTable struct {
	tiers []priorTier
	def   float64
	actionIndex
}

type priorTier struct {
	Name    string   `yaml:"name"`
	Share   float64  `yaml:"share"`
	Actions []string `yaml:"actions"`
}

// parsePriors reads a table of global priors.
func parsePriors(data []byte) (*priorTable, error) {
	var doc struct {
		Default float64     `yaml:"default"`
		Tiers   []priorTier `yaml:"tiers"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("global priors: %w", err)
	}
	if len(doc.Tiers) == 0 {
		return nil, fmt.Errorf("global priors: no tiers")
	}
	if !validShare(doc.Default) {
		return nil, fmt.Errorf("global priors: default %g: want a share above 0, at most 1", doc.Default)
	}
	t := &priorTable{tiers: doc.Tiers, def: doc.Default, actionIndex: actionIndex{exact: map[string]int{}}}
	for i, c := range doc.Tiers {
		if c.Name == "" || !validShare(c.Share) {
			return nil, fmt.Errorf("global priors: tier %d: want a name and a share above 0, at most 1", i+1)
		}
		if err := t.add(i, c.Actions); err != nil {
			return nil, fmt.Errorf("global priors: tier %q: %w", c.Name, err)
		}
	}
	return t, nil
}

func validShare(s float64) bool { return s > 0 && s <= 1 }

// share is the part of a typical account's principals that ever call
// service:op, and the tier that says so ("" for the default).
func (t *priorTable) share(service, op string) (float64, string) {
	if c := t.class(service, op); c >= 0 {
		return t.tiers[c].Share, t.tiers[c].Name
	}
	return t.def, ""
}

// builtinPriors is the table shipped in content/.
var builtinPriors = sync.OnceValues(func() (*priorTable, error) {
	data, err := content.FS.ReadFile("ueba/priors.yaml")
	if err != nil {
		return nil, err
	}
	return parsePriors(data)
})

// priorCalls is the account history (calls, its principal's own left out)
// at which an account's own view of an API weighs as much as the global
// prior: the prior fades as the account's history grows.
const priorCalls = 200

// priorWeight is how much the global prior weighs for an account whose
// history (without the principal's own calls) holds n calls; below
// minPriorWeight it is not consulted at all.
func priorWeight(n uint32) float64 { return priorCalls / (priorCalls + float64(n)) }

const minPriorWeight = 0.02

// apiPrior is the global prior share of ev's API (hash h), cached by hash;
// ok is false when there is no table.
func (e *Engine) apiPrior(service, op string, h uint64) (float64, bool) {
	if e.priors == nil {
		return 0, false
	}
	if s, ok := e.priorCache[h]; ok {
		return float64(s), true
	}
	s, _ := e.priors.share(serviceShort(service), op)
	if len(e.priorCache) >= 1<<14 {
		clear(e.priorCache) // a bound; the table answers again
	}
	e.priorCache[h] = float32(s)
	return s, true
}
