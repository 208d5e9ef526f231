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
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	v1 "k8s.io/api/core/v1"

	"github.com/floatlb/floatlb/announcer/planner"
	"github.com/floatlb/floatlb/announcer/vrrp"
	"github.com/floatlb/floatlb/config"
)

// sentEvent is an Event the vrrp mode sent.
type sentEvent struct {
	Service, Type, Reason, Message string
}

// eventSink records Events; the Router's goroutines send them.
type eventSink struct {
	mu     sync.Mutex
	events []sentEvent
}

func (s *eventSink) event(service, eventType, reason, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, sentEvent{service, eventType, reason, msg})
}

// take returns the Events sent since the last take.
func (s *eventSink) take() []sentEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.events
	s.events = nil
	return out
}

// testVRRPMode returns node1's vrrp mode with its metrics on reg, its
// Events in the sink and a clock the test sets.
func testVRRPMode(t *testing.T) (v *vrrpMode, reg *prometheus.Registry, sink *eventSink, now *time.Time) {
	t.Helper()
	reg = prometheus.NewRegistry()
	sink = &eventSink{}
	v = newVRRPMode(logr.Discard(), newMetrics(reg), "node1", sink.event, func() {})
	now = new(time.Time)
	*now = time.Unix(1000, 0)
	v.now = func() time.Time { return *now }
	v.open = func(*vrrp.Options) error { return errors.New("no sockets in this test") }
	return v, reg, sink, now
}

const testVRRPInstance = "bf8393ae-eth0"

// withInstance makes in one of v's instances, as apply does.
func withInstance(v *vrrpMode, in vrrp.Instance) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.instances[in.Name] = in
}

