package controlplane

import (
	"context"
	"errors"
	"net/netip"

	"github.com/go-logr/logr"

	"github.com/floatlb/floatlb/announcer/vrrp"
)

// holder makes the VIPs reachable through this node, in one mode, while
// the local API server is healthy. Run's loop calls it from one goroutine.
type holder interface {
	// SetHealthy starts (true) or stops (false) holding or advertising the
	// VIPs; stopping gives them up at once so another node takes over.
	SetHealthy(ctx context.Context, healthy bool) error
	// Held reports whether this node holds (vrrp, l2) or advertises (bgp)
	// the VIPs now.
	Held() bool
	// Close gives everything up and releases the sockets.
	Close(ctx context.Context) error
}

// vipAddresses adds and removes the VIPs on one interface, logging what it
// does.
type vipAddresses struct {
	log   logr.Logger
	addrs vrrp.AddressManager
	iface string
	vips  []netip.Addr
}

func (v vipAddresses) add() error {
	var errs []error
	for _, ip := range v.vips {
		if err := v.addrs.Add(v.iface, ip); err != nil {
			errs = append(errs, err)
			continue
		}
		v.log.V(2).Info("Added the control-plane VIP", "interface", v.iface, "ip", ip)
	}
	return errors.Join(errs...)
}

func (v vipAddresses) remove() error {
	var errs []error
	for _, ip := range v.vips {
		if err := v.addrs.Remove(v.iface, ip); err != nil {
			errs = append(errs, err)
			continue
		}
		v.log.V(2).Info("Removed the control-plane VIP", "interface", v.iface, "ip", ip)
	}
	return errors.Join(errs...)
}
