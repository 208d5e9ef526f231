package vrrp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// labRouter is a Router with real sockets and netlink in a lab node.
type labRouter struct {
	r   *Router
	obs *recorder
	ns  string
}

// router starts a Router in the lab namespace name; it is closed when
// the test ends, before the namespace goes.
func (l *lab) router(name string, interval time.Duration) *labRouter {
	l.t.Helper()
	var c4, c6 Conn
	err := l.inNetns(name, func() error {
		var err error
		if c4, err = ListenIPv4(); err != nil {
			return err
		}
		c6, err = ListenIPv6()
		return err
	})
	if err != nil {
		l.t.Fatalf("opening sockets in %s: %v", name, err)
	}
	nsh, err := netns.GetFromName(l.ns(name))
	if err != nil {
		l.t.Fatal(err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(h.Close)
	addrs := NetlinkAddresses{Handle: h}
	lr := &labRouter{obs: &recorder{}, ns: name}
	lr.r = New(Options{IPv4: c4, IPv6: c6, Addresses: addrs, InterfaceIndex: addrs.InterfaceIndex,
		Observer: lr.obs, AdvertInterval: interval})
	l.t.Cleanup(func() { _ = lr.r.Close(context.Background()) })
	return lr
}

// hasAddr reports whether eth0 of namespace name holds ip.
func (l *lab) hasAddr(name string, ip string) bool {
	l.t.Helper()
	out := l.ip("-n", l.ns(name), "-o", "addr", "show", "dev", "eth0")
	return strings.Contains(out, " "+ip+"/")
}

func (lr *labRouter) state(name string) State { return lr.r.States()[name] }

// labInstances are the IPv4 and IPv6 instances of the lab tests, as
// labKeepalived configures them too.
func labInstances(prio uint8) []Instance {
	return []Instance{
		{Name: "x", Interface: "eth0", VRID: 10, Priority: prio, Addresses: addrs("192.0.2.100", "192.0.2.101")},
		{Name: "x-v6", Interface: "eth0", VRID: 10, Priority: prio, IPv6: true, LinkLocal: LinkLocal(10), Addresses: addrs("2001:db8::100")},
	}
}

func labNodes(l *lab, names ...string) {
	for i, name := range names {
		l.node(name, fmt.Sprintf("192.0.2.%d/24", i+1), fmt.Sprintf("2001:db8::%d/64", i+1))
	}
}

// TestNetnsElectionAndFailover runs two Routers in two namespaces on one
// bridge: the one of priority 250 becomes master of both families and
// holds the VIPs; closing it hands them over after Skew_Time, well before
// Master_Down_Interval.
func TestNetnsElectionAndFailover(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	labNodes(l, "n1", "n2")
	const interval = time.Second
	n1, n2 := l.router("n1", interval), l.router("n2", interval)
	ctx := context.Background()
	if err := n1.r.Set(ctx, labInstances(250)); err != nil {
		t.Fatal(err)
	}
	if err := n2.r.Set(ctx, labInstances(200)); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"x", "x-v6"} {
		waitFor(t, "n1 master of "+in, func() bool { return n1.state(in) == Master && n2.state(in) == Backup })
	}
	time.Sleep(2 * interval)
	for _, in := range []string{"x", "x-v6"} {
		if n2.state(in) != Backup {
			t.Fatalf("n2 is %s of %s while n1 is master", n2.state(in), in)
		}
	}
	for _, ip := range []string{"192.0.2.100", "192.0.2.101", "2001:db8::100", "fe80::1:a"} {
		if !l.hasAddr("n1", ip) || l.hasAddr("n2", ip) {
			t.Errorf("%s on n1: %v, on n2: %v; want on n1 only", ip, l.hasAddr("n1", ip), l.hasAddr("n2", ip))
		}
	}
	if n := n2.obs.drops(ReasonBadTTL) + n2.obs.drops(ReasonBadChecksum) + n2.obs.drops(ReasonMalformed); n != 0 {
		t.Errorf("n2 dropped %d of n1's adverts: %v", n, n2.obs.dropped)
	}
	if f := n2.obs.foreignFrom(); len(f) != 0 {
		t.Errorf("n2 took n1's adverts for foreign: %v", f)
	}

	start := time.Now()
	if err := n1.r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"x", "x-v6"} {
		waitFor(t, "n2 master of "+in, func() bool { return n2.state(in) == Master })
	}
	if took := time.Since(start); took > interval {
		t.Errorf("failover took %s; with priority 0 it should take about Skew_Time, not Master_Down_Interval (%s)", took, 3*interval)
	}
	t.Logf("failover after Close took %s", time.Since(start))
	for _, ip := range []string{"192.0.2.100", "2001:db8::100"} {
		if l.hasAddr("n1", ip) || !l.hasAddr("n2", ip) {
			t.Errorf("after failover %s on n1: %v, on n2: %v; want on n2 only", ip, l.hasAddr("n1", ip), l.hasAddr("n2", ip))
		}
	}
}

