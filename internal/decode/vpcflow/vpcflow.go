// Package vpcflow decodes Amazon VPC Flow Logs text records: the default
// version 2 format and any custom format, whose field order is given by the
// header line that S3 delivery writes first. "-" marks an absent field.
package vpcflow

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/parapet-sec/parapet/internal/event"
)

// Fields lists every field flow logs can carry (versions 2 to 5), in the
// documented order.
var Fields = []string{
	"version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol",
	"packets", "bytes", "start", "end", "action", "log-status",
	"vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr",
	"region", "az-id", "sublocation-type", "sublocation-id",
	"pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path",
	"ecs-cluster-arn", "ecs-cluster-name", "ecs-container-instance-arn", "ecs-container-instance-id",
	"ecs-container-id", "ecs-second-container-id", "ecs-service-name", "ecs-task-definition-arn",
	"ecs-task-arn", "ecs-task-id", "reject-reason",
}

// DefaultFields is the version 2 default format.
var DefaultFields = Fields[:14]

var known = func() map[string]int {
	m := make(map[string]int, len(Fields))
	for i, f := range Fields {
		m[f] = i
	}
	return m
}()

// Format is a field order. Build it with NewFormat.
type Format struct {
	Names []string
	pos   [len(fieldIDs)]int // index of each known field in Names, or -1
}

// field ids, in Fields order
const (
	fVersion = iota
	fAccount
	fInterface
	fSrcAddr
	fDstAddr
	fSrcPort
	fDstPort
	fProtocol
	fPackets
	fBytes
	fStart
	fEnd
	fAction
	fLogStatus
	fVPC
	fSubnet
	fInstance
	fTCPFlags
	fType
	fPktSrc
	fPktDst
	fRegion
	fAZ
	fSublocType
	fSublocID
	fPktSrcSvc
	fPktDstSvc
	fDirection
	fTrafficPath
	nFields
)

var fieldIDs [nFields]struct{}

// NewFormat builds a format from field names; unknown names are errors.
func NewFormat(names []string) (*Format, error) {
	f := &Format{Names: names}
	for i := range f.pos {
		f.pos[i] = -1
	}
	var errs []error
	for i, n := range names {
		id, ok := known[n]
		if !ok {
			errs = append(errs, fmt.Errorf("unknown flow log field %q", n))
			continue
		}
		if id < nFields {
			f.pos[id] = i
		}
	}
	if len(names) == 0 {
		errs = append(errs, errors.New("no fields"))
	}
	return f, errors.Join(errs...)
}

// Default is the version 2 default format.
var Default, _ = NewFormat(DefaultFields)

// ParseHeader reads a header line ("version account-id …"). ok is false
// when the line is not a header.
func ParseHeader(line string) (*Format, bool) {
	names := strings.Fields(line)
	if len(names) == 0 {
		return nil, false
	}
	for _, n := range names {
		if _, ok := known[n]; !ok {
			return nil, false
		}
	}
	f, err := NewFormat(names)
	return f, err == nil
}

// Decode normalizes one record line.
func (f *Format) Decode(line string, ev *event.Event) error {
	return f.decode(line, []byte(line), ev)
}

// DecodeRecord normalizes the record line rec into ev. ev's strings share
// memory with rec, which must not change afterwards.
func (f *Format) DecodeRecord(rec []byte, ev *event.Event) error {
	return f.decode(unsafe.String(unsafe.SliceData(rec), len(rec)), rec, ev)
}

