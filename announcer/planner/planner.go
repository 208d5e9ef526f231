package planner

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/floatlb/floatlb/config"
)

// Compute returns the plan of the node in.Node. Each address of each
// Service's status is planned on its own (a dual-stack Service has one per
// family) in the pool whose ranges contain it, whatever the Service's
// floatlb.io/allocated-pool annotation says:
//
//   - inside no pool, it is refused (OutsidePools);
//   - in a bgp pool, this node advertises it, as a host route or inside
//     the pool's aggregate, when it is eligible for it;
//   - in an l2 or vrrp pool, it is claimed, with every eligible node, when
//     this node is one of them.
//
// When several Services share an address, a node is eligible for the
// address if it is eligible for any of them. Compute does not depend on
// the order of in.Nodes and in.Services, and does not modify in.
func Compute(in Input) Plan {
	c := computation{in: in, pools: map[*config.Pool]*poolPlan{}}
	addrs, refused := c.collect()
	plan := Plan{Refused: refused}
	routes := map[routeKey]*Route{}
	for _, a := range addrs {
		if !c.eligibleHere(a) {
			continue
		}
		switch mode(a.pool.pool) {
		case config.ModeBGP:
			c.route(routes, a)
		case config.ModeL2:
			plan.L2 = append(plan.L2, c.claim(a))
		case config.ModeVRRP:
			plan.VRRP = append(plan.VRRP, c.claim(a))
		}
	}
	for _, r := range routes {
		slices.Sort(r.Services)
		r.Services = slices.Compact(r.Services)
		plan.BGP = append(plan.BGP, *r)
	}
	slices.SortFunc(plan.BGP, func(a, b Route) int {
		return cmp.Or(comparePrefix(a.Prefix, b.Prefix), cmp.Compare(a.Pool, b.Pool))
	})
	return plan
}

// computation holds what Compute works out once per pool.
type computation struct {
	in    Input
	pools map[*config.Pool]*poolPlan
}

// poolPlan is a pool and what does not change between its addresses.
type poolPlan struct {
	pool *config.Pool
	// nodes are the nodes eligible for the pool's addresses of Services
	// whose policy is Cluster, sorted; here reports whether this node is
	// one of them.
	nodes []string
	here  bool
	// peers and noPeer are the route's, for a bgp pool.
	peers  []string
	noPeer NoPeerReason
}

// address is one address of the Services' status, inside a pool.
type address struct {
	ip   netip.Addr
	pool *poolPlan
	// services are the indexes in Input.Services of the Services holding
	// ip, in order, without duplicates.
	services []int
}

// collect gathers the Services' addresses that lie in a pool, sorted, and
// refuses the others.
func (c *computation) collect() ([]*address, []Refusal) {
	byIP := map[netip.Addr]*address{}
	var refused []Refusal
	for i := range c.in.Services {
		svc := &c.in.Services[i]
		for _, ip := range svc.IPs {
			pool := c.poolFor(ip)
			if pool == nil {
				refused = append(refused, Refusal{Service: svc.Key, IP: ip, Reason: OutsidePools})
				continue
			}
			if m := mode(pool.pool); m != config.ModeBGP && m != config.ModeL2 && m != config.ModeVRRP {
				refused = append(refused, Refusal{Service: svc.Key, IP: ip, Reason: UnknownMode})
				continue
			}
			a := byIP[ip]
			if a == nil {
				a = &address{ip: ip, pool: pool}
				byIP[ip] = a
			}
			if n := len(a.services); n == 0 || a.services[n-1] != i {
				a.services = append(a.services, i)
			}
		}
	}
	addrs := make([]*address, 0, len(byIP))
	for _, a := range byIP {
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, func(a, b *address) int { return a.ip.Compare(b.ip) })
	slices.SortFunc(refused, func(a, b Refusal) int {
		return cmp.Or(a.IP.Compare(b.IP), cmp.Compare(a.Service, b.Service), cmp.Compare(a.Reason, b.Reason))
	})
	return addrs, slices.Compact(refused)
}

// poolFor returns the plan of the pool containing ip, or nil.
func (c *computation) poolFor(ip netip.Addr) *poolPlan {
	if c.in.Config == nil {
		return nil
	}
	pool, ok := c.in.Config.PoolFor(ip)
	if !ok {
		return nil
	}
	if p, ok := c.pools[pool]; ok {
		return p
	}
	p := &poolPlan{pool: pool, nodes: poolNodes(c.in.Nodes, pool)}
	_, p.here = slices.BinarySearch(p.nodes, c.in.Node)
	if mode(pool) == config.ModeBGP {
		p.peers, p.noPeer = c.peers(pool)
	}
	c.pools[pool] = p
	return p
}

// eligibleHere reports whether this node is eligible for a, that is for
// any of the Services holding it.
func (c *computation) eligibleHere(a *address) bool {
	if !a.pool.here {
		return false
	}
	for _, i := range a.services {
		svc := &c.in.Services[i]
		if !svc.Local || slices.Contains(svc.ReadyEndpointNodes, c.in.Node) {
			return true
		}
	}
	return false
}

// claim returns the l2 or vrrp claim of a, which this node is eligible for.
func (c *computation) claim(a *address) Claim {
	return Claim{
		IP:            a.ip,
		Pool:          a.pool.pool.Name,
		Interface:     a.pool.pool.Interface,
		EligibleNodes: c.eligible(a),
		Services:      c.keys(a),
	}
}

// eligible returns the nodes eligible for a: the union over its Services.
func (c *computation) eligible(a *address) []string {
	var out []string
	for _, i := range a.services {
		svc := &c.in.Services[i]
		if !svc.Local {
			return slices.Clone(a.pool.nodes) // every other Service's nodes are among these
		}
		out = append(out, forService(a.pool.nodes, svc)...)
	}
	if len(a.services) > 1 {
		slices.Sort(out)
		out = slices.Compact(out)
	}
	return out
}

// keys returns the keys of the Services holding a, sorted.
func (c *computation) keys(a *address) []string {
	out := make([]string, 0, len(a.services))
	for _, i := range a.services {
		out = append(out, c.in.Services[i].Key)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// mode returns the pool's mode; an empty one is the default, bgp.
func mode(p *config.Pool) config.Mode {
	return cmp.Or(p.Mode, config.DefaultMode)
}
