package announcer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/floatlb/floatlb/announcer/l2"
	"github.com/floatlb/floatlb/announcer/planner"
	"github.com/floatlb/floatlb/config"
)

// testL2Mode returns the Layer 2 mode of node1 with a clock the test
// sets, counting the plans it asks for.
func testL2Mode(t *testing.T) (m *l2Mode, now *time.Time, plans *atomic.Int32) {
	t.Helper()
	plans = new(atomic.Int32)
	m = newL2Mode(logr.Discard(), newMetrics(prometheus.NewRegistry()), "node1", nil, func() { plans.Add(1) })
	now = new(time.Time)
	*now = time.Unix(1000, 0)
	m.now = func() time.Time { return *now }
	fakeCarriers(m)
	m.hasIPVS = func() bool { return false }
	t.Cleanup(func() {
		m.stopWatches()
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.expiry != nil {
			m.expiry.Stop()
		}
	})
	return m, now, plans
}

// carriers is a fake of the carrier watches: every interface has carrier
// unless initial says otherwise; set and end act on a running watch.
type carriers struct {
	mu      sync.Mutex
	initial map[string]bool
	fail    map[string]error
	updates map[string]chan bool
	starts  map[string]int
	stopped map[string]bool
}

// fakeCarriers makes m watch carriers with a fake, returned.
func fakeCarriers(m *l2Mode) *carriers {
	c := &carriers{initial: map[string]bool{}, fail: map[string]error{}, updates: map[string]chan bool{},
		starts: map[string]int{}, stopped: map[string]bool{}}
	m.watchCarrier = c.watch
	return c
}

func (c *carriers) watch(ctx context.Context, ifname string) (<-chan bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fail[ifname]; err != nil {
		return nil, err
	}
	up, ok := c.initial[ifname]
	ch := make(chan bool, 8)
	ch <- up || !ok
	c.updates[ifname] = ch
	c.starts[ifname]++
	c.stopped[ifname] = false
	go func() {
		<-ctx.Done()
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.updates[ifname] == ch {
			c.stopped[ifname] = true
		}
	}()
	return ch, nil
}

func (c *carriers) set(ifname string, up bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.updates[ifname] <- up
}

// end ends ifname's watch as a failed netlink subscription does.
func (c *carriers) end(ifname string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.updates[ifname])
	delete(c.updates, ifname)
}

// running returns the interfaces watched now, sorted.
func (c *carriers) running() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for ifname := range c.updates {
		if !c.stopped[ifname] {
			out = append(out, ifname)
		}
	}
	slices.Sort(out)
	return out
}

func announcerLease(node, version string, held bool) *coordinationv1.Lease {
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: leaseName(node), ResourceVersion: version}}
	if held {
		l.Spec.HolderIdentity = &node
	}
	return l
}

// TestL2ObservePlansOnlyOnChanges: every announcer renews its Lease every
// leaseDuration/4; with thousands of addresses a plan per renewal per node
// was the larger part of an idle announcer's CPU. Only a Lease that
// appears, is released, or comes back after expiring asks for a plan.
func TestL2ObservePlansOnlyOnChanges(t *testing.T) {
	m, now, plans := testL2Mode(t)
	steps := []struct {
		name      string
		node, rv  string
		held      bool
		after     time.Duration
		wantPlans int32
	}{
		{"node2's lease first seen", "node2", "1", true, 0, 1},
		{"node3's lease first seen", "node3", "1", true, 0, 2},
		{"node2 renews", "node2", "2", true, time.Second, 2},
		{"node3 renews", "node3", "2", true, 0, 2},
		{"node2 renews again", "node2", "3", true, time.Second, 2},
		{"node2 releases", "node2", "4", false, 0, 3},
		{"node2 takes it again", "node2", "5", true, 0, 4},
		{"node3 renews after it expired", "node3", "3", true, 10 * time.Second, 5},
		{"not an announcer's lease", "", "9", true, 0, 5},
	}
	for _, s := range steps {
		*now = now.Add(s.after)
		l := announcerLease(s.node, s.rv, s.held)
		if s.node == "" {
			l.Name = "kube-controller-manager"
		}
		m.observe(l)
		if got := plans.Load(); got != s.wantPlans {
			t.Errorf("%s: %d plans asked for, want %d", s.name, got, s.wantPlans)
		}
	}
}

