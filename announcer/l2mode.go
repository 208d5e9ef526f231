package announcer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"

	"github.com/floatlb/floatlb/announcer/l2"
	"github.com/floatlb/floatlb/announcer/planner"
	"github.com/floatlb/floatlb/config"
)

// l2Responder answers ARP and NDP for the addresses this node owns on one
// interface (announcer/l2/wire).
type l2Responder interface {
	// SetOwned replaces the owned addresses; newly owned ones are
	// announced at once (gratuitous ARP, unsolicited NA).
	SetOwned(ips []netip.Addr) error
	// Owned reports whether ip is owned now.
	Owned(ip netip.Addr) bool
	// Probe asks the LAN who answers for ip and returns the hardware
	// addresses other than this interface's that replied.
	Probe(ctx context.Context, ip netip.Addr) ([]net.HardwareAddr, error)
	Close() error
}

// probeInterval is how often an owner asks the LAN whether another host
// answers for its addresses too.
const probeInterval = 30 * time.Second

// probeParallel is how many owned addresses a round of probes asks about
// at once: each waits its probe window (500 ms), so a round of thousands
// of addresses one after the other would take longer than probeInterval.
const probeParallel = 64

// l2Mode decides which of this node's Layer 2 claims it owns, keeps its
// Lease, and runs a responder per interface.
type l2Mode struct {
	log     logr.Logger
	metrics *metrics
	node    string
	keeper  *leaseKeeper
	// listen opens the responder of an interface.
	listen func(ifname string) (l2Responder, error)
	// watchCarrier sends whether ifname has carrier: at once, then on each
	// change, until ctx ends (wire.WatchCarrier).
	watchCarrier func(ctx context.Context, ifname string) (<-chan bool, error)
	// hasIPVS and arpIgnore read what the strictARP check needs
	// (wire.HasIPVSInterface, wire.ARPIgnore).
	hasIPVS   func() bool
	arpIgnore func(ifname string) (int, error)
	// poke asks for a new plan; conflict reports a split brain.
	poke     func()
	conflict func(services []string, ip netip.Addr, ifname string, macs []net.HardwareAddr)
	now      func() time.Time
	// carrierChanged wakes keepLease when an interface loses or regains
	// its carrier, so that the Lease is released (or taken again) at once,
	// not at the next renewal.
	carrierChanged chan struct{}

	mu       sync.Mutex // guards liveness, wantLease, duration, renewErr, down, watches, expiry and planned
	liveness *l2.Liveness
	duration time.Duration
	want     bool  // hold the Lease: the config has l2 pools
	renewErr error // of the last renewal; nil when it worked
	renewed  bool  // this process renewed its Lease at least once
	down     map[string]bool
	// watches are the carrier watches of the interfaces of this node's l2
	// pools, by interface: every one from the start, not only those it
	// owns addresses on, so that a node with a dead NIC is never chosen.
	watches map[string]*carrierWatch
	frozen  bool
	thawed  bool // frozen was over once: later thaws end outages, not the start

	responders map[string]l2Responder // by interface
	owners     map[netip.Addr]string  // last owner computed of every claim
	owned      map[netip.Addr]l2Owned
	expiry     *time.Timer
	planned    time.Time // of the last plan: expiryDue asks for one when a Lease live then expired
	lastProbe  time.Time
	probing    sync.WaitGroup
	probeBusy  atomic.Bool // a round of probes runs: the next waits for its end
}

// leaseView is what apply knows of one node's Lease.
type leaseView struct {
	state   l2.LeaseState
	changed time.Time // last change seen, when known
	known   bool
}

// l2Owned is an address this node owns.
type l2Owned struct {
	ifname   string
	services []string
	message  string // for the Event: "192.0.2.10 now announced by node2 (was node1: lease expired)"
	since    time.Time
}

// newL2Mode returns the Layer 2 mode of node; it opens responders with
// announcer/l2/wire.
func newL2Mode(log logr.Logger, m *metrics, node string, keeper *leaseKeeper, poke func()) *l2Mode {
	l := &l2Mode{
		log: log, metrics: m, node: node, keeper: keeper, poke: poke, now: time.Now,
		liveness:   l2.NewLiveness(config.DefaultLeaseDuration),
		duration:   config.DefaultLeaseDuration,
		down:       map[string]bool{},
		watches:    map[string]*carrierWatch{},
		responders: map[string]l2Responder{},
		owners:     map[netip.Addr]string{},
		owned:      map[netip.Addr]l2Owned{},

		carrierChanged: make(chan struct{}, 1),
	}
	l.useWire()
	return l
}

