package wire

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

// Probe asks the link who answers for ip and returns the MACs, other than ours, that claimed
// it within Options.ProbeWindow: any at all for an address we own means split brain. The
// readers of the Responder hand the answers over, so serving goes on during a probe; an
// unsolicited claim (gratuitous ARP, unsolicited advertisement) in the window counts too.
//
// IPv4 sends an RFC 5227 ARP Probe: sender IP 0.0.0.0, so no host's ARP cache learns
// anything from it. IPv6 sends an ordinary Neighbor Solicitation from our link-local address
// with our MAC as source link-layer address, to the solicited-node group of ip; hosts learn
// only the true binding of our link-local address.
func (r *Responder) Probe(ctx context.Context, ip netip.Addr) ([]net.HardwareAddr, error) {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.Zone() != "" || ip.IsMulticast() || ip.IsUnspecified() {
		return nil, fmt.Errorf("probing %q on %s: not a unicast address", ip, r.ifi.Name)
	}
	if r.ctx.Err() != nil {
		return nil, ErrClosed
	}
	w := &waiter{ip: ip}
	r.mu.Lock()
	r.waits[w] = struct{}{}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.waits, w)
		r.mu.Unlock()
	}()

	if err := r.sendProbe(ip); err != nil {
		return nil, fmt.Errorf("probing %s on %s: %w", ip, r.ifi.Name, err)
	}
	t := time.NewTimer(r.opts.ProbeWindow)
	defer t.Stop()
	select {
	case <-t.C:
		return w.result(), nil
	case <-ctx.Done():
		return w.result(), fmt.Errorf("probing %s on %s: %w", ip, r.ifi.Name, ctx.Err())
	case <-r.ctx.Done():
		return w.result(), ErrClosed
	}
}

func (r *Responder) sendProbe(ip netip.Addr) error {
	mac := r.ifi.HardwareAddr
	if ip.Is4() {
		p, err := arp.NewPacket(arp.OperationRequest, mac, netip.IPv4Unspecified(), zeroMAC(), ip)
		if err != nil {
			return err
		}
		return r.ann.writeARP(p, ethernet.Broadcast)
	}
	group, err := ndp.SolicitedNodeMulticast(ip)
	if err != nil {
		return err
	}
	return r.ann.writeNDP(&ndp.NeighborSolicitation{
		TargetAddress: ip,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: mac}},
	}, r.ann.linkLocal, group)
}

// A waiter collects the MACs that claim ip during one probe.
type waiter struct {
	ip   netip.Addr
	mu   sync.Mutex
	macs []net.HardwareAddr
}

func (w *waiter) add(mac net.HardwareAddr) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range w.macs {
		if bytes.Equal(m, mac) {
			return
		}
	}
	w.macs = append(w.macs, mac)
}

func (w *waiter) result() []net.HardwareAddr {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]net.HardwareAddr(nil), w.macs...)
}
