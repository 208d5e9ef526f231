package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

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
// alone moves the LAN host; 30 Services spread over all nodes; addresses no
// Service holds, or outside the pools, are never answered; an API server
// outage moves nothing, and Layer 2 mode follows the Services again after.
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

	s := &l2Suite{c: c, all: c.nodeNames()}
	vip4, vip6 := pickL2Pair(s.all)
	s.first = owner(vip4, s.all...)
	s.second = owner(vip4, c.nodeNames(s.first)...)
	created := time.Now()
	s.web = c.loadBalancer("web", func(svc *v1.Service) {
		svc.Annotations["floatlb.io/load-balancer-ips"] = vip4.String() + "," + vip6.String()
	})
	if !slices.Equal(s.web, []netip.Addr{vip4, vip6}) {
		t.Fatalf("Service web got %v, asked for %s and %s", s.web, vip4, vip6)
	}
	for _, ip := range s.web {
		c.acceptVIP(ip)
	}

	t.Run("one node answers ARP and NDP for a dual-stack Service", func(t *testing.T) { s.testOwner(t, created) })
	t.Run("failover", s.testFailover)
	t.Run("30 Services spread over the nodes", s.testSpread)
	t.Run("no answer for addresses no Service holds or outside the pools", s.testRefused)
	t.Run("an API server outage moves no address", s.testOutage)
	t.Run("no split-brain warning for ordinary handovers", s.testNoSplitBrain)
	logSince(t, began, "TestL2 in all")
}

// l2Suite is what TestL2's parts share. They run in order, each leaving
// every announcer running and every address with its owner.
type l2Suite struct {
	c *cluster
	// all names the nodes.
	all []string
	// web holds the dual-stack Service's addresses, owned by first while
	// every node is live and by second while first is not.
	web           []netip.Addr
	first, second string
	// many holds the addresses of the 30 Services of testSpread.
	many []netip.Addr
	// forged is the in-pool address of the Service whose status the test
	// wrote (testRefused).
	forged netip.Addr
}

func (s *l2Suite) testOwner(t *testing.T, created time.Time) {
	c := s.c
	c.sub(t)
	ctx := t.Context()
	for _, ip := range s.web {
		c.waitAnswerers(ip, 30*time.Second, s.first)
	}
	logSince(t, created, "Service created → %s alone answers for %v", s.first, s.web)
	for _, n := range c.lab.Nodes() {
		addrs, err := c.lab.Addrs(ctx, n, "eth0")
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range addrs {
			if slices.Contains(s.web, a.Addr()) {
				t.Errorf("%s has %s on eth0: l2 mode must not add the address to the interface", n, a)
			}
		}
	}
	for _, ip := range s.web {
		c.reaches(c.lab.LANHost(), ip, s.first, 15*time.Second)
		c.reaches(c.lab.Client(), ip, s.first, 15*time.Second) // via the router, which asks the LAN too
		if got, err := c.lanNeighbor(ctx, ip); err != nil || got != s.first {
			t.Errorf("the LAN host sends %s to %s (%v), want %s", ip, got, err, s.first)
		}
		c.waitEvent("web", "floatlb.io/Announced", fmt.Sprintf("%s now announced by %s", ip, s.first), 20*time.Second)
	}
}

