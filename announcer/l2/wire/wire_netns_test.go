package wire

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
)

// neighbor returns the client's neighbor entry for ip on eth0, as ip neigh prints it.
func (l *lab) neighbor(t *testing.T, ip string) string {
	t.Helper()
	return strings.TrimSpace(run(t, "ip", "-n", l.client, "neigh", "show", ip, "dev", "eth0"))
}

func TestNetnsGratuitousMovesClients(t *testing.T) {
	l := newLab(t)
	stale := "02:00:5e:00:53:99" // a MAC the address had before it moved to us
	announcers := []struct {
		name     string
		announce func(t *testing.T, ip netip.Addr)
		ips      []string
	}{
		{"responder takes the address", func(t *testing.T, ip netip.Addr) {
			r := listenIn(t, l.node, Options{Observer: logObserver{t}})
			if err := r.SetOwned([]netip.Addr{ip}); err != nil {
				t.Fatalf("SetOwned: %v", err)
			}
		}, []string{"192.0.2.11", "2001:db8::11"}},
		{"standalone Gratuitous", func(t *testing.T, ip netip.Addr) {
			in(t, l.node, func() (struct{}, error) {
				ifi, err := net.InterfaceByName("eth0")
				if err != nil {
					return struct{}{}, err
				}
				return struct{}{}, Gratuitous(ifi, ip)
			})
		}, []string{"192.0.2.12", "2001:db8::12"}},
	}
	for _, a := range announcers {
		for _, s := range a.ips {
			ip, name, fn := netip.MustParseAddr(s), a.name, a.announce
			t.Run(name+" "+ip.String(), func(t *testing.T) {
				run(t, "ip", "-n", l.client, "neigh", "replace", ip.String(), "lladdr", stale, "dev", "eth0", "nud", "stale")
				fn(t, ip)
				want := strings.ToLower(l.nodeMAC.String())
				deadline := time.Now().Add(10 * time.Second)
				for got := l.neighbor(t, ip.String()); !strings.Contains(got, want); got = l.neighbor(t, ip.String()) {
					if time.Now().After(deadline) {
						t.Fatalf("client's entry for %s did not move to %s: %q", ip, want, got)
					}
					time.Sleep(20 * time.Millisecond)
				}
			})
		}
	}
}

func TestNetnsUnicastReachabilityProbe(t *testing.T) {
	l := newLab(t)
	r := listenIn(t, l.node, Options{Repeats: []time.Duration{}, Observer: logObserver{t}})
	vip := netip.MustParseAddr("2001:db8::10")
	if err := r.SetOwned([]netip.Addr{vip}); err != nil {
		t.Fatalf("SetOwned: %v", err)
	}
	cp := captureNDP(t, l.client)
	// A NUD probe: unicast to the address and to the MAC the client has cached, no option.
	frame, err := ndpFrame{
		dstMAC: l.nodeMAC, srcMAC: l.clientMAC,
		src: netip.MustParseAddr(labClient6), dst: vip, hopLimit: 255,
		msg: &ndp.NeighborSolicitation{TargetAddress: vip},
	}.marshal()
	if err != nil {
		t.Fatal(err)
	}
	in(t, l.client, func() (struct{}, error) {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return struct{}{}, err
		}
		c, err := packet.Listen(ifi, packet.Raw, etherTypeIPv6, nil)
		if err != nil {
			return struct{}{}, err
		}
		defer c.Close()
		_, err = c.WriteTo(frame, &packet.Addr{HardwareAddr: l.nodeMAC})
		return struct{}{}, err
	})
	got := cp.wait(t, "solicited advertisement", func(f ndpFrame) bool {
		na, ok := f.msg.(*ndp.NeighborAdvertisement)
		return ok && na.Solicited && na.TargetAddress == vip
	})
	want := ndpFrame{
		dstMAC: l.clientMAC, srcMAC: l.nodeMAC,
		src: vip, dst: netip.MustParseAddr(labClient6), hopLimit: 255,
		msg: &ndp.NeighborAdvertisement{Solicited: true, Override: true, TargetAddress: vip,
			Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: l.nodeMAC}}},
	}
	if diff := cmp.Diff(want, got, cmpAddr(), cmp.AllowUnexported(ndpFrame{})); diff != "" {
		t.Errorf("answer to a unicast probe (-want +got):\n%s", diff)
	}
}