// observe records an announcer's Lease as the informer or a list saw it;
// other Leases are ignored.
func (m *l2Mode) observe(l *coordinationv1.Lease) {
	node, ok := leaseNode(l.Name)
	if !ok {
		return
	}
	held := l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != ""
	m.mu.Lock()
	changed := m.liveness.Observe(node, l.ResourceVersion, held, m.now())
	m.mu.Unlock()
	// A renewal of a live Lease (every announcer's, every leaseDuration/4)
	// moves no address: only its expiry, which the expiry timer follows.
	// Planning at each would cost a whole plan per renewal per node.
	if changed {
		m.poke()
	}
}

// forget records that an announcer's Lease is gone.
func (m *l2Mode) forget(node string) {
	m.mu.Lock()
	m.liveness.Forget(node)
	m.mu.Unlock()
	m.poke()
}

// apply makes this node answer for the l2 addresses it owns, and returns
// what it announces.
func (m *l2Mode) apply(ctx context.Context, cfg *config.Config, plan planner.Plan, self planner.Node) ([]announcement, error) {
	ifs := interfaces{self: self}
	errs := []error{m.watchInterfaces(cfg, self, &ifs)}
	now := m.now()
	m.mu.Lock()
	m.want = hasMode(cfg, config.ModeL2)
	m.duration = cfg.L2.LeaseDuration.Duration
	m.liveness.SetDuration(m.duration)
	renewed := m.renewed
	selfLive := renewed && m.liveness.Live(m.node, now)
	frozen := m.want && (m.renewErr != nil || !selfLive)
	if m.frozen && !frozen {
		// Our view is back: nobody could renew while it was away.
		m.liveness.Refresh(now)
		if m.thawed {
			m.log.Info("Lease renewals and watch work again; Layer 2 ownership follows the Leases again")
		}
		m.thawed = true
	}
	if frozen && !m.frozen && selfLive {
		m.log.Info("Cannot renew this announcer's Lease; Layer 2 ownership stays as it is until renewals work again", "err", m.renewErr)
	}
	m.frozen = frozen
	// This node is live for itself once this process renewed its Lease, and
	// while none of its interfaces lost carrier (it gave its Lease up).
	selfUp := renewed && len(m.down) == 0
	// What is known of the Leases of the nodes this plan may ask about,
	// read now, under the lock the informer's updates take.
	leases := map[string]leaseView{}
	see := func(n string) {
		if _, ok := leases[n]; !ok {
			at, known := m.liveness.Changed(n)
			leases[n] = leaseView{state: m.liveness.State(n, now), changed: at, known: known}
		}
	}
	for _, c := range plan.L2 {
		for _, n := range c.EligibleNodes {
			see(n)
		}
		if prev := m.owners[c.IP]; prev != "" {
			see(prev)
		}
	}
	live := func(n string) bool { return (n != m.node || selfUp) && leases[n].state == l2.LeaseLive }
	next, hasNext := m.liveness.NextExpiry(now)
	down := maps.Clone(m.down)
	m.mu.Unlock()

	owned := map[netip.Addr]l2Owned{}
	owners := map[netip.Addr]string{}
	for _, c := range plan.L2 {
		ifname, err := ifs.of(c.Interface)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if frozen {
			if o, ok := m.owned[c.IP]; ok {
				o.services = c.Services
				owned[c.IP] = o
			}
			owners[c.IP] = m.owners[c.IP]
			continue
		}
		owner, ok := l2.Owner(c.IP, c.EligibleNodes, live)
		if !ok {
			continue
		}
		owners[c.IP] = owner
		if owner != m.node || down[ifname] {
			continue
		}
		o, had := m.owned[c.IP]
		if !had || o.ifname != ifname {
			prev := m.owners[c.IP]
			why := l2.Why(prev, c.EligibleNodes, leases[prev].state)
			if prev == m.node {
				prev, why = "", l2.FirstOwner
			}
			o = l2Owned{ifname: ifname, message: handoverMessage(m.node, c.IP, prev, why), since: now}
			if l := leases[prev]; l.known && (why == l2.PreviousExpired || why == l2.PreviousReleased) {
				// From the previous owner's last sign of life (its last
				// renewal, or its release) to this node answering.
				m.metrics.l2Failover.WithLabelValues(kebab(why.String())).Observe(now.Sub(l.changed).Seconds())
			}
			m.metrics.l2OwnerChanges.WithLabelValues(kebab(why.String())).Inc()
			m.log.V(2).Info("Owning a Layer 2 address", "ip", c.IP, "interface", ifname, "previous", prev, "reason", why)
		}
		o.services = c.Services
		owned[c.IP] = o
	}
	m.owned, m.owners = owned, owners
	errs = append(errs, m.serve(owned))

	m.scheduleExpiry(next, hasNext, now)
	m.probe(ctx, now)

	var out []announcement
	for ip, o := range owned {
		for _, svc := range o.services {
			out = append(out, announcement{service: svc, mode: config.ModeL2, ip: ip, message: o.message})
		}
	}
	return out, errors.Join(errs...)
}