func TestVRRPObserverTransition(t *testing.T) {
	v, reg, sink, _ := testVRRPMode(t)
	withInstance(v, vrrp.Instance{
		Name: testVRRPInstance, Interface: "eth0", VRID: 112,
		Addresses: []netip.Addr{netip.MustParseAddr("198.19.30.0"), netip.MustParseAddr("198.19.30.7")},
		Services:  []string{"default/a", "default/b"},
	})
	obs := vrrpObserver{v}
	event := func(svc, reason, msg string) sentEvent {
		return sentEvent{svc, v1.EventTypeNormal, reason, msg}
	}
	for _, tc := range []struct {
		name     string
		from, to vrrp.State
		reason   string
		want     []sentEvent
	}{{
		name: "start: no Event", from: vrrp.Initialize, to: vrrp.Backup, reason: "startup",
	}, {
		name: "a backup takes over", from: vrrp.Backup, to: vrrp.Master, reason: "master-down",
		want: []sentEvent{
			event("default/a", "floatlb.io/VRRPMaster", "node1 is now VRRP master of instance bf8393ae-eth0 (VRID 112) for 198.19.30.0, 198.19.30.7: master-down"),
			event("default/b", "floatlb.io/VRRPMaster", "node1 is now VRRP master of instance bf8393ae-eth0 (VRID 112) for 198.19.30.0, 198.19.30.7: master-down"),
		},
	}, {
		name: "a master steps back", from: vrrp.Master, to: vrrp.Backup, reason: "higher-priority",
		want: []sentEvent{
			event("default/a", "floatlb.io/VRRPBackup", "node1 is now VRRP backup of instance bf8393ae-eth0 (VRID 112) for 198.19.30.0, 198.19.30.7: higher-priority"),
			event("default/b", "floatlb.io/VRRPBackup", "node1 is now VRRP backup of instance bf8393ae-eth0 (VRID 112) for 198.19.30.0, 198.19.30.7: higher-priority"),
		},
	}, {
		name: "the owner starts as master", from: vrrp.Initialize, to: vrrp.Master, reason: "owner",
		want: []sentEvent{
			event("default/a", "floatlb.io/VRRPMaster", "node1 is now VRRP master of instance bf8393ae-eth0 (VRID 112) for 198.19.30.0, 198.19.30.7: owner"),
			event("default/b", "floatlb.io/VRRPMaster", "node1 is now VRRP master of instance bf8393ae-eth0 (VRID 112) for 198.19.30.0, 198.19.30.7: owner"),
		},
	}, {
		name: "stop: no Event", from: vrrp.Master, to: vrrp.Initialize, reason: "shutdown",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			obs.Transition(testVRRPInstance, 112, tc.from, tc.to, tc.reason)
			if diff := cmp.Diff(tc.want, sink.take()); diff != "" {
				t.Errorf("Events (-want +got):\n%s", diff)
			}
		})
	}
	want := `
# HELP floatlb_vrrp_transitions_total VRRP state changes of this node's instances, by instance, its VRID, the new state and the reason. The series of an instance go when this node stops running it.
# TYPE floatlb_vrrp_transitions_total counter
floatlb_vrrp_transitions_total{reason="higher-priority",state="backup",vrid="112",vrrp_instance="bf8393ae-eth0"} 1
floatlb_vrrp_transitions_total{reason="master-down",state="master",vrid="112",vrrp_instance="bf8393ae-eth0"} 1
floatlb_vrrp_transitions_total{reason="owner",state="master",vrid="112",vrrp_instance="bf8393ae-eth0"} 1
floatlb_vrrp_transitions_total{reason="shutdown",state="initialize",vrid="112",vrrp_instance="bf8393ae-eth0"} 1
floatlb_vrrp_transitions_total{reason="startup",state="backup",vrid="112",vrrp_instance="bf8393ae-eth0"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "floatlb_vrrp_transitions_total"); err != nil {
		t.Error(err)
	}
}

// TestVRRPTransitionSeries: the series of an instance go when it stops
// running on this node, or when its VRID changes; the others stay.
func TestVRRPTransitionSeries(t *testing.T) {
	v, reg, _, _ := testVRRPMode(t)
	obs := vrrpObserver{v}
	obs.Transition("a-eth0", 7, vrrp.Initialize, vrrp.Backup, "startup")
	obs.Transition("b-eth0", 8, vrrp.Initialize, vrrp.Backup, "startup")
	obs.Transition("b-eth0", 8, vrrp.Backup, vrrp.Master, "master-down")
	if got := testutil.CollectAndCount(v.metrics.vrrpTransitions); got != 3 {
		t.Fatalf("%d series, want 3", got)
	}
	// Another instance took a's VRID: a restarts on 9.
	obs.Transition("a-eth0", 7, vrrp.Backup, vrrp.Initialize, "shutdown")
	obs.Transition("a-eth0", 9, vrrp.Initialize, vrrp.Backup, "startup")
	v.forget([]vrrp.Instance{{Name: "a-eth0"}})
	want := `
# HELP floatlb_vrrp_transitions_total VRRP state changes of this node's instances, by instance, its VRID, the new state and the reason. The series of an instance go when this node stops running it.
# TYPE floatlb_vrrp_transitions_total counter
floatlb_vrrp_transitions_total{reason="startup",state="backup",vrid="9",vrrp_instance="a-eth0"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "floatlb_vrrp_transitions_total"); err != nil {
		t.Error(err)
	}
	v.forget(nil)
	if got := testutil.CollectAndCount(v.metrics.vrrpTransitions); got != 0 {
		t.Errorf("%d series after every instance stopped, want 0", got)
	}
}

