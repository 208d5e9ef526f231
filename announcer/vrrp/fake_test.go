package vrrp

import (
	"net"
	"net/netip"
	"slices"
	"sync"
)

// fakeLink is a link on which fakeConns multicast to each other.
type fakeLink struct {
	mu    sync.Mutex
	conns []*fakeConn
}

// fakeConn is a Conn of one family on interface 1 of a fakeLink.
type fakeConn struct {
	link   *fakeLink
	v6     bool
	in     chan fakePacket
	mu     sync.Mutex
	joined bool
	closed bool
	sent   [][]byte
}

type fakePacket struct {
	b    []byte
	info PacketInfo
}

func (l *fakeLink) conn(v6 bool) *fakeConn {
	c := &fakeConn{link: l, v6: v6, in: make(chan fakePacket, 1000)}
	l.mu.Lock()
	l.conns = append(l.conns, c)
	l.mu.Unlock()
	return c
}

// inject delivers a packet to every joined conn of its family.
func (l *fakeLink) inject(b []byte, info PacketInfo, from *fakeConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		if c == from || c.v6 != info.Src.Is6() {
			continue
		}
		c.mu.Lock()
		if c.joined && !c.closed {
			c.in <- fakePacket{slices.Clone(b), info}
		}
		c.mu.Unlock()
	}
}

func (c *fakeConn) JoinGroup(ifindex int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.joined = true
	return nil
}

func (c *fakeConn) LeaveGroup(ifindex int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.joined = false
	return nil
}

func (c *fakeConn) ReadFrom(b []byte) (int, PacketInfo, error) {
	p, ok := <-c.in
	if !ok {
		return 0, PacketInfo{}, net.ErrClosed
	}
	return copy(b, p.b), p.info, nil
}

func (c *fakeConn) WriteTo(b []byte, ifindex int, src netip.Addr) error {
	c.mu.Lock()
	c.sent = append(c.sent, slices.Clone(b))
	c.mu.Unlock()
	dst := GroupIPv4
	if c.v6 {
		dst = GroupIPv6
	}
	c.link.inject(b, PacketInfo{Src: src, Dst: dst, TTL: 255, IfIndex: ifindex}, c)
	return nil
}

func (c *fakeConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.in)
	}
	return nil
}

// lastSent returns the last advert c sent, parsed.
func (c *fakeConn) lastSent(src netip.Addr) (Advert, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sent) == 0 {
		return Advert{}, false
	}
	dst := GroupIPv4
	if c.v6 {
		dst = GroupIPv6
	}
	a, err := Parse(c.sent[len(c.sent)-1], src, dst)
	return a, err == nil
}

// fakeAddrs is an AddressManager of one node's interfaces.
type fakeAddrs struct {
	mu    sync.Mutex
	addrs map[string][]netip.Addr
}

func newFakeAddrs(ifname string, own ...netip.Addr) *fakeAddrs {
	return &fakeAddrs{addrs: map[string][]netip.Addr{ifname: own}}
}

func (f *fakeAddrs) Add(ifname string, ip netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.addrs[ifname], ip) {
		f.addrs[ifname] = append(f.addrs[ifname], ip)
	}
	return nil
}

func (f *fakeAddrs) Remove(ifname string, ip netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addrs[ifname] = slices.DeleteFunc(f.addrs[ifname], func(a netip.Addr) bool { return a == ip })
	return nil
}

func (f *fakeAddrs) List(ifname string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.addrs[ifname]), nil
}

func (f *fakeAddrs) has(ifname string, ip netip.Addr) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.addrs[ifname], ip)
}

// recorder is an Observer that remembers what it heard.
type recorder struct {
	mu          sync.Mutex
	dropped     map[string]int
	transitions []string
	foreign     []netip.Addr
}

func (r *recorder) Dropped(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dropped == nil {
		r.dropped = map[string]int{}
	}
	r.dropped[reason]++
}

func (r *recorder) Transition(instance string, vrid uint8, from, to State, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.transitions = append(r.transitions, instance+" "+from.String()+"->"+to.String()+" "+reason)
}

func (r *recorder) ForeignAdvert(instance string, vrid uint8, src netip.Addr, addrs []netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.foreign = append(r.foreign, src)
}

func (r *recorder) drops(reason string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped[reason]
}

func (r *recorder) foreignFrom() []netip.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.foreign)
}

func (r *recorder) history() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.transitions)
}

// announcements is an Announcer that remembers what it announced.
type announcements struct {
	mu  sync.Mutex
	ips []netip.Addr
}

func (a *announcements) Announce(ifname string, ip netip.Addr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ips = append(a.ips, ip)
	return nil
}

func (a *announcements) list() []netip.Addr {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.ips)
}
