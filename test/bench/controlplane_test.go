package bench

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/floatlb/floatlb/test/cplab"
	"github.com/floatlb/floatlb/test/e2e/lab"
)

// cpRuns is how many times each control-plane failover is timed.
const cpRuns = 5

// BenchmarkControlPlaneFailover times the control-plane VIP's failover in
// each mode, three nodes each running a kube-apiserver (one shared etcd):
// from the kill -9 of the holder's kube-apiserver until the VIP answers
// /readyz again from the LAN (vrrp, l2; bgp: until the router's route
// leaves the node out), and from the kill -9 of the holder's announcer
// until another node holds the VIP (bgp: the route leaves the node out).
func BenchmarkControlPlaneFailover(b *testing.B) {
	vrrp4, l2v4, bgp4 := netip.MustParseAddr("192.0.2.200"), netip.MustParseAddr("192.0.2.201"), netip.MustParseAddr("198.19.40.5")
	c := cplab.Start(b, announcerBinary, vrrp4, l2v4, bgp4)
	ctx := context.Background()
	for b.Loop() {
		b.Run("vrrp", func(b *testing.B) {
			cpModeFailover(b, c, vrrp4, "eth0", "--control-plane-vip="+vrrp4.String(), "--control-plane-mode=vrrp", "--control-plane-advert-interval=100ms")
		})
		b.Run("l2", func(b *testing.B) {
			cpModeFailover(b, c, l2v4, "eth0", "--control-plane-vip="+l2v4.String(), "--control-plane-mode=l2", "--kubeconfig="+c.Kubeconfig)
		})
		b.Run("bgp", func(b *testing.B) {
			router, err := c.Lab.StartBIRD(ctx, lab.BIRDConfig{ASN: 64500, Peers: c.Lab.NodePeers(64512, lab.IPv4)})
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = router.Process.Stop() }()
			cpModeFailover(b, c, bgp4, "lo", "--control-plane-vip="+bgp4.String(), "--control-plane-mode=bgp",
				"--control-plane-bgp-peers="+c.Lab.Router().IPv4.String()+":64500", "--control-plane-bgp-hold-time=3s")
		})
	}
}

// cpModeFailover runs the announcers with args and times both failovers
// cpRuns times.
func cpModeFailover(b *testing.B, c *cplab.Cluster, vip netip.Addr, ifname string, args ...string) {
	ctx := context.Background()
	defer func() {
		if err := c.StopAnnouncers(); err != nil {
			b.Error(err)
		}
	}()
	if err := c.StartAnnouncers(args...); err != nil {
		b.Fatal(err)
	}
	bgp := ifname == "lo"
	from := c.Lab.LANHost()
	if bgp {
		from = c.Lab.Client()
	}
	var apiKill, announcerKill []time.Duration
	for range cpRuns {
		holder := cpStable(b, c, vip, ifname)
		began := time.Now()
		if err := c.KillAPIServer(c.Node(holder)); err != nil {
			b.Fatal(err)
		}
		if bgp {
			waitFor(b, time.Minute, "the route leaves "+holder+" out", func() bool { return !slices.Contains(cpNextHops(c, vip), holder) })
		} else {
			waitFor(b, time.Minute, vip.String()+" answers again", func() bool { return c.Answers(ctx, from, vip) })
		}
		apiKill = append(apiKill, time.Since(began))
		if err := c.StartAPIServer(ctx, c.Node(holder)); err != nil {
			b.Fatal(err)
		}

		holder = cpStable(b, c, vip, ifname)
		began = time.Now()
		if err := c.Announcer(holder).Kill(); err != nil {
			b.Fatal(err)
		}
		if bgp {
			waitFor(b, time.Minute, "the route leaves "+holder+" out", func() bool { return !slices.Contains(cpNextHops(c, vip), holder) })
		} else {
			waitFor(b, time.Minute, "another node holds "+vip.String(), func() bool {
				holders, err := c.Holders(ctx, vip, ifname)
				return err == nil && slices.ContainsFunc(holders, func(h string) bool { return h != holder })
			})
		}
		announcerKill = append(announcerKill, time.Since(began))
		if _, err := c.RestartAnnouncer(c.Node(holder)); err != nil {
			b.Fatal(err)
		}
	}
	for _, m := range []struct {
		name string
		d    []time.Duration
	}{{"apiserver-kill", apiKill}, {"announcer-kill", announcerKill}} {
		lo, med, hi := spread(m.d)
		b.Logf("%-16s min %s  median %s  max %s", m.name, lo, med, hi)
		b.ReportMetric(med.Seconds(), "s-"+m.name+"-median")
	}
}

// cpStable waits until the VIP is settled (one holder in vrrp and l2,
// every node in bgp) and answers, and returns a holder.
func cpStable(b *testing.B, c *cplab.Cluster, vip netip.Addr, ifname string) string {
	var holder string
	waitFor(b, time.Minute, vip.String()+" settled", func() bool {
		if ifname == "lo" {
			hops := cpNextHops(c, vip)
			if len(hops) != len(c.Lab.Nodes()) {
				return false
			}
			holder = hops[0]
			return c.Answers(context.Background(), c.Lab.Client(), vip)
		}
		holders, err := c.Holders(context.Background(), vip, ifname)
		if err != nil || len(holders) != 1 {
			return false
		}
		holder = holders[0]
		return c.Answers(context.Background(), c.Lab.LANHost(), vip)
	})
	return holder
}

// cpNextHops returns the nodes the router's route to vip goes via.
func cpNextHops(c *cplab.Cluster, vip netip.Addr) []string {
	r, ok, err := c.Lab.Route(context.Background(), c.Lab.Router(), netip.PrefixFrom(vip, vip.BitLen()))
	if err != nil || !ok {
		return nil
	}
	var out []string
	for _, gw := range r.Gateways() {
		for _, n := range c.Lab.Nodes() {
			if n.IPv4 == gw {
				out = append(out, n.Name)
			}
		}
	}
	return out
}