// handoverMessage is the Event the new owner of ip sends:
// "198.19.20.5 now announced by node2 (was node1: lease expired)".
func handoverMessage(node string, ip netip.Addr, prev string, why l2.Handover) string {
	if prev == "" {
		return fmt.Sprintf("%s now announced by %s", ip, node)
	}
	return fmt.Sprintf("%s now announced by %s (was %s: %s)", ip, node, prev, why)
}

// serve hands each interface's responder its owned addresses, opening and
// closing responders as interfaces come and go.
func (m *l2Mode) serve(owned map[netip.Addr]l2Owned) error {
	byIf := map[string][]netip.Addr{}
	for ip, o := range owned {
		byIf[o.ifname] = append(byIf[o.ifname], ip)
	}
	var errs []error
	for ifname, ips := range byIf {
		slices.SortFunc(ips, netip.Addr.Compare)
		r, ok := m.responders[ifname]
		if !ok {
			var err error
			if r, err = m.listen(ifname); err != nil {
				errs = append(errs, fmt.Errorf("answering ARP/NDP on %s: %w", ifname, err))
				continue
			}
			m.responders[ifname] = r
			m.log.Info("Answering ARP and NDP for owned addresses", "interface", ifname)
		}
		if err := r.SetOwned(ips); err != nil {
			errs = append(errs, fmt.Errorf("answering for %d addresses on %s: %w", len(ips), ifname, err))
		}
		m.metrics.l2Owned.WithLabelValues(ifname).Set(float64(len(ips)))
	}
	for ifname, r := range m.responders {
		if _, ok := byIf[ifname]; !ok {
			errs = append(errs, r.SetOwned(nil))
			m.metrics.l2Owned.WithLabelValues(ifname).Set(0)
		}
	}
	return errors.Join(errs...)
}

// scheduleExpiry arms the expiry timer for when the next live Lease would
// expire, so that a crashed owner's addresses move without waiting for
// another event. The plan of now saw every Lease as it is.
func (m *l2Mode) scheduleExpiry(next time.Time, ok bool, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.planned = now
	m.armExpiry(next, ok, now)
}

// armExpiry sets the expiry timer to next; mu is held.
func (m *l2Mode) armExpiry(next time.Time, ok bool, now time.Time) {
	if m.expiry != nil {
		m.expiry.Stop()
		m.expiry = nil
	}
	if ok {
		m.expiry = time.AfterFunc(next.Sub(now)+time.Millisecond, m.expiryDue)
	}
}

// expiryDue runs when a Lease may have expired: it asks for a plan when one
// that was live at the last plan did, and otherwise waits for the next
// expiry (the Lease was renewed since; its renewal asked for no plan).
func (m *l2Mode) expiryDue() {
	m.mu.Lock()
	now := m.now()
	due := m.liveness.ExpiredSince(m.planned, now)
	if !due {
		next, ok := m.liveness.NextExpiry(now)
		m.armExpiry(next, ok, now)
	}
	m.mu.Unlock()
	if due {
		m.poke()
	}
}

// probe asks, now and then, whether another host answers for the owned
// addresses too. Replies are unicast: only a probe shows a split brain.
func (m *l2Mode) probe(ctx context.Context, now time.Time) {
	if now.Sub(m.lastProbe) < probeInterval || len(m.owned) == 0 || m.probeBusy.Load() {
		return
	}
	m.mu.Lock()
	settle := m.duration
	m.mu.Unlock()
	type job struct {
		r        l2Responder
		ip       netip.Addr
		ifname   string
		services []string
	}
	var jobs []job
	for ip, o := range m.owned {
		if now.Sub(o.since) < settle {
			continue
		}
		if r, ok := m.responders[o.ifname]; ok {
			jobs = append(jobs, job{r, ip, o.ifname, o.services})
		}
	}
	if len(jobs) == 0 {
		return
	}
	m.lastProbe = now
	m.probeBusy.Store(true)
	m.probing.Add(1)
	go func() {
		defer m.probing.Done()
		defer m.probeBusy.Store(false)
		slots := make(chan struct{}, probeParallel)
		var round sync.WaitGroup
		for _, j := range jobs {
			slots <- struct{}{}
			round.Go(func() {
				defer func() { <-slots }()
				macs, err := j.r.Probe(ctx, j.ip)
				if err != nil {
					if ctx.Err() == nil {
						m.log.V(2).Info("Probing an owned address failed", "ip", j.ip, "interface", j.ifname, "err", err)
					}
					return
				}
				if len(macs) > 0 && j.r.Owned(j.ip) {
					m.metrics.l2Conflicts.WithLabelValues(j.ifname).Inc()
					m.conflict(j.services, j.ip, j.ifname, macs)
				}
			})
		}
		round.Wait()
	}()
}

