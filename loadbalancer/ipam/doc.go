// Package ipam is floatlb's address allocator: it hands the addresses of
// configured pools to Services, shares one address between Services that ask
// for it, and rebuilds its state from the addresses Services already hold.
//
// It is a pure package: plain values in (net/netip, strings), plain values
// out, no Kubernetes types, no logging, no metrics. Allocation never scans the
// address space: each pool family keeps a cursor and a stack of freed
// addresses, so taking an address is O(1) amortised whatever the pool's size.
package ipam
