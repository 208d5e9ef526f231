// Package l2 decides which node answers ARP (RFC 826) and NDP (RFC 4861)
// for each Layer 2 address: the live eligible node ranked first by
// rendezvous hashing, liveness being judged from announcer Leases by the
// observer's own clock. It is pure: no Kubernetes types, no sockets, no
// clock of its own. announcer/l2/wire speaks on the wire.
package l2
