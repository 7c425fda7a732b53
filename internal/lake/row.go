package lake

import (
	"net/netip"
	"strconv"
	"strings"
	"unsafe"

	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ocsf"
)

// Row is one event as a lake file stores it: the columns hunters filter
// on, promoted to the top level (with statistics, page indexes and, for
// the most selective, Bloom filters), then the native record and, for
// events whose native record does not make them again, the OCSF record as
// JSON. Every class's table has this one schema, so a
// query over the whole lake (read_parquet('…/**/*.parquet')) needs no
// union by name.
type Row struct {
	Time       int64  `parquet:"time,timestamp(millisecond),delta"` // event time, ms since the epoch, UTC
	ClassUID   int32  `parquet:"class_uid"`
	ClassName  string `parquet:"class_name,dict"`
	ActivityID int32  `parquet:"activity_id"`
	SeverityID int32  `parquet:"severity_id"`
	Severity   string `parquet:"severity,dict"`
	StatusID   int32  `parquet:"status_id"`
	// EventUID is the native record id (CloudTrail eventID, a finding's
	// id); Source the telemetry it came from (cloudtrail, vpcflow, …).
	EventUID string `parquet:"event_uid,zstd"`
	Source   string `parquet:"source,dict"`
	// Account and Region repeat the partition's accountId and region (not
	// named alike: engines add the partition keys as columns themselves).
	Account          string   `parquet:"account_id,dict"`
	Region           string   `parquet:"cloud_region,dict"`
	ActorARN         string   `parquet:"actor_arn"`
	ActorType        string   `parquet:"actor_type,dict"`
	PrincipalID      string   `parquet:"principal_id"`
	AccessKeyID      string   `parquet:"access_key_id"`
	SessionName      string   `parquet:"session_name"`
	SessionIssuerARN string   `parquet:"session_issuer_arn"`
	SrcIP            string   `parquet:"src_ip"`
	DstIP            string   `parquet:"dst_ip"`
	APIService       string   `parquet:"api_service,dict"`
	APIOperation     string   `parquet:"api_operation,dict"`
	ResourceARNs     []string `parquet:"resource_arns,list"`
	ErrorCode        string   `parquet:"error_code,dict"`
	// OCSF is the OCSF 1.8 record (without raw_data) as JSON, for events
	// Event does not rebuild from Raw; nil, null in the column, for the
	// others (CloudTrail calls), whose OCSF OCSFJSON makes from Raw on
	// demand: the column cost as many bytes as the native record and most
	// of a write's time. A pointer, not a string: parquet-go writes an
	// empty string of an optional column as null or as "" depending on
	// the rows around it.
	OCSF *string `parquet:"ocsf,json,optional"`
	// Raw is the native record (the JSON object, or a flow log's line);
	// the file's zstd compresses it page by page, where records of one
	// source share most of their bytes.
	Raw []byte `parquet:"raw"`
	// RawElided says which values of a CloudTrail record Raw holds
	// empty ("eventID":"") because a column holds them (bit 1: "eventID",
	// in event_uid; bit 2: "eventTime", in time): see elide.go. Rows
	// NewRows makes for WriteRows hold records so, as files do; rows
	// read back (Scan, ReadFile, hunts) have it 0 and their Raw whole.
	RawElided int32 `parquet:"raw_elided"`
}

// Table is the lake table (and Security Lake custom source name) of an
// OCSF class: its caption in snake case.
func Table(c event.Class) string {
	switch c {
	case event.ClassAPIActivity:
		return "api_activity"
	case event.ClassAuthentication:
		return "authentication"
	case event.ClassAccountChange:
		return "account_change"
	case event.ClassNetworkActivity:
		return "network_activity"
	case event.ClassDetectionFinding:
		return "detection_finding"
	}
	return "base_event"
}

// Tables lists every table the writer may create.
var Tables = []string{"api_activity", "authentication", "account_change", "network_activity", "detection_finding", "base_event"}

var severityIDs = map[string]int32{"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

// sourceName is the event's source as the source column holds it.
func sourceName(s event.Source) string {
	if n := s.Service(); n != "" {
		return n
	}
	return "unknown"
}

// rebuilds reports whether Row.Event makes e again from its native
// record, so that its row needs no OCSF column.
func rebuilds(e *event.Event) bool {
	return e.Source == event.SourceCloudTrail && e.Raw.Format == event.RawJSON && len(e.Raw.Data) > 0 && e.Raw.Data[0] == '{'
}

// OCSFJSON is the row's OCSF 1.8 record (without raw_data) as JSON: the
// ocsf column, or, when it is null, the record made from the event Event
// rebuilds.
func (r *Row) OCSFJSON() ([]byte, error) {
	if r.OCSF != nil {
		return []byte(*r.OCSF), nil
	}
	ev, err := r.Event()
	if err != nil {
		return nil, err
	}
	return ocsf.AppendJSON(nil, &ev, false)
}

// arena holds the bytes of a batch's rows: every string and native record
// of an event is copied (its memory may be a buffer the producer reuses
// once Write returns), into a few large blocks instead of one allocation
// each. Rows keep their block alive.
type arena struct {
	buf  []byte
	last string // the last string value (readRowGroup)
	// want, when > 0, is about how many more bytes the batch will copy:
	// a block is no bigger than that (a small batch's rows, buffered for
	// minutes in serve, do not each hold a MiB).
	want int
	// strs holds the rows' lists (resource ARNs) one after the other,
	// each capped: one allocation for a batch, not one a row.
	strs []string
}

const arenaBlock = 1 << 20

func (a *arena) grow(n int) {
	if cap(a.buf)-len(a.buf) < n {
		size := arenaBlock
		if a.want > 0 {
			size = min(size, a.want)
		}
		a.buf = make([]byte, 0, max(size, n))
	}
	a.want -= n
}

func (a *arena) str(s string) string {
	if s == "" {
		return ""
	}
	a.grow(len(s))
	at := len(a.buf)
	a.buf = append(a.buf, s...)
	return unsafe.String(&a.buf[at], len(s))
}

func (a *arena) bytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	a.grow(len(b))
	at := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[at:len(a.buf):len(a.buf)]
}

