package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"github.com/go-logr/logr"

	"github.com/floatlb/floatlb/announcer/bgp"
	"github.com/floatlb/floatlb/announcer/vrrp"
)

// loopback carries the VIPs in bgp mode: the node must accept the traffic
// the router sends it, but no neighbour should reach the VIP by ARP/NDP.
const loopback = "lo"

// bgpHolder keeps sessions with the routers up all the time and
// advertises the VIPs, with this node as next hop, while healthy: every
// healthy control-plane node does, and the router spreads by ECMP.
type bgpHolder struct {
	log     logr.Logger
	speaker *bgp.Speaker
	routes  []bgp.Route
	vips    vipAddresses

	mu   sync.Mutex
	held bool
}

func newBGPHolder(ctx context.Context, log logr.Logger, opts Options, iface string) (*bgpHolder, error) {
	v4, v6, err := ownAddresses(iface, opts.VIPs)
	if err != nil {
		return nil, err
	}
	if !v4.IsValid() {
		return nil, fmt.Errorf("interface %s has no IPv4 address for the BGP router ID: set --%s", iface, flagInterface)
	}
	var routes []bgp.Route
	for _, ip := range opts.VIPs {
		nh := v4
		if ip.Is6() {
			nh = v6
		}
		if !nh.IsValid() {
			return nil, fmt.Errorf("interface %s has no global IPv6 address to advertise %s from", iface, ip)
		}
		routes = append(routes, bgp.Route{Prefix: netip.PrefixFrom(ip, ip.BitLen()), NextHop: nh})
	}
	sp, err := bgp.New(ctx, log, bgp.Options{ASN: opts.ASN, RouterID: v4, ListenPort: -1})
	if err != nil {
		return nil, err
	}
	if err := sp.SetPeers(ctx, opts.Peers); err != nil {
		return nil, errors.Join(err, sp.Close(ctx))
	}
	h := &bgpHolder{
		log: log, speaker: sp, routes: routes,
		vips: vipAddresses{log: log, addrs: vrrp.NetlinkAddresses{}, iface: loopback, vips: opts.VIPs},
	}
	if err := h.vips.remove(); err != nil {
		log.Error(err, "Removing left-over control-plane VIPs", "interface", loopback)
	}
	return h, nil
}

// SetHealthy advertises the VIPs (with the VIPs on lo first, so the node
// takes their traffic) or withdraws them (then removes them from lo).
func (h *bgpHolder) SetHealthy(ctx context.Context, healthy bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if healthy {
		if err := h.vips.add(); err != nil {
			return err
		}
		if err := h.speaker.SetRoutes(ctx, h.routes); err != nil {
			return err
		}
		h.held = true
		h.log.Info("Advertising the control-plane VIP", "ip", h.vips.vips)
		return nil
	}
	h.held = false
	err := h.speaker.SetRoutes(ctx, nil)
	h.log.Info("Withdrew the control-plane VIP", "ip", h.vips.vips)
	return errors.Join(err, h.vips.remove())
}

func (h *bgpHolder) Held() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.held
}

func (h *bgpHolder) Close(ctx context.Context) error {
	return errors.Join(h.SetHealthy(ctx, false), h.speaker.Close(ctx))
}
