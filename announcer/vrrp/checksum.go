package vrrp

import (
	"encoding/binary"
	"net/netip"
)

// checksum returns the Internet checksum (RFC 1071) of the VRRP message b
// and the pseudo-header of its IP packet from src to dst: for IPv4 source,
// destination, zero, protocol 112 and the VRRP length; for IPv6 the
// pseudo-header of RFC 2460 §8.1 with next header 112 (RFC 5798 §5.2.8).
// Over a message whose checksum field is zero it is the value to write;
// over a received message it is zero when the checksum verifies.
func checksum(b []byte, src, dst netip.Addr) uint16 {
	var sum uint32
	add := func(p []byte) {
		for len(p) >= 2 {
			sum += uint32(binary.BigEndian.Uint16(p))
			p = p[2:]
		}
		if len(p) == 1 {
			sum += uint32(p[0]) << 8
		}
	}
	add(src.AsSlice())
	add(dst.AsSlice())
	// Protocol and length: the same 16-bit words for the IPv4 layout
	// (zero, protocol, 16-bit length) and the IPv6 one (32-bit length,
	// three zero bytes, next header) as long as the length fits 16 bits.
	sum += IPProtocol
	sum += uint32(len(b)) & 0xffff
	sum += uint32(len(b)) >> 16
	add(b)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
