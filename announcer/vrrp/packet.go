package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// Protocol numbers, groups and limits of RFC 5798.
const (
	// IPProtocol is the IP protocol number of VRRP (IPv4 protocol, IPv6
	// next header).
	IPProtocol = 112
	// TTL is the only TTL or hop limit a valid advertisement carries.
	TTL = 255
	// Version is the VRRP version this package speaks.
	Version = 3
	// TypeAdvertisement is the only VRRP packet type.
	TypeAdvertisement = 1
	// HeaderLen is the length of the VRRP header before the addresses.
	HeaderLen = 8
	// MaxAddresses is the most addresses the 8-bit count of an
	// advertisement can hold.
	MaxAddresses = 255
	// MaxAdvertInterval is the largest interval the 12-bit field holds.
	MaxAdvertInterval = 4095 * centisecond

	centisecond = 10 * time.Millisecond
)

// Multicast destinations of advertisements (RFC 5798 §5.1.1.2, §5.1.2.2).
var (
	GroupIPv4 = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	GroupIPv6 = netip.MustParseAddr("ff02::12")
)

// Advert is a VRRPv3 advertisement (RFC 5798 §5.2).
type Advert struct {
	// Version is 3; Marshal writes 3 when it is zero.
	Version uint8
	// Type is 1 (advertisement); Marshal writes 1 when it is zero.
	Type     uint8
	VRID     uint8
	Priority uint8
	// MaxAdvertInterval is the sender's advertisement interval, sent in
	// centiseconds in 12 bits.
	MaxAdvertInterval time.Duration
	// Addresses are the virtual addresses, all of the family of the IP
	// header's addresses. An IPv6 router puts its link-local virtual
	// address first.
	Addresses []netip.Addr
}

// Marshal encodes a as sent from src to dst, the addresses of the IP header
// that the checksum's pseudo-header covers (dst is GroupIPv4 or GroupIPv6
// for multicast).
func (a Advert) Marshal(src, dst netip.Addr) ([]byte, error) {
	src, dst = src.Unmap(), dst.Unmap()
	if src.Is4() != dst.Is4() || !src.IsValid() || !dst.IsValid() {
		return nil, fmt.Errorf("marshaling vrrp advertisement from %s to %s: addresses of different families", src, dst)
	}
	version, typ := a.Version, a.Type
	if version == 0 {
		version = Version
	}
	if typ == 0 {
		typ = TypeAdvertisement
	}
	if version != Version || typ != TypeAdvertisement {
		return nil, fmt.Errorf("marshaling vrrp advertisement: version %d type %d, want version %d type %d", version, typ, Version, TypeAdvertisement)
	}
	if a.MaxAdvertInterval < 0 || a.MaxAdvertInterval > MaxAdvertInterval || a.MaxAdvertInterval%centisecond != 0 {
		return nil, fmt.Errorf("marshaling vrrp advertisement: interval %s is not a multiple of 10ms up to %s", a.MaxAdvertInterval, MaxAdvertInterval)
	}
	if len(a.Addresses) > MaxAddresses {
		return nil, fmt.Errorf("marshaling vrrp advertisement: %d addresses, at most %d fit", len(a.Addresses), MaxAddresses)
	}
	size := addrLen(src)
	b := make([]byte, HeaderLen, HeaderLen+len(a.Addresses)*size)
	b[0] = version<<4 | typ
	b[1] = a.VRID
	b[2] = a.Priority
	b[3] = uint8(len(a.Addresses))
	binary.BigEndian.PutUint16(b[4:], uint16(a.MaxAdvertInterval/centisecond))
	for _, ip := range a.Addresses {
		if ip.Is4() != src.Is4() || ip.Is4In6() || !ip.IsValid() {
			return nil, fmt.Errorf("marshaling vrrp advertisement from %s: address %s of another family", src, ip)
		}
		if ip.Is4() {
			a4 := ip.As4()
			b = append(b, a4[:]...)
		} else {
			a16 := ip.As16()
			b = append(b, a16[:]...)
		}
	}
	binary.BigEndian.PutUint16(b[6:], checksum(b, src, dst))
	return b, nil
}

// Parse decodes the VRRP message b (the IP payload) received from src to
// dst, and verifies its version, type, length and checksum. Errors are
// *ParseError.
func Parse(b []byte, src, dst netip.Addr) (Advert, error) {
	src, dst = src.Unmap(), dst.Unmap()
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		return Advert{}, parseErr(ReasonWrongFamily, "source %s and destination %s", src, dst)
	}
	if len(b) < HeaderLen {
		return Advert{}, parseErr(ReasonMalformed, "%d bytes, shorter than the %d-byte header", len(b), HeaderLen)
	}
	a := Advert{
		Version:           b[0] >> 4,
		Type:              b[0] & 0x0f,
		VRID:              b[1],
		Priority:          b[2],
		MaxAdvertInterval: time.Duration(binary.BigEndian.Uint16(b[4:])&0x0fff) * centisecond,
	}
	if a.Version != Version {
		return Advert{}, parseErr(ReasonBadVersion, "version %d", a.Version)
	}
	if a.Type != TypeAdvertisement {
		return Advert{}, parseErr(ReasonBadType, "type %d", a.Type)
	}
	size := addrLen(src)
	count := int(b[3])
	if want := HeaderLen + count*size; len(b) != want {
		if (len(b)-HeaderLen)%size != 0 {
			// Neither whole IPv4 nor whole IPv6 addresses: the
			// packet is cut, not of the other family.
			return Advert{}, parseErr(ReasonMalformed, "%d addresses need %d bytes, got %d", count, want, len(b))
		}
		if other := 20 - size; HeaderLen+count*other == len(b) {
			return Advert{}, parseErr(ReasonWrongFamily, "%d bytes hold %d addresses of %d bytes, sent from %s", len(b), count, other, src)
		}
		return Advert{}, parseErr(ReasonMalformed, "%d addresses need %d bytes, got %d", count, want, len(b))
	}
	if sum := checksum(b, src, dst); sum != 0 {
		return Advert{}, parseErr(ReasonBadChecksum, "checksum %#04x from %s to %s does not verify", binary.BigEndian.Uint16(b[6:]), src, dst)
	}
	if count > 0 {
		a.Addresses = make([]netip.Addr, 0, count)
	}
	for i := HeaderLen; i < len(b); i += size {
		ip, _ := netip.AddrFromSlice(b[i : i+size])
		a.Addresses = append(a.Addresses, ip)
	}
	return a, nil
}

// CheckTTL verifies the TTL (IPv4) or hop limit (IPv6) of a received
// advertisement: anything but 255 was routed, or forged from afar
// (RFC 5798 §7.1). The error is a *ParseError with ReasonBadTTL.
func CheckTTL(ttl int) error {
	if ttl != TTL {
		return parseErr(ReasonBadTTL, "ttl %d, want %d", ttl, TTL)
	}
	return nil
}

func addrLen(ip netip.Addr) int {
	if ip.Is4() {
		return 4
	}
	return 16
}