// TestVRRPObserverForeignAdvert: a source advertising one of our VRIDs
// with other addresses is reported once its adverts have lasted
// foreignAdvertAfter, then at most every foreignAdvertQuiet; short runs
// (nodes of an instance updating their lists one after the other) are
// not.
func TestVRRPObserverForeignAdvert(t *testing.T) {
	v, reg, sink, now := testVRRPMode(t)
	withInstance(v, vrrp.Instance{
		Name: testVRRPInstance, Interface: "eth0", VRID: 112,
		Addresses: []netip.Addr{netip.MustParseAddr("198.19.30.0")},
		Services:  []string{"default/a", "default/b"},
	})
	obs := vrrpObserver{v}
	src := netip.MustParseAddr("192.0.2.50")
	theirs := []netip.Addr{netip.MustParseAddr("198.19.30.250"), netip.MustParseAddr("198.19.30.251")}
	start := *now
	// advertsUntil sends an advert every 100ms from now until end.
	advertsUntil := func(end time.Duration) {
		for ; now.Sub(start) <= end; *now = now.Add(100 * time.Millisecond) {
			obs.ForeignAdvert(testVRRPInstance, 112, src, theirs)
		}
	}
	msg := "VRRP router 192.0.2.50 advertises VRID 112 on eth0, which instance bf8393ae-eth0 uses, with other addresses (198.19.30.250, 198.19.30.251): another cluster or device on this LAN uses the VRID (RFC 5798 section 7.1). Give it another VRID or move this pool to another interface"
	reported := []sentEvent{
		{"default/a", v1.EventTypeWarning, "floatlb.io/VRRPForeignRouter", msg},
		{"default/b", v1.EventTypeWarning, "floatlb.io/VRRPForeignRouter", msg},
	}
	for _, step := range []struct {
		name      string
		until     time.Duration // adverts from the last step's end until
		pause     time.Duration // before them
		want      []sentEvent
		wantCount float64
	}{
		{name: "2.5 s of adverts: a node updating its list, not yet foreign", until: 2500 * time.Millisecond},
		{name: "a pause of 2 s starts over", pause: 2 * time.Second, until: 7 * time.Second},
		{name: "3 s without a pause: reported", until: 8 * time.Second, want: reported, wantCount: 1},
		{name: "going on: quiet", until: 60 * time.Second, wantCount: 1},
		{name: "back after a pause, within 5 minutes: quiet", pause: 10 * time.Second, until: 80 * time.Second, wantCount: 1},
		{name: "still there 5 minutes after the report: reported again", until: 6 * time.Minute, want: reported, wantCount: 2},
	} {
		t.Run(step.name, func(t *testing.T) {
			*now = now.Add(step.pause)
			advertsUntil(step.until)
			if diff := cmp.Diff(step.want, sink.take()); diff != "" {
				t.Errorf("Events (-want +got):\n%s", diff)
			}
			if got := testutil.ToFloat64(v.metrics.vrrpForeign); got != step.wantCount {
				t.Errorf("floatlb_vrrp_foreign_routers_total = %v, want %v", got, step.wantCount)
			}
		})
	}
	if n, err := testutil.GatherAndCount(reg, "floatlb_vrrp_foreign_routers_total"); err != nil || n != 1 {
		t.Errorf("floatlb_vrrp_foreign_routers_total: %d series, %v; want one", n, err)
	}
}

// vrrpTestConfig is a vrrp pool on eth0 at advertInterval 10ms.
func vrrpTestConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(`
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: vip
  mode: vrrp
  interface: eth0
  addresses: [198.19.0.0/16]
vrrp:
  advertInterval: 10ms
`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestVRRPModeInstanceLimit: a plan of more instances on one interface
// than there are VRIDs is refused with a Warning Event on each Service
// of this node's claims, and no instance runs.
func TestVRRPModeInstanceLimit(t *testing.T) {
	v, _, sink, _ := testVRRPMode(t)
	cfg := vrrpTestConfig(t)
	var plan planner.Plan
	for i := range 256 {
		c := planner.Claim{
			IP:            netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)}),
			Pool:          "vip",
			Interface:     "eth0",
			EligibleNodes: []string{fmt.Sprintf("node%03d", i)},
			Services:      []string{fmt.Sprintf("default/s%d", i)},
		}
		if i < 2 {
			c.EligibleNodes = append(c.EligibleNodes, "node1")
			plan.VRRP = append(plan.VRRP, c)
		} else {
			plan.VRRPElsewhere = append(plan.VRRPElsewhere, c)
		}
	}
	held, err := v.apply(context.Background(), cfg, plan, planner.Node{Name: "node1"})
	if !errors.Is(err, vrrp.ErrTooManyInstances) || held != 0 {
		t.Fatalf("apply = %d, %v; want 0 and ErrTooManyInstances", held, err)
	}
	msg := `VRRP mode cannot run this Service's address: 256 ipv4 vrrp instances on interface "eth0", but only 254 VRIDs are free (255 less vrrp.reservedVRIDs): spread the addresses over fewer node sets or more interfaces: too many vrrp instances. Use fewer distinct node sets (externalTrafficPolicy Local makes one per endpoint set) or another interface`
	want := []sentEvent{
		{"default/s0", v1.EventTypeWarning, "floatlb.io/VRRPInstanceLimit", msg},
		{"default/s1", v1.EventTypeWarning, "floatlb.io/VRRPInstanceLimit", msg},
	}
	if diff := cmp.Diff(want, sink.take()); diff != "" {
		t.Errorf("Events (-want +got):\n%s", diff)
	}
	if v.router != nil {
		t.Error("a Router was started for a refused plan")
	}
}

