package planner

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/floatlb/floatlb/config"
)

type routeKey struct {
	prefix netip.Prefix
	pool   string
}

// route adds a, an address of a bgp pool that this node is eligible for,
// to its route in routes.
func (c *computation) route(routes map[routeKey]*Route, a *address) {
	pool := a.pool.pool
	key := routeKey{prefix: routePrefix(a.ip, pool.BGP.AggregationLength), pool: pool.Name}
	r := routes[key]
	if r == nil {
		r = &Route{
			Prefix:           key.prefix,
			Pool:             pool.Name,
			Peers:            slices.Clone(a.pool.peers),
			NoPeer:           a.pool.noPeer,
			Communities:      slices.Clone(pool.BGP.Communities),
			LargeCommunities: slices.Clone(pool.BGP.LargeCommunities),
			LocalPref:        pool.BGP.LocalPref,
		}
		routes[key] = r
	}
	r.IPs = append(r.IPs, a.ip) // addresses come in order
	for _, i := range a.services {
		r.Services = append(r.Services, c.in.Services[i].Key)
	}
}

// routePrefix returns the prefix that advertises ip: its host route when
// aggregationLength is 0, else ip masked to aggregationLength bits. A length
// longer than ip's family (an IPv4 address in a pool aggregated to /64,
// which config.Parse refuses) gives the host route too.
func routePrefix(ip netip.Addr, aggregationLength int) netip.Prefix {
	if aggregationLength <= 0 || aggregationLength >= ip.BitLen() {
		return netip.PrefixFrom(ip, ip.BitLen())
	}
	return netip.PrefixFrom(ip, aggregationLength).Masked()
}

// peers returns the names of the peers that pool's routes go to from this
// node: the pool's peers whose nodeSelector matches this node, sorted; or,
// when there is none, why.
func (c *computation) peers(pool *config.Pool) ([]string, NoPeerReason) {
	candidates := c.in.Config.PoolPeers(pool)
	if len(candidates) == 0 {
		return nil, NoPeerConfigured
	}
	var out []string
	for _, p := range candidates {
		if c.selectsThisNode(p.NodeSelector) {
			out = append(out, p.Name)
		}
	}
	if len(out) == 0 {
		return nil, NoPeerForNode
	}
	slices.Sort(out)
	return slices.Compact(out), NoPeerNone
}

// selectsThisNode reports whether selector matches this node's labels.
func (c *computation) selectsThisNode(selector map[string]string) bool {
	for i := range c.in.Nodes {
		if n := &c.in.Nodes[i]; n.Name == c.in.Node && matches(selector, n.Labels) {
			return true
		}
	}
	return false
}

// comparePrefix orders prefixes by address, then by length.
func comparePrefix(a, b netip.Prefix) int {
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}
