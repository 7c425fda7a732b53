package lake

import (
	"strconv"
	"strings"

	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/ocsf"
)

// Row is one event as a lake file stores it: the columns hunters filter
// on, promoted to the top level (with statistics, page indexes and, for
// the most selective, Bloom filters), then the whole OCSF record as JSON
// and the native record. Every class's table has this one schema, so a
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
	EventUID string `parquet:"event_uid"`
	Source   string `parquet:"source,dict"`
	// Account and Region repeat the partition's accountId and region (not
	// named alike: engines add the partition keys as columns themselves).
	Account          string   `parquet:"account_id,dict"`
	Region           string   `parquet:"cloud_region,dict"`
	ActorARN         string   `parquet:"actor_arn,dict"`
	ActorType        string   `parquet:"actor_type,dict"`
	PrincipalID      string   `parquet:"principal_id,dict"`
	AccessKeyID      string   `parquet:"access_key_id,dict"`
	SessionName      string   `parquet:"session_name,dict"`
	SessionIssuerARN string   `parquet:"session_issuer_arn,dict"`
	SrcIP            string   `parquet:"src_ip,dict"`
	DstIP            string   `parquet:"dst_ip,dict"`
	APIService       string   `parquet:"api_service,dict"`
	APIOperation     string   `parquet:"api_operation,dict"`
	ResourceARNs     []string `parquet:"resource_arns,list"`
	ErrorCode        string   `parquet:"error_code,dict"`
	// OCSF is the OCSF 1.8 record (without raw_data) as JSON.
	OCSF string `parquet:"ocsf,json"`
	// Raw is the native record (the JSON object, or a flow log's line);
	// the file's zstd compresses it page by page, where records of one
	// source share most of their bytes.
	Raw []byte `parquet:"raw"`
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

// newRow converts e. Every string is copied: an event's strings may share
// memory with a buffer its producer reuses once Write returns.
func newRow(e *event.Event, scratch *[]byte) (Row, error) {
	r := Row{
		Time:             e.Time.UnixMilli(),
		ClassUID:         int32(e.Class),
		ClassName:        e.Class.Name(),
		ActivityID:       int32(e.Activity),
		SeverityID:       1,
		Severity:         "Informational",
		StatusID:         int32(e.Outcome),
		EventUID:         strings.Clone(eventUID(e)),
		Source:           sourceName(e.Source),
		Account:          strings.Clone(e.Cloud.Account),
		Region:           strings.Clone(e.Cloud.Region),
		ActorARN:         strings.Clone(e.Actor.ARN),
		ActorType:        strings.Clone(e.Actor.Type),
		PrincipalID:      strings.Clone(e.Actor.PrincipalID),
		AccessKeyID:      strings.Clone(e.Actor.AccessKeyID),
		SessionName:      strings.Clone(e.Actor.SessionName),
		SessionIssuerARN: strings.Clone(e.Actor.SessionIssuerARN),
		APIService:       strings.Clone(e.API.Service),
		APIOperation:     strings.Clone(e.API.Operation),
		ErrorCode:        strings.Clone(e.API.ErrorCode),
	}
	if e.Src.IP.IsValid() {
		r.SrcIP = e.Src.IP.String()
	}
	if e.Dst.IP.IsValid() {
		r.DstIP = e.Dst.IP.String()
	}
	if f := e.Finding; f != nil {
		if id, ok := severityIDs[f.Level]; ok {
			r.SeverityID = id
			r.Severity = strings.ToUpper(f.Level[:1]) + f.Level[1:]
		}
	}
	for _, res := range e.Resources {
		if res.UID != "" {
			r.ResourceARNs = append(r.ResourceARNs, strings.Clone(res.UID))
		}
	}
	js, err := ocsf.AppendJSON((*scratch)[:0], e, false)
	if err != nil {
		return Row{}, err
	}
	*scratch = js
	r.OCSF = string(js)
	if len(e.Raw.Data) > 0 {
		r.Raw = append([]byte(nil), e.Raw.Data...)
	}
	return r, nil
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
	return r.Source + "\x00" + r.EventUID + "\x00" + strconv.FormatInt(r.Time, 36)
}
