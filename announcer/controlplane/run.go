package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/klog/v2"

	"github.com/floatlb/floatlb/announcer/vrrp"
)

// closeTimeout bounds giving the VIPs up on exit.
const closeTimeout = 5 * time.Second

// Run keeps the VIPs of opts reachable through this node while its local
// API server is healthy, until ctx ends; then it gives them up (VRRP:
// priority 0; l2: releases the Lease; bgp: withdraws) and returns.
func Run(ctx context.Context, opts Options, reg prometheus.Registerer) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	if opts.NodeName == "" {
		return errors.New("no node name: set --node-name or the environment variable NODE_NAME")
	}
	log := klog.FromContext(ctx).WithValues("mode", opts.Mode)
	m := newMetrics(reg)
	iface := opts.Interface
	if iface == "" {
		var err error
		if iface, err = defaultInterface(); err != nil {
			return err
		}
	}
	var h holder
	var err error
	switch opts.Mode {
	case ModeVRRP:
		h, err = newVRRPHolder(log, opts, iface, vrrpLogger{log: log})
	case ModeL2:
		h, err = newL2Holder(log, opts, iface)
	case ModeBGP:
		h, err = newBGPHolder(ctx, log, opts, iface)
	}
	if err != nil {
		return fmt.Errorf("control-plane %s mode: %w", opts.Mode, err)
	}
	log.Info("Keeping the control-plane VIP while the local API server is ready", "ip", opts.VIPs, "interface", iface, "apiserver", opts.APIServer)

	p := newProber(opts.APIServer, max(opts.HealthInterval, time.Second))
	health := Health{Rise: healthRise, Fall: healthFall}
	tick := time.NewTicker(opts.HealthInterval)
	defer tick.Stop()
	for ctx.Err() == nil {
		err := p.probe(ctx)
		if ctx.Err() != nil {
			break // the probe was cut short, not failed
		}
		if err != nil {
			m.probeFailures.Inc()
			log.V(4).Info("The local API server is not ready", "err", err)
		}
		if healthy, changed := health.Observe(err == nil); changed {
			if healthy {
				log.Info("The local API server is ready: taking part for the VIP")
				m.healthy.Set(1)
			} else {
				log.Info("The local API server stopped answering /readyz: giving the VIP up", "err", err)
				m.healthy.Set(0)
			}
			if err := h.SetHealthy(ctx, healthy); err != nil {
				log.Error(err, "Changing the control-plane VIP", "healthy", healthy)
			}
		}
		m.setHeld(h.Held())
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	err = h.Close(cctx)
	m.setHeld(false)
	log.Info("Gave the control-plane VIP up")
	return err
}

// vrrpLogger logs what the Router does to the control-plane instances.
// Its methods run under the Router's lock: they only log.
type vrrpLogger struct{ log logr.Logger }

func (v vrrpLogger) Dropped(string) {}

func (v vrrpLogger) Transition(instance string, vrid uint8, from, to vrrp.State, reason string) {
	v.log.Info("Control-plane VRRP state changed", "instance", instance, "vrid", vrid, "from", from, "to", to, "reason", reason)
}

// ForeignAdvert: another router uses the control-plane VRID with other
// addresses; pick another --control-plane-vrid. Logged at V(2), as it
// comes with every advert of that router.
func (v vrrpLogger) ForeignAdvert(instance string, vrid uint8, src netip.Addr, addrs []netip.Addr) {
	v.log.V(2).Info("Foreign VRRP advert on the control-plane VRID: set another --control-plane-vrid", "instance", instance, "vrid", vrid, "source", src, "addresses", addrs)
}
