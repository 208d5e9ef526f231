// Package wire speaks Layer 2 mode on one interface: it answers ARP (RFC 826) and Neighbor
// Discovery (RFC 4861) for the addresses this node owns and announces them gratuitously (RFC 5227).
package wire
