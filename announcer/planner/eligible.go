package planner

import (
	"slices"

	"github.com/floatlb/floatlb/config"
)

// Eligible returns the names of the nodes that may announce svc's addresses
// from pool, sorted, or nil if none may: the nodes that are Ready, lack the
// label node.kubernetes.io/exclude-from-external-load-balancers, match the
// pool's nodeSelector and, when svc is Local, run a ready endpoint of svc.
// A name that Nodes lists twice counts once, eligible if either entry is.
//
// It does not check that pool contains svc's addresses; Compute takes the
// pool from the config's ranges.
func Eligible(in Input, svc Service, pool *config.Pool) []string {
	if pool == nil {
		return nil
	}
	return forService(poolNodes(in.Nodes, pool), &svc)
}

// poolNodes returns the nodes that may announce pool's addresses for a
// Service whose policy is Cluster, sorted and without duplicates.
func poolNodes(nodes []Node, pool *config.Pool) []string {
	var out []string
	for i := range nodes {
		n := &nodes[i]
		if n.Ready && !n.ExcludedFromLB && MatchesSelector(pool.NodeSelector, n.Labels) {
			out = append(out, n.Name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// forService narrows nodes, those of poolNodes, to the ones eligible for
// svc. It returns nodes itself when svc is not Local, a new slice otherwise.
func forService(nodes []string, svc *Service) []string {
	if !svc.Local {
		return nodes
	}
	has := endpointsOn(svc)
	var out []string
	for _, n := range nodes {
		if has(n) {
			out = append(out, n)
		}
	}
	return out
}

// endpointsOn returns a function that reports whether svc has a ready
// endpoint on a node. A scan is cheaper than a map for the usual handful of
// nodes.
func endpointsOn(svc *Service) func(node string) bool {
	if len(svc.ReadyEndpointNodes) <= 16 {
		return func(node string) bool { return slices.Contains(svc.ReadyEndpointNodes, node) }
	}
	set := make(map[string]struct{}, len(svc.ReadyEndpointNodes))
	for _, n := range svc.ReadyEndpointNodes {
		set[n] = struct{}{}
	}
	return func(node string) bool { _, ok := set[node]; return ok }
}

// MatchesSelector reports whether labels carry every key of selector with
// its value, as a Kubernetes equality-based label selector does: {"zone": ""}
// wants the key present with an empty value. An empty selector matches every
// node. Pools' and peers' nodeSelectors both go through it, here and in the
// announcer, so a node that may open a session also gets the routes.
func MatchesSelector(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
