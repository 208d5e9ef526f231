package wire

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/mdlayher/ndp"
)

// ErrClosed is returned by a Responder that was closed.
var ErrClosed = errors.New("responder closed")

// A Responder answers ARP and Neighbor Solicitations for the addresses it owns on one
// interface, announces newly owned addresses and probes for other hosts answering for them.
type Responder struct {
	ifi  *net.Interface
	ann  *Announcer
	opts Options

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // readers and repeat announcers

	setMu  sync.Mutex           // serializes SetOwned and Close
	groups map[netip.Addr]int   // solicited-node groups joined, with the owned addresses in each
	mu     sync.RWMutex         // guards owned and waiters
	owned  map[netip.Addr]bool  // replaced whole by SetOwned
	waits  map[*waiter]struct{} // running probes
}

// Listen opens the ARP and NDP sockets on ifi and starts serving; it owns nothing yet. On an
// interface without an IPv6 link-local address it serves IPv4 only.
func Listen(ifi *net.Interface, opts Options) (*Responder, error) {
	ac, err := listenARP(ifi, true)
	if err != nil {
		return nil, err
	}
	ll, err := linkLocalOf(ifi)
	if errors.Is(err, ErrIPv6Unavailable) {
		return New(ifi, ac, nil, opts)
	}
	if err != nil {
		ac.Close()
		return nil, err
	}
	nc, err := listenNDP(ifi, true)
	if err != nil {
		ac.Close()
		return nil, err
	}
	if !opts.LinkLocal.IsValid() {
		opts.LinkLocal = ll
	}
	r, err := New(ifi, ac, nc, opts)
	if err != nil {
		ac.Close()
		nc.Close()
	}
	return r, err
}

// New serves over the given conns, which the Responder closes on Close. Either may be nil
// to serve one family only; with an NDP conn, opts.LinkLocal must be set.
func New(ifi *net.Interface, arpConn ARPConn, ndpConn NDPConn, opts Options) (*Responder, error) {
	if len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("interface %s has no ethernet address", ifi.Name)
	}
	if ndpConn != nil && !opts.LinkLocal.IsLinkLocalUnicast() {
		return nil, fmt.Errorf("interface %s: link-local source %q: %w", ifi.Name, opts.LinkLocal, ErrIPv6Unavailable)
	}
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Responder{
		ifi:    ifi,
		ann:    NewAnnouncer(ifi, arpConn, ndpConn, opts.LinkLocal),
		opts:   opts,
		ctx:    ctx,
		cancel: cancel,
		groups: map[netip.Addr]int{},
		owned:  map[netip.Addr]bool{},
		waits:  map[*waiter]struct{}{},
	}
	if arpConn != nil {
		r.wg.Go(r.readARP)
	}
	if ndpConn != nil {
		r.wg.Go(r.readNDP)
	}
	return r, nil
}

// SetOwned replaces the set of owned addresses; it may be called while serving. An address
// newly owned is announced at once and again after each of Options.Repeats while it stays
// owned; for an IPv6 address the Responder joins its solicited-node multicast group and
// leaves the group when no address in it is owned any more. The new set applies even when
// an error is returned for some of its addresses.
func (r *Responder) SetOwned(ips []netip.Addr) error {
	r.setMu.Lock()
	defer r.setMu.Unlock()
	if r.ctx.Err() != nil {
		return ErrClosed
	}
	var errs []error
	next := make(map[netip.Addr]bool, len(ips))
	for _, ip := range ips {
		ip = ip.Unmap()
		if !ip.IsValid() || ip.Zone() != "" || ip.IsMulticast() || ip.IsUnspecified() {
			errs = append(errs, fmt.Errorf("owning %q on %s: not a unicast address", ip, r.ifi.Name))
			continue
		}
		next[ip] = true
	}
	r.mu.RLock()
	prev := r.owned
	r.mu.RUnlock()

	var added []netip.Addr
	for _, ip := range slices.SortedFunc(maps.Keys(next), netip.Addr.Compare) {
		if prev[ip] {
			continue
		}
		if ip.Is6() {
			if err := r.join(ip); err != nil {
				errs = append(errs, err)
				delete(next, ip)
				continue
			}
		}
		added = append(added, ip)
	}
	r.mu.Lock()
	r.owned = next
	r.mu.Unlock()
	for _, ip := range slices.SortedFunc(maps.Keys(prev), netip.Addr.Compare) {
		if !next[ip] && ip.Is6() {
			errs = append(errs, r.leave(ip))
		}
	}

	for _, ip := range added {
		errs = append(errs, r.Announce(ip))
	}
	if len(added) > 0 && len(r.opts.Repeats) > 0 {
		r.wg.Go(func() { r.repeat(added) })
	}
	return errors.Join(errs...)
}

