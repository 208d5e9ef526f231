package announcer

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/go-logr/logr"

	"github.com/floatlb/floatlb/announcer/l2/wire"
)

// useWire makes m answer, watch carriers and read sysctls with
// announcer/l2/wire.
func (m *l2Mode) useWire() {
	m.listen = m.listenWire
	m.watchCarrier = watchCarrierWire
	m.hasIPVS = wire.HasIPVSInterface
	m.arpIgnore = wire.ARPIgnore
}

// listenWire opens ifname's responder.
func (m *l2Mode) listenWire(ifname string) (l2Responder, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", ifname, err)
	}
	return wire.Listen(ifi, wire.Options{Observer: wireObserver{log: m.log.WithValues("interface", ifname), metrics: m.metrics}})
}

// watchCarrierWire is wire.WatchCarrier for an interface that exists: an
// interface missing from the start is a mistake of the config to report
// (it would otherwise count as a dead NIC, and a pool's typo would make
// every node give its Lease up), while one deleted later counts as down.
func watchCarrierWire(ctx context.Context, ifname string) (<-chan bool, error) {
	if _, err := net.InterfaceByName(ifname); err != nil {
		return nil, fmt.Errorf("interface %s: %w", ifname, err)
	}
	return wire.WatchCarrier(ctx, ifname)
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
