package event

import (
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"time"
	"unsafe"
)

// AppendBinary appends a compact binary form of e to b: every field, the
// native record included, for ReadBinary to give back exactly. It is how
// detect's event-time sort keeps runs on disk without decoding their
// records twice. The form is private to one process: no version, no
// promise between releases.
func (e *Event) AppendBinary(b []byte) []byte {
	w := binWriter{b: b}
	// The native record first: strings that lie in it (most of a decoded
	// event's) are written as where they lie, not copied again.
	w.bytes(e.Raw.Data)
	w.data = e.Raw.Data
	w.str(e.ID)
	w.time(e.Time)
	w.uvarint(uint64(e.Source))
	w.uvarint(uint64(e.Class))
	w.uvarint(uint64(e.Activity))
	w.str(e.Type)
	c := &e.Cloud
	w.str(c.Provider)
	w.str(c.Partition)
	w.str(c.Account)
	w.str(c.Region)
	w.str(c.Zone)
	a := &e.Actor
	w.str(a.Type)
	w.str(a.ARN)
	w.str(a.PrincipalID)
	w.str(a.Account)
	w.str(a.UserName)
	w.str(a.AccessKeyID)
	w.str(a.SessionIssuerARN)
	w.str(a.SessionIssuerType)
	w.str(a.SessionName)
	w.time(a.SessionCreated)
	w.varint(int64(a.MFA))
	w.str(a.InvokedBy)
	w.endpoint(&e.Src)
	w.endpoint(&e.Dst)
	p := &e.API
	w.str(p.Service)
	w.str(p.Operation)
	w.str(p.Version)
	w.str(p.RequestID)
	w.bool(p.ReadOnly)
	w.str(p.ErrorCode)
	w.str(p.ErrorMessage)
	w.uvarint(uint64(e.Outcome))
	w.uvarint(uint64(len(e.Resources)))
	for i := range e.Resources {
		r := &e.Resources[i]
		w.str(r.Type)
		w.str(r.UID)
		w.str(r.Name)
		w.str(r.Account)
	}
	w.bool(e.Network != nil)
	if n := e.Network; n != nil {
		w.uvarint(uint64(n.Protocol))
		w.varint(n.Bytes)
		w.varint(n.Packets)
		w.time(n.Start)
		w.time(n.End)
		w.str(n.Action)
		w.str(n.LogStatus)
		w.str(n.Direction)
		w.varint(int64(n.TCPFlags))
		w.varint(int64(n.TrafficPath))
		w.str(n.AddrType)
		w.addr(n.PktSrc)
		w.addr(n.PktDst)
		w.str(n.SublocationType)
		w.str(n.SublocationID)
		w.varint(int64(n.Version))
	}
	w.bool(e.Finding != nil)
	if f := e.Finding; f != nil {
		w.str(f.UID)
		w.str(f.ARN)
		w.str(f.Type)
		w.str(f.Title)
		w.str(f.Description)
		w.uvarint(math.Float64bits(f.Severity))
		w.str(f.Level)
		w.varint(f.Count)
		w.time(f.FirstSeen)
		w.time(f.LastSeen)
		w.bool(f.Archived)
		w.str(f.Product)
		w.strs(f.Types)
		w.str(f.Workflow)
	}
	w.bool(e.Facts != nil)
	if f := e.Facts; f != nil {
		w.str(f.PolicyPublic)
		w.str(f.PolicyAllowsAll)
		w.strs(f.PolicyForeign)
		w.strs(f.ShareAccounts)
		w.strs(f.ShareForeign)
		w.str(f.SharePublic)
		w.str(f.IngressInternet)
		w.strs(f.IngressPorts)
		w.str(f.IngressAllTraffic)
		w.varint(int64(f.Items))
		w.strs(f.Names)
	}
	w.str(e.Origin.File)
	w.varint(e.Origin.Offset)
	w.uvarint(uint64(e.Raw.Format))
	w.strs(e.Raw.Names)
	w.strs(e.Raw.Values)
	w.uvarint(uint64(e.Raw.Keys))
	w.uvarint(uint64(e.Raw.ReqAt))
	return w.b
}

