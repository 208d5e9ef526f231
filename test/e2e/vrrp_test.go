package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/floatlb/floatlb/announcer/vrrp"
	"github.com/floatlb/floatlb/config"
	"github.com/floatlb/floatlb/test/e2e/lab"
	"github.com/floatlb/floatlb/test/fixture"
)

const vrrpConfig = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: vip
  mode: vrrp
  addresses: [198.19.30.0/24, 2001:db8:300::/120]
vrrp:
  advertInterval: 100ms
`

// TestVRRP: a dual-stack vrrp Service's addresses are held by exactly one
// node each, curl from the LAN host reaches it, and they move on kill -9
// and SIGTERM of the master's announcer; keepalived on the same VRID
// interoperates both ways; Local Services get OpenELB-named instances of
// their own; forged adverts change nothing.
func TestVRRP(t *testing.T) {
	lab.Require(t, "curl", "keepalived")
	c := newCluster(t, vrrpConfig, lab.Options{LANHost: true})
	if err := c.lab.StartHTTPServers(); err != nil {
		t.Fatal(err)
	}
	// The pools are part of the LAN's subnet, as VRRP addresses are.
	for _, p := range []string{"198.19.30.0/24", "2001:db8:300::/120"} {
		if err := c.lab.OnLink(context.Background(), c.lab.LANHost(), netip.MustParsePrefix(p)); err != nil {
			t.Fatal(err)
		}
	}
	c.startCCM()
	c.startAnnouncers()
	all := []string{"node1", "node2", "node3"}

	created := time.Now()
	ips := c.loadBalancer("vip")
	masters := map[netip.Addr]string{}
	for _, ip := range ips {
		masters[ip] = c.waitHolders(ip, 30*time.Second, expectedMaster(t, ip, all))
	}
	t.Logf("Service created → VIPs %v held by %v: %s", ips, masters, time.Since(created).Round(time.Millisecond))
	for _, ip := range ips {
		c.curlReaches(ip, masters[ip], 10*time.Second)
	}
	t.Run("adverts on the wire are VRRPv3 with TTL 255 from the master", func(t *testing.T) {
		ip := familyOf(t, ips, false)
		in := instanceOf(t, ip, all)
		master := c.node(masters[ip])
		got, src, ttl, err := c.captureAdvert(in.VRID, false, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if src != master.IPv4 || ttl != 255 || got.Version != 3 || got.Priority != 250 || !slices.Contains(got.Addresses, ip) {
			t.Errorf("advert for VRID %d: from %s TTL %d version %d priority %d addresses %v; want from %s (%s) TTL 255 version 3 priority 250 with %s",
				in.VRID, src, ttl, got.Version, got.Priority, got.Addresses, master.IPv4, master.Name, ip)
		}
	})
	t.Run("IPv6 adverts are VRRPv3 with hop limit 255 from the master's link-local address, the virtual link-local address first", func(t *testing.T) {
		ip := familyOf(t, ips, true)
		in := instanceOf(t, ip, all)
		master := c.node(masters[ip])
		linkLocal := c.linkLocal(master)
		got, src, hops, err := c.captureAdvert(in.VRID, true, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		want := []netip.Addr{vrrp.LinkLocal(in.VRID), ip}
		if src != linkLocal || hops != 255 || got.Version != 3 || got.Priority != 250 || !slices.Equal(got.Addresses, want) {
			t.Errorf("advert for VRID %d: from %s hop limit %d version %d priority %d addresses %v; want from %s (%s's link-local address) hop limit 255 version 3 priority 250 with %v",
				in.VRID, src, hops, got.Version, got.Priority, got.Addresses, linkLocal, master.Name, want)
		}
	})

	for _, fault := range []struct {
		name string
		do   func(p *lab.Process) error
		// crash: the dead node keeps its VIPs, as after a real crash;
		// else it gives them up.
		crash bool
	}{
		{"kill -9", (*lab.Process).Kill, true},
		{"SIGTERM", (*lab.Process).Stop, false},
	} {
		t.Run(fault.name+" of the master's announcer moves the VIP", func(t *testing.T) {
			// The masters of the IPv4 and the IPv6 instance, one after
			// the other (they may be one node).
			var olds []string
			for _, ip := range ips {
				if !slices.Contains(olds, masters[ip]) {
					olds = append(olds, masters[ip])
				}
			}
			for _, old := range olds {
				c.vrrpFailover(t, fault.name, fault.do, fault.crash, old, ips, masters, all)
			}
		})
	}

	t.Run("keepalived interoperates on the same VRID", func(t *testing.T) {
		ip := ips[0]
		in := instanceOf(t, ip, all)
		master := expectedMaster(t, ip, all)
		began := time.Now()
		ka, err := c.lab.StartKeepalived(c.lab.LANHost(), keepalivedConfig(in, 254))
		if err != nil {
			t.Fatal(err)
		}
		defer ka.Stop()
		c.waitHolders(ip, 20*time.Second, "lanhost")
		c.waitEventSince("vip", "floatlb.io/VRRPBackup", fmt.Sprintf("%s is now VRRP backup of instance %s (VRID %d) for %s: higher-priority", master, in.Name, in.VRID, ip), began, 20*time.Second)
		t.Logf("keepalived at priority 254 is master of VRID %d; no node holds %s", in.VRID, ip)
		if err := ka.Stop(); err != nil && !strings.Contains(err.Error(), "signal") {
			t.Fatal(err)
		}
		c.waitHolders(ip, 20*time.Second, master)

		ka, err = c.lab.StartKeepalived(c.lab.LANHost(), keepalivedConfig(in, 10))
		if err != nil {
			t.Fatal(err)
		}
		defer ka.Stop()
		time.Sleep(3 * time.Second) // many times keepalived's Master_Down_Interval
		c.waitHolders(ip, 5*time.Second, master)
		if strings.Contains(ka.Tail(50), "Entering MASTER STATE") {
			t.Errorf("keepalived at priority 10 became master; its log:\n%s", ka.Tail(50))
		}
	})

	t.Run("a foreign VRRP router on our VRID is named in a Warning Event", func(t *testing.T) {
		ip := ips[0]
		in := instanceOf(t, ip, all)
		other := in
		other.Addresses = []netip.Addr{netip.MustParseAddr("198.19.30.250")}
		before, err := c.metrics(context.Background(), "floatlb_vrrp_foreign_routers_total")
		if err != nil {
			t.Fatal(err)
		}
		// Only a master advertises: at 254 the foreign router wins the
		// election, as RFC 5798 wants, and the Event says why the
		// address went away.
		ka, err := c.lab.StartKeepalived(c.lab.LANHost(), keepalivedConfig(other, 254))
		if err != nil {
			t.Fatal(err)
		}
		defer ka.Stop()
		c.waitEvent("vip", "floatlb.io/VRRPForeignRouter", fmt.Sprintf("advertises VRID %d", in.VRID), 30*time.Second)
		// Every node of the instance hears the foreign router.
		eventually(t, 10*time.Second, "every node counts the foreign router", func(ctx context.Context) error {
			after, err := c.metrics(ctx, "floatlb_vrrp_foreign_routers_total")
			if err != nil {
				return err
			}
			for _, n := range all {
				if after[n]-before[n] != 1 {
					return fmt.Errorf("floatlb_vrrp_foreign_routers_total went from %v to %v", before, after)
				}
			}
			return nil
		})
		if err := ka.Stop(); err != nil {
			t.Fatal(err)
		}
		c.waitHolders(ip, 20*time.Second, expectedMaster(t, ip, all))
	})

	t.Run("Local Services get instances of their endpoint nodes", func(t *testing.T) {
		sets := [][]string{{"node1", "node2"}, {"node2", "node3"}, {"node1", "node3"}, {"node1"}, {"node2"}, {"node3"}}
		seen := map[string]bool{}
		spread := map[string]bool{}
		for i, nodes := range sets {
			name := fmt.Sprintf("local%d", i)
			got := c.loadBalancer(name, func(s *v1.Service) {
				s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
				single := v1.IPFamilyPolicySingleStack
				s.Spec.IPFamilyPolicy = &single
				s.Spec.IPFamilies = []v1.IPFamily{v1.IPv4Protocol}
			})
			c.endpointsOn(name, nodes...)
			in := instanceOf(t, got[0], nodes)
			if seen[in.Name] {
				t.Errorf("two endpoint sets share instance %s", in.Name)
			}
			seen[in.Name] = true
			want := expectedMaster(t, got[0], nodes)
			spread[want] = true
			c.waitHolders(got[0], 30*time.Second, want)
			t.Logf("Local Service %s with endpoints on %v: instance %s, VRID %d, master %s", name, nodes, in.Name, in.VRID, want)
		}
		if len(spread) != 3 {
			t.Errorf("masters of the instances are on %v, want all three nodes", spread)
		}
	})

	t.Run("forged adverts change nothing", func(t *testing.T) {
		ip := ips[0]
		in := instanceOf(t, ip, all)
		master := expectedMaster(t, ip, all)
		// A priority-255 advert from the LAN host claiming the VIP would
		// make every node a backup, were it accepted.
		for _, forge := range []struct {
			name   string
			ttl    int
			bad    bool
			reason string
		}{{"TTL 64", 64, false, "bad-ttl"}, {"bad checksum", 255, true, "bad-checksum"}} {
			series := fmt.Sprintf(`floatlb_vrrp_dropped_packets_total{reason=%q}`, forge.reason)
			before, err := c.series(context.Background(), c.node(master), series)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.sendAdvert(in, ip, forge.ttl, forge.bad, 30); err != nil {
				t.Fatalf("%s: %v", forge.name, err)
			}
			c.waitHolders(ip, 2*time.Second, master)
			eventually(t, 10*time.Second, master+" counts the forged adverts as "+forge.reason, func(ctx context.Context) error {
				after, err := c.series(ctx, c.node(master), series)
				if err != nil {
					return err
				}
				if after-before < 30 {
					return fmt.Errorf("%s went from %v to %v", series, before, after)
				}
				return nil
			})
		}
	})
}

// instanceOf computes the VRRP instance of ip among nodes as every node
// does, on eth0.
func instanceOf(t *testing.T, ip netip.Addr, nodes []string) vrrp.Instance {
	t.Helper()
	ins, err := vrrp.Instances(nodes[0], []vrrp.Claim{{IP: ip, Interface: "eth0", EligibleNodes: nodes, Services: []string{"x"}}}, []uint8{config.DefaultReservedVRID}, nil)
	if err != nil || len(ins) != 1 {
		t.Fatalf("instance of %s among %v: %v, %v", ip, nodes, ins, err)
	}
	return ins[0]
}

// familyOf returns the address of ips of one family.
func familyOf(t *testing.T, ips []netip.Addr, v6 bool) netip.Addr {
	t.Helper()
	for _, ip := range ips {
		if ip.Is6() == v6 {
			return ip
		}
	}
	t.Fatalf("no IPv6=%v address among %v", v6, ips)
	return netip.Addr{}
}

// vrrpFailover stops the announcer of old with do (kill -9 or SIGTERM), and
// checks that each address of ips that old was master of moves to the
// next node, which says so in a VRRPMaster Event and its transitions
// metric; that after a crash old keeps its VIPs and after a SIGTERM it
// holds none; that the other addresses stay. Then it starts old's
// announcer again, which takes its addresses back, the nodes that held
// them saying so in VRRPBackup Events.
func (c *cluster) vrrpFailover(t *testing.T, fault string, do func(*lab.Process) error, crash bool, old string, ips []netip.Addr, masters map[netip.Addr]string, all []string) {
	t.Helper()
	rest := slices.DeleteFunc(slices.Clone(all), func(n string) bool { return n == old })
	type move struct {
		ip     netip.Addr
		in     vrrp.Instance
		to     string
		series []string
		before float64
	}
	var moves []move
	for _, ip := range ips {
		if masters[ip] != old {
			continue
		}
		m := move{ip: ip, in: instanceOf(t, ip, all), to: expectedMaster(t, ip, all, rest...)}
		m.series = []string{fmt.Sprintf("vrrp_instance=%q", m.in.Name), `state="master"`, `reason="master-down"`}
		var err error
		if m.before, err = c.sumSeries(context.Background(), c.node(m.to), "floatlb_vrrp_transitions_total", m.series...); err != nil {
			t.Fatal(err)
		}
		moves = append(moves, m)
	}
	began := time.Now()
	if err := do(c.announcers[old]); err != nil && !strings.Contains(err.Error(), "signal") {
		t.Fatal(err)
	}
	for _, m := range moves {
		if crash {
			// kill -9 leaves the VIP on the dead node's interface, as a
			// crash would: the new master's gratuitous ARP/NA must win.
			c.waitHeldBy(m.ip, 20*time.Second, m.to)
		} else {
			c.waitHolders(m.ip, 20*time.Second, m.to)
		}
		took := time.Since(began)
		c.curlReaches(m.ip, m.to, 10*time.Second)
		t.Logf("%s of %s's announcer: %s holds %s after %s", fault, old, m.to, m.ip, took.Round(time.Millisecond))
		c.waitEventSince("vip", "floatlb.io/VRRPMaster", fmt.Sprintf("%s is now VRRP master of instance %s (VRID %d) for %s: master-down", m.to, m.in.Name, m.in.VRID, m.ip), began, 20*time.Second)
		eventually(t, 10*time.Second, m.to+" counts its takeover", func(ctx context.Context) error {
			after, err := c.sumSeries(ctx, c.node(m.to), "floatlb_vrrp_transitions_total", m.series...)
			if err != nil {
				return err
			}
			if after-m.before != 1 {
				return fmt.Errorf("floatlb_vrrp_transitions_total{%s} went from %v to %v", strings.Join(m.series, ","), m.before, after)
			}
			return nil
		})
	}
	for _, ip := range ips {
		if masters[ip] != old {
			c.waitHolders(ip, 5*time.Second, masters[ip])
		}
	}

	restarted := time.Now()
	c.startAnnouncer(c.node(old))
	for _, ip := range ips {
		c.waitHolders(ip, 30*time.Second, masters[ip])
	}
	for _, m := range moves {
		c.curlReaches(m.ip, old, 10*time.Second)
		c.waitEventSince("vip", "floatlb.io/VRRPBackup", fmt.Sprintf("%s is now VRRP backup of instance %s (VRID %d) for %s: higher-priority", m.to, m.in.Name, m.in.VRID, m.ip), restarted, 20*time.Second)
	}
}

// expectedMaster is the node with the highest priority for the instance
// of ip among nodes: of running, when given, else of nodes.
func expectedMaster(t *testing.T, ip netip.Addr, nodes []string, running ...string) string {
	t.Helper()
	if len(running) == 0 {
		running = nodes
	}
	master, err := fixture.VRRPMaster(ip, "eth0", nodes, running)
	if err != nil {
		t.Fatal(err)
	}
	return master
}

// holders returns the hosts (nodes and the LAN host) that have ip on eth0.
func (c *cluster) holders(ctx context.Context, ip netip.Addr) ([]string, error) {
	hosts := c.lab.Nodes()
	if c.lab.LANHost() != nil {
		hosts = append(hosts, c.lab.LANHost())
	}
	var out []string
	for _, h := range hosts {
		addrs, err := c.lab.Addrs(ctx, h, h.Interface)
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			if a.Addr() == ip {
				out = append(out, h.Name)
			}
		}
	}
	return out, nil
}

// waitHolders waits until exactly want holds ip, and returns want.
func (c *cluster) waitHolders(ip netip.Addr, timeout time.Duration, want string) string {
	c.t.Helper()
	eventually(c.t, timeout, fmt.Sprintf("only %s holds %s", want, ip), func(ctx context.Context) error {
		got, err := c.holders(ctx, ip)
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0] != want {
			return fmt.Errorf("held by %v", got)
		}
		return nil
	})
	return want
}

// waitHeldBy waits until want holds ip, whoever else still does (a killed
// announcer leaves its VIP behind).
func (c *cluster) waitHeldBy(ip netip.Addr, timeout time.Duration, want string) {
	c.t.Helper()
	eventually(c.t, timeout, fmt.Sprintf("%s holds %s", want, ip), func(ctx context.Context) error {
		got, err := c.holders(ctx, ip)
		if err != nil {
			return err
		}
		if !slices.Contains(got, want) {
			return fmt.Errorf("held by %v", got)
		}
		return nil
	})
}

// curlReaches waits until curl from the LAN host to ip answers with node.
func (c *cluster) curlReaches(ip netip.Addr, node string, timeout time.Duration) {
	c.t.Helper()
	eventually(c.t, timeout, fmt.Sprintf("curl %s from the LAN host reaches %s", ip, node), func(ctx context.Context) error {
		got, err := c.lab.Curl(ctx, c.lab.LANHost(), lab.URL(ip, 80))
		if err != nil {
			return err
		}
		if got != node {
			return fmt.Errorf("reached %s", got)
		}
		return nil
	})
}

// endpointsOn gives Service name a ready endpoint on each of nodes.
func (c *cluster) endpointsOn(name string, nodes ...string) {
	c.t.Helper()
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: name + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for i, n := range nodes {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{fmt.Sprintf("198.18.200.%d", i+1)}, NodeName: ptr.To(n),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
		})
	}
	if _, err := c.client.DiscoveryV1().EndpointSlices("default").Create(context.Background(), slice, metav1.CreateOptions{}); err != nil {
		c.t.Fatal(err)
	}
}

// keepalivedConfig is a keepalived VRRPv3 instance on in's VRID with in's
// address, at priority prio, advertising every 100 ms as the nodes do.
func keepalivedConfig(in vrrp.Instance, prio int) string {
	var addrs strings.Builder
	for _, a := range in.Addresses {
		fmt.Fprintf(&addrs, "    %s/32\n", a)
	}
	return fmt.Sprintf(`global_defs {
  router_id floatlb-e2e
  vrrp_version 3
}
vrrp_instance floatlb {
  state BACKUP
  interface eth0
  virtual_router_id %d
  priority %d
  advert_int 0.1
  virtual_ipaddress {
%s  }
}
`, in.VRID, prio, addrs.String())
}

// sendAdvert sends n priority-255 adverts for in claiming ip from the LAN
// host, with the given TTL and, if bad, a broken checksum.
func (c *cluster) sendAdvert(in vrrp.Instance, ip netip.Addr, ttl int, bad bool, n int) error {
	lan := c.lab.LANHost()
	a := vrrp.Advert{Version: vrrp.Version, Type: vrrp.TypeAdvertisement, VRID: in.VRID, Priority: 255,
		MaxAdvertInterval: 100 * time.Millisecond, Addresses: []netip.Addr{ip}}
	b, err := a.Marshal(lan.IPv4, vrrp.GroupIPv4)
	if err != nil {
		return err
	}
	if bad {
		b[6] ^= 0xff
	}
	return c.lab.InNamespace(lan, func() error {
		conn, err := net.ListenPacket("ip4:112", lan.IPv4.String())
		if err != nil {
			return err
		}
		defer conn.Close()
		rc, err := conn.(*net.IPConn).SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = setMulticastTTL(int(fd), ttl) }); err != nil {
			return err
		}
		if serr != nil {
			return serr
		}
		dst := &net.IPAddr{IP: net.IP(vrrp.GroupIPv4.AsSlice())}
		for i := 0; i < n; i++ {
			if _, err := conn.WriteTo(b, dst); err != nil {
				return err
			}
			time.Sleep(50 * time.Millisecond)
		}
		return nil
	})
}

// captureAdvert reads, at the LAN host, the next VRRP advert of the
// family for vrid, and returns it with its source and TTL or hop limit.
func (c *cluster) captureAdvert(vrid uint8, v6 bool, timeout time.Duration) (ad vrrp.Advert, src netip.Addr, ttl int, err error) {
	lan := c.lab.LANHost()
	network, listen, group := "ip4:112", "0.0.0.0", vrrp.GroupIPv4
	if v6 {
		network, listen, group = "ip6:112", "::", vrrp.GroupIPv6
	}
	err = c.lab.InNamespace(lan, func() error {
		conn, err := net.ListenPacket(network, listen)
		if err != nil {
			return err
		}
		defer conn.Close()
		ifi, err := net.InterfaceByName(lan.Interface)
		if err != nil {
			return err
		}
		// read returns one message with its source and TTL / hop limit.
		var read func(b []byte) (int, net.Addr, int, error)
		if v6 {
			pc := ipv6.NewPacketConn(conn)
			if err := pc.JoinGroup(ifi, &net.IPAddr{IP: net.IP(group.AsSlice())}); err != nil {
				return err
			}
			if err := pc.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst, true); err != nil {
				return err
			}
			read = func(b []byte) (int, net.Addr, int, error) {
				n, cm, from, err := pc.ReadFrom(b)
				if err != nil || cm == nil {
					return n, from, -1, err
				}
				return n, from, cm.HopLimit, nil
			}
		} else {
			pc := ipv4.NewPacketConn(conn)
			if err := pc.JoinGroup(ifi, &net.IPAddr{IP: net.IP(group.AsSlice())}); err != nil {
				return err
			}
			if err := pc.SetControlMessage(ipv4.FlagTTL|ipv4.FlagSrc|ipv4.FlagDst, true); err != nil {
				return err
			}
			read = func(b []byte) (int, net.Addr, int, error) {
				n, cm, from, err := pc.ReadFrom(b)
				if err != nil || cm == nil {
					return n, from, -1, err
				}
				return n, from, cm.TTL, nil
			}
		}
		if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return err
		}
		buf := make([]byte, 1500)
		for {
			n, from, hops, err := read(buf)
			if err != nil {
				return fmt.Errorf("no advert for VRID %d: %w", vrid, err)
			}
			s, _ := netip.AddrFromSlice(from.(*net.IPAddr).IP)
			s = s.Unmap()
			a, err := vrrp.Parse(buf[:n], s, group)
			if err != nil || a.VRID != vrid {
				continue
			}
			ad, src, ttl = a, s, hops
			return nil
		}
	})
	return ad, src, ttl, err
}

// linkLocal returns the link-local address of node's eth0: its own, not a
// virtual one of a VRRP instance.
func (c *cluster) linkLocal(node *lab.Host) netip.Addr {
	c.t.Helper()
	addrs, err := c.lab.Addrs(context.Background(), node, node.Interface)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, a := range addrs {
		if _, virtual := vrrp.VirtualLinkLocalVRID(a.Addr()); a.Addr().IsLinkLocalUnicast() && a.Addr().Is6() && !virtual {
			return a.Addr()
		}
	}
	c.t.Fatalf("%s has no link-local address on %s: %v", node, node.Interface, addrs)
	return netip.Addr{}
}

// waitEventSince waits until the Service default/name has an Event of
// reason whose message contains text, last seen at since or later (to
// the second, as Events record it).
func (c *cluster) waitEventSince(name, reason, text string, since time.Time, timeout time.Duration) {
	c.t.Helper()
	since = since.Truncate(time.Second)
	eventually(c.t, timeout, fmt.Sprintf("Event %s on %s saying %q since %s", reason, name, text, since.Format(time.TimeOnly)), func(ctx context.Context) error {
		evs, err := c.client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
		if err != nil {
			return err
		}
		var seen []string
		for _, e := range evs.Items {
			last := e.LastTimestamp.Time
			if e.Series != nil {
				last = e.Series.LastObservedTime.Time
			}
			if last.IsZero() {
				last = e.EventTime.Time
			}
			if e.Reason == reason && strings.Contains(e.Message, text) && !last.Before(since) {
				return nil
			}
			seen = append(seen, fmt.Sprintf("%s %s: %s", last.Format(time.TimeOnly), e.Reason, e.Message))
		}
		return fmt.Errorf("the Events are %q", seen)
	})
}