// carrierWatch is the carrier watch of one interface.
type carrierWatch struct {
	stop context.CancelFunc
}

// watchInterfaces watches the carrier of each interface of the l2 pools
// whose nodeSelector selects this node, and stops watching the others.
// A watch learns the interface's state before it returns, so the plan
// that starts it already knows a dead NIC.
func (m *l2Mode) watchInterfaces(cfg *config.Config, self planner.Node, ifs *interfaces) error {
	want := map[string]bool{}
	for i := range cfg.Pools {
		p := &cfg.Pools[i]
		if cmpMode(p.Mode) != config.ModeL2 || !planner.MatchesSelector(p.NodeSelector, self.Labels) {
			continue
		}
		// An interface that cannot be resolved is the claims' error.
		if ifname, err := ifs.of(p.Interface); err == nil {
			want[ifname] = true
		}
	}
	m.mu.Lock()
	var gone []string
	for ifname, w := range m.watches {
		if !want[ifname] {
			w.stop()
			delete(m.watches, ifname)
		}
	}
	// Also the interfaces whose watch ended by itself and could not start
	// again: a carrier lost there must not keep the Lease given up.
	for ifname, down := range m.down {
		if !want[ifname] {
			delete(m.down, ifname)
			if down {
				gone = append(gone, ifname)
			}
		}
	}
	var start []string
	for ifname := range want {
		if m.watches[ifname] == nil {
			start = append(start, ifname)
		}
	}
	m.mu.Unlock()
	if len(gone) > 0 {
		m.log.Info("No longer watching interfaces that lost carrier: no l2 pool of this node uses them", "interfaces", gone)
		m.wakeLease()
	}
	slices.Sort(start)
	var errs []error
	for _, ifname := range start {
		errs = append(errs, m.startWatch(ifname))
	}
	return errors.Join(errs...)
}

// startWatch starts watching ifname's carrier; a later plan tries again
// when it fails, or when the watch ends on its own.
func (m *l2Mode) startWatch(ifname string) error {
	ctx, stop := context.WithCancel(context.Background())
	updates, err := m.watchCarrier(ctx, ifname)
	if err != nil {
		stop()
		return fmt.Errorf("watching the carrier of %s: %w", ifname, err)
	}
	up, ok := <-updates
	if !ok {
		stop()
		return fmt.Errorf("watching the carrier of %s: the watch ended at once", ifname)
	}
	w := &carrierWatch{stop: stop}
	m.mu.Lock()
	m.watches[ifname] = w
	m.mu.Unlock()
	m.log.V(2).Info("Watching the carrier of an l2 interface", "interface", ifname, "up", up)
	m.checkARPIgnore(ifname)
	m.carrier(w, ifname, up)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case up, ok := <-updates:
				if ok {
					m.carrier(w, ifname, up)
					continue
				}
				m.mu.Lock()
				current := m.watches[ifname] == w
				if current {
					delete(m.watches, ifname)
				}
				m.mu.Unlock()
				if current {
					m.log.Info("The carrier watch of an interface ended; watching it again", "interface", ifname)
					m.poke()
				}
				return
			}
		}
	}()
	return nil
}

// stopWatches stops every carrier watch.
func (m *l2Mode) stopWatches() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for ifname, w := range m.watches {
		w.stop()
		delete(m.watches, ifname)
	}
}

// checkARPIgnore warns when kube-proxy's IPVS interface would make every
// node's kernel answer ARP for the Service addresses on ifname.
func (m *l2Mode) checkARPIgnore(ifname string) {
	if !m.hasIPVS() {
		return
	}
	v, err := m.arpIgnore(ifname)
	if err != nil {
		m.log.V(2).Info("Reading arp_ignore failed", "interface", ifname, "err", err)
		return
	}
	if v == 0 {
		m.log.Error(nil, "kube-proxy's IPVS interface kube-ipvs0 exists and arp_ignore is 0: every node answers ARP for the Service addresses it carries. Turn strictARP on in kube-proxy's IPVS config (or set net.ipv4.conf.all.arp_ignore=1)", "interface", ifname)
	}
}

