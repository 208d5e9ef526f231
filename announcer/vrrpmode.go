package announcer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	v1 "k8s.io/api/core/v1"

	"github.com/floatlb/floatlb/announcer/l2/wire"
	"github.com/floatlb/floatlb/announcer/planner"
	"github.com/floatlb/floatlb/announcer/vrrp"
	"github.com/floatlb/floatlb/config"
)

// A VRRP router whose adverts on one of our VRIDs list other addresses is
// foreign once it has done so for foreignAdvertAfter without a pause of
// foreignAdvertPause: while a Service is added, the nodes of its instance
// update their address lists milliseconds apart, and must not call each
// other foreign. An Event about one source is repeated at most every
// foreignAdvertQuiet.
const (
	foreignAdvertAfter = 3 * time.Second
	foreignAdvertPause = time.Second
	foreignAdvertQuiet = 5 * time.Minute
)

// vrrpMode runs this node's VRRP instances from the plan.
type vrrpMode struct {
	log     logr.Logger
	metrics *metrics
	node    string
	// event sends an Event to a Service; poke asks for a new plan.
	event func(service, eventType, reason, msg string)
	poke  func()

	// open gives the Router its sockets (openSockets); tests hand it
	// fakes, and their own address manager and announcer.
	open     func(opts *vrrp.Options) error
	now      func() time.Time
	router   *vrrp.Router
	interval time.Duration
	cleaned  map[string]bool // interfaces cleaned of a predecessor's addresses

	mu        sync.Mutex // guards instances, foreign and counted; the Router's Observer calls run under its own lock
	instances map[string]vrrp.Instance
	foreign   map[string]*foreignRouter // by "vrid src"
	// counted is the VRID of each instance with transitions_total
	// series, so that an instance this node no longer runs, or that
	// changed VRID, leaves no series behind.
	counted map[string]uint8

	announcers wire.Announcers
}

func newVRRPMode(log logr.Logger, m *metrics, node string, event func(service, eventType, reason, msg string), poke func()) *vrrpMode {
	v := &vrrpMode{
		log: log, metrics: m, node: node, event: event, poke: poke,
		now:       time.Now,
		cleaned:   map[string]bool{},
		instances: map[string]vrrp.Instance{},
		foreign:   map[string]*foreignRouter{},
		counted:   map[string]uint8{},
	}
	v.open = v.openSockets
	return v
}

// apply runs the VRRP instances of the plan and returns how many
// addresses this node holds as master.
func (v *vrrpMode) apply(ctx context.Context, cfg *config.Config, plan planner.Plan, self planner.Node) (int, error) {
	if !hasMode(cfg, config.ModeVRRP) {
		err := v.close(ctx)
		v.forget(nil)
		return 0, err
	}
	var errs []error
	var claims []vrrp.Claim
	ifs := interfaces{self: self}
	for _, list := range [][]planner.Claim{plan.VRRP, plan.VRRPElsewhere} {
		for _, c := range list {
			ifname, err := ifs.of(c.Interface)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			claims = append(claims, vrrp.Claim{IP: c.IP, Interface: ifname, EligibleNodes: c.EligibleNodes, Services: c.Services})
		}
	}
	instances, err := vrrp.Instances(v.node, claims, reservedVRIDs(cfg), interfaceMTUs(claims))
	if err != nil {
		// Too many instances on an interface: say so on every Service.
		msg := fmt.Sprintf("VRRP mode cannot run this Service's address: %v. Use fewer distinct node sets (externalTrafficPolicy Local makes one per endpoint set) or another interface", err)
		for _, c := range plan.VRRP {
			for _, svc := range c.Services {
				v.event(svc, v1.EventTypeWarning, "floatlb.io/VRRPInstanceLimit", msg)
			}
		}
		return 0, fmt.Errorf("planning vrrp instances: %w", err)
	}

	interval := cfg.VRRP.AdvertInterval.Duration
	if v.router != nil && v.interval != interval {
		v.log.Info("VRRP advert interval changed; restarting the instances", "interval", interval)
		errs = append(errs, v.close(ctx))
	}
	if v.router == nil {
		opts := vrrp.Options{
			Announcer:      &v.announcers,
			Observer:       vrrpObserver{v},
			AdvertInterval: interval,
			Logger:         v.log,
		}
		if err := v.open(&opts); err != nil {
			return 0, errors.Join(append(errs, err)...)
		}
		v.router, v.interval = vrrp.New(opts), interval
	}
	// A crashed predecessor may have left addresses on the interfaces of
	// the vrrp pools, also on a node that runs no instance now: its kernel
	// would answer ARP for them next to the real master.
	for _, ifname := range vrrpInterfaces(cfg, &ifs, instances) {
		if !v.cleaned[ifname] {
			v.cleaned[ifname] = true
			if err := v.router.Cleanup(ifname, func(ip netip.Addr) bool { return isVRRPAddress(cfg, ip) || isServiceLinkLocal(cfg, ip) }); err != nil {
				errs = append(errs, fmt.Errorf("removing left-over VRRP addresses from %s: %w", ifname, err))
			}
		}
	}
	v.mu.Lock()
	v.instances = map[string]vrrp.Instance{}
	for _, in := range instances {
		v.instances[in.Name] = in
	}
	v.mu.Unlock()
	if err := v.router.Set(ctx, instances); err != nil {
		errs = append(errs, err)
	}
	v.forget(instances)
	return v.held(), errors.Join(errs...)
}

