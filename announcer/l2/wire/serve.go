package wire

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
)

// readBackoff paces a reader whose conn keeps failing without being closed.
const readBackoff = 10 * time.Millisecond

// readARP is the only reader of the ARP conn: it answers requests and hands every packet
// from another host to the running probes.
func (r *Responder) readARP() {
	for {
		p, eth, err := r.ann.arp.Read()
		if err != nil {
			if r.stopped(err) {
				return
			}
			continue
		}
		r.handleARP(p, eth)
	}
}

// readNDP is the only reader of the NDP conn.
func (r *Responder) readNDP() {
	for {
		m, cm, src, err := r.ann.ndp.ReadFrom()
		if err != nil {
			if r.stopped(err) {
				return
			}
			continue
		}
		r.handleNDP(m, cm, src)
	}
}

// stopped reports whether a reader should stop after err, pausing before it goes on.
func (r *Responder) stopped(err error) bool {
	if r.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
		return true
	}
	select {
	case <-r.ctx.Done():
		return true
	case <-time.After(readBackoff):
		return false
	}
}

// handleARP answers a request for an owned address with a reply from our MAC, unicast to
// the requester. Gratuitous ARP from another host (sender IP = target IP) is not answered.
func (r *Responder) handleARP(p *arp.Packet, eth *ethernet.Frame) {
	mac := r.ifi.HardwareAddr
	if bytes.Equal(eth.Source, mac) || bytes.Equal(p.SenderHardwareAddr, mac) {
		return // our own, seen on the way out
	}
	r.sawClaim(p.SenderIP, p.SenderHardwareAddr)
	if p.Operation != arp.OperationRequest || p.SenderIP == p.TargetIP || !r.Owned(p.TargetIP) {
		return
	}
	reply, err := arp.NewPacket(arp.OperationReply, mac, p.TargetIP, p.SenderHardwareAddr, p.SenderIP)
	if err == nil {
		err = r.ann.writeARP(reply, p.SenderHardwareAddr)
	}
	if err != nil {
		r.opts.Observer.SendFailed(FamilyIPv4, err)
		return
	}
	r.opts.Observer.Replied(FamilyIPv4)
}

// handleNDP answers a Neighbor Solicitation for an owned address (RFC 4861 §7.2.4) and
// hands advertisements from other hosts to the running probes.
func (r *Responder) handleNDP(m ndp.Message, cm *ipv6.ControlMessage, src netip.Addr) {
	if cm != nil && cm.HopLimit != 0 && cm.HopLimit != ndp.HopLimit {
		return // RFC 4861 §7.1: not from this link
	}
	mac := r.ifi.HardwareAddr
	switch m := m.(type) {
	case *ndp.NeighborAdvertisement:
		tlla := linkLayer(m.Options, ndp.Target)
		if tlla == nil || bytes.Equal(tlla, mac) || m.TargetAddress.IsMulticast() {
			return
		}
		r.sawClaim(m.TargetAddress, tlla)
	case *ndp.NeighborSolicitation:
		slla := linkLayer(m.Options, ndp.Source)
		if bytes.Equal(slla, mac) || src.WithZone("") == r.ann.linkLocal {
			return // our own probe
		}
		if !r.Owned(m.TargetAddress) {
			return
		}
		// A solicitation from the unspecified address (duplicate address detection) must not
		// carry a source link-layer address and is answered to all nodes with Solicited clear.
		dst, solicited := src, true
		if src.IsUnspecified() {
			if slla != nil {
				return
			}
			dst, solicited = netip.IPv6LinkLocalAllNodes(), false
		}
		if err := r.ann.writeNA(m.TargetAddress, dst, solicited); err != nil {
			r.opts.Observer.SendFailed(FamilyIPv6, err)
			return
		}
		r.opts.Observer.Replied(FamilyIPv6)
	}
}

// sawClaim records that mac, not ours, answers for ip: running probes for ip collect it,
// and if we own ip it is a conflict.
func (r *Responder) sawClaim(ip netip.Addr, mac net.HardwareAddr) {
	if !ip.IsValid() || ip.IsUnspecified() || len(mac) == 0 {
		return
	}
	ip = ip.WithZone("").Unmap()
	mac = slices.Clone(mac)
	r.mu.RLock()
	owned := r.owned[ip]
	for w := range r.waits {
		if w.ip == ip {
			w.add(mac)
		}
	}
	r.mu.RUnlock()
	if owned {
		r.opts.Observer.Conflict(ip, mac)
	}
}

// linkLayer returns the link-layer address option of the given direction, or nil.
func linkLayer(opts []ndp.Option, d ndp.Direction) net.HardwareAddr {
	for _, o := range opts {
		if lla, ok := o.(*ndp.LinkLayerAddress); ok && lla.Direction == d {
			return lla.Addr
		}
	}
	return nil
}
