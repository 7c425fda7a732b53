package event

import (
	"math/bits"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/parapet-sec/parapet/internal/jsonscan"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s to dst as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does, so the output is always valid JSON.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	i := firstWork(s)
	if i == len(s) { // the common case: nothing to escape
		dst = append(dst, s...)
		return append(dst, '"')
	}
	for i < len(s) {
		// Eight plain ASCII bytes at a time.
		for i+8 <= len(s) && !needsWork(uint64(s[i])|uint64(s[i+1])<<8|uint64(s[i+2])<<16|uint64(s[i+3])<<24|
			uint64(s[i+4])<<32|uint64(s[i+5])<<40|uint64(s[i+6])<<48|uint64(s[i+7])<<56) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// needsWork reports whether any of the eight bytes in x is not plain
// ASCII that JSON takes as it is: a byte of a multi-byte character, or a
// quote, backslash or control character.
// firstWork returns the index of the first byte of s that is not plain
// ASCII needing no escape, or len(s).
func firstWork(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// The high-bit test is exact per byte, and the lowest flagged
		// byte of the special mask is exact: so is the lowest of both.
		if m := x&0x8080808080808080 | jsonscan.SpecialMask(x); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			return i
		}
	}
	return i
}

func needsWork(x uint64) bool {
	return x&0x8080808080808080 != 0 || jsonscan.Special(x)
}

// AppendJSON appends the event's JSON lines form, the stable interchange
// format of `parapet events --format jsonl` (documented in the README).
// Empty fields are left out. withRaw adds the native record as "raw".
func (e *Event) AppendJSON(dst []byte, withRaw bool) []byte {
	w := objWriter{b: append(dst, '{')}
	w.str("id", e.ID)
	if !e.Time.IsZero() {
		w.key("time")
		w.b = append(w.b, '"')
		w.b = e.Time.UTC().AppendFormat(w.b, "2006-01-02T15:04:05.999Z07:00")
		w.b = append(w.b, '"')
	}
	w.int("class_uid", int64(e.Class))
	w.str("class_name", e.Class.Name())
	w.int("activity_id", int64(e.Activity))
	w.int("category_uid", int64(e.Class.Category()))
	w.int("type_uid", int64(e.TypeUID()))
	if e.Source != SourceUnknown {
		w.str("source", e.Source.Product()+"."+e.Source.Service())
	}
	w.str("event_type", e.Type)

	w.open("cloud")
	w.str("provider", e.Cloud.Provider)
	w.str("partition", e.Cloud.Partition)
	w.str("account", e.Cloud.Account)
	w.str("region", e.Cloud.Region)
	w.str("zone", e.Cloud.Zone)
	w.close()

	a := &e.Actor
	if *a != (Actor{}) {
		w.open("actor")
		w.str("type", a.Type)
		w.str("arn", a.ARN)
		w.str("principal_id", a.PrincipalID)
		w.str("account", a.Account)
		w.str("user_name", a.UserName)
		w.str("access_key_id", a.AccessKeyID)
		w.str("session_issuer_arn", a.SessionIssuerARN)
		w.str("session_issuer_type", a.SessionIssuerType)
		w.str("session_name", a.SessionName)
		if !a.SessionCreated.IsZero() {
			w.str("session_created", a.SessionCreated.UTC().Format("2006-01-02T15:04:05Z07:00"))
		}
		w.tri("mfa", a.MFA)
		w.str("invoked_by", a.InvokedBy)
		w.close()
	}
	w.endpoint("src_endpoint", &e.Src)
	w.endpoint("dst_endpoint", &e.Dst)

	if e.API != (API{}) {
		w.open("api")
		w.str("service", e.API.Service)
		w.str("operation", e.API.Operation)
		w.str("version", e.API.Version)
		w.str("request_id", e.API.RequestID)
		w.key("read_only")
		w.b = strconv.AppendBool(w.b, e.API.ReadOnly)
		w.str("error_code", e.API.ErrorCode)
		w.str("error_message", e.API.ErrorMessage)
		w.close()
	}
	w.str("outcome", e.Outcome.String())
	if len(e.Resources) > 0 {
		w.key("resources")
		w.b = append(w.b, '[')
		for i, r := range e.Resources {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			rw := objWriter{b: append(w.b, '{')}
			rw.str("type", r.Type)
			rw.str("uid", r.UID)
			rw.str("name", r.Name)
			rw.str("account", r.Account)
			w.b = append(rw.b, '}')
		}
		w.b = append(w.b, ']')
	}
	if n := e.Network; n != nil {
		w.open("network")
		w.int("protocol", int64(n.Protocol))
		w.int("bytes", n.Bytes)
		w.int("packets", n.Packets)
		w.unix("start", n.Start)
		w.unix("end", n.End)
		w.str("action", n.Action)
		w.str("log_status", n.LogStatus)
		w.str("direction", n.Direction)
		if n.TCPFlags != 0 {
			w.int("tcp_flags", int64(n.TCPFlags))
		}
		if n.TrafficPath != 0 {
			w.int("traffic_path", int64(n.TrafficPath))
		}
		w.str("addr_type", n.AddrType)
		if n.PktSrc.IsValid() {
			w.str("pkt_src_ip", n.PktSrc.String())
		}
		if n.PktDst.IsValid() {
			w.str("pkt_dst_ip", n.PktDst.String())
		}
		w.str("sublocation_type", n.SublocationType)
		w.str("sublocation_id", n.SublocationID)
		w.int("version", int64(n.Version))
		w.close()
	}
	if f := e.Finding; f != nil {
		w.open("finding")
		w.str("uid", f.UID)
		w.str("arn", f.ARN)
		w.str("type", f.Type)
		w.str("title", f.Title)
		w.str("description", f.Description)
		w.key("severity")
		w.b = strconv.AppendFloat(w.b, f.Severity, 'f', -1, 64)
		w.str("level", f.Level)
		if f.Count != 0 {
			w.int("count", f.Count)
		}
		w.unix("first_seen", f.FirstSeen)
		w.unix("last_seen", f.LastSeen)
		if f.Archived {
			w.key("archived")
			w.b = append(w.b, "true"...)
		}
		w.str("product", f.Product)
		if len(f.Types) > 0 {
			w.key("types")
			w.b = append(w.b, '[')
			for i, t := range f.Types {
				if i > 0 {
					w.b = append(w.b, ',')
				}
				w.b = AppendString(w.b, t)
			}
			w.b = append(w.b, ']')
		}
		w.str("workflow", f.Workflow)
		w.close()
	}
	if e.Origin.File != "" {
		w.open("origin")
		w.str("file", e.Origin.File)
		w.int("offset", e.Origin.Offset)
		w.close()
	}
	if withRaw && e.Raw.Format == RawJSON {
		w.key("raw")
		w.b = append(w.b, e.Raw.Data...)
	} else if withRaw && e.Raw.Format == RawFields {
		w.open("raw")
		for i, n := range e.Raw.Names {
			if i < len(e.Raw.Values) {
				w.str(n, e.Raw.Values[i])
			}
		}
		w.close()
	}
	return append(w.b, '}')
}

