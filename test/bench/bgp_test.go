package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
// FLOATLB_BENCH_ANNOUNCER_ENV sets its environment (say "GOGC=50"), to
// compare runtime settings with the defaults.
func (bed *bgpBed) announcer(b *testing.B, h *lab.Host) *lab.Process {
	args := []string{"--kubeconfig=" + bed.env.Kubeconfig, "--node-name=" + h.Name,
		"--metrics-bind-address=" + h.Mgmt4.String() + ":7475", "--profiling"}
	name := announcerBinary
	if env := strings.Fields(os.Getenv("FLOATLB_BENCH_ANNOUNCER_ENV")); len(env) > 0 {
		name, args = "env", append(append(env, announcerBinary), args...)
	}
	p, err := bed.lab.StartProcess(h, name, args...)
	if err != nil {
		b.Fatal(err)
	}
	if err := bed.bird.WaitEstablished(context.Background(), h.Name); err != nil {
		b.Fatal(err)
	}
	return p
}

// service creates a LoadBalancer Service holding ip in its status.
func (bed *bgpBed) service(ctx context.Context, name string, ip netip.Addr) error {
	no := false
	svc, err := bed.client.CoreV1().Services("bench").Create(ctx, &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, AllocateLoadBalancerNodePorts: &no, Ports: []v1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	patch := fmt.Sprintf(`{"status":{"loadBalancer":{"ingress":[{"ip":%q}]}}}`, ip)
	_, err = bed.client.CoreV1().Services("bench").Patch(ctx, svc.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
	return err
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
// bgp-mode addresses announced to one peer: the time until the router holds
// them all, its RSS (with its anonymous and file-backed parts and its
// peak), its RSS before any Service exists (the binary, the runtime and
// client-go's caches of the Nodes), its CPU use during the burst and per
// second while idle, and the working set of its binary (MiB-rss-file-ws:
// RssFile after the kernel was asked to reclaim the executable's pages and
// the announcer ran idle for 35 s; see dropFilePages).
// FLOATLB_BENCH_PROFILES=dir saves heap profiles (empty-* before the
// Services, heap.* at the end) and a CPU profile there.
func BenchmarkAnnouncerBGP5000(b *testing.B) {
	for b.Loop() {
		bed := newBGPBed(b, 1)
		ctx := context.Background()
		node := bed.lab.Nodes()[0]
		p := bed.announcer(b, node)
		dir := os.Getenv("FLOATLB_BENCH_PROFILES")
		// Baseline: synced, session up, nothing to announce.
		time.Sleep(10 * time.Second)
		empty := readMemory(p.PID())
		if dir != "" {
			saveProfiles(b, dir, node, "empty-", false)
		}
		const n = 5000
		start := time.Now()
		var wg sync.WaitGroup
		next := make(chan int)
		for range 16 {
			wg.Go(func() {
				for i := range next {
					ip := netip.AddrFrom4([4]byte{198, 19, byte(1 + i/250), byte(1 + i%250)})
					if err := bed.service(ctx, fmt.Sprintf("svc-%05d", i), ip); err != nil {
						b.Error(err)
					}
				}
			})
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
		written := time.Since(start)
		took := waitFor(b, 5*time.Minute, "5,000 routes at the router", func() bool { return bed.routeCount(ctx) == n })
		burstCPU := processCPU(p.PID())
		// Settle: the announcer still sends an Event per Service it began to
		// announce (5,000 at its client's 50 QPS) for about 100 s.
		time.Sleep(120 * time.Second)
		cpu0 := processCPU(p.PID())
		time.Sleep(20 * time.Second)
		idle := (processCPU(p.PID()) - cpu0).Seconds() / 20
		mem := readMemory(p.PID())
		if dir != "" {
			saveProfiles(b, dir, node, "", true)
		}
		// What the binary really keeps using: its pages reclaimed, then 35 s
		// of idle (one resync of every Service included).
		var ws memory
		if err := dropFilePages(p.PID()); err != nil {
			b.Logf("binary working set not measured: %v", err)
		} else {
			time.Sleep(35 * time.Second)
			ws = readMemory(p.PID())
			b.ReportMetric(mib(ws.file), "MiB-rss-file-ws")
		}
		b.ReportMetric(mib(mem.rss), "MiB-rss")
		b.ReportMetric(mib(mem.anon), "MiB-rss-anon")
		b.ReportMetric(mib(mem.file), "MiB-rss-file")
		b.ReportMetric(mib(mem.peak), "MiB-rss-peak")
		b.ReportMetric(mib(empty.rss), "MiB-rss-empty")
		b.ReportMetric(idle*100, "%cpu-idle")
		b.ReportMetric(burstCPU.Seconds(), "s-cpu-burst")
		b.ReportMetric((written + took).Seconds(), "s-all-routes")
		b.Logf("no Services: announcer %s", empty)
		b.Logf("5,000 bgp addresses: statuses written in %s, all routes at the router %s later; announcer CPU until then %s; %s, idle CPU %.2f%% of a core",
			written.Round(time.Millisecond), took.Round(time.Millisecond), burstCPU.Round(10*time.Millisecond), mem, idle*100)
		b.Logf("after its binary's pages were reclaimed and 35 s of idle: %s (the binary's working set: %.1f MiB)", ws, mib(ws.file))
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

// memory is a process's resident memory, in bytes, from /proc/<pid>/status.
type memory struct {
	rss, anon, file, peak int64 // VmRSS, RssAnon, RssFile + RssShmem, VmHWM
}

func (m memory) String() string {
	return fmt.Sprintf("RSS %.1f MiB (anon %.1f, file %.1f), peak %.1f MiB", mib(m.rss), mib(m.anon), mib(m.file), mib(m.peak))
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// readMemory reads the resident memory of pid.
func readMemory(pid int) memory {
	var m memory
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(data), "\n") {
		key, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		if err != nil {
			continue
		}
		switch key {
		case "VmRSS":
			m.rss = kb << 10
		case "RssAnon":
			m.anon = kb << 10
		case "RssFile", "RssShmem":
			m.file += kb << 10
		case "VmHWM":
			m.peak = kb << 10
		}
	}
	return m
}

// saveProfiles fetches the announcer's heap profile (in use and allocated;
// heap.txt ends with the runtime's MemStats) into dir, each file name
// prefixed with prefix, and with cpu a 10 s CPU profile.
func saveProfiles(b *testing.B, dir string, node *lab.Host, prefix string, cpu bool) {
	files := map[string]string{"heap.pprof": "/debug/pprof/heap", "heap.txt": "/debug/pprof/heap?debug=1"}
	if cpu {
		files["cpu.pprof"] = "/debug/pprof/profile?seconds=10"
	}
	for name, path := range files {
		resp, err := http.Get("http://" + node.Mgmt4.String() + ":7475" + path)
		if err != nil {
			b.Logf("profile %s: %v", name, err)
			continue
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		_ = os.WriteFile(filepath.Join(dir, prefix+name), data, 0o644)
	}
}
