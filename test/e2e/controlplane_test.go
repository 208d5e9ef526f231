package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/floatlb/floatlb/test/cplab"
	"github.com/floatlb/floatlb/test/e2e/lab"
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
	lan := c.Lab.LANHost()

	t.Run("vrrp", func(t *testing.T) {
		defer stopControlPlane(t, c, "eth0", cpVRRP4, cpVRRP6)
		for _, n := range c.Lab.Nodes() {
			if _, err := c.StartAnnouncer(n, "--control-plane-vip="+cpVRRP4.String()+","+cpVRRP6.String(),
				"--control-plane-mode=vrrp", "--control-plane-advert-interval=100ms"); err != nil {
				t.Fatal(err)
			}
		}
		holder := soleHolder(t, c, cpVRRP4, "eth0", "")
		soleHolder(t, c, cpVRRP6, "eth0", "")
		readyzThrough(t, c, lan, cpVRRP4, cpVRRP6)

		t.Log("killing the API server of " + holder)
		killAPIServer(t, c, holder)
		next := soleHolder(t, c, cpVRRP4, "eth0", holder)
		readyzThrough(t, c, lan, cpVRRP4)
		soleHolder(t, c, cpVRRP6, "eth0", holder)
		readyzThrough(t, c, lan, cpVRRP6)
		startAPIServer(t, c, holder)

		t.Log("killing the announcer of " + next)
		killAnnouncer(t, c, next)
		// The killed master left the VIP on its interface (it comes off
		// when the announcer restarts, as kubelet would restart it).
		eventually(t, 30*time.Second, "another node holds "+cpVRRP4.String(), func(ctx context.Context) error {
			return holdsOtherThan(ctx, c, cpVRRP4, "eth0", next)
		})
		readyzThrough(t, c, lan, cpVRRP4)
		restartAnnouncer(t, c, next)
		soleHolder(t, c, cpVRRP4, "eth0", next)
		soleHolder(t, c, cpVRRP6, "eth0", "")
		readyzThrough(t, c, lan, cpVRRP4, cpVRRP6)
	})

	t.Run("l2", func(t *testing.T) {
		defer stopControlPlane(t, c, "eth0", cpL2)
		for _, n := range c.Lab.Nodes() {
			if _, err := c.StartAnnouncer(n, "--control-plane-vip="+cpL2.String(), "--control-plane-mode=l2",
				"--kubeconfig="+c.Kubeconfig, "--control-plane-lease-duration=2s"); err != nil {
				t.Fatal(err)
			}
		}
		holder := soleHolder(t, c, cpL2, "eth0", "")
		leaseHeldBy(t, c, holder)
		readyzThrough(t, c, lan, cpL2)

		t.Log("killing the API server of " + holder)
		killAPIServer(t, c, holder)
		next := soleHolder(t, c, cpL2, "eth0", holder)
		leaseHeldBy(t, c, next)
		readyzThrough(t, c, lan, cpL2)
		startAPIServer(t, c, holder)

		t.Log("killing the announcer of " + next)
		killAnnouncer(t, c, next)
		eventually(t, 30*time.Second, "another node holds "+cpL2.String(), func(ctx context.Context) error {
			return holdsOtherThan(ctx, c, cpL2, "eth0", next)
		})
		readyzThrough(t, c, lan, cpL2)
		restartAnnouncer(t, c, next)
		last := soleHolder(t, c, cpL2, "eth0", next)
		leaseHeldBy(t, c, last)
		readyzThrough(t, c, lan, cpL2)
	})

	t.Run("bgp", func(t *testing.T) {
		defer stopControlPlane(t, c, "lo", cpBGP)
		router, err := c.Lab.StartBIRD(ctx, lab.BIRDConfig{ASN: 64500, Peers: c.Lab.NodePeers(64512, lab.IPv4)})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = router.Process.Stop() }()
		for _, n := range c.Lab.Nodes() {
			if _, err := c.StartAnnouncer(n, "--control-plane-vip="+cpBGP.String(), "--control-plane-mode=bgp",
				"--control-plane-bgp-peers="+c.Lab.Router().IPv4.String()+":64500", "--control-plane-bgp-hold-time=3s"); err != nil {
				t.Fatal(err)
			}
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
	var want []netip.Addr
	for _, n := range nodes {
		want = append(want, c.Node(n).IPv4)
	}
	sortAddrs(want)
	eventually(t, 30*time.Second, fmt.Sprintf("the route to %s goes via %v", cpBGP, nodes), func(ctx context.Context) error {
		r, ok, err := c.Lab.Route(ctx, c.Lab.Router(), netip.PrefixFrom(cpBGP, 32))
		if err != nil {
			return err
		}
		var got []netip.Addr
		if ok {
			got = r.Gateways()
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("route via %v", got)
		}
		return nil
	})
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
