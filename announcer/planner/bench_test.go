package planner

import (
	"fmt"
	"net/netip"
	"testing"
)

// BenchmarkCompute5000 plans 5,000 Services on 3 nodes: 4,000 in a bgp
// pool (a fifth of them Local, some sharing an address), 500 l2 and 500
// vrrp, and a few addresses outside the pools.
func BenchmarkCompute5000(b *testing.B) {
	cfg := parseConfig(b, `
pools:
- name: bgp
  addresses: [198.18.0.0/16, 2001:db8:1::/112]
  bgp: {communities: ["64512:100"], localPref: 100}
- name: l2
  addresses: [203.0.113.0/24]
  mode: l2
- name: vrrp
  addresses: [192.0.2.0/24]
  mode: vrrp
bgp:
  asn: 64512
  peers:
  - {name: tor-a, address: 192.0.2.254, asn: 64500}
  - {name: tor-b, address: 192.0.2.253, asn: 64500, nodeSelector: {rack: r2}}
`)
	in := Input{Config: cfg, Node: "node-1", Nodes: []Node{
		node("node-1", "rack=r1"), node("node-2", "rack=r2"), node("node-3", "rack=r2"),
	}}
	for i := range 5000 {
		s := Service{Key: fmt.Sprintf("ns-%d/svc-%d", i%50, i)}
		switch {
		case i < 4000:
			s.IPs = []netip.Addr{netip.AddrFrom4([4]byte{198, 18, byte(i / 2 >> 8), byte(i / 2)})} // pairs share an address
			if i%10 == 0 {
				s.IPs = append(s.IPs, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 14: byte(i >> 8), 15: byte(i)}))
			}
		case i < 4500:
			s.IPs = []netip.Addr{netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})}
		default:
			s.IPs = []netip.Addr{netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})}
		}
		if i%5 == 0 {
			s.Local, s.ReadyEndpointNodes = true, []string{fmt.Sprintf("node-%d", i%3+1)}
		}
		if i%997 == 0 {
			s.IPs = append(s.IPs, netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
		}
		in.Services = append(in.Services, s)
	}
	plan := Compute(in)
	b.ReportMetric(float64(len(plan.BGP)), "routes")
	b.ReportAllocs()
	for b.Loop() {
		Compute(in)
	}
}
