package config

import (
	"net/netip"
	"strconv"
	"strings"
)

func validateBGP(errs *fieldErrors, b *BGP) {
	if len(b.Peers) > 0 && b.ASN == 0 {
		errs.add("bgp.asn", "required when bgp.peers is set; use the announcers' AS number (1..4294967295)")
	}
	if p := *b.ListenPort; p != -1 && (p < 1 || p > 65535) {
		errs.add("bgp.listenPort", "%d is not a port; use 1..65535, or -1 to never listen", p)
	}
	names := make(map[string]int, len(b.Peers))
	for i := range b.Peers {
		p := &b.Peers[i]
		path := index("bgp.peers", i)
		switch j, dup := names[p.Name]; {
		case p.Name == "":
			errs.add(field(path, "name"), "required")
		case !isDNS1123Label(p.Name):
			errs.add(field(path, "name"), "%q is not a valid name; %s", p.Name, dnsLabelHint)
		case dup:
			errs.add(field(path, "name"), "%q is already the name of bgp.peers[%d]", p.Name, j)
		default:
			names[p.Name] = i
		}
		validatePeer(errs, path, p)
	}
}

// validatePeer checks the peer p (path) but for its name, and fills in
// p.Addr.
func validatePeer(errs *fieldErrors, path string, p *Peer) {
	p.Addr = netip.Addr{}
	switch a, err := netip.ParseAddr(p.Address); {
	case p.Address == "":
		errs.add(field(path, "address"), "required")
	case err != nil:
		errs.add(field(path, "address"), "%q is not an IP address", p.Address)
	case a.Is4In6():
		errs.add(field(path, "address"), "%q is an IPv4-mapped IPv6 address; write %q", p.Address, a.Unmap().String())
	default:
		p.Addr = a // a zone is fine: a link-local peer needs one
	}

	if p.ASN == 0 {
		errs.add(field(path, "asn"), "required; use the peer's AS number (1..4294967295)")
	}
	if p.Port < 1 || p.Port > 65535 {
		errs.add(field(path, "port"), "%d is not a port (1..65535)", p.Port)
	}
	validateTimers(errs, path, p)
	if p.EBGPMultihop < 0 || p.EBGPMultihop > 255 {
		errs.add(field(path, "ebgpMultihop"), "%d is out of range; use a TTL of 1..255, or 0 for off", p.EBGPMultihop)
	}
	if s := p.PasswordSecret; s != nil {
		sp := field(path, "passwordSecret")
		switch {
		case s.Name == "":
			errs.add(field(sp, "name"), "required")
		case !isDNS1123Subdomain(s.Name):
			errs.add(field(sp, "name"), "%q is not a valid Secret name", s.Name)
		}
		switch {
		case s.Key == "":
			errs.add(field(sp, "key"), "required")
		case !isSecretKey(s.Key):
			errs.add(field(sp, "key"), "%q is not a valid Secret key", s.Key)
		}
	}
	validateSelector(errs, field(path, "nodeSelector"), p.NodeSelector)
}

// validatePoolBGP checks a pool's bgp section; peers holds the names of
// bgp.peers.
func validatePoolBGP(errs *fieldErrors, path string, p *Pool, peers map[string]bool) {
	listed := make(map[string]bool, len(p.BGP.Peers))
	for j, name := range p.BGP.Peers {
		switch {
		case !peers[name]:
			errs.add(index(field(path, "peers"), j), "%q is not the name of a peer of bgp.peers", name)
		case listed[name]:
			errs.add(index(field(path, "peers"), j), "%q is listed twice", name)
		}
		listed[name] = true
	}
	for j, c := range p.BGP.Communities {
		if !isCommunity(c) {
			errs.add(index(field(path, "communities"), j),
				`%q is not a valid community; use "A:B" with A and B in 0..65535, or no-export, no-advertise, no-export-subconfed or no-peer`, c)
		}
	}
	for j, c := range p.BGP.LargeCommunities {
		if !isLargeCommunity(c) {
			errs.add(index(field(path, "largeCommunities"), j),
				`%q is not a valid large community; use "A:B:C" with A, B and C in 0..4294967295`, c)
		}
	}
	validateAggregation(errs, field(path, "aggregationLength"), p)
}

// validateAggregation checks that routes aggregated to aggregationLength
// bits cover only addresses of the pool: every entry of the pool must start
// and end on a boundary of that length. For a CIDR this is MetalLB's rule
// (the aggregation length can't be shorter than the CIDR's prefix length);
// a range such as 198.51.100.10-198.51.100.20 allows host routes only.
func validateAggregation(errs *fieldErrors, path string, p *Pool) {
	n := p.BGP.AggregationLength
	if n == 0 {
		return // host routes
	}
	if n < 0 || n > 128 {
		errs.add(path, "%d is out of range; use 0 for host routes, or a prefix length", n)
		return
	}
	if len(p.Ranges) != len(p.Addresses) {
		return // some addresses did not parse; they are reported already
	}
	tooLong := false
	for j, r := range p.Ranges {
		if n > r.First.BitLen() {
			tooLong = true
			continue
		}
		if netip.PrefixFrom(r.First, n).Masked().Addr() != r.First || lastAddr(netip.PrefixFrom(r.Last, n)) != r.Last {
			errs.add(path, "%d is shorter than %q (addresses[%d]) allows; the routes would cover addresses outside the pool", n, p.Addresses[j], j)
		}
	}
	if tooLong {
		errs.add(path, "%d is longer than an IPv4 address (32 bits), and the pool has IPv4 addresses", n)
	}
}

// isCommunity reports whether s is a BGP community (RFC 1997): "A:B" with
// 16-bit parts, or the name of a well-known community.
func isCommunity(s string) bool {
	switch s {
	case "no-export", "no-advertise", "no-export-subconfed", "no-peer":
		return true
	}
	return hasUintParts(s, 2, 16)
}

// isLargeCommunity reports whether s is a BGP large community (RFC 8092):
// "A:B:C" with 32-bit parts.
func isLargeCommunity(s string) bool {
	return hasUintParts(s, 3, 32)
}

func hasUintParts(s string, n, bits int) bool {
	parts := strings.Split(s, ":")
	if len(parts) != n {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, bits); err != nil {
			return false
		}
	}
	return true
}
