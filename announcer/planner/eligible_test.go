package planner

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/floatlb/floatlb/config"
)

func TestEligible(t *testing.T) {
	all := &config.Pool{Name: "all"}
	rack1 := &config.Pool{Name: "rack1", NodeSelector: map[string]string{"rack": "r1"}}
	emptyValue := &config.Pool{Name: "empty-value", NodeSelector: map[string]string{"edge": ""}}
	twoLabels := &config.Pool{Name: "two-labels", NodeSelector: map[string]string{"rack": "r1", "zone": "a"}}

	tests := []struct {
		name  string
		nodes []Node
		svc   Service
		pool  *config.Pool
		want  []string
	}{{
		name:  "every ready node, sorted",
		nodes: []Node{node("node-c"), node("node-a"), node("node-b")},
		svc:   svc("default/web", "192.0.2.1"),
		pool:  all,
		want:  []string{"node-a", "node-b", "node-c"},
	}, {
		name:  "a node that is not ready is not eligible",
		nodes: []Node{node("node-a"), notReady(node("node-b"))},
		svc:   svc("default/web", "192.0.2.1"),
		pool:  all,
		want:  []string{"node-a"},
	}, {
		name:  "a node with the exclude-from-external-load-balancers label is not eligible",
		nodes: []Node{excluded(node("node-a")), node("node-b")},
		svc:   svc("default/web", "192.0.2.1"),
		pool:  all,
		want:  []string{"node-b"},
	}, {
		name:  "nodeSelector match and mismatch",
		nodes: cluster(),
		svc:   svc("default/web", "192.0.2.1"),
		pool:  rack1,
		want:  []string{"node-a", "node-c"},
	}, {
		name:  "nodeSelector wants every label",
		nodes: cluster(),
		svc:   svc("default/web", "192.0.2.1"),
		pool:  twoLabels,
		want:  []string{"node-a"},
	}, {
		name:  "nodeSelector with an empty value wants the label present",
		nodes: []Node{node("node-a", "edge="), node("node-b"), node("node-c", "edge=yes")},
		svc:   svc("default/web", "192.0.2.1"),
		pool:  emptyValue,
		want:  []string{"node-a"},
	}, {
		name:  "nodeSelector matches no node",
		nodes: []Node{node("node-a", "rack=r2")},
		svc:   svc("default/web", "192.0.2.1"),
		pool:  rack1,
		want:  nil,
	}, {
		name:  "Local: only nodes with a ready endpoint",
		nodes: cluster(),
		svc:   local(svc("default/web", "192.0.2.1"), "node-c", "node-b", "node-x"),
		pool:  all,
		want:  []string{"node-b", "node-c"},
	}, {
		name:  "Local without a ready endpoint: no node",
		nodes: cluster(),
		svc:   local(svc("default/web", "192.0.2.1")),
		pool:  all,
		want:  nil,
	}, {
		name:  "Local: an endpoint on a node that is otherwise ineligible does not help",
		nodes: []Node{notReady(node("node-a")), node("node-b", "rack=r2"), node("node-c", "rack=r1")},
		svc:   local(svc("default/web", "192.0.2.1"), "node-a", "node-b", "node-c"),
		pool:  rack1,
		want:  []string{"node-c"},
	}, {
		name:  "Local with endpoints on many nodes",
		nodes: []Node{node("n00"), node("n05"), node("n17"), node("n30")},
		svc: local(svc("default/web", "192.0.2.1"),
			"n00", "n01", "n02", "n03", "n04", "n05", "n06", "n07", "n08", "n09",
			"n10", "n11", "n12", "n13", "n14", "n15", "n16", "n17", "n18", "n19"),
		pool: all,
		want: []string{"n00", "n05", "n17"},
	}, {
		name:  "Cluster ignores endpoints",
		nodes: cluster(),
		svc:   Service{Key: "default/web", ReadyEndpointNodes: []string{"node-a"}},
		pool:  all,
		want:  []string{"node-a", "node-b", "node-c"},
	}, {
		name:  "a name listed twice counts once, eligible if either entry is",
		nodes: []Node{notReady(node("node-a")), node("node-a"), node("node-a")},
		svc:   svc("default/web", "192.0.2.1"),
		pool:  all,
		want:  []string{"node-a"},
	}, {
		name:  "no pool",
		nodes: cluster(),
		svc:   svc("default/web", "192.0.2.1"),
		want:  nil,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Eligible(Input{Nodes: tc.nodes}, tc.svc, tc.pool)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Eligible() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMatchesSelector(t *testing.T) {
	tests := []struct {
		name     string
		selector map[string]string
		labels   map[string]string
		want     bool
	}{
		{name: "nil selector matches a node without labels", want: true},
		{name: "empty selector matches any node", selector: map[string]string{}, labels: map[string]string{"rack": "r1"}, want: true},
		{name: "equal value", selector: map[string]string{"rack": "r1"}, labels: map[string]string{"rack": "r1", "zone": "a"}, want: true},
		{name: "other value", selector: map[string]string{"rack": "r1"}, labels: map[string]string{"rack": "r2"}},
		{name: "label missing", selector: map[string]string{"rack": "r1"}},
		{name: "empty value wants the label present", selector: map[string]string{"edge": ""}, labels: map[string]string{"rack": "r1"}},
		{name: "empty value on a node without labels", selector: map[string]string{"edge": ""}},
		{name: "empty value matches the label with an empty value", selector: map[string]string{"edge": ""}, labels: map[string]string{"edge": ""}, want: true},
		{name: "empty value does not match a non-empty value", selector: map[string]string{"edge": ""}, labels: map[string]string{"edge": "yes"}},
		{name: "every pair is wanted", selector: map[string]string{"rack": "r1", "zone": "a"}, labels: map[string]string{"rack": "r1"}},
		{name: "every pair present", selector: map[string]string{"rack": "r1", "zone": "a"}, labels: map[string]string{"rack": "r1", "zone": "a"}, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MatchesSelector(tc.selector, tc.labels); got != tc.want {
				t.Errorf("MatchesSelector(%v, %v) = %v, want %v", tc.selector, tc.labels, got, tc.want)
			}
		})
	}
}
