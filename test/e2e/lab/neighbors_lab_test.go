package lab_test

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/floatlb/floatlb/test/e2e/lab"
)

// testL2Tools checks, on TestLab's lab, the helpers the Layer 2 tests
// use: ARPing, NDisc, Neighbor and Addrs from the LAN host, the strict
// ARP settings of the nodes, SetSysctls, and LinkDown and LinkUp.
func testL2Tools(t *testing.T, l *lab.Lab) {
	lab.Require(t, "arping", "ndisc6", "curl")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	lan := l.LANHost()
	n1, n3 := l.Nodes()[0], l.Nodes()[2]

	macs, err := l.ARPing(ctx, lan, n1.IPv4, 2, 3*time.Second)
	if err != nil || !equalMACs(macs, n1.MAC, n1.MAC) {
		t.Errorf("arping %s: %v, %v; want two replies from %s", n1.IPv4, macs, err, n1.MAC)
	}
	macs, err = l.NDisc(ctx, lan, n3.IPv6, time.Second)
	if err != nil || !equalMACs(macs, n3.MAC) {
		t.Errorf("ndisc6 %s: %v, %v; want %s", n3.IPv6, macs, err, n3.MAC)
	}
	nobody4, nobody6 := netip.MustParseAddr("192.0.2.99"), netip.MustParseAddr("2001:db8:2::99")
	if macs, err := l.ARPing(ctx, lan, nobody4, 1, time.Second); err != nil || len(macs) != 0 {
		t.Errorf("arping %s: %v, %v; want no reply", nobody4, macs, err)
	}
	if macs, err := l.NDisc(ctx, lan, nobody6, 500*time.Millisecond); err != nil || len(macs) != 0 {
		t.Errorf("ndisc6 %s: %v, %v; want no reply", nobody6, macs, err)
	}

	// A node does not answer ARP for a VIP it merely accepts, unless
	// arp_ignore is back at the kernel's default.
	vip := netip.MustParseAddr("198.19.20.77")
	if err := l.AcceptVIP(ctx, n3, vip); err != nil {
		t.Fatal(err)
	}
	if macs, err := l.ARPing(ctx, lan, vip, 1, time.Second); err != nil || len(macs) != 0 {
		t.Errorf("arping %s, accepted by %s: %v, %v; want no reply (strict ARP)", vip, n3, macs, err)
	}
	if err := l.SetSysctls(n3, map[string]string{"net.ipv4.conf.all.arp_ignore": "0"}); err != nil {
		t.Fatal(err)
	}
	if macs, err := l.ARPing(ctx, lan, vip, 1, 2*time.Second); err != nil || !equalMACs(macs, n3.MAC) {
		t.Errorf("arping %s with arp_ignore 0 on %s: %v, %v; want %s", vip, n3, macs, err, n3.MAC)
	}
	if err := l.SetSysctls(n3, map[string]string{"net/ipv4/conf/all/arp_ignore": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := l.RemoveVIP(ctx, n3, vip); err != nil {
		t.Fatal(err)
	}

	if _, err := l.Curl(ctx, lan, lab.URL(n3.IPv4, 0)); err != nil {
		t.Fatal(err)
	}
	if mac, err := l.Neighbor(ctx, lan, n3.IPv4); err != nil || mac.String() != n3.MAC.String() {
		t.Errorf("LAN host's neighbour %s: %v, %v; want %s", n3.IPv4, mac, err, n3.MAC)
	}
	if mac, err := l.Neighbor(ctx, lan, nobody4); err != nil || mac != nil {
		t.Errorf("LAN host's neighbour %s: %v, %v; want none", nobody4, mac, err)
	}

	// Down and up again: the addresses and routes the kernel dropped come
	// back, so the client behind the router reaches the node again.
	if err := l.LinkDown(ctx, n1); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Curl(ctx, l.Client(), lab.URL(n1.IPv4, 0)); err == nil {
		t.Errorf("GET %s with its eth0 down: no error", lab.URL(n1.IPv4, 0))
	}
	if err := l.LinkUp(ctx, n1); err != nil {
		t.Fatal(err)
	}
	addrs, err := l.Addrs(ctx, n1, "eth0")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []netip.Prefix{netip.PrefixFrom(n1.IPv4, 24), netip.PrefixFrom(n1.IPv6, 64)} {
		if !slices.Contains(addrs, want) {
			t.Errorf("eth0 of %s after LinkUp has %v, not %s", n1, addrs, want)
		}
	}
	for _, addr := range []netip.Addr{n1.IPv4, n1.IPv6} {
		if got, err := l.Curl(ctx, l.Client(), lab.URL(addr, 0)); err != nil || got != n1.Name {
			t.Errorf("GET %s from the client after LinkUp: %q, %v", lab.URL(addr, 0), got, err)
		}
	}
}

func equalMACs(got []net.HardwareAddr, want ...net.HardwareAddr) bool {
	return slices.EqualFunc(got, want, func(a, b net.HardwareAddr) bool { return a.String() == b.String() })
}
