package l2

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

func TestOwner(t *testing.T) {
	ip := netip.MustParseAddr("198.19.10.1")
	all := []string{"node1", "node2", "node3"}
	// The ranking of the three nodes for ip, best first.
	ranked := slices.Clone(all)
	slices.SortFunc(ranked, func(a, b string) int {
		ra, rb := Rank(ip, a), Rank(ip, b)
		switch {
		case ra > rb:
			return -1
		case ra < rb:
			return 1
		}
		return 0
	})
	liveSet := func(nodes ...string) func(string) bool {
		return func(n string) bool { return slices.Contains(nodes, n) }
	}
	tests := []struct {
		name       string
		candidates []string
		live       func(string) bool
		want       string
		wantOK     bool
	}{
		{name: "all live: the first ranked", candidates: all, live: liveSet(all...), want: ranked[0], wantOK: true},
		{name: "first ranked dead: the second", candidates: all, live: liveSet(ranked[1], ranked[2]), want: ranked[1], wantOK: true},
		{name: "only the last live", candidates: all, live: liveSet(ranked[2]), want: ranked[2], wantOK: true},
		{name: "first ranked not a candidate", candidates: []string{ranked[1], ranked[2]}, live: liveSet(all...), want: ranked[1], wantOK: true},
		{name: "live but not a candidate", candidates: []string{ranked[2]}, live: liveSet(ranked[0]), wantOK: false},
		{name: "no candidates", candidates: nil, live: liveSet(all...), wantOK: false},
		{name: "nobody live", candidates: all, live: liveSet(), wantOK: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Owner(ip, tc.candidates, tc.live)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("Owner = %q, %v; want %q, %v", got, ok, tc.want, tc.wantOK)
			}
			rev := slices.Clone(tc.candidates)
			slices.Reverse(rev)
			if again, _ := Owner(ip, rev, tc.live); again != got {
				t.Errorf("Owner depends on the order of candidates: %q reversed, %q not", again, got)
			}
		})
	}
}

// TestRankStable pins Rank: announcers of different versions must agree
// on owners during a rolling update, so the scores may never change.
func TestRankStable(t *testing.T) {
	tests := []struct {
		ip   string
		node string
		want uint64
	}{
		{"198.19.10.1", "node1", 0x5f1d77a077c12a77},
		{"198.19.10.1", "node2", 0x518471d851e7a88c},
		{"2001:db8:100::1", "node1", 0xd836a94991644f51},
	}
	for _, tc := range tests {
		if got := Rank(netip.MustParseAddr(tc.ip), tc.node); got != tc.want {
			t.Errorf("Rank(%s, %s) = %#x, want %#x", tc.ip, tc.node, got, tc.want)
		}
	}
}

// TestOwnerDistribution shows that owners spread evenly over the nodes for
// many random address sets, and that a node leaving moves only its own
// addresses.
func TestOwnerDistribution(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, nodes := range [][]string{
		{"node1", "node2", "node3"},
		{"a", "b", "c", "d", "e", "f", "g"},
		{"worker-0.example", "worker-1.example", "worker-2.example", "worker-3.example"},
	} {
		t.Run(fmt.Sprintf("%d nodes", len(nodes)), func(t *testing.T) {
			all := func(string) bool { return true }
			const sets, perSet = 200, 300
			total := map[string]int{}
			for s := 0; s < sets; s++ {
				ips := randomIPs(rng, perSet, s%2 == 1)
				share := map[string]int{}
				owner := map[netip.Addr]string{}
				for _, ip := range ips {
					o, _ := Owner(ip, nodes, all)
					share[o]++
					owner[ip] = o
				}
				// Each node's share of a set stays within 5 standard
				// deviations of even (a binomial count), and over all sets
				// within 2% of even.
				p := 1 / float64(len(nodes))
				even := perSet * p
				sigma := math.Sqrt(perSet * p * (1 - p))
				for _, n := range nodes {
					total[n] += share[n]
					if d := math.Abs(float64(share[n]) - even); d > 5*sigma {
						t.Fatalf("set %d: %s owns %d of %d addresses, even is %.0f: %v", s, n, share[n], perSet, even, share)
					}
				}
				gone := nodes[rng.IntN(len(nodes))]
				rest := func(n string) bool { return n != gone }
				for _, ip := range ips {
					o, _ := Owner(ip, nodes, rest)
					if owner[ip] != gone && o != owner[ip] {
						t.Fatalf("set %d: %s left and %s moved from %s to %s", s, gone, ip, owner[ip], o)
					}
					if o == gone {
						t.Fatalf("set %d: %s left but still owns %s", s, gone, ip)
					}
				}
			}
			even := float64(sets*perSet) / float64(len(nodes))
			for _, n := range nodes {
				if d := math.Abs(float64(total[n]) - even); d > 0.02*even {
					t.Errorf("%s owns %d of %d addresses over all sets, even is %.0f", n, total[n], sets*perSet, even)
				}
			}
		})
	}
}

func randomIPs(rng *rand.Rand, n int, v6 bool) []netip.Addr {
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	for len(out) < n {
		var ip netip.Addr
		if v6 {
			b := netip.MustParseAddr("2001:db8:100::").As16()
			b[14], b[15] = byte(rng.IntN(256)), byte(rng.IntN(256))
			ip = netip.AddrFrom16(b)
		} else {
			ip = netip.AddrFrom4([4]byte{198, 18 + byte(rng.IntN(2)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		}
		if !seen[ip] {
			seen[ip] = true
			out = append(out, ip)
		}
	}
	return out
}

func BenchmarkOwner(b *testing.B) {
	ip := netip.MustParseAddr("198.19.10.1")
	nodes := []string{"node1", "node2", "node3"}
	all := func(string) bool { return true }
	for b.Loop() {
		Owner(ip, nodes, all)
	}
}
