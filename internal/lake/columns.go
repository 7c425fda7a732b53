package lake

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"unsafe"

	"github.com/parquet-go/parquet-go"
)

// A scan reads a row group column by column, page by page, into Rows:
// parquet-go's generic reader assembles each row as a parquet.Row and
// then a Go value by reflection, which was most of a hunt's time. Every
// column but ocsf is read (hunting rebuilds events from the native record
// and the promoted columns); values are copied into one arena per row
// group, so that rows outlive the file's pages.

// columnSetters fill a Row field from a value of a top-level column.
var columnSetters = map[string]func(r *Row, v parquet.Value, a *arena){
	"time":               func(r *Row, v parquet.Value, _ *arena) { r.Time = v.Int64() },
	"class_uid":          func(r *Row, v parquet.Value, _ *arena) { r.ClassUID = v.Int32() },
	"class_name":         func(r *Row, v parquet.Value, a *arena) { r.ClassName = a.value(v) },
	"activity_id":        func(r *Row, v parquet.Value, _ *arena) { r.ActivityID = v.Int32() },
	"severity_id":        func(r *Row, v parquet.Value, _ *arena) { r.SeverityID = v.Int32() },
	"severity":           func(r *Row, v parquet.Value, a *arena) { r.Severity = a.value(v) },
	"status_id":          func(r *Row, v parquet.Value, _ *arena) { r.StatusID = v.Int32() },
	"event_uid":          func(r *Row, v parquet.Value, a *arena) { r.EventUID = a.value(v) },
	"source":             func(r *Row, v parquet.Value, a *arena) { r.Source = a.value(v) },
	"account_id":         func(r *Row, v parquet.Value, a *arena) { r.Account = a.value(v) },
	"cloud_region":       func(r *Row, v parquet.Value, a *arena) { r.Region = a.value(v) },
	"actor_arn":          func(r *Row, v parquet.Value, a *arena) { r.ActorARN = a.value(v) },
	"actor_type":         func(r *Row, v parquet.Value, a *arena) { r.ActorType = a.value(v) },
	"principal_id":       func(r *Row, v parquet.Value, a *arena) { r.PrincipalID = a.value(v) },
	"access_key_id":      func(r *Row, v parquet.Value, a *arena) { r.AccessKeyID = a.value(v) },
	"session_name":       func(r *Row, v parquet.Value, a *arena) { r.SessionName = a.value(v) },
	"session_issuer_arn": func(r *Row, v parquet.Value, a *arena) { r.SessionIssuerARN = a.value(v) },
	"src_ip":             func(r *Row, v parquet.Value, a *arena) { r.SrcIP = a.value(v) },
	"dst_ip":             func(r *Row, v parquet.Value, a *arena) { r.DstIP = a.value(v) },
	"api_service":        func(r *Row, v parquet.Value, a *arena) { r.APIService = a.value(v) },
	"api_operation":      func(r *Row, v parquet.Value, a *arena) { r.APIOperation = a.value(v) },
	"error_code":         func(r *Row, v parquet.Value, a *arena) { r.ErrorCode = a.value(v) },
	"raw":                func(r *Row, v parquet.Value, a *arena) { r.Raw = a.bytes(v.ByteArray()) },
	"raw_elided":         func(r *Row, v parquet.Value, _ *arena) { r.RawElided = v.Int32() },
	"resource_arns":      func(r *Row, v parquet.Value, a *arena) { r.ResourceARNs = append(r.ResourceARNs, a.value(v)) },
}

// columnKind is the physical type of a column a setter reads: a file
// whose column of that name has another (not one Parapet wrote) is an
// error, not values read as what they are not.
func columnKind(name string) parquet.Kind {
	switch name {
	case "time":
		return parquet.Int64
	case "class_uid", "activity_id", "severity_id", "status_id", "raw_elided":
		return parquet.Int32
	}
	return parquet.ByteArray
}

