package vpcflow

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/event"
)

func TestDecode(t *testing.T) {
	f, ok := ParseHeader("version srcaddr dstaddr srcport dstport protocol start end type packets bytes account-id vpc-id subnet-id instance-id interface-id region az-id sublocation-type sublocation-id action tcp-flags pkt-srcaddr pkt-dstaddr pkt-src-aws-service pkt-dst-aws-service traffic-path flow-direction log-status")
	if !ok {
		t.Fatal("v5 header not recognised")
	}
	var ev event.Event
	line := "5 10.0.0.71 52.95.128.179 34210 80 6 1616729292 1616729349 IPv4 7 471 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 3 10.0.0.71 52.95.128.179 - S3 8 egress OK"
	if err := f.Decode(line, &ev); err != nil {
		t.Fatal(err)
	}
	n := ev.Network
	if ev.Src.InterfaceID != "eni-1235b8ca123456789" || ev.Dst.InterfaceID != "" {
		t.Errorf("egress: interface on src %q dst %q, want it on the source", ev.Src.InterfaceID, ev.Dst.InterfaceID)
	}
	if ev.Dst.AWSService != "S3" || n.TrafficPath != 8 || n.Bytes != 471 || n.Packets != 7 || n.Protocol != 6 || n.TCPFlags != 3 || ev.Cloud.Zone != "apse2-az3" || ev.Dst.Port != 80 {
		t.Errorf("Decode = %+v %+v", ev, n)
	}
	if v, ok := ev.Lookup("dstport"); !ok || v.String() != "80" || v.Kind != event.KindNumber {
		t.Errorf("Lookup(dstport) = %v %v", v, ok)
	}
	if _, ok := ev.Lookup("sublocation-id"); ok {
		t.Error("Lookup of a '-' field found a value")
	}
	if ev.ID != ID(line) || !strings.HasPrefix(ev.ID, "vpcflow:") {
		t.Errorf("id %q", ev.ID)
	}
}

func TestHeader(t *testing.T) {
	if _, ok := ParseHeader("2 123456789010 eni-1 - - - - - - - 1 2 - NODATA"); ok {
		t.Error("a data line was taken for a header")
	}
	if _, err := NewFormat([]string{"version", "colour"}); err == nil {
		t.Error("unknown field accepted")
	}
}

func TestRejects(t *testing.T) {
	for _, line := range []string{
		"2 123456789010 eni-1 10.0.0.1 10.0.0.2 22 70000 6 1 1 1 2 ACCEPT OK",
		"2 123456789010 eni-1 10.0.0.1 10.0.0.2 22 22 6 1 1 1 2 MAYBE OK",
		"2 123456789010 eni-1 not-an-ip 10.0.0.2 22 22 6 1 1 1 2 ACCEPT OK",
		"2 123456789010 eni-1 10.0.0.1 10.0.0.2 22 22 6 x 1 1 2 ACCEPT OK",
		"2 123456789010 eni-1 - - - - - - - - - - NODATA",
		"2 1",
	} {
		var ev event.Event
		if err := Default.Decode(line, &ev); err == nil {
			t.Errorf("Decode(%q) accepted a bad record", line)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK")
	f.Add("2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA")
	f.Fuzz(func(t *testing.T, line string) {
		var ev event.Event
		if err := Default.Decode(line, &ev); err != nil {
			return
		}
		if out := ev.AppendJSON(nil, true); !json.Valid(out) {
			t.Fatalf("output is not valid JSON: %s", out)
		}
		if h, ok := ParseHeader(line); ok && len(h.Names) == 0 {
			t.Fatal("empty header accepted")
		}
	})
}

func TestFieldsAgreesWithStrings(t *testing.T) {
	for _, s := range []string{"", " ", "2 123 eni-1 - -", "  a\tb \r\n c  ", "a\u00a0b c", "x\u2003y z", "\v\fa"} {
		if got, want := fields(s, 3), strings.Fields(s); !slices.Equal(got, want) {
			t.Errorf("fields(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzFields(f *testing.F) {
	f.Add("2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := fields(s, 14), strings.Fields(s); !slices.Equal(got, want) {
			t.Errorf("fields(%q) = %q, want %q", s, got, want)
		}
		if got, want := id([]byte(s)), ID(s); got != want {
			t.Errorf("id(%q) = %q, want %q", s, got, want)
		}
	})
}
