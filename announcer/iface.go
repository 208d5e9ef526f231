package announcer

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/floatlb/floatlb/announcer/planner"
)

// interfaceOf returns the name of the interface that carries one of the
// node's InternalIPs: where Layer 2 and VRRP pools without an interface of
// their own answer.
func interfaceOf(self planner.Node) (string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return "", fmt.Errorf("listing interfaces: %w", err)
	}
	for _, ifi := range ifs {
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(n.IP)
			if !ok {
				continue
			}
			for _, want := range self.Addresses {
				if ip.Unmap() == want {
					return ifi.Name, nil
				}
			}
		}
	}
	return "", fmt.Errorf("no interface of this host carries the node's InternalIPs %v: set the pool's interface, or kubelet's --node-ip to an address of this host", self.Addresses)
}

// interfaces resolves the interfaces of the claims of one plan: a pool's
// own, or the one carrying the node's InternalIP, which it looks up at
// most once (listing the host's interfaces per claim would cost a syscall
// round per address).
type interfaces struct {
	self   planner.Node
	looked bool
	name   string
	err    error
}

// of returns pool's interface if it names one, else the node's.
func (r *interfaces) of(pool string) (string, error) {
	if pool != "" {
		return pool, nil
	}
	if !r.looked {
		r.looked = true
		r.name, r.err = interfaceOf(r.self)
	}
	return r.name, r.err
}
