package ipam

import (
	"net/netip"
	"slices"
)

// Pool is a named set of addresses as the allocator sees it.
type Pool struct {
	Name          string
	Ranges        []Range
	AutoAssign    bool
	AvoidBuggyIPs bool
	// Namespaces, when not empty, are the only namespaces served.
	Namespaces []string
}

// pool is a Pool with its per-family spaces.
type pool struct {
	Pool
	v4, v6 *space
}

func newPool(p Pool) *pool {
	var r4, r6 []Range
	for _, r := range p.Ranges {
		if r.First.Is4() {
			r4 = append(r4, r)
		} else {
			r6 = append(r6, r)
		}
	}
	return &pool{Pool: p, v4: newSpace(r4, p.AvoidBuggyIPs), v6: newSpace(r6, p.AvoidBuggyIPs)}
}

func (p *pool) space(f Family) *space {
	if f == IPv6 {
		return p.v6
	}
	return p.v4
}

func (p *pool) has(f Family) bool { return len(p.space(f).ranges) > 0 }

func (p *pool) oneFamily() bool { return !p.has(IPv4) || !p.has(IPv6) }

func (p *pool) serves(namespace string) bool {
	return len(p.Namespaces) == 0 || slices.Contains(p.Namespaces, namespace)
}

func (p *pool) contains(a netip.Addr) bool { return p.space(FamilyOf(a)).contains(a) }

// PoolStats is the use of one family of one pool.
type PoolStats struct {
	Pool        string
	Family      Family
	Size, InUse uint64
}
