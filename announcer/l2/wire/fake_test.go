package wire

import (
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
)

var (
	ourMAC     = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	peerMAC    = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
	thirdMAC   = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x03}
	ourLL      = netip.MustParseAddr("fe80::1")
	testIfi    = &net.Interface{Index: 7, MTU: 1500, Name: "eth0", HardwareAddr: ourMAC}
	vip4       = netip.MustParseAddr("192.0.2.10")
	vip6       = netip.MustParseAddr("2001:db8::10")
	peer4      = netip.MustParseAddr("192.0.2.2")
	peer6      = netip.MustParseAddr("2001:db8::2")
	notOwned4  = netip.MustParseAddr("192.0.2.99")
	notOwned6  = netip.MustParseAddr("2001:db8::99")
	peerLL     = netip.MustParseAddr("fe80::2")
	allNodesLL = netip.IPv6LinkLocalAllNodes()
)

// arpOut is one packet a fake ARP conn was asked to send.
type arpOut struct {
	P  *arp.Packet
	To net.HardwareAddr
}

// fakeARP is an ARPConn whose reads come from in; onWrite, when set, sees each write.
type fakeARP struct {
	in      chan *arp.Packet
	done    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	sent    []arpOut
	onWrite func(arpOut)
}

func newFakeARP() *fakeARP {
	return &fakeARP{in: make(chan *arp.Packet, 16), done: make(chan struct{})}
}

func (f *fakeARP) Read() (*arp.Packet, *ethernet.Frame, error) {
	select {
	case p := <-f.in:
		return p, &ethernet.Frame{Source: p.SenderHardwareAddr, EtherType: ethernet.EtherTypeARP}, nil
	case <-f.done:
		return nil, nil, net.ErrClosed
	}
}

func (f *fakeARP) WriteTo(p *arp.Packet, addr net.HardwareAddr) error {
	o := arpOut{P: p, To: addr}
	f.mu.Lock()
	f.sent = append(f.sent, o)
	hook := f.onWrite
	f.mu.Unlock()
	if hook != nil {
		hook(o)
	}
	return nil
}

func (f *fakeARP) Close() error { f.once.Do(func() { close(f.done) }); return nil }

func (f *fakeARP) Sent() []arpOut {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

// ndpIn is one message a fake NDP conn returns from ReadFrom.
type ndpIn struct {
	m   ndp.Message
	cm  *ipv6.ControlMessage
	src netip.Addr
}

// ndpOut is one message a fake NDP conn was asked to send.
type ndpOut struct {
	M        ndp.Message
	Src      netip.Addr
	HopLimit int
	Dst      netip.Addr
}

// fakeNDP is an NDPConn whose reads come from in.
type fakeNDP struct {
	in      chan ndpIn
	done    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	sent    []ndpOut
	groups  []string // "+group" on join, "-group" on leave
	onWrite func(ndpOut)
}

func newFakeNDP() *fakeNDP {
	return &fakeNDP{in: make(chan ndpIn, 16), done: make(chan struct{})}
}

func (f *fakeNDP) ReadFrom() (ndp.Message, *ipv6.ControlMessage, netip.Addr, error) {
	select {
	case i := <-f.in:
		return i.m, i.cm, i.src, nil
	case <-f.done:
		return nil, nil, netip.Addr{}, net.ErrClosed
	}
}

func (f *fakeNDP) WriteTo(m ndp.Message, cm *ipv6.ControlMessage, dst netip.Addr) error {
	src, _ := netip.AddrFromSlice(cm.Src)
	o := ndpOut{M: m, Src: src, HopLimit: cm.HopLimit, Dst: dst}
	f.mu.Lock()
	f.sent = append(f.sent, o)
	hook := f.onWrite
	f.mu.Unlock()
	if hook != nil {
		hook(o)
	}
	return nil
}

func (f *fakeNDP) JoinGroup(g netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups = append(f.groups, "+"+g.String())
	return nil
}

func (f *fakeNDP) LeaveGroup(g netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups = append(f.groups, "-"+g.String())
	return nil
}

func (f *fakeNDP) Close() error { f.once.Do(func() { close(f.done) }); return nil }

func (f *fakeNDP) Sent() []ndpOut {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

func (f *fakeNDP) Groups() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.groups)
}

// recorder is an Observer that records what it is told.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(s string) { r.mu.Lock(); r.events = append(r.events, s); r.mu.Unlock() }

func (r *recorder) Replied(family string)   { r.add("replied " + family) }
func (r *recorder) Announced(family string) { r.add("announced " + family) }
func (r *recorder) Conflict(ip netip.Addr, mac net.HardwareAddr) {
	r.add("conflict " + ip.String() + " " + mac.String())
}
func (r *recorder) SendFailed(family string, err error) {
	r.add("failed " + family + ": " + err.Error())
}

func (r *recorder) Events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// newTestResponder serves over fake conns, with no repeated announcements unless opts says.
func newTestResponder(t *testing.T, opts Options) (*Responder, *fakeARP, *fakeNDP) {
	t.Helper()
	a, n := newFakeARP(), newFakeNDP()
	opts.LinkLocal = ourLL
	if opts.Repeats == nil {
		opts.Repeats = []time.Duration{}
	}
	r, err := New(testIfi, a, n, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r, a, n
}

func mustARP(t *testing.T, op arp.Operation, srcMAC net.HardwareAddr, srcIP netip.Addr, dstMAC net.HardwareAddr, dstIP netip.Addr) *arp.Packet {
	t.Helper()
	p, err := arp.NewPacket(op, srcMAC, srcIP, dstMAC, dstIP)
	if err != nil {
		t.Fatalf("arp.NewPacket: %v", err)
	}
	return p
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// cmpAddr compares netip.Addr values, whose fields are unexported, by value, and nil slices
// as empty.
func cmpAddr() cmp.Option {
	return cmp.Options{cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmpopts.EquateEmpty()}
}
