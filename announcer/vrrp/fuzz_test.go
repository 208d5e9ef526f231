package vrrp

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzParse parses the fuzzer's bytes as an advert sent from an IPv4 or
// IPv6 source (first byte even or odd) to the VRRP group, then marshals
// what it parsed and parses that again: both parses must agree, and the
// marshaled bytes must equal the input but for the reserved bits. Unless
// bit 1 of the first byte is set, the checksum is fixed before parsing.
func FuzzParse(f *testing.F) {
	// The seed corpus is testdata/fuzz/FuzzParse: keepalived's adverts
	// and broken ones.
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		src, dst := src4, GroupIPv4
		if data[0]&1 == 1 {
			src, dst = src6, GroupIPv6
		}
		b := data[1:]
		if len(b) >= HeaderLen {
			// Give most inputs a valid checksum, or the fuzzer
			// rarely gets past it.
			b = append([]byte(nil), b...)
			if data[0]&2 == 0 {
				fixChecksum(b, src, dst)
			}
		}
		a, err := Parse(b, src, dst)
		if err != nil {
			if Reason(err) == "" {
				t.Fatalf("Parse error without a reason: %v", err)
			}
			return
		}
		out, err := a.Marshal(src, dst)
		if err != nil {
			t.Fatalf("Marshal of parsed %+v: %v", a, err)
		}
		again, err := Parse(out, src, dst)
		if err != nil {
			t.Fatalf("Parse of marshaled %x: %v", out, err)
		}
		if diff := cmp.Diff(a, again, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
			t.Errorf("parse, marshal, parse (-first +second):\n%s", diff)
		}
		in := append([]byte(nil), b...)
		in[4] &= 0x0f // reserved bits are not kept
		in[6], in[7] = out[6], out[7]
		if diff := cmp.Diff(in, out); diff != "" {
			t.Errorf("marshal of parse (-input +output):\n%s", diff)
		}
	})
}
