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
	var routes routes
	for i := range addrs {
		a := &addrs[i]
		if !c.eligibleHere(a) {
			if mode(a.pool.pool) == config.ModeVRRP {
				if cl := c.claim(a); len(cl.EligibleNodes) > 0 {
					plan.VRRPElsewhere = append(plan.VRRPElsewhere, cl)
				}
			}
			continue
		}
		switch mode(a.pool.pool) {
		case config.ModeBGP:
			routes.add(a, c.keys(a, nil))
		case config.ModeL2:
			plan.L2 = append(plan.L2, c.claim(a))
		case config.ModeVRRP:
			plan.VRRP = append(plan.VRRP, c.claim(a))
		}
	}
	plan.BGP = routes.sorted()
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

// holding is one address of one Service's status.
type holding struct {
	ip  netip.Addr
	svc int // index in Input.Services
}

// address is one address of the Services' status, inside a pool.
type address struct {
	ip   netip.Addr
	pool *poolPlan
	// held are the Services holding ip, in the order of Input.Services,
	// without duplicates.
	held []holding
}

// collect gathers the Services' addresses that lie in a pool, sorted, and
// refuses the others. It sorts the pairs (address, Service) rather than
// filling a map: with thousands of Services this allocates far less.
func (c *computation) collect() ([]address, []Refusal) {
	n := 0
	for i := range c.in.Services {
		n += len(c.in.Services[i].IPs)
	}
	held := make([]holding, 0, n)
	for i := range c.in.Services {
		for _, ip := range c.in.Services[i].IPs {
			held = append(held, holding{ip: ip, svc: i})
		}
	}
	slices.SortFunc(held, func(a, b holding) int { return cmp.Or(a.ip.Compare(b.ip), cmp.Compare(a.svc, b.svc)) })
	held = slices.Compact(held)

	addrs := make([]address, 0, len(held))
	var refused []Refusal
	for len(held) > 0 {
		n := 1
		for n < len(held) && held[n].ip == held[0].ip {
			n++
		}
		group := held[:n:n]
		held = held[n:]
		pool := c.poolFor(group[0].ip)
		reason := OutsidePools
		if pool != nil {
			m := mode(pool.pool)
			if m == config.ModeBGP || m == config.ModeL2 || m == config.ModeVRRP {
				addrs = append(addrs, address{ip: group[0].ip, pool: pool, held: group})
				continue
			}
			reason = UnknownMode
		}
		for _, h := range group {
			refused = append(refused, Refusal{Service: c.in.Services[h.svc].Key, IP: h.ip, Reason: reason})
		}
	}
	slices.SortFunc(refused, func(a, b Refusal) int {
		return cmp.Or(a.IP.Compare(b.IP), cmp.Compare(a.Service, b.Service))
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
	for _, h := range a.held {
		svc := &c.in.Services[h.svc]
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
		Services:      c.keys(a, nil),
	}
}

// eligible returns the nodes eligible for a: the union over its Services.
func (c *computation) eligible(a *address) []string {
	var out []string
	for _, h := range a.held {
		svc := &c.in.Services[h.svc]
		if !svc.Local {
			return slices.Clone(a.pool.nodes) // the nodes of every Local Service are among these
		}
		out = append(out, forService(a.pool.nodes, svc)...)
	}
	if len(a.held) > 1 {
		slices.Sort(out)
		out = slices.Compact(out)
	}
	return out
}

// keys appends the keys of the Services holding a to dst, and returns it
// sorted and without duplicates.
func (c *computation) keys(a *address, dst []string) []string {
	for _, h := range a.held {
		dst = append(dst, c.in.Services[h.svc].Key)
	}
	slices.Sort(dst)
	return slices.Compact(dst)
}

// mode returns the pool's mode; an empty one is the default, bgp.
func mode(p *config.Pool) config.Mode {
	return cmp.Or(p.Mode, config.DefaultMode)
}
