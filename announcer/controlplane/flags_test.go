package controlplane

import (
	"flag"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/floatlb/floatlb/announcer/bgp"
)

// parse parses args as the announcer does.
func parse(t *testing.T, args []string) (Options, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	o := NewOptions()
	AddFlags(fs, &o)
	kubeconfig := fs.String("kubeconfig", "", "")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.Kubeconfig = *kubeconfig
	o.Complete()
	return o, o.Validate()
}

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestArgsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"vrrp defaults", []string{"--control-plane-vip=198.51.100.5"}},
		{"vrrp dual-stack, every flag", []string{"--control-plane-vip=198.51.100.5,2001:db8::5", "--control-plane-mode=vrrp", "--control-plane-interface=bond0", "--control-plane-vrid=51", "--control-plane-priority=150", "--control-plane-advert-interval=100ms", "--control-plane-health-interval=1s"}},
		{"l2", []string{"--control-plane-vip=198.51.100.5", "--control-plane-mode=l2", "--kubeconfig=/etc/kubernetes/admin.conf", "--control-plane-lease-duration=8s", "--control-plane-lease-name=vip", "--control-plane-tls-server-name=api.example"}},
		{"bgp", []string{"--control-plane-vip=198.51.100.5,2001:db8::5", "--control-plane-mode=bgp", "--control-plane-bgp-peers=192.0.2.1:64500,[2001:db8::1]:64501", "--control-plane-bgp-asn=65000", "--control-plane-bgp-hold-time=3s", "--control-plane-apiserver=https://127.0.0.1:16443"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := parse(t, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parse(t, want.Args())
			if err != nil {
				t.Fatalf("parsing Args() %q: %v", want.Args(), err)
			}
			if diff := cmp.Diff(want, got, addrCmp); diff != "" {
				t.Errorf("options from Args() %q (-want +got):\n%s", want.Args(), diff)
			}
		})
	}
}

func TestParsePeers(t *testing.T) {
	got, err := ParsePeers("192.0.2.1:64500, [2001:db8::1]:4200000000", 9*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := []bgp.Peer{
		{Name: "192.0.2.1", Address: netip.MustParseAddr("192.0.2.1"), ASN: 64500, Port: 179, HoldTime: 9 * time.Second},
		{Name: "2001:db8::1", Address: netip.MustParseAddr("2001:db8::1"), ASN: 4200000000, Port: 179, HoldTime: 9 * time.Second},
	}
	if diff := cmp.Diff(want, got, addrCmp); diff != "" {
		t.Errorf("ParsePeers (-want +got):\n%s", diff)
	}
}

func TestBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no VIP", []string{"--control-plane-mode=vrrp"}, "--control-plane-vip: no address given"},
		{"not an address", []string{"--control-plane-vip=vip"}, `"vip" is not an IP address`},
		{"two of a family", []string{"--control-plane-vip=198.51.100.5,198.51.100.6"}, "at most one address per family"},
		{"link-local VIP", []string{"--control-plane-vip=fe80::5"}, "fe80::5 is not a unicast address a client can reach"},
		{"unknown mode", []string{"--control-plane-vip=198.51.100.5", "--control-plane-mode=arp"}, `--control-plane-mode: "arp" is not a mode; use vrrp, l2 or bgp`},
		{"VRID 0", []string{"--control-plane-vip=198.51.100.5", "--control-plane-vrid=0"}, "0 is not a VRID"},
		{"VRID 256", []string{"--control-plane-vip=198.51.100.5", "--control-plane-vrid=256"}, "control-plane-vrid"},
		{"priority 255", []string{"--control-plane-vip=198.51.100.5", "--control-plane-priority=255"}, "255 is reserved by RFC 5798"},
		{"advert interval", []string{"--control-plane-vip=198.51.100.5", "--control-plane-advert-interval=105ms"}, "105ms is not a VRRPv3 interval"},
		{"l2 without kubeconfig", []string{"--control-plane-vip=198.51.100.5", "--control-plane-mode=l2"}, "--kubeconfig: l2 mode takes its Lease through the local API server"},
		{"bgp without peers", []string{"--control-plane-vip=198.51.100.5", "--control-plane-mode=bgp"}, "bgp mode needs at least one peer"},
		{"IPv6 peer without brackets", []string{"--control-plane-vip=198.51.100.5", "--control-plane-mode=bgp", "--control-plane-bgp-peers=2001:db8::1:64500"}, "write an IPv6 address in brackets"},
		{"peer without ASN", []string{"--control-plane-vip=198.51.100.5", "--control-plane-mode=bgp", "--control-plane-bgp-peers=192.0.2.1"}, "write ADDRESS:ASN"},
		{"hold time", []string{"--control-plane-vip=198.51.100.5", "--control-plane-mode=bgp", "--control-plane-bgp-peers=192.0.2.1:64500", "--control-plane-bgp-hold-time=2s"}, "2s is not a BGP hold time"},
		{"http API server", []string{"--control-plane-vip=198.51.100.5", "--control-plane-apiserver=http://127.0.0.1:8080"}, "is not an https URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzParsePeers(f *testing.F) {
	for _, s := range []string{"192.0.2.1:64500", "[2001:db8::1]:64500,192.0.2.2:1", "[::ffff:192.0.2.1]:5", ":", "[]:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		peers, err := ParsePeers(s, 0)
		if err != nil {
			return
		}
		o := NewOptions()
		o.Mode, o.VIPs, o.Peers = ModeBGP, []netip.Addr{netip.MustParseAddr("198.51.100.5")}, peers
		again, err := parse(t, o.Args())
		if err != nil {
			t.Fatalf("parsing %q again: %v", o.Args(), err)
		}
		if diff := cmp.Diff(peers, again.Peers, addrCmp, cmpopts.IgnoreFields(bgp.Peer{}, "HoldTime", "KeepaliveTime")); diff != "" {
			t.Errorf("peers of %q parsed again (-want +got):\n%s", s, diff)
		}
	})
}

func FuzzParseVIPs(f *testing.F) {
	for _, s := range []string{"198.51.100.5", "198.51.100.5,2001:db8::5", "::ffff:1.2.3.4", "fe80::1%eth0", ","} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vips, err := ParseVIPs(s)
		if err != nil {
			return
		}
		var parts []string
		for _, ip := range vips {
			if !ip.IsValid() || ip.Zone() != "" || ip.Is4In6() {
				t.Fatalf("ParseVIPs(%q) gave %v", s, ip)
			}
			parts = append(parts, ip.String())
		}
		again, err := ParseVIPs(strings.Join(parts, ","))
		if err != nil || !cmp.Equal(vips, again, addrCmp) {
			t.Fatalf("ParseVIPs(%q) = %v, again %v, %v", s, vips, again, err)
		}
	})
}