// carrier records that ifname, watched by w, lost or regained its carrier.
// A node whose interface is down gives its Lease up at once, so that its
// addresses move without waiting for the Lease to expire. A watch that was
// stopped meanwhile is not heard.
func (m *l2Mode) carrier(w *carrierWatch, ifname string, up bool) {
	m.mu.Lock()
	if m.watches[ifname] != w {
		m.mu.Unlock()
		return
	}
	changed := m.down[ifname] == up
	if up {
		delete(m.down, ifname)
	} else {
		m.down[ifname] = true
	}
	m.mu.Unlock()
	if changed {
		m.log.Info("Interface carrier changed", "interface", ifname, "up", up)
		m.wakeLease()
		m.poke()
	}
}

// wakeLease makes keepLease release or take the Lease now.
func (m *l2Mode) wakeLease() {
	select {
	case m.carrierChanged <- struct{}{}:
	default: // keepLease has a wake-up pending
	}
}

// anyDown reports whether an interface this node answers on lost carrier.
func (m *l2Mode) anyDown() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.down) > 0
}

// keepLease renews this announcer's Lease several times per lease
// duration while the config has l2 pools, until ctx ends. It releases the
// Lease while an interface has no carrier, or l2 pools are gone.
func (m *l2Mode) keepLease(ctx context.Context) {
	for {
		m.mu.Lock()
		want, d := m.want, m.duration
		m.mu.Unlock()
		down := m.anyDown()
		var err error
		// The end of ctx (SIGTERM) does not cut a write short: the keeper
		// forgets the Lease after a failed write, and close could then not
		// give it up, leaving the others to wait for it to expire.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d/2)
		switch {
		case want && !down:
			err = m.keeper.renew(rctx, d)
			if err != nil {
				m.metrics.l2LeaseFailures.WithLabelValues().Inc()
			}
		case m.keeper.held():
			err = m.keeper.release(rctx)
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil && want && !down {
			m.pollIfBlind(ctx, d)
		}
		m.mu.Lock()
		changed := (err == nil) != (m.renewErr == nil)
		if err == nil && want && !down && !m.renewed {
			m.renewed, changed = true, true
		}
		m.renewErr = err
		m.mu.Unlock()
		if changed {
			if err != nil {
				m.log.Error(err, "Renewing this announcer's Lease")
			}
			m.poke()
		}
		select {
		case <-ctx.Done():
			return
		case <-m.carrierChanged:
		case <-time.After(max(d/4, 250*time.Millisecond)):
		}
	}
}

// pollIfBlind lists the announcers' Leases when this node's renewals work
// but its watch has not shown its own Lease change for a lease duration:
// after an API server outage, client-go's informers wait up to a minute
// before they watch again, and ownership must not stay frozen that long.
func (m *l2Mode) pollIfBlind(ctx context.Context, d time.Duration) {
	m.mu.Lock()
	blind := !m.liveness.Live(m.node, m.now())
	m.mu.Unlock()
	if !blind {
		return
	}
	lctx, cancel := context.WithTimeout(ctx, d/2)
	defer cancel()
	list, err := m.keeper.leases.List(lctx)
	if err != nil {
		m.log.V(2).Info("Listing the announcers' Leases failed", "err", err)
		return
	}
	for i := range list.Items {
		m.observe(&list.Items[i])
	}
}

// close stops answering and gives the Lease up, so that other announcers
// take the addresses at once.
func (m *l2Mode) close(ctx context.Context) error {
	var errs []error
	for ifname, r := range m.responders {
		errs = append(errs, r.SetOwned(nil), r.Close())
		delete(m.responders, ifname)
	}
	m.stopWatches()
	m.mu.Lock()
	if m.expiry != nil {
		m.expiry.Stop()
		m.expiry = nil
	}
	m.mu.Unlock()
	m.owned = map[netip.Addr]l2Owned{}
	errs = append(errs, m.keeper.release(ctx))
	m.probing.Wait()
	return errors.Join(errs...)
}

// hasMode reports whether any pool of cfg uses mode.
func hasMode(cfg *config.Config, mode config.Mode) bool {
	for i := range cfg.Pools {
		if cmpMode(cfg.Pools[i].Mode) == mode {
			return true
		}
	}
	return false
}

func cmpMode(m config.Mode) config.Mode {
	if m == "" {
		return config.DefaultMode
	}
	return m
}

// kebab turns "lease expired" into "lease-expired", for a metric label.
func kebab(s string) string { return strings.ReplaceAll(s, " ", "-") }
