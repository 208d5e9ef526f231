// Package planner decides what this node's announcer must announce: the BGP
// routes it advertises, the Layer 2 and VRRP addresses it may own, and the
// addresses it refuses to announce at all.
//
// It is a pure package: plain values in (the parsed config, Nodes, Services
// and their ready endpoints reduced to names and net/netip addresses), a
// plain, sorted Plan out; no Kubernetes types, no logging, no metrics. Small
// adapters in package announcer build the Input from the informers' caches.
//
// A node is eligible for a Service's address when it is Ready, lacks the
// label node.kubernetes.io/exclude-from-external-load-balancers, matches the
// nodeSelector of the pool whose addresses contain the IP, and, for
// externalTrafficPolicy Local, has a ready endpoint of the Service. Only
// addresses that lie inside a configured pool and that a Service's status
// holds are ever planned.
package planner
