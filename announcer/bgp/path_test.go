package bgp

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
)

func TestPathOf(t *testing.T) {
	tests := []struct {
		name    string
		route   Route
		want    []string // the native attributes, as GoBGP prints them
		wantErr string
	}{{
		name:  "IPv4 host route with communities and local preference",
		route: Route{Prefix: netip.MustParsePrefix("198.51.100.7/32"), NextHop: netip.MustParseAddr("192.0.2.11"), Communities: []string{"64500:100", "no-export"}, LargeCommunities: []string{"64500:1:2"}, LocalPref: 200},
		want:  []string{"{Origin: i}", "{Nexthop: 192.0.2.11}", "{Communities: 64500:100, no-export}", "{LargeCommunity: [ 64500:1:2]}", "{LocalPref: 200}"},
	}, {
		name:  "IPv6 host route carries its next hop in MP_REACH_NLRI",
		route: Route{Prefix: netip.MustParsePrefix("2001:db8:100::7/128"), NextHop: netip.MustParseAddr("2001:db8:2::11")},
		want:  []string{"{Origin: i}", "{MpReach(ipv6-unicast): {Nexthop: 2001:db8:2::11, NLRIs: [2001:db8:100::7/128]}}"},
	}, {
		name:    "next hop of the other family",
		route:   Route{Prefix: netip.MustParsePrefix("2001:db8:100::7/128"), NextHop: netip.MustParseAddr("192.0.2.11")},
		wantErr: "of one family",
	}, {
		name:    "bad community",
		route:   Route{Prefix: netip.MustParsePrefix("198.51.100.7/32"), NextHop: netip.MustParseAddr("192.0.2.11"), Communities: []string{"70000:1"}},
		wantErr: `community "70000:1"`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := pathOf(tc.route)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("pathOf = %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			attrs, err := apiutil.UnmarshalPathAttributes(p.Pattrs)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range attrs {
				got = append(got, a.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
		})
	}
}