// decode normalizes line, whose bytes data holds.
func (f *Format) decode(line string, data []byte, ev *event.Event) error {
	vals := fields(line, len(f.Names))
	if len(vals) != len(f.Names) {
		return fmt.Errorf("flow record has %d fields, the format has %d", len(vals), len(f.Names))
	}
	get := func(id int) string {
		if p := f.pos[id]; p >= 0 && vals[p] != "-" {
			return vals[p]
		}
		return ""
	}
	var errs []error
	num := func(id int) int64 {
		s := get(id)
		if s == "" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s: not a count: %q", Fields[id], s))
		}
		return n
	}
	addr := func(id int) netip.Addr {
		s := get(id)
		if s == "" {
			return netip.Addr{}
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: not an IP address: %q", Fields[id], s))
		}
		return a
	}
	port := func(id int) uint16 {
		n := num(id)
		if n > 65535 {
			errs = append(errs, fmt.Errorf("%s: port out of range: %d", Fields[id], n))
			return 0
		}
		return uint16(n)
	}
	unix := func(id int) time.Time {
		if n := num(id); n > 0 {
			return time.Unix(n, 0).UTC()
		}
		return time.Time{}
	}

	n := &event.Network{
		Version:         int(num(fVersion)),
		Protocol:        uint8(min(num(fProtocol), 255)),
		Packets:         num(fPackets),
		Bytes:           num(fBytes),
		Start:           unix(fStart),
		End:             unix(fEnd),
		Action:          get(fAction),
		LogStatus:       get(fLogStatus),
		Direction:       get(fDirection),
		TCPFlags:        int(num(fTCPFlags)),
		TrafficPath:     int(num(fTrafficPath)),
		AddrType:        get(fType),
		PktSrc:          addr(fPktSrc),
		PktDst:          addr(fPktDst),
		SublocationType: get(fSublocType),
		SublocationID:   get(fSublocID),
	}
	src := event.Endpoint{IP: addr(fSrcAddr), Port: port(fSrcPort), AWSService: get(fPktSrcSvc)}
	dst := event.Endpoint{IP: addr(fDstAddr), Port: port(fDstPort), AWSService: get(fPktDstSvc)}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if n.Action != "" && n.Action != "ACCEPT" && n.Action != "REJECT" {
		return fmt.Errorf("action: want ACCEPT or REJECT, got %q", n.Action)
	}

	// The interface belongs to the local side: the destination of ingress
	// traffic, the source of egress; without flow-direction, the side with
	// the private address.
	local := &dst
	switch {
	case n.Direction == "egress":
		local = &src
	case n.Direction == "ingress":
	case src.IP.IsValid() && src.IP.IsPrivate() && !(dst.IP.IsValid() && dst.IP.IsPrivate()):
		local = &src
	}
	local.InterfaceID = get(fInterface)
	local.InstanceID = get(fInstance)
	local.VPCID = get(fVPC)
	local.SubnetID = get(fSubnet)

	t := n.Start
	if t.IsZero() {
		t = n.End
	}
	if t.IsZero() {
		return errors.New("flow record has neither start nor end")
	}
	activity := uint8(6) // Traffic
	if n.LogStatus == "NODATA" || n.LogStatus == "SKIPDATA" {
		activity = 99
	}
	*ev = event.Event{
		ID:       id(data),
		Time:     t,
		Source:   event.SourceVPCFlow,
		Class:    event.ClassNetworkActivity,
		Activity: activity,
		Type:     n.LogStatus,
		Cloud:    event.Cloud{Provider: "aws", Partition: "aws", Account: get(fAccount), Region: get(fRegion), Zone: get(fAZ)},
		Src:      src,
		Dst:      dst,
		Network:  n,
		Raw:      event.Raw{Format: event.RawFields, Data: data, Names: f.Names, Values: vals},
	}
	// The instance on the local side (flow logs v3 and later name it): what
	// a finding on this traffic is about, and what a playbook acts on.
	if id := local.InstanceID; id != "" {
		uid := id
		if ev.Cloud.Region != "" && ev.Cloud.Account != "" {
			uid = "arn:aws:ec2:" + ev.Cloud.Region + ":" + ev.Cloud.Account + ":instance/" + id
		}
		ev.Resources = []event.Resource{{Type: "AWS::EC2::Instance", UID: uid, Name: id, Account: ev.Cloud.Account}}
	}
	return nil
}

// ID is the id Decode gives the record line: flow records carry none, so it
// is a hash of the line.
func ID(line string) string {
	return id([]byte(line))
}

func id(line []byte) string {
	sum := sha256.Sum256(bytes.TrimSpace(line))
	var b [len("vpcflow:") + 32]byte
	n := copy(b[:], "vpcflow:")
	hex.Encode(b[n:], sum[:16])
	return string(b[:])
}

// fields is strings.Fields(s) in one pass over ASCII text, expecting n
// fields.
func fields(s string, n int) []string {
	out := make([]string, 0, n)
	start := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return strings.Fields(s)
		}
		if asciiSpace[c] {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// asciiSpace is the ASCII white space strings.Fields splits on.
var asciiSpace = [256]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}