// keepalived starts keepalived (vrrp_version 3) in namespace name with
// the instances of labInstances at priority prio, starting as backup.
func (l *lab) keepalived(name string, prio int) *proc {
	l.t.Helper()
	bin, err := exec.LookPath("keepalived")
	if err != nil {
		l.t.Skip("needs keepalived")
	}
	conf := fmt.Sprintf(`global_defs {
  router_id floatlb-%[1]s
  vrrp_version 3
}
vrrp_instance x {
  state BACKUP
  interface eth0
  virtual_router_id 10
  priority %[2]d
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/32
    192.0.2.101/32
  }
}
vrrp_instance x6 {
  native_ipv6
  state BACKUP
  interface eth0
  virtual_router_id 10
  priority %[2]d
  advert_int 1
  virtual_ipaddress {
    fe80::1:a/64
    2001:db8::100/128
  }
}
`, name, prio)
	dir := filepath.Join(l.dir, fmt.Sprintf("%s-%d", name, prio))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		l.t.Fatal(err)
	}
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		l.t.Fatal(err)
	}
	return l.start(name, bin, "--dont-fork", "--log-console", "--vrrp", "-f", path,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"))
}

// TestNetnsKeepalived runs keepalived (vrrp_version 3, same VRIDs and
// addresses) next to two Routers: at priority 254 it preempts their
// master and holds the VIPs, and its shutdown hands them back at once; at
// priority 50 it stays backup.
func TestNetnsKeepalived(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	labNodes(l, "n1", "n2", "ka")
	const interval = time.Second
	n1, n2 := l.router("n1", interval), l.router("n2", interval)
	ctx := context.Background()
	if err := n1.r.Set(ctx, labInstances(250)); err != nil {
		t.Fatal(err)
	}
	if err := n2.r.Set(ctx, labInstances(200)); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"x", "x-v6"} {
		waitFor(t, "n1 master of "+in, func() bool { return n1.state(in) == Master })
	}

	t.Run("keepalived at 254 takes over", func(t *testing.T) {
		ka := l.keepalived("ka", 254)
		for _, in := range []string{"x", "x-v6"} {
			waitFor(t, "n1 and n2 backup of "+in, func() bool { return n1.state(in) == Backup && n2.state(in) == Backup })
		}
		waitFor(t, "the VIPs on keepalived's node", func() bool {
			return l.hasAddr("ka", "192.0.2.100") && l.hasAddr("ka", "2001:db8::100")
		})
		time.Sleep(2 * interval)
		for _, ip := range []string{"192.0.2.100", "2001:db8::100"} {
			if l.hasAddr("n1", ip) || l.hasAddr("n2", ip) {
				t.Errorf("%s stays on n1 (%v) or n2 (%v) under keepalived's master", ip, l.hasAddr("n1", ip), l.hasAddr("n2", ip))
			}
		}
		for _, n := range []*labRouter{n1, n2} {
			if f := n.obs.foreignFrom(); len(f) != 0 {
				t.Errorf("%s calls keepalived's adverts foreign: %v", n.ns, f)
			}
			if d := n.obs.drops(ReasonBadChecksum) + n.obs.drops(ReasonBadTTL) + n.obs.drops(ReasonMalformed) + n.obs.drops(ReasonWrongFamily); d != 0 {
				t.Errorf("%s dropped keepalived's adverts: %v", n.ns, n.obs.dropped)
			}
		}
		complaints(t, ka.out.String())

		start := time.Now()
		ka.stop() // SIGTERM: keepalived sends priority 0
		for _, in := range []string{"x", "x-v6"} {
			waitFor(t, "n1 master of "+in+" again", func() bool { return n1.state(in) == Master && n2.state(in) == Backup })
		}
		if took := time.Since(start); took > interval+interval/2 {
			t.Errorf("taking over from keepalived took %s, want about Skew_Time after its priority 0 advert", took)
		}
		if !l.hasAddr("n1", "192.0.2.100") || !l.hasAddr("n1", "2001:db8::100") {
			t.Errorf("n1 lacks the VIPs after keepalived stopped")
		}
	})

	t.Run("keepalived at 50 stays backup", func(t *testing.T) {
		ka := l.keepalived("ka", 50)
		time.Sleep(5 * interval) // longer than keepalived's Master_Down_Interval
		for _, in := range []string{"x", "x-v6"} {
			if s := n1.state(in); s != Master {
				t.Errorf("n1 is %s of %s next to a keepalived of priority 50", s, in)
			}
		}
		if l.hasAddr("ka", "192.0.2.100") || l.hasAddr("ka", "2001:db8::100") {
			t.Errorf("keepalived took a VIP at priority 50")
		}
		log := ka.out.String()
		complaints(t, log)
		if strings.Contains(log, "Entering MASTER STATE") || !strings.Contains(log, "Entering BACKUP STATE") {
			t.Errorf("keepalived did not stay backup; its log:\n%s", log)
		}
	})
}

// complaints fails t for lines of keepalived's log that find fault with
// the Routers' adverts.
func complaints(t *testing.T, log string) {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		l := strings.ToLower(line)
		for _, word := range []string{"invalid", "mismatch", "checksum", "ttl", "malformed", "wrong"} {
			if strings.Contains(l, word) {
				t.Errorf("keepalived complains: %s", line)
				break
			}
		}
	}
}
