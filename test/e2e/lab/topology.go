package lab

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// Host is one network namespace of the lab. Its fields are set by Start and
// must not be changed.
type Host struct {
	// Name is "node1", "node2", …, "router", "client" or "lanhost".
	Name string
	// NS is the network namespace, for `ip netns exec NS` and `ip -n NS`.
	NS string
	// Interface is the host's main interface, always "eth0": on the LAN
	// for the nodes, the router and the LAN host; on the router's link for
	// the client.
	Interface string
	// IPv4 and IPv6 are the host's addresses on Interface.
	IPv4, IPv6 netip.Addr
	// Mgmt4 is a node's address on mgmt0, the veth to the management
	// bridge; invalid for the other hosts.
	Mgmt4 netip.Addr
	// MAC is Interface's hardware address.
	MAC net.HardwareAddr
}

func (h *Host) String() string { return h.Name }

// The lab's interface names inside namespaces.
const (
	lanBridge  = "br0"   // in the LAN namespace
	mainIf     = "eth0"  // every host's LAN (client: router link) interface
	uplinkIf   = "eth1"  // the router's interface to the client
	mgmtIf     = "mgmt0" // a node's veth to the management bridge
	lan4Bits   = 24
	lan6Bits   = 64
	lanHostNum = 100 // the LAN host's last address byte
)

// newLab lays out names and addresses; build creates them.
func newLab(prefix string, mgmt netip.Prefix, opts Options) *Lab {
	l := &Lab{prefix: prefix, mgmt: mgmt, lanNS: prefix + "-lan", logNames: map[string]int{}}
	lanHost := func(name string, num int) *Host {
		return &Host{
			Name:      name,
			NS:        prefix + "-" + name,
			Interface: mainIf,
			IPv4:      netip.AddrFrom4([4]byte{192, 0, 2, byte(num)}),
			IPv6:      netip.MustParseAddr("2001:db8:2::" + strconv.Itoa(num)),
			MAC:       net.HardwareAddr{0x02, 0xfb, 0, 0, 2, byte(num)},
		}
	}
	mgmtAddr := mgmt.Addr().Next() // the bridge's
	for i := 1; i <= opts.Nodes; i++ {
		n := lanHost("node"+strconv.Itoa(i), 10+i)
		mgmtAddr = mgmtAddr.Next()
		n.Mgmt4 = mgmtAddr
		l.nodes = append(l.nodes, n)
	}
	l.router = lanHost("router", 1)
	l.client = &Host{
		Name:      "client",
		NS:        prefix + "-client",
		Interface: mainIf,
		IPv4:      netip.MustParseAddr("198.51.100.2"),
		IPv6:      netip.MustParseAddr("2001:db8:3::2"),
		MAC:       net.HardwareAddr{0x02, 0xfb, 0, 0, 3, 2},
	}
	if opts.LANHost {
		l.lanhost = lanHost("lanhost", lanHostNum)
	}
	return l
}

// The router's side of the client link.
func routerUplink4() netip.Addr         { return netip.MustParseAddr("198.51.100.1") }
func routerUplink6() netip.Addr         { return netip.MustParseAddr("2001:db8:3::1") }
func routerUplinkMAC() net.HardwareAddr { return net.HardwareAddr{0x02, 0xfb, 0, 0, 3, 1} }

// build creates the namespaces, links, addresses and routes.
func (l *Lab) build(ctx context.Context) error {
	for _, ns := range l.namespaces() {
		if err := l.addNamespace(ctx, ns); err != nil {
			return err
		}
	}
	// The LAN namespace is a plain switch: no IPv6 on its bridge or ports,
	// no multicast snooping (VRRP and NDP multicast reach every port).
	if err := setSysctls(l.lanNS, map[string]string{
		"net/ipv6/conf/all/disable_ipv6":     "1",
		"net/ipv6/conf/default/disable_ipv6": "1",
	}); err != nil {
		return err
	}
	if err := l.ipIn(ctx, l.lanNS, "link", "add", "name", lanBridge, "type", "bridge", "mcast_snooping", "0"); err != nil {
		return err
	}
	if err := l.ipIn(ctx, l.lanNS, "link", "set", "dev", lanBridge, "up"); err != nil {
		return err
	}
	for _, n := range l.nodes {
		if err := setSysctls(n.NS, strictARP); err != nil {
			return err
		}
	}
	if err := setSysctls(l.router.NS, map[string]string{
		"net/ipv4/ip_forward":          "1",
		"net/ipv6/conf/all/forwarding": "1",
	}); err != nil {
		return err
	}

	lanHosts := l.Nodes()
	lanHosts = append(lanHosts, l.router)
	if l.lanhost != nil {
		lanHosts = append(lanHosts, l.lanhost)
	}
	for _, h := range lanHosts {
		if err := l.attachLAN(ctx, h); err != nil {
			return err
		}
	}
	if err := l.linkClient(ctx); err != nil {
		return err
	}
	for _, h := range lanHosts {
		if h == l.router {
			continue
		}
		if err := l.defaultRoutes(ctx, h, l.router.IPv4, l.router.IPv6); err != nil {
			return err
		}
	}
	if err := l.defaultRoutes(ctx, l.client, routerUplink4(), routerUplink6()); err != nil {
		return err
	}
	return l.buildMgmt(ctx)
}

