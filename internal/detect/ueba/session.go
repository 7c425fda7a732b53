package ueba

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
)

// A session is what one set of credentials did without a long pause: the
// calls of one access key (a long-term AKIA key, or the temporary ASIA key
// of a role session), else of one assumed-role session (role and session
// name), else of the principal (also its console sign-ins and session
// tokens, whose temporary keys change from call to call). It ends when
// none of its calls come for Config.SessionGap of its account's event
// time. Its anomalous calls make one finding, which grows while the
// session lasts: its id is fixed by its first anomalous call, its event
// ids, factors, level, score, title and techniques are the whole
// session's. Only open sessions with an anomaly are kept (a principal
// carries a pointer, nil for nearly all of them).
type session struct {
	ent  *entity
	acct *account
	// a, b name the session: an access key id (b empty); a role (or
	// principal) ARN and a session name; both empty: the principal.
	a, b        string
	first, last int64 // the first anomalous call's event time; the session's newest call
	idx         int   // in Engine.open
	next        *session
	// reported: an anomaly of the session was reportable (a mature
	// baseline, or a first high-risk action), so its finding is out;
	// until then its anomalies wait in it (an immature baseline).
	reported bool
	mature   bool // some anomaly was judged against a mature baseline
	n        int  // anomalous calls
	// raw and calibrated are the strongest anomalous call's scores.
	raw, calibrated float64
	factors         []factor // merged: the strongest of each kind, strongest first
	dropped         int      // factors left out past maxSessionFactors
	f               detect.Finding
}

const (
	// maxSessionFactors bounds the factors a session's finding explains;
	// how many more there were is said.
	maxSessionFactors = 10
	// maxSessionSpan: a key used without pause for longer than the
	// longest STS session (12 hours) starts a new finding, so that an
	// always-busy key's anomalies a day apart are not one finding.
	maxSessionSpan = 12 * 3600
)

// temporaryCredentials names the session of an IAM user's or root's
// temporary credentials.
const temporaryCredentials = "temporary credentials"

// sessionKey names ev's session. An IAM user's or root's temporary keys
// (a console sign-in, a session token) change from call to call, so they
// make one session of the principal's, not one each.
func sessionKey(ev *event.Event) (a, b string) {
	ac := &ev.Actor
	switch {
	case strings.HasPrefix(ac.AccessKeyID, "ASIA") && (ac.Type == "IAMUser" || ac.Type == "Root"):
		return temporaryCredentials, ""
	case ac.AccessKeyID != "":
		return ac.AccessKeyID, ""
	case ac.SessionName != "":
		if ac.SessionIssuerARN != "" {
			return ac.SessionIssuerARN, ac.SessionName
		}
		return ac.ARN, ac.SessionName
	}
	return "", ""
}

// expired says whether s has ended by its account's event time.
func (e *Engine) expired(s *session) bool {
	now := s.acct.maxT
	return now-s.last > e.gap || now-s.first > maxSessionSpan
}

// touch keeps ev's open session alive and closes the principal's sessions
// that ended (most principals have none: the caller checks).
func (e *Engine) touch(ev *event.Event, ent *entity, t int64) {
	a, b := sessionKey(ev)
	for s := ent.sess; s != nil; {
		next := s.next
		switch {
		case e.expired(s):
			e.close(s)
		case s.a == a && s.b == b && t > s.last:
			s.last = t
		}
		s = next
	}
}

// sessionOf is ev's open session, opened when there is none.
func (e *Engine) sessionOf(ev *event.Event, ent *entity, acct *account, t int64) *session {
	a, b := sessionKey(ev)
	for s := ent.sess; s != nil; s = s.next {
		if s.a == a && s.b == b {
			return s
		}
	}
	s := &session{ent: ent, acct: acct, a: strings.Clone(a), b: strings.Clone(b), first: t, last: t, idx: len(e.open), next: ent.sess}
	ent.sess = s
	e.open = append(e.open, s)
	return s
}

// close ends s: its finding, when reported, is final (kept for Closed
// when the caller asked for final findings); its anomalies, when not, were
// held back.
func (e *Engine) close(s *session) {
	for p := &s.ent.sess; *p != nil; p = &(*p).next {
		if *p == s {
			*p = s.next
			break
		}
	}
	last := len(e.open) - 1
	e.open[s.idx] = e.open[last]
	e.open[s.idx].idx = s.idx
	e.open[last] = nil
	e.open = e.open[:last]
	switch {
	case !s.reported:
		e.stats.Held += int64(s.n)
	case e.cfg.Final:
		e.closed = append(e.closed, s.f)
	}
}

// sweep closes the sessions that ended by their accounts' event time.
func (e *Engine) sweep() {
	for i := 0; i < len(e.open); {
		if s := e.open[i]; e.expired(s) {
			e.close(s) // moves the last session to i
			continue
		}
		i++
	}
}