// forget removes the transitions_total series of the instances not in
// keep: Local Services make an instance per endpoint set, and the sets a
// node ran over weeks would otherwise pile up series.
func (v *vrrpMode) forget(keep []vrrp.Instance) {
	running := make(map[string]bool, len(keep))
	for _, in := range keep {
		running[in.Name] = true
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for name := range v.counted {
		if !running[name] {
			v.metrics.vrrpTransitions.DeletePartialMatch(prometheus.Labels{"vrrp_instance": name})
			delete(v.counted, name)
		}
	}
}

// openSockets opens the VRRP sockets of both families; one family
// missing (no CAP_NET_RAW is both; IPv6 turned off is one) is logged.
func (v *vrrpMode) openSockets(opts *vrrp.Options) error {
	c4, err4 := vrrp.ListenIPv4()
	c6, err6 := vrrp.ListenIPv6()
	if err4 != nil && err6 != nil {
		return fmt.Errorf("opening VRRP sockets: %w", errors.Join(err4, err6))
	}
	if err4 == nil {
		opts.IPv4 = c4
	} else {
		v.log.Error(err4, "No IPv4 VRRP socket: IPv4 vrrp addresses are not held")
	}
	if err6 == nil {
		opts.IPv6 = c6
	} else {
		v.log.Error(err6, "No IPv6 VRRP socket (is IPv6 off?): IPv6 vrrp addresses are not held")
	}
	return nil
}

// held counts the addresses of the instances this node is master of, and
// sets the instance gauges.
func (v *vrrpMode) held() int {
	states := v.router.States()
	v.mu.Lock()
	defer v.mu.Unlock()
	n, masters := 0, 0
	for name, s := range states {
		if s == vrrp.Master {
			masters++
			n += len(v.instances[name].Addresses)
		}
	}
	v.metrics.vrrpInstances.WithLabelValues().Set(float64(len(states)))
	v.metrics.vrrpMasters.WithLabelValues().Set(float64(masters))
	return n
}

// close shuts every instance down: masters send priority 0 and remove
// their addresses, so a backup takes over at once.
func (v *vrrpMode) close(ctx context.Context) error {
	if v.router == nil {
		return nil
	}
	err := v.router.Close(ctx)
	v.router = nil
	v.cleaned = map[string]bool{}
	return errors.Join(err, v.announcers.Close())
}

// vrrpInterfaces returns the interfaces vrrp pools may use on this node:
// the pools' own, the one carrying the node's InternalIP for pools without,
// and those of the instances.
func vrrpInterfaces(cfg *config.Config, ifs *interfaces, instances []vrrp.Instance) []string {
	seen := map[string]bool{}
	var out []string
	add := func(name string) {
		if name != "" && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for i := range cfg.Pools {
		p := &cfg.Pools[i]
		if cmpMode(p.Mode) != config.ModeVRRP {
			continue
		}
		if p.Interface != "" {
			if _, err := net.InterfaceByName(p.Interface); err == nil {
				add(p.Interface)
			}
			continue
		}
		if name, err := ifs.of(""); err == nil {
			add(name)
		}
	}
	for _, in := range instances {
		add(in.Interface)
	}
	return out
}

// interfaceMTUs returns the MTU of each interface of claims, which the
// split of large instances needs, looked up once per interface; an
// interface this host lacks gets 0 (vrrp.Instances counts 1500 for it).
func interfaceMTUs(claims []vrrp.Claim) map[string]int {
	out := map[string]int{}
	for _, c := range claims {
		if _, ok := out[c.Interface]; ok {
			continue
		}
		out[c.Interface] = 0
		if ifi, err := net.InterfaceByName(c.Interface); err == nil {
			out[c.Interface] = ifi.MTU
		}
	}
	return out
}

// isVRRPAddress reports whether ip lies in a vrrp pool of cfg.
func isVRRPAddress(cfg *config.Config, ip netip.Addr) bool {
	p, ok := cfg.PoolFor(ip)
	return ok && cmpMode(p.Mode) == config.ModeVRRP
}

// vrrpObserver turns the Router's reports into metrics and Events. Its
// methods run under the Router's lock: they only queue.
type vrrpObserver struct{ v *vrrpMode }

func (o vrrpObserver) Dropped(reason string) {
	o.v.metrics.vrrpDropped.WithLabelValues(reason).Inc()
}

func (o vrrpObserver) Transition(instance string, vrid uint8, from, to vrrp.State, reason string) {
	v := o.v
	v.mu.Lock()
	in := v.instances[instance]
	if old, ok := v.counted[instance]; ok && old != vrid {
		v.metrics.vrrpTransitions.DeletePartialMatch(prometheus.Labels{"vrrp_instance": instance})
	}
	v.counted[instance] = vrid
	v.metrics.vrrpTransitions.WithLabelValues(instance, strconv.Itoa(int(vrid)), strings.ToLower(to.String()), reason).Inc()
	v.mu.Unlock()
	v.log.Info("VRRP state changed", "instance", instance, "vrid", vrid, "from", from, "to", to, "reason", reason)
	v.poke() // the gauges follow
	if to == vrrp.Initialize || (from == vrrp.Initialize && to == vrrp.Backup) {
		return // starting and stopping: nothing moved
	}
	ips := make([]string, len(in.Addresses))
	for i, ip := range in.Addresses {
		ips[i] = ip.String()
	}
	msg := fmt.Sprintf("%s is now VRRP %s of instance %s (VRID %d) for %s: %s",
		v.node, strings.ToLower(to.String()), instance, vrid, strings.Join(ips, ", "), reason)
	for _, svc := range in.Services {
		v.event(svc, v1.EventTypeNormal, transitionReason(to), msg)
	}
}

// transitionReason is the Event reason of a change to state to.
func transitionReason(to vrrp.State) string {
	if to == vrrp.Master {
		return "floatlb.io/VRRPMaster"
	}
	return "floatlb.io/VRRPBackup"
}

func (o vrrpObserver) ForeignAdvert(instance string, vrid uint8, src netip.Addr, addrs []netip.Addr) {
	v := o.v
	key := fmt.Sprintf("%d %s", vrid, src)
	now := v.now()
	v.mu.Lock()
	f := v.foreign[key]
	if f == nil || now.Sub(f.last) > foreignAdvertPause {
		f = &foreignRouter{first: now, reported: f.reportedAt()}
		v.foreign[key] = f
	}
	f.last = now
	if now.Sub(f.first) < foreignAdvertAfter || now.Sub(f.reported) < foreignAdvertQuiet {
		v.mu.Unlock()
		return
	}
	f.reported = now
	in := v.instances[instance]
	v.mu.Unlock()
	v.metrics.vrrpForeign.WithLabelValues().Inc()
	var theirs []string
	for _, a := range addrs {
		theirs = append(theirs, a.String())
	}
	msg := fmt.Sprintf("VRRP router %s advertises VRID %d on %s, which instance %s uses, with other addresses (%s): another cluster or device on this LAN uses the VRID (RFC 5798 section 7.1). Give it another VRID or move this pool to another interface",
		src, vrid, in.Interface, instance, strings.Join(theirs, ", "))
	v.log.Error(nil, "Foreign VRRP advert on one of our VRIDs", "instance", instance, "vrid", vrid, "source", src, "addresses", theirs)
	for _, svc := range in.Services {
		v.event(svc, v1.EventTypeWarning, "floatlb.io/VRRPForeignRouter", msg)
	}
}

// foreignRouter is a source of adverts on one of our VRIDs with other
// addresses.
type foreignRouter struct {
	first, last time.Time // of the current run of such adverts
	reported    time.Time // of the last Event; zero if none
}

func (f *foreignRouter) reportedAt() time.Time {
	if f == nil {
		return time.Time{}
	}
	return f.reported
}

// reservedVRIDs are the VRIDs of vrrp.reservedVRIDs, which validation
// keeps within 1 to 255.
func reservedVRIDs(cfg *config.Config) []uint8 {
	out := make([]uint8, 0, len(cfg.VRRP.ReservedVRIDs))
	for _, v := range cfg.VRRP.ReservedVRIDs {
		out = append(out, uint8(v))
	}
	return out
}

// isServiceLinkLocal reports whether ip is the virtual link-local address
// of a VRID that Service instances may take: the reserved ones belong to
// the control-plane VIP or to other routers.
func isServiceLinkLocal(cfg *config.Config, ip netip.Addr) bool {
	vrid, ok := vrrp.VirtualLinkLocalVRID(ip)
	return ok && !slices.Contains(cfg.VRRP.ReservedVRIDs, int(vrid))
}
