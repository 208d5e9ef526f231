package planner

import (
	"net/netip"
	"testing"

	"github.com/floatlb/floatlb/config"
)

func TestComputeBGP(t *testing.T) {
	cfg := parseConfig(t, testConfig)
	noPeers := parseConfig(t, `
pools:
- name: public
  addresses: [192.0.2.0/28]
`)
	// tor-a and tor-b for node-a (rack r1); tor-a and tor-c for node-b.
	peersA, peersB := []string{"tor-a", "tor-b"}, []string{"tor-a", "tor-c"}
	agg := func(prefix, pool string, ips []netip.Addr, services ...string) Route {
		return Route{Prefix: netip.MustParsePrefix(prefix), Pool: pool, IPs: ips, Peers: peersA, Services: services}
	}

	tests := []struct {
		name     string
		cfg      *config.Config // testConfig if nil
		node     string         // node-a if empty
		nodes    []Node
		services []Service
		want     Plan
	}{{
		name:     "an eligible node advertises the host route with the pool's attributes",
		nodes:    cluster(),
		services: []Service{svc("default/web", "192.0.2.1")},
		want:     Plan{BGP: []Route{hostRoute("192.0.2.1", "public", peersA, "default/web")}},
	}, {
		name:     "peers follow this node's labels",
		node:     "node-b",
		nodes:    cluster(),
		services: []Service{svc("default/web", "192.0.2.1")},
		want:     Plan{BGP: []Route{hostRoute("192.0.2.1", "public", peersB, "default/web")}},
	}, {
		name:     "a node that is not ready advertises nothing",
		nodes:    []Node{notReady(node("node-a", "rack=r1")), node("node-b")},
		services: []Service{svc("default/web", "192.0.2.1")},
	}, {
		name:     "a node with the exclude label advertises nothing",
		nodes:    []Node{excluded(node("node-a", "rack=r1")), node("node-b")},
		services: []Service{svc("default/web", "192.0.2.1")},
	}, {
		name:     "a node missing from Nodes advertises nothing",
		node:     "node-x",
		nodes:    cluster(),
		services: []Service{svc("default/web", "192.0.2.1")},
	}, {
		name:     "nodeSelector of the pool matches",
		nodes:    cluster(),
		services: []Service{svc("default/web", "198.51.100.33")},
		want:     Plan{BGP: []Route{hostRoute("198.51.100.33", "rack1", []string{"tor-b"}, "default/web")}},
	}, {
		name:     "nodeSelector of the pool does not match",
		node:     "node-b",
		nodes:    cluster(),
		services: []Service{svc("default/web", "198.51.100.33")},
	}, {
		name:     "Local with a ready endpoint on this node",
		nodes:    cluster(),
		services: []Service{local(svc("default/web", "192.0.2.1"), "node-c", "node-a")},
		want:     Plan{BGP: []Route{hostRoute("192.0.2.1", "public", peersA, "default/web")}},
	}, {
		name:     "Local without a ready endpoint on this node",
		nodes:    cluster(),
		services: []Service{local(svc("default/web", "192.0.2.1"), "node-b", "node-c")},
	}, {
		name:     "Cluster ignores endpoints",
		nodes:    cluster(),
		services: []Service{{Key: "default/web", IPs: addrs("192.0.2.1"), ReadyEndpointNodes: []string{"node-b"}}},
		want:     Plan{BGP: []Route{hostRoute("192.0.2.1", "public", peersA, "default/web")}},
	}, {
		name:     "the pool comes from the ranges, not from a stale annotation",
		nodes:    cluster(),
		services: []Service{annotated(svc("default/web", "192.0.2.1"), "rack1"), annotated(svc("default/db", "192.0.2.2"), "gone")},
		want: Plan{BGP: []Route{
			hostRoute("192.0.2.1", "public", peersA, "default/web"),
			hostRoute("192.0.2.2", "public", peersA, "default/db"),
		}},
	}, {
		name:     "pool peers: only the pool's peers that select this node",
		node:     "node-c",
		nodes:    cluster(),
		services: []Service{svc("default/web", "198.51.100.34")},
		want:     Plan{BGP: []Route{hostRoute("198.51.100.34", "rack1", []string{"tor-b"}, "default/web")}},
	}, {
		name: "peer nodeSelector excludes this node: planned without peers",
		cfg: parseConfig(t, `
pools:
- name: edge
  addresses: [192.0.2.0/28]
  bgp: {peers: [tor-c]}
bgp:
  asn: 64512
  peers:
  - {name: tor-a, address: 192.0.2.254, asn: 64500}
  - {name: tor-c, address: 192.0.2.252, asn: 64500, nodeSelector: {rack: r2}}
`),
		nodes:    cluster(),
		services: []Service{svc("default/web", "192.0.2.1")},
		want:     Plan{BGP: []Route{{Prefix: netip.MustParsePrefix("192.0.2.1/32"), Pool: "edge", IPs: addrs("192.0.2.1"), NoPeer: NoPeerForNode, Services: []string{"default/web"}}}},
	}, {
		name:     "no peer configured: planned without peers",
		cfg:      noPeers,
		nodes:    cluster(),
		services: []Service{svc("default/web", "192.0.2.1")},
		want:     Plan{BGP: []Route{{Prefix: netip.MustParsePrefix("192.0.2.1/32"), Pool: "public", IPs: addrs("192.0.2.1"), NoPeer: NoPeerConfigured, Services: []string{"default/web"}}}},
	}, {
		name:     "aggregation: two addresses in one /30 make one route",
		nodes:    cluster(),
		services: []Service{svc("default/web", "198.51.100.6"), svc("default/db", "198.51.100.5"), svc("default/dns", "198.51.100.9")},
		want: Plan{BGP: []Route{
			agg("198.51.100.4/30", "agg4", addrs("198.51.100.5", "198.51.100.6"), "default/db", "default/web"),
			agg("198.51.100.8/30", "agg4", addrs("198.51.100.9"), "default/dns"),
		}},
	}, {
		name:  "aggregation: the aggregate stays while one of its addresses is eligible",
		nodes: cluster(),
		services: []Service{
			local(svc("default/web", "198.51.100.5"), "node-b"),
			svc("default/db", "198.51.100.6"),
			local(svc("default/dns", "198.51.100.9"), "node-b"),
		},
		want: Plan{BGP: []Route{agg("198.51.100.4/30", "agg4", addrs("198.51.100.6"), "default/db")}},
	}, {
		name:     "IPv6 aggregation",
		nodes:    cluster(),
		services: []Service{svc("default/web", "2001:db8:2::1"), svc("default/db", "2001:db8:2::f"), svc("default/dns", "2001:db8:2::10")},
		want: Plan{BGP: []Route{
			agg("2001:db8:2::/124", "agg6", addrs("2001:db8:2::1", "2001:db8:2::f"), "default/db", "default/web"),
			agg("2001:db8:2::10/124", "agg6", addrs("2001:db8:2::10"), "default/dns"),
		}},
	}, {
		name:  "shared IP: announced when eligible for any of its Services, all listed",
		nodes: cluster(),
		services: []Service{
			local(svc("default/web-udp", "192.0.2.1"), "node-b"),
			svc("default/web-tcp", "192.0.2.1"),
		},
		want: Plan{BGP: []Route{hostRoute("192.0.2.1", "public", peersA, "default/web-tcp", "default/web-udp")}},
	}, {
		name:  "shared IP: not announced when eligible for none of its Services",
		nodes: cluster(),
		services: []Service{
			local(svc("default/web-udp", "192.0.2.1"), "node-b"),
			local(svc("default/web-tcp", "192.0.2.1"), "node-c"),
		},
	}, {
		name:     "dual-stack: each family on its own",
		nodes:    cluster(),
		services: []Service{svc("default/web", "2001:db8:1::5", "192.0.2.5")},
		want: Plan{BGP: []Route{
			hostRoute("192.0.2.5", "public", peersA, "default/web"),
			hostRoute("2001:db8:1::5", "public", peersA, "default/web"),
		}},
	}, {
		name:     "dual-stack: a family outside the pools is refused, the other announced",
		nodes:    cluster(),
		services: []Service{svc("default/web", "2001:db8:ffff::5", "192.0.2.5")},
		want: Plan{
			BGP:     []Route{hostRoute("192.0.2.5", "public", peersA, "default/web")},
			Refused: []Refusal{{Service: "default/web", IP: addr("2001:db8:ffff::5"), Reason: OutsidePools}},
		},
	}, {
		name:     "an address listed twice is planned once",
		nodes:    cluster(),
		services: []Service{svc("default/web", "192.0.2.5", "192.0.2.5")},
		want:     Plan{BGP: []Route{hostRoute("192.0.2.5", "public", peersA, "default/web")}},
	}, {
		name:  "routes sorted by prefix",
		nodes: cluster(),
		services: []Service{
			svc("default/c", "2001:db8:1::1"),
			svc("default/b", "198.51.100.1"),
			svc("default/a", "192.0.2.9"),
			svc("default/d", "192.0.2.3"),
		},
		want: Plan{BGP: []Route{
			hostRoute("192.0.2.3", "public", peersA, "default/d"),
			hostRoute("192.0.2.9", "public", peersA, "default/a"),
			agg("198.51.100.0/30", "agg4", addrs("198.51.100.1"), "default/b"),
			hostRoute("2001:db8:1::1", "public", peersA, "default/c"),
		}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Config: tc.cfg, Node: tc.node, Nodes: tc.nodes, Services: tc.services}
			if in.Config == nil {
				in.Config = cfg
			}
			if in.Node == "" {
				in.Node = "node-a"
			}
			checkCompute(t, in, tc.want)
		})
	}
}

