package planner

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/floatlb/floatlb/config"
)

// fuzzIPs are the addresses fuzzed Services hold: some in each pool of
// testConfig, sharing aggregates, and some outside every pool.
var fuzzIPs = []string{
	"192.0.2.1", "192.0.2.2", "192.0.2.15", "2001:db8:1::1", // public
	"198.51.100.1", "198.51.100.2", "198.51.100.5", // agg4
	"2001:db8:2::1", "2001:db8:2::2", "2001:db8:2::11", // agg6
	"198.51.100.33",                               // rack1
	"203.0.113.1", "203.0.113.2", "2001:db8:3::1", // l2
	"203.0.113.17", "203.0.113.18", // vrrp
	"192.0.2.16", "10.0.0.1", "2001:db8:ffff::1", "::ffff:192.0.2.1", "", // outside; "" is the zero Addr
	"198.51.100.49", // zone-a
}

var fuzzPools = []string{"", "public", "agg4", "l2", "vrrp", "gone", "rack1", "agg6"}

// FuzzCompute builds an Input from the fuzzer's bytes (nodes with random
// readiness, exclusion and labels; Services with random addresses,
// policies, endpoints and annotations) on testConfig, and checks Compute
// against a plain restatement of the rules built on Eligible.
func FuzzCompute(f *testing.F) {
	f.Add([]byte{0, 0x15, 0x11, 0x19, 0x11, 0, 0, 0})
	f.Add([]byte{1, 0x1d, 0x15, 0x31, 0x13, 1, 4, 0x1f, 2, 5, 0x06, 3, 0x8b, 0x40})
	f.Add([]byte{2, 0x35, 0x35, 0x35, 0x35, 0, 14, 0x03, 1, 14, 0x05, 2, 0x8f, 0x0e, 3, 0x12, 0xff})
	f.Add([]byte{4, 0xff, 0xff, 0xff, 0xff, 9, 9, 9, 9, 9, 9})
	cfg := parseConfig(f, testConfig)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkPlan(t, fuzzInput(cfg, data))
	})
}

// maxFuzzServices bounds the Services of a fuzzed Input: more find no new
// rule to break, and slow the fuzzer, its minimisation above all.
const maxFuzzServices = 24

// fuzzInput decodes data: this node, then a byte of flags per node, then
// three bytes per Service, at most maxFuzzServices of them.
func fuzzInput(cfg *config.Config, data []byte) Input {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	in := Input{Config: cfg, Node: fmt.Sprintf("node-%d", next()%5)} // node-4 is never listed
	for i := range 4 {
		b := next()
		if b&0x10 == 0 {
			continue // not listed
		}
		n := Node{Name: fmt.Sprintf("node-%d", i), Ready: b&1 != 0, ExcludedFromLB: b&2 != 0, Labels: map[string]string{"rack": "r2"}}
		if b&4 != 0 {
			n.Labels["rack"] = "r1"
		}
		if b&8 != 0 {
			n.Labels["zone"] = "a"
		}
		in.Nodes = append(in.Nodes, n)
		if b&0x20 != 0 { // listed twice, the second time not ready
			dup := n
			dup.Ready = false
			in.Nodes = append(in.Nodes, dup)
		}
	}
	for len(data) > 0 && len(in.Services) < maxFuzzServices {
		k, ips, pol := next(), next(), next()
		s := Service{Key: fmt.Sprintf("ns/svc-%d", k%8), Pool: fuzzPools[pol>>5]}
		s.IPs = append(s.IPs, fuzzAddr(int(ips&0x1f)))
		if ips&0x80 != 0 {
			s.IPs = append(s.IPs, fuzzAddr(int(k>>3)))
		}
		if pol&1 != 0 {
			s.Local = true
			for i := range 5 {
				if pol&(2<<i) != 0 {
					s.ReadyEndpointNodes = append(s.ReadyEndpointNodes, fmt.Sprintf("node-%d", i))
				}
			}
		}
		in.Services = append(in.Services, s)
	}
	return in
}

func fuzzAddr(i int) netip.Addr {
	s := fuzzIPs[i%len(fuzzIPs)]
	if s == "" {
		return netip.Addr{}
	}
	return netip.MustParseAddr(s)
}

