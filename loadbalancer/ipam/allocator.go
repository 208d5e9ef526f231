package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
)

// Assignment is the addresses a Service holds and the pool they came from.
type Assignment struct {
	Pool string
	IPs  []netip.Addr
}

// Allocator hands out the addresses of a set of pools. It is not safe for
// concurrent use: the caller serialises calls.
type Allocator struct {
	pools  []*pool // in configuration order: the order of automatic choice
	byName map[string]*pool
	leases map[addrKey]*lease // by keyOf(ip)
	// holdings are the Services holding addresses, by key.
	holdings map[string]*holding
	// shared indexes the leases by sharing key.
	shared map[string][]*lease
}

// lease is one held address and the Services holding it.
type lease struct {
	ip      netip.Addr
	pool    *pool
	sharing string // the sharing key of the first holder
	holders []*holding
	first   [1]*holding // backing array of holders for the common unshared case
}

// holding is what one Service holds.
type holding struct {
	req  sharer // what sharing needs of the request, kept small
	pool string
	ips  []netip.Addr
	buf  [2]netip.Addr // backing array of ips: one address per family
}

// New returns an allocator over pools. Pools must not overlap (config
// validation guarantees it).
func New(pools []Pool) *Allocator {
	a := &Allocator{
		byName:   map[string]*pool{},
		leases:   map[addrKey]*lease{},
		holdings: map[string]*holding{},
		shared:   map[string][]*lease{},
	}
	a.setPools(pools)
	return a
}

func (a *Allocator) setPools(pools []Pool) {
	a.pools = a.pools[:0]
	a.byName = make(map[string]*pool, len(pools))
	for _, p := range pools {
		np := newPool(p)
		a.pools = append(a.pools, np)
		a.byName[p.Name] = np
	}
}

// poolOf returns the pool containing ip.
func (a *Allocator) poolOf(ip netip.Addr) *pool {
	for _, p := range a.pools {
		if p.contains(ip) {
			return p
		}
	}
	return nil
}

// SetPools replaces the pools. It refuses, changing nothing, when an address
// held by a Service would lie in no pool; addresses may move between pools.
func (a *Allocator) SetPools(pools []Pool) error {
	next := New(pools)
	removed := map[netip.Addr][]string{}
	for _, l := range a.leases {
		ip := l.ip
		p := next.poolOf(ip)
		if p == nil {
			for _, h := range l.holders {
				removed[ip] = append(removed[ip], h.req.Service)
			}
			sort.Strings(removed[ip])
		}
	}
	if len(removed) > 0 {
		return &RemovedAddressesError{Held: removed}
	}
	a.setPools(pools)
	for _, l := range a.leases {
		ip := l.ip
		l.pool = a.poolOf(ip)
		l.pool.space(FamilyOf(ip)).hold(ip)
	}
	for _, h := range a.holdings {
		if len(h.ips) > 0 {
			h.pool = a.leases[keyOf(h.ips[0])].pool.Name
		}
	}
	return nil
}

// Pools returns the names of the pools, in configuration order.
func (a *Allocator) Pools() []string {
	names := make([]string, len(a.pools))
	for i, p := range a.pools {
		names[i] = p.Name
	}
	return names
}

// Stats returns the size and use of each family of each pool.
func (a *Allocator) Stats() []PoolStats {
	var out []PoolStats
	for _, p := range a.pools {
		for _, f := range []Family{IPv4, IPv6} {
			if s := p.space(f); len(s.ranges) > 0 {
				out = append(out, PoolStats{Pool: p.Name, Family: f, Size: s.size, InUse: s.inUse})
			}
		}
	}
	return out
}

// Assignment returns what service holds.
func (a *Allocator) Assignment(service string) (Assignment, bool) {
	h, ok := a.holdings[service]
	if !ok {
		return Assignment{}, false
	}
	return Assignment{Pool: h.pool, IPs: slices.Clone(h.ips)}, true
}

// Holders returns the Services holding ip.
func (a *Allocator) Holders(ip netip.Addr) []string {
	l := a.leases[keyOf(ip)]
	if l == nil {
		return nil
	}
	out := make([]string, len(l.holders))
	for i, h := range l.holders {
		out[i] = h.req.Service
	}
	return out
}

// Release frees everything service holds. Shared addresses stay held by the
// other Services sharing them.
func (a *Allocator) Release(service string) {
	h, ok := a.holdings[service]
	if !ok {
		return
	}
	for _, ip := range h.ips {
		a.drop(h, ip)
	}
	delete(a.holdings, service)
}

// hold records h as a holder of ip, which lies in p.
func (a *Allocator) hold(h *holding, p *pool, ip netip.Addr) {
	if l := a.leases[keyOf(ip)]; l != nil {
		l.holders = append(l.holders, h)
		return
	}
	a.lease(h, p, ip)
}

