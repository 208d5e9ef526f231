package planner

import "testing"

func TestComputeClaims(t *testing.T) {
	cfg := parseConfig(t, testConfig)
	all := []string{"node-a", "node-b", "node-c"}
	l2 := func(ip string, nodes []string, services ...string) Claim {
		return Claim{IP: addr(ip), Pool: "l2", Interface: "eth1", EligibleNodes: nodes, Services: services}
	}
	vrrp := func(ip string, nodes []string, services ...string) Claim {
		return Claim{IP: addr(ip), Pool: "vrrp", EligibleNodes: nodes, Services: services}
	}

	tests := []struct {
		name     string
		node     string // node-a if empty
		nodes    []Node
		services []Service
		want     Plan
	}{{
		name:     "l2: the pool's interface and every eligible node",
		nodes:    cluster(),
		services: []Service{svc("default/web", "203.0.113.1")},
		want:     Plan{L2: []Claim{l2("203.0.113.1", all, "default/web")}},
	}, {
		name:     "l2: ineligible nodes are left out",
		nodes:    []Node{node("node-a"), notReady(node("node-b")), excluded(node("node-c")), node("node-d")},
		services: []Service{svc("default/web", "203.0.113.1")},
		want:     Plan{L2: []Claim{l2("203.0.113.1", []string{"node-a", "node-d"}, "default/web")}},
	}, {
		name:     "l2: no claim when this node is not eligible",
		nodes:    []Node{notReady(node("node-a")), node("node-b")},
		services: []Service{svc("default/web", "203.0.113.1")},
	}, {
		name:     "l2: Local narrows the nodes to those with a ready endpoint",
		nodes:    cluster(),
		services: []Service{local(svc("default/web", "203.0.113.1"), "node-c", "node-a")},
		want:     Plan{L2: []Claim{l2("203.0.113.1", []string{"node-a", "node-c"}, "default/web")}},
	}, {
		name:     "l2: Local without an endpoint on this node",
		nodes:    cluster(),
		services: []Service{local(svc("default/web", "203.0.113.1"), "node-b")},
	}, {
		name:  "l2: shared IP, the union of the Services' nodes",
		nodes: cluster(),
		services: []Service{
			local(svc("default/web-tcp", "203.0.113.1"), "node-a"),
			local(svc("default/web-udp", "203.0.113.1"), "node-b"),
		},
		want: Plan{L2: []Claim{l2("203.0.113.1", []string{"node-a", "node-b"}, "default/web-tcp", "default/web-udp")}},
	}, {
		name:  "l2: shared IP with a Cluster Service, every node",
		nodes: cluster(),
		services: []Service{
			local(svc("default/web-tcp", "203.0.113.1"), "node-a"),
			svc("default/web-udp", "203.0.113.1"),
		},
		want: Plan{L2: []Claim{l2("203.0.113.1", all, "default/web-tcp", "default/web-udp")}},
	}, {
		name:     "l2: dual-stack, one claim per family",
		nodes:    cluster(),
		services: []Service{svc("default/web", "2001:db8:3::1", "203.0.113.1")},
		want: Plan{L2: []Claim{
			l2("203.0.113.1", all, "default/web"),
			l2("2001:db8:3::1", all, "default/web"),
		}},
	}, {
		name:     "vrrp: empty interface, nodes of the pool's nodeSelector",
		nodes:    cluster(),
		services: []Service{svc("default/web", "203.0.113.17")},
		want:     Plan{VRRP: []Claim{vrrp("203.0.113.17", []string{"node-a", "node-b"}, "default/web")}},
	}, {
		name:     "vrrp: a node outside the nodeSelector only learns of the claim",
		node:     "node-c",
		nodes:    cluster(),
		services: []Service{svc("default/web", "203.0.113.17")},
		want:     Plan{VRRPElsewhere: []Claim{vrrp("203.0.113.17", []string{"node-a", "node-b"}, "default/web")}},
	}, {
		name:     "vrrp: Local without endpoints anywhere is no claim at all",
		nodes:    cluster(),
		services: []Service{local(svc("default/web", "203.0.113.17"))},
	}, {
		name:     "vrrp: Local",
		nodes:    cluster(),
		services: []Service{local(svc("default/web", "203.0.113.17"), "node-a", "node-c")},
		want:     Plan{VRRP: []Claim{vrrp("203.0.113.17", []string{"node-a"}, "default/web")}},
	}, {
		name:  "claims sorted by IP",
		nodes: cluster(),
		services: []Service{
			svc("default/c", "203.0.113.20"),
			svc("default/b", "2001:db8:3::1"),
			svc("default/a", "203.0.113.5"),
			svc("default/d", "203.0.113.17"),
		},
		want: Plan{
			L2:   []Claim{l2("203.0.113.5", all, "default/a"), l2("2001:db8:3::1", all, "default/b")},
			VRRP: []Claim{vrrp("203.0.113.17", []string{"node-a", "node-b"}, "default/d"), vrrp("203.0.113.20", []string{"node-a", "node-b"}, "default/c")},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Config: cfg, Node: tc.node, Nodes: tc.nodes, Services: tc.services}
			if in.Node == "" {
				in.Node = "node-a"
			}
			checkCompute(t, in, tc.want)
		})
	}
}
