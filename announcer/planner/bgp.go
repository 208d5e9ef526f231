package planner

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/floatlb/floatlb/config"
)

// routes gathers the routes of a plan, from addresses that come in order.
type routes struct {
	list []Route
	// index finds the aggregates of list by prefix and pool, for the
	// addresses that follow the first of an aggregate.
	index map[routeKey]int
}

type routeKey struct {
	prefix netip.Prefix
	pool   string
}

// add adds a, an address of a bgp pool that this node is eligible for, to
// its route; services are the keys of the Services holding it, sorted.
func (rs *routes) add(a *address, services []string) {
	pool := a.pool.pool
	prefix := routePrefix(a.ip, pool.BGP.AggregationLength)
	if prefix.Bits() != a.ip.BitLen() { // an aggregate: it may have its route already
		key := routeKey{prefix: prefix, pool: pool.Name}
		if i, ok := rs.index[key]; ok {
			r := &rs.list[i]
			r.IPs = append(r.IPs, a.ip)
			r.Services = append(r.Services, services...)
			slices.Sort(r.Services)
			r.Services = slices.Compact(r.Services)
			return
		}
		if rs.index == nil {
			rs.index = map[routeKey]int{}
		}
		rs.index[key] = len(rs.list)
	}
	rs.list = append(rs.list, Route{
		Prefix:           prefix,
		Pool:             pool.Name,
		IPs:              []netip.Addr{a.ip},
		Peers:            slices.Clone(a.pool.peers),
		NoPeer:           a.pool.noPeer,
		Communities:      slices.Clone(pool.BGP.Communities),
		LargeCommunities: slices.Clone(pool.BGP.LargeCommunities),
		LocalPref:        pool.BGP.LocalPref,
		Services:         services,
	})
}

// sorted returns the routes sorted by prefix, then pool. They are already,
// since addresses come in order and the routes of a valid config do not
// overlap; a hand-made config may break that.
func (rs *routes) sorted() []Route {
	byPrefix := func(a, b Route) int {
		return cmp.Or(comparePrefix(a.Prefix, b.Prefix), cmp.Compare(a.Pool, b.Pool))
	}
	if !slices.IsSortedFunc(rs.list, byPrefix) {
		slices.SortFunc(rs.list, byPrefix)
	}
	return rs.list
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
		if n := &c.in.Nodes[i]; n.Name == c.in.Node && MatchesSelector(selector, n.Labels) {
			return true
		}
	}
	return false
}

// comparePrefix orders prefixes by address, then by length.
func comparePrefix(a, b netip.Prefix) int {
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}
