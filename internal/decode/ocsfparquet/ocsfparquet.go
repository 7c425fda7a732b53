// Package ocsfparquet reads OCSF records from Parquet files, as AWS
// Security Lake stores the logs it collects (CloudTrail management events,
// VPC Flow Logs, Security Hub findings, …) under
//
//	aws/<SOURCE>/<version>/region=<r>/accountId=<a>/eventDay=<YYYYMMDD>/<file>.parquet
//
// into normalized events, so that Parapet runs on a Security Lake
// deployment. A record is assembled from its columns, whatever nested
// schema the file has (Security Lake's source versions 1 and 2 differ:
// OCSF 1.0.0-rc.2 and 1.1.0), then mapped back to the native shape
// Parapet's decoders and rules read: a CloudTrail call becomes the
// CloudTrail record it was made from (userIdentity, eventName,
// requestParameters from api.request.data, the unmapped members), a flow
// becomes a flow log line, a Security Hub finding an ASFF finding; other
// records keep their OCSF JSON as the native record.
package ocsfparquet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"

	"github.com/parapet-sec/parapet/internal/decode"
	"github.com/parapet-sec/parapet/internal/event"
)

// Magic starts (and ends) every Parquet file.
const Magic = "PAR1"

// Is says whether head starts a Parquet file.
func Is(head []byte) bool { return bytes.HasPrefix(head, []byte(Magic)) }

// ErrNotOCSF marks a Parquet file whose schema is not OCSF's.
var ErrNotOCSF = errors.New("a Parquet file, but not OCSF records (no class_uid, time and metadata columns)")

// File is an open Parquet file of OCSF records.
type File struct {
	name   string
	size   int64
	pf     *parquet.File
	leaves []leaf
	top    int // top-level fields
}

// Open reads the footer of the Parquet file r of size bytes, named name in
// errors, and checks that its records are OCSF. Errors are *decode.Error.
func Open(r io.ReaderAt, size int64, name string) (f *File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, &decode.Error{File: name, Offset: max(size-8, 0), Err: fmt.Errorf("corrupt Parquet footer: %v", p)}
		}
	}()
	pf, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, &decode.Error{File: name, Offset: max(size-8, 0), Err: fmt.Errorf("parquet: %w", err)}
	}
	root := pf.Schema()
	for _, c := range []string{"class_uid", "time", "metadata"} {
		if !hasField(root, c) {
			return nil, &decode.Error{File: name, Offset: 0, Err: ErrNotOCSF}
		}
	}
	f = &File{name: name, size: size, pf: pf}
	f.leaves = leavesOf(root)
	f.top = len(root.Fields())
	return f, nil
}

func hasField(n parquet.Node, name string) bool {
	for _, f := range n.Fields() {
		if f.Name() == name {
			return true
		}
	}
	return false
}

// NumRows is the number of records in the file.
func (f *File) NumRows() int64 { return f.pf.NumRows() }

// Each decodes every record in file order and calls emit with its event
// (valid until emit returns); fail gets each record that cannot be mapped
// (skipped records, asff.ErrSkipped, included) and each stretch of the
// file that cannot be read, located by file offset (the row group's first
// page) and row number. Each returns emit's first error.
func (f *File) Each(emit func(*event.Event) error, fail func(*decode.Error)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			fail(&decode.Error{File: f.name, Offset: max(f.size-8, 0), Err: fmt.Errorf("corrupt Parquet metadata: %v", p)})
			err = nil
		}
	}()
	rowBase := int64(0)
	for gi, rg := range f.pf.RowGroups() {
		off := groupOffset(f.pf, gi)
		_, err := f.group(rg, rowBase, off, emit, fail)
		rowBase += rg.NumRows()
		if err != nil {
			var de *decode.Error
			if errors.As(err, &de) {
				// The rest of this row group cannot be read: reported,
				// the next one is tried.
				fail(de)
				continue
			}
			return err
		}
	}
	return nil
}

// groupOffset is the file offset of a row group's first page.
func groupOffset(pf *parquet.File, i int) int64 {
	md := pf.Metadata()
	if i >= len(md.RowGroups) || len(md.RowGroups[i].Columns) == 0 {
		return 0
	}
	c := md.RowGroups[i].Columns[0].MetaData
	off := c.DataPageOffset
	if c.DictionaryPageOffset > 0 && c.DictionaryPageOffset < off {
		off = c.DictionaryPageOffset
	}
	return off
}

// emitErr wraps an error of emit, to tell it from bad input.
type emitErr struct{ error }