// TestL2ExpiryDue: the expiry timer asks for a plan when a Lease that was
// live at the last plan expired, and otherwise waits for the next expiry.
func TestL2ExpiryDue(t *testing.T) {
	m, now, plans := testL2Mode(t)
	m.observe(announcerLease("node2", "1", true)) // expires at +4s
	plans.Store(0)
	m.scheduleExpiry(now.Add(4*time.Second), true, *now)

	*now = now.Add(3 * time.Second)
	m.observe(announcerLease("node2", "2", true)) // renewed: expires at +7s
	*now = now.Add(time.Second)
	m.expiryDue() // at +4s: renewed, nothing to plan
	if got := plans.Load(); got != 0 {
		t.Fatalf("expiry of a renewed lease asked for %d plans, want none", got)
	}
	m.mu.Lock()
	armed := m.expiry != nil
	m.mu.Unlock()
	if !armed {
		t.Fatal("the expiry timer is not armed for the renewed lease")
	}

	*now = now.Add(3 * time.Second)
	m.expiryDue() // at +7s: expired
	if got := plans.Load(); got != 1 {
		t.Fatalf("expiry of a lease live at the last plan asked for %d plans, want 1", got)
	}
}

// slowProber is an l2Responder whose probes take their window and find
// nobody; it counts the probes running at once.
type slowProber struct {
	l2Responder
	window        time.Duration
	running, most atomic.Int32
	calls         atomic.Int32
}

func (p *slowProber) Probe(ctx context.Context, ip netip.Addr) ([]net.HardwareAddr, error) {
	p.calls.Add(1)
	n := p.running.Add(1)
	defer p.running.Add(-1)
	for {
		most := p.most.Load()
		if n <= most || p.most.CompareAndSwap(most, n) {
			break
		}
	}
	select {
	case <-time.After(p.window):
	case <-ctx.Done():
	}
	return nil, nil
}

func (p *slowProber) Owned(netip.Addr) bool { return true }

// TestL2ProbeRounds: a round of probes asks about many addresses at once,
// and a round still running is not joined by another: with thousands of
// owned addresses, rounds of one probe window per address took longer
// than probeInterval and piled up.
func TestL2ProbeRounds(t *testing.T) {
	m, now, _ := testL2Mode(t)
	p := &slowProber{window: 200 * time.Millisecond}
	m.responders["eth0"] = p
	const owned = 3 * probeParallel
	for i := range owned {
		m.owned[netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})] = l2Owned{ifname: "eth0", since: now.Add(-time.Hour)}
	}
	ctx := context.Background()
	m.probe(ctx, *now)
	*now = now.Add(probeInterval)
	m.probe(ctx, *now) // the first round is still running
	m.probing.Wait()
	if got := p.calls.Load(); got != owned {
		t.Errorf("%d probes, want %d: one round", got, owned)
	}
	if got := p.most.Load(); got != probeParallel {
		t.Errorf("at most %d probes ran at once, want %d", got, probeParallel)
	}
	*now = now.Add(probeInterval)
	m.probe(ctx, *now)
	m.probing.Wait()
	if got := p.calls.Load(); got != 2*owned {
		t.Errorf("%d probes after the second round, want %d", got, 2*owned)
	}
}

// fakeResponder is an l2Responder that records what it owns; probe, when
// set, answers its probes.
type fakeResponder struct {
	mu     sync.Mutex
	owned  []netip.Addr
	probe  func(ip netip.Addr) ([]net.HardwareAddr, error)
	closed bool
}