func TestNetnsProbeFindsSplitBrain(t *testing.T) {
	l := newLab(t)
	obs := &recorder{}
	node := listenIn(t, l.node, Options{Repeats: []time.Duration{}})
	client := listenIn(t, l.client, Options{Repeats: []time.Duration{}, Observer: obs})
	vips := []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")}
	if err := node.SetOwned(vips); err != nil {
		t.Fatalf("SetOwned on node: %v", err)
	}
	for _, vip := range vips {
		t.Run("another host owns "+vip.String(), func(t *testing.T) {
			got, err := client.Probe(context.Background(), vip)
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if diff := cmp.Diff([]net.HardwareAddr{l.nodeMAC}, got); diff != "" {
				t.Errorf("Probe(%s) (-want +got):\n%s", vip, diff)
			}
		})
		t.Run("nobody owns "+vip.Next().String(), func(t *testing.T) {
			got, err := client.Probe(context.Background(), vip.Next())
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if len(got) != 0 {
				t.Errorf("Probe(%s) = %v, want nobody", vip.Next(), got)
			}
		})
	}
	t.Run("both own: conflicts are observed", func(t *testing.T) {
		if err := client.SetOwned(vips); err != nil {
			t.Fatalf("SetOwned on client: %v", err)
		}
		for _, vip := range vips {
			if _, err := client.Probe(context.Background(), vip); err != nil {
				t.Fatalf("Probe: %v", err)
			}
		}
		var conflicts []string
		for _, e := range obs.Events() {
			if strings.HasPrefix(e, "conflict ") {
				conflicts = append(conflicts, e)
			}
		}
		for _, vip := range vips {
			want := "conflict " + vip.String() + " " + l.nodeMAC.String()
			if !strings.Contains(strings.Join(conflicts, "\n"), want) {
				t.Errorf("observed conflicts %q, want %q among them", conflicts, want)
			}
		}
	})
}

func TestNetnsCarrier(t *testing.T) {
	l := newLab(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	states := in(t, l.node, func() (<-chan bool, error) { return WatchCarrier(ctx, "eth0") })
	next := func(want bool) {
		t.Helper()
		select {
		case got, ok := <-states:
			if !ok || got != want {
				t.Fatalf("carrier: got %t (open %t), want %t", got, ok, want)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("carrier: no change to %t reported", want)
		}
		up := in(t, l.node, func() (bool, error) { return CarrierUp("eth0") })
		if up != want {
			t.Errorf("CarrierUp = %t, want %t", up, want)
		}
	}
	next(true)
	run(t, "ip", "-n", l.client, "link", "set", "eth0", "down") // the peer goes: no carrier
	next(false)
	run(t, "ip", "-n", l.client, "link", "set", "eth0", "up")
	next(true)
	run(t, "ip", "-n", l.node, "link", "del", "eth0")
	select {
	case got := <-states:
		if got {
			t.Errorf("carrier: got true after the link was deleted")
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("carrier: deletion not reported")
	}
	cancel()
	for range states { // closed once the context ends
	}
}

func TestNetnsHasIPVSInterface(t *testing.T) {
	l := newLab(t)
	has := func() bool { return in(t, l.node, func() (bool, error) { return HasIPVSInterface(), nil }) }
	if has() {
		t.Fatalf("HasIPVSInterface = true in a namespace without %s", IPVSInterface)
	}
	// Any link named kube-ipvs0 will do (kube-proxy makes a dummy; this kernel may lack dummy).
	run(t, "ip", "-n", l.node, "link", "add", IPVSInterface, "type", "veth", "peer", "name", "ipvs-peer")
	if !has() {
		t.Errorf("HasIPVSInterface = false with %s present", IPVSInterface)
	}
	got := in(t, l.node, func() (int, error) { return ARPIgnore("eth0") })
	if got != 1 {
		t.Errorf("ARPIgnore(eth0) = %d in the node namespace, which sets 1", got)
	}
}