// ReadBinary sets e from what AppendBinary wrote. e's strings and native
// record share b's memory: b must not change afterwards.
func ReadBinary(b []byte, e *Event) error {
	r := binReader{b: b}
	*e = Event{}
	e.Raw.Data = r.bytes()
	r.data = e.Raw.Data
	e.ID = r.str()
	e.Time = r.time()
	e.Source = Source(r.uvarint())
	e.Class = Class(r.uvarint())
	e.Activity = uint8(r.uvarint())
	e.Type = r.str()
	c := &e.Cloud
	c.Provider, c.Partition, c.Account, c.Region, c.Zone = r.str(), r.str(), r.str(), r.str(), r.str()
	a := &e.Actor
	a.Type, a.ARN, a.PrincipalID, a.Account, a.UserName, a.AccessKeyID = r.str(), r.str(), r.str(), r.str(), r.str(), r.str()
	a.SessionIssuerARN, a.SessionIssuerType, a.SessionName = r.str(), r.str(), r.str()
	a.SessionCreated = r.time()
	a.MFA = Tri(r.varint())
	a.InvokedBy = r.str()
	r.endpoint(&e.Src)
	r.endpoint(&e.Dst)
	p := &e.API
	p.Service, p.Operation, p.Version, p.RequestID = r.str(), r.str(), r.str(), r.str()
	p.ReadOnly = r.bool()
	p.ErrorCode, p.ErrorMessage = r.str(), r.str()
	e.Outcome = Outcome(r.uvarint())
	if n := r.count(4); n > 0 {
		e.Resources = make([]Resource, n)
		for i := range e.Resources {
			x := &e.Resources[i]
			x.Type, x.UID, x.Name, x.Account = r.str(), r.str(), r.str(), r.str()
		}
	}
	if r.bool() {
		n := &Network{}
		n.Protocol = uint8(r.uvarint())
		n.Bytes, n.Packets = r.varint(), r.varint()
		n.Start, n.End = r.time(), r.time()
		n.Action, n.LogStatus, n.Direction = r.str(), r.str(), r.str()
		n.TCPFlags, n.TrafficPath = int(r.varint()), int(r.varint())
		n.AddrType = r.str()
		n.PktSrc, n.PktDst = r.addr(), r.addr()
		n.SublocationType, n.SublocationID = r.str(), r.str()
		n.Version = int(r.varint())
		e.Network = n
	}
	if r.bool() {
		f := &Finding{}
		f.UID, f.ARN, f.Type, f.Title, f.Description = r.str(), r.str(), r.str(), r.str(), r.str()
		f.Severity = math.Float64frombits(r.uvarint())
		f.Level = r.str()
		f.Count = r.varint()
		f.FirstSeen, f.LastSeen = r.time(), r.time()
		f.Archived = r.bool()
		f.Product = r.str()
		f.Types = r.strs()
		f.Workflow = r.str()
		e.Finding = f
	}
	if r.bool() {
		f := &Facts{}
		f.PolicyPublic, f.PolicyAllowsAll = r.str(), r.str()
		f.PolicyForeign, f.ShareAccounts, f.ShareForeign = r.strs(), r.strs(), r.strs()
		f.SharePublic, f.IngressInternet = r.str(), r.str()
		f.IngressPorts = r.strs()
		f.IngressAllTraffic = r.str()
		f.Items = int(r.varint())
		f.Names = r.strs()
		e.Facts = f
	}
	e.Origin.File = r.str()
	e.Origin.Offset = r.varint()
	e.Raw.Format = RawFormat(r.uvarint())
	e.Raw.Names = r.strs()
	e.Raw.Values = r.strs()
	e.Raw.Keys = KeyFilter(r.uvarint())
	e.Raw.ReqAt = uint32(r.uvarint())
	if r.err == nil && len(r.b) > 0 {
		r.err = errBinary
	}
	return r.err
}

var errBinary = errors.New("event: bad binary form")

type binWriter struct {
	b    []byte
	data []byte // the native record, written first
}

func (w *binWriter) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *binWriter) varint(v int64)   { w.b = binary.AppendVarint(w.b, v) }

// str writes a string as twice its length and its bytes, or, when it lies
// in the native record, as one more than twice its offset there, and its
// length.
func (w *binWriter) str(s string) {
	if len(s) > 0 && len(w.data) > 0 {
		p, base := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.SliceData(w.data)))
		if p >= base && p-base+uintptr(len(s)) <= uintptr(len(w.data)) {
			w.uvarint(uint64(p-base)<<1 | 1)
			w.uvarint(uint64(len(s)))
			return
		}
	}
	w.uvarint(uint64(len(s)) << 1)
	w.b = append(w.b, s...)
}
func (w *binWriter) bytes(p []byte) {
	w.uvarint(uint64(len(p)))
	w.b = append(w.b, p...)
}
func (w *binWriter) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

