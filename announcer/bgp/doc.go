// Package bgp makes addresses reachable by BGP (RFC 4271, multiprotocol
// extensions RFC 4760) with an embedded GoBGP v3 server: each node
// advertises host routes for the addresses it may serve with itself as next
// hop, so the router spreads traffic over the nodes by ECMP.
//
// The speaker dials out and listens only when asked (port 179 is often taken
// by the CNI's own BGP). Paths are built by pure functions (path.go) so that
// what goes on the wire is tested without a session.
package bgp
