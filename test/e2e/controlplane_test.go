package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/floatlb/floatlb/test/cplab"
	"github.com/floatlb/floatlb/test/e2e/lab"
	"github.com/floatlb/floatlb/test/fixture"
)

// The control-plane VIPs of TestControlPlaneVIP: on the LAN for vrrp and
// l2, routed by BGP for bgp.
var (
	cpVRRP4 = netip.MustParseAddr("192.0.2.200")
	cpVRRP6 = netip.MustParseAddr("2001:db8:2::200")
	cpL2    = netip.MustParseAddr("192.0.2.201")
	cpBGP   = netip.MustParseAddr("198.19.40.5")
)

// TestControlPlaneVIP: three nodes each run a kube-apiserver (one shared
// etcd) and floatlb-announcer in control-plane mode; kubectl reaches the
// API through the VIP from the LAN, and again after the holder's API
// server is killed and after the holder's announcer is killed, in each
// mode.
func TestControlPlaneVIP(t *testing.T) {
	lab.Require(t, "bird", "birdc")
	c := cplab.Start(t, binaries.announcer, cpVRRP4, cpVRRP6, cpL2, cpBGP)
	ctx := context.Background()

	t.Run("vrrp", func(t *testing.T) {
		defer stopControlPlane(t, c, "eth0", cpVRRP4, cpVRRP6)
		if err := c.StartAnnouncers("--control-plane-vip="+cpVRRP4.String()+","+cpVRRP6.String(),
			"--control-plane-mode=vrrp", "--control-plane-advert-interval=100ms"); err != nil {
			t.Fatal(err)
		}
		holderFailovers(t, c, "eth0", nil, cpVRRP4, cpVRRP6)
	})

	t.Run("l2", func(t *testing.T) {
		defer stopControlPlane(t, c, "eth0", cpL2)
		if err := c.StartAnnouncers("--control-plane-vip="+cpL2.String(), "--control-plane-mode=l2",
			"--kubeconfig="+c.Kubeconfig, "--control-plane-lease-duration=2s"); err != nil {
			t.Fatal(err)
		}
		holderFailovers(t, c, "eth0", func(holder string) { leaseHeldBy(t, c, holder) }, cpL2)
	})

	t.Run("vrrp beside Service VIPs", func(t *testing.T) { besideServices(t, c) })

	t.Run("bgp", func(t *testing.T) {
		defer stopControlPlane(t, c, "lo", cpBGP)
		router, err := c.Lab.StartBIRD(ctx, lab.BIRDConfig{ASN: 64500, Peers: c.Lab.NodePeers(64512, lab.IPv4)})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = router.Process.Stop() }()
		if err := c.StartAnnouncers("--control-plane-vip="+cpBGP.String(), "--control-plane-mode=bgp",
			"--control-plane-bgp-peers="+c.Lab.Router().IPv4.String()+":64500", "--control-plane-bgp-hold-time=3s"); err != nil {
			t.Fatal(err)
		}
		all := []string{"node1", "node2", "node3"}
		cpRouteVia(t, c, all...)
		readyzThrough(t, c, c.Lab.Client(), cpBGP)

		t.Log("killing the API server of node1")
		killAPIServer(t, c, "node1")
		cpRouteVia(t, c, "node2", "node3")
		readyzThrough(t, c, c.Lab.Client(), cpBGP)
		startAPIServer(t, c, "node1")
		cpRouteVia(t, c, all...)

		t.Log("killing the announcer of node2")
		killAnnouncer(t, c, "node2")
		cpRouteVia(t, c, "node1", "node3")
		readyzThrough(t, c, c.Lab.Client(), cpBGP)
		restartAnnouncer(t, c, "node2")
		cpRouteVia(t, c, all...)
		readyzThrough(t, c, c.Lab.Client(), cpBGP)
	})
}

