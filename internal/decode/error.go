// Package decode holds what every decoder shares: the error that locates bad
// input, and the framer that cuts a JSON stream into records without
// holding the whole stream in memory. The decoders themselves live in the
// subpackages, one format each.
package decode

import (
	"errors"
	"fmt"
	"strings"
)

// Error locates bad input: the file, the byte offset in the (uncompressed)
// stream, and the line when known.
type Error struct {
	File   string
	Offset int64
	Line   int // 1-based; 0 when unknown
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	fmt.Fprintf(&b, ": offset %d", e.Offset)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Sentinels callers branch on.
var (
	// ErrUnknownFormat: the input is neither JSON nor a known text format.
	ErrUnknownFormat = errors.New("unrecognised input format")
	// ErrNotRecord: a well-formed JSON value that no decoder claims.
	ErrNotRecord = errors.New("not a CloudTrail, EventBridge or GuardDuty record")
	// ErrTooLarge: a single record over the size limit.
	ErrTooLarge = errors.New("record too large")
	// ErrTruncated: input ended inside a record.
	ErrTruncated = errors.New("input ends inside a record")
)