func (f *File) group(rg parquet.RowGroup, rowBase, off int64, emit func(*event.Event) error, fail func(*decode.Error)) (n int64, err error) {
	bad := func(row int64, e error) *decode.Error {
		return &decode.Error{File: f.name, Offset: off, Err: fmt.Errorf("row %d: %w", row, e)}
	}
	defer func() {
		if p := recover(); p != nil {
			err = bad(rowBase+n, fmt.Errorf("corrupt Parquet data: %v", p))
		}
		var ee emitErr
		if errors.As(err, &ee) {
			err = ee.error
		}
	}()
	rows := rg.Rows()
	defer rows.Close()
	buf := make([]parquet.Row, 64)
	var ev event.Event
	for {
		k, rerr := rows.ReadRows(buf)
		for i := range k {
			rec, aerr := f.assemble(buf[i])
			row := rowBase + n
			n++
			if aerr != nil {
				fail(bad(row, aerr))
				continue
			}
			if merr := Map(rec, &ev); merr != nil {
				fail(bad(row, merr))
				continue
			}
			if eerr := emit(&ev); eerr != nil {
				return n, emitErr{eerr}
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, bad(rowBase+n, fmt.Errorf("parquet: %w", rerr))
		}
	}
}

// A leaf is one column and the path from the root to it.
type leaf struct {
	steps []step
	conv  func(parquet.Value) any
}

// A step is one node on a leaf's path.
type step struct {
	name     string
	def      int  // the definition level at which this node is present
	rep      int  // the repetition level of this node, when repeated
	repeated bool // an element of a list: indexes the array its parent holds
	array    bool // holds an array (a LIST or MAP group, or a repeated field's parent key)
	isMap    bool // a MAP group: key_value elements become an object
	item     bool // the element node of a LIST: the item itself, unnamed
	leaf     bool
	fields   int // a group's fields: the size of its object
}

// leavesOf lists the leaves of a schema in column order.
func leavesOf(root parquet.Node) []leaf {
	var out []leaf
	var walk func(n parquet.Node, name string, path []step, def, rep int, parentList bool, parentRepeated bool)
	walk = func(n parquet.Node, name string, path []step, def, rep int, parentList, parentRepeated bool) {
		s := step{name: name}
		switch {
		case n.Repeated():
			def++
			rep++
			s.repeated, s.rep = true, rep
		case n.Optional():
			def++
		}
		s.def = def
		if parentRepeated && parentList {
			s.item = true
		}
		if !n.Leaf() {
			if lt := n.Type().LogicalType(); lt != nil {
				switch lt.Value.(type) {
				case *format.ListType:
					s.array = true
				case *format.MapType:
					s.array, s.isMap = true, true
				}
			}
		}
		if n.Leaf() {
			s.leaf = true
		} else {
			s.fields = len(n.Fields())
		}
		path = append(path[:len(path):len(path)], s)
		if n.Leaf() {
			out = append(out, leaf{steps: path, conv: converter(n)})
			return
		}
		fields := n.Fields()
		for _, c := range fields {
			// A LIST's repeated child with one field: that field is the
			// item (three-level lists); a MAP's key_value pairs are kept as
			// objects and turned into one object once assembled.
			walk(c, c.Name(), path, def, rep, s.repeated && len(fields) == 1 && len(path) > 1 && path[len(path)-2].array && !path[len(path)-2].isMap, s.repeated)
		}
	}
	for _, c := range root.Fields() {
		walk(c, c.Name(), nil, 0, 0, false, false)
	}
	return out
}

// converter makes a leaf's values Go values: strings, int64 (timestamps
// as milliseconds since the epoch), float64, bool.
func converter(n parquet.Node) func(parquet.Value) any {
	t := n.Type()
	var unit int64 // divisor to milliseconds; 0: not a timestamp
	if lt := t.LogicalType(); lt != nil {
		switch v := lt.Value.(type) {
		case *format.TimestampType:
			switch v.Unit.Value.(type) {
			case *format.MicroSeconds:
				unit = 1000
			case *format.NanoSeconds:
				unit = 1_000_000
			default:
				unit = 1
			}
		}
	}
	return func(v parquet.Value) any {
		switch v.Kind() {
		case parquet.Boolean:
			return v.Boolean()
		case parquet.Int32:
			return int64(v.Int32())
		case parquet.Int64:
			if unit > 1 {
				return v.Int64() / unit
			}
			return v.Int64()
		case parquet.Int96:
			return int96Millis(v.Int96())
		case parquet.Float:
			return float64(v.Float())
		case parquet.Double:
			return v.Double()
		case parquet.ByteArray, parquet.FixedLenByteArray:
			return string(v.ByteArray())
		}
		return nil
	}
}

// int96Millis reads a legacy INT96 timestamp (nanoseconds of the day,
// Julian day).
func int96Millis(v deprecated.Int96) int64 {
	nanos := int64(v[1])<<32 | int64(v[0])
	day := int64(v[2])
	return (day-2440588)*86_400_000 + nanos/1_000_000
}

// list is an array under assembly; isMap: a MAP's key_value pairs.
type list struct {
	items []any
	isMap bool
}

// assemble rebuilds a record from a row's leaf values (Dremel's record
// assembly, leaf by leaf).
func (f *File) assemble(row parquet.Row) (map[string]any, error) {
	rec := make(map[string]any, f.top)
	col := -1
	var idx []int // per repetition level, the current index
	for _, v := range row {
		c := v.Column()
		if c < 0 || c >= len(f.leaves) {
			return nil, fmt.Errorf("value of column %d: the schema has %d", c, len(f.leaves))
		}
		if c != col {
			col = c
			idx = idx[:0]
		}
		lf := &f.leaves[c]
		r, d := v.RepetitionLevel(), v.DefinitionLevel()
		// Indexes: levels deeper than r start again, level r moves on.
		for len(idx) < r {
			idx = append(idx, 0)
		}
		if r > 0 {
			idx = idx[:r]
			idx[r-1]++
		}
		if err := insert(rec, lf, idx, d, v); err != nil {
			return nil, err
		}
	}
	return finish(rec).(map[string]any), nil
}

// slot is where a value goes: a key of an object or an index of a list.
type slot struct {
	m   map[string]any
	key string
	l   *list
	i   int
}

func (s slot) get() any {
	if s.l != nil {
		return s.l.items[s.i]
	}
	return s.m[s.key]
}

func (s slot) set(v any) {
	if s.l != nil {
		s.l.items[s.i] = v
	} else {
		s.m[s.key] = v
	}
}

// insert places one leaf value at its path: idx holds the list indexes
// of its repetition levels, d its definition level.
func insert(rec map[string]any, lf *leaf, idx []int, d int, v parquet.Value) error {
	var in any = rec // what the next step is a member of
	var at slot
	for i := range lf.steps {
		s := &lf.steps[i]
		switch {
		case s.item:
			// The element of a list: the slot the repeated node chose.
			if d < s.def {
				return nil
			}
		case s.repeated:
			var l *list
			switch c := in.(type) {
			case *list:
				l = c
			case map[string]any: // a repeated field of a group (two-level list)
				l, _ = c[s.name].(*list)
				if l == nil {
					l = &list{}
					c[s.name] = l
				}
			default:
				return fmt.Errorf("column %s: inconsistent nesting", pathName(lf))
			}
			if d < s.def {
				return nil // an empty list
			}
			k := 0
			if s.rep-1 < len(idx) {
				k = idx[s.rep-1]
			}
			if k > 1<<20 {
				return fmt.Errorf("column %s: list of over %d items", pathName(lf), 1<<20)
			}
			for len(l.items) <= k {
				l.items = append(l.items, nil)
			}
			at = slot{l: l, i: k}
		default:
			m, ok := in.(map[string]any)
			if !ok {
				return fmt.Errorf("column %s: inconsistent nesting", pathName(lf))
			}
			if d < s.def {
				return nil // null: left out, as JSON would drop it
			}
			at = slot{m: m, key: s.name}
		}
		if s.leaf {
			at.set(lf.conv(v))
			return nil
		}
		if i+1 < len(lf.steps) && lf.steps[i+1].item {
			continue // the item fills this slot
		}
		if at.get() == nil {
			at.set(newNode(s))
		}
		in = at.get()
	}
	return nil
}

func newNode(s *step) any {
	if s.array {
		return &list{isMap: s.isMap}
	}
	return make(map[string]any, s.fields)
}

func pathName(lf *leaf) string {
	var names []string
	for _, s := range lf.steps {
		names = append(names, s.name)
	}
	return strings.Join(names, ".")
}

// finish turns lists into slices and MAP key_value lists into objects.
func finish(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = finish(e)
		}
		return x
	case *list:
		out := make([]any, len(x.items))
		for i, e := range x.items {
			out[i] = finish(e)
		}
		if x.isMap {
			obj := make(map[string]any, len(out))
			for _, e := range out {
				if m, ok := e.(map[string]any); ok && m["key"] != nil {
					obj[fmt.Sprint(m["key"])] = m["value"]
				}
			}
			return obj
		}
		return out
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil // not JSON
		}
	}
	return v
}
