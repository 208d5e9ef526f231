package bench

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/floatlb/floatlb/test/e2e/lab"
	"github.com/floatlb/floatlb/test/fixture"
	"github.com/floatlb/floatlb/test/kubeenv"
)

const bgpBenchConfig = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: bench
  addresses: [198.19.0.0/16]
bgp:
  asn: 64512
  peers:
  - name: router
    address: 192.0.2.1
    asn: 64500
    holdTime: 3s
`

// benchPool is the address range of bgpBenchConfig's pool.
var benchPool = netip.MustParsePrefix("198.19.0.0/16")

// bgpBed is a lab with BIRD on the router, an API server on the management
// bridge, Ready Nodes and a floatlb config; no CCM: benchmarks write the
// Services' status themselves, as the CCM would.
type bgpBed struct {
	lab    *lab.Lab
	env    *kubeenv.Env
	client kubernetes.Interface
	bird   *lab.BIRD
}

func newBGPBed(b *testing.B, nodes int) *bgpBed {
	l := lab.New(b, lab.Options{Nodes: nodes})
	env := kubeenv.StartT(b, kubeenv.Options{BindAddress: l.MgmtAddr()})
	cfg := env.RESTConfig()
	cfg.QPS, cfg.Burst = 2000, 4000
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	for _, h := range l.Nodes() {
		if err := fixture.RegisterNode(ctx, client, h.Name, h.IPv4); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := fixture.SetConfig(ctx, client, bgpBenchConfig); err != nil {
		b.Fatal(err)
	}
	bird, err := l.StartBIRD(ctx, lab.BIRDConfig{ASN: 64500, Peers: l.NodePeers(64512, lab.IPv4)})
	if err != nil {
		b.Fatal(err)
	}
	return &bgpBed{lab: l, env: env, client: client, bird: bird}
}

// announcer starts floatlb-announcer on h and waits for its BGP session.
func (bed *bgpBed) announcer(b *testing.B, h *lab.Host) *lab.Process {
	p := startAnnouncer(b, bed.lab, bed.env, h, "--profiling")
	if err := bed.bird.WaitEstablished(context.Background(), h.Name); err != nil {
		b.Fatal(err)
	}
	return p
}

// service creates a LoadBalancer Service holding ip in its status.
func (bed *bgpBed) service(ctx context.Context, name string, ip netip.Addr) error {
	return createService(ctx, bed.client, name, false, ip)
}

// routeCount returns how many /32 routes of the pool the router holds.
func (bed *bgpBed) routeCount(ctx context.Context) int {
	routes, err := bed.lab.Routes(ctx, bed.lab.Router(), lab.IPv4)
	if err != nil {
		return -1
	}
	n := 0
	for _, r := range routes {
		if r.Dst.Bits() == 32 && benchPool.Contains(r.Dst.Addr()) {
			n++
		}
	}
	return n
}

// nextHops returns the gateways of the router's route to ip.
func (bed *bgpBed) nextHops(ctx context.Context, ip netip.Addr) int {
	r, ok, err := bed.lab.Route(ctx, bed.lab.Router(), netip.PrefixFrom(ip, 32))
	if err != nil || !ok {
		return 0
	}
	return len(r.Gateways())
}

// waitFor polls cond every 10 ms and returns how long it took to hold.
func waitFor(b *testing.B, timeout time.Duration, what string, cond func() bool) time.Duration {
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			b.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// BenchmarkAnnouncerBGP5000 reports one announcer's footprint with 5,000
// bgp-mode addresses announced to one peer, counted in the router's kernel
// table (see measureFootprint).
func BenchmarkAnnouncerBGP5000(b *testing.B) {
	for b.Loop() {
		bed := newBGPBed(b, 1)
		measureFootprint(b, footprintBed{
			mode:       "bgp",
			client:     bed.client,
			announcers: []*lab.Process{bed.announcer(b, bed.lab.Nodes()[0])},
			address:    footprintAddress(1),
			create:     bed.service,
			announced:  func(ctx context.Context) (int, error) { return bed.routeCount(ctx), nil },
		})
	}
}

// BenchmarkBGPFailover reports, over 5 runs each, the time until the
// router's route to a Service changes: after its creation (route appears),
// after SIGTERM to one of three announcers (its next hop goes), after
// kill -9 of one (the kernel closes its TCP session, so the router drops it
// at once), after its node "crashes" (its switch port stops forwarding: the
// router drops it when holdTime 3s expires, GoBGP v3 has no BFD), and after
// deletion of the Service (route goes).
func BenchmarkBGPFailover(b *testing.B) {
	for b.Loop() {
		bed := newBGPBed(b, 3)
		ctx := context.Background()
		procs := map[string]*lab.Process{}
		for _, h := range bed.lab.Nodes() {
			procs[h.Name] = bed.announcer(b, h)
		}
		node3 := bed.lab.Nodes()[2]
		var create, term, kill, crash, del []time.Duration
		for run := range 5 {
			ip := netip.AddrFrom4([4]byte{198, 19, 200, byte(1 + run)})
			name := fmt.Sprintf("failover-%d", run)
			start := time.Now()
			if err := bed.service(ctx, name, ip); err != nil {
				b.Fatal(err)
			}
			create = append(create, time.Since(start)+waitFor(b, time.Minute, "route appears", func() bool { return bed.nextHops(ctx, ip) == 3 }))

			start = time.Now()
			if err := procs["node3"].Stop(); err != nil {
				b.Fatal(err)
			}
			waitFor(b, time.Minute, "SIGTERM withdrawal", func() bool { return bed.nextHops(ctx, ip) == 2 })
			term = append(term, time.Since(start))
			procs["node3"] = bed.announcer(b, node3)
			waitFor(b, time.Minute, "node3 back", func() bool { return bed.nextHops(ctx, ip) == 3 })

			if err := procs["node3"].Kill(); err != nil {
				b.Fatal(err)
			}
			kill = append(kill, waitFor(b, time.Minute, "kill -9: hold time expiry", func() bool { return bed.nextHops(ctx, ip) == 2 }))
			procs["node3"] = bed.announcer(b, node3)
			waitFor(b, time.Minute, "node3 back", func() bool { return bed.nextHops(ctx, ip) == 3 })

			// A crashed node sends nothing: the router notices at holdTime.
			if err := bed.lab.Isolate(ctx, node3); err != nil {
				b.Fatal(err)
			}
			crash = append(crash, waitFor(b, time.Minute, "node crash: hold time expiry", func() bool { return bed.nextHops(ctx, ip) == 2 }))
			if err := bed.lab.Reconnect(ctx, node3); err != nil {
				b.Fatal(err)
			}
			waitFor(b, time.Minute, "node3 back", func() bool { return bed.nextHops(ctx, ip) == 3 })

			start = time.Now()
			if err := bed.client.CoreV1().Services("bench").Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				b.Fatal(err)
			}
			del = append(del, time.Since(start)+waitFor(b, time.Minute, "deletion withdrawal", func() bool { return bed.nextHops(ctx, ip) == 0 }))
		}
		for _, m := range []struct {
			name string
			d    []time.Duration
		}{{"create→route", create}, {"SIGTERM→withdrawn", term}, {"kill -9→dropped (socket closed)", kill}, {"node crash→dropped (holdTime 3s)", crash}, {"delete→withdrawn", del}} {
			lo, med, hi := spread(m.d)
			b.Logf("%-32s min %s  median %s  max %s", m.name, lo, med, hi)
		}
		_, med, _ := spread(term)
		b.ReportMetric(med.Seconds(), "s-sigterm-median")
		_, med, _ = spread(kill)
		b.ReportMetric(med.Seconds(), "s-kill9-median")
		_, med, _ = spread(crash)
		b.ReportMetric(med.Seconds(), "s-crash-median")
	}
}

func spread(d []time.Duration) (lo, med, hi time.Duration) {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	r := func(x time.Duration) time.Duration { return x.Round(time.Millisecond) }
	return r(s[0]), r(s[len(s)/2]), r(s[len(s)-1])
}
