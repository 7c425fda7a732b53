// Package hunt runs detection over history kept in the lake: Sigma rules
// through the detect engine, unmodified (a retro-hunt with any builtin or
// SigmaHQ rule), threat-intelligence indicators (STIX 2.1, lists, TAXII:
// whatever enrich loads) filed as the live pipeline files them, and CEL
// filters over the lake's promoted columns.
// Partitions are pruned by day, account and region, row groups by their
// time statistics and, for a CEL filter's top-level column == "value"
// conjuncts, by the columns' Bloom filters and then by those columns
// alone (the rest of a row group is read only when a row holds the
// values); one row group is held at a time.
//
// Running rules over every row, a hunt reads of each row group only the
// columns that rebuild a CloudTrail row's event (its source and native
// record) and those the prefilter judges rows by (operation, service,
// error code, actor type, region); a row no rule that makes findings can
// match, judged on those columns and on which keys its record lacks, is
// counted (Stats.PassedOver) and not decoded; the others are decoded and
// run. Rows of other sources, or whose record does not decode, get every
// column. Findings are those of decoding and running every row.
package hunt

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/enrich"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/lake"
)

// Query is one hunt.
type Query struct {
	Filter       lake.Filter // tables, accounts, regions
	Since, Until time.Time   // [Since, Until); zero: unbounded
	// Engine runs rules over every event that passes Where; nil: none
	// (the events that pass Where are the result). Correlation rules are
	// not run: rows come partition by partition, not in event-time order.
	Engine *detect.Engine
	Where  *Filter // nil: every event
	// Intel matches each event's source and destination against
	// indicators valid at the event's time (enrich.Intel.Matches); a
	// match is a finding shaped as the pipeline's (detect.IntelFinding).
	// nil: none.
	Intel *enrich.Intel
	// Workers is how many files are read and matched at once (0: one
	// per core; eight per core for a scan pruned by a CEL filter's
	// column == "value").
	Workers int
	// noPrefilter rebuilds and runs every row that passes Where (tests
	// compare the prefilter's findings with the full run's).
	noPrefilter bool
}

// Stats sum up a hunt.
type Stats struct {
	lake.ScanStats
	Events int64 // rows in the range
	Passed int64 // of those, passing Where (and, hunting intel alone, naming a listed address)
	// PassedOver are the rows of Passed no rule (nor indicator) could
	// match, judged on their promoted columns (see prefilter): counted,
	// not rebuilt. The others were rebuilt and run.
	PassedOver int64
	Findings   int64
}

