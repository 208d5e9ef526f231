package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParseRange parses one entry of a pool's addresses:
//
//   - a CIDR, "192.0.2.0/28" or "2001:db8:1::/120", whose host bits must be
//     zero ("192.0.2.5/28" is refused, not silently turned into 192.0.2.0/28);
//   - a range, "198.51.100.10-198.51.100.20", spaces around '-' allowed, both
//     ends of one family and the first not after the last;
//   - a single address, "198.51.100.7", which is the same as its /32 or /128.
//
// Addresses with a zone and IPv4-mapped IPv6 addresses are refused.
func ParseRange(s string) (Range, error) {
	s = strings.TrimSpace(s)
	if first, last, ok := strings.Cut(s, "-"); ok {
		a, errA := parseAddr(strings.TrimSpace(first))
		b, errB := parseAddr(strings.TrimSpace(last))
		switch {
		case errA != nil:
			return Range{}, fmt.Errorf("%q is not a valid range: %w", s, errA)
		case errB != nil:
			return Range{}, fmt.Errorf("%q is not a valid range: %w", s, errB)
		case a.Is4() != b.Is4():
			return Range{}, fmt.Errorf("%q is not a valid range: it mixes IPv4 and IPv6", s)
		case a.Compare(b) > 0:
			return Range{}, fmt.Errorf("%q is not a valid range: it starts after it ends", s)
		}
		return Range{First: a, Last: b}, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Range{}, fmt.Errorf("%q is not a valid CIDR", s)
		}
		if p.Addr().Is4In6() {
			return Range{}, fmt.Errorf("%q is not a valid CIDR: IPv4-mapped IPv6 addresses are not allowed", s)
		}
		if m := p.Masked(); m != p {
			return Range{}, fmt.Errorf("%q has host bits set; did you mean %q?", s, m.String())
		}
		return Range{First: p.Addr(), Last: lastAddr(p)}, nil
	}
	if _, err := netip.ParseAddr(s); err != nil {
		return Range{}, fmt.Errorf("%q is not a valid IP address, CIDR or range", s)
	}
	a, err := parseAddr(s)
	if err != nil {
		return Range{}, err
	}
	return Range{First: a, Last: a}, nil
}

// parseAddr parses an address of a pool: no zone, not IPv4-mapped.
func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	case a.Zone() != "":
		return netip.Addr{}, fmt.Errorf("%q has a zone; pool addresses can't have one", s)
	case a.Is4In6():
		return netip.Addr{}, fmt.Errorf("%q is an IPv4-mapped IPv6 address; write %q", s, a.Unmap().String())
	}
	return a, nil
}

// lastAddr returns the last address of the prefix p, whose host bits may be
// set.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// Contains reports whether a lies within r. An address of the other family,
// or one with a zone, never does.
func (r Range) Contains(a netip.Addr) bool {
	return r.First.Compare(a) <= 0 && a.Compare(r.Last) <= 0 && a.BitLen() == r.First.BitLen() && a.Zone() == ""
}

// Is6 reports whether r is a range of IPv6 addresses.
func (r Range) Is6() bool {
	return r.First.Is6()
}

// String returns r as "first-last", or as one address if it holds only one.
func (r Range) String() string {
	if r.First == r.Last {
		return r.First.String()
	}
	return r.First.String() + "-" + r.Last.String()
}
