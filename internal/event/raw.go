package event

import (
	"strconv"
	"strings"
	"unsafe"

	"github.com/parapet-sec/parapet/internal/jsonscan"
)

// RawFormat says how Raw holds the native record.
type RawFormat uint8

// Raw formats.
const (
	RawNone   RawFormat = iota
	RawJSON             // Data is one JSON object
	RawFields           // Names and Values hold a delimited text record
)

// Raw is the native record, kept so that rules can read any native field.
type Raw struct {
	Format RawFormat
	// ReqAt, when not zero, is one more than the offset in Data of the
	// value of the record's first requestParameters key, so that rules
	// reading request parameters start their walk there.
	ReqAt uint32
	// Data is the record's bytes: the JSON object, or the text line.
	Data []byte
	// Names and Values are the fields of a text record (flow logs); Names
	// is shared by all records of one file.
	Names  []string
	Values []string
	// Keys, when not zero, is a filter of the keys a decoder saw in Data
	// (KeyFilter), so that a rule reading a field the record lacks is
	// answered without a walk of the record.
	Keys KeyFilter
}

// KeyFilter is a one-word filter of the keys of a JSON record: its
// top-level keys, and when the decoder saw every key of userIdentity, of
// its sessionContext and of their sessionIssuer (KeyIdentity), those too.
// Keys that rules often ask for and records often lack have a bit each;
// the others share the rest as a Bloom filter. Zero knows nothing. A key
// added is always reported as possibly there; a key not added is reported
// absent, always when it has a bit of its own, most of the time otherwise.
type KeyFilter uint64

// KeyIdentity marks a filter that holds the keys below userIdentity.
const KeyIdentity KeyFilter = 1 << 63

// KeyParent is the object a key belongs to.
type KeyParent uint8

// The objects a KeyFilter holds the keys of.
const (
	KeyTop            KeyParent = iota // the record
	KeyUserIdentity                    // userIdentity
	KeySessionContext                  // userIdentity.sessionContext
	KeySessionIssuer                   // userIdentity.sessionContext.sessionIssuer
)

const ownBits = 13

// ownBit returns the bit of a key with one of its own.
func ownBit(parent KeyParent, key string) (KeyFilter, bool) {
	i := -1
	switch parent {
	case KeyTop:
		switch key {
		case "errorCode":
			i = 0
		case "errorMessage":
			i = 1
		case "userAgent":
			i = 2
		case "additionalEventData":
			i = 3
		case "sessionCredentialFromConsole":
			i = 4
		case "serviceEventDetails":
			i = 5
		}
	case KeyUserIdentity:
		switch key {
		case "invokedBy":
			i = 6
		case "userName":
			i = 7
		case "sessionContext":
			i = 8
		}
	case KeySessionContext:
		switch key {
		case "ec2RoleDelivery":
			i = 9
		case "sessionIssuer":
			i = 10
		}
	case KeySessionIssuer:
		switch key {
		case "type":
			i = 11
		case "userName":
			i = 12
		}
	}
	if i < 0 {
		return 0, false
	}
	return 1 << i, true
}

// keyBit is the filter bit of a key: its own, or a Bloom bit from a
// cheap hash of its parent, length and a few of its bytes.
func keyBit(parent KeyParent, key string) KeyFilter {
	if b, ok := ownBit(parent, key); ok {
		return b
	}
	h := uint(parent)*0x9e37 + uint(len(key))*131
	if n := len(key); n > 0 {
		h += uint(key[0])*31 + uint(key[n-1])*7 + uint(key[n/2])*3
	}
	return 1 << (ownBits + h%(63-ownBits))
}

// Add adds the key (unescaped) of an object to the filter.
func (f *KeyFilter) Add(parent KeyParent, key []byte) {
	*f |= keyBit(parent, unsafe.String(unsafe.SliceData(key), len(key)))
}

// keyLevels are the objects below userIdentity whose keys a filter holds.
var keyLevels = [...]struct {
	parent KeyParent
	name   string // the key of the object holding these keys
}{{KeyUserIdentity, "userIdentity"}, {KeySessionContext, "sessionContext"}, {KeySessionIssuer, "sessionIssuer"}}