// scanColumn returns the setter of a leaf column and its schema entry; nil
// for the columns a scan does not read.
func scanColumn(schema *parquet.Schema, path []string, only map[string]bool) (func(*Row, parquet.Value, *arena), parquet.LeafColumn, error) {
	set := columnSetters[path[0]]
	if set == nil || only != nil && !only[path[0]] {
		return nil, parquet.LeafColumn{}, nil // ocsf, or a column this version does not know
	}
	leaf, _ := schema.Lookup(path...)
	if k := leaf.Node.Type().Kind(); k != columnKind(path[0]) {
		return nil, leaf, fmt.Errorf("column %s is %v, want %v", path[0], k, columnKind(path[0]))
	}
	return set, leaf, nil
}

// value is a byte-array value's text in a; the same text as the previous
// value (a dictionary column, rows sorted by time) is not copied again.
func (a *arena) value(v parquet.Value) string {
	b := v.ByteArray()
	if len(b) == 0 {
		return ""
	}
	if a.last != "" && a.last == unsafe.String(&b[0], len(b)) {
		return a.last
	}
	a.last = a.str(unsafe.String(&b[0], len(b)))
	return a.last
}

// stringColumns are the promoted columns of one string each, which
// Filter.Equal may name.
var stringColumns = map[string]bool{}

func init() {
	for c := range columnSetters {
		switch c {
		case "time", "class_uid", "activity_id", "severity_id", "status_id", "raw", "resource_arns", "raw_elided":
		default:
			stringColumns[c] = true
		}
	}
}

// equal reports whether r holds every (column, value) pair (a slice, not
// a map: a scan tests every row of a row group, and a map's iteration
// costs more than the test).
func (r *Row) equal(eq [][2]string) bool {
	for _, cv := range eq {
		if r.column(cv[0]) != cv[1] {
			return false
		}
	}
	return true
}

// column is the value of a promoted string column.
func (r *Row) column(name string) string {
	switch name {
	case "class_name":
		return r.ClassName
	case "severity":
		return r.Severity
	case "event_uid":
		return r.EventUID
	case "source":
		return r.Source
	case "account_id":
		return r.Account
	case "cloud_region":
		return r.Region
	case "actor_arn":
		return r.ActorARN
	case "actor_type":
		return r.ActorType
	case "principal_id":
		return r.PrincipalID
	case "access_key_id":
		return r.AccessKeyID
	case "session_name":
		return r.SessionName
	case "session_issuer_arn":
		return r.SessionIssuerARN
	case "src_ip":
		return r.SrcIP
	case "dst_ip":
		return r.DstIP
	case "api_service":
		return r.APIService
	case "api_operation":
		return r.APIOperation
	case "error_code":
		return r.ErrorCode
	}
	return ""
}

// readRowGroup reads the rows of rg (in file) into rows, which it returns
// (grown as needed): the columns named in only (nil: every column but
// ocsf).
func readRowGroup(file string, rg parquet.RowGroup, rows []Row, only map[string]bool) ([]Row, error) {
	only = rawColumns(only)
	n := int(rg.NumRows())
	rows = append(rows[:0], make([]Row, n)...)
	schema := rg.Schema()
	chunks := rg.ColumnChunks()
	var a arena
	vals := make([]parquet.Value, 1024)
	for _, path := range schema.Columns() {
		set, leaf, err := scanColumn(schema, path, only)
		if err != nil {
			return nil, fmt.Errorf("lake: read %s: %w", file, err)
		}
		if set == nil {
			continue
		}
		repeated := leaf.MaxRepetitionLevel > 0
		a.last = ""
		at := -1
		// The native records are not copied: they keep their pages,
		// which are not released to parquet-go's pool (most of a row
		// group's bytes, read once).
		keep := path[0] == "raw"
		release := func(p parquet.Page) {
			if !keep {
				parquet.Release(p)
			}
		}
		pages := chunks[leaf.ColumnIndex].Pages()
		err = func() error {
			defer pages.Close()
			for {
				p, err := pages.ReadPage()
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return err
				}
				vr := p.Values()
				for {
					k, err := vr.ReadValues(vals)
					for _, v := range vals[:k] {
						if !repeated || v.RepetitionLevel() == 0 {
							at++
						}
						if at >= n {
							release(p)
							return fmt.Errorf("column %s holds more than the row group's %d rows", path[0], n)
						}
						if v.DefinitionLevel() == leaf.MaxDefinitionLevel && !v.IsNull() {
							if keep {
								b := v.ByteArray()
								rows[at].Raw = b[:len(b):len(b)]
								continue
							}
							set(&rows[at], v, &a)
						}
					}
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						release(p)
						return err
					}
				}
				release(p)
			}
		}()
		if err != nil {
			return nil, fmt.Errorf("lake: read %s column %s: %w", file, path[0], err)
		}
	}
	return rows, restoreRaws(file, rows)
}

