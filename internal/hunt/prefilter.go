package hunt

import (
	"bytes"
	"strings"
	"sync"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/detect/sigma"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/lake"
)

// A full retro-hunt spent most of its time decoding each CloudTrail row's
// native record again and running the rules on it, though most rows match
// no rule. The prefilter judges a row on its promoted columns first: the
// operation, service, error code, actor type and region of a CloudTrail
// row are the fields cloudtrail.Decode makes of its record (the lake
// wrote them from that event), and rules read those fields from the
// decoded event (event.Event.Each) — a field the decoder left empty is
// read from the record, where, when the record does not hold its key, it
// is absent. sigma.Matcher.MayMatch evaluates the candidate rules in
// three-valued logic over those fields (any other field may hold
// anything); a row no rule can match is counted and passed over without
// being decoded. Rows the columns cannot speak for are always decoded:
// other sources, Insight events (whose operation the decoder takes from
// insightDetails and whose fields rules read from the record), records
// holding a backslash (an escaped key or value reads otherwise than its
// bytes). Verdicts are remembered per combination of those columns.

// prefilter judges rows for one engine; safe for concurrent use.
type prefilter struct {
	set  *sigma.Set
	pool sync.Pool // *judge
}

// newPrefilter judges rows by the rules of e that make findings in a hunt:
// not those whose matches only feed correlations (Engine.Quiet), which a
// hunt does not run.
func newPrefilter(e *detect.Engine) *prefilter {
	var rules []*sigma.Rule
	for _, r := range e.Rules().Rules() {
		if !e.Quiet(r) {
			rules = append(rules, r)
		}
	}
	set := sigma.NewSet(rules)
	p := &prefilter{set: set}
	p.pool.New = func() any { return &judge{m: set.Matcher(), memo: map[string]*verdict{}} }
	return p
}

// judge is one goroutine's matcher and verdicts.
type judge struct {
	m    *sigma.Matcher
	memo map[string]*verdict // by the row's columns (key)
	key  []byte
	ev   event.Event
	// asked are the fields of other columns MayMatch asked about, in the
	// order it asked, with whether the record lacks their key.
	asked []answer
}

type answer struct {
	field  string
	absent bool
}

// verdict is what MayMatch said for rows of some columns: a leaf (field
// ""), or the field it asked about next, and what it said after, for a
// record lacking the field's key and for one holding it. MayMatch is
// deterministic: given the columns and the answers so far, it asks the
// same next field.
type verdict struct {
	field           string
	key             *finder // keyOf(field)
	may             bool
	absent, present *verdict
}

// maxVerdicts bounds the column combinations a judge remembers.
const maxVerdicts = 4096

var insight = newFinder(`AwsCloudTrailInsight`)

// finder looks for a short text in records: bytes.Contains starts from
// the text's first byte, a quote, met every few bytes of JSON; a finder
// starts from its rarest byte (by a rough order of letters in CloudTrail
// records), so that a record lacking the text is passed in about the
// time of one bytes.IndexByte.
type finder struct {
	text []byte
	at   int // the byte looked for first
}

// commonness orders bytes from rare to common: upper case but the
// frequent A, S, I, then lower case from rare to common, then the rest.
const commonness = "QZXJVKYWUPLHGFBMONDRTECSIAzqjxkvbywgpfmucdlhrsnioate"

func newFinder(text string) *finder {
	f := &finder{text: []byte(text)}
	best := len(commonness) + 1
	for i := range len(text) {
		r := strings.IndexByte(commonness, text[i])
		if r < 0 {
			r = len(commonness)
		}
		if r < best {
			best, f.at = r, i
		}
	}
	return f
}

// in reports whether b holds the text.
func (f *finder) in(b []byte) bool {
	n := len(f.text)
	c := f.text[f.at]
	lo, hi := f.at, len(b)-(n-1-f.at) // where the byte may be
	for fails := 0; lo < hi; fails++ {
		o := bytes.IndexByte(b[lo:hi], c)
		if o < 0 {
			return false
		}
		start := lo + o - f.at
		if string(b[start:start+n]) == string(f.text) {
			return true
		}
		lo += o + 1
		if fails > 16 {
			return bytes.Contains(b[start+1:], f.text)
		}
	}
	return false
}

