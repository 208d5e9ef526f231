package vrrp

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var (
	src4 = netip.MustParseAddr("192.0.2.1")
	src6 = netip.MustParseAddr("fe80::d057:feff:fe5d:a03a")
)

// keepalived4 is an advert keepalived v2.2.7 sent (testdata/keepalived-ipv4.json).
const keepalived4 = "3133960300644e9bc0000264c0000265c0000266"

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMarshal(t *testing.T) {
	for _, tc := range []struct {
		name     string
		advert   Advert
		src, dst netip.Addr
		want     string // hex; "" when an error is expected
	}{{
		name: "keepalived ipv4",
		advert: Advert{VRID: 51, Priority: 150, MaxAdvertInterval: time.Second,
			Addresses: addrs("192.0.2.100", "192.0.2.101", "192.0.2.102")},
		src: src4, dst: GroupIPv4, want: keepalived4,
	}, {
		name:   "keepalived ipv6",
		advert: Advert{Version: 3, Type: 1, VRID: 52, Priority: 200, MaxAdvertInterval: 500 * time.Millisecond, Addresses: addrs("fe80::1:34", "2001:db8::100", "2001:db8::101")},
		src:    src6, dst: GroupIPv6,
		want: "3134c80300323e3efe80000000000000000000000001003420010db800000000000000000000010020010db8000000000000000000000101",
	}, {
		name:   "no addresses",
		advert: Advert{VRID: 1, Priority: 100, MaxAdvertInterval: 4095 * 10 * time.Millisecond},
		src:    src4, dst: GroupIPv4, want: "310164000fffb872",
	}, {
		name:   "interval not in centiseconds",
		advert: Advert{VRID: 1, MaxAdvertInterval: 15 * time.Millisecond},
		src:    src4, dst: GroupIPv4,
	}, {
		name:   "interval too long",
		advert: Advert{VRID: 1, MaxAdvertInterval: 41 * time.Second},
		src:    src4, dst: GroupIPv4,
	}, {
		name:   "version 2",
		advert: Advert{Version: 2, VRID: 1},
		src:    src4, dst: GroupIPv4,
	}, {
		name:   "ipv6 address from ipv4 source",
		advert: Advert{VRID: 1, Addresses: addrs("2001:db8::1")},
		src:    src4, dst: GroupIPv4,
	}, {
		name:   "mixed source and destination",
		advert: Advert{VRID: 1},
		src:    src4, dst: GroupIPv6,
	}, {
		name:   "256 addresses",
		advert: Advert{VRID: 1, Addresses: make([]netip.Addr, 256)},
		src:    src4, dst: GroupIPv4,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.advert.Marshal(tc.src, tc.dst)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("Marshal = %x, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, hex.EncodeToString(got)); diff != "" {
				t.Errorf("Marshal (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParse(t *testing.T) {
	good := func(t *testing.T) []byte { return mustHex(t, keepalived4) }
	for _, tc := range []struct {
		name       string
		b          func(t *testing.T) []byte
		src, dst   netip.Addr
		want       Advert
		wantReason string
	}{{
		name: "keepalived",
		b:    good, src: src4, dst: GroupIPv4,
		want: Advert{Version: 3, Type: 1, VRID: 51, Priority: 150, MaxAdvertInterval: time.Second,
			Addresses: addrs("192.0.2.100", "192.0.2.101", "192.0.2.102")},
	}, {
		name: "4in6 addresses of the header are unmapped",
		b:    good, src: netip.AddrFrom16(src4.As16()), dst: netip.AddrFrom16(GroupIPv4.As16()),
		want: Advert{Version: 3, Type: 1, VRID: 51, Priority: 150, MaxAdvertInterval: time.Second,
			Addresses: addrs("192.0.2.100", "192.0.2.101", "192.0.2.102")},
	}, {
		name: "reserved bits are ignored",
		b: func(t *testing.T) []byte {
			b := good(t)
			b[4] |= 0xf0
			return fixChecksum(b, src4, GroupIPv4)
		},
		src: src4, dst: GroupIPv4,
		want: Advert{Version: 3, Type: 1, VRID: 51, Priority: 150, MaxAdvertInterval: time.Second,
			Addresses: addrs("192.0.2.100", "192.0.2.101", "192.0.2.102")},
	}, {
		name: "version 2",
		b: func(t *testing.T) []byte {
			b := good(t)
			b[0] = 0x21
			return fixChecksum(b, src4, GroupIPv4)
		},
		src: src4, dst: GroupIPv4, wantReason: ReasonBadVersion,
	}, {
		name: "type 2",
		b: func(t *testing.T) []byte {
			b := good(t)
			b[0] = 0x32
			return fixChecksum(b, src4, GroupIPv4)
		},
		src: src4, dst: GroupIPv4, wantReason: ReasonBadType,
	}, {
		name: "checksum",
		b: func(t *testing.T) []byte {
			b := good(t)
			b[2] = 151
			return b
		},
		src: src4, dst: GroupIPv4, wantReason: ReasonBadChecksum,
	}, {
		name: "checksum without the pseudo-header (other source)",
		b:    good, src: netip.MustParseAddr("192.0.2.9"), dst: GroupIPv4, wantReason: ReasonBadChecksum,
	}, {
		name: "checksum to a unicast destination",
		b:    good, src: src4, dst: netip.MustParseAddr("192.0.2.2"), wantReason: ReasonBadChecksum,
	}, {
		name: "short header",
		b:    func(t *testing.T) []byte { return good(t)[:7] },
		src:  src4, dst: GroupIPv4, wantReason: ReasonMalformed,
	}, {
		name: "count larger than the addresses",
		b: func(t *testing.T) []byte {
			b := good(t)
			b[3] = 4
			return fixChecksum(b, src4, GroupIPv4)
		},
		src: src4, dst: GroupIPv4, wantReason: ReasonMalformed,
	}, {
		name: "cut address",
		b:    func(t *testing.T) []byte { return good(t)[:18] },
		src:  src4, dst: GroupIPv4, wantReason: ReasonMalformed,
	}, {
		name: "ipv4 advert from an ipv6 source",
		b: func(t *testing.T) []byte {
			b := append(good(t), 192, 0, 2, 103)
			b[3] = 4
			return fixChecksum(b, src6, GroupIPv6)
		},
		src: src6, dst: GroupIPv6, wantReason: ReasonWrongFamily,
	}, {
		name: "source and destination of two families",
		b:    good, src: src6, dst: GroupIPv4, wantReason: ReasonWrongFamily,
	}, {
		name: "no source",
		b:    good, dst: GroupIPv4, wantReason: ReasonWrongFamily,
	}, {
		name: "no addresses",
		b: func(t *testing.T) []byte {
			b := good(t)[:8:8]
			b[3] = 0
			return fixChecksum(b, src4, GroupIPv4)
		},
		src: src4, dst: GroupIPv4,
		want: Advert{Version: 3, Type: 1, VRID: 51, Priority: 150, MaxAdvertInterval: time.Second},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b(t)
			got, err := Parse(b, tc.src, tc.dst)
			if tc.wantReason != "" {
				if Reason(err) != tc.wantReason {
					t.Fatalf("Parse = %+v, %v; want reason %q", got, err, tc.wantReason)
				}
				if !errors.Is(err, &ParseError{Reason: tc.wantReason}) {
					t.Errorf("errors.Is(%v, ParseError{%s}) = false", err, tc.wantReason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckTTL(t *testing.T) {
	for _, tc := range []struct {
		ttl  int
		want string
	}{{255, ""}, {254, ReasonBadTTL}, {1, ReasonBadTTL}, {0, ReasonBadTTL}, {-1, ReasonBadTTL}} {
		if got := Reason(CheckTTL(tc.ttl)); got != tc.want {
			t.Errorf("CheckTTL(%d) reason = %q, want %q", tc.ttl, got, tc.want)
		}
	}
}

// fixChecksum rewrites the checksum of a VRRP message edited by a test.
func fixChecksum(b []byte, src, dst netip.Addr) []byte {
	b[6], b[7] = 0, 0
	sum := checksum(b, src, dst)
	b[6], b[7] = byte(sum>>8), byte(sum)
	return b
}

// TestMarshalAllocations: an advert of 255 addresses is one allocation, not
// one per address.
func TestMarshalAllocations(t *testing.T) {
	a := Advert{VRID: 1, Priority: 100, MaxAdvertInterval: time.Second}
	for i := range MaxAddressesIPv4 {
		a.Addresses = append(a.Addresses, netip.AddrFrom4([4]byte{198, 51, 100 + byte(i/250), byte(i % 250)}))
	}
	src := netip.MustParseAddr("192.0.2.1")
	if allocs := testing.AllocsPerRun(100, func() { _, _ = a.Marshal(src, GroupIPv4) }); allocs > 1 {
		t.Errorf("Marshal of %d addresses: %v allocations, want 1", len(a.Addresses), allocs)
	}
}