// mayHave reports whether the record may hold a value at path; false
// means certainly not.
func (f KeyFilter) mayHave(path string) bool {
	if f == 0 || path == "" {
		return true
	}
	seg, rest, nested := strings.Cut(path, ".")
	if f&keyBit(KeyTop, seg) == 0 {
		return false
	}
	if f&KeyIdentity == 0 {
		return true
	}
	// userIdentity, its sessionContext, and their sessionIssuer.
	for _, l := range keyLevels {
		if !nested || seg != l.name {
			return true
		}
		seg, rest, nested = strings.Cut(rest, ".")
		if f&keyBit(l.parent, seg) == 0 {
			return false
		}
	}
	return true
}

// Kind is the JSON type of a Value.
type Kind uint8

// Value kinds.
const (
	KindNull Kind = iota
	KindString
	KindNumber
	KindBool
	KindObject
	KindArray
)

// Value is one native field value.
type Value struct {
	Kind Kind
	raw  []byte // JSON text, for JSON records
	str  string // the text, for text records
}

// String returns the value as text: a string's characters, or the JSON
// text of a number, literal, object or array.
func (v Value) String() string {
	if v.raw == nil {
		return v.str
	}
	if v.Kind == KindString {
		return jsonscan.StrValid(v.raw) // records are validated when decoded
	}
	return string(v.raw)
}

// JSON returns the value's JSON text (a text record's value as a JSON
// string or number).
func (v Value) JSON() []byte {
	if v.raw != nil {
		return v.raw
	}
	if v.Kind == KindNumber {
		return []byte(v.str)
	}
	return AppendString(nil, v.str)
}

// Elements calls fn with each element of an array value until fn returns
// false; other values have no elements.
func (v Value) Elements(fn func(Value) bool) {
	if v.Kind != KindArray || v.raw == nil {
		return
	}
	b := v.raw
	jsonscan.ElementsValid(b, 0, func(vs, ve int) bool {
		return fn(Value{Kind: jsonKind(b[vs]), raw: b[vs:ve]})
	})
}

// Lookup returns the first value at the native dotted path
// (requestParameters.bucketName, userIdentity.sessionContext.sessionIssuer.arn;
// for flow records the field name, dstport). Arrays on the way are searched
// element by element; a digit segment selects one element.
func (e *Event) Lookup(path string) (Value, bool) {
	var out Value
	found := false
	e.Each(path, func(v Value) bool {
		out, found = v, true
		return false
	})
	return out, found
}

// Each calls fn with every value at path (several when the path crosses
// arrays) until fn returns false.
func (e *Event) Each(path string, fn func(Value) bool) {
	if strings.HasPrefix(path, "parapet.") {
		// What enrichment added: never in the native record.
		name := path[len("parapet."):]
		if s := e.parapetField(name); s != "" {
			fn(Value{Kind: KindString, str: s})
			return
		}
		for _, s := range e.parapetList(name) {
			if !fn(Value{Kind: KindString, str: s}) {
				return
			}
		}
		return
	}
	if e.Source == SourceCloudTrail {
		// The fields the decoder already holds: no walk of the record.
		// An empty one may still be present in the record, so it falls
		// through to the walk.
		// Insight events carry the name and source of the calls they
		// count in insightDetails, not at the top.
		if s := e.cloudTrailField(path); s != "" && e.Type != "AwsCloudTrailInsight" {
			fn(Value{Kind: KindString, str: s})
			return
		}
	}
	switch e.Raw.Format {
	case RawJSON:
		b := e.Raw.Data
		found := false
		if e.Raw.Keys.mayHave(path) {
			at, rest := 0, path
			if e.Raw.ReqAt > 0 && strings.HasPrefix(path, "requestParameters") {
				if tail := path[len("requestParameters"):]; tail == "" || tail[0] == '.' {
					at, rest = int(e.Raw.ReqAt-1), strings.TrimPrefix(tail, ".")
				}
			}
			jsonscan.Each(b, at, rest, func(vs, ve int) bool {
				found = true
				return fn(Value{Kind: jsonKind(b[vs]), raw: b[vs:ve]})
			})
		}
		// A field of another schema for the same logs (a rule written for
		// Log Analytics' columns reading a storage export), when the
		// record lacks the name itself.
		if !found && int(e.Source) < len(aliases) && aliases[e.Source] != nil {
			if alt, ok := aliases[e.Source](path); ok && alt != path {
				jsonscan.Each(b, 0, alt, func(vs, ve int) bool {
					return fn(Value{Kind: jsonKind(b[vs]), raw: b[vs:ve]})
				})
			}
		}
	case RawFields:
		for i, n := range e.Raw.Names {
			if n == path && i < len(e.Raw.Values) {
				s := e.Raw.Values[i]
				if s == "-" || s == "" {
					return
				}
				k := KindString
				if isDigits(s) {
					k = KindNumber
				}
				fn(Value{Kind: k, str: s})
				return
			}
		}
	}
}