// holderFailovers checks the VIPs' failovers in vrrp and l2 mode: one
// node holds them and kubectl on the LAN gets /readyz through each; the
// holder's API server is killed, and another node takes over (and the API
// server comes back); the new holder's announcer is killed (kill -9), and
// another node takes over; it starts again (as kubelet restarts a static
// Pod) and removes what it left behind. check, if set, runs with each
// holder.
func holderFailovers(t *testing.T, c *cplab.Cluster, ifname string, check func(holder string), vips ...netip.Addr) {
	t.Helper()
	if check == nil {
		check = func(string) {}
	}
	lan := c.Lab.LANHost()
	holder := soleHolder(t, c, vips[0], ifname, "")
	for _, ip := range vips[1:] {
		soleHolder(t, c, ip, ifname, "")
	}
	check(holder)
	readyzThrough(t, c, lan, vips...)

	t.Log("killing the API server of " + holder)
	killAPIServer(t, c, holder)
	var next string
	for _, ip := range vips {
		next = soleHolder(t, c, ip, ifname, holder)
		readyzThrough(t, c, lan, ip)
	}
	check(next)
	startAPIServer(t, c, holder)

	t.Log("killing the announcer of " + next)
	killAnnouncer(t, c, next)
	// The killed holder left the VIPs on its interface (they come off when
	// the announcer restarts); the new holder's gratuitous ARP / NA has
	// moved the clients.
	for _, ip := range vips {
		eventually(t, 30*time.Second, "another node holds "+ip.String(), func(ctx context.Context) error {
			return holdsOtherThan(ctx, c, ip, ifname, next)
		})
		readyzThrough(t, c, lan, ip)
	}
	restartAnnouncer(t, c, next)
	last := soleHolder(t, c, vips[0], ifname, next)
	for _, ip := range vips[1:] {
		soleHolder(t, c, ip, ifname, "")
	}
	check(last)
	readyzThrough(t, c, lan, vips...)
}

// soleHolder waits until exactly one node, not notNode, has ip on ifname,
// and returns it.
func soleHolder(t *testing.T, c *cplab.Cluster, ip netip.Addr, ifname, notNode string) string {
	t.Helper()
	var holder string
	eventually(t, 60*time.Second, fmt.Sprintf("one node other than %q holds %s", notNode, ip), func(ctx context.Context) error {
		holders, err := c.Holders(ctx, ip, ifname)
		if err != nil {
			return err
		}
		if len(holders) != 1 || holders[0] == notNode {
			return fmt.Errorf("held by %v", holders)
		}
		holder = holders[0]
		return nil
	})
	return holder
}

// holdsOtherThan is nil once a node other than node has ip on ifname.
func holdsOtherThan(ctx context.Context, c *cplab.Cluster, ip netip.Addr, ifname, node string) error {
	holders, err := c.Holders(ctx, ip, ifname)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(holders, func(h string) bool { return h != node }) {
		return fmt.Errorf("held by %v", holders)
	}
	return nil
}

// readyzThrough waits until kubectl from host gets /readyz through each
// VIP.
func readyzThrough(t *testing.T, c *cplab.Cluster, from *lab.Host, vips ...netip.Addr) {
	t.Helper()
	for _, ip := range vips {
		eventually(t, 30*time.Second, "kubectl get --raw /readyz through "+ip.String()+" from "+from.Name, func(ctx context.Context) error {
			return c.Readyz(ctx, from, ip)
		})
	}
}