func TestRouteAttributesAreCopies(t *testing.T) {
	cfg := parseConfig(t, testConfig)
	plan := Compute(Input{Config: cfg, Node: "node-a", Nodes: cluster(), Services: []Service{svc("default/web", "192.0.2.1")}})
	plan.BGP[0].Communities[0] = "changed"
	pool, _ := cfg.Pool("public")
	if got := pool.BGP.Communities[0]; got != "64512:100" {
		t.Errorf("changing a route's communities changed the config's to %q", got)
	}
}

func TestRoutePrefix(t *testing.T) {
	tests := []struct {
		ip     string
		length int
		want   string
	}{
		{"192.0.2.7", 0, "192.0.2.7/32"},
		{"192.0.2.7", 30, "192.0.2.4/30"},
		{"192.0.2.7", 24, "192.0.2.0/24"},
		{"192.0.2.7", 32, "192.0.2.7/32"},
		{"192.0.2.7", 64, "192.0.2.7/32"}, // longer than IPv4: refused by config.Parse, a host route here
		{"2001:db8::17", 124, "2001:db8::10/124"},
		{"2001:db8::17", 0, "2001:db8::17/128"},
	}
	for _, tc := range tests {
		if got := routePrefix(addr(tc.ip), tc.length); got != netip.MustParsePrefix(tc.want) {
			t.Errorf("routePrefix(%s, %d) = %s, want %s", tc.ip, tc.length, got, tc.want)
		}
	}
}