// lease records h as the first holder of the free ip, which lies in p.
func (a *Allocator) lease(h *holding, p *pool, ip netip.Addr) {
	l := &lease{ip: ip, pool: p, sharing: h.req.Sharing}
	l.first[0] = h
	l.holders = l.first[:1]
	a.leases[keyOf(ip)] = l
	p.space(FamilyOf(ip)).hold(ip)
	if l.sharing != "" {
		a.shared[l.sharing] = append(a.shared[l.sharing], l)
	}
}

// drop removes h from the holders of ip and frees ip when nobody is left.
func (a *Allocator) drop(h *holding, ip netip.Addr) {
	l := a.leases[keyOf(ip)]
	if l == nil {
		return
	}
	l.holders = slices.DeleteFunc(l.holders, func(o *holding) bool { return o == h })
	if len(l.holders) > 0 {
		return
	}
	delete(a.leases, keyOf(ip))
	l.pool.space(FamilyOf(ip)).release(ip)
	if l.sharing != "" {
		ls := slices.DeleteFunc(a.shared[l.sharing], func(o *lease) bool { return o == l })
		if len(ls) == 0 {
			delete(a.shared, l.sharing)
		} else {
			a.shared[l.sharing] = ls
		}
	}
}

// joinable returns why req may not hold l's address beside its holders.
func (a *Allocator) joinable(l *lease, req *Request) error {
	for _, o := range l.holders {
		if o.req.Service == req.Service {
			continue
		}
		if err := req.shareWith(o.req); err != nil {
			return err
		}
	}
	return nil
}

// free reports whether nobody holds ip.
func (a *Allocator) free(ip netip.Addr) bool { return a.leases[keyOf(ip)] == nil }

// Restore records that req.Service already holds the addresses req.Current,
// as read back from its status after a restart. Addresses outside every pool
// are ignored (they are not floatlb's). It never allocates; an address held
// by another Service that may not share it is refused with an *InUseError and
// the rest are still recorded. A Service that holds addresses already keeps
// them unchanged: Restore rebuilds, Allocate changes.
func (a *Allocator) Restore(req Request) (Assignment, error) {
	if h := a.holdings[req.Service]; h != nil {
		return Assignment{Pool: h.pool, IPs: slices.Clone(h.ips)}, nil
	}
	h := &holding{req: sharerOf(&req)}
	var errs []error
	for _, ip := range req.Current {
		if slices.Contains(h.ips, ip) {
			continue
		}
		p := a.poolOf(ip)
		if p == nil {
			continue
		}
		if l := a.leases[keyOf(ip)]; l != nil {
			if err := a.joinable(l, &req); err != nil {
				errs = append(errs, &InUseError{IP: ip, Holder: l.holders[0].req.Service, Reason: reasonIfShared(&req, err)})
				continue
			}
		}
		if slices.ContainsFunc(h.ips, func(o netip.Addr) bool { return FamilyOf(o) == FamilyOf(ip) }) {
			continue // one address per family
		}
		a.hold(h, p, ip)
		h.ips = append(h.ips, ip)
		if h.pool == "" {
			h.pool = p.Name
		}
	}
	if len(h.ips) > 0 {
		a.holdings[req.Service] = h
	}
	return Assignment{Pool: h.pool, IPs: slices.Clone(h.ips)}, errors.Join(errs...)
}

func reasonIfShared(req *Request, err error) string {
	if req.Sharing == "" {
		return ""
	}
	return err.Error()
}

