package announcer

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/go-logr/logr"

	"github.com/floatlb/floatlb/announcer/l2/wire"
)

// wireResponder is an interface's ARP/NDP responder of announcer/l2/wire,
// with the carrier watch that goes with it.
type wireResponder struct {
	*wire.Responder
	stopWatch context.CancelFunc
}

func (r *wireResponder) Close() error {
	r.stopWatch()
	return r.Responder.Close()
}

// listenWire opens ifname's responder, watches its carrier for m, and
// warns when kube-proxy's IPVS interface would make every node answer ARP.
func (m *l2Mode) listenWire(ifname string) (l2Responder, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", ifname, err)
	}
	r, err := wire.Listen(ifi, wire.Options{Observer: wireObserver{log: m.log.WithValues("interface", ifname), metrics: m.metrics}})
	if err != nil {
		return nil, err
	}
	if wire.HasIPVSInterface() {
		if v, err := wire.ARPIgnore(ifname); err == nil && v == 0 {
			m.log.Error(nil, "kube-proxy's IPVS interface kube-ipvs0 exists and arp_ignore is 0: every node answers ARP for the Service addresses it carries. Turn strictARP on in kube-proxy's IPVS config (or set net.ipv4.conf.all.arp_ignore=1)", "interface", ifname)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	updates, err := wire.WatchCarrier(ctx, ifname)
	if err != nil {
		cancel()
		r.Close()
		return nil, fmt.Errorf("watching the carrier of %s: %w", ifname, err)
	}
	go func() {
		for up := range updates {
			m.carrier(ifname, up)
		}
	}()
	return &wireResponder{Responder: r, stopWatch: cancel}, nil
}

// wireObserver counts what the responder sends.
type wireObserver struct {
	log     logr.Logger
	metrics *metrics
}

func (o wireObserver) Replied(family string)   { o.metrics.l2Replies.WithLabelValues(family).Inc() }
func (o wireObserver) Announced(family string) { o.metrics.l2Replies.WithLabelValues(family).Inc() }

// Conflict is a claim from another hardware address; during a handover the
// old owner's last announcements count too, so Probe judges a split brain.
func (o wireObserver) Conflict(ip netip.Addr, mac net.HardwareAddr) {
	o.log.V(4).Info("Another host claims an owned address", "ip", ip, "mac", mac.String())
}

func (o wireObserver) SendFailed(family string, err error) {
	o.log.V(2).Info("Sending ARP/NDP failed", "family", family, "err", err)
}