// decoded are the CloudTrail fields rules read from the decoded event
// (event.Event.Each) that no column the prefilter reads holds: the
// decoder may fill them from elsewhere than their key, so a record
// lacking the key says nothing about them.
var decoded = map[string]bool{"userAgent": true, "eventType": true, "userIdentity.arn": true, "userIdentity.accountId": true,
	"userIdentity.accessKeyId": true, "userIdentity.principalId": true, "userIdentity.invokedBy": true,
	"userIdentity.sessionContext.sessionIssuer.arn": true, "userIdentity.sessionContext.sessionIssuer.type": true}

// keyOf is the object key every value at path sits under (its last
// segment that is not an array index), quoted; nil when there is none or
// the field is not read from the record alone.
func keyOf(path string) *finder {
	if decoded[path] || strings.HasPrefix(path, "parapet.") {
		return nil
	}
	for path != "" {
		seg := path
		if i := strings.LastIndexByte(path, '.'); i >= 0 {
			seg, path = path[i+1:], path[:i]
		} else {
			path = ""
		}
		if seg != "" && strings.Trim(seg, "0123456789") != "" {
			return newFinder(`"` + seg + `"`)
		}
	}
	return nil
}

// mayMatch reports whether some rule can match the event of row r: false
// only when none can, whatever the row's other fields hold.
func (p *prefilter) mayMatch(r *lake.Row) bool {
	raw := r.Raw
	if r.Source != "cloudtrail" || r.APIOperation == "" || len(raw) == 0 || raw[0] != '{' {
		return true
	}
	j := p.pool.Get().(*judge)
	defer p.pool.Put(j)
	j.key = j.key[:0]
	for _, s := range []string{r.APIOperation, r.APIService, r.ErrorCode, r.ActorType, r.Region} {
		j.key = append(j.key, s...)
		j.key = append(j.key, 0)
	}
	// What was said for these columns and the answers of this record.
	v := j.memo[string(j.key)]
	for v != nil && v.field != "" {
		if v.key.in(raw) {
			v = v.present
		} else {
			v = v.absent
		}
	}
	may := false
	if v != nil {
		may = v.may
	} else {
		may = j.judge(r)
	}
	// The answers hold for a record whose bytes read as its JSON: no
	// escape; and an Insight's fields are not its columns'. Checked only
	// when they would pass the row over.
	return may || bytes.IndexByte(raw, '\\') >= 0 || insight.in(raw)
}

// judge asks MayMatch about row r and files the verdict under the
// answers it was given.
func (j *judge) judge(r *lake.Row) bool {
	raw := r.Raw
	// A column that holds a value is known; an empty one, like any
	// field, is known (absent from the event) when the record lacks the
	// field's key.
	columns := map[string]string{"eventName": r.APIOperation, "eventSource": r.APIService, "errorCode": r.ErrorCode,
		"userIdentity.type": r.ActorType, "awsRegion": r.Region}
	j.ev = event.Event{Source: event.SourceCloudTrail,
		API:   event.API{Operation: r.APIOperation, Service: r.APIService, ErrorCode: r.ErrorCode},
		Actor: event.Actor{Type: r.ActorType}, Cloud: event.Cloud{Provider: "aws", Region: r.Region}}
	j.asked = j.asked[:0]
	may := j.m.MayMatch(&j.ev, func(field string) bool {
		if columns[field] != "" {
			return true
		}
		for _, a := range j.asked {
			if a.field == field {
				return a.absent
			}
		}
		k := keyOf(field)
		if k == nil {
			return false
		}
		a := answer{field, !k.in(raw)}
		j.asked = append(j.asked, a)
		return a.absent
	})
	j.ev = event.Event{}
	root := j.memo[string(j.key)]
	at := &root
	for _, a := range j.asked {
		if *at == nil {
			*at = &verdict{field: a.field, key: keyOf(a.field)}
		}
		if a.absent {
			at = &(*at).absent
		} else {
			at = &(*at).present
		}
	}
	*at = &verdict{may: may}
	if _, ok := j.memo[string(j.key)]; !ok && len(j.memo) >= maxVerdicts {
		clear(j.memo)
	}
	j.memo[string(j.key)] = root
	return may
}