// Allocate returns the addresses for req, keeping those the Service already
// holds when they still satisfy it. It is idempotent. On error nothing
// changes: the Service keeps what it held.
func (a *Allocator) Allocate(req Request) (Assignment, error) {
	if len(req.Families) == 0 {
		return Assignment{}, fmt.Errorf("%s asks for no IP family", req.Service)
	}
	for _, ip := range req.IPs {
		if !req.wants(FamilyOf(ip)) {
			return Assignment{}, fmt.Errorf("%s asks for %s but not for the %s family", req.Service, ip, FamilyOf(ip))
		}
	}
	old := a.holdings[req.Service]
	h := &holding{req: sharerOf(&req)}
	var kept []netip.Addr
	if old != nil {
		for _, ip := range old.ips {
			if a.satisfies(&req, ip) {
				kept = append(kept, ip)
			}
		}
	}

	if err := a.checkCurrent(old, &req, kept); err != nil {
		return Assignment{}, err
	}
	candidates, err := a.candidatePools(&req, kept)
	if err != nil {
		return Assignment{}, err
	}
	auto := candidates == nil
	if auto {
		candidates = a.pools // filtered below, without building a list per call
	}
	var got []netip.Addr
	var errs []error
	// First try for every family; PreferDualStack then settles for the primary.
	required := req.Families
	for pass := 0; pass < 2 && h.pool == ""; pass++ {
		if pass == 1 {
			if req.RequireAll || len(req.Families) == 1 {
				break
			}
			required = req.Families[:1]
		}
		for _, p := range candidates {
			if auto && !(p.AutoAssign && p.serves(req.Namespace) && p.has(req.Families[0])) {
				continue
			}
			ips, err := a.fill(old, h, p, &req, required, kept)
			if err == nil {
				got, h.pool = ips, p.Name
				break
			}
			errs = append(errs, err)
			var inUse *InUseError
			if errors.As(err, &inUse) {
				return Assignment{}, err // a specific address is taken: no other pool helps
			}
		}
	}
	if h.pool == "" {
		return Assignment{}, summarize(&req, errs)
	}

	// Commit: hold what was newly taken, let go what is no longer wanted.
	if old != nil {
		for _, ip := range old.ips {
			l := a.leases[keyOf(ip)]
			if i := slices.Index(l.holders, old); i >= 0 {
				l.holders[i] = h
			}
		}
		for _, ip := range old.ips {
			if !slices.Contains(got, ip) {
				a.drop(h, ip)
			}
		}
	}
	h.ips = got
	a.holdings[req.Service] = h
	return Assignment{Pool: h.pool, IPs: slices.Clone(got)}, nil
}

// checkCurrent refuses to give a Service a new address of a family while its
// status holds one of that family that another Service holds: two claims on
// one address are for a person to settle, and nothing moves a Service to
// another address silently. Asking for a specific address settles it.
func (a *Allocator) checkCurrent(old *holding, req *Request, kept []netip.Addr) error {
	for _, cur := range req.Current {
		f := FamilyOf(cur)
		if !req.wants(f) || slices.ContainsFunc(kept, func(ip netip.Addr) bool { return FamilyOf(ip) == f }) {
			continue
		}
		if _, ok := req.specific(f); ok {
			continue
		}
		l := a.leases[keyOf(cur)]
		if l == nil || (old != nil && slices.Contains(l.holders, old)) {
			continue
		}
		if err := a.joinable(l, req); err != nil {
			return &InUseError{IP: cur, Holder: l.holders[0].req.Service, Reason: reasonIfShared(req, err), Status: true}
		}
	}
	return nil
}

// satisfies reports whether the held ip still meets req.
func (a *Allocator) satisfies(req *Request, ip netip.Addr) bool {
	f := FamilyOf(ip)
	if !req.wants(f) {
		return false
	}
	l := a.leases[keyOf(ip)]
	if l == nil || (req.Pool != "" && l.pool.Name != req.Pool) {
		return false
	}
	if want, ok := req.specific(f); ok && want != ip {
		return false
	}
	if len(l.holders) > 1 || req.Sharing != "" {
		if a.joinable(l, req) != nil {
			return false
		}
		if len(l.holders) > 1 && l.holders[0].req.Sharing != req.Sharing {
			return false
		}
	}
	return true
}