func (s *l2Suite) testFailover(t *testing.T) {
	c := s.c
	victim := c.node(s.first)
	restart := func() error { c.startAnnouncer(victim); return nil }
	t.Run("kill -9", func(t *testing.T) {
		c.failover(t, s.web, s.first, s.second, "lease expired",
			func() error { return c.announcers[s.first].Kill() }, restart)
	})
	t.Run("SIGTERM", func(t *testing.T) {
		c.failover(t, s.web, s.first, s.second, "lease released",
			func() error { return c.announcers[s.first].Stop() }, restart)
	})
	t.Run("link down", func(t *testing.T) {
		restored := false
		t.Cleanup(func() {
			if !restored {
				_ = c.lab.LinkUp(context.Background(), victim)
			}
		})
		c.failover(t, s.web, s.first, s.second, "lease released",
			func() error { return c.lab.LinkDown(t.Context(), victim) },
			func() error { restored = true; return c.lab.LinkUp(t.Context(), victim) })
	})
	evs, err := c.client.CoreV1().Events("default").List(t.Context(), metav1.ListOptions{FieldSelector: "involvedObject.name=web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs.Items {
		t.Logf("Event on web from %s (%d times): %s: %s", e.Source.Host, e.Count, e.Reason, e.Message)
	}
}

func (s *l2Suite) testSpread(t *testing.T) {
	c := s.c
	c.sub(t)
	created := time.Now()
	s.many = c.singleStackServices("many", 30)
	logSince(t, created, "30 Services created and given addresses")
	want := s.owners(s.many)
	perNode := map[string]float64{}
	for _, o := range s.owners(s.all32()) {
		perNode[o]++
	}
	for _, n := range s.all {
		if perNode[n] == 0 {
			t.Fatalf("rendezvous hashing gives %s none of %v: pick other addresses", n, s.many)
		}
	}
	c.waitSweep(s.many, want, 60*time.Second)
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
}

func (s *l2Suite) testRefused(t *testing.T) {
	c := s.c
	c.sub(t)
	ctx := t.Context()
	free4, free6 := mustAddr("198.19.20.200"), mustAddr("2001:db8:200::c8")
	outside4, outside6 := mustAddr("198.19.21.200"), mustAddr("2001:db8:201::c8")
	s.forged = mustAddr("198.19.20.250")
	for _, ip := range []netip.Addr{free4, free6, outside4, outside6, s.forged} {
		c.acceptVIP(ip) // the nodes' kernels would take the packets: only the announcers decide
	}
	c.ccm.stop() // nothing may rewrite the statuses from here on
	c.forgeService(ctx, "forged", outside4, outside6, s.forged)
	// The in-pool address is answered, so the announcers have seen the status.
	forgedOwner := owner(s.forged, s.all...)
	c.waitAnswerers(s.forged, 30*time.Second, forgedOwner)
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

	// After a failover one node answers again, and still nobody for the
	// others.
	killed := time.Now()
	if err := c.announcers[forgedOwner].Kill(); err != nil {
		t.Fatal(err)
	}
	next := owner(s.forged, c.nodeNames(forgedOwner)...)
	c.waitAnswerers(s.forged, 30*time.Second, next)
	logSince(t, killed, "kill -9 of %s → %s alone answers for %s", forgedOwner, next, s.forged)
	c.expectNoAnswer(ctx, outside4, outside6, free4, free6)
	c.startAnnouncer(c.node(forgedOwner))
	c.waitAnswerers(s.forged, 30*time.Second, forgedOwner)
}

func (s *l2Suite) testOutage(t *testing.T) {
	c := s.c
	c.sub(t)
	ctx := t.Context()
	addrs := s.all32()
	if s.forged.IsValid() {
		addrs = append(addrs, s.forged)
	}
	want := s.owners(addrs)
	c.waitSweep(addrs, want, 30*time.Second)
	changes, err := c.metrics(ctx, "floatlb_l2_owner_changes_total")
	if err != nil {
		t.Fatal(err)
	}

	stopped := c.stopAPIServer(t)
	// Sweep while a whole sweep still fits into the outage.
	const outage = 20 * time.Second
	sweeps, took := 0, time.Duration(0)
	for sweeps == 0 || time.Since(stopped)+took < outage {
		began := time.Now()
		got, err := c.sweep(ctx, addrs)
		if err != nil {
			t.Fatal(err)
		}
		if d := sweepDiff(got, want); d != "" {
			t.Fatalf("%s into the outage: %s", time.Since(stopped).Round(time.Millisecond), d)
		}
		c.reaches(c.lab.LANHost(), s.web[0], s.first, 5*time.Second)
		sweeps++
		took = time.Since(began)
	}
	time.Sleep(outage - time.Since(stopped))
	t.Logf("%d sweeps of %d addresses in %s without the API server: each answered by its owner alone",
		sweeps, len(addrs), time.Since(stopped).Round(time.Millisecond))
	failures, err := c.metrics(ctx, "floatlb_l2_lease_renewal_failures_total")
	if err != nil {
		t.Fatal(err)
	}
	for n, f := range failures {
		if f == 0 {
			t.Errorf("%s counted no failed Lease renewal during the outage", n)
		}
	}

	back := c.restartAPIServer(t, stopped)
	for ; time.Since(back) < 3*l2LeaseDuration; sweeps++ {
		got, err := c.sweep(ctx, addrs)
		if err != nil {
			t.Fatal(err)
		}
		if d := sweepDiff(got, want); d != "" {
			t.Fatalf("%s after the API server came back: %s", time.Since(back).Round(time.Millisecond), d)
		}
	}

	// Each announcer follows the Services again once its watches are back
	// (client-go retries them with a backoff of up to 30s, jittered): a
	// new address for each node is answered by that node.
	fresh := map[netip.Addr]string{}
	for i := 230; len(fresh) < len(s.all); i++ {
		ip := netip.AddrFrom4([4]byte{198, 19, 20, byte(i)})
		if o := owner(ip, s.all...); !slices.Contains(addrs, ip) && !slices.Contains(slices.Collect(maps.Values(fresh)), o) {
			fresh[ip] = o
		}
	}
	for ip, o := range fresh {
		c.forgeService(ctx, "after-outage-"+o, ip)
	}
	c.waitSweep(slices.Collect(maps.Keys(fresh)), fresh, 2*time.Minute)
	logSince(t, back, "API server back → every announcer takes new addresses again")
	c.waitSweep(addrs, want, 10*time.Second)
	after, err := c.metrics(ctx, "floatlb_l2_owner_changes_total")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range fresh {
		changes[o]++ // its first owner
	}
	if fmt.Sprint(after) != fmt.Sprint(changes) {
		t.Errorf("floatlb_l2_owner_changes_total is %v, want %v: addresses moved during or after the outage", after, changes)
	}
}

// testNoSplitBrain: the handovers above (stops, crashes and restarts of
// announcers, a link down and up) are what a rolling update or a node
// reboot does; none may look like another host answering for an address.
func (s *l2Suite) testNoSplitBrain(t *testing.T) {
	c := s.c
	c.sub(t)
	evs, err := c.client.CoreV1().Events("default").List(t.Context(), metav1.ListOptions{FieldSelector: "reason=floatlb.io/SplitBrain"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs.Items {
		t.Errorf("Warning %s on %s from %s (%d times): %s", e.Reason, e.InvolvedObject.Name, e.Source.Host, e.Count, e.Message)
	}
	conflicts, err := c.metrics(t.Context(), "floatlb_l2_conflicts_total")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("floatlb_l2_conflicts_total of the announcers running now: %v", conflicts)
}

// owners returns the owner of each of ips while every node is live.
func (s *l2Suite) owners(ips []netip.Addr) map[netip.Addr]string {
	out := map[netip.Addr]string{}
	for _, ip := range ips {
		out[ip] = owner(ip, s.all...)
	}
	return out
}

// all32 returns the addresses of web and of the 30 Services.
func (s *l2Suite) all32() []netip.Addr {
	return append(slices.Clone(s.many), s.web...)
}

// failover breaks from, the owner of ips, with fault and waits until the
// LAN host's kernel sends ips' packets to to. Only to's gratuitous ARP and
// unsolicited Neighbor Advertisement can move it there: the test sends
// nothing to the LAN host's kernel meanwhile and never flushes its
// neighbour cache. Then curl reaches to, which alone answers and says why
// in an Event on web, once. restore mends from, and ips go back to it.
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
	before := c.settledEvents("web")

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
		c.waitEvent("web", "floatlb.io/Announced", fmt.Sprintf("%s now announced by %s (was %s: %s)", ip, to, from, reason), 20*time.Second)
	}
	// A second Event (a node that took the address and lost it again, or
	// another that took it too) would come within a lease duration.
	time.Sleep(l2LeaseDuration)
	for _, ip := range ips {
		c.handoverOnce("web", ip, to, fmt.Sprintf("%s now announced by %s (was %s: %s)", ip, to, from, reason), before)
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

// settledEvents returns how often each Event on the Service default/name
// occurred, once two lists a second apart agree: the announcers send
// Events asynchronously, and one of the last handover must not count for
// the next.
func (c *cluster) settledEvents(name string) map[types.UID]int32 {
	c.t.Helper()
	var last map[types.UID]int32
	eventually(c.t, 15*time.Second, fmt.Sprintf("the Events on %s settle", name), func(ctx context.Context) error {
		evs, err := c.client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
		if err != nil {
			return err
		}
		now := map[types.UID]int32{}
		for _, e := range evs.Items {
			now[e.UID] = e.Count
		}
		if last == nil || !maps.Equal(last, now) {
			last = now
			time.Sleep(time.Second)
			return fmt.Errorf("%d Events on %s still change", len(now), name)
		}
		return nil
	})
	return last
}

// handoverOnce checks that, since the counts of before (settledEvents),
// the Service default/name got exactly one floatlb.io/Announced saying
// that ip is now announced, that it says want, and that node to, the new
// owner, sent it. An Event may tell of several addresses ("; ").
func (c *cluster) handoverOnce(name string, ip netip.Addr, to, want string, before map[types.UID]int32) {
	c.t.Helper()
	evs, err := c.client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
	if err != nil {
		c.t.Fatal(err)
	}
	var got []string
	for _, e := range evs.Items {
		n := e.Count - before[e.UID]
		if e.Reason != "floatlb.io/Announced" || n <= 0 {
			continue
		}
		for part := range strings.SplitSeq(e.Message, "; ") {
			if !strings.HasPrefix(part, ip.String()+" now announced by ") {
				continue
			}
			got = append(got, fmt.Sprintf("%q from %s (reportingInstance %q) %d times", part, e.Source.Host, e.ReportingInstance, n))
			if part != want || e.Source.Host != to || e.ReportingInstance != to || n != 1 {
				c.t.Errorf("handover of %s: Event %q from %s (reportingInstance %q) %d times, want %q from %s once",
					ip, part, e.Source.Host, e.ReportingInstance, n, want, to)
			}
		}
	}
	if len(got) != 1 {
		c.t.Errorf("handover of %s: %d Events say who announces it, want one from %s: %q", ip, len(got), to, got)
	}
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

// forgeService creates a LoadBalancer Service and writes ips into its
// status itself, as another controller (or MetalLB before a migration)
// might: stop the CCM first, or it rewrites the status.
func (c *cluster) forgeService(ctx context.Context, name string, ips ...netip.Addr) {
	c.t.Helper()
	no := false
	dual := v1.IPFamilyPolicyPreferDualStack
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, AllocateLoadBalancerNodePorts: &no,
			IPFamilyPolicy: &dual, Ports: []v1.ServicePort{{Port: 80}}},
	}
	created, err := c.client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	for _, ip := range ips {
		created.Status.LoadBalancer.Ingress = append(created.Status.LoadBalancer.Ingress, v1.LoadBalancerIngress{IP: ip.String()})
	}
	if _, err := c.client.CoreV1().Services("default").UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		c.t.Fatal(err)
	}
}