// TestVRRPModeApply runs node1's instance through a Router on fake
// sockets: it becomes master when nobody advertises, backup when a router
// with a higher priority does, and its series go when the plan drops it.
func TestVRRPModeApply(t *testing.T) {
	v, reg, sink, _ := testVRRPMode(t)
	v.now = time.Now
	conn := newFakeVRRPConn()
	addrs := &fakeVRRPAddrs{primary: netip.MustParseAddr("192.0.2.11")}
	v.open = func(opts *vrrp.Options) error {
		opts.IPv4 = conn
		opts.Addresses = addrs
		opts.Announcer = nil
		opts.InterfaceIndex = func(string) (int, error) { return 1, nil }
		return nil
	}
	cfg := vrrpTestConfig(t)
	vip := netip.MustParseAddr("198.19.30.1")
	plan := planner.Plan{VRRP: []planner.Claim{{IP: vip, Pool: "vip", Interface: "eth0", EligibleNodes: []string{"node1", "node2"}, Services: []string{"default/a"}}}}
	self := planner.Node{Name: "node1"}
	ins, err := vrrp.Instances("node1", []vrrp.Claim{{IP: vip, Interface: "eth0", EligibleNodes: []string{"node1", "node2"}}}, []uint8{config.DefaultReservedVRID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := ins[0]
	ctx := context.Background()
	defer func() { _ = v.close(ctx) }()

	if _, err := v.apply(ctx, cfg, plan, self); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node1 holds "+vip.String(), func() bool { return slices.Contains(addrs.list(), vip) })
	waitEvents(t, sink, []sentEvent{{"default/a", v1.EventTypeNormal, "floatlb.io/VRRPMaster",
		fmt.Sprintf("node1 is now VRRP master of instance %s (VRID %d) for 198.19.30.1: master-down", in.Name, in.VRID)}})
	if held, err := v.apply(ctx, cfg, plan, self); err != nil || held != 1 {
		t.Errorf("apply as master = %d, %v; want 1 address held", held, err)
	}
	if got := testutil.ToFloat64(v.metrics.vrrpMasters); got != 1 {
		t.Errorf("floatlb_vrrp_master_instances = %v, want 1", got)
	}

	// A router with a higher priority and our addresses: we step back.
	higher := vrrp.Advert{VRID: in.VRID, Priority: 254, MaxAdvertInterval: 10 * time.Millisecond, Addresses: []netip.Addr{vip}}
	other := netip.MustParseAddr("192.0.2.12")
	b, err := higher.Marshal(other, vrrp.GroupIPv4)
	if err != nil {
		t.Fatal(err)
	}
	conn.inject(b, vrrp.PacketInfo{Src: other, Dst: vrrp.GroupIPv4, TTL: 255, IfIndex: 1})
	waitEvents(t, sink, []sentEvent{{"default/a", v1.EventTypeNormal, "floatlb.io/VRRPBackup",
		fmt.Sprintf("node1 is now VRRP backup of instance %s (VRID %d) for 198.19.30.1: higher-priority", in.Name, in.VRID)}})
	waitFor(t, "node1 no longer holds "+vip.String(), func() bool { return !slices.Contains(addrs.list(), vip) })

	want := fmt.Sprintf(`
# HELP floatlb_vrrp_transitions_total VRRP state changes of this node's instances, by instance, its VRID, the new state and the reason. The series of an instance go when this node stops running it.
# TYPE floatlb_vrrp_transitions_total counter
floatlb_vrrp_transitions_total{reason="higher-priority",state="backup",vrid="%[2]d",vrrp_instance=%[1]q} 1
floatlb_vrrp_transitions_total{reason="master-down",state="master",vrid="%[2]d",vrrp_instance=%[1]q} 1
floatlb_vrrp_transitions_total{reason="startup",state="backup",vrid="%[2]d",vrrp_instance=%[1]q} 1
`, in.Name, in.VRID)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "floatlb_vrrp_transitions_total"); err != nil {
		t.Error(err)
	}

	// The Service went: the instance stops, and its series go.
	if _, err := v.apply(ctx, cfg, planner.Plan{}, self); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(v.metrics.vrrpTransitions); n != 0 {
		t.Errorf("%d transitions_total series after the instance stopped, want 0", n)
	}
	if got := testutil.ToFloat64(v.metrics.vrrpInstances); got != 0 {
		t.Errorf("floatlb_vrrp_instances = %v, want 0", got)
	}
}

// waitFor waits up to 10 s for cond.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// waitEvents waits until the sink has Events and compares them to want.
func waitEvents(t *testing.T, sink *eventSink, want []sentEvent) {
	t.Helper()
	var got []sentEvent
	waitFor(t, fmt.Sprintf("%d Events", len(want)), func() bool {
		got = append(got, sink.take()...)
		return len(got) >= len(want)
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Events (-want +got):\n%s", diff)
	}
}

// fakeVRRPConn is an IPv4 VRRP socket on interface 1 that the test feeds.
type fakeVRRPConn struct {
	in   chan []byte
	info chan vrrp.PacketInfo
	once sync.Once
}

func newFakeVRRPConn() *fakeVRRPConn {
	return &fakeVRRPConn{in: make(chan []byte, 16), info: make(chan vrrp.PacketInfo, 16)}
}

func (c *fakeVRRPConn) inject(b []byte, info vrrp.PacketInfo) {
	c.info <- info
	c.in <- b
}

func (c *fakeVRRPConn) JoinGroup(int) error  { return nil }
func (c *fakeVRRPConn) LeaveGroup(int) error { return nil }

func (c *fakeVRRPConn) ReadFrom(b []byte) (int, vrrp.PacketInfo, error) {
	info := <-c.info
	p, ok := <-c.in
	if !ok {
		return 0, vrrp.PacketInfo{}, net.ErrClosed
	}
	return copy(b, p), info, nil
}

func (c *fakeVRRPConn) WriteTo([]byte, int, netip.Addr) error { return nil }

func (c *fakeVRRPConn) Close() error {
	c.once.Do(func() { close(c.info); close(c.in) })
	return nil
}

// fakeVRRPAddrs is an interface with a primary address.
type fakeVRRPAddrs struct {
	mu      sync.Mutex
	primary netip.Addr
	added   []netip.Addr
}

func (a *fakeVRRPAddrs) Add(_ string, ip netip.Addr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !slices.Contains(a.added, ip) {
		a.added = append(a.added, ip)
	}
	return nil
}

func (a *fakeVRRPAddrs) Remove(_ string, ip netip.Addr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.added = slices.DeleteFunc(a.added, func(x netip.Addr) bool { return x == ip })
	return nil
}

func (a *fakeVRRPAddrs) List(string) ([]netip.Addr, error) {
	return append([]netip.Addr{a.primary}, a.list()...), nil
}

func (a *fakeVRRPAddrs) list() []netip.Addr {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.added)
}
