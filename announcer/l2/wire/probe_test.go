package wire

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
)

func TestProbe(t *testing.T) {
	// answer makes the fake link answer a probe for ip from each of macs (and from us,
	// which the probe must leave out).
	arpAnswer := func(a *fakeARP, macs ...net.HardwareAddr) {
		a.onWrite = func(o arpOut) {
			if o.P.Operation != arp.OperationRequest || o.P.SenderIP != netip.IPv4Unspecified() {
				return
			}
			for _, mac := range append([]net.HardwareAddr{ourMAC}, macs...) {
				p, _ := arp.NewPacket(arp.OperationReply, mac, o.P.TargetIP, ourMAC, netip.IPv4Unspecified())
				a.in <- p
			}
		}
	}
	ndpAnswer := func(n *fakeNDP, macs ...net.HardwareAddr) {
		n.onWrite = func(o ndpOut) {
			ns, ok := o.M.(*ndp.NeighborSolicitation)
			if !ok {
				return
			}
			for _, mac := range append([]net.HardwareAddr{ourMAC}, macs...) {
				n.in <- ndpIn{
					m: &ndp.NeighborAdvertisement{Solicited: true, Override: true, TargetAddress: ns.TargetAddress,
						Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}}},
					cm:  &ipv6.ControlMessage{HopLimit: 255},
					src: peerLL,
				}
			}
		}
	}
	tests := []struct {
		name   string
		ip     netip.Addr
		answer func(*fakeARP, *fakeNDP)
		want   []net.HardwareAddr
	}{
		{"ipv4 nobody else", vip4, func(a *fakeARP, _ *fakeNDP) { arpAnswer(a) }, nil},
		{"ipv4 two others, one twice", vip4, func(a *fakeARP, _ *fakeNDP) { arpAnswer(a, peerMAC, thirdMAC, peerMAC) },
			[]net.HardwareAddr{peerMAC, thirdMAC}},
		{"ipv6 nobody else", vip6, func(_ *fakeARP, n *fakeNDP) { ndpAnswer(n) }, nil},
		{"ipv6 another", vip6, func(_ *fakeARP, n *fakeNDP) { ndpAnswer(n, peerMAC) }, []net.HardwareAddr{peerMAC}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, a, n := newTestResponder(t, Options{ProbeWindow: 200 * time.Millisecond})
			if err := r.SetOwned([]netip.Addr{vip4, vip6}); err != nil {
				t.Fatalf("SetOwned: %v", err)
			}
			tc.answer(a, n)
			got, err := r.Probe(context.Background(), tc.ip)
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if diff := cmp.Diff(tc.want, got, cmpAddr()); diff != "" {
				t.Errorf("Probe(%s) (-want +got):\n%s", tc.ip, diff)
			}
		})
	}
}

func TestProbePackets(t *testing.T) {
	r, a, n := newTestResponder(t, Options{ProbeWindow: time.Millisecond})
	if _, err := r.Probe(context.Background(), vip4); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if _, err := r.Probe(context.Background(), vip6); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	// RFC 5227: sender IP 0.0.0.0, so no cache learns from the probe.
	wantARP := []arpOut{{P: mustARP(t, arp.OperationRequest, ourMAC, netip.IPv4Unspecified(), zeroMAC(), vip4), To: ethernet.Broadcast}}
	if diff := cmp.Diff(wantARP, a.Sent(), cmpAddr()); diff != "" {
		t.Errorf("ARP probe (-want +got):\n%s", diff)
	}
	wantNDP := []ndpOut{{
		M: &ndp.NeighborSolicitation{TargetAddress: vip6,
			Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: ourMAC}}},
		Src: ourLL, HopLimit: 255, Dst: snm(t, vip6),
	}}
	if diff := cmp.Diff(wantNDP, n.Sent(), cmpAddr()); diff != "" {
		t.Errorf("NDP probe (-want +got):\n%s", diff)
	}
}

func TestProbeServesMeanwhile(t *testing.T) {
	// A request for an owned address that arrives during a probe is still answered.
	obs := &recorder{}
	r, a, _ := newTestResponder(t, Options{ProbeWindow: 300 * time.Millisecond, Observer: obs})
	if err := r.SetOwned([]netip.Addr{vip4}); err != nil {
		t.Fatalf("SetOwned: %v", err)
	}
	a.onWrite = func(o arpOut) {
		if o.P.SenderIP == netip.IPv4Unspecified() {
			a.in <- mustARP(t, arp.OperationRequest, peerMAC, peer4, zeroMAC(), vip4)
			a.in <- mustARP(t, arp.OperationReply, peerMAC, vip4, ourMAC, netip.IPv4Unspecified())
		}
	}
	got, err := r.Probe(context.Background(), vip4)
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if diff := cmp.Diff([]net.HardwareAddr{peerMAC}, got); diff != "" {
		t.Errorf("Probe (-want +got):\n%s", diff)
	}
	want := []string{"announced ipv4", "replied ipv4", "conflict 192.0.2.10 02:00:00:00:00:02"}
	if diff := cmp.Diff(want, obs.Events()); diff != "" {
		t.Errorf("observed (-want +got):\n%s", diff)
	}
}

func TestProbeContext(t *testing.T) {
	r, _, _ := newTestResponder(t, Options{ProbeWindow: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.Probe(ctx, vip4); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Probe with expiring context: got %v, want %v", err, context.DeadlineExceeded)
	}
}