// time writes an instant and whether it is in UTC (decoders give UTC;
// anything else is read back in the local zone).
func (w *binWriter) time(t time.Time) {
	if t.IsZero() {
		w.b = append(w.b, 0)
		return
	}
	if t.Location() == time.UTC {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 2)
	}
	w.varint(t.Unix())
	w.uvarint(uint64(t.Nanosecond()))
}

func (w *binWriter) addr(a netip.Addr) {
	p, _ := a.MarshalBinary()
	w.bytes(p)
}

func (w *binWriter) strs(ss []string) {
	if ss == nil {
		w.uvarint(0)
		return
	}
	w.uvarint(uint64(len(ss)) + 1)
	for _, s := range ss {
		w.str(s)
	}
}

func (w *binWriter) endpoint(p *Endpoint) {
	w.addr(p.IP)
	w.uvarint(uint64(p.Port))
	w.str(p.Domain)
	w.str(p.UserAgent)
	w.str(p.InterfaceID)
	w.str(p.InstanceID)
	w.str(p.VPCID)
	w.str(p.SubnetID)
	w.str(p.AWSService)
	w.str(p.Provider)
	g := &p.Geo
	w.str(g.Country)
	w.str(g.City)
	w.uvarint(uint64(math.Float32bits(g.Lat)))
	w.uvarint(uint64(math.Float32bits(g.Lon)))
	w.bool(g.Located)
	w.uvarint(uint64(g.RadiusKm))
	w.uvarint(uint64(g.ASN))
	w.str(g.ASOrg)
}

type binReader struct {
	b    []byte
	data []byte // the native record, read first
	err  error
}

func (r *binReader) fail() {
	if r.err == nil {
		r.err = errBinary
	}
	r.b = nil
}

func (r *binReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *binReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length, at most what the rest could hold at min bytes each.
func (r *binReader) count(min int) int {
	n := r.uvarint()
	if n > uint64(len(r.b)/min) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *binReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	if n == 0 {
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

// str shares the reader's memory, which never changes.
func (r *binReader) str() string {
	n := r.uvarint()
	if n&1 == 1 {
		off, ln := n>>1, r.uvarint()
		if off > uint64(len(r.data)) || ln > uint64(len(r.data))-off || ln == 0 {
			r.fail()
			return ""
		}
		return unsafe.String(&r.data[off], int(ln))
	}
	n >>= 1
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	if n == 0 {
		return ""
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return unsafe.String(&p[0], len(p))
}

func (r *binReader) bool() bool {
	if len(r.b) == 0 || r.b[0] > 1 {
		r.fail()
		return false
	}
	v := r.b[0] == 1
	r.b = r.b[1:]
	return v
}

func (r *binReader) time() time.Time {
	if len(r.b) == 0 {
		r.fail()
		return time.Time{}
	}
	kind := r.b[0]
	r.b = r.b[1:]
	if kind == 0 {
		return time.Time{}
	}
	sec, ns := r.varint(), r.uvarint()
	if ns >= 1e9 || kind > 2 {
		r.fail()
		return time.Time{}
	}
	t := time.Unix(sec, int64(ns))
	if kind == 1 {
		t = t.UTC()
	}
	return t
}

func (r *binReader) addr() netip.Addr {
	p := r.bytes()
	var a netip.Addr
	if err := a.UnmarshalBinary(p); err != nil {
		r.fail()
	}
	return a
}

func (r *binReader) strs() []string {
	n := r.uvarint()
	if n == 0 {
		return nil
	}
	n--
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = r.str()
	}
	return ss
}

func (r *binReader) endpoint(p *Endpoint) {
	p.IP = r.addr()
	p.Port = uint16(r.uvarint())
	p.Domain, p.UserAgent, p.InterfaceID, p.InstanceID = r.str(), r.str(), r.str(), r.str()
	p.VPCID, p.SubnetID, p.AWSService, p.Provider = r.str(), r.str(), r.str(), r.str()
	g := &p.Geo
	g.Country, g.City = r.str(), r.str()
	g.Lat = math.Float32frombits(uint32(r.uvarint()))
	g.Lon = math.Float32frombits(uint32(r.uvarint()))
	g.Located = r.bool()
	g.RadiusKm = uint16(r.uvarint())
	g.ASN = uint32(r.uvarint())
	g.ASOrg = r.str()
}
