package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/parapet-sec/parapet/internal/decode"
	"github.com/parapet-sec/parapet/internal/decode/asff"
	"github.com/parapet-sec/parapet/internal/decode/azure"
	"github.com/parapet-sec/parapet/internal/decode/cloudtrail"
	"github.com/parapet-sec/parapet/internal/decode/gcp"
	"github.com/parapet-sec/parapet/internal/decode/guardduty"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/jsonscan"
)

// Skipped says whether err marks input skipped on purpose (a digest file,
// an ASFF finding asff.Skip leaves out), counted apart from bad input.
func Skipped(err error) bool {
	return errors.Is(err, ErrDigest) || errors.Is(err, asff.ErrSkipped)
}

// ErrDigest marks a CloudTrail digest file: delivered beside the logs,
// holding hashes, not events. It is skipped and counted, not an error.
var ErrDigest = errors.New("CloudTrail digest file (log file hashes, no events): skipped")

// maxWrap bounds how deeply envelopes may nest (an EventBridge event in a
// CloudWatch Logs message in a subscription batch).
const maxWrap = 4

var ctPrefix = []byte(`{"eventVersion"`)

// DecodeJSON decodes one JSON item of any supported shape and calls emit for
// each event in it: a CloudTrail record; an EventBridge event carrying a
// CloudTrail record or a GuardDuty finding under "detail"; a GuardDuty
// finding; an Azure Activity Log record (a diagnostic export, a Log
// Analytics row, REST EventData or an Elastic azure.activitylogs
// document); a GCP audit log entry, alone or in an export shape
// (gcp.Export: Pub/Sub, BigQuery, Elastic, Splunk); a {"Records":[…]} or
// {"records":[…]} object; a CloudWatch Logs export or subscription batch
// whose "message" strings hold records; an AWS Security Hub finding (ASFF),
// alone, in a GetFindings {"Findings":[…]} page or in an EventBridge
// "Security Hub Findings - Imported" event (one event per finding; see
// asff.Skip for the findings left out); a Splunk Event Hub add-on event
// whose "body" (an object or a JSON string) holds a record or a batch.
// Each record
// that cannot be decoded is passed to fail; the others are still emitted.
func DecodeJSON(item []byte, emit func(*event.Event), fail func(error)) {
	if err := route(item, emit, fail, 0); err != nil {
		fail(err)
	}
}

