package controlplane

import (
	"context"
	"errors"
	"net/netip"
	"slices"

	"github.com/go-logr/logr"

	"github.com/floatlb/floatlb/announcer/l2/wire"
	"github.com/floatlb/floatlb/announcer/vrrp"
)

// vrrpHolder runs one VRRP instance per family of the VIPs, with the
// Service modes' Router: it needs no API server at all.
type vrrpHolder struct {
	log        logr.Logger
	router     *vrrp.Router
	announcers *wire.Announcers
	instances  []vrrp.Instance
	healthy    bool
}

// instanceName is the control-plane instance's name, "-v6" added for
// IPv6 as Service instances have it.
const instanceName = "control-plane"

// vrrpInstances are this node's instances for opts: one per family, the
// IPv6 one with its virtual link-local address first in its adverts.
func vrrpInstances(opts Options, iface string) []vrrp.Instance {
	var out []vrrp.Instance
	for _, ip := range opts.VIPs {
		in := vrrp.Instance{
			Name: instanceName, Interface: iface, VRID: opts.VRID, Priority: opts.Priority,
			Addresses: []netip.Addr{ip}, Nodes: []string{opts.NodeName},
		}
		if ip.Is6() {
			in.Name += "-v6"
			in.IPv6 = true
			in.LinkLocal = vrrp.LinkLocal(opts.VRID)
		}
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b vrrp.Instance) int { return a.Addresses[0].Compare(b.Addresses[0]) })
	return out
}

func newVRRPHolder(log logr.Logger, opts Options, iface string, obs vrrp.Observer) (*vrrpHolder, error) {
	instances := vrrpInstances(opts, iface)
	ro := vrrp.Options{
		AdvertInterval: opts.AdvertInterval,
		Observer:       obs,
		Logger:         log,
	}
	announcers := &wire.Announcers{}
	ro.Announcer = announcers
	var err error
	for _, in := range instances {
		switch {
		case !in.IPv6 && ro.IPv4 == nil:
			ro.IPv4, err = vrrp.ListenIPv4()
		case in.IPv6 && ro.IPv6 == nil:
			ro.IPv6, err = vrrp.ListenIPv6()
		}
		if err != nil {
			closeConns(ro)
			return nil, err
		}
	}
	r := vrrp.New(ro)
	vips, linkLocal := opts.VIPs, vrrp.LinkLocal(opts.VRID)
	// A predecessor killed while master left the VIPs behind.
	if err := r.Cleanup(iface, func(ip netip.Addr) bool { return slices.Contains(vips, ip) || ip == linkLocal }); err != nil {
		log.Error(err, "Removing left-over control-plane VIPs", "interface", iface)
	}
	return &vrrpHolder{log: log, router: r, announcers: announcers, instances: instances}, nil
}

func closeConns(o vrrp.Options) {
	for _, c := range []vrrp.Conn{o.IPv4, o.IPv6} {
		if c != nil {
			_ = c.Close()
		}
	}
}

// SetHealthy runs the instances, or removes them: a master then sends
// priority 0, and a backup takes over after its skew time.
func (v *vrrpHolder) SetHealthy(ctx context.Context, healthy bool) error {
	v.healthy = healthy
	if !healthy {
		return v.router.Set(ctx, nil)
	}
	return v.router.Set(ctx, v.instances)
}

func (v *vrrpHolder) Held() bool {
	for _, s := range v.router.States() {
		if s == vrrp.Master {
			return true
		}
	}
	return false
}

func (v *vrrpHolder) Close(ctx context.Context) error {
	return errors.Join(v.router.Close(ctx), v.announcers.Close())
}
