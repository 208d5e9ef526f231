package vrrp

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzInstances builds claims from the fuzzer's bytes (three bytes a
// claim: address, interface and family, node set) and checks what
// Instances promises: every node gets its claims exactly once, all nodes
// agree on names, VRIDs and addresses, VRIDs differ per interface and
// family, priorities of an instance differ per node, and the order of the
// claims does not matter.
func FuzzInstances(f *testing.F) {
	f.Add([]byte{1, 0, 7, 2, 0, 7, 3, 1, 3, 4, 0x81, 5})
	f.Add([]byte{9, 2, 1, 9, 3, 2, 200, 0x82, 6})
	nodes := []string{"n1", "n2", "n3"}
	f.Fuzz(func(t *testing.T, data []byte) {
		var claims []Claim
		seen := map[netip.Addr]bool{}
		for i := 0; i+3 <= len(data); i += 3 {
			ip := netip.AddrFrom4([4]byte{198, 18, data[i+1] >> 7, data[i]})
			if data[i+1]&0x80 != 0 {
				ip = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: data[i]})
			}
			if seen[ip] {
				continue
			}
			seen[ip] = true
			var eligible []string
			for j, n := range nodes {
				if data[i+2]&(1<<j) != 0 {
					eligible = append(eligible, n)
				}
			}
			if len(eligible) == 0 {
				eligible = nodes[:1]
			}
			claims = append(claims, Claim{IP: ip, Interface: fmt.Sprintf("eth%d", data[i+1]&0x7f%3), EligibleNodes: eligible, Services: []string{"ns/s"}})
		}
		byName := map[string]Instance{}
		prios := map[string][]uint8{}
		for _, node := range nodes {
			got, err := Instances(node, claims, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			reversed := slices.Clone(claims)
			slices.Reverse(reversed)
			again, err := Instances(node, reversed, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, again, equateAddr); diff != "" {
				t.Fatalf("the order of claims changed the result (-forward +reversed):\n%s", diff)
			}
			held := map[netip.Addr]int{}
			for _, in := range got {
				if in.Priority == 0 || in.Priority > 250 || in.VRID == 0 {
					t.Errorf("%s on %s: priority %d, VRID %d", in.Name, node, in.Priority, in.VRID)
				}
				for _, ip := range in.Addresses {
					held[ip]++
				}
				prios[in.Name] = append(prios[in.Name], in.Priority)
				in.Priority = 0
				if other, ok := byName[in.Name]; ok {
					if diff := cmp.Diff(other, in, equateAddr); diff != "" {
						t.Errorf("%s differs between nodes (-other +%s):\n%s", in.Name, node, diff)
					}
				}
				byName[in.Name] = in
			}
			for _, c := range claims {
				want := 0
				if slices.Contains(c.EligibleNodes, node) {
					want = 1
				}
				if held[c.IP] != want {
					t.Errorf("node %s holds %s in %d instances, want %d", node, c.IP, held[c.IP], want)
				}
			}
		}
		vrids := map[string]string{}
		for name, in := range byName {
			k := fmt.Sprintf("%s/%v/%d", in.Interface, in.IPv6, in.VRID)
			if other, ok := vrids[k]; ok {
				t.Errorf("%s and %s share %s", name, other, k)
			}
			vrids[k] = name
			p := prios[name]
			slices.Sort(p)
			if len(slices.Compact(p)) != len(in.Nodes) {
				t.Errorf("%s: priorities %v over %d nodes", name, prios[name], len(in.Nodes))
			}
		}
	})
}
