package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
)

// Addrs returns the addresses on the interface ifname of host, link-local
// ones included (`ip addr show`).
func (l *Lab) Addrs(ctx context.Context, host *Host, ifname string) ([]netip.Prefix, error) {
	out, err := run(ctx, l.ip, "-n", host.NS, "-j", "addr", "show", "dev", ifname)
	if err != nil {
		return nil, err
	}
	addrs, err := parseAddrs(out)
	if err != nil {
		return nil, fmt.Errorf("addresses of %s on %s: %w", ifname, host, err)
	}
	return addrs, nil
}

// parseAddrs parses the output of `ip -j addr show dev IF`.
func parseAddrs(out []byte) ([]netip.Prefix, error) {
	var links []struct {
		AddrInfo []struct {
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		return nil, fmt.Errorf("parsing ip -j addr output: %w", err)
	}
	addrs := []netip.Prefix{}
	for _, link := range links {
		for _, a := range link.AddrInfo {
			ip, err := netip.ParseAddr(a.Local)
			if err != nil {
				return nil, fmt.Errorf("parsing ip -j addr output: %w", err)
			}
			p := netip.PrefixFrom(ip, a.PrefixLen) // unmasked, as ip prints it
			if !p.IsValid() {
				return nil, fmt.Errorf("parsing ip -j addr output: %s/%d is no prefix", ip, a.PrefixLen)
			}
			addrs = append(addrs, p)
		}
	}
	return addrs, nil
}

// LinkDown sets host's main interface down from inside its namespace
// (`ip link set eth0 down`), as an administrator or a failing NIC would:
// the host sees its carrier go, and the switch port goes dark. The kernel
// drops the interface's IPv6 addresses and every route through it; LinkUp
// puts them back.
func (l *Lab) LinkDown(ctx context.Context, host *Host) error {
	return l.ipIn(ctx, host.NS, "link", "set", "dev", host.Interface, "down")
}

// LinkUp sets host's main interface up again after LinkDown and restores
// what the kernel removed: its addresses and its default routes (the
// client's link has the LAN's prefix lengths too).
func (l *Lab) LinkUp(ctx context.Context, host *Host) error {
	if err := l.ipIn(ctx, host.NS, "link", "set", "dev", host.Interface, "up"); err != nil {
		return err
	}
	if err := l.ipIn(ctx, host.NS, "addr", "replace", netip.PrefixFrom(host.IPv4, lan4Bits).String(), "dev", host.Interface); err != nil {
		return err
	}
	if err := l.ipIn(ctx, host.NS, "addr", "replace", netip.PrefixFrom(host.IPv6, lan6Bits).String(), "dev", host.Interface, "nodad"); err != nil {
		return err
	}
	var via4, via6 netip.Addr
	switch host {
	case l.router:
		return nil // BIRD puts its routes back; it has no default routes
	case l.client:
		via4, via6 = routerUplink4(), routerUplink6()
	default:
		via4, via6 = l.router.IPv4, l.router.IPv6
	}
	if err := l.ipIn(ctx, host.NS, "-4", "route", "replace", "default", "via", via4.String()); err != nil {
		return err
	}
	return l.ipIn(ctx, host.NS, "-6", "route", "replace", "default", "via", via6.String())
}

// SetSysctls writes kernel settings in host's network namespace, named as
// sysctl names them ("net.ipv4.conf.all.arp_ignore") or as paths below
// /proc/sys ("net/ipv4/conf/eth0.100/arp_ignore", for names with dots).
func (l *Lab) SetSysctls(host *Host, settings map[string]string) error {
	paths := make(map[string]string, len(settings))
	for k, v := range settings {
		if !strings.Contains(k, "/") {
			k = strings.ReplaceAll(k, ".", "/")
		}
		paths[k] = v
	}
	return setSysctls(host.NS, paths)
}

// strictARP are the settings kube-proxy's strictARP makes on a node, which
// the lab makes on every node: answer ARP only for addresses on the
// interface asked, not for every local address (a VIP that AcceptVIP made
// local is answered by floatlb's Layer 2 mode alone), and ask from an
// address of the interface's subnet.
var strictARP = map[string]string{
	"net/ipv4/conf/all/arp_ignore":   "1",
	"net/ipv4/conf/all/arp_announce": "2",
}