// Closed appends to dst the findings of the sessions that ended since the
// last call, in their final state, in the order of their first anomalous
// call. Only with Config.Final; parapet detect and eval call it after each
// batch of events, and Flush at the end of the input.
func (e *Engine) Closed(dst []detect.Finding) []detect.Finding {
	e.sweep()
	return e.drain(dst)
}

// Flush ends every open session and appends their findings (Config.Final),
// with those of the sessions that ended before, to dst: the end of the
// input.
func (e *Engine) Flush(dst []detect.Finding) []detect.Finding {
	for len(e.open) > 0 {
		e.close(e.open[len(e.open)-1])
	}
	return e.drain(dst)
}

func (e *Engine) drain(dst []detect.Finding) []detect.Finding {
	slices.SortStableFunc(e.closed, func(x, y detect.Finding) int {
		if c := x.Time.Compare(y.Time); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	dst = append(dst, e.closed...)
	clear(e.closed)
	e.closed = e.closed[:0]
	return dst
}

// Open is how many sessions with an anomaly are open.
func (e *Engine) Open() int { return len(e.open) }

// add puts an anomalous call into its session: its event id, its factors
// (in words), its scores; then the finding says the whole session.
func (e *Engine) add(s *session, ev *event.Event, ent *entity, factors []factor, raw, calibrated float64, immature bool) {
	s.n++
	if s.n == 1 {
		s.f = own(detect.FromEvent(ev))
		s.f.Source = "ueba"
		s.f.ID = detect.FindingID("ueba.session", []string{ev.ID})
		s.f.FirstSeen, s.f.LastSeen = ev.Time, ev.Time
	}
	if len(s.f.EventIDs) < detect.MaxEventIDs && !slices.Contains(s.f.EventIDs, ev.ID) {
		s.f.EventIDs = append(s.f.EventIDs, strings.Clone(ev.ID))
	}
	if ev.Time.After(s.f.LastSeen) {
		s.f.LastSeen = ev.Time
	}
	s.raw, s.calibrated = max(s.raw, raw), max(s.calibrated, calibrated)
	s.mature = s.mature || !immature
	for i := range factors {
		fc := factors[i]
		if fc.feature >= 0 && fc.text == "" {
			fc.value = featureValue(ev, ent, fc.feature)
			fc.text = e.words(ent, &fc)
		}
		fc.value = strings.Clone(fc.value)
		e.merge(s, fc)
	}
	e.render(s)
}

// merge keeps the strongest factor of each kind, strongest first, at most
// maxSessionFactors of them.
func (e *Engine) merge(s *session, fc factor) {
	at := -1
	for i := range s.factors {
		if sameKind(&s.factors[i], &fc) {
			at = i
			break
		}
	}
	switch {
	case at >= 0 && fc.score <= s.factors[at].score:
		return
	case at >= 0:
		s.factors[at] = fc
	default:
		s.factors = append(s.factors, fc)
	}
	slices.SortStableFunc(s.factors, func(x, y factor) int {
		switch {
		case x.score > y.score:
			return -1
		case x.score < y.score:
			return 1
		}
		return 0
	})
	if len(s.factors) > maxSessionFactors {
		s.factors = s.factors[:maxSessionFactors]
		s.dropped++
	}
}

// sameKind: two factors that say the same thing (of one feature's value;
// of the session's recon, burst or hour; of one volume metric) count once.
func sameKind(x, y *factor) bool {
	if x.model != y.model {
		return false
	}
	switch x.model {
	case "session", "recon", "time":
		return true
	case "volume":
		_, mx, _ := strings.Cut(x.value, " ")
		_, my, _ := strings.Cut(y.value, " ")
		return mx == my
	}
	return x.feature == y.feature && x.value == y.value
}

// render makes the session's finding say the whole session.
func (e *Engine) render(s *session) {
	f, ent, acct := &s.f, s.ent, s.acct
	top := s.factors[0]
	f.RuleID = "ueba." + top.model
	f.Score = s.calibrated
	f.Count = s.n
	f.Title = "Unusual behaviour: " + ent.name + " — " + headline(top)
	if len(s.factors) > 1 {
		f.Title += "; " + headline(s.factors[1])
	}
	if s.n > 1 {
		f.Title += fmt.Sprintf(" (%d anomalous calls in one session)", s.n)
	}
	f.Description = fmt.Sprintf("Behavioural anomaly: %d anomalous calls in one session of %s; the strongest scored %.1f raw (the sum of its factors' -log10 probabilities), as rare as %.1f on the account's scale of recent events.",
		s.n, ent.name, s.raw, s.calibrated)
	f.Summary = fmt.Sprintf("%s: %d anomalous calls in one session, the strongest: %s", ent.name, s.n, headline(top))
	switch {
	case !s.mature:
		f.Level = "low"
	case s.raw >= 2.6*e.cfg.MinRaw:
		f.Level = "critical"
	case s.raw >= 1.7*e.cfg.MinRaw:
		f.Level = "high"
	default:
		f.Level = "medium"
	}
	f.Attack.Techniques = f.Attack.Techniques[:0]
	for _, fc := range s.factors {
		for _, t := range fc.attack {
			if !slices.Contains(f.Attack.Techniques, t) {
				f.Attack.Techniques = append(f.Attack.Techniques, t)
			}
		}
	}
	f.Attack.Tactics = tacticsFor(f.Attack.Techniques)
	ex := f.Explanation[:0]
	prior := false
	for _, fc := range s.factors {
		name := ""
		if fc.feature >= 0 {
			name = featNames[fc.feature]
		}
		ex = append(ex, detect.Evidence{Selection: fc.model, Field: name, Value: fc.value, Detail: fc.text, Score: fc.score})
		prior = prior || fc.priorWeight >= 0.2
	}
	if s.dropped > 0 {
		ex = append(ex, detect.Evidence{Selection: "session", Field: "factors", Value: fmt.Sprintf("%d more", s.dropped),
			Detail: fmt.Sprintf("%d more factors of the session's calls, each weaker than those above, are not listed", s.dropped)})
	}
	listed := ""
	if s.n > len(f.EventIDs) {
		listed = fmt.Sprintf("; the first %d are listed by event id, %d more are not", len(f.EventIDs), s.n-len(f.EventIDs))
	}
	ex = append(ex, detect.Evidence{Selection: "session", Field: "calls", Value: fmt.Sprintf("%d anomalous calls", s.n),
		Detail: fmt.Sprintf("%s made %d anomalous calls in one session (%s) from %s to %s UTC%s", ent.name, s.n, sessionWords(s),
			f.FirstSeen.UTC().Format("2006-01-02 15:04"), f.LastSeen.UTC().Format("15:04"), listed)})
	ex = append(ex, e.principalBaseline(ent))
	if prior {
		ex = append(ex, detect.Evidence{Selection: "baseline", Field: "account", Value: "global prior",
			Detail: fmt.Sprintf("the account has too short a history to judge some of these calls alone (%d calls by its principals): the global priors (how many principals in a typical account ever make a call) weighed in", acct.all.n)})
	}
	if !s.mature {
		days := float64(acct.maxT-acct.first) / 86400
		ex = append(ex, detect.Evidence{Selection: "baseline", Field: "maturity", Value: "immature",
			Detail: fmt.Sprintf("the account's baseline is immature: %d events from %d principals over %.1f days (mature at %.0f days and %d events), so this finding is reported at low severity",
				acct.all.n, acct.all.members, days, e.cfg.Warmup.Hours()/24, e.cfg.MatureEvents)})
	}
	f.Explanation = ex
}

// sessionWords names a session.
func sessionWords(s *session) string {
	switch {
	case s.b != "":
		return "role session " + s.b + " of " + s.a
	case s.a == temporaryCredentials:
		return "its temporary credentials: a console sign-in or a session token"
	case strings.HasPrefix(s.a, "ASIA"):
		return "temporary access key " + s.a
	case s.a != "":
		return "access key " + s.a
	}
	return "no access key or session named"
}

// snapshot is a copy of the session's finding that shares nothing the
// engine changes later.
func snapshot(f *detect.Finding) *detect.Finding {
	g := *f
	g.EventIDs = slices.Clone(f.EventIDs)
	g.Explanation = slices.Clone(f.Explanation)
	g.Attack.Techniques = slices.Clone(f.Attack.Techniques)
	g.Attack.Tactics = slices.Clone(f.Attack.Tactics)
	return &g
}

// own copies what a finding made from an event shares with the event's
// input chunk: the session keeps it past the chunk.
func own(f detect.Finding) detect.Finding {
	g := f
	g.EventIDs = nil
	g.Cloud = event.Cloud{Provider: strings.Clone(f.Cloud.Provider), Partition: strings.Clone(f.Cloud.Partition),
		Account: strings.Clone(f.Cloud.Account), Region: strings.Clone(f.Cloud.Region), Zone: strings.Clone(f.Cloud.Zone)}
	ac := &g.Actor
	for _, p := range []*string{&ac.Type, &ac.ARN, &ac.PrincipalID, &ac.Account, &ac.UserName, &ac.AccessKeyID,
		&ac.SessionIssuerARN, &ac.SessionIssuerType, &ac.SessionName, &ac.InvokedBy} {
		*p = strings.Clone(*p)
	}
	g.SrcIP = strings.Clone(f.SrcIP)
	g.Summary = ""
	if len(f.Resources) > 0 {
		g.Resources = make([]event.Resource, len(f.Resources))
		for i, r := range f.Resources {
			g.Resources[i] = event.Resource{Type: strings.Clone(r.Type), UID: strings.Clone(r.UID), Name: strings.Clone(r.Name), Account: strings.Clone(r.Account)}
		}
	}
	g.Record = slices.Clone(f.Record)
	return g
}

// sessionGap is the default idle time that ends a session.
const sessionGap = time.Hour
