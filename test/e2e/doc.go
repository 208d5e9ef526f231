// Package e2e runs floatlb end to end: network namespaces as nodes on a LAN
// with a router and a client behind it (test/e2e/lab), a real kube-apiserver
// reachable from the nodes, the real floatlb-ccm and one real
// floatlb-announcer process per node, BIRD 2 as the router's BGP speaker,
// and curl as the client. It needs root, iproute2, bird2 and curl; without
// them the tests skip (FLOATLB_REQUIRE_E2E=1 makes that a failure).
package e2e
