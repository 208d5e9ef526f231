package controlplane

import (
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
)

// defaultInterface returns the interface of the IPv4 default route, else
// of the IPv6 one: where a control-plane node's own address lives.
func defaultInterface() (string, error) {
	for _, family := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		routes, err := netlink.RouteList(nil, family)
		if err != nil {
			return "", fmt.Errorf("listing routes: %w", err)
		}
		for _, r := range routes {
			if (r.Dst == nil || isDefault(r.Dst)) && r.LinkIndex > 0 {
				ifi, err := net.InterfaceByIndex(r.LinkIndex)
				if err != nil {
					return "", fmt.Errorf("interface of the default route: %w", err)
				}
				return ifi.Name, nil
			}
		}
	}
	return "", fmt.Errorf("no default route to find the interface by: set --%s", flagInterface)
}

func isDefault(n *net.IPNet) bool {
	ones, _ := n.Mask.Size()
	return ones == 0
}

// ownAddresses returns the first IPv4 address and the first global IPv6
// address of ifname that are not VIPs: the node's own, for BGP's router
// ID and next hops.
func ownAddresses(ifname string, vips []netip.Addr) (v4, v6 netip.Addr, err error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return v4, v6, fmt.Errorf("interface %s: %w", ifname, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return v4, v6, fmt.Errorf("addresses of %s: %w", ifname, err)
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok || slices.Contains(vips, ip.Unmap()) {
			continue
		}
		ip = ip.Unmap()
		switch {
		case ip.Is4() && !v4.IsValid():
			v4 = ip
		case ip.Is6() && ip.IsGlobalUnicast() && !v6.IsValid():
			v6 = ip
		}
	}
	return v4, v6, nil
}
