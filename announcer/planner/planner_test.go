package planner

import (
	"net/netip"
	"testing"

	"github.com/floatlb/floatlb/config"
)

func TestComputeMixedModes(t *testing.T) {
	cfg := parseConfig(t, testConfig)
	in := Input{
		Config: cfg,
		Node:   "node-a",
		Nodes:  cluster(),
		Services: []Service{
			svc("default/bgp", "192.0.2.1", "2001:db8:1::1"),
			svc("default/l2", "203.0.113.1"),
			local(svc("default/vrrp", "203.0.113.17"), "node-a", "node-b"),
			svc("default/rack1", "198.51.100.40"),
			svc("default/stray", "10.0.0.1"),
		},
	}
	want := Plan{
		BGP: []Route{
			hostRoute("192.0.2.1", "public", []string{"tor-a", "tor-b"}, "default/bgp"),
			hostRoute("198.51.100.40", "rack1", []string{"tor-b"}, "default/rack1"),
			hostRoute("2001:db8:1::1", "public", []string{"tor-a", "tor-b"}, "default/bgp"),
		},
		L2:      []Claim{{IP: addr("203.0.113.1"), Pool: "l2", Interface: "eth1", EligibleNodes: []string{"node-a", "node-b", "node-c"}, Services: []string{"default/l2"}}},
		VRRP:    []Claim{{IP: addr("203.0.113.17"), Pool: "vrrp", EligibleNodes: []string{"node-a", "node-b"}, Services: []string{"default/vrrp"}}},
		Refused: []Refusal{{Service: "default/stray", IP: addr("10.0.0.1"), Reason: OutsidePools}},
	}
	checkCompute(t, in, want)
}

func TestComputeRefused(t *testing.T) {
	cfg := parseConfig(t, testConfig)
	handMade := &config.Config{Pools: []config.Pool{{
		Name: "odd", Mode: "anycast",
		Ranges: []config.Range{{First: addr("192.0.2.0"), Last: addr("192.0.2.15")}},
	}}}

	tests := []struct {
		name     string
		cfg      *config.Config
		nodes    []Node
		services []Service
		want     Plan
	}{{
		name:     "an address inside no pool is refused, even where no node is eligible",
		cfg:      cfg,
		services: []Service{svc("default/web", "198.51.100.200")},
		want:     Plan{Refused: []Refusal{{Service: "default/web", IP: addr("198.51.100.200"), Reason: OutsidePools}}},
	}, {
		name:     "the last address after a pool's range is outside it",
		cfg:      cfg,
		nodes:    cluster(),
		services: []Service{svc("default/web", "192.0.2.16", "192.0.2.15")},
		want: Plan{
			BGP:     []Route{hostRoute("192.0.2.15", "public", []string{"tor-a", "tor-b"}, "default/web")},
			Refused: []Refusal{{Service: "default/web", IP: addr("192.0.2.16"), Reason: OutsidePools}},
		},
	}, {
		name:     "an IPv4-mapped IPv6 address is not its IPv4 address",
		cfg:      cfg,
		nodes:    cluster(),
		services: []Service{svc("default/web", "::ffff:192.0.2.1")},
		want:     Plan{Refused: []Refusal{{Service: "default/web", IP: addr("::ffff:192.0.2.1"), Reason: OutsidePools}}},
	}, {
		name:     "an address with a zone is outside the pools",
		cfg:      cfg,
		nodes:    cluster(),
		services: []Service{svc("default/web", "2001:db8:1::1%eth0")},
		want:     Plan{Refused: []Refusal{{Service: "default/web", IP: addr("2001:db8:1::1%eth0"), Reason: OutsidePools}}},
	}, {
		name:     "the zero address is outside the pools",
		cfg:      cfg,
		nodes:    cluster(),
		services: []Service{{Key: "default/web", IPs: []netip.Addr{{}}}},
		want:     Plan{Refused: []Refusal{{Service: "default/web", Reason: OutsidePools}}},
	}, {
		name:     "without a config every address is refused",
		nodes:    cluster(),
		services: []Service{svc("default/web", "192.0.2.1")},
		want:     Plan{Refused: []Refusal{{Service: "default/web", IP: addr("192.0.2.1"), Reason: OutsidePools}}},
	}, {
		name:  "refusals are sorted by IP then Service, without duplicates",
		cfg:   cfg,
		nodes: cluster(),
		services: []Service{
			svc("default/b", "10.0.0.2", "10.0.0.1"),
			svc("default/a", "10.0.0.2", "10.0.0.2"),
		},
		want: Plan{Refused: []Refusal{
			{Service: "default/b", IP: addr("10.0.0.1"), Reason: OutsidePools},
			{Service: "default/a", IP: addr("10.0.0.2"), Reason: OutsidePools},
			{Service: "default/b", IP: addr("10.0.0.2"), Reason: OutsidePools},
		}},
	}, {
		name:     "a hand-made config with an unknown mode",
		cfg:      handMade,
		nodes:    cluster(),
		services: []Service{svc("default/web", "192.0.2.1")},
		want:     Plan{Refused: []Refusal{{Service: "default/web", IP: addr("192.0.2.1"), Reason: UnknownMode}}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkCompute(t, Input{Config: tc.cfg, Node: "node-a", Nodes: tc.nodes, Services: tc.services}, tc.want)
		})
	}
}

func TestComputeHandMadeConfigDefaults(t *testing.T) {
	// A Config that config.Parse did not complete: an empty mode is bgp.
	cfg := &config.Config{Pools: []config.Pool{{
		Name:   "plain",
		Ranges: []config.Range{{First: addr("192.0.2.0"), Last: addr("192.0.2.15")}},
	}}}
	in := Input{Config: cfg, Node: "node-a", Nodes: cluster(), Services: []Service{svc("default/web", "192.0.2.1")}}
	want := Plan{BGP: []Route{{
		Prefix: routePrefix(addr("192.0.2.1"), 0), Pool: "plain", IPs: addrs("192.0.2.1"),
		NoPeer: NoPeerConfigured, Services: []string{"default/web"},
	}}}
	checkCompute(t, in, want)
}