// addNamespace creates ns with lo up and IPv6 duplicate address detection
// off for every interface created in it later.
func (l *Lab) addNamespace(ctx context.Context, ns string) error {
	if _, err := run(ctx, l.ip, "netns", "add", ns); err != nil {
		return err
	}
	if err := setSysctls(ns, map[string]string{
		"net/ipv6/conf/all/accept_dad":     "0",
		"net/ipv6/conf/default/accept_dad": "0",
	}); err != nil {
		return err
	}
	return l.ipIn(ctx, ns, "link", "set", "dev", "lo", "up")
}

// attachLAN links h's eth0 to the LAN bridge (the port is named after h)
// and gives it h's addresses.
func (l *Lab) attachLAN(ctx context.Context, h *Host) error {
	if err := l.ipIn(ctx, h.NS, "link", "add", "name", h.Interface, "address", h.MAC.String(), "type", "veth",
		"peer", "name", h.Name, "netns", l.lanNS); err != nil {
		return err
	}
	if err := l.ipIn(ctx, l.lanNS, "link", "set", "dev", h.Name, "master", lanBridge, "up"); err != nil {
		return err
	}
	return l.configure(ctx, h.NS, h.Interface,
		netip.PrefixFrom(h.IPv4, lan4Bits), netip.PrefixFrom(h.IPv6, lan6Bits))
}

// linkClient links the router's eth1 to the client's eth0.
func (l *Lab) linkClient(ctx context.Context) error {
	c := l.client
	if err := l.ipIn(ctx, l.router.NS, "link", "add", "name", uplinkIf, "address", routerUplinkMAC().String(), "type", "veth",
		"peer", "name", c.Interface, "address", c.MAC.String(), "netns", c.NS); err != nil {
		return err
	}
	if err := l.configure(ctx, l.router.NS, uplinkIf,
		netip.PrefixFrom(routerUplink4(), 24), netip.PrefixFrom(routerUplink6(), 64)); err != nil {
		return err
	}
	return l.configure(ctx, c.NS, c.Interface,
		netip.PrefixFrom(c.IPv4, 24), netip.PrefixFrom(c.IPv6, 64))
}

// configure gives ifname in ns its addresses and brings it up.
func (l *Lab) configure(ctx context.Context, ns, ifname string, addrs ...netip.Prefix) error {
	for _, a := range addrs {
		args := []string{"addr", "add", a.String(), "dev", ifname}
		if a.Addr().Is6() {
			args = append(args, "nodad")
		}
		if err := l.ipIn(ctx, ns, args...); err != nil {
			return err
		}
	}
	return l.ipIn(ctx, ns, "link", "set", "dev", ifname, "up")
}

func (l *Lab) defaultRoutes(ctx context.Context, h *Host, via4, via6 netip.Addr) error {
	if err := l.ipIn(ctx, h.NS, "-4", "route", "add", "default", "via", via4.String()); err != nil {
		return err
	}
	return l.ipIn(ctx, h.NS, "-6", "route", "add", "default", "via", via6.String())
}

// mgmtBridge and mgmtVeth name the lab's links in the root namespace.
func (l *Lab) mgmtBridge() string       { return l.prefix + "-mgmt" }
func (l *Lab) mgmtVeth(node int) string { return fmt.Sprintf("%s-m%d", l.prefix, node) }

// buildMgmt creates the management bridge in the root namespace and a veth
// from it to each node's mgmt0. Only IPv4: IPv6 is off on all of them.
func (l *Lab) buildMgmt(ctx context.Context) error {
	br := l.mgmtBridge()
	if err := l.ipIn(ctx, "", "link", "add", "name", br, "type", "bridge"); err != nil {
		return err
	}
	if err := disableIPv6("", br); err != nil {
		return err
	}
	if err := l.configure(ctx, "", br, netip.PrefixFrom(l.MgmtAddr(), l.mgmt.Bits())); err != nil {
		return err
	}
	for i, n := range l.nodes {
		veth := l.mgmtVeth(i + 1)
		if err := l.ipIn(ctx, "", "link", "add", "name", veth, "type", "veth", "peer", "name", mgmtIf, "netns", n.NS); err != nil {
			return err
		}
		if err := disableIPv6("", veth); err != nil {
			return err
		}
		if err := disableIPv6(n.NS, mgmtIf); err != nil {
			return err
		}
		if err := l.ipIn(ctx, "", "link", "set", "dev", veth, "master", br, "up"); err != nil {
			return err
		}
		if err := l.configure(ctx, n.NS, mgmtIf, netip.PrefixFrom(n.Mgmt4, l.mgmt.Bits())); err != nil {
			return err
		}
	}
	return nil
}

func disableIPv6(ns, ifname string) error {
	return setSysctls(ns, map[string]string{"net/ipv6/conf/" + ifname + "/disable_ipv6": "1"})
}
