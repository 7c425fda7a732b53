package lake

import (
	"bytes"
	"errors"
	"strings"
)

// A CloudTrail record holds its event id twice in a row: in the event_uid
// column and as the record's "eventID" value — 12 of a compacted file's
// 65 bytes an event. A file stores it once: where the record holds the
// id exactly once, as "eventID":"<event_uid>", the value is cut out of
// the raw column ("eventID":"") and the row's raw_eventid_elided column
// says so; every read puts it back, byte for byte (elisionAt, elider,
// restoreEventID).
//
// The test is on bytes, not on the JSON: the record must hold the 11
// bytes "eventID":" exactly once, followed by the id and a quote, and the
// id must be non-empty and hold no quote or backslash. Cutting the id out
// then leaves "eventID":" exactly once, followed by a quote (the pattern
// cannot begin inside itself but at its last quote, which the cut leaves
// followed by a quote, not by e), so restoring finds the one place and
// gives back the record as it was — for every input, JSON or not, nested
// "eventID" keys, duplicate keys and escaped values included (those hold
// the pattern twice, or a value that is not the id, and are stored
// whole). Which rows were cut is never guessed from the record (a forged
// record may read "eventID":"" itself): the marker column says it.

// eventIDKey is what precedes the id in a record.
const eventIDKey = `"eventID":"`

// elisionAt is where elider cuts rec: the id's offset in rec; -1
// when rec is stored whole.
func elisionAt(rec []byte, uid string) int {
	if uid == "" || strings.ContainsAny(uid, `"\`) {
		return -1
	}
	at := bytes.Index(rec, []byte(eventIDKey))
	if at < 0 {
		return -1
	}
	v := at + len(eventIDKey)
	if len(rec)-v < len(uid)+1 || string(rec[v:v+len(uid)]) != uid || rec[v+len(uid)] != '"' {
		return -1
	}
	if bytes.Contains(rec[at+1:], []byte(eventIDKey)) {
		return -1 // twice (even overlapping the first: an id "eventID"): stored whole
	}
	return v
}

var errNoElision = errors.New(`raw_eventid_elided is set but the record holds no "eventID":"" once, or event_uid is empty`)

// restoreEventID appends to dst the record elider cut uid out of.
func restoreEventID(dst, rec []byte, uid string) ([]byte, error) {
	at := bytes.Index(rec, []byte(eventIDKey))
	if at < 0 || uid == "" {
		return dst, errNoElision
	}
	v := at + len(eventIDKey)
	if v >= len(rec) || rec[v] != '"' {
		return dst, errNoElision
	}
	dst = append(dst, rec[:v]...)
	dst = append(dst, uid...)
	return append(dst, rec[v:]...), nil
}