// objWriter appends the members of one JSON object, leaving out empty ones.
// Nested objects opened with open are dropped again if nothing was written.
type objWriter struct {
	b     []byte
	marks []int
}

func (w *objWriter) key(k string) {
	if n := len(w.b); n > 0 && w.b[n-1] != '{' {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *objWriter) str(k, v string) {
	if v == "" {
		return
	}
	w.key(k)
	w.b = AppendString(w.b, v)
}

func (w *objWriter) int(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *objWriter) tri(k string, v Tri) {
	if v == Unknown {
		return
	}
	w.key(k)
	w.b = strconv.AppendBool(w.b, v == True)
}

func (w *objWriter) unix(k string, t time.Time) {
	if t.IsZero() {
		return
	}
	w.str(k, t.UTC().Format("2006-01-02T15:04:05Z07:00"))
}

func (w *objWriter) open(k string) {
	w.marks = append(w.marks, len(w.b))
	w.key(k)
	w.b = append(w.b, '{')
}

func (w *objWriter) close() {
	m := w.marks[len(w.marks)-1]
	w.marks = w.marks[:len(w.marks)-1]
	if w.b[len(w.b)-1] == '{' { // nothing written: drop the member
		w.b = w.b[:m]
		return
	}
	w.b = append(w.b, '}')
}

func (w *objWriter) endpoint(k string, p *Endpoint) {
	w.open(k)
	if p.IP.IsValid() {
		w.str("ip", p.IP.String())
	}
	if p.Port != 0 {
		w.int("port", int64(p.Port))
	}
	w.str("domain", p.Domain)
	w.str("user_agent", p.UserAgent)
	w.str("interface_id", p.InterfaceID)
	w.str("instance_id", p.InstanceID)
	w.str("vpc_id", p.VPCID)
	w.str("subnet_id", p.SubnetID)
	w.str("aws_service", p.AWSService)
	w.str("provider", p.Provider)
	if g := &p.Geo; g.Country != "" || g.ASN != 0 || g.Located {
		w.open("geo")
		w.str("country", g.Country)
		w.str("city", g.City)
		if g.Located {
			w.key("lat")
			w.b = strconv.AppendFloat(w.b, float64(g.Lat), 'f', -1, 32)
			w.key("lon")
			w.b = strconv.AppendFloat(w.b, float64(g.Lon), 'f', -1, 32)
			w.int("radius_km", int64(g.RadiusKm))
		}
		if g.ASN != 0 {
			w.int("asn", int64(g.ASN))
		}
		w.str("as_org", g.ASOrg)
		w.close()
	}
	w.close()
}
