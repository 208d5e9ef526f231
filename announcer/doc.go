// Package announcer is floatlb's node agent: it watches the floatlb config,
// Services with ingress addresses, EndpointSlices and Nodes, asks the pure
// planner what this node must announce, and hands the plan to the mode that
// makes the addresses reachable (bgp today; l2 and vrrp implement the same
// small interface).
package announcer
