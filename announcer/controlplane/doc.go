// Package controlplane keeps the Kubernetes API server's own address, the
// control-plane VIP, reachable: floatlb-announcer runs it as a static Pod
// on every control-plane node, before and without the API server, and a
// node holds or advertises the VIP only while its local kube-apiserver
// answers /readyz. Three modes reuse the Service modes' parts: VRRP
// (RFC 5798, no API needed), Layer 2 (a Lease through the local API
// server, gratuitous ARP / unsolicited NA) and BGP (every healthy node
// advertises the VIP; the router spreads by ECMP).
package controlplane
