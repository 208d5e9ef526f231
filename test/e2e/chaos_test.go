package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/floatlb/floatlb/test/e2e/lab"
	"github.com/floatlb/floatlb/test/internal/logtail"
)

// chaosConfig has a pool of each mode; Services pick theirs with
// floatlb.io/pool.
const chaosConfig = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: bgp
  mode: bgp
  addresses: [198.19.10.0/24, 2001:db8:100::/120]
- name: l2
  mode: l2
  addresses: [198.19.20.0/24, 2001:db8:200::/120]
- name: vrrp
  mode: vrrp
  addresses: [198.19.30.0/24, 2001:db8:300::/120]
bgp:
  asn: 64512
  peers:
  - name: router
    address: 192.0.2.1
    asn: 64500
    holdTime: 9s
    passwordSecret: {name: floatlb-bgp, key: router}
l2:
  leaseDuration: 2s
vrrp:
  advertInterval: 100ms
`

// chaosPassword is the TCP MD5 password of chaosConfig's peer.
const chaosPassword = "chaos-md5"

// chaosPools are chaosConfig's pools by name.
var chaosPools = map[string][]netip.Prefix{
	"bgp":  {netip.MustParsePrefix("198.19.10.0/24"), netip.MustParsePrefix("2001:db8:100::/120")},
	"l2":   {netip.MustParsePrefix("198.19.20.0/24"), netip.MustParsePrefix("2001:db8:200::/120")},
	"vrrp": {netip.MustParsePrefix("198.19.30.0/24"), netip.MustParsePrefix("2001:db8:300::/120")},
}

// poolOf names the pool of chaosConfig that ip lies in, or "".
func poolOf(ip netip.Addr) string {
	for name, prefixes := range chaosPools {
		for _, p := range prefixes {
			if p.Contains(ip) {
				return name
			}
		}
	}
	return ""
}

// TestChaos is the network half of issue 8's chaos suite, on one lab with
// a pool of each mode: announcers killed with SIGKILL and restarted in a
// loop while dual-stack Services come and go; the VRRP master killed while
// every vrrp Service goes; the API server away for 30 s while
// floatlb-ccm runs with leader election. After each, the router's routes,
// the ARP/NDP answers on the LAN and the VRRP holders are exactly what the
// Services' status says, and no pool address is on a node that should not
// have it. The BGP sessions carry a TCP MD5 password from a Secret, which
// the announcers cannot read during the outage.
func TestChaos(t *testing.T) {
	lab.Require(t, "bird", "birdc", "arping", "ndisc6")
	began := time.Now()
	c := newCluster(t, chaosConfig, lab.Options{LANHost: true})
	ctx := context.Background()
	for _, pool := range []string{"l2", "vrrp"} {
		for _, p := range chaosPools[pool] {
			if err := c.lab.OnLink(ctx, c.lab.LANHost(), p); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The sessions carry a TCP MD5 password: the announcers read it from
	// the Secret on every plan, and must keep it (so the sessions and their
	// routes) while the API server is away.
	if _, err := c.client.CoreV1().Secrets(configNamespace).Create(ctx, &v1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: configNamespace, Name: "floatlb-bgp"},
		Data:       map[string][]byte{"router": []byte(chaosPassword)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	peers := c.lab.NodePeers(64512, lab.IPv4)
	for i := range peers {
		peers[i].Password = chaosPassword
	}
	bird, err := c.lab.StartBIRD(ctx, lab.BIRDConfig{ASN: 64500, Peers: peers})
	if err != nil {
		t.Fatal(err)
	}
	ccm := c.startSupervisedCCM()
	c.startAnnouncers()
	for _, n := range c.lab.Nodes() {
		if err := bird.WaitEstablished(ctx, n.Name); err != nil {
			t.Fatal(err)
		}
	}
	c.waitL2Ready(60 * time.Second)
	logSince(t, began, "lab, API server, CCM (leader election) and announcers ready")

	ch := &chaos{c: c, used: map[netip.Addr]bool{}}
	for _, pool := range []string{"bgp", "l2", "vrrp"} {
		for range 2 {
			ch.create(pool)
		}
	}
	ch.converge(t, 90*time.Second, "the first Services")

	t.Run("announcers killed and restarted while Services come and go", ch.testAnnouncerKills)
	t.Run("the VRRP master killed while every vrrp Service is deleted", ch.testVRRPMasterKilledEmpty)
	t.Run("API server away for 30s", func(t *testing.T) { ch.testOutage(t, ccm) })
	logSince(t, began, "TestChaos in all")
}

// chaos is what TestChaos's parts share.
type chaos struct {
	c *cluster
	// seq numbers the Services created.
	seq int
	// used holds every address a Service has held.
	used map[netip.Addr]bool
}

// create makes a dual-stack Service in pool and waits for its addresses.
func (ch *chaos) create(pool string) string {
	ch.seq++
	name := fmt.Sprintf("%s-%02d", pool, ch.seq)
	for _, ip := range ch.c.loadBalancer(name, func(s *v1.Service) { s.Annotations["floatlb.io/pool"] = pool }) {
		if got := poolOf(ip); got != pool {
			ch.c.t.Fatalf("Service %s got %s, outside its pool %s", name, ip, pool)
		}
		ch.used[ip] = true
	}
	return name
}

func (ch *chaos) delete(name string) {
	ch.c.t.Helper()
	if err := ch.c.client.CoreV1().Services("default").Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		ch.c.t.Fatal(err)
	}
}

// live returns the names of the Services not being deleted, by pool.
func (ch *chaos) live(ctx context.Context) (map[string][]string, error) {
	list, err := ch.c.client.CoreV1().Services("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, s := range list.Items {
		if p := s.Annotations["floatlb.io/pool"]; p != "" && s.DeletionTimestamp == nil {
			out[p] = append(out[p], s.Name)
		}
	}
	return out, nil
}

func (ch *chaos) testAnnouncerKills(t *testing.T) {
	c := ch.c
	c.sub(t)
	ctx := t.Context()
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("random seed %d", seed)
	nodes := c.lab.Nodes()
	dead := map[string]bool{}
	kills, creates, deletes := 0, 0, 0
	began := time.Now()
	// One step at a time, in random order: kill -9 a running announcer
	// (at most two are down at once), start a dead one again, create a
	// Service of a random pool, delete one. The Services are created and
	// deleted without waiting for the announcers, who are busy with
	// whatever the step before left them.
	for step := 0; kills < 12 || step < 60; step++ {
		switch r := rng.IntN(100); {
		case r < 25 && len(dead) < 2:
			n := nodes[rng.IntN(len(nodes))]
			if dead[n.Name] {
				continue
			}
			if err := c.announcers[n.Name].Kill(); err != nil {
				t.Fatal(err)
			}
			dead[n.Name] = true
			kills++
		case r < 45 && len(dead) > 0:
			for _, n := range nodes {
				if dead[n.Name] {
					c.startAnnouncer(n)
					delete(dead, n.Name)
					break
				}
			}
		case r < 75:
			ch.create([]string{"bgp", "l2", "vrrp"}[rng.IntN(3)])
			creates++
		default:
			live, err := ch.live(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pool := []string{"bgp", "l2", "vrrp"}[rng.IntN(3)]
			if len(live[pool]) > 1 {
				ch.delete(live[pool][rng.IntN(len(live[pool]))])
				deletes++
			}
		}
		time.Sleep(time.Duration(rng.Int64N(int64(400 * time.Millisecond))))
	}
	for _, n := range nodes {
		if dead[n.Name] {
			c.startAnnouncer(n)
		}
	}
	logSince(t, began, "%d kills -9 of announcers, %d Services created, %d deleted", kills, creates, deletes)
	ch.converge(t, 90*time.Second, "after the kills")
}

// testVRRPMasterKilledEmpty kills the VRRP master with SIGKILL, which
// leaves its addresses on eth0 as a crash does, deletes every vrrp Service
// while it is down and starts it again: nothing may stay on its eth0.
func (ch *chaos) testVRRPMasterKilledEmpty(t *testing.T) {
	c := ch.c
	c.sub(t)
	ctx := t.Context()
	live, err := ch.live(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(live["vrrp"]) == 0 {
		ch.create("vrrp")
		if live, err = ch.live(ctx); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := c.client.CoreV1().Services("default").Get(ctx, live["vrrp"][0], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr(svc.Status.LoadBalancer.Ingress[0].IP)
	master := expectedMaster(t, ip, c.nodeNames())
	c.waitHolders(ip, 30*time.Second, master)
	if err := c.announcers[master].Kill(); err != nil {
		t.Fatal(err)
	}
	for _, name := range live["vrrp"] {
		ch.delete(name)
	}
	eventually(t, 30*time.Second, "every vrrp Service gone", func(ctx context.Context) error {
		list, err := c.client.CoreV1().Services("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, s := range list.Items {
			if slices.Contains(live["vrrp"], s.Name) {
				return fmt.Errorf("%s is still there (finalizers %v)", s.Name, s.Finalizers)
			}
		}
		return nil
	})
	left, err := c.holders(ctx, ip)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(left, master) {
		t.Fatalf("kill -9 of %s's announcer did not leave %s on its eth0 (held by %v): this test proves nothing", master, ip, left)
	}
	t.Logf("every vrrp Service deleted while %s's announcer was down; %s is still on the eth0 of %v", master, ip, left)
	c.startAnnouncer(c.node(master))
	restarted := time.Now()
	if _, err := ch.settle(30 * time.Second); err != nil {
		// Before 3818590 vrrpMode.apply cleaned only interfaces that carry
		// an instance, and the address stayed here.
		t.Errorf("%s restarted after kill -9 with no vrrp Service left: %v", master, err)
	} else {
		logSince(t, restarted, "%s restarted after kill -9 with no vrrp Service left → nothing left on its eth0", master)
	}
	// A vrrp instance on eth0 again, for the outage (and its start cleans
	// eth0 up).
	ch.create("vrrp")
	ch.converge(t, 60*time.Second, "a vrrp Service again")
}

// testOutage stops the API server for 30 s. Meanwhile every route, ARP
// owner and VRRP master stays as it was; floatlb-ccm, which exits when it
// cannot renew its leader Lease, is started again each time, as its
// Deployment would. After, a new Service of each pool is announced and
// everything matches the Services again.
func (ch *chaos) testOutage(t *testing.T, ccm *supervisedCCM) {
	c := ch.c
	c.sub(t)
	ctx := t.Context()
	want, err := ch.expected(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.check(ctx, want, false); err != nil {
		t.Fatalf("before the outage: %v", err)
	}
	runsBefore := ccm.runs()

	stopped := c.stopAPIServer(t)
	const outage = 30 * time.Second
	checks := 0
	for checks == 0 || time.Since(stopped) < outage {
		if err := ch.check(ctx, want, false); err != nil {
			t.Fatalf("%s into the outage: %v", time.Since(stopped).Round(time.Millisecond), err)
		}
		checks++
	}
	t.Logf("%d checks in %s without the API server: every route, ARP/NDP owner and VRRP master as before; floatlb-ccm ran %d more times",
		checks, time.Since(stopped).Round(time.Millisecond), ccm.runs()-runsBefore)
	// Each announcer plans at least every 30 s (its resync), and each plan
	// reads the BGP password: the routes above stayed although the Secret
	// could not be read.
	var kept []string
	for _, n := range c.lab.Nodes() {
		if log, err := os.ReadFile(c.announcers[n.Name].LogPath); err == nil &&
			strings.Contains(string(log), "Cannot read the BGP peer's password; the session keeps the password read last") {
			kept = append(kept, n.Name)
		}
	}
	if len(kept) == 0 {
		t.Errorf("no announcer planned during the outage (none says it kept the BGP password): the outage test proves nothing for BGP passwords")
	}
	t.Logf("announcers that kept the BGP password read last while the Secret could not be read: %v", kept)

	back := c.restartAPIServer(t, stopped)
	if err := ch.check(ctx, want, false); err != nil {
		t.Fatalf("right after the API server came back: %v", err)
	}

	// The CCM needs its Lease again (the one of the run that exited expires
	// first), the announcers their watches (client-go backs off up to 30s).
	for _, pool := range []string{"bgp", "l2", "vrrp"} {
		name := fmt.Sprintf("%s-after-outage", pool)
		ips := c.loadBalancerWithin(name, 2*time.Minute, func(s *v1.Service) { s.Annotations["floatlb.io/pool"] = pool })
		for _, ip := range ips {
			ch.used[ip] = true
		}
	}
	logSince(t, back, "API server back → floatlb-ccm gave a new Service of each pool its addresses (%d runs of floatlb-ccm in all)", ccm.runs())
	ch.converge(t, 2*time.Minute, "after the outage")
	logSince(t, back, "API server back → the new Services announced, everything matches the Services")
}

// loadBalancerWithin is loadBalancer for a moment the API server may still
// refuse writes (just restarted): it retries the create, and waits longer.
func (c *cluster) loadBalancerWithin(name string, timeout time.Duration, opts ...func(*v1.Service)) []netip.Addr {
	c.t.Helper()
	svc := lbService(name, opts...)
	eventually(c.t, timeout, "creating Service "+name, func(ctx context.Context) error {
		_, err := c.client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
		return err
	})
	return c.waitAddresses(name, len(svc.Spec.IPFamilies), timeout)
}

// announced is what the Services' status says the network must show.
type announced struct {
	// bgp: the router routes each via every node; l2: each is answered by
	// its rendezvous owner alone; vrrp: each is on its master's eth0 alone.
	bgp, l2, vrrp []netip.Addr
	// free are addresses Services held earlier and hold no more: nobody
	// answers for them, no route, on no interface.
	free []netip.Addr
}

// expected reads the Services and returns what must be announced. It fails
// while a Service is being deleted or lacks its addresses.
func (ch *chaos) expected(ctx context.Context) (announced, error) {
	list, err := ch.c.client.CoreV1().Services("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		return announced{}, err
	}
	var a announced
	held := map[netip.Addr]bool{}
	for _, s := range list.Items {
		pool := s.Annotations["floatlb.io/pool"]
		if s.Spec.Type != v1.ServiceTypeLoadBalancer || pool == "" {
			continue
		}
		if s.DeletionTimestamp != nil {
			return a, fmt.Errorf("%s is being deleted", s.Name)
		}
		if len(s.Status.LoadBalancer.Ingress) != 2 {
			return a, fmt.Errorf("%s holds %v", s.Name, s.Status.LoadBalancer.Ingress)
		}
		for _, in := range s.Status.LoadBalancer.Ingress {
			ip := netip.MustParseAddr(in.IP)
			if held[ip] {
				return a, fmt.Errorf("%s is held twice", ip)
			}
			held[ip] = true
			switch poolOf(ip) {
			case "bgp":
				a.bgp = append(a.bgp, ip)
			case "l2":
				a.l2 = append(a.l2, ip)
			case "vrrp":
				a.vrrp = append(a.vrrp, ip)
			default:
				return a, fmt.Errorf("%s holds %s, outside every pool", s.Name, ip)
			}
		}
	}
	for ip := range ch.used {
		if !held[ip] {
			a.free = append(a.free, ip)
		}
	}
	for _, l := range [][]netip.Addr{a.bgp, a.l2, a.vrrp, a.free} {
		slices.SortFunc(l, netip.Addr.Compare)
	}
	return a, nil
}

// converge waits until the network shows exactly what the Services say.
func (ch *chaos) converge(t *testing.T, timeout time.Duration, what string) {
	t.Helper()
	began := time.Now()
	want, before, err := ch.settleFrom(timeout)
	if err != nil {
		t.Fatalf("the network does not match the Services' status (%s) within %s: %v", what, timeout, err)
	}
	if before != nil {
		msg := before.Error()
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		t.Logf("%s: the last mismatch before it matched: %s", what, msg)
	}
	t.Logf("%s: %d bgp, %d l2, %d vrrp addresses announced exactly, %d freed ones nowhere, %s later",
		what, len(want.bgp), len(want.l2), len(want.vrrp), len(want.free), time.Since(began).Round(time.Millisecond))
}

// settle checks the network against the Services until it matches or
// timeout passes (the check under way then finishes), and returns what it
// expected and the last mismatch.
func (ch *chaos) settle(timeout time.Duration) (announced, error) {
	want, _, err := ch.settleFrom(timeout)
	return want, err
}

// settleFrom is settle that also returns the mismatch seen last before
// the network matched: what took longest.
func (ch *chaos) settleFrom(timeout time.Duration) (_ announced, before, _ error) {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		want, err := ch.expected(ctx)
		if err == nil {
			err = ch.check(ctx, want, false)
		}
		if err == nil { // then, once, the slow sweep of the freed addresses too
			err = ch.check(ctx, want, true)
		}
		cancel()
		if err == nil || time.Now().After(deadline) {
			return want, before, err
		}
		before = err
		time.Sleep(200 * time.Millisecond)
	}
}

// check compares the network with want: the router's kernel routes into
// the pools, who answers ARP/NDP from the LAN host for the l2 addresses
// (and, withFree, for the freed ones: a sweep of those waits out every
// arping), and every pool address on every node's interfaces.
func (ch *chaos) check(ctx context.Context, want announced, withFree bool) error {
	c := ch.c
	nodes := c.lab.Nodes()
	all := c.nodeNames()
	var errs []error

	// Routes: exactly the bgp addresses, each via every node.
	got := map[netip.Addr][]netip.Addr{}
	for _, fam := range []lab.Family{lab.IPv4, lab.IPv6} {
		routes, err := c.lab.Routes(ctx, c.lab.Router(), fam)
		if err != nil {
			return err
		}
		for _, r := range routes {
			if poolOf(r.Dst.Addr()) != "" {
				got[r.Dst.Addr()] = r.Gateways()
			}
		}
	}
	for _, ip := range want.bgp {
		var via []netip.Addr
		for _, n := range nodes {
			if ip.Is4() {
				via = append(via, n.IPv4)
			} else {
				via = append(via, n.IPv6)
			}
		}
		if g, ok := got[ip]; !ok || !slices.Equal(g, via) {
			errs = append(errs, fmt.Errorf("the router's route to %s goes via %v, want %v", ip, g, via))
		}
		delete(got, ip)
	}
	for ip, g := range got {
		errs = append(errs, fmt.Errorf("the router has a route to %s via %v, which no bgp Service holds", ip, g))
	}

	// ARP/NDP: each l2 address answered by its owner alone (one MAC),
	// freed addresses by nobody.
	asked := slices.Clone(want.l2)
	if withFree {
		asked = append(asked, want.free...)
	}
	sweep, err := c.sweep(ctx, asked)
	if err != nil {
		return err
	}
	for _, ip := range want.l2 {
		if o := owner(ip, all...); !slices.Equal(sweep[ip], []string{o}) {
			errs = append(errs, fmt.Errorf("%s is answered by %v, want %s alone", ip, sweep[ip], o))
		}
	}
	for _, ip := range want.free {
		if len(sweep[ip]) > 0 && withFree {
			errs = append(errs, fmt.Errorf("%s, which no Service holds, is answered by %v", ip, sweep[ip]))
		}
	}

	// Interfaces: each vrrp address on its master's eth0 alone, no other
	// pool address anywhere.
	onNode := map[netip.Addr][]string{}
	for _, n := range nodes {
		for _, ifname := range []string{n.Interface, "lo", "mgmt0"} {
			addrs, err := c.lab.Addrs(ctx, n, ifname)
			if err != nil {
				return err
			}
			for _, a := range addrs {
				if poolOf(a.Addr()) != "" {
					onNode[a.Addr()] = append(onNode[a.Addr()], n.Name+"/"+ifname)
				}
			}
		}
	}
	for _, ip := range want.vrrp {
		m := expectedMaster(c.t, ip, all)
		if g := onNode[ip]; !slices.Equal(g, []string{m + "/eth0"}) {
			errs = append(errs, fmt.Errorf("%s is on %v, want on %s/eth0 alone", ip, g, m))
		}
		delete(onNode, ip)
	}
	for _, ip := range slices.SortedFunc(maps.Keys(onNode), netip.Addr.Compare) {
		errs = append(errs, fmt.Errorf("%s is on %v, where no Service's status puts it", ip, onNode[ip]))
	}
	return errors.Join(errs...)
}

// supervisedCCM runs floatlb-ccm in the root namespace with leader election
// and starts it again a second after it exits, as a Deployment would, until
// the test ends. Every run appends to one log.
type supervisedCCM struct {
	log string

	mu      sync.Mutex
	cmd     *exec.Cmd
	n       int
	stopped bool
	done    chan struct{} // closed when the supervisor has stopped
}

func (c *cluster) startSupervisedCCM() *supervisedCCM {
	c.t.Helper()
	s := &supervisedCCM{log: filepath.Join(c.t.TempDir(), "floatlb-ccm.log"), done: make(chan struct{})}
	args := []string{"--kubeconfig=" + c.ccmKubeconfig, "--authentication-skip-lookup",
		"--leader-elect=true", "--leader-elect-resource-namespace=kube-system", "--leader-elect-resource-name=floatlb-ccm",
		"--leader-elect-lease-duration=6s", "--leader-elect-renew-deadline=4s", "--leader-elect-retry-period=1s",
		"--bind-address=127.0.0.1", "--secure-port=0", "-v=2"}
	out, err := os.OpenFile(s.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	start := func() (*exec.Cmd, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.stopped {
			return nil, errors.New("stopped")
		}
		s.n++
		fmt.Fprintf(out, "=== %s: run %d of floatlb-ccm\n", time.Now().Format(time.RFC3339Nano), s.n)
		cmd := exec.Command(binaries.ccm, args...)
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		s.cmd = cmd
		return cmd, nil
	}
	first, err := start()
	if err != nil {
		c.t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		defer out.Close()
		for cmd := first; cmd != nil; {
			err := cmd.Wait()
			s.mu.Lock()
			stopped := s.stopped
			s.mu.Unlock()
			if stopped {
				return
			}
			fmt.Fprintf(out, "=== %s: floatlb-ccm exited (%v); starting it again in 1s\n", time.Now().Format(time.RFC3339Nano), err)
			time.Sleep(time.Second)
			if cmd, err = start(); err != nil {
				return
			}
		}
	}()
	c.ccm = &rootProcess{log: s.log} // for checkRefusals
	t := c.t
	t.Cleanup(func() {
		s.mu.Lock()
		s.stopped = true
		cmd := s.cmd
		s.mu.Unlock()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("last lines of %s:\n%s", s.log, logtail.Tail(s.log, 40))
		}
	})
	return s
}

// runs is how often floatlb-ccm was started.
func (s *supervisedCCM) runs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}