func (r *fakeResponder) SetOwned(ips []netip.Addr) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.owned = slices.Clone(ips)
	return nil
}

func (r *fakeResponder) Owned(ip netip.Addr) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.owned, ip)
}

func (r *fakeResponder) Probe(_ context.Context, ip netip.Addr) ([]net.HardwareAddr, error) {
	if r.probe == nil {
		return nil, nil
	}
	return r.probe(ip)
}

func (r *fakeResponder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return nil
}

// fakeResponders makes m open a fakeResponder per interface and returns
// them by interface.
func fakeResponders(m *l2Mode) map[string]*fakeResponder {
	rs := map[string]*fakeResponder{}
	m.listen = func(ifname string) (l2Responder, error) {
		r := &fakeResponder{}
		rs[ifname] = r
		return r, nil
	}
	return rs
}

// l2TestConfig has one l2 pool on eth1 and a lease duration of 4s.
func l2TestConfig(pools ...config.Pool) *config.Config {
	if len(pools) == 0 {
		pools = []config.Pool{{Name: "lan", Mode: config.ModeL2, Interface: "eth1"}}
	}
	return &config.Config{Pools: pools, L2: config.L2{LeaseDuration: config.Duration{Duration: 4 * time.Second}}}
}

// announcementCmp compares announcements.
var announcementCmp = cmp.Options{cmp.AllowUnexported(announcement{}), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })}

// rankedFirst returns an address of 198.51.100.0/24 that rendezvous
// hashing gives to first among nodes.
func rankedFirst(t *testing.T, first string, nodes ...string) netip.Addr {
	t.Helper()
	for i := range 256 {
		ip := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		if o, _ := l2.Owner(ip, nodes, func(string) bool { return true }); o == first {
			return ip
		}
	}
	t.Fatalf("no address of 198.51.100.0/24 ranks %s first among %v", first, nodes)
	return netip.Addr{}
}