var aliases [16]func(string) (string, bool)

// RegisterAliases names, for one source, the native field that answers a
// field name the record lacks (decoders call it from init).
func RegisterAliases(src Source, alias func(field string) (string, bool)) {
	aliases[src] = alias
}

// parapetField returns a field enrichment added, by its name after
// "parapet.".
func (e *Event) parapetField(name string) string {
	switch name {
	case "src_provider":
		return e.Src.Provider
	case "dst_provider":
		return e.Dst.Provider
	case "src_country":
		return e.Src.Geo.Country
	case "dst_country":
		return e.Dst.Geo.Country
	case "src_asn":
		if e.Src.Geo.ASN != 0 {
			return strconv.FormatUint(uint64(e.Src.Geo.ASN), 10)
		}
	case "dst_asn":
		if e.Dst.Geo.ASN != 0 {
			return strconv.FormatUint(uint64(e.Dst.Geo.ASN), 10)
		}
	case "src_as_org":
		return e.Src.Geo.ASOrg
	case "identity.class":
		return e.Actor.Class()
	}
	if f := e.Facts; f != nil {
		switch name {
		case "policy.public":
			return f.PolicyPublic
		case "policy.allows_all_actions":
			return f.PolicyAllowsAll
		case "share.public":
			return f.SharePublic
		case "share.foreign":
			if len(f.ShareAccounts) > 0 || f.SharePublic == "true" {
				return strconv.FormatBool(len(f.ShareForeign) > 0 || f.SharePublic == "true")
			}
		case "policy.foreign":
			if f.PolicyPublic != "" {
				return strconv.FormatBool(len(f.PolicyForeign) > 0)
			}
		case "ingress.internet":
			return f.IngressInternet
		case "ingress.all_traffic":
			return f.IngressAllTraffic
		case "request.items":
			if f.Items > 0 {
				return strconv.Itoa(f.Items)
			}
		}
	}
	return ""
}

// parapetList returns a list-valued enrichment field (each value is
// matched on its own, as a list in the record would be).
func (e *Event) parapetList(name string) []string {
	f := e.Facts
	if f == nil {
		return nil
	}
	switch name {
	case "policy.foreign_accounts":
		return f.PolicyForeign
	case "share.accounts":
		return f.ShareAccounts
	case "share.foreign_accounts":
		return f.ShareForeign
	case "ingress.ports":
		return f.IngressPorts
	case "request.names":
		return f.Names
	}
	return nil
}

// cloudTrailField returns a native CloudTrail field the decoder keeps.
func (e *Event) cloudTrailField(path string) string {
	switch path {
	case "eventName":
		return e.API.Operation
	case "eventSource":
		return e.API.Service
	case "awsRegion":
		return e.Cloud.Region
	case "userAgent":
		return e.Src.UserAgent
	case "errorCode":
		return e.API.ErrorCode
	case "eventType":
		return e.Type
	case "userIdentity.type":
		return e.Actor.Type
	case "userIdentity.arn":
		return e.Actor.ARN
	case "userIdentity.accountId":
		return e.Actor.Account
	case "userIdentity.accessKeyId":
		return e.Actor.AccessKeyID
	case "userIdentity.principalId":
		return e.Actor.PrincipalID
	case "userIdentity.invokedBy":
		return e.Actor.InvokedBy
	case "userIdentity.sessionContext.sessionIssuer.arn":
		return e.Actor.SessionIssuerARN
	case "userIdentity.sessionContext.sessionIssuer.type":
		return e.Actor.SessionIssuerType
	}
	return ""
}

func jsonKind(c byte) Kind {
	switch c {
	case '"':
		return KindString
	case '{':
		return KindObject
	case '[':
		return KindArray
	case 't', 'f':
		return KindBool
	case 'n':
		return KindNull
	}
	return KindNumber
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