// Run hunts over l, reading q.Workers files at once (0: one per core).
// emit gets each event that passes Where with what the rules found in it
// (nil without an engine or intel); with an engine or intel, events with
// no finding are not emitted. Hunting intel alone over addresses only (no
// domain indicators), rows whose source and destination addresses match
// no indicator are passed over without rebuilding their event; running
// rules, so are rows no rule can match by their columns (see prefilter).
// emit is called from one goroutine at a time, events of one file in time
// order, files in no order; ev (not what it points to: its strings and
// record, nor found) is valid until emit returns.
func Run(ctx context.Context, l *lake.Lake, q Query, emit func(ev *event.Event, found []detect.Finding) error) (Stats, error) {
	var st Stats
	var mu sync.Mutex // st and emit
	workers := q.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if q.Where != nil && len(q.Where.equal) > 0 {
		eq := maps.Clone(q.Filter.Equal)
		if eq == nil {
			eq = map[string]string{}
		}
		for c, v := range q.Where.equal {
			if prev, seen := eq[c]; seen && prev != v {
				v = "\x00" + prev + "\x00" + v // no row holds both
			}
			eq[c] = v
		}
		q.Filter.Equal = eq
		if q.Workers <= 0 {
			// A pruned scan mostly waits on small reads (footers, Bloom
			// filters, a few pages; on S3 a request each) and holds few
			// rows: more files at once.
			workers = 8 * runtime.GOMAXPROCS(0)
		}
	}
	findings := q.Engine != nil || q.Intel != nil
	// Intel alone over addresses: the promoted src_ip and dst_ip columns
	// say whether a row can match before its event is rebuilt.
	byAddr := q.Engine == nil && q.Intel != nil && q.Intel.Domains() == 0
	// Rules over rows: those no rule can match are passed over (with
	// intel, only when it matches by address).
	var pre *prefilter
	if q.Engine != nil && !q.noPrefilter && (q.Intel == nil || q.Intel.Domains() == 0) {
		pre = newPrefilter(q.Engine)
	}
	// Running rules, a CloudTrail row's event is rebuilt from its native
	// record alone: the scan reads the columns the prefilter and intel
	// read, and reads the others only for rows of other sources (or whose
	// record does not decode). A CEL filter reads any column.
	var first map[string]bool
	if q.Engine != nil && !q.noPrefilter {
		first = maps.Clone(firstColumns)
		if q.Intel != nil {
			first["src_ip"], first["dst_ip"] = true, true
		}
	} else if q.Where != nil && !byAddr && !q.noPrefilter {
		// A CEL hunt: the columns it reads, and what rebuilds an event.
		first = map[string]bool{"time": true, "source": true, "raw": true}
	}
	if first != nil && q.Where != nil {
		maps.Copy(first, q.Where.columns)
	}
	scan, err := l.ScanColumns(ctx, q.Filter, q.Since, q.Until, workers, first, func(rows []lake.Row, full func([]int) ([]lake.Row, error)) error {
		// The rows to rebuild, then their events (an event is a kilobyte:
		// not one for each row passed over).
		sc := scratches.Get().(*scratch)
		defer scratches.Put(sc)
		keep := sc.keep[:0]
		passed, over := 0, 0
		for i := range rows {
			if q.Where != nil {
				ok, err := q.Where.Match(&rows[i])
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
			}
			if byAddr && !q.Intel.MayMatch(rows[i].SrcIP, rows[i].DstIP, time.UnixMilli(rows[i].Time)) {
				continue
			}
			passed++
			if pre != nil && !pre.mayMatch(&rows[i]) &&
				(q.Intel == nil || !q.Intel.MayMatch(rows[i].SrcIP, rows[i].DstIP, time.UnixMilli(rows[i].Time))) {
				over++
				continue
			}
			keep = append(keep, int32(i))
		}
		sc.keep = keep
		evs := slices.Grow(sc.evs[:0], len(keep))[:len(keep)]
		sc.evs = evs
		defer clear(evs)       // what they point to can go
		var more, moreAt []int // rows read in part that need every column; their events
		for k, i := range keep {
			if first != nil {
				if !rows[i].DecodeRaw(&evs[k]) {
					more, moreAt = append(more, int(i)), append(moreAt, k)
				}
				continue
			}
			if err := rows[i].Rebuild(&evs[k]); err != nil {
				return err
			}
		}
		if len(more) > 0 {
			whole, err := full(more)
			if err != nil {
				return err
			}
			for j := range whole {
				if err := whole[j].Rebuild(&evs[moreAt[j]]); err != nil {
					return err
				}
			}
		}
		var b *detect.Batch
		if q.Engine != nil {
			b = q.Engine.DetectInto(evs, &sc.batch)
			defer clear(b.Findings)
		}
		// What was found, by the index of its event (-1: none).
		byEvent := map[int][]detect.Finding{}
		var order []int
		add := func(at int, f detect.Finding) {
			if _, seen := byEvent[at]; !seen {
				order = append(order, at)
			}
			byEvent[at] = append(byEvent[at], f)
		}
		if b != nil {
			for i := range b.Findings {
				add(b.EventOf(i), b.Findings[i])
			}
		}
		if q.Intel != nil {
			for i := range evs {
				for _, m := range q.Intel.Matches(&evs[i]) {
					add(i, detect.IntelFinding(&evs[i], m))
				}
			}
			slices.Sort(order) // events in time order, as without intel
		}
		mu.Lock()
		defer mu.Unlock()
		st.Events += int64(len(rows))
		st.Passed += int64(passed)
		st.PassedOver += int64(over)
		if !findings {
			for i := range evs {
				if err := emit(&evs[i], nil); err != nil {
					return err
				}
			}
			return nil
		}
		for _, at := range order {
			st.Findings += int64(len(byEvent[at]))
			var ev *event.Event
			if at >= 0 {
				ev = &evs[at]
			}
			if err := emit(ev, byEvent[at]); err != nil {
				return err
			}
		}
		return nil
	})
	st.ScanStats = scan
	return st, err
}

