package planner

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/floatlb/floatlb/config"
)

// cmpOpts lets cmp compare netip values, whose fields are unexported.
var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

// testConfig is the config of most tests:
//   - public: bgp host routes to every peer, with communities and localPref;
//   - agg4, agg6: bgp, aggregated to /30 and /124;
//   - rack1: bgp, only to tor-b, only from nodes of rack r1;
//   - l2: l2 on eth1, IPv4 and IPv6;
//   - vrrp: vrrp on the interface of the InternalIP, nodes of zone a;
//   - zone-a: bgp, only to tor-b, from nodes of zone a, so that a node of
//     zone a in rack r2 has no peer for it.
//
// Peers: tor-a takes every node, tor-b the nodes of rack r1, tor-c those
// of rack r2.
const testConfig = `
pools:
- name: public
  addresses: [192.0.2.0/28, 2001:db8:1::/120]
  bgp: {communities: ["64512:100", no-export], largeCommunities: ["64512:1:2"], localPref: 150}
- name: agg4
  addresses: [198.51.100.0/28]
  bgp: {aggregationLength: 30}
- name: agg6
  addresses: [2001:db8:2::/120]
  bgp: {aggregationLength: 124}
- name: rack1
  addresses: [198.51.100.32/28]
  nodeSelector: {rack: r1}
  bgp: {peers: [tor-b]}
- name: l2
  addresses: [203.0.113.0/28, 2001:db8:3::/120]
  mode: l2
  interface: eth1
- name: vrrp
  addresses: [203.0.113.16/28]
  mode: vrrp
  nodeSelector: {zone: a}
- name: zone-a
  addresses: [198.51.100.48/28]
  nodeSelector: {zone: a}
  bgp: {peers: [tor-b]}
bgp:
  asn: 64512
  peers:
  - {name: tor-a, address: 192.0.2.254, asn: 64500}
  - {name: tor-c, address: 192.0.2.252, asn: 64500, nodeSelector: {rack: r2}}
  - {name: tor-b, address: 192.0.2.253, asn: 64500, nodeSelector: {rack: r1}}
`

// parseConfig parses a config document of which body is all but the header.
func parseConfig(t testing.TB, body string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte("apiVersion: floatlb.io/v1alpha1\nkind: Config\n" + body))
	if err != nil {
		t.Fatalf("config.Parse: %v", err)
	}
	return c
}

// node returns a Ready node with labels given as "key=value".
func node(name string, labels ...string) Node {
	n := Node{Name: name, Ready: true}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		n.Labels[k] = v
	}
	return n
}

func notReady(n Node) Node { n.Ready = false; return n }
func excluded(n Node) Node { n.ExcludedFromLB = true; return n }

// cluster is three Ready nodes: node-a (rack r1, zone a), node-b (rack r2,
// zone a) and node-c (rack r1, zone b).
func cluster() []Node {
	return []Node{
		node("node-a", "rack=r1", "zone=a"),
		node("node-b", "rack=r2", "zone=a"),
		node("node-c", "rack=r1", "zone=b"),
	}
}

// svc returns a Service with policy Cluster holding ips.
func svc(key string, ips ...string) Service {
	s := Service{Key: key}
	for _, ip := range ips {
		s.IPs = append(s.IPs, netip.MustParseAddr(ip))
	}
	return s
}

// local makes s Local, with ready endpoints on nodes.
func local(s Service, nodes ...string) Service {
	s.Local, s.ReadyEndpointNodes = true, nodes
	return s
}

func annotated(s Service, pool string) Service { s.Pool = pool; return s }

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, addr(s))
	}
	return out
}

// hostRoute returns the route of ip in pool with the pool's attributes of
// testConfig and the peers given.
func hostRoute(ip, pool string, peers []string, services ...string) Route {
	a := addr(ip)
	r := Route{Prefix: netip.PrefixFrom(a, a.BitLen()), Pool: pool, IPs: []netip.Addr{a}, Peers: peers, Services: services}
	if pool == "public" {
		r.Communities, r.LargeCommunities, r.LocalPref = []string{"64512:100", "no-export"}, []string{"64512:1:2"}, 150
	}
	return r
}

// reversed returns in with its Nodes and Services in reverse order.
func reversed(in Input) Input {
	in.Nodes = slices.Clone(in.Nodes)
	slices.Reverse(in.Nodes)
	in.Services = slices.Clone(in.Services)
	slices.Reverse(in.Services)
	return in
}

// checkCompute compares Compute(in) with want, and checks that the order of
// the input does not matter.
func checkCompute(t *testing.T, in Input, want Plan) {
	t.Helper()
	got := Compute(in)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("Compute() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(got, Compute(reversed(in)), cmpOpts); diff != "" {
		t.Errorf("Compute() depends on the order of the input (-forward +reversed):\n%s", diff)
	}
}
