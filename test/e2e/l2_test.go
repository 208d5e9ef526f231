package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/floatlb/floatlb/test/e2e/lab"
)

const l2Config = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: lan
  mode: l2
  addresses: [198.19.20.0/24, 2001:db8:200::/120]
l2:
  leaseDuration: 2s
`

// The l2 pool: the LAN host and the router have it on their link.
var l2Pools = []netip.Prefix{netip.MustParsePrefix("198.19.20.0/24"), netip.MustParsePrefix("2001:db8:200::/120")}

const l2LeaseDuration = 2 * time.Second

// TestL2: exactly one node, the one rendezvous hashing ranks first, answers
// ARP and NDP for each address of an l2 Service, and curl from the LAN
// reaches it; when its announcer is killed or stopped or its link goes
// down, the next node takes over and its gratuitous ARP / unsolicited NA
// alone moves the LAN host; 30 Services spread over all nodes; an API
// server outage moves nothing; addresses no Service holds, or outside the
// pools, are never answered.
func TestL2(t *testing.T) {
	lab.Require(t, "arping", "ndisc6", "curl")
	began := time.Now()
	c := newCluster(t, l2Config, lab.Options{LANHost: true})
	ctx := context.Background()
	for _, h := range []*lab.Host{c.lab.LANHost(), c.lab.Router()} {
		for _, p := range l2Pools {
			if err := c.lab.OnLink(ctx, h, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c.lab.StartHTTPServers(); err != nil {
		t.Fatal(err)
	}
	c.startCCM()
	c.startAnnouncers()
	c.waitL2Ready(60 * time.Second)
	logSince(t, began, "lab, API server, CCM and announcers with their Leases ready")

	all := c.nodeNames()
	vip4, vip6 := pickL2Pair(all)
	first := owner(vip4, all...)
	second := owner(vip4, c.nodeNames(first)...)
	created := time.Now()
	ips := c.loadBalancer("web", func(s *v1.Service) {
		s.Annotations["floatlb.io/load-balancer-ips"] = vip4.String() + "," + vip6.String()
	})
	if !slices.Equal(ips, []netip.Addr{vip4, vip6}) {
		t.Fatalf("Service web got %v, asked for %s and %s", ips, vip4, vip6)
	}
	for _, ip := range ips {
		c.acceptVIP(ip)
	}
	lan := c.lab.LANHost()

	t.Run("one node answers ARP and NDP for a dual-stack Service", func(t *testing.T) {
		c.sub(t)
		for _, ip := range ips {
			c.waitAnswerers(ip, 30*time.Second, first)
		}
		logSince(t, created, "Service created → %s alone answers for %v", first, ips)
		for _, n := range c.lab.Nodes() {
			addrs, err := c.lab.Addrs(ctx, n, "eth0")
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range addrs {
				if slices.Contains(ips, a.Addr()) {
					t.Errorf("%s has %s on eth0: l2 mode must not add the address to the interface", n, a)
				}
			}
		}
		for _, ip := range ips {
			c.reaches(lan, ip, first, 15*time.Second)
			c.reaches(c.lab.Client(), ip, first, 15*time.Second) // via the router, which asks the LAN too
			if got, err := c.lanNeighbor(ctx, ip); err != nil || got != first {
				t.Errorf("the LAN host sends %s to %s (%v), want %s", ip, got, err, first)
			}
			c.waitEvent("web", "floatlb.io/Announced", fmt.Sprintf("%s now answers ARP/NDP for %s", first, ip), 20*time.Second)
		}
	})

	victim := c.node(first)
	t.Run("failover", func(t *testing.T) {
		c.sub(t)
		t.Run("kill -9", func(t *testing.T) {
			c.failover(t, ips, first, second, "lease expired",
				func() error { return c.announcers[first].Kill() },
				func() error { c.startAnnouncer(victim); return nil })
		})
		t.Run("SIGTERM", func(t *testing.T) {
			c.failover(t, ips, first, second, "lease released",
				func() error { return c.announcers[first].Stop() },
				func() error { c.startAnnouncer(victim); return nil })
		})
		t.Run("link down", func(t *testing.T) {
			restored := false
			t.Cleanup(func() {
				if !restored {
					_ = c.lab.LinkUp(context.Background(), victim)
				}
			})
			c.failover(t, ips, first, second, "lease released",
				func() error { return c.lab.LinkDown(ctx, victim) },
				func() error { restored = true; return c.lab.LinkUp(ctx, victim) })
		})
	})

	t.Run("30 Services spread over the nodes", func(t *testing.T) {
		c.sub(t)
		created := time.Now()
		many := c.singleStackServices("many", 30)
		logSince(t, created, "30 Services created and given addresses")
		want := map[netip.Addr]string{}
		perNode := map[string]float64{}
		for _, ip := range append(slices.Clone(many), ips...) {
			want[ip] = owner(ip, all...)
			perNode[want[ip]]++
		}
		for _, n := range all {
			if perNode[n] == 0 {
				t.Fatalf("rendezvous hashing gives %s none of %v: pick other addresses", n, many)
			}
		}
		eventually(t, 60*time.Second, "every address answered by its owner alone", func(ctx context.Context) error {
			got, err := c.sweep(ctx, many)
			if err != nil {
				return err
			}
			if d := sweepDiff(got, pick(want, many)); d != "" {
				return fmt.Errorf("%s", d)
			}
			return nil
		})
		logSince(t, created, "30 Services created → each address answered by its owner alone")
		eventually(t, 30*time.Second, "floatlb_l2_owned_addresses of each node", func(ctx context.Context) error {
			got, err := c.metrics(ctx, "floatlb_l2_owned_addresses")
			if err != nil {
				return err
			}
			if fmt.Sprint(got) != fmt.Sprint(perNode) {
				return fmt.Errorf("nodes own %v, want %v", got, perNode)
			}
			return nil
		})
		t.Logf("owned addresses by node: %v", perNode)
	})

	t.Run("an API server outage moves no address", func(t *testing.T) {
		c.sub(t)
		many, err := c.serviceIPs(ctx, "many-")
		if err != nil {
			t.Fatal(err)
		}
		all32 := append(many, ips...)
		want := map[netip.Addr]string{}
		for _, ip := range all32 {
			want[ip] = owner(ip, all...)
		}
		changes, err := c.metrics(ctx, "floatlb_l2_owner_changes_total")
		if err != nil {
			t.Fatal(err)
		}
		// SIGTERM, SIGKILL a second later: gone, not draining requests.
		stopCtx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		stopping := time.Now()
		if err := c.env.StopAPIServer(stopCtx); err != nil {
			t.Fatal(err)
		}
		stopped := time.Now()
		restarted := false
		t.Cleanup(func() {
			if !restarted {
				_ = c.env.StartAPIServer(context.Background())
			}
		})
		logSince(t, stopping, "kube-apiserver stopped")
		const outage = 20 * time.Second
		sweeps := 0
		for sweeps == 0 || time.Since(stopped) < outage {
			got, err := c.sweep(ctx, all32)
			if err != nil {
				t.Fatal(err)
			}
			if d := sweepDiff(got, want); d != "" {
				t.Fatalf("%s into the outage: %s", time.Since(stopped).Round(time.Millisecond), d)
			}
			c.reaches(lan, vip4, first, 5*time.Second)
			sweeps++
		}
		t.Logf("%d sweeps of %d addresses in %s without the API server: each answered by its owner alone",
			sweeps, len(all32), time.Since(stopped).Round(time.Millisecond))
		failures, err := c.metrics(ctx, "floatlb_l2_lease_renewal_failures_total")
		if err != nil {
			t.Fatal(err)
		}
		for n, f := range failures {
			if f == 0 {
				t.Errorf("%s counted no failed Lease renewal during the outage", n)
			}
		}
		startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		starting := time.Now()
		restarted = true
		if err := c.env.StartAPIServer(startCtx); err != nil {
			t.Fatal(err)
		}
		logSince(t, starting, "kube-apiserver back after %s; it took", time.Since(stopped).Round(time.Millisecond))
		// Every announcer sees the Leases again; none may look expired.
		eventually(t, 30*time.Second, "every announcer renews its Lease again", func(ctx context.Context) error {
			return c.leasesHeld(ctx, time.Now().Add(-2*l2LeaseDuration))
		})
		for settled := time.Now(); time.Since(settled) < 3*l2LeaseDuration; {
			got, err := c.sweep(ctx, all32)
			if err != nil {
				t.Fatal(err)
			}
			if d := sweepDiff(got, want); d != "" {
				t.Fatalf("%s after the API server came back: %s", time.Since(starting).Round(time.Millisecond), d)
			}
		}
		after, err := c.metrics(ctx, "floatlb_l2_owner_changes_total")
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(after) != fmt.Sprint(changes) {
			t.Errorf("floatlb_l2_owner_changes_total went from %v to %v: addresses moved during or after the outage", changes, after)
		}
	})

	t.Run("no answer for addresses no Service holds or outside the pools", func(t *testing.T) {
		c.sub(t)
		free4, free6 := mustAddr("198.19.20.200"), mustAddr("2001:db8:200::c8")
		outside4, outside6 := mustAddr("198.19.21.200"), mustAddr("2001:db8:201::c8")
		inside4 := mustAddr("198.19.20.250")
		for _, ip := range []netip.Addr{free4, free6, outside4, outside6, inside4} {
			c.acceptVIP(ip) // the nodes' kernels would take the packets: only the announcers decide
		}
		c.expectNoAnswer(ctx, free4, free6)

		stopping := time.Now()
		c.ccm.stop() // nothing may rewrite the status below
		logSince(t, stopping, "floatlb-ccm stopped")
		no := false
		dual := v1.IPFamilyPolicyPreferDualStack
		svc := &v1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "forged"},
			Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, AllocateLoadBalancerNodePorts: &no,
				IPFamilyPolicy: &dual, Ports: []v1.ServicePort{{Port: 80}}},
		}
		created, err := c.client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		created.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{
			{IP: outside4.String()}, {IP: outside6.String()}, {IP: inside4.String()}}
		if _, err := c.client.CoreV1().Services("default").UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		// The in-pool address is answered, so the announcers have seen the status.
		insideOwner := owner(inside4, all...)
		c.waitAnswerers(inside4, 30*time.Second, insideOwner)
		c.expectNoAnswer(ctx, outside4, outside6, free4, free6)
		refused, err := c.metrics(ctx, "floatlb_announcer_refused_addresses_total")
		if err != nil {
			t.Fatal(err)
		}
		for n, r := range refused {
			if r < 2 {
				t.Errorf("%s counted %v refused addresses, want the 2 outside the pools", n, r)
			}
		}

		// After a failover, one node answers again, and still nobody for
		// the others.
		killed := time.Now()
		if err := c.announcers[insideOwner].Kill(); err != nil {
			t.Fatal(err)
		}
		next := owner(inside4, c.nodeNames(insideOwner)...)
		c.waitAnswerers(inside4, 30*time.Second, next)
		logSince(t, killed, "kill -9 of %s → %s alone answers for %s", insideOwner, next, inside4)
		c.expectNoAnswer(ctx, outside4, outside6, free4, free6)
		c.waitAnswerers(vip4, 30*time.Second, owner(vip4, c.nodeNames(insideOwner)...))
		c.waitAnswerers(vip6, 30*time.Second, owner(vip6, c.nodeNames(insideOwner)...))
	})
	logSince(t, began, "TestL2 in all")
}

// failover breaks from, the owner of ips, with fault and waits until the
// LAN host's kernel sends ips' packets to to. Only to's gratuitous ARP and
// unsolicited Neighbor Advertisement can move it there: the test sends
// nothing to the LAN host's kernel meanwhile and never flushes its
// neighbour cache. Then curl reaches to, which alone answers and says why
// in an Event. restore mends from, and ips go back to it.
func (c *cluster) failover(t *testing.T, ips []netip.Addr, from, to, reason string, fault, restore func() error) {
	c.sub(t)
	ctx := context.Background()
	lan := c.lab.LANHost()
	for _, ip := range ips {
		c.waitAnswerers(ip, 30*time.Second, from)
		c.reaches(lan, ip, from, 15*time.Second)
		if got, err := c.lanNeighbor(ctx, ip); err != nil || got != from {
			t.Fatalf("before the failover the LAN host sends %s to %s (%v), want %s", ip, got, err, from)
		}
	}

	broke := time.Now()
	if err := fault(); err != nil {
		t.Fatal(err)
	}
	moved := map[netip.Addr]time.Duration{}
	eventually(t, 30*time.Second, fmt.Sprintf("the LAN host sends %v to %s", ips, to), func(ctx context.Context) error {
		for _, ip := range ips {
			if _, ok := moved[ip]; ok {
				continue
			}
			got, err := c.lanNeighbor(ctx, ip)
			if err != nil {
				return err
			}
			if got != to {
				return fmt.Errorf("%s still goes to %s", ip, got)
			}
			moved[ip] = time.Since(broke)
		}
		return nil
	})
	var report []string
	for _, ip := range ips {
		c.reaches(lan, ip, to, 15*time.Second)
		report = append(report, fmt.Sprintf("%s: LAN host moved after %s, curl reached %s after %s",
			ip, moved[ip].Round(time.Millisecond), to, time.Since(broke).Round(time.Millisecond)))
	}
	t.Logf("%s → %s", t.Name(), strings.Join(report, "; "))
	for _, ip := range ips {
		c.waitAnswerers(ip, 15*time.Second, to)
		c.reaches(c.lab.Client(), ip, to, 15*time.Second)
		c.waitEvent("web", "floatlb.io/Announced", fmt.Sprintf("%s now answers ARP/NDP for %s (was %s: %s)", to, ip, from, reason), 20*time.Second)
	}

	restored := time.Now()
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, fmt.Sprintf("the LAN host sends %v to %s again", ips, from), func(ctx context.Context) error {
		for _, ip := range ips {
			got, err := c.lanNeighbor(ctx, ip)
			if err != nil {
				return err
			}
			if got != from {
				return fmt.Errorf("%s goes to %s", ip, got)
			}
		}
		return nil
	})
	for _, ip := range ips {
		c.waitAnswerers(ip, 30*time.Second, from)
	}
	logSince(t, restored, "%s mended → %v back on it", from, ips)
}

// pickL2Pair returns an IPv4 and an IPv6 address of the l2 pool that the
// same node owns while nodes are live, and the same other node once that
// one is gone: one failover then moves both to a known node.
func pickL2Pair(nodes []string) (netip.Addr, netip.Addr) {
	for i := 100; i < 200; i++ {
		v4 := netip.AddrFrom4([4]byte{198, 19, 20, byte(i)})
		o := owner(v4, nodes...)
		next := owner(v4, slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return n == o })...)
		for j := 0x64; j < 0xc0; j++ {
			v6 := netip.MustParseAddr(fmt.Sprintf("2001:db8:200::%x", j))
			if owner(v6, nodes...) == o && owner(v6, slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return n == o })...) == next {
				return v4, v6
			}
		}
	}
	panic("no pair of l2 addresses with the same owners")
}

// pick returns m's entries for keys.
func pick(m map[netip.Addr]string, keys []netip.Addr) map[netip.Addr]string {
	out := map[netip.Addr]string{}
	for _, k := range keys {
		out[k] = m[k]
	}
	return out
}

// waitL2Ready waits until every announcer is ready and holds its Lease.
func (c *cluster) waitL2Ready(timeout time.Duration) {
	c.t.Helper()
	eventually(c.t, timeout, "every announcer ready, holding its Lease", func(ctx context.Context) error {
		for _, n := range c.lab.Nodes() {
			url := "http://" + netip.AddrPortFrom(n.Mgmt4, 7475).String() + "/readyz"
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %s", url, resp.Status)
			}
		}
		return c.leasesHeld(ctx, time.Time{})
	})
}

// leasesHeld checks that every node's announcer holds its Lease, renewed
// after since.
func (c *cluster) leasesHeld(ctx context.Context, since time.Time) error {
	for _, n := range c.lab.Nodes() {
		name := "floatlb-announcer-" + n.Name
		l, err := c.client.CoordinationV1().Leases(configNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != n.Name {
			return fmt.Errorf("Lease %s is not held by %s", name, n.Name)
		}
		if l.Spec.RenewTime == nil || l.Spec.RenewTime.Time.Before(since) {
			return fmt.Errorf("Lease %s was last renewed at %v", name, l.Spec.RenewTime)
		}
	}
	return nil
}

// singleStackServices creates n IPv4 LoadBalancer Services named
// prefix-00… and returns their addresses once all have one.
func (c *cluster) singleStackServices(prefix string, n int) []netip.Addr {
	c.t.Helper()
	no := false
	single := v1.IPFamilyPolicySingleStack
	for i := range n {
		svc := &v1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("%s-%02d", prefix, i)},
			Spec: v1.ServiceSpec{
				Type:                          v1.ServiceTypeLoadBalancer,
				IPFamilyPolicy:                &single,
				IPFamilies:                    []v1.IPFamily{v1.IPv4Protocol},
				AllocateLoadBalancerNodePorts: &no,
				Ports:                         []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80}},
			},
		}
		if _, err := c.client.CoreV1().Services("default").Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
			c.t.Fatal(err)
		}
	}
	var ips []netip.Addr
	eventually(c.t, 60*time.Second, fmt.Sprintf("%d Services get their addresses", n), func(ctx context.Context) error {
		var err error
		ips, err = c.serviceIPs(ctx, prefix+"-")
		if err != nil {
			return err
		}
		if len(ips) != n {
			return fmt.Errorf("%d of %d have an address", len(ips), n)
		}
		return nil
	})
	return ips
}

// serviceIPs returns the addresses in the status of the Services whose
// names start with prefix.
func (c *cluster) serviceIPs(ctx context.Context, prefix string) ([]netip.Addr, error) {
	list, err := c.client.CoreV1().Services("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	for _, s := range list.Items {
		if !strings.HasPrefix(s.Name, prefix) {
			continue
		}
		for _, in := range s.Status.LoadBalancer.Ingress {
			ips = append(ips, netip.MustParseAddr(in.IP))
		}
	}
	return ips, nil
}

// sub points c's helpers at the subtest t until it ends, so that they fail
// the test that runs them.
func (c *cluster) sub(t *testing.T) {
	parent := c.t
	c.t = t
	t.Cleanup(func() { c.t = parent })
}