// leaseHeldBy waits until the control-plane Lease names node.
func leaseHeldBy(t *testing.T, c *cplab.Cluster, node string) {
	t.Helper()
	eventually(t, 30*time.Second, "the control-plane Lease is held by "+node, func(ctx context.Context) error {
		l, err := c.Env.Client.CoordinationV1().Leases("kube-system").Get(ctx, "floatlb-control-plane", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != node {
			return fmt.Errorf("held by %v", l.Spec.HolderIdentity)
		}
		return nil
	})
}

// cpRouteVia waits until the router's route to the bgp VIP goes via
// exactly nodes.
func cpRouteVia(t *testing.T, c *cplab.Cluster, nodes ...string) {
	t.Helper()
	routeViaNodes(t, c.Lab, c.Lab.Router(), cpBGP, 30*time.Second, nodes...)
}

func killAPIServer(t *testing.T, c *cplab.Cluster, node string) {
	t.Helper()
	if err := c.KillAPIServer(c.Node(node)); err != nil {
		t.Fatal(err)
	}
}

func startAPIServer(t *testing.T, c *cplab.Cluster, node string) {
	t.Helper()
	if err := c.StartAPIServer(t.Context(), c.Node(node)); err != nil {
		t.Fatal(err)
	}
}

func killAnnouncer(t *testing.T, c *cplab.Cluster, node string) {
	t.Helper()
	if err := c.Announcer(node).Kill(); err != nil {
		t.Fatal(err)
	}
}

// restartAnnouncer starts the node's announcer again with the same
// command line, as kubelet restarts a static Pod.
func restartAnnouncer(t *testing.T, c *cplab.Cluster, node string) {
	t.Helper()
	if _, err := c.RestartAnnouncer(c.Node(node)); err != nil {
		t.Fatal(err)
	}
}

// stopControlPlane stops the announcers (SIGTERM) and checks that no node
// keeps a VIP.
func stopControlPlane(t *testing.T, c *cplab.Cluster, ifname string, vips ...netip.Addr) {
	t.Helper()
	if err := c.StopAnnouncers(); err != nil {
		t.Error(err)
	}
	for _, ip := range vips {
		if holders, err := c.Holders(context.Background(), ip, ifname); err != nil || len(holders) > 0 {
			t.Errorf("after SIGTERM to every announcer, %s is on %v (%v)", ip, holders, err)
		}
	}
}

// cpServiceConfig is a vrrp pool on the LAN for the Service announcers
// that run beside the control-plane ones.
const cpServiceConfig = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: lan
  addresses: [192.0.2.64/28]
  mode: vrrp
vrrp:
  advertInterval: 100ms
`

// besideServices checks that Service VIPs (the DaemonSet announcer, vrrp
// mode) and the control-plane VIP (the static Pod, vrrp mode, VRID 255
// which vrrp.reservedVRIDs keeps from Service instances) run side by side:
// neither announcer takes the other's adverts for a foreign router, and a
// crash and restart of one leaves the other's VIP where it is.
func besideServices(t *testing.T, c *cplab.Cluster) {
	ctx := context.Background()
	client := c.Env.Client
	for _, n := range c.Lab.Nodes() {
		if err := fixture.RegisterNode(ctx, client, n.Name, n.IPv4, n.IPv6); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fixture.SetConfig(ctx, client, cpServiceConfig); err != nil {
		t.Fatal(err)
	}
	svcIP := netip.MustParseAddr("192.0.2.66")
	svc := lbService("beside", func(s *v1.Service) {
		single := v1.IPFamilyPolicySingleStack
		s.Spec.IPFamilyPolicy, s.Spec.IPFamilies = &single, []v1.IPFamily{v1.IPv4Protocol}
	})
	created, err := client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// No CCM here: write the address as it would.
	created.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: svcIP.String()}}
	if _, err := client.CoreV1().Services("default").UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	services := map[string]*lab.Process{}
	startService := func(n *lab.Host) {
		p, err := c.Lab.StartProcess(n, binaries.announcer, "--kubeconfig="+c.Env.Kubeconfig, "--node-name="+n.Name,
			"--metrics-bind-address="+n.Mgmt4.String()+":7475", "-v=2")
		if err != nil {
			t.Fatal(err)
		}
		services[n.Name] = p
	}
	for _, n := range c.Lab.Nodes() {
		startService(n)
	}
	defer func() {
		for _, p := range services {
			_ = p.Stop()
		}
	}()
	defer stopControlPlane(t, c, "eth0", cpVRRP4)
	if err := c.StartAnnouncers("--control-plane-vip="+cpVRRP4.String(), "--control-plane-mode=vrrp", "--control-plane-advert-interval=100ms"); err != nil {
		t.Fatal(err)
	}
	nodes := []string{"node1", "node2", "node3"}
	svcHolder, err := fixture.VRRPMaster(svcIP, "eth0", nodes, nodes)
	if err != nil {
		t.Fatal(err)
	}
	// The first to start may be master a moment before the node of the
	// highest priority takes over.
	eventually(t, 30*time.Second, svcHolder+" alone holds "+svcIP.String(), func(ctx context.Context) error {
		holders, err := c.Holders(ctx, svcIP, "eth0")
		if err != nil {
			return err
		}
		if !slices.Equal(holders, []string{svcHolder}) {
			return fmt.Errorf("held by %v", holders)
		}
		return nil
	})
	cpHolder := soleHolder(t, c, cpVRRP4, "eth0", "")
	readyzThrough(t, c, c.Lab.LANHost(), cpVRRP4)

	t.Log("killing and restarting the Service announcer of " + cpHolder + ", and the control-plane one of " + svcHolder)
	if err := services[cpHolder].Kill(); err != nil {
		t.Fatal(err)
	}
	startService(c.Node(cpHolder))
	killAnnouncer(t, c, svcHolder)
	restartAnnouncer(t, c, svcHolder)
	time.Sleep(3 * time.Second) // both settle; a clash would show now
	if got := soleHolder(t, c, cpVRRP4, "eth0", ""); got != cpHolder && svcHolder != cpHolder {
		t.Errorf("the control-plane VIP moved from %s to %s when %s's Service announcer restarted", cpHolder, got, cpHolder)
	}
	if got := soleHolder(t, c, svcIP, "eth0", ""); got != svcHolder && svcHolder != cpHolder {
		t.Errorf("the Service VIP moved from %s to %s when %s's control-plane announcer restarted", svcHolder, got, svcHolder)
	}
	readyzThrough(t, c, c.Lab.LANHost(), cpVRRP4)
	events, err := client.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if e.Reason == "floatlb.io/VRRPForeignRouter" {
			t.Errorf("the Service announcers saw a foreign router: %s", e.Message)
		}
	}
}