// checkPlan checks Compute(in) against the rules, restated naively.
func checkPlan(t *testing.T, in Input) {
	plan := Compute(in)
	if again := Compute(in); !reflect.DeepEqual(plan, again) {
		t.Fatalf("Compute is not deterministic (-first +second):\n%s", cmp.Diff(plan, again, cmpOpts))
	}
	if rev := Compute(reversed(in)); !reflect.DeepEqual(plan, rev) {
		t.Fatalf("Compute depends on the order of the input (-forward +reversed):\n%s", cmp.Diff(plan, rev, cmpOpts))
	}

	// The rules: every address in the Services' status, its pool, its
	// Services and the nodes eligible for it (the union over its Services).
	type want struct {
		pool     *config.Pool
		services []string
		nodes    []string
	}
	wants := map[netip.Addr]*want{}
	var refused []Refusal
	for _, svc := range in.Services {
		for _, ip := range svc.IPs {
			pool, ok := in.Config.PoolFor(ip)
			if !ok {
				refused = append(refused, Refusal{Service: svc.Key, IP: ip, Reason: OutsidePools})
				continue
			}
			w := wants[ip]
			if w == nil {
				w = &want{pool: pool}
				wants[ip] = w
			}
			w.services = append(w.services, svc.Key)
			w.nodes = append(w.nodes, Eligible(in, svc, pool)...)
		}
	}
	slices.SortFunc(refused, func(a, b Refusal) int {
		if c := a.IP.Compare(b.IP); c != 0 {
			return c
		}
		return strings.Compare(a.Service, b.Service)
	})
	refused = slices.Compact(refused)
	if !slices.Equal(refused, plan.Refused) {
		t.Errorf("Refused: exactly the addresses outside the pools (-want +got):\n%s", cmp.Diff(refused, plan.Refused, cmpOpts))
	}

	// Every address is planned once, by its pool's mode, when this node is
	// eligible for it, and not at all otherwise.
	seen := map[netip.Addr]bool{}
	see := func(ip netip.Addr, where string) *want {
		t.Helper()
		if seen[ip] {
			t.Errorf("%s: %s planned twice", where, ip)
		}
		seen[ip] = true
		w := wants[ip]
		if w == nil {
			t.Fatalf("%s: %s is in no pool or no Service's status", where, ip)
		}
		if !slices.Contains(w.nodes, in.Node) {
			t.Errorf("%s: %s planned, but %s is not eligible for it", where, ip, in.Node)
		}
		return w
	}
	wantPeers, wantNoPeer := fuzzPeers(in)
	for i, r := range plan.BGP {
		where := fmt.Sprintf("BGP[%d] %s", i, r.Prefix)
		if i > 0 && comparePrefix(plan.BGP[i-1].Prefix, r.Prefix) >= 0 {
			t.Errorf("%s: routes not sorted", where)
		}
		if len(r.IPs) == 0 {
			t.Errorf("%s: no address", where)
		}
		var services []string
		for j, ip := range r.IPs {
			w := see(ip, where)
			if j > 0 && r.IPs[j-1].Compare(ip) >= 0 {
				t.Errorf("%s: addresses not sorted", where)
			}
			if mode(w.pool) != config.ModeBGP || r.Pool != w.pool.Name {
				t.Errorf("%s: %s is in pool %s (%s), route says pool %s", where, ip, w.pool.Name, mode(w.pool), r.Pool)
			}
			if !r.Prefix.Contains(ip) || r.Prefix != routePrefix(ip, w.pool.BGP.AggregationLength) {
				t.Errorf("%s: wrong prefix for %s", where, ip)
			}
			services = append(services, w.services...)
		}
		slices.Sort(services)
		checkStrings(t, where+" Services", slices.Compact(services), r.Services)
		checkStrings(t, where+" Peers", wantPeers[r.Pool], r.Peers)
		if r.NoPeer != wantNoPeer[r.Pool] || (r.NoPeer == NoPeerNone) != (len(r.Peers) > 0) {
			t.Errorf("%s: NoPeer %v with peers %q", where, r.NoPeer, r.Peers)
		}
	}
	for _, l := range []struct {
		mode   config.Mode
		claims []Claim
	}{{config.ModeL2, plan.L2}, {config.ModeVRRP, plan.VRRP}} {
		for i, c := range l.claims {
			where := fmt.Sprintf("%s[%d] %s", l.mode, i, c.IP)
			if i > 0 && l.claims[i-1].IP.Compare(c.IP) >= 0 {
				t.Errorf("%s: claims not sorted", where)
			}
			w := see(c.IP, where)
			if mode(w.pool) != l.mode || c.Pool != w.pool.Name || c.Interface != w.pool.Interface {
				t.Errorf("%s: in pool %s (%s, interface %q), claim says %s, interface %q", where, w.pool.Name, mode(w.pool), w.pool.Interface, c.Pool, c.Interface)
			}
			slices.Sort(w.nodes)
			checkStrings(t, where+" EligibleNodes", slices.Compact(w.nodes), c.EligibleNodes)
			slices.Sort(w.services)
			checkStrings(t, where+" Services", slices.Compact(w.services), c.Services)
		}
	}
	for ip, w := range wants {
		if !seen[ip] && slices.Contains(w.nodes, in.Node) {
			t.Errorf("%s: %s is eligible for it, but it is not planned", ip, in.Node)
		}
	}
}

// checkStrings reports a difference between want and got, which must
// also be nil when empty. It avoids cmp's reflection when they are equal:
// the fuzzer runs it thousands of times a second.
func checkStrings(t *testing.T, what string, want, got []string) {
	t.Helper()
	if got != nil && len(got) == 0 {
		t.Errorf("%s: empty but not nil", what)
	}
	if !slices.Equal(want, got) {
		t.Errorf("%s (-want +got):\n%s", what, cmp.Diff(want, got))
	}
}

// fuzzPeers returns, per bgp pool, the peers its routes go to from this
// node, and why there are none.
func fuzzPeers(in Input) (map[string][]string, map[string]NoPeerReason) {
	peers, why := map[string][]string{}, map[string]NoPeerReason{}
	var self []Node
	for _, n := range in.Nodes {
		if n.Name == in.Node {
			self = append(self, n)
		}
	}
	for i := range in.Config.Pools {
		pool := &in.Config.Pools[i]
		candidates := in.Config.PoolPeers(pool)
		for _, p := range candidates {
			if slices.ContainsFunc(self, func(n Node) bool { return MatchesSelector(p.NodeSelector, n.Labels) }) {
				peers[pool.Name] = append(peers[pool.Name], p.Name)
			}
		}
		slices.Sort(peers[pool.Name])
		switch {
		case len(candidates) == 0:
			why[pool.Name] = NoPeerConfigured
		case len(peers[pool.Name]) == 0:
			why[pool.Name] = NoPeerForNode
		}
	}
	return peers, why
}