func TestHandoverMessage(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.10")
	tests := []struct {
		name, prev string
		why        l2.Handover
		want       string
	}{
		{"first owner", "", l2.FirstOwner, "192.0.2.10 now announced by node2"},
		{"lease expired", "node1", l2.PreviousExpired, "192.0.2.10 now announced by node2 (was node1: lease expired)"},
		{"lease released", "node1", l2.PreviousReleased, "192.0.2.10 now announced by node2 (was node1: lease released)"},
		{"rebalanced", "node3", l2.Rebalanced, "192.0.2.10 now announced by node2 (was node3: rebalanced)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := handoverMessage("node2", ip, tc.prev, tc.why); got != tc.want {
				t.Errorf("handoverMessage = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestL2ApplyHandover: the node that takes an address says so, in the
// issue's words, once: the next plans repeat the same message, which
// report does not send again.
func TestL2ApplyHandover(t *testing.T) {
	m, now, _ := testL2Mode(t)
	rs := fakeResponders(m)
	m.renewed = true
	cfg := l2TestConfig()
	nodes := []string{"node1", "node2"}
	mine, theirs := rankedFirst(t, "node1", nodes...), rankedFirst(t, "node2", nodes...)
	plan := planner.Plan{L2: []planner.Claim{
		{IP: mine, Pool: "lan", Interface: "eth1", EligibleNodes: nodes, Services: []string{"default/mine"}},
		{IP: theirs, Pool: "lan", Interface: "eth1", EligibleNodes: nodes, Services: []string{"default/theirs"}},
	}}
	m.observe(announcerLease("node1", "1", true))
	m.observe(announcerLease("node2", "1", true))
	apply := func() []announcement {
		t.Helper()
		anns, err := m.apply(t.Context(), cfg, plan, planner.Node{Name: "node1"})
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(anns, func(a, b announcement) int { return strings.Compare(a.service, b.service) })
		return anns
	}
	want := []announcement{{service: "default/mine", mode: config.ModeL2, ip: mine, message: mine.String() + " now announced by node1"}}
	if diff := cmp.Diff(want, apply(), announcementCmp); diff != "" {
		t.Fatalf("both nodes live (-want +got):\n%s", diff)
	}
	if got := rs["eth1"].owned; !slices.Equal(got, []netip.Addr{mine}) {
		t.Errorf("eth1 answers for %v, want %v", got, mine)
	}

	// node2's Lease stops changing; node1 renews its own.
	*now = now.Add(3 * time.Second)
	m.observe(announcerLease("node1", "2", true))
	*now = now.Add(2 * time.Second)
	want = append(want, announcement{service: "default/theirs", mode: config.ModeL2, ip: theirs,
		message: theirs.String() + " now announced by node1 (was node2: lease expired)"})
	for i := range 2 {
		if diff := cmp.Diff(want, apply(), announcementCmp); diff != "" {
			t.Fatalf("plan %d after node2's Lease expired (-want +got):\n%s", i, diff)
		}
	}
	if got := testutil.ToFloat64(m.metrics.l2OwnerChanges.WithLabelValues("lease-expired")); got != 1 {
		t.Errorf("floatlb_l2_owner_changes_total{reason=lease-expired} = %v, want 1", got)
	}
}

// TestL2ProbeSplitBrain: when the probe of an owned address gets an answer
// from another hardware address, the owner raises the Warning
// floatlb.io/SplitBrain on each Service of the address and counts it in
// floatlb_l2_conflicts_total; not for an address it gave up while the
// probe ran, nor for one it took too recently (the old owner's last
// announcements may still come).
func TestL2ProbeSplitBrain(t *testing.T) {
	a, rec := testAnnouncer(t, "node1", "web", "shared", "calm", "gone", "new")
	m, now, _ := testL2Mode(t)
	m.metrics = a.metrics
	m.conflict = a.splitBrain
	foreign := net.HardwareAddr{0x02, 0, 0, 0, 0xbe, 0xef}
	var (
		split = netip.MustParseAddr("198.51.100.7")
		calm  = netip.MustParseAddr("198.51.100.8")
		gone  = netip.MustParseAddr("198.51.100.9") // given up while probed
		fresh = netip.MustParseAddr("2001:db8::10") // owned since a moment
	)
	r := &fakeResponder{probe: func(ip netip.Addr) ([]net.HardwareAddr, error) {
		if ip == calm {
			return nil, nil
		}
		return []net.HardwareAddr{foreign}, nil
	}}
	if err := r.SetOwned([]netip.Addr{split, calm, fresh}); err != nil {
		t.Fatal(err)
	}
	m.responders["eth1"] = r
	long := now.Add(-time.Hour)
	m.owned[split] = l2Owned{ifname: "eth1", services: []string{"default/shared", "default/web"}, since: long}
	m.owned[calm] = l2Owned{ifname: "eth1", services: []string{"default/calm"}, since: long}
	m.owned[gone] = l2Owned{ifname: "eth1", services: []string{"default/gone"}, since: long}
	m.owned[fresh] = l2Owned{ifname: "eth1", services: []string{"default/new"}, since: *now}

	m.probe(t.Context(), *now)
	m.probing.Wait()
	msg := "floatlb.io/SplitBrain node1 answers ARP/NDP for 198.51.100.7 on eth1, and so does 02:00:00:00:be:ef: " +
		"another host or cluster uses this address; remove it there or take it out of the pool"
	want := []string{"default/shared Warning " + msg, "default/web Warning " + msg}
	got := recorded(rec)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Events (-want +got):\n%s", diff)
	}
	if got := testutil.ToFloat64(a.metrics.l2Conflicts.WithLabelValues("eth1")); got != 1 {
		t.Errorf("floatlb_l2_conflicts_total{interface=eth1} = %v, want 1", got)
	}
}

// TestL2WatchesPoolInterfaces: the carrier of every interface of the l2
// pools that select this node is watched from the config on, whether or
// not the node owns an address there: a node that owns nothing yet on a
// dead NIC gives its Lease up, and is never chosen owner.
func TestL2WatchesPoolInterfaces(t *testing.T) {
	m, _, plans := testL2Mode(t)
	c := fakeCarriers(m)
	fakeResponders(m)
	m.renewed = true
	m.observe(announcerLease("node1", "1", true))
	self := planner.Node{Name: "node1", Labels: map[string]string{"zone": "a"}}
	pools := []config.Pool{
		{Name: "lan", Mode: config.ModeL2, Interface: "eth1"},
		{Name: "zone-a", Mode: config.ModeL2, Interface: "eth2", NodeSelector: map[string]string{"zone": "a"}},
		{Name: "zone-b", Mode: config.ModeL2, Interface: "eth3", NodeSelector: map[string]string{"zone": "b"}},
		{Name: "vrrp", Mode: config.ModeVRRP, Interface: "eth4"},
		{Name: "bgp", Interface: "eth5"},
	}
	ip := netip.MustParseAddr("198.51.100.7")
	owns := planner.Plan{L2: []planner.Claim{{IP: ip, Pool: "lan", Interface: "eth1", EligibleNodes: []string{"node1"}, Services: []string{"default/web"}}}}
	apply := func(what string, cfg *config.Config, plan planner.Plan, wantOwned bool) error {
		t.Helper()
		anns, err := m.apply(t.Context(), cfg, plan, self)
		if got := len(anns) > 0; got != wantOwned {
			t.Fatalf("%s: owns %s: %t, want %t", what, ip, got, wantOwned)
		}
		return err
	}
	wantRunning := func(what string, want ...string) {
		t.Helper()
		waitFor(t, fmt.Sprintf("%s: %q watched", what, want), func() bool { return cmp.Equal(want, c.running()) })
	}

	if err := apply("no address yet", l2TestConfig(pools...), planner.Plan{}, false); err != nil {
		t.Fatal(err)
	}
	wantRunning("no address yet", "eth1", "eth2")
	before := plans.Load()
	c.set("eth2", false)
	waitFor(t, "eth2's lost carrier is seen", m.anyDown)
	select {
	case <-m.carrierChanged:
	default:
		t.Error("keepLease was not woken to give the Lease up")
	}
	if plans.Load() == before {
		t.Error("no plan asked for when eth2 lost carrier")
	}
	if err := apply("eth2 down", l2TestConfig(pools...), owns, false); err != nil {
		t.Fatal(err)
	}
	c.set("eth2", true)
	waitFor(t, "eth2's carrier is back", func() bool { return !m.anyDown() })
	if err := apply("eth2 up again", l2TestConfig(pools...), owns, true); err != nil {
		t.Fatal(err)
	}

	// A pool on a NIC without carrier: the plan that brings it knows.
	dead := append(slices.Clone(pools), config.Pool{Name: "dead", Mode: config.ModeL2, Interface: "eth6"})
	c.initial["eth6"] = false
	if err := apply("a pool on a dead NIC", l2TestConfig(dead...), owns, false); err != nil {
		t.Fatal(err)
	}
	wantRunning("a pool on a dead NIC", "eth1", "eth2", "eth6")
	if err := apply("the pool on the dead NIC gone", l2TestConfig(pools...), owns, true); err != nil {
		t.Fatal(err)
	}
	wantRunning("the pool on the dead NIC gone", "eth1", "eth2")
	if m.anyDown() {
		t.Error("an interface no pool uses any more still counts as down")
	}

	// A watch that ends on its own (netlink) is started again.
	before = plans.Load()
	c.end("eth2")
	waitFor(t, "a plan asked for after eth2's watch ended", func() bool { return plans.Load() > before })
	if err := apply("eth2's watch ended", l2TestConfig(pools...), owns, true); err != nil {
		t.Fatal(err)
	}
	wantRunning("eth2's watch ended", "eth1", "eth2")
	if c.starts["eth2"] != 2 {
		t.Errorf("eth2's watch started %d times, want 2", c.starts["eth2"])
	}

	// A dead NIC whose watch ends and cannot start again, and then its
	// pool goes: its lost carrier no longer counts.
	flaky := append(slices.Clone(pools), config.Pool{Name: "flaky", Mode: config.ModeL2, Interface: "eth7"})
	c.initial["eth7"] = false
	if err := apply("a pool on another dead NIC", l2TestConfig(flaky...), owns, false); err != nil {
		t.Fatal(err)
	}
	c.fail["eth7"] = errors.New("interface eth7: no such network interface")
	before = plans.Load()
	c.end("eth7")
	waitFor(t, "a plan asked for after eth7's watch ended", func() bool { return plans.Load() > before })
	if err := apply("eth7's watch cannot start again", l2TestConfig(flaky...), owns, false); err == nil {
		t.Error("eth7's watch cannot start again: no error")
	}
	if err := apply("the pool on eth7 gone", l2TestConfig(pools...), owns, true); err != nil {
		t.Fatal(err)
	}
	if m.anyDown() {
		t.Error("eth7, whose watch had ended and which no pool uses any more, still counts as down")
	}

	// An interface that cannot be watched (it does not exist) is an error,
	// not a dead NIC.
	missing := append(slices.Clone(pools), config.Pool{Name: "typo", Mode: config.ModeL2, Interface: "eht1"})
	c.fail["eht1"] = errors.New("interface eht1: no such network interface")
	err := apply("a pool on a missing interface", l2TestConfig(missing...), owns, true)
	if err == nil || !strings.Contains(err.Error(), "watching the carrier of eht1") {
		t.Errorf("a pool on a missing interface: error %v", err)
	}

	// No l2 pool: nothing watched.
	if err := apply("no l2 pool", l2TestConfig(pools[3:]...), planner.Plan{}, false); err != nil {
		t.Fatal(err)
	}
	wantRunning("no l2 pool")
}

// TestL2ARPIgnoreWarning: when kube-proxy's IPVS interface exists, each
// announcer warns about an l2 interface with arp_ignore 0 when it starts
// watching it, owner or not, once.
func TestL2ARPIgnoreWarning(t *testing.T) {
	tests := []struct {
		name      string
		ipvs      bool
		arpIgnore int
		err       error
		warn      bool
	}{
		{name: "IPVS and arp_ignore 0", ipvs: true, warn: true},
		{name: "IPVS and strictARP", ipvs: true, arpIgnore: 1},
		{name: "IPVS, arp_ignore unreadable", ipvs: true, err: errors.New("no such file")},
		{name: "no IPVS", ipvs: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _, _ := testL2Mode(t)
			var warnings []string
			m.log = funcr.New(func(_, args string) {
				if strings.Contains(args, "arp_ignore is 0") {
					warnings = append(warnings, args)
				}
			}, funcr.Options{})
			var read []string
			m.hasIPVS = func() bool { return tc.ipvs }
			m.arpIgnore = func(ifname string) (int, error) {
				read = append(read, ifname)
				return tc.arpIgnore, tc.err
			}
			for range 2 {
				if _, err := m.apply(t.Context(), l2TestConfig(), planner.Plan{}, planner.Node{Name: "node1"}); err != nil {
					t.Fatal(err)
				}
			}
			if got := len(warnings); got != map[bool]int{true: 1}[tc.warn] {
				t.Errorf("%d warnings, want one: %t: %q", got, tc.warn, warnings)
			}
			if tc.warn && !strings.Contains(warnings[0], `"interface"="eth1"`) {
				t.Errorf("the warning names no interface eth1: %s", warnings[0])
			}
			if want := map[bool][]string{true: {"eth1"}}[tc.ipvs]; !slices.Equal(read, want) {
				t.Errorf("arp_ignore read of %q, want %q", read, want)
			}
		})
	}
}
