package bgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	api "github.com/osrg/gobgp/v3/api"
)

// PoolFilter says which peers may receive the routes of a pool's addresses.
// Pools whose routes go to every peer need no filter.
type PoolFilter struct {
	Pool string
	// Prefixes cover the pool's addresses (see RangePrefixes).
	Prefixes []netip.Prefix
	// Peers are the names of the peers that get the pool's routes.
	Peers []string
}

// filterState is what SetPoolFilters installed.
type filterState struct {
	filters []PoolFilter
	peers   []string // "name=address" of the peers the policy was built for
}

const exportPolicy = "floatlb-export"

func prefixSet(pool string) string   { return "floatlb-pool-" + pool }
func neighborSet(pool string) string { return "floatlb-peers-" + pool }

// SetPoolFilters installs an export policy so that each pool's routes reach
// only its peers. GoBGP applies per-peer policies to route-server clients
// only, so this is one global export policy whose statements match the
// pool's prefixes and the peers outside its list (the neighbor condition of
// an export policy matches the receiving peer). The policy follows the
// config, not the routes: it changes only when pools or peers change, and
// then the routes of the pools whose filter changed are
// advertised again.
func (sp *Speaker) SetPoolFilters(ctx context.Context, filters []PoolFilter) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	var peerKeys []string
	for name, p := range sp.peers {
		peerKeys = append(peerKeys, name+"="+p.Address.String())
	}
	slices.Sort(peerKeys)
	next := filterState{filters: cloneFilters(filters), peers: peerKeys}
	if equalFilters(sp.filters, next) {
		return nil
	}
	var errs []error
	if len(sp.filters.filters) > 0 {
		// Deleting the global assignment would leave its default action unset,
		// which rejects everything: set it to "accept, no policy" instead.
		if err := sp.s.SetPolicyAssignment(ctx, &api.SetPolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
			Name: "global", Direction: api.PolicyDirection_EXPORT, DefaultAction: api.RouteAction_ACCEPT,
		}}); err != nil {
			sp.log.Info("Removing the export policy assignment", "err", err)
		}
		if err := sp.s.DeletePolicy(ctx, &api.DeletePolicyRequest{Policy: &api.Policy{Name: exportPolicy}, All: true}); err != nil {
			sp.log.Info("Removing the export policy", "err", err)
		}
		for _, f := range sp.filters.filters {
			_ = sp.s.DeleteDefinedSet(ctx, &api.DeleteDefinedSetRequest{DefinedSet: &api.DefinedSet{DefinedType: api.DefinedType_PREFIX, Name: prefixSet(f.Pool)}, All: true})
			_ = sp.s.DeleteDefinedSet(ctx, &api.DeleteDefinedSetRequest{DefinedSet: &api.DefinedSet{DefinedType: api.DefinedType_NEIGHBOR, Name: neighborSet(f.Pool)}, All: true})
		}
	}
	var statements []*api.Statement
	for _, f := range filters {
		ps := &api.DefinedSet{DefinedType: api.DefinedType_PREFIX, Name: prefixSet(f.Pool)}
		for _, p := range f.Prefixes {
			max := uint32(32)
			if p.Addr().Is6() {
				max = 128
			}
			ps.Prefixes = append(ps.Prefixes, &api.Prefix{IpPrefix: p.String(), MaskLengthMin: uint32(p.Bits()), MaskLengthMax: max})
		}
		if err := sp.s.AddDefinedSet(ctx, &api.AddDefinedSetRequest{DefinedSet: ps}); err != nil {
			errs = append(errs, fmt.Errorf("defining the prefixes of pool %s: %w", f.Pool, err))
			continue
		}
		cond := &api.Conditions{PrefixSet: &api.MatchSet{Type: api.MatchSet_ANY, Name: prefixSet(f.Pool)}}
		var allowed []string
		for _, name := range f.Peers {
			if p, ok := sp.peers[name]; ok {
				bits := 32
				if p.Address.Is6() {
					bits = 128
				}
				allowed = append(allowed, netip.PrefixFrom(p.Address, bits).String())
			}
		}
		if len(allowed) > 0 { // with none allowed, the prefix alone rejects
			ns := &api.DefinedSet{DefinedType: api.DefinedType_NEIGHBOR, Name: neighborSet(f.Pool), List: allowed}
			if err := sp.s.AddDefinedSet(ctx, &api.AddDefinedSetRequest{DefinedSet: ns}); err != nil {
				errs = append(errs, fmt.Errorf("defining the peers of pool %s: %w", f.Pool, err))
				continue
			}
			cond.NeighborSet = &api.MatchSet{Type: api.MatchSet_INVERT, Name: neighborSet(f.Pool)}
		}
		statements = append(statements, &api.Statement{
			Name:       exportPolicy + "-" + f.Pool,
			Conditions: cond,
			Actions:    &api.Actions{RouteAction: api.RouteAction_REJECT},
		})
	}
	if len(statements) > 0 {
		if err := sp.s.AddPolicy(ctx, &api.AddPolicyRequest{Policy: &api.Policy{Name: exportPolicy, Statements: statements}}); err != nil {
			errs = append(errs, fmt.Errorf("adding the export policy: %w", err))
		} else if err := sp.s.AddPolicyAssignment(ctx, &api.AddPolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
			Name: "global", Direction: api.PolicyDirection_EXPORT,
			Policies: []*api.Policy{{Name: exportPolicy}}, DefaultAction: api.RouteAction_ACCEPT,
		}}); err != nil {
			errs = append(errs, fmt.Errorf("assigning the export policy: %w", err))
		}
	}
	// GoBGP applies a new policy to updates only, and sends nothing for a
	// path that is advertised again unchanged; so the routes of pools whose
	// filter changed are withdrawn and advertised again (a few milliseconds,
	// only when an operator changes a pool's peers).
	changed := changedPools(sp.filters.filters, filters)
	for prefix, r := range sp.routes {
		if !covered(changed, prefix) {
			continue
		}
		if err := sp.withdraw(ctx, r.Route); err != nil {
			errs = append(errs, err)
			continue
		}
		p, err := pathOf(r.Route)
		if err == nil {
			_, err = sp.s.AddPath(ctx, &api.AddPathRequest{TableType: api.TableType_GLOBAL, Path: p})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("advertising %s again after a policy change: %w", prefix, err))
		}
	}
	sp.filters = next
	return errors.Join(errs...)
}

