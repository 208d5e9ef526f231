package planner

import (
	"net/netip"

	"github.com/floatlb/floatlb/config"
)

// Node is what the planner needs to know of a Kubernetes Node.
type Node struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	// Ready is the Node's Ready condition.
	Ready bool `json:"ready,omitempty"`
	// ExcludedFromLB is true when the Node carries the label
	// node.kubernetes.io/exclude-from-external-load-balancers, whatever its value.
	ExcludedFromLB bool `json:"excludedFromLB,omitempty"`
	// Addresses are the Node's InternalIPs. The planner does not use them;
	// the modes take their next hop and router ID from them.
	Addresses []netip.Addr `json:"addresses,omitempty"`
}

// Service is what the planner needs to know of a LoadBalancer Service.
type Service struct {
	// Key is "namespace/name".
	Key string `json:"key"`
	// IPs are the addresses of status.loadBalancer.ingress, one per family
	// for a dual-stack Service. Each is planned on its own.
	IPs []netip.Addr `json:"ips,omitempty"`
	// Pool is the annotation floatlb.io/allocated-pool. It may be empty or
	// stale (the config changed, or the IP came from MetalLB before a
	// migration), so the planner does not trust it: an address belongs to
	// the pool whose ranges contain it (config.Config.PoolFor).
	Pool string `json:"pool,omitempty"`
	// Local is externalTrafficPolicy: Local.
	Local bool `json:"local,omitempty"`
	// ReadyEndpointNodes names the nodes that run a ready endpoint of the
	// Service. Only read when Local.
	ReadyEndpointNodes []string `json:"readyEndpointNodes,omitempty"`
}

// Input is everything Compute decides from.
type Input struct {
	// Config is the config in force, as config.Parse returns it (with
	// Pool.Ranges and Peer.Addr filled in). With a nil Config every address
	// lies outside the pools.
	Config *config.Config
	// Node is the name of this node, the one the plan is for.
	Node     string
	Nodes    []Node
	Services []Service
}

// Plan is what one node must announce. Every list is sorted and free of
// duplicates, and nil when empty.
type Plan struct {
	// BGP are the routes this node advertises, sorted by prefix then pool.
	// A route whose Peers is empty (NoPeer says why) is planned but reaches
	// no router: the caller says so rather than announcing it.
	BGP []Route `json:"bgp,omitempty"`
	// L2 are the l2-mode addresses this node is eligible to own, sorted by
	// IP. Which eligible node owns one is decided by the l2 package, by
	// rendezvous hashing among the live nodes of EligibleNodes. Addresses
	// this node is not eligible for are left out, as from VRRP: a node
	// never answers for them nor joins their VRRP instance, so this node is
	// always among a Claim's EligibleNodes.
	L2 []Claim `json:"l2,omitempty"`
	// VRRP are the vrrp-mode addresses this node is eligible to hold, sorted
	// by IP. The vrrp package groups them into instances by EligibleNodes,
	// Interface and family.
	VRRP []Claim `json:"vrrp,omitempty"`
	// VRRPElsewhere are the vrrp-mode addresses that other nodes, not this
	// one, are eligible to hold, sorted by IP. This node runs no instance
	// for them, but their instances take VRIDs that every node must agree
	// on, so the vrrp package sees every node's claims.
	VRRPElsewhere []Claim `json:"vrrpElsewhere,omitempty"`
	// Refused are the addresses of Services' status that are never
	// announced, by any node, sorted by IP then Service.
	Refused []Refusal `json:"refused,omitempty"`
}

// Route is one BGP route this node advertises with itself as next hop.
type Route struct {
	// Prefix is the host route (/32, /128) of a Service's address, or the
	// aggregate of the pool's bgp.aggregationLength that holds it.
	Prefix netip.Prefix `json:"prefix"`
	Pool   string       `json:"pool"`
	// IPs are the Services' addresses inside Prefix that this node is
	// eligible for, sorted: exactly one for a host route. An aggregate is
	// advertised while it holds at least one.
	IPs []netip.Addr `json:"ips"`
	// Peers names the peers of bgp.peers that the route goes to: the pool's
	// bgp.peers (all peers when it names none) whose nodeSelector matches
	// this node, sorted.
	Peers []string `json:"peers,omitempty"`
	// NoPeer says why Peers is empty; NoPeerNone when it is not.
	NoPeer NoPeerReason `json:"noPeer,omitempty"`
	// Communities, LargeCommunities and LocalPref are the pool's, as
	// written in the config.
	Communities      []string `json:"communities,omitempty"`
	LargeCommunities []string `json:"largeCommunities,omitempty"`
	LocalPref        uint32   `json:"localPref,omitempty"`
	// Services are the keys of the Services holding IPs, sorted.
	Services []string `json:"services"`
}

// Claim is an l2 or vrrp address this node is eligible for.
type Claim struct {
	IP   netip.Addr `json:"ip"`
	Pool string     `json:"pool"`
	// Interface is the pool's interface; empty means the one carrying the
	// node's InternalIP, which the caller resolves.
	Interface string `json:"interface,omitempty"`
	// EligibleNodes are all the nodes eligible for the address, this node
	// included, sorted: the union over the Services holding it.
	EligibleNodes []string `json:"eligibleNodes"`
	// Services are the keys of the Services holding the address, sorted.
	Services []string `json:"services"`
}

// Refusal is an address of a Service's status that no node may announce.
type Refusal struct {
	Service string        `json:"service"`
	IP      netip.Addr    `json:"ip"`
	Reason  RefusalReason `json:"reason"`
}