// candidatePools returns the pools to try, in order.
func (a *Allocator) candidatePools(req *Request, kept []netip.Addr) ([]*pool, error) {
	if len(kept) > 0 {
		return []*pool{a.leases[keyOf(kept[0])].pool}, nil
	}
	if req.Pool != "" {
		p := a.byName[req.Pool]
		if p == nil {
			return nil, fmt.Errorf("%w: pool %q does not exist (pools: %v)", ErrNoPool, req.Pool, a.Pools())
		}
		if !p.serves(req.Namespace) {
			return nil, fmt.Errorf("%w: pool %q does not serve namespace %q", ErrNoPool, req.Pool, req.Namespace)
		}
		return []*pool{p}, nil
	}
	for _, ip := range req.IPs {
		p := a.poolOf(ip)
		if p == nil {
			return nil, fmt.Errorf("%w: %s is in no pool (pools: %v)", ErrNoPool, ip, a.Pools())
		}
		if !p.serves(req.Namespace) {
			return nil, fmt.Errorf("%w: %s is in pool %q, which does not serve namespace %q", ErrNoPool, ip, p.Name, req.Namespace)
		}
		return []*pool{p}, nil
	}
	if !slices.ContainsFunc(a.pools, func(p *pool) bool {
		return p.AutoAssign && p.serves(req.Namespace) && p.has(req.Families[0])
	}) && len(req.Current) == 0 {
		return nil, fmt.Errorf("%w: no pool assigns %s addresses automatically to namespace %q; name a pool with the annotation floatlb.io/pool or add one to the config", ErrNoPool, req.Families[0], req.Namespace)
	}
	var out []*pool
	for _, ip := range req.Current {
		if p := a.poolOf(ip); p != nil && p.serves(req.Namespace) && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, nil // every auto-assign pool, in order
	}
	for _, p := range a.pools {
		if p.AutoAssign && p.serves(req.Namespace) && p.has(req.Families[0]) && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// fill finds an address of each wanted family in p for h, keeping kept.
// Families in required must be served; the others are taken when they can
// be. It decides before it takes, so a pool that cannot serve the request is
// left exactly as it was.
func (a *Allocator) fill(old, h *holding, p *pool, req *Request, required []Family, kept []netip.Addr) ([]netip.Addr, error) {
	type choice struct {
		ip    netip.Addr
		fresh bool // take a new address from the pool's space
	}
	var buf [2]choice
	choices := buf[:0]
	for _, f := range req.Families {
		if i := slices.IndexFunc(kept, func(ip netip.Addr) bool { return FamilyOf(ip) == f }); i >= 0 {
			choices = append(choices, choice{ip: kept[i]})
			continue
		}
		ip, fresh, err := a.choose(old, p, req, f)
		if err != nil {
			if _, specific := req.specific(f); specific || slices.Contains(required, f) {
				return nil, err
			}
			continue
		}
		choices = append(choices, choice{ip: ip, fresh: fresh})
	}
	got := h.buf[:0]
	for _, c := range choices {
		ip := c.ip
		if c.fresh {
			ip, _ = p.space(FamilyOf(ip)).take(a.free) // choose saw a free address
			a.lease(h, p, ip)
		} else if l := a.leases[keyOf(ip)]; old == nil || l == nil || !slices.Contains(l.holders, old) {
			a.hold(h, p, ip)
		}
		got = append(got, ip)
	}
	return got, nil
}

// choose picks the address of family f in p for req without taking it:
// either a known address, or fresh when the next free one of the space will do.
func (a *Allocator) choose(old *holding, p *pool, req *Request, f Family) (ip netip.Addr, fresh bool, err error) {
	if !p.has(f) {
		return netip.Addr{}, false, fmt.Errorf("%w: pool %q has no %s addresses", ErrNoPool, p.Name, f)
	}
	if ip, ok := req.specific(f); ok {
		if !p.contains(ip) {
			return netip.Addr{}, false, fmt.Errorf("%w: %s is not in pool %q", ErrNoPool, ip, p.Name)
		}
		return ip, false, a.claimable(old, p, req, ip)
	}
	if ip, ok := req.current(f); ok && p.contains(ip) && a.claimable(old, p, req, ip) == nil {
		return ip, false, nil
	}
	if req.Sharing != "" {
		for _, l := range a.shared[req.Sharing] {
			if l.pool == p && FamilyOf(l.ip) == f && a.joinable(l, req) == nil {
				return l.ip, false, nil
			}
		}
	}
	s := p.space(f)
	if s.inUse >= s.size {
		return netip.Addr{}, false, &ExhaustedError{Pool: p.Name, Family: f, OneFamily: p.oneFamily(), InUse: s.inUse, Size: s.size}
	}
	return zeroOf(f), true, nil
}

// claimable returns why req may not hold ip, or nil.
func (a *Allocator) claimable(old *holding, p *pool, req *Request, ip netip.Addr) error {
	if !p.space(FamilyOf(ip)).allocatable(ip) {
		return fmt.Errorf("%w: %s is a .0 or .255 address and pool %q avoids buggy IPs", ErrNoPool, ip, p.Name)
	}
	l := a.leases[keyOf(ip)]
	if l == nil || (old != nil && slices.Contains(l.holders, old) && len(l.holders) == 1) {
		return nil
	}
	if err := a.joinable(l, req); err != nil {
		holder := l.holders[0].req.Service
		if holder == req.Service && len(l.holders) > 1 {
			holder = l.holders[1].req.Service
		}
		return &InUseError{IP: ip, Holder: holder, Reason: reasonIfShared(req, err)}
	}
	return nil
}

// summarize turns the errors of every pool tried into one.
func summarize(req *Request, errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	exhausted := true
	for _, err := range errs {
		if !errors.Is(err, ErrExhausted) {
			exhausted = false
		}
	}
	joined := errors.Join(errs...)
	if exhausted {
		return fmt.Errorf("every pool that could serve %s is exhausted: %w", req.Service, joined)
	}
	return fmt.Errorf("no pool could serve %s: %w", req.Service, joined)
}

// zeroOf returns an address of family f that stands for "any".
func zeroOf(f Family) netip.Addr {
	if f == IPv6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

// addrKey is a map key for an address: hashing 16 bytes is cheaper than
// hashing a netip.Addr. Addresses are unmapped, so IPv4 and IPv6 never collide.
type addrKey [16]byte

func keyOf(ip netip.Addr) addrKey { return ip.As16() }
