package announcer

import (
	"context"
	"net/netip"
	"testing"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/floatlb/floatlb/announcer/planner"
	"github.com/floatlb/floatlb/config"
)

// loadConfig parses a floatlb config for a test.
func loadConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestPeersForSelector: the announcer opens a session to a peer exactly
// when the planner gives the node routes for it, with Kubernetes
// label-selector semantics: {edge: ""} wants the label present.
func TestPeersForSelector(t *testing.T) {
	cfg := loadConfig(t, `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: public
  addresses: [198.51.100.0/28]
bgp:
  asn: 64512
  peers:
  - {name: all, address: 192.0.2.254, asn: 64500}
  - {name: edge, address: 192.0.2.253, asn: 64500, nodeSelector: {edge: ""}}
  - {name: rack1, address: 192.0.2.252, asn: 64500, nodeSelector: {rack: r1}}
`)
	tests := []struct {
		name   string
		labels map[string]string
		want   []string
	}{
		{name: "no labels", want: []string{"all"}},
		{name: "rack r1", labels: map[string]string{"rack": "r1"}, want: []string{"all", "rack1"}},
		{name: "edge with an empty value", labels: map[string]string{"edge": ""}, want: []string{"all", "edge"}},
		{name: "edge with a value", labels: map[string]string{"edge": "yes"}, want: []string{"all"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			self := planner.Node{Name: "node1", Ready: true, Labels: tc.labels}
			b := &bgpMode{log: logr.Discard(), metrics: newMetrics(prometheus.NewRegistry())}
			peers, err := b.peersFor(context.Background(), cfg, self)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range peers {
				got = append(got, p.Name)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("peers (-want +got):\n%s", diff)
			}
			// The planner gives the node routes for the same peers.
			plan := planner.Compute(planner.Input{
				Config: cfg, Node: "node1", Nodes: []planner.Node{self},
				Services: []planner.Service{{Key: "default/web", IPs: []netip.Addr{netip.MustParseAddr("198.51.100.1")}}},
			})
			if len(plan.BGP) != 1 {
				t.Fatalf("plan has %d routes, want 1", len(plan.BGP))
			}
			if diff := cmp.Diff(tc.want, plan.BGP[0].Peers); diff != "" {
				t.Errorf("the planner's peers of the route differ from the sessions (-sessions +planner):\n%s", diff)
			}
		})
	}
}
