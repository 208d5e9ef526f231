package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var equateAddr = cmpopts.EquateComparable(netip.Addr{})

func TestInstances(t *testing.T) {
	abc := []string{"a", "b", "c"}
	h := func(nodes ...string) string { return nameHash(strings.Join(nodes, ",")) }
	for _, tc := range []struct {
		name   string
		node   string
		claims []Claim
		want   []Instance
	}{{
		name: "none",
		node: "a",
	}, {
		name: "services on the same nodes and interface share an instance",
		node: "a",
		claims: []Claim{
			{IP: netip.MustParseAddr("192.0.2.2"), Interface: "eth0", EligibleNodes: abc, Services: []string{"ns/y"}},
			{IP: netip.MustParseAddr("192.0.2.1"), Interface: "eth0", EligibleNodes: []string{"c", "b", "a"}, Services: []string{"ns/x", "ns/y"}},
		},
		want: []Instance{{
			Name: h("a", "b", "c") + "-eth0", Interface: "eth0", VRID: 232, Priority: 250,
			Addresses: addrs("192.0.2.1", "192.0.2.2"), Nodes: abc, Services: []string{"ns/x", "ns/y"},
		}},
	}, {
		name: "families, interfaces and node sets part instances",
		node: "b",
		claims: []Claim{
			{IP: netip.MustParseAddr("192.0.2.1"), Interface: "eth0", EligibleNodes: abc},
			{IP: netip.MustParseAddr("2001:db8::1"), Interface: "eth0", EligibleNodes: abc},
			{IP: netip.MustParseAddr("192.0.2.3"), Interface: "eth1", EligibleNodes: abc},
			{IP: netip.MustParseAddr("192.0.2.4"), Interface: "eth0", EligibleNodes: []string{"a", "b"}},
		},
		want: []Instance{{
			Name: h("a", "b") + "-eth0", Interface: "eth0", VRID: 243, Priority: 200,
			Addresses: addrs("192.0.2.4"), Nodes: []string{"a", "b"},
		}, {
			Name: h("a", "b", "c") + "-eth0", Interface: "eth0", VRID: 232, Priority: 200,
			Addresses: addrs("192.0.2.1"), Nodes: abc,
		}, {
			Name: h("a", "b", "c") + "-eth0-v6", Interface: "eth0", IPv6: true, VRID: 99, Priority: 150,
			LinkLocal: netip.MustParseAddr("fe80::1:63"), Addresses: addrs("2001:db8::1"), Nodes: abc,
		}, {
			Name: h("a", "b", "c") + "-eth1", Interface: "eth1", VRID: 140, Priority: 250,
			Addresses: addrs("192.0.2.3"), Nodes: abc,
		}},
	}, {
		name: "claims of other nodes are left out",
		node: "c",
		claims: []Claim{
			{IP: netip.MustParseAddr("192.0.2.1"), Interface: "eth0", EligibleNodes: []string{"a", "b"}},
			{IP: netip.MustParseAddr("192.0.2.2"), Interface: "eth0", EligibleNodes: []string{"c"}},
		},
		want: []Instance{{
			Name: h("c") + "-eth0", Interface: "eth0", VRID: 136, Priority: 250,
			Addresses: addrs("192.0.2.2"), Nodes: []string{"c"},
		}},
	}, {
		name: "a VRID collision probes to the next VRID in name order",
		node: "a",
		claims: []Claim{
			// Both names hash to VRID 110.
			{IP: netip.MustParseAddr("192.0.2.1"), Interface: "eth0", EligibleNodes: []string{"a", "n10"}},
			{IP: netip.MustParseAddr("192.0.2.2"), Interface: "eth0", EligibleNodes: []string{"a", "n16"}},
		},
		want: []Instance{{
			Name: "b7098f82-eth0", Interface: "eth0", VRID: 110, Priority: 250,
			Addresses: addrs("192.0.2.2"), Nodes: []string{"a", "n16"},
		}, {
			Name: "cda49b78-eth0", Interface: "eth0", VRID: 111, Priority: 250,
			Addresses: addrs("192.0.2.1"), Nodes: []string{"a", "n10"},
		}},
	}, {
		name: "4in6 claims are IPv4",
		node: "a",
		claims: []Claim{
			{IP: netip.MustParseAddr("::ffff:192.0.2.1"), Interface: "eth0", EligibleNodes: []string{"a"}},
		},
		want: []Instance{{
			Name: h("a") + "-eth0", Interface: "eth0", VRID: 249, Priority: 250,
			Addresses: addrs("192.0.2.1"), Nodes: []string{"a"},
		}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Instances(tc.node, tc.claims, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, equateAddr); diff != "" {
				t.Errorf("Instances (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInstancesErrors(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.1")
	for _, tc := range []struct {
		name   string
		claims []Claim
		want   string
	}{
		{"no address", []Claim{{Interface: "eth0", EligibleNodes: []string{"a"}}}, `vrrp claim of interface "eth0" has no address`},
		{"no interface", []Claim{{IP: ip, EligibleNodes: []string{"a"}}}, "vrrp claim of 192.0.2.1 has no interface"},
		{"no node", []Claim{{IP: ip, Interface: "eth0"}}, "vrrp claim of 192.0.2.1 has no eligible node"},
		{"twice", []Claim{{IP: ip, Interface: "eth0", EligibleNodes: []string{"a"}}, {IP: ip, Interface: "eth1", EligibleNodes: []string{"a"}}}, "vrrp address 192.0.2.1 is claimed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Instances("a", tc.claims, nil, nil)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Instances error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestInstancesSplit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ips   func(i int) netip.Addr
		n     int
		mtu   int // of eth0; 0: not given
		limit int
		names []string
	}{{
		name:  "ipv4 that fits: one instance",
		ips:   splitV4,
		n:     255,
		limit: 255,
		names: []string{""},
	}, {
		name:  "ipv4: 255 per instance, parts three quarters full",
		ips:   splitV4,
		n:     600,
		limit: 255,
		names: []string{"", "-2", "-3", "-4"},
	}, {
		name:  "ipv6: 89 besides the link-local address",
		ips:   splitV6,
		n:     200,
		limit: 89,
		names: []string{"-v6", "-v6-2", "-v6-3"},
	}, {
		name:  "ipv4 at MTU 1000: 243",
		ips:   splitV4,
		n:     300,
		mtu:   1000,
		limit: 243,
		names: []string{"", "-2"},
	}, {
		name:  "ipv6 at MTU 1450 (VXLAN): 86",
		ips:   splitV6,
		n:     200,
		mtu:   1450,
		limit: 86,
		names: []string{"-v6", "-v6-2", "-v6-3", "-v6-4"},
	}, {
		name:  "ipv6 at jumbo MTU 9000: as at 1500",
		ips:   splitV6,
		n:     200,
		mtu:   9000,
		limit: 89,
		names: []string{"-v6", "-v6-2", "-v6-3"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var claims []Claim
			// Backwards, to show the split sorts the addresses.
			for i := tc.n - 1; i >= 0; i-- {
				claims = append(claims, Claim{IP: tc.ips(i), Interface: "eth0", EligibleNodes: []string{"a"}})
			}
			var mtus map[string]int
			if tc.mtu != 0 {
				mtus = map[string]int{"eth0": tc.mtu, "eth1": 576}
			}
			got, err := Instances("a", claims, nil, mtus)
			if err != nil {
				t.Fatal(err)
			}
			mtu := MTU
			if tc.mtu != 0 {
				mtu = min(tc.mtu, MTU)
			}
			var names []string
			held := map[netip.Addr]int{}
			for _, in := range got {
				names = append(names, strings.TrimPrefix(in.Name, nameHash("a")+"-eth0"))
				if len(in.Addresses) > tc.limit {
					t.Errorf("%s holds %d addresses, more than %d", in.Name, len(in.Addresses), tc.limit)
				}
				if !slices.IsSortedFunc(in.Addresses, netip.Addr.Compare) {
					t.Errorf("%s: addresses not sorted", in.Name)
				}
				for _, ip := range in.Addresses {
					held[ip]++
				}
				b, err := Advert{VRID: in.VRID, Addresses: in.AdvertAddresses()}.Marshal(primaryOf(in), groupOf(in))
				if err != nil {
					t.Fatal(err)
				}
				if ipHeader := 20 + 20*btoi(in.IPv6); len(b)+ipHeader > mtu {
					t.Errorf("%s: advert of %d bytes exceeds the MTU %d", in.Name, len(b)+ipHeader, mtu)
				}
			}
			for i := range tc.n {
				if held[tc.ips(i)] != 1 {
					t.Errorf("%s is in %d instances, want 1", tc.ips(i), held[tc.ips(i)])
				}
			}
			if diff := cmp.Diff(tc.names, names); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
		})
	}
}

func splitV4(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}) }

func splitV6(i int) netip.Addr {
	return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
}

// TestInstancesSplitStable: when addresses of a split group come and go,
// the others stay in their instances, but for about 1/parts of them when
// the number of parts changes.
func TestInstancesSplitStable(t *testing.T) {
	instanceOf := func(ips []netip.Addr) map[netip.Addr]string {
		var claims []Claim
		for _, ip := range ips {
			claims = append(claims, Claim{IP: ip, Interface: "eth0", EligibleNodes: []string{"a", "b", "c"}})
		}
		got, err := Instances("a", claims, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[netip.Addr]string{}
		for _, in := range got {
			for _, ip := range in.Addresses {
				out[ip] = in.Name
			}
		}
		return out
	}
	moved := func(before, after map[netip.Addr]string) int {
		n := 0
		for ip, name := range after {
			if before[ip] != name {
				n++
			}
		}
		return n
	}
	var all []netip.Addr
	for i := range 5000 {
		all = append(all, splitV4(i))
	}
	before := instanceOf(all)
	for _, tc := range []struct {
		name    string
		ips     []netip.Addr
		atMost  int
		ofWhich int
		parts   string
	}{
		// 27 parts of 5,000; 21 of 4,000: the addresses of 6 parts move.
		{"the 1,000 lowest go", all[1000:], 4000 / 3, 4000, "27 → 21"},
		{"every fifth goes", slices.Collect(func(yield func(netip.Addr) bool) {
			for i, ip := range all {
				if i%5 != 0 && !yield(ip) {
					return
				}
			}
		}), 4000 / 3, 4000, "27 → 21"},
		// 5,000 to 4,999: 27 parts either way.
		{"one goes", all[1:], 10, 4999, "27"},
		{"one more comes", append(slices.Clone(all), splitV4(5000)), 10, 5001, "27"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			after := instanceOf(tc.ips)
			if len(after) != tc.ofWhich {
				t.Fatalf("%d addresses in instances, want %d", len(after), tc.ofWhich)
			}
			if m := moved(before, after); m > tc.atMost {
				t.Errorf("%d of %d addresses moved to another instance (parts %s); want at most %d", m, tc.ofWhich, tc.parts, tc.atMost)
			} else {
				t.Logf("%d of %d addresses moved (parts %s)", m, tc.ofWhich, tc.parts)
			}
		})
	}
}

func TestMaxAddressesAt(t *testing.T) {
	for _, tc := range []struct {
		mtu      int
		v6       bool
		want     int
		fullSize int // IP header and advert with want addresses (and the link-local one)
	}{
		{0, false, 255, 20 + 8 + 255*4},
		{1500, false, 255, 20 + 8 + 255*4},
		{9000, false, 255, 20 + 8 + 255*4},
		{1048, false, 255, 20 + 8 + 255*4},
		{1047, false, 254, 20 + 8 + 254*4},
		{576, false, 137, 20 + 8 + 137*4},
		{32, false, 1, 20 + 8 + 4},
		{0, true, 89, 40 + 8 + 90*16},
		{1500, true, 89, 40 + 8 + 90*16},
		{9000, true, 89, 40 + 8 + 90*16},
		{1450, true, 86, 40 + 8 + 87*16},
		{1280, true, 76, 40 + 8 + 77*16},
		{1000, true, 76, 40 + 8 + 77*16},
	} {
		t.Run(fmt.Sprintf("mtu %d ipv6 %v", tc.mtu, tc.v6), func(t *testing.T) {
			if got := MaxAddressesAt(tc.mtu, tc.v6); got != tc.want {
				t.Errorf("MaxAddressesAt(%d, %v) = %d, want %d", tc.mtu, tc.v6, got, tc.want)
			}
			limit := tc.mtu
			if limit <= 0 || limit > MTU {
				limit = MTU
			}
			if tc.v6 {
				limit = max(limit, MinMTUIPv6)
			}
			if tc.fullSize > limit && tc.want > 1 {
				t.Errorf("%d addresses make %d bytes, more than %d", tc.want, tc.fullSize, limit)
			}
		})
	}
	if MaxAddressesAt(MTU, false) != MaxAddressesIPv4 || MaxAddressesAt(MTU, true) != MaxAddressesIPv6 {
		t.Errorf("MaxAddressesAt(MTU) = %d, %d; the constants say %d, %d",
			MaxAddressesAt(MTU, false), MaxAddressesAt(MTU, true), MaxAddressesIPv4, MaxAddressesIPv6)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func primaryOf(in Instance) netip.Addr {
	if in.IPv6 {
		return netip.MustParseAddr("fe80::1")
	}
	return netip.MustParseAddr("192.0.2.200")
}

func groupOf(in Instance) netip.Addr {
	if in.IPv6 {
		return GroupIPv6
	}
	return GroupIPv4
}

// manyNodeSets returns n claims on eth0, each eligible on its own set of
// nodes, so each makes its own instance.
func manyNodeSets(n int) []Claim {
	var claims []Claim
	for i := range n {
		claims = append(claims, Claim{
			IP:            netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}),
			Interface:     "eth0",
			EligibleNodes: []string{"a", "b", "c", fmt.Sprintf("x%03d", i)},
		})
	}
	return claims
}

func TestInstancesVRIDs(t *testing.T) {
	t.Run("255 instances on an interface get distinct VRIDs", func(t *testing.T) {
		got, err := Instances("a", manyNodeSets(255), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[uint8]string{}
		for _, in := range got {
			if in.VRID == 0 {
				t.Errorf("%s has VRID 0", in.Name)
			}
			if other, ok := seen[in.VRID]; ok {
				t.Errorf("%s and %s share VRID %d", in.Name, other, in.VRID)
			}
			seen[in.VRID] = in.Name
		}
		if len(seen) != 255 {
			t.Errorf("%d VRIDs, want 255", len(seen))
		}
	})
	t.Run("256 is an error naming the interface", func(t *testing.T) {
		_, err := Instances("a", manyNodeSets(256), nil, nil)
		if !errors.Is(err, ErrTooManyInstances) || !strings.Contains(err.Error(), `256 ipv4 vrrp instances on interface "eth0"`) {
			t.Errorf("Instances error = %v, want ErrTooManyInstances naming eth0 and 256", err)
		}
	})
	t.Run("reserved VRIDs are never taken", func(t *testing.T) {
		reserved := []uint8{255, 51, 51}
		got, err := Instances("a", manyNodeSets(253), reserved, nil)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[uint8]bool{}
		for _, in := range got {
			if in.VRID == 255 || in.VRID == 51 || in.VRID == 0 || seen[in.VRID] {
				t.Errorf("%s has VRID %d (reserved, zero or taken twice)", in.Name, in.VRID)
			}
			seen[in.VRID] = true
		}
		if _, err := Instances("a", manyNodeSets(254), reserved, nil); !errors.Is(err, ErrTooManyInstances) || !strings.Contains(err.Error(), "only 253 VRIDs are free") {
			t.Errorf("254 instances with 2 reserved VRIDs: error = %v, want ErrTooManyInstances saying 253 are free", err)
		}
	})
	t.Run("the same VRIDs on every node", func(t *testing.T) {
		claims := manyNodeSets(200)
		vrids := map[string]uint8{}
		for _, node := range []string{"a", "b", "c", "x007"} {
			got, err := Instances(node, claims, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range got {
				if v, ok := vrids[in.Name]; ok && v != in.VRID {
					t.Errorf("%s: VRID %d on node %s, %d elsewhere", in.Name, in.VRID, node, v)
				}
				vrids[in.Name] = in.VRID
			}
		}
	})
}

// TestInstancesSpread shows that the masters (priority 250) of many
// instances spread over three nodes, and that every instance has exactly
// one node at each priority.
func TestInstancesSpread(t *testing.T) {
	nodes := []string{"node-1", "node-2", "node-3"}
	var claims []Claim
	for i := range 300 {
		claims = append(claims, Claim{
			IP:            netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}),
			Interface:     fmt.Sprintf("eth%d", i),
			EligibleNodes: nodes,
		})
	}
	masters := map[string]int{}
	prios := map[string][]uint8{}
	for _, node := range nodes {
		got, err := Instances(node, claims, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range got {
			if in.Priority == 250 {
				masters[node]++
			}
			prios[in.Name] = append(prios[in.Name], in.Priority)
		}
	}
	for name, p := range prios {
		if diff := cmp.Diff([]uint8{150, 200, 250}, sortedPrios(p)); diff != "" {
			t.Errorf("%s priorities over the nodes (-want +got):\n%s", name, diff)
		}
	}
	t.Logf("masters per node: %v", masters)
	for _, node := range nodes {
		if masters[node] < 80 || masters[node] > 120 {
			t.Errorf("%s is master of %d of 300 instances, want about 100", node, masters[node])
		}
	}
}

func sortedPrios(p []uint8) []uint8 {
	out := append([]uint8(nil), p...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestPriorityByRank(t *testing.T) {
	var nodes []string
	for i := range 8 {
		nodes = append(nodes, fmt.Sprintf("n%d", i))
	}
	claims := []Claim{{IP: netip.MustParseAddr("192.0.2.1"), Interface: "eth0", EligibleNodes: nodes}}
	var got []uint8
	for _, node := range nodes {
		ins, err := Instances(node, claims, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ins[0].Priority)
	}
	if diff := cmp.Diff([]uint8{47, 48, 49, 50, 100, 150, 200, 250}, sortedPrios(got)); diff != "" {
		t.Errorf("priorities (-want +got):\n%s", diff)
	}
}

func TestRankPriority(t *testing.T) {
	for _, tc := range []struct {
		rank int
		want uint8
	}{
		{0, 250}, {1, 200}, {2, 150}, {3, 100}, {4, 50},
		{5, 49}, {6, 48}, {20, 34}, {52, 2}, {53, 1},
		{54, 1}, {255, 1}, {10000, 1},
	} {
		t.Run(fmt.Sprintf("rank %d", tc.rank), func(t *testing.T) {
			if got := rankPriority(tc.rank); got != tc.want {
				t.Errorf("rankPriority(%d) = %d, want %d", tc.rank, got, tc.want)
			}
		})
	}
	t.Run("the first distinctRanks ranks differ and fall, never above 250 nor below 1", func(t *testing.T) {
		prev := 251
		for rank := range distinctRanks {
			p := int(rankPriority(rank))
			if p >= prev || p < 1 {
				t.Errorf("rank %d has priority %d after %d", rank, p, prev)
			}
			prev = p
		}
	})
}

func TestLinkLocal(t *testing.T) {
	for vrid, want := range map[uint8]string{1: "fe80::1:1", 52: "fe80::1:34", 255: "fe80::1:ff"} {
		if got := LinkLocal(vrid); got != netip.MustParseAddr(want) {
			t.Errorf("LinkLocal(%d) = %s, want %s", vrid, got, want)
		}
	}
}
