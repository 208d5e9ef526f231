package wire

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
)

func TestHandleARP(t *testing.T) {
	tests := []struct {
		name   string
		in     *arp.Packet
		src    net.HardwareAddr // ethernet source; the sender hardware address when nil
		want   []arpOut
		events []string
	}{
		{
			name:   "request for owned address is answered unicast from our MAC",
			in:     mustARP(t, arp.OperationRequest, peerMAC, peer4, zeroMAC(), vip4),
			want:   []arpOut{{P: mustARP(t, arp.OperationReply, ourMAC, vip4, peerMAC, peer4), To: peerMAC}},
			events: []string{"replied ipv4"},
		},
		{
			name:   "RFC 5227 probe for owned address is answered",
			in:     mustARP(t, arp.OperationRequest, peerMAC, netip.IPv4Unspecified(), zeroMAC(), vip4),
			want:   []arpOut{{P: mustARP(t, arp.OperationReply, ourMAC, vip4, peerMAC, netip.IPv4Unspecified()), To: peerMAC}},
			events: []string{"replied ipv4"},
		},
		{
			name: "request for address not owned is ignored",
			in:   mustARP(t, arp.OperationRequest, peerMAC, peer4, zeroMAC(), notOwned4),
		},
		{
			name: "our own request seen on the way out is ignored",
			in:   mustARP(t, arp.OperationRequest, ourMAC, peer4, zeroMAC(), vip4),
		},
		{
			name: "frame from our MAC is ignored",
			in:   mustARP(t, arp.OperationRequest, peerMAC, peer4, zeroMAC(), vip4),
			src:  ourMAC,
		},
		{
			name:   "gratuitous ARP from another host for owned address is a conflict, not a request",
			in:     mustARP(t, arp.OperationRequest, peerMAC, vip4, zeroMAC(), vip4),
			events: []string{"conflict 192.0.2.10 02:00:00:00:00:02"},
		},
		{
			name:   "reply from another host for owned address is a conflict",
			in:     mustARP(t, arp.OperationReply, peerMAC, vip4, ourMAC, peer4),
			events: []string{"conflict 192.0.2.10 02:00:00:00:00:02"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obs := &recorder{}
			r, a, _ := newTestResponder(t, Options{Observer: obs})
			if err := r.SetOwned([]netip.Addr{vip4}); err != nil {
				t.Fatalf("SetOwned: %v", err)
			}
			before := len(a.Sent())
			obs.events = nil
			src := tc.src
			if src == nil {
				src = tc.in.SenderHardwareAddr
			}
			r.handleARP(tc.in, &ethernet.Frame{Source: src, EtherType: ethernet.EtherTypeARP})

			if diff := cmp.Diff(tc.want, a.Sent()[before:], cmpAddr()); diff != "" {
				t.Errorf("sent (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.events, obs.Events()); diff != "" {
				t.Errorf("observed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHandleNDP(t *testing.T) {
	ns := func(src netip.Addr, slla net.HardwareAddr, target netip.Addr) ndpIn {
		m := &ndp.NeighborSolicitation{TargetAddress: target}
		if slla != nil {
			m.Options = []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: slla}}
		}
		return ndpIn{m: m, cm: &ipv6.ControlMessage{HopLimit: 255}, src: src}
	}
	na := func(target netip.Addr, solicited bool, dst netip.Addr) ndpOut {
		return ndpOut{
			M: &ndp.NeighborAdvertisement{
				Solicited:     solicited,
				Override:      true,
				TargetAddress: target,
				Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: ourMAC}},
			},
			Src:      target,
			HopLimit: 255,
			Dst:      dst,
		}
	}
	hop254 := ns(peerLL, peerMAC, vip6)
	hop254.cm.HopLimit = 254
	foreignNA := ndpIn{
		m: &ndp.NeighborAdvertisement{Override: true, TargetAddress: vip6,
			Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: peerMAC}}},
		cm:  &ipv6.ControlMessage{HopLimit: 255},
		src: peerLL,
	}

	tests := []struct {
		name   string
		in     ndpIn
		want   []ndpOut
		events []string
	}{
		{
			name:   "multicast solicitation for owned address gets a solicited NA from the target address",
			in:     ns(peerLL.WithZone("eth0"), peerMAC, vip6),
			want:   []ndpOut{na(vip6, true, peerLL.WithZone("eth0"))},
			events: []string{"replied ipv6"},
		},
		{
			name:   "unicast reachability probe without source link-layer option is answered",
			in:     ns(peer6, nil, vip6),
			want:   []ndpOut{na(vip6, true, peer6)},
			events: []string{"replied ipv6"},
		},
		{
			name:   "solicitation from the unspecified address is answered to all nodes, Solicited clear",
			in:     ns(netip.IPv6Unspecified(), nil, vip6),
			want:   []ndpOut{na(vip6, false, allNodesLL)},
			events: []string{"replied ipv6"},
		},
		{
			name: "solicitation from the unspecified address with a link-layer option is invalid",
			in:   ns(netip.IPv6Unspecified(), peerMAC, vip6),
		},
		{
			name: "solicitation for address not owned is ignored",
			in:   ns(peerLL, peerMAC, notOwned6),
		},
		{
			name: "solicitation with hop limit below 255 is ignored",
			in:   hop254,
		},
		{
			name: "our own solicitation is ignored",
			in:   ns(ourLL.WithZone("eth0"), ourMAC, vip6),
		},
		{
			name:   "advertisement from another MAC for owned address is a conflict",
			in:     foreignNA,
			events: []string{"conflict 2001:db8::10 02:00:00:00:00:02"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obs := &recorder{}
			r, _, n := newTestResponder(t, Options{Observer: obs})
			if err := r.SetOwned([]netip.Addr{vip6}); err != nil {
				t.Fatalf("SetOwned: %v", err)
			}
			before := len(n.Sent())
			obs.events = nil
			r.handleNDP(tc.in.m, tc.in.cm, tc.in.src)

			if diff := cmp.Diff(tc.want, n.Sent()[before:], cmpAddr()); diff != "" {
				t.Errorf("sent (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.events, obs.Events()); diff != "" {
				t.Errorf("observed (-want +got):\n%s", diff)
			}
		})
	}
}
