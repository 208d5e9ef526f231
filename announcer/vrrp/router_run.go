package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"
)

// start brings in up: Initialize, then Backup (or Master as owner).
func (r *Router) start(now time.Time, in Instance) error {
	conn := r.conn(in.IPv6)
	if conn == nil {
		return fmt.Errorf("starting vrrp instance %s: no socket for its family", in.Name)
	}
	ifindex, err := r.opts.InterfaceIndex(in.Interface)
	if err != nil {
		return fmt.Errorf("starting vrrp instance %s: %w", in.Name, err)
	}
	for _, other := range r.instances {
		if other.ifindex == ifindex && other.IPv6 == in.IPv6 && other.VRID == in.VRID {
			return fmt.Errorf("starting vrrp instance %s: VRID %d on %s is taken by instance %s", in.Name, in.VRID, in.Interface, other.Name)
		}
	}
	addrs, err := r.opts.Addresses.List(in.Interface)
	if err != nil {
		return fmt.Errorf("starting vrrp instance %s: %w", in.Name, err)
	}
	primary, ok := primaryAddress(addrs, in.IPv6, r.virtual(in))
	if !ok {
		kind := "IPv4 address"
		if in.IPv6 {
			kind = "link-local IPv6 address"
		}
		return fmt.Errorf("starting vrrp instance %s: interface %s has no %s to send adverts from", in.Name, in.Interface, kind)
	}
	g := groupKey{in.IPv6, ifindex}
	if r.groups[g] == 0 {
		if err := conn.JoinGroup(ifindex); err != nil {
			return fmt.Errorf("starting vrrp instance %s: joining the vrrp group on %s: %w", in.Name, in.Interface, err)
		}
	}
	r.groups[g]++
	ri := &running{
		Instance: in,
		ifindex:  ifindex,
		m: NewMachine(Config{
			Priority:       in.Priority,
			AdvertInterval: r.opts.AdvertInterval,
			NoPreempt:      r.opts.NoPreempt,
			Primary:        primary,
		}),
	}
	r.instances[in.Name] = ri
	r.log.V(2).Info("starting vrrp instance", "interface", in.Interface, "vrid", in.VRID, "ip", primary, "priority", in.Priority)
	r.apply(now, ri, ri.m.Start(now))
	return nil
}

// stop shuts ri down and forgets it.
func (r *Router) stop(now time.Time, ri *running) {
	r.apply(now, ri, ri.m.Shutdown(now))
	delete(r.instances, ri.Name)
	g := groupKey{ri.IPv6, ri.ifindex}
	r.groups[g]--
	if r.groups[g] == 0 {
		delete(r.groups, g)
		if err := r.conn(ri.IPv6).LeaveGroup(ri.ifindex); err != nil {
			r.log.Error(err, "leaving the vrrp group", "interface", ri.Interface)
		}
	}
}

// update gives a running instance new addresses and Services.
func (r *Router) update(ri *running, in Instance) {
	old := ri.AdvertAddresses()
	ri.Instance = in
	ri.advert = nil
	if ri.m.State() != Master {
		return
	}
	now := ri.AdvertAddresses()
	for _, ip := range old {
		if !slices.Contains(now, ip) {
			r.removeAddr(ri, ip)
		}
	}
	for _, ip := range now {
		if !slices.Contains(old, ip) {
			r.addAddr(ri, ip)
		}
	}
}

// apply does what the machine asked.
func (r *Router) apply(now time.Time, ri *running, res Result) {
	if res.Send {
		r.send(ri, res.Priority)
	}
	if res.BecameMaster() {
		for _, ip := range ri.AdvertAddresses() {
			r.addAddr(ri, ip)
		}
	}
	if res.LeftMaster() {
		for _, ip := range ri.AdvertAddresses() {
			r.removeAddr(ri, ip)
		}
	}
	if res.Changed() {
		r.log.V(2).Info("vrrp state changed", "interface", ri.Interface, "vrid", ri.VRID,
			"instance", ri.Name, "from", res.From, "to", res.To, "reason", res.Cause)
		r.opts.Observer.Transition(ri.Name, ri.VRID, res.From, res.To, res.Cause.String())
	}
	ri.deadline = res.Deadline
}

// send sends an advert of ri with priority; the advert is encoded once and
// sent again as long as neither the addresses nor the priority change.
func (r *Router) send(ri *running, priority uint8) {
	src := ri.m.Config().Primary
	var err error
	if ri.advert == nil || ri.advertPriority != priority {
		group := GroupIPv4
		if ri.IPv6 {
			group = GroupIPv6
		}
		ri.advert, err = Advert{VRID: ri.VRID, Priority: priority, MaxAdvertInterval: r.opts.AdvertInterval, Addresses: ri.AdvertAddresses()}.Marshal(src, group)
		ri.advertPriority = priority
	}
	if err == nil {
		err = r.conn(ri.IPv6).WriteTo(ri.advert, ri.ifindex, src)
	}
	if err != nil {
		r.log.Error(err, "sending vrrp advert", "interface", ri.Interface, "vrid", ri.VRID, "ip", src)
	}
}

// addrOp is an address to add (and announce) or remove, queued under mu
// and carried out by runOps.
type addrOp struct {
	add    bool
	ifname string
	vrid   uint8
	ip     netip.Addr
}

// addAddr queues adding ip as ri's master; mu is held.
func (r *Router) addAddr(ri *running, ip netip.Addr) {
	r.queue(addrOp{add: true, ifname: ri.Interface, vrid: ri.VRID, ip: ip})
}

