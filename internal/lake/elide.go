package lake

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"
)

// A CloudTrail record holds its event id and time twice in a row: in the
// event_uid and time columns, and as the record's "eventID" and
// "eventTime" values — 18 of a compacted file's 65 bytes an event on the
// generated lake. A file stores each once: where the record holds
// "eventID":"<event_uid>" (or "eventTime":"<time as 2006-01-02T15:04:05Z>")
// exactly once, the value is cut out of the raw column ("eventID":"") and
// a bit of the row's raw_elided column says so; every read puts it back,
// byte for byte.
//
// The test is on bytes, not on the JSON: the record must hold the key,
// colon and quote ("eventID":") exactly once, followed by the value and a
// quote, and the value must be non-empty and hold no quote or backslash.
// Cutting the value out then leaves the key exactly once, followed by a
// quote: the key can begin inside itself (or the other key) only at its
// last quote, which the cut leaves followed by a quote, not by an e, and
// no key fits in a value without quotes. So restoring finds the one
// place and gives back the record as it was — for every input, JSON or
// not; a record with the key twice (duplicate or nested keys, the key
// inside a string), an escaped value or one that is not the column's is
// stored whole. Which rows were cut is never guessed from the record (a
// forged record may read "eventID":"" itself): raw_elided says it.

// The bits of raw_elided.
const (
	elidedEventID   = 1 << iota // raw's "eventID" value is event_uid's
	elidedEventTime             // raw's "eventTime" value is time's, as eventTimeLayout
	elidedAll       = elidedEventID | elidedEventTime
)

const (
	eventIDKey      = `"eventID":"`
	eventTimeKey    = `"eventTime":"`
	eventTimeLayout = "2006-01-02T15:04:05Z"
)

// eventTimeText appends the text of a time column's value elide compares
// with a record's eventTime.
func eventTimeText(dst []byte, ms int64) []byte {
	return time.UnixMilli(ms).UTC().AppendFormat(dst, eventTimeLayout)
}

// elisionAt is the offset in rec of val when rec holds key exactly once,
// followed by val and a quote, and val is not empty and holds no quote or
// backslash; -1 otherwise.
func elisionAt(rec []byte, key, val string) int {
	if val == "" || strings.ContainsAny(val, `"\`) {
		return -1
	}
	at := bytes.Index(rec, []byte(key))
	if at < 0 {
		return -1
	}
	v := at + len(key)
	if len(rec)-v < len(val)+1 || string(rec[v:v+len(val)]) != val || rec[v+len(val)] != '"' {
		return -1
	}
	if bytes.Contains(rec[at+1:], []byte(key)) {
		return -1 // twice (even overlapping the first: the id "eventID"): stored whole
	}
	return v
}

// elide appends to dst rec without the values elisionAt finds of its
// "eventID" (uid) and "eventTime" (the time ms) and returns the bits
// of what it cut; when it cuts nothing it appends nothing (rec is stored
// as it is).
func elide(dst, rec []byte, uid string, ms int64) ([]byte, int32) {
	var tb [40]byte
	tt := eventTimeText(tb[:0], ms)
	idAt := elisionAt(rec, eventIDKey, uid)
	timeAt := elisionAt(rec, eventTimeKey, unsafe.String(unsafe.SliceData(tt), len(tt)))
	var bits int32
	type cut struct{ at, n int }
	var cuts [2]cut
	k := 0
	if idAt >= 0 {
		bits |= elidedEventID
		cuts[k] = cut{idAt, len(uid)}
		k++
	}
	if timeAt >= 0 {
		bits |= elidedEventTime
		cuts[k] = cut{timeAt, len(tt)}
		k++
	}
	if k == 0 {
		return dst, 0
	}
	if k == 2 && cuts[1].at < cuts[0].at {
		cuts[0], cuts[1] = cuts[1], cuts[0]
	}
	from := 0
	for _, c := range cuts[:k] {
		dst = append(dst, rec[from:c.at]...)
		from = c.at + c.n
	}
	return append(dst, rec[from:]...), bits
}

// restore appends to dst the record elide cut the values bits name out
// of (uid: the row's event_uid; ms: its time).
func restore(dst, rec []byte, bits int32, uid string, ms int64) ([]byte, error) {
	if bits&^elidedAll != 0 {
		return dst, fmt.Errorf("raw_elided %d: bits this version does not know", bits)
	}
	type put struct {
		at  int
		val []byte
	}
	var puts [2]put
	k := 0
	var tb [40]byte
	for _, f := range []struct {
		bit int32
		key string
		val func() []byte
	}{
		{elidedEventID, eventIDKey, func() []byte { return unsafe.Slice(unsafe.StringData(uid), len(uid)) }},
		{elidedEventTime, eventTimeKey, func() []byte { return eventTimeText(tb[:0], ms) }},
	} {
		if bits&f.bit == 0 {
			continue
		}
		at := bytes.Index(rec, []byte(f.key))
		v := at + len(f.key)
		val := f.val()
		if at < 0 || v >= len(rec) || rec[v] != '"' || len(val) == 0 {
			return dst, fmt.Errorf("%w: %s", errElision, f.key)
		}
		puts[k] = put{v, val}
		k++
	}
	if k == 2 && puts[1].at < puts[0].at {
		puts[0], puts[1] = puts[1], puts[0]
	}
	from := 0
	for _, p := range puts[:k] {
		dst = append(dst, rec[from:p.at]...)
		dst = append(dst, p.val...)
		from = p.at
	}
	return append(dst, rec[from:]...), nil
}

var errElision = errors.New(`raw_elided says a value was cut, but the record holds no empty value after`)