// cloneFilters copies filters deeply: the caller may reuse its slices.
func cloneFilters(filters []PoolFilter) []PoolFilter {
	out := make([]PoolFilter, len(filters))
	for i, f := range filters {
		out[i] = PoolFilter{Pool: f.Pool, Prefixes: slices.Clone(f.Prefixes), Peers: slices.Clone(f.Peers)}
	}
	return out
}

// changedPools returns the filters, old or new, of pools whose filter differs.
func changedPools(old, next []PoolFilter) []PoolFilter {
	var out []PoolFilter
	find := func(list []PoolFilter, pool string) (PoolFilter, bool) {
		for _, f := range list {
			if f.Pool == pool {
				return f, true
			}
		}
		return PoolFilter{}, false
	}
	for _, f := range old {
		if n, ok := find(next, f.Pool); !ok || !equalFilter(f, n) {
			out = append(out, f)
		}
	}
	for _, f := range next {
		if o, ok := find(old, f.Pool); !ok || !equalFilter(f, o) {
			out = append(out, f)
		}
	}
	return out
}

func covered(filters []PoolFilter, prefix netip.Prefix) bool {
	for _, f := range filters {
		for _, p := range f.Prefixes {
			if p.Contains(prefix.Addr()) {
				return true
			}
		}
	}
	return false
}

func equalFilter(x, y PoolFilter) bool {
	return x.Pool == y.Pool && slices.Equal(x.Prefixes, y.Prefixes) && slices.Equal(x.Peers, y.Peers)
}

func equalFilters(a, b filterState) bool {
	return slices.Equal(a.peers, b.peers) && slices.EqualFunc(a.filters, b.filters, equalFilter)
}

// RangePrefixes returns the fewest prefixes that cover first..last exactly.
func RangePrefixes(first, last netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for first.IsValid() && first.Compare(last) <= 0 {
		bits := first.BitLen()
		// The largest block starting at first that does not pass last.
		p := netip.PrefixFrom(first, bits)
		for b := bits - 1; b >= 0; b-- {
			q := netip.PrefixFrom(first, b).Masked()
			if q.Addr() != first || lastOf(q).Compare(last) > 0 {
				break
			}
			p = q
		}
		out = append(out, p)
		end := lastOf(p)
		if end == last {
			break
		}
		first = end.Next()
	}
	return out
}

func lastOf(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