// removeAddr queues removing ip of ri, unless another master instance on
// the interface holds ip now: Set moves addresses between instances (a
// group re-split after addresses come or go), and the instance that gave
// ip up may be updated after the one that took it; mu is held.
func (r *Router) removeAddr(ri *running, ip netip.Addr) {
	for _, other := range r.instances {
		if other != ri && other.Interface == ri.Interface && other.IPv6 == ri.IPv6 &&
			other.m.State() == Master && slices.Contains(other.AdvertAddresses(), ip) {
			return
		}
	}
	r.queue(addrOp{ifname: ri.Interface, vrid: ri.VRID, ip: ip})
}

// queue appends op to the ops and wakes opsLoop; mu is held.
func (r *Router) queue(op addrOp) {
	r.ops = append(r.ops, op)
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// opsLoop carries out the queued ops until Close.
func (r *Router) opsLoop() {
	defer r.wg.Done()
	for {
		select {
		case <-r.done:
			r.runOps()
			return
		case <-r.kick:
			r.runOps()
		}
	}
}

// runOps carries out the queued ops in the order they were queued, until
// none is left.
func (r *Router) runOps() {
	r.opsMu.Lock()
	defer r.opsMu.Unlock()
	for {
		r.mu.Lock()
		ops := r.ops
		r.ops = nil
		r.mu.Unlock()
		if len(ops) == 0 {
			return
		}
		for _, op := range ops {
			r.do(op)
		}
	}
}

func (r *Router) do(op addrOp) {
	if !op.add {
		if err := r.opts.Addresses.Remove(op.ifname, op.ip); err != nil {
			r.log.Error(err, "removing a virtual address", "interface", op.ifname, "vrid", op.vrid, "ip", op.ip)
		}
		return
	}
	if err := r.opts.Addresses.Add(op.ifname, op.ip); err != nil {
		r.log.Error(err, "adding a virtual address", "interface", op.ifname, "vrid", op.vrid, "ip", op.ip)
		return
	}
	if r.opts.Announcer == nil {
		return
	}
	if err := r.opts.Announcer.Announce(op.ifname, op.ip); err != nil {
		r.log.Error(err, "announcing a virtual address", "interface", op.ifname, "vrid", op.vrid, "ip", op.ip)
	}
}

// virtual reports the addresses that are not an interface's own: those of
// in and of every instance this router runs on the same interface.
func (r *Router) virtual(in Instance) func(netip.Addr) bool {
	return func(ip netip.Addr) bool {
		if slices.Contains(in.AdvertAddresses(), ip) {
			return true
		}
		for _, ri := range r.instances {
			if ri.Interface == in.Interface && slices.Contains(ri.AdvertAddresses(), ip) {
				return true
			}
		}
		return false
	}
}

func (r *Router) conn(v6 bool) Conn {
	if v6 {
		return r.opts.IPv6
	}
	return r.opts.IPv4
}

// poke makes the timer goroutine look at the deadlines again.
func (r *Router) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// timers fires the instances' timers at their deadlines.
func (r *Router) timers() {
	defer r.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		r.mu.Lock()
		now := time.Now()
		var next time.Time
		for _, ri := range r.instances {
			if !ri.deadline.IsZero() && !now.Before(ri.deadline) {
				r.apply(now, ri, ri.m.Tick(now))
			}
			if !ri.deadline.IsZero() && (next.IsZero() || ri.deadline.Before(next)) {
				next = ri.deadline
			}
		}
		r.mu.Unlock()
		wait := time.Hour
		if !next.IsZero() {
			wait = time.Until(next)
		}
		t.Reset(wait)
		select {
		case <-r.done:
			return
		case <-r.wake:
		case <-t.C:
		}
	}
}

// read receives adverts from c until Close.
func (r *Router) read(c Conn, v6 bool) {
	defer r.wg.Done()
	b := make([]byte, 1<<16)
	for {
		n, info, err := c.ReadFrom(b)
		if err != nil {
			select {
			case <-r.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.log.Error(err, "reading vrrp adverts")
			time.Sleep(100 * time.Millisecond)
			continue
		}
		r.receive(b[:n], info)
	}
}

// receive checks an advert (RFC 5798 §7.1) and hands it to its instance.
func (r *Router) receive(b []byte, info PacketInfo) {
	a, err := Parse(b, info.Src, info.Dst)
	if err == nil {
		err = CheckTTL(info.TTL)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.log.V(4).Info("dropping a vrrp packet", "ip", info.Src, "reason", Reason(err), "err", err)
		r.opts.Observer.Dropped(Reason(err))
		return
	}
	var ri *running
	for _, x := range r.instances {
		if x.ifindex == info.IfIndex && x.IPv6 == info.Src.Is6() && x.VRID == a.VRID {
			ri = x
			break
		}
	}
	if ri == nil {
		r.opts.Observer.Dropped(ReasonUnknownVRID)
		return
	}
	if info.Src == ri.m.Config().Primary {
		return // our own, looped back
	}
	if !sameSet(a.Addresses, ri.AdvertAddresses()) {
		r.opts.Observer.ForeignAdvert(ri.Name, ri.VRID, info.Src, a.Addresses)
	}
	now, before := time.Now(), ri.deadline
	r.apply(now, ri, ri.m.Receive(now, a, info.Src))
	if ri.deadline.Before(before) {
		// Priority 0 from the master: the timer runs out sooner.
		r.poke()
	}
}

// sameSet reports whether a and b hold the same addresses. Adverts of
// this package list them in the same order (the virtual link-local
// address, then sorted): only another implementation's cost a sort.
func sameSet(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	if slices.Equal(a, b) {
		return true
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, netip.Addr.Compare)
	slices.SortFunc(b, netip.Addr.Compare)
	return slices.Equal(a, b)
}
