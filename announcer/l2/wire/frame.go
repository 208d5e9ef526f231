package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/ndp"
)

const (
	etherTypeIPv6   = 0x86dd
	ethHeaderLen    = 14
	ipv6HeaderLen   = 40
	protocolICMPv6  = 58
	ndpFrameMinimum = ethHeaderLen + ipv6HeaderLen + 4
)

var errNotNDP = errors.New("not an NDP frame")

// An ndpFrame is an Ethernet frame carrying an IPv6 packet whose only payload is an NDP message,
// as the packet socket behind Listen sees it.
type ndpFrame struct {
	dstMAC, srcMAC net.HardwareAddr
	src, dst       netip.Addr
	hopLimit       uint8
	msg            ndp.Message
}

// parseNDPFrame decodes b. It rejects IPv6 extension headers (NDP packets carry none) and
// a wrong ICMPv6 checksum, which the kernel checks for raw sockets but not for packet sockets.
func parseNDPFrame(b []byte) (ndpFrame, error) {
	if len(b) < ndpFrameMinimum || binary.BigEndian.Uint16(b[12:14]) != etherTypeIPv6 {
		return ndpFrame{}, errNotNDP
	}
	ip := b[ethHeaderLen:]
	if ip[0]>>4 != 6 || ip[6] != protocolICMPv6 {
		return ndpFrame{}, errNotNDP
	}
	plen := int(binary.BigEndian.Uint16(ip[4:6]))
	if plen > len(ip)-ipv6HeaderLen {
		return ndpFrame{}, fmt.Errorf("ipv6 payload length %d exceeds frame: %w", plen, errNotNDP)
	}
	f := ndpFrame{
		dstMAC:   net.HardwareAddr(append([]byte(nil), b[0:6]...)),
		srcMAC:   net.HardwareAddr(append([]byte(nil), b[6:12]...)),
		src:      netip.AddrFrom16([16]byte(ip[8:24])),
		dst:      netip.AddrFrom16([16]byte(ip[24:40])),
		hopLimit: ip[7],
	}
	body := ip[ipv6HeaderLen : ipv6HeaderLen+plen]
	if icmpv6Checksum(f.src, f.dst, body) != 0 {
		return ndpFrame{}, fmt.Errorf("bad icmpv6 checksum: %w", errNotNDP)
	}
	m, err := ndp.ParseMessage(body)
	if err != nil {
		return ndpFrame{}, fmt.Errorf("parsing ndp message: %w", err)
	}
	f.msg = m
	return f, nil
}

// marshal encodes f with a correct checksum.
func (f ndpFrame) marshal() ([]byte, error) {
	if len(f.dstMAC) != 6 || len(f.srcMAC) != 6 {
		return nil, fmt.Errorf("marshaling ndp frame: mac addresses must be 6 bytes")
	}
	if !f.src.Is6() || !f.dst.Is6() {
		return nil, fmt.Errorf("marshaling ndp frame: %s -> %s: addresses must be IPv6", f.src, f.dst)
	}
	body, err := ndp.MarshalMessageChecksum(f.msg, f.src, f.dst)
	if err != nil {
		return nil, fmt.Errorf("marshaling ndp message: %w", err)
	}
	b := make([]byte, ethHeaderLen+ipv6HeaderLen, ethHeaderLen+ipv6HeaderLen+len(body))
	copy(b[0:6], f.dstMAC)
	copy(b[6:12], f.srcMAC)
	binary.BigEndian.PutUint16(b[12:14], etherTypeIPv6)
	ip := b[ethHeaderLen:]
	ip[0] = 6 << 4
	binary.BigEndian.PutUint16(ip[4:6], uint16(len(body)))
	ip[6] = protocolICMPv6
	ip[7] = f.hopLimit
	src, dst := f.src.As16(), f.dst.As16()
	copy(ip[8:24], src[:])
	copy(ip[24:40], dst[:])
	return append(b, body...), nil
}

// icmpv6Checksum is the RFC 4443 checksum of body over the IPv6 pseudo-header; it is zero
// for a body whose checksum field is correct.
func icmpv6Checksum(src, dst netip.Addr, body []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for len(b) >= 2 {
			sum += uint32(binary.BigEndian.Uint16(b))
			b = b[2:]
		}
		if len(b) == 1 {
			sum += uint32(b[0]) << 8
		}
	}
	s, d := src.As16(), dst.As16()
	add(s[:])
	add(d[:])
	sum += uint32(len(body)) // upper-layer length (< 2^16 here)
	sum += protocolICMPv6
	add(body)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
