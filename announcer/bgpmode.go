package announcer

import (
	"context"
	"errors"
	"hash/fnv"
	"net/netip"
	"sort"
	"time"

	"github.com/go-logr/logr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/floatlb/floatlb/announcer/bgp"
	"github.com/floatlb/floatlb/announcer/planner"
	"github.com/floatlb/floatlb/config"
)

// md5SuspectAfter is how long a peer with a TCP MD5 password may stay down
// before the announcer says that a password mismatch is the likely cause.
const md5SuspectAfter = 20 * time.Second

// bgpMode runs this node's BGP speaker from the plan.
type bgpMode struct {
	log     logr.Logger
	metrics *metrics
	// password reads a peer's TCP MD5 password from its Secret; a
	// *passwordMissingError when the Secret or its key does not exist.
	password func(ctx context.Context, ref *config.SecretKeyRef) (string, error)
	// hostIPv6, when set, replaces hostIPv6Facing (tests).
	hostIPv6 func(peer netip.Addr, inPool func(netip.Addr) bool) (netip.Addr, bool)
	// warn, when set, sends a Warning Event on the floatlb config.
	warn func(reason, msg string)
	// passwords are the peers' passwords as last read, by peer name.
	passwords map[string]peerPassword

	speaker   *bgp.Speaker
	key       speakerKey
	peers     []bgp.Peer
	downSince map[string]time.Time // peers with a password, by name
	suspected map[string]bool
}

type speakerKey struct {
	asn        uint32
	routerID   netip.Addr
	listenPort int
}

// apply makes the speaker advertise plan's BGP routes to this node's peers
// and returns the routes announced; the caller must not modify them (they
// may be plan.BGP itself).
func (b *bgpMode) apply(ctx context.Context, cfg *config.Config, plan planner.Plan, self planner.Node) ([]planner.Route, error) {
	var errs []error
	peers, err := b.peersFor(ctx, cfg, self)
	if err != nil {
		errs = append(errs, err)
	}
	if len(peers) == 0 {
		if len(plan.BGP) > 0 {
			b.log.V(2).Info("bgp pools have addresses, but no BGP peer applies to this node: nothing is announced", "addresses", len(plan.BGP))
		}
		return nil, errors.Join(append(errs, b.close(ctx))...)
	}
	key := speakerKey{asn: cfg.BGP.ASN, routerID: routerID(self), listenPort: cfg.ListenPort()}
	if b.speaker != nil && b.key != key {
		b.log.Info("BGP identity changed; restarting the speaker", "asn", key.asn, "routerID", key.routerID, "listenPort", key.listenPort)
		errs = append(errs, b.close(ctx))
	}
	if b.speaker == nil {
		sp, err := bgp.New(ctx, b.log, bgp.Options{ASN: key.asn, RouterID: key.routerID, ListenPort: key.listenPort, OnState: b.onState})
		if err != nil {
			return nil, errors.Join(append(errs, err)...)
		}
		b.speaker, b.key = sp, key
	}
	if err := b.speaker.SetPeers(ctx, peers); err != nil {
		errs = append(errs, err)
	}
	b.peers = peers
	if err := b.speaker.SetPoolFilters(ctx, poolFilters(cfg)); err != nil {
		errs = append(errs, err)
	}

	// Each plan of thousands of Services passes through here, often many
	// times a second while they change: size the slices once, and return
	// the plan's own routes when all of them are announced (the usual case)
	// rather than a copy.
	routes := make([]bgp.Route, 0, len(plan.BGP))
	var announced []planner.Route // nil while no route was left out
	hops := b.nextHops(cfg, self, peers)
	for i, r := range plan.BGP {
		nh, ok := hops.of(r)
		if !ok {
			if announced == nil {
				announced = append(make([]planner.Route, 0, len(plan.BGP)), plan.BGP[:i]...)
			}
			continue
		}
		routes = append(routes, bgp.Route{
			Prefix: r.Prefix, NextHop: nh,
			Communities: r.Communities, LargeCommunities: r.LargeCommunities, LocalPref: r.LocalPref,
		})
		if announced != nil {
			announced = append(announced, r)
		}
	}
	hops.sayMissing()
	if announced == nil {
		announced = plan.BGP
	}
	if err := b.speaker.SetRoutes(ctx, routes); err != nil {
		errs = append(errs, err)
	}
	return announced, errors.Join(errs...)
}

// nextHops chooses the next hops of one plan's routes.
type nextHops struct {
	log  logr.Logger
	self planner.Node
	// peers are this node's peers' addresses, by name.
	peers  map[string]netip.Addr
	inPool func(netip.Addr) bool
	// hostIPv6 looks up the IPv6 address facing a peer; v6 holds its
	// answers by peer name, so a plan of thousands of routes asks the
	// kernel once per peer.
	hostIPv6 func(peer netip.Addr, inPool func(netip.Addr) bool) (netip.Addr, bool)
	v6       map[string]netip.Addr
	// missing are the routes left out for want of an address of their
	// family, said once per plan by sayMissing.
	missing []netip.Prefix
}

