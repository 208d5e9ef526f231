package vrrp

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeNode is a Router on a fakeLink with fake addresses.
type fakeNode struct {
	r     *Router
	c4    *fakeConn
	c6    *fakeConn
	addrs *fakeAddrs
	obs   *recorder
	ann   *announcements
	own4  netip.Addr
	own6  netip.Addr
}

func newFakeNode(t *testing.T, link *fakeLink, own4, own6 string, interval time.Duration) *fakeNode {
	t.Helper()
	n := &fakeNode{
		c4: link.conn(false), c6: link.conn(true),
		obs: &recorder{}, ann: &announcements{},
		own4: netip.MustParseAddr(own4), own6: netip.MustParseAddr(own6),
	}
	n.addrs = newFakeAddrs("eth0", n.own4, netip.MustParseAddr("2001:db8::"+strings.TrimPrefix(own6, "fe80::")), n.own6)
	n.r = New(Options{
		IPv4: n.c4, IPv6: n.c6, Addresses: n.addrs, Announcer: n.ann, Observer: n.obs,
		InterfaceIndex: func(string) (int, error) { return 1, nil },
		AdvertInterval: interval,
	})
	t.Cleanup(func() { _ = n.r.Close(context.Background()) })
	return n
}

func vip(name string, prio uint8, v6 bool, ips ...string) Instance {
	in := Instance{Name: name, Interface: "eth0", VRID: 10, Priority: prio, IPv6: v6, Addresses: addrs(ips...)}
	if v6 {
		in.LinkLocal = LinkLocal(10)
	}
	return in
}

// waitFor polls cond for up to 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func stateOf(n *fakeNode, name string) State { return n.r.States()[name] }

