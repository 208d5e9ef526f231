package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// Options configure a Router.
type Options struct {
	// IPv4 and IPv6 are the sockets of each family; nil for a family the
	// router does not run. Listen opens both.
	IPv4, IPv6 Conn
	// Addresses adds and removes the virtual addresses; nil is
	// NetlinkAddresses{}.
	Addresses AddressManager
	// Announcer sends gratuitous ARP / unsolicited NA when an instance
	// becomes master; nil sends nothing.
	Announcer Announcer
	// Observer hears drops, transitions and foreign adverts; nil hears
	// nothing.
	Observer Observer
	// InterfaceIndex resolves an interface name; nil is
	// net.InterfaceByName.
	InterfaceIndex func(ifname string) (int, error)
	// AdvertInterval is the interval of adverts as master, a multiple of
	// 10ms; zero is RFC 5798's 1s.
	AdvertInterval time.Duration
	// NoPreempt turns preemption off: a backup does not take over from a
	// live master of lower priority.
	NoPreempt bool
	// Logger logs with the keys interface, vrid and ip; the zero Logger
	// discards.
	Logger logr.Logger
}

// Router runs the VRRP instances of one node. A master answers from the
// interface's own MAC address, not the virtual MAC 00-00-5E-00-01-{VRID}
// (as keepalived does without use_vmac): gratuitous ARP and unsolicited NA
// move the VIPs' neighbor entries on a failover.
type Router struct {
	opts Options
	log  logr.Logger

	mu        sync.Mutex
	instances map[string]*running
	groups    map[groupKey]int // instances per joined group
	closed    bool
	// ops are the address changes and announcements decided under mu, in
	// order; runOps carries them out without mu, so that adverts and timers
	// are not held up by a master adding or removing hundreds of addresses
	// (which made backups at 100ms time out and take over).
	ops []addrOp

	opsMu sync.Mutex // held by whoever runs ops: one at a time keeps their order
	kick  chan struct{}
	wake  chan struct{}
	done  chan struct{}
	wg    sync.WaitGroup
}

// running is an instance a Router runs.
type running struct {
	Instance
	m        Machine
	ifindex  int
	deadline time.Time
	// advert is the last advert sent, with priority advertPriority; a
	// master sends the same one every advertInterval until its addresses
	// change (update clears it).
	advert         []byte
	advertPriority uint8
}

type groupKey struct {
	v6      bool
	ifindex int
}

// Listen opens the sockets that opts leaves nil and returns a running
// Router. It needs CAP_NET_RAW and CAP_NET_ADMIN.
func Listen(opts Options) (*Router, error) {
	var err error
	if opts.IPv4 == nil {
		if opts.IPv4, err = ListenIPv4(); err != nil {
			return nil, err
		}
	}
	if opts.IPv6 == nil {
		if opts.IPv6, err = ListenIPv6(); err != nil {
			_ = opts.IPv4.Close()
			return nil, err
		}
	}
	return New(opts), nil
}

