package lab

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The outputs are from `ip -j route show` and `ip -6 -j route show`
// (iproute2 6.1) with BIRD's ECMP routes installed.
func TestParseRoutes(t *testing.T) {
	addr := netip.MustParseAddr
	prefix := netip.MustParsePrefix
	for _, tc := range []struct {
		name   string
		family Family
		in     string
		want   []Route
	}{{
		name:   "IPv4",
		family: IPv4,
		in:     `[{"dst":"default","gateway":"192.0.2.254","dev":"eth0","flags":[]},{"dst":"192.0.2.0/24","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"192.0.2.1","flags":[]},{"dst":"198.19.10.1","protocol":"bird","metric":32,"flags":[],"nexthops":[{"gateway":"192.0.2.11","dev":"eth0","weight":1,"flags":[]},{"gateway":"192.0.2.12","dev":"eth0","weight":1,"flags":[]}]}]`,
		want: []Route{
			{Dst: prefix("0.0.0.0/0"), NextHops: []NextHop{{Gateway: addr("192.0.2.254"), Dev: "eth0"}}},
			{Dst: prefix("192.0.2.0/24"), Protocol: "kernel", NextHops: []NextHop{{Dev: "eth0"}}},
			{Dst: prefix("198.19.10.1/32"), Protocol: "bird", NextHops: []NextHop{
				{Gateway: addr("192.0.2.11"), Dev: "eth0"}, {Gateway: addr("192.0.2.12"), Dev: "eth0"}}},
		},
	}, {
		name:   "IPv6",
		family: IPv6,
		in:     `[{"dst":"2001:db8:2::/64","dev":"eth0","protocol":"kernel","metric":256,"flags":[],"pref":"medium"},{"dst":"2001:db8:100::1","protocol":"bird","metric":32,"flags":[],"pref":"medium","nexthops":[{"gateway":"2001:db8:2::12","dev":"eth0","weight":1,"flags":[]},{"gateway":"2001:db8:2::11","dev":"eth0","weight":1,"flags":[]}]},{"dst":"default","gateway":"2001:db8:2::fe","dev":"eth0","metric":1024,"flags":[],"pref":"medium"}]`,
		want: []Route{
			{Dst: prefix("2001:db8:2::/64"), Protocol: "kernel", NextHops: []NextHop{{Dev: "eth0"}}},
			{Dst: prefix("2001:db8:100::1/128"), Protocol: "bird", NextHops: []NextHop{
				{Gateway: addr("2001:db8:2::12"), Dev: "eth0"}, {Gateway: addr("2001:db8:2::11"), Dev: "eth0"}}},
			{Dst: prefix("::/0"), NextHops: []NextHop{{Gateway: addr("2001:db8:2::fe"), Dev: "eth0"}}},
		},
	}, {
		name:   "empty",
		family: IPv4,
		in:     `[]`,
		want:   []Route{},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRoutes([]byte(tc.in), tc.family)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
				cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRouteGateways(t *testing.T) {
	r := Route{NextHops: []NextHop{
		{Gateway: netip.MustParseAddr("2001:db8:2::13")},
		{Gateway: netip.MustParseAddr("2001:db8:2::11")},
		{Dev: "eth0"},
	}}
	want := []netip.Addr{netip.MustParseAddr("2001:db8:2::11"), netip.MustParseAddr("2001:db8:2::13")}
	if diff := cmp.Diff(want, r.Gateways(), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseRoutesErrors(t *testing.T) {
	for _, in := range []string{
		`not json`,
		`[{"dst":"198.19.10.300"}]`,
		`[{"dst":"198.19.10.0/33"}]`,
		`[{"dst":"default","gateway":"nowhere"}]`,
		`[{"dst":"default","nexthops":[{"gateway":"192.0.2.x"}]}]`,
	} {
		if _, err := parseRoutes([]byte(in), IPv4); err == nil {
			t.Errorf("parseRoutes(%s): no error", in)
		}
	}
}