// Owned reports whether ip is in the owned set.
func (r *Responder) Owned(ip netip.Addr) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.owned[ip.Unmap()]
}

// Announce sends one gratuitous ARP or unsolicited Neighbor Advertisement for ip now,
// whether or not ip is owned (see Announcer.Announce).
func (r *Responder) Announce(ip netip.Addr) error {
	err := r.ann.Announce(ip)
	if err != nil {
		r.opts.Observer.SendFailed(family(ip), err)
		return err
	}
	r.opts.Observer.Announced(family(ip))
	return nil
}

// repeat announces the still-owned addresses of ips at each of the repeat offsets.
func (r *Responder) repeat(ips []netip.Addr) {
	start := time.Now()
	for _, d := range r.opts.Repeats {
		t := time.NewTimer(time.Until(start.Add(d)))
		select {
		case <-r.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		for _, ip := range ips {
			if r.Owned(ip) {
				_ = r.Announce(ip) // counted by the observer
			}
		}
	}
}

// join joins the solicited-node group of ip; setMu is held.
func (r *Responder) join(ip netip.Addr) error {
	g, err := ndp.SolicitedNodeMulticast(ip)
	if err != nil {
		return fmt.Errorf("owning %s on %s: %w", ip, r.ifi.Name, err)
	}
	if r.ann.ndp == nil {
		return fmt.Errorf("owning %s on %s: %w", ip, r.ifi.Name, ErrIPv6Unavailable)
	}
	if r.groups[g] == 0 {
		if err := r.ann.ndp.JoinGroup(g); err != nil {
			return fmt.Errorf("joining %s for %s on %s: %w", g, ip, r.ifi.Name, err)
		}
	}
	r.groups[g]++
	return nil
}

// leave leaves the solicited-node group of ip when no other owned address shares it; setMu
// is held.
func (r *Responder) leave(ip netip.Addr) error {
	g, err := ndp.SolicitedNodeMulticast(ip)
	if err != nil || r.groups[g] == 0 {
		return nil
	}
	r.groups[g]--
	if r.groups[g] > 0 {
		return nil
	}
	delete(r.groups, g)
	if err := r.ann.ndp.LeaveGroup(g); err != nil {
		return fmt.Errorf("leaving %s for %s on %s: %w", g, ip, r.ifi.Name, err)
	}
	return nil
}

// Close stops serving, leaves the groups it joined and closes the conns. Nothing is
// announced or answered after Close returns.
func (r *Responder) Close() error {
	r.setMu.Lock()
	defer r.setMu.Unlock()
	if r.ctx.Err() != nil {
		return nil
	}
	r.cancel()
	var errs []error
	for g := range r.groups {
		if err := r.ann.ndp.LeaveGroup(g); err != nil {
			errs = append(errs, fmt.Errorf("leaving %s on %s: %w", g, r.ifi.Name, err))
		}
	}
	clear(r.groups)
	r.mu.Lock()
	r.owned = map[netip.Addr]bool{}
	r.mu.Unlock()
	errs = append(errs, r.ann.Close())
	r.wg.Wait()
	return errors.Join(errs...)
}

func family(ip netip.Addr) string {
	if ip.Unmap().Is4() {
		return FamilyIPv4
	}
	return FamilyIPv6
}
