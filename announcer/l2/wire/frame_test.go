package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/ndp"
)

func testNS() ndpFrame {
	return ndpFrame{
		dstMAC:   ourMAC,
		srcMAC:   peerMAC,
		src:      peer6,
		dst:      vip6,
		hopLimit: 255,
		msg: &ndp.NeighborSolicitation{TargetAddress: vip6,
			Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: peerMAC}}},
	}
}

func TestNDPFrameRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		f    ndpFrame
	}{
		{"unicast solicitation", testNS()},
		{"unsolicited advertisement", ndpFrame{
			dstMAC: []byte{0x33, 0x33, 0, 0, 0, 1}, srcMAC: ourMAC, src: ourLL, dst: allNodesLL, hopLimit: 255,
			msg: &ndp.NeighborAdvertisement{Override: true, TargetAddress: vip6,
				Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: ourMAC}}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.f.marshal()
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			// Ethernet pads short frames; the IPv6 payload length must cut the padding off.
			b = append(b, 0, 0, 0, 0)
			got, err := parseNDPFrame(b)
			if err != nil {
				t.Fatalf("parseNDPFrame: %v", err)
			}
			if diff := cmp.Diff(tc.f, got, cmpAddr(), cmp.AllowUnexported(ndpFrame{})); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseNDPFrameRejects(t *testing.T) {
	good, err := testNS().marshal()
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		b    []byte
	}{
		{"short", good[:20]},
		{"not ipv6", mutate(func(b []byte) []byte { b[12], b[13] = 0x08, 0x00; return b })},
		{"extension header", mutate(func(b []byte) []byte { b[ethHeaderLen+6] = 0; return b })},
		{"payload length beyond frame", mutate(func(b []byte) []byte { b[ethHeaderLen+4] = 0xff; return b })},
		{"bad checksum", mutate(func(b []byte) []byte { b[len(b)-1] ^= 0xff; return b })},
		{"changed source address", mutate(func(b []byte) []byte { b[ethHeaderLen+8+15] ^= 1; return b })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseNDPFrame(tc.b); err == nil {
				t.Errorf("parseNDPFrame accepted a bad frame")
			}
		})
	}
	if _, err := parseNDPFrame(good[:20]); !errors.Is(err, errNotNDP) {
		t.Errorf("short frame: got %v, want %v", err, errNotNDP)
	}
}

func TestICMPv6ChecksumOddLength(t *testing.T) {
	// RFC 1071: an odd trailing byte is summed as if padded with zero; only the length in the
	// pseudo-header differs (by one), so the complemented sums differ by one.
	src, dst := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fe80::2")
	odd, padded := icmpv6Checksum(src, dst, []byte{1, 2, 3}), icmpv6Checksum(src, dst, []byte{1, 2, 3, 0})
	if odd != padded+1 {
		t.Errorf("checksum of odd body %#04x, of zero-padded body %#04x; want them one apart", odd, padded)
	}
}

// FuzzParseNDPFrame decodes, encodes and decodes again: what parses must survive a round trip.
func FuzzParseNDPFrame(f *testing.F) {
	good, err := testNS().marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		f1, err := parseNDPFrame(b)
		if err != nil {
			return
		}
		b1, err := f1.marshal()
		if err != nil {
			return // ndp parses some messages it will not encode again
		}
		f2, err := parseNDPFrame(b1)
		if err != nil {
			t.Fatalf("parsing re-encoded frame: %v", err)
		}
		b2, err := f2.marshal()
		if err != nil {
			t.Fatalf("encoding frame twice: %v", err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("frame changed on second round trip:\n%x\n%x", b1, b2)
		}
	})
}
