package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// AddressManager adds and removes the virtual addresses on an interface.
type AddressManager interface {
	// Add adds ip as a host address (/32, /128); adding it twice is no
	// error.
	Add(ifname string, ip netip.Addr) error
	// Remove removes ip; removing an absent address is no error.
	Remove(ifname string, ip netip.Addr) error
	// List returns the interface's addresses in the kernel's order
	// (primary addresses first).
	List(ifname string) ([]netip.Addr, error)
}

var _ AddressManager = NetlinkAddresses{}

// NetlinkAddresses manages addresses with netlink: IPv4 as /32, IPv6 as
// /128 without duplicate address detection (IFA_F_NODAD), as the VRRP
// election already decided who holds it.
type NetlinkAddresses struct {
	// Handle is the netlink handle to use, say of another network
	// namespace; nil is the current one.
	Handle *netlink.Handle
}

func (n NetlinkAddresses) handle() *netlink.Handle {
	if n.Handle == nil {
		return &netlink.Handle{}
	}
	return n.Handle
}

func hostAddr(ip netip.Addr) *netlink.Addr {
	a := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(ip.BitLen(), ip.BitLen())}}
	if ip.Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	return a
}

// Add adds ip/32 or ip/128 to ifname.
func (n NetlinkAddresses) Add(ifname string, ip netip.Addr) error {
	h := n.handle()
	link, err := h.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("adding %s to %s: %w", ip, ifname, err)
	}
	if err := h.AddrReplace(link, hostAddr(ip)); err != nil {
		return fmt.Errorf("adding %s to %s: %w", ip, ifname, err)
	}
	return nil
}

// Remove removes ip/32 or ip/128 from ifname.
func (n NetlinkAddresses) Remove(ifname string, ip netip.Addr) error {
	h := n.handle()
	link, err := h.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("removing %s from %s: %w", ip, ifname, err)
	}
	if err := h.AddrDel(link, hostAddr(ip)); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("removing %s from %s: %w", ip, ifname, err)
	}
	return nil
}

// List returns the addresses of ifname.
func (n NetlinkAddresses) List(ifname string) ([]netip.Addr, error) {
	h := n.handle()
	link, err := h.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("listing addresses of %s: %w", ifname, err)
	}
	list, err := h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("listing addresses of %s: %w", ifname, err)
	}
	out := make([]netip.Addr, 0, len(list))
	for _, a := range list {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			out = append(out, ip.Unmap())
		}
	}
	return out, nil
}

// InterfaceIndex returns the index of ifname.
func (n NetlinkAddresses) InterfaceIndex(ifname string) (int, error) {
	link, err := n.handle().LinkByName(ifname)
	if err != nil {
		return 0, fmt.Errorf("looking up interface %s: %w", ifname, err)
	}
	return link.Attrs().Index, nil
}