// newRow converts e, copying its strings into a.
func newRow(e *event.Event, a *arena, scratch *[]byte) (Row, error) {
	r := Row{
		Time:             e.Time.UnixMilli(),
		ClassUID:         int32(e.Class),
		ClassName:        e.Class.Name(),
		ActivityID:       int32(e.Activity),
		SeverityID:       1,
		Severity:         "Informational",
		StatusID:         int32(e.Outcome),
		EventUID:         a.str(eventUID(e)),
		Source:           sourceName(e.Source),
		Account:          a.str(e.Cloud.Account),
		Region:           a.str(e.Cloud.Region),
		ActorARN:         a.str(e.Actor.ARN),
		ActorType:        a.str(e.Actor.Type),
		PrincipalID:      a.str(e.Actor.PrincipalID),
		AccessKeyID:      a.str(e.Actor.AccessKeyID),
		SessionName:      a.str(e.Actor.SessionName),
		SessionIssuerARN: a.str(e.Actor.SessionIssuerARN),
		APIService:       a.str(e.API.Service),
		APIOperation:     a.str(e.API.Operation),
		ErrorCode:        a.str(e.API.ErrorCode),
	}
	if e.Src.IP.IsValid() {
		r.SrcIP = a.ip(e.Src.IP)
	}
	if e.Dst.IP.IsValid() {
		r.DstIP = a.ip(e.Dst.IP)
	}
	if f := e.Finding; f != nil {
		if id, ok := severityIDs[f.Level]; ok {
			r.SeverityID = id
			r.Severity = strings.ToUpper(f.Level[:1]) + f.Level[1:]
		}
	}
	if len(e.Resources) > 0 {
		from := len(a.strs)
		for _, res := range e.Resources {
			if res.UID != "" {
				a.strs = append(a.strs, a.str(res.UID))
			}
		}
		if len(a.strs) > from {
			r.ResourceARNs = a.strs[from:len(a.strs):len(a.strs)]
		}
	}
	if !rebuilds(e) {
		js, err := ocsf.AppendJSON((*scratch)[:0], e, false)
		if err != nil {
			return Row{}, err
		}
		*scratch = js
		o := a.str(unsafe.String(unsafe.SliceData(js), len(js)))
		r.OCSF = &o
	}
	if e.Source == event.SourceCloudTrail && rebuilds(e) {
		r.Raw, r.RawElided = a.elided(e.Raw.Data, r.EventUID, r.Time)
	} else {
		r.Raw = a.bytes(e.Raw.Data)
	}
	return r, nil
}

// elided is rec in a, without the values elide cuts out of it, and the
// bits of what it cut (the copy a row makes of its record anyway).
func (a *arena) elided(rec []byte, uid string, ms int64) ([]byte, int32) {
	if len(rec) == 0 {
		return nil, 0
	}
	a.grow(len(rec))
	at := len(a.buf)
	var bits int32
	if a.buf, bits = elide(a.buf, rec, uid, ms, elidedAll); bits == 0 {
		a.buf = append(a.buf, rec...)
	}
	return a.buf[at:len(a.buf):len(a.buf)], bits
}

// ip is addr's text in a.
func (a *arena) ip(addr netip.Addr) string {
	a.grow(64)
	at := len(a.buf)
	a.buf = addr.AppendTo(a.buf)
	return unsafe.String(&a.buf[at], len(a.buf)-at)
}

// eventUID is the id the lake keeps an event under.
func eventUID(e *event.Event) string {
	if e.ID != "" {
		return e.ID
	}
	return "t" + strconv.FormatInt(e.Time.UnixNano(), 36)
}

// key is what makes two records one for deduplication: the source, the
// record id and the event time (a finding updated in place keeps its id
// and gains a new time: the update is a new record).
func (r *Row) key() string {
	return string(r.appendKey(nil))
}

// appendKey appends the row's key to b.
func (r *Row) appendKey(b []byte) []byte {
	b = append(b, r.Source...)
	b = append(b, 0)
	b = append(b, r.EventUID...)
	b = append(b, 0)
	return strconv.AppendInt(b, r.Time, 36)
}
