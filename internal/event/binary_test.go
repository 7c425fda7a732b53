package event

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// fill sets every field reachable from v to a value of its own, so that a
// field the binary form forgets (one added to Event later) is found.
func fill(v reflect.Value, path string, n *int) {
	*n++
	switch v.Interface().(type) {
	case time.Time:
		v.Set(reflect.ValueOf(time.Date(2026, 11, 2, 9, 0, *n, *n*1000, time.UTC)))
		return
	case netip.Addr:
		v.Set(reflect.ValueOf(netip.AddrFrom4([4]byte{10, 0, byte(*n >> 8), byte(*n)})))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n % 100))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n % 200))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*n) + 0.5)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), path, n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(v.Index(i), fmt.Sprintf("%s[%d]", path, i), n)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				panic(fmt.Sprintf("%s.%s: an unexported field the binary form cannot see", path, f.Name))
			}
			fill(v.Field(i), path+"."+f.Name, n)
		}
	default:
		panic(fmt.Sprintf("%s: fill does not know %s", path, v.Kind()))
	}
}

// The binary form gives back every field of an event: one with every field
// set (by reflection, so a field added later is covered) and one with none.
func TestBinaryRoundTrip(t *testing.T) {
	var full Event
	n := 0
	fill(reflect.ValueOf(&full).Elem(), "e", &n)
	// Strings lying in the native record, as decoders leave them, are
	// written as where they lie.
	data := []byte(`{"eventName":"GetObject","arn":"arn:aws:iam::1:user/x"} 10.0.0.1`)
	in := func(s string) string {
		i := strings.Index(string(data), s)
		return unsafe.String(&data[i], len(s))
	}
	shared := Event{ID: "copied", API: API{Operation: in("GetObject")}, Actor: Actor{ARN: in("arn:aws:iam::1:user/x"), UserName: in("x")},
		Raw: Raw{Format: RawFields, Data: data, Values: []string{in("10.0.0.1"), "-"}}}
	copied := shared
	copied.API.Operation, copied.Actor.ARN = strings.Clone(shared.API.Operation), strings.Clone(shared.Actor.ARN)
	if a, b := len(shared.AppendBinary(nil)), len(copied.AppendBinary(nil)); a >= b {
		t.Errorf("strings in the record take %d bytes, copied %d", a, b)
	}
	for _, ev := range []Event{full, {}, {ID: "x", Time: time.Date(2026, 1, 1, 0, 0, 0, 1, time.UTC), Network: &Network{}}, shared} {
		b := ev.AppendBinary([]byte("prefix"))
		var got Event
		if err := ReadBinary(b[len("prefix"):], &got); err != nil {
			t.Fatalf("ReadBinary: %v", err)
		}
		if !reflect.DeepEqual(got, ev) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, ev)
		}
		for cut := range len(b) - len("prefix") {
			if err := ReadBinary(b[len("prefix"):len("prefix")+cut], &got); err == nil {
				t.Fatalf("a form cut at %d read without error", cut)
			}
		}
	}
}

// FuzzReadBinary: any input reads or errs, never panics; what reads writes
// back to a form that reads the same.
func FuzzReadBinary(f *testing.F) {
	var full Event
	n := 0
	fill(reflect.ValueOf(&full).Elem(), "e", &n)
	f.Add(full.AppendBinary(nil))
	f.Add((&Event{}).AppendBinary(nil))
	data := []byte(`{"eventName":"GetObject"}`)
	f.Add((&Event{API: API{Operation: unsafe.String(&data[14], 9)}, Raw: Raw{Format: RawJSON, Data: data}}).AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev Event
		if ReadBinary(b, &ev) != nil {
			return
		}
		var again Event
		if err := ReadBinary(ev.AppendBinary(nil), &again); err != nil || !reflect.DeepEqual(again, ev) {
			t.Fatalf("%+v wrote back as %+v (%v)", ev, again, err)
		}
	})
}
