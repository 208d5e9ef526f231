package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/floatlb/floatlb/test/e2e/lab"
	"github.com/floatlb/floatlb/test/fixture"
	"github.com/floatlb/floatlb/test/kubeenv"
)

// What the Layer 2 and VRRP failover benchmarks share: a lab whose LAN
// host has the pools on its link, and fast looks into the namespaces.

// lanPoll is how often a failover benchmark looks, while it times one:
// short next to the failovers it measures (tens to thousands of ms).
const lanPoll = 10 * time.Millisecond

// failoverRuns is how often each failover is timed: 5, or
// FLOATLB_BENCH_FAILOVER_RUNS.
func failoverRuns(b *testing.B) int {
	v := os.Getenv("FLOATLB_BENCH_FAILOVER_RUNS")
	if v == "" {
		return 5
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("FLOATLB_BENCH_FAILOVER_RUNS=%q: give a positive number", v)
	}
	return n
}

// lanBed is a lab with a LAN host, an API server on the management bridge,
// Ready dual-stack Nodes, a floatlb config and an announcer per node. No
// CCM: the benchmarks write the Services' status themselves, as the CCM
// would. FLOATLB_BENCH_LAB_DIR=dir keeps the lab's logs (the announcers'
// -v=2 logs among them) in a new directory under dir.
type lanBed struct {
	lab        *lab.Lab
	env        *kubeenv.Env
	client     kubernetes.Interface
	announcers map[string]*lab.Process // by node name
	links      map[string]*nsLink      // by host name
	args       []string                // the announcers' flags besides startAnnouncer's
}

// newLANBed starts a lanBed whose announcers log at -v=2.
func newLANBed(b *testing.B, config string, pools ...netip.Prefix) *lanBed {
	return startLANBed(b, config, pools, "-v=2")
}

// startLANBed starts a lanBed with config, the LAN host having pools on
// its link, and the announcers' flags args besides startAnnouncer's.
func startLANBed(b *testing.B, config string, pools []netip.Prefix, args ...string) *lanBed {
	opts := lab.Options{LANHost: true}
	if dir := os.Getenv("FLOATLB_BENCH_LAB_DIR"); dir != "" {
		opts.Dir = filepath.Join(dir, b.Name()+"-"+time.Now().Format("20060102-150405"))
		if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
			b.Fatal(err)
		}
		lanLog(b, "lab logs in %s", opts.Dir)
	}
	l := lab.New(b, opts)
	env := kubeenv.StartT(b, kubeenv.Options{
		BindAddress:    l.MgmtAddr(),
		APIServerFlags: []string{"--service-cluster-ip-range=198.18.0.0/16,2001:db8:18::/112"},
	})
	cfg := env.RESTConfig()
	cfg.QPS, cfg.Burst = 2000, 4000
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	for _, h := range l.Nodes() {
		if err := fixture.RegisterNode(ctx, client, h.Name, h.IPv4, h.IPv6); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := fixture.SetConfig(ctx, client, config); err != nil {
		b.Fatal(err)
	}
	for _, p := range pools {
		if err := l.OnLink(ctx, l.LANHost(), p); err != nil {
			b.Fatal(err)
		}
	}
	bed := &lanBed{lab: l, env: env, client: client, announcers: map[string]*lab.Process{}, links: map[string]*nsLink{}, args: args}
	for _, h := range append(l.Nodes(), l.LANHost()) {
		nl, err := openNSLink(h)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(nl.close)
		bed.links[h.Name] = nl
	}
	for _, h := range l.Nodes() {
		bed.startAnnouncer(b, h)
	}
	bed.waitReady(b)
	return bed
}

// startAnnouncer starts floatlb-announcer on h, in place of the one before.
func (bed *lanBed) startAnnouncer(b *testing.B, h *lab.Host) {
	bed.announcers[h.Name] = startAnnouncer(b, bed.lab, bed.env, h, bed.args...)
}