// sayMissing logs, once per plan, the routes left out because this node
// has no address of their family.
func (h *nextHops) sayMissing() {
	if len(h.missing) == 0 {
		return
	}
	h.log.Info("This node has no address of these routes' family to use as next hop: not announced",
		"routes", len(h.missing), "first", h.missing[:min(len(h.missing), 5)])
}

func (b *bgpMode) nextHops(cfg *config.Config, self planner.Node, peers []bgp.Peer) *nextHops {
	h := &nextHops{
		log: b.log, self: self, peers: make(map[string]netip.Addr, len(peers)),
		inPool:   func(a netip.Addr) bool { _, ok := cfg.PoolFor(a); return ok },
		hostIPv6: b.hostIPv6,
	}
	if h.hostIPv6 == nil {
		h.hostIPv6 = hostIPv6Facing
	}
	for _, p := range peers {
		h.peers[p.Name] = p.Address
	}
	return h
}

// of is the next hop of route r, or false when the route is not announced:
// no peer of this node takes it (said in the log), or this node has no
// address of its family (said once per plan by sayMissing).
func (h *nextHops) of(r planner.Route) (netip.Addr, bool) {
	if len(r.Peers) == 0 {
		h.log.V(2).Info("No BGP peer of this node takes the pool's routes: not announced", "pool", r.Pool, "ip", r.Prefix, "reason", r.NoPeer)
		return netip.Addr{}, false
	}
	v4 := r.Prefix.Addr().Is4()
	if nh, ok := internalIP(h.self, v4); ok {
		return nh, true
	}
	if !v4 {
		// The first of the route's peers that this node has a session with
		// (a peer whose password was never read has none).
		peer := r.Peers[0]
		for _, p := range r.Peers {
			if _, ok := h.peers[p]; ok {
				peer = p
				break
			}
		}
		if nh, ok := h.ipv6Facing(peer); ok {
			return nh, true
		}
	}
	h.missing = append(h.missing, r.Prefix)
	return netip.Addr{}, false
}

// ipv6Facing is the host's global IPv6 address on the interface facing the
// named peer (see pickIPv6NextHop), or, for a peer without a session, on any
// interface.
func (h *nextHops) ipv6Facing(peer string) (netip.Addr, bool) {
	if nh, ok := h.v6[peer]; ok {
		return nh, nh.IsValid()
	}
	nh, ok := h.hostIPv6(h.peers[peer], h.inPool) // no address: no interface faces it
	if !ok {
		nh = netip.Addr{}
	}
	if h.v6 == nil {
		h.v6 = map[string]netip.Addr{}
	}
	h.v6[peer] = nh
	if ok {
		h.log.V(2).Info("The node has no IPv6 InternalIP: IPv6 routes carry the host's address facing the peer as next hop", "peer", peer, "ip", nh)
	}
	return nh, ok
}

// poolFilters restricts the routes of bgp pools that name their peers.
func poolFilters(cfg *config.Config) []bgp.PoolFilter {
	var out []bgp.PoolFilter
	for _, p := range cfg.Pools {
		if p.Mode != config.ModeBGP || len(p.BGP.Peers) == 0 {
			continue
		}
		f := bgp.PoolFilter{Pool: p.Name, Peers: p.BGP.Peers}
		for _, r := range p.Ranges {
			f.Prefixes = append(f.Prefixes, bgp.RangePrefixes(r.First, r.Last)...)
		}
		out = append(out, f)
	}
	return out
}

// peersFor returns the configured peers whose nodeSelector matches self,
// with their passwords (see passwordOf: a Secret that cannot be read keeps
// the password read last). A peer whose password was never read is left
// out, with an error.
func (b *bgpMode) peersFor(ctx context.Context, cfg *config.Config, self planner.Node) ([]bgp.Peer, error) {
	var out []bgp.Peer
	var errs []error
	withPassword := map[string]bool{}
	var away error // see passwordOf
	for i := range cfg.BGP.Peers {
		p := &cfg.BGP.Peers[i]
		if !planner.MatchesSelector(p.NodeSelector, self.Labels) {
			continue
		}
		peer := bgp.Peer{
			Name: p.Name, Address: p.Addr, ASN: p.ASN, Port: uint16(p.Port),
			HoldTime: p.HoldTime.Duration, KeepaliveTime: p.KeepaliveTime.Duration, EBGPMultihop: uint8(p.EBGPMultihop),
		}
		if p.PasswordSecret != nil {
			withPassword[p.Name] = true
			pw, ok, err := b.passwordOf(ctx, self.Name, p, &away)
			if err != nil {
				errs = append(errs, err)
			}
			if !ok {
				continue
			}
			peer.Password = pw
		}
		out = append(out, peer)
	}
	b.forgetPasswords(withPassword)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, errors.Join(errs...)
}

