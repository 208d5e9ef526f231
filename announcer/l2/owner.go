package l2

import "net/netip"

// Rank is the rendezvous score of node for ip: the node with the highest
// score among the live candidates owns ip. Every announcer must compute the
// same scores, so the function is part of floatlb's contract between
// versions: FNV-1a (64 bit) over the 16-byte form of ip, a zero byte and
// the node name, finished with the SplitMix64 mixer so that similar inputs
// spread over the whole range.
func Rank(ip netip.Addr, node string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	a := ip.As16()
	for _, b := range a {
		h = (h ^ uint64(b)) * prime
	}
	h *= prime // the zero separator
	for i := 0; i < len(node); i++ {
		h = (h ^ uint64(node[i])) * prime
	}
	return mix(h)
}

// mix is SplitMix64's finalizer.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Owner returns the node among candidates that owns ip: the one for which
// live is true and Rank is highest (ties, which need a 64-bit collision,
// go to the smaller name). ok is false when no candidate is live. The
// result does not depend on the order of candidates.
func Owner(ip netip.Addr, candidates []string, live func(node string) bool) (owner string, ok bool) {
	var best uint64
	for _, n := range candidates {
		if !live(n) {
			continue
		}
		r := Rank(ip, n)
		if !ok || r > best || (r == best && n < owner) {
			owner, best, ok = n, r, true
		}
	}
	return owner, ok
}