// footprint returns what measureFootprint needs of the bed: its
// announcers in node order, and IPv4 Services of address.
func (bed *lanBed) footprint(mode string, address func(int) netip.Addr, announced func(context.Context) (int, error), describe func(*lab.Host) string) footprintBed {
	f := footprintBed{mode: mode, client: bed.client, address: address, announced: announced, describe: describe,
		create: func(ctx context.Context, name string, ip netip.Addr) error {
			return createService(ctx, bed.client, name, false, ip)
		}}
	for _, h := range bed.lab.Nodes() {
		f.announcers = append(f.announcers, bed.announcers[h.Name])
	}
	return f
}

// waitReady waits until every announcer answers /readyz.
func (bed *lanBed) waitReady(b *testing.B) {
	steady(b, time.Minute, 0, "every announcer ready", func() error {
		for _, h := range bed.lab.Nodes() {
			if err := announcerGet(h, "/readyz", nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// service creates a dual-stack LoadBalancer Service holding ips in its
// status.
func (bed *lanBed) service(b *testing.B, name string, ips ...netip.Addr) {
	if err := createService(context.Background(), bed.client, name, true, ips...); err != nil {
		b.Fatal(err)
	}
}

// acceptVIPs makes every node accept ips, as kube-proxy would.
func (bed *lanBed) acceptVIPs(b *testing.B, ips ...netip.Addr) {
	for _, h := range bed.lab.Nodes() {
		for _, ip := range ips {
			if err := bed.lab.AcceptVIP(context.Background(), h, ip); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// nodeNames names the lab's nodes but except.
func (bed *lanBed) nodeNames(except ...string) []string {
	var names []string
	for _, h := range bed.lab.Nodes() {
		if !slices.Contains(except, h.Name) {
			names = append(names, h.Name)
		}
	}
	return names
}

// node returns the lab's node named name.
func (bed *lanBed) node(b *testing.B, name string) *lab.Host {
	for _, h := range bed.lab.Nodes() {
		if h.Name == name {
			return h
		}
	}
	b.Fatalf("no node %s in the lab", name)
	return nil
}

// nodeOfMAC names the node whose LAN interface has mac: "nobody" for none,
// else mac itself when it is no node's.
func (bed *lanBed) nodeOfMAC(mac net.HardwareAddr) string {
	if mac == nil {
		return "nobody"
	}
	for _, h := range bed.lab.Nodes() {
		if h.MAC.String() == mac.String() {
			return h.Name
		}
	}
	return mac.String()
}

// lanSendsTo names the node the LAN host's kernel sends ip's packets to,
// from its neighbour table: one netlink dump, nothing sent.
func (bed *lanBed) lanSendsTo(ip netip.Addr) (string, error) {
	mac, err := bed.links[bed.lab.LANHost().Name].neighbor(ip)
	if err != nil {
		return "", err
	}
	return bed.nodeOfMAC(mac), nil
}

// resolve makes the LAN host's kernel resolve ip (one UDP datagram to the
// discard port) and waits until its neighbour entry names a node. The
// failovers then move that entry by gratuitous ARP / unsolicited NA alone:
// the LAN host sends nothing more to ip.
func (bed *lanBed) resolve(b *testing.B, ip netip.Addr) {
	lan := bed.lab.LANHost()
	err := bed.lab.InNamespace(lan, func() error {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 9)))
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("floatlb bench"))
		return err
	})
	if err != nil {
		b.Fatalf("sending to %s from the LAN host: %v", ip, err)
	}
	steady(b, 10*time.Second, 0, fmt.Sprintf("the LAN host resolves %s", ip), func() error {
		got, err := bed.lanSendsTo(ip)
		if err != nil {
			return err
		}
		if got == "nobody" {
			return fmt.Errorf("no neighbour entry for %s", ip)
		}
		return nil
	})
}

// holds reports whether host has ip on its LAN interface.
func (bed *lanBed) holds(host string, ip netip.Addr) (bool, error) {
	return bed.links[host].has(ip)
}

// nsLink looks at one interface of a lab namespace over a netlink socket
// opened inside it: a look costs a syscall, not an `ip` process, so it can
// poll every few milliseconds.
type nsLink struct {
	h    *netlink.Handle
	link netlink.Link
}

func openNSLink(host *lab.Host) (*nsLink, error) {
	ns, err := netns.GetFromPath(filepath.Join("/run/netns", host.NS))
	if err != nil {
		return nil, fmt.Errorf("opening the namespace of %s: %w", host, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("netlink in %s: %w", host, err)
	}
	link, err := h.LinkByName(host.Interface)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("%s of %s: %w", host.Interface, host, err)
	}
	return &nsLink{h: h, link: link}, nil
}

func (n *nsLink) close() { n.h.Close() }

func family(ip netip.Addr) int {
	if ip.Is4() {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

// neighbor returns the hardware address of the interface's neighbour entry
// for ip, nil without one (or while it is INCOMPLETE or FAILED).
func (n *nsLink) neighbor(ip netip.Addr) (net.HardwareAddr, error) {
	list, err := n.h.NeighList(n.link.Attrs().Index, family(ip))
	if err != nil {
		return nil, fmt.Errorf("neighbours: %w", err)
	}
	for _, e := range list {
		got, ok := netip.AddrFromSlice(e.IP)
		if !ok || got.Unmap() != ip || len(e.HardwareAddr) == 0 || e.State&(netlink.NUD_INCOMPLETE|netlink.NUD_FAILED) != 0 {
			continue
		}
		return e.HardwareAddr, nil
	}
	return nil, nil
}

// has reports whether ip is on the interface.
func (n *nsLink) has(ip netip.Addr) (bool, error) {
	addrs, err := n.h.AddrList(n.link, family(ip))
	if err != nil {
		return false, fmt.Errorf("addresses: %w", err)
	}
	for _, a := range addrs {
		if got, ok := netip.AddrFromSlice(a.IP); ok && got.Unmap() == ip {
			return true, nil
		}
	}
	return false, nil
}

// count returns how many addresses of p are on the interface. A dump that
// addresses changed during is read again.
func (n *nsLink) count(p netip.Prefix) (int, error) {
	addrs, err := n.h.AddrList(n.link, family(p.Addr()))
	for try := 0; errors.Is(err, netlink.ErrDumpInterrupted) && try < 10; try++ {
		addrs, err = n.h.AddrList(n.link, family(p.Addr()))
	}
	if err != nil {
		return 0, fmt.Errorf("addresses: %w", err)
	}
	c := 0
	for _, a := range addrs {
		if got, ok := netip.AddrFromSlice(a.IP); ok && p.Contains(got.Unmap()) {
			c++
		}
	}
	return c, nil
}

// announcerGet GETs path from h's announcer; with each it reads the body
// line by line.
func announcerGet(h *lab.Host, path string, each func(line string)) error {
	client := http.Client{Timeout: 2 * time.Second}
	url := "http://" + netip.AddrPortFrom(h.Mgmt4, 7475).String() + path
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if each != nil {
			each(sc.Text())
		}
	}
	return sc.Err()
}

// announcerMetric sums the series of the metric name that h's announcer
// exports.
func announcerMetric(h *lab.Host, name string) (float64, error) {
	var sum float64
	var perr error
	err := announcerGet(h, "/metrics", func(line string) {
		series, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			return
		}
		if n, _, _ := strings.Cut(series, "{"); n != name {
			return
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			perr = fmt.Errorf("%s of %s: %w", name, h, err)
		}
		sum += v
	})
	if err == nil {
		err = perr
	}
	return sum, err
}

// steady polls cond every lanPoll until it has held for hold without a
// break (0: once), and fails the benchmark after timeout with cond's last
// error.
func steady(b *testing.B, timeout, hold time.Duration, what string, cond func() error) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	var since time.Time
	for {
		err := cond()
		switch {
		case err != nil:
			since = time.Time{}
		case since.IsZero():
			since = time.Now()
		}
		if err == nil && time.Since(since) >= hold {
			return
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("held only for %s", time.Since(since).Round(time.Millisecond))
			}
			b.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(lanPoll)
	}
}

// timeUntil polls each of conds every lanPoll until every one has held
// once, and returns, by name, the time from start until it was first seen
// to hold. It fails the benchmark after timeout.
func timeUntil(b *testing.B, start time.Time, timeout time.Duration, conds map[string]func() (bool, error)) map[string]time.Duration {
	b.Helper()
	took := map[string]time.Duration{}
	var lastErr error
	for len(took) < len(conds) {
		for name, cond := range conds {
			if _, done := took[name]; done {
				continue
			}
			ok, err := cond()
			if err != nil {
				lastErr = err
				continue
			}
			if ok {
				took[name] = time.Since(start)
			}
		}
		if len(took) == len(conds) {
			break
		}
		if time.Since(start) > timeout {
			var missing []string
			for name := range conds {
				if _, done := took[name]; !done {
					missing = append(missing, name)
				}
			}
			slices.Sort(missing)
			b.Fatalf("not within %s: %v (last error: %v; done: %v)", timeout, missing, lastErr, took)
		}
		time.Sleep(lanPoll)
	}
	return took
}

// failoverCase collects the times of one fault and family over the runs.
type failoverCase struct {
	name  string        // in the metrics' units: "sigterm-v4"
	what  string        // for the log: "SIGTERM of the owner's announcer, IPv4"
	goal  time.Duration // 0: none
	times []time.Duration
}

// minMedianMax returns the smallest, the median and the largest of d.
func minMedianMax(d []time.Duration) (lo, med, hi time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return s[0], med, s[n-1]
}

// reportFailovers logs a table of the cases and reports min, median and
// max of each as metrics ("ms-sigterm-v4-median").
func reportFailovers(b *testing.B, cases []*failoverCase) {
	b.Helper()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	lanLog(b, "%-70s %5s %9s %9s %9s %9s", "fault → the new owner takes over", "runs", "min", "median", "max", "goal")
	for _, c := range cases {
		if len(c.times) == 0 {
			continue
		}
		lo, med, hi := minMedianMax(c.times)
		goal, verdict := "", ""
		if c.goal > 0 {
			goal = c.goal.String()
			if med > c.goal {
				verdict = " MISSED (median)"
			} else if hi > c.goal {
				verdict = " met by the median, not by the max"
			}
		}
		r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
		lanLog(b, "%-70s %5d %9s %9s %9s %9s%s", c.what, len(c.times), r(lo), r(med), r(hi), goal, verdict)
		b.ReportMetric(ms(lo), "ms-"+c.name+"-min")
		b.ReportMetric(ms(med), "ms-"+c.name+"-median")
		b.ReportMetric(ms(hi), "ms-"+c.name+"-max")
	}
}

// lanLog logs a line of a failover benchmark. Go keeps only the first
// ten lines of a benchmark's log unless -test.v is given, so without it the
// lines (every run, the table) go to standard error as they come.
func lanLog(b *testing.B, format string, args ...any) {
	b.Helper()
	if testing.Verbose() {
		b.Logf(format, args...)
		return
	}
	fmt.Fprintf(os.Stderr, "    %s: %s\n", b.Name(), fmt.Sprintf(format, args...))
}

// familyName is "v4" or "v6".
func familyName(ip netip.Addr) string {
	if ip.Is4() {
		return "v4"
	}
	return "v6"
}

// runFault starts fault at once in its own goroutine, so that timing
// starts when it does (Stop returns only once the process is gone), and
// returns a function that waits for it and fails the benchmark if it
// failed.
func runFault(b *testing.B, fault func() error) (wait func()) {
	done := make(chan error, 1)
	go func() { done <- fault() }()
	return func() {
		b.Helper()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}