// scratch is what a goroutine of Run reuses from one row group to the
// next: an event is a kilobyte.
type scratch struct {
	keep  []int32
	evs   []event.Event
	batch detect.Batch
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

// firstColumns are the columns a hunt running rules reads of every row:
// what rebuilds a CloudTrail row's event and what the prefilter reads
// (and, with intel, the addresses).
var firstColumns = map[string]bool{"time": true, "source": true, "raw": true, "api_operation": true, "api_service": true,
	"error_code": true, "actor_type": true, "cloud_region": true}

// Filter is a compiled CEL expression over a row's promoted columns:
// time (a timestamp), class_uid, activity_id, severity_id, status_id
// (ints), event_uid, source, account_id, region, actor_arn, actor_type,
// principal_id, access_key_id, session_name, session_issuer_arn, src_ip,
// dst_ip, api_service, api_operation, error_code (strings) and
// resource_arns (a list of strings). For example:
//
//	access_key_id == "AKIA…" && api_operation.startsWith("Put")
type Filter struct {
	prg cel.Program
	// equal are the expression's top-level conjuncts column == "value":
	// a row that passes holds them, so the scan prunes by them
	// (lake.Filter.Equal: Bloom filters, then those columns first).
	equal map[string]string
	// columns are the lake columns the expression reads.
	columns map[string]bool
}

// celColumns names the lake column of a string variable where it differs.
var celColumns = map[string]string{"region": "cloud_region"}

// equalities collects the column == "constant" conjuncts of e's top level
// into eq.
func equalities(e celast.Expr, eq map[string]string) {
	if e.Kind() != celast.CallKind {
		return
	}
	call := e.AsCall()
	args := call.Args()
	switch {
	case call.FunctionName() == operators.LogicalAnd:
		for _, a := range args {
			equalities(a, eq)
		}
	case call.FunctionName() == operators.Equals && len(args) == 2:
		id, lit := args[0], args[1]
		if id.Kind() != celast.IdentKind {
			id, lit = lit, id
		}
		if id.Kind() != celast.IdentKind || lit.Kind() != celast.LiteralKind {
			return
		}
		v, ok := lit.AsLiteral().Value().(string)
		name := id.AsIdent()
		if !ok || name == "time" {
			return
		}
		if c, ok := celColumns[name]; ok {
			name = c
		}
		if prev, seen := eq[name]; seen && prev != v {
			v = "\x00" + prev + "\x00" + v // two values: no row holds both; keep a value no row holds
		}
		eq[name] = v
	}
}

// MaxCost bounds one evaluation.
const MaxCost = 100_000

var env = func() *cel.Env {
	opts := []cel.EnvOption{cel.Variable("time", cel.TimestampType), cel.Variable("resource_arns", cel.ListType(cel.StringType))}
	for _, v := range []string{"class_uid", "activity_id", "severity_id", "status_id"} {
		opts = append(opts, cel.Variable(v, cel.IntType))
	}
	for _, v := range []string{"event_uid", "source", "account_id", "region", "actor_arn", "actor_type", "principal_id", "access_key_id",
		"session_name", "session_issuer_arn", "src_ip", "dst_ip", "api_service", "api_operation", "error_code"} {
		opts = append(opts, cel.Variable(v, cel.StringType))
	}
	e, err := cel.NewEnv(opts...)
	if err != nil {
		panic(err) // the declarations above are constant
	}
	return e
}()

// Compile checks and compiles expr, which must be boolean.
func Compile(expr string) (*Filter, error) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, fmt.Errorf("cel: %w", iss.Err())
	}
	if ast.OutputType() != cel.BoolType {
		return nil, fmt.Errorf("cel: %q is %v, want a boolean", expr, ast.OutputType())
	}
	prg, err := env.Program(ast, cel.CostLimit(MaxCost))
	if err != nil {
		return nil, fmt.Errorf("cel: %w", err)
	}
	f := &Filter{prg: prg, equal: map[string]string{}, columns: map[string]bool{}}
	equalities(ast.NativeRep().Expr(), f.equal)
	celast.PostOrderVisit(ast.NativeRep().Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		if e.Kind() == celast.IdentKind {
			name := e.AsIdent()
			if c, ok := celColumns[name]; ok {
				name = c
			}
			f.columns[name] = true
		}
	}))
	return f, nil
}

// Match evaluates the filter on a row.
func (f *Filter) Match(r *lake.Row) (bool, error) {
	arns := r.ResourceARNs
	if arns == nil {
		arns = []string{}
	}
	out, _, err := f.prg.Eval(map[string]any{
		"time": time.UnixMilli(r.Time).UTC(), "resource_arns": arns,
		"class_uid": int64(r.ClassUID), "activity_id": int64(r.ActivityID), "severity_id": int64(r.SeverityID), "status_id": int64(r.StatusID),
		"event_uid": r.EventUID, "source": r.Source, "account_id": r.Account, "region": r.Region, "actor_arn": r.ActorARN,
		"actor_type": r.ActorType, "principal_id": r.PrincipalID, "access_key_id": r.AccessKeyID, "session_name": r.SessionName,
		"session_issuer_arn": r.SessionIssuerARN, "src_ip": r.SrcIP, "dst_ip": r.DstIP, "api_service": r.APIService,
		"api_operation": r.APIOperation, "error_code": r.ErrorCode,
	})
	if err != nil {
		return false, fmt.Errorf("cel: event %s: %w", r.EventUID, err)
	}
	b, _ := out.Value().(bool)
	return b, nil
}