// readRowsAt reads the rows of rg at idx (ascending row numbers), the
// columns in only (nil: every column but ocsf): for each, only the pages
// holding them (found by the file's offset index), so that a few rows
// cost a few pages.
func readRowsAt(file string, rg parquet.RowGroup, idx []int, only map[string]bool) ([]Row, error) {
	only = rawColumns(only)
	rows := make([]Row, len(idx))
	schema := rg.Schema()
	chunks := rg.ColumnChunks()
	var a arena
	vals := make([]parquet.Value, 1024)
	for _, path := range schema.Columns() {
		set, leaf, err := scanColumn(schema, path, only)
		if err != nil {
			return nil, fmt.Errorf("lake: read %s: %w", file, err)
		}
		if set == nil {
			continue
		}
		repeated := leaf.MaxRepetitionLevel > 0
		a.last = ""
		pages := chunks[leaf.ColumnIndex].Pages()
		err = func() error {
			defer pages.Close()
			for k := 0; k < len(idx); {
				first := idx[k]
				if err := pages.SeekToRow(int64(first)); err != nil {
					return err
				}
				p, err := pages.ReadPage()
				if err != nil {
					return fmt.Errorf("row %d: %w", first, err) // io.EOF too: the row is not there
				}
				end := first + int(p.NumRows())
				row := first - 1
				vr := p.Values()
				for {
					n, err := vr.ReadValues(vals)
					for _, v := range vals[:n] {
						if !repeated || v.RepetitionLevel() == 0 {
							row++
							for k < len(idx) && idx[k] < row {
								k++
							}
						}
						if k < len(idx) && idx[k] == row && v.DefinitionLevel() == leaf.MaxDefinitionLevel && !v.IsNull() {
							set(&rows[k], v, &a)
						}
					}
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						parquet.Release(p)
						return err
					}
				}
				parquet.Release(p)
				for k < len(idx) && idx[k] < end {
					k++
				}
			}
			return nil
		}()
		if err != nil {
			return nil, fmt.Errorf("lake: read %s column %s: %w", file, path[0], err)
		}
	}
	return rows, restoreRaws(file, rows)
}

// rawColumns is only (nil: every column) with what restoring a native
// record needs read with it (event_uid, time and raw_elided), and
// without raw_elided when raw is not read.
func rawColumns(only map[string]bool) map[string]bool {
	switch {
	case only == nil:
	case only["raw"] && (!only["event_uid"] || !only["time"] || !only["raw_elided"]):
		only = maps.Clone(only)
		only["event_uid"], only["time"], only["raw_elided"] = true, true, true
	case !only["raw"] && only["raw_elided"]:
		only = maps.Clone(only)
		delete(only, "raw_elided")
	}
	return only
}

// restoreRaws puts the values a file's native records are stored without
// back into them (see elide.go), and clears their raw_elided.
func restoreRaws(file string, rows []Row) error {
	n := 0
	for i := range rows {
		if rows[i].RawElided != 0 {
			n += len(rows[i].Raw) + len(rows[i].EventUID) + 20
		}
	}
	if n == 0 {
		return nil
	}
	buf := make([]byte, 0, n)
	for i := range rows {
		r := &rows[i]
		if r.RawElided == 0 {
			continue
		}
		at := len(buf)
		var err error
		if buf, err = restore(buf, r.Raw, r.RawElided, r.EventUID, r.Time); err != nil {
			return fmt.Errorf("lake: read %s: event %q: %w", file, r.EventUID, err)
		}
		r.Raw = buf[at:len(buf):len(buf)]
		r.RawElided = 0
	}
	return nil
}