// New returns a Router that runs no instance yet, reading from the conns
// of opts until Close.
func New(opts Options) *Router {
	if opts.Addresses == nil {
		opts.Addresses = NetlinkAddresses{}
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	if opts.InterfaceIndex == nil {
		opts.InterfaceIndex = func(name string) (int, error) {
			ifi, err := net.InterfaceByName(name)
			if err != nil {
				return 0, err
			}
			return ifi.Index, nil
		}
	}
	if opts.AdvertInterval == 0 {
		opts.AdvertInterval = time.Second
	}
	r := &Router{
		opts:      opts,
		log:       opts.Logger,
		instances: map[string]*running{},
		groups:    map[groupKey]int{},
		kick:      make(chan struct{}, 1),
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	r.wg.Add(2)
	go r.timers()
	go r.opsLoop()
	for _, c := range []struct {
		conn Conn
		v6   bool
	}{{opts.IPv4, false}, {opts.IPv6, true}} {
		if c.conn != nil {
			r.wg.Add(1)
			go r.read(c.conn, c.v6)
		}
	}
	return r
}

// ErrClosed is returned by Set after Close.
var ErrClosed = errors.New("vrrp router is closed")

// Set makes the Router run exactly instances. New ones start in Backup
// (after Initialize); removed ones shut down, sending priority 0 and
// removing their addresses if master; an instance whose addresses changed
// keeps its state, and as master adds and removes the difference. One that
// changed interface, family, VRID or priority restarts. Instances that
// cannot start (unknown interface, no primary address, VRID taken) are
// left out and named in the returned error; the others run.
func (r *Router) Set(ctx context.Context, instances []Instance) error {
	// What Set decided is done when it returns.
	defer r.runOps()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	now := time.Now()
	want := map[string]Instance{}
	var errs []error
	for _, in := range instances {
		if _, dup := want[in.Name]; dup {
			errs = append(errs, fmt.Errorf("vrrp instance %s is given twice", in.Name))
			continue
		}
		want[in.Name] = in
	}
	for _, name := range sortedKeys(r.instances) {
		ri := r.instances[name]
		if in, ok := want[name]; !ok || !sameRouter(ri.Instance, in) {
			r.stop(now, ri)
		}
	}
	for _, name := range sortedKeys(want) {
		if ri, ok := r.instances[name]; ok {
			r.update(ri, want[name])
			continue
		}
		if err := r.start(now, want[name]); err != nil {
			errs = append(errs, err)
		}
	}
	r.poke()
	return errors.Join(errs...)
}

// Close shuts every instance down (priority 0 adverts from masters, their
// addresses removed), closes the conns and waits for the Router's
// goroutines, or for ctx.
func (r *Router) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	now := time.Now()
	for _, name := range sortedKeys(r.instances) {
		r.stop(now, r.instances[name])
	}
	r.mu.Unlock()
	r.runOps() // the masters' addresses go before Close returns
	close(r.done)
	var errs []error
	for _, c := range []Conn{r.opts.IPv4, r.opts.IPv6} {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	waited := make(chan struct{})
	go func() { r.wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("closing vrrp router: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

// States returns the state of every instance by name.
func (r *Router) States() map[string]State {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]State, len(r.instances))
	for name, ri := range r.instances {
		out[name] = ri.m.State()
	}
	return out
}

// Cleanup removes from ifname the addresses that leftover reports, unless
// a master instance of r holds them. Call it before the first Set, to
// remove what a crashed predecessor left behind; leftover names this
// process's addresses only (its pools' addresses, the virtual link-local
// addresses of its VRIDs: see VirtualLinkLocalVRID), so that another VRRP
// process on the node keeps its own.
func (r *Router) Cleanup(ifname string, leftover func(netip.Addr) bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	held := map[netip.Addr]bool{}
	for _, ri := range r.instances {
		if ri.Interface == ifname && ri.m.State() == Master {
			for _, ip := range ri.AdvertAddresses() {
				held[ip] = true
			}
		}
	}
	addrs, err := r.opts.Addresses.List(ifname)
	if err != nil {
		return err
	}
	var errs []error
	for _, ip := range addrs {
		if held[ip] || !leftover(ip) {
			continue
		}
		r.log.V(2).Info("removing a left-over virtual address", "interface", ifname, "ip", ip)
		errs = append(errs, r.opts.Addresses.Remove(ifname, ip))
	}
	return errors.Join(errs...)
}

// sameRouter reports whether b can keep running as a: only its addresses
// and Services changed.
func sameRouter(a, b Instance) bool {
	return a.Interface == b.Interface && a.IPv6 == b.IPv6 && a.VRID == b.VRID && a.Priority == b.Priority
}

func isVirtualLinkLocal(ip netip.Addr) bool {
	_, ok := VirtualLinkLocalVRID(ip)
	return ok
}

// VirtualLinkLocalVRID returns the VRID of a virtual link-local address
// of this package (see LinkLocal), or false for any other address.
func VirtualLinkLocalVRID(ip netip.Addr) (uint8, bool) {
	if !ip.Is6() || ip != LinkLocal(ip.As16()[15]) {
		return 0, false
	}
	return ip.As16()[15], true
}

// primaryAddress picks the address adverts leave from on an interface: the
// first IPv4 address that is not virtual, or the first link-local IPv6
// address that is not virtual.
func primaryAddress(addrs []netip.Addr, v6 bool, virtual func(netip.Addr) bool) (netip.Addr, bool) {
	for _, ip := range addrs {
		if virtual(ip) || isVirtualLinkLocal(ip) {
			continue
		}
		if (!v6 && ip.Is4()) || (v6 && ip.Is6() && ip.IsLinkLocalUnicast()) {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
