package wire

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

func garp(t *testing.T, ip netip.Addr) arpOut {
	return arpOut{P: mustARP(t, arp.OperationRequest, ourMAC, ip, zeroMAC(), ip), To: ethernet.Broadcast}
}

func unsolicitedNA(ip netip.Addr) ndpOut {
	return ndpOut{
		M: &ndp.NeighborAdvertisement{
			Override:      true,
			TargetAddress: ip,
			Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: ourMAC}},
		},
		Src:      ip,
		HopLimit: 255,
		Dst:      allNodesLL,
	}
}

func snm(t *testing.T, ip netip.Addr) netip.Addr {
	g, err := ndp.SolicitedNodeMulticast(ip)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestSetOwnedAnnouncesAtOnce(t *testing.T) {
	r, a, n := newTestResponder(t, Options{})
	if err := r.SetOwned([]netip.Addr{vip6, vip4}); err != nil {
		t.Fatalf("SetOwned: %v", err)
	}
	// No waiting: the first announcement is sent before SetOwned returns.
	if diff := cmp.Diff([]arpOut{garp(t, vip4)}, a.Sent(), cmpAddr()); diff != "" {
		t.Errorf("gratuitous ARP (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]ndpOut{unsolicitedNA(vip6)}, n.Sent(), cmpAddr()); diff != "" {
		t.Errorf("unsolicited NA (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"+" + snm(t, vip6).String()}, n.Groups()); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}

	// Owning the same set again announces nothing new.
	if err := r.SetOwned([]netip.Addr{vip4, vip6}); err != nil {
		t.Fatalf("SetOwned: %v", err)
	}
	if got := len(a.Sent()) + len(n.Sent()); got != 2 {
		t.Errorf("after owning the same set again: %d packets sent, want 2", got)
	}
}

func TestSetOwnedRepeats(t *testing.T) {
	repeats := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}
	r, a, n := newTestResponder(t, Options{Repeats: repeats})
	if err := r.SetOwned([]netip.Addr{vip4, vip6}); err != nil {
		t.Fatalf("SetOwned: %v", err)
	}
	eventually(t, "four announcements per address", func() bool {
		return len(a.Sent()) == 4 && len(n.Sent()) == 4
	})
	time.Sleep(100 * time.Millisecond) // and no more
	want4 := []arpOut{garp(t, vip4), garp(t, vip4), garp(t, vip4), garp(t, vip4)}
	if diff := cmp.Diff(want4, a.Sent(), cmpAddr()); diff != "" {
		t.Errorf("gratuitous ARP (-want +got):\n%s", diff)
	}
	want6 := []ndpOut{unsolicitedNA(vip6), unsolicitedNA(vip6), unsolicitedNA(vip6), unsolicitedNA(vip6)}
	if diff := cmp.Diff(want6, n.Sent(), cmpAddr()); diff != "" {
		t.Errorf("unsolicited NA (-want +got):\n%s", diff)
	}
}

func TestSetOwnedStopsRepeatsForReleased(t *testing.T) {
	r, a, _ := newTestResponder(t, Options{Repeats: []time.Duration{200 * time.Millisecond}})
	if err := r.SetOwned([]netip.Addr{vip4}); err != nil {
		t.Fatalf("SetOwned: %v", err)
	}
	if err := r.SetOwned(nil); err != nil {
		t.Fatalf("SetOwned(nil): %v", err)
	}
	time.Sleep(400 * time.Millisecond)
	if got := len(a.Sent()); got != 1 {
		t.Errorf("%d gratuitous ARPs sent for an address given up before the repeat, want 1", got)
	}
}

func TestSetOwnedGroups(t *testing.T) {
	// 2001:db8::10 and 2001:db8:1::10 share the low 24 bits, so one solicited-node group.
	shared := netip.MustParseAddr("2001:db8:1::10")
	other := netip.MustParseAddr("2001:db8::20")
	steps := []struct {
		name  string
		owned []netip.Addr
		want  []string
	}{
		{"own two addresses in one group", []netip.Addr{vip6, shared}, []string{"+" + snm(t, vip6).String()}},
		{"own a third in another group", []netip.Addr{vip6, shared, other}, []string{"+" + snm(t, other).String()}},
		{"give one of the shared group up: stay joined", []netip.Addr{vip6, other}, nil},
		{"give the rest up", nil, []string{"-" + snm(t, vip6).String(), "-" + snm(t, other).String()}},
	}
	r, _, n := newTestResponder(t, Options{})
	seen := 0
	for _, s := range steps {
		if err := r.SetOwned(s.owned); err != nil {
			t.Fatalf("%s: SetOwned: %v", s.name, err)
		}
		got := n.Groups()[seen:]
		seen += len(got)
		if diff := cmp.Diff(s.want, got, cmpAddr()); diff != "" {
			t.Errorf("%s: groups (-want +got):\n%s", s.name, diff)
		}
	}
}

func TestSetOwnedIPv6Unavailable(t *testing.T) {
	r, err := New(testIfi, newFakeARP(), nil, Options{Repeats: []time.Duration{}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer r.Close()
	err = r.SetOwned([]netip.Addr{vip4, vip6})
	if !errors.Is(err, ErrIPv6Unavailable) {
		t.Errorf("SetOwned of an IPv6 address without NDP: got %v, want %v", err, ErrIPv6Unavailable)
	}
	if !r.Owned(vip4) || r.Owned(vip6) {
		t.Errorf("owned: %s %t, %s %t; want the IPv4 address only", vip4, r.Owned(vip4), vip6, r.Owned(vip6))
	}
}

func TestCloseLeavesGroups(t *testing.T) {
	r, _, n := newTestResponder(t, Options{})
	if err := r.SetOwned([]netip.Addr{vip6}); err != nil {
		t.Fatalf("SetOwned: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	want := []string{"+" + snm(t, vip6).String(), "-" + snm(t, vip6).String()}
	if diff := cmp.Diff(want, n.Groups()); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	if err := r.SetOwned([]netip.Addr{vip6}); !errors.Is(err, ErrClosed) {
		t.Errorf("SetOwned after Close: got %v, want %v", err, ErrClosed)
	}
}