func TestRouterElectionAndFailover(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		name := "v4"
		ip := "192.0.2.100"
		if v6 {
			name, ip = "v6", "2001:db8::100"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			link := &fakeLink{}
			// A long interval: a failover within it shows the
			// priority 0 advert at work, not Master_Down_Interval.
			const interval = time.Second
			a := newFakeNode(t, link, "192.0.2.1", "fe80::1", interval)
			b := newFakeNode(t, link, "192.0.2.2", "fe80::2", interval)
			if err := a.r.Set(ctx, []Instance{vip("x", 250, v6, ip)}); err != nil {
				t.Fatal(err)
			}
			if err := b.r.Set(ctx, []Instance{vip("x", 200, v6, ip)}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "a master, b backup", func() bool { return stateOf(a, "x") == Master && stateOf(b, "x") == Backup })
			vipAddr := netip.MustParseAddr(ip)
			// The addresses follow the state, without holding the router up.
			waitFor(t, "a holds and announced the VIP", func() bool {
				return a.addrs.has("eth0", vipAddr) && containsAll(a.ann.list(), vipAddr)
			})
			if !a.addrs.has("eth0", vipAddr) || b.addrs.has("eth0", vipAddr) {
				t.Fatalf("the VIP is on a: %v, on b: %v; want on a only", a.addrs.has("eth0", vipAddr), b.addrs.has("eth0", vipAddr))
			}
			if v6 && !a.addrs.has("eth0", LinkLocal(10)) {
				t.Errorf("master a lacks the virtual link-local address")
			}
			if got := a.ann.list(); !containsAll(got, vipAddr) {
				t.Errorf("a announced %v, want %s", got, vipAddr)
			}
			// b stays backup over several adverts.
			time.Sleep(2 * interval)
			if s := stateOf(b, "x"); s != Backup {
				t.Fatalf("b is %s while a is master", s)
			}

			start := time.Now()
			if err := a.r.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if sent, ok := a.c4.lastSent(a.own4); !v6 && (!ok || sent.Priority != 0) {
				t.Errorf("a's last advert = %+v, want priority 0", sent)
			}
			if a.addrs.has("eth0", vipAddr) {
				t.Errorf("a kept the VIP after Close")
			}
			waitFor(t, "b master", func() bool { return stateOf(b, "x") == Master })
			if took := time.Since(start); took > interval {
				t.Errorf("failover took %s, want well under Master_Down_Interval (%s) thanks to priority 0", took, 3*interval)
			}
			waitFor(t, "new master b holds the VIP", func() bool { return b.addrs.has("eth0", vipAddr) })
			want := []string{"x initialize->backup startup", "x backup->master master-down"}
			if diff := cmp.Diff(want, b.obs.history()); diff != "" {
				t.Errorf("b's transitions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRouterEqualPriorityLargerAddressWins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	link := &fakeLink{}
	a := newFakeNode(t, link, "192.0.2.1", "fe80::1", 20*time.Millisecond)
	b := newFakeNode(t, link, "192.0.2.2", "fe80::2", 20*time.Millisecond)
	// Both start master: a alone first, then b joins as master too.
	if err := a.r.Set(ctx, []Instance{vip("x", 100, false, "192.0.2.100")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a master", func() bool { return stateOf(a, "x") == Master })
	if err := b.r.Set(ctx, []Instance{vip("x", 100, false, "192.0.2.100")}); err != nil {
		t.Fatal(err)
	}
	// b hears a's adverts with its own priority and stays backup; a
	// stays master. Neither flaps.
	time.Sleep(300 * time.Millisecond)
	if sa, sb := stateOf(a, "x"), stateOf(b, "x"); sa != Master || sb != Backup {
		t.Fatalf("a is %s, b is %s; want master and backup", sa, sb)
	}
	// Force a tie of masters: b receives nothing for a while.
	b.c4.mu.Lock()
	b.c4.joined = false
	b.c4.mu.Unlock()
	waitFor(t, "b master as well", func() bool { return stateOf(b, "x") == Master })
	b.c4.mu.Lock()
	b.c4.joined = true
	b.c4.mu.Unlock()
	waitFor(t, "a backup to the larger address", func() bool { return stateOf(a, "x") == Backup && stateOf(b, "x") == Master })
	if h := a.obs.history(); h[len(h)-1] != "x master->backup higher-address" {
		t.Errorf("a's last transition = %q", h[len(h)-1])
	}
}

func TestRouterDrops(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	link := &fakeLink{}
	n := newFakeNode(t, link, "192.0.2.1", "fe80::1", time.Second)
	if err := n.r.Set(ctx, []Instance{vip("x", 100, false, "192.0.2.100")}); err != nil {
		t.Fatal(err)
	}
	peer := netip.MustParseAddr("192.0.2.9")
	good := func(vrid uint8, ips ...string) []byte {
		b, err := Advert{VRID: vrid, Priority: 200, MaxAdvertInterval: time.Second, Addresses: addrs(ips...)}.Marshal(peer, GroupIPv4)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	info := PacketInfo{Src: peer, Dst: GroupIPv4, TTL: 255, IfIndex: 1}
	ttl64 := info
	ttl64.TTL = 64
	bad := good(10, "192.0.2.100")
	bad[2]++
	link.inject(good(10, "192.0.2.100"), ttl64, nil)
	link.inject(bad, info, nil)
	link.inject(good(11, "192.0.2.100"), info, nil)
	link.inject(good(10, "192.0.2.100")[:5], info, nil)
	link.inject(good(10, "192.0.2.199"), info, nil)
	waitFor(t, "drops counted", func() bool {
		return n.obs.drops(ReasonBadTTL) == 1 && n.obs.drops(ReasonBadChecksum) == 1 &&
			n.obs.drops(ReasonUnknownVRID) == 1 && n.obs.drops(ReasonMalformed) == 1
	})
	waitFor(t, "the foreign advert reported", func() bool { return len(n.obs.foreignFrom()) == 1 })
	if got := n.obs.foreignFrom(); got[0] != peer {
		t.Errorf("foreign advert from %v, want %s", got, peer)
	}
}

func TestRouterSetChangesAddresses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	link := &fakeLink{}
	n := newFakeNode(t, link, "192.0.2.1", "fe80::1", 20*time.Millisecond)
	if err := n.r.Set(ctx, []Instance{vip("x", 100, false, "192.0.2.100", "192.0.2.101")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "master", func() bool { return stateOf(n, "x") == Master })
	if err := n.r.Set(ctx, []Instance{vip("x", 100, false, "192.0.2.101", "192.0.2.102")}); err != nil {
		t.Fatal(err)
	}
	if stateOf(n, "x") != Master {
		t.Fatalf("an address change restarted the instance")
	}
	got, _ := n.addrs.List("eth0")
	if diff := cmp.Diff(addrs("192.0.2.1", "2001:db8::1", "fe80::1", "192.0.2.101", "192.0.2.102"), got, equateAddr); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
	waitFor(t, "adverts with the new addresses", func() bool {
		a, ok := n.c4.lastSent(n.own4)
		return ok && sameSet(a.Addresses, addrs("192.0.2.101", "192.0.2.102"))
	})
	// A new priority restarts the instance.
	if err := n.r.Set(ctx, []Instance{vip("x", 90, false, "192.0.2.101")}); err != nil {
		t.Fatal(err)
	}
	if s := stateOf(n, "x"); s != Backup {
		t.Errorf("after a priority change the instance is %s, want backup (restarted)", s)
	}
	if n.addrs.has("eth0", netip.MustParseAddr("192.0.2.101")) {
		t.Errorf("the restarted instance kept its VIP while backup")
	}
	// Removing the instance removes its VIPs once more and leaves the group.
	waitFor(t, "master again", func() bool { return stateOf(n, "x") == Master })
	if err := n.r.Set(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n.addrs.has("eth0", netip.MustParseAddr("192.0.2.101")) || len(n.r.States()) != 0 {
		t.Errorf("a removed instance kept its VIP or state")
	}
	if a, _ := n.c4.lastSent(n.own4); a.Priority != 0 {
		t.Errorf("the removed master's last advert has priority %d, want 0", a.Priority)
	}
}

func TestRouterSetErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	link := &fakeLink{}
	n := newFakeNode(t, link, "192.0.2.1", "fe80::1", time.Second)
	n.addrs.addrs["eth1"] = addrs("2001:db8::5")
	in := vip("x", 100, false, "192.0.2.100")
	clash := vip("y", 100, false, "192.0.2.101")
	noV4 := vip("z", 100, false, "192.0.2.102")
	noV4.Interface, noV4.VRID = "eth1", 12
	err := n.r.Set(ctx, []Instance{in, clash, noV4, in})
	for _, want := range []string{
		"vrrp instance x is given twice",
		"starting vrrp instance y: VRID 10 on eth0 is taken by instance x",
		"starting vrrp instance z: interface eth1 has no IPv4 address",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Set error = %v, want it to contain %q", err, want)
		}
	}
	if got := n.r.States(); len(got) != 1 {
		t.Errorf("States = %v, want x only", got)
	}
	if err := n.r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.r.Set(ctx, nil); err != ErrClosed {
		t.Errorf("Set after Close = %v, want ErrClosed", err)
	}
}

func TestRouterCleanup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	link := &fakeLink{}
	n := newFakeNode(t, link, "192.0.2.1", "fe80::1", 20*time.Millisecond)
	for _, ip := range addrs("198.51.100.7", "198.51.100.8", "fe80::1:7", "203.0.113.1") {
		_ = n.addrs.Add("eth0", ip)
	}
	if err := n.r.Set(ctx, []Instance{vip("x", 100, false, "198.51.100.8")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "master", func() bool { return stateOf(n, "x") == Master })
	pool := netip.MustParsePrefix("198.51.100.0/24")
	leftover := func(ip netip.Addr) bool {
		vrid, ok := VirtualLinkLocalVRID(ip)
		return pool.Contains(ip) || (ok && vrid == 7)
	}
	if err := n.r.Cleanup("eth0", leftover); err != nil {
		t.Fatal(err)
	}
	got, _ := n.addrs.List("eth0")
	if diff := cmp.Diff(addrs("192.0.2.1", "2001:db8::1", "fe80::1", "198.51.100.8", "203.0.113.1"), got, equateAddr); diff != "" {
		t.Errorf("addresses after Cleanup (-want +got):\n%s", diff)
	}
}

func TestPrimaryAddress(t *testing.T) {
	virtual := func(ip netip.Addr) bool { return ip == netip.MustParseAddr("192.0.2.100") }
	for _, tc := range []struct {
		addrs []netip.Addr
		v6    bool
		want  string
	}{
		{addrs("192.0.2.100", "192.0.2.1", "192.0.2.2"), false, "192.0.2.1"},
		{addrs("2001:db8::1", "fe80::1:5", "fe80::99"), true, "fe80::99"},
		{addrs("2001:db8::1"), true, ""},
		{addrs("fe80::1"), false, ""},
	} {
		got, ok := primaryAddress(tc.addrs, tc.v6, virtual)
		if (tc.want == "" && ok) || (tc.want != "" && got != netip.MustParseAddr(tc.want)) {
			t.Errorf("primaryAddress(%v, v6=%v) = %s, %v; want %q", tc.addrs, tc.v6, got, ok, tc.want)
		}
	}
}

func containsAll(list []netip.Addr, ips ...netip.Addr) bool {
	for _, ip := range ips {
		found := false
		for _, x := range list {
			found = found || x == ip
		}
		if !found {
			return false
		}
	}
	return true
}

// TestRouterSendEncodesOnce: a master sends the same advert every
// advertInterval (10 a second per instance at 100ms, with up to 255
// addresses each); it is encoded again only when its priority or its
// addresses change.
func TestRouterSendEncodesOnce(t *testing.T) {
	link := &fakeLink{}
	// The longest interval: no advert or timeout of the timers during
	// the test.
	n := newFakeNode(t, link, "192.0.2.1", "fe80::1", 40*time.Second)
	if err := n.r.Set(context.Background(), []Instance{vip("x", 100, false, "192.0.2.100", "192.0.2.101")}); err != nil {
		t.Fatal(err)
	}
	r := n.r
	r.mu.Lock()
	defer r.mu.Unlock()
	ri := r.instances["x"]
	sent := func(wantPrio uint8, want ...string) {
		t.Helper()
		a, ok := n.c4.lastSent(n.own4)
		if !ok || a.Priority != wantPrio || !sameSet(a.Addresses, addrs(want...)) {
			t.Fatalf("last advert %+v (ok %v), want priority %d with %v", a, ok, wantPrio, want)
		}
	}
	r.send(ri, 100)
	first := &ri.advert[0]
	if allocs := testing.AllocsPerRun(10, func() { r.send(ri, 100) }); &ri.advert[0] != first {
		t.Errorf("the same advert was encoded again (%v allocations per send)", allocs)
	}
	sent(100, "192.0.2.100", "192.0.2.101")
	r.send(ri, 0)
	sent(0, "192.0.2.100", "192.0.2.101")
	r.send(ri, 100)
	sent(100, "192.0.2.100", "192.0.2.101")
	r.update(ri, vip("x", 100, false, "192.0.2.102"))
	r.send(ri, 100)
	sent(100, "192.0.2.102")
}

// gatedAddrs is a fakeAddrs whose Add waits for gate, as netlink does
// under load with hundreds of addresses to add.
type gatedAddrs struct {
	*fakeAddrs
	gate    chan struct{}
	entered chan struct{}
	once    sync.Once
}

func (g *gatedAddrs) Add(ifname string, ip netip.Addr) error {
	g.once.Do(func() { close(g.entered) })
	<-g.gate
	return g.fakeAddrs.Add(ifname, ip)
}

// TestRouterAdvertsWhileAddingAddresses: a new master adds its addresses
// without holding up the router: it goes on sending adverts, and its
// backups' adverts would still be read. Adding 255 addresses while
// holding the lock stalled adverts for longer than 3 × 100ms under load,
// and backups took over from live masters, over and over.
func TestRouterAdvertsWhileAddingAddresses(t *testing.T) {
	link := &fakeLink{}
	c4 := link.conn(false)
	own := netip.MustParseAddr("192.0.2.1")
	addrs := &gatedAddrs{fakeAddrs: newFakeAddrs("eth0", own), gate: make(chan struct{}), entered: make(chan struct{})}
	r := New(Options{
		IPv4: c4, Addresses: addrs,
		InterfaceIndex: func(string) (int, error) { return 1, nil },
		AdvertInterval: 20 * time.Millisecond,
	})
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	defer close(addrs.gate)
	if err := r.Set(context.Background(), []Instance{vip("x", 250, false, "192.0.2.100", "192.0.2.101")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-addrs.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the instance did not become master and add its addresses")
	}
	sent := func() int {
		c4.mu.Lock()
		defer c4.mu.Unlock()
		return len(c4.sent)
	}
	states := make(chan map[string]State, 1)
	go func() { states <- r.States() }()
	select {
	case s := <-states:
		if s["x"] != Master {
			t.Errorf("state %v, want master", s["x"])
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the router is held while its addresses are being added")
	}
	before := sent()
	time.Sleep(200 * time.Millisecond)
	if n := sent() - before; n < 3 {
		t.Errorf("%d adverts in 200ms at an interval of 20ms while addresses were being added", n)
	}
}

// TestRouterSetMovesAddressBetweenMasters: an address that moves from one
// master instance of the node to another stays on the interface, whichever
// of the two Set updates first. (Deleting Services re-splits a large group
// of addresses: most move to a neighbouring instance.)
func TestRouterSetMovesAddressBetweenMasters(t *testing.T) {
	ctx := context.Background()
	n := newFakeNode(t, &fakeLink{}, "192.0.2.1", "fe80::1", 20*time.Millisecond)
	pair := func(x, y []string) []Instance {
		a, b := vip("x", 100, false, x...), vip("y", 100, false, y...)
		b.VRID = 11
		return []Instance{a, b}
	}
	if err := n.r.Set(ctx, pair([]string{"192.0.2.100"}, []string{"192.0.2.101", "192.0.2.102"})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both master", func() bool { return stateOf(n, "x") == Master && stateOf(n, "y") == Master })
	// x, updated first, takes .101 from y.
	if err := n.r.Set(ctx, pair([]string{"192.0.2.100", "192.0.2.101"}, []string{"192.0.2.102"})); err != nil {
		t.Fatal(err)
	}
	for _, ip := range addrs("192.0.2.100", "192.0.2.101", "192.0.2.102") {
		if !n.addrs.has("eth0", ip) {
			t.Errorf("%s is gone from the interface", ip)
		}
	}
	// y, updated last, takes it back.
	if err := n.r.Set(ctx, pair([]string{"192.0.2.100"}, []string{"192.0.2.101", "192.0.2.102"})); err != nil {
		t.Fatal(err)
	}
	for _, ip := range addrs("192.0.2.100", "192.0.2.101", "192.0.2.102") {
		if !n.addrs.has("eth0", ip) {
			t.Errorf("%s is gone from the interface after it moved back", ip)
		}
	}
}