func route(item []byte, emit func(*event.Event), fail func(error), depth int) error {
	var ev event.Event
	if bytes.HasPrefix(item, ctPrefix) {
		if err := cloudtrail.Decode(item, &ev); err != nil {
			return fmt.Errorf("cloudtrail record: %w", err)
		}
		emit(&ev)
		return nil
	}
	if depth > maxWrap {
		return fmt.Errorf("%w: envelopes nested deeper than %d", decode.ErrNotRecord, maxWrap)
	}
	i := jsonscan.SkipSpace(item, 0)
	if i >= len(item) || item[i] != '{' {
		if err := jsonscan.Valid(item); err != nil {
			return err
		}
		return fmt.Errorf("%w: a JSON %s, not an object", decode.ErrNotRecord, jsonType(item[i]))
	}
	type span struct{ s, e int }
	var p struct {
		eventName, eventTime, detail, detailType, source, records, message, logEvents, schemaVersion, findingType, severity, digest span
		protoPayload, azureOp, azureRes, elastic, body                                                                              span
		productArn, generatorID, findings                                                                                           span
	}
	_, err := jsonscan.ObjectEach(item, i, func(k []byte, esc bool, vs, ve int) error {
		sp := span{vs, ve}
		switch string(k) {
		case "eventName", "eventSource":
			p.eventName = sp
		case "eventTime":
			p.eventTime = sp
		case "detail":
			p.detail = sp
		case "detail-type":
			p.detailType = sp
		case "source":
			p.source = sp
		case "Records", "records":
			p.records = sp
		case "protoPayload":
			p.protoPayload = sp
		case "operationName", "OperationNameValue":
			p.azureOp = sp
		case "resourceId", "ResourceId", "category", "CategoryValue":
			p.azureRes = sp
		case "azure":
			p.elastic = sp
		case "body":
			p.body = sp
		case "message":
			p.message = sp
		case "logEvents":
			p.logEvents = sp
		case "schemaVersion":
			p.schemaVersion = sp
		case "type":
			p.findingType = sp
		case "severity":
			p.severity = sp
		case "digestStartTime", "digestSignatureAlgorithm":
			p.digest = sp
		case "ProductArn":
			p.productArn = sp
		case "GeneratorId":
			p.generatorID = sp
		case "Findings":
			p.findings = sp
		}
		return nil
	})
	if err != nil {
		return err
	}
	str := func(s span) string {
		if s.e == 0 || item[s.s] != '"' {
			return ""
		}
		return jsonscan.Unquote(item[s.s:s.e])
	}
	switch {
	case p.protoPayload.e > 0 && item[p.protoPayload.s] == '{':
		if err := gcp.Decode(item, &ev); err != nil {
			return fmt.Errorf("gcp audit log entry: %w", err)
		}
		emit(&ev)
		return nil
	case p.azureOp.e > 0 && p.azureRes.e > 0 && (p.eventName.e == 0 || item[p.eventName.s] != '"'),
		p.elastic.e > 0 && item[p.elastic.s] == '{':
		// REST EventData has an eventName object (BeginRequest,
		// EndRequest): not CloudTrail's string.
		if err := azure.Decode(item, &ev); err != nil {
			return fmt.Errorf("azure activity log record: %w", err)
		}
		emit(&ev)
		return nil
	case p.eventName.e > 0 || p.eventTime.e > 0 && p.detail.e == 0:
		if err := cloudtrail.Decode(item, &ev); err != nil {
			return fmt.Errorf("cloudtrail record: %w", err)
		}
		emit(&ev)
		return nil
	case p.detail.e > 0 && item[p.detail.s] == '{':
		detail := item[p.detail.s:p.detail.e]
		if strings.HasPrefix(str(p.detailType), "Security Hub Findings") {
			// One event per finding: "Security Hub Findings - Imported"
			// (and - Custom Action, - Custom Insight) carry a list.
			vs, ve, ok := jsonscan.Get(detail, 0, "findings")
			if !ok || detail[vs] != '[' {
				return fmt.Errorf("eventbridge %q event: detail has no findings list", str(p.detailType))
			}
			return each(detail, vs, ve, func(el []byte) {
				if err := asff.Decode(el, &ev); err != nil {
					fail(fmt.Errorf("eventbridge security hub finding: %w", err))
					return
				}
				emit(&ev)
			})
		}
		if str(p.source) == "aws.guardduty" || str(p.detailType) == "GuardDuty Finding" {
			if err := guardduty.Decode(detail, &ev); err != nil {
				return fmt.Errorf("eventbridge guardduty finding: %w", err)
			}
			emit(&ev)
			return nil
		}
		if err := cloudtrail.Decode(detail, &ev); err != nil {
			return fmt.Errorf("eventbridge event %q from %q: detail: %w", str(p.detailType), str(p.source), err)
		}
		emit(&ev)
		return nil
	case p.records.e > 0 && item[p.records.s] == '[':
		return each(item, p.records.s, p.records.e, func(el []byte) {
			if err := route(el, emit, fail, depth+1); err != nil {
				fail(err)
			}
		})
	case p.logEvents.e > 0 && item[p.logEvents.s] == '[':
		return each(item, p.logEvents.s, p.logEvents.e, func(el []byte) {
			if err := route(el, emit, fail, depth+1); err != nil {
				fail(err)
			}
		})
	case p.message.e > 0 && item[p.message.s] == '"':
		inner := []byte(str(p.message))
		if err := jsonscan.Valid(inner); err != nil {
			return fmt.Errorf("message is not JSON: %w", err)
		}
		return route(bytes.TrimSpace(inner), emit, fail, depth+1)
	case p.schemaVersion.e > 0 && p.findingType.e > 0 && p.severity.e > 0:
		if err := guardduty.Decode(item, &ev); err != nil {
			return fmt.Errorf("guardduty finding: %w", err)
		}
		emit(&ev)
		return nil
	case p.productArn.e > 0 && p.generatorID.e > 0:
		if err := asff.Decode(item, &ev); err != nil {
			return fmt.Errorf("asff finding: %w", err)
		}
		emit(&ev)
		return nil
	case p.findings.e > 0 && item[p.findings.s] == '[':
		// GetFindings output: {"Findings": [ASFF…], "NextToken": …}.
		return each(item, p.findings.s, p.findings.e, func(el []byte) {
			if err := route(el, emit, fail, depth+1); err != nil {
				fail(err)
			}
		})
	case p.digest.e > 0:
		return ErrDigest
	case p.body.e > 0 && item[p.body.s] == '{':
		return route(item[p.body.s:p.body.e], emit, fail, depth+1)
	case p.body.e > 0 && item[p.body.s] == '"':
		inner := []byte(str(p.body))
		if err := jsonscan.Valid(inner); err != nil {
			return fmt.Errorf("body is not JSON: %w", err)
		}
		return route(bytes.TrimSpace(inner), emit, fail, depth+1)
	}
	// GCP log entries in the shapes SIEMs and pipelines write them: a
	// Pub/Sub message, a BigQuery row, an Elastic document.
	if ok, err := gcp.Export(item, func(entry []byte) {
		if err := route(entry, emit, fail, depth+1); err != nil {
			fail(err)
		}
	}); ok {
		if err != nil {
			return fmt.Errorf("gcp export record: %w", err)
		}
		return nil
	}
	return fmt.Errorf("%w (no eventName, detail, Records, message, protoPayload, operationName or body)", decode.ErrNotRecord)
}

// each calls fn with every element of the array item[s:e].
func each(item []byte, s, e int, fn func([]byte)) error {
	_, err := jsonscan.ArrayEach(item[:e], s, func(vs, ve int) error {
		fn(item[vs:ve])
		return nil
	})
	return err
}

func jsonType(c byte) string {
	switch c {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}