func (b *bgpMode) onState(peer bgp.Peer, state bgp.State) {
	up := 0.0
	if state == bgp.StateEstablished {
		up = 1
	}
	b.metrics.bgpSession.WithLabelValues(peer.Name).Set(up)
}

// checkSessions says when a password-protected session stays down: the
// kernel drops TCP segments with a wrong MD5 signature without a word, so a
// mismatch looks like a peer that never answers.
func (b *bgpMode) checkSessions(now time.Time) {
	if b.speaker == nil {
		return
	}
	if b.downSince == nil {
		b.downSince, b.suspected = map[string]time.Time{}, map[string]bool{}
	}
	states := b.speaker.States()
	for _, p := range b.peers {
		if p.Password == "" {
			continue
		}
		if states[p.Name] == bgp.StateEstablished {
			delete(b.downSince, p.Name)
			if b.suspected[p.Name] {
				b.suspected[p.Name] = false
				b.metrics.bgpMD5Hint.WithLabelValues(p.Name).Set(0)
			}
			continue
		}
		since, ok := b.downSince[p.Name]
		if !ok {
			b.downSince[p.Name] = now
			continue
		}
		if now.Sub(since) > md5SuspectAfter && !b.suspected[p.Name] {
			b.suspected[p.Name] = true
			b.metrics.bgpMD5Hint.WithLabelValues(p.Name).Set(1)
			b.log.Error(nil, "BGP session with a TCP MD5 password is still down; a password mismatch is the likely cause (the kernel drops segments with a wrong signature silently): check the Secret and the router's password",
				"peer", p.Name, "address", p.Address, "state", states[p.Name], "down", now.Sub(since).Round(time.Second))
		}
	}
}

// close withdraws everything and stops the speaker.
func (b *bgpMode) close(ctx context.Context) error {
	if b.speaker == nil {
		return nil
	}
	err := b.speaker.Close(ctx)
	b.speaker, b.peers = nil, nil
	return err
}

// internalIP is the node's first InternalIP of the family.
func internalIP(self planner.Node, v4 bool) (netip.Addr, bool) {
	for _, a := range self.Addresses {
		if a.Is4() == v4 {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// hostAddr is an address of this host, as the kernel lists it.
type hostAddr struct {
	addr netip.Addr
	// link is the index of the interface that carries it.
	link int
	// flags are its IFA_F_ flags.
	flags int
}

// pickIPv6NextHop chooses the IPv6 next hop of a node without an IPv6
// InternalIP among the host's addresses: a global unicast IPv6 address on
// the interface facing the peer (facing; 0 when unknown), else on any
// interface; one that is not deprecated before one that is; the first in
// the kernel's order among equals. It never picks an address inside a pool
// (a VIP that VRRP, an operator or kube-proxy's kube-ipvs0 put on an
// interface: it may move to another node, or be announced by several), nor
// one whose duplicate address detection has not passed.
func pickIPv6NextHop(addrs []hostAddr, facing int, inPool func(netip.Addr) bool) (netip.Addr, bool) {
	best, bestRank := netip.Addr{}, 4
	for _, a := range addrs {
		ip := a.addr
		if !ip.Is6() || ip.Is4In6() || !ip.IsGlobalUnicast() || a.flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) != 0 || inPool(ip) {
			continue
		}
		rank := 0
		if facing == 0 || a.link != facing {
			rank += 2
		}
		if a.flags&unix.IFA_F_DEPRECATED != 0 {
			rank++
		}
		if rank < bestRank {
			best, bestRank = ip, rank
		}
	}
	return best, best.IsValid()
}

// hostIPv6Facing asks the kernel which interface the route to peer uses,
// and returns pickIPv6NextHop's choice among the host's IPv6 addresses.
func hostIPv6Facing(peer netip.Addr, inPool func(netip.Addr) bool) (netip.Addr, bool) {
	facing := 0
	if peer.IsValid() {
		if routes, err := netlink.RouteGet(peer.AsSlice()); err == nil && len(routes) > 0 {
			facing = routes[0].LinkIndex
		}
	}
	list, err := netlink.AddrList(nil, netlink.FAMILY_V6)
	if err != nil {
		return netip.Addr{}, false
	}
	addrs := make([]hostAddr, 0, len(list))
	for _, a := range list {
		if a.IPNet == nil {
			continue
		}
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			addrs = append(addrs, hostAddr{addr: ip, link: a.LinkIndex, flags: a.Flags})
		}
	}
	return pickIPv6NextHop(addrs, facing, inPool)
}

// routerID is the node's first IPv4 InternalIP, or on IPv6-only nodes a
// stable 32-bit value derived from its name.
func routerID(self planner.Node) netip.Addr {
	if a, ok := internalIP(self, true); ok {
		return a
	}
	h := fnv.New32a()
	h.Write([]byte(self.Name))
	s := h.Sum32()
	return netip.AddrFrom4([4]byte{byte(s >> 24), byte(s >> 16), byte(s >> 8), byte(s)})
}
